"""Entry identity and the fields we keep from one feed item.

Three identities (see the design notes): the *entry key* (guid, else canonical link, else a
content hash) names an item within its feed; the *article URL* (canonical link) names the
article across feeds, so one story reached through two feeds is one article; the *content
hash* tells a changed entry (title, summary or content edited) from an unchanged one.
"""

from __future__ import annotations

import calendar
import hashlib
import html
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qsl, urlencode, urljoin, urlsplit, urlunsplit

# Query parameters that only say how a reader arrived (campaign, click and share tracking).
# Others are kept: some sites identify the article by its query (?id=123).
TRACKING_PREFIXES = ("utm_", "ns_", "mc_", "pk_", "hsa_", "_hs", "oly_", "vero_", "at_")
TRACKING_PARAMS = frozenset(
    """fbclid gclid dclid gbraid wbraid msclkid yclid twclid igshid mkt_tok cmpid ocid smid smtyp
    xtor ito mbid rssfeed from_rss ref ref_src referrer s_cid intcmp fsrc spm _ga _gl guccounter
    taid""".split()
)
_TAG = re.compile(r"<[^>]+>")
# Script and style bodies are code, not text; comments are nobody's text either.
_DROP = re.compile(r"<(script|style|template)\b.*?</\1\s*>|<!--.*?-->", re.I | re.S)
_BLOCK = re.compile(r"</?(?:p|div|br|li|h[1-6]|blockquote|tr|section|article)\b[^>]*>", re.I)
_WS = re.compile(r"[ \t\r\f\v\u00a0\u200b]+")


@dataclass
class EntryFields:
    """Plain data (picklable: parsing runs in a process pool)."""

    key: str
    guid: str | None
    link: str | None  # absolute, as the feed gave it
    article_url: str | None  # canonical, or None when the item links nowhere fetchable
    title: str
    summary: str  # plain text
    content: str  # plain text of the item's full content, when the feed carries it
    published_at: datetime | None
    updated_at: datetime | None
    content_sha256: str
    relevance_score: float | None = None
    relevant: bool | None = None


def canonical_url(url: str) -> str:
    """Lower-case scheme and host, no default port, no fragment, no tracking parameters."""
    parts = urlsplit(url.strip())
    scheme = parts.scheme.lower()
    host = (parts.hostname or "").lower().rstrip(".")
    try:
        port = parts.port
    except ValueError:
        port = None
    if port and not ((scheme == "http" and port == 80) or (scheme == "https" and port == 443)):
        host = f"{host}:{port}"
    if ":" in (parts.hostname or "") and not host.startswith("["):
        host = f"[{host}]"  # an IPv6 literal
    query = [
        (k, v)
        for k, v in parse_qsl(parts.query, keep_blank_values=True)
        if k.lower() not in TRACKING_PARAMS and not k.lower().startswith(TRACKING_PREFIXES)
    ]
    return urlunsplit((scheme, host, parts.path or "/", urlencode(query, doseq=True), ""))


def is_http_url(value: str | None) -> bool:
    return (
        bool(value)
        and urlsplit(value.strip()).scheme.lower() in ("http", "https")
        and bool(urlsplit(value.strip()).hostname)
    )


def html_to_text(value: str | None) -> str:
    """Feed HTML to plain text, paragraphs on their own lines (no markup survives)."""
    if not value:
        return ""
    if "<" in value:
        value = _TAG.sub("", _BLOCK.sub("\n", _DROP.sub(" ", value)))
    text = html.unescape(value)
    lines = (_WS.sub(" ", line).strip() for line in text.splitlines())
    return "\n".join(line for line in lines if line)


def _sha(*parts: str) -> str:
    h = hashlib.sha256()
    for p in parts:
        h.update(p.encode("utf-8", "surrogatepass"))
        h.update(b"\x00")
    return h.hexdigest()


def _when(entry: Any, key: str) -> datetime | None:
    # dict.get: FeedParserDict.get maps updated→published with a deprecation warning.
    parsed = dict.get(entry, f"{key}_parsed")
    if not parsed:
        return None
    try:
        return datetime.fromtimestamp(calendar.timegm(parsed), UTC)
    except (OverflowError, ValueError, TypeError):
        return None


def entry_key(guid: str | None, link: str | None, title: str, summary: str) -> str:
    """guid, else canonical link, else a hash of what the item says."""
    if guid and guid.strip():
        return "guid:" + guid.strip()[:2000]
    if is_http_url(link):
        return "url:" + canonical_url(link)  # type: ignore[arg-type]
    return "sha:" + _sha(title, summary)


def entry_fields(entry: Any, base_url: str = "") -> EntryFields:
    """Pick the fields we keep from one feedparser entry; relative links resolve on ``base_url``."""
    guid = entry.get("id") or None
    link = entry.get("link") or None
    if link and base_url:
        link = urljoin(base_url, link.strip())
    # A permalink guid names the article when the item has no link of its own.
    if not link and guid and is_http_url(guid):
        link = guid.strip()
    title = html_to_text(entry.get("title", ""))[:2000]
    summary = html_to_text(entry.get("summary", ""))
    contents = entry.get("content") or []
    content = "\n\n".join(html_to_text(c.get("value", "")) for c in contents if c.get("value"))
    if content == summary:
        content = ""
    return EntryFields(
        key=entry_key(guid, link, title, summary),
        guid=guid,
        link=link,
        article_url=canonical_url(link) if is_http_url(link) else None,
        title=title,
        summary=summary,
        content=content,
        published_at=_when(entry, "published") or _when(entry, "updated"),  # dc:date
        updated_at=_when(entry, "updated"),
        content_sha256=_sha(title, summary, content),
    )


def dedupe(entries: list[EntryFields]) -> list[EntryFields]:
    """One item per key within a feed (some feeds repeat items); the first wins."""
    seen: set[str] = set()
    out = []
    for e in entries:
        if e.key not in seen:
            seen.add(e.key)
            out.append(e)
    return out
