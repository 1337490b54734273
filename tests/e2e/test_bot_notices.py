"""Per-server notices end to end: two servers on the stand-in, each told only about its own
sources and subscriptions, once per incident, also across a restart; the operator's log
channel still hears everything."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from bot.news.service import NewsService
from bot.notices import render_notice
from tests.discord_standin import DiscordStandIn
from tests.e2e.conftest import (
    FEED_PATH,
    OTHER,
    REGULATION,
    Item,
    make_config,
    rss,
    start,
    started_standin,
    text_of,
)
from tests.feedserver import FeedServer

pytestmark = pytest.mark.e2e

FRESH = Item(
    "Senate passes AI regulation bill",
    "The Senate passed a bill to regulate frontier AI models. The law requires safety tests. "
    "It now goes to the House.",
    "https://news.test/senate-bill",
    2,
)
A_FEED, B_FEED = "/server-a.xml", "/server-b.xml"


class Clock:
    """The bot's clock, moved by the test so that backed-off sources come due at once."""

    def __init__(self) -> None:
        self.now = datetime.now(UTC)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, delta: timedelta) -> None:
        self.now += delta


@dataclass
class Servers:
    standin: DiscordStandIn
    feeds: FeedServer
    config: Any
    clock: Clock
    a: int  # server A (the stand-in's default guild)
    b: int
    a_notices: int
    b_notices: int
    ops: int  # the operator's log channel, in a server of its own

    def said(self, channel_id: int) -> list[str]:
        return [text_of(m) for m in self.standin.messages.get(channel_id, [])]

    def everything_in(self, guild_id: int) -> str:
        channels = self.standin.world.guilds[guild_id].channels
        return "\n".join(t for c in channels for t in self.said(c))

    async def command(self, guild_id: int, name: str, options: dict | None = None) -> str:
        """An admin (the servers' owner) runs a slash command in that server."""
        channel = self.standin.channel_in(guild_id, "general")
        record = await self.standin.send_interaction(
            guild_id, channel, self.standin.owner_id, name, options
        )
        return text_of(await self.standin.wait_for_response(record, timeout=10))


@contextlib.asynccontextmanager
async def servers(tmp_path) -> AsyncIterator[Servers]:
    async with (
        FeedServer() as feeds,
        started_standin(
            guild_name="Server A", channels=("general", "news", "mod-log", "announcements")
        ) as standin,
    ):
        b = standin.add_guild("Server B", ("general", "mod-log")).id
        ops_guild = standin.add_guild("Operator", ("ops",)).id
        feeds.add(FEED_PATH, rss([*REGULATION, *OTHER]), content_type="application/rss+xml")
        feeds.add(A_FEED, rss(OTHER[:2], title="Server A Wire"), content_type="application/rss+xml")
        feeds.add(
            B_FEED, rss(OTHER[2:4], title="Server B Post"), content_type="application/rss+xml"
        )
        ops = standin.channel_in(ops_guild, "ops")
        config = make_config(tmp_path, standin, feeds.url(FEED_PATH), log_channel_id=ops)
        yield Servers(
            standin,
            feeds,
            config,
            Clock(),
            standin.guild_id,
            b,
            standin.channel("mod-log"),
            standin.channel_in(b, "mod-log"),
            ops,
        )


async def poll_times(bot, w: Servers, n: int, every: timedelta = timedelta(days=2)) -> None:
    """The bot's own poll job, ``n`` times, each after the backoff has run out."""
    for _ in range(n):
        w.clock.advance(every)
        await bot.jobs.poll()


async def test_a_broken_source_is_told_once_to_its_own_server_and_again_when_it_works(
    tmp_path,
):
    async with servers(tmp_path) as w, start(w.config, w.standin, clock=w.clock) as bot:
        # B adds a feed before it has a notices channel: the reply says how to set one, once
        first = await w.command(w.b, "sources add", {"url": w.feeds.url(B_FEED)})
        assert "Added **Server B Post**" in first and "/notices channel:" in first
        await w.command(w.b, "notices", {"channel": w.b_notices})
        assert f"<#{w.b_notices}>" in await w.command(w.b, "notices")

        answer = await w.command(w.a, "notices", {"channel": w.a_notices})
        assert f"now go to <#{w.a_notices}>" in answer
        added = await w.command(w.a, "sources add", {"url": w.feeds.url(A_FEED)})
        assert "Added **Server A Wire**" in added and "/notices" not in added
        status = await w.command(w.a, "status")
        assert f"Notices go to <#{w.a_notices}>" in status

        w.feeds.add_status(A_FEED, 404)
        await poll_times(bot, w, 2)
        assert w.said(w.a_notices) == []  # two failures are a hiccup, not yet "failing"
        await poll_times(bot, w, 3)

        (failing,) = w.said(w.a_notices)
        assert "Source failing" in failing and "Server A Wire" in failing
        assert w.feeds.url(A_FEED) in failing
        assert "404" in failing and "next try <t:" in failing
        # the operator still hears about it, as before
        assert any("Server A Wire" in t and "keeps failing" in t for t in w.said(w.ops))

        w.feeds.add(A_FEED, rss(OTHER[:2], title="Server A Wire"), content_type="text/xml")
        await poll_times(bot, w, 2)
        assert len(w.said(w.a_notices)) == 2
        working = w.said(w.a_notices)[1]
        assert "working again" in working and "Server A Wire" in working

        # nothing about A's source ever reached B, whose own feed kept working
        assert w.said(w.b_notices) == []
        assert "Server A Wire" not in w.everything_in(w.b)
        # (mentions off and Discord's limits: the autouse no_violations check sees every post)


async def test_a_subscription_whose_channel_is_deleted_is_told_to_its_server_only(tmp_path):
    async with servers(tmp_path) as w, start(w.config, w.standin, clock=w.clock) as bot:
        news, announcements = w.standin.channel("news"), w.standin.channel("announcements")
        await w.command(w.a, "notices", {"channel": w.a_notices})
        await w.command(w.b, "notices", {"channel": w.b_notices})
        for channel in (news, announcements):
            await w.command(w.a, "subscribe", {"channel": channel})
        await w.command(w.b, "subscribe", {"channel": w.standin.channel_in(w.b, "general")})
        a_subs = {s.channel_id: s for s in await bot.service.subscriptions(f"guild:{w.a}")}

        hour = timedelta(hours=1)
        await poll_times(bot, w, 1, hour)  # the first read is backlog, never announced
        w.feeds.add(
            FEED_PATH, rss([FRESH, *REGULATION, *OTHER]), content_type="application/rss+xml"
        )
        await poll_times(bot, w, 1, hour)
        await w.standin.delete_channel(news)
        w.standin.forbid_channel(announcements)
        for sub in a_subs.values():
            assert await bot.jobs.run_subscription(sub.id) is False
        await bot.jobs.deliver()

        told = w.said(w.a_notices)
        assert len(told) == 2, told
        deleted = next(t for t in told if f"subscription {a_subs[news].id} " in t)
        assert "Digest paused" in deleted and "channel was deleted" in deleted
        forbidden = next(t for t in told if f"subscription {a_subs[announcements].id} " in t)
        assert f"<#{announcements}>" in forbidden and "Send Messages" in forbidden
        assert w.said(w.b_notices) == []

        # the admin fixes the permission and subscribes again: one "resumed", nothing more
        w.standin.forbid_channel(announcements, False)
        await w.command(w.a, "subscribe", {"channel": announcements})
        await bot.jobs.deliver()
        await bot.jobs.deliver()
        told = w.said(w.a_notices)
        assert len(told) == 3 and "Digest resumed" in told[2]
        assert w.said(w.b_notices) == []


async def test_a_notices_channel_that_is_gone_pauses_notices_and_status_says_so(tmp_path):
    async with servers(tmp_path) as w, start(w.config, w.standin, clock=w.clock) as bot:
        await w.command(w.a, "notices", {"channel": w.a_notices})
        await w.command(w.a, "sources add", {"url": w.feeds.url(A_FEED)})
        await w.standin.delete_channel(w.a_notices)
        w.feeds.add_status(A_FEED, 404)
        await poll_times(bot, w, 5)
        creates = _message_posts(w.standin, w.a_notices)
        assert len(creates) == 1  # tried once, then paused: no loop
        status = await w.command(w.a, "status")
        assert "paused: the channel no longer exists" in status
        assert any("Paused the notices of server" in t for t in w.said(w.ops))

        # a new notices channel resumes them, and the untold incident is told there
        general = w.standin.channel("general")
        await w.command(w.a, "notices", {"channel": general})
        await bot.jobs.deliver()
        told = [t for t in w.said(general) if "Source failing" in t]
        assert len(told) == 1 and "Server A Wire" in told[0]


async def test_a_restart_between_the_failure_and_the_notice_sends_it_once(tmp_path):
    async with servers(tmp_path) as w:
        async with start(w.config, w.standin, clock=w.clock):
            await w.command(w.a, "notices", {"channel": w.a_notices})
            await w.command(w.a, "sources add", {"url": w.feeds.url(A_FEED)})

        # the bot is down; a worker keeps polling and the feed breaks
        w.feeds.add_status(A_FEED, 404)
        worker = await NewsService.open(w.config, clock=w.clock)
        try:
            for _ in range(3):
                w.clock.advance(timedelta(days=2))
                await worker.poll(due_only=False)
        finally:
            await worker.close()

        async with start(w.config, w.standin, clock=w.clock) as bot:
            await bot.jobs.deliver()
            await bot.jobs.deliver()
            assert len(w.said(w.a_notices)) == 1

        # it works again; a process records the notice and dies before sending it
        w.feeds.add(A_FEED, rss(OTHER[:2], title="Server A Wire"), content_type="text/xml")
        worker = await NewsService.open(w.config, clock=w.clock)
        try:
            w.clock.advance(timedelta(days=2))
            await worker.poll(due_only=False)
            (notice,) = await worker.pending_notices()
            payload = render_notice(notice, now=w.clock())
            assert await worker.tell(notice, [payload], owner="gone", lease=timedelta(0))
        finally:
            await worker.close()

        async with start(w.config, w.standin, clock=w.clock) as bot:
            await bot.jobs.catch_up_task
            await bot.jobs.deliver()
            told = w.said(w.a_notices)
            assert len(told) == 2 and "working again" in told[1]
        assert [t for t in w.said(w.a_notices) if "Source failing" in t] == told[:1]


def _message_posts(standin: DiscordStandIn, channel_id: int) -> list[Any]:
    return [
        r
        for r in standin.requests
        if r.method == "POST" and r.path.endswith(f"/channels/{channel_id}/messages")
    ]
