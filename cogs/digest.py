"""/digest: the condensed briefing for a topic (or search words) over a window."""

from __future__ import annotations

import discord
from discord import app_commands
from discord.ext import commands

from bot.guild import scope_for
from bot.render import render_digest
from cogs._ui import autocomplete
from cogs._ui.checks import expensive
from cogs._ui.filters import DESCRIBE, filters_from
from cogs._ui.options import SINCE_CHOICES, window
from cogs._ui.reply import answer, in_time
from cogs.story import brief_view


class DigestCog(commands.Cog):
    def __init__(self, bot: commands.Bot) -> None:
        self.bot = bot
        self.service = bot.service  # type: ignore[attr-defined]

    @app_commands.command(name="digest", description="A condensed news briefing, grouped by topic")
    @app_commands.describe(
        topic="A topic (suggestions as you type); any other words search the stories",
        since="How far back to look (default: the last 24 hours)",
        limit="How many lead stories (default from the bot's configuration)",
        private="Show the briefing only to you (default: everyone in the channel sees it)",
        include=DESCRIBE["include"],
        exclude=DESCRIBE["exclude"],
        sources=DESCRIBE["sources"],
        min_outlets=DESCRIBE["min_outlets"],
    )
    @app_commands.choices(since=SINCE_CHOICES)
    @app_commands.autocomplete(topic=autocomplete.topic)
    @expensive()
    async def digest(
        self,
        interaction: discord.Interaction,
        topic: app_commands.Range[str, 1, 100] | None = None,
        since: app_commands.Choice[str] | None = None,
        limit: app_commands.Range[int, 1, 25] | None = None,
        private: bool = False,
        include: app_commands.Range[str, 1, 300] | None = None,
        exclude: app_commands.Range[str, 1, 300] | None = None,
        sources: app_commands.Range[str, 1, 300] | None = None,
        min_outlets: app_commands.Range[int, 1, 50] | None = None,
    ) -> None:
        work = self.service.filtered_digest(
            scope=scope_for(interaction),
            topics=[topic] if topic else [],
            since=window(since),
            limit=limit,
            filters=filters_from(include, exclude, sources, min_outlets),
        )
        digest = await in_time(interaction, work, ephemeral=private)
        payloads = render_digest(digest, now=self.service.clock())
        await answer(interaction, payloads, ephemeral=private, view=brief_view(payloads[-1]))


async def setup(bot: commands.Bot) -> None:
    await bot.add_cog(DigestCog(bot))
