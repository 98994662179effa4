"""Comparison: how each claim of an article relates to the story's baseline (pure functions).

Every function here is pure: claims and baseline items go in (plain dicts, as the extractor and
``monitor.baseline`` produce them), ``Relation`` values come out. Storage is ``monitor.findings``.

Figures
=======
A figure is matched to the baseline item with the same ``metric`` and ``group_key`` (key
``"<metric>:<group_key>"``, e.g. ``killed:total``). Figures of group ``other`` are not compared,
with one exception: a figure grouped ``total`` or ``other`` that prints exactly the number of a
baseline sub-count of the same metric ("Cuba mourns its 32 dead", "32 of its citizens" against
the Cubans' 32) is compared with that sub-count (``part_count_for``; ``observed`` then keeps
``group_as_extracted``). A whole is not the size of one of its parts.

Each hedge bounds the true number by an interval (``low``/``high`` as the claim contract gives
them; the *stated number* is the number the text printed):

============  ==================  ===============  ===============================
qualifier     example             interval         stated number
============  ==================  ===============  ===============================
exact         32                  [32, 32]         32
at_least      at least 80         [80, ∞)          80
more_than     more than 80        [81, ∞)          80 (low - 1)
about         around 80           [80-t, 80+t]     80
up_to         up to 80            [1, 80]          80
at_most       not more than 80    [1, 80]          80
fewer_than    fewer than 80       [1, 79]          80 (high + 1)
range         80 to 100           [80, 100]        80–100
vague         dozens              [24, ∞)          none: vague words state no number
============  ==================  ===============  ===============================

The tolerance ``t`` of "about n" follows how people round: half the rounding step of n
(step 10 for 80, 5 for 75, 100 for 300), never more than 10 % of n and never less than 1.
So "about 80" covers 75–85, "about 75" covers 72.5–77.5, "about 30" covers 27–33.

Two figures state **the same number** when their stated numbers are equal, or when one of them
is "about" and the other's stated number lies within its tolerance; two ranges are the same when
both ends are; a range and a single number are never the same number.

Hedge families: ``up_to`` and ``at_most`` are one family (both are the upper bound 1..n); every
other qualifier is its own family, so "at least 80" → "more than 80" is a changed hedge.

Relations, tried in this order:

1. no baseline item for the metric/group → ``new_figure``;
2. the same number → ``confirms`` with the same hedge family, else ``qualifier_changed``
   ("has risen to 80" against "at least 80" is a hedge drift, not an update);
3. a vague quantity (dozens, hundreds) → ``qualifier_changed`` when its interval overlaps the
   baseline's, else ``contradicts``;
4. revision language next to the figure, or the claim's ``previous`` set → ``updated``
   (either direction: an explicit revision supersedes);
5. a figure inside the bounds of an upper-bound or range baseline ("up to 30" → 20) →
   ``qualifier_changed`` (sharper, not different);
6. a larger figure → ``updated`` when the baseline allows a larger true number (open-ended
   hedge, an interval that contains it, or ``expected_to_rise``), else ``contradicts``
   (exactly 32 → 40);
7. a smaller figure → ``contradicts`` (at least 80 → 75, or an early "at least 40": a lower
   count, however hedged, is not what the baseline says).

Revision language (``REVISION``) is looked for within a few words of the figure: "rose to",
"has risen", "climbed", "jumped", "increased to", "revised", "updated", "raised to", "lowered
to", "now stands at", "now at", "up from", "down from", "new toll", "latest toll", "corrected".

A superseded value told as history ("initially put at 40", "the first bulletin listed 40",
"earlier reports said 40"; ``SUPERSEDED``) is not the outlet's claim about the count: it gives
``confirms`` or ``qualifier_changed`` when it states the baseline's number, and nothing else.

Statements
==========
Quotes are compared by words, with case, accents, punctuation, quote marks and a leading
article ignored (``normalise``). For a quote by a tracked speaker (speaker ``other`` is never
compared):

* same speaker, same words → ``confirms``;
* same speaker, a contiguous part of a baseline quote (3 words or more, or the whole of a short
  one) → ``confirms`` (a shortened quote); a quote spliced from parts of several baseline
  quotes of that speaker → ``confirms`` for each part's quote;
* same speaker, similar wording (similarity ≥ ``REWORD_MIN``, a translation or paraphrase, and
  at least two shared content words, a third of the shorter quote's) → ``reworded``, with a
  word-level ``diff``;
* the words (equal, a part of 3+ words, or similarity ≥ ``REATTRIBUTE_MIN`` with shared content
  words) of a baseline quote by *another* tracked speaker → ``reattributed``;
* a long quote holding two baseline quotes (two sentences run together, each part scoring at
  least ``PART_MIN`` against its best window) gives one relation per quote it holds;
* otherwise → ``new_statement``.

Silent edits
============
``compare_versions`` pairs the claims of two versions of one article: a figure of a
metric/group whose values changed (old values gone, new ones in), or a quote by the same
speaker whose words changed (similar but not equal) or whose words moved to another speaker →
``silent_edit``. A claim that simply disappears is not reported (main-text extraction varies
between fetches, so absence alone is weak evidence).
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from monitor.quotes import _FUNCTION_WORDS as FUNCTION_WORDS  # one list for both modules
from monitor.quotes import REWORDED_THRESHOLD, Synonyms, normalise_quote, quote_similarity
from monitor.quotes import word_diff as quotes_word_diff

RELATIONS = (
    "confirms",
    "qualifier_changed",
    "updated",
    "contradicts",
    "new_figure",
    "reworded",
    "reattributed",
    "new_statement",
    "silent_edit",
)
#: Relations that ask an editor to look (everything but confirms and new_*).
ALARMS = ("qualifier_changed", "updated", "contradicts", "reworded", "reattributed", "silent_edit")

REWORD_MIN = REWORDED_THRESHOLD
REATTRIBUTE_MIN = 0.5
FRAGMENT_MIN_WORDS = 3
SHARED_CONTENT_MIN = 2
PART_MIN = 0.5
ABOUT_MAX_SHARE = 0.10

UPPER_BOUNDS = ("up_to", "at_most", "fewer_than")
HEDGE_FAMILY = {"up_to": "upper", "at_most": "upper"}

# Revision language: words that present a figure as superseding an earlier one.
REVISION = re.compile(
    r"\b(?:rose|risen|rises|rising|climb(?:s|ed|ing)?|jump(?:s|ed)|increased|increases|"
    r"raised|raises\s+the|revis\w*|updated|update[sd]?\s+(?:toll|count|figure)|"
    r"lowered|lowers|correct(?:ed|ing|ion)|swell(?:s|ed)|surged|mount(?:ed|ing)|grew|grown|"
    r"now\s+(?:stands?|stood|at|puts?|is|reaches|totals?)|stands?\s+at|up\s+from|down\s+from|"
    r"new\s+(?:toll|count|figure|tally)|latest\s+(?:toll|count|figure|tally|figures)|"
    r"subi[oó]|aument[oó]|ascendi[oó]|actualiz\w*|elev[oó]|se\s+eleva)(?!\w)",
    re.IGNORECASE,
)
REVISION_WINDOW = 60

# A value told as history ("initially put at 40", "the first bulletin listed 40"): the outlet
# reports what was said before, not what it says the count is now.
SUPERSEDED = re.compile(
    r"\b(?:initial(?:ly)?|original(?:ly)?|first\s+(?:reports?|bulletin|toll|count|figures?)|"
    r"earlier\s+(?:reports?|toll|count|figures?|estimates?)|previous(?:ly)?\s+"
    r"(?:reported|put|given|stated|announced|toll|count|figure|estimate)|at\s+first|"
    r"had\s+(?:initially|earlier|first)\b)",
    re.IGNORECASE,
)


@dataclass(frozen=True)
class Relation:
    """One classified claim: what it relates to and how. ``baseline`` is None for new_*."""

    relation: str
    baseline_key: str | None
    baseline: dict[str, Any] | None
    observed: dict[str, Any]
    reason: str = ""
    extra: dict[str, Any] = field(default_factory=dict)


# ---------------------------------------------------------------------------- intervals


def interval(low: int | None, high: int | None, qualifier: str) -> tuple[float, float]:
    """The interval of true values a hedged figure allows (see the module docstring)."""
    lo = float(low if low is not None else 0)
    hi = math.inf if high is None else float(high)
    if qualifier == "about":
        t = about_tolerance(int(lo))
        return (lo - t, (hi if hi != math.inf else lo) + t)
    if qualifier in UPPER_BOUNDS:
        return (min(lo, 1.0), hi)
    return (lo, hi)


def about_tolerance(n: int) -> float:
    """Half the rounding step of n, capped at 10 % of n, at least 1."""
    if n <= 0:
        return 1.0
    step, m = 1, n
    while m % 10 == 0:
        step, m = step * 10, m // 10
    if m % 5 == 0:
        step *= 5
    return max(1.0, min(step / 2, n * ABOUT_MAX_SHARE))


def stated(low: int | None, high: int | None, qualifier: str) -> tuple[int, int] | None:
    """The number(s) the text printed, as (first, last); None for vague quantities."""
    if qualifier == "vague" or low is None and high is None:
        return None
    if qualifier == "more_than" and low is not None:
        return (low - 1, low - 1)
    if qualifier == "fewer_than" and high is not None:
        return (high + 1, high + 1)
    if qualifier in ("up_to", "at_most") and high is not None:
        return (high, high)
    if qualifier == "range" and high is not None and low is not None:
        return (low, high)
    n = low if low is not None else high
    return (n, n)  # type: ignore[return-value]


def overlaps(a: tuple[float, float], b: tuple[float, float]) -> bool:
    return a[0] <= b[1] and b[0] <= a[1]


def same_number(obs: Mapping[str, Any], base: Mapping[str, Any]) -> bool:
    """Do the two figures state the same number (with the "about" tolerance)?"""
    so = stated(obs.get("low"), obs.get("high"), obs.get("qualifier", "exact"))
    sb = stated(base.get("low"), base.get("high"), base.get("qualifier", "exact"))
    if so is None or sb is None:
        return False
    o_range, b_range = so[0] != so[1], sb[0] != sb[1]
    if o_range or b_range:
        return so == sb
    if so[0] == sb[0]:
        return True
    for a, b, q in ((so[0], sb[0], obs.get("qualifier")), (sb[0], so[0], base.get("qualifier"))):
        if q == "about" and abs(a - b) <= about_tolerance(a):
            return True
    return False


def same_family(a: str, b: str) -> bool:
    return HEDGE_FAMILY.get(a, a) == HEDGE_FAMILY.get(b, b)


def representative(fig: Mapping[str, Any]) -> float:
    """One number to order figures by: the stated number (a range's midpoint)."""
    s = stated(fig.get("low"), fig.get("high"), fig.get("qualifier", "exact"))
    if s is None:
        return float(fig.get("low") or 0)
    return (s[0] + s[1]) / 2


def _near(claim: Mapping[str, Any], pattern: re.Pattern[str]) -> bool:
    sentence = claim.get("sentence") or ""
    pos = claim.get("sentence_start")
    if isinstance(pos, int) and 0 <= pos <= len(sentence):
        span = max(0, (claim.get("end") or 0) - (claim.get("start") or 0))
        lo = max(0, pos - REVISION_WINDOW)
        hi = min(len(sentence), pos + span + REVISION_WINDOW // 2)
        return bool(pattern.search(sentence[lo:hi]))
    return bool(pattern.search(sentence))


def has_revision_language(claim: Mapping[str, Any]) -> bool:
    """Revision words within ``REVISION_WINDOW`` characters of the figure (or anywhere in the
    sentence when the figure's place in it is unknown)."""
    return _near(claim, REVISION)


def is_superseded(claim: Mapping[str, Any]) -> bool:
    """A value the text gives as an earlier, replaced one (and no newer value in the claim)."""
    return claim.get("previous") is None and _near(claim, SUPERSEDED)


# ---------------------------------------------------------------------------- figures


def figure_key(claim: Mapping[str, Any]) -> str:
    return f"{claim.get('metric')}:{claim.get('group_key')}"


def figure_observed(claim: Mapping[str, Any]) -> dict[str, Any]:
    """The contract's ``observed`` for a figure."""
    out = {
        "metric": claim.get("metric"),
        "group_key": claim.get("group_key"),
        "low": claim.get("low"),
        "high": claim.get("high"),
        "qualifier": claim.get("qualifier"),
        "attribution": claim.get("attribution"),
    }
    if claim.get("previous") is not None:
        out["previous"] = claim.get("previous")
    return out


def figure_baseline(item: Mapping[str, Any]) -> dict[str, Any]:
    """The contract's ``baseline`` for a figure item."""
    out = {"low": item.get("low"), "high": item.get("high"), "qualifier": item.get("qualifier")}
    if item.get("attribution"):
        out["attribution"] = item.get("attribution")
    if item.get("expected_to_rise"):
        out["expected_to_rise"] = True
    return out


def _figures_of(baseline: Any) -> Mapping[str, Mapping[str, Any]]:
    if hasattr(baseline, "figures"):
        return baseline.figures
    return (baseline or {}).get("figures", {})


def _statements_of(baseline: Any) -> Mapping[str, Mapping[str, Any]]:
    if hasattr(baseline, "statements"):
        return baseline.statements
    return (baseline or {}).get("statements", {})


def classify_figure(obs: Mapping[str, Any], base: Mapping[str, Any]) -> tuple[str, str]:
    """(relation, reason) of an observed figure against one baseline item of its metric/group."""
    oq, bq = obs.get("qualifier", "exact"), base.get("qualifier", "exact")
    if same_number(obs, base):
        if same_family(oq, bq):
            return "confirms", "same number, same hedge"
        return "qualifier_changed", f"same number, hedge {bq} → {oq}"
    oi = interval(obs.get("low"), obs.get("high"), oq)
    bi = interval(base.get("low"), base.get("high"), bq)
    if oq == "vague":
        if overlaps(oi, bi):
            return "qualifier_changed", "vague quantity compatible with the baseline"
        return "contradicts", "vague quantity outside the baseline's interval"
    if obs.get("previous") is not None or has_revision_language(obs):
        return "updated", "presented as a revision"
    if bq in (*UPPER_BOUNDS, "range") and bi[0] <= oi[0] and oi[1] <= bi[1]:
        return "qualifier_changed", "a sharper figure within the baseline's bounds"
    if representative(obs) > representative(base):
        if bi[1] == math.inf or base.get("expected_to_rise") or bi[1] >= oi[0]:
            return "updated", "larger, and the baseline allows a larger count"
        return "contradicts", "larger than a closed baseline, not presented as a revision"
    return "contradicts", "smaller than the baseline"


def part_count_for(claim: Mapping[str, Any], baseline: Any) -> str | None:
    """The baseline sub-count a loosely grouped figure stands for, if any.

    A figure grouped ``total`` or ``other`` ("Cuba mourns its 32 dead", "32 of its citizens")
    whose printed number is exactly the printed number of a baseline item for another group of
    the same metric is that item's figure: a whole is not the size of one of its parts, and an
    unnamed group with the sub-count's exact number is that group."""
    group = claim.get("group_key")
    if group not in ("total", "other"):
        return None
    mine = stated(claim.get("low"), claim.get("high"), claim.get("qualifier", "exact"))
    if mine is None or mine[0] != mine[1]:
        return None
    total = _figures_of(baseline).get(f"{claim.get('metric')}:total")
    if group == "total" and total is not None and same_number(claim, total):
        return None
    for key, item in _figures_of(baseline).items():
        if item.get("metric") != claim.get("metric") or item.get("group_key") in (group, "total"):
            continue
        theirs = stated(item.get("low"), item.get("high"), item.get("qualifier", "exact"))
        if theirs == mine:
            return key
    return None


def compare_figure(claim: Mapping[str, Any], baseline: Any) -> list[Relation]:
    """Classify one figure claim against the baseline (see the module docstring)."""
    if claim.get("type", "figure") != "figure" or claim.get("group_key") is None:
        return []
    part = part_count_for(claim, baseline)
    if part is not None:
        group = part.split(":", 1)[1]
        claim = {**claim, "group_key": group, "group_as_extracted": claim.get("group_key")}
    if claim.get("group_key") == "other":
        return []
    key = figure_key(claim)
    item = _figures_of(baseline).get(key)
    observed = figure_observed(claim)
    if part is not None:
        observed["group_as_extracted"] = claim["group_as_extracted"]
    if item is None:
        return [Relation("new_figure", key, None, observed, "no baseline item")]
    relation, reason = classify_figure(claim, item)
    if is_superseded(claim) and relation not in ("confirms", "qualifier_changed"):
        return []  # history of the count, not the outlet's claim about it
    return [Relation(relation, key, figure_baseline(item), observed, reason)]


# ---------------------------------------------------------------------------- quotes

_LEADING_ARTICLE = {"a", "an", "the"}


def words(text: str) -> list[str]:
    """Words of a quote as ``monitor.quotes.normalise_quote`` folds them (case, accents,
    punctuation and quote marks aside), without a leading article ("a disaster" = "disaster")."""
    tokens = normalise_quote(text or "").split()
    while len(tokens) > 1 and tokens[0] in _LEADING_ARTICLE:
        tokens = tokens[1:]
    return tokens


def normalise(text: str) -> str:
    return " ".join(words(text))


# Verbs and fillers that carry no statement of their own ("going to", "I think").
_LIGHT_WORDS = frozenset(
    "going gonna get got make made take one say said says think know want like also really "
    "lot well way thing things".split()
)
_SUFFIXES = ("ically", "ation", "ness", "ment", "ism", "ity", "ing", "ed", "ly", "ic", "es", "s")


def _light_stem(word: str) -> str:
    for suffix in _SUFFIXES:
        if word.endswith(suffix) and len(word) - len(suffix) >= 3:
            word = word[: -len(suffix)]
            break
    return word[:6]


def content_stems(text: str) -> set[str]:
    """Light stems of a quote's content words (heroism/heroically → hero; count ≠ country)."""
    return {
        _light_stem(w)
        for w in normalise_quote(text or "").split()
        if w not in FUNCTION_WORDS and w not in _LIGHT_WORDS
    }


def shares_content(a: str, b: str) -> bool:
    """Do two quotes share enough content words to be one statement in other words?

    At least ``SHARED_CONTENT_MIN`` content stems (all of them for a shorter quote), and at
    least a third of the shorter quote's: function words in the same order ("going to … the")
    make a high similarity score between unrelated remarks, shared content words do not."""
    ca, cb = content_stems(a), content_stems(b)
    if not ca or not cb:
        return False
    shared = len(ca & cb)
    shorter = min(len(ca), len(cb))
    return shared >= min(SHARED_CONTENT_MIN, shorter) and shared * 3 >= shorter


def similarity(a: str, b: str) -> float:
    """0..1 word similarity (``monitor.quotes.quote_similarity``)."""
    return float(quote_similarity(a, b))


def word_diff(old: str, new: str) -> str:
    """Word-level diff of ``new`` against ``old``: ``[-removed-] {+added+}``."""
    return quotes_word_diff(old or "", new or "")


def _contains(hay: list[str], needle: list[str]) -> bool:
    n = len(needle)
    return any(hay[i : i + n] == needle for i in range(len(hay) - n + 1))


def is_fragment(part: str, whole: str) -> bool:
    """``part`` is a contiguous run of ``whole``'s words: 3+ words, or all of a short quote."""
    wp, ww = words(part), words(whole)
    if not wp:
        return False
    if wp == ww:
        return True
    return len(wp) >= min(FRAGMENT_MIN_WORDS, len(ww)) and _contains(ww, wp) and len(wp) < len(ww)


def splice_parts(quote: str, candidates: Mapping[str, str]) -> list[str] | None:
    """Keys of the candidate quotes that ``quote`` is spliced from, when every word of it is
    covered by contiguous runs (3+ words, or a whole short quote) of the candidates; else None."""
    wq = words(quote)
    cw = {k: words(v) for k, v in candidates.items()}
    used: list[str] = []
    i = 0
    while i < len(wq):
        best_len, best_key = 0, None
        for key, ws in cw.items():
            for j in range(len(ws)):
                n = 0
                while i + n < len(wq) and j + n < len(ws) and wq[i + n] == ws[j + n]:
                    n += 1
                if n > best_len and (n >= min(FRAGMENT_MIN_WORDS, len(ws))):
                    best_len, best_key = n, key
        if best_key is None:
            return None
        if best_key not in used:
            used.append(best_key)
        i += best_len
    return used or None


def statement_observed(claim: Mapping[str, Any]) -> dict[str, Any]:
    return {
        "speaker_key": claim.get("speaker_key"),
        "speaker": claim.get("speaker"),
        "quote": claim.get("quote"),
    }


def statement_baseline(item: Mapping[str, Any]) -> dict[str, Any]:
    return {"speaker_key": item.get("speaker_key"), "quote": item.get("quote")}


def _is_generic(speaker: str | None, generic: Iterable[str]) -> bool:
    """The speaker phrase names no one in particular ("the government", "a statement")."""
    mine = " ".join(words(speaker or ""))
    return bool(mine) and any(mine == " ".join(words(g)) for g in generic)


def _generic_speaker_key(
    quote: str, items: Mapping[str, Mapping[str, Any]], canon: Any
) -> str | None:
    """The speaker of the baseline statement a generically credited quote repeats: its words,
    a part of them, or the same statement in other words; None when it repeats none."""
    nq = normalise(quote)
    for item in items.values():
        bq = item.get("quote", "")
        if normalise(bq) == nq or is_fragment(quote, bq):
            return item.get("speaker_key")
    scores = _scores(quote, items, canon)
    best = max(scores.items(), key=lambda kv: kv[1], default=None)
    if best and best[1] >= REATTRIBUTE_MIN:
        return items[best[0]].get("speaker_key")
    return None


def compare_statement(
    claim: Mapping[str, Any],
    baseline: Any,
    synonyms: Synonyms | None = None,
    generic_speakers: Iterable[str] = (),
) -> list[Relation]:
    """Classify one quote against the baseline quotes (see the module docstring).

    ``synonyms`` (the story's translation vocabulary) makes another translation's words count
    as the seed's when quotes are scored; ``generic_speakers`` lets a quote credited to "the
    government" or "the statement" take the speaker of the baseline statement it repeats."""
    speaker = claim.get("speaker_key")
    quote = claim.get("quote") or ""
    canon = synonyms.apply if synonyms else normalise_quote
    if claim.get("type", "statement") != "statement" or speaker is None:
        return []
    if not words(quote):
        return []
    items = _statements_of(baseline)
    if speaker == "other":
        if not _is_generic(claim.get("speaker"), generic_speakers):
            return []
        speaker = _generic_speaker_key(quote, items, canon)
        if speaker is None:
            return []
        claim = {**claim, "speaker_key": speaker}
    own = {k: v for k, v in items.items() if v.get("speaker_key") == speaker}
    others = {k: v for k, v in items.items() if v.get("speaker_key") != speaker}
    observed = statement_observed(claim)
    nq = normalise(quote)

    def rel(name: str, key: str, reason: str, diff: bool = False) -> Relation:
        obs = dict(observed)
        if diff:
            obs["diff"] = word_diff(items[key].get("quote", ""), quote)
        return Relation(name, key, statement_baseline(items[key]), obs, reason)

    for key, item in own.items():
        if normalise(item.get("quote", "")) == nq:
            return [rel("confirms", key, "same words")]
    for key, item in own.items():
        if is_fragment(quote, item.get("quote", "")):
            return [rel("confirms", key, "a shortened quote")]
    parts = splice_parts(quote, {k: v.get("quote", "") for k, v in own.items()})
    if parts and len(parts) > 1:
        return [rel("confirms", k, "spliced from baseline quotes") for k in parts]
    # Other speakers' words, equal, a part, or a whole quote of 4+ words inside this one:
    # re-attribution beats a loose same-speaker match.
    wq = words(quote)
    taken = [
        k
        for k, v in others.items()
        if normalise(v.get("quote", "")) == nq
        or (is_fragment(quote, v.get("quote", "")) and len(wq) >= 3)
        or (len(words(v.get("quote", ""))) >= 4 and _contains(wq, words(v.get("quote", ""))))
    ]
    if taken:
        return [
            rel("reattributed", k, f"words of {items[k].get('speaker_key')}", diff=True)
            for k in taken
        ]
    own_scores, other_scores = _scores(quote, own, canon), _scores(quote, others, canon)
    best_own = max(own_scores.items(), key=lambda kv: kv[1], default=None)
    best_other = max(other_scores.items(), key=lambda kv: kv[1], default=None)
    if (
        best_own
        and best_own[1] >= REWORD_MIN
        and (not best_other or best_own[1] >= best_other[1] or best_other[1] < REATTRIBUTE_MIN)
    ):
        keys = _several(own_scores, own, quote)
        if keys:  # several statements run together: each part is confirmed or reworded
            return [
                rel("confirms", k, "held whole in a longer quote")
                if _contains(wq, words(own[k].get("quote", "")))
                else rel("reworded", k, f"similarity {own_scores[k]:.2f}", diff=True)
                for k in keys
            ]
        return [rel("reworded", best_own[0], f"similarity {best_own[1]:.2f}", diff=True)]
    if best_other and best_other[1] >= REATTRIBUTE_MIN and len(wq) >= 3:
        keys = _several(other_scores, others, quote) or [best_other[0]]
        return [
            rel("reattributed", k, f"close to {items[k].get('speaker_key')}", diff=True)
            for k in keys
        ]
    return [Relation("new_statement", None, None, observed, "not in the baseline")]


def _scores(
    quote: str, items: Mapping[str, Mapping[str, Any]], canon: Any = None
) -> dict[str, float]:
    """Similarity of ``quote`` to each item it shares content words with.

    Both are first read through ``canon`` (the story's synonyms: another translation's words
    become the seed's). A quote much longer than an item (1.5 times its words) may hold it
    among other words (two statements run together, in another translation): it is also
    scored by its best window of the item's length."""
    canon = canon or normalise_quote
    quote = canon(quote)
    wq = words(quote)
    out: dict[str, float] = {}
    for key, item in items.items():
        bq = canon(item.get("quote", ""))
        if not shares_content(bq, quote):
            continue
        score = similarity(bq, quote)
        n = len(words(bq))
        if n >= 4 and len(wq) >= 1.5 * n:
            for i in range(len(wq) - n + 1):
                window = " ".join(wq[i : i + n])
                if shares_content(bq, window):
                    score = max(score, similarity(bq, window))
        out[key] = score
    return out


def _several(
    scores: Mapping[str, float], items: Mapping[str, Mapping[str, Any]], quote: str
) -> list[str]:
    """Items a long quote holds together (each scoring ``PART_MIN`` or more, their words
    adding up to about the quote's), in baseline order; [] when it holds one or none."""
    keys = [k for k in items if scores.get(k, 0.0) >= PART_MIN]
    if len(keys) < 2:
        return []
    total = sum(len(words(items[k].get("quote", ""))) for k in keys)
    return keys if total <= 1.3 * len(words(quote)) else []


def compare_claim(
    claim: Mapping[str, Any],
    baseline: Any,
    synonyms: Synonyms | None = None,
    generic_speakers: Iterable[str] = (),
) -> list[Relation]:
    if claim.get("type") == "figure":
        return compare_figure(claim, baseline)
    if claim.get("type") == "statement":
        return compare_statement(claim, baseline, synonyms, generic_speakers)
    return []


# ---------------------------------------------------------------------------- versions


def _figure_values(claim: Mapping[str, Any]) -> tuple[Any, Any, Any]:
    return (claim.get("low"), claim.get("high"), claim.get("qualifier"))


def _minus(a: list[Mapping[str, Any]], b: list[Mapping[str, Any]]) -> list[Mapping[str, Any]]:
    """Figures of ``a`` left once each value of ``b`` has cancelled one equal figure of ``a``."""
    left = Counter(_figure_values(c) for c in b)
    out = []
    for c in a:
        v = _figure_values(c)
        if left[v] > 0:
            left[v] -= 1
        else:
            out.append(c)
    return out


def compare_versions(
    old_claims: Iterable[Mapping[str, Any]],
    new_claims: Iterable[Mapping[str, Any]],
    baseline: Any = None,
    old_version: int | None = None,
) -> list[Relation]:
    """Silent edits between two versions of one article (see the module docstring).

    ``baseline_key`` is the baseline item the edited claim belongs to (or its metric/group
    key); ``observed`` holds the new claim with ``previous_version`` = the old values.
    """
    old, new = list(old_claims), list(new_claims)
    out: list[Relation] = []
    figures_base = _figures_of(baseline)
    keys = {figure_key(c) for c in old if c.get("type") == "figure"}
    for key in sorted(keys):
        if key.endswith(":other"):
            continue
        before = [c for c in old if c.get("type") == "figure" and figure_key(c) == key]
        after = [c for c in new if c.get("type") == "figure" and figure_key(c) == key]
        # Multisets: one of two mentions of 32 turning into 34 is an edit too.
        gone = _minus(before, after)
        came = _minus(after, before)
        for was, now in zip(gone, came, strict=False):
            obs = figure_observed(now)
            obs["previous_version"] = {
                "version": old_version,
                "low": was.get("low"),
                "high": was.get("high"),
                "qualifier": was.get("qualifier"),
            }
            item = figures_base.get(key)
            base = figure_baseline(item) if item else None
            out.append(Relation("silent_edit", key, base, obs, "figure changed between versions"))
    out.extend(_quote_edits(old, new, baseline, old_version))
    return out


def _quote_edits(
    old: list[Mapping[str, Any]],
    new: list[Mapping[str, Any]],
    baseline: Any,
    old_version: int | None,
) -> list[Relation]:
    out: list[Relation] = []
    old_q = [c for c in old if c.get("type") == "statement" and c.get("speaker_key") != "other"]
    new_q = [c for c in new if c.get("type") == "statement"]
    new_set = {(c.get("speaker_key"), normalise(c.get("quote") or "")) for c in new_q}
    old_set = {(c.get("speaker_key"), normalise(c.get("quote") or "")) for c in old_q}
    statements = _statements_of(baseline)
    for was in old_q:
        sig = (was.get("speaker_key"), normalise(was.get("quote") or ""))
        if sig in new_set:
            continue
        best, best_score = None, 0.0
        for now in new_q:
            nsig = (now.get("speaker_key"), normalise(now.get("quote") or ""))
            if nsig in old_set:
                continue
            if nsig[1] == sig[1]:
                score = 1.0
            elif shares_content(was.get("quote", ""), now.get("quote") or ""):
                score = similarity(was.get("quote", ""), now.get("quote") or "")
            else:
                score = 0.0
            if score > best_score:
                best, best_score = now, score
        if best is None or best_score < REWORD_MIN:
            continue
        obs = statement_observed(best)
        obs["diff"] = word_diff(was.get("quote", ""), best.get("quote", ""))
        obs["previous_version"] = {
            "version": old_version,
            "speaker_key": was.get("speaker_key"),
            "quote": was.get("quote"),
        }
        key = _statement_key_for(was, statements)
        base = statement_baseline(statements[key]) if key in statements else None
        out.append(Relation("silent_edit", key, base, obs, "quote changed between versions"))
    return out


def _statement_key_for(claim: Mapping[str, Any], statements: Mapping[str, Mapping]) -> str | None:
    best = None, 0.0
    for key, item in statements.items():
        score = similarity(item.get("quote", ""), claim.get("quote") or "")
        if is_fragment(claim.get("quote") or "", item.get("quote", "")):
            score = max(score, 0.9)
        if score > best[1]:
            best = key, score
    return best[0] if best[1] >= REWORD_MIN else None
