"""`monitor init`: migrations from empty on SQLite and PostgreSQL, idempotent, data kept."""

from __future__ import annotations

from pathlib import Path

from click.testing import CliRunner
from sqlalchemy import inspect
from sqlmodel import select

from monitor.cli import cli
from monitor.db import current_revision, get_engine, head_revision, session_scope, upgrade
from monitor.models import Feed, Story

TABLES = {
    "feed",
    "poll_log",
    "entry",
    "article",
    "article_version",
    "claim",
    "finding",
    "digest",
    "story",
    "worker",
}


def test_migrations_create_every_table_from_empty(db_url: str) -> None:
    engine = get_engine(db_url)
    assert current_revision(engine) is None
    before, after = upgrade(engine)
    assert before is None and after == head_revision()
    assert TABLES <= set(inspect(engine).get_table_names())
    # Indexes the history and digest queries rely on.
    finding_indexes = {ix["name"] for ix in inspect(engine).get_indexes("finding")}
    assert {"ix_finding_story_found", "ix_finding_baseline_key"} <= finding_indexes


def test_upgrade_twice_keeps_data(db_url: str) -> None:
    engine = get_engine(db_url)
    upgrade(engine)
    with session_scope(engine) as s:
        s.add(Feed(url="https://example.org/a.xml", name="A"))
    assert upgrade(engine) == (head_revision(), head_revision())
    with session_scope(engine) as s:
        assert [f.name for f in s.exec(select(Feed)).all()] == ["A"]


def test_init_twice_is_harmless(make_config, db_url: str, tmp_path: Path) -> None:
    cfg = make_config(tmp_path, feeds=[{"url": "https://example.org/world.xml", "name": "World"}])
    runner = CliRunner()
    first = runner.invoke(cli, ["--config", str(cfg.path), "init"])
    assert first.exit_code == 0, first.output
    assert "database created" in first.output
    second = runner.invoke(cli, ["--config", str(cfg.path), "init"])
    assert second.exit_code == 0, second.output
    assert "up to date" in second.output
    engine = get_engine(cfg.database_url)
    with session_scope(engine) as s:
        feeds = s.exec(select(Feed)).all()
        assert [(f.url, f.enabled) for f in feeds] == [("https://example.org/world.xml", True)]
        story = s.get(Story, "caracas-raid")
        assert story is not None and story.seed_sha256


def test_commands_refuse_an_uninitialised_database(make_config, tmp_path: Path) -> None:
    cfg = make_config(tmp_path)
    result = CliRunner().invoke(cli, ["--config", str(cfg.path), "findings", "--json"])
    assert result.exit_code == 2
    assert "run `monitor init` first" in result.output


def test_removed_feed_is_disabled_not_deleted(make_config, tmp_path: Path) -> None:
    cfg = make_config(
        tmp_path,
        feeds=[
            {"url": "https://example.org/a.xml", "name": "A"},
            {"url": "https://example.org/b.xml", "name": "B"},
        ],
    )
    runner = CliRunner()
    assert runner.invoke(cli, ["--config", str(cfg.path), "init"]).exit_code == 0
    text = cfg.path.read_text().replace(
        'url = "https://example.org/b.xml"', 'url = "https://example.org/c.xml"'
    )
    cfg.path.write_text(text)
    assert runner.invoke(cli, ["--config", str(cfg.path), "init"]).exit_code == 0
    with session_scope(get_engine(cfg.database_url)) as s:
        state = {f.url: f.enabled for f in s.exec(select(Feed)).all()}
    assert state == {
        "https://example.org/a.xml": True,
        "https://example.org/b.xml": False,
        "https://example.org/c.xml": True,
    }


def test_upgrade_from_first_revision_keeps_findings_and_backfills_provenance(db_url: str) -> None:
    """A database made by an older release upgrades in place; its findings keep their article."""
    from alembic import command
    from sqlalchemy import text

    from monitor.db import _alembic_config

    engine = get_engine(db_url)
    command.upgrade(_alembic_config(engine), "0001")
    now = "2026-01-08 10:00:00"
    with engine.begin() as conn:
        conn.execute(
            text(
                "INSERT INTO article (id, story_key, url, outlet, title, published_at, fetch_count,"
                " relevance_reasons) VALUES (1, 'caracas-raid', 'https://example.org/a', 'Ledger',"
                f" 'Toll rises', '{now}', 1, '[]')"
            )
        )
        conn.execute(
            text(
                "INSERT INTO article_version (id, article_id, version, text_sha256, title, text,"
                " source, extractor, fetched_at)"
                f" VALUES (1, 1, 1, 'h', 't', 'x', 'page', '', '{now}')"
            )
        )
        conn.execute(
            text(
                "INSERT INTO finding (id, story_key, relation, observed, article_id, version_id,"
                " dedup_key, sentence, found_at)"
                f" VALUES (1, 'caracas-raid', 'updated', '{{}}', 1, 1, 'k', 's', '{now}')"
            )
        )
    upgrade(engine)
    from monitor.models import Finding

    with session_scope(engine) as s:
        f = s.get(Finding, 1)
        assert (f.outlet, f.title, f.published_at.isoformat()) == (
            "Ledger",
            "Toll rises",
            "2026-01-08T10:00:00+00:00",
        )


def test_upgrade_to_host_leases_gives_existing_feeds_and_articles_their_host(db_url: str) -> None:
    """0003: rows from before know their host (a moved feed: where it is fetched from now)."""
    from alembic import command
    from sqlalchemy import text

    from monitor.db import _alembic_config
    from monitor.models import Article

    engine = get_engine(db_url)
    command.upgrade(_alembic_config(engine), "0002")
    with engine.begin() as conn:
        conn.execute(
            text(
                "INSERT INTO feed (id, url, current_url, name, enabled, consecutive_failures,"
                " items_seen) VALUES (1, 'https://old.example/rss', 'https://New.Example/rss',"
                " 'Moved', true, 0, 0), (2, 'https://wire.example:8080/x', NULL, 'Wire', true,"
                " 0, 0)"
            )
        )
        conn.execute(
            text(
                "INSERT INTO article (id, story_key, url, outlet, title, fetch_count,"
                " relevance_reasons) VALUES (1, 'caracas-raid', 'https://www.ledger.example/a',"
                " 'Ledger', 't', 0, '[]')"
            )
        )
    upgrade(engine)
    with session_scope(engine) as s:
        assert [f.host for f in s.exec(select(Feed).order_by(Feed.id))] == [
            "new.example",
            "wire.example",
        ]
        assert s.get(Article, 1).host == "www.ledger.example"
