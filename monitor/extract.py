"""Claims of a text: casualty figures and quoted official statements, in text order."""

from __future__ import annotations

from pathlib import Path

from monitor.figures import extract_figures
from monitor.story import Story, story_for


def _story(story: str | Path | Story | None) -> Story:
    if isinstance(story, Story):
        return story
    return story_for(story)  # cached per folder, so repeated calls do not reload the file


def extract(text: str, story: str | Path | Story | None = None) -> list[dict]:
    """Figures and statements of ``text`` as contract dicts, sorted by start offset."""
    st = _story(story)
    claims = list(extract_figures(text, st))
    try:
        from monitor.statements import extract_statements
    except ImportError:  # the statement extractor is optional until it lands
        extract_statements = None
    if extract_statements is not None:
        claims.extend(extract_statements(text, st))
    claims.sort(key=lambda c: (c.get("start", 0), c.get("type", "")))
    return claims
