"""/story and the "Brief" buttons: the long briefing of one story, from every outlet.

A Brief button's custom id carries the story id (``brief:123``), so a button keeps working
on any message after a restart; its answer is shown only to the member who pressed it. The
renderer writes the buttons into a digest's payload as component JSON (the outbox stores
it); :func:`brief_view` turns that back into these buttons, for ``/digest`` answers and for
scheduled digests alike.
"""

from __future__ import annotations

import logging
import re
from typing import Any

import discord
from discord import app_commands
from discord.ext import commands

from bot.guild import scope_for
from bot.news.errors import NewsError
from bot.render import BRIEF_PREFIX, LABEL_MAX
from bot.render_briefing import render_briefing
from cogs._ui.checks import expensive, expensive_presses
from cogs._ui.reply import answer, in_time, tell_error
from cogs.errors import UNEXPECTED, cooldown_message, sentence

log = logging.getLogger(__name__)


async def show_briefing(
    interaction: discord.Interaction, service, story_id: int, *, ephemeral: bool
) -> None:
    work = service.story_briefing(story_id, scope=scope_for(interaction))
    briefing = await in_time(interaction, work, ephemeral=ephemeral)
    await answer(interaction, render_briefing(briefing), ephemeral=ephemeral)


#: each member's Brief presses, under the same cooldown as /story
_PRESSES = expensive_presses()


class BriefButton(
    discord.ui.DynamicItem[discord.ui.Button], template=BRIEF_PREFIX + r"(?P<id>[0-9]{1,18})"
):
    """A button that shows one story's briefing to whoever presses it."""

    def __init__(self, story_id: int, label: str = "Brief") -> None:
        super().__init__(
            discord.ui.Button(
                label=label[:LABEL_MAX],
                style=discord.ButtonStyle.secondary,
                custom_id=f"{BRIEF_PREFIX}{story_id}",
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
        retry = _PRESSES.update_rate_limit(interaction)
        if retry:
            await tell_error(interaction, cooldown_message(retry, what="a Brief button"))
            return
        try:
            await show_briefing(interaction, service, self.story_id, ephemeral=True)
        except NewsError as exc:
            await tell_error(interaction, sentence(str(exc)[:1800]))
        except Exception:
            log.exception("the Brief button of story %s failed", self.story_id)
            await tell_error(interaction, UNEXPECTED)


def brief_view(payload: dict[str, Any]) -> discord.ui.View | None:
    """The Brief buttons a rendered payload describes (``components``), or None.

    A view of dynamic items only is not kept per message by discord.py, so a day of
    scheduled digests does not pile views up in memory.
    """
    view = discord.ui.View(timeout=None)
    for row, action_row in enumerate(payload.get("components") or ()):
        for button in action_row.get("components") or ():
            match = BriefButton.__discord_ui_compiled_template__.fullmatch(
                str(button.get("custom_id") or "")
            )
            if match:
                item = BriefButton(int(match["id"]), str(button.get("label") or "Brief"))
                item.item.row = row
                view.add_item(item)
    return view if view.children else None


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
    deliverer = getattr(bot, "deliverer", None)
    if deliverer is not None:  # scheduled digests get their Brief buttons too
        deliverer.view_for = brief_view
    await bot.add_cog(StoryCog(bot))
