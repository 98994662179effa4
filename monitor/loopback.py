"""A small real HTTP server on 127.0.0.1 serving routes from memory.

Used by the offline demo and by the tests (real sockets, real HTTP, no mocks). Routes can be
changed while it runs; it answers conditional GETs (ETag / Last-Modified) with 304, can gzip,
delay, redirect, or send an endless body, and logs every request it saw. It also counts the
requests it is answering at any moment and the peak of that count (politeness tests).
"""

from __future__ import annotations

import gzip
import hashlib
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


@dataclass
class Route:
    body: bytes = b""
    status: int = 200
    content_type: str = "text/html; charset=utf-8"
    headers: dict[str, str] = field(default_factory=dict)
    etag: str | None = None
    last_modified: str | None = None
    delay: float = 0.0
    gzip: bool = False
    endless: bool = False  # stream bytes until the client gives up (size-cap tests)


@dataclass
class Seen:
    method: str
    path: str
    headers: dict[str, str]
    status: int


class LoopbackServer:
    """``with LoopbackServer() as srv: srv.set('/f.xml', xml); httpx.get(srv.url('/f.xml'))``"""

    def __init__(self, host: str = "127.0.0.1", port: int = 0) -> None:
        self.routes: dict[str, Route] = {}
        self.requests: list[Seen] = []
        self.in_flight = 0  # requests being answered right now
        self.peak_in_flight = 0  # the most at once since start (or ``reset_peak``)
        self._lock = threading.Lock()
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: object) -> None:  # keep test output quiet
                pass

            def do_HEAD(self) -> None:
                self._serve(head=True)

            def do_GET(self) -> None:
                self._serve(head=False)

            def _serve(self, head: bool) -> None:
                server._enter()
                try:
                    self._answer(head)
                finally:
                    server._leave()

            def _answer(self, head: bool) -> None:
                route = server.routes.get(self.path)
                status = route.status if route else 404
                if route and route.delay:
                    time.sleep(route.delay)
                if route and status == 200 and _not_modified(route, self.headers):
                    status = 304
                with server._lock:
                    server.requests.append(
                        Seen(
                            "HEAD" if head else "GET", self.path, dict(self.headers.items()), status
                        )
                    )
                try:
                    if route is None:
                        self._send(404, b"not found", "text/plain", {}, head)
                    elif status == 304:
                        self._send(304, b"", None, _validators(route), head)
                    elif route.endless:
                        self._endless(route)
                    else:
                        body, headers = route.body, {**_validators(route), **route.headers}
                        if route.gzip and "gzip" in self.headers.get("Accept-Encoding", ""):
                            body = gzip.compress(body)
                            headers["Content-Encoding"] = "gzip"
                        self._send(status, body, route.content_type, headers, head)
                except (BrokenPipeError, ConnectionResetError):
                    pass

            def _send(
                self,
                status: int,
                body: bytes,
                ctype: str | None,
                headers: dict[str, str],
                head: bool,
            ) -> None:
                self.send_response(status)
                if ctype and status != 304:
                    self.send_header("Content-Type", ctype)
                for k, v in headers.items():
                    self.send_header(k, v)
                if status != 304:
                    self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                if not head and status != 304:
                    self.wfile.write(body)

            def _endless(self, route: Route) -> None:
                self.send_response(200)
                self.send_header("Content-Type", route.content_type)
                self.send_header("Connection", "close")
                self.end_headers()
                chunk = b"<p>" + b"x" * 65536 + b"</p>"
                for _ in range(100_000):  # bounded: at most about 6 GB, the client stops far sooner
                    self.wfile.write(chunk)
                self.close_connection = True

        self._httpd = ThreadingHTTPServer((host, port), Handler)
        self._httpd.daemon_threads = True
        self._thread: threading.Thread | None = None

    @property
    def base_url(self) -> str:
        host, port = self._httpd.server_address[:2]
        return f"http://{host}:{port}"

    def url(self, path: str) -> str:
        return self.base_url + path

    def set(self, path: str, body: bytes | str = b"", **options: object) -> Route:
        """Serve ``body`` at ``path``; options are Route fields. ``etag="auto"`` hashes the body."""
        if isinstance(body, str):
            body = body.encode("utf-8")
        if options.get("etag") == "auto":
            options["etag"] = '"' + hashlib.sha256(body).hexdigest()[:16] + '"'
        route = Route(body=body, **options)  # type: ignore[arg-type]
        self.routes[path] = route
        return route

    def redirect(self, path: str, to: str, status: int = 302) -> None:
        self.routes[path] = Route(
            status=status, headers={"Location": to}, content_type="text/plain"
        )

    def _enter(self) -> None:
        with self._lock:
            self.in_flight += 1
            self.peak_in_flight = max(self.peak_in_flight, self.in_flight)

    def _leave(self) -> None:
        with self._lock:
            self.in_flight -= 1

    def reset_peak(self) -> None:
        """Start counting the peak afresh (from the requests in flight now)."""
        with self._lock:
            self.peak_in_flight = self.in_flight

    def hits(self, path: str) -> list[Seen]:
        with self._lock:
            return [r for r in self.requests if r.path == path]

    def start(self) -> LoopbackServer:
        self._thread = threading.Thread(target=self._httpd.serve_forever, daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()

    def __enter__(self) -> LoopbackServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


def _validators(route: Route) -> dict[str, str]:
    out = {}
    if route.etag:
        out["ETag"] = route.etag
    if route.last_modified:
        out["Last-Modified"] = route.last_modified
    return out


def _not_modified(route: Route, headers: object) -> bool:
    inm = headers.get("If-None-Match")  # type: ignore[attr-defined]
    ims = headers.get("If-Modified-Since")  # type: ignore[attr-defined]
    if route.etag and inm:
        return route.etag in [t.strip() for t in inm.split(",")]
    return bool(route.last_modified and ims and ims == route.last_modified)
