"""One poll cycle: feeds → entries → articles → versions → (claims and findings).

Shape of the work, and why:
- Feeds and articles are *claimed* with a lease (``lease_owner``/``lease_until``) so two workers
  on PostgreSQL never take the same row (``SELECT … FOR UPDATE SKIP LOCKED``); SQLite runs a
  single worker and the same statements simply lock the file.
- Fetching is asyncio + httpx (``monitor.fetch``); parsing and extraction are CPU-bound, so
  they run in a process pool when there is enough work (a thread for a handful), never on the
  event loop. One writer coroutine stores results in batches, one transaction per batch.
- A feed that fails is recorded in the poll log with its reason and backs off exponentially;
  nothing one feed does stops the others.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import os
import socket
import sys
import uuid
from collections.abc import Awaitable, Callable
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import bindparam, func, or_, update
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from monitor.articles import (
    Extracted,
    compress_html,
    extract_or_reason,
    feed_fallback,
    next_refetch,
    outlet_for,
    text_sha256,
)
from monitor.claims import (
    choose_hosts,
    held_elsewhere,
    host_cap,
    insert_for,
    lease_of,
    make_due,
    owned_article,
    owned_feeds,
    release_idle_hosts,
    release_leases,
    renew_leases,
    retrying,
    take_hosts,
)
from monitor.clock import utcnow
from monitor.config import Config
from monitor.db import is_postgres, session_scope
from monitor.entries import EntryFields
from monitor.errors import BlockedAddress, FetchError
from monitor.feedparse import ParsedFeed, parse_for_poll, score_entries, unscored
from monitor.fetch import Fetcher, FetchResult, HTTPStatusError
from monitor.hosts import host_of
from monitor.models import Article, ArticleVersion, Entry, Feed, PollLog
from monitor.sqltypes import UTCTime
from monitor.story import Story, load_story

log = logging.getLogger(__name__)

FEED_ACCEPT = (
    "application/rss+xml, application/atom+xml, application/rdf+xml, application/xml;q=0.9, "
    "text/xml;q=0.9, */*;q=0.5"
)
PAGE_ACCEPT = "text/html, application/xhtml+xml;q=0.9, */*;q=0.5"
PROCESS_POOL_MIN = 16  # fewer jobs than this parse in a thread: a pool costs more to start
WRITE_BATCH = 200
FEED_BATCH = 100  # feeds claimed at a time (at least two per concurrent fetch)
ARTICLE_BATCH = 25
FLUSH_SECONDS = 0.5  # results wait at most about this long in a lull before being stored
MAX_ARTICLES_PER_CYCLE = 2000


@dataclass
class CycleSummary:
    feeds_ok: int = 0
    feeds_failed: int = 0
    feeds_not_modified: int = 0
    new_items: int = 0
    changed_items: int = 0
    articles_fetched: int = 0
    article_errors: int = 0
    new_versions: int = 0
    feeds_waiting: int = 0  # enabled but backing off, disabled by failures, or leased elsewhere
    problems: list[str] = field(default_factory=list)

    def did_work(self) -> bool:
        return bool(
            self.feeds_ok + self.feeds_failed + self.feeds_not_modified + self.articles_fetched
            or self.article_errors
        )

    def add(self, other: CycleSummary) -> None:
        for name in self.__dataclass_fields__:
            if name != "problems":
                setattr(self, name, getattr(self, name) + getattr(other, name))
        self.problems.extend(other.problems)

    def line(self) -> str:
        waiting = f", {self.feeds_waiting} backing off or taken" if self.feeds_waiting else ""
        return (
            f"feeds: {self.feeds_ok} ok, {self.feeds_failed} failed, "
            f"{self.feeds_not_modified} not modified{waiting}; {self.new_items} new items, "
            f"{self.changed_items} changed; {self.articles_fetched} articles fetched, "
            f"{self.new_versions} new versions, {self.article_errors} article errors"
        )


def worker_id() -> str:
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:6]}"


# ---------------------------------------------------------------- claiming (leases)


@dataclass
class FeedJob:
    id: int
    url: str  # where to fetch now (after permanent redirects)
    name: str
    etag: str | None
    last_modified: str | None
    conditional: bool  # False when the periodic full fetch is due
    body_sha256: str | None
    failures: int


@dataclass
class Claimed:
    """One claim's result. ``seen`` counts the due rows found, taken or not (a row whose host
    another worker took a moment ago is seen but not taken), so a caller can tell "nothing
    due" from "lost a race, ask again". ``capped``: rows were left because this worker holds
    as many hosts as it may; it can take them once it hands a host back. ``lost``: another
    worker took one of the chosen hosts a moment before."""

    jobs: list[Any]
    seen: int
    capped: bool = False
    lost: bool = False


def _feed_conditions(cfg: Config, owner: str, now: datetime, slack: timedelta) -> list[Any]:
    disable_after = cfg["poll"]["disable_after_failures"]
    conditions = [
        Feed.enabled == True,  # noqa: E712 - SQL expression
        or_(Feed.lease_until.is_(None), Feed.lease_until < now),
        # Due: never polled, its interval is up, or its back-off after failures is over.
        or_(Feed.next_poll_at.is_(None), Feed.next_poll_at <= now + slack),
        or_(Feed.host.is_(None), Feed.host.not_in(held_elsewhere(owner, now))),
    ]
    if disable_after:
        conditions.append(Feed.consecutive_failures < disable_after)
    return conditions


def claim_feed_batch(
    cfg: Config,
    engine: Engine,
    owner: str,
    now: datetime,
    limit: int | None = None,
    *,
    slack: timedelta = timedelta(0),
) -> Claimed:
    """Take up to ``limit`` due feeds whose host is free (or this worker's), and lease them."""
    full_every = timedelta(hours=cfg["poll"]["full_fetch_hours"])
    until = now + lease_of(cfg)
    conditions = _feed_conditions(cfg, owner, now, slack)
    order = (Feed.next_poll_at.asc().nulls_first(), Feed.id)
    # A few feeds per host in each batch: a batch then spans many hosts, so the fetches are
    # not queued behind one host's limit, and other workers find hosts left to take.
    per_host = cfg["network"]["per_host"] * 4
    ranked = (
        select(Feed.id, func.row_number().over(partition_by=Feed.host, order_by=order).label("n"))
        .where(*conditions)
        .subquery()
    )
    q = (
        select(
            Feed.id,
            Feed.url,
            Feed.current_url,
            Feed.name,
            Feed.host,
            Feed.etag,
            Feed.last_modified,
            Feed.last_full_fetch_at,
            Feed.body_sha256,
            Feed.consecutive_failures,
        )
        .where(Feed.id.in_(select(ranked.c.id).where(ranked.c.n <= per_host)), *conditions)
        .order_by(*order)
        .limit(limit)
        .with_for_update(skip_locked=True, of=Feed)  # PostgreSQL; SQLite has one writer
    )
    with session_scope(engine) as s:
        rows = s.exec(q).all()
        if not rows:  # none free: due rows that another worker's transaction has locked?
            return Claimed([], _count(s, Feed, conditions))
        kept, claimed = _on_hosts_taken(s, cfg, engine, rows, owner, now, until)
        jobs = [
            FeedJob(
                r.id,
                r.current_url or r.url,
                r.name,
                r.etag,
                r.last_modified,
                r.last_full_fetch_at is not None and now - r.last_full_fetch_at < full_every,
                r.body_sha256,
                r.consecutive_failures,
            )
            for r in kept
        ]
        ids = [j.id for j in jobs]
        for i in range(0, len(ids), 500):  # one statement per chunk, not one per feed
            s.execute(
                update(Feed)
                .where(Feed.id.in_(ids[i : i + 500]))
                .values(lease_owner=owner, lease_until=until)
            )
    claimed.jobs = jobs
    return claimed


def _on_hosts_taken(
    s: Session,
    cfg: Config,
    engine: Engine,
    rows: list[Any],
    owner: str,
    now: datetime,
    until: datetime,
) -> tuple[list[Any], Claimed]:
    """Take the hosts of a claim's rows (those this worker holds, then new ones up to its
    cap); returns the rows on hosts it now holds, and the claim's tally without its jobs."""
    seen = {r.host for r in rows if r.host}
    wanted = choose_hosts(s, [r.host for r in rows if r.host], owner, now, host_cap(cfg, engine))
    hosts = take_hosts(s, engine, wanted, owner, now, until)
    kept = [r for r in rows if not r.host or r.host in hosts]
    return kept, Claimed([], len(rows), capped=bool(seen - wanted), lost=bool(wanted - hosts))


def _count(s: Session, model: Any, conditions: list[Any]) -> int:
    """Due rows, locked or not: workers starting together briefly lock rows in their own
    claims, and a worker that found none free should ask again, not stop."""
    return int(s.exec(select(func.count()).select_from(model).where(*conditions)).one())


def claim_feeds(
    cfg: Config, engine: Engine, owner: str, now: datetime, limit: int | None = None
) -> list[FeedJob]:
    """Take every (or up to ``limit``) due feed that no other worker holds."""
    return retrying(claim_feed_batch, cfg, engine, owner, now, limit).jobs


@dataclass
class ArticleJob:
    id: int
    url: str
    link: str
    title: str
    feed_name: str
    first_seen_at: datetime
    fallback_content: str


def claim_article_batch(
    cfg: Config, engine: Engine, story_key: str, owner: str, now: datetime, limit: int
) -> Claimed:
    """Take up to ``limit`` due article fetches whose host is free (or this worker's)."""
    conditions = [
        Article.story_key == story_key,
        Article.next_fetch_at.is_not(None),
        Article.next_fetch_at <= now,
        or_(Article.lease_until.is_(None), Article.lease_until < now),
        or_(Article.host.is_(None), Article.host.not_in(held_elsewhere(owner, now))),
    ]
    q = (
        select(Article)
        .where(*conditions)
        .order_by(Article.next_fetch_at, Article.id)
        .limit(limit)
        .with_for_update(skip_locked=True, of=Article)
    )
    jobs = []
    until = now + lease_of(cfg)
    with session_scope(engine) as s:
        rows = s.exec(q).all()
        if not rows:
            return Claimed([], _count(s, Article, conditions))
        kept, claimed = _on_hosts_taken(s, cfg, engine, rows, owner, now, until)
        for a in kept:
            a.lease_owner, a.lease_until = owner, until
            entry = s.exec(
                select(Entry).where(Entry.article_id == a.id).order_by(Entry.last_seen_at.desc())
            ).first()
            feed = s.get(Feed, entry.feed_id) if entry else None
            jobs.append(
                ArticleJob(
                    id=a.id,
                    url=a.url,
                    # The canonical URL: tracking parameters only tell the site where we came
                    # from, and one URL for every feed's copy keeps fetches and caches single.
                    link=a.url,
                    title=a.title,
                    feed_name=feed.name if feed else a.outlet,
                    first_seen_at=a.first_seen_at or now,
                    fallback_content=(entry.summary or "") if entry else "",
                )
            )
    claimed.jobs = jobs
    return claimed


# ---------------------------------------------------------------- CPU work off the loop


_POOLS: dict[int, ProcessPoolExecutor] = {}


def _shared_pool(processes: int) -> ProcessPoolExecutor:
    """One pool per size for the life of the process: a service polling every half hour (or
    a benchmark's rounds) pays for starting workers once."""
    pool = _POOLS.get(processes)
    if pool is None:
        import atexit
        import multiprocessing

        # forkserver: workers start small and clean, not as a copy of this process with its
        # threads and heap; the server preloads the parser so each worker starts warm (and
        # never re-imports the caller's __main__).
        ctx = multiprocessing.get_context("forkserver")
        ctx.set_forkserver_preload(["monitor.feedparse", "monitor.articles"])
        pool = _POOLS[processes] = ProcessPoolExecutor(processes, mp_context=ctx)
        atexit.register(pool.shutdown, wait=False, cancel_futures=True)
    return pool


class Runner:
    """Runs CPU-bound functions in a process pool (or a thread for small jobs)."""

    def __init__(self, processes: int) -> None:
        self.processes = processes

    async def run(self, fn: Callable[..., Any], *args: Any) -> Any:
        if self.processes <= 1:
            return await asyncio.to_thread(fn, *args)
        pool = _shared_pool(self.processes)
        try:
            return await asyncio.get_running_loop().run_in_executor(pool, fn, *args)
        except BrokenProcessPool:  # a worker died (out of memory, killed): start afresh
            _POOLS.pop(self.processes, None)
            raise

    def close(self) -> None:
        """Nothing to do: the pool outlives the cycle (see ``_shared_pool``)."""


SHARE_ENV = "MONITOR_WORKERS_ON_HOST"  # set by ``monitor run --workers N`` for its workers


def _pool_size(jobs: int) -> int:
    """A parse pool of this worker's share of the machine's CPUs (N workers on one machine
    share them; a pool each of every CPU would only queue processes on the cores). A share of
    one CPU parses in a thread: a pool of one costs more than it gives."""
    cpus = os.cpu_count() or 1
    try:
        neighbours = max(1, int(os.environ.get(SHARE_ENV, "1")))
    except ValueError:
        neighbours = 1
    share = max(1, cpus // neighbours)
    return share if jobs >= PROCESS_POOL_MIN and cpus > 1 else 0


# ---------------------------------------------------------------- feed outcomes


@dataclass
class FeedOutcome:
    job: FeedJob
    status: str  # ok | not_modified | error
    started_at: datetime
    finished_at: datetime
    http_status: int | None = None
    error: str | None = None  # the reason (a warning when status is ok)
    retry_after: float | None = None
    parsed: ParsedFeed | None = None
    etag: str | None = None
    last_modified: str | None = None
    body_sha256: str | None = None
    size: int = 0
    moved_to: str | None = None
    full_fetch: bool = False


async def poll_one(
    job: FeedJob, fetcher: Fetcher, runner: Runner, story_folder: str
) -> FeedOutcome:
    started = utcnow()
    out = FeedOutcome(job=job, status="error", started_at=started, finished_at=started)
    etag = job.etag if job.conditional else None
    modified = job.last_modified if job.conditional else None
    out.full_fetch = not (etag or modified)
    try:
        res: FetchResult = await fetcher.fetch(
            job.url, guard=False, etag=etag, last_modified=modified, accept=FEED_ACCEPT
        )
        out.http_status, out.moved_to = res.status, res.moved_to
        out.etag = res.etag or (job.etag if res.not_modified else None)
        out.last_modified = res.last_modified or (job.last_modified if res.not_modified else None)
        if res.not_modified:
            out.status = "not_modified"
        else:
            out.size = len(res.body)
            out.body_sha256 = hashlib.sha256(res.body).hexdigest()
            if out.body_sha256 == job.body_sha256:
                out.status = "not_modified"  # the same bytes as last time: nothing to parse
            else:
                # A feed's first fetch: every entry is new, so score them in the worker too.
                score = story_folder if job.body_sha256 is None else None
                parsed = await runner.run(
                    parse_for_poll, res.body, res.final_url, res.content_type, score
                )
                if parsed.is_feed:
                    out.status, out.parsed, out.error = "ok", parsed, parsed.reason or None
                else:
                    out.error = parsed.reason
    except HTTPStatusError as exc:
        out.http_status, out.error, out.retry_after = exc.status, str(exc), exc.retry_after
    except FetchError as exc:
        out.error = str(exc)
    except Exception as exc:  # noqa: BLE001 - one feed must never stop the others
        log.exception("feed %s", job.url)
        out.error = f"internal error: {type(exc).__name__}: {exc}"[:500]
    out.finished_at = utcnow()
    return out


def backoff(cfg: Config, failures: int, retry_after: float | None) -> timedelta:
    """Exponential from the poll interval, capped; a server's Retry-After is respected."""
    base = timedelta(minutes=cfg["poll"]["interval_minutes"])
    cap = timedelta(hours=cfg["poll"]["max_backoff_hours"])
    delay = min(base * (2 ** min(failures, 20)), cap)
    if retry_after is not None:
        delay = max(delay, min(timedelta(seconds=retry_after), cap))
    return delay


def _article_ids(
    s: Session,
    engine: Engine,
    story: Story,
    wanted: dict[str, tuple[EntryFields, str]],
    now: datetime,
) -> dict[str, int]:
    """Get or create one article per canonical URL (the same article via two feeds is one)."""
    if not wanted:
        return {}
    urls = list(wanted)
    rows = [
        dict(
            story_key=story.key,
            url=u,
            outlet=outlet,
            title=e.title,
            published_at=e.published_at,
            first_seen_at=now,
            next_fetch_at=now,
            fetch_count=0,
            relevance_reasons=[],
            host=host_of(u),
        )
        # Sorted: two workers inserting overlapping URLs take the unique-index locks in one
        # order, so they wait for each other instead of deadlocking.
        for u, (e, outlet) in sorted(wanted.items())
    ]
    stmt = insert_for(engine, Article.__table__).on_conflict_do_nothing(
        index_elements=["story_key", "url"]
    )
    s.execute(stmt, rows)
    found = s.exec(
        select(Article.id, Article.url).where(Article.story_key == story.key, Article.url.in_(urls))
    ).all()
    return {url: aid for aid, url in found}


def store_feed_batch(
    engine: Engine,
    cfg: Config,
    story: Story,
    batch: list[FeedOutcome],
    summary: CycleSummary,
    owner: str | None = None,
) -> None:
    """One transaction per batch of feed results: rows loaded together, logs inserted together.

    With ``owner``, only results for feeds still leased to it are stored (a lapsed lease that
    another worker took over means that worker's result counts, not this one).
    """
    with session_scope(engine) as s:
        if owner is not None:
            mine = owned_feeds(s, [o.job.id for o in batch], owner)
            lost = [o for o in batch if o.job.id not in mine]
            if lost:
                log.warning("%d feed results dropped: their leases were taken over", len(lost))
            batch = [o for o in batch if o.job.id in mine]
        quiet = [o for o in batch if o.status == "not_modified"]
        busy = [o for o in batch if o.status != "not_modified"]
        logs = _store_not_modified(s, cfg, quiet, summary)
        ids = [out.job.id for out in busy]
        feeds = {f.id: f for f in s.exec(select(Feed).where(Feed.id.in_(ids))).all()} if ids else {}
        logs += [
            store_feed_outcome(s, engine, cfg, story, feeds[out.job.id], out, summary)
            for out in busy
            if out.job.id in feeds
        ]
        if logs:
            s.execute(insert_for(engine, PollLog.__table__), logs)


def _store_not_modified(
    s: Session, cfg: Config, batch: list[FeedOutcome], summary: CycleSummary
) -> list[dict[str, Any]]:
    """The common case, most feeds on most polls: one executemany UPDATE, no ORM objects."""
    if not batch:
        return []
    interval = timedelta(minutes=cfg["poll"]["interval_minutes"])
    rows = []
    for out in batch:
        now = out.finished_at
        rows.append(
            dict(
                fid=out.job.id,
                etag=out.etag,
                last_modified=out.last_modified,
                polled=now,
                # From the poll's start: the schedule does not drift by the fetch time.
                next_poll=out.started_at + interval,
                # A 200 whose bytes matched the last body counts as a full fetch.
                full=now if out.full_fetch and out.http_status != 304 else None,
                sha=out.body_sha256,
                moved=out.moved_to,
                moved_host=host_of(out.moved_to),
            )
        )
    stmt = (
        update(Feed.__table__)
        .where(Feed.__table__.c.id == bindparam("fid"))
        .values(
            etag=bindparam("etag"),
            last_modified=bindparam("last_modified"),
            last_polled_at=bindparam("polled"),
            last_success_at=bindparam("polled"),
            next_poll_at=bindparam("next_poll"),
            consecutive_failures=0,
            lease_owner=None,
            lease_until=None,
            last_full_fetch_at=func.coalesce(
                bindparam("full", type_=UTCTime()), Feed.__table__.c.last_full_fetch_at
            ),
            body_sha256=func.coalesce(bindparam("sha"), Feed.__table__.c.body_sha256),
            current_url=func.coalesce(bindparam("moved"), Feed.__table__.c.current_url),
            host=func.coalesce(bindparam("moved_host"), Feed.__table__.c.host),
        )
    )
    s.execute(stmt, rows)
    summary.feeds_not_modified += len(batch)
    return [_log_row(out, 0, 0) for out in batch]


def store_feed_outcome(
    s: Session,
    engine: Engine,
    cfg: Config,
    story: Story,
    feed: Feed,
    out: FeedOutcome,
    summary: CycleSummary,
) -> dict[str, Any]:
    """Update the feed's health and store its entries; returns the poll-log row."""
    now = out.finished_at
    feed.last_polled_at, feed.lease_owner, feed.lease_until = now, None, None
    entries_n = new_n = 0
    if out.status == "error":
        feed.consecutive_failures += 1
        feed.last_error, feed.last_error_at = out.error, now
        feed.next_poll_at = now + backoff(cfg, feed.consecutive_failures, out.retry_after)
        summary.feeds_failed += 1
        summary.problems.append(f"{feed.name or feed.url}: {out.error}")
    else:
        if out.moved_to and out.moved_to != (feed.current_url or feed.url):
            feed.current_url, feed.host = out.moved_to, host_of(out.moved_to)
        feed.etag, feed.last_modified = out.etag, out.last_modified
        feed.last_success_at, feed.consecutive_failures = now, 0
        feed.next_poll_at = out.started_at + timedelta(minutes=cfg["poll"]["interval_minutes"])
        if out.full_fetch and out.http_status != 304:
            feed.last_full_fetch_at = now
        if out.body_sha256:
            feed.body_sha256 = out.body_sha256
        if out.status == "not_modified":
            summary.feeds_not_modified += 1
        else:
            summary.feeds_ok += 1
            if out.error:  # an ill-formed feed that still parsed: keep the warning visible
                feed.last_error, feed.last_error_at = out.error, now
            entries_n, new_n = _store_entries(s, engine, story, feed, out.parsed, now, summary)
            feed.items_seen += new_n
    return _log_row(out, entries_n, new_n)


def _log_row(out: FeedOutcome, entries_n: int, new_n: int) -> dict[str, Any]:
    return dict(
        feed_id=out.job.id,
        started_at=out.started_at,
        finished_at=out.finished_at,
        status=out.status,
        http_status=out.http_status,
        error=out.error,
        entries=entries_n,
        new_entries=new_n,
        bytes=out.size,
        duration_ms=int((out.finished_at - out.started_at).total_seconds() * 1000),
    )


def _store_entries(
    s: Session,
    engine: Engine,
    story: Story,
    feed: Feed,
    parsed: ParsedFeed | None,
    now: datetime,
    summary: CycleSummary,
) -> tuple[int, int]:
    if parsed is None:
        return 0, 0
    existing = {
        row.entry_key: row
        for row in s.exec(
            select(
                Entry.id, Entry.entry_key, Entry.content_sha256, Entry.updated_at, Entry.article_id
            ).where(Entry.feed_id == feed.id)
        ).all()
    }
    new = [e for e in parsed.entries if e.key not in existing]
    changed = [
        e
        for e in parsed.entries
        if e.key in existing
        and (
            existing[e.key].content_sha256 != e.content_sha256
            or (e.updated_at is not None and existing[e.key].updated_at != e.updated_at)
        )
    ]
    changed_keys = {e.key for e in changed}
    unchanged_ids = [
        existing[e.key].id
        for e in parsed.entries
        if e.key in existing and e.key not in changed_keys
    ]
    # Lenient relevance only for what is new or changed (the rest was decided before).
    score_entries(unscored(new + changed), story)
    outlet = feed.name
    want: dict[str, tuple[EntryFields, str]] = {}
    for e in new + changed:
        if (
            e.relevant
            and e.article_url
            and not (e.key in changed_keys and existing[e.key].article_id)
        ):
            want.setdefault(e.article_url, (e, outlet or _host(e.article_url)))
    ids = _article_ids(s, engine, story, want, now)
    if new:
        rows = [
            _entry_row(feed.id, e, ids.get(e.article_url or "") if e.relevant else None, now)
            for e in new
        ]
        stmt = insert_for(engine, Entry.__table__).on_conflict_do_nothing(
            index_elements=["feed_id", "entry_key"]
        )
        s.execute(stmt, rows)
    for e in changed:
        row = existing[e.key]
        article_id = row.article_id or (ids.get(e.article_url or "") if e.relevant else None)
        values = _entry_row(feed.id, e, article_id, now)
        values.pop("first_seen_at")
        s.execute(update(Entry).where(Entry.id == row.id).values(**values))
        if row.article_id:  # the item changed: look at the page again now (silent edits)
            s.execute(update(Article).where(Article.id == row.article_id).values(next_fetch_at=now))
    if unchanged_ids:
        s.execute(update(Entry).where(Entry.id.in_(unchanged_ids)).values(last_seen_at=now))
    summary.new_items += len(new)
    summary.changed_items += len(changed)
    return len(parsed.entries), len(new)


def _host(url: str) -> str:
    from urllib.parse import urlsplit

    return (urlsplit(url).hostname or "").removeprefix("www.")


def _entry_row(feed_id: int, e: EntryFields, article_id: int | None, now: datetime) -> dict:
    return dict(
        feed_id=feed_id,
        entry_key=e.key,
        article_id=article_id,
        title=e.title,
        link=e.link,
        # The fullest text the feed gives: the article's fallback when its page fails.
        summary=e.content or e.summary,
        published_at=e.published_at,
        updated_at=e.updated_at,
        content_sha256=e.content_sha256,
        relevance_score=e.relevance_score,
        relevant=e.relevant,
        first_seen_at=now,
        last_seen_at=now,
    )


# ---------------------------------------------------------------- articles


@dataclass
class ArticleOutcome:
    job: ArticleJob
    fetched_at: datetime
    extracted: Extracted | None = None
    source: str = "page"
    http_status: int | None = None
    raw_html: bytes | None = None
    error: str | None = None


async def fetch_article(job: ArticleJob, fetcher: Fetcher, runner: Runner) -> ArticleOutcome:
    out = ArticleOutcome(job=job, fetched_at=utcnow())
    page_error: str | None = None
    try:
        res = await fetcher.fetch(job.link, guard=True, accept=PAGE_ACCEPT)
        out.http_status = res.status
        got = await runner.run(extract_or_reason, res.body, res.final_url)
        if isinstance(got, str):
            page_error = got
        else:
            out.extracted, out.raw_html = got, res.body
    except BlockedAddress as exc:
        out.error = str(exc)  # refused outright: nothing from this link is used
        return out
    except FetchError as exc:
        page_error = str(exc)
    except Exception as exc:  # noqa: BLE001 - one article must never stop the others
        log.exception("article %s", job.url)
        page_error = f"internal error: {type(exc).__name__}: {exc}"[:500]
    if out.extracted is None:
        fallback = feed_fallback(job.title, job.fallback_content, "")
        if fallback is None:
            out.error = page_error
        else:
            out.extracted, out.source = fallback, "feed"
    out.fetched_at = utcnow()
    return out


def _article_relevance(title: str, text: str, story: Story) -> tuple[float | None, bool, list]:
    try:
        from monitor.relevance import article_relevance
    except ImportError:  # not landed yet: every article counts as relevant
        return None, True, []
    res = article_relevance(title, text, story)
    return float(res.score), bool(res.relevant), list(res.reasons)


def _process_version(
    s: Session,
    story: Story,
    article: Article,
    version: ArticleVersion,
    previous: ArticleVersion | None,
) -> str | None:
    """Hand a new relevant version to the comparison step; its failure is reported, not fatal."""
    try:
        from monitor.findings import process_version
    except ImportError:
        return None
    try:
        with s.begin_nested():
            process_version(s, story, article, version, previous)
    except Exception as exc:  # noqa: BLE001 - the version stays stored; findings can be re-run
        log.exception("findings for %s", article.url)
        return f"findings failed for {article.url}: {type(exc).__name__}: {exc}"[:500]
    return None


def store_article_outcome(
    s: Session,
    cfg: Config,
    story: Story,
    out: ArticleOutcome,
    summary: CycleSummary,
    owner: str | None = None,
) -> None:
    """Store one fetch: health, relevance, a new version if the text changed, its findings.

    With ``owner``, nothing is stored unless the article is still leased to it (row-locked
    until commit), so a result is never stored twice by two workers.
    """
    art = s.get(Article, out.job.id) if owner is None else owned_article(s, out.job.id, owner)
    if art is None:
        if owner is not None:
            log.warning("article %s: result dropped, its lease was taken over", out.job.url)
        return
    now = out.fetched_at
    art.lease_owner, art.lease_until = None, None
    art.fetch_count += 1
    art.last_fetched_at = now
    art.next_fetch_at = next_refetch(out.job.first_seen_at, now, cfg["poll"]["refetch_hours"])
    if out.extracted is None:
        art.last_error = out.error or "fetch failed"
        summary.article_errors += 1
        return
    summary.articles_fetched += 1
    ex = out.extracted
    art.last_error = None
    if ex.title and out.source == "page":
        art.title = ex.title
    if art.published_at is None and ex.published_at is not None:
        art.published_at = ex.published_at
    art.outlet = outlet_for(out.job.feed_name, ex.sitename, art.url)
    score, relevant, reasons = _article_relevance(art.title, ex.text, story)
    art.relevance_score, art.relevant, art.relevance_reasons = score, relevant, reasons
    sha = text_sha256(ex.text)
    seen = s.exec(
        select(ArticleVersion.id).where(
            ArticleVersion.article_id == art.id, ArticleVersion.text_sha256 == sha
        )
    ).first()
    if seen is not None:
        return  # the same text (or a revert to an earlier one): no new version
    previous = s.exec(
        select(ArticleVersion)
        .where(ArticleVersion.article_id == art.id)
        .order_by(ArticleVersion.version.desc())
    ).first()
    version = ArticleVersion(
        article_id=art.id,
        version=(previous.version + 1) if previous else 1,
        text_sha256=sha,
        title=art.title,
        text=ex.text,
        source=out.source,
        extractor=ex.extractor,
        http_status=out.http_status,
        fetched_at=now,
        raw_html=compress_html(out.raw_html) if out.raw_html else None,
        relevance_score=score,
        relevant=relevant,
    )
    s.add(version)
    s.flush()
    summary.new_versions += 1
    if relevant:
        problem = _process_version(s, story, art, version, previous)
        if problem:
            art.last_error = problem


# ---------------------------------------------------------------- the cycle


class _Bar:
    """click.progressbar on stderr, or nothing; its length grows as work is claimed."""

    def __init__(self, show: bool, label: str) -> None:
        self.show, self.label, self.bar = show, label, None

    def __enter__(self) -> _Bar:
        return self

    def __exit__(self, *exc: object) -> None:
        if self.bar is not None:
            self.bar.__exit__(*exc)

    def grow(self, n: int) -> None:
        if not self.show or not n:
            return
        if self.bar is None:
            import click

            self.bar = click.progressbar(length=n, label=self.label, file=sys.stderr)
            self.bar.__enter__()
        else:
            self.bar.length += n

    def step(self, n: int = 1) -> None:
        if self.bar is not None:
            self.bar.update(n)


@dataclass
class _Failed:
    exc: BaseException


async def _pump(
    claim: Callable[[int], Claimed],
    work: Callable[[Any], Awaitable[Any]],
    write: Callable[[list[Any]], None],
    bar: _Bar,
    *,
    batch: int,
    limit: int | None = None,
) -> int:
    """Claim jobs a batch at a time, keep about two batches in flight, and store results as
    they come: whatever has arrived whenever the writer is free (a transaction per write, in a
    thread, one writer at a time). Returns how many jobs were claimed.

    Claiming little and often is what shares the work among workers: each takes more only
    when it has room, so a fast worker takes more and a dead one holds at most its batches.
    Storing promptly matters too: a stored result hands its row, and then its host, back.
    Results travel through a queue, so a finished job keeps nothing alive (5 000 finished
    tasks holding their parsed feeds would be hundreds of megabytes).
    """
    queue: asyncio.Queue[Any] = asyncio.Queue()
    tasks: set[asyncio.Task] = set()
    pending: list[Any] = []
    writer: asyncio.Task | None = None
    st = {"claimed": 0, "outstanding": 0, "writes": 0, "capped_at": -1, "exhausted": False}
    loop = asyncio.get_running_loop()
    st["flushed_at"] = loop.time()

    async def run(job: Any) -> None:
        try:
            await queue.put(await work(job))
        except BaseException as exc:  # noqa: BLE001 - handed to the loop, which re-raises
            await queue.put(_Failed(exc))

    async def refill() -> None:
        for attempt in range(5):  # a claim that lost every row to a racing worker asks again
            if attempt:
                await asyncio.sleep(0.05 * attempt)
            room = batch if limit is None else min(batch, limit - st["claimed"])
            got = await asyncio.to_thread(claim, room) if room > 0 else Claimed([], 0)
            if got.jobs or not got.seen or (got.capped and not got.lost):
                break
        if got.jobs:
            st["capped_at"] = -1
        elif got.capped:
            st["capped_at"] = st["writes"]  # hosts come free only as results are stored
        else:
            st["exhausted"] = True
        st["claimed"] += len(got.jobs)
        st["outstanding"] += len(got.jobs)
        bar.grow(len(got.jobs))
        for job in got.jobs:
            task = asyncio.create_task(run(job))
            tasks.add(task)
            task.add_done_callback(tasks.discard)

    async def flush(wait: bool) -> None:
        nonlocal writer, pending
        while True:
            if writer is not None and (wait or writer.done()):
                await writer
                writer = None
                st["writes"] += 1
            if writer is None and pending:
                chunk, pending = pending, []
                writer = asyncio.create_task(asyncio.to_thread(write, chunk))
                st["flushed_at"] = loop.time()
            if not wait or (writer is None and not pending):
                return

    def may_claim() -> bool:
        return not st["exhausted"] and st["outstanding"] <= batch and st["writes"] > st["capped_at"]

    try:
        await refill()
        while True:
            if not st["outstanding"]:
                await flush(wait=True)  # everything stored: this worker's idle hosts go back
                if st["exhausted"]:
                    break
                await refill()
                if not st["outstanding"]:
                    break
                continue
            item = await queue.get()
            st["outstanding"] -= 1
            if isinstance(item, _Failed):
                raise item.exc
            pending.append(item)
            bar.step()
            # A full batch, or a lull with results waiting a while: stored results hand their
            # rows and hosts back; small transactions one after another would cost CPU.
            if len(pending) >= WRITE_BATCH or (
                queue.empty() and loop.time() - st["flushed_at"] >= FLUSH_SECONDS
            ):
                await flush(wait=False)
            if may_claim():
                await refill()
    finally:
        for t in list(tasks):
            t.cancel()
    return st["claimed"]


async def _poll_stage(
    cfg: Config,
    engine: Engine,
    story: Story,
    owner: str,
    fetcher: Fetcher,
    runner: Runner,
    summary: CycleSummary,
    progress: bool,
    slack: timedelta,
) -> int:
    def claim(n: int) -> Claimed:
        release_idle_hosts(engine, owner)
        return retrying(claim_feed_batch, cfg, engine, owner, utcnow(), n, slack=slack)

    def write(batch: list[FeedOutcome]) -> None:
        _store_retrying(
            lambda part: store_feed_batch(engine, cfg, story, batch, part, owner), summary
        )

    folder = str(story.folder)
    # Backpressure: a feed holds its slot from fetch to parsed result, so bodies never pile
    # up in memory waiting for a parse worker.
    slots = asyncio.Semaphore(cfg["network"]["concurrency"] + 2 * max(runner.processes, 1))

    async def one(job: FeedJob) -> FeedOutcome:
        async with slots:
            return await poll_one(job, fetcher, runner, folder)

    size = max(FEED_BATCH, cfg["network"]["concurrency"] * 2)
    if not is_postgres(engine):
        size = max(size, 1000)  # one worker: nobody to share with, so fewer, larger claims
    with _Bar(progress, "feeds") as bar:
        return await _pump(claim, one, write, bar, batch=size)


async def _article_stage(
    cfg: Config,
    engine: Engine,
    story: Story,
    owner: str,
    fetcher: Fetcher,
    runner: Runner,
    summary: CycleSummary,
    progress: bool,
) -> int:
    def claim(n: int) -> Claimed:
        release_idle_hosts(engine, owner)
        return retrying(claim_article_batch, cfg, engine, story.key, owner, utcnow(), n)

    def write(batch: list[ArticleOutcome]) -> None:
        for out in batch:  # one transaction per article: findings may be heavy

            def store(part: CycleSummary, out: ArticleOutcome = out) -> None:
                with session_scope(engine) as s:
                    store_article_outcome(s, cfg, story, out, part, owner)

            _store_retrying(store, summary)

    size = max(ARTICLE_BATCH, cfg["network"]["concurrency"])
    with _Bar(progress, "articles") as bar:
        return await _pump(
            claim,
            lambda job: fetch_article(job, fetcher, runner),
            write,
            bar,
            batch=size,
            limit=MAX_ARTICLES_PER_CYCLE,
        )


def _store_retrying(store: Callable[[CycleSummary], None], summary: CycleSummary) -> None:
    """Run a store transaction (again, after a lock conflict) and count it only once it commits."""
    part = retrying(_counted, store)
    summary.add(part)


def _counted(store: Callable[[CycleSummary], None]) -> CycleSummary:
    part = CycleSummary()
    store(part)
    return part


def _enabled_feeds(engine: Engine) -> int:
    with session_scope(engine) as s:
        return s.exec(select(func.count()).select_from(Feed).where(Feed.enabled == True)).one()  # noqa: E712


def due_slack(cfg: Config) -> timedelta:
    """How early a feed counts as due: a tick landing just before a feed's time takes it."""
    return min(timedelta(seconds=60), timedelta(minutes=cfg["poll"]["interval_minutes"]) / 10)


def run_cycle(
    cfg: Config,
    engine: Engine,
    progress: bool = False,
    *,
    articles: bool = True,
    processes: int | None = None,
    due_only: bool = False,
) -> CycleSummary:
    """Poll the feeds, then fetch due articles; returns the summary (never raises for a feed).

    By default every enabled feed that is not backing off is polled now (``poll --once``);
    ``due_only`` polls only feeds whose interval is up (the service's tick, so that several
    workers poll each feed once per interval between them). Work is claimed in batches, so
    any number of workers can run this at once on one PostgreSQL database.
    ``articles=False`` stops after storing entries (the benchmark's poller);
    ``processes`` overrides the parse/extract pool size (0 = threads only).
    """
    story = load_story(cfg.story_folder)
    owner = worker_id()
    summary = CycleSummary()
    if not due_only:
        retrying(make_due, engine, utcnow())
    enabled = _enabled_feeds(engine)
    due = _due_feeds(cfg, engine, owner, due_slack(cfg) if due_only else timedelta(0))
    runner = Runner(_pool_size(due) if processes is None else processes)
    try:
        polled = asyncio.run(
            _cycle(cfg, engine, story, owner, runner, summary, progress, articles, due_only)
        )
    finally:
        runner.close()
        retrying(release_leases, engine, owner)
    summary.feeds_waiting = max(0, enabled - polled) if not due_only else 0
    return summary


def _due_feeds(cfg: Config, engine: Engine, owner: str, slack: timedelta) -> int:
    """How many feeds are due (sizes the parse pool before the first claim)."""
    with session_scope(engine) as s:
        q = (
            select(func.count())
            .select_from(Feed)
            .where(*_feed_conditions(cfg, owner, utcnow(), slack))
        )
        return int(s.exec(q).one())


async def _cycle(
    cfg: Config,
    engine: Engine,
    story: Story,
    owner: str,
    runner: Runner,
    summary: CycleSummary,
    progress: bool,
    articles: bool,
    due_only: bool,
) -> int:
    slack = due_slack(cfg) if due_only else timedelta(0)
    renewer = asyncio.create_task(_keep_leases(engine, owner, lease_of(cfg)))
    try:
        async with Fetcher.from_config(cfg) as fetcher:
            polled = await _poll_stage(
                cfg, engine, story, owner, fetcher, runner, summary, progress, slack
            )
            if articles:
                await _article_stage(cfg, engine, story, owner, fetcher, runner, summary, progress)
        return polled
    finally:
        renewer.cancel()


async def _keep_leases(engine: Engine, owner: str, lease: timedelta) -> None:
    """Renew this worker's leases at a third of their length while it works."""
    while True:
        await asyncio.sleep(lease.total_seconds() / 3)
        try:
            await asyncio.to_thread(retrying, renew_leases, engine, owner, utcnow() + lease)
        except Exception as exc:  # noqa: BLE001 - the next renewal tries again
            log.warning("lease renewal failed: %s", exc)


def due_counts(engine: Engine, story_key: str) -> dict[str, int]:
    """How much work is waiting (for status lines)."""
    now = utcnow()
    with Session(engine) as s:
        feeds = s.exec(select(func.count()).select_from(Feed).where(Feed.enabled == True)).one()  # noqa: E712
        arts = s.exec(
            select(func.count())
            .select_from(Article)
            .where(Article.story_key == story_key, Article.next_fetch_at <= now)
        ).one()
    return {"feeds": int(feeds), "articles_due": int(arts)}
