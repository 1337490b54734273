"""Per-server notices in the core: who is told what, once per incident, on both engines."""

from __future__ import annotations

import asyncio
from datetime import timedelta

from bot.news.notices import (
    SOURCE_FAILING,
    SOURCE_FLOODED,
    SOURCE_RECOVERED,
    SUBSCRIPTION_PAUSED,
    SUBSCRIPTION_RESUMED,
    Notice,
    notice_of,
)
from bot.news.service import NewsService
from tests.news.conftest import make_config
from tests.news.feeds import item, rss

A, B, C = "guild:1001", "guild:1002", "guild:1003"
LEASE = timedelta(minutes=2)


async def tell_all(service: NewsService, notices: list[Notice]) -> list[Notice]:
    """Tell every notice; returns those that were recorded (not told before)."""
    told = []
    for notice in notices:
        payload = {"content": f"{notice.kind} {notice.subject_id}"}
        if await service.tell(notice, [payload], owner="test", lease=LEASE) is not None:
            told.append(notice)
    return told


async def fail_polls(service, clock, n: int) -> None:
    for _ in range(n):
        clock.advance(timedelta(days=2))
        await service.poll(due_only=False)


def who(notices: list[Notice]) -> list[tuple[str, str, int]]:
    return sorted((n.scope, n.kind, n.channel_id) for n in notices)


async def test_a_failing_source_tells_each_owner_once_and_again_when_it_recovers(
    service, feed_server, clock
) -> None:
    feed_server.add("/shared.xml", rss([item(1)]))
    feed_server.add("/own.xml", rss([item(2)], title="C's own"))
    shared = (await service.add_source(feed_server.url("/shared.xml"), scope=A)).source
    await service.add_source(feed_server.url("/shared.xml"), scope=B)
    await service.add_source(feed_server.url("/own.xml"), scope=C)
    await service.add_source(feed_server.url("/shared.xml"), scope="guild:1004")  # no channel
    await service.set_notices(A, channel_id=11)
    await service.set_notices(B, channel_id=12)
    await service.set_notices(C, channel_id=13)

    feed_server.add_status("/shared.xml", 404)
    await fail_polls(service, clock, 2)
    assert await service.pending_notices() == []  # two failures are not yet "failing"
    await fail_polls(service, clock, 1)

    pending = await service.pending_notices()
    assert who(pending) == [(A, SOURCE_FAILING, 11), (B, SOURCE_FAILING, 12)]
    assert all(n.source is not None and n.source.id == shared.id for n in pending)
    assert "404" in (pending[0].source.last_error or "")
    assert len(await tell_all(service, pending)) == 2
    assert await tell_all(service, pending) == []  # told once, however often asked
    await fail_polls(service, clock, 2)
    assert await service.pending_notices() == []  # still the same incident

    feed_server.add("/shared.xml", rss([item(1)]))
    await fail_polls(service, clock, 1)  # this poll succeeds
    recovered = await service.pending_notices()
    assert who(recovered) == [(A, SOURCE_RECOVERED, 11), (B, SOURCE_RECOVERED, 12)]
    assert len(await tell_all(service, recovered)) == 2
    assert await tell_all(service, recovered) == []
    assert await service.pending_notices() == []

    # a new streak of failures is a new incident, told again
    feed_server.add_status("/shared.xml", 500)
    await fail_polls(service, clock, 3)
    assert who(await tell_all(service, await service.pending_notices())) == [
        (A, SOURCE_FAILING, 11),
        (B, SOURCE_FAILING, 12),
    ]


async def test_the_notice_is_an_outbox_delivery_to_the_servers_channel(
    service, feed_server, clock
) -> None:
    feed_server.add("/feed.xml", rss([item(1)]))
    await service.add_source(feed_server.url("/feed.xml"), scope=A)
    await service.set_notices(A, channel_id=11)
    feed_server.add_status("/feed.xml", 404)
    await fail_polls(service, clock, 3)
    (notice,) = await service.pending_notices()
    delivery = await service.tell(notice, [{"content": "x"}], owner="test", lease=LEASE)
    assert delivery is not None
    assert (delivery.target, delivery.subscription_id, delivery.cluster_ids) == (
        "channel:11",
        None,
        (),
    )
    assert notice_of(delivery.run_key) == (A, SOURCE_FAILING, notice.subject_id, notice.incident)
    # a restart before it was sent: the outbox still has it, and it is not recorded again
    assert [d.id for d in await service.pending_deliveries()] == [delivery.id]
    assert await service.pending_notices() == []


async def test_two_processes_telling_at_once_tell_once(service, feed_server, clock) -> None:
    feed_server.add("/feed.xml", rss([item(1)]))
    await service.add_source(feed_server.url("/feed.xml"), scope=A)
    await service.set_notices(A, channel_id=11)
    feed_server.add_status("/feed.xml", 404)
    await fail_polls(service, clock, 3)
    (notice,) = await service.pending_notices()
    results = await asyncio.gather(
        *(service.tell(notice, [{"content": "x"}], owner=f"p{i}", lease=LEASE) for i in range(4))
    )
    assert sum(r is not None for r in results) == 1
    assert len(await service.pending_deliveries()) == 1


async def test_a_paused_subscription_tells_its_server_and_resuming_too(service, clock) -> None:
    await service.set_notices(A, channel_id=11)
    await service.set_notices(B, channel_id=12)
    sub = await service.subscribe(scope=A, channel_id=555, schedule="daily 08:00")
    await service.subscribe(scope=B, channel_id=556, schedule="daily 08:00")
    await service.pause_subscription(sub.id, "the channel no longer exists")

    (paused,) = await service.pending_notices()
    assert (paused.scope, paused.kind, paused.channel_id) == (A, SUBSCRIPTION_PAUSED, 11)
    assert paused.subscription is not None
    assert paused.subscription.paused_reason == "the channel no longer exists"
    assert len(await tell_all(service, [paused])) == 1
    assert await service.pending_notices() == []

    clock.advance(timedelta(minutes=5))
    await service.subscribe(scope=A, channel_id=555, schedule="daily 08:00")  # resumes it
    (resumed,) = await service.pending_notices()
    assert (resumed.scope, resumed.kind, resumed.subject_id) == (A, SUBSCRIPTION_RESUMED, sub.id)
    assert len(await tell_all(service, [resumed])) == 1
    assert await service.pending_notices() == []


async def test_what_went_away_ends_without_a_word(service, feed_server, clock) -> None:
    feed_server.add("/feed.xml", rss([item(1)]))
    await service.add_source(feed_server.url("/feed.xml"), scope=A)
    await service.set_notices(A, channel_id=11)
    sub = await service.subscribe(scope=A, channel_id=555, schedule="daily 08:00")
    await service.pause_subscription(sub.id, "the bot cannot see the channel")
    feed_server.add_status("/feed.xml", 404)
    await fail_polls(service, clock, 3)
    assert len(await tell_all(service, await service.pending_notices())) == 2

    await service.remove_source(feed_server.url("/feed.xml"), scope=A)
    await service.unsubscribe(A, sub.id)
    assert await service.pending_notices() == []  # no "working again", no "resumed"
    assert await service.store.notices.open_incidents([A]) == []
    clock.advance(timedelta(days=91))  # ended incidents go with retention
    await service.prune()
    assert await service.store.db.fetchval("SELECT count(*) FROM notice_incidents") == 0


async def test_servers_without_notices_or_with_them_off_are_told_nothing(
    service, feed_server, clock
) -> None:
    feed_server.add("/feed.xml", rss([item(1)]))
    await service.add_source(feed_server.url("/feed.xml"), scope=A)
    await service.add_source(feed_server.url("/feed.xml"), scope=B)
    await service.set_notices(B, channel_id=12)
    await service.set_notices(B, off=True)
    feed_server.add_status("/feed.xml", 404)
    await fail_polls(service, clock, 3)
    assert await service.pending_notices() == []
    assert (await service.notice_setting(B)).state == "off"
    assert (await service.notice_setting(A)).state == "unset"

    # turned on later: the incident under way is told then
    await service.set_notices(A, channel_id=11)
    assert who(await service.pending_notices()) == [(A, SOURCE_FAILING, 11)]


async def test_a_refused_notice_pauses_that_servers_notices_and_is_told_after_resuming(
    service, feed_server, clock
) -> None:
    feed_server.add("/feed.xml", rss([item(1)]))
    await service.add_source(feed_server.url("/feed.xml"), scope=A)
    await service.set_notices(A, channel_id=11)
    feed_server.add_status("/feed.xml", 404)
    await fail_polls(service, clock, 3)
    (notice,) = await service.pending_notices()
    delivery = await service.tell(notice, [{"content": "x"}], owner="test", lease=LEASE)
    assert delivery is not None
    await service.delivery_failed(delivery, "the channel no longer exists", give_up=True)
    assert await service.notice_refused(delivery, "the channel no longer exists") == A

    setting = await service.notice_setting(A)
    assert (setting.state, setting.paused_reason) == ("paused", "the channel no longer exists")
    assert await service.pending_notices() == []  # nothing more is tried there
    assert (await service.status(scope=A)).notices == setting

    await service.set_notices(A, channel_id=99)  # an admin picks another channel
    (again,) = await service.pending_notices()
    assert (again.kind, again.channel_id) == (SOURCE_FAILING, 99)
    assert await service.tell(again, [{"content": "x"}], owner="test", lease=LEASE) is not None


async def test_a_refused_notice_does_not_pause_a_channel_set_since(
    service, feed_server, clock
) -> None:
    feed_server.add("/feed.xml", rss([item(1)]))
    await service.add_source(feed_server.url("/feed.xml"), scope=A)
    await service.set_notices(A, channel_id=11)
    feed_server.add_status("/feed.xml", 404)
    await fail_polls(service, clock, 3)
    (notice,) = await service.pending_notices()
    delivery = await service.tell(notice, [{"content": "x"}], owner="test", lease=LEASE)
    assert delivery is not None
    await service.set_notices(A, channel_id=12)
    assert await service.notice_refused(delivery, "the channel no longer exists") is None
    assert (await service.notice_setting(A)).state == "on"


async def test_the_hint_is_given_once_and_never_once_set(service) -> None:
    assert await service.notices_hint(A) is True
    assert await service.notices_hint(A) is False
    await service.set_notices(B, channel_id=12)
    assert await service.notices_hint(B) is False
    assert await service.notices_hint("global") is False


async def test_a_flooding_source_is_told_once_per_run_of_capped_polls(
    tmp_path, feed_server, clock, storage
) -> None:
    config = make_config(tmp_path, storage=storage, fetch={"max_new_per_poll": 3})
    service = await NewsService.open(config, clock=clock)
    try:
        feed_server.add("/feed.xml", rss([item(n) for n in range(1, 9)]))
        await service.add_source(feed_server.url("/feed.xml"), scope=A)
        await service.set_notices(A, channel_id=11)
        assert await service.pending_notices() == []  # a first poll's backlog is no flood

        feed_server.add("/feed.xml", rss([item(n) for n in range(-10, 9)]))
        clock.advance(timedelta(hours=1))
        await service.poll(due_only=False)
        (flood,) = await service.pending_notices()
        assert (flood.kind, flood.channel_id) == (SOURCE_FLOODED, 11)
        assert "11 new stories at once" in flood.detail
        assert "newest 3" in flood.detail
        assert len(await tell_all(service, [flood])) == 1

        clock.advance(timedelta(hours=1))
        await service.poll(due_only=False)  # the waiting ones: still more than the cap
        assert await service.pending_notices() == []
    finally:
        await service.close()
