"""Numbers as news prints them: digits with odd separators, number words, dozens, vague words.

The figure extractor works on lower-cased tokens; ``read_quantity`` reads one quantity starting
at a token and says how many tokens it used. ``parse_number`` is the same for a whole string.
"""

from __future__ import annotations

import re
from typing import NamedTuple

UNITS = {
    "zero": 0,
    "one": 1,
    "two": 2,
    "three": 3,
    "four": 4,
    "five": 5,
    "six": 6,
    "seven": 7,
    "eight": 8,
    "nine": 9,
    "ten": 10,
    "eleven": 11,
    "twelve": 12,
    "thirteen": 13,
    "fourteen": 14,
    "fifteen": 15,
    "sixteen": 16,
    "seventeen": 17,
    "eighteen": 18,
    "nineteen": 19,
}
TENS = {
    "twenty": 20,
    "thirty": 30,
    "forty": 40,
    "fourty": 40,
    "fifty": 50,
    "sixty": 60,
    "seventy": 70,
    "eighty": 80,
    "ninety": 90,
}
SCALES = {"hundred": 100, "thousand": 1000, "million": 1_000_000, "billion": 1_000_000_000}
# Vague plurals: the contract's conventional lower bounds (high stays open).
VAGUE = {"dozens": 24, "scores": 40, "hundreds": 200, "thousands": 2000, "millions": 2_000_000}

MAX_VALUE = 10_000_000_000  # larger "counts" are identifiers or junk, never tolls
NUMBER_WORDS = frozenset(UNITS) | frozenset(TENS) | frozenset(SCALES) | {"dozen"}

# A digit token, separators included. Thousands may be written "1,200", "55, 000" (a stray
# space after the comma, only before 000, another group, the end or a casualty noun, which
# keeps "killed 5, 120 hurt" apart), "4 512" (space or no-break space) or "1.200"
# (continental style).
DIGITS_PATTERN = (
    r"\d{1,3}(?:,(?:\d{3}|\s000(?!\d)|\s\d{3}(?=,\d{3})"
    r"|\s\d{3}(?=\s*$|[.;:)]|\s+(?:people|persons|dead|killed|deaths)\b)))+(?:\.\d+)?(?!\d)"
    r"|\d{1,3}(?:[\u00a0\u202f ]\d{3})+(?![\d,.]\d)"
    r"|\d+(?:\.\d+)?"
)
_EURO_THOUSANDS = re.compile(r"^\d{1,3}(?:\.\d{3})+$")


class Quantity(NamedTuple):
    value: int
    end: int  # index of the first token after the quantity
    kind: str  # "digits" | "words" | "dozen" | "vague"


def digits_value(token: str, scaled: bool = False) -> float | None:
    """Value of a digit token; ``scaled`` when "million"/"thousand" follows ("1.2 million")."""
    raw = token.replace("\u00a0", "").replace("\u202f", "").replace(" ", "")
    if len(raw) > 20:
        return None  # no head count is written with this many digits
    if not scaled and _EURO_THOUSANDS.match(raw):
        return float(raw.replace(".", ""))
    raw = raw.replace(",", "")
    try:
        return float(raw)
    except ValueError:
        return None


def _words_value(tokens: list[str], i: int) -> tuple[int, int] | None:
    """Read number words from ``tokens[i]``: "thirty-two", "sixty two", "two hundred and ten"."""
    total = 0
    current = 0
    j = i
    seen = False
    last_kind = ""
    n = len(tokens)
    while j < n:
        tok = tokens[j]
        parts = tok.split("-") if "-" in tok else [tok]
        if not all(p in UNITS or p in TENS or p in SCALES for p in parts):
            if tok == "and" and seen and last_kind == "scale" and j + 1 < n:
                nxt = tokens[j + 1].split("-")[0]
                if nxt in UNITS or nxt in TENS:
                    j += 1
                    continue
            if tok == "a" and not seen and j + 1 < n and tokens[j + 1] in SCALES:
                current = 1
                seen = True
                last_kind = "unit"
                j += 1
                continue
            break
        ok = True
        for p in parts:
            if p in UNITS:
                if last_kind in ("unit",) or (last_kind == "tens" and UNITS[p] >= 10):
                    ok = False
                    break
                current += UNITS[p]
                last_kind = "unit"
            elif p in TENS:
                if last_kind in ("unit", "tens"):
                    ok = False
                    break
                current += TENS[p]
                last_kind = "tens"
            else:
                if not seen:
                    ok = False
                    break
                scale = SCALES[p]
                if scale == 100:
                    current = (current or 1) * 100
                else:
                    total += (current or 1) * scale
                    current = 0
                last_kind = "scale"
            seen = True
        if not ok:
            break
        j += 1
    if not seen:
        return None
    return total + current, j


def read_quantity(tokens: list[str], i: int) -> Quantity | None:
    """The quantity starting at ``tokens[i]`` (lower-cased tokens), or None."""
    tok = tokens[i]
    n = len(tokens)
    nxt = tokens[i + 1] if i + 1 < n else ""
    if tok[:1].isdigit():
        scale = SCALES.get(nxt) if nxt in ("thousand", "million", "billion") else None
        value = digits_value(tok, scaled=scale is not None)
        if value is None:
            return None
        if value > MAX_VALUE or (scale and value * scale > MAX_VALUE):
            return None
        if scale:
            return Quantity(int(round(value * scale)), i + 2, "digits")
        if value != int(value):
            return None  # a bare decimal ("1.8") is never a head count
        return Quantity(int(value), i + 1, "digits")
    if tok in VAGUE:
        # "tens of thousands", "hundreds of thousands" are one vague quantity.
        return Quantity(VAGUE[tok], i + 1, "vague")
    if tok == "tens" and nxt == "of" and i + 2 < n and tokens[i + 2] in ("thousands", "millions"):
        return Quantity(10 * VAGUE[tokens[i + 2]], i + 3, "vague")
    head = tok.split("-", 1)[0]
    if tok in ("a", "an", "half") or head in UNITS or head in TENS:
        if tok == "half" and nxt == "a" and i + 2 < n and tokens[i + 2] == "dozen":
            return Quantity(6, i + 3, "dozen")
        if tok in ("a", "an") and nxt == "dozen":
            return Quantity(12, i + 2, "dozen")
        words = _words_value(tokens, i)
        if words is None:
            return None
        value, j = words
        if j < n and tokens[j] == "dozen":
            return Quantity(value * 12, j + 1, "dozen")
        if j < n and tokens[j] in ("hundreds", "thousands") and value < 10:
            return None  # "two thousands" is not English; leave it
        return Quantity(value, j, "words")
    if tok == "hundred" or tok == "thousand":
        return None
    return None


_SPLIT = re.compile(DIGITS_PATTERN + r"|[a-z]+(?:-[a-z]+)*|\S")


def parse_number(text: str) -> int | None:
    """Parse a whole number phrase: "1,200", "Sixty two", "1.2 million", "a dozen", "dozens"."""
    tokens = _SPLIT.findall(text.strip().casefold())
    if not tokens:
        return None
    q = read_quantity(tokens, 0)
    if q is None or q.end != len(tokens):
        return None
    return q.value
