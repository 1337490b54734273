"""The fetcher against a loopback feed server: validators, limits, redirects, statuses."""

from __future__ import annotations

import asyncio
import os
import socket
import time
import tracemalloc
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

import aiohttp
import pytest
from aiohttp import web

from bot import __version__
from bot.news.errors import (
    FetchError,
    FetchTimeoutError,
    HTTPStatusError,
    InvalidURLError,
    TooLargeError,
    TooManyRedirectsError,
)
from bot.news.fetch import Fetcher, FetchSettings, parse_max_age, parse_retry_after
from tests.feedserver import FeedServer, StaticResolver

LOOPBACK = FetchSettings(allowed_hosts=("127.0.0.1",))
RSS = b"<rss version='2.0'><channel><title>t</title></channel></rss>"
LAST_MODIFIED = "Wed, 21 Oct 2015 07:28:00 GMT"


async def fetch(url: str, settings: FetchSettings = LOOPBACK, **kwargs: str):
    async with Fetcher.open(settings) as fetcher:
        return await fetcher.fetch(url, **kwargs)


# --------------------------------------------------------------------------- basics


async def test_ok_returns_body_validators_and_lower_cased_headers(feed_server: FeedServer) -> None:
    feed_server.add(
        "/feed.xml",
        RSS,
        etag='"v1"',
        last_modified=LAST_MODIFIED,
        headers={"Cache-Control": "public, max-age=900", "X-Custom": "yes"},
    )
    result = await fetch(feed_server.url("/feed.xml"))
    assert result.status == 200
    assert result.body == RSS
    assert result.url == feed_server.url("/feed.xml")
    assert result.etag == '"v1"'
    assert result.last_modified == LAST_MODIFIED
    assert result.max_age == timedelta(seconds=900)
    assert result.headers["x-custom"] == "yes"
    assert all(key == key.lower() for key in result.headers)
    assert result.permanent_url is None


async def test_etag_round_trip_gets_304_with_empty_body(feed_server: FeedServer) -> None:
    feed_server.add("/feed.xml", RSS, etag='"v1"')
    url = feed_server.url("/feed.xml")
    async with Fetcher.open(LOOPBACK) as fetcher:
        first = await fetcher.fetch(url)
        again = await fetcher.fetch(url, etag=first.etag)
    assert (first.status, again.status) == (200, 304)
    assert again.body == b""
    assert feed_server.headers_of("/feed.xml")[1]["if-none-match"] == '"v1"'


async def test_last_modified_round_trip_gets_304(feed_server: FeedServer) -> None:
    feed_server.add("/feed.xml", RSS, last_modified=LAST_MODIFIED)
    url = feed_server.url("/feed.xml")
    async with Fetcher.open(LOOPBACK) as fetcher:
        first = await fetcher.fetch(url)
        again = await fetcher.fetch(url, last_modified=first.last_modified)
    assert (first.status, again.status) == (200, 304)
    assert again.body == b""
    assert feed_server.headers_of("/feed.xml")[1]["if-modified-since"] == LAST_MODIFIED


async def test_stale_etag_gets_the_new_body(feed_server: FeedServer) -> None:
    feed_server.add("/feed.xml", RSS, etag='"v2"')
    result = await fetch(feed_server.url("/feed.xml"), etag='"v1"')
    assert (result.status, result.body, result.etag) == (200, RSS, '"v2"')


async def test_user_agent_names_briefbot_and_its_version(feed_server: FeedServer) -> None:
    feed_server.add("/feed.xml", RSS)
    await fetch(feed_server.url("/feed.xml"))
    agent = feed_server.requests[0].headers["user-agent"]
    assert agent.startswith(f"briefbot/{__version__} ")
    assert "application/rss+xml" in feed_server.requests[0].headers["accept"]


async def test_gzip_body_is_returned_decompressed(feed_server: FeedServer) -> None:
    feed_server.add("/feed.xml", RSS * 100, gzip_body=True)
    result = await fetch(feed_server.url("/feed.xml"))
    assert result.body == RSS * 100
    assert "gzip" in feed_server.requests[0].headers["accept-encoding"]


@pytest.mark.parametrize(
    "url", ["ftp://example.com/feed", "file:///etc/passwd", "no url", "http://"]
)
async def test_only_http_urls_are_fetched(url: str) -> None:
    with pytest.raises(InvalidURLError):
        await fetch(url)


# --------------------------------------------------------------------------- size cap


async def test_body_over_the_cap_is_refused(feed_server: FeedServer) -> None:
    feed_server.add("/big.xml", b"x" * 5000)
    feed_server.add("/fits.xml", b"x" * 1000)
    settings = FetchSettings(allowed_hosts=("127.0.0.1",), max_bytes=1000)
    with pytest.raises(TooLargeError, match="1000 bytes limit"):
        await fetch(feed_server.url("/big.xml"), settings)
    assert len((await fetch(feed_server.url("/fits.xml"), settings)).body) == 1000


async def test_chunked_body_without_length_is_cut_while_reading(feed_server: FeedServer) -> None:
    async def endless(request: web.Request) -> web.StreamResponse:
        resp = web.StreamResponse()
        await resp.prepare(request)
        try:
            for _ in range(10_000):  # 640 MB if nobody stopped reading
                await resp.write(b"y" * 65536)
        except ConnectionError:
            pass
        return resp

    feed_server.add_handler("/endless", endless)
    settings = FetchSettings(allowed_hosts=("127.0.0.1",), max_bytes=256 * 1024)
    start = time.monotonic()
    with pytest.raises(TooLargeError):
        await fetch(feed_server.url("/endless"), settings)
    assert time.monotonic() - start < 2


async def test_gzip_bomb_is_stopped_without_inflating_it(feed_server: FeedServer) -> None:
    wire = feed_server.add_gzip_bomb("/bomb.xml", size=64 * 1024 * 1024)
    assert wire < 1024 * 1024  # small on the wire, 64 MiB inflated
    settings = FetchSettings(allowed_hosts=("127.0.0.1",), max_bytes=1024 * 1024)
    tracemalloc.start()
    start = time.monotonic()
    try:
        with pytest.raises(TooLargeError, match="1 MiB limit"):
            await fetch(feed_server.url("/bomb.xml"), settings)
        elapsed = time.monotonic() - start
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert elapsed < 3
    assert peak < 16 * 1024 * 1024, f"peak {peak} bytes: the bomb was inflated"


# --------------------------------------------------------------------------- time limits


async def test_drip_feeding_server_is_cut_off_by_the_total_timeout(
    feed_server: FeedServer,
) -> None:
    feed_server.add_drip("/drip.xml", every=0.05)
    settings = FetchSettings(allowed_hosts=("127.0.0.1",), timeout_s=1.0)
    start = time.monotonic()
    with pytest.raises(FetchTimeoutError, match="did not finish answering within 1 seconds"):
        await fetch(feed_server.url("/drip.xml"), settings)
    assert 0.9 < time.monotonic() - start < 2.5


async def test_connection_refused_is_a_sentence_not_a_traceback() -> None:
    with socket.socket() as sock:  # a port that was free a moment ago, nobody listens now
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    with pytest.raises(FetchError, match=rf"could not connect to 127\.0\.0\.1:{port}") as info:
        await fetch(f"http://127.0.0.1:{port}/feed.xml")
    assert not isinstance(info.value, aiohttp.ClientError)


async def test_unknown_host_name_is_a_sentence() -> None:
    settings = FetchSettings(allowed_hosts=("nowhere.test",))
    async with Fetcher.open(settings, resolver=StaticResolver({})) as fetcher:
        with pytest.raises(FetchError, match=r"nowhere\.test could not be resolved"):
            await fetcher.fetch("http://nowhere.test/feed.xml")


# --------------------------------------------------------------------------- redirects


async def test_five_redirects_are_followed(feed_server: FeedServer) -> None:
    feed_server.add("/feed.xml", RSS)
    first = feed_server.add_redirect_chain("/r", 5, "/feed.xml", status=302)
    result = await fetch(feed_server.url(first))
    assert result.body == RSS
    assert result.url == feed_server.url("/feed.xml")


async def test_six_redirects_are_too_many(feed_server: FeedServer) -> None:
    feed_server.add("/feed.xml", RSS)
    first = feed_server.add_redirect_chain("/r", 6, "/feed.xml")
    with pytest.raises(TooManyRedirectsError, match="too many redirects"):
        await fetch(feed_server.url(first))
    assert feed_server.hits("/feed.xml") == 0


async def test_redirect_loop_is_reported_as_a_loop(feed_server: FeedServer) -> None:
    feed_server.add_redirect("/a", "/b")
    feed_server.add_redirect("/b", "/a")
    with pytest.raises(TooManyRedirectsError, match="redirect loop"):
        await fetch(feed_server.url("/a"))
    assert feed_server.hits("/a") + feed_server.hits("/b") == 6


@pytest.mark.parametrize("statuses", [(301,), (308,), (301, 308, 301)])
async def test_all_permanent_redirects_set_permanent_url(
    feed_server: FeedServer, statuses: tuple[int, ...]
) -> None:
    feed_server.add("/new.xml", RSS)
    first = feed_server.add_redirect_chain("/old", len(statuses), "/new.xml", status=statuses)
    result = await fetch(feed_server.url(first))
    assert result.permanent_url == feed_server.url("/new.xml")


@pytest.mark.parametrize("statuses", [(302,), (307,), (303,), (301, 302), (302, 301)])
async def test_a_temporary_hop_leaves_permanent_url_unset(
    feed_server: FeedServer, statuses: tuple[int, ...]
) -> None:
    feed_server.add("/new.xml", RSS)
    first = feed_server.add_redirect_chain("/old", len(statuses), "/new.xml", status=statuses)
    result = await fetch(feed_server.url(first))
    assert result.body == RSS
    assert result.permanent_url is None


async def test_relative_location_is_resolved_against_the_current_url(
    feed_server: FeedServer,
) -> None:
    feed_server.add("/feeds/new/main.xml", RSS)
    feed_server.add_redirect("/feeds/old/main.xml", "../new/main.xml", status=301)
    result = await fetch(feed_server.url("/feeds/old/main.xml"))
    assert result.url == feed_server.url("/feeds/new/main.xml")
    assert result.body == RSS


async def test_redirect_to_another_host_is_followed(feed_server: FeedServer) -> None:
    feed_server.add("/feed.xml", RSS)
    feed_server.add_redirect("/moved", feed_server.url("/feed.xml", host="b.test"))
    settings = FetchSettings(allowed_hosts=("a.test", "b.test"))
    resolver = StaticResolver.loopback("a.test", "b.test")
    async with Fetcher.open(settings, resolver=resolver) as fetcher:
        result = await fetcher.fetch(feed_server.url("/moved", host="a.test"))
    assert result.body == RSS
    assert [r.host for r in feed_server.requests] == ["a.test", "b.test"]


async def test_international_host_name_is_fetched_under_its_ascii_form(
    feed_server: FeedServer,
) -> None:
    feed_server.add("/feed.xml", RSS)
    ascii_name = "xn--bcher-kva.test"  # bücher.test
    url = feed_server.url("/feed.xml", host=ascii_name).replace(ascii_name, "bücher.test")
    settings = FetchSettings(allowed_hosts=(ascii_name,))
    async with Fetcher.open(settings, resolver=StaticResolver.loopback(ascii_name)) as fetcher:
        result = await fetcher.fetch(url)
    assert result.body == RSS
    assert [r.host for r in feed_server.requests] == [ascii_name]


@pytest.mark.skipif(not os.path.isdir("/proc/self/fd"), reason="counts sockets in /proc (Linux)")
async def test_no_connection_is_kept_open_per_host_after_its_feed_is_read(
    feed_server: FeedServer,
) -> None:
    # A poll reads each host once every few minutes; idle kept-alive sockets would pile up
    # (one per host) and close together later, stalling the event loop (bench/README.md).
    feed_server.add("/feed.xml", RSS)
    hosts = [f"h{i}.test" for i in range(20)]
    settings = FetchSettings(allowed_hosts=tuple(hosts))

    def open_sockets() -> int:
        count = 0
        for fd in os.listdir("/proc/self/fd"):
            try:
                count += os.readlink(f"/proc/self/fd/{fd}").startswith("socket:")
            except OSError:  # closed while we looked
                pass
        return count

    async with Fetcher.open(settings, resolver=StaticResolver.loopback(*hosts)) as fetcher:
        before = open_sockets()
        for host in hosts:
            assert (await fetcher.fetch(feed_server.url("/feed.xml", host=host))).body == RSS
        await asyncio.sleep(0.05)
        assert open_sockets() - before < 5  # not one per host read


async def test_redirect_to_a_non_http_scheme_is_refused(feed_server: FeedServer) -> None:
    feed_server.add_redirect("/feed.xml", "file:///etc/passwd")
    with pytest.raises(InvalidURLError):
        await fetch(feed_server.url("/feed.xml"))


# --------------------------------------------------------------------------- statuses


async def test_429_carries_retry_after_seconds(feed_server: FeedServer) -> None:
    feed_server.add_status("/feed.xml", 429, retry_after="120")
    with pytest.raises(HTTPStatusError, match="HTTP 429 Too Many Requests") as info:
        await fetch(feed_server.url("/feed.xml"))
    assert info.value.status == 429
    assert info.value.retry_after == timedelta(seconds=120)


async def test_503_carries_retry_after_http_date(feed_server: FeedServer) -> None:
    when = datetime.now(UTC) + timedelta(hours=1)
    feed_server.add_status("/feed.xml", 503, retry_after=format_datetime(when, usegmt=True))
    with pytest.raises(HTTPStatusError, match="HTTP 503 Service Unavailable") as info:
        await fetch(feed_server.url("/feed.xml"))
    assert info.value.retry_after is not None
    assert timedelta(minutes=59) < info.value.retry_after <= timedelta(hours=1)


@pytest.mark.parametrize(
    ("status", "sentence"),
    [(500, "HTTP 500 Internal Server Error"), (404, "HTTP 404 Not Found"), (410, "HTTP 410 Gone")],
)
async def test_error_status_is_a_sentence(
    feed_server: FeedServer, status: int, sentence: str
) -> None:
    feed_server.add_status("/feed.xml", status, retry_after="60")
    with pytest.raises(HTTPStatusError) as info:
        await fetch(feed_server.url("/feed.xml"))
    assert str(info.value) == sentence
    assert info.value.status == status
    assert info.value.retry_after is None  # only 429/503 ask us to wait


def test_header_parsers() -> None:
    now = datetime(2024, 1, 1, 12, 0, tzinfo=UTC)
    assert parse_retry_after("30", now) == timedelta(seconds=30)
    assert parse_retry_after("Mon, 01 Jan 2024 12:05:00 GMT", now) == timedelta(minutes=5)
    assert parse_retry_after("Mon, 01 Jan 2024 11:00:00 GMT", now) == timedelta(0)
    assert parse_retry_after("soon", now) is None
    assert parse_max_age("no-cache, max-age=60") == timedelta(seconds=60)
    assert parse_max_age("s-maxage=60") is None
    assert parse_max_age(None) is None


# --------------------------------------------------------------------------- concurrency


async def test_per_host_limit_holds_with_a_plain_session(feed_server: FeedServer) -> None:
    feed_server.add("/slow.xml", RSS, delay=0.15)
    settings = FetchSettings(allowed_hosts=("127.0.0.1",), per_host_concurrency=2)
    async with aiohttp.ClientSession() as session:  # no connector limits: the fetcher must limit
        fetcher = Fetcher(session, settings)
        results = await asyncio.gather(
            *(fetcher.fetch(feed_server.url("/slow.xml")) for _ in range(6))
        )
    assert all(r.body == RSS for r in results)
    assert feed_server.peak_concurrency() == 2


async def test_global_limit_holds_across_hosts(feed_server: FeedServer) -> None:
    feed_server.add("/slow.xml", RSS, delay=0.15)
    hosts = ("a.test", "b.test", "c.test")
    settings = FetchSettings(allowed_hosts=hosts, concurrency=3, per_host_concurrency=2)
    connector = aiohttp.TCPConnector(resolver=StaticResolver.loopback(*hosts), limit=0)
    async with aiohttp.ClientSession(connector=connector) as session:
        fetcher = Fetcher(session, settings)
        await asyncio.gather(
            *(fetcher.fetch(feed_server.url("/slow.xml", host=h)) for h in hosts * 3)
        )
    assert feed_server.peak_concurrency() == 3
    assert max(feed_server.peak_concurrency(h) for h in hosts) <= 2
