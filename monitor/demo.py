"""``monitor demo``: the whole product offline, on bundled coverage served from loopback.

Invented follow-ups of the seed story (``monitor/demo_data/coverage.toml``) are published day
by day on a real HTTP server on 127.0.0.1: six outlet feeds, a wire story under two outlets, a
Spanish piece, an off-story Venezuela article, another casualty event, a page edited after
publication and a feed that starts failing. The demo moves the clock (``monitor.clock``)
through five days of polls, then delivers the digest to the outbox in the work folder and
prints where it is and what was found.
"""

from __future__ import annotations

import sys
import tomllib
from collections import Counter
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, TextIO

from monitor import clock
from monitor.loopback import LoopbackServer
from monitor.newsweb import FeedItem, news_page, rss_feed
from monitor.paths import seeds_dir

DATA_DIR = Path(__file__).resolve().parent / "demo_data"
STORY_SEED = "caracas-raid"


@dataclass(frozen=True)
class DemoFeed:
    slug: str
    name: str
    fails_from_day: int | None = None


@dataclass(frozen=True)
class DemoArticle:
    slug: str
    feed: str
    day: int
    hour: int
    title: str
    byline: str
    text: str
    revised_on_day: int | None = None
    revised_text: str | None = None


@dataclass(frozen=True)
class Coverage:
    start: datetime
    days: int
    poll_hours: list[int]
    digest_at: datetime
    feeds: list[DemoFeed]
    articles: list[DemoArticle]

    def published(self, a: DemoArticle) -> datetime:
        return self.start + timedelta(days=a.day, hours=a.hour)

    def day_start(self, day: int) -> datetime:
        return self.start + timedelta(days=day)


def load_coverage(path: Path | None = None) -> Coverage:
    data = tomllib.loads((path or DATA_DIR / "coverage.toml").read_text(encoding="utf-8"))
    demo = data["demo"]
    return Coverage(
        start=clock.parse_iso(demo["start"]),
        days=int(demo["days"]),
        poll_hours=[int(h) for h in demo["poll_hours"]],
        digest_at=clock.parse_iso(demo["digest_at"]),
        feeds=[DemoFeed(**f) for f in data["feeds"]],
        articles=[DemoArticle(**{**a, "text": a["text"].strip()}) for a in data["articles"]],
    )


# ----------------------------------------------------------------------------- the web


def article_path(a: DemoArticle) -> str:
    return f"/{a.feed}/{a.slug}.html"


def feed_path(f: DemoFeed) -> str:
    return f"/{f.slug}/rss.xml"


def article_text(a: DemoArticle, now: datetime, cov: Coverage) -> str:
    if a.revised_text and a.revised_on_day is not None and now >= cov.day_start(a.revised_on_day):
        return a.revised_text.strip()
    return a.text


DEMO_NAV = '<a href="/">Home</a> · <a href="/world">World</a> · <a href="/americas">Americas</a>\n'


def article_html(a: DemoArticle, feed: DemoFeed, text: str, published: datetime) -> str:
    return news_page(
        title=a.title,
        outlet=feed.name,
        byline=a.byline,
        text=text,
        published=published,
        lang="es" if a.feed == "voz" else "en",
        nav=DEMO_NAV,
        footer_note="All rights reserved.",
    )


def feed_xml(feed: DemoFeed, items: list[DemoArticle], base: str, cov: Coverage) -> str:
    listed = [
        FeedItem(
            title=a.title,
            link=f"{base}{article_path(a)}",
            guid=f"{feed.slug}-{a.slug}",
            published=cov.published(a),
            summary=a.text.splitlines()[0][:240],
        )
        for a in sorted(items, key=cov.published, reverse=True)
    ]
    return rss_feed(title=feed.name, link=f"{base}/{feed.slug}/", outlet=feed.name, items=listed)


def publish(server: LoopbackServer, cov: Coverage, now: datetime) -> None:
    """Serve what exists at ``now``: each feed lists its published items, pages as edited."""
    feeds = {f.slug: f for f in cov.feeds}
    for f in cov.feeds:
        if f.fails_from_day is not None and now >= cov.day_start(f.fails_from_day):
            server.set(feed_path(f), "Service Unavailable", status=503, content_type="text/plain")
            continue
        items = [a for a in cov.articles if a.feed == f.slug and cov.published(a) <= now]
        server.set(
            feed_path(f),
            feed_xml(f, items, server.base_url, cov),
            content_type="application/rss+xml; charset=utf-8",
            etag="auto",
        )
    for a in cov.articles:
        if cov.published(a) <= now:
            text = article_text(a, now, cov)
            server.set(
                article_path(a), article_html(a, feeds[a.feed], text, cov.published(a)), etag="auto"
            )


# ----------------------------------------------------------------------------- the run


def write_config(workdir: Path, base_url: str, cov: Coverage) -> Path:
    """The demo's own config: SQLite and the outbox in the work folder, loopback allowed."""
    seed = seeds_dir() / STORY_SEED
    feeds = "\n".join(
        f'[[feeds]]\nurl = "{base_url}{feed_path(f)}"\nname = "{f.name}"\n' for f in cov.feeds
    )
    text = f"""# Written by `monitor demo`: the offline demo's configuration.
[story]
seed = "{seed.as_posix()}"

[database]
url = "{_db_url(workdir)}"

[network]
allow_private_addresses = true   # the demo's feeds are on 127.0.0.1
timeout = 10

[poll]
interval_minutes = 60
refetch_hours = [1, 6, 24, 72]

[digest]
to = ["desk@example.org"]
sender = "monitor@example.org"
time = "07:00"
timezone = "UTC"
outbox = "{(workdir / "outbox").resolve().as_posix()}"
send_when_quiet = true

[smtp]
host = ""   # no SMTP host: the digest goes to the outbox

{feeds}"""
    path = workdir / "monitor.toml"
    path.write_text(text, encoding="utf-8")
    return path


def _db_url(workdir: Path) -> str:
    return f"sqlite:///{(workdir / 'demo.db').resolve().as_posix()}"


def _fresh(workdir: Path) -> None:
    """A rerun starts over: only the demo's own files are removed."""
    from monitor.db import get_engine

    # A cached engine of an earlier run in this process must not keep the old file open.
    get_engine(_db_url(workdir)).dispose()
    for name in ("demo.db", "demo.db-wal", "demo.db-shm"):
        (workdir / name).unlink(missing_ok=True)
    outbox = workdir / "outbox"
    if outbox.is_dir():
        for p in outbox.glob("digest-*"):
            p.unlink()


def run_demo(workdir: Path, out: TextIO | None = None) -> int:
    """Run the demo in ``workdir``; prints progress and the summary; returns the exit code."""
    from monitor.config import load_config
    from monitor.cycle import run_cycle
    from monitor.db import get_engine, upgrade
    from monitor.digest import send
    from monitor.setup import load_story_into_db, sync_feeds

    out = out or sys.stdout
    workdir = Path(workdir)
    workdir.mkdir(parents=True, exist_ok=True)
    _fresh(workdir)
    cov = load_coverage()
    server = LoopbackServer().start()
    try:
        cfg = load_config(write_config(workdir, server.base_url, cov))
        engine = get_engine(cfg.database_url)
        clock.set_now(cov.start)
        upgrade(engine)
        print(f"demo: {sync_feeds(cfg, engine)}; {load_story_into_db(cfg, engine)}", file=out)
        print(
            f"demo: serving {len(cov.articles)} articles from {len(cov.feeds)} feeds at "
            f"{server.base_url}",
            file=out,
        )
        for day in range(cov.days):
            for hour in cov.poll_hours:
                now = cov.day_start(day) + timedelta(hours=hour)
                clock.set_now(now)
                publish(server, cov, now)
                summary = run_cycle(cfg, engine, progress=False)
                print(f"  {now:%a %d %b %H:%M} UTC  {summary.line()}", file=out)
        clock.set_now(cov.digest_at)
        publish(server, cov, cov.digest_at)
        line = send(cfg, engine)
        print(f"\ndigest: {line}", file=out)
        for text in summary_lines(engine, cfg):
            print(text, file=out)
        eml = _latest(workdir / "outbox", ".eml")
        if eml is not None:
            print(f"\nOpen the digest: {eml.with_suffix('.html')}", file=out)
            print(f"The email as sent: {eml}", file=out)
        return 0
    finally:
        clock.set_now(None)
        server.stop()
        get_engine(_db_url(workdir)).dispose()


def _latest(folder: Path, suffix: str) -> Path | None:
    files = sorted(folder.glob(f"digest-*{suffix}")) if folder.is_dir() else []
    return files[-1] if files else None


def summary_lines(engine: Any, cfg: Any) -> list[str]:
    """Findings by kind, then one line per change (what, who, baseline vs reported)."""
    from sqlmodel import Session, select

    from monitor.digest import SECTIONS, describe
    from monitor.models import Article, Finding

    with Session(engine) as s:
        rows = list(
            s.exec(select(Finding, Article).join(Article, Article.id == Finding.article_id))
        )
        articles = list(s.exec(select(Article)))
    counts = Counter(f.relation for f, _a in rows)
    order = [r for r, *_ in SECTIONS] + ["confirms"]
    lines = [
        f"\nfindings: {len(rows)} from {len({a.id for _f, a in rows})} of {len(articles)} "
        "articles fetched",
        "  "
        + ", ".join(f"{counts[r]} {r}" for r in order if counts.get(r))
        + "".join(f", {n} {r}" for r, n in sorted(counts.items()) if r not in order),
    ]
    for f, a in sorted(
        rows, key=lambda r: (order.index(r[0].relation) if r[0].relation in order else 99, r[0].id)
    ):
        if f.relation == "confirms":
            continue
        lines.append(
            f"  {f.relation:<17} {a.outlet:<20} {f.baseline_key or '':<26} "
            f"{describe(f.baseline) if f.baseline else '—'} -> {describe(f.observed)}"
        )
    quiet = sorted({a.title for a in articles} - {a.title for _f, a in rows})
    if quiet:
        lines.append("  no findings: " + "; ".join(quiet))
    return lines
