"""`briefbot run` itself: no token, and a clean shutdown on SIGTERM."""

from __future__ import annotations

import asyncio
import os
import signal

import pytest

from bot.app import run_bot, serve
from bot.config import load_config
from bot.news.store import Store
from tests.e2e.conftest import FEED_PATH, REGULATION, make_config, rss, started_standin
from tests.feedserver import FeedServer

pytestmark = pytest.mark.e2e


def test_run_without_a_token_explains_how_to_get_one(monkeypatch, capsys):
    monkeypatch.delenv("DISCORD_TOKEN", raising=False)
    assert run_bot(load_config({})) == 1
    err = capsys.readouterr().err
    assert "no Discord bot token: set $DISCORD_TOKEN" in err
    assert "https://discord.com/developers/applications" in err
    assert "Reset Token" in err and "applications.commands" in err


async def test_sigterm_shuts_down_cleanly(tmp_path):
    async with FeedServer() as feeds, started_standin() as standin:
        feeds.add(FEED_PATH, rss(REGULATION), content_type="application/rss+xml")
        config = make_config(tmp_path, standin, feeds.url(FEED_PATH))
        task = asyncio.create_task(serve(config, standin.token))
        await standin.wait_until_ready(10)
        await standin.wait_for(lambda: standin.command_syncs, 10, "command sync")
        os.kill(os.getpid(), signal.SIGTERM)
        await asyncio.wait_for(task, 15)  # returns: the bot closed, then the service
    store = await Store.open(config.storage.path)  # the database was closed cleanly
    try:
        assert await store.outbox.get_meta("heartbeat")
    finally:
        await store.close()
