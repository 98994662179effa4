"""Findings storage: one finding per observation per version, append-only, contract JSON."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, select

from monitor.db import session_scope
from monitor.errors import ConfigError
from monitor.findings import (
    finding_json,
    findings_lines,
    process_version,
    query_findings,
    wire_groups,
)
from monitor.models import Article, ArticleVersion, Claim, Finding
from monitor.story import load_story

REPO = Path(__file__).resolve().parent.parent
STORY = load_story(REPO / "seeds" / "caracas-raid")
PUBLISHED = datetime(2026, 1, 7, 9, 30, tzinfo=UTC)

TEXT = """Cuba mourns officers killed in the Caracas raid
HAVANA — At least 32 Cuban officers were killed in the US raid that captured Nicolás Maduro in \
Caracas, the Cuban government said.
At least 32 Cuban officers died in the operation, officials in Havana repeated on Tuesday.
“Our compatriots carried out their duty with honour and courage,” the Cuban government said.
In 2010, an earthquake in Haiti killed more than 200,000 people.
"""

CONTRACT_KEYS = {
    "id",
    "relation",
    "baseline_key",
    "baseline",
    "observed",
    "article",
    "sentence",
    "found_at",
}
ARTICLE_KEYS = {"url", "outlet", "title", "published_at", "version"}


def add_article(s: Session, url: str, outlet: str, relevant: bool = True) -> Article:
    a = Article(
        story_key=STORY.key,
        url=url,
        outlet=outlet,
        title=f"{outlet} story",
        published_at=PUBLISHED,
        relevant=relevant,
    )
    s.add(a)
    s.flush()
    return a


def add_version(s: Session, a: Article, n: int, text: str, relevant: bool = True):
    v = ArticleVersion(
        article_id=a.id,
        version=n,
        text_sha256=f"{a.id}-{n}",
        text=text,
        title=a.title,
        fetched_at=PUBLISHED,
        relevant=relevant,
    )
    s.add(v)
    s.flush()
    return v


def relations(found) -> list[tuple[str, str | None]]:
    return sorted((f.relation, f.baseline_key) for f in found)


def test_one_finding_per_observation_and_a_retry_adds_nothing(engine) -> None:
    with session_scope(engine) as s:
        a = add_article(s, "https://wire.example/a", "Wire")
        v = add_version(s, a, 1, TEXT)
        found = process_version(s, STORY, a, v, None)
        # The 32 is printed twice: one finding. The Haiti toll is another event: none.
        assert relations(found) == [
            ("qualifier_changed", "killed:cuban_personnel"),
            ("reworded", "quote:cuban_government:1"),
        ]
        assert process_version(s, STORY, a, v, None) == []
        assert len(s.exec(select(Finding)).all()) == 2
        claims = s.exec(select(Claim).where(Claim.version_id == v.id)).all()
        haiti = [c for c in claims if "Haiti" in c.sentence]
        assert haiti and not any(c.on_story for c in haiti)


def test_the_database_refuses_a_duplicate_key_for_one_version(engine) -> None:
    with session_scope(engine) as s:
        a = add_article(s, "https://wire.example/b", "Wire")
        v = add_version(s, a, 1, TEXT)
        (f, _) = process_version(s, STORY, a, v, None)
        fields = f.model_dump(exclude={"id"})
    with pytest.raises(IntegrityError), session_scope(engine) as s:
        s.add(Finding(**fields))


def test_findings_are_append_only_history(engine) -> None:
    with session_scope(engine) as s:
        a = add_article(s, "https://wire.example/c", "Wire")
        v1 = add_version(s, a, 1, TEXT)
        first = {f.id: f.model_dump() for f in process_version(s, STORY, a, v1, None)}
        edited = TEXT.replace("At least 32 Cuban officers were", "At least 34 Cuban officers were")
        v2 = add_version(s, a, 2, edited)
        second = process_version(s, STORY, a, v2, v1)
        # v2 repeats none of v1's findings; it adds what changed.
        assert relations(second) == [
            ("contradicts", "killed:cuban_personnel"),
            ("silent_edit", "killed:cuban_personnel"),
        ]
        edit = next(f for f in second if f.relation == "silent_edit")
        assert edit.observed["previous_version"]["low"] == 32 and edit.observed["low"] == 34
    with Session(engine) as s:
        for fid, before in first.items():
            assert s.get(Finding, fid).model_dump() == before


def test_every_finding_keeps_its_provenance(engine) -> None:
    with session_scope(engine) as s:
        a = add_article(s, "https://wire.example/d", "Wire")
        v = add_version(s, a, 1, TEXT)
        process_version(s, STORY, a, v, None)
    with Session(engine) as s:
        for f, art, ver in query_findings(s, STORY.key):
            assert (f.article_id, f.version_id) == (art.id, ver.id)
            assert art.outlet == "Wire" and art.published_at == PUBLISHED
            assert f.sentence and f.sentence in ver.text
            assert f.found_at is not None and f.claim_id is not None


def test_off_story_articles_and_versions_give_no_findings(engine) -> None:
    with session_scope(engine) as s:
        a = add_article(s, "https://elsewhere.example/e", "Elsewhere", relevant=False)
        assert process_version(s, STORY, a, add_version(s, a, 1, TEXT, relevant=False)) == []
        b = add_article(s, "https://elsewhere.example/f", "Elsewhere")
        assert process_version(s, STORY, b, add_version(s, b, 1, TEXT, relevant=False)) == []
        quake = "An earthquake in Haiti in 2010 killed more than 200,000 people, officials said."
        c = add_article(s, "https://elsewhere.example/g", "Elsewhere")
        assert process_version(s, STORY, c, add_version(s, c, 1, quake)) == []


def test_contract_json_fields_exactly(engine, make_config, tmp_path) -> None:
    with session_scope(engine) as s:
        a = add_article(s, "https://wire.example/h", "Wire")
        v = add_version(s, a, 1, TEXT)
        process_version(s, STORY, a, v, None)
    cfg = make_config(tmp_path)
    lines = findings_lines(cfg, engine, as_json=True)
    assert len(lines) == 2
    for line in lines:
        obj = json.loads(line)
        assert set(obj) == CONTRACT_KEYS
        assert set(obj["article"]) == ARTICLE_KEYS
        assert obj["article"]["published_at"] == "2026-01-07T09:30:00Z"
        assert obj["article"]["version"] == 1 and obj["found_at"].endswith("Z")
        assert isinstance(obj["id"], int)
    fig = next(json.loads(x) for x in lines if json.loads(x)["baseline_key"].startswith("killed"))
    assert set(fig["baseline"]) >= {"low", "high", "qualifier"}
    assert set(fig["observed"]) >= {
        "metric",
        "group_key",
        "low",
        "high",
        "qualifier",
        "attribution",
    }
    quote = next(json.loads(x) for x in lines if json.loads(x)["baseline_key"].startswith("quote"))
    assert set(quote["baseline"]) == {"speaker_key", "quote"}
    assert {"speaker_key", "quote", "diff"} <= set(quote["observed"])


def test_finding_json_of_a_stored_row(engine) -> None:
    with session_scope(engine) as s:
        a = add_article(s, "https://wire.example/i", "Wire")
        v = add_version(s, a, 1, TEXT)
        f = process_version(s, STORY, a, v, None)[0]
        obj = finding_json(f, a, v)
        assert obj["article"] == {
            "url": "https://wire.example/i",
            "outlet": "Wire",
            "title": "Wire story",
            "published_at": "2026-01-07T09:30:00Z",
            "version": 1,
        }


def test_filters_and_their_errors(engine, make_config, tmp_path) -> None:
    with session_scope(engine) as s:
        for outlet in ("Wire", "Daily"):
            a = add_article(s, f"https://{outlet.lower()}.example/j", outlet)
            process_version(s, STORY, a, add_version(s, a, 1, TEXT), None)
    cfg = make_config(tmp_path)
    only = findings_lines(cfg, engine, as_json=True, relations=["reworded"], outlet="daily")
    assert [json.loads(x)["relation"] for x in only] == ["reworded"]
    assert findings_lines(cfg, engine, as_json=True, since="2999-01-01") == []
    table = findings_lines(cfg, engine)
    assert "qualifier_changed" in table[1] and table[-1] == "4 findings"
    with pytest.raises(ConfigError, match="^--since: 'yesterday'"):
        findings_lines(cfg, engine, since="yesterday")
    with pytest.raises(ConfigError, match="--relation: 'rebutted'.*confirms.*silent_edit"):
        findings_lines(cfg, engine, relations=["rebutted"])


def test_wire_copy_is_recognisable(engine, make_config, tmp_path) -> None:
    with session_scope(engine) as s:
        for outlet in ("Paper One", "Paper Two"):
            a = add_article(s, f"https://{outlet[-3:].lower()}.example/k", outlet)
            process_version(s, STORY, a, add_version(s, a, 1, TEXT), None)
    with Session(engine) as s:
        rows = query_findings(s, STORY.key)
        groups = wire_groups(rows)
    assert len(groups) == 2 and all(len(g) == 2 for g in groups)
    lines = [json.loads(x) for x in findings_lines(make_config(tmp_path), engine, as_json=True)]
    by_outlet = {(x["article"]["outlet"], x["relation"]): x for x in lines}
    assert by_outlet[("Paper One", "reworded")]["syndicated_with"] == ["Paper Two"]


def test_one_statement_quoted_twice_in_one_article_is_one_finding(engine) -> None:
    text = (
        "Rubio: Cuba “ready to fall” after the Caracas raid that captured Maduro\n"
        "“Cuba is ready to fall. It’s going down for the count,” Secretary of State Marco "
        "Rubio said after the US raid in Caracas that captured Maduro.\n"
        "“We are going to run the country,” Trump said of Venezuela after the raid.\n"
        "“We will look after the oil,” Trump added, speaking of Venezuela after the raid.\n"
    )
    with session_scope(engine) as s:
        a = add_article(s, "https://wire.example/l", "Wire")
        found = process_version(s, STORY, a, add_version(s, a, 1, text), None)
        pairs = sorted((f.relation, f.baseline_key) for f in found)
        # Headline fragment and body quote: one re-attribution, with the body's full quote.
        assert pairs.count(("reattributed", "quote:trump:2")) == 1
        full = next(f for f in found if f.relation == "reattributed")
        assert full.observed["quote"].startswith("Cuba is ready to fall. It’s going down")
        # Two different new statements stay two findings.
        assert pairs.count(("new_statement", None)) == 2
