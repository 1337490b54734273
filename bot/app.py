"""``briefbot run``: build the bot's dependencies, run it until a signal, close them again.

Whoever opens a thing closes it: :func:`open_bot` opens the HTTP sessions and the service (with
its database), hands them to the bot, and closes them after the bot has stopped. The tests use
the same :func:`open_bot` / :func:`running_bot`, pointed at a loopback Discord stand-in.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import signal
import sys
from collections.abc import AsyncIterator, Callable, Mapping
from datetime import datetime
from typing import Any

import aiohttp
import discord
import discord.gateway
import discord.http
import yarl

from bot.client import BriefBot, bot_class
from bot.config import Config
from bot.logs import RedactingFilter
from bot.news.fetch import Fetcher
from bot.news.service import NewsService, fetch_settings

log = logging.getLogger(__name__)

EXIT_OK, EXIT_ERROR = 0, 1

HOW_TO_GET_A_TOKEN = """\
briefbot: no Discord bot token: set ${env} (see [discord] token_env).
To create a bot and get its token:
  1. Open https://discord.com/developers/applications and click "New Application".
  2. On the "Bot" page click "Reset Token" and copy the token (it is shown once; keep it secret).
  3. On "OAuth2" > "URL Generator" tick "bot" and "applications.commands", then the permissions
     View Channels, Send Messages, Embed Links and Read Message History; open the URL it
     makes to add the bot.
  4. Start it with: {env}=<token> briefbot run
"""


def bot_token(config: Config, environ: Mapping[str, str] = os.environ) -> str | None:
    """The token from ``[discord] token_env`` (default DISCORD_TOKEN), else DISCORD_TOKEN."""
    for name in (config.discord.token_env, "DISCORD_TOKEN"):
        value = environ.get(name, "").strip()
        if value:
            return value
    return None


def configure_endpoints(config: Config) -> Callable[[], None]:
    """Point discord.py at ``[discord] api_base`` and ``gateway_url``; returns an undo.

    discord.py reads both from class attributes: REST from ``Route.BASE``, and a non-sharded
    client dials ``DiscordWebSocket.DEFAULT_GATEWAY`` without asking ``/gateway/bot``.
    """
    old_base = discord.http.Route.BASE
    old_gateway = discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY
    discord.http.Route.BASE = config.discord.api_base.rstrip("/")
    discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY = yarl.URL(config.discord.gateway_url)

    def undo() -> None:
        discord.http.Route.BASE = old_base
        discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY = old_gateway

    return undo


@contextlib.asynccontextmanager
async def open_bot(
    config: Config,
    *,
    clock: Callable[[], datetime] | None = None,
    **bot_options: Any,
) -> AsyncIterator[BriefBot]:
    """The bot with its service and sessions; on exit the bot is closed, then what it was given."""
    feed_session = Fetcher.make_session(fetch_settings(config))
    discord_session = aiohttp.ClientSession()  # webhooks; not behind the feed fetcher's guard
    try:
        extra = {"clock": clock} if clock is not None else {}
        service = await NewsService.open(config, session=feed_session, **extra)
        try:
            bot = bot_class(config)(config, service, discord_session, **bot_options)
            try:
                yield bot
            finally:
                if not bot.is_closed():
                    await bot.close()
        finally:
            await service.close()
    finally:
        await discord_session.close()
        await feed_session.close()


@contextlib.asynccontextmanager
async def running_bot(
    config: Config, token: str, *, ready_timeout: float = 15.0, **options: Any
) -> AsyncIterator[BriefBot]:
    """A started, connected bot (as ``briefbot run`` starts it) for as long as the block runs."""
    undo = configure_endpoints(config)
    try:
        async with open_bot(config, **options) as bot:
            task = asyncio.create_task(bot.start(token), name="briefbot")
            try:
                await _until_ready(bot, task, ready_timeout)
                yield bot
            finally:
                await bot.close()
                with contextlib.suppress(asyncio.CancelledError):
                    await asyncio.wait_for(task, 10)
    finally:
        undo()


async def _until_ready(bot: BriefBot, task: asyncio.Task, timeout: float) -> None:  # noqa: ASYNC109
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not bot.is_ready():
        if task.done():
            task.result()  # raises what stopped it
            raise RuntimeError("the bot stopped before it was ready")
        if loop.time() > deadline:
            raise TimeoutError(f"the bot was not ready within {timeout}s")
        await asyncio.sleep(0.02)


async def serve(config: Config, token: str) -> None:
    """Run the bot until SIGTERM or SIGINT, then shut down cleanly."""
    configure_endpoints(config)
    async with open_bot(config) as bot:
        loop = asyncio.get_running_loop()
        stopping: list[asyncio.Task] = []

        def stop(signame: str) -> None:
            if not stopping:
                log.info("%s received; finishing deliveries under way and shutting down", signame)
                stopping.append(loop.create_task(bot.close()))

        for sig in (signal.SIGTERM, signal.SIGINT):
            with contextlib.suppress(NotImplementedError):  # not on Windows
                loop.add_signal_handler(sig, stop, sig.name)
        try:
            await bot.start(token)
        finally:
            if stopping:
                await stopping[0]
            for sig in (signal.SIGTERM, signal.SIGINT):
                with contextlib.suppress(NotImplementedError):
                    loop.remove_signal_handler(sig)
    log.info("stopped")


def run_bot(config: Config) -> int:
    """The ``briefbot run`` command; returns the exit status."""
    token = bot_token(config)
    if not token:
        print(HOW_TO_GET_A_TOKEN.format(env=config.discord.token_env), file=sys.stderr, end="")
        return EXIT_ERROR
    for handler in logging.getLogger().handlers:
        handler.addFilter(RedactingFilter((token,)))
    try:
        asyncio.run(serve(config, token))
    except discord.LoginFailure:
        print(
            f"briefbot: Discord rejected the token in ${config.discord.token_env}; "
            "reset it on the bot's page in the developer portal and set it again.",
            file=sys.stderr,
        )
        return EXIT_ERROR
    except discord.PrivilegedIntentsRequired:  # pragma: no cover - we ask for none
        print("briefbot: Discord refused the gateway intents.", file=sys.stderr)
        return EXIT_ERROR
    return EXIT_OK
