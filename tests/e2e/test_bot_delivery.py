"""Digest delivery end to end: exactly once through restarts, rate limits, outages and revoked
access; a fresh bot per test, as most of them restart it or break Discord on purpose."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from datetime import timedelta

import pytest

from bot.render import payload_to_kwargs, render_digest
from tests.e2e.conftest import (
    FEED_PATH,
    OTHER,
    REGULATION,
    Item,
    custom_ids,
    make_config,
    rss,
    start,
    started_standin,
    text_of,
)
from tests.feedserver import FeedServer

pytestmark = pytest.mark.e2e

CREATE = "POST /channels/{channel_id}/messages"
FRESH = Item(
    "Senate passes AI regulation bill",
    "The Senate passed a bill to regulate frontier AI models. The law requires safety tests. "
    "It now goes to the House.",
    "https://news.test/senate-bill",
    2,
)


@contextlib.asynccontextmanager
async def env(tmp_path, **discord) -> AsyncIterator[tuple]:
    async with FeedServer() as feeds, started_standin() as standin:
        feeds.add(FEED_PATH, rss([*REGULATION, *OTHER]), content_type="application/rss+xml")
        config = make_config(tmp_path, standin, feeds.url(FEED_PATH), **discord)
        yield standin, feeds, config


async def subscribe_with_news(bot, standin, feeds, *, channel: str = "news", **kwargs):
    """A subscription, then a fresh story it has not had (the first poll's are backlog)."""
    await bot.service.poll(due_only=False)
    sub = await bot.service.subscribe(
        scope=f"guild:{standin.guild_id}",
        channel_id=None if kwargs.get("webhook_url") else standin.channel(channel),
        topics=("regulation",),
        schedule=kwargs.pop("schedule", "daily 08:00"),
        **kwargs,
    )
    bot.jobs.schedule(sub)
    feeds.add(FEED_PATH, rss([FRESH, *REGULATION, *OTHER]), content_type="application/rss+xml")
    await bot.service.poll(due_only=False)
    return sub


def with_nonce(standin, channel_id: int) -> list[dict]:
    """Everything the channel shows, checking each message went out with an outbox nonce."""
    messages = standin.messages.get(channel_id, [])
    assert all(m.get("nonce", "").startswith("bb") for m in messages), messages
    return messages


async def test_commands_are_not_synced_again_when_unchanged(tmp_path):
    async with env(tmp_path) as (standin, _feeds, config):
        async with start(config, standin) as bot:
            assert bot.synced_commands
        syncs = len(standin.command_syncs)
        assert syncs == 1
        async with start(config, standin) as bot:
            assert not bot.synced_commands
            assert len(standin.command_syncs) == syncs
            record = await standin.send_interaction(None, None, None, "topics")
            await standin.wait_for_response(record)


async def test_guild_ids_get_the_commands_directly(tmp_path):
    async with env(tmp_path) as (standin, _feeds, config):
        import dataclasses

        guilds = {"guild_ids": (standin.guild_id,)}
        config = dataclasses.replace(config, discord=dataclasses.replace(config.discord, **guilds))
        async with start(config, standin):
            names = {c["name"] for c in standin.guild_commands[standin.guild_id]}
            assert "digest" in names and {c["name"] for c in standin.commands} == names


async def test_restart_between_send_and_mark_posts_once(tmp_path):
    async with env(tmp_path) as (standin, feeds, config):
        news = standin.channel("news")
        async with start(config, standin) as bot:
            sub = await subscribe_with_news(bot, standin, feeds)
            digest = await bot.service.subscription_digest(sub)
            payloads = render_digest(digest, now=bot.service.clock())
            delivery = await bot.service.enqueue_delivery(sub, sub.target, digest, payloads)
            part = delivery.parts[0]
            # the crash: Discord created the message, the outbox never heard back
            channel = bot.get_partial_messageable(news)
            await channel.send(**payload_to_kwargs(part.payload), nonce=part.nonce)
            assert len(with_nonce(standin, news)) == 1
        async with start(config, standin) as bot:  # the start's catch-up resends what is pending
            await bot.jobs.catch_up_task
            assert await bot.service.pending_deliveries() == []
        messages = with_nonce(standin, news)
        assert len(messages) == len(payloads) == 1
        creates = [
            r
            for r in standin.requests
            if r.method == "POST" and r.path.endswith(f"/channels/{news}/messages")
        ]
        assert len(creates) == 2  # sent twice, shown once: the nonce did it
        assert "Senate passes AI regulation bill" in text_of(messages[0])


async def test_connection_cut_after_create_is_retried_without_a_duplicate(tmp_path):
    async with env(tmp_path) as (standin, feeds, config):
        news = standin.channel("news")
        async with start(config, standin) as bot:
            sub = await subscribe_with_news(bot, standin, feeds)
            standin.drop_after_create(CREATE)
            assert await bot.jobs.run_subscription(sub.id) is True
        assert len(with_nonce(standin, news)) == 1


async def test_burst_of_429s_loses_nothing(tmp_path):
    async with env(tmp_path) as (standin, feeds, config):
        news = standin.channel("news")
        async with start(config, standin) as bot:
            sub = await subscribe_with_news(bot, standin, feeds)
            standin.fail_next(CREATE, 429, times=4, retry_after=0.05)
            assert await bot.jobs.run_subscription(sub.id) is True
            assert [r.status for r in standin.requests if r.method == "POST"].count(429) == 4
        messages = with_nonce(standin, news)
        assert len(messages) == 1 and "Senate passes" in text_of(messages[0])


async def test_outage_keeps_the_digest_pending_until_discord_is_back(tmp_path):
    async with env(tmp_path) as (standin, feeds, config):
        news = standin.channel("news")
        async with start(config, standin) as bot:
            sub = await subscribe_with_news(bot, standin, feeds)
            standin.fail_next(CREATE, 503, times=3)  # every try of this pass
            assert await bot.jobs.run_subscription(sub.id) is False
            (pending,) = await bot.service.pending_deliveries()
            assert pending.attempts == 3
            assert with_nonce(standin, news) == []
            await bot.jobs.poll()  # the next poll tick resends it
            assert await bot.service.pending_deliveries() == []
            assert await bot.jobs.run_subscription(sub.id) is False  # and nothing twice
        assert len(with_nonce(standin, news)) == 1


async def test_forbidden_channel_pauses_the_subscription_and_tells_admins_once(tmp_path):
    async with env(tmp_path) as (standin, feeds, config):
        log_channel = standin.channel("general")
        config = _with_discord(config, log_channel_id=log_channel)
        news = standin.channel("news")
        async with start(config, standin) as bot:
            sub = await subscribe_with_news(bot, standin, feeds)
            standin.forbid_channel(news)
            assert await bot.jobs.run_subscription(sub.id) is False
            assert await bot.jobs.run_subscription(sub.id) is False
            notices = standin.messages.get(log_channel, [])
            assert len(notices) == 1
            assert "Paused digest subscription" in notices[0]["content"]
            assert "lacks permission" in notices[0]["content"]
            record = await standin.send_interaction(None, None, standin.owner_id, "subscriptions")
            answer = await standin.wait_for_response(record)
            assert "paused: the bot lacks permission" in text_of(answer)


async def test_webhook_subscription_posts_through_the_webhook(tmp_path):
    async with env(tmp_path) as (standin, feeds, config):
        news = standin.channel("news")
        hook = standin.add_webhook(news)
        url = f"https://discord.com/api/webhooks/{hook.id}/{hook.token}"
        async with start(config, standin) as bot:
            sub = await subscribe_with_news(bot, standin, feeds, webhook_url=url)
            assert await bot.jobs.run_subscription(sub.id) is True
            assert await bot.jobs.run_subscription(sub.id) is False
        posted = standin.messages[news]
        assert len(posted) == 1 and posted[0]["webhook_id"] == str(hook.id)
        assert "Senate passes AI regulation bill" in text_of(posted[0])
        # a webhook made by a person cannot carry the bot's buttons: the digest goes without
        assert not posted[0].get("components")


async def test_a_scheduled_digest_has_brief_buttons_that_work_after_a_restart(tmp_path):
    async with env(tmp_path) as (standin, feeds, config):
        news = standin.channel("news")
        async with start(config, standin) as bot:
            sub = await subscribe_with_news(bot, standin, feeds)
            assert await bot.jobs.run_subscription(sub.id) is True
            fresh = next(s for s in await bot.service.stories(limit=50) if s.title == FRESH.title)
        (posted,) = with_nonce(standin, news)
        assert f"brief:{fresh.id}" in custom_ids(posted)
        async with start(config, standin):  # a new process: the button still answers
            pressed = await standin.press_button(posted, f"brief:{fresh.id}")
            await standin.wait_for(lambda: pressed.acknowledged, 5)
        reply = pressed.callbacks[0]["data"] if pressed.callbacks else pressed.edits[-1]
        assert pressed.ephemeral
        assert "Senate passes AI regulation bill" in text_of(reply)
        assert len(standin.messages[news]) == 1  # pressing it posted nothing in the channel


async def test_missed_digest_is_sent_once_on_start(tmp_path):
    async with env(tmp_path) as (standin, feeds, config):
        news = standin.channel("news")
        async with start(config, standin) as bot:
            sub = await subscribe_with_news(bot, standin, feeds, schedule="hourly")
            # the bot was down over the last full hour: its run is due and within the grace
            last = bot.service.clock() - timedelta(minutes=90)
            await bot.service.store.outbox.mark_run(sub.id, last)
        async with start(config, standin) as bot:
            await bot.jobs.catch_up_task
            assert len(with_nonce(standin, news)) == 1
        async with start(config, standin) as bot:  # sent: not due again on the next start
            await bot.jobs.catch_up_task
        assert len(with_nonce(standin, news)) == 1


async def test_gateway_drop_resumes_and_commands_still_work(tmp_path):
    async with env(tmp_path) as (standin, _feeds, config):
        async with start(config, standin) as bot:
            await standin.drop_gateway(resumable=True)
            await standin.wait_for(lambda: standin.resume_count == 1, 10, "RESUME")
            assert standin.identify_count == 1
            record = await standin.send_interaction(None, None, None, "topics")
            answer = await standin.wait_for_response(record)
            assert "Topics · last 7 days" in text_of(answer)
            assert bot.is_ready()


async def test_failing_source_is_reported_once(tmp_path):
    async with env(tmp_path) as (standin, feeds, config):
        log_channel = standin.channel("general")
        config = _with_discord(config, log_channel_id=log_channel)
        async with start(config, standin) as bot:
            feeds.add_status(FEED_PATH, 500)
            for _ in range(3):
                await bot.service.poll(due_only=False)
            await bot.jobs.report_failing_sources()
            await bot.jobs.report_failing_sources()
        notices = standin.messages.get(log_channel, [])
        assert len(notices) == 1
        assert "Source Loopback News" in notices[0]["content"]
        assert "keeps failing" in notices[0]["content"]


def _with_discord(config, **changes):
    import dataclasses

    return dataclasses.replace(config, discord=dataclasses.replace(config.discord, **changes))
