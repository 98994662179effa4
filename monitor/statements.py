"""Quoted statements: who said which words, with offsets into the original text.

The pipeline, all on pre-compiled regexes so a 1,000-word article takes about a millisecond:

1. ``_blocks``: paragraphs (a newline ends one unless the next line goes on in lower case).
2. ``_find_quotes``: pair quote marks per paragraph. Double marks (“ ” " „ « ») first, then
   single marks (‘ ’ ') outside them, telling apostrophes (don’t, Cuba’s) from quote marks by
   the letters around them.
3. ``_mask``: a copy of the text, same length, with each quote's interior blanked out. All
   speaker finding runs on this frame, so a speech verb inside a quote never counts.
4. ``_sentences``: split the frame; boundaries inside quotes are invisible, so a quote that
   runs over two sentences stays in one.
5. ``_attribute``: per quote, the speaker from the words after it (“…,” X said / said X),
   else before it (X said …, according to X, X described … as “…”, X wrote: “…”), else the
   previous quote's speaker when the sentence is only a quote, resolving pronouns to the
   last named speaker.
"""

from __future__ import annotations

import bisect
import re
from collections.abc import Iterator
from dataclasses import dataclass

from monitor.story import Story, fold

# --- word lists (grammar, not story vocabulary) -------------------------------------------

# How far (characters) a speaker phrase or its verb may lie from what it attaches to. It
# bounds the work per quote, so a run-on paragraph with no full stops stays linear.
_REACH = 250
_LONGEST_SENTENCE = 2000

_ACCENTS = {"a": "áa", "e": "ée", "i": "íi", "o": "óo", "u": "úu", "n": "ñn"}


def _loose(word: str) -> str:
    """A regex for ``word`` that also matches it written without accents."""
    out = []
    for ch in word:
        base = {"á": "a", "é": "e", "í": "i", "ó": "o", "ú": "u", "ñ": "n"}.get(ch)
        out.append(f"[{_ACCENTS[base]}]" if base else re.escape(ch))
    return "".join(out)


# Verbs whose subject comes before them ("X said") and which may also come first ("said X").
_EN_INVERTIBLE = (
    "said says added adds wrote writes continued explained explains insisted insists warned "
    "warns declared asked replied responded stated noted argued recalled quipped concluded "
    "tweeted posted"
).split()
_EN_SUBJECT_FIRST = (
    "say told tells posts tweets states declares announced announces claimed claims argues "
    "notes stressed stresses asserted asserts remarked described describes called calls "
    "branded brands labelled labeled labels dubbed dubs termed terms characterised "
    "characterized read reads maintained maintains acknowledged vowed urged promised pledged "
    "boasted lamented admitted confirmed conceded predicted suggested commented observed mused "
    "joked denounced condemned praised hailed blasted slammed mocked emphasised emphasized "
    "underlined affirmed reiterated shouted cautioned countered wrote"
).split() + ["pointed out", "went on", "quoted as saying", "was quoted as saying"]
_ES_FINITE = (
    "dijo dice afirmó afirma señaló señala declaró declara aseguró asegura indicó indica "
    "expresó expresa escribió escribe añadió añade agregó agrega sostuvo sostiene manifestó "
    "subrayó subraya destacó destaca advirtió advierte denunció calificó califica publicó "
    "explicó apuntó insistió reiteró comentó precisó enfatizó recalcó aseveró sentenció "
    "concluyó remarcó informó expuso tuiteó resaltó puntualizó dijeron afirmaron señalaron "
    "indicaron declararon manifestaron aseguraron "
    # Portuguese, French and German, the commonest few.
    "disse afirmou declarou escreveu acrescentou sagte erklärte schrieb"
).split()
_PARTICIPLES = (
    "saying adding telling writing calling describing declaring warning insisting noting "
    "arguing stressing branding labelling labeling dubbing diciendo añadiendo agregando "
    "afirmando asegurando señalando"
).split()
_PREPOSITIONAL = ["according to", "as quoted by", "según", "de acuerdo con", "segundo", "selon"]

_UNACCENT = str.maketrans("áéíóúñü", "aeiounu")
_SPANISH = {w.translate(_UNACCENT) for w in _ES_FINITE} | {"segun", "de acuerdo con"}


def _is_spanish(verb: str) -> bool:
    return " ".join(verb.lower().split()).translate(_UNACCENT) in _SPANISH


def _alternation(words: list[str]) -> str:
    parts = sorted({_loose(w).replace(r"\ ", r"\s+") for w in words}, key=len, reverse=True)
    return "|".join(parts)


@dataclass(frozen=True)
class _Verb:
    start: int
    end: int
    kind: str  # inv ("said", may come before its subject), subj, part ("saying"), prep
    text: str


def _verb_table() -> tuple[dict[str, str], dict[str, list[tuple[re.Pattern[str], str]]]]:
    """Single speech words by kind, and multi-word ones keyed by their first word (a plain
    dict lookup per word is far cheaper than one big regex alternation)."""
    single: dict[str, str] = {}
    multi: dict[str, list[tuple[re.Pattern[str], str]]] = {}
    groups = (
        ("inv", _EN_INVERTIBLE + _ES_FINITE),
        ("subj", _EN_SUBJECT_FIRST),
        ("part", _PARTICIPLES),
        ("prep", _PREPOSITIONAL),
    )
    for kind, words in groups:
        for phrase in words:
            first, *rest = phrase.translate(_UNACCENT).split()
            if rest:
                tail = r"[ \t\u00a0]+".join(_loose(w) for w in phrase.split()[1:])
                pattern = re.compile(rf"[ \t\u00a0]+{tail}(?![\w\-’'])", re.IGNORECASE)
                multi.setdefault(first, []).append((pattern, kind))
            else:
                single.setdefault(first, kind)
    for first in multi:  # longest continuation first ("was quoted as saying")
        multi[first].sort(key=lambda pk: -len(pk[0].pattern))
    return single, multi


_VERB_SINGLE, _VERB_MULTI = _verb_table()
_SCAN_WORD_RE = re.compile(r"[^\W\d_][\w’'\-]*")


_PRONOUNS = {"he", "she", "they", "it", "él", "ella", "ellos", "ellas", "ele"}
_DETERMINERS = {
    "the", "a", "an", "his", "her", "its", "their", "el", "la", "los", "las", "un", "una",
    "o", "os", "le", "der", "die", "das",
}  # fmt: skip
# Prepositions that may sit inside a speaker's name or title ("Secretary of State").
_INNER_PREPS = {"of", "for", "from", "at", "de", "del", "da", "do", "in"}
# Words that end a speaker phrase: clause openers, prepositions, auxiliaries, time words.
_STOP = set(
    (
        "that which who whom whose what when while and but or as because if after before "
        "although though where since so than to with by on into over about against not "
        "is was were are be been being has have had will would could should may might must "
        "do does did also then later again earlier now just already reportedly once "
        "during amid until via toward towards like unlike under upon without within "
        "adding saying told "
        "monday tuesday wednesday thursday friday saturday sunday yesterday today tonight "
        "que y pero como cuando mientras donde porque quien quienes al a en durante ante tras "
        "desde sobre con para por este esta ayer hoy luego además también e em no na ao"
    ).split()
)
_ROLE_NOUNS = set(
    (
        "official officials spokesman spokeswoman spokesperson minister ministry government "
        "statement communique communiqué president secretary office administration leader "
        "source sources diplomat envoy ambassador aide adviser advisor analyst witness "
        "resident residents authorities authority department agency spokespeople press "
        "presidente gobierno ministro ministra canciller cancillería comunicado portavoz "
        "vocero vocera funcionario funcionarios autoridades declaración nota mandatario "
        "jefe general commander newspaper paper media television broadcaster daily "
        "periódico diario"
    ).split()
)
_OPENERS = set(
    "yet last such still even however meanwhile instead indeed but and so now then this that "
    "these those next first finally here there thus".split()
)
_INTRO_WORDS = set(
    (
        "in on at after before earlier later speaking asked addressing meanwhile however "
        "separately also during then writing responding en tras durante ayer hoy por "
        "luego además asimismo"
    ).split()
)

# --- regexes --------------------------------------------------------------------------------

_DOUBLE = '"“”„‟«»'
_SINGLE = "'‘’‚‹›"
_QUOTE_CHAR_RE = re.compile(r"[\"“”„‟«»'‘’‚‹›]")
_BLOCK_BREAK_RE = re.compile(r"\n[ \t\r\f\v\u00a0]*(?![a-záéíóúñü])")
_OPEN_MARK = "\x01"
_CLOSE_MARK = "\x02"
_MASK = "\x00"
_UPPER = "A-ZÁÉÍÓÚÑÜÀÈÌÒÙÂÊÎÔÛÄËÏÖÇ"
_BOUNDARY_RE = re.compile(rf"[.!?…]+[\x02)\]]*(?=[ \t\u00a0]+(?:[\x01(\[¿¡\"“‘«]|[{_UPPER}0-9]))")
# After a quote that ends in ? ! or ., a short "X said" / "said X" still belongs to it.
_ATTRIBUTION_NEXT_RE = re.compile(
    rf"[ \t\u00a0—–-]+(?:[^\s,.;:!?\x00\x01\x02]+[ \t\u00a0]+){{0,6}}?"
    rf"(?:{_alternation(_EN_INVERTIBLE + _ES_FINITE + _EN_SUBJECT_FIRST)})(?![\w\-’'])",
    re.IGNORECASE,
)
_QUOTED_AS_RE = re.compile(r"quot(?:e|ed|es|ing)\s+(.{1,80}?)\s+as\s*$", re.IGNORECASE | re.DOTALL)
_INITIALS_RE = re.compile(r"(?:[^\W\d_]\.)*[^\W\d_]")  # J. / S.B.: no sentence ends here
_WORD_BEFORE_RE = re.compile(r"([\w.]+)[.!?…]*[\x02)\]]*$")
_ABBREVIATIONS = set(
    (
        "mr mrs ms dr st gen sen rep gov lt col maj capt sgt cmdr adm sec pres prof rev jan feb "
        "mar apr jun jul aug sep sept oct nov dec jr sr no nos vs inc corp co ltd dept u.s u.k "
        "u.n e.g i.e etc sra srta dra ee.uu approx est fig"
    ).split()
)
_BARRIERS = r",;:()\[\]\x00\x01\x02—–\"“”„«»‘’"
# A word (with an inner apostrophe: Cuba's) or one barrier character.
_TOKEN_RE = re.compile(rf"[^\s{_BARRIERS}]+(?:[’'][^\s{_BARRIERS}]+)?|[{_BARRIERS}]")
_AUX_TAIL_RE = re.compile(
    r"(?:[\s,]+(?:has|have|had|also|later|then|again|earlier|previously|reportedly|publicly|"
    r"repeatedly|once|further|already|just|recently|separately|simply|only|flatly|bluntly|"
    r"quickly|directly|openly|was|were|is|are|has been|had been|would|will|once again|"
    r"(?:on |late on |early on )?(?:monday|tuesday|wednesday|thursday|friday|saturday|sunday)|"
    r"last week|yesterday|allegedly|"
    r"today|this week|ya|también|luego|después|más tarde|hoy|ayer|además|"
    r"in a statement|in a post|in an interview|in a speech|on social media|on x|"
    r"on truth social|en un comunicado))+\s*$",
    re.IGNORECASE,
)
_PARENTHETICAL_RE = re.compile(r",\s*([^,\x00\x01\x02]{1,90}?)\s*,\s*$")
_GAP_BARRIER_RE = re.compile(r"[,;:()\[\]\x00\x01\x02—–\"“”„«»!?]")
_IN_WORDS_RE = re.compile(
    r"(?<![\w])(?:in\s+([^,;\x00\x01\x02]{1,60}?)[’']s?\s+(?:own\s+)?words"
    r"|(?:in\s+the\s+words\s+of|en\s+palabras\s+de)\s+([^,;\x00\x01\x02]{1,60}))"
    r"[\s,:]*$",
    re.IGNORECASE,
)
# "SEOUL, Aug. 20 (Agency) --", and the comma-less "WASHINGTON —" / "CARACAS (Agency) —".
_DATELINE_RE = re.compile(
    rf"[{_UPPER}][{_UPPER} /.'’-]+(?:,[^\n]{{0,50}}?|\s*\([^)\n]{{1,40}}\))?\s*(?:--|—|–)\s*"
)
_HEADLINE_LEAD_RE = re.compile(r"([^:\x00\x01\x02.!?]{1,40}):\s")
_LEAD_PUNCT_RE = re.compile(r"[\s,;—–\-]*")
_TERMINAL = ".,!?;:…—"
_TITLE_CONNECTORS = {"of", "the", "and", "de", "del", "los", "las", "la", "el", "y", "a", "in"}
_WORD_RE = re.compile(r"[^\W\d_][\w’'\-]*")


@dataclass
class _Quote:
    open: int  # index of the opening mark
    close: int  # index of the closing mark, or the paragraph end for an unclosed quote
    closed: bool
    start: int = 0  # interior, whitespace trimmed: text[start:end] is the quote
    end: int = 0


@dataclass
class _Speaker:
    text: str
    key: str
    pos: int


# --- paragraphs and quotes ------------------------------------------------------------------


def _blocks(text: str) -> list[tuple[int, int]]:
    """Paragraph spans; a line break followed by lower case is a hard wrap, not a paragraph."""
    spans, pos = [], 0
    for m in _BLOCK_BREAK_RE.finditer(text):
        spans.append((pos, m.start()))
        pos = m.end()
    spans.append((pos, len(text)))
    return [(a, b) for a, b in spans if text[a:b].strip()]


def _opening(text: str, i: int, lo: int, hi: int) -> bool:
    prev = text[i - 1] if i > lo else " "
    nxt = text[i + 1] if i + 1 < hi else " "
    return (prev.isspace() or prev in "([{—–-/:;,\u00a0" or prev in _DOUBLE + _SINGLE) and not (
        nxt.isspace()
    )


def _closing(text: str, i: int, lo: int, hi: int) -> bool:
    prev = text[i - 1] if i > lo else " "
    nxt = text[i + 1] if i + 1 < hi else " "
    return not prev.isspace() and (nxt.isspace() or nxt in ".,;:!?)]}—–-…" + _DOUBLE + _SINGLE)


def _double_quotes(text: str, lo: int, hi: int, next_opens: bool) -> list[_Quote]:
    found: list[_Quote] = []
    open_at, open_ch = -1, ""
    for m in _QUOTE_CHAR_RE.finditer(text, lo, hi):
        c, i = m.group(), m.start()
        if c not in _DOUBLE:
            continue
        if open_at < 0:
            if c in "“„«‟" or _opening(text, i, lo, hi) and not _closing(text, i, lo, hi):
                open_at, open_ch = i, c
            continue
        pairs = (open_ch == "„" and c == "“") or (open_ch == "»" and c == "«")
        if (
            not pairs
            and c in '“„«"'
            and _opening(text, i, lo, hi)
            and not _closing(text, i, lo, hi)
        ):
            open_at, open_ch = i, c  # the earlier mark was never closed: start again here
        elif pairs or c in '”"»' or _closing(text, i, lo, hi):
            found.append(_Quote(open_at, i, True))
            open_at = -1
    if open_at >= 0 and next_opens:
        # A quote that runs on into the next paragraph leaves its mark open at the break.
        found.append(_Quote(open_at, hi, False))
    return found


def _single_quotes(text: str, lo: int, hi: int, doubles: list[_Quote]) -> list[_Quote]:
    found: list[_Quote] = []
    open_at = -1
    opens = [q.open for q in doubles]  # in text order, not overlapping
    for m in _QUOTE_CHAR_RE.finditer(text, lo, hi):
        c, i = m.group(), m.start()
        if c not in _SINGLE:
            continue
        k = bisect.bisect_left(opens, i) - 1
        if k >= 0 and i < doubles[k].close:
            continue  # inside a double-quoted span: nested, part of the outer quote
        prev = text[i - 1] if i > lo else " "
        nxt = text[i + 1] if i + 1 < hi else " "
        if prev.isalnum() and nxt.isalnum():
            continue  # an apostrophe: don’t, Cuba’s, O’Neill
        if open_at < 0 or i - open_at > 300:
            open_at = -1
            if c in "‘'‚‹" and _opening(text, i, lo, hi) and (nxt.isalnum() or nxt in "¿¡"):
                open_at = i
        elif c in "’'›‘" and _closing(text, i, lo, hi):
            found.append(_Quote(open_at, i, True))
            open_at = -1
    return found


def _find_quotes(text: str) -> tuple[list[_Quote], list[tuple[int, int]]]:
    blocks = _blocks(text)
    quotes: list[_Quote] = []
    for n, (lo, hi) in enumerate(blocks):
        nxt = blocks[n + 1][0] if n + 1 < len(blocks) else -1
        next_opens = nxt >= 0 and text[nxt] in '“„«"‟'
        doubles = [q for q in _double_quotes(text, lo, hi, next_opens) if q.close - q.open < 2000]
        singles = _single_quotes(text, lo, hi, doubles)
        # Double marks nested in single ones (‘he said “no”’) belong to the outer quote.
        if singles:
            doubles = [d for d in doubles if not any(s.open < d.open < s.close for s in singles)]
        quotes.extend(sorted(doubles + singles, key=lambda q: q.open))
    for q in quotes:
        a, b = q.open + 1, q.close
        while a < b and text[a].isspace():
            a += 1
        while b > a and text[b - 1].isspace():
            b -= 1
        q.start, q.end = a, b
    return [q for q in quotes if q.end > q.start and _WORD_RE.search(text, q.start, q.end)], blocks


def _mask(text: str, quotes: list[_Quote]) -> str:
    """Same-length copy: marks become \\x01/\\x02, interiors \\x00 (a final .,?! is kept so
    the sentence splitter and the clause test still see it)."""
    parts, pos = [], 0
    for q in quotes:
        parts.append(text[pos : q.open])
        parts.append(_OPEN_MARK)
        inner = text[q.open + 1 : q.close]
        last = inner.rstrip()
        if last and last[-1] in _TERMINAL:
            keep = len(last) - 1
            parts.append(_MASK * keep + last[-1] + " " * (len(inner) - len(last)))
        else:
            parts.append(_MASK * len(inner))
        if q.closed:
            parts.append(_CLOSE_MARK)
        pos = q.close + (1 if q.closed else 0)
    parts.append(text[pos:])
    return "".join(parts)


# --- sentences ------------------------------------------------------------------------------


def _sentences(frame: str, blocks: list[tuple[int, int]]) -> list[tuple[int, int, int]]:
    """(start, end, block index) of each sentence, whitespace trimmed."""
    out = []
    for n, (lo, hi) in enumerate(blocks):
        start = lo
        for m in _BOUNDARY_RE.finditer(frame, lo, hi):
            word = _WORD_BEFORE_RE.search(frame, max(lo, m.start() - 20), m.end())
            if word and m.group()[0] == ".":
                w = word.group(1).lower().rstrip(".")
                if w in _ABBREVIATIONS or _INITIALS_RE.fullmatch(w):
                    continue
            if m.group()[-1] == _CLOSE_MARK and _ATTRIBUTION_NEXT_RE.match(frame, m.end(), hi):
                continue  # “Who will pay?” Díaz-Canel asked. — the attribution goes with it
            out.append((start, m.end(), n))
            start = m.end()
        out.append((start, hi, n))
    trimmed = []
    for a, b, n in out:
        while a < b and frame[a].isspace():
            a += 1
        while b > a and frame[b - 1].isspace():
            b -= 1
        if b > a:
            trimmed.append((a, b, n))
    return trimmed


# --- speaker phrases ------------------------------------------------------------------------


def _is_capital(token: str) -> bool:
    return token[:1].isupper()


def _valid(tokens: list[str], loose: bool = False) -> bool:
    """A speaker phrase needs a name (a capital beyond a sentence-initial 'The') or a role;
    right before a speech verb (``loose``) any "the/a + noun" will do ("the airline said")."""
    if loose and len(tokens) >= 2 and tokens[0].lower() in _DETERMINERS:
        return True
    for t in tokens:
        low = t.lower().rstrip(".")
        if low in _DETERMINERS or low in _INNER_PREPS:
            continue
        if _is_capital(t) or low in _ROLE_NOUNS or low.rstrip("s") in _ROLE_NOUNS:
            return True
        if low in _PRONOUNS and len(tokens) == 1:
            return True
    return False


def _subject_before(frame: str, lo: int, end: int) -> tuple[int, int] | None:
    """The noun phrase that ends at ``end`` (the subject of a verb starting there)."""
    lo = max(lo, end - _REACH)  # a subject is a few words; never rescan a long sentence
    region = frame[lo:end]
    tail = _AUX_TAIL_RE.search(region)
    if tail:
        region = region[: tail.start()]
    apposition = None
    par = _PARENTHETICAL_RE.search(region)
    if par:
        inner = par.group(1)
        first = inner.split()[0].lower() if inner.split() else ""
        if first in _PRONOUNS:
            # "he asked about X, called Y a “…”": a run of verbs sharing the pronoun subject
            return lo + par.start(1), lo + par.start(1) + len(first)
        if first in _DETERMINERS or _is_capital(inner):
            apposition = par  # "Díaz-Canel, the Cuban president, said": keep it in the speaker
        region = region[: par.start()]
    tokens = [(m.start(), m.end(), m.group()) for m in _TOKEN_RE.finditer(region)]
    taken: list[tuple[int, int, str]] = []
    i = len(tokens) - 1
    while i >= 0 and len(taken) < 9:
        a, b, t = tokens[i]
        low = t.lower()
        if not taken and low in _PRONOUNS:
            taken.append(tokens[i])
            break
        if len(t) == 1 and not t.isalnum():
            break
        if low in _DETERMINERS:
            taken.append(tokens[i])
            if i > 1 and tokens[i - 1][2].lower() in _INNER_PREPS | {"to"}:
                # "the ambassador to the United Nations", "the president of the Republic"
                i -= 1
                taken.append(tokens[i])
                i -= 1
                continue
            break
        if low in _INNER_PREPS:
            if not taken:
                break
            taken.append(tokens[i])
            i -= 1
            continue
        if low in _STOP or low in _PRONOUNS:
            break
        if not _is_capital(t) and taken and _is_capital(taken[-1][2]) and low not in _ROLE_NOUNS:
            break  # "the fallen Cuban ..." style lower-case word before a name ends the phrase
        taken.append(tokens[i])
        i -= 1
    while taken and taken[-1][2].lower() in _INNER_PREPS:
        taken.pop()
    if not taken or not _valid([t[2] for t in reversed(taken)], loose=True):
        return None
    a, b = lo + taken[-1][0], lo + taken[0][1]
    if apposition:
        b = lo + apposition.end(1)
    return a, b


def _phrase_after(frame: str, start: int, end: int, spanish: bool) -> tuple[int, int] | None:
    """The noun phrase starting at ``start`` (the subject after "said", "according to")."""
    end = min(end, start + _REACH)
    tokens = [(m.start(), m.end(), m.group()) for m in _TOKEN_RE.finditer(frame, start, end)]
    taken: list[tuple[int, int, str]] = []
    stops = _STOP - ({"a"} if not spanish else set())
    i = 0
    while i < len(tokens) and len(taken) < 10:
        a, b, t = tokens[i]
        low = t.lower()
        if not taken and low in _PRONOUNS:
            taken.append(tokens[i])
            break
        if not taken and low in _INNER_PREPS:
            break  # "said in a statement": no speaker named after the verb
        if t == "," and taken and i + 1 < len(tokens) and _is_capital(tokens[i + 1][2]):
            # apposition: "said a White House spokeswoman, Karoline Leavitt."
            j = i + 1
            while j < len(tokens) and (_is_capital(tokens[j][2]) or tokens[j][2] in {"de", "del"}):
                j += 1
            if j == len(tokens) or tokens[j][2] in {",", "."} or tokens[j][2].lower() in stops:
                taken.extend(tokens[i + 1 : j])
                break
            break
        if len(t) == 1 and not t.isalnum():
            break
        if low in _INNER_PREPS and taken:
            nxt = tokens[i + 1][2] if i + 1 < len(tokens) else ""
            if _is_capital(nxt) or (low in {"of", "for", "from", "de", "del"} and nxt):
                taken.append(tokens[i])
                i += 1
                continue
            break
        if low in stops and low not in _DETERMINERS:
            break
        if low in _DETERMINERS and taken and taken[-1][2].lower() not in _INNER_PREPS:
            break
        taken.append(tokens[i])
        i += 1
    while taken and (taken[-1][2].lower() in _INNER_PREPS | _DETERMINERS):
        taken.pop()
    if taken and taken[-1][2].endswith("."):
        last = taken[-1][2].rstrip(".")
        if last.lower() not in _ABBREVIATIONS:
            a, b, _ = taken[-1]
            taken[-1] = (a, a + len(last), last)
    if not taken or not _valid([t[2] for t in taken]):
        return None
    return taken[0][0], taken[-1][1]


def _clause_subject(frame: str, s0: int, end: int) -> tuple[int, int] | None:
    """The subject at the head of a sentence ("Trump dismissed the idea, saying …")."""
    dateline = _DATELINE_RE.match(frame, s0, end)
    if dateline:  # "SEOUL, Aug. 20 (Agency) -- North Korea's paper …": the dateline is no one
        s0 = dateline.end()
    region = frame[s0 : min(end, s0 + _REACH)]
    comma = region.find(",")
    words = region.split(None, 1)
    if 0 <= comma < 80 and words and words[0].lower().strip(",") in _INTRO_WORDS:
        s0 += comma + 1
    end = min(end, s0 + _REACH)
    tokens = [(m.start(), m.end(), m.group()) for m in _TOKEN_RE.finditer(frame, s0, end)]
    while tokens and tokens[0][2].lower() in _OPENERS:
        tokens.pop(0)  # "Yet Sondland said …", "Such …": a capital that is not a name
    taken = []
    for a, b, t in tokens[:10]:
        low = t.lower()
        if not taken and low in _PRONOUNS:
            return a, b
        if len(t) == 1 and not t.isalnum():
            break
        if low in _STOP:
            break
        if _is_capital(t) or low in _DETERMINERS or low in _ROLE_NOUNS or low in _INNER_PREPS:
            taken.append((a, b, t))
            continue
        break
    while taken and taken[-1][2].lower() in _INNER_PREPS | _DETERMINERS:
        taken.pop()
    if not taken or not _valid([t[2] for t in taken]):
        return None
    return taken[0][0], taken[-1][1]


# --- attribution ----------------------------------------------------------------------------


def _verbs(frame: str, a: int, b: int) -> Iterator[_Verb]:
    """Speech verbs in ``frame[a:b]``. A capitalised one counts only where a sentence or a
    clause starts ("Said Trump: …"), so "the United States" is not "states"."""
    for m in _SCAN_WORD_RE.finditer(frame, a, b):
        word = m.group()
        low = word.lower().translate(_UNACCENT)
        verb = None
        for pattern, kind in _VERB_MULTI.get(low, ()):
            more = pattern.match(frame, m.end(), b)
            if more:
                verb = _Verb(m.start(), more.end(), kind, frame[m.start() : more.end()])
                break
        if verb is None:
            kind = _VERB_SINGLE.get(low)
            if kind is None:
                continue
            verb = _Verb(m.start(), m.end(), kind, word)
        if word[0].isupper():
            before = frame[max(a, m.start() - 3) : m.start()].strip()
            if before and before[-1] not in _TERMINAL + _OPEN_MARK + _CLOSE_MARK + '"“”«»':
                continue
        yield verb


def _from_verb(frame: str, s0: int, s1: int, m: _Verb, lo: int) -> tuple[int, int] | None:
    """Speaker span for one speech verb; ``lo`` bounds how far back its subject may reach."""
    kind = m.kind
    verb = m.text.lower()
    spanish = _is_spanish(verb)
    if kind == "prep":
        return _phrase_after(frame, m.end, s1, spanish)
    if kind == "part":
        quoted = _QUOTED_AS_RE.search(frame, s0, m.start)
        if quoted:  # "The paper quoted an unnamed official as saying …": the official
            return _phrase_after(frame, quoted.start(1), quoted.end(1), spanish)
        return _clause_subject(frame, s0, m.start)
    span = _subject_before(frame, lo, m.start)
    if span is None and kind == "inv":
        span = _phrase_after(frame, m.end, s1, spanish)
    return span


def _post_speaker(frame: str, q: _Quote, limit: int, s0: int, s1: int) -> tuple[int, int] | None:
    """“…,” X said / “…,” said X / “…” —dijo X: the words right after the quote."""
    after = q.close + 1 if q.closed else q.close
    m = next(_verbs(frame, after, min(limit, after + 120)), None)
    if not m:
        return None
    lead = _LEAD_PUNCT_RE.match(frame, after)
    gap_start = lead.end() if lead else after
    if gap_start >= m.start:
        if m.kind == "part":
            return _clause_subject(frame, s0, q.open)
        if m.kind in ("inv", "prep"):
            spanish = _is_spanish(m.text)
            span = _phrase_after(frame, m.end, limit, spanish)
            if span is None and spanish and m.kind == "inv":
                rest = frame[m.end : limit].split()
                if not rest or rest[0].lower() in _STOP or not _WORD_RE.search(rest[0]):
                    return m.start, m.start  # «…», aseguró. — the subject is dropped
            return span
        return None
    if m.kind == "part":
        quoted = _QUOTED_AS_RE.search(frame, gap_start, m.start)
        if quoted:  # “…,” local papers quoted him as saying.
            return _phrase_after(frame, quoted.start(1), quoted.end(1), False)
        return None
    first = frame[gap_start : m.start].split(None, 1)
    if first and first[0].islower() and first[0].endswith("ing"):
        # “…,” rejecting US claims that …: a participle clause, not a speaker phrase.
        return None
    whole = _whole_gap(frame, gap_start, m.start)
    if whole:
        return whole
    span = _subject_before(frame, gap_start, m.start)
    if span and frame[gap_start : span[0]].strip() == "":
        return span
    if m.kind == "inv" and frame[max(0, m.start - 8) : m.start].rstrip().endswith(","):
        # “…,” the town nearest the crash site, said Soelistyo.
        return _phrase_after(frame, m.end, limit, _is_spanish(m.text))
    return None


def _whole_gap(frame: str, a: int, b: int) -> tuple[int, int] | None:
    """All of “…,” <these words> said, when they are one phrase ("CNN meteorologist Chad
    Myers"): no punctuation and no clause word between the quote and the verb."""
    region = frame[a:b]
    tail = _AUX_TAIL_RE.search(region)
    if tail:
        region = region[: tail.start()]
    tokens = region.split()
    if not tokens or len(tokens) > 8 or _GAP_BARRIER_RE.search(region):
        return None
    lows = [t.lower() for t in tokens]
    if any(w in _STOP or w in _PRONOUNS for w in lows) or lows[-1] in _INNER_PREPS | _DETERMINERS:
        return None
    if not _valid(tokens, loose=True):
        return None
    end = a + len(region.rstrip())
    return a + (len(region) - len(region.lstrip())), end


def _pre_speaker(frame: str, q: _Quote, s0: int, s1: int) -> tuple[int, int] | None:
    """X said …, “…” / according to X, “…” / X described … as “…” / X wrote: “…”."""
    verbs = list(_verbs(frame, max(s0, q.open - 2 * _REACH), q.open))
    for m in reversed(verbs[-2:]):
        span = _from_verb(frame, s0, s1, m, s0)
        if span:
            return span
    words = _IN_WORDS_RE.search(frame, max(s0, q.open - _REACH), q.open)
    if words:  # "in Rubio’s words, “…”", "in the words of the ministry", "en palabras de"
        a, b = words.span(1) if words.group(1) else words.span(2)
        return _phrase_after(frame, a, b, False)
    if verbs:
        return None
    before = frame[s0 : q.open].rstrip()
    if before.endswith(":"):
        return _subject_before(frame, s0, s0 + len(before) - 1)
    lead = _HEADLINE_LEAD_RE.match(frame, s0, q.open)
    if lead:  # a headline: "Trump: Cuba ‘going down for the count’"
        return _subject_before(frame, s0, lead.end(1))
    return None


def _speaker_key(story: Story, words: str) -> str:
    """The story's key for a speaker phrase, skipping a title that belongs to another body:
    in "Zippy Duvall, the president of the Farm Bureau" "the president" is not Trump's."""
    folded = fold(words)
    for key, length, pos in story.speakers.matches(words):
        rest = folded[pos + length :]
        if rest.startswith((" of ", " de ", " del ")) and len(folded) == len(words):
            continue
        return key
    return "other"


def _title_like(quote: str) -> bool:
    """A quoted name or title (“Operation Absolute Resolve”), not a statement."""
    if quote[-1:] in _TERMINAL:
        return False
    words = _WORD_RE.findall(quote)
    if not words or len(words) > 6:
        return False
    return (
        all(w[0].isupper() or w.lower() in _TITLE_CONNECTORS for w in words)
        and words[0][0].isupper()
    )


def _antecedent(
    text: str, frame: str, sentences: list[tuple[int, int, int]], idx: int, story: Story,
    last: _Speaker | None,
) -> _Speaker | None:  # fmt: skip
    """The last named speaker before sentence ``idx``: a quote's speaker, or a sentence's
    named subject, whichever is nearer."""
    for j in range(idx - 1, max(-1, idx - 4), -1):
        s0, s1, _ = sentences[j]
        if last and last.pos >= s0:
            return last
        span = _clause_subject(frame, s0, s1)
        if span:
            words = text[span[0] : span[1]]
            key = _speaker_key(story, words)
            later_capital = any(_is_capital(w) for w in words.split()[1:])
            if words.lower() not in _PRONOUNS and (key != "other" or later_capital):
                return _Speaker(words, key, span[0])
    return last


def _sentence_text(text: str, s0: int, s1: int, q: _Quote) -> str:
    """The sentence as in the input; a run-on "sentence" of thousands of characters (a page
    with no full stops) is cut to the words around the quote."""
    if s1 - s0 <= _LONGEST_SENTENCE:
        return text[s0:s1]
    a = max(s0, q.open - _REACH)
    b = min(s1, max(q.close + 1, q.end) + _REACH)
    a = text.find(" ", a, q.open) + 1 if a > s0 and " " in text[a : q.open] else a
    cut = text.rfind(" ", max(q.end, b - _REACH), b)
    b = cut if b < s1 and cut > q.end else b
    return text[a:b].strip()


def extract_statements(text: str, story: Story) -> list[dict]:
    """Quoted statements in ``text`` as contract dicts, in text order.

    ``text[start:end] == quote`` (the words inside the marks, trailing punctuation kept as
    printed). A quote of four or more words that nobody is said to have said comes back with
    speaker ``""`` and key ``other``; shorter ones and quoted names or titles with no speaker
    are skipped. A pronoun speaker ("he said") is replaced by the speaker it refers to."""
    quotes, blocks = _find_quotes(text)
    if not quotes:
        return []
    frame = _mask(text, quotes)
    sentences = _sentences(frame, blocks)
    out: list[dict] = []
    last: _Speaker | None = None  # the last named speaker, for pronouns
    prev_quote: tuple[_Speaker | None, int] | None = None  # (speaker, block) of the last quote
    qi = 0
    for si, (s0, s1, block) in enumerate(sentences):
        in_sentence = []
        while qi < len(quotes) and quotes[qi].open < s1:
            if quotes[qi].open >= s0:
                in_sentence.append(quotes[qi])
            qi += 1
        for k, q in enumerate(in_sentence):
            limit = in_sentence[k + 1].open if k + 1 < len(in_sentence) else s1
            span = _post_speaker(frame, q, limit, s0, s1) or _pre_speaker(frame, q, s0, s1)
            speaker: _Speaker | None = None
            if span:
                words = text[span[0] : span[1]]
                if not words or words.lower() in _PRONOUNS:
                    # "The ministry condemned what it called …": the sentence's own subject
                    # first, then the speakers and subjects of the sentences before.
                    own = _clause_subject(frame, s0, span[0]) if span[0] > s0 else None
                    own_words = text[own[0] : own[1]] if own else ""
                    own_key = _speaker_key(story, own_words) if own_words else "other"
                    if (
                        own_words
                        and own_words.lower() not in _PRONOUNS
                        and (
                            own_key != "other"
                            or any(_is_capital(w) for w in own_words.split()[1:])
                            or own[0] > s0
                        )
                    ):
                        speaker = _Speaker(own_words, own_key, own[0])
                    else:
                        speaker = _antecedent(text, frame, sentences, si, story, last)
                    if speaker is None and words:
                        speaker = _Speaker(words, "other", span[0])
                else:
                    speaker = _Speaker(words, _speaker_key(story, words), span[0])
            elif (
                prev_quote
                and prev_quote[0]
                and prev_quote[1] >= block - 1
                and not _WORD_RE.search(frame, s0, s1)
            ):
                speaker = prev_quote[0]  # the quote goes on in a sentence of its own
            quote = text[q.start : q.end]
            n_words = len(_WORD_RE.findall(quote))
            if speaker is None and (n_words < 4 or _title_like(quote)):
                continue  # a scare quote, nickname or title with nobody saying it
            if speaker is not None and n_words >= 2 and _title_like(quote):
                continue
            if speaker and speaker.text.lower() not in _PRONOUNS:
                last = speaker
            prev_quote = (speaker, block)
            out.append(
                {
                    "type": "statement",
                    "speaker": speaker.text if speaker else "",
                    "speaker_key": speaker.key if speaker else "other",
                    "quote": quote,
                    "sentence": _sentence_text(text, s0, s1, q),
                    "start": q.start,
                    "end": q.end,
                }
            )
    return out
