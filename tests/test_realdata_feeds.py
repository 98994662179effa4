"""Every real-world feed in ../shared/realdata through the parser and the poll path.

The files are read at run time (never copied into the project); the tests skip when the
folder is absent. Assertions are about behaviour: parsed, rejected, nothing crashes.
"""

from __future__ import annotations

import sys
import tracemalloc
import types
from pathlib import Path

import pytest
from sqlmodel import Session, select

from monitor.cycle import run_cycle
from monitor.entries import canonical_url
from monitor.feedparse import neutralise_doctype, parse_feed
from monitor.models import Article, Entry, Feed, PollLog
from monitor.setup import sync_feeds

REPO = Path(__file__).resolve().parent.parent


def _realdata() -> Path | None:
    for cand in (REPO.parent / "shared" / "realdata",):
        if (cand / "feeds").is_dir():
            return cand
    return None


REAL = _realdata()
pytestmark = pytest.mark.skipif(REAL is None, reason="shared/realdata is not here")
GOOD = sorted((REAL / "feeds" / "good").iterdir()) if REAL else []
BROKEN = sorted((REAL / "feeds" / "broken").iterdir()) if REAL else []
ATTACKS = [p for p in BROKEN if p.name.startswith(("xml-bomb", "xxe"))]


def ctype(path: Path) -> str:
    return "text/html" if path.suffix == ".html" else "application/xml"


@pytest.mark.parametrize("path", GOOD, ids=lambda p: p.name)
def test_good_feeds_parse_with_entries(path: Path) -> None:
    p = parse_feed(path.read_bytes(), "http://feeds.example.org/" + path.name, ctype(path))
    assert p.is_feed and p.entries, p.reason
    assert all(e.key for e in p.entries)
    for e in p.entries:
        assert e.article_url is None or e.article_url.startswith(("http://", "https://"))


@pytest.mark.parametrize("path", BROKEN, ids=lambda p: p.name)
def test_broken_feeds_parse_or_are_rejected_with_a_reason(path: Path) -> None:
    p = parse_feed(path.read_bytes(), "http://feeds.example.org/" + path.name, ctype(path))
    if not p.is_feed:
        assert p.reason and "\n" not in p.reason and p.entries == []


@pytest.mark.parametrize("path", ATTACKS, ids=lambda p: p.name)
def test_entity_attacks_are_neutralised_in_bounded_memory(path: Path) -> None:
    body = path.read_bytes()
    cleaned, changed = neutralise_doctype(body)
    assert changed and b"<!ENTITY" not in cleaned
    tracemalloc.start()
    p = parse_feed(body, "http://feeds.example.org/x.xml", "application/xml")
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert peak < 20 * 1024 * 1024
    assert not p.is_feed and p.entries == []


def test_relative_links_resolve_against_the_response_url() -> None:
    path = REAL / "feeds" / "broken" / "insanity_industries_relative-urls.xml"
    p = parse_feed(path.read_bytes(), "https://blog.example.org/feed/index.xml", "application/xml")
    assert p.entries and all(e.article_url.startswith("https://") for e in p.entries)


def test_external_entity_is_never_fetched(loopback) -> None:
    """Our own XXE document pointing at the loopback server: no request may arrive."""
    loopback.set("/secret.txt", "top secret")
    doc = (
        f'<?xml version="1.0"?><!DOCTYPE rss [<!ENTITY x SYSTEM "{loopback.url("/secret.txt")}">'
        f'<!ENTITY % p SYSTEM "{loopback.url("/secret.txt")}"> %p;]>'
        '<rss version="2.0"><channel><title>t</title><item><title>&x;</title>'
        "<link>http://x.example.org/a</link></item></channel></rss>"
    ).encode()
    p = parse_feed(doc, "http://feeds.example.org/x.xml", "application/xml")
    assert loopback.hits("/secret.txt") == []
    assert all("top secret" not in e.title for e in p.entries)


def _serve_all(loopback, paths: list[Path]) -> list[str]:
    urls = []
    for i, path in enumerate(paths):
        route = f"/real/{i}/{path.name}"
        loopback.set(route, path.read_bytes(), content_type=ctype(path), etag="auto")
        urls.append(loopback.url(route))
    return urls


def test_every_real_feed_through_the_poll_path(make_config, tmp_path, engine, loopback) -> None:
    paths = GOOD + BROKEN
    urls = _serve_all(loopback, paths)
    cfg = make_config(tmp_path, feeds=urls)
    sync_feeds(cfg, engine)
    # articles=False: the items link to real outlets, and tests never leave loopback.
    s = run_cycle(cfg, engine, articles=False)
    assert s.feeds_ok + s.feeds_failed + s.feeds_not_modified == len(paths)
    assert s.feeds_failed == len(s.problems)
    with Session(engine) as db:
        feeds = {f.url: f for f in db.exec(select(Feed)).all()}
        logs = db.exec(select(PollLog)).all()
        assert len(logs) == len(paths)
        assert all(log.error for log in logs if log.status == "error")
        for url, path in zip(urls, paths, strict=True):
            if path.parent.name == "good":
                assert feeds[url].consecutive_failures == 0, (path.name, feeds[url].last_error)
                assert feeds[url].items_seen > 0
        for url, path in zip(urls, paths, strict=True):
            if path in ATTACKS:
                assert feeds[url].consecutive_failures == 1
        assert db.exec(select(Entry)).first() is not None
    # A second cycle: every feed answers 304 (or is backing off after its failure).
    s2 = run_cycle(cfg, engine, articles=False)
    assert s2.feeds_ok == 0 and s2.feeds_not_modified == len(paths) - s.feeds_failed


@pytest.fixture
def everything_relevant(monkeypatch):
    mod = types.ModuleType("monitor.relevance")

    class R:
        score, relevant, reasons = 1.0, True, []

    mod.entry_relevance = lambda *a: R()
    mod.article_relevance = lambda *a: R()
    monkeypatch.setitem(sys.modules, "monitor.relevance", mod)


def test_polling_pair_detects_new_and_changed_items(
    make_config, tmp_path, engine, loopback, everything_relevant
) -> None:
    first = REAL / "feeds" / "good" / "bbc_world_2026-08-13T0440Z.xml"
    second = REAL / "feeds" / "good" / "bbc_world_2026-08-13T0941Z.xml"
    loopback.set("/bbc.xml", first.read_bytes(), content_type="application/xml", etag="auto")
    cfg = make_config(tmp_path, feeds=[loopback.url("/bbc.xml")])
    sync_feeds(cfg, engine)
    s1 = run_cycle(cfg, engine, articles=False)
    loopback.set("/bbc.xml", second.read_bytes(), content_type="application/xml", etag="auto")
    s2 = run_cycle(cfg, engine, articles=False)
    a = parse_feed(first.read_bytes(), "http://x/", "application/xml").entries
    b = parse_feed(second.read_bytes(), "http://x/", "application/xml").entries
    keys_a = {e.key for e in a}
    assert s1.new_items == len(a)
    assert s2.new_items == len([e for e in b if e.key not in keys_a]) > 0
    old = {e.key: e.content_sha256 for e in a}
    changed = [e for e in b if e.key in old and old[e.key] != e.content_sha256]
    assert changed and s2.changed_items >= len(changed)


def test_cross_feed_duplicates_are_one_article(
    make_config, tmp_path, engine, loopback, everything_relevant
) -> None:
    names = ["nyt_world_2026-08-13.xml", "nyt_topstories_2026-08-13.xml"]
    paths = [REAL / "feeds" / "good" / n for n in names]
    urls = _serve_all(loopback, paths)
    cfg = make_config(tmp_path, feeds=urls)
    sync_feeds(cfg, engine)
    run_cycle(cfg, engine, articles=False)
    links = [
        {
            e.article_url
            for e in parse_feed(p.read_bytes(), u, "application/xml").entries
            if e.article_url
        }
        for p, u in zip(paths, urls, strict=True)
    ]
    shared = links[0] & links[1]
    assert shared  # the two feeds do share items
    with Session(engine) as db:
        arts = db.exec(select(Article)).all()
        assert len(arts) == len(links[0] | links[1])
        some = next(iter(shared))
        art = next(a for a in arts if a.url == canonical_url(some))
        assert len(db.exec(select(Entry).where(Entry.article_id == art.id)).all()) == 2
