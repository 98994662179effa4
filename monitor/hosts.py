"""The host a URL is fetched from: the key for politeness limits, in one worker and across them."""

from __future__ import annotations

from urllib.parse import urlsplit


def host_of(url: str | None) -> str | None:
    """Lower-case host name without port (``None`` when the URL has none)."""
    if not url:
        return None
    try:
        host = urlsplit(url).hostname
    except ValueError:
        return None
    return host.lower().rstrip(".") if host else None
