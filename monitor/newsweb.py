"""Invented news pages and RSS feeds, as the offline demo and the replay benchmark serve them
from loopback: a plain article page (navigation and footer around the text, as real pages
have) and an RSS 2.0 channel. Every value is escaped here; callers pass plain text.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from email.utils import format_datetime
from html import escape

from monitor import clock


@dataclass(frozen=True)
class FeedItem:
    title: str
    link: str
    guid: str
    published: datetime
    summary: str


def news_page(
    *,
    title: str,
    outlet: str,
    byline: str,
    text: str,
    published: datetime,
    lang: str,
    nav: str,
    footer_note: str,
    aside: str = "",
) -> str:
    """One article page; ``nav`` and ``aside`` are our own markup (the page furniture)."""
    paras = "\n".join(f"<p>{escape(p)}</p>" for p in text.splitlines() if p.strip())
    stamp = clock.iso(published)
    return f"""<!DOCTYPE html>
<html lang="{lang}"><head><meta charset="utf-8">
<title>{escape(title)} | {escape(outlet)}</title>
<meta property="og:site_name" content="{escape(outlet)}">
<meta property="og:title" content="{escape(title)}">
<meta property="article:published_time" content="{stamp}">
</head><body>
<header><nav>{nav}</nav></header>
<main><article>
<h1>{escape(title)}</h1>
<p class="byline">{escape(byline)} · <time datetime="{stamp}">{published:%d %B %Y}</time></p>
{paras}
</article></main>
{aside}<footer><p>© {escape(outlet)}. {escape(footer_note)}</p></footer>
</body></html>
"""


def rss_feed(*, title: str, link: str, outlet: str, items: list[FeedItem]) -> str:
    """An RSS 2.0 channel listing ``items`` in the order given."""
    entries = [
        f"""<item><title>{escape(i.title)}</title>
<link>{i.link}</link>
<guid isPermaLink="false">{i.guid}</guid>
<pubDate>{format_datetime(i.published)}</pubDate>
<description>{escape(i.summary)}</description></item>"""
        for i in items
    ]
    return f"""<?xml version="1.0" encoding="utf-8"?>
<rss version="2.0"><channel><title>{escape(title)}</title>
<link>{link}</link><description>Latest from {escape(outlet)}</description>
{chr(10).join(entries)}
</channel></rss>
"""
