"""Claiming work so several workers share one database: batches, leases, hosts, due feeds.

These run in one process on SQLite (and on PostgreSQL when configured); the claims take the
worker's name as a plain string, so "two workers" here are two names. The real multi-process
runs are in tests/test_workers.py.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlmodel import Session, func, select

from monitor import clock
from monitor.claims import make_due, release_idle_hosts, release_leases, renew_leases
from monitor.cycle import (
    CycleSummary,
    FeedOutcome,
    claim_feed_batch,
    claim_feeds,
    run_cycle,
    store_feed_batch,
)
from monitor.loopback import LoopbackServer
from monitor.models import Feed, HostLease, PollLog
from monitor.setup import sync_feeds
from monitor.story import load_story

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
RSS = (
    '<?xml version="1.0"?><rss version="2.0"><channel><title>Allotments</title>'
    "<link>http://example.org/</link><description>d</description>"
    "<item><title>Frost on the beans</title><link>http://example.org/a</link>"
    "<guid>beans-1</guid></item></channel></rss>"
)


@pytest.fixture
def frozen():
    clock.set_now(T0)
    yield T0
    clock.set_now(None)


def feeds_on(hosts: dict[str, int]) -> list[str]:
    """Feed URLs: ``{"a.example": 3}`` is three feeds on a.example (never fetched here)."""
    return [f"http://{h}/feed/{i}.xml" for h, n in hosts.items() for i in range(n)]


def configured(make_config, tmp_path, engine, urls, **sections):
    cfg = make_config(tmp_path, feeds=urls, **sections)
    sync_feeds(cfg, engine)
    return cfg


def hosts_of(engine, jobs) -> set[str]:
    ids = [j.id for j in jobs]
    with Session(engine) as s:
        return set(s.exec(select(Feed.host).where(Feed.id.in_(ids))).all())


def test_feeds_know_their_host(make_config, tmp_path, engine) -> None:
    configured(make_config, tmp_path, engine, ["https://News.Example.org:8443/rss"])
    with Session(engine) as s:
        assert s.exec(select(Feed.host)).one() == "news.example.org"


def test_a_batch_takes_at_most_its_limit_and_leases_what_it_took(
    make_config, tmp_path, engine, frozen
) -> None:
    cfg = configured(make_config, tmp_path, engine, feeds_on({"a.example": 3, "b.example": 3}))
    got = claim_feed_batch(cfg, engine, "w1", T0, 4)
    assert len(got.jobs) == 4 and got.seen == 4
    rest = claim_feeds(cfg, engine, "w1", T0)  # the same worker: its own hosts, the rest
    assert len(rest) == 2 and not {j.id for j in rest} & {j.id for j in got.jobs}
    assert claim_feeds(cfg, engine, "w1", T0) == []  # all leased now


def test_a_host_is_fetched_from_by_one_worker_at_a_time(
    make_config, tmp_path, engine, frozen
) -> None:
    cfg = configured(make_config, tmp_path, engine, feeds_on({"a.example": 2, "b.example": 2}))
    first = claim_feed_batch(cfg, engine, "w1", T0, 1)
    taken = hosts_of(engine, first.jobs)
    second = claim_feeds(cfg, engine, "w2", T0)
    # w2 gets only the other host's feeds, although one feed of w1's host is still free.
    assert hosts_of(engine, second) == {"a.example", "b.example"} - taken
    assert len(second) == 2
    release_leases(engine, "w1")
    assert hosts_of(engine, claim_feeds(cfg, engine, "w2", T0)) == taken


def test_a_worker_holds_no_more_hosts_than_its_concurrency_serves(
    make_config, tmp_path, engine, frozen
) -> None:
    """PostgreSQL, concurrency 4 at 2 per host: two hosts per worker; the third is left for
    another. SQLite has one worker, so it takes all three."""
    from monitor.db import is_postgres

    cfg = configured(
        make_config,
        tmp_path,
        engine,
        feeds_on({"a.example": 2, "b.example": 2, "c.example": 2}),
        network={"concurrency": 4, "per_host": 2},
    )
    mine = claim_feeds(cfg, engine, "w1", T0)
    if not is_postgres(engine):
        assert len(hosts_of(engine, mine)) == 3
        return
    assert len(hosts_of(engine, mine)) == 2 and len(mine) == 4
    other = claim_feeds(cfg, engine, "w2", T0)
    assert len(hosts_of(engine, other)) == 1 and len(other) == 2


def test_a_batch_spreads_over_hosts(make_config, tmp_path, engine, frozen) -> None:
    """per_host 1: at most four feeds of one host in a batch, so the batch spans hosts."""
    cfg = configured(
        make_config,
        tmp_path,
        engine,
        feeds_on({"a.example": 10, "b.example": 10}),
        network={"concurrency": 8, "per_host": 1},
    )
    got = claim_feed_batch(cfg, engine, "w1", T0, 100)
    assert len(got.jobs) == 8 and hosts_of(engine, got.jobs) == {"a.example", "b.example"}


def test_a_dead_workers_lease_lapses_and_another_takes_its_feeds(
    make_config, tmp_path, engine, frozen
) -> None:
    cfg = configured(
        make_config, tmp_path, engine, feeds_on({"a.example": 2}), poll={"lease_seconds": 30}
    )
    assert len(claim_feeds(cfg, engine, "dead", T0)) == 2
    assert claim_feeds(cfg, engine, "alive", T0 + timedelta(seconds=29)) == []
    assert len(claim_feeds(cfg, engine, "alive", T0 + timedelta(seconds=31))) == 2


def test_a_renewed_lease_is_kept(make_config, tmp_path, engine, frozen) -> None:
    cfg = configured(
        make_config, tmp_path, engine, feeds_on({"a.example": 2}), poll={"lease_seconds": 30}
    )
    claim_feeds(cfg, engine, "busy", T0)
    renew_leases(engine, "busy", T0 + timedelta(seconds=50))
    assert claim_feeds(cfg, engine, "other", T0 + timedelta(seconds=40)) == []
    assert len(claim_feeds(cfg, engine, "other", T0 + timedelta(seconds=51))) == 2


def test_a_result_under_a_lapsed_lease_is_not_stored(make_config, tmp_path, engine, frozen) -> None:
    """The slow worker's late result is dropped: the feed is polled once, by the new owner."""
    cfg = configured(
        make_config, tmp_path, engine, feeds_on({"a.example": 1}), poll={"lease_seconds": 30}
    )
    story = load_story(cfg.story_folder)
    (slow,) = claim_feeds(cfg, engine, "slow", T0)
    later = T0 + timedelta(seconds=31)
    (fast,) = claim_feeds(cfg, engine, "fast", later)

    def outcome(job, at):
        return FeedOutcome(job=job, status="not_modified", started_at=at, finished_at=at)

    store_feed_batch(engine, cfg, story, [outcome(fast, later)], CycleSummary(), "fast")
    store_feed_batch(engine, cfg, story, [outcome(slow, later)], CycleSummary(), "slow")
    with Session(engine) as s:
        assert s.exec(select(func.count()).select_from(PollLog)).one() == 1
        assert s.exec(select(Feed.lease_owner)).one() is None


def test_idle_hosts_are_handed_back(make_config, tmp_path, engine, frozen) -> None:
    cfg = configured(make_config, tmp_path, engine, feeds_on({"a.example": 1, "b.example": 1}))
    jobs = claim_feeds(cfg, engine, "w1", T0)
    story = load_story(cfg.story_folder)
    a_job = next(j for j in jobs if "a.example" in j.url)
    done = FeedOutcome(job=a_job, status="not_modified", started_at=T0, finished_at=T0)
    store_feed_batch(engine, cfg, story, [done], CycleSummary(), "w1")
    release_idle_hosts(engine, "w1")
    with Session(engine) as s:
        assert s.exec(select(HostLease.host)).all() == ["b.example"]


def test_make_due_marks_healthy_feeds_only(make_config, tmp_path, engine, frozen) -> None:
    cfg = configured(make_config, tmp_path, engine, feeds_on({"a.example": 3}))
    with Session(engine) as s:
        ok, failing, polled_later = s.exec(select(Feed).order_by(Feed.id)).all()
        ok.next_poll_at = T0 + timedelta(minutes=20)
        failing.consecutive_failures, failing.next_poll_at = 2, T0 + timedelta(hours=1)
        # Polled by another worker after this cycle began: left alone.
        polled_later.last_polled_at = T0 + timedelta(seconds=5)
        polled_later.next_poll_at = T0 + timedelta(minutes=30)
        s.add_all([ok, failing, polled_later])
        s.commit()
        ok_url = ok.url
    assert make_due(engine, T0) == 1
    assert [j.url for j in claim_feeds(cfg, engine, "w1", T0)] == [ok_url]


def test_poll_once_polls_every_time_and_the_service_only_what_is_due(
    make_config, tmp_path, engine, loopback, frozen
) -> None:
    loopback.set("/rss.xml", RSS, content_type="application/rss+xml")
    cfg = configured(
        make_config, tmp_path, engine, [loopback.url("/rss.xml")], poll={"interval_minutes": 30}
    )
    assert run_cycle(cfg, engine, articles=False).feeds_ok == 1
    again = run_cycle(cfg, engine, articles=False)  # poll --once: now, whatever the interval
    assert again.feeds_not_modified == 1
    assert not run_cycle(cfg, engine, articles=False, due_only=True).did_work()
    clock.set_now(T0 + timedelta(minutes=29, seconds=30))  # within the tick's slack
    assert run_cycle(cfg, engine, articles=False, due_only=True).feeds_not_modified == 1
    with Session(engine) as s:
        assert s.exec(select(func.count()).select_from(PollLog)).one() == 3
        assert s.exec(select(func.count()).select_from(HostLease)).one() == 0


def test_one_worker_polls_more_hosts_than_it_may_hold_at_once(
    make_config, tmp_path, engine, frozen
) -> None:
    """Six hosts, room for two at a time: the worker hands hosts back as it stores their
    results and takes the next, so one cycle still polls every feed."""
    servers = [LoopbackServer(host=f"127.0.0.{i}").start() for i in range(1, 7)]
    try:
        urls = []
        for srv in servers:
            for n in range(3):
                srv.set(f"/f{n}.xml", RSS, content_type="application/rss+xml")
                urls.append(srv.url(f"/f{n}.xml"))
        cfg = configured(
            make_config, tmp_path, engine, urls, network={"concurrency": 4, "per_host": 2}
        )
        summary = run_cycle(cfg, engine, articles=False)
        assert summary.feeds_ok == 18 and summary.feeds_waiting == 0
        assert all(len(srv.requests) == 3 for srv in servers)
    finally:
        for srv in servers:
            srv.stop()
