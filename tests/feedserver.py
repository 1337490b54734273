"""A loopback HTTP server that plays feed hosts in tests: no test touches the internet.

Register what each path answers, fetch ``server.url(path)``, then look at what
the server saw (request counts, headers, peak concurrency)::

    async def test_not_modified(feed_server: FeedServer) -> None:
        feed_server.add("/feed.xml", b"<rss/>", etag='"v1"', content_type="application/rss+xml")
        url = feed_server.url("/feed.xml")
        async with Fetcher.open(FetchSettings(allowed_hosts=("127.0.0.1",))) as fetcher:
            first = await fetcher.fetch(url)
            again = await fetcher.fetch(url, etag=first.etag)
        assert again.status == 304
        assert feed_server.hits("/feed.xml") == 2
        assert feed_server.requests[-1].headers["if-none-match"] == '"v1"'

The server listens on 127.0.0.1 only, so a fetcher needs
``allowed_hosts=("127.0.0.1",)`` or ``allow_private_networks=True``. To play
several hosts, map names onto the loopback address with :class:`StaticResolver`
(``Fetcher.open(settings, resolver=StaticResolver.loopback("a.test"))``) and
use ``server.url(path, host="a.test")``; the Host header tells them apart.

Every ``add_*`` method replaces what the path answered before. The
``feed_server`` fixture in ``tests/conftest.py`` starts and stops one per test.
"""

from __future__ import annotations

import asyncio
import functools
import gzip
import socket
import zlib
from collections import Counter
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from types import TracebackType

from aiohttp import web
from aiohttp.abc import AbstractResolver, ResolveResult

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


@dataclass(frozen=True)
class RecordedRequest:
    """One request as the server saw it; header keys lower-cased."""

    method: str
    path: str  # path and query, e.g. "/feed.xml?page=2"
    host: str  # the Host header without the port
    headers: Mapping[str, str] = field(default_factory=dict)


class FeedServer:
    """A loopback aiohttp server with per-test routes. Use ``async with`` or start()/stop()."""

    def __init__(self) -> None:
        self._routes: dict[str, Handler] = {}
        self.requests: list[RecordedRequest] = []
        self._in_flight: Counter[str] = Counter()
        self._peak: Counter[str] = Counter()
        self._runner: web.AppRunner | None = None
        self._streams: set[asyncio.Task[object]] = set()
        self.port = 0

    # ------------------------------------------------------------------ life cycle

    async def start(self) -> FeedServer:
        app = web.Application()
        app.router.add_route("*", "/{tail:.*}", self._dispatch)
        self._runner = web.AppRunner(app, shutdown_timeout=0.5, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        sockets = site._server.sockets if site._server else ()  # type: ignore[union-attr]
        self.port = sockets[0].getsockname()[1]
        return self

    async def stop(self) -> None:
        for task in list(self._streams):
            task.cancel()
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def __aenter__(self) -> FeedServer:
        return await self.start()

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.stop()

    def url(self, path: str = "/", *, host: str = "127.0.0.1") -> str:
        """The absolute URL of ``path``; ``host`` names a host mapped to loopback."""
        return f"http://{host}:{self.port}{path}"

    # ------------------------------------------------------------------ what was seen

    def hits(self, path: str) -> int:
        """How many requests reached ``path`` (query string ignored)."""
        return sum(1 for r in self.requests if r.path.split("?", 1)[0] == path)

    def headers_of(self, path: str) -> list[Mapping[str, str]]:
        """The request headers of every request to ``path``, oldest first."""
        return [r.headers for r in self.requests if r.path.split("?", 1)[0] == path]

    def peak_concurrency(self, host: str | None = None) -> int:
        """Most requests handled at the same time, for one Host or over all."""
        return self._peak[host or "*"]

    # ------------------------------------------------------------------ routes

    def add(
        self,
        path: str,
        body: bytes | str = b"",
        *,
        status: int = 200,
        content_type: str = "application/xml",
        headers: Mapping[str, str] | None = None,
        etag: str | None = None,
        last_modified: str | None = None,
        gzip_body: bool = False,
        delay: float = 0.0,
    ) -> None:
        """Serve fixed bytes. With ``etag``/``last_modified`` a matching conditional
        request gets 304. ``gzip_body`` sends it Content-Encoding: gzip; ``delay``
        holds each request open that long before answering (for concurrency tests)."""
        data = body.encode() if isinstance(body, str) else body
        sent = gzip.compress(data) if gzip_body else data
        fixed = {"Content-Type": content_type, **(headers or {})}
        if etag:
            fixed["ETag"] = etag
        if last_modified:
            fixed["Last-Modified"] = last_modified
        if gzip_body:
            fixed["Content-Encoding"] = "gzip"

        async def handler(request: web.Request) -> web.StreamResponse:
            if delay:
                await asyncio.sleep(delay)
            inm = request.headers.get("If-None-Match")
            ims = request.headers.get("If-Modified-Since")
            if (etag and inm and inm in (etag, "*")) or (
                last_modified and ims and not inm and ims == last_modified
            ):
                return web.Response(status=304, headers=_validators(fixed))
            return web.Response(status=status, body=sent, headers=fixed)

        self._routes[path] = handler

    def add_status(
        self,
        path: str,
        status: int,
        *,
        retry_after: str | None = None,
        body: bytes = b"",
        headers: Mapping[str, str] | None = None,
    ) -> None:
        """Answer ``status`` (e.g. 429 with ``retry_after="120"`` or an HTTP-date)."""
        fixed = dict(headers or {})
        if retry_after is not None:
            fixed["Retry-After"] = retry_after
        self.add(path, body, status=status, headers=fixed, content_type="text/plain")

    def add_redirect(self, path: str, location: str, *, status: int = 302) -> None:
        """Redirect ``path`` to ``location`` (relative or absolute, as sent)."""

        async def handler(request: web.Request) -> web.StreamResponse:
            return web.Response(status=status, headers={"Location": location})

        self._routes[path] = handler

    def add_redirect_chain(
        self, prefix: str, hops: int, target: str, *, status: int | tuple[int, ...] = 301
    ) -> str:
        """``hops`` redirects ``{prefix}0 -> {prefix}1 -> ... -> target``; returns the first path.

        ``status`` is one code for every hop or one per hop.
        """
        statuses = status if isinstance(status, tuple) else (status,) * hops
        for i in range(hops):
            nxt = target if i == hops - 1 else f"{prefix}{i + 1}"
            self.add_redirect(f"{prefix}{i}", nxt, status=statuses[i])
        return f"{prefix}0" if hops else target

    def add_gzip_bomb(self, path: str, *, size: int = 64 * 1024 * 1024) -> int:
        """Serve ``size`` zero bytes gzip-compressed (about a thousandth on the wire).

        Returns the compressed length, so a test can show how small it was."""
        blob = _gzip_zeros(size)
        self.add(
            path,
            blob,
            content_type="application/rss+xml",
            headers={"Content-Encoding": "gzip"},
        )
        return len(blob)

    def add_drip(
        self, path: str, *, every: float = 0.1, chunk: bytes = b"<", prefix: bytes = b"<rss>"
    ) -> None:
        """A response that never ends: ``prefix``, then ``chunk`` every ``every`` seconds
        until the client hangs up or the server stops (a slowloris feed)."""

        async def handler(request: web.Request) -> web.StreamResponse:
            resp = web.StreamResponse(headers={"Content-Type": "application/rss+xml"})
            await resp.prepare(request)
            task = asyncio.current_task()
            assert task is not None
            self._streams.add(task)
            try:
                await resp.write(prefix)
                while True:
                    await asyncio.sleep(every)
                    await resp.write(chunk)
            except ConnectionError:  # the client gave up, as it should
                return resp
            finally:
                self._streams.discard(task)

        self._routes[path] = handler

    def add_handler(self, path: str, handler: Handler) -> None:
        """Answer ``path`` with any aiohttp handler, for cases the helpers do not cover."""
        self._routes[path] = handler

    # ------------------------------------------------------------------ plumbing

    async def _dispatch(self, request: web.Request) -> web.StreamResponse:
        host = (request.host or "").rsplit(":", 1)[0] if request.host else ""
        self.requests.append(
            RecordedRequest(
                method=request.method,
                path=request.path_qs,
                host=host,
                headers={k.lower(): v for k, v in request.headers.items()},
            )
        )
        handler = self._routes.get(request.path)
        if handler is None:
            return web.Response(status=404, text=f"no route for {request.path}")
        for key in ("*", host):
            self._in_flight[key] += 1
            self._peak[key] = max(self._peak[key], self._in_flight[key])
        try:
            return await handler(request)
        finally:
            for key in ("*", host):
                self._in_flight[key] -= 1


def _validators(headers: Mapping[str, str]) -> dict[str, str]:
    return {k: v for k, v in headers.items() if k in ("ETag", "Last-Modified", "Cache-Control")}


@functools.lru_cache(maxsize=4)
def _gzip_zeros(size: int) -> bytes:
    """gzip of ``size`` zero bytes, built a megabyte at a time (never holds the inflated form)."""
    comp = zlib.compressobj(9, zlib.DEFLATED, 16 + zlib.MAX_WBITS)
    block = bytes(1024 * 1024)
    parts = []
    left = size
    while left > 0:
        n = min(left, len(block))
        parts.append(comp.compress(block[:n]))
        left -= n
    parts.append(comp.flush())
    return b"".join(parts)


class StaticResolver(AbstractResolver):
    """DNS for tests: fixed names -> addresses; any other name fails to resolve.

    Pass it as ``resolver=`` to ``Fetcher.make_session``/``Fetcher.open``; the
    private-network guard still judges the addresses it returns.
    """

    def __init__(self, mapping: Mapping[str, str | list[str]]) -> None:
        self._mapping = {
            k.lower(): [v] if isinstance(v, str) else list(v) for k, v in mapping.items()
        }

    @classmethod
    def loopback(cls, *names: str) -> StaticResolver:
        return cls({name: "127.0.0.1" for name in names})

    async def resolve(
        self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_INET
    ) -> list[ResolveResult]:
        addresses = self._mapping.get(host.lower().rstrip("."))
        if not addresses:
            raise OSError(f"test resolver has no address for {host}")
        return [
            ResolveResult(
                hostname=host,
                host=addr,
                port=port,
                family=socket.AF_INET6 if ":" in addr else socket.AF_INET,
                proto=0,
                flags=socket.AI_NUMERICHOST,
            )
            for addr in addresses
        ]

    async def close(self) -> None:
        return None
