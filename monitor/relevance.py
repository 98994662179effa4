"""Relevance: is a feed entry, an article, a sentence about the tracked story?

Three pure checks over the story file's ``[relevance]`` vocabulary (accent-folded, whole-word):

- ``entry_relevance`` — lenient, on a feed entry's title and summary: is the page worth a fetch?
  Recall first; a false positive costs one fetch.
- ``article_relevance`` — strict, on the fetched text: may its claims be compared? Precision
  first; it needs at least one sentence that names the event itself (an anchor with a capture
  or raid word, a US actor with the event, the Cuban dead in Venezuela, or a signature phrase)
  and is not about another time or another event.
- ``sentence_on_story`` — refuses a sentence inside a relevant article that is about another
  event (another year, "last year" with a toll, an earthquake, Panama...). On story by default.

All story words live in ``seeds/<story>/story.toml``; this module holds only language mechanics
(sentence splitting, how years and "decades ago" are written).
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass, field
from functools import lru_cache

from monitor.story import Story, fold

# Facet lists read from the story file besides the four that story.Relevance carries.
_EXTRA_LISTS = (
    "strong_event_terms",
    "cuba_terms",
    "us_terms",
    "venezuela_terms",
    "casualty_terms",
    "signatures",
    "other_events",
    "other_places",
    "story_time_terms",
    "not_event_terms",
    "entry_skip_terms",
    "story_figures",
)

# Arabic attaches conjunctions, prepositions and the article to the word: وكوبا, لمادورو, والقبض.
_ARABIC_PREFIX = "(?:[وفبلك]?(?:ال|ل)?)"
_ARABIC = re.compile(r"[\u0600-\u06ff]")

_MONTHS = (
    "january|february|march|april|may|june|july|august|september|october|november|december|"
    "jan|feb|mar|apr|jun|jul|aug|sep|sept|oct|nov|dec|"
    "enero|febrero|marzo|abril|mayo|junio|julio|agosto|septiembre|octubre|noviembre|diciembre|"
    "janeiro|fevereiro|marco|maio|junho|julho|setembro|outubro|novembro|dezembro|"
    "janvier|fevrier|mars|avril|mai|juin|juillet|aout|septembre|octobre|novembre|decembre|"
    "januar|februar|marz|juni|juli|oktober|dezember|"
    "gennaio|febbraio|aprile|maggio|giugno|luglio|settembre|ottobre|dicembre"
)
# A year used as a time anchor: after a preposition, article or month ("in 1989", "the 2019
# blackout", "May 2020", "(2018)"), never a bare count ("1900 people"). "since 2013" is a
# duration reaching the present, so it does not move the sentence to another time.
_YEAR = re.compile(
    r"(?:(?<![\w])(?:in|during|of|the|from|until|till|before|after|by|early|late|mid|year|"
    r"en|de|del|el|em|no|na|do|da|im|am|vom|von|a|au|en|nel|nell'|dell'|del|ano|jahr|annee|"
    r"عام|سنة|في|" + _MONTHS + r")[\s\-]+|\(|^)((?:1[89]|20)\d\d)(?![\d,.]\d)(?!\s*(?:people|"
    r"persons|personas|pessoas|personnes|menschen|dead|killed|muertos|mortos|morts|tote)\b)"
)
_DECADE = re.compile(
    r"(?<!\w)(?:(?:1[89]|20)\d0s|the (?:fifties|sixties|seventies|eighties|nineties)|"
    r"(?:los )?anos (?:50|60|70|80|90|cincuenta|sesenta|setenta|ochenta|noventa)|"
    r"annees (?:50|60|70|80|90)|(?:19|20)\d0er(?: jahren?)?)(?!\w)"
)
_RELATIVE_PAST = re.compile(
    r"(?<!\w)(?:last year|a year ago|years ago|decades ago|a decade ago|centuries ago|"
    r"the previous year|in previous years|"
    r"el ano pasado|el pasado ano|hace (?:\w+ )?(?:anos|decadas|un ano)|"
    r"no ano passado|ha (?:\w+ )?(?:anos|decadas)|"
    r"l'an dernier|l'annee derniere|il y a (?:\w+ )?(?:ans|decennies)|"
    r"letztes jahr|im vergangenen jahr|im letzten jahr|vor (?:\w+ )?(?:jahren|jahrzehnten)|"
    r"l'anno scorso|(?:\w+ )?anni fa|"
    r"العام الماضي|قبل عقود|قبل سنوات)(?!\w)"
)
_FRAME_CHARS = 30  # a time phrase starting this early sets the time of the whole sentence

# Sentence ends: . ! ? (and Arabic ?) before an upper-case letter, a quote, a digit or Arabic.
_SENTENCE_END = re.compile(
    r"(?<=[.!?\u061f])[\"'\u201d\u2019)]*\s+(?=[\"'\u201c\u2018(¿¡]?[A-Z0-9\u00c0-\u00de\u0600-\u06ff])"
)
_ABBREV_TAIL = re.compile(
    r"(?:\b(?:[A-Z]\.){1,3}|\b(?:Mr|Mrs|Ms|Dr|Gen|Sen|Rep|Gov|Lt|Col|Sgt|St|No|Jan|Feb|Aug|Sept|Oct|Nov|Dec|Sr|Sra))\.$"
)

ENTRY_THRESHOLD = 0.3
ARTICLE_THRESHOLD = 0.5


@dataclass(frozen=True)
class RelevanceResult:
    """A relevance verdict: score in 0..1, the decision, and which terms led to it."""

    score: float
    relevant: bool
    reasons: list[str] = field(default_factory=list)


_END, _STAR = "", "*"  # trie markers: a term ends here / a prefix term ends here


def _trie_regex(node: dict) -> str:
    # Factor common prefixes ("cuba", "cuban", "cubanos" -> cuba(?:n(?:os)?)?): Python's re
    # tries alternatives one by one, so a flat list of a hundred terms is slow.
    alts = []
    for char in sorted(k for k in node if k not in (_END, _STAR)):
        piece = r"\s+" if char == " " else re.escape(char)
        alts.append(piece + _trie_regex(node[char]))
    if _STAR in node:
        alts.append(r"\w*")
    if _END in node:
        alts.append("")
    if len(alts) == 1:
        return alts[0]
    return "(?:" + "|".join(alts) + ")"


class _Terms:
    """One compiled whole-word pattern for a list of story terms ("*" = prefix)."""

    def __init__(self, terms: tuple[str, ...] | list[str]) -> None:
        plain: dict = {}
        arabic: dict = {}
        for term in {" ".join(fold(t).split()) for t in terms if t.strip()}:
            stem, marker = (term[:-1], _STAR) if term.endswith("*") else (term, _END)
            node = arabic if _ARABIC.match(stem) else plain
            for char in stem:
                node = node.setdefault(char, {})
            node[marker] = True
        alts = [_trie_regex(plain)] if plain else []
        if arabic:
            alts.append(_ARABIC_PREFIX + _trie_regex(arabic))
        body = "|".join(alts) or r"(?!x)x"
        self.pattern = re.compile(rf"(?<!\w)(?:{body})(?!\w)")

    def find(self, folded: str) -> set[str]:
        return {" ".join(m.group(0).split()) for m in self.pattern.finditer(folded)}

    def any(self, folded: str) -> bool:
        return self.pattern.search(folded) is not None


@dataclass(frozen=True)
class _Vocab:
    anchors: _Terms
    events: _Terms
    strong: _Terms
    cuba: _Terms
    us: _Terms
    venezuela: _Terms
    casualty: _Terms
    signatures: _Terms
    off_topic: _Terms
    other_events: _Terms
    other_places: _Terms
    story_time: _Terms
    not_event: _Terms
    entry_skip: _Terms
    figures: _Terms
    gate: _Terms  # any word a story sentence must have; most sentences fail it cheaply
    story_year: str


def _extra_lists(story: Story) -> dict[str, tuple[str, ...]]:
    # story.Relevance carries four lists; the facets are read from the same [relevance] table.
    path = story.folder / "story.toml"
    try:
        rel = tomllib.loads(path.read_text(encoding="utf-8")).get("relevance", {})
    except (OSError, tomllib.TOMLDecodeError):
        rel = {}
    return {k: tuple(v for v in rel.get(k, []) if isinstance(v, str)) for k in _EXTRA_LISTS}


_VOCABS: dict[tuple[str, object], _Vocab] = {}
_BY_ID: dict[int, tuple[Story, _Vocab]] = {}


def _vocab(story: Story) -> _Vocab:
    # Fast path by identity (stories are cached singletons); the held reference keeps the id
    # from being reused by another object.
    known = _BY_ID.get(id(story))
    if known is not None and known[0] is story:
        return known[1]
    key = (str(story.folder), story.relevance)
    cached = _VOCABS.get(key)
    if cached is not None:
        _BY_ID[id(story)] = (story, cached)
        return cached
    rel = story.relevance
    extra = _extra_lists(story)
    # Without facet lists the story still works: every event word is strong, every context
    # word stands for every facet (lenient), nothing is a signature.
    strong = extra["strong_event_terms"] or rel.event_terms
    for facet in ("cuba_terms", "us_terms", "venezuela_terms", "casualty_terms"):
        extra[facet] = extra[facet] or rel.context_terms
    vocab = _Vocab(
        anchors=_Terms(rel.anchors),
        events=_Terms(rel.event_terms + strong),
        strong=_Terms(strong),
        cuba=_Terms(extra["cuba_terms"]),
        us=_Terms(extra["us_terms"]),
        venezuela=_Terms(extra["venezuela_terms"]),
        casualty=_Terms(extra["casualty_terms"]),
        signatures=_Terms(extra["signatures"]),
        off_topic=_Terms(rel.off_topic_terms),
        other_events=_Terms(extra["other_events"]),
        other_places=_Terms(extra["other_places"]),
        story_time=_Terms(extra["story_time_terms"]),
        not_event=_Terms(extra["not_event_terms"]),
        entry_skip=_Terms(extra["entry_skip_terms"]),
        figures=_Terms(extra["story_figures"]),
        gate=_Terms(
            rel.anchors
            + extra["cuba_terms"]
            + extra["venezuela_terms"]
            + extra["signatures"]
            + extra["story_time_terms"]
        ),
        story_year=(story.published_at or "")[:4],
    )
    _VOCABS[key] = vocab
    _BY_ID[id(story)] = (story, vocab)
    return vocab


@dataclass(frozen=True)
class _Hits:
    anchors: set[str]
    events: set[str]
    strong: set[str]
    cuba: set[str]
    us: set[str]
    venezuela: set[str]
    casualty: set[str]
    signatures: set[str]
    off_topic: set[str]
    story_time: set[str]
    figures: set[str]

    @property
    def names_event_strongly(self) -> bool:
        """The text names the operation itself: a signature, Maduro/Caracas with a capture or
        raid word, or the Cuban dead with Maduro/Caracas or a capture or raid word."""
        return bool(
            self.signatures
            or (self.anchors and self.strong)
            or (
                self.cuba
                and self.casualty
                and (self.strong or (self.anchors and (self.figures or self.events or self.us)))
            )
        )

    @property
    def names_event(self) -> bool:
        """Strongly, or through weaker combinations that need a clean article around them."""
        return self.names_event_strongly or bool(
            (self.anchors and self.events and self.us)
            or (self.cuba and self.casualty and self.anchors)
            # The Cuban dead in Venezuela, tied by the story's figure or the US actor (a Cuban
            # doctor killed in a robbery in Venezuela is other news).
            or (
                self.cuba
                and self.casualty
                and self.venezuela
                and (self.figures or self.events or self.us or self.story_time)
            )
            or (self.cuba and self.casualty and self.events and self.us)
            or (self.venezuela and self.strong and self.us)
            or (self.venezuela and self.casualty and self.events and self.us)
            or (self.story_time and self.events and self.us and (self.venezuela or self.anchors))
        )


def _hits(folded: str, v: _Vocab) -> _Hits:
    return _Hits(
        anchors=v.anchors.find(folded),
        events=v.events.find(folded),
        strong=v.strong.find(folded),
        cuba=v.cuba.find(folded),
        us=v.us.find(folded),
        venezuela=v.venezuela.find(folded),
        casualty=v.casualty.find(folded),
        signatures=v.signatures.find(folded),
        off_topic=v.off_topic.find(folded),
        story_time=v.story_time.find(folded),
        figures=v.figures.find(folded),
    )


def _reasons(h: _Hits) -> list[str]:
    out = []
    for name in ("signatures", "anchors", "strong", "events", "cuba", "us", "venezuela"):
        out += [
            f"{name.rstrip('s') if name != 'us' else 'us'}:{t}" for t in sorted(getattr(h, name))
        ]
    out += [f"casualty:{t}" for t in sorted(h.casualty)]
    out += [f"off_topic:{t}" for t in sorted(h.off_topic)]
    return out


def _bounded(score: float, relevant: bool, threshold: float) -> float:
    # Keep score and decision consistent: relevant iff score >= threshold.
    score = max(0.0, min(1.0, score))
    if relevant:
        return round(max(score, threshold), 3)
    return round(min(score, threshold - 0.01), 3)


def entry_relevance(title: str, summary: str, story: Story) -> RelevanceResult:
    """Lenient check on a feed entry: worth fetching the page? (recall first)."""
    v = _vocab(story)
    folded = fold(f"{title or ''}\n{summary or ''}")
    h = _hits(folded, v)
    facets = bool(h.events) + bool(h.cuba) + bool(h.us) + bool(h.venezuela) + bool(h.casualty)
    # Recall first: anything naming Maduro, Caracas, Cuba or Venezuela is fetched (a feed
    # summary rarely shows the one sentence that mentions the raid), and so is any entry
    # joining a US actor, an attack word and a toll.
    relevant = bool(
        h.signatures
        or h.anchors
        or h.cuba
        or h.venezuela
        or (h.us and h.events and h.casualty and not h.off_topic)
    )
    # Sports and features sharing the cast are skipped unless they name the event.
    if relevant and v.entry_skip.any(folded) and not h.names_event:
        relevant = False
    score = 0.4 * bool(h.signatures) + 0.3 * min(len(h.anchors), 2) + 0.08 * facets
    score -= 0.15 * len(h.off_topic)
    return RelevanceResult(_bounded(score, relevant, ENTRY_THRESHOLD), relevant, _reasons(h))


def split_sentences(text: str) -> list[str]:
    """Sentences of a text (paragraph breaks always end one; "U.S." and "Gen." do not)."""
    out: list[str] = []
    for para in re.split(r"\n\s*", text or ""):
        para = para.strip()
        if not para:
            continue
        pieces = _SENTENCE_END.split(para)
        merged: list[str] = []
        for piece in pieces:
            if merged and _ABBREV_TAIL.search(merged[-1]):
                merged[-1] = f"{merged[-1]} {piece}"
            else:
                merged.append(piece)
        out += [p.strip() for p in merged if p.strip()]
    return out


def _other_time(folded: str, story_year: str) -> tuple[bool, bool, bool]:
    """(names another year or decade, says "last year"/"decades ago", that phrase opens it)."""
    years = [m for m in _YEAR.finditer(folded) if m.group(1) != story_year]
    spans = [m.start(1) for m in years] + [m.start() for m in _DECADE.finditer(folded)]
    relative = [m.start() for m in _RELATIVE_PAST.finditer(folded)]
    frame = any(pos < _FRAME_CHARS for pos in spans + relative)
    return bool(spans), bool(relative), frame


@lru_cache(maxsize=64)
def _article_names_story(article_text: str, vocab_key: tuple[str, object]) -> bool:
    # Cached: the comparison step asks this once per sentence of the same article.
    v = _VOCABS[vocab_key]
    folded = fold(article_text)
    return v.anchors.any(folded) or v.signatures.any(folded)


def sentence_on_story(sentence: str, story: Story, article_text: str | None = None) -> bool:
    """False only when the sentence is clearly about another time or another event.

    Refused: a sentence set in another year or decade ("In 1989, ...", "the 2019 blackout")
    unless it also names the operation itself; "last year"/"decades ago" with a toll or another
    event; another event (a quake, a hurricane, a shooting) or another place (Panama, Gaza)
    with no anchor of this story. With ``article_text``, an article that never names the story
    (no anchor, no signature) has no on-story sentences at all.
    """
    v = _vocab(story)
    if article_text is not None:
        if not _article_names_story(article_text, (str(story.folder), story.relevance)):
            return False
    folded = fold(sentence)
    return _folded_on_story(folded, _hits(folded, v), v)


def _folded_on_story(folded: str, h: _Hits, v: _Vocab) -> bool:
    anchors = bool(h.anchors)
    signature = bool(h.signatures)
    names_event = h.names_event
    in_story_time = v.story_time.any(folded)
    other_year, relative, frame = _other_time(folded, v.story_year)
    if other_year and not in_story_time and (frame or not names_event):
        return False
    if relative and not in_story_time and not names_event:
        # "In July last year, Trump signed..." is harmless background; a toll is not.
        if v.casualty.any(folded) or v.other_events.any(folded) or v.other_places.any(folded):
            return False
    if v.other_events.any(folded) and not (anchors or signature):
        return False
    if v.other_places.any(folded) and not (anchors or signature or h.cuba or h.venezuela):
        return False
    return True


def article_relevance(title: str, text: str, story: Story) -> RelevanceResult:
    """Strict check on a fetched article: may its claims be compared? (precision first)."""
    v = _vocab(story)
    sentences = split_sentences(title or "") + split_sentences(text or "")
    folded_sentences = [fold(sentence) for sentence in sentences]
    strong_sentences = weak_sentences = 0
    event_reasons: set[str] = set()
    for folded in folded_sentences:
        if not v.gate.any(folded):
            continue
        h = _hits(folded, v)
        # A sentence counts when it names the operation, carries no other-topic word, does not
        # describe an attempt, plot, threat or hypothetical, and is not about another time or
        # event.
        if not h.names_event or h.off_topic:
            continue
        # A count of the Cuban dead is a reported fact even in a sentence that also says
        # "would" ("Cuba would not be intimidated after the deaths of 32 compatriots").
        cuban_dead = h.cuba and h.casualty and (h.figures or h.signatures)
        if v.not_event.any(folded) and not cuban_dead:
            continue
        if not _folded_on_story(folded, h, v):
            continue
        if h.names_event_strongly:
            strong_sentences += 1
        else:
            weak_sentences += 1
        event_reasons |= {f"event_sentence:{t}" for t in h.signatures | h.strong | h.anchors}
    folded_all = "\n".join(folded_sentences)
    whole = _hits(folded_all, v)
    # Weak sentences alone ("the US attack on Caracas") suffice only in an article with no
    # other-topic word at all.
    # ... and in an article not dated to another year (a 2019 "Maduro accuses the US of
    # planning an invasion" piece names 2019 and never the story's year).
    other_year, _, _ = _other_time(folded_all, v.story_year)
    dated_elsewhere = other_year and not (whole.story_time or v.story_year in folded_all)
    relevant = strong_sentences >= 1 or (
        weak_sentences >= 1 and not whole.off_topic and not dated_elsewhere
    )
    score = (
        0.2 * min(strong_sentences, 3)
        + 0.1 * min(weak_sentences, 2)
        + 0.1 * min(len(whole.anchors), 2)
        + 0.05 * (bool(whole.cuba) + bool(whole.us) + bool(whole.casualty))
        - 0.05 * min(len(whole.off_topic), 4)
    )
    reasons = [
        f"strong_sentences:{strong_sentences}",
        f"weak_sentences:{weak_sentences}",
        *sorted(event_reasons),
        *_reasons(whole),
    ]
    return RelevanceResult(_bounded(score, relevant, ARTICLE_THRESHOLD), relevant, reasons)


# ---------------------------------------------------------------- what an article is about
# An article may name the event in passing only: an oil, tariff or blackout piece that says
# "since US forces captured Maduro" once. The comparison step then compares only the claims
# of the sentences that name the event themselves (``event_sentence``), not the article's
# other figures and quotes. News puts its topic in the headline and the first sentence.

CENTRAL_EVENT_SENTENCES = 3
CENTRAL_EVENT_SHARE = 0.3


def event_sentence(sentence: str, story: Story) -> bool:
    """Does this sentence name the event itself (as ``article_relevance`` counts it)?"""
    v = _vocab(story)
    folded = fold(sentence)
    if not v.gate.any(folded):
        return False
    h = _hits(folded, v)
    if not h.names_event:
        return False
    cuban_dead = h.cuba and h.casualty and (h.figures or h.signatures)
    if v.not_event.any(folded) and not cuban_dead:
        return False
    return _folded_on_story(folded, h, v)


def event_is_central(title: str, text: str, story: Story) -> bool:
    """True when the headline or the first sentence names the event, or the event runs
    through the text (``CENTRAL_EVENT_SENTENCES`` sentences, or two making
    ``CENTRAL_EVENT_SHARE`` of it); False for a passing mention."""
    head = split_sentences(title or "")
    body = split_sentences(text or "")
    titles = {" ".join(fold(s).split()) for s in head}
    lede = list(head)
    for sentence in body:  # extracted text often starts with the title line
        lede.append(sentence)
        if " ".join(fold(sentence).split()) not in titles:
            break
    if any(
        event_sentence(s, story) or touches_dead(s, story) or _lede_names_cast(s, story)
        for s in lede
    ):
        return True
    events = sum(event_sentence(s, story) for s in body)
    if events >= CENTRAL_EVENT_SENTENCES:
        return True
    return events >= 2 and events >= CENTRAL_EVENT_SHARE * max(1, len(body))


def _lede_names_cast(sentence: str, story: Story) -> bool:
    # A headline or first sentence naming Maduro or Caracas with Cuba, the US actor, the dead
    # or the event ("Cuba says its officers guarded Maduro") is about the story, unless it
    # names another topic too ("Díaz-Canel promises an end to the blackout").
    v = _vocab(story)
    h = _hits(fold(sentence), v)
    facets = h.cuba or h.us or h.casualty or h.events
    return bool(h.anchors and facets and not h.off_topic and not v.other_events.any(fold(sentence)))


def touches_dead(sentence: str, story: Story) -> bool:
    # A headline about the Cuban dead ("Havana honours 32 fallen compatriots") is the story.
    v = _vocab(story)
    h = _hits(fold(sentence), v)
    return bool(h.cuba and (h.figures or h.signatures) and (h.casualty or h.anchors))


def touches_story(sentence: str, story: Story) -> bool:
    """Does the sentence touch the story at all: an anchor (Maduro, Caracas), Cuba, Venezuela,
    the event's words or the dead? (Trump or Rubio alone does not: they talk of much else.)"""
    v = _vocab(story)
    folded = fold(sentence)
    return bool(
        v.anchors.any(folded)
        or v.cuba.any(folded)
        or v.venezuela.any(folded)
        or v.signatures.any(folded)
        or v.events.any(folded)
        or v.casualty.any(folded)
    )
