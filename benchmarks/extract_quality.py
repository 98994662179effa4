"""Quality of the figure extractor on the case table: precision, recall and F1 per tag.

A found figure matches an expected one when metric, low and high are all right; qualifier
accuracy is measured on the matches. Cases marked xfail in the table are scored like any
other (they count as failures here). Run: python benchmarks/extract_quality.py
"""

from __future__ import annotations

import sys
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]

from figure_table import load_cases, match  # noqa: E402

from monitor.figures import extract_figures  # noqa: E402
from monitor.story import story_for  # noqa: E402


def _prf(tp: int, fp: int, fn: int) -> tuple[float, float, float]:
    p = tp / (tp + fp) if tp + fp else 1.0
    r = tp / (tp + fn) if tp + fn else 1.0
    f = 2 * p * r / (p + r) if p + r else 0.0
    return p, r, f


def main() -> int:
    story = story_for(ROOT / "seeds" / "caracas-raid")
    cases = load_cases()
    stats: dict[str, list[int]] = defaultdict(lambda: [0, 0, 0, 0, 0])  # tp fp fn qual_ok cases
    failures = []
    for case in cases:
        found = extract_figures(case["sentence"], story)
        pairs, missed, spurious = match(case["expected"], found)
        qual_ok = sum(1 for e, f in pairs if e["qualifier"] == f["qualifier"])
        for tag in (case["tag"], "ALL"):
            s = stats[tag]
            s[0] += len(pairs)
            s[1] += len(spurious)
            s[2] += len(missed)
            s[3] += qual_ok
            s[4] += 1
        if missed or spurious or qual_ok < len(pairs):
            failures.append((case, missed, spurious))
    print(
        f"{'tag':<24}{'cases':>6}{'tp':>6}{'fp':>5}{'fn':>5}{'prec':>7}{'rec':>7}{'f1':>7}"
        f"{'qual':>7}"
    )
    for tag in sorted(stats, key=lambda t: (t == "ALL", t)):
        tp, fp, fn, qok, n = stats[tag]
        p, r, f = _prf(tp, fp, fn)
        q = qok / tp if tp else 1.0
        print(f"{tag:<24}{n:>6}{tp:>6}{fp:>5}{fn:>5}{p:>7.3f}{r:>7.3f}{f:>7.3f}{q:>7.3f}")
    xfails = sum(1 for c in cases if c["xfail"])
    print(
        f"\n{len(cases)} cases, {sum(1 for c in cases if not c['expected'])} hard negatives, "
        f"{xfails} marked xfail, {len(failures)} failing"
    )
    for case, missed, spurious in failures:
        mark = " [xfail]" if case["xfail"] else ""
        print(f"  FAIL{mark} {case['tag']}: {case['sentence']}")
        for e in missed:
            print(f"      missed   {e}")
        for f in spurious:
            print(f"      spurious {f['metric']} {f['low']}-{f['high']} {f['qualifier']}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
