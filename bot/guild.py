"""Scopes: which sources and subscriptions a Discord server sees.

A guild's own sources and subscriptions live in scope ``guild:<id>``; the sources from the
bot's configuration live in ``global`` and every guild reads them. Direct messages see only
the global scope.
"""

from __future__ import annotations

import discord

from bot.news.store import GLOBAL


def scope_of(guild_id: int | None) -> str:
    return f"guild:{guild_id}" if guild_id else GLOBAL


def scope_for(interaction: discord.Interaction) -> str:
    return scope_of(interaction.guild_id)


def guild_of(scope: str) -> int | None:
    """The guild id of a ``guild:<id>`` scope; None for the global scope."""
    prefix, _, rest = scope.partition(":")
    return int(rest) if prefix == "guild" and rest.isdigit() else None
