"""The whole poll cycle against fixture feeds and pages on a real loopback HTTP server."""

from __future__ import annotations

import sys
import types
from datetime import timedelta
from pathlib import Path

import pytest
from sqlmodel import Session, select

from monitor import clock
from monitor.cycle import run_cycle
from monitor.models import Article, ArticleVersion, Entry, Feed, PollLog
from monitor.setup import sync_feeds

FIX = Path(__file__).parent / "fixtures" / "collection"


def serve(loopback, path: str, name: str, **opts) -> None:
    body = (FIX / name).read_bytes().replace(b"{BASE}", loopback.base_url.encode())
    ctype = "text/html; charset=utf-8" if name.endswith(".html") else "application/xml"
    opts.setdefault("content_type", ctype)
    loopback.set(path, body, **opts)


@pytest.fixture
def relevance(monkeypatch):
    """A predictable relevance module: on story when the text names Caracas or Maduro.
    ``off`` holds article URLs' words that make the strict check say no (re-check tests)."""
    mod = types.ModuleType("monitor.relevance")
    mod.off = set()

    class Result:
        def __init__(self, ok: bool) -> None:
            self.score, self.relevant, self.reasons = (0.9 if ok else 0.1), ok, ["fake"]

    def on_story(*texts: str) -> bool:
        joined = " ".join(texts).lower()
        return ("caracas" in joined or "maduro" in joined) and not any(w in joined for w in mod.off)

    mod.entry_relevance = lambda title, summary, story: Result(on_story(title, summary))
    mod.article_relevance = lambda title, text, story: Result(on_story(title, text))
    monkeypatch.setitem(sys.modules, "monitor.relevance", mod)
    return mod


@pytest.fixture
def findings(monkeypatch):
    """Records process_version calls (the comparison step is another module's job)."""
    mod = types.ModuleType("monitor.findings")
    mod.calls = []

    def process_version(session, story, article, version, previous):
        mod.calls.append((article.url, version.version, previous.version if previous else None))

    mod.process_version = process_version
    monkeypatch.setitem(sys.modules, "monitor.findings", mod)
    return mod


@pytest.fixture
def frozen():
    start = clock.utcnow()
    clock.set_now(start)
    yield start
    clock.set_now(None)


def site(loopback) -> None:
    serve(loopback, "/rss20.xml", "rss20.xml", etag="auto")
    serve(loopback, "/atom.xml", "atom.xml", last_modified="Tue, 06 Jan 2026 09:00:00 GMT")
    serve(loopback, "/rss10.rdf", "rss10.rdf", etag="auto", gzip=True)
    serve(loopback, "/news/cuba-mourns.html", "page_cuba_mourns_v1.html")
    serve(loopback, "/news/toll-80.html", "page_toll.html")
    serve(loopback, "/news/havana-statement.html", "page_toll.html")
    serve(loopback, "/news/pentagon.html", "page_short.html")


def setup(make_config, tmp_path, engine, loopback, feeds, **overrides):
    cfg = make_config(tmp_path, feeds=feeds, **overrides)
    sync_feeds(cfg, engine)
    return cfg


def three_feeds(loopback) -> list[dict]:
    return [
        {"url": loopback.url("/rss20.xml"), "name": "Harbour Ledger"},
        {"url": loopback.url("/atom.xml"), "name": "Coastline Courier"},
        {"url": loopback.url("/rss10.rdf"), "name": "Riverbank Review"},
    ]


def rows(engine, model, *where):
    with Session(engine) as s:
        return list(s.exec(select(model).where(*where)).all())


def test_first_cycle_stores_entries_articles_and_versions(
    make_config, tmp_path, engine, loopback, relevance, findings, frozen
) -> None:
    site(loopback)
    cfg = setup(make_config, tmp_path, engine, loopback, three_feeds(loopback))
    s = run_cycle(cfg, engine)
    assert (s.feeds_ok, s.feeds_failed, s.feeds_not_modified) == (3, 0, 0), s.problems
    assert s.new_items == 6 and s.problems == []
    # The same article through RSS and Atom is one article with two entries.
    arts = {a.url: a for a in rows(engine, Article)}
    mourns = arts[loopback.url("/news/cuba-mourns.html")]
    assert len(rows(engine, Entry, Entry.article_id == mourns.id)) == 2
    assert loopback.url("/news/frost.html") not in arts  # off story: never fetched
    assert loopback.hits("/news/frost.html") == []
    assert len(loopback.hits("/news/cuba-mourns.html")) == 1
    # Versions for the three real pages; the video stub is an error, not a version.
    versions = rows(engine, ArticleVersion)
    assert len(versions) == 3 and s.new_versions == 3
    assert mourns.outlet in ("Harbour Ledger", "Coastline Courier")
    assert mourns.relevant is True and mourns.relevance_score == 0.9
    assert mourns.published_at is not None
    pentagon = arts[loopback.url("/news/pentagon.html")]
    assert "no article text" in pentagon.last_error and s.article_errors == 1
    assert sorted(c[1:] for c in findings.calls) == [(1, None)] * 3
    feed = rows(engine, Feed, Feed.url == loopback.url("/rss20.xml"))[0]
    assert feed.items_seen == 3 and feed.etag and feed.last_success_at == frozen
    assert feed.lease_owner is None
    logs = rows(engine, PollLog)
    assert sorted(log.status for log in logs) == ["ok"] * 3
    assert "3 ok, 0 failed, 0 not modified; 6 new items" in s.line()


def test_second_cycle_is_all_304_and_nothing_due(
    make_config, tmp_path, engine, loopback, relevance, findings, frozen
) -> None:
    site(loopback)
    cfg = setup(make_config, tmp_path, engine, loopback, three_feeds(loopback))
    run_cycle(cfg, engine)
    s = run_cycle(cfg, engine)
    assert (s.feeds_ok, s.feeds_not_modified, s.new_items, s.articles_fetched) == (0, 3, 0, 0)
    assert loopback.hits("/rss20.xml")[-1].status == 304
    assert loopback.hits("/atom.xml")[-1].headers["If-Modified-Since"]
    assert len(loopback.hits("/news/cuba-mourns.html")) == 1


def test_scheduled_refetch_catches_a_silent_edit(
    make_config, tmp_path, engine, loopback, relevance, findings, frozen
) -> None:
    site(loopback)
    cfg = setup(make_config, tmp_path, engine, loopback, three_feeds(loopback))
    run_cycle(cfg, engine)
    # Typography only: refetched at +1 h, no new version.
    serve(loopback, "/news/cuba-mourns.html", "page_cuba_mourns_v1_typo.html")
    clock.set_now(frozen + timedelta(hours=1, minutes=1))
    s = run_cycle(cfg, engine)
    assert s.articles_fetched >= 3 and s.new_versions == 0
    # A real edit: the +6 h re-fetch keeps version 2 and hands it over with its predecessor.
    serve(loopback, "/news/cuba-mourns.html", "page_cuba_mourns_v2.html")
    clock.set_now(frozen + timedelta(hours=6, minutes=1))
    s = run_cycle(cfg, engine)
    assert s.new_versions == 1
    art = rows(engine, Article, Article.url == loopback.url("/news/cuba-mourns.html"))[0]
    vs = sorted(
        rows(engine, ArticleVersion, ArticleVersion.article_id == art.id), key=lambda v: v.version
    )
    assert [v.version for v in vs] == [1, 2] and "at least 100 people" in vs[1].text
    assert (art.url, 2, 1) in findings.calls
    assert art.next_fetch_at == art.first_seen_at + timedelta(hours=24)
    # After the last scheduled re-fetch nothing is due any more.
    clock.set_now(frozen + timedelta(hours=80))
    run_cycle(cfg, engine)
    art = rows(engine, Article, Article.id == art.id)[0]
    assert art.next_fetch_at is None


def test_changed_feed_entry_triggers_refetch_now(
    make_config, tmp_path, engine, loopback, relevance, findings, frozen
) -> None:
    site(loopback)
    cfg = setup(make_config, tmp_path, engine, loopback, three_feeds(loopback))
    run_cycle(cfg, engine)
    body = (FIX / "rss20.xml").read_text().replace("{BASE}", loopback.base_url)
    loopback.set(
        "/rss20.xml",
        body.replace("At least 80 people", "At least 100 people"),
        etag="auto",
        content_type="application/xml",
    )
    serve(loopback, "/news/toll-80.html", "page_cuba_mourns_v2.html")
    s = run_cycle(cfg, engine)  # no clock change: only the entry change makes it due
    assert s.changed_items == 1 and s.new_items == 0
    assert s.articles_fetched == 1 and s.new_versions == 1
    assert len(loopback.hits("/news/toll-80.html")) == 2


def test_article_that_turns_irrelevant_is_not_compared(
    make_config, tmp_path, engine, loopback, relevance, findings, frozen
) -> None:
    site(loopback)
    cfg = setup(make_config, tmp_path, engine, loopback, three_feeds(loopback)[:1])
    run_cycle(cfg, engine)
    calls = len(findings.calls)
    serve(loopback, "/news/cuba-mourns.html", "page_cuba_mourns_v2.html")
    relevance.off.add("pentagon said two")  # the v2 text now reads as off story
    clock.set_now(frozen + timedelta(hours=1, minutes=1))
    s = run_cycle(cfg, engine)
    assert s.new_versions == 1 and len(findings.calls) == calls
    art = rows(engine, Article, Article.url == loopback.url("/news/cuba-mourns.html"))[0]
    assert art.relevant is False


def test_failing_feeds_are_logged_back_off_and_do_not_stop_others(
    make_config, tmp_path, engine, loopback, relevance, findings, frozen
) -> None:
    site(loopback)
    loopback.set("/500.xml", "oops", status=500)
    loopback.set("/slow.xml", "<rss/>", delay=3)
    loopback.set("/huge.xml", endless=True, content_type="application/xml")
    loopback.redirect("/loop-a.xml", "/loop-b.xml")
    loopback.redirect("/loop-b.xml", "/loop-a.xml")
    serve(loopback, "/html.xml", "not_a_feed.html")
    serve(loopback, "/garbage.xml", "garbage.bin")
    loopback.set("/busy.xml", "later", status=429, headers={"Retry-After": "7200"})
    bad = [
        "/500.xml",
        "/slow.xml",
        "/huge.xml",
        "/loop-a.xml",
        "/html.xml",
        "/garbage.xml",
        "/busy.xml",
    ]
    feeds = [loopback.url("/rss20.xml")] + [loopback.url(p) for p in bad]
    cfg = setup(
        make_config,
        tmp_path,
        engine,
        loopback,
        feeds,
        network={"timeout": 1, "max_bytes": 1024 * 1024},
    )
    s = run_cycle(cfg, engine)
    assert (s.feeds_ok, s.feeds_failed) == (1, 7) and s.new_items == 3
    reasons = {f.url.rsplit("/", 1)[1]: f.last_error for f in rows(engine, Feed)}
    assert "HTTP 500" in reasons["500.xml"]
    assert "timed out" in reasons["slow.xml"] or "timeout" in reasons["slow.xml"]
    assert "larger than 1 MiB" in reasons["huge.xml"]
    assert "redirect loop" in reasons["loop-a.xml"]
    assert "HTML page" in reasons["html.xml"]
    assert "not a feed" in reasons["garbage.xml"]
    assert "HTTP 429" in reasons["busy.xml"]
    assert len(s.problems) == 7 and all("\n" not in p for p in s.problems)
    errors = rows(engine, PollLog, PollLog.status == "error")
    assert len(errors) == 7 and all(e.error for e in errors)
    by_url = {f.url.rsplit("/", 1)[1]: f for f in rows(engine, Feed)}
    assert by_url["500.xml"].consecutive_failures == 1
    assert by_url["500.xml"].next_poll_at == frozen + timedelta(minutes=60)
    assert by_url["busy.xml"].next_poll_at >= frozen + timedelta(seconds=7200)
    # Backing off: an immediate second cycle leaves them alone.
    s2 = run_cycle(cfg, engine)
    assert s2.feeds_failed == 0 and len(loopback.hits("/500.xml")) == 1
    assert s2.feeds_waiting >= 2 and "backing off or taken" in s2.line()
    # Once due, a second failure doubles the wait.
    clock.set_now(frozen + timedelta(minutes=61))
    run_cycle(cfg, engine)
    f500 = rows(engine, Feed, Feed.url == loopback.url("/500.xml"))[0]
    assert f500.consecutive_failures == 2
    assert f500.next_poll_at == frozen + timedelta(minutes=61 + 120)
    # Recovery resets the count.
    loopback.set(
        "/500.xml",
        (FIX / "rss10.rdf").read_bytes().replace(b"{BASE}", loopback.base_url.encode()),
        content_type="application/xml",
    )
    clock.set_now(frozen + timedelta(hours=4))
    run_cycle(cfg, engine)
    f500 = rows(engine, Feed, Feed.url == loopback.url("/500.xml"))[0]
    assert f500.consecutive_failures == 0 and f500.last_error and f500.last_success_at


def test_backoff_is_capped(make_config, tmp_path, engine, loopback, frozen) -> None:
    loopback.set("/500.xml", "oops", status=500)
    cfg = setup(
        make_config,
        tmp_path,
        engine,
        loopback,
        [loopback.url("/500.xml")],
        poll={"max_backoff_hours": 3},
    )
    for i in range(6):
        clock.set_now(frozen + timedelta(days=i))
        run_cycle(cfg, engine)
    f = rows(engine, Feed)[0]
    assert f.consecutive_failures == 6
    assert f.next_poll_at == frozen + timedelta(days=5, hours=3)


def test_permanent_redirect_updates_the_stored_url(
    make_config, tmp_path, engine, loopback, relevance, findings, frozen
) -> None:
    site(loopback)
    loopback.redirect("/old.xml", loopback.url("/rss20.xml"), status=301)
    cfg = setup(make_config, tmp_path, engine, loopback, [loopback.url("/old.xml")])
    run_cycle(cfg, engine)
    f = rows(engine, Feed)[0]
    assert f.url == loopback.url("/old.xml") and f.current_url == loopback.url("/rss20.xml")
    run_cycle(cfg, engine)
    assert len(loopback.hits("/old.xml")) == 1 and len(loopback.hits("/rss20.xml")) == 2


def test_full_fetch_every_12_hours_even_with_304s(
    make_config, tmp_path, engine, loopback, relevance, findings, frozen
) -> None:
    site(loopback)
    cfg = setup(make_config, tmp_path, engine, loopback, [loopback.url("/rss20.xml")])
    run_cycle(cfg, engine)
    clock.set_now(frozen + timedelta(hours=2))
    run_cycle(cfg, engine)
    assert "If-None-Match" in loopback.hits("/rss20.xml")[-1].headers
    clock.set_now(frozen + timedelta(hours=13))
    s = run_cycle(cfg, engine)
    last = loopback.hits("/rss20.xml")[-1]
    assert "If-None-Match" not in last.headers and last.status == 200
    assert s.feeds_not_modified == 1  # same bytes as before: not parsed again
    f = rows(engine, Feed)[0]
    assert f.last_full_fetch_at == frozen + timedelta(hours=13)


def test_guard_refuses_article_links_to_loopback(
    make_config, tmp_path, engine, loopback, relevance, findings, frozen
) -> None:
    site(loopback)
    cfg = setup(
        make_config,
        tmp_path,
        engine,
        loopback,
        [loopback.url("/rss20.xml")],
        network={"allow_private_addresses": False},
    )
    s = run_cycle(cfg, engine)
    # The configured feed is taken as given (on loopback); the links inside it are refused.
    assert s.feeds_ok == 1 and s.new_items == 3 and s.new_versions == 0
    assert loopback.hits("/news/cuba-mourns.html") == []
    errors = [a.last_error for a in rows(engine, Article)]
    assert errors and all("refused" in e and "loopback" in e for e in errors)


def test_paywalled_page_falls_back_to_feed_content(
    make_config, tmp_path, engine, loopback, relevance, findings, frozen
) -> None:
    serve(loopback, "/lantern.xml", "feed_content_only.xml")
    serve(loopback, "/news/paywalled.html", "page_paywall.html")
    cfg = setup(
        make_config,
        tmp_path,
        engine,
        loopback,
        [{"url": loopback.url("/lantern.xml"), "name": "Lantern Wire"}],
    )
    s = run_cycle(cfg, engine)
    assert s.new_versions == 1
    v = rows(engine, ArticleVersion)[0]
    assert v.source == "feed" and "32 of its officers" in v.text
    assert rows(engine, Article)[0].outlet == "Lantern Wire"


def test_page_failure_without_feed_content_is_an_error_not_a_version(
    make_config, tmp_path, engine, loopback, relevance, findings, frozen
) -> None:
    site(loopback)
    loopback.set("/news/toll-80.html", "gone", status=500)
    cfg = setup(make_config, tmp_path, engine, loopback, [loopback.url("/rss20.xml")])
    s = run_cycle(cfg, engine)
    art = rows(engine, Article, Article.url == loopback.url("/news/toll-80.html"))[0]
    assert "HTTP 500" in art.last_error and s.article_errors == 1
    assert rows(engine, ArticleVersion, ArticleVersion.article_id == art.id) == []


def test_disabled_feed_is_not_polled(make_config, tmp_path, engine, loopback, frozen) -> None:
    site(loopback)
    cfg = setup(
        make_config,
        tmp_path,
        engine,
        loopback,
        [{"url": loopback.url("/rss20.xml"), "enabled": False}],
    )
    s = run_cycle(cfg, engine, articles=False)
    assert s.feeds_ok == 0 and loopback.hits("/rss20.xml") == []


def test_a_leased_feed_is_skipped(make_config, tmp_path, engine, loopback, frozen) -> None:
    site(loopback)
    cfg = setup(make_config, tmp_path, engine, loopback, [loopback.url("/rss20.xml")])
    from monitor.db import session_scope

    with session_scope(engine) as s:
        f = s.exec(select(Feed)).one()
        f.lease_owner, f.lease_until = "other-worker", frozen + timedelta(minutes=5)
    assert run_cycle(cfg, engine).feeds_ok == 0
    clock.set_now(frozen + timedelta(minutes=6))  # an expired lease is taken over
    assert run_cycle(cfg, engine, articles=False).feeds_ok == 1


def test_process_pool_path(make_config, tmp_path, engine, loopback, frozen) -> None:
    """With many feeds the parsing runs in worker processes; results are the same."""
    site(loopback)
    body = (FIX / "rss20.xml").read_text()
    feeds = []
    for i in range(20):
        loopback.set(
            f"/f{i}.xml",
            body.replace("{BASE}", loopback.base_url).replace("ledger-100", f"f{i}-"),
            etag="auto",
            content_type="application/xml",
        )
        feeds.append(loopback.url(f"/f{i}.xml"))
    cfg = setup(make_config, tmp_path, engine, loopback, feeds)
    s = run_cycle(cfg, engine, articles=False, processes=2)
    assert s.feeds_ok == 20 and s.new_items == 60
    # The articles behind the 20 feeds' shared links are one set (2 relevant-or-all URLs each).
    assert len({a.url for a in rows(engine, Article)}) <= 3


def test_with_the_real_relevance_module(make_config, tmp_path, engine, loopback, frozen) -> None:
    pytest.importorskip("monitor.relevance")
    site(loopback)
    cfg = setup(make_config, tmp_path, engine, loopback, three_feeds(loopback))
    s = run_cycle(cfg, engine)
    assert s.feeds_ok == 3
    urls = {a.url for a in rows(engine, Article)}
    assert loopback.url("/news/frost.html") not in urls
    assert loopback.url("/news/cuba-mourns.html") in urls


def test_cli_poll_once_prints_problems_and_summary(
    make_config, tmp_path, engine, loopback, relevance, findings
) -> None:
    from click.testing import CliRunner

    from monitor.cli import cli

    site(loopback)
    loopback.set("/500.xml", "oops", status=500)
    cfg = make_config(tmp_path, feeds=[loopback.url("/rss20.xml"), loopback.url("/500.xml")])
    result = CliRunner().invoke(cli, ["--config", str(cfg.path), "poll", "--once", "--no-progress"])
    assert result.exit_code == 0, result.output
    lines = result.output.strip().splitlines()
    assert lines[-1].startswith("feeds: 1 ok, 1 failed, 0 not modified; 3 new items")
    assert any(line.startswith("feed failed:") and "HTTP 500" in line for line in lines)


def test_progress_bar_goes_to_stderr(
    make_config, tmp_path, engine, loopback, relevance, findings, capsys
) -> None:
    site(loopback)
    cfg = setup(make_config, tmp_path, engine, loopback, three_feeds(loopback))
    s = run_cycle(cfg, engine, progress=True)
    captured = capsys.readouterr()
    assert s.feeds_ok == 3
    assert "feeds" in captured.err and "articles" in captured.err and captured.out == ""


@pytest.mark.postgres
def test_postgres_claim_skips_rows_locked_by_another_worker(
    make_config, tmp_path, engine, loopback, frozen
) -> None:
    """Two workers on PostgreSQL: a feed row another transaction holds is skipped, not waited
    for; a claimed feed is leased, and so is its host, so no other worker fetches from that
    host until the first hands it back."""
    from monitor.claims import release_leases
    from monitor.cycle import claim_feeds
    from monitor.db import is_postgres

    if not is_postgres(engine):
        pytest.skip("needs MONITOR_TEST_DATABASE_URL pointing at PostgreSQL")
    site(loopback)
    urls = [loopback.url("/rss20.xml"), loopback.url("/atom.xml"), loopback.url("/rss10.rdf")]
    cfg = setup(make_config, tmp_path, engine, loopback, urls)
    with engine.connect() as other:
        tx = other.begin()
        locked = other.execute(
            select(Feed.id).where(Feed.url == urls[0]).with_for_update()
        ).scalar_one()
        first = claim_feeds(cfg, engine, "worker-a", frozen)
        assert locked not in {j.id for j in first} and len(first) == 2
        tx.rollback()
    # Free now, but on the host worker-a is fetching from: left for worker-a.
    assert claim_feeds(cfg, engine, "worker-b", frozen) == []
    assert [j.id for j in claim_feeds(cfg, engine, "worker-a", frozen)] == [locked]
    release_leases(engine, "worker-a")
    assert len(claim_feeds(cfg, engine, "worker-b", frozen)) == 3
    assert claim_feeds(cfg, engine, "worker-c", frozen) == []
