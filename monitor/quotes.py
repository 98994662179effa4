"""Comparing quotes: the same words, the same statement reworded, or another statement.

Pure helpers for the comparison step:

- ``normalise_quote``: the quote with case, accents, punctuation, quote marks and spacing
  aside. Two quotes with equal normal forms *confirm* each other.
- ``quote_similarity``: 0..1, token based. Two quotes by the same speaker at or above
  ``REWORDED_THRESHOLD`` are the same statement in other words (another translation, a
  fragment, a splice); below it they are different statements.
- ``word_diff``: a compact word-level diff for the digest ("[-heroism-] {+courage+}").

Why the score is built the way it is. Translations of one sentence keep its skeleton — the
function words, the word order, a noun or two ("their duty with … and …") — and swap the
content words for synonyms. Different statements by the same speaker share almost nothing
but a few function words. So the score mixes three views of the two token lists, each on
crude stems (the first five letters, which joins heroism/heroically, dignity/dignified):

- containment, weighted: how much of the shorter quote is in the longer one (fragments and
  splices of the baseline score high); function words weigh half a content word, and quotes
  with fewer than two content words get only part of this credit;
- weighted Jaccard over the two sets;
- difflib's ratio on the stem sequences, which rewards the shared skeleton and word order
  that translations keep; it carries most of the weight.

``sim = 0.3 * containment + 0.1 * jaccard + 0.6 * sequence``

The weights were picked on invented pairs (the ones in tests/test_statements.py) to widen
the gap between the two groups: translations and rewordings score 0.43–0.80, fragments and
splices 0.7–0.9, and different statements by the same speaker 0–0.25 (the highest are pairs
that share function words in the same order: "It is going to be …" against "It's going
down …"). The threshold sits at 0.35, between the two, about 0.1 above the highest
unrelated pair and 0.08 below the loosest translation ("fulfilled their duty with dignity
and heroism" / "carried out their duty with honour and courage", 0.43). A quote below it by a
tracked speaker is a new statement.
"""

from __future__ import annotations

import difflib
import re

from monitor.story import fold

REWORDED_THRESHOLD = 0.35

_APOSTROPHE_RE = re.compile(r"(?<=\w)['’‘`´](?=\w)")
_NON_WORD_RE = re.compile(r"[^\w]+")
# Function words in the languages the desk reads; they count, but for a quarter.
_FUNCTION_WORDS = frozenset(
    (
        "a an the of to in on at by for from with and or but as is are was were be been being "
        "it its it's this that these those their our my your his her they we i you he she them "
        "us me not no do does did will would can could should has have had there here than "
        "then so if out up down any some all very just"
        " el la los las un una unos unas de del al a en y o que con por para su sus se lo es "
        "son fue fueron nuestro nuestros nuestra como mas pero sin sobre"
    ).split()
)
_FUNCTION_WEIGHT = 0.5
_STEM = 5


def normalise_quote(q: str) -> str:
    """Lower case, accents folded, apostrophes dropped, punctuation and quote marks to
    spaces, whitespace collapsed: "I don’t think…," and 'i dont think' are equal."""
    text = _APOSTROPHE_RE.sub("", fold(q))
    return " ".join(_NON_WORD_RE.sub(" ", text).replace("_", " ").split())


def _stems(q: str) -> list[str]:
    return [w if w in _FUNCTION_WORDS else w[:_STEM] for w in normalise_quote(q).split()]


def _weight(stem: str) -> float:
    return _FUNCTION_WEIGHT if stem in _FUNCTION_WORDS else 1.0


def quote_similarity(a: str, b: str) -> float:
    """0..1: 1 for the same words, about 0.4–0.75 for another translation of the same
    statement, under 0.2 for a different statement (see the module docstring)."""
    sa, sb = _stems(a), _stems(b)
    if not sa or not sb:
        return 1.0 if sa == sb else 0.0
    if sa == sb:
        return 1.0
    set_a, set_b = set(sa), set(sb)
    w_a = sum(_weight(s) for s in set_a)
    w_b = sum(_weight(s) for s in set_b)
    w_common = sum(_weight(s) for s in set_a & set_b)
    w_union = sum(_weight(s) for s in set_a | set_b)
    w_min = min(w_a, w_b)
    # A fragment of one or two content words may be contained by chance; damp that credit.
    containment = (w_common / w_min) * min(1.0, w_min / 2.0)
    jaccard = w_common / w_union
    # difflib's ratio depends on argument order; average both so the score is symmetric.
    sequence = (
        difflib.SequenceMatcher(None, sa, sb, autojunk=False).ratio()
        + difflib.SequenceMatcher(None, sb, sa, autojunk=False).ratio()
    ) / 2
    return round(0.3 * containment + 0.1 * jaccard + 0.6 * sequence, 4)


def is_reworded(a: str, b: str) -> bool:
    """Same statement in other words (not the same words: compare normal forms first)."""
    return quote_similarity(a, b) >= REWORDED_THRESHOLD


def word_diff(a: str, b: str, context: int = 4) -> str:
    """Words of ``b`` against ``a``: "[-old-] {+new+}" for changes; words equal once
    normalised (case, punctuation) print as in ``b``; runs of more than ``2*context + 1``
    unchanged words are shortened to their ends around "…"."""
    wa, wb = a.split(), b.split()
    na = [normalise_quote(w) for w in wa]
    nb = [normalise_quote(w) for w in wb]
    out: list[str] = []
    matcher = difflib.SequenceMatcher(None, na, nb, autojunk=False)
    opcodes = matcher.get_opcodes()
    for n, (tag, i1, i2, j1, j2) in enumerate(opcodes):
        if tag == "equal":
            same = wb[j1:j2]
            keep_head = context if n > 0 else 0
            keep_tail = context if n < len(opcodes) - 1 else 0
            if len(opcodes) > 1 and len(same) > keep_head + keep_tail + 1:
                same = same[:keep_head] + ["…"] + same[len(same) - keep_tail :]
                same = [w for w in same if w]
            out.extend(same)
            continue
        if i2 > i1:
            out.append("[-" + " ".join(wa[i1:i2]) + "-]")
        if j2 > j1:
            out.append("{+" + " ".join(wb[j1:j2]) + "+}")
    return " ".join(out)


class Synonyms:
    """Story vocabulary for translations: each group's words and phrases count as one word.

    ``apply`` returns the quote's normal form with every member of a group (the longest phrase
    first, "carried out" before "out") replaced by the group's first member, so another
    translation of a statement ("carried out their duty with honour and courage") reads like
    the seed's words ("fulfilled their duty with dignity and heroism") for the similarity score
    and the shared-content rule. The diff shown to editors still uses the real words."""

    def __init__(self, groups: tuple[tuple[str, ...], ...] | list[list[str]] = ()) -> None:
        self.phrases: dict[tuple[str, ...], str] = {}
        for group in groups:
            members = [tuple(normalise_quote(m).split()) for m in group]
            members = [m for m in members if m]
            if len(members) < 2:
                continue
            canonical = "".join(members[0])
            for m in members:
                self.phrases.setdefault(m, canonical)
        self.longest = max((len(p) for p in self.phrases), default=0)

    def __bool__(self) -> bool:
        return bool(self.phrases)

    def apply(self, q: str) -> str:
        tokens = normalise_quote(q).split()
        if not self.phrases:
            return " ".join(tokens)
        out: list[str] = []
        i = 0
        while i < len(tokens):
            for n in range(min(self.longest, len(tokens) - i), 0, -1):
                canonical = self.phrases.get(tuple(tokens[i : i + n]))
                if canonical is not None:
                    out.append(canonical)
                    i += n
                    break
            else:
                out.append(tokens[i])
                i += 1
        return " ".join(out)
