"""How a figure's hedge reads in words, for every place that shows one (terminal, file, email)."""

from __future__ import annotations


def hedge_text(qualifier: str | None, low: int | None, high: int | None) -> str:
    """'exactly 32', 'at least 80', 'more than 100', '20–30', 'a vague number (24 or more)'.

    ``more_than`` and ``fewer_than`` store the first value inside the bound (101 for "more than
    100"), so the words give back the number as printed.
    """
    q = qualifier or "exact"
    words = {
        "exact": f"exactly {low}",
        "at_least": f"at least {low}",
        "more_than": f"more than {low - 1 if isinstance(low, int) else low}",
        "about": f"about {low}",
        "up_to": f"up to {high}",
        "at_most": f"at most {high}",
        "fewer_than": f"fewer than {high + 1 if isinstance(high, int) else high}",
        "range": f"{low}–{high}",
        "vague": f"a vague number ({low} or more)",
    }
    if q in words:
        return words[q]
    return f"{low}" + (f"–{high}" if high not in (None, low) else "")
