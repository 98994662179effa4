"""`monitor status`: last poll, failing feeds, last and pending digests, live workers."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path

import pytest
from sqlmodel import select
from test_digest import (
    BASE_TOTAL,
    T0,
    add_article,
    add_finding,
    add_poll,
    fig,
    make_cfg,
    make_engine,
    seed_coverage,
)

from monitor import clock
from monitor.db import session_scope
from monitor.delivery import create_digest
from monitor.digest import send
from monitor.models import Worker
from monitor.service import heartbeat
from monitor.status import status_lines


@pytest.fixture(autouse=True)
def frozen():  # noqa: ANN201
    clock.set_now(T0)
    yield
    clock.set_now(None)


def test_empty_database(tmp_path: Path) -> None:
    cfg = make_cfg(tmp_path)
    lines = status_lines(cfg, make_engine(cfg))
    assert lines[0].startswith("last poll: never")
    assert "last digest: none sent yet" in lines
    assert "workers: 0 live" in lines


def test_status_reports_every_part(tmp_path: Path) -> None:
    cfg = make_cfg(tmp_path)
    engine = make_engine(cfg)
    add_poll(engine, "Meridian", "https://m.example/rss", "ok", T0 - timedelta(hours=2))
    add_poll(
        engine,
        "Bayside",
        "https://b.example/rss",
        "error",
        T0 - timedelta(hours=2, seconds=5),
        error="HTTP 503",
        failing=2,
    )
    seed_coverage(engine)
    send(cfg, engine)  # digest 1 to the outbox
    clock.set_now(T0 + timedelta(hours=1))
    ids = add_article(engine, "https://l.example/83", "Global Ledger", "83")
    add_finding(engine, ids, "updated", "killed:total", BASE_TOTAL, fig(83, 83, "exact"), "83.")
    create_digest(cfg, engine, clock.utcnow())  # pending, not yet delivered
    heartbeat(engine, "service@a:1")
    with session_scope(engine) as s:  # a worker that died without saying so
        s.add(
            Worker(
                id="service@b:2",
                host="b",
                pid=2,
                started_at=T0 - timedelta(days=1),
                last_seen_at=T0 - timedelta(hours=5),
                state="running",
            )
        )
    lines = status_lines(cfg, engine)
    text = "\n".join(lines)
    assert "last poll: 2026-01-08T05:00:00Z (3 h ago) — 2 feeds, 1 ok, 1 failed" in text
    assert "feeds: 2 enabled, 1 failing" in text and "failing: Bayside — 2 in a row" in text
    assert "last digest: #1 sent 2026-01-08T07:00:00Z (1 h ago) via outbox (8 findings)" in text
    assert "pending digests: 1; findings waiting for the next digest: 0" in text
    assert "workers: 1 live, 1 stale" in text and "live: service@a:1" in text
    data = json.loads(status_lines(cfg, engine, as_json=True)[0])
    assert data["pending_digests"][0]["findings"] == 1
    assert [w["id"] for w in data["workers"]] == ["service@a:1"]
    assert data["last_digest"]["via"] == "outbox"


def test_status_shows_what_each_live_worker_holds(tmp_path: Path) -> None:
    """With several workers, the desk sees who is working on what, and the backlog."""
    import os
    import socket

    from monitor.models import Feed, HostLease

    cfg = make_cfg(tmp_path)
    engine = make_engine(cfg)
    add_poll(engine, "Meridian", "https://m.example/rss", "ok", T0 - timedelta(hours=2))
    add_poll(engine, "Bayside", "https://b.example/rss", "ok", T0 - timedelta(hours=2))
    heartbeat(engine, "service@here")
    me = f"{socket.gethostname()}:{os.getpid()}:"
    with session_scope(engine) as s:
        feeds = s.exec(select(Feed).order_by(Feed.id)).all()
        feeds[0].lease_owner, feeds[0].lease_until = me + "a1b2c3", T0 + timedelta(minutes=1)
        feeds[1].next_poll_at = T0 - timedelta(minutes=1)  # due, nobody on it yet
        s.add(HostLease(host="m.example", owner=me + "a1b2c3", lease_until=T0 + timedelta(1)))
    data = json.loads(status_lines(cfg, engine, as_json=True)[0])
    (w,) = data["workers"]
    assert (w["feeds_held"], w["articles_held"], w["hosts_held"]) == (1, 0, 1)
    assert data["due_now"]["feeds"] >= 1
    text = "\n".join(status_lines(cfg, engine))
    assert "holding 1 feeds, 0 articles, 1 hosts" in text and "last heartbeat" in text
