"""Claiming work so that several workers share one database without doing anything twice.

* **Rows.** A worker takes a *batch* of due feeds (or articles) with ``SELECT … FOR UPDATE
  SKIP LOCKED`` and writes its name and a lease expiry on them. Other workers skip locked and
  leased rows. The lease is short and renewed while the worker works (``renew_leases``), so the
  rows of a worker that dies mid-cycle become claimable again one lease later.
* **Hosts.** A row is only taken when its host is free or already this worker's
  (``host_lease``): one host is fetched from by one worker at a time, so ``network.per_host``
  (enforced inside each worker) holds across workers. A worker hands back a host as soon as
  it holds no more rows on it.
* **Storing.** A result is stored only while its row is still leased to the worker that
  fetched it (``owned_feeds``/``owned_article``), under a row lock: a worker whose lease
  lapsed and was taken over discards its late result instead of storing it a second time.
* **Due.** ``make_due`` turns "poll everything now" (``monitor poll --once``) into due rows,
  so the same batched claiming serves the command and the service.

On SQLite (one worker) the same statements run; ``FOR UPDATE`` is simply not emitted there.
Transient lock conflicts (a PostgreSQL deadlock between two claims, a busy SQLite file) are
retried by ``retrying``.
"""

from __future__ import annotations

import logging
import random
import time
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any, TypeVar

from sqlalchemy import delete, or_, select, update
from sqlalchemy.engine import Engine
from sqlalchemy.exc import DBAPIError
from sqlmodel import Session

from monitor.db import is_postgres, session_scope
from monitor.models import Article, Feed, HostLease

log = logging.getLogger(__name__)
T = TypeVar("T")

# SQLSTATEs that mean "try the transaction again": deadlock, serialization, lock not available.
_RETRY_STATES = {"40P01", "40001", "55P03"}


def _retryable(exc: DBAPIError) -> bool:
    state = getattr(exc.orig, "sqlstate", None) or getattr(exc.orig, "pgcode", None)
    return state in _RETRY_STATES or "database is locked" in str(exc.orig)


def retrying(fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
    """Run a whole transaction again when the database asks for it (it was rolled back)."""
    attempts = 5
    for attempt in range(attempts):
        try:
            return fn(*args, **kwargs)
        except DBAPIError as exc:
            if not _retryable(exc) or attempt == attempts - 1:
                raise
            log.info("retrying after a lock conflict: %s", str(exc.orig).splitlines()[0])
            time.sleep(random.uniform(0.02, 0.1) * (attempt + 1))
    raise AssertionError("unreachable")


def insert_for(engine: Engine, table: Any) -> Any:
    """The dialect's INSERT, which has ``on_conflict_do_*``."""
    if is_postgres(engine):
        from sqlalchemy.dialects.postgresql import insert
    else:
        from sqlalchemy.dialects.sqlite import insert
    return insert(table)


# ---------------------------------------------------------------- hosts


def held_elsewhere(owner: str, now: datetime) -> Any:
    """Hosts another worker is fetching from now (a subquery)."""
    return select(HostLease.host).where(HostLease.lease_until >= now, HostLease.owner != owner)


def host_cap(cfg: Any, engine: Engine) -> int:
    """Hosts one worker holds at a time: as many as its concurrency serves at the per-host
    limit, so other workers find hosts left to take. SQLite has one worker, so no cap: a
    cap there only leaves fetch slots idle while hosts are handed over."""
    if not is_postgres(engine):
        return 1_000_000
    return max(1, cfg["network"]["concurrency"] // cfg["network"]["per_host"])


def choose_hosts(s: Session, ordered: list[str], owner: str, now: datetime, cap: int) -> set[str]:
    """The hosts of a claim: those ``owner`` holds already, then new ones up to ``cap``.

    New hosts are picked in random order: workers that start together see the same due rows
    first, and would otherwise all reach for the same hosts and all but one come away empty.
    """
    mine = set(
        s.execute(
            select(HostLease.host).where(HostLease.owner == owner, HostLease.lease_until >= now)
        ).scalars()
    )
    new = [h for h in dict.fromkeys(ordered) if h not in mine]
    random.shuffle(new)
    return {h for h in ordered if h in mine} | set(new[: max(0, cap - len(mine))])


def take_hosts(
    s: Session, engine: Engine, hosts: set[str], owner: str, now: datetime, until: datetime
) -> set[str]:
    """Lease these hosts to ``owner`` where they are free, expired or already its own.

    Returns the hosts it holds now. A host another worker took a moment ago is left out, and
    its rows are not claimed. Hosts are taken in sorted order so two claims never deadlock.
    """
    if not hosts:
        return set()
    table = HostLease.__table__
    ins = insert_for(engine, table).values(
        [{"host": h, "owner": owner, "lease_until": until} for h in sorted(hosts)]
    )
    stmt = ins.on_conflict_do_update(
        index_elements=["host"],
        set_={"owner": ins.excluded.owner, "lease_until": ins.excluded.lease_until},
        where=or_(table.c.lease_until < now, table.c.owner == owner),
    ).returning(table.c.host)
    return {row[0] for row in s.execute(stmt)}


def release_idle_hosts(engine: Engine, owner: str) -> None:
    """Hand back the hosts on which ``owner`` holds no feed or article any more."""
    busy_feeds = select(Feed.host).where(Feed.lease_owner == owner, Feed.host.is_not(None))
    busy_articles = select(Article.host).where(
        Article.lease_owner == owner, Article.host.is_not(None)
    )
    with session_scope(engine) as s:
        s.execute(
            delete(HostLease).where(
                HostLease.owner == owner,
                HostLease.host.not_in(busy_feeds),
                HostLease.host.not_in(busy_articles),
            )
        )


# ---------------------------------------------------------------- leases


def lease_of(cfg: Any) -> timedelta:
    """How long claimed work stays a worker's without renewal (``poll.lease_seconds``)."""
    return timedelta(seconds=cfg["poll"]["lease_seconds"])


def renew_leases(engine: Engine, owner: str, until: datetime) -> None:
    """Push out the expiry of everything ``owner`` holds (it is still working on it)."""
    with session_scope(engine) as s:
        for model in (Feed, Article):
            s.execute(update(model).where(model.lease_owner == owner).values(lease_until=until))
        s.execute(update(HostLease).where(HostLease.owner == owner).values(lease_until=until))


def release_leases(engine: Engine, owner: str) -> None:
    """Give back everything ``owner`` still holds (the end of its cycle)."""
    with session_scope(engine) as s:
        for model in (Feed, Article):
            s.execute(
                update(model)
                .where(model.lease_owner == owner)
                .values(lease_owner=None, lease_until=None)
            )
        s.execute(delete(HostLease).where(HostLease.owner == owner))


def owned_feeds(s: Session, ids: list[int], owner: str) -> set[int]:
    """The feeds among ``ids`` still leased to ``owner``, locked until the transaction ends."""
    if not ids:
        return set()
    q = select(Feed.id).where(Feed.id.in_(ids), Feed.lease_owner == owner).with_for_update()
    return set(s.execute(q).scalars())


def owned_article(s: Session, article_id: int, owner: str) -> Article | None:
    q = (
        select(Article)
        .where(Article.id == article_id, Article.lease_owner == owner)
        .with_for_update()
    )
    return s.execute(q).scalars().first()


# ---------------------------------------------------------------- due work


def make_due(engine: Engine, now: datetime) -> int:
    """Make every healthy feed due now ("poll now"); returns how many were not due yet.

    A feed polled after ``now`` (by a worker that started a moment earlier) is left alone,
    so workers started together poll each feed once between them; a ``poll --once`` started
    after another has finished some feeds is a new request and polls those again.
    """
    with session_scope(engine) as s:
        res = s.execute(
            update(Feed)
            .where(
                Feed.enabled == True,  # noqa: E712 - SQL expression
                Feed.consecutive_failures == 0,
                or_(Feed.last_polled_at.is_(None), Feed.last_polled_at <= now),
                or_(Feed.lease_until.is_(None), Feed.lease_until < now),
                or_(Feed.next_poll_at.is_(None), Feed.next_poll_at > now),
            )
            .values(next_poll_at=now)
        )
        return res.rowcount or 0
