"""`monitor init` work: make the database match the config (feeds, story, baseline)."""

from __future__ import annotations

import hashlib

from sqlalchemy.engine import Engine
from sqlmodel import select

from monitor.clock import utcnow
from monitor.config import Config
from monitor.db import session_scope
from monitor.hosts import host_of
from monitor.models import Feed, Story
from monitor.story import load_story


def sync_feeds(cfg: Config, engine: Engine) -> str:
    """Insert configured feeds, update names, and disable feeds no longer configured.

    Rows are never deleted: a removed feed keeps its poll log and its articles' history.
    """
    wanted = {f.url: f for f in cfg.feeds}
    added = 0
    with session_scope(engine) as s:
        rows = {f.url: f for f in s.exec(select(Feed)).all()}
        for url, fc in wanted.items():
            row = rows.get(url)
            if row is None:
                s.add(
                    Feed(
                        url=url,
                        name=fc.name,
                        enabled=fc.enabled,
                        created_at=utcnow(),
                        host=host_of(url),
                    )
                )
                added += 1
            else:
                row.name, row.enabled = fc.name, fc.enabled
                row.host = row.host or host_of(row.current_url or url)
        for url, row in rows.items():
            if url not in wanted and row.enabled:
                row.enabled = False
    enabled = sum(1 for f in cfg.feeds if f.enabled)
    return f"{enabled} feeds enabled ({added} new)"


def load_story_into_db(cfg: Config, engine: Engine) -> str:
    """Record the story and its baseline (drafted from the seed the first time)."""
    story = load_story(cfg.story_folder)
    baseline: dict = {}
    note = "baseline not loaded"
    try:
        from monitor.baseline import ensure_baseline
    except ModuleNotFoundError:
        ensure_baseline = None  # type: ignore[assignment]
    if ensure_baseline is not None:
        baseline, note = ensure_baseline(story)
    digest = hashlib.sha256(story.seed_text.encode("utf-8")).hexdigest()
    with session_scope(engine) as s:
        row = s.get(Story, story.key) or Story(key=story.key)
        row.title, row.seed_sha256, row.baseline, row.loaded_at = (
            story.title,
            digest,
            baseline,
            utcnow(),
        )
        s.add(row)
    return f"story {story.key!r}: {note}"
