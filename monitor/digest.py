"""The daily digest: findings since the last delivered digest, plus source health, rendered as
one multipart/alternative email (plain text + HTML with inlined CSS).

The digest is *built* here (a plain model of sections, items, charts and feed health) and
*rendered* from two Jinja2 templates. Every string that came from a feed or an article is
escaped by the HTML template's autoescape and never reaches a header: the subject carries only
counts, the story title (from the editor's story file) and a date.

``preview`` renders what ``send`` would deliver next and marks nothing; ``send`` hands the
digest to ``monitor.delivery``, which owns the exactly-once state machine.
"""

from __future__ import annotations

import re
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime
from difflib import SequenceMatcher
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

import css_inline
from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from monitor.clock import as_utc, utcnow
from monitor.config import Config
from monitor.hedges import hedge_text
from monitor.models import Article, ArticleVersion, Digest, Feed, Finding, PollLog
from monitor.paths import templates_dir
from monitor.story import fold, load_story

# (relation, section heading, singular, plural) in the order the desk reads them.
SECTIONS: list[tuple[str, str, str, str]] = [
    ("contradicts", "Contradictions", "contradiction", "contradictions"),
    ("updated", "Updates", "update", "updates"),
    ("qualifier_changed", "Hedge changes", "hedge change", "hedge changes"),
    ("reworded", "Reworded quotes", "reworded quote", "reworded quotes"),
    ("reattributed", "Re-attributed quotes", "re-attributed quote", "re-attributed quotes"),
    ("silent_edit", "Silent edits", "silent edit", "silent edits"),
    ("new_figure", "New figures", "new figure", "new figures"),
    ("new_statement", "New statements", "new statement", "new statements"),
]
CONFIRMS = "confirms"
FIGURE_RELATIONS = {"confirms", "qualifier_changed", "updated", "contradicts", "silent_edit"}
SUBJECT_PARTS = 3  # counts named in the subject before "and N more"
WIRE_SIMILARITY = 0.9  # wire copy arrives with small edits; above this it is the same text
CHART_POINTS = 14
CHART_WIDTH = 220  # px of the longest bar

_DATELINE = re.compile(r"^[A-ZÁÉÍÓÚÑ ,./'-]{3,}(\([^)]*\))?\s*[—–-]\s*")
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f\u2028\u2029]")


# ----------------------------------------------------------------------------- model


@dataclass
class Source:
    outlet: str
    url: str
    href: str | None  # only http(s) links are clickable
    title: str
    published: str
    version: int


@dataclass
class Item:
    relation: str
    baseline_key: str
    label: str
    sentence: str
    baseline: str
    observed: str
    attribution: str
    diff: str
    sources: list[Source]
    finding_ids: list[int]

    @property
    def syndicated(self) -> bool:
        return len({s.outlet for s in self.sources}) > 1

    @property
    def outlets(self) -> str:
        return ", ".join(dict.fromkeys(s.outlet for s in self.sources))


@dataclass
class Section:
    relation: str
    heading: str
    items: list[Item]


@dataclass
class OutletConfirmations:
    outlet: str
    count: int
    labels: list[str]


@dataclass
class Bar:
    date: str
    label: str
    value: str
    width: int
    colour: str
    outlets: str


@dataclass
class Chart:
    label: str
    baseline: str
    bars: list[Bar]


@dataclass
class FeedProblem:
    name: str
    url: str
    failures: int
    last_error: str
    last_failure: str
    last_success: str
    still_failing: bool


@dataclass
class DigestModel:
    story_title: str
    period: str
    date_label: str
    subject: str
    sections: list[Section]
    confirmations: list[OutletConfirmations]
    confirmation_wire: list[Item]
    charts: list[Chart]
    feed_problems: list[FeedProblem]
    polls: int
    feeds_ok: int
    finding_count: int
    quiet: bool
    generated: str
    counts: dict[str, int] = field(default_factory=dict)
    omitted: int = 0  # items beyond digest.max_items: counted, not split into another email


@dataclass
class Rendered:
    subject: str
    text: str
    html: str
    model: DigestModel


# ----------------------------------------------------------------------------- text helpers


def clean(text: Any, limit: int = 2000) -> str:
    """One line of feed-derived text: control characters and line breaks become spaces."""
    s = _CONTROL.sub(" ", str(text or "")).replace("\r", " ").replace("\n", " ")
    s = re.sub(r"\s+", " ", s).strip()
    return s if len(s) <= limit else s[: limit - 1] + "…"


def safe_href(url: str) -> str | None:
    parts = urlsplit(url or "")
    return url if parts.scheme in ("http", "https") and parts.netloc else None


def describe_figure(d: dict[str, Any] | None) -> str:
    """'at least 80', 'exactly 32', '20–30' from a contract figure dict."""
    if not d:
        return "—"
    if "low" not in d and "quote" in d:
        return describe_quote(d)
    if d.get("low") is None and d.get("high") is None:
        return "—"
    text = hedge_text(d.get("qualifier"), d.get("low"), d.get("high"))
    return text


def describe_quote(d: dict[str, Any] | None) -> str:
    if not d:
        return "—"
    quote = clean(d.get("quote", ""), 600)
    who = clean(d.get("speaker") or d.get("speaker_key") or "", 120).replace("_", " ")
    return f"“{quote}” — {who}" if who else f"“{quote}”"


def describe(d: dict[str, Any] | None) -> str:
    if not d:
        return "—"
    if "quote" in d:
        return describe_quote(d)
    if "low" in d or "high" in d:
        return describe_figure(d)
    return clean(", ".join(f"{k}: {v}" for k, v in d.items() if not isinstance(v, (dict, list))))


def key_label(baseline_key: str | None, observed: dict[str, Any]) -> str:
    """'Killed — Cuban personnel' for 'killed:cuban_personnel'; quotes name the speaker."""
    key = baseline_key or ""
    if not key and "quote" in observed:
        key = f"quote:{observed.get('speaker_key') or 'other'}"
    parts = key.split(":")
    if parts[0] == "quote":
        who = (parts[1] if len(parts) > 1 else observed.get("speaker_key", "")).replace("_", " ")
        return f"Quote — {who.title().replace('Diaz Canel', 'Díaz-Canel')}"
    metric = parts[0] if parts and parts[0] else observed.get("metric", "figure")
    group = parts[1] if len(parts) > 1 else observed.get("group_key", "")
    group = {"total": "overall toll", "us_forces": "US forces"}.get(group, group.replace("_", " "))
    return f"{metric.capitalize()} — {group}" if group else metric.capitalize()


def _norm_sentence(sentence: str) -> str:
    s = _DATELINE.sub("", clean(sentence))
    return re.sub(r"[^\w ]+", "", fold(s)).strip()


def local(dt: datetime | None, tz: ZoneInfo, fmt: str = "%d %b %H:%M %Z") -> str:
    if dt is None:
        return "—"
    out = as_utc(dt).astimezone(tz).strftime(fmt)
    return out.lstrip("0")


# ----------------------------------------------------------------------------- building


def _rows(session: Session, findings: list[Finding]) -> list[tuple[Finding, Article, int]]:
    art_ids = {f.article_id for f in findings}
    ver_ids = {f.version_id for f in findings}
    arts = {a.id: a for a in session.exec(select(Article).where(Article.id.in_(art_ids)))}
    vers = {
        v.id: v.version
        for v in session.exec(select(ArticleVersion).where(ArticleVersion.id.in_(ver_ids)))
    }
    return [(f, arts[f.article_id], vers.get(f.version_id, 1)) for f in findings]


def _source(article: Article, version: int, tz: ZoneInfo) -> Source:
    return Source(
        outlet=clean(article.outlet, 120) or urlsplit(article.url).hostname or "unknown outlet",
        url=clean(article.url, 2000),
        href=safe_href(article.url),
        title=clean(article.title, 300),
        published=local(article.published_at, tz),
        version=version,
    )


def _same_text(a: str, b: str) -> bool:
    if a == b:
        return True
    return SequenceMatcher(None, a, b, autojunk=False).ratio() >= WIRE_SIMILARITY


def group_items(rows: list[tuple[Finding, Article, int]], tz: ZoneInfo) -> list[Item]:
    """One item per distinct (relation, baseline item, sentence): wire copy printed by several
    outlets becomes one item listing them, so it does not read as independent confirmation."""
    items: list[Item] = []
    norms: list[str] = []
    for f, art, version in sorted(rows, key=lambda r: (r[0].found_at, r[0].id or 0)):
        norm = _norm_sentence(f.sentence)
        src = _source(art, version, tz)
        for item, n in zip(items, norms, strict=True):
            if (
                item.relation == f.relation
                and item.baseline_key == (f.baseline_key or "")
                and _same_text(n, norm)
            ):
                if not any(s.url == src.url for s in item.sources):
                    item.sources.append(src)
                item.finding_ids.append(f.id or 0)
                break
        else:
            obs = f.observed or {}
            items.append(
                Item(
                    relation=f.relation,
                    baseline_key=f.baseline_key or "",
                    label=key_label(f.baseline_key, obs),
                    sentence=clean(f.sentence, 1200),
                    baseline=describe(f.baseline) if f.baseline else "not in the baseline",
                    observed=describe(obs),
                    attribution=clean(obs.get("attribution") or "", 300),
                    diff=clean(obs.get("diff") or "", 600)
                    if isinstance(obs.get("diff"), str)
                    else "",
                    sources=[src],
                    finding_ids=[f.id or 0],
                )
            )
            norms.append(norm)
    return items


def _confirmations(items: list[Item]) -> tuple[list[OutletConfirmations], list[Item]]:
    by_outlet: dict[str, list[str]] = defaultdict(list)
    wire = [i for i in items if i.syndicated]
    for item in items:
        if item.syndicated:
            continue
        for outlet in dict.fromkeys(s.outlet for s in item.sources):
            by_outlet[outlet].append(item.label)
    out = [
        OutletConfirmations(outlet=o, count=len(labels), labels=list(dict.fromkeys(labels)))
        for o, labels in sorted(by_outlet.items(), key=lambda kv: (-len(kv[1]), kv[0]))
    ]
    return out, wire


_BAR_COLOURS = {
    "confirms": "#4a7c59",
    "qualifier_changed": "#c9a227",
    "updated": "#2f6db5",
    "contradicts": "#b83a3a",
    "silent_edit": "#7a4fa0",
}


def build_charts(rows: list[tuple[Finding, Article, int]], tz: ZoneInfo) -> list[Chart]:
    """Per tracked figure, the reported values by date against the baseline (wire copy once)."""
    per_key: dict[str, list[tuple[Finding, Article]]] = defaultdict(list)
    baselines: dict[str, dict[str, Any]] = {}
    for f, art, _v in rows:
        key = f.baseline_key or ""
        if f.relation not in FIGURE_RELATIONS or not f.baseline or key.startswith("quote:"):
            continue
        obs = f.observed or {}
        if obs.get("low") is None and obs.get("high") is None:
            continue
        per_key[key].append((f, art))
        baselines.setdefault(key, f.baseline)
    charts = []
    for key in sorted(per_key, key=lambda k: (not k.endswith(":total"), k)):
        seen: dict[tuple[str, str, str], Bar] = {}
        points = sorted(per_key[key], key=lambda p: p[1].published_at or p[0].found_at)
        for f, art in points:
            obs = f.observed or {}
            when = art.published_at or f.found_at
            day = local(when, tz, "%d %b")
            label = describe_figure(obs)
            ident = (day, label, f.relation)
            outlet = clean(art.outlet, 80)
            if ident in seen:
                if outlet not in seen[ident].outlets.split(", "):
                    seen[ident].outlets += ", " + outlet
                continue
            seen[ident] = Bar(
                day, label, _plot_value(obs), 0, _BAR_COLOURS.get(f.relation, "#777777"), outlet
            )
        bars = list(seen.values())[-CHART_POINTS:]
        base = baselines[key]
        base_bar = Bar("baseline", describe_figure(base), _plot_value(base), 0, "#555555", "seed")
        top = max([_num(b.value) for b in [*bars, base_bar]] + [1])
        for b in [*bars, base_bar]:
            b.width = max(2, round(_num(b.value) / top * CHART_WIDTH))
        charts.append(
            Chart(label=key_label(key, {}), baseline=base_bar.label, bars=[base_bar, *bars])
        )
    return charts


def _plot_value(d: dict[str, Any]) -> str:
    low, high = d.get("low"), d.get("high")
    if d.get("qualifier") in ("up_to", "at_most", "fewer_than") and high is not None:
        return str(high)
    return str(low if low is not None else high or 0)


def _num(v: str) -> float:
    try:
        return float(v)
    except ValueError:
        return 0.0


def feed_health(
    session: Session, since: datetime | None, until: datetime, tz: ZoneInfo
) -> tuple[list[FeedProblem], int, int]:
    """Feeds that failed in (since, until], those still failing, and how many polls ran."""
    q = select(PollLog).where(PollLog.started_at <= until)
    if since is not None:
        q = q.where(PollLog.started_at > since)
    logs = list(session.exec(q))
    feeds = {f.id: f for f in session.exec(select(Feed))}
    failed: dict[int, list[PollLog]] = defaultdict(list)
    for log in logs:
        if log.status == "error":
            failed[log.feed_id].append(log)
    problems = []
    ids = set(failed) | {f.id for f in feeds.values() if f.enabled and f.consecutive_failures > 0}
    for fid in sorted(i for i in ids if i in feeds):
        feed, errs = feeds[fid], sorted(failed.get(fid, []), key=lambda g: g.started_at)
        last = errs[-1] if errs else None
        problems.append(
            FeedProblem(
                name=clean(feed.name, 120) or clean(feed.url, 200),
                url=clean(feed.url, 500),
                failures=len(errs) or feed.consecutive_failures,
                last_error=clean((last.error if last else None) or feed.last_error or "", 300),
                last_failure=local(last.started_at if last else feed.last_error_at, tz),
                last_success=local(feed.last_success_at, tz),
                still_failing=feed.consecutive_failures > 0,
            )
        )
    ok_feeds = len({log.feed_id for log in logs if log.status in ("ok", "not_modified")})
    return problems, len(logs), ok_feeds


def subject_for(counts: dict[str, int], story_title: str, date_label: str, problems: int) -> str:
    parts = []
    for relation, _h, one, many in SECTIONS:
        n = counts.get(relation, 0)
        if n:
            parts.append(f"{n} {one if n == 1 else many}")
    if len(parts) > SUBJECT_PARTS:
        rest = len(parts) - SUBJECT_PARTS
        parts = [*parts[:SUBJECT_PARTS], f"{rest} more kind{'s' if rest > 1 else ''} of change"]
    if not parts and counts.get(CONFIRMS):
        n = counts[CONFIRMS]
        parts.append(f"{n} confirmation{'s' if n > 1 else ''}, no changes")
    head = ", ".join(parts) or "No new findings"
    if problems:
        head += f" ({problems} feed{'s' if problems > 1 else ''} failing)"
    return clean(f"{head} — {clean(story_title, 120)}, {date_label}", 250)


def build_model(
    cfg: Config,
    session: Session,
    findings: list[Finding],
    period_start: datetime | None,
    period_end: datetime,
    generated_at: datetime | None = None,
) -> DigestModel:
    tz = ZoneInfo(cfg["digest"]["timezone"])
    story = load_story(cfg.story_folder)
    rows = _rows(session, findings)
    items = group_items(rows, tz)
    by_rel: dict[str, list[Item]] = defaultdict(list)
    for item in items:
        by_rel[item.relation].append(item)
    known = {r for r, *_ in SECTIONS} | {CONFIRMS}
    sections = [Section(r, h, by_rel[r]) for r, h, *_ in SECTIONS if by_rel.get(r)]
    for other in sorted(set(by_rel) - known):
        sections.append(Section(other, other.replace("_", " ").capitalize(), by_rel[other]))
    counts = {rel: len(v) for rel, v in by_rel.items()}
    sections, omitted = _cap(sections, cfg["digest"]["max_items"])
    confirmations, wire = _confirmations(by_rel.get(CONFIRMS, []))
    # The chart shows the history up to this digest, not only this period's findings.
    history = list(
        session.exec(
            select(Finding)
            .where(Finding.story_key == story.key, Finding.found_at <= period_end)
            .where(Finding.relation.in_(sorted(FIGURE_RELATIONS)))
        )
    )
    charts = build_charts(_rows(session, history), tz)
    problems, polls, ok_feeds = feed_health(session, period_start, period_end, tz)
    date_label = local(period_end, tz, "%d %b")
    since = local(period_start, tz) if period_start else "the start of monitoring"
    return DigestModel(
        story_title=clean(story.title, 120),
        period=f"since {since}, up to {local(period_end, tz)}",
        date_label=date_label,
        subject=subject_for(counts, story.title, date_label, len(problems)),
        sections=sections,
        confirmations=confirmations,
        confirmation_wire=wire,
        charts=charts,
        feed_problems=problems,
        polls=polls,
        feeds_ok=ok_feeds,
        finding_count=len(findings),
        quiet=not findings,
        generated=local(generated_at or utcnow(), tz),
        counts=counts,
        omitted=omitted,
    )


def _cap(sections: list[Section], max_items: int) -> tuple[list[Section], int]:
    """Keep the first ``max_items`` items in section order; the rest are counted."""
    kept, left, omitted = [], max_items, 0
    for sec in sections:
        take = sec.items[: max(left, 0)]
        omitted += len(sec.items) - len(take)
        left -= len(take)
        if take:
            kept.append(Section(sec.relation, sec.heading, take))
    return kept, omitted


# ----------------------------------------------------------------------------- rendering


def _env() -> Environment:
    return Environment(
        loader=FileSystemLoader(str(templates_dir())),
        autoescape=select_autoescape(enabled_extensions=("html",), default_for_string=True),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )


_INLINER = css_inline.CSSInliner(load_remote_stylesheets=False, keep_style_tags=False)


def render(model: DigestModel) -> Rendered:
    env = _env()
    html = env.get_template("digest.html").render(d=model)
    text = env.get_template("digest.txt").render(d=model)
    return Rendered(subject=model.subject, text=text, html=_INLINER.inline(html), model=model)


def findings_of(session: Session, digest_id: int) -> list[Finding]:
    return list(session.exec(select(Finding).where(Finding.digest_id == digest_id)))


def render_digest(cfg: Config, engine: Engine, digest: Digest) -> Rendered:
    """Render a stored digest from its findings (the same content on every retry)."""
    with Session(engine) as s:
        found = findings_of(s, digest.id or 0)
        return render(
            build_model(cfg, s, found, digest.period_start, digest.period_end, digest.created_at)
        )


def render_upcoming(cfg: Config, engine: Engine) -> Rendered:
    """What ``send`` would deliver next: a pending digest, else the findings not yet covered."""
    from monitor.delivery import last_period_end, pending_digests

    story_key = load_story(cfg.story_folder).key
    pending = pending_digests(engine, story_key)
    if pending:
        return render_digest(cfg, engine, pending[0])
    with Session(engine) as s:
        found = list(
            s.exec(
                select(Finding).where(Finding.story_key == story_key, Finding.digest_id.is_(None))
            )
        )
        return render(build_model(cfg, s, found, last_period_end(engine, story_key), utcnow()))


def preview(cfg: Config, engine: Engine, path: Path) -> str:
    """Write the next digest's HTML to ``path``; nothing is sent or marked."""
    rendered = render_upcoming(cfg, engine)
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(rendered.html, encoding="utf-8")
    m = rendered.model
    return f"preview written to {path} ({m.finding_count} findings): {rendered.subject}"


def send(cfg: Config, engine: Engine) -> str:
    """Deliver any pending digest, then build and deliver the due one (SMTP or outbox)."""
    from monitor.delivery import send_due

    return send_due(cfg, engine)
