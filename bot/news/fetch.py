"""HTTP fetching of feeds: conditional GET, size and time limits, redirects, the guard.

One :class:`Fetcher` wraps one ``aiohttp.ClientSession`` for the life of the
process. Build the session with :meth:`Fetcher.make_session` so connections go
through the private-network guard (:mod:`bot.news.netguard`), or use
:meth:`Fetcher.open` which also closes it. Every failure is raised as a
:class:`~bot.news.errors.FetchError` whose message is a sentence a user can read.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime
from http import HTTPStatus

import aiohttp
from aiohttp.abc import AbstractResolver
from multidict import CIMultiDictProxy
from yarl import URL

from bot import __version__
from bot.news.errors import (
    FetchError,
    FetchTimeoutError,
    HTTPStatusError,
    InvalidURLError,
    TooLargeError,
    TooManyRedirectsError,
)
from bot.news.models import FetchResult
from bot.news.netguard import AddressPolicy, AddressRefusedError, GuardedResolver

USER_AGENT = f"briefbot/{__version__} (+https://github.com/briefbot/briefbot)"

#: what a feed reader asks for: feed types first, generic XML/JSON next, anything last
FEED_ACCEPT = (
    "application/rss+xml, application/atom+xml, application/feed+json, "
    "application/rdf+xml;q=0.9, application/xml;q=0.9, text/xml;q=0.9, "
    "application/json;q=0.8, */*;q=0.5"
)

_REDIRECTS = frozenset({301, 302, 303, 307, 308})
_PERMANENT = frozenset({301, 308})
_BACK_OFF_STATUSES = frozenset({429, 503})
_CHUNK = 64 * 1024


@dataclass(frozen=True)
class FetchSettings:
    timeout_s: float = 20.0  # per HTTP request, connect to last byte: stops drip-feeders
    connect_timeout_s: float = 10.0
    max_bytes: int = 10 * 1024 * 1024  # after decompression, enforced while reading
    #: new stories taken from one source per poll (applied by the poller, see config)
    max_new_per_poll: int = 50
    concurrency: int = 16
    per_host_concurrency: int = 2
    user_agent: str = USER_AGENT
    allow_private_networks: bool = False
    allowed_hosts: tuple[str, ...] = ()
    max_redirects: int = 5


@dataclass(frozen=True)
class _Hop:
    """One response on the way to the final one."""

    status: int
    headers: dict[str, str]
    body: bytes
    reason: str


class Fetcher:
    """Fetches feed URLs politely and safely; one instance per process.

    Concurrency is limited globally and per host (a feed host sees at most
    ``per_host_concurrency`` requests from us at a time), redirects are followed
    by hand so the guard and the limits apply to every hop.
    """

    def __init__(self, session: aiohttp.ClientSession, settings: FetchSettings) -> None:
        self._session = session
        self._settings = settings
        self._policy = AddressPolicy.of(settings.allow_private_networks, settings.allowed_hosts)
        self._global = asyncio.Semaphore(settings.concurrency)
        self._per_host: dict[str, asyncio.Semaphore] = {}

    @property
    def settings(self) -> FetchSettings:
        """The limits this fetcher was built with (the poller reads max_new_per_poll)."""
        return self._settings

    @staticmethod
    def make_session(
        settings: FetchSettings, *, resolver: AbstractResolver | None = None
    ) -> aiohttp.ClientSession:
        """A session whose connector resolves through the guard; call inside the event loop.

        ``resolver`` replaces DNS underneath the guard (tests map names to
        loopback or private addresses with it).
        """
        policy = AddressPolicy.of(settings.allow_private_networks, settings.allowed_hosts)
        # force_close: a poll asks each host for a feed or two, then not again for many
        # minutes, so kept-alive connections only pile up (one per host) and are closed
        # together when they expire: hundreds of socket closes in one event-loop callback,
        # each waiting for the GIL while enrichment runs in a thread (a 3 s stall at 1000
        # sources, see bench/README.md). Closed after each response, they spread out.
        connector = aiohttp.TCPConnector(
            resolver=GuardedResolver(policy, resolver),
            limit=settings.concurrency,
            limit_per_host=settings.per_host_concurrency,
            force_close=True,
        )
        # trust_env stays off: a proxy would resolve the target host itself, past the guard.
        return aiohttp.ClientSession(
            connector=connector,
            headers={"User-Agent": settings.user_agent},
            trust_env=False,
        )

    @classmethod
    @asynccontextmanager
    async def open(
        cls, settings: FetchSettings, *, resolver: AbstractResolver | None = None
    ) -> AsyncIterator[Fetcher]:
        """A fetcher with its own guarded session, closed on exit."""
        session = cls.make_session(settings, resolver=resolver)
        try:
            yield cls(session, settings)
        finally:
            await session.close()

    async def fetch(
        self,
        url: str,
        *,
        etag: str | None = None,
        last_modified: str | None = None,
        accept: str = FEED_ACCEPT,
    ) -> FetchResult:
        """GET ``url``; 200 with the body, or 304 when the validators still match.

        Raises a :class:`FetchError` subclass for anything else: the guard,
        size, time and redirect limits, and HTTP error statuses (429/503 carry
        ``retry_after``).
        """
        headers = {"Accept": accept, "Accept-Encoding": "gzip, deflate"}
        if etag:
            headers["If-None-Match"] = etag
        if last_modified:
            headers["If-Modified-Since"] = last_modified

        current = _parse_url(url)
        seen = {str(current)}
        all_permanent = True
        looped = False
        for hops in range(self._settings.max_redirects + 1):
            # Sentences name the URL as the user wrote it, later hops as redirected.
            hop = await self._request(current, headers, url if hops == 0 else str(current))
            if hop.status not in _REDIRECTS:
                return self._result(current, hop, moved=hops > 0 and all_permanent)
            location = hop.headers.get("location")
            if not location:
                raise HTTPStatusError(
                    hop.status, f"HTTP {hop.status} {hop.reason} without a Location to follow"
                )
            all_permanent = all_permanent and hop.status in _PERMANENT
            try:
                current = _parse_url(str(current.join(URL(location))))
            except ValueError as exc:
                raise InvalidURLError(f"redirected to an unusable URL: {location!r}") from exc
            # A revisit is not refused at once: a cookie-setting detour legitimately
            # comes back to the URL it left. The hop limit ends real loops.
            looped = looped or str(current) in seen
            seen.add(str(current))
        what = "a redirect loop" if looped else "too many redirects"
        raise TooManyRedirectsError(
            f"{what} fetching {url} (gave up after {self._settings.max_redirects} redirects)"
        )

    def _result(self, url: URL, hop: _Hop, *, moved: bool) -> FetchResult:
        if hop.status >= 300 and hop.status != 304:  # an error, or a 3xx we cannot follow
            raise _status_error(hop)
        return FetchResult(
            url=str(url),
            status=hop.status,
            body=b"" if hop.status == 304 else hop.body,
            headers=hop.headers,
            etag=hop.headers.get("etag"),
            last_modified=hop.headers.get("last-modified"),
            permanent_url=str(url) if moved else None,
            max_age=parse_max_age(hop.headers.get("cache-control")),
            retry_after=parse_retry_after(hop.headers.get("retry-after")),
        )

    async def _request(self, url: URL, headers: Mapping[str, str], shown: str) -> _Hop:
        """One HTTP exchange, under the concurrency limits and the total timeout."""
        # raw_host: the name as sent (punycode for an international one); decoding it to
        # Unicode (url.host) cost 0.13 ms a source, a sixth of an all-304 poll's CPU
        host = (url.raw_host or "").lower()
        try:
            self._policy.check_literal_host(host)
        except AddressRefusedError as exc:
            raise exc.for_url(shown) from None
        timeout = aiohttp.ClientTimeout(total=None, sock_connect=self._settings.connect_timeout_s)
        async with self._global, self._host_semaphore(host):
            try:
                async with asyncio.timeout(self._settings.timeout_s):
                    async with self._session.get(
                        url, headers=headers, allow_redirects=False, timeout=timeout
                    ) as resp:
                        body = b"" if resp.status in _REDIRECTS else await self._read(resp, url)
                        return _Hop(
                            resp.status, _lower_headers(resp.headers), body, resp.reason or ""
                        )
            except AddressRefusedError as exc:
                raise exc.for_url(shown) from None
            except FetchError:
                raise
            except TimeoutError as exc:
                raise FetchTimeoutError(self._timeout_sentence(url, exc)) from None
            except aiohttp.ClientError as exc:
                raise FetchError(_connection_sentence(url, exc)) from None
            except OSError as exc:
                raise FetchError(f"could not fetch {url}: {exc.strerror or exc}") from None

    async def _read(self, resp: aiohttp.ClientResponse, url: URL) -> bytes:
        """The decompressed body, abandoned as soon as it passes ``max_bytes``."""
        cap = self._settings.max_bytes
        declared = resp.content_length
        if declared is not None and declared > cap and "content-encoding" not in resp.headers:
            raise TooLargeError(_too_large(url, cap))
        parts: list[bytes] = []
        total = 0
        async for chunk in resp.content.iter_chunked(_CHUNK):
            total += len(chunk)
            if total > cap:
                raise TooLargeError(_too_large(url, cap))
            parts.append(chunk)
        return b"".join(parts)

    def _host_semaphore(self, host: str) -> asyncio.Semaphore:
        sem = self._per_host.get(host)
        if sem is None:
            sem = self._per_host[host] = asyncio.Semaphore(self._settings.per_host_concurrency)
        return sem

    def _timeout_sentence(self, url: URL, exc: TimeoutError) -> str:
        if isinstance(exc, aiohttp.ConnectionTimeoutError):
            return (
                f"timed out connecting to {url.host} "
                f"(no answer within {self._settings.connect_timeout_s:g} seconds)"
            )
        return (
            f"timed out fetching {url}: the server did not finish answering "
            f"within {self._settings.timeout_s:g} seconds"
        )


# --------------------------------------------------------------------------- helpers


def _parse_url(url: str) -> URL:
    try:
        parsed = URL(url.strip())
    except (ValueError, TypeError) as exc:
        raise InvalidURLError(f"not a valid URL: {url!r}") from exc
    if parsed.scheme not in ("http", "https"):
        raise InvalidURLError(f"only http and https URLs can be fetched, not {url!r}")
    if not parsed.raw_host:
        raise InvalidURLError(f"the URL {url!r} has no host name")
    return parsed.with_fragment(None)


def _lower_headers(headers: CIMultiDictProxy[str]) -> dict[str, str]:
    """Header keys lower-cased; a repeated header's values joined as HTTP allows."""
    out: dict[str, str] = {}
    for key, value in headers.items():
        k = key.lower()
        out[k] = f"{out[k]}, {value}" if k in out else value
    return out


def _too_large(url: URL, cap: int) -> str:
    return f"the response from {url} is larger than the {_size(cap)} limit (fetch.max_bytes)"


def _size(n: int) -> str:
    if n >= 1024 * 1024:
        return f"{n / (1024 * 1024):g} MiB"
    if n >= 1024:
        return f"{n / 1024:g} KiB"
    return f"{n} bytes"


def _status_error(hop: _Hop) -> HTTPStatusError:
    try:
        phrase = HTTPStatus(hop.status).phrase
    except ValueError:
        phrase = hop.reason or "error"
    message = f"HTTP {hop.status} {phrase}"
    retry_after = None
    if hop.status in _BACK_OFF_STATUSES:
        retry_after = parse_retry_after(hop.headers.get("retry-after"))
        if retry_after is not None:
            message += f"; the server asked us to wait {_duration(retry_after)}"
    return HTTPStatusError(hop.status, message, retry_after=retry_after)


def _duration(delta: timedelta) -> str:
    seconds = int(delta.total_seconds())
    if seconds < 120:
        return f"{seconds} seconds"
    if seconds < 7200:
        return f"{seconds // 60} minutes"
    return f"{seconds // 3600} hours"


def _connection_sentence(url: URL, exc: aiohttp.ClientError) -> str:
    if isinstance(exc, aiohttp.ClientConnectorCertificateError):
        return f"could not fetch {url}: its TLS certificate was not accepted"
    if isinstance(exc, aiohttp.ClientConnectorDNSError):
        return f"could not fetch {url}: the host name {url.host} could not be resolved"
    if isinstance(exc, aiohttp.ClientConnectorError):
        detail = exc.os_error.strerror or str(exc.os_error)
        return f"could not connect to {url.host}:{url.port}: {detail.lower()}"
    if isinstance(exc, aiohttp.ServerDisconnectedError):
        return f"could not fetch {url}: the server closed the connection without answering"
    if isinstance(exc, aiohttp.ClientPayloadError):
        return f"could not fetch {url}: the response body was cut short or badly encoded"
    if isinstance(exc, aiohttp.ClientResponseError):
        return f"could not fetch {url}: the server sent a malformed response"
    return f"could not fetch {url}: {exc.__class__.__name__}"


_MAX_AGE = re.compile(r"(?:^|[,\s])max-age\s*=\s*\"?(\d+)", re.IGNORECASE)


def parse_max_age(cache_control: str | None) -> timedelta | None:
    """``max-age`` of a Cache-Control header (``s-maxage`` is for shared caches, not us)."""
    if not cache_control:
        return None
    match = _MAX_AGE.search(cache_control)
    return timedelta(seconds=int(match.group(1))) if match else None


def parse_retry_after(value: str | None, now: datetime | None = None) -> timedelta | None:
    """Retry-After as a wait: delta-seconds or an HTTP-date (a past date means no wait)."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return timedelta(seconds=int(value))
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    wait = when - (now or datetime.now(UTC))
    return max(wait, timedelta(0))
