"""Discord misbehaving, end to end through the stand-in: rate-limit storms, 5xx and slow
answers, gateway closes, a channel deleted before its digest, lost permissions, a message
over the limits. Each case asserts what a channel and its admins see: the digest exactly
once (or a paused subscription that says why), and the bot still answering commands.
"""

from __future__ import annotations

import contextlib
import dataclasses
from collections.abc import AsyncIterator

import pytest

from tests.discord_standin.records import EMBED_LINKS, SEND_MESSAGES
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

CREATE = "POST /channels/{channel_id}/messages"
FRESH = [
    Item(
        f"Senate passes AI regulation bill number {n}",
        f"The Senate passed bill {n} to regulate frontier AI models. The law requires safety "
        "tests before release. It now goes to the House for a vote.",
        f"https://news.test/senate-bill-{n}",
        2 + n,
    )
    for n in range(3)
]


@contextlib.asynccontextmanager
async def env(tmp_path, *, digest_limit: int | None = None, **bot_options) -> AsyncIterator:
    """A running bot with a log channel and a subscription of #news that has news waiting."""
    async with FeedServer() as feeds, started_standin() as standin:
        feeds.add(FEED_PATH, rss([*REGULATION, *OTHER]), content_type="application/rss+xml")
        log_channel = standin.channel("general")
        config = make_config(tmp_path, standin, feeds.url(FEED_PATH), log_channel_id=log_channel)
        if digest_limit:
            digest = dataclasses.replace(config.digest, limit=digest_limit)
            config = dataclasses.replace(config, digest=digest)
        async with start(config, standin, **bot_options) as bot:

            async def no_wait(_shard_id, *, initial=False):  # discord.py waits 5 s to re-IDENTIFY
                return None

            bot.before_identify_hook = no_wait
            await bot.service.poll(due_only=False)
            sub = await bot.service.subscribe(
                scope=f"guild:{standin.guild_id}",
                channel_id=standin.channel("news"),
                topics=("regulation",),
                schedule="daily 08:00",
            )
            bot.jobs.schedule(sub)
            yield standin, feeds, bot, sub


async def news_arrives(feeds, bot, items=FRESH) -> None:
    feeds.add(FEED_PATH, rss([*items, *REGULATION, *OTHER]), content_type="application/rss+xml")
    await bot.service.poll(due_only=False)


def shown(standin, channel: str = "news") -> list[dict]:
    return standin.messages.get(standin.channel(channel), [])


def headlines_once(messages: list[dict], items=FRESH) -> None:
    """Every fresh story is in the channel exactly once, and every message has a nonce."""
    text = "\n".join(text_of(m) for m in messages)
    for item in items:
        assert text.count(item.title) == 1, (item.title, text[:500])
    assert all(m.get("nonce") for m in messages)
    nonces = [m["nonce"] for m in messages]
    assert len(set(nonces)) == len(nonces)


async def still_serving(standin) -> None:
    record = await standin.send_interaction(None, None, None, "topics")
    answer = await standin.wait_for_response(record, timeout=10)
    assert "Topics · last 7 days" in text_of(answer)


async def paused_reason(bot, sub) -> str | None:
    (now,) = [s for s in await bot.service.subscriptions() if s.id == sub.id]
    return now.paused_reason


# ------------------------------------------------------------------ rate limits, 5xx, timeouts


async def test_429_storm_global_and_per_route_delivers_once(tmp_path):
    async with env(tmp_path) as (standin, feeds, bot, sub):
        await news_arrives(feeds, bot)
        standin.fail_next(CREATE, 429, times=3, retry_after=0.05, is_global=True)
        standin.fail_next(CREATE, 429, times=3, retry_after=0.05)
        standin.fail_next("POST /interactions/*", 429, times=2, retry_after=0.05, is_global=True)
        await still_serving(standin)  # the command's answer gets through the storm too
        assert await bot.jobs.scheduled_run(sub.id) is True
        statuses = [r.status for r in standin.requests if r.method == "POST"]
        assert statuses.count(429) == 8
        assert await bot.jobs.scheduled_run(sub.id) is False  # the same run: not again
        headlines_once(shown(standin))
        assert await bot.service.pending_deliveries() == []


async def test_5xx_and_a_slow_answer_are_retried_and_post_once(tmp_path):
    async with env(tmp_path, send_timeout=1.5) as (standin, feeds, bot, sub):
        await news_arrives(feeds, bot)
        standin.fail_next(CREATE, 502, times=1)  # discord.py retries this one itself
        standin.fail_next(CREATE, 503, times=1)  # and the deliverer this one
        standin.delay_next(CREATE, 2.0)  # created, but the answer is later than we wait
        assert await bot.jobs.run_subscription(sub.id) is True
        creates = [r for r in standin.requests if r.method == "POST" and "messages" in r.path]
        assert [r.status for r in creates][:2] == [502, 503]
        (pending_then_done,) = await bot.service.store.db.fetch("SELECT attempts FROM deliveries")
        assert pending_then_done[0] == 2  # the 503 and the timeout; the 502 discord.py retried
        assert len(shown(standin)) == 1  # the resend after the timeout was a no-op (nonce)
        headlines_once(shown(standin))
        assert await bot.service.pending_deliveries() == []
        await still_serving(standin)


# ------------------------------------------------------------------ gateway closes


@pytest.mark.parametrize("code", [4000, 4007, 4009])
async def test_gateway_close_resumes_or_reidentifies_and_keeps_serving(tmp_path, code):
    async with env(tmp_path) as (standin, feeds, bot, sub):
        identified, resumed = standin.identify_count, standin.resume_count
        syncs = len(standin.command_syncs)
        await standin.drop_gateway(code=code)
        if code == 4000:
            await standin.wait_for(lambda: standin.resume_count == resumed + 1, 10, "RESUME")
            assert standin.identify_count == identified
        else:
            await standin.wait_for(lambda: standin.identify_count == identified + 1, 10, "IDENTIFY")
        await standin.wait_for(bot.is_ready, 10, "ready again")
        await still_serving(standin)
        assert len(standin.command_syncs) == syncs  # set up once, not again
        await news_arrives(feeds, bot)
        assert await bot.jobs.scheduled_run(sub.id) is True  # the jobs kept running
        headlines_once(shown(standin))


async def test_command_sent_while_the_gateway_is_down_is_answered_after_resume(tmp_path):
    async with env(tmp_path) as (standin, _feeds, _bot, _sub):
        await standin.drop_gateway(code=4000)
        record = await standin.send_interaction(None, None, None, "topics")  # queued, replayed
        answer = await standin.wait_for_response(record, timeout=10)
        assert "Topics · last 7 days" in text_of(answer)


# ------------------------------------------------------------------ the channel or access is gone


async def notices(standin) -> list[str]:
    return [m["content"] for m in shown(standin, "general") if "Paused" in m.get("content", "")]


async def test_channel_deleted_before_sending_pauses_once_without_a_loop(tmp_path):
    async with env(tmp_path) as (standin, feeds, bot, sub):
        await news_arrives(feeds, bot)
        news = standin.channel("news")
        await standin.delete_channel(news)
        await standin.wait_for(lambda: bot.get_channel(news) is None, 5, "CHANNEL_DELETE")
        assert await bot.jobs.scheduled_run(sub.id) is False
        for _ in range(3):  # later ticks: nothing is tried again
            await bot.jobs.scheduled_run(sub.id)
            await bot.jobs.poll()
            await bot.jobs.deliver()
        tries = [r for r in standin.requests if r.path == f"/channels/{news}/messages"]
        assert len(tries) == 1
        assert await paused_reason(bot, sub) == "the channel no longer exists"
        (notice,) = await notices(standin)
        assert f"Paused digest subscription {sub.id}" in notice
        assert "the channel no longer exists" in notice
        assert await bot.service.pending_deliveries() == []
        record = await standin.send_interaction(None, None, standin.owner_id, "subscriptions")
        answer = await standin.wait_for_response(record)
        assert "paused: the channel no longer exists" in text_of(answer)


@pytest.mark.parametrize(
    ("denied", "named"), [(SEND_MESSAGES, "Send Messages"), (EMBED_LINKS, "Embed Links")]
)
async def test_lost_permission_pauses_with_its_name_and_nothing_is_lost(tmp_path, denied, named):
    async with env(tmp_path) as (standin, feeds, bot, sub):
        await news_arrives(feeds, bot)
        news = standin.channel("news")
        await standin.deny_bot(news, denied)
        await standin.wait_for(
            lambda: (
                not getattr(
                    bot.get_channel(news).permissions_for(bot.get_guild(standin.guild_id).me),
                    "send_messages" if denied == SEND_MESSAGES else "embed_links",
                )
            ),
            5,
            "CHANNEL_UPDATE",
        )
        assert await bot.jobs.scheduled_run(sub.id) is False
        assert await bot.jobs.scheduled_run(sub.id) is False
        assert shown(standin) == []
        reason = await paused_reason(bot, sub)
        assert reason == f"the bot lacks the {named} permission in the channel"
        (notice,) = await notices(standin)
        assert named in notice
        # an admin gives the permission back and subscribes again: the stories arrive once
        await standin.deny_bot(news, 0)
        await standin.wait_for(lambda: not bot.get_channel(news).overwrites, 5, "CHANNEL_UPDATE")
        record = await standin.send_interaction(
            None, None, standin.owner_id, "subscribe", {"channel": news, "topics": "regulation"}
        )
        await standin.wait_for_response(record)
        assert await paused_reason(bot, sub) is None
        assert await bot.jobs.run_subscription(sub.id) is True
        headlines_once(shown(standin))


async def test_embed_links_lost_behind_the_bots_back_is_caught_not_marked_sent(tmp_path):
    """The bot's cache still says it may embed (no CHANNEL_UPDATE reached it): Discord posts
    the header without the embeds, and the bot must notice rather than mark the stories had."""
    async with env(tmp_path) as (standin, feeds, bot, sub):
        await news_arrives(feeds, bot)
        news = standin.channel("news")
        standin.world.channels[news].bot_deny = (standin.bot_user_id, EMBED_LINKS)
        assert await bot.jobs.scheduled_run(sub.id) is False
        assert await paused_reason(bot, sub) == (
            "the bot lacks the Embed Links permission in the channel"
        )
        assert len(await notices(standin)) == 1
        standin.world.channels[news].bot_deny = None
        await bot.service.subscribe(
            scope=sub.scope, channel_id=news, topics=sub.topics, schedule=sub.schedule
        )
        assert await bot.jobs.run_subscription(sub.id) is True
        with_embeds = [m for m in shown(standin) if m.get("embeds")]
        headlines_once(with_embeds)


# ------------------------------------------------------------------ over the limits


LONG = [
    Item(
        f"Regulators publish AI rulebook chapter {n} " + "with a very long headline " * 6,
        " ".join(
            f"Chapter {n} of the AI regulation rulebook sets duty number {k} for providers of "
            "high-risk systems and explains how regulators will check it."
            for k in range(12)
        ),
        f"https://news.test/rulebook-{n}",
        1 + n,
    )
    for n in range(25)
]


async def test_a_digest_over_the_limits_is_split_into_messages_never_refused(tmp_path):
    async with env(tmp_path, digest_limit=25) as (standin, feeds, bot, sub):
        await news_arrives(feeds, bot, LONG)
        assert await bot.jobs.run_subscription(sub.id) is True
        messages = shown(standin)
        assert len(messages) >= 2
        headlines = "\n".join(text_of(m) for m in messages)
        for n in range(25):  # every story once, whichever message it landed in
            assert headlines.count(f"rulebook chapter {n} ") == 1, n


async def test_an_over_limit_payload_in_the_outbox_goes_out_split(tmp_path):
    """A part rendered before a limit was known (or by a bug) is split when sent."""
    async with env(tmp_path) as (standin, _feeds, bot, sub):
        big = {
            "content": "Header line\n" + "\n".join(f"line {i} " + "x" * 90 for i in range(40)),
            "embeds": [
                {"title": f"Section {i}", "description": ("word " * 900).strip(), "color": 1}
                for i in range(12)
            ],
        }
        digest = await bot.service.subscription_digest(sub)
        delivery = await bot.service.enqueue_delivery(sub, sub.target, digest, [big])
        assert await bot.deliverer.send(delivery, sub) is True
        messages = shown(standin)
        assert len(messages) >= 4
        text = "\n".join(m.get("content") or "" for m in messages)
        assert all(f"line {i} " in text for i in range(40))
        titles = [e["title"] for m in messages for e in m.get("embeds") or []]
        assert [t for t in titles if "(cont.)" not in t] == [f"Section {i}" for i in range(12)]
        words = sum(
            (e.get("description") or "").count("word")
            for m in messages
            for e in m.get("embeds") or []
        )
        assert words == 12 * 900  # split, nothing cut
        assert await bot.service.pending_deliveries() == []
        assert await bot.deliverer.send(delivery, sub) is False  # and never twice
        assert len(shown(standin)) == len(messages)
