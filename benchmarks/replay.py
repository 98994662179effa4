"""Replay of invented follow-up coverage through the contract commands, scored against labels.

The closest thing we have to the outside check: the articles of ``benchmarks/replay_data/``
(invented wording modelled on how the real follow-ups of the seed story read, with off-story
items that mention the capture in passing) are published day by day on a loopback HTTP server,
and the real command line is driven as the check drives it: ``monitor init``, one
``monitor poll --once`` per day of coverage (the feeds grow each day; the clock is real), then
``monitor findings --json`` and ``monitor digest --preview FILE``.

Scores, on the English on-story articles (a finding matches a label on article URL, relation
and baseline_key; a new statement also on a few of its words):

- relation recall: labelled findings found / labelled findings;
- alarm precision: alarms (every relation but confirms and new_*) that match a label / alarms;
- off-story findings: findings from any article labelled off-story (must be 0).

Run: ``python benchmarks/replay.py`` (``--in-process`` runs the commands through click in this
process instead of subprocesses: faster, same code path; ``--keep DIR`` keeps the work folder).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import tomllib
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
DATA = Path(__file__).resolve().parent / "replay_data"
SEED = ROOT / "seeds" / "caracas-raid"
ALARMS = ("qualifier_changed", "updated", "contradicts", "reworded", "reattributed", "silent_edit")
# Feeds that carry only the first paragraph; the others carry the whole text (both are common).
LEAD_ONLY_FEEDS = ("northstar-latest", "northstar-sport")

if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from monitor.newsweb import FeedItem, news_page, rss_feed  # noqa: E402

# ----------------------------------------------------------------------------- data


@dataclass(frozen=True)
class Article:
    slug: str
    feeds: tuple[str, ...]
    day: int
    hour: int
    lang: str
    title: str
    text: str
    edit_day: int | None = None
    edit_text: str | None = None

    @property
    def path(self) -> str:
        return f"/{self.feeds[0].split('-')[0]}/{self.slug}.html"

    def text_on(self, day: int) -> str:
        if self.edit_text and self.edit_day is not None and day >= self.edit_day:
            return self.edit_text.strip()
        return self.text.strip()


@dataclass(frozen=True)
class Label:
    on_story: bool
    expect: tuple[tuple[str, str], ...]  # (relation, baseline_key or "~ words")


@dataclass
class Coverage:
    dates: list[datetime]
    feeds: dict[str, str]  # slug -> outlet name
    articles: list[Article]
    labels: dict[str, Label]

    def published(self, a: Article) -> datetime:
        return self.dates[a.day] + timedelta(hours=a.hour)


def load(data: Path = DATA) -> Coverage:
    raw = tomllib.loads((data / "articles.toml").read_text(encoding="utf-8"))
    lab = tomllib.loads((data / "labels.toml").read_text(encoding="utf-8"))["labels"]
    dates = [datetime.fromisoformat(d).replace(tzinfo=UTC) for d in raw["replay"]["dates"]]
    articles = [
        Article(**{**a, "feeds": tuple(a["feeds"]), "text": a["text"].strip()})
        for a in raw["articles"]
    ]
    labels = {}
    for slug, item in lab.items():
        pairs = []
        for line in item.get("expect", []):
            rel, key = line.split(" ", 1)
            pairs.append((rel, key.strip()))
        labels[slug] = Label(bool(item["on_story"]), tuple(pairs))
    missing = {a.slug for a in articles} ^ set(labels)
    if missing:
        raise SystemExit(f"labels and articles differ: {sorted(missing)}")
    return Coverage(dates, {f["slug"]: f["name"] for f in raw["feeds"]}, articles, labels)


# ----------------------------------------------------------------------------- the web


REPLAY_NAV = (
    '<a href="/">Home</a> · <a href="/world">World</a> · <a href="/business">Business</a>\n'
    ' · <a href="/sport">Sport</a>'
)
REPLAY_ASIDE = (
    '<aside><h2>Most read</h2><ul><li><a href="/x">Markets close higher</a></li>\n'
    '<li><a href="/y">Weather: a cold week ahead</a></li></ul></aside>\n'
)


def page_html(a: Article, outlet: str, text: str, published: datetime) -> str:
    return news_page(
        title=a.title,
        outlet=outlet,
        byline="Staff reporter",
        text=text,
        published=published,
        lang=a.lang,
        nav=REPLAY_NAV,
        aside=REPLAY_ASIDE,
        footer_note="Invented coverage for a replay benchmark.",
    )


def feed_xml(slug: str, outlet: str, items: list[Article], base: str, cov: Coverage, day: int):
    listed = []
    for a in sorted(items, key=cov.published, reverse=True):
        text = a.text_on(day)
        summary = text.splitlines()[0] if slug in LEAD_ONLY_FEEDS else " ".join(text.splitlines())
        listed.append(FeedItem(a.title, f"{base}{a.path}", a.slug, cov.published(a), summary))
    return rss_feed(title=f"{outlet} — {slug}", link=f"{base}/{slug}/", outlet=outlet, items=listed)


def publish(server: Any, cov: Coverage, day: int) -> None:
    """Serve what exists at the end of ``day``: feeds list their items, pages as edited."""
    for slug, outlet in cov.feeds.items():
        items = [a for a in cov.articles if slug in a.feeds and a.day <= day]
        server.set(
            f"/{slug}/rss.xml",
            feed_xml(slug, outlet, items, server.base_url, cov, day),
            content_type="application/rss+xml; charset=utf-8",
            etag="auto",
        )
    for a in cov.articles:
        if a.day <= day:
            outlet = cov.feeds[a.feeds[0]]
            server.set(a.path, page_html(a, outlet, a.text_on(day), cov.published(a)), etag="auto")


def write_config(workdir: Path, base_url: str, cov: Coverage) -> Path:
    feeds = "\n".join(
        f'[[feeds]]\nurl = "{base_url}/{slug}/rss.xml"\nname = "{name}"\n'
        for slug, name in cov.feeds.items()
    )
    text = f"""[story]
seed = "{SEED.as_posix()}"

[database]
url = "sqlite:///{(workdir / "replay.db").as_posix()}"

[network]
allow_private_addresses = true
timeout = 10

[digest]
to = ["desk@example.org"]
sender = "monitor@example.org"
outbox = "{(workdir / "outbox").as_posix()}"

{feeds}"""
    path = workdir / "monitor.toml"
    path.write_text(text, encoding="utf-8")
    return path


# ----------------------------------------------------------------------------- the run


class Runner:
    """Runs ``monitor --config CFG ...`` as a subprocess, or through click in this process."""

    def __init__(self, config: Path, in_process: bool) -> None:
        self.config, self.in_process = config, in_process

    def __call__(self, *args: str) -> str:
        if self.in_process:
            from click.testing import CliRunner

            from monitor.cli import cli

            result = CliRunner().invoke(cli, ["--config", str(self.config), *args])
            if result.exit_code != 0:
                raise RuntimeError(f"monitor {' '.join(args)}: {result.output}{result.exception}")
            return result.output
        env = {**os.environ, "PYTHONPATH": str(ROOT)}
        proc = subprocess.run(
            [sys.executable, "-m", "monitor", "--config", str(self.config), *args],
            capture_output=True,
            text=True,
            cwd=ROOT,
            env=env,
            timeout=600,
        )
        if proc.returncode != 0:
            raise RuntimeError(f"monitor {' '.join(args)} exited {proc.returncode}: {proc.stderr}")
        return proc.stdout


@dataclass
class Replay:
    findings: list[dict[str, Any]]
    digest_path: Path
    poll_lines: list[str] = field(default_factory=list)


def run(workdir: Path, cov: Coverage, in_process: bool = False) -> Replay:
    from monitor.loopback import LoopbackServer

    server = LoopbackServer().start()
    try:
        config = write_config(workdir, server.base_url, cov)
        monitor = Runner(config, in_process)
        monitor("init")
        lines = []
        for day in range(len(cov.dates)):
            publish(server, cov, day)
            out = monitor("poll", "--once", "--no-progress")
            lines.append(f"day {day} ({cov.dates[day]:%d %b}): {out.strip().splitlines()[-1:]}")
        raw = monitor("findings", "--json")
        digest = workdir / "digest-preview.html"
        monitor("digest", "--preview", str(digest))
    finally:
        server.stop()
        if in_process:
            from monitor.db import get_engine

            get_engine.cache_clear()
    found = [json.loads(x) for x in raw.splitlines() if x.strip().startswith("{")]
    return Replay(found, digest, lines)


# ----------------------------------------------------------------------------- scoring


def _fold(text: str) -> str:
    from monitor.story import fold

    return " ".join("".join(c if c.isalnum() else " " for c in fold(text)).split())


@dataclass
class Score:
    expected: set[tuple[str, str, str]]
    got: set[tuple[str, str, str]]
    alarms: set[tuple[str, str, str]]
    off_story: list[dict[str, Any]]
    other_lang: tuple[int, int, int]  # expected, found, off-label alarms (not scored)

    @property
    def recall(self) -> float:
        return len(self.expected & self.got) / max(1, len(self.expected))

    @property
    def alarm_precision(self) -> float:
        return len(self.alarms & self.expected) / max(1, len(self.alarms))

    @property
    def misses(self) -> list[tuple[str, str, str]]:
        return sorted(self.expected - self.got)

    @property
    def false_alarms(self) -> list[tuple[str, str, str]]:
        return sorted(self.alarms - self.expected)

    @property
    def extra(self) -> list[tuple[str, str, str]]:
        return sorted(self.got - self.expected - self.alarms)


def _finding_tuple(f: dict[str, Any], expect: tuple[tuple[str, str], ...], slug: str):
    rel, key = f["relation"], f.get("baseline_key") or ""
    if rel != "new_statement":
        return (slug, rel, key)
    quote = _fold((f.get("observed") or {}).get("quote") or "")
    for erel, ekey in expect:
        if erel == "new_statement" and _fold(ekey.lstrip("~ ")) in quote:
            return (slug, rel, ekey)
    return (slug, rel, "~? " + quote[:40])


def score(cov: Coverage, findings: list[dict[str, Any]]) -> Score:
    by_path = {a.path: a for a in cov.articles}
    expected: set[tuple[str, str, str]] = set()
    for a in cov.articles:
        lab = cov.labels[a.slug]
        if lab.on_story and a.lang == "en":
            expected |= {(a.slug, rel, key) for rel, key in lab.expect}
    got, alarms, off = set(), set(), []
    other_exp = {
        (a.slug, rel, key)
        for a in cov.articles
        if a.lang != "en" and cov.labels[a.slug].on_story
        for rel, key in cov.labels[a.slug].expect
    }
    other_got: set[tuple[str, str, str]] = set()
    for f in findings:
        path = "/" + f["article"]["url"].split("/", 3)[-1]
        a = by_path.get(path)
        if a is None:
            continue
        lab = cov.labels[a.slug]
        t = _finding_tuple(f, lab.expect, a.slug)
        if not lab.on_story:
            off.append(f)
            continue
        if a.lang != "en":
            other_got.add(t)
            continue
        got.add(t)
        if t[1] in ALARMS:
            alarms.add(t)
    other_alarms = {t for t in other_got if t[1] in ALARMS}
    return Score(
        expected,
        got,
        alarms,
        off,
        (len(other_exp), len(other_exp & other_got), len(other_alarms - other_exp)),
    )


def confusion(s: Score) -> list[str]:
    """Per relation: labelled, found, missed, false (produced but not labelled); then, for
    each missed label, which relation the same article and baseline item got instead."""
    rels = sorted({t[1] for t in s.expected | s.got})
    lines = [f"{'relation':<18}{'labelled':>9}{'found':>7}{'missed':>8}{'false':>7}"]
    for r in rels:
        e = {t for t in s.expected if t[1] == r}
        g = {t for t in s.got if t[1] == r}
        lines.append(f"{r:<18}{len(e):>9}{len(e & g):>7}{len(e - g):>8}{len(g - e):>7}")
    instead: Counter[tuple[str, str]] = Counter()
    got_by = defaultdict(set)
    for slug, rel, key in s.got:
        got_by[(slug, key)].add(rel)
    for slug, rel, key in s.expected - s.got:
        others = got_by.get((slug, key)) or {"(nothing)"}
        for o in others:
            instead[(rel, o)] += 1
    if instead:
        lines.append("missed label -> what the same article/item got instead:")
        for (rel, o), n in sorted(instead.items()):
            lines.append(f"  {rel:<18} -> {o:<18} {n}")
    return lines


def report(s: Score, detail: bool = True) -> str:
    n_exp, n_found, n_false = s.other_lang
    out = [
        "replay of invented follow-up coverage (English on-story part scored)",
        f"  relation recall   {s.recall:.3f}  ({len(s.expected & s.got)}/{len(s.expected)})",
        f"  alarm precision   {s.alarm_precision:.3f}  "
        f"({len(s.alarms & s.expected)}/{len(s.alarms)})",
        f"  off-story findings {len(s.off_story)}",
        f"  other languages (not scored): {n_found}/{n_exp} labels found, "
        f"{n_false} unlabelled alarms",
        "",
        *confusion(s),
    ]
    if detail:
        out += ["", "missed:"] + [f"  {t}" for t in s.misses]
        out += ["false alarms:"] + [f"  {t}" for t in s.false_alarms]
        out += ["other unlabelled findings:"] + [f"  {t}" for t in s.extra]
        out += ["off-story findings:"] + [
            f"  {f['article']['url'].rsplit('/', 1)[-1]} {f['relation']} {f['baseline_key']} "
            f"{f['sentence'][:80]}"
            for f in s.off_story
        ]
    return "\n".join(out)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--in-process", action="store_true", help="click in this process")
    ap.add_argument("--keep", metavar="DIR", help="work folder to keep (default: a temp dir)")
    ap.add_argument("--quiet", action="store_true", help="no per-finding detail")
    args = ap.parse_args(argv)
    cov = load()
    with tempfile.TemporaryDirectory(prefix="replay-") as tmp:
        workdir = Path(args.keep or tmp).resolve()
        workdir.mkdir(parents=True, exist_ok=True)
        for name in ("replay.db", "replay.db-wal", "replay.db-shm"):
            (workdir / name).unlink(missing_ok=True)
        result = run(workdir, cov, in_process=args.in_process)
        s = score(cov, result.findings)
        print("\n".join(result.poll_lines))
        print(f"digest preview: {result.digest_path.stat().st_size} bytes")
        print(report(s, detail=not args.quiet))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
