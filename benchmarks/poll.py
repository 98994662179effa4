"""Poll benchmark: our poller vs a sequential feedparser loop vs a bare concurrent fetch floor.

    python benchmarks/poll.py                 # 1 000 and 5 000 feeds
    python benchmarks/poll.py --sizes 1000    # one size
    python benchmarks/poll.py --sample 100    # feeds timed in the sequential loop

N feeds (~40 KB, 30 items each) are served with 50 ms added latency by a small asyncio HTTP
server in a separate process on 127.0.0.1. Three rounds: *first* (everything new), *steady*
(10 % of feeds have one new item, the rest answer 304) and *all-304*. Each measurement runs in
its own process so peak RSS is the poller's own (its parse workers reported beside it).

The sequential loop (``feedparser.parse(url)`` per feed, which always downloads in full) would
take minutes at 5 000 feeds: it is timed on a sample and extrapolated linearly, as printed.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
import urllib.request
from email.utils import formatdate
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

LATENCY = 0.05
ITEMS = 30
CONCURRENCY = 100
PER_HOST = 100  # all feeds share one host here; the config's ceiling

# ---------------------------------------------------------------- the feed server (subprocess)

_WORDS = (
    "allotment compost mulch seedlings trellis frost orchard pruning irrigation greenhouse "
    "tomatoes courgettes beans soil worms hedgerow apple blossom harvest rainfall shed"
).split()


def _para(i: int, k: int, n: int) -> str:
    words = [_WORDS[(i * 7 + k * 3 + j) % len(_WORDS)] for j in range(n)]
    return " ".join(words).capitalize() + "."


def feed_xml(i: int, version: int, port: int) -> bytes:
    """Feed ``i`` at ``version``: 30 items, the newest first; each version adds one item."""
    items = []
    base = f"http://127.0.0.1:{port}"
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
        if parts.path.startswith("/f/"):
            i = int(parts.path[3:].split(".")[0])
            v = self.versions.setdefault(i, 0)
            etag = f'"{i}-{v}"'
            if headers.get("if-none-match") == etag:
                return "304 Not Modified", b"", [f"ETag: {etag}"]
            # A static file, as most feed servers send: built once per version.
            cached = self.bodies.get(i)
            if cached is None or cached[0] != v:
                cached = self.bodies[i] = (v, feed_xml(i, v, self.port))
            body = cached[1]
            return "200 OK", body, [f"ETag: {etag}", "Content-Type: application/rss+xml"]
        return "404 Not Found", b"", []


def serve(port_file: str) -> None:
    async def main() -> None:
        loop = asyncio.get_running_loop()
        server = await loop.create_server(_FeedServer, "127.0.0.1", 0, backlog=4096)
        _FeedServer.port = server.sockets[0].getsockname()[1]
        Path(port_file).write_text(str(_FeedServer.port))
        await server.serve_forever()

    asyncio.run(main())


# ---------------------------------------------------------------- measurements (subprocesses)


def feed_urls(port: int, n: int) -> list[str]:
    return [f"http://127.0.0.1:{port}/f/{i}.xml" for i in range(n)]


def bump(port: int, rnd: int, frac: float = 0.1) -> int:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/_bump?frac={frac}&round={rnd}") as r:
        return int(r.read())


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
    ap.add_argument("--sizes", default="1000,5000")
    ap.add_argument("--sample", type=int, default=100)
    ap.add_argument("--child")
    ap.add_argument("--port", type=int)
    ap.add_argument("--n", type=int)
    ap.add_argument("--serve")
    args = ap.parse_args()
    if args.serve:
        return serve(args.serve)
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
        port_file = Path(tempfile.mktemp(prefix="pollbench-port-"))
        server = subprocess.Popen([sys.executable, __file__, "--serve", str(port_file)])
        try:
            for _ in range(100):
                if port_file.exists() and port_file.read_text():
                    break
                time.sleep(0.05)
            port = int(port_file.read_text())
            size = len(feed_xml(0, 0, port))
            ours = _child("poller", port, n, args.sample)
            seq = _child("sequential", port, n, min(args.sample, n))
            floor = _child("floor", port, n, args.sample)
        finally:
            server.terminate()
            server.wait()
            port_file.unlink(missing_ok=True)
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
