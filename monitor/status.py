"""``monitor status``: is it working? Last poll, failing feeds, digests, live workers.

Read-only and cheap (a handful of aggregate queries), so it can run beside a busy service.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from sqlalchemy import func, or_
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from monitor.clock import as_utc, iso, utcnow
from monitor.config import Config
from monitor.models import Article, Digest, Feed, Finding, HostLease, PollLog, Worker
from monitor.story import load_story


def _ago(dt: datetime | None, now: datetime) -> str:
    if dt is None:
        return "never"
    secs = int((as_utc(now) - as_utc(dt)).total_seconds())
    if secs < 0:
        return f"{iso(dt)}"
    for unit, size in (("d", 86400), ("h", 3600), ("min", 60)):
        if secs >= size:
            return f"{iso(dt)} ({secs // size} {unit} ago)"
    return f"{iso(dt)} ({secs} s ago)"


def status_data(cfg: Config, engine: Engine) -> dict[str, Any]:
    from monitor.service import WORKER_STALE

    now = utcnow()
    story_key = load_story(cfg.story_folder).key
    with Session(engine) as s:
        last_poll = s.exec(select(PollLog).order_by(PollLog.started_at.desc())).first()  # type: ignore[union-attr]
        cycle_logs: list[PollLog] = []
        if last_poll is not None:
            # The last cycle: every poll that started within a minute of the latest one.
            window = as_utc(last_poll.started_at).timestamp() - 60
            cycle_logs = [
                p
                for p in s.exec(select(PollLog).order_by(PollLog.started_at.desc()).limit(500))  # type: ignore[union-attr]
                if as_utc(p.started_at).timestamp() >= window
            ]
        feeds = list(s.exec(select(Feed).where(Feed.enabled == True)))  # noqa: E712
        failing = [f for f in feeds if f.consecutive_failures > 0]
        last_sent = s.exec(
            select(Digest)
            .where(Digest.story_key == story_key, Digest.status == "sent")
            .order_by(Digest.sent_at.desc())  # type: ignore[union-attr]
        ).first()
        pending = list(
            s.exec(
                select(Digest)
                .where(Digest.story_key == story_key, Digest.status != "sent")
                .order_by(Digest.period_end)
            )
        )
        waiting = s.exec(
            select(func.count())
            .select_from(Finding)
            .where(Finding.story_key == story_key, Finding.digest_id.is_(None))
        ).one()
        workers = list(s.exec(select(Worker).order_by(Worker.last_seen_at.desc())))  # type: ignore[union-attr]
        held = _held(s, now)
        due_feeds = s.exec(
            select(func.count())
            .select_from(Feed)
            .where(
                Feed.enabled == True,  # noqa: E712
                or_(Feed.next_poll_at.is_(None), Feed.next_poll_at <= now),
            )
        ).one()
        due_articles = s.exec(
            select(func.count())
            .select_from(Article)
            .where(Article.story_key == story_key, Article.next_fetch_at <= now)
        ).one()
    live = [
        w
        for w in workers
        if w.state == "running" and as_utc(now) - as_utc(w.last_seen_at) <= WORKER_STALE
    ]
    return {
        "now": iso(now),
        "last_poll": None
        if last_poll is None
        else {
            "started_at": iso(last_poll.started_at),
            "feeds": len(cycle_logs),
            "ok": sum(1 for p in cycle_logs if p.status in ("ok", "not_modified")),
            "errors": sum(1 for p in cycle_logs if p.status == "error"),
        },
        "feeds": {
            "enabled": len(feeds),
            "failing": [
                {
                    "name": f.name,
                    "url": f.url,
                    "failures": f.consecutive_failures,
                    "last_error": f.last_error,
                    "last_error_at": iso(f.last_error_at),
                    "last_success_at": iso(f.last_success_at),
                    "next_poll_at": iso(f.next_poll_at),
                }
                for f in failing
            ],
        },
        "last_digest": None
        if last_sent is None
        else {
            "id": last_sent.id,
            "sent_at": iso(last_sent.sent_at),
            "subject": last_sent.subject,
            "findings": last_sent.finding_count,
            "via": last_sent.delivered_via,
            "location": last_sent.location,
        },
        "pending_digests": [
            {
                "id": d.id,
                "status": d.status,
                "period_end": iso(d.period_end),
                "findings": d.finding_count,
                "attempts": d.attempts,
                "last_error": d.last_error,
            }
            for d in pending
        ],
        "findings_waiting": int(waiting),
        "due_now": {"feeds": int(due_feeds), "articles": int(due_articles)},
        "workers": [
            {
                "id": w.id,
                "host": w.host,
                "pid": w.pid,
                "started_at": iso(w.started_at),
                "last_seen_at": iso(w.last_seen_at),
                **_holding(held, w),
            }
            for w in live
        ],
        "stale_workers": sum(1 for w in workers if w.state == "running" and w not in live),
    }


def status_lines(cfg: Config, engine: Engine, as_json: bool = False) -> list[str]:
    data = status_data(cfg, engine)
    if as_json:
        return [json.dumps(data, ensure_ascii=False)]
    now = utcnow()
    lines = []
    lp = data["last_poll"]
    if lp is None:
        lines.append("last poll: never (run `monitor poll --once` or `monitor run`)")
    else:
        lines.append(
            f"last poll: {_ago(_parse(lp['started_at']), now)} — {lp['feeds']} feeds, "
            f"{lp['ok']} ok, {lp['errors']} failed"
        )
    fails = data["feeds"]["failing"]
    lines.append(f"feeds: {data['feeds']['enabled']} enabled, {len(fails)} failing")
    for f in fails:
        lines.append(
            f"  failing: {f['name'] or f['url']} — {f['failures']} in a row, last error "
            f"{f['last_error_at']}: {f['last_error']}; next try {f['next_poll_at']}"
        )
    ld = data["last_digest"]
    if ld is None:
        lines.append("last digest: none sent yet")
    else:
        lines.append(
            f"last digest: #{ld['id']} sent {_ago(_parse(ld['sent_at']), now)} via "
            f"{ld['via']} ({ld['findings']} findings) — {ld['subject']}"
        )
    pend = data["pending_digests"]
    lines.append(
        f"pending digests: {len(pend)}; findings waiting for the next digest: "
        f"{data['findings_waiting']}"
    )
    for d in pend:
        lines.append(
            f"  pending: #{d['id']} ({d['status']}, {d['findings']} findings, "
            f"{d['attempts']} attempts) last error: {d['last_error'] or '—'}"
        )
    due = data["due_now"]
    lines.append(f"due now: {due['feeds']} feeds, {due['articles']} article re-fetches")
    workers = data["workers"]
    stale = f", {data['stale_workers']} stale" if data["stale_workers"] else ""
    lines.append(f"workers: {len(workers)} live{stale}")
    for w in workers:
        lines.append(
            f"  live: {w['id']} since {w['started_at']}, last heartbeat "
            f"{_ago(_parse(w['last_seen_at']), now)}; holding {w['feeds_held']} feeds, "
            f"{w['articles_held']} articles, {w['hosts_held']} hosts"
        )
    return lines


def _held(s: Session, now: datetime) -> dict[str, dict[str, int]]:
    """Live leases per lease owner: what each worker is working on right now."""
    out: dict[str, dict[str, int]] = {}
    for key, model, col, until in (
        ("feeds_held", Feed, Feed.lease_owner, Feed.lease_until),
        ("articles_held", Article, Article.lease_owner, Article.lease_until),
        ("hosts_held", HostLease, HostLease.owner, HostLease.lease_until),
    ):
        rows = s.exec(
            select(col, func.count()).select_from(model).where(until >= now).group_by(col)
        )
        for owner, n in rows:
            if owner:
                out.setdefault(owner, {})[key] = int(n)
    return out


def _holding(held: dict[str, dict[str, int]], w: Worker) -> dict[str, int]:
    """A worker's leases: its cycles lease as "host:pid:…" (``monitor.cycle.worker_id``)."""
    prefix = f"{w.host}:{w.pid}:"
    total = {"feeds_held": 0, "articles_held": 0, "hosts_held": 0}
    for owner, counts in held.items():
        if owner.startswith(prefix):
            for key, n in counts.items():
                total[key] += n
    return total


def _parse(value: str | None) -> datetime | None:
    from monitor.clock import parse_iso

    return parse_iso(value) if value else None
