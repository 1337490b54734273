"""Paged story lists with Previous/Next buttons that only the person who asked can press."""

from __future__ import annotations

import logging
import math
from collections.abc import Sequence
from datetime import datetime

import discord

from bot.news.models import Story
from bot.render import payload_to_kwargs, render_stories

log = logging.getLogger(__name__)

PAGE_TIMEOUT = 600.0  # buttons stop working (and are removed) after ten minutes
PER_PAGE = 5


class StoryPages(discord.ui.View):
    def __init__(
        self,
        stories: Sequence[Story],
        *,
        title: str,
        owner_id: int,
        now: datetime,
        per_page: int = PER_PAGE,
        timeout: float = PAGE_TIMEOUT,
    ) -> None:
        super().__init__(timeout=timeout)
        self.stories = list(stories)
        self.title = title
        self.owner_id = owner_id
        self.now = now
        self.per_page = per_page
        self.page = 0
        self.pages = max(1, math.ceil(len(self.stories) / per_page))
        #: the interaction whose answer carries the buttons, so they can be removed on timeout
        self.interaction: discord.Interaction | None = None
        self._update_buttons()

    def payload(self) -> dict:
        return render_stories(
            self.stories, title=self.title, now=self.now, page=self.page, per_page=self.per_page
        )

    def _update_buttons(self) -> None:
        self.previous.disabled = self.page == 0
        self.next.disabled = self.page >= self.pages - 1

    async def interaction_check(self, interaction: discord.Interaction) -> bool:
        if interaction.user.id == self.owner_id:
            return True
        await interaction.response.send_message(
            "Only the person who ran this command can turn its pages; "
            "run it yourself to get your own.",
            ephemeral=True,
        )
        return False

    async def _show(self, interaction: discord.Interaction, page: int) -> None:
        self.page = min(max(0, page), self.pages - 1)
        self._update_buttons()
        await interaction.response.edit_message(**payload_to_kwargs(self.payload()), view=self)

    @discord.ui.button(label="◀ Previous", style=discord.ButtonStyle.secondary)
    async def previous(self, interaction: discord.Interaction, _button: discord.ui.Button) -> None:
        await self._show(interaction, self.page - 1)

    @discord.ui.button(label="Next ▶", style=discord.ButtonStyle.secondary)
    async def next(self, interaction: discord.Interaction, _button: discord.ui.Button) -> None:
        await self._show(interaction, self.page + 1)

    async def on_timeout(self) -> None:
        if self.interaction is None:
            return
        try:  # the interaction token outlives the view (15 minutes against 10)
            await self.interaction.edit_original_response(view=None)
        except discord.HTTPException as exc:
            log.debug("could not remove expired page buttons: %s", exc)
