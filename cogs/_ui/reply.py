"""Answering interactions inside Discord's three-second window.

:func:`in_time` runs the work and answers at once when it is quick; when it is not, it defers
(the user sees "thinking...") before the window closes and the answer edits that message. A
quick failure thus still gets its own ephemeral answer from the error handler.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Sequence
from typing import Any, TypeVar

import discord

from bot.render import payload_to_kwargs

T = TypeVar("T")

NO_MENTIONS = discord.AllowedMentions.none()
#: Discord allows 3 s for the first answer; defer well before that on a busy machine
DEFER_AFTER = 1.5
ANSWERED = "briefbot_answered"


async def in_time(
    interaction: discord.Interaction,
    work: Awaitable[T],
    *,
    ephemeral: bool = False,
    defer_after: float = DEFER_AFTER,
) -> T:
    """Await ``work``; if it takes longer than ``defer_after`` seconds, defer first."""
    task = asyncio.ensure_future(work)
    done, _ = await asyncio.wait({task}, timeout=defer_after)
    if not done and not interaction.response.is_done():
        await interaction.response.defer(thinking=True, ephemeral=ephemeral)
    return await task


async def answer(
    interaction: discord.Interaction,
    payloads: dict[str, Any] | Sequence[dict[str, Any]],
    *,
    ephemeral: bool = False,
    view: discord.ui.View | None = None,
) -> None:
    """Send message payloads as the interaction's answer (then follow-ups, in order);
    ``view`` goes under the last of them."""
    items = [payloads] if isinstance(payloads, dict) else list(payloads)
    first, rest = items[0], items[1:]
    kwargs = payload_to_kwargs(first)
    if view is not None and not rest:
        kwargs["view"] = view
    if not interaction.response.is_done():
        await interaction.response.send_message(
            **kwargs, ephemeral=ephemeral, allowed_mentions=NO_MENTIONS
        )
    else:
        kwargs.setdefault("content", None)
        kwargs.setdefault("embeds", [])
        await interaction.edit_original_response(**kwargs, allowed_mentions=NO_MENTIONS)
    interaction.extras[ANSWERED] = True
    for i, payload in enumerate(rest, start=1):
        extra = {"view": view} if view is not None and i == len(rest) else {}
        await interaction.followup.send(
            **payload_to_kwargs(payload), ephemeral=ephemeral, allowed_mentions=NO_MENTIONS, **extra
        )


async def say(
    interaction: discord.Interaction,
    text: str | None = None,
    *,
    embed: discord.Embed | None = None,
    ephemeral: bool = False,
) -> None:
    """A short text and/or one embed as the answer."""
    payload: dict[str, Any] = {}
    if text:
        payload["content"] = text
    if embed is not None:
        payload["embeds"] = [embed.to_dict()]
    await answer(interaction, payload, ephemeral=ephemeral)


async def tell_error(interaction: discord.Interaction, text: str) -> None:
    """An error sentence: its own ephemeral answer when possible, else in place of "thinking"."""
    if not interaction.response.is_done():
        await interaction.response.send_message(text, ephemeral=True, allowed_mentions=NO_MENTIONS)
    elif interaction.extras.get(ANSWERED):
        await interaction.followup.send(text, ephemeral=True, allowed_mentions=NO_MENTIONS)
    else:
        await interaction.edit_original_response(
            content=text, embeds=[], view=None, allowed_mentions=NO_MENTIONS
        )
