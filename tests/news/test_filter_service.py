"""Filters through the service: digests, checks before saving, the 7-day preview, keeping them."""

from __future__ import annotations

from datetime import timedelta

import pytest

from bot.news.filters import FilterError, Filters, FilterWarning
from bot.news.preview import summary_lines
from bot.news.service import NewsService
from tests.news.conftest import make_config
from tests.news.feeds import BASE, item, rss

CHIPS = {1, 4, 7, 10, 13}


def chips_or_crypto(n: int):
    if n in CHIPS:
        return item(n, title=f"Nvidia ships new AI chips, batch {n}")
    if n % 2 == 0:
        return item(n, title=f"Crypto exchange {n} lists a token")
    return item(n, title=f"Robot vacuum {n} reviewed")


async def add(service: NewsService, feed_server, items, path="/feed.xml", name="Example News"):
    feed_server.add(path, rss(items, title=name))
    return await service.add_source(feed_server.url(path), backfill=len(items))


def headlines(digest) -> list[str]:
    return [s.headline for s in digest.stories]


async def test_digest_filters_and_counts_what_each_removed(service, feed_server) -> None:
    await add(service, feed_server, [chips_or_crypto(n) for n in range(1, 15)])
    f = Filters.from_text(include="chips, crypto", exclude="token")
    digest = await service.digest(since=timedelta(days=2), filters=f)
    assert sorted(headlines(digest)) == sorted(
        f"Nvidia ships new AI chips, batch {n}" for n in CHIPS
    )
    assert dict(digest.removed) == {"include": 4, "exclude": 5}
    plain = await service.digest(since=timedelta(days=2))
    assert len(plain.stories) == 14 and plain.removed == ()


async def test_max_stories_caps_leads_and_lists_the_rest(service, feed_server) -> None:
    await add(service, feed_server, [chips_or_crypto(n) for n in range(1, 15)])
    digest = await service.digest(since=timedelta(days=2), filters=Filters(max_stories=2))
    assert sum(len(s.stories) for s in digest.sections) == 2
    assert len(digest.more) == 12


async def test_a_filtered_empty_day_widens_to_the_week(service, feed_server) -> None:
    await add(
        service,
        feed_server,
        [item(1, title="Robot news"), item(60, title="Nvidia chips, days ago")],
    )
    digest = await service.digest(filters=Filters.from_text(include="chips"))
    assert headlines(digest) == ["Nvidia chips, days ago"]
    assert digest.notice and "showing the last 7 days" in digest.notice


async def test_bad_filters_get_one_sentence(service, feed_server) -> None:
    stall = item(99, title="a" * 40 + "!")  # where (a|aa)+$ backtracks for minutes
    await add(service, feed_server, [*(chips_or_crypto(n) for n in range(1, 15)), stall])
    with pytest.raises(FilterError, match="there is no source 'Reddit' here"):
        await service.check_filters(Filters.from_text(sources="-Reddit"))
    assert await service.check_filters(Filters.from_text(sources="example news")) == []
    assert await service.check_filters(Filters.from_text(sources="1")) == []
    warnings = await service.check_filters(Filters.from_text(include="chips, quantum"))
    assert warnings == ["The include term 'quantum' matches no story of the last 30 days."]
    warnings = await service.check_filters(Filters.from_text(include="chips", exclude="nvidia"))
    assert warnings == ["Together, the filters let no story of the last 30 days through."]
    warnings = await service.check_filters(Filters(min_outlets=2))
    assert warnings == ["No story of the last 30 days was covered by 2 outlets."]
    with pytest.raises(FilterError, match="simpler pattern"):
        await service.check_filters(Filters.from_text(include="re:(a|aa)+$ ,re:x"))


async def test_subscribe_refuses_a_filter_that_matches_nothing_unless_forced(
    service, feed_server
) -> None:
    await add(service, feed_server, [chips_or_crypto(n) for n in range(1, 15)])
    f = Filters.from_text(include="quantum")
    with pytest.raises(FilterWarning, match=r"'quantum' matches no story.*force"):
        await service.subscribe(scope="guild:1", channel_id=5, filters=f)
    assert await service.subscriptions("guild:1") == []
    sub = await service.subscribe(scope="guild:1", channel_id=5, filters=f, force=True)
    assert await service.subscription_filters(sub) == f


async def test_two_channels_with_different_filters_and_an_edit_reposts_nothing(
    service, feed_server, clock
) -> None:
    await add(service, feed_server, [chips_or_crypto(n) for n in range(1, 15)])
    chips = await service.subscribe(
        scope="guild:1", channel_id=5, filters=Filters.from_text(include="chips")
    )
    crypto = await service.subscribe(
        scope="guild:1", channel_id=6, filters=Filters.from_text(include="crypto")
    )
    got_chips = await service.subscription_digest(chips)
    got_crypto = await service.subscription_digest(crypto)
    assert all("chips" in h for h in headlines(got_chips)) and len(got_chips.stories) == 5
    assert all("Crypto" in h for h in headlines(got_crypto)) and len(got_crypto.stories) == 5

    delivery = await service.enqueue_delivery(chips, chips.target, got_chips, [{"content": "x"}])
    await service.delivered(delivery)
    # widen the chips channel to chips or crypto: it gets the crypto stories, no chips again
    _, warnings = await service.set_subscription_filters(
        "guild:1", chips.id, Filters.from_text(include="chips, crypto")
    )
    assert warnings == []
    again = await service.subscription_digest(chips)
    assert sorted(headlines(again)) == sorted(headlines(got_crypto))


async def test_unsubscribing_forgets_the_filters(service, feed_server) -> None:
    await add(service, feed_server, [chips_or_crypto(n) for n in range(1, 15)])
    sub = await service.subscribe(
        scope="guild:1", channel_id=5, filters=Filters.from_text(include="chips")
    )
    assert await service.unsubscribe("guild:1", sub.id)
    assert await service.subscription_filters(sub) == Filters()


async def test_preview_replays_a_week_of_the_schedule(service, feed_server) -> None:
    # one story every 6 hours over the last 6 days; chips stories every other day
    items = [
        item(
            n,
            title=(f"AI chips story {n}" if n % 48 == 6 else f"Robot story {n}"),
            published=BASE - timedelta(hours=n),
        )
        for n in range(6, 150, 6)
    ]
    await add(service, feed_server, items)
    chips = Filters.from_text(include="chips")
    preview = await service.preview_subscription(schedule="daily 08:00", filters=chips)
    assert preview.runs == 7
    assert [count for _, count in preview.posted] == [1, 1, 1]
    assert preview.first is not None and preview.first.stories[0].headline.startswith("AI chips")
    assert dict(preview.removed) == {"include": 21}
    lines = summary_lines(preview)
    assert lines[0].startswith("Over the last 7 days (daily 08:00: 7 scheduled runs)")
    assert "posted 3 digests" in lines[0]
    assert "Stories kept out, by filter: include 21." in lines

    everything = await service.preview_subscription(schedule="daily 08:00")
    assert sum(c for _, c in everything.posted) == 24  # each story once, none twice
    hourly = await service.preview_subscription(schedule="hourly", filters=chips)
    assert sum(c for _, c in hourly.posted) == 3


async def test_config_subscriptions_carry_their_filters(tmp_path, clock) -> None:
    config = make_config(
        tmp_path,
        subscriptions=[
            {
                "webhook_url": "https://discord.com/api/webhooks/1/abc",
                "include": ["open weights", "re:gpt-\\d"],
                "sources": ["-Reddit"],
                "max_stories": 3,
            }
        ],
    )
    svc = await NewsService.open(config, clock=clock)
    try:
        [sub] = await svc.subscriptions()
        assert await svc.subscription_filters(sub) == Filters(
            include=("open weights", "re:gpt-\\d"), sources=("-Reddit",), max_stories=3
        )
    finally:
        await svc.close()
