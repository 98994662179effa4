"""Precision, recall and speed of the relevance checks on the labelled set (and real feeds).

Run: python benchmarks/relevance_quality.py
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from pathlib import Path

from monitor.relevance import (
    RelevanceResult,
    article_relevance,
    entry_relevance,
    sentence_on_story,
    split_sentences,
)
from monitor.story import Story, story_for

ROOT = Path(__file__).resolve().parent.parent
ITEMS = ROOT / "tests" / "data" / "relevance_items.jsonl"
REPEAT = 20


def _quality(items: list[dict], check: Callable[[dict], RelevanceResult]) -> tuple[float, float]:
    tp = fp = fn = 0
    for item in items:
        kept = check(item).relevant
        tp += kept and item["on_story"]
        fp += kept and not item["on_story"]
        fn += not kept and item["on_story"]
    return tp / max(1, tp + fp), tp / max(1, tp + fn)


def _rate(items: list[dict], check: Callable[[dict], RelevanceResult]) -> float:
    start = time.perf_counter()
    for _ in range(REPEAT):
        for item in items:
            check(item)
    return REPEAT * len(items) / (time.perf_counter() - start)


def _real_feeds(story: Story) -> None:
    folder = next(
        (
            base / "feeds" / "good"
            for base in (ROOT.parent / "shared" / "realdata",)
            if (base / "feeds" / "good").is_dir()
        ),
        None,
    )
    if folder is None:
        print("real feeds: not available")
        return
    import feedparser

    total = lenient = strict = 0
    start = time.perf_counter()
    for path in sorted(p for p in folder.iterdir() if p.is_file()):
        for entry in feedparser.parse(str(path)).entries:
            title, summary = entry.get("title", "") or "", entry.get("summary", "") or ""
            content = " ".join(c.get("value", "") for c in entry.get("content", []) or [])
            total += 1
            lenient += entry_relevance(title, summary, story).relevant
            strict += article_relevance(title, f"{summary}\n{content}", story).relevant
    elapsed = time.perf_counter() - start
    print(
        f"real feeds ({total} entries, none on this story): lenient kept {lenient} "
        f"({lenient / max(1, total):.1%}), strict kept {strict}; "
        f"{total / elapsed:.0f} entries/s for both checks incl. parsing"
    )


def main() -> None:
    story = story_for(ROOT / "seeds" / "caracas-raid")
    items = [json.loads(line) for line in ITEMS.read_text(encoding="utf-8").splitlines()]
    on = sum(i["on_story"] for i in items)
    print(f"labelled set: {len(items)} items ({on} on story, {len(items) - on} off story)")

    def entry(i: dict) -> RelevanceResult:
        return entry_relevance(i["title"], i["summary"], story)

    def article(i: dict) -> RelevanceResult:
        return article_relevance(i["title"], i["text"], story)

    for name, check in (("entry (lenient)", entry), ("article (strict)", article)):
        precision, recall = _quality(items, check)
        print(
            f"{name:17} precision {precision:.3f}  recall {recall:.3f}  "
            f"{_rate(items, check):,.0f} items/s"
        )

    sentences = [s for i in items for s in split_sentences(i["text"])]
    start = time.perf_counter()
    for _ in range(REPEAT):
        for s in sentences:
            sentence_on_story(s, story)
    rate = REPEAT * len(sentences) / (time.perf_counter() - start)
    print(f"sentence_on_story {rate:,.0f} sentences/s")
    seed = story.seed_text
    start = time.perf_counter()
    for _ in range(REPEAT):
        article_relevance("", seed, story)
    print(f"article check on the seed: {REPEAT / (time.perf_counter() - start):,.0f} articles/s")
    _real_feeds(story)


if __name__ == "__main__":
    main()
