"""Fetched bytes → feedparser result → "is this a feed?" and the entries' fields.

feedparser only parses here; it never fetches (its own HTTP has no timeout in 6.0.x and none
of our guards). The response's final URL is the base for relative links, and its
Content-Type goes along so feedparser can weigh the declared encoding.

``parse_for_poll`` is what the poller runs in a worker process: it returns plain data, so
the event loop never parses.
"""

from __future__ import annotations

import re
import zlib
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

import feedparser

from monitor.entries import EntryFields, dedupe, entry_fields

# A DOCTYPE whose internal subset declares entities: the shape of every entity-expansion
# attack (billion laughs, quadratic blowup, XXE). Real feeds never need one.
_DOCTYPE = re.compile(rb"<!DOCTYPE[^\[>]*\[(.*?)\]\s*>", re.I | re.S)
_PROLOG_LIMIT = 4096
GUNZIP_CAP = 16 * 1024 * 1024
_WIDE_BOMS = (
    (b"\xff\xfe\x00\x00", "utf-32"),
    (b"\x00\x00\xfe\xff", "utf-32"),
    (b"\xff\xfe", "utf-16"),
    (b"\xfe\xff", "utf-16"),
)

# bozo exceptions that only say the document was not perfectly labelled: the parse is fine.
_HARMLESS = ("CharacterEncodingOverride", "NonXMLContentType")


@dataclass
class ParsedFeed:
    is_feed: bool
    reason: str = ""  # why it is not a feed, or the warning for an ill-formed one
    version: str = ""
    title: str = ""
    entries: list[EntryFields] = field(default_factory=list)
    bozo: bool = False


def _bozo_reason(result: Any) -> str:
    exc = result.get("bozo_exception")
    if exc is None:
        return "ill-formed feed"
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
    name = type(exc).__name__
    return f"{name}: {text}"[:300] if text else name


def neutralise_doctype(body: bytes) -> tuple[bytes, bool]:
    """Drop a DOCTYPE that declares entities, before any parser sees it.

    feedparser's SAX parser neither fetches external entities nor survives billion laughs,
    but on the quadratic blowup it falls back to its loose parser after expanding hundreds of
    megabytes; with the declarations gone the references are merely undefined.
    """
    for bom, codec in _WIDE_BOMS:  # the same check on a UTF-16/32 document, in its encoding
        if body.startswith(bom):
            try:
                narrow = body.decode(codec).encode("utf-8")
            except UnicodeError:
                return body, False
            cleaned, changed = neutralise_doctype(narrow)
            return (cleaned.decode("utf-8").encode(codec), True) if changed else (body, False)
    start = body.find(b"<!", 0, _PROLOG_LIMIT)
    if start < 0:
        return body, False
    m = _DOCTYPE.search(body, start)
    if m is None or m.start() > _PROLOG_LIMIT or b"<!ENTITY" not in m.group(1).upper():
        return body, False
    return body[: m.start()] + body[m.end() :], True


def gunzip_undeclared(body: bytes, cap: int = GUNZIP_CAP) -> bytes:
    """Some servers send a gzip file as the feed itself, without Content-Encoding."""
    if not body.startswith(b"\x1f\x8b"):
        return body
    d = zlib.decompressobj(zlib.MAX_WBITS | 16)
    try:
        out = d.decompress(body, cap + 1)
    except zlib.error:
        return body
    return body if len(out) > cap else out


def parse_bytes(body: bytes, url: str, content_type: str = "") -> Any:
    """feedparser on bytes, with the base URL and Content-Type of the response."""
    body, _ = neutralise_doctype(gunzip_undeclared(body))
    headers = {"content-location": url}
    if content_type:
        headers["content-type"] = content_type
    return feedparser.parse(
        body,
        response_headers=headers,
        # We keep no feed HTML: every field becomes plain text (entries.html_to_text) and is
        # escaped wherever it is shown. Skipping feedparser's sanitiser and its rewriting of
        # URLs inside markup halves the parse (the poller's main cost on a full round).
        sanitize_html=False,
        resolve_relative_uris=False,
    )


def judge(result: Any, body: bytes, content_type: str = "") -> tuple[bool, str]:
    """(is_feed, reason). A parse with entries or a known version is a feed, even if ill-formed
    (the reason then carries the warning); nothing recognisable is not a feed."""
    if not body.strip():
        return False, "empty response"
    version, entries = result.get("version", ""), result.get("entries", [])
    bozo = bool(result.get("bozo"))
    harmless = bozo and type(result.get("bozo_exception")).__name__ in _HARMLESS
    if version or entries:
        if bozo and not harmless:
            return True, "ill-formed XML, parsed anyway (" + _bozo_reason(result) + ")"
        return True, ""
    head = body[:512].lstrip().lower()
    if b"<html" in head or b"<!doctype html" in head or "html" in content_type.lower():
        return False, "not a feed: the server sent an HTML page"
    if bozo:
        return False, "not a feed: " + _bozo_reason(result)
    return False, "not a feed: no RSS or Atom content found"


def parse_feed(body: bytes, url: str, content_type: str = "") -> ParsedFeed:
    """Bytes to ParsedFeed (no relevance)."""
    result = parse_bytes(body, url, content_type)
    ok, reason = judge(result, body, content_type)
    base = result.get("href") or url
    entries = dedupe([entry_fields(e, base) for e in result.get("entries", [])]) if ok else []
    feed = result.get("feed", {})
    return ParsedFeed(
        is_feed=ok,
        reason=reason,
        version=result.get("version", "") or "",
        title=str(feed.get("title", ""))[:500],
        entries=entries,
        bozo=bool(result.get("bozo")),
    )


def _entry_relevance() -> Any:
    try:
        from monitor.relevance import entry_relevance
    except ImportError:  # not landed yet: every entry counts as relevant
        return None
    return entry_relevance


def score_entries(entries: list[EntryFields], story: Any) -> None:
    """Lenient relevance on title and summary (decides whether the page is fetched)."""
    fn = _entry_relevance()
    for e in entries:
        if fn is None or story is None:
            e.relevance_score, e.relevant = None, True
            continue
        res = fn(e.title, e.summary or e.content[:2000], story)
        e.relevance_score, e.relevant = float(res.score), bool(res.relevant)


def unscored(entries: list[EntryFields]) -> list[EntryFields]:
    return [e for e in entries if e.relevant is None]


@lru_cache(maxsize=4)
def _story(folder: str) -> Any:
    from monitor.story import load_story

    return load_story(folder)


def parse_for_poll(
    body: bytes, url: str, content_type: str, score_with: str | None = None
) -> ParsedFeed:
    """The worker-process job: parse, judge, pick fields. ``score_with`` (a story folder) also
    scores every entry's relevance here: the caller asks for it when all entries are new (a
    feed's first fetch); otherwise only new and changed entries are scored, by the writer."""
    parsed = parse_feed(body, url, content_type)
    if score_with and parsed.entries:
        score_entries(parsed.entries, _story(score_with))
    return parsed
