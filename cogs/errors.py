"""The one error handler for slash commands: a clear sentence for the user, a log for the rest.

Errors the core raises on purpose (NewsError and its children) and failed checks are things a
user can act on: they get the message as one ephemeral sentence. Anything else is a bug or an
outage: it is logged with its traceback and the user sees only that it was logged.
"""

from __future__ import annotations

import logging
import math
import re

import discord
from discord import app_commands
from discord.ext import commands

from bot.news.errors import NewsError
from cogs._ui.reply import tell_error

log = logging.getLogger(__name__)

UNEXPECTED = "Something went wrong; the error was logged."


#: a quoted value (what the user typed, as the core quotes it) longer than this is shortened
QUOTED_MAX = 80
_QUOTED = re.compile(r"(['\"])([^'\"]{" + str(QUOTED_MAX + 1) + r",})\1")


def _shorten_quoted(match: re.Match[str]) -> str:
    quote, value = match.group(1), match.group(2)
    return f"{quote}{value[: QUOTED_MAX - 1]}…{quote}"


def sentence(text: str) -> str:
    """The core's messages are lower-case clauses; show them as a sentence.

    A long value the user typed, quoted in the message, is shortened, so the sentence around
    it stays readable (and the whole within Discord's 2,000 characters)."""
    text = _QUOTED.sub(_shorten_quoted, " ".join(str(text).split()))[:1800]
    if not text:
        return UNEXPECTED
    text = text[0].upper() + text[1:]
    return text if text[-1] in ".!?" else text + "."


def cooldown_message(
    retry_after: float, command: str | None = None, *, what: str | None = None
) -> str:
    """A polite "not so fast", with when to try again (whole seconds, never "0 seconds");
    ``what`` names something that is not a command ("a Brief button")."""
    wait = max(1, math.ceil(retry_after))
    what = what or (f"/{command}" if command else "this command")
    unit = "second" if wait == 1 else "seconds"
    return (
        f"You are going a little fast: please try {what} again in {wait} {unit}. "
        "Thanks for your patience!"
    )


def message_for(error: app_commands.AppCommandError, command: str | None = None) -> str | None:
    """The sentence for an error the user can act on; None for one that must be logged."""
    original = getattr(error, "original", error)
    if isinstance(original, NewsError):
        return sentence(str(original))
    if isinstance(error, app_commands.NoPrivateMessage):
        return "This command works only in a server."
    if isinstance(error, app_commands.MissingPermissions):
        return "You need the Manage Server permission to use this command."
    if isinstance(error, app_commands.CommandOnCooldown):
        return cooldown_message(error.retry_after, command)
    if isinstance(error, app_commands.TransformerError):
        if error.type is discord.AppCommandOptionType.channel:
            return "That channel is not a text channel in this server; pick one of its channels."
        value = repr(error.value)
        value = value if len(value) <= 100 else value[:99] + "…"
        return sentence(f"{value} is not a valid value for that option")
    if isinstance(error, app_commands.CheckFailure) and str(error):
        return str(error)
    if isinstance(error, app_commands.CommandNotFound | app_commands.CommandSignatureMismatch):
        return "This command has changed; Discord will show the new version shortly."
    return None


async def on_app_command_error(
    interaction: discord.Interaction, error: app_commands.AppCommandError
) -> None:
    name = interaction.command.qualified_name if interaction.command else None
    text = message_for(error, name)
    if text is None:
        original = getattr(error, "original", error)
        exc_info = (type(original), original, original.__traceback__)
        log.error("/%s failed", name or "?", exc_info=exc_info)
        text = UNEXPECTED
    try:
        await tell_error(interaction, text)
    except discord.HTTPException as exc:
        log.warning("could not tell the user about an error: %s", exc)


async def setup(bot: commands.Bot) -> None:
    bot.tree.on_error = on_app_command_error
