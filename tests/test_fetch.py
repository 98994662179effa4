"""The hardened fetcher against a real loopback HTTP server."""

import asyncio
import gzip

import pytest

from monitor.errors import BlockedAddress, FetchError
from monitor.fetch import Fetcher, HTTPStatusError, parse_retry_after


def fetch(url: str, *, guard: bool = False, allow_private: bool = True, **kw):
    opts = {k: kw.pop(k) for k in ("timeout", "max_bytes", "max_redirects") if k in kw}

    async def go():
        async with Fetcher(allow_private=allow_private, **opts) as f:
            return await f.fetch(url, guard=guard, **kw)

    return asyncio.run(go())


def test_plain_get_returns_body_and_validators(loopback) -> None:
    loopback.set("/a", "hello", etag="auto", last_modified="Mon, 05 Jan 2026 10:00:00 GMT")
    r = fetch(loopback.url("/a"))
    assert r.status == 200 and r.body == b"hello"
    assert r.etag and r.last_modified == "Mon, 05 Jan 2026 10:00:00 GMT"
    assert r.moved_to is None and r.redirects == 0


def test_conditional_get_gets_304(loopback) -> None:
    route = loopback.set("/a", "hello", etag="auto")
    r = fetch(loopback.url("/a"), etag=route.etag)
    assert r.not_modified and r.body == b""
    assert loopback.hits("/a")[-1].headers["If-None-Match"] == route.etag


def test_if_modified_since_is_sent(loopback) -> None:
    lm = "Mon, 05 Jan 2026 10:00:00 GMT"
    loopback.set("/a", "hello", last_modified=lm)
    assert fetch(loopback.url("/a"), last_modified=lm).status == 304


def test_gzip_is_decoded(loopback) -> None:
    loopback.set("/z", "squeezed " * 1000, gzip=True)
    r = fetch(loopback.url("/z"))
    assert r.body == b"squeezed " * 1000
    assert "gzip" in loopback.hits("/z")[0].headers["Accept-Encoding"]


def test_gzip_bomb_stops_at_the_cap(loopback) -> None:
    bomb = gzip.compress(b"\0" * (20 * 1024 * 1024))  # 20 MiB of zeros, about 20 KB on the wire
    loopback.set("/bomb", bomb, headers={"Content-Encoding": "gzip"})
    with pytest.raises(FetchError, match="larger than"):
        fetch(loopback.url("/bomb"), max_bytes=1024 * 1024)


def test_declared_length_over_the_cap_is_refused_early(loopback) -> None:
    loopback.set("/big", b"x" * 50_000)
    with pytest.raises(FetchError, match="larger than 10000 bytes"):
        fetch(loopback.url("/big"), max_bytes=10_000)


def test_endless_body_is_cut_at_the_cap(loopback) -> None:
    loopback.set("/endless", endless=True)
    with pytest.raises(FetchError, match="larger than 2 MiB"):
        fetch(loopback.url("/endless"), max_bytes=2 * 1024 * 1024)


def test_slow_server_times_out(loopback) -> None:
    loopback.set("/slow", "late", delay=3)
    with pytest.raises(FetchError, match="timeout|timed out"):
        fetch(loopback.url("/slow"), timeout=0.5)


def test_http_error_is_a_fetch_error_with_status(loopback) -> None:
    loopback.set("/err", "boom", status=500)
    with pytest.raises(HTTPStatusError) as info:
        fetch(loopback.url("/err"))
    assert info.value.status == 500 and "HTTP 500" in str(info.value)


def test_429_carries_retry_after(loopback) -> None:
    loopback.set("/busy", "slow down", status=429, headers={"Retry-After": "120"})
    with pytest.raises(HTTPStatusError) as info:
        fetch(loopback.url("/busy"))
    assert info.value.status == 429 and info.value.retry_after == 120
    assert "retry after 120 s" in str(info.value)


def test_retry_after_forms() -> None:
    assert parse_retry_after("30") == 30
    assert parse_retry_after("999999999") == 24 * 3600
    assert parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT", now=1445412480 - 60) == 60
    assert parse_retry_after("soon") is None and parse_retry_after(None) is None


def test_permanent_redirect_reports_new_url(loopback) -> None:
    loopback.set("/new", "moved here")
    loopback.redirect("/old", loopback.url("/new"), status=301)
    r = fetch(loopback.url("/old"))
    assert r.body == b"moved here" and r.redirects == 1
    assert r.moved_to == loopback.url("/new")


def test_temporary_redirect_keeps_old_url(loopback) -> None:
    loopback.set("/new", "moved here")
    loopback.redirect("/tmp", "/new", status=302)  # relative Location
    r = fetch(loopback.url("/tmp"))
    assert r.body == b"moved here" and r.moved_to is None


def test_redirect_loop_is_refused(loopback) -> None:
    loopback.redirect("/a", "/b")
    loopback.redirect("/b", "/a")
    with pytest.raises(FetchError, match="redirect loop"):
        fetch(loopback.url("/a"))


def test_too_many_redirects(loopback) -> None:
    for i in range(6):
        loopback.redirect(f"/r{i}", f"/r{i + 1}")
    loopback.set("/r6", "end")
    with pytest.raises(FetchError, match="too many redirects"):
        fetch(loopback.url("/r0"), max_redirects=3)


def test_guard_refuses_loopback_link_without_connecting(loopback) -> None:
    loopback.set("/page", "secret")
    for url in (loopback.url("/page"), loopback.url("/page").replace("127.0.0.1", "127.1")):
        with pytest.raises(BlockedAddress, match="refused"):
            fetch(url, guard=True, allow_private=False)
    assert loopback.hits("/page") == []


def _pretend_public(monkeypatch, name: str) -> None:
    """Let ``name`` resolve to loopback as if it were a public host (everything else is real)."""
    import monitor.fetch as fetch_mod

    real = fetch_mod.resolve_public
    monkeypatch.setattr(
        fetch_mod, "resolve_public", lambda h, p: "127.0.0.1" if h == name else real(h, p)
    )


def test_guard_connects_to_the_checked_address_with_the_original_host(loopback, monkeypatch):
    _pretend_public(monkeypatch, "news.test")
    loopback.set("/story", "article")
    port = loopback.url("/").split(":")[-1].rstrip("/")
    r = fetch(f"http://news.test:{port}/story", guard=True, allow_private=False)
    assert r.body == b"article"
    assert loopback.hits("/story")[0].headers["Host"] == f"news.test:{port}"


@pytest.mark.parametrize(
    "target",
    [
        "http://127.0.0.1:{port}/secret",
        "http://0x7f.1:{port}/secret",
        "http://[::ffff:127.0.0.1]:{port}/secret",
        "http://169.254.169.254/latest/meta-data/",
    ],
)
def test_guard_checks_every_redirect_hop(loopback, monkeypatch, target: str) -> None:
    _pretend_public(monkeypatch, "news.test")
    port = loopback.url("/").split(":")[-1].rstrip("/")
    loopback.set("/secret", "internal")
    loopback.redirect("/story", target.format(port=port))
    with pytest.raises(BlockedAddress, match="refused"):
        fetch(f"http://news.test:{port}/story", guard=True, allow_private=False)
    assert len(loopback.hits("/story")) == 1 and loopback.hits("/secret") == []


def test_guard_off_for_configured_feed_urls(loopback) -> None:
    loopback.set("/feed", "<rss/>")
    r = fetch(loopback.url("/feed"), guard=False, allow_private=False)
    assert r.body == b"<rss/>"


def test_non_http_scheme_is_a_fetch_error() -> None:
    with pytest.raises(FetchError, match="non-http"):
        fetch("file:///etc/passwd")


def test_connection_refused_is_one_line() -> None:
    with pytest.raises(FetchError) as info:
        fetch("http://127.0.0.1:9/")
    assert "\n" not in str(info.value) and "connect" in str(info.value)


def test_per_host_limit_bounds_parallel_requests(loopback) -> None:
    for i in range(8):
        loopback.set(f"/s{i}", "ok", delay=0.3)

    async def go():
        async with Fetcher(per_host=2, concurrency=8) as f:
            await asyncio.gather(*(f.fetch(loopback.url(f"/s{i}"), guard=False) for i in range(8)))

    import time

    t = time.monotonic()
    asyncio.run(go())
    # 8 requests of 0.3 s, 2 at a time: at least 4 rounds.
    assert time.monotonic() - t >= 1.1
