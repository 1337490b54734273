"""/search: ranked stories for a query, paged with buttons only the asker can press."""

from __future__ import annotations

import discord
from discord import app_commands
from discord.ext import commands

from bot.guild import scope_for
from cogs._ui import autocomplete
from cogs._ui.checks import expensive
from cogs._ui.options import SINCE_CHOICES, window
from cogs._ui.paginator import StoryPages
from cogs._ui.reply import answer, in_time

MAX_RESULTS = 50


class SearchCog(commands.Cog):
    def __init__(self, bot: commands.Bot) -> None:
        self.bot = bot
        self.service = bot.service  # type: ignore[attr-defined]

    @app_commands.command(
        name="search", description="Search the stored stories, best matches first"
    )
    @app_commands.describe(
        query="Words to find: stories that have all of them (the last may be the start of a word)",
        topic="Only stories tagged with this topic",
        since="How far back to look (default: everything stored)",
    )
    @app_commands.choices(since=SINCE_CHOICES)
    @app_commands.autocomplete(topic=autocomplete.topic)
    @expensive()
    async def search(
        self,
        interaction: discord.Interaction,
        query: app_commands.Range[str, 1, 200],
        topic: str | None = None,
        since: app_commands.Choice[str] | None = None,
    ) -> None:
        work = self.service.search(
            query,
            scope=scope_for(interaction),
            since=window(since),
            topics=[topic] if topic else [],
            limit=MAX_RESULTS,
        )
        stories = await in_time(interaction, work)
        pages = StoryPages(
            stories,
            title=f"Search: {query}",
            owner_id=interaction.user.id,
            now=self.service.clock(),
        )
        await answer(interaction, pages.payload(), view=pages if pages.pages > 1 else None)
        pages.interaction = interaction


async def setup(bot: commands.Bot) -> None:
    await bot.add_cog(SearchCog(bot))
