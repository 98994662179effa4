"""Shared loader for the figure case table (used by the tests and the quality benchmark)."""

from __future__ import annotations

import importlib.util
from pathlib import Path

TABLE = Path(__file__).resolve().parent / "data" / "figure_cases.py"


def load_cases() -> list[dict]:
    spec = importlib.util.spec_from_file_location("figure_cases", TABLE)
    module = importlib.util.module_from_spec(spec)
    assert spec.loader is not None
    spec.loader.exec_module(module)
    cases = []
    for row in module.CASES:
        tag, sentence, expected = row[0], row[1], row[2]
        xfail = len(row) > 3 and row[3] == "xfail"
        cases.append(
            {
                "tag": tag,
                "sentence": sentence,
                "expected": [parse_spec(e) for e in expected],
                "xfail": xfail,
            }
        )
    return cases


def parse_spec(spec: str) -> dict:
    parts = spec.split()
    metric, low, high, qualifier = parts[:4]
    fig = {
        "metric": metric,
        "low": int(low),
        "high": None if high == "-" else int(high),
        "qualifier": qualifier,
    }
    for extra in parts[4:]:
        key, _, value = extra.partition("=")
        if key == "g":
            fig["group_key"] = value
        elif key == "p":
            fig["previous"] = int(value)
    return fig


def key(fig: dict) -> tuple:
    return (fig["metric"], fig["low"], fig["high"])


def match(expected: list[dict], found: list[dict]) -> tuple[list, list, list]:
    """Pair expected and found figures on (metric, low, high): (pairs, missed, spurious)."""
    left = list(found)
    pairs, missed = [], []
    for e in expected:
        hit = next((f for f in left if key(f) == key(e)), None)
        if hit is None:
            missed.append(e)
        else:
            left.remove(hit)
            pairs.append((e, hit))
    return pairs, missed, left
