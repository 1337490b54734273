"""The private-network guard refuses internal addresses at once, on every hop."""

from __future__ import annotations

import ipaddress
import time

import pytest

from bot.news.errors import BlockedAddressError, FetchError
from bot.news.fetch import Fetcher, FetchSettings
from bot.news.netguard import AddressPolicy, GuardedResolver, refusal_reason
from tests.feedserver import FeedServer, StaticResolver

RSS = b"<rss version='2.0'><channel><title>t</title></channel></rss>"
HINT = "(set fetch.allow_private_networks or fetch.allowed_hosts to allow it)"


@pytest.mark.parametrize(
    ("address", "reason"),
    [
        ("127.0.0.1", "a loopback address"),
        ("10.0.0.1", "a private network address"),
        ("172.16.5.4", "a private network address"),
        ("192.168.1.1", "a private network address"),
        ("169.254.169.254", "a link-local address"),
        ("100.64.0.1", "a carrier-grade NAT address"),
        ("0.0.0.0", "an unspecified address"),
        ("224.0.0.1", "a multicast address"),
        ("240.0.0.1", "a reserved address"),
        ("192.0.2.1", "a private network address"),  # TEST-NET-1, documentation only
        ("::1", "a loopback address"),
        ("::", "an unspecified address"),
        ("fe80::1", "a link-local address"),
        ("fc00::1", "a private network address"),
        ("ff02::1", "a multicast address"),
        ("fec0::1", "a site-local address"),
        ("::ffff:10.0.0.1", "a private network address"),
        ("::ffff:127.0.0.1", "a loopback address"),
        ("2002:a00:1::", "a private network address"),  # 6to4 wrapping 10.0.0.1
        ("64:ff9b::a9fe:a9fe", "a link-local address"),  # NAT64 wrapping 169.254.169.254
    ],
)
def test_non_global_addresses_are_refused(address: str, reason: str) -> None:
    assert refusal_reason(ipaddress.ip_address(address)) == reason


@pytest.mark.parametrize(
    "address", ["93.184.216.34", "1.1.1.1", "2606:4700:4700::1111", "::ffff:8.8.8.8"]
)
def test_global_addresses_pass(address: str) -> None:
    assert refusal_reason(ipaddress.ip_address(address)) is None


async def test_resolver_keeps_public_addresses_of_a_mixed_host() -> None:
    inner = StaticResolver({"mixed.test": ["10.0.0.1", "93.184.216.34"]})
    results = await GuardedResolver(AddressPolicy(), inner).resolve("mixed.test", 80)
    assert [r["host"] for r in results] == ["93.184.216.34"]


async def fetch_refused(url: str, settings: FetchSettings, resolver=None) -> BlockedAddressError:
    """Fetch ``url`` expecting a refusal; it must come at once, not as a timeout."""
    start = time.monotonic()
    async with Fetcher.open(settings, resolver=resolver) as fetcher:
        with pytest.raises(BlockedAddressError) as info:
            await fetcher.fetch(url)
    assert time.monotonic() - start < 1.0
    return info.value


async def test_loopback_feed_server_is_refused_by_default(feed_server: FeedServer) -> None:
    feed_server.add("/feed.xml", RSS)
    url = feed_server.url("/feed.xml")
    error = await fetch_refused(url, FetchSettings())
    assert str(error) == f"refused to fetch {url}: 127.0.0.1 is a loopback address {HINT}"
    assert feed_server.requests == []


async def test_localhost_by_name_is_refused_after_real_resolution(
    feed_server: FeedServer,
) -> None:
    feed_server.add("/feed.xml", RSS)
    error = await fetch_refused(feed_server.url("/feed.xml", host="localhost"), FetchSettings())
    assert "it resolves to" in str(error)
    assert "a loopback address" in str(error)
    assert feed_server.requests == []


@pytest.mark.parametrize(
    "url",
    [
        "http://[::ffff:10.0.0.1]/feed",
        "http://169.254.169.254/latest/meta-data/",
        "http://100.64.0.1/feed",
        "http://[::1]/feed",
        "http://0.0.0.0/feed",
        "http://224.0.0.1/feed",
        "http://10.1.2.3:8080/feed",
    ],
)
async def test_literal_internal_addresses_are_refused(url: str) -> None:
    error = await fetch_refused(url, FetchSettings())
    assert str(error).startswith(f"refused to fetch {url}: ")
    assert str(error).endswith(HINT)


@pytest.mark.parametrize("host", ["2130706433", "127.1"])
async def test_legacy_numeric_forms_of_loopback_do_not_get_through(
    feed_server: FeedServer, host: str
) -> None:
    feed_server.add("/feed.xml", RSS)
    async with Fetcher.open(FetchSettings()) as fetcher:
        with pytest.raises(FetchError):
            await fetcher.fetch(feed_server.url("/feed.xml", host=host))
    assert feed_server.requests == []


@pytest.mark.parametrize(
    ("address", "reason"),
    [("10.0.0.1", "a private network address"), ("127.0.0.1", "a loopback address")],
)
async def test_host_name_resolving_to_an_internal_address_is_refused(
    feed_server: FeedServer, address: str, reason: str
) -> None:
    resolver = StaticResolver({"evil.test": address})
    url = f"http://evil.test:{feed_server.port}/"
    error = await fetch_refused(url, FetchSettings(), resolver)
    assert str(error) == f"refused to fetch {url}: it resolves to {address}, {reason} {HINT}"
    assert feed_server.requests == []


async def test_exact_sentence_for_a_private_resolution() -> None:
    resolver = StaticResolver({"x": "10.0.0.1"})
    error = await fetch_refused("http://x/", FetchSettings(), resolver)
    assert str(error) == (
        "refused to fetch http://x/: it resolves to 10.0.0.1, a private network address "
        "(set fetch.allow_private_networks or fetch.allowed_hosts to allow it)"
    )


async def test_redirect_from_an_allowed_host_to_loopback_is_refused(
    feed_server: FeedServer,
) -> None:
    feed_server.add("/secret", b"internal")
    feed_server.add_redirect("/start", feed_server.url("/secret"))
    settings = FetchSettings(allowed_hosts=("feeds.test",))
    url = feed_server.url("/start", host="feeds.test")
    error = await fetch_refused(url, settings, StaticResolver.loopback("feeds.test"))
    assert feed_server.url("/secret") in str(error)
    assert feed_server.hits("/start") == 1
    assert feed_server.hits("/secret") == 0


async def test_redirect_to_a_name_resolving_privately_is_refused(feed_server: FeedServer) -> None:
    feed_server.add_redirect("/start", "http://evil.test/secret")
    resolver = StaticResolver({"evil.test": "192.168.0.10"})
    error = await fetch_refused(
        feed_server.url("/start"), FetchSettings(allowed_hosts=("127.0.0.1",)), resolver
    )
    assert "refused to fetch http://evil.test/secret: it resolves to 192.168.0.10" in str(error)


async def test_allow_private_networks_lets_everything_through(feed_server: FeedServer) -> None:
    feed_server.add("/feed.xml", RSS)
    settings = FetchSettings(allow_private_networks=True)
    async with Fetcher.open(settings, resolver=StaticResolver.loopback("feeds.test")) as fetcher:
        by_ip = await fetcher.fetch(feed_server.url("/feed.xml"))
        by_name = await fetcher.fetch(feed_server.url("/feed.xml", host="feeds.test"))
    assert by_ip.body == by_name.body == RSS


async def test_allowed_hosts_match_case_insensitively(feed_server: FeedServer) -> None:
    feed_server.add("/feed.xml", RSS)
    settings = FetchSettings(allowed_hosts=("Feeds.TEST",))
    async with Fetcher.open(settings, resolver=StaticResolver.loopback("feeds.test")) as fetcher:
        result = await fetcher.fetch(feed_server.url("/feed.xml", host="FEEDS.test"))
    assert result.body == RSS


async def test_allowed_hosts_is_an_exact_match(feed_server: FeedServer) -> None:
    settings = FetchSettings(allowed_hosts=("feeds.test",))
    resolver = StaticResolver.loopback("feeds.test", "other.feeds.test")
    await fetch_refused(feed_server.url("/", host="other.feeds.test"), settings, resolver)
