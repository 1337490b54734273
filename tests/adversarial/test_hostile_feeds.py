"""Hostile feeds served from loopback: each ends in a clear sentence or in safe, bounded output.

The bot must hold up under what admins' URLs and strangers' feed text allow: bombs and
floods are refused or capped in bounded time, the private-network guard holds on every
hop and at connect time, and a broken source never stops the bot serving the next one.
"""

from __future__ import annotations

import asyncio
import re
import time
from datetime import timedelta

import pytest
from aiohttp import web

from bot.news.errors import FetchError, NewsError, ParseError
from bot.news.fetch import Fetcher, FetchSettings
from tests.adversarial.conftest import assert_within_discord_limits, channel_payloads, payload_text
from tests.feedserver import FeedServer, StaticResolver
from tests.news.feeds import Item, item, rss


async def _refused(service, url: str, kind: type[Exception] = NewsError) -> str:
    """add_source must raise ``kind`` with a sentence; returns it."""
    with pytest.raises(kind) as caught:
        await service.add_source(url)
    message = str(caught.value)
    assert len(re.findall(r"[A-Za-z]{2,}", message)) >= 4, message
    return message


async def _still_serving(service, feed_server: FeedServer) -> None:
    """After a hostile source, a plain one is still added and read."""
    feed_server.add("/healthy.xml", rss([item(1), item(2)], title="Healthy"))
    added = await service.add_source(feed_server.url("/healthy.xml"))
    assert added.report.ok == 1 and added.source.story_count == 2


# ------------------------------------------------------------------ bombs and floods


async def test_xml_entity_expansion_bomb_is_bounded(service, feed_server) -> None:
    lol = '<!ENTITY lol0 "lollollollollollollollollollol">' + "".join(
        f'<!ENTITY lol{n} "{f"&lol{n - 1};" * 10}">' for n in range(1, 10)
    )
    body = (
        f'<?xml version="1.0"?><!DOCTYPE rss [{lol}]><rss version="2.0"><channel><title>B</title>'
        "<item><title>&lol9;</title><link>https://bomb.example/1</link></item></channel></rss>"
    )
    feed_server.add("/bomb.xml", body)
    started = time.monotonic()
    try:
        await service.add_source(feed_server.url("/bomb.xml"))
    except ParseError as exc:
        assert "feed" in str(exc)
    assert time.monotonic() - started < 10
    for story in await service.stories(since=timedelta(days=3650), limit=10):
        assert len(story.title) < 10_000  # 10^9 "lol"s were never expanded
    await _still_serving(service, feed_server)


async def test_gzip_bomb_is_cut_off_at_max_bytes(service, feed_server) -> None:
    wire = feed_server.add_gzip_bomb("/gz.xml", size=64 * 1024 * 1024)
    assert wire < 200_000
    started = time.monotonic()
    message = await _refused(service, feed_server.url("/gz.xml"), FetchError)
    assert "larger than the 10 MiB limit (fetch.max_bytes)" in message
    assert time.monotonic() - started < 10
    await _still_serving(service, feed_server)


async def test_a_50_mb_body_is_refused_with_the_limit_named(service, feed_server) -> None:
    feed_server.add("/big.xml", b"<rss>" + b" " * (50 * 1024 * 1024))
    message = await _refused(service, feed_server.url("/big.xml"), FetchError)
    assert "larger than the 10 MiB limit" in message


async def test_a_50_mb_chunked_body_is_cut_off_while_reading(service, feed_server) -> None:
    """No Content-Length to refuse up front: the reader stops at the cap."""

    async def chunked(request: web.Request) -> web.StreamResponse:
        resp = web.StreamResponse(headers={"Content-Type": "application/rss+xml"})
        resp.enable_chunked_encoding()
        await resp.prepare(request)
        try:
            for _ in range(50):
                await resp.write(b" " * (1024 * 1024))
        except ConnectionError:
            pass
        return resp

    feed_server.add_handler("/chunked.xml", chunked)
    message = await _refused(service, feed_server.url("/chunked.xml"), FetchError)
    assert "larger than the 10 MiB limit" in message


async def test_a_100000_entry_feed_is_read_in_bounded_time_and_capped(
    service, feed_server, clock
) -> None:
    entries = "".join(
        f"<item><title>E{n}</title><link>https://f.example/{n}</link></item>"
        for n in range(100_000)
    )
    body = (
        '<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel><title>Flood</title>'
        f"<link>https://f.example/</link>{entries}</channel></rss>"
    )
    feed_server.add("/flood.xml", body)
    started = time.monotonic()
    added = await service.add_source(feed_server.url("/flood.xml"))
    elapsed = time.monotonic() - started
    assert elapsed < 40, elapsed
    assert added.report.warnings
    assert "100000 new stories at once" in added.report.warnings[0][1]
    assert "fetch.max_new_per_poll" in added.report.warnings[0][1]


async def test_a_server_that_drips_is_cut_off_by_the_timeout(service, feed_server) -> None:
    feed_server.add_drip("/drip.xml", every=1.0, chunk=b"<")
    started = time.monotonic()
    message = await _refused(service, feed_server.url("/drip.xml"), FetchError)
    assert "timed out" in message and "2 seconds" in message
    assert time.monotonic() - started < 6


async def test_a_redirect_loop_is_named(service, feed_server) -> None:
    feed_server.add_redirect("/a.xml", "/b.xml")
    feed_server.add_redirect("/b.xml", "/a.xml")
    message = await _refused(service, feed_server.url("/a.xml"), FetchError)
    assert "a redirect loop" in message


# ------------------------------------------------------------------ the private-network guard


@pytest.mark.parametrize(
    "target",
    ["127.0.0.1", "169.254.169.254", "[::1]", "10.0.0.1"],
    ids=["loopback", "metadata", "ipv6-loopback", "private"],
)
async def test_a_redirect_from_a_public_host_to_a_private_address_is_refused(
    feed_server, target: str
) -> None:
    """public.test resolves to loopback only for the test (it is allowed by name); its
    redirect to a literal private address must be refused before any connection."""
    settings = FetchSettings(allowed_hosts=("public.test",), timeout_s=2, connect_timeout_s=1)
    port = feed_server.port if target == "127.0.0.1" else 80
    feed_server.add_redirect("/go.xml", f"http://{target}:{port}/secret.xml")
    feed_server.add("/secret.xml", rss([item(1)]))
    async with Fetcher.open(settings, resolver=StaticResolver.loopback("public.test")) as fetcher:
        with pytest.raises(FetchError) as caught:
            await fetcher.fetch(feed_server.url("/go.xml", host="public.test"))
    message = str(caught.value)
    assert "address" in message and "fetch.allow_private_networks" in message
    assert feed_server.hits("/secret.xml") == 0


class _Rebinding(StaticResolver):
    """DNS that answers a public address first and a private one on the next lookup."""

    def __init__(self) -> None:
        super().__init__({})
        self.lookups = 0

    async def resolve(self, host, port=0, family=0):  # type: ignore[no-untyped-def]
        self.lookups += 1
        answer = "192.0.2.10" if self.lookups == 1 else "127.0.0.1"
        return await StaticResolver({host: answer}).resolve(host, port, family)


async def test_dns_that_answers_a_private_address_later_is_refused_at_connect(
    feed_server,
) -> None:
    resolver = _Rebinding()
    feed_server.add("/feed.xml", rss([item(1)]))
    settings = FetchSettings(timeout_s=2, connect_timeout_s=0.5)
    url = feed_server.url("/feed.xml", host="rebind.test")
    async with Fetcher.open(settings, resolver=resolver) as fetcher:
        errors = []
        for _ in range(2):
            with pytest.raises(FetchError) as caught:
                await fetcher.fetch(url)
            errors.append(str(caught.value))
    assert resolver.lookups == 2
    assert "a loopback address" in errors[1] and "fetch.allowed_hosts" in errors[1]
    assert feed_server.hits("/feed.xml") == 0


# ------------------------------------------------------------------ encodings


async def test_invalid_utf8_and_a_wrong_declared_encoding_still_yield_stories(
    service, feed_server
) -> None:
    body = (
        b'<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel><title>Bytes</title>'
        b"<item><title>Caf\xe9 cr\xe8me \xff\xfe broken</title><link>https://bytes.example/1</link>"
        b"<description>Na\xefve text.</description></item></channel></rss>"
    )
    feed_server.add("/bytes.xml", body, content_type="application/rss+xml; charset=utf-8")
    feed_server.add(
        "/latin.xml",
        "<?xml version='1.0' encoding='iso-8859-1'?><rss version='2.0'><channel><title>L</title>"
        "<item><title>Fête de l’été</title><link>https://latin.example/1</link></item>"
        "</channel></rss>".encode(),
        content_type="text/xml; charset=iso-8859-1",
    )
    first = await service.add_source(feed_server.url("/bytes.xml"))
    second = await service.add_source(feed_server.url("/latin.xml"))
    assert first.source.story_count == 1 and second.source.story_count == 1
    titles = [s.title for s in await service.stories(since=timedelta(days=3650), limit=10)]
    assert any(t.startswith("Caf") for t in titles)
    assert any(t.startswith("F") and "te de l" in t for t in titles)


# ------------------------------------------------------------------ strangers' text


def _hostile_items() -> list[Item]:
    texts = {
        "bidi": "Invoice \u202egnp.exe\u202c and \u2066isolated\u2069 text \u200f",
        "zerowidth": "Zero\u200bwidth\u200c non\u200djoiner\u2060 and\ufeff BOM",
        "zalgo": "Z" + "\u0336\u0337\u0338\u0335\u0334" * 40 + "algo text here",
        "masked": "Click [totally safe](http://evil.example/steal) and [x](<http://evil.example>)",
        "pings": "@everyone @here <@123456789012345678> <@!1234> <@&987654321> <#55555> news",
        "invite": "Join discord.gg/evilserver and https://discord.com/invite/evil now",
    }
    out = []
    for n, (name, text) in enumerate(texts.items(), 1):
        out.append(
            item(
                n,
                title=f"{name}: {text}",
                description=f"<p>{text}. A second sentence about {name} follows here.</p>",
                link=f"https://strangers.example/{name}",
            )
        )
    out.append(item(20, title="javascript link", link="javascript:alert(document.cookie)"))
    out.append(item(21, title="data link", link="data:text/html;base64,PHNjcmlwdD4="))
    out.append(item(22, title="T" * (1024 * 1024), link="https://strangers.example/long"))
    return out


@pytest.fixture
async def hostile_payloads(service, feed_server, clock):
    feed_server.add("/strangers.xml", rss(_hostile_items(), title="@everyone [x](http://e.vil)"))
    await service.add_source(feed_server.url("/strangers.xml"), backfill=50)
    payloads = await channel_payloads(service, clock)
    assert payloads, "the hostile stories must still be delivered, made safe"
    return payloads


async def test_rendered_text_stays_within_discord_limits(hostile_payloads) -> None:
    assert_within_discord_limits(hostile_payloads)


async def test_no_mention_can_ping(hostile_payloads) -> None:
    text = payload_text(hostile_payloads)
    assert not re.search(r"@(everyone|here)", text)
    assert not re.search(r"<[@#][!&]?\d+>", text)


async def test_no_masked_link_from_feed_text(hostile_payloads) -> None:
    text = payload_text(hostile_payloads)
    assert "](http://evil" not in text.replace("\\]", "")  # any "](" left is escaped
    assert not re.search(r"(?<!\\)\]\((?:<)?http://evil", text)


async def test_no_javascript_or_data_links(hostile_payloads) -> None:
    text = payload_text(hostile_payloads).lower()
    assert "javascript:" not in text and "data:text" not in text


async def test_bidi_and_zero_width_controls_are_stripped(hostile_payloads) -> None:
    text = payload_text(hostile_payloads)
    for ch in "\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069\u200e\u200f":
        assert ch not in text, repr(ch)
    for joined in ("Zero\u200bwidth", "\u200c", "\u200d", "\u2060", "\ufeff"):
        assert joined not in text, repr(joined)


async def test_zalgo_is_bounded(hostile_payloads) -> None:
    text = payload_text(hostile_payloads)
    longest = max((len(m) for m in re.findall(r"[\u0300-\u036f]+", text)), default=0)
    assert longest <= 4


async def test_invite_links_from_feed_text_are_not_clickable(hostile_payloads) -> None:
    text = payload_text(hostile_payloads)
    assert "discord.gg/evilserver" not in text
    assert "discord.com/invite/evil" not in text


async def test_a_1_mb_title_is_cut_to_discord_limits(service, feed_server, clock) -> None:
    feed_server.add("/long.xml", rss([item(1, title="word " * 200_000)]))
    await service.add_source(feed_server.url("/long.xml"), backfill=5)
    payloads = await channel_payloads(service, clock)
    assert_within_discord_limits(payloads)
    assert "word word" in payload_text(payloads)


# ------------------------------------------------------------------ dates and floods


async def test_dates_in_1970_and_2100_neither_vanish_nor_lead(service, feed_server, clock) -> None:
    feed_server.add("/feed.xml", rss([item(1)]))
    await service.add_source(feed_server.url("/feed.xml"))
    old = item(2, title="Dated 1970", published=clock.now.replace(year=1970))
    future = item(3, title="Dated 2100", published=clock.now.replace(year=2100))
    feed_server.add("/feed.xml", rss([item(1), old, future]))
    clock.advance(timedelta(hours=1))
    report = await service.poll(due_only=False)
    assert report.new_stories == 2  # both are new stories, whatever their dates
    stories = {s.title: s for s in await service.stories(since=timedelta(days=365 * 100))}
    assert stories["Dated 2100"].published <= clock.now  # not pinned to the top until 2100


async def test_a_feed_that_renews_every_guid_cannot_flood_a_channel(
    service, feed_server, clock
) -> None:
    def fetch_n(n: int) -> bytes:
        return rss(
            [
                item(
                    k,
                    title=f"Story {k} take {n}",
                    guid=f"g{n}-{k}",
                    link=f"https://f.example/{n}/{k}",
                )
                for k in range(120)
            ]
        )

    feed_server.add("/flip.xml", fetch_n(0))
    await service.add_source(feed_server.url("/flip.xml"))
    for n in (1, 2):
        feed_server.add("/flip.xml", fetch_n(n))
        clock.advance(timedelta(hours=1))
        report = await service.poll(due_only=False)
        assert report.new_stories == 50
        [(_, warning)] = report.warnings
        assert "120 new stories at once" in warning and "fetch.max_new_per_poll" in warning


async def test_a_burst_within_the_cap_waits_for_nothing_and_loses_nothing(
    service, feed_server, clock
) -> None:
    """60 new stories in a poll: 50 now, the other 10 at the next poll, none twice."""
    feed_server.add("/burst.xml", rss([item(1000)]))
    await service.add_source(feed_server.url("/burst.xml"))
    burst = [item(k) for k in range(1, 61)] + [item(1000)]
    feed_server.add("/burst.xml", rss(burst))
    clock.advance(timedelta(hours=1))
    first = await service.poll(due_only=False)
    clock.advance(timedelta(hours=1))
    second = await service.poll(due_only=False)
    clock.advance(timedelta(hours=1))
    third = await service.poll(due_only=False)
    assert (first.new_stories, second.new_stories, third.new_stories) == (50, 10, 0)
    assert len(await service.stories(since=timedelta(days=3650), limit=500)) == 61


async def test_the_bot_keeps_serving_other_sources_while_one_hangs(service, feed_server) -> None:
    feed_server.add_drip("/hang.xml", every=0.5)
    feed_server.add("/a.xml", rss([item(1)], title="A"))
    results = await asyncio.gather(
        service.add_source(feed_server.url("/hang.xml")),
        service.add_source(feed_server.url("/a.xml")),
        return_exceptions=True,
    )
    assert isinstance(results[0], FetchError)
    assert not isinstance(results[1], BaseException) and results[1].source.story_count == 1
