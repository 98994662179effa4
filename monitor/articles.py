"""Article pages: main text, outlet, versions and the re-fetch schedule.

A version is kept only when the *normalised* text changed: smart quotes, no-break spaces,
soft hyphens, zero-width characters and runs of whitespace do not make a new version. A
failed or implausibly short extraction is an error on the fetch, never a version.
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
import zlib
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from urllib.parse import urlsplit

from monitor.errors import ExtractionError

MIN_TEXT_CHARS = 250  # shorter than a news brief's first paragraphs: a failed extraction
MIN_TEXT_WORDS = 40
EXTRACTOR = "trafilatura"

_QUOTES = str.maketrans(
    {
        "\u2018": "'",
        "\u2019": "'",
        "\u201a": "'",
        "\u201b": "'",
        "\u2032": "'",
        "\u201c": '"',
        "\u201d": '"',
        "\u201e": '"',
        "\u201f": '"',
        "\u2033": '"',
        "\u00ab": '"',
        "\u00bb": '"',
    }
)
_INVISIBLE = dict.fromkeys(map(ord, "\u00ad\u200b\u200c\u200d\u2060\ufeff"), None)
_SPACES = re.compile(r"[ \t\f\v\u00a0\u2007\u202f\u2009\u200a\u3000]+")
_PAYWALL = re.compile(
    r"subscribe to (?:continue|read)|to continue reading|already a subscriber|"
    r"this (?:article|content) is (?:only )?(?:available|reserved) (?:to|for) subscribers|"
    r"sign in to (?:continue|read)|create a free account to continue",
    re.I,
)


def clean_text(text: str) -> str:
    """The text we store: invisible characters gone, spaces collapsed, one paragraph a line."""
    text = unicodedata.normalize("NFC", text).translate(_INVISIBLE)
    lines = (_SPACES.sub(" ", line).strip() for line in text.splitlines())
    return "\n".join(line for line in lines if line)


def normalise_for_hash(text: str) -> str:
    """What two versions must differ in to count as an edit (quotes straight, one space)."""
    return " ".join(clean_text(text).translate(_QUOTES).split())


def text_sha256(text: str) -> str:
    return hashlib.sha256(normalise_for_hash(text).encode("utf-8")).hexdigest()


def looks_paywalled(text: str) -> bool:
    return len(text) < 3 * MIN_TEXT_CHARS and bool(_PAYWALL.search(text))


def plausible(text: str) -> bool:
    return len(text) >= MIN_TEXT_CHARS and len(text.split()) >= MIN_TEXT_WORDS


@dataclass
class Extracted:
    text: str
    title: str
    published_at: datetime | None
    sitename: str
    extractor: str = EXTRACTOR


def _parse_date(value: str | None) -> datetime | None:
    if not value:
        return None
    try:
        dt = datetime.fromisoformat(value)
    except ValueError:
        return None
    return dt.replace(tzinfo=UTC) if dt.tzinfo is None else dt.astimezone(UTC)


def extract_main(html: bytes, url: str) -> Extracted:
    """Main text and metadata of a page; ExtractionError when there is no plausible article."""
    import trafilatura  # heavy import: only in the process that extracts

    if not html.strip():
        raise ExtractionError(f"empty page at {url}")
    try:
        doc = trafilatura.bare_extraction(
            html, url=url, with_metadata=True, favor_recall=True, include_comments=False
        )
    except Exception as exc:  # noqa: BLE001 - the extractor can fail in many ways on bad HTML
        raise ExtractionError(f"extraction failed at {url}: {type(exc).__name__}") from None
    text = clean_text(getattr(doc, "text", None) or "") if doc is not None else ""
    if looks_paywalled(text):
        raise ExtractionError(f"paywalled page at {url} ({len(text)} characters)")
    if not plausible(text):
        raise ExtractionError(f"no article text at {url} ({len(text)} characters extracted)")
    return Extracted(
        text=text,
        title=clean_text(getattr(doc, "title", None) or "").replace("\n", " "),
        published_at=_parse_date(getattr(doc, "date", None)),
        sitename=(getattr(doc, "sitename", None) or "").strip(),
    )


def extract_or_reason(html: bytes, url: str) -> Extracted | str:
    """Worker-process job: the extraction, or the one-line reason it failed."""
    try:
        return extract_main(html, url)
    except ExtractionError as exc:
        return str(exc)


def feed_fallback(title: str, content: str, summary: str) -> Extracted | None:
    """The feed's own text when the page failed or is paywalled, if it is a real article."""
    text = clean_text(content or "")
    if not plausible(text):
        text = clean_text(summary or "")
    if not plausible(text):
        return None
    return Extracted(text=text, title=title, published_at=None, sitename="", extractor="feed")


def outlet_for(feed_name: str, sitename: str, url: str) -> str:
    """The desk's name for the feed, else the site's own name, else the host."""
    if feed_name.strip():
        return feed_name.strip()
    if sitename:
        return sitename
    host = (urlsplit(url).hostname or "").lower()
    return host.removeprefix("www.")


def compress_html(html: bytes) -> bytes:
    return zlib.compress(html, 6)


def next_refetch(first_seen: datetime, now: datetime, hours: list[float]) -> datetime | None:
    """The first scheduled re-fetch (first seen + h) after ``now``, or None once they are done."""
    for h in hours:
        when = first_seen + timedelta(hours=h)
        if when > now:
            return when
    return None
