"""Precision and recall of the statement extractor on our own cases, plus its speed.

A hit is a statement whose speaker_key and quote (normalised: case, punctuation and quote
marks aside) both match an expected one. Run: ``python benchmarks/statement_quality.py``
(``-v`` lists the misses).
"""

from __future__ import annotations

import json
import sys
import time
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from monitor.quotes import normalise_quote  # noqa: E402
from monitor.statements import extract_statements  # noqa: E402
from monitor.story import load_story  # noqa: E402

CASES = ROOT / "tests" / "data" / "statement_cases.jsonl"


def _pairs(items: list[dict]) -> Counter:
    return Counter((d["speaker_key"], normalise_quote(d["quote"])) for d in items)


def main(verbose: bool = False) -> None:
    story = load_story(ROOT / "seeds" / "caracas-raid")
    cases = [json.loads(line) for line in CASES.read_text(encoding="utf-8").splitlines() if line]
    tp = fp = fn = 0
    for case in cases:
        got = _pairs(extract_statements(case["text"], story))
        want = _pairs(case["expect"])
        hit = sum((got & want).values())
        tp, fp, fn = tp + hit, fp + sum(got.values()) - hit, fn + sum(want.values()) - hit
        if verbose and got != want:
            print(f"{case['id']}: got {sorted(got)} want {sorted(want)}")
    precision = tp / (tp + fp) if tp + fp else 1.0
    recall = tp / (tp + fn) if tp + fn else 1.0
    print(f"cases {len(cases)}  statements expected {tp + fn}  found {tp + fp}  correct {tp}")
    print(f"precision {precision:.3f}  recall {recall:.3f}")

    # Speed on a synthetic 1,000-word article made of the seed repeated.
    seed = story.seed_text
    words = seed.split()
    article = seed * max(1, round(1000 / len(words)))
    n = 200
    t0 = time.perf_counter()
    for _ in range(n):
        extract_statements(article, story)
    rate = n / (time.perf_counter() - t0)
    print(f"speed {rate:.0f} articles/s of ~{len(article.split())} words (need >= 300)")

    # Scaling on a hostile page: one paragraph, no full stops, thousands of stray marks.
    unit = "He said \"no and she didn't ' go ‘ there’s Cuba’s “ x ” « y "
    times = {}
    for reps in (500, 4000):
        t0 = time.perf_counter()
        extract_statements(unit * reps, story)
        times[reps] = time.perf_counter() - t0
    ratio = times[4000] / times[500]
    print(f"hostile page: 8x the text takes {ratio:.1f}x the time (linear is 8)")


if __name__ == "__main__":
    main("-v" in sys.argv)
