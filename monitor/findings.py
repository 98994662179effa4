"""Findings: each new article version's claims compared with the baseline, stored as history.

``process_version`` is the step the poll cycle calls after storing a new relevant version:

1. extract the version's claims and store them as ``Claim`` rows (``on_story`` is False for a
   sentence about another event or time, e.g. a past disaster mentioned in passing);
2. compare the on-story claims with the baseline (``monitor.compare``);
3. compare them with the previous version's claims (``silent_edit``);
4. store one ``Finding`` per distinct observation.

Findings are append-only: rows are only ever inserted. Each has a ``dedup_key`` (a hash of the
relation, the baseline item and the observed values, not the sentence) that is unique per
version, so the same observation printed twice in one version (headline and body) or a retried
step stores it once. A later version of the same article does not repeat a finding an earlier
version already produced; it adds only what changed (its new observations and silent edits).
An article or version the relevance filter refused produces no findings at all.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime, timedelta
from difflib import SequenceMatcher
from typing import Any

from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from monitor.clock import iso, parse_iso, utcnow
from monitor.compare import RELATIONS, Relation, compare_claim, compare_versions, normalise
from monitor.errors import ConfigError
from monitor.hedges import hedge_text
from monitor.models import Article, ArticleVersion, Claim, Finding
from monitor.models import Story as StoryRow
from monitor.quotes import Synonyms
from monitor.story import Story, fold, load_story

# ---------------------------------------------------------------------------- claims


def _extract(text: str, story: Story) -> list[dict[str, Any]]:
    from monitor.extract import extract

    return [dict(c) for c in extract(text, story)]


def _on_story_fn(story: Story, text: str):  # noqa: ANN202
    try:
        from monitor.relevance import sentence_on_story
    except ImportError:
        return lambda sentence: True
    return lambda sentence: bool(sentence_on_story(sentence, story, text))


def _sentence_spans(text: str) -> list[tuple[int, int, str]]:
    """(start, end, sentence) of the text's sentences, as the relevance filter splits them."""
    from monitor.relevance import split_sentences

    spans, pos = [], 0
    for sentence in split_sentences(text):
        at = text.find(sentence, pos)
        if at < 0:
            continue
        spans.append((at, at + len(sentence), sentence))
        pos = at + len(sentence)
    return spans


def _context_fn(story: Story, title: str, text: str):  # noqa: ANN202
    """Whether a claim's context ties it to the story, beyond its sentence's time and event.

    - In an article that names the event only in passing (an oil or tariff piece saying once
      "since US forces captured Maduro"), only claims whose own sentence names the event, or
      the Cuban dead, are the story's: the piece's other figures and quotes are other news.
    - A quote by a tracked speaker is the story's only when its sentence or a neighbouring one
      touches the story (Cuba, Venezuela, Maduro, the raid, the dead): Trump on tariffs inside
      a raid article is not a statement about the raid."""
    try:
        from monitor.relevance import (
            event_is_central,
            event_sentence,
            touches_dead,
            touches_story,
        )
    except ImportError:
        return lambda claim: True
    central = event_is_central(title, text, story)
    spans = _sentence_spans(text)

    def index_of(claim: Mapping[str, Any]) -> int | None:
        start = claim.get("start")
        if not isinstance(start, int):
            return None
        for i, (a, b, _s) in enumerate(spans):
            if a <= start < b:
                return i
        return None

    def ok(claim: Mapping[str, Any]) -> bool:
        i = index_of(claim)
        own = spans[i][2] if i is not None else (claim.get("sentence") or "")
        if not central and not (event_sentence(own, story) or touches_dead(own, story)):
            return False
        if claim.get("type") != "statement":
            return True
        if i is None:
            return touches_story(own, story)
        near = [spans[j][2] for j in (i - 1, i, i + 1) if 0 <= j < len(spans)]
        return any(touches_story(s, story) for s in near)

    return ok


def _with_position(claim: dict[str, Any], text: str) -> dict[str, Any]:
    """Add ``sentence_start``: where the claim starts inside its sentence (for revision words)."""
    sentence, start = claim.get("sentence") or "", claim.get("start")
    if not sentence or not isinstance(start, int):
        return claim
    begin = text.rfind(sentence, 0, start + 1)
    if begin < 0:
        begin = text.find(sentence)
    if begin >= 0 and begin <= start <= begin + len(sentence):
        claim["sentence_start"] = start - begin
    return claim


def store_claims(session: Session, story: Story, version: ArticleVersion) -> list[Claim]:
    """The version's Claim rows: extracted and stored once (a retry reuses them)."""
    existing = session.exec(
        select(Claim).where(Claim.version_id == version.id).order_by(col(Claim.id))
    ).all()
    if existing:
        return list(existing)
    text = version.text or ""
    on_story = _on_story_fn(story, text)
    in_context = _context_fn(story, version.title or "", text)
    rows = []
    for claim in _extract(text, story):
        claim = _with_position(claim, text)
        context = in_context(claim)
        if claim.get("type") == "statement":
            # A quote repeating the baseline's words is the story's wherever it stands; the
            # context only decides whether an unknown quote is a new statement of the story.
            claim["story_context"] = context
            context = True
        row = Claim(
            version_id=version.id,
            type=claim.get("type", ""),
            data=claim,
            metric=claim.get("metric"),
            group_key=claim.get("group_key"),
            speaker_key=claim.get("speaker_key"),
            sentence=claim.get("sentence") or "",
            start=int(claim.get("start") or 0),
            end=int(claim.get("end") or 0),
            on_story=on_story(claim.get("sentence") or "") and context,
        )
        session.add(row)
        rows.append(row)
    session.flush()
    return rows


# ---------------------------------------------------------------------------- baseline


_BASELINES: dict[tuple[str, int, int], dict[str, Any]] = {}


def baseline_for(session: Session, story: Story) -> dict[str, Any]:
    """The baseline file when it loads (the desk's latest edit), else the Story row's copy.

    Cached on the file's mtime and size: an edit is seen at the next version, and a poll
    cycle does not re-parse the file for every article."""
    from monitor.baseline import load_baseline

    path = story.baseline_path
    try:
        stat = path.stat()
        key = (str(path), stat.st_mtime_ns, stat.st_size)
        if key not in _BASELINES:
            if len(_BASELINES) > 16:
                _BASELINES.clear()
            _BASELINES[key] = load_baseline(story).to_dict()
        return _BASELINES[key]
    except (OSError, ConfigError):
        row = session.get(StoryRow, story.key)
        return dict(row.baseline or {}) if row else {}


# ---------------------------------------------------------------------------- findings


def dedup_key(rel: Relation) -> str:
    """Same relation, same baseline item, same observed values → same key (64 hex).

    Who said it (speaker wording, a figure's attribution) does not make another observation:
    the headline's "toll rises to 83" and the body's sourced 83 are one. Nor does the wording
    of a quote matched to a baseline quote: the headline's fragment and the body's full quote
    of one statement, with one relation, are one finding (a new statement keeps its words)."""
    skip = ("speaker", "diff", "attribution", "group_as_extracted")
    observed = {k: v for k, v in rel.observed.items() if k not in skip}
    if "quote" in observed and rel.baseline_key and rel.relation != "silent_edit":
        observed.pop("quote")
    elif "quote" in observed:
        observed["quote"] = normalise(observed.get("quote") or "")
    prev = observed.get("previous_version")
    if isinstance(prev, dict) and "quote" in prev:
        observed["previous_version"] = {**prev, "quote": normalise(prev.get("quote") or "")}
    canon = json.dumps(
        [rel.relation, rel.baseline_key, observed], sort_keys=True, ensure_ascii=False
    )
    return hashlib.sha256(canon.encode("utf-8")).hexdigest()


def _compares(article: Article, version: ArticleVersion) -> bool:
    """Only relevant articles' claims are compared (precision first on off-story items)."""
    if version.relevant is False:
        return False
    return not (version.relevant is None and article.relevant is False)


def _claim_dicts(rows: Iterable[Claim]) -> list[dict[str, Any]]:
    return [dict(r.data) for r in rows if r.on_story]


def _match_claim(rel: Relation, rows: Sequence[Claim]) -> Claim | None:
    obs = rel.observed
    for row in rows:
        d = row.data
        if "quote" in obs:
            if d.get("type") == "statement" and d.get("quote") == obs.get("quote"):
                return row
        elif (
            d.get("type") == "figure"
            and d.get("metric") == obs.get("metric")
            and d.get("group_key") == obs.get("group_key")
            and d.get("low") == obs.get("low")
            and d.get("high") == obs.get("high")
        ):
            return row
    return None


_SYNONYMS: dict[tuple, Synonyms] = {}


def _synonyms(story: Story) -> Synonyms:
    """The story's translation vocabulary, compiled once per set of groups."""
    groups = tuple(getattr(story, "quote_synonyms", ()) or ())
    if groups not in _SYNONYMS:
        _SYNONYMS[groups] = Synonyms(groups)
    return _SYNONYMS[groups]


def process_version(
    session: Session,
    story: Story,
    article: Article,
    version: ArticleVersion,
    previous: ArticleVersion | None = None,
) -> list[Finding]:
    """Extract, store and compare one new version; return the findings stored for it."""
    rows = store_claims(session, story, version)
    if not _compares(article, version):
        return []
    baseline = baseline_for(session, story)
    on_rows = [r for r in rows if r.on_story]
    pending: list[tuple[Relation, Claim | None]] = []
    synonyms = _synonyms(story)
    generic = getattr(story, "generic_speakers", ())
    for row in on_rows:
        for rel in compare_claim(row.data, baseline, synonyms, generic):
            if rel.relation == "new_statement" and row.data.get("story_context") is False:
                continue  # Trump on tariffs, or a quote in a piece naming the raid in passing
            pending.append((rel, row))
    if previous is not None and previous.id is not None:
        prev_rows = store_claims(session, story, previous)
        for rel in compare_versions(
            _claim_dicts(prev_rows), _claim_dicts(on_rows), baseline, previous.version
        ):
            pending.append((rel, _match_claim(rel, on_rows)))
    return _store_findings(session, story, article, version, pending)


def _earlier_keys(session: Session, article: Article, version: ArticleVersion) -> set[str]:
    stmt = select(Finding.dedup_key).where(
        Finding.article_id == article.id, Finding.version_id != version.id
    )
    return set(session.exec(stmt).all())


def _richness(item: tuple[Relation, Claim | None]) -> tuple[bool, int]:
    claim = item[1]
    if claim is None:
        return (True, 0)
    return (not claim.data.get("attribution"), -len(claim.data.get("quote") or ""))


def _store_findings(
    session: Session,
    story: Story,
    article: Article,
    version: ArticleVersion,
    pending: list[tuple[Relation, Claim | None]],
) -> list[Finding]:
    earlier = _earlier_keys(session, article, version)
    here = set(
        session.exec(select(Finding.dedup_key).where(Finding.version_id == version.id)).all()
    )
    stored: list[Finding] = []
    now = utcnow()
    # Of two claims making one observation, keep the sourced one, and the longer quote: its
    # sentence says more.
    pending = sorted(pending, key=_richness)
    for rel, claim in pending:
        key = dedup_key(rel)
        # A silent edit is new by nature; anything else an earlier version said is not news.
        if key in here or (rel.relation != "silent_edit" and key in earlier):
            continue
        here.add(key)
        finding = Finding(
            story_key=story.key,
            relation=rel.relation,
            baseline_key=rel.baseline_key,
            baseline=rel.baseline,
            observed=rel.observed,
            article_id=article.id,
            version_id=version.id,
            claim_id=claim.id if claim is not None else None,
            dedup_key=key,
            sentence=(claim.sentence if claim is not None else "") or "",
            found_at=now,
            outlet=article.outlet,
            title=article.title or version.title,
            published_at=article.published_at,
        )
        try:
            # A savepoint per row: a concurrent worker's identical row loses only itself.
            with session.begin_nested():
                session.add(finding)
                session.flush()
        except IntegrityError:
            continue
        stored.append(finding)
    return stored


# ---------------------------------------------------------------------------- reading


def finding_json(finding: Finding, article: Article, version: ArticleVersion) -> dict[str, Any]:
    """One finding as the contract prints it."""
    return {
        "id": finding.id,
        "relation": finding.relation,
        "baseline_key": finding.baseline_key,
        "baseline": finding.baseline,
        "observed": finding.observed,
        "article": {
            "url": article.url,
            "outlet": finding.outlet if finding.outlet is not None else article.outlet,
            "title": finding.title or article.title or version.title,
            "published_at": iso(finding.published_at or article.published_at),
            "version": version.version,
        },
        "sentence": finding.sentence,
        "found_at": iso(finding.found_at),
    }


Row = tuple[Finding, Article, ArticleVersion]


def query_findings(
    session: Session,
    story_key: str,
    since: datetime | None = None,
    relations: Sequence[str] | None = None,
    outlet: str | None = None,
    until: datetime | None = None,
) -> list[Row]:
    """Findings of a story, oldest first, with their article and version."""
    stmt = (
        select(Finding, Article, ArticleVersion)
        .join(Article, col(Article.id) == col(Finding.article_id))
        .join(ArticleVersion, col(ArticleVersion.id) == col(Finding.version_id))
        .where(Finding.story_key == story_key)
    )
    if since is not None:
        stmt = stmt.where(col(Finding.found_at) >= since)
    if until is not None:
        stmt = stmt.where(col(Finding.found_at) < until)
    if relations:
        stmt = stmt.where(col(Finding.relation).in_(list(relations)))
    rows = [tuple(r) for r in session.exec(stmt.order_by(col(Finding.found_at), col(Finding.id)))]
    if outlet:
        want = fold(outlet).strip()
        rows = [r for r in rows if want in fold(r[1].outlet or "")]
    return rows  # type: ignore[return-value]


def parse_when(option: str, value: str | None, end_of_day: bool = False) -> datetime | None:
    """An ISO date or time from a command-line option; ConfigError names the option."""
    if value is None or value == "":
        return None
    try:
        when = parse_iso(value)
    except ValueError:
        raise ConfigError(
            f"{option}: {value!r} is not an ISO date or time "
            "(e.g. 2026-01-08 or 2026-01-08T10:00:00Z)"
        ) from None
    if end_of_day and re.fullmatch(r"\d{4}-\d{2}-\d{2}", value.strip()):
        when += timedelta(days=1)
    return when


def check_relations(relations: Iterable[str] | None, option: str = "--relation") -> list[str]:
    out = []
    for r in relations or ():
        name = r.strip().lower().replace("-", "_")
        if name not in RELATIONS:
            raise ConfigError(f"{option}: {r!r} is not a relation (one of: {', '.join(RELATIONS)})")
        out.append(name)
    return out


def _find(parent: dict[int, int], x: int) -> int:
    while parent[x] != x:
        parent[x] = parent[parent[x]]
        x = parent[x]
    return x


def _sentence_key(sentence: str) -> str:
    return " ".join(re.sub(r"[^\w]+", " ", fold(sentence)).split())


def wire_groups(rows: Sequence[tuple[Finding, Article] | Row]) -> list[list[int]]:
    """Groups of finding ids whose sentence is the same wire text at several outlets.

    Same relation and baseline item, and the sentence equal once folded, or nearly equal
    (word similarity ≥ 0.9, agency copy with small edits). Groups span two outlets or more.
    """
    by_item: dict[tuple[str, str | None], list[tuple[int, str, list[str]]]] = {}
    for row in rows:
        f, a = row[0], row[1]
        words = _sentence_key(f.sentence).split()
        if len(words) < 6 or f.id is None:
            continue
        by_item.setdefault((f.relation, f.baseline_key), []).append((f.id, a.outlet, words))
    groups: list[list[int]] = []
    for members in by_item.values():
        parent = {fid: fid for fid, _, _ in members}

        for i, (fa, _, wa) in enumerate(members):
            for fb, _, wb in members[i + 1 :]:
                if wa == wb or SequenceMatcher(None, wa, wb, autojunk=False).ratio() >= 0.9:
                    parent[_find(parent, fb)] = _find(parent, fa)
        clusters: dict[int, list[int]] = {}
        outlets: dict[int, set[str]] = {}
        for fid, outlet, _ in members:
            root = _find(parent, fid)
            clusters.setdefault(root, []).append(fid)
            outlets.setdefault(root, set()).add(fold(outlet or ""))
        groups += [sorted(ids) for r, ids in clusters.items() if len(outlets[r]) > 1]
    return sorted(groups)


def syndicated_with(rows: Sequence[tuple[Finding, Article] | Row]) -> dict[int, list[str]]:
    """For each finding in a wire group: the other outlets that printed the same sentence."""
    outlet_of = {row[0].id: row[1].outlet for row in rows}
    out: dict[int, list[str]] = {}
    for group in wire_groups(rows):
        for fid in group:
            mine = fold(outlet_of[fid] or "")
            others = sorted({outlet_of[g] for g in group if fold(outlet_of[g] or "") != mine})
            out[fid] = others
    return out


def describe_observed(finding: Finding) -> str:
    """A short human reading of a finding's observed value."""
    obs = finding.observed or {}
    if "quote" in obs:
        text = obs.get("diff") if finding.relation in ("reworded", "silent_edit") else None
        who = obs.get("speaker_key") or ""
        return f"{who}: “{_clip(text or obs.get('quote') or '', 90)}”"
    return describe_figure(obs)


def describe_figure(fig: Mapping[str, Any] | None) -> str:
    if not fig:
        return "—"
    shown = hedge_text(fig.get("qualifier"), fig.get("low"), fig.get("high"))
    text = shown
    prev = fig.get("previous_version")
    if isinstance(prev, dict) and "low" in prev:
        text = f"{describe_figure(prev)} → {shown}"
    if fig.get("attribution"):
        text += f" ({_clip(fig['attribution'], 50)})"
    return text


def _clip(text: str, n: int) -> str:
    text = " ".join(str(text).split())
    return text if len(text) <= n else text[: n - 1] + "…"


def findings_lines(
    cfg: Any,
    engine: Engine,
    *,
    as_json: bool = False,
    since: str | None = None,
    relations: Sequence[str] | None = None,
    outlet: str | None = None,
) -> list[str]:
    """``monitor findings``: one JSON object per line, or a readable table."""
    since_dt = parse_when("--since", since)
    wanted = check_relations(relations)
    story = load_story(cfg.story_folder)
    with Session(engine) as session:
        rows = query_findings(session, story.key, since_dt, wanted, outlet)
    wire = syndicated_with(rows)
    if as_json:
        out = []
        for f, a, v in rows:
            obj = finding_json(f, a, v)
            if wire.get(f.id):
                obj["syndicated_with"] = wire[f.id]
            out.append(json.dumps(obj, ensure_ascii=False))
        return out
    if not rows:
        return ["no findings"]
    lines = [f"{'id':>5}  {'found':<16}  {'relation':<17}  {'item':<24}  {'outlet':<18}  observed"]
    for f, a, _v in rows:
        found = (iso(f.found_at) or "")[:16].replace("T", " ")
        wire_note = f"  [wire: also {', '.join(wire[f.id])}]" if wire.get(f.id) else ""
        lines.append(
            f"{f.id:>5}  {found:<16}  {f.relation:<17}  {_clip(f.baseline_key or '—', 24):<24}  "
            f"{_clip(a.outlet or '?', 18):<18}  {describe_observed(f)}{wire_note}"
        )
    lines.append(f"{len(rows)} findings")
    return lines
