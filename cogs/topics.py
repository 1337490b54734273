"""/topics: the taxonomy with how many stories each topic had in the last 7 days."""

from __future__ import annotations

import discord
from discord import app_commands
from discord.ext import commands

from bot.guild import scope_for
from cogs._ui.embeds import topics_embed
from cogs._ui.reply import in_time, say


class TopicsCog(commands.Cog):
    def __init__(self, bot: commands.Bot) -> None:
        self.bot = bot
        self.service = bot.service  # type: ignore[attr-defined]

    @app_commands.command(
        name="topics", description="Topics with their story counts over the last 7 days"
    )
    async def topics(self, interaction: discord.Interaction) -> None:
        counts = await in_time(interaction, self.service.topic_counts(scope=scope_for(interaction)))
        await say(interaction, embed=topics_embed(counts))


async def setup(bot: commands.Bot) -> None:
    await bot.add_cog(TopicsCog(bot))
