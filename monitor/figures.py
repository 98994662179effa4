"""Casualty figures: which numbers in a news text count the killed, injured, missing or detained.

The text is split into sentences; only sentences holding both a number and a casualty word are
tokenised. Each quantity ("at least 80", "Sixty two", "dozens", "between 20 and 30") is then
judged by its local grammar: a casualty word after it ("80 people were killed", "3 dead"), a
casualty verb or toll noun before it ("killing 25", "the toll rose to 100"), or membership of a
list hanging off another figure ("including 5 children"). Contexts that only look like tolls
(years, ages, money, units, perpetrators, predictions, statistics, "casualties") are refused.
The conventions are those of the claims contract (see PHENOMENA.md in the shared docs).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

from monitor.numbers import DIGITS_PATTERN, NUMBER_WORDS, VAGUE, read_quantity
from monitor.story import Story

# --- sentences ---------------------------------------------------------------------------

_ABBREVIATIONS = frozenset(
    "mr mrs ms dr gen col lt sgt capt cpt gov sen rep st jan feb mar apr jun jul aug sep sept "
    "oct nov dec no nos vs etc inc corp co jr sr mt ft prof rev hon maj cmdr adm pres approx est "
    "dept univ ave blvd fig al lieut brig cdr insp supt det".split()
)
_SPACES = re.compile(r"\s*")
_LETTERS_TAIL = re.compile(r"[^\W\d_]+$")
_LINE_STAMP = re.compile(r"\d{1,2}[.:]\d{2}\b")
_BOUNDARY = re.compile(r"[.!?]+[\"'\u201d\u2019)\]]*(?=\s)|\n")


def split_sentences(text: str) -> list[tuple[int, int]]:
    """(start, end) offsets of each sentence. Copes with abbreviations, initials and hard
    line breaks inside a sentence (the next line starting in lower case)."""
    spans: list[tuple[int, int]] = []
    start = 0
    n = len(text)
    for m in _BOUNDARY.finditer(text):
        end = m.end()
        g = m.group()
        if g == "\n":
            nxt = text[end : end + 2].lstrip(" \t")[:1]
            prev = text[max(start, m.start() - 2) : m.start()].rstrip(" \t")[-1:]
            # A hard break inside a sentence: the next line goes on in lower case, or with a
            # number after a line that stopped on a lower-case word or a comma ("killed\n17
            # people"); a timestamp ("14.29 Update") still opens a new line.
            if nxt.islower() and prev not in (".", "!", "?", ":", "\u201d", '"'):
                continue
            if (
                nxt.isdigit()
                and (prev.islower() or prev == ",")
                and not _LINE_STAMP.match(text, _SPACES.match(text, end).end())
            ):
                continue
        else:
            if g[0] == ".":
                w = _word_before(text, m.start(), start)
                if w and (len(w) == 1 or w.lower() in _ABBREVIATIONS):
                    continue
            k = _SPACES.match(text, end).end()
            if k < n and text[k].islower():
                continue
        span = _trim(text, start, end)
        if span[1] > span[0]:
            spans.append(span)
        start = end
    span = _trim(text, start, n)
    if span[1] > span[0]:
        spans.append(span)
    return spans


def _word_before(text: str, at: int, floor: int) -> str:
    """The run of letters (dots between letters allowed, as in "U.S") ending at ``at``."""
    c = text[at - 1] if at > floor else ""
    if not c.isalpha():
        return ""  # "10.", "said.\"": no word to be an abbreviation
    # Only the letters after the last dot matter ("U.S" -> "S"), and no abbreviation is longer
    # than eight letters, so a short window read by one regex call is enough.
    m = _LETTERS_TAIL.search(text, max(floor, at - 9), at)
    return m.group() if m else ""


def _trim(text: str, start: int, end: int) -> tuple[int, int]:
    while start < end and text[start].isspace():
        start += 1
    while end > start and text[end - 1].isspace():
        end -= 1
    return start, end


# --- lexicon -----------------------------------------------------------------------------

_W = frozenset
# Cheap pre-filters: a sentence is tokenised only if it has a number and a casualty stem.
_HAS_NUMBER = re.compile(
    r"\d|\b(?:"
    + "|".join(
        sorted(
            NUMBER_WORDS | set(VAGUE) | {"tens", "second", "third", "fifth", "eighth", "ninth"},
            key=len,
            reverse=True,
        )
    )
    + r")"
)
# Stems must start a word (a digit may touch them: "20killed"). The pattern opens on the
# non-letter before the stem, which lets the engine's prefix scan skip runs of letters in C;
# the text is searched with one space in front, so a match starts exactly where its stem does
# in the text. The stems are grouped by first letter so that a position is tried against a
# few branches, not forty.
_HAS_CASUALTY = re.compile(
    r"[^a-z](?:k(?:ill)|d(?:ead|eath|ie[ds]?\b|ying|etain|rown)|w(?:ound)|i(?:njur)"
    r"|h(?:urt|ospital)|m(?:issing|urder|assacre)|u(?:naccounted)|a(?:rrest)"
    r"|c(?:ustody|ritical condition|offin|asket)|b(?:od(?:y|ies)|ehead)|t(?:oll|rapped|ally)"
    r"|l(?:ives|osing)|\blost\b|f(?:atalit|uneral|allen)|p(?:erish)|s(?:lain|hot|tabb|acrifice)"
    r"|v(?:ictim)|r(?:ounded up|emains of)|e(?:xecut))"
)

_TOKEN = re.compile(
    DIGITS_PATTERN + r"|(?:[A-Za-z]\.){2,}"
    r"|[A-Za-z\u00c0-\u024f]+(?:['\u2019][A-Za-z]+)*(?:-[A-Za-z\u00c0-\u024f]+)*|\S"
)

# Multi-word hedges before a number, longest first. Values: qualifier.
_HEDGES: list[tuple[tuple[str, ...], str]] = sorted(
    [
        (("at", "least"), "at_least"),
        (("a", "minimum", "of"), "at_least"),
        (("no", "fewer", "than"), "at_least"),
        (("more", "than"), "more_than"),
        (("well", "over"), "more_than"),
        (("just", "over"), "more_than"),
        (("over",), "more_than"),
        (("past",), "more_than"),
        (("upwards", "of"), "more_than"),
        (("in", "excess", "of"), "more_than"),
        (("above",), "more_than"),
        (("about",), "about"),
        (("around",), "about"),
        (("nearly",), "about"),
        (("almost",), "about"),
        (("near",), "about"),
        (("some",), "about"),
        (("roughly",), "about"),
        (("approximately",), "about"),
        (("close", "to"), "about"),
        (("closer", "to"), "about"),
        (("an", "estimated"), "about"),
        (("estimated",), "about"),
        (("just", "under"), "about"),
        (("up", "to"), "up_to"),
        (("as", "many", "as"), "up_to"),
        (("not", "more", "than"), "at_most"),
        (("no", "more", "than"), "at_most"),
        (("fewer", "than"), "fewer_than"),
        (("less", "than"), "fewer_than"),
        (("between",), "range"),
    ],
    key=lambda h: -len(h[0]),
)
_HEDGE_FIRST = _W(h[0][0] for h in _HEDGES)
_HEDGES_BY_FIRST: dict[str, list[tuple[tuple[str, ...], str]]] = {}
for _h in _HEDGES:
    _HEDGES_BY_FIRST.setdefault(_h[0][0], []).append(_h)

_K, _I, _M, _D = "killed", "injured", "missing", "detained"
# Casualty words after the number (and its noun phrase). "verb" words can take an object
# ("gunmen killed 12"), which makes the preceding number the perpetrators.
_RIGHT: list[tuple[tuple[str, ...], str, str]] = sorted(
    [
        (("killed",), _K, "verb"),
        (("kiled",), _K, "verb"),
        (("killled",), _K, "verb"),
        (("injuried",), _I, "verb"),
        (("dead",), _K, "adj"),
        (("died",), _K, "intr"),
        (("die",), _K, "intr"),
        (("dies",), _K, "intr"),
        (("deaths",), _K, "noun"),
        (("killings",), _K, "noun"),
        (("death",), _K, "noun"),
        (("fatalities",), _K, "noun"),
        (("fatality",), _K, "noun"),
        (("bodies",), _K, "noun"),
        (("body",), _K, "noun"),
        (("corpses",), _K, "noun"),
        (("lives",), _K, "noun"),
        (("perished",), _K, "intr"),
        (("slain",), _K, "adj"),
        (("fallen",), _K, "adj"),
        (("victims",), _K, "noun"),
        (("murdered",), _K, "verb"),
        (("massacred",), _K, "verb"),
        (("drowned",), _K, "intr"),
        (("shot", "dead"), _K, "verb"),
        (("shot", "and", "killed"), _K, "verb"),
        (("shot", "to", "death"), _K, "verb"),
        (("stabbed", "to", "death"), _K, "verb"),
        (("burned", "to", "death"), _K, "verb"),
        (("burnt", "to", "death"), _K, "verb"),
        (("beaten", "to", "death"), _K, "verb"),
        (("lost", "their", "lives"), _K, "intr"),
        (("lost", "his", "life"), _K, "intr"),
        (("lost", "her", "life"), _K, "intr"),
        (("gave", "their", "lives"), _K, "intr"),
        (("presumed", "dead"), _K, "adj"),
        (("pronounced", "dead"), _K, "adj"),
        (("declared", "dead"), _K, "adj"),
        (("feared", "dead"), _K, "adj"),
        (("confirmed", "dead"), _K, "adj"),
        (("found", "dead"), _K, "adj"),
        (("made", "the", "ultimate", "sacrifice"), _K, "intr"),
        (("among", "the", "dead"), _K, "adj"),
        (("among", "those", "killed"), _K, "adj"),
        (("among", "the", "victims"), _K, "adj"),
        (("among", "the", "fatalities"), _K, "adj"),
        (("injured",), _I, "verb"),
        (("wounded",), _I, "verb"),
        (("hurt",), _I, "verb"),
        (("injuries",), _I, "noun"),
        (("hospitalised",), _I, "verb"),
        (("hospitalized",), _I, "verb"),
        (("stabbed",), _I, "verb"),
        (("shot",), _I, "verb"),
        (("shot", "and", "wounded"), _I, "verb"),
        (("shot", "and", "injured"), _I, "verb"),
        (("admitted", "to", "hospital"), _I, "intr"),
        (("taken", "to", "hospital"), _I, "intr"),
        (("taken", "to", "hospitals"), _I, "intr"),
        (("taken", "to", "the", "hospital"), _I, "intr"),
        (("rushed", "to", "hospitals"), _I, "intr"),
        (("rushed", "to", "the", "hospital"), _I, "intr"),
        (("admitted", "to", "hospitals"), _I, "intr"),
        (("rushed", "to", "hospital"), _I, "intr"),
        (("treated", "for", "injuries"), _I, "intr"),
        (("in", "critical", "condition"), _I, "adj"),
        (("in", "serious", "condition"), _I, "adj"),
        (("suffered", "injuries"), _I, "intr"),
        *[
            ((verb, adj, noun), _I, "intr")
            for verb in ("suffered", "sustained", "received")
            for adj in (
                "serious",
                "critical",
                "minor",
                "severe",
                "multiple",
                "gunshot",
                "burn",
                "head",
                "life-threatening",
                "grave",
            )
            for noun in ("injuries", "wounds")
        ],
        (("with", "gunshot", "wounds"), _I, "intr"),
        (("sustained", "injuries"), _I, "intr"),
        (("among", "the", "injured"), _I, "adj"),
        (("among", "the", "wounded"), _I, "adj"),
        (("missing",), _M, "adj"),
        (("unaccounted", "for"), _M, "adj"),
        (("trapped",), _M, "adj"),
        (("arrested",), _D, "verb"),
        (("detained",), _D, "verb"),
        (("in", "custody"), _D, "adj"),
        (("into", "custody"), _D, "intr"),
        (("taken", "into", "custody"), _D, "intr"),
        (("rounded", "up"), _D, "verb"),
        (("arrests",), _D, "noun"),
        (("detentions",), _D, "noun"),
        (("casualties",), "", "reject"),
        (("casualty",), "", "reject"),
    ],
    key=lambda r: -len(r[0]),
)
_RIGHT_FIRST: dict[str, list[tuple[tuple[str, ...], str, str]]] = {}
for _r in _RIGHT:
    _RIGHT_FIRST.setdefault(_r[0][0], []).append(_r)
_METRIC_WORDS = {
    "killed": _K, "dead": _K, "died": _K, "deaths": _K, "fatalities": _K, "injured": _I,
    "wounded": _I, "hurt": _I, "injuries": _I, "missing": _M, "arrested": _D, "detained": _D,
}  # fmt: skip

# Verbs before the number: "killing 25", "kills at least 20", "wounding 75".
_LEFT_VERBS = {
    "killing": _K, "killed": _K, "kills": _K, "kill": _K, "massacred": _K, "slaughtered": _K,
    "wounding": _I, "wounded": _I, "wounds": _I, "wound": _I, "injuring": _I, "injured": _I,
    "injures": _I, "injure": _I, "hurting": _I,
    "arresting": _D, "arrested": _D, "arrests": _D, "detaining": _D, "detained": _D,
    "detains": _D, "arrest": _D, "detain": _D, "hurt": _I, "hurts": _I, "shot": _I,
    "stabbed": _I, "stabbing": _I, "murdered": _K, "murdering": _K, "executed": _K,
    "executing": _K, "beheaded": _K, "massacring": _K, "slaughtering": _K, "kiled": _K,
    "killling": _K,
}  # fmt: skip
_TOLL_NOUNS = {
    "toll": _K, "tally": _K, "deaths": _K, "fatalities": _K, "dead": _K, "victims": _K,
    "killed": _K, "bodies": _K, "injured": _I, "wounded": _I, "hurt": _I, "injuries": _I,
    "missing": _M, "arrested": _D, "detained": _D, "arrests": _D,
    "figure": "?", "number": "?", "count": "?", "it": "?", "total": "?",
}  # fmt: skip
# Verbs that count without naming what: the sentence's other words decide the metric.
# "Estimates ranged from 300 to 400": "from ... to" that spans an estimate, not a change.
_SPAN_VERBS = _W("ranged ranging range ranges varied varying vary varies".split())
_COUNT_VERBS = _W("counted recorded registered listed tallied".split())
_PASSED = _W(
    "passed passes surpassed surpasses exceeded exceeds topped tops crossed crosses crossing"
    "".split()
)
_NEARS = _W("nears neared nearing approaches approached approaching".split())
_PUT = _W("put puts putting placed place".split())
_TOLL_SKIP = _W(
    "crossed crosses crossing has have had was is were are been now officially stood stands "
    "standing stand rose risen "
    "rises rise rising climbed climbs climbing climb jumped jumps increased increases reached "
    "reaches reaching hit hits passed passes surpassed topped tops exceeded neared nears "
    "approached approaches approaching nearing to at of as up further again revised raised "
    "corrected adjusted updated amended "
    "upward upwards downward downwards "
    "lowered put puts putting given set "
    "originally initially first earlier later then overall official final total confirmed "
    "reported numbered totalled totaled totals the from went gone grew grown swelled soared "
    "mounted spiked remained remains included include includes including sits sat down fell "
    "fallen dropped drops falls cut reduced this week so far".split()
)
_LEVEL = _W(
    "stood stands standing rose risen rises rising climbed climbs climbing reached reaches hit "
    "hits passed topped tops exceeded numbered totalled totaled totals is was were are now "
    "jumped increased surpassed grew soared mounted put puts given remained remains included "
    "include includes sits sat neared nears rise climb climbs jump jumps reach near pass "
    "exceed surpass surpasses top stand crossed crosses crossing".split()
)
_CHANGE = _W(
    "rose risen rising rise rises climbed increased jumped up down fell fallen dropped lowered "
    "raised revised cut reduced corrected adjusted updated changed went gone grew falls lowering "
    "raising revising cutting reducing correcting".split()
)
_AUX = _W(
    "were was are is have has had been be being reportedly also later all both confirmed "
    "believed thought known still now remain remained remains subsequently eventually "
    "initially originally already apparently allegedly officially either got tragically "
    "sadly so far since who that which to reported earlier then ultimately feared today "
    "yesterday overnight tonight instantly immediately".split()
)
_BE = _W("were was are is been be being got".split())
_RELATIVE = _W(["who", "that", "which"])
_MODALS = _W(
    "could would may might will shall should can 'll must cannot expected likely going "
    "threatens threatened threaten threatening risk risks if unless averted avert averting "
    "prevent prevented preventing not never hypothetically potentially possibly".split()
)
_STOP = (
    _W(
        "and or but nor in on at by for with from to into onto during after before when while "
        "as of "
        "since than that which who whom whose where said says say told according including among "
        "this these there here its their his her our my your them they he she it we i you each "
        "every around across throughout worldwide nationwide overall far outside inside behind "
        "beside beneath underneath overnight yesterday today tonight instantly immediately "
        "more most were was are is have has had be been being will would could may might should "
        "not no so if because although though until amid despite across over under near about "
        "per via against between within without the a an also".split()
    )
    | _AUX
)
_UNITS_AFTER = _W(
    "km kilometres kilometers kilometre kilometer miles mile metres meters metre meter m cm mm "
    "kg kilograms kilos tons tonnes ton feet foot ft inches inch mph kph km/h knots degrees "
    "degree hours hour hrs days day weeks week months month years year minutes minute seconds "
    "second decades decade centuries century times percent pc per votes vote seats seat points "
    "point goals goal acres acre hectares hectare square storey storeys floors floor magnitude "
    "dollars dollar euros euro pounds pound pesos peso yuan rupees rupee bolivars bolivar "
    "billion trillion bn mn am pm gmt utc bst cet est edt a.m. p.m. o'clock th st nd rd s "
    "ounces litres liters gallons barrels calibre caliber mw bpm".split()
)
_CURRENCY_BEFORE = _W(["$", "€", "£", "¥", "us$", "rs", "usd", "eur", "gbp", "#"])
_MONTHS = _W(
    "january february march april june july august september october november december "
    "jan feb mar apr jun jul aug sep sept oct nov dec".split()
)
_ID_BEFORE = _W(
    "flight no nos number route highway interstate category magnitude level page pages chapter "
    "article resolution section room gate platform ef boeing airbus model version channel "
    "line train unit cell block ward zone sector phase stage round episode season vol volume "
    "issue item paragraph clause grade class size type code apartment lot plot aged age ages "
    "ranked rank top mk ch tier brigade battalion division regiment squadron fleet district "
    "precinct kilometre kilometer km mile year years since in the of".split()
)
# Of these, only "in", "the" and "of" are harmless before an ordinary toll; they matter for
# years only ("in 1985"), so they are checked separately.
_YEAR_BEFORE = _W(["in", "since", "of", "the", "from", "until", "by", "to", "year", "mid"])
_ID_BEFORE_ANY = _ID_BEFORE - _YEAR_BEFORE - {"years", "year", "km", "kilometre", "kilometer",
                                              "mile"}  # fmt: skip
_STATS = _W(
    "average averages averaged annual annually typically typical yearly mean median rate "
    "guesses guess projections projection projected forecast forecasts predicted predicts "
    "prediction predictions model models modelling modeling scenario scenarios simulation".split()
)
_WHERE_WORDS = _W("worldwide globally nationwide annually alone".split())
_STATS_AFTER = [("a", "year"), ("per", "year"), ("each", "year"), ("every", "year"),
                ("annually",), ("on", "average"), ("a", "day"), ("per", "day"), ("each", "day"),
                ("a", "week"), ("per", "week")]  # fmt: skip
_CONNECTORS = _W(
    ", and including among them whom of those the ( ) — – - : ; plus mostly mainly all both "
    "well besides versus vs compared with along alongside against another a further this last "
    "year week included include includes recovered found identified "
    "also "
    "month".split()
) | {","}
_ADDITIVE = _W(["more", "further", "additional", "other", "extra"])
_BACK_CONNECTORS = _W([",", "and", "including", "plus", "(", "—", "–", "among", "them"])
# Verbs whose object is a head count that is not a casualty figure.
_POOL_BEFORE = _W(
    "saved rescued evacuated freed released none zero carrying carried transporting housing "
    "hosting employing employs aboard".split()
)
# "the deaths of 32", "the killing of two politicians".
_OF_NOUNS = _W(
    "lives deaths killing killings murder murders massacre bodies remains coffins caskets "
    "funerals burials".split()
)
# Function words of other languages: such sentences are left alone ("die" is German "the").
_FOREIGN = _W(
    "der und nach durch von mit den des dem für ist wurde le les et une dans pour est sur el los "
    "las y para por una con que fue não dos de vor jahren zu auf im ein eine nicht sich bei aus "
    "als wie noch gramm".split()
)
_OBJ_START = _W("the a an his her him himself herself them both".split())
_DEAD_ATTRIBUTIVE = _W(
    "time times heat end ends zone zones weight letter lock wood line ringer centre center "
    "reckoning cat air battery batteries spot calm giveaway stop set serious trees tree leaves "
    "fish animals cattle birds cells skin".split()
)
_LIVES_VERBS = _W(
    "claimed claim claims claiming cost costs costing took take takes taking lost losing loss "
    "snuffed ended".split()
)
_HEIR_NEXT = _W(
    "and or in on at from of among including with who aged mostly while during near inside "
    "outside across after when them whom by so this last since until before as to over for"
    "".split()
)
_ED_ADJ = _W("armed unarmed unidentified suspected alleged retired injured wounded".split())
_FIGHTERS = _W(
    "men soldiers troops fighters officers personnel servicemen commandos marines guards "
    "policemen members militiamen combatants".split()
)
_PUNCT = _W(list(",.;:()—–-!?\"'"))
_DETS = _W(["the", "its", "their", "his", "her", "those", "these", "them", "whom", "our", "my"])
_NON_PERSON = _W(
    "houses homes buildings vehicles cars trucks buses attacks incidents sites places "
    "locations cities towns villages provinces states countries districts regions hospitals "
    "shells rockets missiles bombs grenades rounds bullets shots explosions blasts strikes "
    "airstrikes raids aircraft planes helicopters boats ships drones tanks weapons guns "
    "rifles cases tests samples reports stories documents pages files homeless displaced "
    "evacuated affected rescued survivors unharmed safe stranded evacuees aircraft plane planes "
    "jet jets ship vessel vessels boat ambulances bikes motorcycles trains battalion brigade "
    "regiment division squad lions elephants animals cattle dogs birds sheep cows horses rhinos "
    "whales dolphins fish chickens pigs goats tigers wolves bears deer rabbits livestock "
    "camels monkeys".split()
)
# Run on the lower-cased sentence (no re.I: case-insensitive matching is far slower).
_RETRACTION = re.compile(
    r"\b(?:was|were|had been|is|being) (?:wrong|incorrect|mistaken|erroneous|an error|a mistake)"
    r"|\bin error\b|\bretract|\bmistakenly\b|\bwithdrew the (?:figure|toll|number)"
)
# Nouns that run into their number in careless copy ("15people"), unlike "101st" or "9mm".
_GLUED_NOUNS = _W("people persons civilians soldiers children dead".split())
_ILLNESS_AFTER = _W(["flu", "influenza", "covid", "covid-19", "symptoms", "illness", "fever"])


# --- tokens and mentions -----------------------------------------------------------------


class _Toks:
    """Tokens of one sentence: original text, lower case, absolute start and end offsets."""

    __slots__ = ("text", "low", "st", "en", "n", "folded")

    def __init__(self, text: str, base: int) -> None:
        tx: list[str] = []
        st: list[int] = []
        en: list[int] = []
        folded = text.lower().replace("\u2019", "'")
        low: list[str] | None = None
        if _GLUED.search(folded) or _CAMEL.search(text) or len(folded) != len(text):
            for m in _TOKEN.finditer(text):
                _add_token(m.group(), base + m.start(), tx, st, en)
        else:
            # The usual case: no run-together words, and lower case keeps every offset, so
            # the lower-cased sentence is tokenised once and the original read by offset.
            found = list(_TOKEN.finditer(folded))
            low = [m.group() for m in found]
            st = [m.start() for m in found]
            en = [m.end() for m in found]
            tx = [text[a:b] for a, b in zip(st, en, strict=True)]
            if base:
                st = [a + base for a in st]
                en = [b + base for b in en]
        if "[" in text:
            _drop_citations(tx, st, en)
            low = None
        self.text = tx
        self.folded = folded
        if low is None:
            if len(folded) == len(text):
                self.low = [folded[a - base : b - base] for a, b in zip(st, en, strict=True)]
            else:
                self.low = [t.lower().replace("\u2019", "'") for t in tx]
        else:
            self.low = low
        self.st = st
        self.en = en
        self.n = len(tx)

    def get(self, i: int) -> str:
        return self.low[i] if 0 <= i < self.n else ""


_GLUE_HEADS = ("killed", "wounded", "injured", "dead", "killing", "kills", "died")
# Run-together words ("killedmore", "threeUN"); checked on the lower-cased sentence, plus a
# cheap lower-to-upper test for the second shape.
_GLUED = re.compile(
    r"(?:killed|wounded|injured|dead|killing|kills|died)(?:more|over|at|about|nearly|some|"
    r"around|up|as|dozens|hundreds|scores|thousands|one|two|three|four|five|six|seven|eight|"
    r"nine|ten|twenty|thirty|forty|fifty)"
)
_CAMEL = re.compile(r"[a-z][A-Z]")


def _add_token(tok: str, start: int, tx: list[str], st: list[int], en: list[int]) -> None:
    # Words that ran together in the source: "killedmore", "threeUN".
    if tok.isalpha() and len(tok) > 4:
        low = tok.lower()
        for head in _GLUE_HEADS:
            if low.startswith(head) and len(low) > len(head):
                rest = low[len(head) :]
                if rest in NUMBER_WORDS or rest in _HEDGE_FIRST or rest in VAGUE:
                    cut = len(head)
                    tx += [tok[:cut], tok[cut:]]
                    st += [start, start + cut]
                    en += [start + cut, start + len(tok)]
                    return
        m = re.match(r"([a-z]+)([A-Z].*)$", tok)
        if m and m.group(1).lower() in NUMBER_WORDS:
            cut = len(m.group(1))
            tx += [tok[:cut], tok[cut:]]
            st += [start, start + cut]
            en += [start + cut, start + len(tok)]
            return
    tx.append(tok)
    st.append(start)
    en.append(start + len(tok))


def _drop_citations(tx: list[str], st: list[int], en: list[int]) -> None:
    """Remove Wikipedia-style citation markers "[3]" glued after words and numbers."""
    i = 0
    while i + 2 < len(tx):
        if tx[i] == "[" and tx[i + 1].isdigit() and tx[i + 2] == "]" and len(tx[i + 1]) < 4:
            del tx[i : i + 3], st[i : i + 3], en[i : i + 3]
            continue
        i += 1


@dataclass(slots=True)
class _Mention:
    hs: int  # first token of the hedge (== qs when there is none)
    qs: int  # first token of the quantity
    qe: int  # token after the quantity (and after a range's second number)
    low: int
    high: int | None
    qualifier: str
    kind: str
    value: int
    metric: str = ""
    group_s: int = -1
    group_e: int = -1
    group_text: str = ""
    end: int = -1  # last token of the figure's span
    consumed: bool = False
    rejected: bool = False
    paren: tuple[int, int] = (-1, -1)  # a dash parenthetical its phrase steps over
    previous: int | None = None
    via: str = ""


def _values(value: int, qualifier: str) -> tuple[int, int | None]:
    if qualifier == "exact":
        return value, value
    if qualifier == "at_least":
        return value, None
    if qualifier == "more_than":
        return value + 1, None
    if qualifier == "about":
        return value, value
    if qualifier in ("up_to", "at_most"):
        return 1, value
    if qualifier == "fewer_than":
        return 1, max(value - 1, 1)
    return value, None  # vague


def _hedge_at(low: list[str], i: int) -> tuple[str, int] | None:
    cands = _HEDGES_BY_FIRST.get(low[i])
    if cands is None:
        return None
    for words, qual in cands:  # longest first
        k = len(words)
        if k == 1 or tuple(low[i : i + k]) == words:
            return qual, i + k
    return None


def _quantity(t: _Toks, i: int) -> tuple[int, int, str] | None:
    low = t.low
    if low[i] == "hundreds" and t.get(i + 1) == "of" and t.get(i + 2) == "thousands":
        return 200_000, i + 3, "vague"
    q = read_quantity(low, i)
    if q is None or q.value == 0:
        return None
    if q.kind == "words" and low[i] == "one":
        prev = t.get(i - 1)
        if prev in ("no", "the", "every", "any", "each", "this", "that") or t.get(i + 1) in (
            "another",
            "day",
            "time",
            "way",
            "side",
            "point",
        ):
            return None
    return q.value, q.end, q.kind


_MENTION_START = NUMBER_WORDS | _W(VAGUE) | _HEDGE_FIRST | {"a", "an", "tens", "half"}


def _find_mentions(t: _Toks) -> list[_Mention]:
    out: list[_Mention] = []
    low = t.low
    n = t.n
    # The tokens that can open a quantity, found in one pass; the scan below jumps between them.
    starts = [
        k
        for k, tok in enumerate(low)
        if tok in _MENTION_START
        or tok[0].isdigit()  # tokens are never empty
        or ("-" in tok and tok.split("-", 1)[0] in NUMBER_WORDS)
    ]
    i = 0
    for i0 in starts:
        if i0 < i:
            continue  # inside the quantity just read
        i = i0
        hedge = _hedge_at(low, i)
        qual = "exact"
        qs = i
        if hedge:
            qual, qs = hedge
            if qs >= n:
                i += 1
                continue
        # Anaphora: "more than that number were hurt".
        if hedge and low[qs] == "that" and t.get(qs + 1) in ("number", "figure", "many") and out:
            value = out[-1].value
            lo, hi = _values(value, qual)
            out.append(_Mention(i, qs, qs + 2, lo, hi, qual, "anaphor", value))
            i = qs + 2
            continue
        q = _quantity(t, qs)
        if q is None:
            if hedge and low[qs] in ("a", "an") and t.get(qs + 1) == "dozen":
                q = (12, qs + 2, "dozen")
            else:
                i += 1
                continue
        value, qe, kind = q
        if t.get(qe) == "+" and t.st[qe] == t.en[qe - 1] and qual == "exact":
            qual, qe = "more_than", qe + 1  # "100+ dead"
        low_v, high_v = value, value
        # Ranges: "between 20 and 30", "20 to 30", "20-30", "1,500 or 2,000".
        joiner = t.get(qe)
        if t.get(i - 1) == "by" or (t.get(i - 1) == "from" and t.get(i - 2) not in _SPAN_VERBS):
            joiner = ""  # "rose from 32 to 45", "rose by one to nine" are not ranges
        if kind in ("digits", "words") and (
            (qual == "range" and joiner == "and") or (joiner in ("to", "-", "–", "—", "or"))
        ):
            if qe + 1 < n:
                q2 = _quantity(t, qe + 1)
                if q2 and q2[2] == kind and q2[0] > value and (joiner != "-" or t.en[qe] ==
                                                               t.st[qe + 1]):  # fmt: skip
                    low_v, high_v = value, q2[0]
                    qe = q2[1]
                    qual = "range"
        if qual == "range" and high_v == low_v:
            qual = "exact"  # "between" without a second number
        if qual != "range":
            if kind == "vague":
                qual = "vague"
                low_v, high_v = value, None
            else:
                low_v, high_v = _values(value, qual)
        out.append(_Mention(i, qs, qe, low_v, high_v, qual, kind, value))
        i = qe
    return out


# --- context checks ----------------------------------------------------------------------


def _is_non_casualty(t: _Toks, m: _Mention) -> bool:
    """Years, dates, ages, times, money, units, identifiers, scores, statistics."""
    low, st, en = t.low, t.st, t.en
    qs, qe = m.qs, m.qe
    nxt, prev = t.get(qe), t.get(qs - 1)
    prev2 = t.get(qs - 2)
    if nxt in ("%", "percent", "per") or (nxt == "per" and t.get(qe + 1) == "cent"):
        return True
    if prev in _CURRENCY_BEFORE or (prev2 in _CURRENCY_BEFORE and prev in ("us",)):
        return True
    if nxt in _UNITS_AFTER and not (nxt == "s" and m.kind != "digits"):
        return True
    if nxt == "-" and t.get(qe + 1) in ("year-old", "year-olds", "years-old", "month-old"):
        return True
    if t.get(qe + 1) in ("year-old", "year-olds") and nxt == "-":
        return True
    if nxt in ("year-old", "year-olds"):
        return True
    if m.kind == "digits":
        # Glued letters: "101st", "QZ8501", "9mm", "day1950".
        if qe < t.n and st[qe] == en[qe - 1] and low[qe][:1].isalpha():
            if low[qe] not in _METRIC_WORDS and low[qe] not in _GLUED_NOUNS:
                return True
        if qs > 0 and st[qs] == en[qs - 1] and low[qs - 1][:1].isalpha():
            return True
        if nxt == ":" and ((t.get(qe + 1)[:1].isdigit() and st[qe + 1] == en[qe]) or qe + 1 >= t.n):
            return True  # a clock time "10:42", not a total before its breakdown "83: 47 ..."
        if prev == ":" and t.get(qs - 2)[:1].isdigit() and st[qs] == en[qs - 1]:
            return True
        if prev == "-" and qs >= 2 and st[qs] == en[qs - 1] and st[qs - 1] == en[qs - 2]:
            if low[qs - 2][-1:].isalpha():
                return True  # a name with a number: "A-320", "Covid-19", "MiG-29"
        raw = t.text[qs]
        if raw.isdigit() and len(raw) == 4 and 1800 <= int(raw) <= 2100 and m.hs == qs:
            if nxt not in ("people", "persons", "dead", "killed", "deaths", "bodies"):
                return True
        if raw.isdigit() and len(raw) == 4 and 1800 <= int(raw) <= 2100:
            if prev in _YEAR_BEFORE or m.qualifier == "range" or prev == "between":
                return True
    before = t.get(m.hs - 1)
    if before in _ID_BEFORE_ANY or prev in _ID_BEFORE_ANY:
        return True
    if before == "." and t.get(m.hs - 2) in ("no", "nos"):
        return True
    # Dates: "Apr 4", "4 April", "March 3-7".
    raw_prev = t.text[qs - 1] if qs > 0 else ""
    if (prev in _MONTHS and (prev != "may" or raw_prev == "May")) or (
        prev == "." and t.get(qs - 2) in _MONTHS
    ):
        return True
    if m.kind == "digits" and nxt in _MONTHS and m.value <= 31:
        if nxt != "may" or t.text[qe] == "May":
            return True
    # Ages: "Omar, 6, was wounded".
    if prev == "," and nxt == "," and qs >= 2 and t.get(qs - 2)[:1].isalpha():
        if m.hs == qs and m.kind == "digits" and m.value < 120:
            return True
    # Scores "a 2-2 draw", "3-1".
    if nxt == "-" and t.get(qe + 1)[:1].isdigit():
        return True
    # Statistics and guesses just before.
    for k in range(max(0, m.hs - 4), m.hs):
        if low[k] in _STATS:
            return True
    if prev in _POOL_BEFORE or "none" in (t.get(m.hs - 2), t.get(m.hs - 3)):
        return True
    return False


def _modal_before(t: _Toks, i: int) -> bool:
    """A prediction or hypothetical in the clause before token ``i``."""
    k = i - 1
    clauses = 0
    while k >= 0 and i - k <= 10:
        w = t.low[k]
        if w in (",", ";", ":", "—", "–", "(", ")"):
            # A clause opened by "killing"/"leaving" belongs to the one before it.
            if t.get(k + 1) in ("killing", "leaving", "wounding", "injuring") and clauses == 0:
                clauses += 1
                k -= 1
                continue
            break
        if w in _MODALS and w not in ("not", "never", "that"):
            return True
        if w in ("would", "could") or w == "if":
            return True
        k -= 1
    return False


def _match_right_phrase(t: _Toks, j: int) -> tuple[str, str, int] | None:
    """Casualty phrase starting at token j: (metric, kind, last token)."""
    cands = _RIGHT_FIRST.get(t.get(j))
    if not cands:
        return None
    for words, metric, kind in cands:
        k = len(words)
        if tuple(t.low[j : j + k]) == words:
            return metric, kind, j + k - 1
    return None


def _is_np_word(t: _Toks, j: int) -> bool:
    if not 0 <= j < t.n:
        return False
    w = t.low[j]
    if w in _STOP or w in _UNITS_AFTER or w in _MONTHS:
        return False
    c = w[:1]
    if not (c.isalpha()):
        return False
    return not (w in NUMBER_WORDS or w in VAGUE)


@dataclass(slots=True)
class _Right:
    metric: str
    group_s: int
    group_e: int
    end: int
    kind: str
    adjacent: bool  # the casualty word follows the number directly
    reduced: bool = False  # "two people killed": a participle straight after the noun


def _right(t: _Toks, m: _Mention) -> _Right | None | bool:
    """Casualty word after the number: "80 people were killed", "3 dead", "dozens of soldiers
    were wounded". False means the context refuses the number outright."""
    low = t.low
    j = m.qe
    n = t.n
    if j >= n:
        return None
    if low[j] in _ADDITIVE and t.get(j + 1) != "than":
        j += 1
    elif low[j] in ("more", "fewer", "less") and t.get(j + 1) == "than":
        return False  # a delta: "90 fewer than the 330 given earlier"
    if j < n and low[j] == "of" and (m.kind in ("vague", "dozen")):
        j += 1
        if t.get(j) in ("the", "their", "its"):
            j += 1
    elif j < n and low[j] == "of" and t.get(j + 1) in _DETS:
        j += 2  # "two of the gunmen", "12 of them"
        pool = _match_right_phrase(t, j)
        if pool and pool[1] in ("verb", "adj") and low[j - 1] == "them":
            after = t.get(pool[2] + 1)
            if after in _LIST_END and after not in ("in", "on", "from"):
                # "91 were brought out, 15 of them injured, and 19 missing"
                return _Right(pool[0], j - 1, j - 1, pool[2], pool[1], False)
        if pool and pool[1] in ("verb", "adj"):
            # "two of the injured later died": the verb after the pool decides.
            k = pool[2] + 1
            while t.get(k) in _AUX:
                k += 1
            later = _match_right_phrase(t, k)
            if later and later[0] == pool[0]:
                return None  # "twelve of the injured remain in critical condition"
            if later and later[1] != "reject" and k > pool[2] + 1 or (later and later[1] ==
                                                                       "intr"):  # fmt: skip
                return _Right(later[0], j, j, later[2], later[1], False)
            if t.get(m.hs - 1) == "all" and pool[1] == "adj":
                # "all 32 of the dead", "all 32 of its fallen officers"
                g = pool[2] + 1 if t.get(pool[2] + 1) in _FALLEN_NOUNS else j
                return _Right(pool[0], g, g + (g > j), max(pool[2], g), "adj", False)
            k = pool[2] + 1
            while k < n and _is_np_word(t, k):
                k += 1
            if t.get(k) not in ("were", "was", "are", "is"):
                return None  # "tried to save one of the wounded demonstrators"
    gs = j
    ge = j
    relative = False
    be_seen = False
    steps = 0
    while j < n and steps < 7:
        w = low[j]
        hit = _match_right_phrase(t, j)
        if hit:
            break
        if w in _AUX or w == ",":
            if w == ",":
                skip = _appositive_end(t, j) if ge > gs else -1
                if skip > 0:
                    j = skip  # "32 Cuban nationals, members of the armed forces, died"
                nxt = t.get(j + 1)
                if not (nxt in _AUX or (_match_right_phrase(t, j + 1) or ("", "verb"))[1]
                        in ("intr",)):  # fmt: skip
                    return None
                if nxt in _RELATIVE:
                    return None  # "5 soldiers, who were ..." is handled as a list
            break
        if w in _MODALS:
            return False
        if w == "and" and ge > gs and steps < 5 and _is_np_word(t, j + 1):
            if not _match_right_phrase(t, j + 1) and t.get(j + 1) not in _ADDITIVE:
                j += 1  # "32 Cuban military and intelligence personnel were killed"
                steps += 1
                continue
        if w == "(" and ge > gs and t.get(j + 2) == ")" and t.text[j + 1].isupper():
            j += 3  # "Three District Reserve Group (DRG) personnel were injured"
            continue
        if w == "of" and ge > gs and steps < 5:
            # "eight members of one family", "members of the armed forces"
            k = j + 1
            if t.get(k) in ("the", "a", "an", "one", "his", "her", "their", "its", "this", "those"):
                k += 1
            pool = _match_right_phrase(t, k)
            if pool and pool[1] in ("adj", "verb") and t.get(k - 1) in ("the", "those"):
                return None  # "40 families of the dead", "relatives of those killed"
            if k < n and _is_np_word(t, k):
                j = k
                steps += 1
                continue
        if w in ("\u2014", "\u2013") and ge > gs:
            k = _dash_close(t, j)
            if k < 0:
                return None
            m.paren = (j, k)  # "At least 7 people — five adults and two children — drowned"
            j = k + 1
            break
        if w in _PP_START and ge > gs:
            k = _past_pp(t, j)
            if k < 0:
                return None
            j = k  # "All 66 people aboard the jet are presumed dead"
            break
        if not _is_np_word(t, j):
            return None
        ge = j + 1
        j += 1
        steps += 1
    # Aux chain.
    steps = 0
    while j < n and steps < 7:
        hit = _match_right_phrase(t, j)
        if hit:
            break
        w = low[j]
        if w in _MODALS:
            return False
        if w in _RELATIVE:
            relative = True
        elif w in _BE:
            be_seen = True
        elif be_seen and len(w) > 3 and w.endswith("ly") and w not in _STOP:
            pass  # "had been arbitrarily detained", "were critically injured"
        elif w not in _AUX and w != ",":
            return None
        j += 1
        steps += 1
    else:
        return None
    hit = _match_right_phrase(t, j)
    if not hit:
        return None
    metric, kind, last = hit
    if kind == "reject":
        return False
    if ge > gs and low[ge - 1] in _NON_PERSON:
        return False
    head = low[last]
    if kind == "noun" and j > ge:
        return None  # "put 16 convicts to death": a noun head follows its number directly
    if head == "fallen" and not (last == j == gs and t.get(j + 1) in _FALLEN_NOUNS):
        return None  # "32 fallen combatants", not "had fallen" or "fallen trees"
    if head == "victims" and _NONFATAL_VICTIMS.search(" ".join(low)):
        return None  # victims of a crime or disaster that need not have died
    if head in ("fallen", "dead") and last == j == gs and t.get(j + 1) in _FALLEN_NOUNS:
        gs, ge = j + 1, j + 2  # "the 12 dead workers": the group follows the adjective
    if head == "shot" and last == j and not be_seen:
        return None  # "One shot." in a caption; "3 were shot" is the injured reading
    if head in ("die", "dies") and (_has(low, ",", ge, j) or ge - gs > 3):
        return None  # German "die", or a relative clause: "Add-ons, die ..."
    if head == "dead" and last == j and t.get(last + 1) in _DEAD_ATTRIBUTIVE:
        return None  # attributive: "dead time", "dead heat"
    if head == "trapped" and t.get(last + 1) == "by":
        return None  # besieged, not missing
    before = low[max(0, m.hs - 3) : m.hs]
    if head == "lives" and last == j and not any(w in _LIVES_VERBS for w in before):
        return None  # "makes a difference to millions of lives"
    # Active voice: "three gunmen killed 12" / "who killed" — the number is the perpetrators.
    if kind == "verb" and not be_seen:
        after = t.get(last + 1)
        if (
            relative
            or after
            in (
                "a",
                "an",
                "the",
                "his",
                "her",
                "their",
                "two",
                "at",
                "him",
                "them",
                "one",
                "dozens",
                "hundreds",
            )
            or after[:1].isdigit()
        ):
            if not (after == "at" and t.get(last + 2) in ("a", "the")):
                return False
    # "dead or wounded", "killed and injured": an aggregate with no metric.
    a1, a2 = t.get(last + 1), t.get(last + 2)
    if a1 in ("or", "and", "and/or", "/") and a2 in _METRIC_WORDS and _METRIC_WORDS[a2] != metric:
        return False
    for words in _STATS_AFTER:
        if tuple(low[last + 1 : last + 1 + len(words)]) == words:
            return False
    if metric == _I and a1 == "with" and a2 in _ILLNESS_AFTER:
        return False
    if t.get(last) == "lives" and t.get(m.hs - 1) in ("saved", "saving", "save", "spared"):
        return False
    if a1 in ("is", "was") and any(w in _REJECTING for w in low[last + 2 : last + 7]):
        return False  # a rejected number: "five thousand dead is far too high"
    adjacent = gs == ge and (j == gs or (j == gs + 1 and low[gs] in _ADDITIVE))
    reduced = ge > gs and j == ge and kind in ("verb", "adj")
    return _Right(metric, gs, ge, last, kind, adjacent, reduced)


_FALLEN_NOUNS = _W(
    "soldiers combatants fighters officers troops heroes comrades servicemen personnel "
    "workers miners civilians people children men women police policemen firefighters "
    "guards members cubans compatriots".split()
)
_NONFATAL_VICTIMS = re.compile(
    r"\b(?:injur|wound|hurt|kidnap|abduct|rape|abus|fraud|scam|traffick|surviv|rescu|evacu|"
    r"flood victims|theft|robber|harass|assault|treat|hospital|recover)"
)
_REJECTING = _W(
    "too exaggerated exaggeration inflated overstated overstatement nonsense false untrue "
    "fabricated fabrication lie propaganda fantasy fiction absurd ridiculous".split()
)
_PP_START = _W("aboard on in at inside from near onboard".split())


def _dash_close(t: _Toks, j: int) -> int:
    """Index of the dash closing a parenthetical that opens at ``j``, or -1."""
    for k in range(j + 1, min(t.n, j + 14)):
        w = t.low[k]
        if w == t.low[j]:
            return k if k > j + 1 else -1
        if w in (";", ".", ":", "(", ")") or w in _MODALS or w in _BE:
            return -1
        if _match_right_phrase(t, k):
            return -1
    return -1


def _past_pp(t: _Toks, j: int) -> int:
    """Index of the passive "were"/"are" after a short place phrase ("in the building"),
    or -1; the phrase may not hold punctuation, numbers or verbs of its own."""
    for k in range(j + 1, min(t.n, j + 7)):
        w = t.low[k]
        if w in _BE:
            return k
        if w in _PUNCT or w[:1].isdigit() or w in _MODALS or w in _RELATIVE:
            return -1
        if w in NUMBER_WORDS or _match_right_phrase(t, k):
            return -1
    return -1


def _appositive_end(t: _Toks, j: int) -> int:
    """Index of the comma closing an appositive that opens at comma ``j`` ("Some 80 people,
    including civilians and soldiers, were killed"), or -1. An appositive holding a number is
    a subgroup and is left to the list logic."""
    for k in range(j + 1, min(t.n, j + 13)):
        w = t.low[k]
        if w == ",":
            if k == j + 1:
                return -1
            nxt = t.get(k + 1)
            if _is_np_word(t, k + 1) and nxt not in _AUX and not _match_right_phrase(t, k + 1):
                continue  # the appositive lists on: "among them soldiers, police and civilians,"
            return k
        if w[:1].isdigit() or w in NUMBER_WORDS or w in VAGUE or w in _MODALS or w in _BE:
            return -1
        if w in (";", ".", ":", "(", ")") or _match_right_phrase(t, k):
            return -1
    return -1


def _has(seq: list[str], item: str, start: int, stop: int) -> bool:
    return item in seq[start:stop]


def _left(t: _Toks, m: _Mention, deltas: set[int]) -> str | None | bool:
    """Casualty verb or toll noun before the number: "killing 25", "the toll rose to 100"."""
    low = t.low
    k = m.hs - 1
    if k < 0:
        return None
    k0 = k
    if low[k] == ":" and k >= 1 and low[k - 1] in _LABELS and t.get(m.qe) in _LABEL_END:
        # A fact-box line: "• Dead: 45", "Injured: 130" (the label opens the line).
        if all(not w[:1].isalnum() for w in low[: k - 1]) or t.get(k - 2) in (";", "|", "/"):
            return _LABELS[low[k - 1]]  # also "Killed: 9; wounded: 22"
    if low[k] in ("another", "further", "additional", "all") or low[k] == "at":
        k -= 1
    if k >= 0 and low[k] in ("a",) and t.get(k + 1) in ("further",):
        k -= 1
    if k < 0:
        return None
    w = low[k]
    if w == "dead" and t.get(k - 1) == "shot":
        return _K
    if w in _COUNT_VERBS:
        return "??"
    if w in ("treated", "treating", "treats"):
        gs, ge = _np_after(t, m.qe)
        if t.get(ge) == "for" and t.get(ge + 1) in _TREATED_FOR:
            return _I  # "hospitals treated 230 people for injuries"
        return None
    if w in _LEFT_VERBS:
        if t.get(k - 1) in ("to", "could", "would", "may", "might", "will", "can", "'d"):
            return False
        first = t.text[m.hs]
        if t.text[k].islower() and first[:1].isupper() and first[:1].isalpha():
            return None  # "was killed  Two crew members ...": a lost sentence break
        return _LEFT_VERBS[w]
    if w == "up" and t.get(k - 1) == "rounded":
        return _D
    b = k
    while b >= 0 and k - b < 4 and t.low[b] in _PREV_FILLER:
        b -= 1
    if b >= 0 and t.low[b] == "from" and t.get(b - 1) in ("up", "down") and b < k + 1:
        return "?"  # "up from the previously reported 40": an earlier value of the toll
    if w in ("lost", "losing", "lose", "loses"):
        # "the army said it lost nine men": losing fighters means they were killed.
        gs, ge = _np_after(t, m.qe)
        if ge > gs and t.low[ge - 1] in _FIGHTERS:
            return _K
        return None
    if w in ("and", ","):
        # "killed the driver and three passengers": the verb's object list goes on.
        for b in range(k - 1, max(-1, k - 5), -1):
            if t.low[b] in _LEFT_VERBS and t.get(b + 1) in _OBJ_START:
                if t.get(b - 1) not in ("to", "could", "would", "may", "might", "will"):
                    return _LEFT_VERBS[t.low[b]]
            if not (_is_np_word(t, b) or t.low[b] in _OBJ_START):
                break
    if w == "the" and t.get(k - 1) == "of" and t.get(k - 2) in _OF_NOUNS:
        k -= 1  # "the remains of the 32 officers"
        w = "of"
    if w == "of" and t.get(k - 1) in _OF_NOUNS and t.get(k - 2) != "number":
        verb = t.get(k - 3) if t.get(k - 2) == "the" else t.get(k - 2)
        if verb in ("averted", "avert", "averting", "prevent", "prevented", "save", "saved",
                    "saving", "spared"):  # fmt: skip
            return False
        return _K
    # Back over toll verbs to a toll noun.
    j = k0
    level = False
    skipped = 0
    while j >= 0 and skipped < 7:
        w = low[j]
        if j in deltas or w == "by":
            j -= 1
            skipped += 1
            continue
        if w in _TOLL_NOUNS and (skipped > 0 or w in ("toll", "tally")):
            break
        if w not in _TOLL_SKIP:
            head = _toll_before_phrase(t, j)
            d = head - 1 - (t.get(head - 1) in ("death", "injury"))  # "the death toll in ..."
            if t.get(d) == "of" and t.get(d - 1) in ("number", "total", "count"):
                d -= 2  # "taking the number of arrests since the protests began to 1,460"
            if not level and not (t.get(d) == "the" and t.get(d - 1) in _BRING):
                head = -1  # "bringing the toll in the province to 17" states the level
            j = head
            if j < 0:
                return None
            break
        if w in _LEVEL:
            level = True
        if w in _PASSED and m.qualifier == "exact":
            m.qualifier, m.low, m.high = "more_than", m.value + 1, None
        elif w in _NEARS and m.qualifier == "exact":
            m.qualifier = "about"  # "toll nears 200" is about 200
        j -= 1
        skipped += 1
    else:
        return None
    if j < 0:
        return None
    w = low[j]
    if w not in _TOLL_NOUNS:
        return None
    prev = t.get(j - 1)
    if w in _POOL_NOUNS and all(x in _BE for x in low[j + 1 : m.hs]):
        # "Most of the dead were over 65": a copula alone after a quantified pool, or before
        # "over", describes the victims (an age), it does not state the toll.
        if t.get(m.hs) in ("over", "above") or (prev in _DETS and t.get(j - 2) == "of"):
            return None
    if (prev == "the" and t.get(j - 2) in _PUT) or (prev == "of" and t.get(j - 2) == "number"):
        level = True
    if w == "toll":
        if prev in ("casualty", "casualties"):
            return False
        if prev in ("injury", "injuries"):
            return _I
        return _K
    if w == "count" and prev in ("death", "body"):
        return _K
    if w in ("it", "figure", "number", "count", "total"):
        if w == "it" and t.get(j - 1) not in _IT_VERBS:
            return None
        if w == "number" and t.get(j + 1) == "of":
            return None
        return "?"
    if w == "victims":
        return _K if low[j + 1] in ("included", "include", "includes", "numbered") else None
    if w in ("deaths", "fatalities") and skipped == 1 and low[j + 1] == "of":
        return _K
    if not level:
        return None
    return _TOLL_NOUNS[w]


_LABEL_END = _W(["", ".", "(", ",", ";"])
# "put it at 900", "raised it to 103": "it" stands for the toll only after these verbs.
_IT_VERBS = _W(
    "put puts putting placed revised raised raising lowered lowering increased cut updated "
    "corrected adjusted brought took".split()
)
_TREATED_FOR = _W("injuries wounds burns gunshot minor serious cuts smoke".split())
_LABELS = {
    "dead": _K, "killed": _K, "deaths": _K, "fatalities": _K, "injured": _I, "wounded": _I,
    "injuries": _I, "missing": _M, "arrested": _D, "detained": _D, "arrests": _D,
}  # fmt: skip
_PHRASE_HEADS = _W(
    "toll tally killed dead deaths fatalities injured wounded missing arrested arrests".split()
)
_POOL_NOUNS = _W("dead killed injured wounded victims missing arrested detained".split())


_BRING = _W(
    "bringing brings brought taking takes took raising raises raised pushing pushed lifting "
    "lifted".split()
)


_PHRASE_PREPS = _W("from in of after at for on since".split())


def _toll_before_phrase(t: _Toks, j: int) -> int:
    """ "The toll from the Caracas raid has risen to 80": find a toll noun whose phrase
    ("from the Caracas raid") ends at token ``j``."""
    # Up to a dozen words back: "the toll from the US raid that captured Nicolás Maduro".
    for k in range(j - 1, max(-1, j - 13), -1):
        w = t.low[k]
        if w in _PHRASE_HEADS and t.get(k + 1) in _PHRASE_PREPS:
            return k
        if w in (",", ";", ":", ".") or w in _LEFT_VERBS:
            return -1
    return -1


def _np_after(t: _Toks, j: int) -> tuple[int, int]:
    """A short noun phrase naming who, after a number that a verb before it counts."""
    if t.get(j) in _ADDITIVE and t.get(j + 1) != "than":
        j += 1
    if t.get(j) == "of" and t.get(j + 1) in _DETS:
        j += 2
    elif t.get(j) == "of" and j + 1 < t.n and _is_np_word(t, j + 1):
        j += 1  # "millions of people"
    s = j
    while j < t.n and j - s < 5 and _is_np_word(t, j) and not _match_right_phrase(t, j):
        j += 1
    return s, j


def _xofy(t: _Toks, m: _Mention, nxt: _Mention | None) -> bool:
    """True when "m of the [possessive] nxt ..." ("25 of the bus's 60 passengers")."""
    if nxt is None or t.get(m.qe) != "of":
        return False
    k = m.qe + 1
    if t.get(k) in _DETS:
        k += 1
    if t.get(k).endswith("'s") or t.get(k).endswith("s'"):
        k += 1
    return nxt.hs == k


# --- the extractor -----------------------------------------------------------------------


def _judge(t: _Toks, mentions: list[_Mention]) -> None:
    deltas: set[int] = set()
    for m in mentions:
        prev = t.get(m.hs - 1)
        if prev == "by" and any(t.get(k) in _CHANGE for k in range(m.hs - 4, m.hs - 1)):
            m.consumed = True
            deltas.update(range(m.hs, m.qe))
        elif t.get(m.qe) in ("more", "fewer", "less") and t.get(m.qe + 1) == "than":
            m.consumed = True
            deltas.update(range(m.hs, m.qe))
        elif prev == "from" and t.get(m.qe) == "to":
            deltas.update(range(m.hs - 1, m.qe))  # "from 90 to 70": 70 reads past the 90
    covered = -1
    inside = (-1, -1)
    for idx, m in enumerate(mentions):
        if m.hs <= covered and not m.via and not inside[0] < m.hs < inside[1]:
            m.consumed = True  # inside another figure's phrase: "eight members of one family"
            continue
        if m.kind == "article" and not m.via and not m.consumed:
            _judge_article_clause(t, m, mentions[:idx])
            continue
        if m.consumed or m.kind == "article" or m.via:
            continue
        if _is_non_casualty(t, m):
            m.rejected = True
            continue
        nxt = mentions[idx + 1] if idx + 1 < len(mentions) else None
        if _xofy(t, m, nxt):
            _judge_xofy(t, m, nxt, deltas)
            continue
        if m.consumed:
            continue
        _judge_one(t, m, deltas)
        if m.via == "right":
            covered = m.end
            inside = m.paren


def _judge_article_clause(t: _Toks, m: _Mention, earlier: list[_Mention]) -> None:
    """ "Three pedestrians were killed and a bus driver was injured": an indefinite singular
    with a passive casualty verb of its own, coordinated with a victim count, is worth 1. A
    lone "a man was arrested" names one suspect and stays out."""
    if t.get(m.hs - 1) != "and" or not any(
        e.metric in (_K, _I, _M) and not e.rejected and not e.consumed for e in earlier
    ):
        return
    r = _right(t, m)
    if isinstance(r, _Right) and r.metric in (_K, _I, _M) and r.group_e > r.group_s:
        if r.kind in ("verb", "adj") and not r.reduced and not _modal_before(t, m.hs):
            m.metric, m.group_s, m.group_e, m.end, m.via = (
                r.metric, r.group_s, r.group_e, r.end, "chain",
            )  # fmt: skip


def _judge_one(t: _Toks, m: _Mention, deltas: set[int]) -> None:
    left = _left(t, m, deltas)
    if left is False:
        m.rejected = True
        return
    if left and _modal_before(t, m.hs):
        m.rejected = True
        return
    if left in ("?", "??"):
        right = _right(t, m)
        if isinstance(right, _Right):
            left = None
    if left:
        gs, ge = _np_after(t, m.qe)
        if left == "??" and ge > gs:
            return  # "counted nearly 30 ambulances": a count verb names no casualty
        if ge > gs and t.low[ge - 1] in _NON_PERSON:
            m.rejected = True
            return
        skip = ge + (t.get(ge) in _WHERE_WORDS)  # "kill 1.3 million people worldwide every year"
        for words in _STATS_AFTER if left != "?" else ():  # "up from 48 a day earlier"
            if tuple(t.low[skip : skip + len(words)]) == words:
                m.rejected = True
                return
        m.metric = left
        m.group_s, m.group_e = gs, ge
        m.end = max(ge - 1, m.qe - 1)
        m.via = "left"
        _up_to_means_reached(t, m)
        return
    right = _right(t, m)
    if right is False:
        m.rejected = True
        return
    if right is None:
        return
    if _modal_before(t, m.hs):
        m.rejected = True
        return
    m.metric = right.metric
    m.group_s, m.group_e = right.group_s, right.group_e
    m.end = right.end
    m.via = "right"
    # "five of the dead were children": the group is what follows.
    _group_after_copula(t, m)


def _group_after_copula(t: _Toks, m: _Mention) -> None:
    j = m.end + 1
    if t.get(m.qe) == "of" and t.get(j) in ("were", "was", "are") and m.group_e == m.group_s:
        gs, ge = _np_after(t, j + 1)
        if ge > gs:
            m.group_s, m.group_e = gs, ge
            m.end = ge - 1


def _up_to_means_reached(t: _Toks, m: _Mention) -> None:
    # "Toll now up to 18": up to after a toll noun or "now" means "has reached".
    if m.qualifier == "up_to" and t.get(m.hs) == "up":
        before = {t.get(m.hs - 1), t.get(m.hs - 2)}
        if before & {"toll", "now", "tally", "rose", "risen", "gone", "went", "climbed", "has"}:
            m.qualifier = "exact"
            m.low = m.high = m.value


def _judge_xofy(t: _Toks, m: _Mention, y: _Mention, deltas: set[int]) -> None:
    """ "X of the Y": a casualty word right after Y makes Y the count ("4 of the 19 dead were
    soldiers", "80 of the 300 injured have gone home"); otherwise Y is only the pool
    ("25 of the bus's 60 passengers were hurt")."""
    if _is_non_casualty(t, y):
        y.rejected = True
        _judge_one(t, m, deltas)
        return
    ry = _right(t, y)
    left = _left(t, m, deltas)
    if isinstance(ry, _Right) and (ry.adjacent or ry.reduced) and ry.kind in ("adj", "verb",
                                                                              "noun"):  # fmt: skip
        y.metric, y.group_s, y.group_e, y.end, y.via = ry.metric, -1, -1, ry.end, "right"
        j = ry.end + 1
        if t.get(j) in _PP_START:
            k = _past_pp(t, j)  # "6 of 27 killed in bus crash were children"
            if k > 0:
                j = k
        if t.get(j) in ("were", "was", "are", "is"):
            gs, ge = _np_after(t, j + 1)
            nxt = t.get(ge)
            hit = _match_right_phrase(t, ge) or _match_right_phrase(t, j + 1)
            if hit and hit[1] != "reject" and hit[0] == ry.metric and ge == gs:
                pass  # "3 of 12 hurt are in critical condition": the pool's state, no new count
            elif hit and hit[1] != "reject":
                m.metric, m.group_s, m.group_e, m.end = hit[0], gs, ge, hit[2]
            elif ge > gs and (nxt in ("", ".", ",", ";", "and", "from", "while") or
                              ge >= t.n):  # fmt: skip
                m.metric, m.group_s, m.group_e, m.end = ry.metric, gs, ge, ge - 1
        else:
            k = j
            while t.get(k) in _AUX:
                k += 1
            hit = _match_right_phrase(t, k)
            if hit and hit[1] != "reject" and k > j:
                m.metric, m.end = hit[0], hit[2]
            elif hit and hit[1] in ("intr",):
                m.metric, m.end = hit[0], hit[2]
        m.via = "xofy"
        return
    y.consumed = True
    y.via = "pool"
    if left:
        _judge_one(t, m, deltas)
        if ry and isinstance(ry, _Right):
            m.group_s, m.group_e = ry.group_s, ry.group_e
        return
    if isinstance(ry, _Right):
        if _modal_before(t, m.hs):
            m.rejected = True
            return
        m.metric, m.group_s, m.group_e, m.end, m.via = (
            ry.metric, ry.group_s, ry.group_e, ry.end, "xofy",
        )  # fmt: skip
        return
    if ry is None:
        # "Seven of the 40 people on board were killed": the verb comes after a short phrase.
        gs, ge = _np_after(t, y.qe)
        k = ge
        while k < t.n and k - ge < 5 and t.low[k] not in _BE and t.low[k] not in _PUNCT:
            k += 1
        if t.get(k) in _BE:
            while t.get(k) in _AUX:
                k += 1
            hit = _match_right_phrase(t, k)
            if hit and hit[1] != "reject" and not _modal_before(t, m.hs):
                m.metric, m.group_s, m.group_e, m.end, m.via = hit[0], gs, ge, hit[2], "xofy"


def _chain(t: _Toks, mentions: list[_Mention]) -> None:
    """Subgroups and lists inherit the metric of the figure they hang off:
    "12 people, including 5 children, died", "30 bodies, 17 men and 13 women"."""
    live = [m for m in mentions if not m.consumed and not m.rejected]
    _of_the_pool(t, live)
    _long_links(t, live)
    for _ in range(2):
        for a, b in zip(live, live[1:], strict=False):
            if a.metric and not b.metric and _connected(t, a, b, heir=b):
                _inherit(t, b, a)
        for a, b in zip(reversed(live[1:]), reversed(live[:-1]), strict=False):
            # a is the later figure, b the earlier mention that may inherit from it
            if a.metric and not b.metric and _connected(t, b, a, heir=b):
                _inherit(t, b, a)


def _long_links(t: _Toks, live: list[_Mention]) -> None:
    """Links that reach past a clause: "..., 400 of them children" and a colon or dash
    breakdown of a total ("83 were killed in the raid: 47 soldiers and 32 Cubans"), and a
    gapped verb ("three died at the scene and two in hospital")."""
    for idx, b in enumerate(live):
        if b.metric:
            continue
        before = t.get(b.hs - 1)
        if before == "-" and b.hs >= 2 and t.st[b.hs - 1] > t.en[b.hs - 2]:
            before = "\u2014"  # a spaced hyphen stands for a dash
        a = next((f for f in reversed(live[:idx]) if f.metric and f.metric[0] != "?"), None)
        if a is None and before == "," and t.get(b.qe) == "of" and t.get(b.qe + 1) == "them":
            _of_them_after_phrase(t, b)  # "Maduro's guards were among the dead, 32 of them Cubans"
            continue
        if a is None or b.hs - _span_end(t, a) > 16 or _has_clause_break(t, a, b):
            continue
        if t.get(b.qe) == "of" and t.get(b.qe + 1) == "them" and before == ",":
            gs, ge = _np_after(t, b.qe + 2)
            cond = ge == gs and _match_right_phrase(t, ge)
            if (ge > gs and t.get(ge) in _LIST_END) or (cond and cond[0] == a.metric):
                b.metric, b.group_s, b.group_e, b.end, b.via = a.metric, gs, ge, ge - 1, "chain"
            continue
        if before in (":", "\u2014", "\u2013"):
            for c, place in _breakdown(t, live[idx:], a):
                if place:  # no group of its own: "12 on the bus"
                    c.metric, c.group_s, c.group_e, c.end = a.metric, -1, -1, c.qe - 1
                    c.via = "chain"
                else:
                    _inherit(t, c, a)
            continue
        if (before in ("with", "to") and t.get(b.hs - 2) == "compared") or before == "including":
            # "killed so far this year, compared with 9 last year"; "killings by security
            # forces between January and June, including 96 children"
            gs, ge = _np_after(t, b.qe)
            if before == "including" and (ge == gs or t.get(ge) not in _LIST_END):
                continue
            if ge > gs and t.low[ge - 1] in _NON_PERSON:
                continue
            b.metric, b.group_s, b.group_e, b.end, b.via = (
                a.metric,
                gs,
                ge,
                max(ge, b.qe) - 1,
                "chain",
            )
            continue
        if _elliptic_more(t, b):
            # "saw at least 10 bodies ..., and another group had seen 6 more further south"
            b.metric, b.group_s, b.group_e, b.end, b.via = a.metric, -1, -1, b.qe, "chain"
            if a.group_e > a.group_s:
                b.group_s, b.group_e = a.group_s, a.group_e
            continue
        if before == "and" and a.via == "right" and _gapped(t, a, b):
            b.metric, b.group_s, b.group_e, b.end, b.via = a.metric, -1, -1, b.qe - 1, "chain"


_LIST_END = _W(["", ".", ",", ";", "and", ")", "\u2014", "\u2013", "in", "from", "on"])
_GAP_PREP = _W("in at on from after during later overnight".split())


def _has_clause_break(t: _Toks, a: _Mention, b: _Mention) -> bool:
    return any(w in (";", ".", "but", "while", "whereas") for w in t.low[a.qe : b.hs])


def _breakdown(t: _Toks, items: list[_Mention], total: _Mention) -> list[tuple[_Mention, bool]]:
    """The mentions from ``items[0]`` that form a list of groups ("47 Venezuelan military
    personnel and 32 Cubans") or of places ("12 on the bus and 7 in the car") fitting inside
    the total before the colon or dash, each with whether it is a place split; or []."""
    added = 0
    prev_end = -1
    out: list[tuple[_Mention, bool]] = []
    for c in items:
        if c.metric or (
            prev_end >= 0 and not all(w in ("and", ",") for w in t.low[prev_end + 1 : c.hs])
        ):
            break
        gs, ge = _np_after(t, c.qe)
        place = ge == gs and t.get(ge) in _GAP_PREP
        if place:
            ge = _past_place(t, ge)
        if ge == gs or t.get(ge) not in _LIST_END:
            return []  # a number with no group, or with a verb of its own
        added += c.value
        prev_end = ge - 1
        out.append((c, place))
    limit = total.high if total.high is not None else total.low
    if total.kind == "vague" or not 0 < added <= max(limit, total.value):
        return []
    return out


def _of_them_after_phrase(t: _Toks, b: _Mention) -> None:
    """ "..., among the dead, 32 of them Cubans": "them" takes the casualty phrase before."""
    gs, ge = _np_after(t, b.qe + 2)
    if ge == gs or t.get(ge) not in _LIST_END:
        return
    for k in range(b.hs - 2, max(-1, b.hs - 5), -1):
        hit = _match_right_phrase(t, k)
        if hit and hit[2] == b.hs - 2 and hit[1] != "reject":
            b.metric, b.group_s, b.group_e, b.end, b.via = hit[0], gs, ge, ge - 1, "chain"
            return


def _past_place(t: _Toks, j: int) -> int:
    """Index after a short place phrase ("in the car") from ``j``; ``j`` if there is none."""
    k = j + 1
    if t.get(k) in ("the", "a", "an", "his", "her", "their"):
        k += 1
    while k < t.n and k - j < 5 and _is_np_word(t, k):
        k += 1
    return k if t.get(k) in _LIST_END and k > j + 1 else j


def _gapped(t: _Toks, a: _Mention, b: _Mention) -> bool:
    """ "Three died at the scene and two in hospital": b repeats a's verb, left out."""
    gs, ge = _np_after(t, b.qe)
    q = b.qe + (t.get(b.qe) in _ADDITIVE)  # "five died at the scene and 2 more in hospital"
    if ge > gs or t.get(q) not in _GAP_PREP:
        return False
    gap = t.low[a.end + 1 : b.hs - 1]
    if gap and gap[-1] == ",":
        gap = gap[:-1]  # "killed in a crash in 2019, and four in 2021"
    if not gap or len(gap) > 7 or gap[0] not in _GAP_PREP:
        return False
    return all(
        w in _GAP_PREP or w in ("the", "a") or _is_np_word(t, a.end + 1 + k) or _is_year(w)
        for k, w in enumerate(gap)
    )


_AFTER_MORE = _GAP_PREP | _W("further nearby elsewhere downstream there since".split())
_HOPES = _W("expect expects expected fear fears feared hope hopes hoped may might".split())


def _elliptic_more(t: _Toks, b: _Mention) -> bool:
    """ "N more" standing alone as the object of a verb ("had seen 6 more further south"):
    the count repeats the noun of the figure before it. Expectations are not counts."""
    if t.get(b.qe) != "more" or b.kind not in ("digits", "words"):
        return False
    nxt = t.get(b.qe + 1)
    if nxt and nxt not in _AFTER_MORE and nxt not in _PUNCT:
        return False
    prev = t.get(b.hs - 1)
    if not (prev.endswith(("ed", "en")) or prev in ("saw", "found", "spotted")):
        return False  # "seen", "counted", "recovered", "pulled"
    return not any(w in _HOPES for w in t.low[max(0, b.hs - 5) : b.hs]) and not _modal_before(
        t, b.hs
    )


def _is_year(w: str) -> bool:
    return len(w) == 4 and w.isdigit() and 1800 <= int(w) <= 2100


def _of_the_pool(t: _Toks, live: list[_Mention]) -> None:
    """ "Of the 50 dead, 20 were children": the split repeats the pool's metric."""
    for y, b in zip(live, live[1:], strict=False):
        if not y.metric or b.metric or t.get(y.hs - 1) != "the" or t.get(y.hs - 2) != "of":
            continue
        if y.hs - 2 > 0 and t.get(y.hs - 3) not in _PUNCT:
            continue
        if t.get(y.end + 1) == "," and b.hs == y.end + 2 and t.get(b.qe) in ("were", "are", "was"):
            gs, ge = _np_after(t, b.qe + 1)
            if ge > gs:
                b.metric, b.group_s, b.group_e, b.end, b.via = y.metric, gs, ge, ge - 1, "chain"
                _split_goes_on(t, live, b)


def _split_goes_on(t: _Toks, live: list[_Mention], b: _Mention) -> None:
    """ "..., 41 were students and 19 were workers": each later "N were X" of the split."""
    for c in live:
        if c.hs <= b.hs or c.metric:
            continue
        if not all(w in ("and", ",") for w in t.low[b.end + 1 : c.hs]) or c.hs == b.end + 1:
            return
        if t.get(c.qe) not in ("were", "are", "was"):
            return
        gs, ge = _np_after(t, c.qe + 1)
        if ge == gs:
            return
        c.metric, c.group_s, c.group_e, c.end, c.via = b.metric, gs, ge, ge - 1, "chain"
        b = c


def _span_end(t: _Toks, m: _Mention) -> int:
    if m.metric:
        return max(m.end, m.group_e - 1)
    gs, ge = _np_after(t, m.qe)
    return max(ge - 1, m.qe - 1)


def _connected(t: _Toks, a: _Mention, b: _Mention, heir: _Mention) -> bool:
    """Whether only list words stand between mention ``a`` and the later ``b``."""
    backwards = heir is a
    start = _span_end(t, a) + 1
    stop = b.hs
    if stop - start > 4 or stop < start:
        return False
    between = t.low[start:stop]
    allowed = _BACK_CONNECTORS if backwards else _CONNECTORS
    if not all(w in allowed for w in between):
        return False
    gs, ge = _np_after(t, heir.qe)
    if heir.kind == "article" and not set(between) & {"and", "including", "among", "plus", "them"}:
        if t.get(ge) not in ("and", ","):
            return False  # "killed, a hospital source said", "were killed, a US estimate"
    if t.get(ge) in _BE or t.get(ge) in ("have", "has", "had"):
        return False  # "11 drowned and 30 were rescued": the heir has a verb of its own
    after = t.get(ge)
    if after[:1].isalpha() and after not in _HEIR_NEXT:
        return False  # "thousands more reported cases", "4 seriously"
    if ge > gs and t.low[ge - 1].endswith("ed") and t.low[ge - 1] not in _ED_ADJ:
        return False  # "about 50 Russians deported"
    if backwards and not between:
        return False
    # A new clause does not share the metric: "killed 12 people and destroyed 30 houses"
    gs, ge = _np_after(t, heir.qe)
    if ge > gs and t.low[ge - 1] in _NON_PERSON:
        return False
    if backwards and ge == gs:
        return False  # "a caseload of 162,000, of whom 7,844 died": the bare pool stays out
    if t.get(heir.qe) == "of" and t.get(heir.qe + 1) == "them":
        g2s, g2e = _np_after(t, heir.qe + 2)
        if g2e == g2s:
            return False  # "one of them was wearing a life jacket"
    return not (heir.kind == "article" and ge == gs)


def _inherit(t: _Toks, b: _Mention, a: _Mention) -> None:
    gs, ge = _np_after(t, b.qe)
    if t.get(b.qe) == "of" and t.get(b.qe + 1) == "them":
        gs, ge = _np_after(t, b.qe + 2)
    b.metric = a.metric
    b.group_s, b.group_e = gs, ge
    b.end = max(ge - 1, b.qe - 1)
    b.via = "chain"


_ORDINALS = {
    w: k + 2
    for k, w in enumerate(
        "second third fourth fifth sixth seventh eighth ninth tenth eleventh twelfth "
        "thirteenth fourteenth fifteenth sixteenth seventeenth eighteenth nineteenth "
        "twentieth".split()
    )
}
# Every ordinal from "fourth" on ends in "th"; the precise test is in ``_ordinals``.
_ORDINAL_HINT = re.compile(r"(?:th|st|nd|rd|second|third)\s+(?:fatalit|death|victim|bod)")
_ORDINAL_DIED = _W("died dies succumbed".split())
_ORDINAL_NOT = _W("anniversary anniversaries sentence penalty row time times".split())


def _ordinals(t: _Toks, mentions: list[_Mention]) -> list[_Mention]:
    """ "A sixth fatality", "the 6th death", "a fourth victim died": the toll now stands at
    that number (killed N, exact). A ranking ("fifth-deadliest") is one hyphenated word and
    never matches; "the third suspect was arrested" names a person, not a toll."""
    extra = []
    for i in range(1, t.n - 1):
        w = t.low[i]
        value, k = _ORDINALS.get(w, 0), i + 1
        if not value and w.isdigit() and t.get(i + 1) in ("st", "nd", "rd", "th"):
            if t.st[i + 1] == t.en[i] and 1 < len(w) + 1 and int(w) < 10_000:
                value, k = int(w), i + 2
        if value < 2 or t.low[i - 1] not in ("a", "an", "the"):
            continue
        noun = t.get(k)
        if t.get(k + 1) in _ORDINAL_NOT:
            continue
        if noun in ("fatality", "death", "body"):
            pass
        elif noun == "victim" and any(t.get(x) in _ORDINAL_DIED for x in range(k + 1, k + 5)):
            pass
        else:
            continue
        extra.append(
            _Mention(
                i, i, k, value, value, "exact", "ordinal", value, _K, -1, -1, "", k, via="ordinal"
            )  # fmt: skip
        )
    if not extra:
        return mentions
    spans = [(e.hs, e.qe) for e in extra]
    kept = [m for m in mentions if not any(a <= m.hs < b for a, b in spans)]
    return sorted(kept + extra, key=lambda m: m.hs)


def _articles(t: _Toks, mentions: list[_Mention]) -> list[_Mention]:
    """Indefinite singulars in lists ("seven campers and a cook") as candidates worth 1."""
    extra = []
    taken = {i for m in mentions for i in range(m.hs, m.qe)}
    for i in range(0, t.n - 1):
        if t.low[i] not in ("a", "an") or i in taken:
            continue
        before = t.low[i - 1] if i else ""
        # After a list word, or opening a list that a number continues: "A police officer and
        # two civilians were killed", "killed a police officer and two civilians".
        opens = (i == 0 or before in _LEFT_VERBS or not before[:1].isalnum()) and _list_goes_on(
            t, i + 1
        )
        if before in ("and", "including", ",", "them", "plus") or opens:
            if _is_np_word(t, i + 1):
                extra.append(_Mention(i, i, i + 1, 1, 1, "exact", "article", 1))
            elif _age_before_noun(t, i + 1):  # "including a 10-year-old boy"
                extra.append(_Mention(i, i, i + 4, 1, 1, "exact", "article", 1))
    if not extra:
        return mentions
    return sorted(mentions + extra, key=lambda m: m.hs)


def _age_before_noun(t: _Toks, j: int) -> bool:
    """An age compound ("10-year-old") opening a noun phrase at ``j``."""
    return (
        t.get(j)[:1].isdigit()
        and t.get(j + 1) == "-"
        and t.get(j + 2) in ("year-old", "month-old")
        and _is_np_word(t, j + 3)
    )


def _list_goes_on(t: _Toks, j: int) -> bool:
    """Whether a short noun phrase from ``j`` is followed by "and"/"," and a number."""
    k = j
    while k < t.n and k - j < 4 and _is_np_word(t, k):
        k += 1
    if k == j or t.get(k) not in ("and", ","):
        return False
    nxt = t.get(k + 1)
    return nxt[:1].isdigit() or nxt.split("-", 1)[0] in NUMBER_WORDS


_PREV_FILLER = _W(
    "the an a previously previous earlier initial initially original originally first "
    "reported given announced stated estimated official toll figure count tally of at as put "
    "death".split()
)


def _revisions(t: _Toks, mentions: list[_Mention]) -> None:
    """Fold stated earlier values into ``previous`` of the figure that replaced them."""
    # A lone "previously reported 40" stays a (superseded) figure: only a stated newer value
    # in the same sentence turns an earlier one into ``previous``.
    figs = [m for m in mentions if m.metric and not m.consumed and not m.rejected]
    if not figs:
        return
    has_change = any(w in _CHANGE for w in t.low)
    for m2 in [m for m in mentions if not m.consumed and not m.rejected]:
        marker = _earlier_marker(t, m2, has_change)
        if not marker:
            continue
        target = None
        others = [
            f
            for f in figs
            if f is not m2 and not f.consumed and (not m2.metric or f.metric in (m2.metric, "?"))
        ]
        if marker == "from" and t.get(m2.qe) == "to":
            after = [f for f in others if f.hs > m2.hs]
            target = after[0] if after else None
        if target is None:
            before = [f for f in others if f.hs < m2.hs]
            after = [f for f in others if f.hs > m2.hs]
            target = before[-1] if before else (after[0] if after else None)
        if target is None or target.previous is not None:
            continue
        target.previous = m2.value
        m2.consumed = True


def _earlier_marker(t: _Toks, m: _Mention, has_change: bool) -> str:
    k = m.hs - 1
    steps = 0
    while k >= 0 and steps < 5:
        w = t.low[k]
        if w == "from" and has_change:
            return "from"
        if w in ("correcting", "previously", "earlier", "originally", "initially", "revising"):
            if steps > 0 or w in ("previously", "correcting", "earlier"):
                return "earlier"
        if w == "than" and steps > 0:
            return "than"
        if w not in _PREV_FILLER:
            break
        k -= 1
        steps += 1
    a1, a2 = t.get(m.end + 1), t.get(m.end + 2)
    if a1 in ("given", "reported", "announced", "stated") and a2 in ("earlier", "previously"):
        return "earlier"
    if t.get(m.qe) in ("given", "reported") and t.get(m.qe + 1) in ("earlier", "previously"):
        return "earlier"
    return ""


_TOLL_WORDS = _W("toll dead killed deaths died fatalities bodies".split())


def _sentence_metric(t: _Toks, mentions: list[_Mention]) -> None:
    """Resolve "put it at 900" / "the figure of 1,500" from the sentence's other words."""
    for m in mentions:
        if m.metric not in ("?", "??"):
            continue
        near = [f for f in mentions if f.metric and f.metric[0] != "?" and not f.rejected]
        if near:
            m.metric = min(near, key=lambda f: abs(f.hs - m.hs)).metric
            continue
        if m.metric == "??":
            m.metric = ""
            continue
        # A toll word anywhere wins: "raised it to 103 as more of the injured died".
        if not _TOLL_WORDS.isdisjoint(t.low):
            m.metric = _K
            continue
        m.metric = next((_METRIC_WORDS[w] for w in t.low if w in _METRIC_WORDS), "")


def _retractions(t: _Toks, mentions: list[_Mention]) -> None:
    hit = _RETRACTION.search(t.folded)
    if not hit:
        return
    before = t.folded[: hit.start()]
    metric = ""
    for word, met in (("death", _K), ("dead", _K), ("toll", _K), ("injur", _I), ("missing", _M)):
        if word in before[-40:]:
            metric = met
            break
    for m in mentions:
        if m.metric and (not metric or m.metric == metric):
            m.rejected = True
            if metric:
                continue
            break


# --- attribution -------------------------------------------------------------------------


def _first_letter_alternation(words: list[str]) -> str:
    """ "\\b(?:s(?:aid|ays)|t(?:old)|...)\\b": whole words, grouped by first letter so a position
    is tried against a few branches (longest first, as the engine takes the first that fits)."""
    groups: dict[str, list[str]] = {}
    for w in words:
        groups.setdefault(w[0], []).append(w[1:])
    branches = [
        c + "(?:" + "|".join(sorted(set(rest), key=len, reverse=True)) + ")"
        for c, rest in groups.items()
    ]
    return r"\b(?:" + "|".join(branches) + r")\b"


# Each source pattern comes twice: plain, for the lower-cased sentence (the usual case, and
# far faster), and with re.I for the rare sentence whose lower case changes its length.
_ACCORDING_RX = r"\baccording to ([^,.;:()\u201c\"]+?)(?=\s*(?:[,.;:()]|$|\bthat\b))"
_REPORT_VERB_RX = _first_letter_alternation(
    "said says say reported reports report told confirmed confirms announced announces stated "
    "added estimated estimates counted counts put puts gave gives listed lists claimed claims "
    "recorded tallied noted acknowledged wrote posted tweeted revised raised lowered updated "
    "cited quoted registered announce confirm".split()
)
_INVERTED_RX = (
    r"[,\u201d\"]\s*(?:said|says|told|reported|according to)\s+([^,.;:()\"\u201c\u201d]+)"
)
_ACCORDING = (re.compile(_ACCORDING_RX), re.compile(_ACCORDING_RX, re.I))
_REPORT_VERB = (re.compile(_REPORT_VERB_RX), re.compile(_REPORT_VERB_RX, re.I))
_INVERTED = (re.compile(_INVERTED_RX), re.compile(_INVERTED_RX, re.I))
_SUBJECT_LEAD = re.compile(
    r"^(?:but|and|while|whereas|however|meanwhile|also|earlier|later|separately|instead|"
    r"although|though|as|because|since|so)\b[\s,]*",
    re.I,
)
_SUBJECT_TAIL = re.compile(
    r"(?:\s+(?:has|have|had|also|later|earlier|previously|initially|since|first|then|"
    r"separately|officially|would|will|on \w+day))+$",
    re.I,
)
# A spaced hyphen closes a wire dateline ("LAGOS, Jan 5 (Reuters) -Police said ...").
_SPLIT_CLAUSE = re.compile(r"[,;:\u2014\u2013]|\s-(?=\s|[A-Z])|\b(?:while|whereas|but|and)\b", re.I)


def _find_all(patterns: tuple[re.Pattern, re.Pattern], sentence: str) -> list[re.Match]:
    low = sentence.lower()
    if len(low) == len(sentence):
        return list(patterns[0].finditer(low))  # offsets hold for the original sentence
    return list(patterns[1].finditer(sentence))


@lru_cache(maxsize=512)
def _sources(sentence: str) -> tuple[tuple, tuple[int, ...]]:
    """The sentence's source phrases, found once however many figures it holds:
    ("according to" spans, offsets of reporting verbs)."""
    acc: tuple = ()
    if "according to" in sentence.lower():
        acc = tuple(
            (a.start(), sentence[a.start(1) : a.end(1)].strip())
            for a in _find_all(_ACCORDING, sentence)
        )
    verbs = () if acc else tuple(v.start() for v in _find_all(_REPORT_VERB, sentence))
    return acc, verbs


@lru_cache(maxsize=512)
def _inverted(sentence: str) -> tuple[tuple[int, str], ...]:
    """Inverted "..., said X" phrases; looked for only when no subject names the source."""
    return tuple(
        (i.start(), sentence[i.start(1) : i.end(1)].strip()) for i in _find_all(_INVERTED, sentence)
    )


@lru_cache(maxsize=2048)
def _subject_at(sentence: str, verb_at: int) -> str | None:
    return _subject_before(sentence, verb_at)


def _attribution(sentence: str, pos: int) -> str | None:
    """Who gave the figure at ``pos`` (offset inside the sentence), as written."""
    acc, verb_offsets = _sources(sentence)
    if acc:
        return min(acc, key=lambda a: abs(a[0] - pos))[1]
    best_subject = None
    # Only the verbs up to the figure and the first one after it matter; their subjects are
    # read as they are needed.
    for at in verb_offsets:
        subject = _subject_at(sentence, at)
        if at > pos:
            # "..., police said": a source named after the figure, in a clause of its own.
            if subject and best_subject is None and sentence.rfind(subject, 0, at) > pos:
                return subject
            break
        if subject:
            best_subject = subject
    if best_subject:
        return best_subject
    for at, phrase in _inverted(sentence):
        if at >= pos and phrase and not re.search(r"\d", phrase) and len(phrase.split()) <= 10:
            return phrase
    return None


def _subject_before(sentence: str, verb_at: int) -> str | None:
    prefix = sentence[:verb_at]
    cuts = [m for m in _SPLIT_CLAUSE.finditer(prefix)]
    start = 0
    if cuts:
        last = cuts[-1]
        tail = prefix[last.end() :]
        if tail.strip():
            start = last.end()
        elif len(cuts) >= 2:
            seg = prefix[cuts[-2].end() : last.start()].strip()
            if seg.lower().startswith(("citing", "quoting", "speaking", "referring")):
                start = cuts[-3].end() if len(cuts) >= 3 else 0
            else:
                return None
        else:
            return None
    subject = prefix[start:].strip()
    subject = _SUBJECT_LEAD.sub("", subject)
    subject = _SUBJECT_TAIL.sub("", subject).strip(" ,\u201c\u201d\"'")
    if not subject or re.search(r"\d", subject) or len(subject.split()) > 14:
        return None
    if subject.split()[0].lower() in ("it", "this", "that", "there", "which", "who", "what"):
        return None
    return subject


# --- public ------------------------------------------------------------------------------


def _group_text(text: str, t: _Toks, m: _Mention) -> str:
    if m.group_e > m.group_s >= 0:
        words = text[t.st[m.group_s] : t.en[m.group_e - 1]]
        if m.via == "right" and t.get(m.end) in ("deaths", "bodies", "lives", "fatalities"):
            words = text[t.st[m.group_s] : t.en[m.end]]
        return words
    if t.get(m.end) in ("bodies", "lives", "body"):
        return t.text[m.end]
    return "people"


_POSSESSIVE = re.compile(r"\b(?:its|their)\b", re.I)


def _owner_key(story: Story, t: _Toks, m: _Mention, group: str, owner: str) -> str:
    """ "Cuba said 32 of its personnel died": read "its" as the source's ("Cuba's personnel")
    so the story's aliases can place the group. Only for short source names."""
    if len(owner.split()) > 4:
        return "other"
    if m.group_s > 0 and t.get(m.group_s - 1) in ("its", "their"):
        group = t.text[m.group_s - 1] + " " + group
    elif t.get(m.group_s - 1) in ("fallen", "dead", "slain") and t.get(m.group_s - 2) in (
        "its",
        "their",
    ):
        group = t.text[m.group_s - 2] + " " + group  # "its fallen officers"
    if not _POSSESSIVE.search(group):
        return "other"
    return _group_key(story, _POSSESSIVE.sub(owner + "'s", group))


_KEY_CACHE: dict[tuple[int, str], tuple[Story, str]] = {}


def _group_key(story: Story, group: str) -> str:
    # Alias matching folds and scans every alias; the same few group words recur constantly.
    # The story is kept in the entry so its id cannot be reused by another object.
    hit = _KEY_CACHE.get((id(story), group))
    if hit is None or hit[0] is not story:
        if len(_KEY_CACHE) > 4096:
            _KEY_CACHE.clear()
        hit = _KEY_CACHE[(id(story), group)] = (story, story.group_key(group))
    return hit[1]


def extract_figures(text: str, story: Story) -> list[dict]:
    """Every casualty figure in ``text`` as a contract figure dict (see DESIGN.md, Claims)."""
    out: list[dict] = []
    folded = text.lower()  # the pre-filters run on lower case: far faster than re.I
    if len(folded) != len(text):  # a rare character whose lower case is longer
        folded = "".join(c if len(c.lower()) != 1 else c.lower() for c in text)
    # One pass of the casualty pre-filter over the whole text; sentences without a hit are
    # never tokenised.
    hits = [m.start() for m in _HAS_CASUALTY.finditer(" " + folded)]
    if not hits:
        return out
    h = 0
    for s, e in _sentences_near(text, hits):
        while h < len(hits) and hits[h] < s:
            h += 1
        if h == len(hits):
            break
        if hits[h] >= e or not _HAS_NUMBER.search(folded, s, e):
            continue
        out.extend(_figures_at(text[s:e], s, story))
    return out


# Agency copy sends the same sentence under many outlets' names, so a sentence's figures are
# kept (for each story object) in a bounded least-recently-used table. A sentence's figures
# depend on nothing outside it; they are stored with offsets from the sentence start.
_SENTENCE_CACHE: dict[tuple[str, int], tuple[Story, list[dict]]] = {}
_SENTENCE_CACHE_SIZE = 4096


def _figures_at(sentence: str, base: int, story: Story) -> list[dict]:
    key = (sentence, id(story))
    hit = _SENTENCE_CACHE.pop(key, None)
    if hit is None or hit[0] is not story:  # the story is kept so a reused id cannot match
        hit = (story, _sentence_figures(sentence, sentence, 0, story))
        if len(_SENTENCE_CACHE) >= _SENTENCE_CACHE_SIZE:
            # The least recently used; tolerant of another thread evicting the same entry.
            _SENTENCE_CACHE.pop(next(iter(_SENTENCE_CACHE), None), None)
    _SENTENCE_CACHE[key] = hit
    return [{**f, "start": f["start"] + base, "end": f["end"] + base} for f in hit[1]]


_PARAGRAPH_GAP = re.compile(r"\n[ \t]*\n")


def _sentences_near(text: str, hits: list[int]) -> list[tuple[int, int]]:
    """Sentence spans of the paragraphs holding a pre-filter hit. A blank line always ends a
    sentence, so splitting paragraph by paragraph gives the spans the whole text would."""
    if len(hits) * 40 > len(text):
        return split_sentences(text)  # hits everywhere: one pass is cheaper
    spans: list[tuple[int, int]] = []
    start = 0
    h = 0
    gaps = [m.start() for m in _PARAGRAPH_GAP.finditer(text)] + [len(text)]
    for gap in gaps:
        if h < len(hits) and hits[h] < gap:
            spans.extend((start + a, start + b) for a, b in split_sentences(text[start:gap]))
            while h < len(hits) and hits[h] < gap:
                h += 1
        start = gap
    return spans


def _sentence_figures(text: str, sentence: str, base: int, story: Story) -> list[dict]:
    t = _Toks(sentence, base)
    if not t.n or (not _FOREIGN.isdisjoint(t.low) and sum(1 for w in t.low if w in _FOREIGN) >= 2):
        return []
    mentions = _find_mentions(t)
    if _ORDINAL_HINT.search(t.folded):
        mentions = _ordinals(t, mentions)
    if not mentions:
        return []
    mentions = _articles(t, mentions)
    _judge(t, mentions)
    _chain(t, mentions)
    _sentence_metric(t, mentions)
    _revisions(t, mentions)
    _retractions(t, mentions)
    figures = []
    for m in mentions:
        if not m.metric or m.consumed or m.rejected or m.metric[0] == "?":
            continue
        if m.kind == "article" and m.via != "chain":
            continue
        end_tok = max(m.end, m.qe - 1, m.group_e - 1)
        start, end = t.st[m.hs], t.en[end_tok]
        group = _group_text(text, t, m)
        key = _group_key(story, group)
        attribution = _attribution(sentence, start - base)
        if key == "other" and attribution:
            key = _owner_key(story, t, m, group, attribution)
        figures.append(
            {
                "type": "figure",
                "metric": m.metric,
                "low": m.low,
                "high": m.high,
                "qualifier": m.qualifier,
                "group": group,
                "group_key": key,
                "attribution": attribution,
                "previous": m.previous,
                "sentence": sentence,
                "start": start,
                "end": end,
            }
        )
    return figures
