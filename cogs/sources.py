"""/sources add|remove|list|test: a server's own feeds (Manage Server only).

Sources from the bot's configuration are server-wide: every server reads them, none can remove
them from Discord.
"""

from __future__ import annotations

import discord
from discord import app_commands
from discord.ext import commands

from bot.config import format_duration
from bot.guild import scope_for
from bot.render import escape, render_stories
from cogs._ui import autocomplete
from cogs._ui.checks import ensure_manage_guild, expensive
from cogs._ui.embeds import sources_embed
from cogs._ui.options import INTERVAL_CHOICES, window
from cogs._ui.reply import answer, in_time, say
from cogs.notices import HINT


@app_commands.guild_only()
@app_commands.default_permissions(manage_guild=True)
class SourcesCog(
    commands.GroupCog, group_name="sources", group_description="Manage this server's news sources"
):
    def __init__(self, bot: commands.Bot) -> None:
        self.bot = bot
        self.service = bot.service  # type: ignore[attr-defined]
        super().__init__()

    async def interaction_check(self, interaction: discord.Interaction) -> bool:
        return ensure_manage_guild(interaction)

    @app_commands.command(name="add", description="Add a feed, or a web page that names one")
    @app_commands.describe(
        url="The feed's URL (RSS, Atom, JSON Feed) or a site's page that links its feed",
        name="A display name (default: the feed's own title)",
        interval="How often to check it (default from the bot's configuration)",
    )
    @app_commands.choices(interval=INTERVAL_CHOICES)
    @expensive()
    async def add(
        self,
        interaction: discord.Interaction,
        url: app_commands.Range[str, 8, 500],
        name: app_commands.Range[str, 1, 100] | None = None,
        interval: app_commands.Choice[str] | None = None,
    ) -> None:
        work = self.service.add_source(
            url, scope=scope_for(interaction), name=name, interval=window(interval)
        )
        added = await in_time(interaction, work, ephemeral=True)
        s = added.source
        text = (
            f"Added **{escape(s.name)}** (`#{s.id}`) <{s.url}>: {added.report.new_stories} stories"
            f" read, none announced as new. Checked every {format_duration(s.interval)}."
        )
        for _name, error in added.report.failures:
            text += f"\nIts first read failed ({escape(error)}); it will be retried."
        if added.note:
            text = escape(added.note) + "\n" + text
        if await self.service.notices_hint(scope_for(interaction)):
            text += "\n" + HINT
        await say(interaction, text, ephemeral=True)

    @app_commands.command(name="remove", description="Remove one of this server's sources")
    @app_commands.describe(source="The source (suggestions as you type; id, URL or name)")
    @app_commands.autocomplete(source=autocomplete.own_source)
    async def remove(self, interaction: discord.Interaction, source: str) -> None:
        removed = await self.service.remove_source(source, scope=scope_for(interaction))
        await say(
            interaction, f"Removed **{escape(removed.name)}** <{removed.url}>.", ephemeral=True
        )

    @app_commands.command(name="list", description="This server's sources and their health")
    async def list_sources(self, interaction: discord.Interaction) -> None:
        scope = scope_for(interaction)
        sources = await in_time(interaction, self.service.list_sources(scope=scope), ephemeral=True)
        await say(interaction, embed=sources_embed(sources, scope), ephemeral=True)

    @app_commands.command(
        name="test", description="Preview three condensed stories of a feed, without adding it"
    )
    @app_commands.describe(url="The feed's URL, or a site's page that links its feed")
    @expensive()
    async def test(
        self, interaction: discord.Interaction, url: app_commands.Range[str, 8, 500]
    ) -> None:
        title, stories = await in_time(interaction, self.service.test_source(url), ephemeral=True)
        if not stories:
            await say(interaction, "The feed works, but it has no stories yet.", ephemeral=True)
            return
        payload = render_stories(
            stories, title=f"Preview: {title}", now=self.service.clock(), per_page=3
        )
        await answer(interaction, payload, ephemeral=True)


async def setup(bot: commands.Bot) -> None:
    await bot.add_cog(SourcesCog(bot))
