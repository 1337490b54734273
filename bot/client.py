"""The Discord client: a commands.Bot that gets its service and session handed in.

It owns what lives exactly as long as the connection: the cogs, the scheduler and the outbox
deliverer. The database and HTTP sessions are opened and closed by whoever built the bot
(:mod:`bot.app`), so the bot never closes what it did not open.
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Sequence
from datetime import timedelta
from typing import Any

import aiohttp
import discord
from discord.ext import commands

from bot.config import Config
from bot.deliver import DEFAULT_RETRY_DELAYS, Deliverer
from bot.jobs import FIRST_POLL, POLL_EVERY, Jobs
from bot.news.service import NewsService
from cogs import EXTENSIONS

log = logging.getLogger(__name__)

#: the meta key holding the hash of the command tree last synced to Discord
COMMANDS_HASH_KEY = "discord_commands_hash"
#: how long shutdown waits for deliveries under way before leaving them in the outbox
SHUTDOWN_GRACE = 10.0


def bot_intents() -> discord.Intents:
    """Default intents without the privileged ones: slash commands need no message content."""
    intents = discord.Intents.default()
    intents.members = False
    intents.presences = False
    intents.message_content = False
    return intents


def command_tree_hash(tree: discord.app_commands.CommandTree, guild_ids: Sequence[int]) -> str:
    """A fingerprint of what a sync would upload, so unchanged commands are not re-synced."""
    commands_json = [c.to_dict(tree) for c in tree.get_commands()]
    data = {"commands": commands_json, "guilds": sorted(guild_ids)}
    return hashlib.sha256(json.dumps(data, sort_keys=True).encode()).hexdigest()


class BriefBot(commands.Bot):
    def __init__(
        self,
        config: Config,
        service: NewsService,
        session: aiohttp.ClientSession,
        *,
        poll_every: timedelta = POLL_EVERY,
        retry_delays: Sequence[float] = DEFAULT_RETRY_DELAYS,
        shutdown_grace: float = SHUTDOWN_GRACE,
        first_poll: timedelta | None = FIRST_POLL,
        **client_options: Any,
    ) -> None:
        d = config.discord
        if d.shards and isinstance(self, commands.AutoShardedBot):
            client_options.setdefault("shard_count", d.shards)
            if d.shard_ids:
                client_options.setdefault("shard_ids", list(d.shard_ids))
        super().__init__(
            command_prefix=commands.when_mentioned,
            intents=bot_intents(),
            # nothing this bot sends may ping anyone, whatever text a feed contains
            allowed_mentions=discord.AllowedMentions.none(),
            help_command=None,
            **client_options,
        )
        self.config = config
        self.service = service
        self.session = session
        self.shutdown_grace = shutdown_grace
        self.deliverer = Deliverer(
            self,
            service,
            session,
            log_channel_id=config.discord.log_channel_id,
            retry_delays=retry_delays,
            lease=timedelta(seconds=config.worker.lease_seconds),
        )
        self.jobs = Jobs(
            service, self.deliverer, config, poll_every=poll_every, first_poll=first_poll
        )
        #: whether this start uploaded the command tree (False: it was unchanged)
        self.synced_commands = False

    async def setup_hook(self) -> None:
        for extension in EXTENSIONS:
            await self.load_extension(extension)
        self.synced_commands = await self.sync_commands()
        await self.jobs.start()

    async def sync_commands(self) -> bool:
        """Upload the slash commands when they differ from the last upload; True if uploaded.

        Global commands can take a while to show up in every server, so the servers in
        ``[discord] guild_ids`` get them as guild commands too, which appear at once.
        """
        guild_ids = self.config.discord.guild_ids
        fingerprint = command_tree_hash(self.tree, guild_ids)
        meta = self.service.store.outbox
        if await meta.get_meta(COMMANDS_HASH_KEY) == fingerprint:
            log.info("slash commands unchanged; not syncing")
            return False
        synced = await self.tree.sync()
        for guild_id in guild_ids:
            guild = discord.Object(id=guild_id)
            self.tree.copy_global_to(guild=guild)
            await self.tree.sync(guild=guild)
        await meta.set_meta(COMMANDS_HASH_KEY, fingerprint)
        log.info("synced %d slash commands (and to %d guilds)", len(synced), len(guild_ids))
        return True

    async def on_ready(self) -> None:
        log.info("connected as %s to %d servers", self.user, len(self.guilds))

    async def close(self) -> None:
        """Stop the jobs, let deliveries under way finish, then disconnect."""
        await self.jobs.shutdown(self.shutdown_grace)
        await super().close()


class ShardedBriefBot(BriefBot, commands.AutoShardedBot):
    """The same bot over some of the shards (``[discord] shards`` / ``run --shards``)."""


def bot_class(config: Config) -> type[BriefBot]:
    """The sharded client when shards are configured, else the plain one."""
    return ShardedBriefBot if config.discord.shards or config.discord.shard_ids else BriefBot
