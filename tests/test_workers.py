"""Several `monitor run` workers on one PostgreSQL database: real processes, real loopback HTTP
servers on several addresses of 127/8 (one host each, as politeness counts hosts), a real SMTP
server (aiosmtpd). What a desk running several workers needs:

* every feed polled once per interval between them, and every article version and finding
  stored once, exactly as one process would have stored them;
* one digest, however many workers find it missed at start;
* a worker killed mid-cycle hands its work to the others (nothing lost, nothing stuck);
* ``network.per_host`` holds across workers, not only inside each;
* ``monitor run --workers N`` starts and stops N workers (and refuses on SQLite);
* a worker told to stop in its first instants stops.

Everything but the SQLite refusal needs MONITOR_TEST_DATABASE_URL (PostgreSQL) and skips
otherwise.
"""

from __future__ import annotations

import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import tomlkit
from click.testing import CliRunner
from sqlalchemy import func
from sqlalchemy.engine import Engine
from sqlmodel import Session, select
from test_delivery import SMTPServer
from test_scenario import FIXTURES, PAGES

from monitor.cli import cli
from monitor.clock import utcnow
from monitor.config import Config, load_config
from monitor.cycle import run_cycle
from monitor.db import get_engine, is_postgres, session_scope
from monitor.loopback import LoopbackServer
from monitor.models import (
    Article,
    ArticleVersion,
    Digest,
    Feed,
    Finding,
    HostLease,
    PollLog,
    Worker,
)
from monitor.service import last_scheduled_time
from monitor.story import load_story

REPO = Path(__file__).resolve().parent.parent
SEED = REPO / "seeds" / "caracas-raid"
PG_ENV = "MONITOR_TEST_DATABASE_URL"

needs_pg = pytest.mark.skipif(
    not os.environ.get(PG_ENV, "").strip(), reason=f"several workers need PostgreSQL ({PG_ENV})"
)

HOSTS = 10  # loopback addresses 127.0.0.1 ... 127.0.0.10, one server each
FEEDS = 300
COVERAGE_HOSTS = 4  # hosts that also carry the on-story scenario feeds and their pages
FEED_DELAY = 0.3  # seconds per feed request: the round lasts a few seconds
PAGE_DELAY = 0.2
# Per worker: 8 fetches at a time, 2 per host, so at most 4 hosts each; ten hosts keep all
# three workers busy.
WORKER_NETWORK = {"concurrency": 8, "per_host": 2, "timeout": 30}
DEADLINE = 120.0  # generous: the round itself takes seconds


# ----------------------------------------------------------------------------- fixtures


def quiet_rss(n: int, base: str) -> str:
    """An off-story feed: one local item (no article is made from it)."""
    return f"""<?xml version="1.0" encoding="utf-8"?>
<rss version="2.0"><channel><title>Harbour Notes {n}</title><link>{base}/</link>
<description>Invented local news</description>
<item><title>Ferry timetable {n} changes for the spring</title>
<link>{base}/local/{n}.html</link><guid isPermaLink="false">notes-{n}</guid>
<pubDate>Mon, 05 Jan 2026 10:00:00 GMT</pubDate>
<description>The harbour board publishes new crossing times for route {n}.</description>
</item></channel></rss>"""


def serve_fixture(server: LoopbackServer, path: str, name: str, delay: float) -> None:
    body = (FIXTURES / name).read_text(encoding="utf-8").replace("{BASE}", server.base_url)
    ctype = "application/rss+xml" if name.endswith(".xml") else "text/html; charset=utf-8"
    server.set(path, body, content_type=ctype, delay=delay)


@dataclass
class Web:
    servers: list[LoopbackServer]
    feeds: list[dict[str, str]]


def build_web(servers: list[LoopbackServer], total: int) -> list[dict[str, str]]:
    """Serve the scenario coverage on the first hosts and quiet feeds everywhere, ``total``
    feeds in all, interleaved over the hosts; returns the config's feed tables."""
    feeds = []
    for k, server in enumerate(servers[:COVERAGE_HOSTS]):
        serve_fixture(server, "/ledger.xml", "ledger.xml", FEED_DELAY)
        serve_fixture(server, "/daily.xml", "daily.xml", FEED_DELAY)
        for path, name in PAGES.items():
            serve_fixture(server, path, name, PAGE_DELAY)
        feeds.append({"url": server.url("/ledger.xml"), "name": f"Harbour Ledger {k}"})
        feeds.append({"url": server.url("/daily.xml"), "name": f"Coastline Daily {k}"})
    for n in range(total - len(feeds)):
        server = servers[n % len(servers)]
        server.set(
            f"/notes/{n}.xml",
            quiet_rss(n, server.base_url),
            content_type="application/rss+xml",
            delay=FEED_DELAY,
        )
        feeds.append({"url": server.url(f"/notes/{n}.xml"), "name": f"Harbour Notes {n}"})
    return feeds


@pytest.fixture(scope="module")
def web() -> Iterator[Web]:
    servers = [LoopbackServer(host=f"127.0.0.{k}").start() for k in range(1, HOSTS + 1)]
    try:
        yield Web(servers, build_web(servers, FEEDS))
    finally:
        for server in servers:
            server.stop()


def write_config(
    path: Path, db_url: str, feeds: list[dict[str, str]], **sections: dict[str, Any]
) -> Path:
    data: dict[str, Any] = {
        "story": {"seed": str(SEED)},
        "database": {"url": db_url},
        "network": {"allow_private_addresses": True, **WORKER_NETWORK},
        # Feeds are due again two minutes after their poll (the tick is 12 s): every check
        # below is made before that. Leases are short, so a dead worker's lapse quickly.
        "poll": {"interval_minutes": 2, "lease_seconds": 3},
        # Far from now: no scheduled digest during a test.
        "digest": {"outbox": str(path.parent / "outbox"), "time": far_digest_time()},
    }
    for section, values in sections.items():
        data.setdefault(section, {}).update(values)
    data["feeds"] = feeds
    path.write_text(tomlkit.dumps(data), encoding="utf-8")
    return path


def far_digest_time() -> str:
    at = datetime.now(UTC) + timedelta(hours=12)
    return f"{at:%H:%M}"


def init(config: Path) -> None:
    result = CliRunner().invoke(cli, ["--config", str(config), "init"])
    assert result.exit_code == 0, result.output


@dataclass
class Outcome:
    """What a poll round stored, independent of row ids and of who stored it."""

    versions: Counter  # (article url, version)
    findings: Counter  # (article url, version, baseline_key, relation, dedup_key)

    @property
    def hosts_with_findings(self) -> set[str]:
        return {url.split("/")[2] for url, *_ in self.findings}


def outcome(engine: Engine) -> Outcome:
    with Session(engine) as s:
        versions = s.exec(
            select(Article.url, ArticleVersion.version).join(
                Article, Article.id == ArticleVersion.article_id
            )
        ).all()
        findings = s.exec(
            select(
                Article.url,
                ArticleVersion.version,
                Finding.baseline_key,
                Finding.relation,
                Finding.dedup_key,
            )
            .join(Article, Article.id == Finding.article_id)
            .join(ArticleVersion, ArticleVersion.id == Finding.version_id)
        ).all()
    return Outcome(Counter(tuple(r) for r in versions), Counter(tuple(r) for r in findings))


@pytest.fixture(scope="module")
def reference(web: Web, tmp_path_factory: pytest.TempPathFactory) -> Outcome:
    """One process polls the same feeds into a SQLite file: what the workers must store."""
    tmp = tmp_path_factory.mktemp("reference")
    config = write_config(
        tmp / "monitor.toml",
        f"sqlite:///{tmp / 'reference.db'}",
        web.feeds,
        network={"concurrency": 40, "per_host": 4},  # the same results, sooner
    )
    init(config)
    cfg = load_config(config)
    engine = get_engine(cfg.database_url)
    try:
        summary = run_cycle(cfg, engine)
        assert summary.feeds_ok == FEEDS and summary.feeds_failed == 0, summary.line()
        ref = outcome(engine)
    finally:
        engine.dispose()
    # The coverage makes findings on every host that carries it, and the same ones on each.
    assert len(ref.hosts_with_findings) == COVERAGE_HOSTS
    per_page: dict[str, Counter] = {}
    for url, *_rest in ref.findings.elements():
        _scheme, _empty, host, page = url.split("/", 3)
        per_page.setdefault(page, Counter())[host] += 1
    assert all(len(set(hosts.values())) == 1 for hosts in per_page.values()), per_page
    return ref


@pytest.fixture
def pg(engine: Engine) -> Engine:
    if not is_postgres(engine):
        pytest.skip("several workers need PostgreSQL")
    return engine


# ----------------------------------------------------------------------------- processes


class Proc:
    """One ``monitor run`` (or ``run --workers N``) process, its output in a file. It leads a
    process group of its own, so teardown can end it with whatever it started."""

    def __init__(self, config: Path, log: Path, *args: str) -> None:
        self.log = log
        self._out = open(log, "wb")  # noqa: SIM115 - closed in kill()
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "monitor", "--config", str(config), "run", *args],
            cwd=REPO,
            env={**os.environ, "PYTHONUNBUFFERED": "1"},
            stdout=self._out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )

    @property
    def pid(self) -> int:
        return self.proc.pid

    @property
    def owner_prefix(self) -> str:
        """How this process's cycles name themselves on the rows they lease."""
        return f"{socket.gethostname()}:{self.pid}:"

    def text(self) -> str:
        return self.log.read_text(encoding="utf-8", errors="replace")

    def feeds_ok(self) -> int:
        return sum(int(n) for n in re.findall(r"poll: feeds: (\d+) ok", self.text()))

    def alive(self) -> bool:
        return self.proc.poll() is None

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 60) -> int:
        self.proc.send_signal(sig)
        try:
            return self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            raise AssertionError(
                f"pid {self.pid} still running after {sig!r}:\n{self.text()}"
            ) from None

    def kill(self) -> None:
        """End the whole group (a parse pool may outlive a killed worker)."""
        try:
            os.killpg(self.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        self.proc.wait(timeout=30)
        self._out.close()


@pytest.fixture
def spawn(tmp_path: Path) -> Iterator[Callable[..., list[Proc]]]:
    started: list[Proc] = []

    def start(config: Path, n: int = 1, *args: str) -> list[Proc]:
        new = [Proc(config, tmp_path / f"worker-{len(started) + i}.log", *args) for i in range(n)]
        started.extend(new)
        return new

    yield start
    for w in started:
        w.kill()


def logs(workers: list[Proc]) -> str:
    return "\n".join(f"--- pid {w.pid}\n{w.text()[-4000:]}" for w in workers)


def wait_until(what: str, check: Callable[[], bool], workers: list[Proc], timeout: float) -> None:
    """Poll ``check`` until true; fail early if a worker exits, or at the (generous) deadline."""
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if check():
            return
        gone = [w for w in workers if not w.alive()]
        if gone:
            raise AssertionError(f"a worker exited while waiting for {what}:\n{logs(gone)}")
        time.sleep(0.2)
    raise AssertionError(f"timed out waiting for {what}:\n{logs(workers)}")


# ----------------------------------------------------------------------------- database checks


def count(engine: Engine, model: Any, *where: Any) -> int:
    with Session(engine) as s:
        return int(s.exec(select(func.count()).select_from(model).where(*where)).one())


def polls_per_feed(engine: Engine) -> Counter:
    with Session(engine) as s:
        feed_ids = s.exec(select(Feed.id)).all()
        logged = s.exec(select(PollLog.feed_id)).all()
    polls = Counter({fid: 0 for fid in feed_ids})
    polls.update(logged)
    return polls


def round_done(engine: Engine, feeds: int) -> bool:
    """Every feed has a poll log, and no article is due or leased."""
    with Session(engine) as s:
        polled = s.exec(select(func.count(func.distinct(PollLog.feed_id)))).one()
    if polled < feeds:
        return False
    now = utcnow()
    waiting = count(
        engine, Article, (Article.next_fetch_at <= now) | Article.lease_owner.is_not(None)
    )
    return waiting == 0


def leased(engine: Engine, prefix: str | None = None) -> dict[str, int]:
    """Rows leased (to workers whose owner names start with ``prefix``), live or lapsed."""
    out = {}
    for name, model, col in (
        ("feeds", Feed, Feed.lease_owner),
        ("articles", Article, Article.lease_owner),
        ("hosts", HostLease, HostLease.owner),
    ):
        cond = col.is_not(None) if prefix is None else col.like(prefix + "%")
        out[name] = count(engine, model, cond)
    return out


def assert_round_complete(engine: Engine, reference: Outcome, feeds: int) -> None:
    polls = polls_per_feed(engine)
    assert len(polls) == feeds
    assert {n for n in polls.values()} == {1}, Counter(polls.values())
    assert count(engine, PollLog, PollLog.status == "ok") == feeds
    got = outcome(engine)
    assert got.versions == reference.versions
    assert got.findings == reference.findings
    # Each article's result was stored once (fetch_count counts stores, under the lease).
    with Session(engine) as s:
        fetches = Counter(s.exec(select(Article.fetch_count)).all())
    assert set(fetches) == {1}, fetches


def start_round(
    pg: Engine, db_url: str, web: Web, tmp_path: Path, spawn: Callable[..., list[Proc]]
) -> tuple[Path, list[Proc]]:
    config = write_config(tmp_path / "monitor.toml", db_url, web.feeds)
    init(config)
    assert count(pg, Feed) == FEEDS
    return config, spawn(config, 3)


# ----------------------------------------------------------------------------- 1. exactly once


@needs_pg
def test_three_workers_poll_every_feed_once_and_store_what_one_process_would(
    pg: Engine,
    db_url: str,
    web: Web,
    reference: Outcome,
    tmp_path: Path,
    spawn: Callable[..., list[Proc]],
) -> None:
    _config, workers = start_round(pg, db_url, web, tmp_path, spawn)
    wait_until("the round", lambda: round_done(pg, FEEDS), workers, DEADLINE)
    # Each worker logs its share when its cycle ends (after its articles).
    wait_until(
        "the workers' poll lines", lambda: sum(w.feeds_ok() for w in workers) >= FEEDS, workers, 30
    )

    assert_round_complete(pg, reference, FEEDS)
    shares = [w.feeds_ok() for w in workers]
    assert sum(shares) == FEEDS, shares  # what they report is what the poll log holds
    assert sum(1 for n in shares if n > 0) >= 2, shares

    assert [w.stop() for w in workers] == [0, 0, 0]
    assert leased(pg) == {"feeds": 0, "articles": 0, "hosts": 0}
    assert count(pg, PollLog) == FEEDS  # and stopping polled nothing more


# ----------------------------------------------------------------------------- 2. one digest


def minutes_ago(n: int) -> str:
    at = datetime.now(UTC) - timedelta(minutes=n)
    return f"{at:%H:%M}"


@needs_pg
@pytest.mark.parametrize("day", ["with findings", "quiet"])
def test_three_workers_send_the_missed_digest_once(
    pg: Engine, db_url: str, tmp_path: Path, spawn: Callable[..., list[Proc]], day: str
) -> None:
    smtp = SMTPServer().start()
    server = LoopbackServer().start()
    try:
        if day == "quiet":  # nothing new: the digest still goes out (send_when_quiet), once
            server.set("/notes.xml", quiet_rss(0, server.base_url), content_type="text/xml")
            feeds = [{"url": server.url("/notes.xml"), "name": "Harbour Notes"}]
        else:
            serve_fixture(server, "/ledger.xml", "ledger.xml", 0)
            serve_fixture(server, "/daily.xml", "daily.xml", 0)
            for path, name in PAGES.items():
                serve_fixture(server, path, name, 0)
            feeds = [
                {"url": server.url("/ledger.xml"), "name": "Harbour Ledger"},
                {"url": server.url("/daily.xml"), "name": "Coastline Daily"},
            ]
        config = write_config(
            tmp_path / "monitor.toml",
            db_url,
            feeds,
            digest={"time": minutes_ago(3), "timezone": "UTC", "send_when_quiet": True},
            smtp={"host": "127.0.0.1", "port": smtp.port, "starttls": False, "timeout": 10},
        )
        init(config)
        cfg = load_config(config)
        run_cycle(cfg, pg)  # polled (and findings stored) while no worker runs
        findings = count(pg, Finding)
        assert (findings > 0) == (day != "quiet")
        mark_previous_digest_sent(cfg, pg)

        workers = spawn(config, 3)
        wait_until("a digest by SMTP", lambda: len(smtp.inbox.messages) >= 1, workers, DEADLINE)
        wait_until("every catch-up", lambda: all(catch_up_done(w) for w in workers), workers, 60)
        time.sleep(2)  # a second message, were one on its way, would arrive now
        assert len(smtp.inbox.messages) == 1, logs(workers)
        # They raced: several found the digest missed before one of them had made it (a
        # worker starting after that finds nothing missed, rightly).
        assert sum(tried_catch_up(w) for w in workers) >= 2, logs(workers)

        with Session(pg) as s:
            digests = s.exec(select(Digest).order_by(Digest.id)).all()
            assert len(digests) == 2  # yesterday's and one new one
            new = digests[-1]
            assert new.status == "sent" and new.delivered_via == "smtp"
            assert new.finding_count == findings
        assert count(pg, Finding, Finding.digest_id == new.id) == findings  # every one of them
        story = load_story(cfg.story_folder).key
        assert smtp.inbox.parsed(0)["X-Monitor-Digest"] == f"{story}/{new.id}"
        assert [w.stop() for w in workers] == [0, 0, 0]
    finally:
        smtp.stop()
        server.stop()


def mark_previous_digest_sent(cfg: Config, engine: Engine) -> None:
    """The previous day's digest went out: the one scheduled a few minutes ago is missed."""
    yesterday = last_scheduled_time(cfg, utcnow()) - timedelta(days=1)
    with session_scope(engine) as s:
        s.add(
            Digest(
                story_key=load_story(cfg.story_folder).key,
                period_end=yesterday,
                created_at=yesterday,
                status="sent",
                sent_at=yesterday,
                delivered_via="smtp",
                message_id="<yesterday@example.org>",
            )
        )


def tried_catch_up(w: Proc) -> bool:
    return "was missed while stopped" in w.text()


def catch_up_done(w: Proc) -> bool:
    """Its start is over: it found the digest missed and its catch-up has run, or (started
    after another worker made the digest) it found nothing missed."""
    lines = w.text().splitlines()
    if not any(" started: " in ln for ln in lines):
        return False
    if not tried_catch_up(w):
        return True
    return any(" digest: " in ln and "was missed while stopped" not in ln for ln in lines)


# ----------------------------------------------------------------------------- 3. a worker dies


@needs_pg
def test_a_killed_workers_leases_lapse_and_the_others_finish_its_work(
    pg: Engine,
    db_url: str,
    web: Web,
    reference: Outcome,
    tmp_path: Path,
    spawn: Callable[..., list[Proc]],
) -> None:
    _config, workers = start_round(pg, db_url, web, tmp_path, spawn)

    def victim() -> Proc | None:
        """A worker in mid-cycle: it holds a good batch of feeds and has stored some polls
        already (polls of feeds on the hosts it holds: one worker per host at a time)."""
        for w in workers:
            if leased(pg, w.owner_prefix)["feeds"] >= 10 and stored_on_hosts_of(pg, w) >= 3:
                return w
        return None

    wait_until("a worker in mid-cycle", lambda: victim() is not None, workers, DEADLINE)
    dead = victim()
    assert dead is not None
    os.kill(dead.pid, signal.SIGKILL)
    assert dead.proc.wait(timeout=30) == -signal.SIGKILL
    held = leased(pg, dead.owner_prefix)
    assert held["feeds"] > 0 and held["hosts"] > 0, held  # it died holding work

    survivors = [w for w in workers if w is not dead]
    wait_until("the survivors' round", lambda: round_done(pg, FEEDS), survivors, DEADLINE)
    assert_round_complete(pg, reference, FEEDS)
    # Nothing of the dead worker's is left to block anyone: no row leased to it, and no host
    # it held is still taken (a host it was done with may keep a lapsed row).
    after = leased(pg, dead.owner_prefix)
    assert after["feeds"] == 0 and after["articles"] == 0, after
    now = utcnow()
    assert (
        count(
            pg,
            HostLease,
            HostLease.owner.like(dead.owner_prefix + "%"),
            HostLease.lease_until >= now,
        )
        == 0
    )

    assert [w.stop() for w in survivors] == [0, 0]
    assert leased(pg)["feeds"] == 0 and leased(pg)["articles"] == 0
    assert count(pg, HostLease, HostLease.lease_until >= utcnow()) == 0


def stored_on_hosts_of(engine: Engine, w: Proc) -> int:
    with Session(engine) as s:
        hosts = select(HostLease.host).where(HostLease.owner.like(w.owner_prefix + "%"))
        q = (
            select(func.count())
            .select_from(PollLog)
            .join(Feed, Feed.id == PollLog.feed_id)
            .where(Feed.host.in_(hosts))
        )
        return int(s.exec(q).one())


# ----------------------------------------------------------------------------- 4. politeness

POLITE_HOSTS = 3
POLITE_FEEDS_PER_HOST = 40


@needs_pg
def test_per_host_limit_holds_across_workers(
    pg: Engine, db_url: str, tmp_path: Path, spawn: Callable[..., list[Proc]]
) -> None:
    servers = [LoopbackServer(host=f"127.0.0.{10 + k}").start() for k in range(1, POLITE_HOSTS + 1)]
    try:
        feeds = []
        for n in range(POLITE_HOSTS * POLITE_FEEDS_PER_HOST):
            server = servers[n % POLITE_HOSTS]
            server.set(
                f"/notes/{n}.xml",
                quiet_rss(n, server.base_url),
                content_type="application/rss+xml",
                delay=0.25,
            )
            feeds.append({"url": server.url(f"/notes/{n}.xml"), "name": f"Harbour Notes {n}"})
        # Each worker could fetch 2 at a time from each of 2 hosts; three workers on one host
        # would be 6 at once without the host leases.
        config = write_config(
            tmp_path / "monitor.toml",
            db_url,
            feeds,
            network={"concurrency": 4, "per_host": 2},
        )
        init(config)
        for server in servers:
            server.reset_peak()
        workers = spawn(config, 3)
        wait_until("the round", lambda: round_done(pg, len(feeds)), workers, DEADLINE)
        wait_until(
            "the poll lines", lambda: sum(w.feeds_ok() for w in workers) >= len(feeds), workers, 30
        )
        assert [s.peak_in_flight for s in servers] == [2] * POLITE_HOSTS
        assert sum(1 for w in workers if w.feeds_ok() > 0) >= 2  # they did share the hosts
        assert set(polls_per_feed(pg).values()) == {1}
        assert [w.stop() for w in workers] == [0, 0, 0]
    finally:
        for server in servers:
            server.stop()


# ----------------------------------------------------------------------------- 5. run --workers


def status_json(config: Path) -> dict[str, Any]:
    result = CliRunner().invoke(cli, ["--config", str(config), "status", "--json"])
    assert result.exit_code == 0, result.output
    return json.loads(result.output)


@needs_pg
def test_run_workers_starts_and_stops_n_workers(
    pg: Engine, db_url: str, tmp_path: Path, spawn: Callable[..., list[Proc]], loopback
) -> None:
    loopback.set("/notes.xml", quiet_rss(0, loopback.base_url), content_type="application/rss+xml")
    config = write_config(tmp_path / "monitor.toml", db_url, [{"url": loopback.url("/notes.xml")}])
    init(config)
    (supervisor,) = spawn(config, 1, "--workers", "3")
    live: list[dict[str, Any]] = []

    def three_live() -> bool:
        live[:] = status_json(config)["workers"]
        return len(live) == 3

    wait_until("three live workers in monitor status", three_live, [supervisor], DEADLINE)
    pids = {w["pid"] for w in live}
    assert len(pids) == 3 and supervisor.pid not in pids
    # Stopped once running: each has been through its first tick (which beats on its way
    # out). Stopping a worker in its first instants is the next test's case.
    wait_until("each worker's first tick", lambda: ticked(pg) == 3, [supervisor], DEADLINE)

    assert supervisor.stop(signal.SIGTERM) == 0
    assert status_json(config)["workers"] == []
    for pid in pids:  # each worker ended (and was reaped) before the supervisor exited
        with pytest.raises(ProcessLookupError):
            os.kill(pid, 0)


def ticked(engine: Engine) -> int:
    """Running workers whose heartbeat moved since they started."""
    return count(engine, Worker, Worker.state == "running", Worker.last_seen_at > Worker.started_at)


@needs_pg
def test_a_worker_stopped_as_soon_as_it_has_started_exits(
    pg: Engine, db_url: str, tmp_path: Path
) -> None:
    config = write_config(tmp_path / "monitor.toml", db_url, [])
    init(config)
    procs = [
        subprocess.Popen(
            [sys.executable, "-m", "monitor", "--config", str(config), "run"],
            cwd=REPO,
            env={**os.environ, "PYTHONUNBUFFERED": "1"},
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            start_new_session=True,
        )
        for _ in range(3)
    ]
    codes = []
    try:
        for p in procs:
            for line in p.stdout:  # type: ignore[union-attr]
                if " started: " in line:  # its signal handlers are in place
                    break
            p.send_signal(signal.SIGTERM)
        end = time.monotonic() + 10  # a fresh worker with nothing to do stops in a moment
        for p in procs:
            try:
                codes.append(p.wait(timeout=max(0.1, end - time.monotonic())))
            except subprocess.TimeoutExpired:
                codes.append(None)
    finally:
        for p in procs:
            if p.poll() is None:
                os.killpg(p.pid, signal.SIGKILL)
                p.wait(timeout=30)
            p.stdout.close()  # type: ignore[union-attr]
    assert codes == [0, 0, 0]


def test_run_workers_on_sqlite_refuses_with_one_line(tmp_path: Path) -> None:
    config = write_config(tmp_path / "monitor.toml", f"sqlite:///{tmp_path / 'monitor.db'}", [])
    init(config)
    done = subprocess.run(
        [sys.executable, "-m", "monitor", "--config", str(config), "run", "--workers", "2"],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 2, done.stderr
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and "PostgreSQL" in lines[0], done.stderr
    with Session(get_engine(load_config(config).database_url)) as s:
        assert s.exec(select(func.count()).select_from(Worker)).one() == 0  # none started
