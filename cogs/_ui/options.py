"""Option values shared by several commands: time windows, polling intervals, limits."""

from __future__ import annotations

from datetime import timedelta

from discord import app_commands

from bot.config import parse_duration

SINCE_CHOICES = [
    app_commands.Choice(name="last hour", value="1h"),
    app_commands.Choice(name="last 6 hours", value="6h"),
    app_commands.Choice(name="last 24 hours", value="24h"),
    app_commands.Choice(name="last 3 days", value="3d"),
    app_commands.Choice(name="last 7 days", value="7d"),
    app_commands.Choice(name="last 30 days", value="30d"),
]

INTERVAL_CHOICES = [
    app_commands.Choice(name="every 15 minutes", value="15m"),
    app_commands.Choice(name="every 30 minutes", value="30m"),
    app_commands.Choice(name="every hour", value="1h"),
    app_commands.Choice(name="every 3 hours", value="3h"),
    app_commands.Choice(name="every 6 hours", value="6h"),
    app_commands.Choice(name="every 12 hours", value="12h"),
    app_commands.Choice(name="once a day", value="24h"),
]


def window(choice: app_commands.Choice[str] | None) -> timedelta | None:
    """The chosen window (choices carry values like "24h"); None when not given."""
    return parse_duration(choice.value) if choice is not None else None
