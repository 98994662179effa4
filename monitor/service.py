"""``monitor run``: the long-running service (APScheduler 3.x ``BackgroundScheduler``, the
main thread waiting for a stop signal).

Jobs:
* **poll** ticks often (a tenth of ``poll.interval_minutes``, between 5 s and a minute; first
  tick at start) and polls only what is *due*: feeds whose interval is up, article re-fetches
  whose time has come. Each feed is still polled once per interval, and several workers on one
  PostgreSQL database share the due work by claiming it in batches (``monitor.claims``).
  ``max_instances=1`` and ``coalesce=True``: a slow cycle is never overlapped.
* **digest** daily at ``digest.time`` in ``digest.timezone`` (the zone's own rules, so 07:00
  stays 07:00 local across daylight-saving changes).
* **heartbeat** keeps this process's ``Worker`` row fresh for ``monitor status``.

The schedule lives in memory, built from the config at each start: APScheduler 3.x cannot share
a job store between processes, so each worker process has its own scheduler and the database
is the coordinator (leases on feeds, articles and hosts; one digest per period under a row
lock). What must survive a restart is in the database: a digest missed while the service was
down is detected from the Digest rows and sent at start. ``run_workers`` starts N such
processes and supervises them.

SIGTERM/SIGINT stop the scheduler and wait for the job in hand to finish (its transaction
commits); a second signal exits at once, and the unfinished transaction is rolled back.
"""

from __future__ import annotations

import logging
import os
import signal
import socket
import subprocess
import sys
import threading
import time as _time
from datetime import datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.interval import IntervalTrigger
from sqlalchemy import func
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from monitor.clock import as_utc, utcnow
from monitor.config import Config
from monitor.db import get_engine, is_postgres, session_scope
from monitor.errors import ConfigError, MonitorError
from monitor.models import Digest, PollLog, Worker
from monitor.story import load_story

log = logging.getLogger("monitor.service")
HEARTBEAT_SECONDS = 30
# A worker is live while its heartbeat is fresher than this (three missed beats).
WORKER_STALE = timedelta(seconds=HEARTBEAT_SECONDS * 3 + 10)


# ----------------------------------------------------------------------------- schedule maths


def digest_time(cfg: Config) -> tuple[int, int, ZoneInfo]:
    hh, mm = (int(x) for x in cfg["digest"]["time"].split(":"))
    return hh, mm, ZoneInfo(cfg["digest"]["timezone"])


def digest_trigger(cfg: Config) -> CronTrigger:
    hh, mm, tz = digest_time(cfg)
    return CronTrigger(hour=hh, minute=mm, timezone=tz)


def last_scheduled_time(cfg: Config, now: datetime) -> datetime:
    """The most recent digest time at or before ``now`` (UTC), computed in local time.

    On the spring-forward day a local time that does not exist is read as the instant the
    clock jumps past it (zoneinfo's fold=0), matching the day's real schedule.
    """
    hh, mm, tz = digest_time(cfg)
    local_now = as_utc(now).astimezone(tz)
    for back in range(0, 3):
        day = local_now.date() - timedelta(days=back)
        at = datetime.combine(day, time(hh, mm), tzinfo=tz)
        at_utc = as_utc(at.astimezone(ZoneInfo("UTC")))
        if at_utc <= as_utc(now):
            return at_utc
    raise AssertionError("unreachable: a daily schedule fires within two days")


def digest_missed(cfg: Config, engine: Engine, now: datetime) -> bool:
    """True when the last digest was made before the most recent scheduled time.

    A fresh install (no digest yet) has missed one only if it was already collecting before
    that time; otherwise the first digest waits for its schedule.
    """
    due = last_scheduled_time(cfg, now)
    story_key = load_story(cfg.story_folder).key
    with Session(engine) as s:
        last = s.exec(
            select(func.max(Digest.period_end)).where(Digest.story_key == story_key)
        ).one()
        if last is not None:
            return as_utc(last) < due
        first_poll = s.exec(select(func.min(PollLog.started_at))).one()
    return first_poll is not None and as_utc(first_poll) < due


# ----------------------------------------------------------------------------- heartbeat


def worker_name() -> str:
    return f"service@{socket.gethostname()}:{os.getpid()}"


def heartbeat(engine: Engine, worker_id: str, state: str = "running") -> None:
    now = utcnow()
    with session_scope(engine) as s:
        row = s.get(Worker, worker_id)
        if row is None:
            row = Worker(
                id=worker_id,
                host=socket.gethostname(),
                pid=os.getpid(),
                started_at=now,
                last_seen_at=now,
                state=state,
            )
        row.last_seen_at, row.state = now, state
        s.add(row)


# ----------------------------------------------------------------------------- jobs


def tick_seconds(cfg: Config) -> float:
    """How often the poll job looks for due work."""
    return max(5.0, min(60.0, cfg["poll"]["interval_minutes"] * 6.0))


def poll_job(cfg: Config, engine: Engine, worker_id: str) -> None:
    """Poll what is due; logs one line when there was work. A failure is logged, and the
    next tick tries again."""
    from monitor.cycle import run_cycle

    try:
        summary = run_cycle(cfg, engine, progress=False, due_only=True)
    except Exception as exc:  # noqa: BLE001 - the service must outlive a bad cycle
        log.error("poll: cycle failed: %s: %s", type(exc).__name__, exc)
        return
    finally:
        _beat(engine, worker_id)
    if summary.did_work():
        log.info("poll: %s", summary.line())
    for problem in summary.problems:
        log.warning("poll: feed failed: %s", problem)


def digest_job(cfg: Config, engine: Engine, worker_id: str) -> None:
    from monitor.digest import send

    try:
        for line in send(cfg, engine).splitlines():
            log.info("digest: %s", line)
    except MonitorError as exc:
        log.error("digest: %s", exc)
    except Exception as exc:  # noqa: BLE001
        log.error("digest: failed: %s: %s", type(exc).__name__, exc)
    finally:
        _beat(engine, worker_id)


def _beat(engine: Engine, worker_id: str) -> None:
    try:
        heartbeat(engine, worker_id)
    except Exception as exc:  # noqa: BLE001 - a busy database must not kill the service
        log.warning("heartbeat failed: %s", exc)


def build_scheduler(cfg: Config, engine: Engine, worker_id: str) -> BackgroundScheduler:
    scheduler = BackgroundScheduler(
        timezone=ZoneInfo("UTC"),
        job_defaults={"coalesce": True, "max_instances": 1, "misfire_grace_time": None},
        executors={"default": {"type": "threadpool", "max_workers": 4}},
    )
    now = utcnow()
    scheduler.add_job(
        poll_job,
        IntervalTrigger(seconds=tick_seconds(cfg)),
        args=(cfg, engine, worker_id),
        id="poll",
        name="poll",
        next_run_time=now,
        max_instances=1,
        coalesce=True,
    )
    scheduler.add_job(
        digest_job,
        digest_trigger(cfg),
        args=(cfg, engine, worker_id),
        id="digest",
        name="digest",
        max_instances=1,
        coalesce=True,
    )
    scheduler.add_job(
        _beat,
        IntervalTrigger(seconds=HEARTBEAT_SECONDS),
        args=(engine, worker_id),
        id="heartbeat",
        name="heartbeat",
    )
    if digest_missed(cfg, engine, now):
        log.info(
            "digest: the %s digest was missed while stopped; sending it now",
            last_scheduled_time(cfg, now).isoformat(),
        )
        scheduler.add_job(
            digest_job,
            args=(cfg, engine, worker_id),
            id="digest-catch-up",
            name="digest catch-up",
            next_run_time=now,
        )
    return scheduler


def _install_signals(stop_requested: threading.Event) -> dict[int, Any]:
    """SIGTERM/SIGINT only *ask* to stop: the handler sets a flag and returns. Shutting the
    scheduler down inside the handler would run on the interrupted main thread, which may
    hold the scheduler's own lock (a deadlock), or come before the scheduler runs (ignored).
    A second signal exits at once."""

    def stop(signum: int, _frame: object) -> None:
        name = signal.Signals(signum).name
        if stop_requested.is_set():
            log.warning("%s again: exiting now; unfinished work is rolled back", name)
            os._exit(130)
        log.info("%s: finishing the work in hand, then stopping", name)
        stop_requested.set()

    previous = {}
    for sig in (signal.SIGTERM, signal.SIGINT):
        previous[sig] = signal.signal(sig, stop)
    return previous


class _QuietTicks(logging.Filter):
    """A tick that finds the previous cycle still running is expected, not a warning."""

    def filter(self, record: logging.LogRecord) -> bool:
        return "maximum number of running instances reached" not in record.getMessage()


def _logging() -> None:
    root = logging.getLogger()
    if not root.handlers:
        logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
    logging.getLogger("apscheduler").setLevel(logging.WARNING)
    logging.getLogger("apscheduler.scheduler").addFilter(_QuietTicks())


def run_service(cfg: Config) -> None:
    """Run until SIGTERM/SIGINT."""
    _logging()
    stop_requested = threading.Event()
    # Before anything else: a stop asked for during start-up is honoured once started.
    previous = _install_signals(stop_requested)
    engine = get_engine(cfg.database_url)
    worker_id = worker_name()
    try:
        heartbeat(engine, worker_id, "running")
        scheduler = build_scheduler(cfg, engine, worker_id)
        hh, mm, tz = digest_time(cfg)
        scheduler.start()
        log.info(
            "service %s started: poll every %d min, digest daily at %02d:%02d %s",
            worker_id,
            cfg["poll"]["interval_minutes"],
            hh,
            mm,
            tz.key,
        )
        try:
            while not stop_requested.wait(1.0):
                pass
        finally:
            scheduler.shutdown(wait=True)  # the job in hand finishes and commits
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
        heartbeat(engine, worker_id, "stopped")
        log.info("service %s stopped", worker_id)


# ----------------------------------------------------------------------------- several workers

RESTART_DELAY = 5.0
MAX_RESTARTS = 5  # in RESTART_WINDOW seconds, per worker, before the supervisor gives up
RESTART_WINDOW = 300.0


def worker_command(cfg: Config) -> list[str]:
    config = ["--config", str(cfg.path)] if cfg.path else []
    return [sys.executable, "-m", "monitor", *config, "run"]


def _die_with_parent() -> None:
    """In the child: get SIGTERM if the supervisor itself is killed (Linux), so no worker is
    left running unsupervised."""
    if sys.platform.startswith("linux"):
        import ctypes

        pr_set_pdeathsig = 1
        ctypes.CDLL(None, use_errno=True).prctl(pr_set_pdeathsig, signal.SIGTERM)


def run_workers(cfg: Config, count: int) -> int:
    """Start ``count`` worker processes (each a whole ``monitor run``) and supervise them.

    The workers coordinate through the database only, exactly as processes on several
    machines would. A worker that exits unexpectedly is restarted after a pause (and the
    supervisor gives up if one keeps dying). SIGTERM/SIGINT are passed on to every worker;
    the supervisor exits once they all have. Returns the exit status.
    """
    _logging()
    if count > 1 and not is_postgres(get_engine(cfg.database_url)):
        raise ConfigError(
            "run --workers: several workers need PostgreSQL (database.url is SQLite, which "
            "takes one writer); run one worker, or point database.url at PostgreSQL"
        )
    from monitor.cycle import SHARE_ENV

    cmd = worker_command(cfg)
    env = {**os.environ, SHARE_ENV: str(count)}  # each worker sizes its parse pool to its share
    stopping = threading.Event()
    procs: dict[int, subprocess.Popen] = {}
    restarts: dict[int, list[float]] = {i: [] for i in range(count)}

    def start(slot: int) -> None:
        procs[slot] = subprocess.Popen(  # noqa: S603 - our own command line
            cmd,
            env=env,
            preexec_fn=_die_with_parent,  # noqa: PLW1509
        )
        log.info("worker %d started (pid %d)", slot + 1, procs[slot].pid)

    def forward(signum: int, _frame: object) -> None:
        if stopping.is_set():
            for p in procs.values():
                if p.poll() is None:
                    p.kill()
            return
        stopping.set()
        log.info("%s: stopping %d workers", signal.Signals(signum).name, len(procs))
        for p in procs.values():
            if p.poll() is None:
                p.send_signal(signum)

    previous = {sig: signal.signal(sig, forward) for sig in (signal.SIGTERM, signal.SIGINT)}
    status = 0
    try:
        for slot in range(count):
            start(slot)
        while not stopping.is_set():
            stopping.wait(1.0)
            for slot, p in list(procs.items()):
                code = p.poll()
                if code is None or stopping.is_set():
                    continue
                now = _time.monotonic()
                recent = [t for t in restarts[slot] if now - t < RESTART_WINDOW]
                if len(recent) >= MAX_RESTARTS:
                    log.error("worker %d keeps exiting (code %d); stopping all", slot + 1, code)
                    status = 1
                    forward(signal.SIGTERM, None)
                    break
                log.warning(
                    "worker %d exited with code %d; restarting in %g s",
                    slot + 1,
                    code,
                    RESTART_DELAY,
                )
                restarts[slot] = [*recent, now]
                if not stopping.wait(RESTART_DELAY):
                    start(slot)
        for p in procs.values():
            p.wait()
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    log.info("all %d workers stopped", count)
    return status
