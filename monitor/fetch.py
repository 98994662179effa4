"""The one hardened HTTP fetcher, for feeds and articles alike.

- bounded concurrency overall and per host, several small httpx clients (one big pool makes
  every request slower as it grows);
- connect/read timeouts plus a deadline for the whole fetch (a server that drips bytes);
- a streamed size cap on the *decoded* body, with our own gzip/deflate decoder so a small
  compressed bomb cannot expand in memory before the cap is checked;
- redirects followed by hand (bounded, loops refused); when the URL came from feed content
  every hop is resolved, checked by ``monitor.netguard`` and connected to by the checked address;
- conditional GET (If-None-Match / If-Modified-Since) and Retry-After on 429/503.

Errors are ``FetchError`` (or ``BlockedAddress``) with one line saying what happened.
"""

from __future__ import annotations

import asyncio
import time
import zlib
from dataclasses import dataclass, field
from email.utils import parsedate_to_datetime
from typing import Any
from urllib.parse import urljoin, urlsplit, urlunsplit

import httpx

from monitor.clock import utcnow
from monitor.errors import BlockedAddress, FetchError
from monitor.netguard import check_url_shape, resolve_public

REDIRECTS = (301, 302, 303, 307, 308)
PERMANENT = (301, 308)
MAX_RETRY_AFTER = 24 * 3600.0
CONNECTIONS_PER_CLIENT = 4


class HTTPStatusError(FetchError):
    """The server answered with an error status; ``retry_after`` in seconds when it said so."""

    def __init__(self, message: str, status: int, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.retry_after = retry_after


@dataclass
class FetchResult:
    url: str  # what was asked for
    final_url: str  # after redirects
    status: int
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)  # lower-case names
    moved_to: str | None = None  # set when every redirect hop was permanent (301/308)
    redirects: int = 0
    elapsed_ms: int = 0

    @property
    def not_modified(self) -> bool:
        return self.status == 304

    @property
    def etag(self) -> str | None:
        return self.headers.get("etag")

    @property
    def last_modified(self) -> str | None:
        return self.headers.get("last-modified")

    @property
    def content_type(self) -> str:
        return self.headers.get("content-type", "")


def parse_retry_after(value: str | None, now: float | None = None) -> float | None:
    """Seconds to wait from Retry-After (delta-seconds or an HTTP date), capped at a day."""
    if not value:
        return None
    v = value.strip()
    if v.isdigit():
        return min(float(v), MAX_RETRY_AFTER)
    try:
        when = parsedate_to_datetime(v)
    except (TypeError, ValueError, IndexError):
        return None
    if when is None:
        return None
    base = utcnow().timestamp() if now is None else now
    return min(max(when.timestamp() - base, 0.0), MAX_RETRY_AFTER)


class _CappedDecoder:
    """Decode gzip/deflate chunk by chunk, never producing more than ``cap`` bytes."""

    def __init__(self, encoding: str, cap: int, url: str) -> None:
        enc = encoding.strip().lower()
        self.cap, self.url, self.size = cap, url, 0
        self.parts: list[bytes] = []
        self._raw_deflate = False
        if enc in ("", "identity"):
            self.zobj = None
        elif enc in ("gzip", "x-gzip", "deflate"):
            self.zobj = zlib.decompressobj(zlib.MAX_WBITS | 32)  # gzip or zlib header
            self._raw_deflate = enc == "deflate"
        else:
            raise FetchError(f"unsupported Content-Encoding {encoding!r} from {url}")

    def _take(self, data: bytes) -> None:
        self.size += len(data)
        if self.size > self.cap:
            raise FetchError(f"response larger than {_mib(self.cap)} from {self.url}")
        self.parts.append(data)

    def feed(self, chunk: bytes) -> None:
        if self.zobj is None:
            self._take(chunk)
            return
        data = chunk
        while data:
            try:
                out = self.zobj.decompress(data, self.cap - self.size + 1)
            except zlib.error:
                if self._raw_deflate and self.size == 0:  # some servers send raw deflate
                    self.zobj, self._raw_deflate = zlib.decompressobj(-zlib.MAX_WBITS), False
                    continue
                raise FetchError(f"corrupt compressed body from {self.url}") from None
            self._take(out)
            data = self.zobj.unconsumed_tail

    def body(self) -> bytes:
        return b"".join(self.parts)


def _mib(n: int) -> str:
    return f"{n / 1048576:.0f} MiB" if n >= 1048576 else f"{n} bytes"


def _host_key(url: str) -> str:
    return (urlsplit(url).hostname or "").lower()


class Fetcher:
    """``async with Fetcher.from_config(cfg) as f: r = await f.fetch(url, guard=True)``"""

    def __init__(
        self,
        *,
        timeout: float = 20.0,
        max_bytes: int = 15 * 1024 * 1024,
        max_redirects: int = 5,
        concurrency: int = 32,
        per_host: int = 4,
        user_agent: str = "newsroom-discrepancy-monitor/0.1",
        allow_private: bool = False,
        clients: int | None = None,
    ) -> None:
        self.timeout, self.max_bytes, self.max_redirects = timeout, max_bytes, max_redirects
        self.per_host, self.allow_private, self.user_agent = per_host, allow_private, user_agent
        self._sem = asyncio.Semaphore(concurrency)
        self._hosts: dict[str, asyncio.Semaphore] = {}
        # httpcore scans its whole pool on every request, so one big pool costs ~10 ms of CPU
        # per request at 100 connections; clients of about 4 connections each keep it < 1 ms.
        n = clients or max(1, min(64, -(-concurrency // CONNECTIONS_PER_CLIENT)))
        per_client = max(CONNECTIONS_PER_CLIENT, -(-concurrency // n))
        limits = httpx.Limits(max_connections=per_client, max_keepalive_connections=per_client)
        tls = httpx.create_ssl_context()  # loading the CA store once, not once per client
        # Transports, not Clients: we follow redirects ourselves and want no cookie jar, auth
        # flow or URL merging; the Client layer cost a third of each 304's CPU.
        self._clients = [
            httpx.AsyncHTTPTransport(verify=tls, limits=limits, trust_env=False)  # no proxies
            for _ in range(n)
        ]
        t = min(timeout, 10.0)
        self._timeouts = {"connect": t, "read": timeout, "write": timeout, "pool": timeout}

    @classmethod
    def from_config(cls, cfg: Any, **overrides: Any) -> Fetcher:
        net = cfg["network"]
        opts = dict(
            timeout=net["timeout"],
            max_bytes=net["max_bytes"],
            max_redirects=net["max_redirects"],
            concurrency=net["concurrency"],
            per_host=net["per_host"],
            user_agent=net["user_agent"],
            allow_private=net["allow_private_addresses"],
        )
        opts.update(overrides)
        return cls(**opts)

    async def __aenter__(self) -> Fetcher:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        await asyncio.gather(*(c.aclose() for c in self._clients), return_exceptions=True)

    def _host_sem(self, host: str) -> asyncio.Semaphore:
        sem = self._hosts.get(host)
        if sem is None:
            sem = self._hosts[host] = asyncio.Semaphore(self.per_host)
        return sem

    async def fetch(
        self,
        url: str,
        *,
        guard: bool,
        etag: str | None = None,
        last_modified: str | None = None,
        accept: str = "*/*",
    ) -> FetchResult:
        """GET ``url``. ``guard``: the URL came from feed content, so check every hop's address."""
        check = guard and not self.allow_private
        started = time.monotonic()
        current, seen, hops, permanent = url, {url}, 0, True
        async with self._sem:
            while True:
                resp_status, location, result = await self._one(
                    current, check, etag, last_modified, accept
                )
                if result is not None:
                    result.url, result.redirects = url, hops
                    result.moved_to = current if hops and permanent else None
                    result.elapsed_ms = int((time.monotonic() - started) * 1000)
                    return result
                hops += 1
                permanent = permanent and resp_status in PERMANENT
                if hops > self.max_redirects:
                    raise FetchError(
                        f"too many redirects (more than {self.max_redirects}) from {url}"
                    )
                nxt = urljoin(current, location or "")
                if nxt in seen:
                    raise FetchError(f"redirect loop at {nxt} (from {url})")
                seen.add(nxt)
                current = nxt
                # Validators belong to the original resource, not to where it moved.
                if not permanent:
                    etag = last_modified = None

    async def _one(
        self, url: str, check: bool, etag: str | None, modified: str | None, accept: str
    ) -> tuple[int, str | None, FetchResult | None]:
        """One request: (status, Location, None) for a redirect, else (status, None, result)."""
        if check:
            scheme, host, port = check_url_shape(url)
        else:
            try:
                scheme, host, port = check_url_shape(url)
            except BlockedAddress as exc:
                raise FetchError(str(exc)) from None
        headers = {
            "User-Agent": self.user_agent,
            "Accept": accept,
            "Accept-Encoding": "gzip, deflate",
        }
        if etag:
            headers["If-None-Match"] = etag
        if modified:
            headers["If-Modified-Since"] = modified
        target, extensions = url, {}  # type: tuple[str, dict[str, Any]]
        if check:
            address = await asyncio.to_thread(resolve_public, host, port)
            target, extensions = _pin(url, address), {"sni_hostname": host}
            headers["Host"] = urlsplit(url).netloc
        # Spread by URL, not host: feeds often share a host, and a URL keeps its connection.
        transport = self._clients[hash(url) % len(self._clients)]
        try:
            async with self._host_sem(host.lower()), asyncio.timeout(self.timeout * 2):
                extensions["timeout"] = self._timeouts
                request = httpx.Request("GET", target, headers=headers, extensions=extensions)
                response = await transport.handle_async_request(request)
                try:
                    return await self._read(url, response)
                finally:
                    await response.aclose()
        except TimeoutError:
            raise FetchError(f"timed out after {self.timeout * 2:g} s fetching {url}") from None
        except httpx.TimeoutException as exc:
            kind = type(exc).__name__.replace("Timeout", " timeout").lower()
            raise FetchError(f"{kind} after {self.timeout:g} s fetching {url}") from None
        except httpx.ConnectError as exc:
            raise FetchError(f"could not connect to {host}: {_first_line(exc)}") from None
        except (httpx.HTTPError, httpx.InvalidURL, OSError) as exc:
            raise FetchError(f"HTTP failure fetching {url}: {_first_line(exc)}") from None

    async def _read(self, url: str, response: httpx.Response) -> tuple[int, str | None, Any]:
        status = response.status_code
        headers = {k.lower(): v for k, v in response.headers.items()}
        if status in REDIRECTS:
            loc = headers.get("location")
            if not loc:
                raise FetchError(f"HTTP {status} without a Location header from {url}")
            await _drain_small(response)
            return status, loc, None
        if status == 304:
            await _drain_small(response)
            return status, None, FetchResult(url=url, final_url=url, status=304, headers=headers)
        if status >= 400 or status < 200:
            retry = parse_retry_after(headers.get("retry-after"))
            phrase = response.reason_phrase or ""
            msg = f"HTTP {status} {phrase}".rstrip() + f" from {url}"
            if retry is not None:
                msg += f" (retry after {retry:.0f} s)"
            raise HTTPStatusError(msg, status, retry)
        length = headers.get("content-length", "")
        if (
            length.isdigit()
            and int(length) > self.max_bytes
            and not headers.get("content-encoding")
        ):
            raise FetchError(f"response larger than {_mib(self.max_bytes)} from {url}")
        decoder = _CappedDecoder(headers.get("content-encoding", ""), self.max_bytes, url)
        async for chunk in response.aiter_raw():
            decoder.feed(chunk)
        return (
            status,
            None,
            FetchResult(
                url=url, final_url=url, status=status, body=decoder.body(), headers=headers
            ),
        )


async def _drain_small(response: httpx.Response, limit: int = 65536) -> None:
    """Read a small leftover body so the connection can be reused (an unread one is closed)."""
    seen = 0
    async for chunk in response.aiter_raw():
        seen += len(chunk)
        if seen > limit:
            return


def _pin(url: str, address: str) -> str:
    """The URL with its host replaced by the checked address (kept port, path and query)."""
    parts = urlsplit(url)
    host = f"[{address}]" if ":" in address else address
    netloc = host if parts.port is None else f"{host}:{parts.port}"
    return urlunsplit((parts.scheme, netloc, parts.path or "/", parts.query, ""))


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


async def fetch_once(cfg: Any, url: str, *, guard: bool, **kwargs: Any) -> FetchResult:
    """One fetch with a throwaway Fetcher (for the seed URL, the CLI, tests)."""
    async with Fetcher.from_config(cfg) as fetcher:
        return await fetcher.fetch(url, guard=guard, **kwargs)
