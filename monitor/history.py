"""Change history: what each outlet reported about each baseline item, and when.

Three views over the stored findings (append-only, so history is simply the findings in time
order), each readable on a terminal or as JSON:

- by item (default): per baseline item, the baseline value, then every report of it in the
  order outlets published them (relation, value, outlet, version);
- by outlet: per outlet, its reports over time;
- one article (``--article URL``): its versions with the claims each one changed (added,
  removed) and the findings each produced.

Filters: outlet (case-insensitive, part of the name), relation, baseline item, and a date
window on the report's time: the article's published time (the time found when the outlet gave
none); for a later version of an article, the time that version was fetched. ``--until`` with a
bare date includes that whole day.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from monitor.clock import as_utc, iso
from monitor.compare import normalise
from monitor.errors import ConfigError
from monitor.findings import (
    Row,
    check_relations,
    describe_figure,
    describe_observed,
    finding_json,
    parse_when,
    query_findings,
)
from monitor.models import Article, ArticleVersion, Claim
from monitor.story import Story, load_story


def _reported_at(row: Row) -> datetime:
    """When the outlet said it: the published time for a first version; for a later version
    (an edit) the time that version was fetched, since the published time is the original's."""
    f, a, v = row
    if v.version > 1 and v.fetched_at is not None:
        return as_utc(v.fetched_at)
    return as_utc(a.published_at or f.found_at)


def _window(rows: Iterable[Row], since: datetime | None, until: datetime | None) -> list[Row]:
    out = []
    for row in rows:
        t = _reported_at(row)
        if since is not None and t < since:
            continue
        if until is not None and t >= until:
            continue
        out.append(row)
    return sorted(out, key=lambda r: (_reported_at(r), r[0].id or 0))


def _baseline_items(story: Story, session: Session) -> dict[str, dict[str, Any]]:
    from monitor.findings import baseline_for

    base = baseline_for(session, story)
    return {**base.get("figures", {}), **base.get("statements", {})}


def _describe_item(key: str, item: Mapping[str, Any] | None) -> str:
    if item is None:
        return "not in the baseline"
    if "quote" in item:
        return f"{item.get('speaker_key')}: “{item.get('quote')}”"
    text = describe_figure(item)
    return text + (", expected to rise" if item.get("expected_to_rise") else "")


def _time(dt: datetime | None) -> str:
    return (iso(dt) or "")[:16].replace("T", " ")


def _line(row: Row, with_item: bool) -> str:
    f, a, v = row
    item = f"{(f.baseline_key or 'new quote'):<24}  " if with_item else ""
    return (
        f"  {_time(_reported_at(row)):<16}  {(a.outlet or '?')[:20]:<20}  {item}"
        f"{f.relation:<17}  {describe_observed(f)}  (v{v.version})"
    )


def _item_label(row: Row) -> str:
    f = row[0]
    if f.baseline_key:
        return f.baseline_key
    speaker = (f.observed or {}).get("speaker_key") or "other"
    return f"new quotes: {speaker}"


def _by_item(rows: Sequence[Row], items: Mapping[str, Any], as_json: bool) -> str:
    groups: dict[str, list[Row]] = {}
    for row in rows:
        groups.setdefault(_item_label(row), []).append(row)
    # Every baseline item shows (silence is history too), then the keys the baseline lacks.
    keys = list(items) + sorted(k for k in groups if k not in items)
    if as_json:
        out = [
            {
                "baseline_key": None if k.startswith("new quotes") else k,
                "item": k,
                "baseline": items.get(k),
                "timeline": [finding_json(*r) for r in groups.get(k, [])],
            }
            for k in keys
        ]
        return json.dumps({"by": "item", "items": out}, ensure_ascii=False, indent=2)
    if not keys:
        return "no history yet (no baseline and no findings)"
    blocks = []
    for k in keys:
        head = f"{k} — baseline: {_describe_item(k, items.get(k))}"
        body = [_line(r, with_item=False) for r in groups.get(k, [])] or ["  (nothing reported)"]
        blocks.append("\n".join([head, *body]))
    return "\n\n".join(blocks)


def _by_outlet(rows: Sequence[Row], as_json: bool) -> str:
    groups: dict[str, list[Row]] = {}
    for row in rows:
        groups.setdefault(row[1].outlet or "?", []).append(row)
    if as_json:
        out = [
            {"outlet": k, "timeline": [finding_json(*r) for r in groups[k]]}
            for k in sorted(groups, key=str.casefold)
        ]
        return json.dumps({"by": "outlet", "outlets": out}, ensure_ascii=False, indent=2)
    if not groups:
        return "no history yet (no findings match)"
    blocks = []
    for k in sorted(groups, key=str.casefold):
        n = len(groups[k])
        lines = [f"{k} — {n} finding{'s' if n != 1 else ''}"]
        lines += [_line(r, with_item=True) for r in groups[k]]
        blocks.append("\n".join(lines))
    return "\n\n".join(blocks)


def _claim_sig(c: Claim) -> tuple:
    d = c.data
    if d.get("type") == "figure":
        return (
            "figure",
            d.get("metric"),
            d.get("group_key"),
            d.get("low"),
            d.get("high"),
            d.get("qualifier"),
        )
    return ("statement", d.get("speaker_key"), normalise(d.get("quote") or ""))


def _minus(a: list[Claim], b: list[Claim]) -> list[Claim]:
    left = Counter(_claim_sig(c) for c in b)
    out = []
    for c in a:
        if left[_claim_sig(c)] > 0:
            left[_claim_sig(c)] -= 1
        else:
            out.append(c)
    return out


def _claim_text(c: Claim) -> str:
    d = c.data
    if d.get("type") == "figure":
        return f"{d.get('metric')}:{d.get('group_key')} {describe_figure(d)}"
    return f"quote {d.get('speaker_key')}: “{d.get('quote')}”"


def _article_view(
    session: Session, story: Story, url: str, rows: Sequence[Row], as_json: bool
) -> str:
    wanted = [url]
    try:  # the stored URL is canonical (tracking parameters and fragments dropped)
        from monitor.entries import canonical_url

        wanted.append(canonical_url(url))
    except (ImportError, ValueError):
        pass
    article = session.exec(
        select(Article).where(Article.story_key == story.key, col(Article.url).in_(wanted))
    ).first()
    if article is None:
        raise ConfigError(f"--article: no article with URL {url!r} is stored for this story")
    versions = session.exec(
        select(ArticleVersion)
        .where(ArticleVersion.article_id == article.id)
        .order_by(col(ArticleVersion.version))
    ).all()
    by_version: dict[int, list[Row]] = {}
    for row in rows:
        if row[1].id == article.id:
            by_version.setdefault(row[2].id or 0, []).append(row)
    previous: list[Claim] = []
    entries = []
    for v in versions:
        claims = session.exec(select(Claim).where(Claim.version_id == v.id)).all()
        current = [c for c in claims if c.on_story]
        # Multisets: one of two mentions of a figure changing is a change.
        added, removed = _minus(current, previous), _minus(previous, current)
        entries.append((v, added, removed, by_version.get(v.id or 0, [])))
        previous = current
    if as_json:
        out = {
            "article": {
                "url": article.url,
                "outlet": article.outlet,
                "title": article.title,
                "published_at": iso(article.published_at),
            },
            "versions": [
                {
                    "version": v.version,
                    "fetched_at": iso(v.fetched_at),
                    "title": v.title,
                    "added": [c.data for c in added],
                    "removed": [c.data for c in removed],
                    "findings": [finding_json(*r) for r in found],
                }
                for v, added, removed, found in entries
            ],
        }
        return json.dumps(out, ensure_ascii=False, indent=2)
    lines = [
        f"{article.title or article.url}",
        f"{article.outlet or '?'} · published {_time(article.published_at) or 'unknown'} · "
        f"{article.url}",
    ]
    for v, added, removed, found in entries:
        lines.append("")
        lines.append(f"v{v.version}  fetched {_time(v.fetched_at)}  {v.title or ''}".rstrip())
        if v.version > 1 and not added and not removed:
            lines.append("  no claim changed")
        for c in removed:
            lines.append(f"  - {_claim_text(c)}")
        for c in added:
            lines.append(f"  + {_claim_text(c)}")
        for f, _a, _v in found:
            lines.append(f"  = {f.relation:<17} {f.baseline_key or '—':<24} {describe_observed(f)}")
    return "\n".join(lines)


def render_history(
    cfg: Any,
    engine: Engine,
    *,
    baseline_key: str | None = None,
    outlet: str | None = None,
    article_url: str | None = None,
    relation: Sequence[str] = (),
    since: str | None = None,
    until: str | None = None,
    by: str = "item",
    as_json: bool = False,
) -> str:
    """``monitor history``: the timeline per baseline item, per outlet, or for one article."""
    since_dt = parse_when("--since", since)
    until_dt = parse_when("--until", until, end_of_day=True)
    relations = check_relations(relation)
    if by not in ("item", "outlet"):
        raise ConfigError(f"--by: {by!r} is not one of item, outlet")
    story = load_story(cfg.story_folder)
    with Session(engine) as session:
        rows = query_findings(session, story.key, relations=relations, outlet=outlet)
        rows = _window(rows, since_dt, until_dt)
        items = _baseline_items(story, session)
        if baseline_key:
            if baseline_key not in items and not any(
                r[0].baseline_key == baseline_key for r in rows
            ):
                known = ", ".join(items) or "none"
                raise ConfigError(f"--item: {baseline_key!r} is not a baseline item ({known})")
            rows = [r for r in rows if r[0].baseline_key == baseline_key]
            items = {baseline_key: items[baseline_key]} if baseline_key in items else {}
        if article_url:
            return _article_view(session, story, article_url, rows, as_json)
        if by == "outlet":
            return _by_outlet(rows, as_json)
        return _by_item(rows, items, as_json)
