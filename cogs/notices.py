"""/notices: where this server hears about its broken sources and paused digests."""

from __future__ import annotations

import discord
from discord import app_commands
from discord.ext import commands

from bot.guild import scope_for
from bot.news.errors import NewsError
from cogs._ui.checks import manage_guild_only
from cogs._ui.embeds import notices_line
from cogs._ui.reply import say

#: said once to a server without a notices channel, after /sources add or /subscribe
HINT = (
    "Tip: run `/notices channel:#your-mod-channel` so that this server is told when one of its"
    " sources breaks or a digest is paused (`/notices` shows the setting)."
)

WHAT = (
    "a source of this server failing 3 polls in a row, and when it works again; a digest"
    " subscription paused or resumed; a source capped because one poll brought too many stories"
)


class NoticesCog(commands.Cog):
    def __init__(self, bot: commands.Bot) -> None:
        self.bot = bot
        self.service = bot.service  # type: ignore[attr-defined]

    @app_commands.command(
        name="notices", description="Where this server is told about broken sources and digests"
    )
    @app_commands.describe(
        channel="The channel that gets this server's notices (e.g. #mod-log)",
        off="True: stop this server's notices",
    )
    @manage_guild_only()
    async def notices(
        self,
        interaction: discord.Interaction,
        channel: discord.TextChannel | None = None,
        off: bool = False,
    ) -> None:
        scope = scope_for(interaction)
        if channel is not None and off:
            raise NewsError("choose a channel or off:true, not both")
        if channel is not None:
            await self.service.set_notices(scope, channel_id=channel.id)
            text = (
                f"This server's notices now go to {channel.mention}: {WHAT}."
                " Each is said once; nothing about other servers' feeds."
            )
            me = getattr(channel.guild, "me", None)
            if me is not None and not channel.permissions_for(me).send_messages:
                text += "\n⚠️ briefbot cannot post there yet: give it Send Messages there."
        elif off:
            await self.service.set_notices(scope, off=True)
            text = "This server's notices are off. `/status` still shows failing sources."
        else:
            text = notices_line(await self.service.notice_setting(scope))
        await say(interaction, text, ephemeral=True)


async def setup(bot: commands.Bot) -> None:
    await bot.add_cog(NoticesCog(bot))
