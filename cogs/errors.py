"""The one error handler for slash commands: a clear sentence for the user, a log for the rest.

Errors the core raises on purpose (NewsError and its children) and failed checks are things a
user can act on: they get the message as one ephemeral sentence. Anything else is a bug or an
outage: it is logged with its traceback and the user sees only that it was logged.
"""

from __future__ import annotations

import logging

import discord
from discord import app_commands
from discord.ext import commands

from bot.news.errors import NewsError
from cogs._ui.reply import tell_error

log = logging.getLogger(__name__)

UNEXPECTED = "Something went wrong; the error was logged."


def sentence(text: str) -> str:
    """The core's messages are lower-case clauses; show them as a sentence."""
    text = " ".join(str(text).split())
    if not text:
        return UNEXPECTED
    text = text[0].upper() + text[1:]
    return text if text[-1] in ".!?" else text + "."


def message_for(error: app_commands.AppCommandError) -> str | None:
    """The sentence for an error the user can act on; None for one that must be logged."""
    original = getattr(error, "original", error)
    if isinstance(original, NewsError):
        return sentence(str(original)[:1800])
    if isinstance(error, app_commands.NoPrivateMessage):
        return "This command works only in a server."
    if isinstance(error, app_commands.MissingPermissions):
        return "You need the Manage Server permission to use this command."
    if isinstance(error, app_commands.CommandOnCooldown):
        return f"Slow down: try again in {error.retry_after:.0f} seconds."
    if isinstance(error, app_commands.TransformerError):
        return sentence(f"{error.value!r} is not a valid value for that option")
    if isinstance(error, app_commands.CheckFailure) and str(error):
        return str(error)
    if isinstance(error, app_commands.CommandNotFound | app_commands.CommandSignatureMismatch):
        return "This command has changed; Discord will show the new version shortly."
    return None


async def on_app_command_error(
    interaction: discord.Interaction, error: app_commands.AppCommandError
) -> None:
    text = message_for(error)
    if text is None:
        name = interaction.command.qualified_name if interaction.command else "?"
        original = getattr(error, "original", error)
        log.error("/%s failed", name, exc_info=(type(original), original, original.__traceback__))
        text = UNEXPECTED
    try:
        await tell_error(interaction, text)
    except discord.HTTPException as exc:
        log.warning("could not tell the user about an error: %s", exc)


async def setup(bot: commands.Bot) -> None:
    bot.tree.on_error = on_app_command_error
