"""/status: source health, last poll, stories stored, next digests, version."""

from __future__ import annotations

import discord
from discord import app_commands
from discord.ext import commands

from bot.guild import scope_for
from cogs._ui.embeds import status_embed
from cogs._ui.reply import in_time, say


class StatusCog(commands.Cog):
    def __init__(self, bot: commands.Bot) -> None:
        self.bot = bot
        self.service = bot.service  # type: ignore[attr-defined]

    @app_commands.command(
        name="status", description="Sources ok and failing, last poll, stories, next digests"
    )
    async def status(self, interaction: discord.Interaction) -> None:
        status = await in_time(interaction, self.service.status(scope=scope_for(interaction)))
        await say(interaction, embed=status_embed(status))


async def setup(bot: commands.Bot) -> None:
    await bot.add_cog(StatusCog(bot))
