"""/story and the "Brief" buttons: the long briefing of one story, from every outlet.

A Brief button's custom id carries the story id (``brief:123``), so a button keeps working
on any message after a restart; its answer is shown only to the member who pressed it.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Sequence

import discord
from discord import app_commands
from discord.ext import commands

from bot.guild import scope_for
from bot.news.errors import NewsError
from bot.news.models import Story
from bot.render_briefing import render_briefing
from bot.textrender import headline_of
from cogs._ui.checks import expensive
from cogs._ui.reply import answer, in_time, tell_error
from cogs.errors import UNEXPECTED, sentence

log = logging.getLogger(__name__)

#: Discord allows 25 buttons on a message (five rows of five) and 80 characters a label
MAX_BUTTONS = 25
LABEL_MAX = 80


async def show_briefing(
    interaction: discord.Interaction, service, story_id: int, *, ephemeral: bool
) -> None:
    work = service.story_briefing(story_id, scope=scope_for(interaction))
    briefing = await in_time(interaction, work, ephemeral=ephemeral)
    await answer(interaction, render_briefing(briefing), ephemeral=ephemeral)


class BriefButton(discord.ui.DynamicItem[discord.ui.Button], template=r"brief:(?P<id>[0-9]{1,18})"):
    """A button that shows one story's briefing to whoever presses it."""

    def __init__(self, story_id: int, label: str = "Brief") -> None:
        super().__init__(
            discord.ui.Button(
                label=label[:LABEL_MAX],
                style=discord.ButtonStyle.secondary,
                custom_id=f"brief:{story_id}",
            )
        )
        self.story_id = story_id

    @classmethod
    async def from_custom_id(
        cls, interaction: discord.Interaction, item: discord.ui.Button, match: re.Match[str], /
    ) -> BriefButton:
        return cls(int(match["id"]))

    async def callback(self, interaction: discord.Interaction) -> None:
        # a component's errors do not reach the command tree's handler: answer them here
        service = interaction.client.service  # type: ignore[attr-defined]
        try:
            await show_briefing(interaction, service, self.story_id, ephemeral=True)
        except NewsError as exc:
            await tell_error(interaction, sentence(str(exc)[:1800]))
        except Exception:
            log.exception("the Brief button of story %s failed", self.story_id)
            await tell_error(interaction, UNEXPECTED)


def brief_buttons(stories: Sequence[Story]) -> discord.ui.View | None:
    """One "Brief" button per story (at most 25), or None when there are none."""
    if not stories:
        return None
    view = discord.ui.View(timeout=None)
    for story in stories[:MAX_BUTTONS]:
        label = "Brief: " + headline_of(story)
        if len(label) > LABEL_MAX:
            label = label[: LABEL_MAX - 1].rsplit(" ", 1)[0] + "…"
        view.add_item(BriefButton(story.id, label))
    return view


class StoryCog(commands.Cog):
    def __init__(self, bot: commands.Bot) -> None:
        self.bot = bot
        self.service = bot.service  # type: ignore[attr-defined]

    @app_commands.command(
        name="story", description="The long briefing of one story, from every outlet that had it"
    )
    @app_commands.describe(
        id="The story's id (on its Brief button and in `briefbot stories`)",
        private="Show the briefing only to you (default: everyone in the channel sees it)",
    )
    @expensive()
    async def story(
        self,
        interaction: discord.Interaction,
        id: app_commands.Range[int, 1, 2**53 - 1],
        private: bool = False,
    ) -> None:
        await show_briefing(interaction, self.service, id, ephemeral=private)


async def setup(bot: commands.Bot) -> None:
    bot.add_dynamic_items(BriefButton)
    await bot.add_cog(StoryCog(bot))
