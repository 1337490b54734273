"""Run-time permission checks.

``default_permissions`` only hides a command by default, and a server owner can change that
in the server's integration settings; these checks are what actually protect the commands.
"""

from __future__ import annotations

import discord
from discord import app_commands
from discord.ext import commands


class ManageServerRequired(app_commands.CheckFailure):
    """The member lacks Manage Server, which every command that changes settings needs."""

    def __init__(self) -> None:
        super().__init__("You need the Manage Server permission to use this command.")


class ServerOnly(app_commands.CheckFailure):
    def __init__(self) -> None:
        super().__init__("This command works only in a server.")


def ensure_manage_guild(interaction: discord.Interaction) -> bool:
    """True for a member with Manage Server in this server; raises the sentence otherwise."""
    if interaction.guild_id is None:
        raise ServerOnly()
    if not interaction.permissions.manage_guild:
        raise ManageServerRequired()
    return True


#: uses of an expensive command (a digest, a search, a fetch) one person may make per window;
#: one more gets a polite answer saying when to try again
EXPENSIVE_RATE = 5
EXPENSIVE_PER = 60.0


def expensive():
    """A per-user cooldown for a command that reads many stories or fetches a feed."""
    return app_commands.checks.cooldown(EXPENSIVE_RATE, EXPENSIVE_PER, key=_user_key)


def expensive_presses() -> commands.CooldownMapping[discord.Interaction]:
    """The same per-user cooldown for a component (a button), which has no command checks:
    ``update_rate_limit(interaction)`` gives the seconds to wait, or None."""
    return commands.CooldownMapping.from_cooldown(EXPENSIVE_RATE, EXPENSIVE_PER, _user_key)


def _user_key(interaction: discord.Interaction) -> int:
    return interaction.user.id


def manage_guild_only():
    """For single commands: the permission hint, server-only, and the check that enforces it."""

    def decorate(func):
        func = app_commands.check(ensure_manage_guild)(func)
        func = app_commands.guild_only()(func)
        return app_commands.default_permissions(manage_guild=True)(func)

    return decorate
