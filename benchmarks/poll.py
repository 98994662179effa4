"""Poll benchmark: our poller vs a sequential feedparser loop vs a bare concurrent fetch floor,
and (with ``--workers``) how several worker processes on one PostgreSQL database scale.

    python benchmarks/poll.py                 # 1 000 and 5 000 feeds
    python benchmarks/poll.py --sizes 1000    # one size
    python benchmarks/poll.py --sample 100    # feeds timed in the sequential loop
    python benchmarks/poll.py --workers 1,2,4 --database postgresql+psycopg://USER@HOST:PORT/DB
    python benchmarks/poll.py --workers 1,2 --database URL --sizes 300 --hosts 20

N feeds (~40 KB, 30 items each) are served with 50 ms added latency by a small asyncio HTTP
server in a separate process. Three rounds: *first* (everything new), *steady* (10 % of feeds
have one new item, the rest answer 304) and *all-304*.

Single-process mode (no ``--workers``): every feed on one host, 127.0.0.1 (so its numbers stay
comparable with earlier runs), SQLite. Each measurement runs in its own process so peak RSS is
the poller's own (its parse workers reported beside it). The sequential loop
(``feedparser.parse(url)`` per feed, which always downloads in full) would take minutes at
5 000 feeds: it is timed on a sample and extrapolated linearly, as printed.

Worker mode (``--workers 1,2,4 --database URL``, PostgreSQL only): the server answers on
``--hosts`` K loopback addresses 127.0.0.1 ... 127.0.0.K (default 50; Linux routes all of
127/8 to loopback) and feed i lives on 127.0.0.{1 + i % K}, because politeness is per host.
For each size and worker count a fresh database is created on the server (``pollbench_<n>_<w>``,
dropped afterwards; the URL's database is only used to connect), migrated and synced once.
The N worker processes are started before the first round (imports done, engine connected)
and live through the three rounds, as service workers do; each round the parent writes "go"
to all of them at once and times until the last has finished ``run_cycle(cfg, engine,
articles=False)`` and reported its counts, CPU time and peak RSS. Printed per round: the wall
time for each worker count, the scaling ratio (time with 1 worker / time with N), how the feeds
were split among the workers, and a check against ``poll_log`` that every feed was polled
exactly once in the round (a WARNING line otherwise). The feed server's bodies are built before
each round, so its CPU goes to serving only (printed). All timings are ratios from one run on
this machine: nothing is asserted.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.request
from email.utils import formatdate
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

LATENCY = 0.05
ITEMS = 30
CONCURRENCY = 100
PER_HOST = 100  # all feeds share one host here; the config's ceiling
HOSTS = 50  # worker mode: loopback addresses the server answers on
PER_HOST_MANY = 8  # worker mode: per-host limit with feeds spread over many hosts
ROUNDS = (("first", "first (all new)"), ("steady", "steady"), ("all304", "all-304"))

# ---------------------------------------------------------------- the feed server (subprocess)

_WORDS = (
    "allotment compost mulch seedlings trellis frost orchard pruning irrigation greenhouse "
    "tomatoes courgettes beans soil worms hedgerow apple blossom harvest rainfall shed"
).split()


def _para(i: int, k: int, n: int) -> str:
    words = [_WORDS[(i * 7 + k * 3 + j) % len(_WORDS)] for j in range(n)]
    return " ".join(words).capitalize() + "."


def host_of(i: int, hosts: int) -> str:
    """The loopback address feed ``i`` lives on when the server answers on ``hosts`` of them."""
    return f"127.0.0.{1 + i % hosts}"


def feed_xml(i: int, version: int, port: int, host: str = "127.0.0.1") -> bytes:
    """Feed ``i`` at ``version``: 30 items, the newest first; each version adds one item.
    Its links point at the feed's own host."""
    items = []
    base = f"http://{host}:{port}"
    for k in range(version + ITEMS - 1, version - 1, -1):
        # HTML inside the description, escaped as real feeds carry it (feedparser sanitises it).
        desc = (
            f"&lt;p&gt;{_para(i, k, 24)} &lt;a href=&quot;{base}/a/{i}/{k}&quot;&gt;More&lt;/a&gt;"
            f"&lt;/p&gt;&lt;p&gt;&lt;strong&gt;{_para(i, k + 1, 18)}&lt;/strong&gt; "
            f"{_para(i, k + 2, 40)}&lt;/p&gt;&lt;ul&gt;&lt;li&gt;{_para(i, k + 3, 10)}&lt;/li&gt;"
            f"&lt;li&gt;{_para(i, k + 4, 12)}&lt;/li&gt;&lt;/ul&gt;"
            f"&lt;img src=&quot;{base}/img/{k}.jpg&quot; alt=&quot;garden&quot;&gt;"
        )
        items.append(
            f"<item><title>Garden diary {i}-{k}: {_para(i, k, 6)}</title>"
            f"<link>{base}/a/{i}/{k}.html?utm_source=rss</link>"
            f'<guid isPermaLink="false">bench-{i}-{k}</guid>'
            f"<pubDate>{formatdate(1767600000 + k * 600, usegmt=True)}</pubDate>"
            f"<category>Gardens</category><description>{desc}</description></item>"
        )
    return (
        '<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel>'
        f"<title>Bench feed {i}</title><link>{base}/</link><description>Garden notes"
        f"</description>{''.join(items)}</channel></rss>"
    ).encode()


class _FeedServer(asyncio.Protocol):
    versions: dict[int, int] = {}
    bodies: dict[int, tuple[int, bytes]] = {}
    port = 0
    hosts = 1

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.t = transport
        self.buf = b""

    def data_received(self, data: bytes) -> None:
        self.buf += data
        while b"\r\n\r\n" in self.buf:
            head, self.buf = self.buf.split(b"\r\n\r\n", 1)
            asyncio.get_running_loop().call_later(LATENCY, self._answer, head)

    def _answer(self, head: bytes) -> None:
        if self.t.is_closing():
            return
        lines = head.decode("latin-1").split("\r\n")
        path = lines[0].split(" ")[1]
        headers = {}
        for line in lines[1:]:
            k, _, v = line.partition(":")
            headers[k.strip().lower()] = v.strip()
        close = headers.get("connection", "").lower() == "close"
        status, body, extra = self._route(path, headers)
        out = [f"HTTP/1.1 {status}", f"Content-Length: {len(body)}"] + extra
        if close:
            out.append("Connection: close")
        self.t.write(("\r\n".join(out) + "\r\n\r\n").encode() + body)
        if close:
            self.t.close()

    def _route(self, path: str, headers: dict[str, str]) -> tuple[str, bytes, list[str]]:
        parts = urlsplit(path)
        if parts.path == "/_bump":  # control: give a share of feeds one new item
            q = parse_qs(parts.query)
            frac, rnd = float(q["frac"][0]), int(q["round"][0])
            step = max(1, round(1 / frac))
            bumped = [i for i in self.versions if (i + rnd) % step == 0]
            for i in bumped:
                self.versions[i] += 1
            return "200 OK", str(len(bumped)).encode(), ["Content-Type: text/plain"]
        if parts.path == "/_warm":  # control: build feeds 0..n-1 now, not while being timed
            for i in range(int(parse_qs(parts.query)["n"][0])):
                self._body(i, self.versions.setdefault(i, 0))
            return "200 OK", b"ok", ["Content-Type: text/plain"]
        if parts.path == "/_cpu":  # control: the server's own CPU seconds so far
            return "200 OK", f"{time.process_time():.3f}".encode(), ["Content-Type: text/plain"]
        if parts.path.startswith("/f/"):
            i = int(parts.path[3:].split(".")[0])
            v = self.versions.setdefault(i, 0)
            etag = f'"{i}-{v}"'
            if headers.get("if-none-match") == etag:
                return "304 Not Modified", b"", [f"ETag: {etag}"]
            body = self._body(i, v)
            return "200 OK", body, [f"ETag: {etag}", "Content-Type: application/rss+xml"]
        return "404 Not Found", b"", []

    def _body(self, i: int, v: int) -> bytes:
        # A static file, as most feed servers send: built once per version.
        cached = self.bodies.get(i)
        if cached is None or cached[0] != v:
            host = host_of(i, self.hosts)
            cached = self.bodies[i] = (v, feed_xml(i, v, self.port, host))
        return cached[1]


def serve(port_file: str, hosts: int = 1) -> None:
    """Answer on 127.0.0.1 ... 127.0.0.<hosts>, all on one port (picked free on the first)."""

    async def listen(loop: asyncio.AbstractEventLoop) -> list[asyncio.Server]:
        for _ in range(20):  # the port is free on .1; another program may hold it elsewhere
            first = await loop.create_server(_FeedServer, "127.0.0.1", 0, backlog=4096)
            port = first.sockets[0].getsockname()[1]
            others = [host_of(i, hosts) for i in range(1, hosts)]
            try:
                rest = [await loop.create_server(_FeedServer, others, port, backlog=4096)]
            except OSError:
                first.close()
                continue
            _FeedServer.port = port
            return [first, *rest] if others else [first]
        raise SystemExit("no port free on every loopback address")

    async def main() -> None:
        _FeedServer.hosts = hosts
        servers = await listen(asyncio.get_running_loop())
        Path(port_file).write_text(str(_FeedServer.port))
        await asyncio.gather(*(srv.serve_forever() for srv in servers))

    asyncio.run(main())


def start_server(hosts: int) -> tuple[subprocess.Popen, int]:
    """The feed server in its own process; returns it and its port."""
    port_file = Path(tempfile.mktemp(prefix="pollbench-port-"))
    cmd = [sys.executable, __file__, "--serve", str(port_file), "--hosts", str(hosts)]
    server = subprocess.Popen(cmd)
    try:
        for _ in range(200):
            if port_file.exists() and port_file.read_text():
                break
            if server.poll() is not None:
                raise SystemExit("the feed server did not start")
            time.sleep(0.05)
        return server, int(port_file.read_text())
    except BaseException:
        server.terminate()
        server.wait()
        raise
    finally:
        port_file.unlink(missing_ok=True)


# ---------------------------------------------------------------- measurements (subprocesses)


def feed_urls(port: int, n: int, hosts: int = 1) -> list[str]:
    return [f"http://{host_of(i, hosts)}:{port}/f/{i}.xml" for i in range(n)]


def _control(port: int, path: str) -> str:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=120) as r:
        return r.read().decode()


def bump(port: int, rnd: int, frac: float = 0.1) -> int:
    return int(_control(port, f"/_bump?frac={frac}&round={rnd}"))


def _hwm_mb(pid: int) -> float:
    """Peak resident set (VmHWM) of a live process, in MB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return 0.0


def peak_rss_mb() -> tuple[float, list[float]]:
    """The poller's own peak, and each live parse worker's (they outlive the cycles)."""
    from monitor import cycle

    me = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    workers = [
        _hwm_mb(pid) for pool in cycle._POOLS.values() for pid in list(pool._processes or {})
    ]
    return me, workers


def run_poller(port: int, n: int) -> dict:
    import tomlkit

    from monitor.config import load_config
    from monitor.cycle import run_cycle
    from monitor.db import get_engine, upgrade
    from monitor.setup import sync_feeds

    tmp = Path(tempfile.mkdtemp(prefix="pollbench-"))
    doc = {
        "story": {"seed": str(REPO / "seeds" / "caracas-raid")},
        "database": {"url": f"sqlite:///{tmp / 'bench.db'}"},
        "network": {
            "allow_private_addresses": True,
            "concurrency": CONCURRENCY,
            "per_host": PER_HOST,
            "timeout": 30,
        },
        "digest": {"outbox": str(tmp / "outbox")},
        "feeds": [{"url": u} for u in feed_urls(port, n)],
    }
    path = tmp / "monitor.toml"
    path.write_text(tomlkit.dumps(doc))
    cfg = load_config(path)
    engine = get_engine(cfg.database_url)
    upgrade(engine)
    sync_feeds(cfg, engine)
    out: dict = {}
    for name in ("first", "steady", "all304"):
        if name == "steady":
            out["bumped"] = bump(port, 1)
        t, cpu = time.perf_counter(), time.process_time()
        s = run_cycle(cfg, engine, articles=False)
        out[name] = time.perf_counter() - t
        out[name + "_cpu"] = time.process_time() - cpu
        out[name + "_summary"] = s.line()
    from sqlmodel import Session, func, select

    from monitor.models import Article, Entry

    with Session(engine) as db:
        out["entries"] = db.exec(select(func.count()).select_from(Entry)).one()
        out["articles"] = db.exec(select(func.count()).select_from(Article)).one()
    out["rss_main_mb"], out["rss_worker_mb"] = peak_rss_mb()
    return out


def run_sequential(port: int, n: int, sample: int) -> dict:
    import feedparser

    urls = feed_urls(port, n)[:sample]
    t = time.perf_counter()
    entries = sum(len(feedparser.parse(u).entries) for u in urls)
    per = (time.perf_counter() - t) / len(urls)
    return {"per_feed": per, "sample": len(urls), "entries": entries}


def run_floor(port: int, n: int) -> dict:
    """Bare concurrent fetches with httpx, the same concurrency and client layout, no parsing."""
    import httpx

    urls = feed_urls(port, n)

    async def rounds() -> dict:
        sem = asyncio.Semaphore(PER_HOST)
        n_clients = -(-PER_HOST // 4)  # the same layout as ours: small pools are cheap
        clients = [
            httpx.AsyncClient(limits=httpx.Limits(max_connections=4)) for _ in range(n_clients)
        ]
        etags: dict[str, str] = {}

        async def get(i: int, url: str, conditional: bool) -> None:
            headers = {"If-None-Match": etags[url]} if conditional else {}
            async with sem:
                r = await clients[i % len(clients)].get(url, headers=headers)
                if not conditional:
                    etags[url] = r.headers["etag"]

        res = {}
        for name, cond in (("full", False), ("all304", True)):
            t = time.perf_counter()
            await asyncio.gather(*(get(i, u, cond) for i, u in enumerate(urls)))
            res[name] = time.perf_counter() - t
        for c in clients:
            await c.aclose()
        return res

    return asyncio.run(rounds())


# ---------------------------------------------------------------- several workers (PostgreSQL)

_MARK = "@@pollbench "  # the worker's protocol lines; anything else on stdout is ignored


def _say(obj: object) -> None:
    print(_MARK + json.dumps(obj), flush=True)


def _proc_cpu(pid: int) -> float:
    """User + system CPU seconds of a live process (0 when it is gone)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _pool_cpu() -> dict[int, float]:
    from monitor import cycle

    pids = [pid for pool in cycle._POOLS.values() for pid in list(pool._processes or {})]
    return {pid: _proc_cpu(pid) for pid in pids}


def worker_loop(config_path: str) -> None:
    """One pre-started worker: imports done and engine connected before "ready"; then one
    ``run_cycle`` per "go" line on stdin, each answered with one JSON line."""
    from sqlalchemy import text

    from monitor.config import load_config
    from monitor.cycle import run_cycle
    from monitor.db import get_engine

    cfg = load_config(Path(config_path))
    engine = get_engine(cfg.database_url)
    with engine.connect() as conn:  # the pool holds a live connection before the clock starts
        conn.execute(text("SELECT 1"))
    _say({"ready": os.getpid()})
    for line in sys.stdin:
        if line.strip() != "go":
            break
        pool_before = _pool_cpu()
        t, cpu = time.perf_counter(), time.process_time()
        s = run_cycle(cfg, engine, articles=False)
        wall, cpu = time.perf_counter() - t, time.process_time() - cpu
        done_at = time.time()
        pool_cpu = sum(c - pool_before.get(pid, 0.0) for pid, c in _pool_cpu().items())
        rss, pool_rss = peak_rss_mb()
        _say(
            {
                "pid": os.getpid(),
                "done_at": done_at,
                "wall": wall,
                "cpu": cpu,
                "pool_cpu": pool_cpu,
                "rss_mb": rss,
                "pool_rss_mb": pool_rss,
                "ok": s.feeds_ok,
                "not_modified": s.feeds_not_modified,
                "failed": s.feeds_failed,
                "waiting": s.feeds_waiting,
                "summary": s.line(),
                "problems": s.problems[:3],
            }
        )


class _Workers:
    """N worker processes waiting for "go" on stdin."""

    def __init__(self, n: int, config_path: Path, log_dir: Path) -> None:
        self.procs: list[subprocess.Popen] = []
        self.logs: list[Path] = []
        for k in range(n):
            log = log_dir / f"worker-{k + 1}.log"
            self.logs.append(log)
            with log.open("w") as err:
                self.procs.append(
                    subprocess.Popen(
                        [sys.executable, __file__, "--worker", str(config_path)],
                        # As `monitor run --workers N` does: each worker's parse pool is
                        # its share of this machine's CPUs.
                        env={**os.environ, "MONITOR_WORKERS_ON_HOST": str(n)},
                        stdin=subprocess.PIPE,
                        stdout=subprocess.PIPE,
                        stderr=err,
                        text=True,
                        cwd=REPO,
                    )
                )
        try:
            for k in range(n):
                self._read(k)  # "ready"
        except BaseException:
            self.close()
            raise

    def _read(self, k: int) -> dict:
        proc = self.procs[k]
        assert proc.stdout is not None
        for line in proc.stdout:
            if line.startswith(_MARK):
                return json.loads(line[len(_MARK) :])
        proc.wait()
        tail = self.logs[k].read_text()[-3000:]
        raise SystemExit(f"worker {k + 1} exited with {proc.returncode}:\n{tail}")

    def round(self) -> tuple[float, float, list[dict]]:
        """Say "go" to all at once; (wall seconds until the last report, go time, reports)."""
        go_at, t = time.time(), time.perf_counter()
        for proc in self.procs:
            assert proc.stdin is not None
            proc.stdin.write("go\n")
            proc.stdin.flush()
        reports = [self._read(k) for k in range(len(self.procs))]
        return time.perf_counter() - t, go_at, reports

    def close(self) -> None:
        for proc in self.procs:
            try:
                assert proc.stdin is not None
                proc.stdin.write("quit\n")
                proc.stdin.close()
            except (BrokenPipeError, OSError):
                pass
        for proc in self.procs:
            try:
                proc.wait(timeout=60)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


def _admin(url: Any) -> Any:
    """An autocommit connection to the server named by ``url`` (for CREATE/DROP DATABASE)."""
    import psycopg

    return psycopg.connect(
        host=url.host,
        port=url.port,
        user=url.username,
        password=url.password,
        dbname=url.database or "postgres",
        autocommit=True,
    )


def _drop_database(url: Any, name: str) -> None:
    with _admin(url) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def _create_database(url: Any, name: str) -> None:
    _drop_database(url, name)
    with _admin(url) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')


def _poll_counts(engine: Any) -> dict[int, int]:
    """Poll-log rows per feed so far (every feed listed, 0 when never polled)."""
    from sqlalchemy import text

    with engine.connect() as conn:
        counts = {fid: 0 for (fid,) in conn.execute(text("SELECT id FROM feed WHERE enabled"))}
        rows = conn.execute(
            text(
                "SELECT feed_id, count(*) FROM poll_log WHERE status <> 'skipped' GROUP BY feed_id"
            )
        )
        for fid, c in rows:
            counts[fid] = c
    return counts


def _check_round(before: dict[int, int], after: dict[int, int], split: list[int]) -> str:
    """One line: every feed polled exactly once this round, or a loud warning (``!!!``)."""
    twice = sorted(f for f, c in after.items() if c - before.get(f, 0) > 1)
    missed = sorted(f for f, c in after.items() if c - before.get(f, 0) == 0)
    total, n = sum(split), len(after)
    if not twice and not missed and total == n:
        return f"check: all {n} feeds polled exactly once (poll_log); workers report {total}"
    parts = []
    if twice:
        parts.append(f"{len(twice)} feeds polled more than once (ids {twice[:10]})")
    if missed:
        parts.append(f"{len(missed)} feeds not polled (ids {missed[:10]})")
    if total != n:
        parts.append(f"workers report {total} polls for {n} feeds")
    return "!!! WARNING: " + "; ".join(parts) + " !!!"


def _write_config(tmp: Path, db_url: str, urls: list[str]) -> Path:
    import tomlkit

    doc = {
        "story": {"seed": str(REPO / "seeds" / "caracas-raid")},
        "database": {"url": db_url},
        "network": {
            "allow_private_addresses": True,
            "concurrency": CONCURRENCY,
            "per_host": PER_HOST_MANY,
            "timeout": 30,
        },
        "digest": {"outbox": str(tmp / "outbox")},
        "feeds": [{"url": u} for u in urls],
    }
    path = tmp / "monitor.toml"
    path.write_text(tomlkit.dumps(doc))
    return path


def measure_workers(base_url: Any, n: int, workers: int, hosts: int) -> dict:
    """Fresh database, fresh feed server, ``workers`` processes, three rounds."""
    from monitor.config import load_config
    from monitor.db import get_engine, upgrade
    from monitor.setup import sync_feeds

    name = f"pollbench_{n}_{workers}"
    db_url = base_url.set(database=name).render_as_string(hide_password=False)
    tmp = Path(tempfile.mkdtemp(prefix="pollbench-"))
    server, port = start_server(hosts)
    _create_database(base_url, name)
    engine = None
    pool: _Workers | None = None
    try:
        cfg = load_config(_write_config(tmp, db_url, feed_urls(port, n, hosts)))
        engine = get_engine(cfg.database_url)
        upgrade(engine)
        sync_feeds(cfg, engine)
        out: dict = {"database": name, "size": len(feed_xml(0, 0, port)), "rounds": {}}
        out["load"] = os.getloadavg()[0]
        pool = _Workers(workers, tmp / "monitor.toml", tmp)
        counts = _poll_counts(engine)
        for rnd, _label in ROUNDS:
            info: dict = {}
            if rnd == "steady":
                info["bumped"] = bump(port, 1)
            _control(port, f"/_warm?n={n}")
            server_cpu = float(_control(port, "/_cpu"))
            wall, go_at, reports = pool.round()
            info["server_cpu"] = float(_control(port, "/_cpu")) - server_cpu
            after = _poll_counts(engine)
            split = [r["ok"] + r["not_modified"] + r["failed"] for r in reports]
            info.update(wall=wall, go_at=go_at, reports=reports, split=split)
            info["check"] = _check_round(counts, after, split)
            info["check_ok"] = not info["check"].startswith("!!!")
            counts = after
            out["rounds"][rnd] = info
        return out
    finally:
        if pool is not None:
            pool.close()
        if engine is not None:
            engine.dispose()
        server.terminate()
        server.wait()
        _drop_database(base_url, name)
        shutil.rmtree(tmp, ignore_errors=True)  # config and worker logs (a failure printed its)


def _print_measurement(n: int, workers: int, m: dict) -> None:
    label = "worker" if workers == 1 else "workers"
    print(
        f"-- {workers} {label} (database {m['database']}, dropped afterwards; "
        f"load average {m['load']:.2f} before)"
    )
    for rnd, title in ROUNDS:
        info = m["rounds"][rnd]
        if rnd == "steady":
            title = f"steady ({info['bumped']} feeds with a new item)"
        split = " + ".join(str(x) for x in info["split"])
        print(
            f"{title}: {info['wall']:.2f} s wall; feeds per worker {split}; "
            f"feed server CPU {info['server_cpu']:.1f} s"
        )
        for k, r in enumerate(info["reports"], 1):
            pool_rss = ", ".join(f"{x:.0f}" for x in r["pool_rss_mb"])
            pool_rss = f"{pool_rss} MB" if pool_rss else "none"
            print(
                f"    worker {k}: done at {r['done_at'] - info['go_at']:.2f} s, "
                f"{info['split'][k - 1]} feeds ({r['ok']} ok, {r['not_modified']} not modified, "
                f"{r['failed']} failed, {r['waiting']} left to others or waiting); "
                f"CPU {r['cpu']:.1f} s + parse workers {r['pool_cpu']:.1f} s; "
                f"peak RSS {r['rss_mb']:.0f} MB, parse workers {pool_rss}"
            )
            print(f"        {r['summary']}")
            for p in r["problems"]:
                print(f"        problem: {p}")
        print(f"    {info['check']}")


def _print_scaling(worker_counts: list[int], results: dict[int, dict]) -> None:
    base = worker_counts[0]
    base_label = f"{base} worker" + ("" if base == 1 else "s")
    print(f"-- scaling: time with {base_label} / time with N (higher is better)")
    failed = False
    for rnd, title in ROUNDS:
        cells = []
        t0 = results[base]["rounds"][rnd]["wall"]
        for w in worker_counts:
            info = results[w]["rounds"][rnd]
            cell = f"{w} {'worker' if w == 1 else 'workers'} {info['wall']:.2f} s"
            if w != base:
                cell += f" = {t0 / info['wall']:.2f}x"
            if not info["check_ok"]:
                cell, failed = cell + " (!)", True
            cells.append(cell)
        print(f"{title + ':':<18} " + " | ".join(cells))
    if failed:
        print(
            "(!) not every feed was polled exactly once in that round: the time is not comparable"
        )


def workers_main(args: argparse.Namespace) -> None:
    from sqlalchemy.engine import make_url

    if not args.database:
        raise SystemExit("--workers needs --database postgresql+psycopg://USER@HOST:PORT/DB")
    base_url = make_url(args.database)
    if base_url.get_backend_name() != "postgresql":
        raise SystemExit("--workers needs a PostgreSQL --database (SQLite has one writer)")
    hosts = args.hosts or HOSTS
    if not 1 <= hosts <= 254:
        raise SystemExit("--hosts must be between 1 and 254")
    worker_counts = [int(x) for x in args.workers.split(",")]
    cpus = os.cpu_count() or 1
    print(
        f"poll benchmark, several workers: {ITEMS} items/feed, {LATENCY * 1000:.0f} ms latency, "
        f"feeds spread over {hosts} hosts (127.0.0.1 ... {host_of(hosts - 1, hosts)}), "
        f"per worker: concurrency {CONCURRENCY}, per host {PER_HOST_MANY}, "
        f"run_cycle(articles=False); {cpus} CPUs"
    )
    print(
        f"note: this machine has {cpus} CPU{'s' if cpus != 1 else ''}, shared by the workers, "
        f"their parse pools, PostgreSQL and the feed server: the CPU-bound rounds (first, "
        f"steady) cannot scale past about {cpus}x however many workers run; only waiting "
        f"(latency, per-host politeness) can overlap further."
    )
    print(f"database server: {base_url.set(database=None).render_as_string(hide_password=True)}")
    for n in [int(x) for x in (args.sizes or "5000").split(",")]:
        results = {w: measure_workers(base_url, n, w, hosts) for w in worker_counts}
        size = results[worker_counts[0]]["size"]
        print(f"\n== {n} feeds (~{size / 1024:.0f} KB each) on {hosts} hosts ==")
        for w in worker_counts:
            _print_measurement(n, w, results[w])
        _print_scaling(worker_counts, results)


def _child(kind: str, port: int, n: int, sample: int) -> dict:
    cmd = [
        sys.executable,
        __file__,
        "--child",
        kind,
        "--port",
        str(port),
        "--n",
        str(n),
        "--sample",
        str(sample),
    ]
    done = subprocess.run(cmd, capture_output=True, text=True, check=False, cwd=REPO)
    if done.returncode != 0:
        raise SystemExit(f"{kind} failed:\n{done.stderr[-3000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", help="feed counts (default 1000,5000; with --workers 5000)")
    ap.add_argument("--sample", type=int, default=100)
    ap.add_argument("--workers", help="worker counts to compare, e.g. 1,2,4 (needs --database)")
    ap.add_argument("--database", help="a PostgreSQL URL to create the benchmark databases on")
    ap.add_argument("--hosts", type=int, help=f"loopback hosts in worker mode (default {HOSTS})")
    ap.add_argument("--child")
    ap.add_argument("--worker", help=argparse.SUPPRESS)
    ap.add_argument("--port", type=int)
    ap.add_argument("--n", type=int)
    ap.add_argument("--serve")
    args = ap.parse_args()
    if args.serve:
        return serve(args.serve, args.hosts or 1)
    if args.worker:
        return worker_loop(args.worker)
    if args.workers:
        return workers_main(args)
    args.sizes = args.sizes or "1000,5000"
    if args.child:
        fn = {
            "poller": lambda: run_poller(args.port, args.n),
            "sequential": lambda: run_sequential(args.port, args.n, args.sample),
            "floor": lambda: run_floor(args.port, args.n),
        }[args.child]
        print(json.dumps(fn()))
        return None

    try:
        import monitor.relevance  # noqa: F401

        rel = "monitor.relevance (garden items are off story: no articles)"
    except ImportError:
        rel = "fallback: everything relevant (articles are created for every item)"
    print(
        f"poll benchmark: {ITEMS} items/feed, {LATENCY * 1000:.0f} ms latency, concurrency "
        f"{CONCURRENCY}, per host {PER_HOST}, {os.cpu_count()} CPUs; relevance: {rel}"
    )
    for n in [int(x) for x in args.sizes.split(",")]:
        server, port = start_server(1)
        try:
            size = len(feed_xml(0, 0, port))
            ours = _child("poller", port, n, args.sample)
            seq = _child("sequential", port, n, min(args.sample, n))
            floor = _child("floor", port, n, args.sample)
        finally:
            server.terminate()
            server.wait()
        seq_total = seq["per_feed"] * n
        print(f"\n== {n} feeds (~{size / 1024:.0f} KB each) ==")
        print(
            f"sequential feedparser.parse(url): {seq['per_feed'] * 1000:.1f} ms/feed on a "
            f"sample of {seq['sample']}, extrapolated to {n}: {seq_total:.1f} s (every round)"
        )
        print(f"fetch-only floor: full {floor['full']:.2f} s, all-304 {floor['all304']:.2f} s")
        for name, label in (
            ("first", "first (all new)"),
            ("steady", f"steady ({ours['bumped']} feeds with a new item)"),
            ("all304", "all-304"),
        ):
            t = ours[name]
            line = f"ours {label}: {t:.2f} s = {seq_total / t:.1f}x the sequential loop"
            if name == "all304":
                line += f", {t / floor['all304']:.2f}x the fetch-only floor"
            if name == "first":
                line += f", {t / floor['full']:.2f}x the fetch-only floor"
            print(line)
            cpu = ours[name + "_cpu"]
            print(f"    {ours[name + '_summary']} (poller process CPU {cpu:.1f} s)")
        workers = ", ".join(f"{w:.0f}" for w in ours["rss_worker_mb"]) or "none"
        print(
            f"peak RSS: poller {ours['rss_main_mb']:.0f} MB, parse workers {workers} MB; "
            f"stored {ours['entries']} entries, {ours['articles']} articles"
        )


if __name__ == "__main__":
    main()
