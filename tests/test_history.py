"""Change history: per baseline item, per outlet, per article; filters; JSON; one-line errors."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from monitor.db import session_scope
from monitor.errors import ConfigError
from monitor.findings import process_version
from monitor.history import render_history
from monitor.models import Article, ArticleVersion
from monitor.story import load_story

REPO = Path(__file__).resolve().parent.parent
STORY = load_story(REPO / "seeds" / "caracas-raid")
DAY = datetime(2026, 1, 6, 9, 0, tzinfo=UTC)

COVERAGE = [
    # (url, outlet, published, [version texts])
    (
        "https://ledger.example/early",
        "Harbour Ledger",
        DAY,
        [
            "At least 40 people were killed in the US raid on Caracas that seized Maduro, a local "
            "official said."
        ],
    ),
    (
        "https://daily.example/around",
        "Coastline Daily",
        DAY + timedelta(days=1),
        [
            "Around 80 people died in the US raid on Maduro's compound in Caracas, according to "
            "Venezuelan authorities."
        ],
    ),
    (
        "https://ledger.example/edited",
        "Harbour Ledger",
        DAY + timedelta(days=2),
        [
            "The US raid on Caracas that seized Maduro killed at least 80 people, a Venezuelan "
            "official said.",
            "The US raid on Caracas that seized Maduro killed about 75 people, a Venezuelan "
            "official said.",
        ],
    ),
    (
        "https://daily.example/quotes",
        "Coastline Daily",
        DAY + timedelta(days=3),
        [
            "“Cuba is ready to fall. It’s going down for the count,” Secretary of State "
            "Marco Rubio said after the raid in Caracas that captured Maduro."
        ],
    ),
]


@pytest.fixture
def filled(engine, make_config, tmp_path):
    with session_scope(engine) as s:
        for url, outlet, published, texts in COVERAGE:
            a = Article(
                story_key=STORY.key,
                url=url,
                outlet=outlet,
                title=f"{outlet} report",
                published_at=published,
                relevant=True,
            )
            s.add(a)
            s.flush()
            previous = None
            for n, text in enumerate(texts, start=1):
                v = ArticleVersion(
                    article_id=a.id,
                    version=n,
                    text_sha256=f"{a.id}-{n}",
                    text=text,
                    title=a.title,
                    relevant=True,
                    fetched_at=published + timedelta(hours=6 * n),
                )
                s.add(v)
                s.flush()
                process_version(s, STORY, a, v, previous)
                previous = v
    return make_config(tmp_path), engine


def relations_in(block: str) -> list[str]:
    from monitor.compare import RELATIONS

    return [
        next(w for w in ln.split() if w in RELATIONS)
        for ln in block.splitlines()[1:]
        if ln.strip() and "nothing reported" not in ln
    ]


def test_by_item_shows_the_baseline_then_each_report_in_time_order(filled):
    cfg, engine = filled
    out = render_history(cfg, engine, baseline_key="killed:total")
    lines = out.splitlines()
    assert lines[0].startswith("killed:total — baseline: at least 80")
    assert "expected to rise" in lines[0]
    assert relations_in(out) == [
        "contradicts",
        "qualifier_changed",
        "confirms",
        "contradicts",
        "silent_edit",
    ]
    assert "Harbour Ledger" in lines[1] and "at least 40" in lines[1]
    assert "at least 80 → about 75" in lines[5] and "(v2)" in lines[5]


def test_every_baseline_item_shows_even_when_silent(filled):
    cfg, engine = filled
    out = render_history(cfg, engine)
    assert "quote:rubio:2 — baseline: rubio: “incompetent, senile men”\n  (nothing reported)" in out
    assert "quote:trump:2 — baseline" in out and "reattributed" in out


def test_filters_outlet_relation_and_dates(filled):
    cfg, engine = filled
    daily = render_history(cfg, engine, outlet="coastline daily", by="outlet")
    assert daily.startswith("Coastline Daily — 2 findings") and "Harbour" not in daily
    only = render_history(cfg, engine, relation=("contradicts",), baseline_key="killed:total")
    assert relations_in(only) == ["contradicts", "contradicts"]
    window = render_history(
        cfg, engine, baseline_key="killed:total", since="2026-01-07", until="2026-01-07"
    )
    assert relations_in(window) == ["qualifier_changed"]


def test_json_views(filled):
    cfg, engine = filled
    items = json.loads(render_history(cfg, engine, as_json=True))
    assert items["by"] == "item"
    total = next(i for i in items["items"] if i["baseline_key"] == "killed:total")
    assert total["baseline"]["low"] == 80
    assert [f["relation"] for f in total["timeline"]][:2] == ["contradicts", "qualifier_changed"]
    assert set(total["timeline"][0]) >= {"id", "relation", "baseline_key", "article", "sentence"}
    outlets = json.loads(render_history(cfg, engine, by="outlet", as_json=True))
    assert [o["outlet"] for o in outlets["outlets"]] == ["Coastline Daily", "Harbour Ledger"]


def test_one_article_with_its_versions_and_changed_claims(filled):
    cfg, engine = filled
    out = render_history(cfg, engine, article_url="https://ledger.example/edited")
    assert "v1" in out and "v2" in out
    v2 = out[out.index("\nv2") :]
    assert "- killed:total at least 80" in v2 and "+ killed:total about 75" in v2
    assert "= silent_edit" in v2
    data = json.loads(
        render_history(cfg, engine, article_url="https://ledger.example/edited", as_json=True)
    )
    assert [v["version"] for v in data["versions"]] == [1, 2]
    assert data["versions"][1]["removed"][0]["low"] == 80
    assert {f["relation"] for f in data["versions"][1]["findings"]} == {
        "contradicts",
        "silent_edit",
    }


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"since": "last week"}, "^--since: 'last week' is not an ISO date"),
        ({"until": "2026-13-40"}, "^--until:"),
        ({"relation": ("disputes",)}, "^--relation: 'disputes' is not a relation"),
        ({"baseline_key": "killed:aliens"}, "^--item: 'killed:aliens' is not a baseline item"),
        ({"article_url": "https://nowhere.example/x"}, "^--article: no article"),
    ],
)
def test_bad_options_are_one_line_errors(filled, options, message):
    cfg, engine = filled
    with pytest.raises(ConfigError, match=message) as err:
        render_history(cfg, engine, **options)
    assert "\n" not in str(err.value)


def test_cli_history_passes_its_options(filled):
    from click.testing import CliRunner

    from monitor.cli import cli

    cfg, _engine = filled
    result = CliRunner().invoke(
        cli,
        [
            "--config",
            str(cfg.path),
            "history",
            "--item",
            "killed:total",
            "--outlet",
            "ledger",
            "--relation",
            "contradicts",
            "--json",
        ],
    )
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert [len(i["timeline"]) for i in data["items"]] == [2]


def test_article_url_is_found_with_tracking_parameters(filled):
    cfg, engine = filled
    out = render_history(cfg, engine, article_url="https://ledger.example/edited?utm_source=rss")
    assert "v2" in out
