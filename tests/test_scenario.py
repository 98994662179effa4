"""Scenario: invented follow-up coverage of the seed story flows through the real poll cycle,
from a loopback HTTP server into findings; each expected relation, and no other, comes out.

The coverage (tests/fixtures/scenario/, see its README) is modelled on how real follow-ups read:
"at least 32 Cuban officers" (twice, as wire copy), "around 80 dead", another translation of the
Cuban statement, Trump's words credited to Rubio, a toll revised to 83, an early "at least 40",
an outlet silently editing its number, and an off-story earthquake.
"""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path

import pytest
from click.testing import CliRunner
from sqlmodel import Session

from monitor import clock
from monitor.cli import cli
from monitor.compare import RELATIONS
from monitor.findings import query_findings

FIXTURES = Path(__file__).resolve().parent / "fixtures" / "scenario"
PAGES = {
    "/news/officers.html": "officers.html",
    "/news/officers-wire.html": "officers_daily.html",
    "/news/translation.html": "translation.html",
    "/news/trump-rubio.html": "trump_rubio.html",
    "/news/toll-revised.html": "toll_revised.html",
    "/news/around-80.html": "around80.html",
    "/news/early40.html": "early40.html",
    "/news/edited.html": "edited_v1.html",
    "/news/quake.html": "quake.html",
}

# (page, relation, baseline_key): everything the coverage should produce, and nothing else.
EXPECTED = {
    ("officers", "qualifier_changed", "killed:cuban_personnel"),
    ("officers-wire", "qualifier_changed", "killed:cuban_personnel"),
    ("translation", "reworded", "quote:cuban_government:1"),
    ("translation", "reattributed", "quote:cuban_government:2"),
    ("trump-rubio", "reattributed", "quote:trump:2"),
    ("trump-rubio", "confirms", "quote:trump:1"),
    ("trump-rubio", "new_statement", None),
    ("toll-revised", "updated", "killed:total"),
    ("toll-revised", "new_figure", "killed:venezuelan_military"),
    ("toll-revised", "confirms", "killed:cuban_personnel"),
    ("around-80", "qualifier_changed", "killed:total"),
    ("early40", "contradicts", "killed:total"),
    ("edited", "confirms", "killed:total"),
    ("edited", "confirms", "killed:cuban_personnel"),
    # The second fetch of the edited page: version 2.
    ("edited", "contradicts", "killed:total"),
    ("edited", "silent_edit", "killed:total"),
}


def serve(loopback, path: str, name: str) -> None:
    body = (FIXTURES / name).read_text(encoding="utf-8").replace("{BASE}", loopback.base_url)
    ctype = "application/rss+xml" if name.endswith(".xml") else "text/html; charset=utf-8"
    loopback.set(path, body.encode("utf-8"), content_type=ctype)


@pytest.fixture
def scenario(loopback, make_config, tmp_path):
    serve(loopback, "/ledger.xml", "ledger.xml")
    serve(loopback, "/daily.xml", "daily.xml")
    for path, name in PAGES.items():
        serve(loopback, path, name)
    cfg = make_config(
        tmp_path,
        feeds=[
            {"url": loopback.url("/ledger.xml"), "name": "Harbour Ledger"},
            {"url": loopback.url("/daily.xml"), "name": "Coastline Daily"},
        ],
    )
    runner = CliRunner()
    invoke = lambda *args: runner.invoke(cli, ["--config", str(cfg.path), *args])  # noqa: E731
    result = invoke("init")
    assert result.exit_code == 0, result.output
    try:
        yield cfg, invoke
    finally:
        clock.set_now(None)


def relation_in(line: str) -> str:
    return next(word for word in line.split() if word in RELATIONS)


def page_of(url: str) -> str:
    return url.rsplit("/", 1)[-1].removesuffix(".html")


def run_both_cycles(loopback, invoke):
    first = invoke("poll", "--once", "--no-progress")
    assert first.exit_code == 0, first.output
    # The outlet edits its number without a note; the scheduled re-fetch catches it.
    serve(loopback, "/news/edited.html", "edited_v2.html")
    clock.set_now(clock.utcnow() + timedelta(hours=2))
    second = invoke("poll", "--once", "--no-progress")
    assert second.exit_code == 0, second.output


def test_coverage_flows_into_exactly_the_expected_findings(scenario, loopback, engine):
    cfg, invoke = scenario
    run_both_cycles(loopback, invoke)
    result = invoke("findings", "--json")
    assert result.exit_code == 0, result.output
    found = [json.loads(line) for line in result.output.splitlines() if line.strip()]
    got = {(page_of(f["article"]["url"]), f["relation"], f["baseline_key"]) for f in found}
    assert got == EXPECTED
    # One finding per observation per article version: no duplicates at all.
    assert len(found) == len(EXPECTED)
    # Nothing from the off-story article, nor from the 1989 Panama toll in passing.
    assert not any("quake" in f["article"]["url"] for f in found)
    assert not any("Panama" in f["sentence"] for f in found)


def test_scenario_details(scenario, loopback, engine):
    cfg, invoke = scenario
    run_both_cycles(loopback, invoke)
    found = [json.loads(x) for x in invoke("findings", "--json").output.splitlines()]
    by = {(page_of(f["article"]["url"]), f["relation"], f["article"]["version"]): f for f in found}

    updated = by[("toll-revised", "updated", 1)]
    assert updated["observed"]["low"] == 83 and updated["baseline"]["low"] == 80
    assert updated["article"]["outlet"] == "Harbour Ledger"
    assert updated["article"]["published_at"] == "2026-01-15T16:00:00Z"

    reworded = by[("translation", "reworded", 1)]
    assert "{+honour+}" in reworded["observed"]["diff"]
    assert by[("trump-rubio", "reattributed", 1)]["observed"]["speaker_key"] == "rubio"
    assert by[("translation", "reattributed", 1)]["observed"]["speaker_key"] == "diaz_canel"

    edit = by[("edited", "silent_edit", 2)]
    assert edit["observed"]["previous_version"]["low"] == 80
    assert (edit["observed"]["low"], edit["observed"]["qualifier"]) == (75, "about")
    assert by[("edited", "contradicts", 2)]["article"]["version"] == 2

    wire = by[("officers", "qualifier_changed", 1)]
    assert wire["syndicated_with"] == ["Coastline Daily"]
    assert by[("officers-wire", "qualifier_changed", 1)]["syndicated_with"] == ["Harbour Ledger"]


def test_history_of_the_scenario(scenario, loopback, engine):
    cfg, invoke = scenario
    run_both_cycles(loopback, invoke)
    out = invoke("history", "--item", "killed:total")
    assert out.exit_code == 0, out.output
    lines = out.output.splitlines()
    assert lines[0].startswith("killed:total — baseline: at least 80")
    # In publication order; the silent edit is dated when the edited version was fetched.
    timeline = [relation_in(ln) for ln in lines[1:] if ln.strip()]
    assert timeline == [
        "confirms",
        "contradicts",
        "qualifier_changed",
        "updated",
        "contradicts",
        "silent_edit",
    ]
    assert "83" in lines[4] and "Harbour Ledger" in lines[4]
    daily = invoke(
        "history", "--by", "outlet", "--outlet", "coastline", "--relation", "silent_edit", "--json"
    )
    assert daily.exit_code == 0, daily.output
    data = json.loads(daily.output)
    assert [o["outlet"] for o in data["outlets"]] == ["Coastline Daily"]
    assert [f["relation"] for f in data["outlets"][0]["timeline"]] == ["silent_edit"]
    early = invoke("history", "--until", "2026-01-06", "--item", "killed:total")
    assert [relation_in(ln) for ln in early.output.splitlines()[1:]] == ["confirms", "contradicts"]
    article = invoke("history", "--article", loopback.url("/news/edited.html"))
    assert article.exit_code == 0, article.output
    assert "v2" in article.output and "- killed:total at least 80" in article.output
    assert "+ killed:total about 75" in article.output
    with Session(engine) as s:
        assert {f.relation for f, _a, _v in query_findings(s, "caracas-raid")} >= {"silent_edit"}
