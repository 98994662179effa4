"""Figure extraction: the case table, number parsing, the seed article and the contract shape."""

from __future__ import annotations

import glob
import os
from pathlib import Path

import pytest
from figure_table import key, load_cases, match  # noqa: I001 (tests/ is on sys.path)

from monitor.extract import extract
from monitor.figures import extract_figures, split_sentences
from monitor.numbers import parse_number
from monitor.story import story_for

ROOT = Path(__file__).resolve().parent.parent
SEED = ROOT / "seeds" / "caracas-raid" / "article.txt"
STORY = story_for(ROOT / "seeds" / "caracas-raid")
CASES = load_cases()
FIELDS = {
    "type", "metric", "low", "high", "qualifier", "group", "group_key", "attribution",
    "previous", "sentence", "start", "end",
}  # fmt: skip


def _param(case: dict, i: int):
    marks = [pytest.mark.xfail(strict=True, reason="known hard case")] if case["xfail"] else []
    return pytest.param(case, id=f"{i:03d}-{case['tag']}", marks=marks)


@pytest.mark.parametrize("case", [_param(c, i) for i, c in enumerate(CASES)])
def test_case_table(case: dict) -> None:
    found = extract_figures(case["sentence"], STORY)
    pairs, missed, spurious = match(case["expected"], found)
    assert not missed, f"missed {missed}; found {[key(f) for f in found]}"
    assert not spurious, f"spurious {[key(f) for f in spurious]}"
    for expected, got in pairs:
        assert got["qualifier"] == expected["qualifier"]
        if "group_key" in expected:
            assert got["group_key"] == expected["group_key"], got["group"]
        assert got["previous"] == expected.get("previous")


def test_table_size_and_negatives() -> None:
    assert len(CASES) >= 300
    assert sum(1 for c in CASES if not c["expected"]) >= 80
    assert sum(1 for c in CASES if c["xfail"]) <= 15


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("1,200", 1200),
        ("55, 000", 55000),
        ("4 512", 4512),
        ("1.2 million", 1_200_000),
        ("thirty-two", 32),
        ("Sixty two", 62),
        ("Two hundred and ten", 210),
        ("a dozen", 12),
        ("two dozen", 24),
        ("dozens", 24),
        ("scores", 40),
        ("hundreds", 200),
        ("thousands", 2000),
        ("tens of thousands", 20000),
        ("Forty", 40),
        ("a hundred", 100),
        ("one thousand two hundred", 1200),
        ("1.500", 1500),
        ("several", None),
        ("many", None),
        ("123," * 40, None),
    ],
)
def test_parse_number(text: str, value: int | None) -> None:
    assert parse_number(text) == value


def test_seed_article_baseline_figures() -> None:
    text = SEED.read_text(encoding="utf-8")
    figures = [c for c in extract(text, STORY) if c["type"] == "figure"]
    cuban = [f for f in figures if f["group_key"] == "cuban_personnel"]
    assert len(cuban) == 1
    c = cuban[0]
    assert (c["metric"], c["low"], c["high"], c["qualifier"]) == ("killed", 32, 32, "exact")
    assert "cuban government" in (c["attribution"] or "").lower()
    total = [f for f in figures if f["group_key"] == "total"]
    assert len(total) == 1
    t = total[0]
    assert (t["metric"], t["low"], t["high"], t["qualifier"]) == ("killed", 80, None, "at_least")
    assert t["attribution"] == "The New York Times, citing an unnamed Venezuelan official"
    values = {f["low"] for f in figures}
    assert not values & {1962, 2, 6}, "years, 'two days' and 'six decades' are not figures"
    assert len(figures) == 2


def test_contract_shape_and_offsets() -> None:
    text = SEED.read_text(encoding="utf-8")
    for fig in extract_figures(text, STORY):
        assert set(fig) == FIELDS
        assert fig["type"] == "figure"
        span = text[fig["start"] : fig["end"]]
        assert span and span in fig["sentence"]
        s_at = text.find(fig["sentence"])
        assert s_at <= fig["start"] and fig["end"] <= s_at + len(fig["sentence"])
        assert str(fig["low"]) in span.replace(",", "") or fig["qualifier"] != "exact"


def test_offsets_point_into_original_text_with_prefix() -> None:
    text = "Intro line\n\nOfficials said 14 soldiers died. Later, 3 more were hurt."
    figs = extract_figures(text, STORY)
    assert [(f["metric"], f["low"]) for f in figs] == [("killed", 14), ("injured", 3)]
    assert text[figs[0]["start"] : figs[0]["end"]].startswith("14 soldiers")
    assert text[figs[1]["start"] : figs[1]["end"]].startswith("3")


def test_extract_sorts_and_accepts_story_forms() -> None:
    text = "Police said 5 people were arrested. Earlier, 12 people were killed."
    by_default = extract(text)
    by_path = extract(text, ROOT / "seeds" / "caracas-raid")
    by_key = extract(text, "caracas-raid")
    assert by_default == by_path == by_key
    starts = [c["start"] for c in by_default]
    assert starts == sorted(starts)


def test_revision_single_figure_with_previous() -> None:
    figs = extract_figures("The toll rose to 45 from 32 on Sunday.", STORY)
    assert [(f["low"], f["previous"]) for f in figs] == [(45, 32)]


def test_attribution_shapes() -> None:
    def attr(sentence: str) -> str | None:
        return extract_figures(sentence, STORY)[0]["attribution"]

    assert attr("According to the health ministry, 58 people died.") == "the health ministry"
    assert attr("Fourteen people were killed, police said.") == "police"
    minister = "Venezuela's defence minister"
    assert attr(f"{minister} put the toll at 83.") == minister
    assert attr("Thirty died in the stampede.") is None


def test_group_keys_follow_story_aliases() -> None:
    figs = extract_figures(
        "The raid killed 47 soldiers, 32 Cubans and 6 civilians; 7 US troops were injured.", STORY
    )
    keys = {(f["metric"], f["low"]): f["group_key"] for f in figs}
    assert keys == {
        ("killed", 47): "venezuelan_military",
        ("killed", 32): "cuban_personnel",
        ("killed", 6): "venezuelan_civilians",
        ("injured", 7): "us_forces",
    }
    other = extract_figures("Two journalists were killed.", STORY)[0]
    assert other["group"] == "journalists" and other["group_key"] == "other"
    implicit = extract_figures("The blast killed 26.", STORY)[0]
    assert implicit["group"] == "people" and implicit["group_key"] == "total"


def test_sentence_splitter_keeps_abbreviations_and_breaks() -> None:
    text = "U.S. officials met Dr. Smith on Jan. 5 in Caracas. The toll\nrose again.\nHeadline Here"
    parts = [text[s:e] for s, e in split_sentences(text)]
    assert parts == [
        "U.S. officials met Dr. Smith on Jan. 5 in Caracas.",
        "The toll\nrose again.",
        "Headline Here",
    ]


def _realdata() -> Path | None:
    for candidate in (ROOT.parent / "shared" / "realdata",):
        if (candidate / "pages").is_dir():
            return candidate
    return None


@pytest.mark.skipif(_realdata() is None, reason="realdata folder not present")
def test_real_pages_run_clean() -> None:
    trafilatura = pytest.importorskip("trafilatura")
    pages = sorted(glob.glob(os.path.join(_realdata(), "pages", "*.html")))
    seen = 0
    for page in pages:
        if page.endswith(".expected.html"):
            continue
        html = Path(page).read_text(encoding="utf-8", errors="replace")
        text = trafilatura.extract(html, favor_recall=True) or ""
        for fig in extract_figures(text, STORY):
            seen += 1
            assert text[fig["start"] : fig["end"]] in fig["sentence"]
            assert fig["low"] is not None and fig["low"] >= 1
            assert fig["high"] is None or fig["high"] >= fig["low"]
            assert fig["low"] < 10**9
    assert seen > 0


def test_word_salad_never_breaks_invariants() -> None:
    """Shuffled words from the table (cut short, odd separators): no exception, and every
    figure keeps its contract invariants."""
    import random

    rng = random.Random(20260105)
    words = " ".join(c["sentence"] for c in CASES).split()
    for _ in range(3000):
        text = " ".join(rng.choice(words) for _ in range(rng.randint(0, 30)))
        if rng.random() < 0.3:
            text = text.replace(" ", rng.choice(["\n", ",", " , ", "  ", "."]))
        if rng.random() < 0.2:
            text = text[: rng.randint(0, len(text))]
        for fig in extract_figures(text, STORY):
            assert text[fig["start"] : fig["end"]] in fig["sentence"]
            assert fig["low"] >= 1
            assert fig["high"] is None or fig["high"] >= fig["low"]
            assert fig["metric"] in ("killed", "injured", "missing", "detained")


@pytest.mark.parametrize(
    "text", ["", "   ", "1", "killed", "at least", "between 5 and", "[", "\n\n"]
)
def test_degenerate_inputs(text: str) -> None:
    assert extract_figures(text, STORY) == []
