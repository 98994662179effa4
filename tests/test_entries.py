"""Entry identity, canonical URLs, feed parsing decisions and text normalisation."""

from datetime import UTC, datetime
from pathlib import Path

import pytest

from monitor.articles import (
    ExtractionError,
    extract_main,
    feed_fallback,
    next_refetch,
    normalise_for_hash,
    outlet_for,
    text_sha256,
)
from monitor.entries import canonical_url, entry_key, html_to_text
from monitor.feedparse import parse_feed

FIX = Path(__file__).parent / "fixtures" / "collection"
BASE = "http://news.example.org"


def fixture(name: str) -> bytes:
    return (FIX / name).read_bytes().replace(b"{BASE}", BASE.encode())


@pytest.mark.parametrize(
    "url,expected",
    [
        ("HTTP://News.Example.ORG:80/a/b.html#section", "http://news.example.org/a/b.html"),
        ("https://x.org:443", "https://x.org/"),
        ("https://x.org/a?utm_source=rss&utm_medium=feed&id=7", "https://x.org/a?id=7"),
        ("https://x.org/a?fbclid=abc&gclid=d&page=2", "https://x.org/a?page=2"),
        ("https://x.org/a?ref=atom", "https://x.org/a"),
        ("https://x.org:8443/a?b=1&a=2", "https://x.org:8443/a?b=1&a=2"),
    ],
)
def test_canonical_url(url: str, expected: str) -> None:
    assert canonical_url(url) == expected


def test_entry_key_prefers_guid_then_link_then_hash() -> None:
    assert entry_key("abc-1", "http://x.org/a", "T", "S") == "guid:abc-1"
    assert entry_key(None, "http://x.org/a?utm_campaign=z#c", "T", "S") == "url:http://x.org/a"
    k1, k2 = entry_key(None, None, "T", "S"), entry_key("  ", "mailto:x@y", "T", "S")
    assert k1 == k2 and k1.startswith("sha:")
    assert entry_key(None, None, "T", "S2") != k1


def test_rss20_fields() -> None:
    p = parse_feed(fixture("rss20.xml"), BASE + "/rss20.xml", "application/rss+xml")
    assert p.is_feed and p.version == "rss20" and p.reason == ""
    first = p.entries[0]
    assert first.key == "guid:ledger-1001"
    assert first.article_url == BASE + "/news/cuba-mourns.html"
    assert first.published_at == datetime(2026, 1, 5, 10, 0, tzinfo=UTC)
    assert p.entries[1].article_url == BASE + "/news/toll-80.html"  # fragment gone


def test_atom_relative_links_resolve_against_xml_base() -> None:
    p = parse_feed(fixture("atom.xml"), BASE + "/atom.xml", "application/atom+xml")
    assert p.is_feed and p.version.startswith("atom")
    # ../news/cuba-mourns.html?ref=atom against {BASE}/atom/ is the same article as in RSS.
    assert p.entries[0].article_url == BASE + "/news/cuba-mourns.html"
    assert p.entries[0].updated_at == datetime(2026, 1, 6, 9, 0, tzinfo=UTC)


def test_rss10() -> None:
    p = parse_feed(fixture("rss10.rdf"), BASE + "/rss10.rdf", "application/rdf+xml")
    assert p.is_feed and p.version == "rss10"
    e = p.entries[0]
    assert e.article_url == BASE + "/news/havana-statement.html"
    assert e.published_at == datetime(2026, 1, 5, 15, 0, tzinfo=UTC)


def test_content_encoded_becomes_plain_text() -> None:
    p = parse_feed(fixture("feed_content_only.xml"), BASE + "/f.xml", "application/rss+xml")
    e = p.entries[0]
    assert "32 of its officers" in e.content and "<p>" not in e.content
    assert e.content.count("\n") >= 3  # paragraphs kept


@pytest.mark.parametrize(
    "name,ctype,reason",
    [
        ("not_a_feed.html", "text/html", "HTML page"),
        ("garbage.bin", "application/octet-stream", "not a feed"),
    ],
)
def test_not_a_feed(name: str, ctype: str, reason: str) -> None:
    p = parse_feed((FIX / name).read_bytes(), BASE + "/x", ctype)
    assert not p.is_feed and reason in p.reason and p.entries == []


def test_empty_body_is_not_a_feed() -> None:
    p = parse_feed(b"  \n", BASE + "/x", "application/rss+xml")
    assert not p.is_feed and p.reason == "empty response"


def test_ill_formed_feed_with_items_parses_with_a_warning() -> None:
    body = fixture("rss20.xml").replace(b"</channel>", b"<broken></channel>")
    p = parse_feed(body, BASE + "/x", "application/rss+xml")
    assert p.is_feed and p.bozo and "ill-formed" in p.reason and len(p.entries) == 3


def test_duplicate_items_in_one_feed_are_one_entry() -> None:
    body = fixture("rss20.xml")
    item = body[body.index(b"<item>") : body.index(b"</item>") + 7]
    p = parse_feed(body.replace(item, item + item), BASE + "/x", "application/rss+xml")
    assert len(p.entries) == 3


def test_html_to_text() -> None:
    assert html_to_text("<p>One&nbsp;two</p><p>Three <b>four</b></p>") == "One two\nThree four"


def test_normalisation_ignores_typography_only() -> None:
    a = "“Our compatriots,” he said — 32\u00a0killed in Cara\u00adcas.\n\nNext  paragraph."
    b = '"Our compatriots," he said — 32 killed in Caracas. Next paragraph.'
    assert normalise_for_hash(a) == normalise_for_hash(b)
    assert text_sha256(a) == text_sha256(b)
    assert text_sha256(a) != text_sha256(b.replace("32", "33"))


def test_extract_main_text_and_metadata() -> None:
    ex = extract_main(fixture("page_cuba_mourns_v1.html"), BASE + "/news/cuba-mourns.html")
    assert "32 Cuban nationals were killed" in ex.text
    assert "Privacy" not in ex.text and "Sport" not in ex.text
    assert ex.sitename == "Harbour Ledger"
    assert ex.title.startswith("Cuba mourns 32")


def test_typography_only_page_edit_hashes_the_same() -> None:
    a = extract_main(fixture("page_cuba_mourns_v1.html"), BASE + "/a")
    b = extract_main(fixture("page_cuba_mourns_v1_typo.html"), BASE + "/a")
    assert a.text != b.text and text_sha256(a.text) == text_sha256(b.text)
    c = extract_main(fixture("page_cuba_mourns_v2.html"), BASE + "/a")
    assert text_sha256(c.text) != text_sha256(a.text)


@pytest.mark.parametrize(
    "name,match",
    [
        ("page_paywall.html", "paywall|no article"),
        ("page_short.html", "no article"),
        ("garbage.bin", "no article|empty|failed"),
    ],
)
def test_failed_or_short_extraction_is_an_error(name: str, match: str) -> None:
    with pytest.raises(ExtractionError, match=match):
        extract_main((FIX / name).read_bytes(), BASE + "/p")


def test_feed_fallback_needs_a_real_article() -> None:
    p = parse_feed(fixture("feed_content_only.xml"), BASE + "/f.xml", "application/rss+xml")
    fb = feed_fallback("t", p.entries[0].content, p.entries[0].summary)
    assert fb is not None and fb.extractor == "feed"
    assert feed_fallback("t", "", "A one-line summary.") is None


def test_outlet_prefers_feed_name_then_site_then_host() -> None:
    assert outlet_for("Desk name", "Site", "https://www.x.org/a") == "Desk name"
    assert outlet_for("", "Site", "https://www.x.org/a") == "Site"
    assert outlet_for("", "", "https://www.x.org/a") == "x.org"


def test_refetch_schedule() -> None:
    first = datetime(2026, 1, 5, 10, tzinfo=UTC)
    hours = [1, 6, 24, 72]
    assert next_refetch(first, first, hours) == datetime(2026, 1, 5, 11, tzinfo=UTC)
    assert next_refetch(first, datetime(2026, 1, 5, 11, 30, tzinfo=UTC), hours) == datetime(
        2026, 1, 5, 16, tzinfo=UTC
    )
    assert next_refetch(first, datetime(2026, 1, 9, tzinfo=UTC), hours) is None
