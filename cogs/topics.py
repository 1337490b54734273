"""/topics: the taxonomy with story counts; /retag: an admin corrects a story's topics."""

from __future__ import annotations

import discord
from discord import app_commands
from discord.ext import commands

from bot.guild import scope_for
from bot.news.errors import NewsError
from bot.render import escape
from cogs._ui import autocomplete
from cogs._ui.checks import manage_guild_only
from cogs._ui.embeds import topics_embed
from cogs._ui.reply import in_time, say


def topic_list(text: str) -> list[str]:
    return [t.strip().lower() for t in text.split(",") if t.strip()]


class TopicsCog(commands.Cog):
    def __init__(self, bot: commands.Bot) -> None:
        self.bot = bot
        self.service = bot.service  # type: ignore[attr-defined]

    @app_commands.command(
        name="topics", description="Topics with their story counts over the last 7 days"
    )
    async def topics(self, interaction: discord.Interaction) -> None:
        scope = scope_for(interaction)
        counts = await in_time(interaction, self.service.topic_counts(scope=scope))
        corrections = await self.service.correction_counts(scope=scope)
        await say(interaction, embed=topics_embed(counts, corrections))

    @app_commands.command(name="retag", description="Correct a story's topics for this server")
    @app_commands.describe(
        story="The story (type words of its headline, or its number)",
        topic="One to three topics, comma-separated, or 'none'",
    )
    @app_commands.autocomplete(story=autocomplete.story, topic=autocomplete.topic_list)
    @manage_guild_only()
    async def retag(
        self,
        interaction: discord.Interaction,
        story: app_commands.Range[str, 1, 100],
        topic: app_commands.Range[str, 1, 200],
    ) -> None:
        number = story.strip().lstrip("#")
        if not number.isdigit():
            raise NewsError("pick a story from the suggestions, or give its number")
        scope = scope_for(interaction)
        fixed = await self.service.retag_story(int(number), topic_list(topic), scope=scope)
        topics = ", ".join(f"`{t}`" for t in fixed.topics) or "no topic"
        await say(
            interaction,
            f"**{escape(fixed.headline)}** now has {topics} in this server's digests;"
            " similar stories will follow it.",
        )


async def setup(bot: commands.Bot) -> None:
    await bot.add_cog(TopicsCog(bot))
