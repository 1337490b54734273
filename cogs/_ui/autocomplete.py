"""Autocomplete callbacks: topics, stories, sources, subscriptions, schedules and time zones.

Each answers from the service (or the time-zone database) with at most 25 choices, and never
raises: a failed suggestion list must not turn into an error message while someone types.
"""

from __future__ import annotations

import functools
import logging
import zoneinfo

import discord
from discord import app_commands

from bot.guild import scope_for
from bot.news.service import NewsService

log = logging.getLogger(__name__)

Choices = list[app_commands.Choice[str]]
MAX_CHOICES = 25

SCHEDULE_PRESETS = (
    ("instant (after each poll)", "instant"),
    ("hourly", "hourly"),
    ("daily 08:00", "daily 08:00"),
    ("weekdays 08:00", "weekdays 08:00"),
    ("weekly mon 08:00", "weekly mon 08:00"),
    ("cron: 0 8,18 * * * (08:00 and 18:00)", "0 8,18 * * *"),
)


def _service(interaction: discord.Interaction) -> NewsService:
    return interaction.client.service  # type: ignore[attr-defined]


def _clip(text: str, limit: int = 100) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


async def topic(interaction: discord.Interaction, current: str) -> Choices:
    """Taxonomy topics matching what was typed; free text stays allowed (it searches)."""
    needle = current.strip().lower()
    topics = _service(interaction).topics
    found = [
        app_commands.Choice(name=_clip(f"{t.title} ({t.name})"), value=t.name)
        for t in topics
        if needle in t.name or needle in t.title.lower()
    ]
    return found[:MAX_CHOICES]


async def topic_list(interaction: discord.Interaction, current: str) -> Choices:
    """Comma-separated topics: completes the last one, keeping those typed before it."""
    *done, last = [p.strip() for p in current.split(",")] if current else [""]
    prefix = ", ".join(p for p in done if p)
    needle = last.lower()
    out = []
    for t in _service(interaction).topics:
        if t.name in done or not (needle in t.name or needle in t.title.lower()):
            continue
        value = f"{prefix}, {t.name}" if prefix else t.name
        out.append(app_commands.Choice(name=_clip(value), value=_clip(value)))
    return out[:MAX_CHOICES]


def _may_manage(interaction: discord.Interaction) -> bool:
    """Suggestions of a server's sources and subscriptions are for those who may change them."""
    return interaction.guild_id is not None and interaction.permissions.manage_guild


async def own_source(interaction: discord.Interaction, current: str) -> Choices:
    """This server's own sources (config sources cannot be removed from Discord)."""
    if not _may_manage(interaction):
        return []
    scope = scope_for(interaction)
    try:
        sources = await _service(interaction).list_sources(scope=scope)
    except Exception:
        log.exception("source autocomplete failed")
        return []
    needle = current.strip().lower()
    return [
        app_commands.Choice(name=_clip(f"{s.name} — {s.url}"), value=str(s.id))
        for s in sources
        if scope in s.scopes and (needle in s.name.lower() or needle in s.url.lower())
    ][:MAX_CHOICES]


async def story(interaction: discord.Interaction, current: str) -> Choices:
    """Stories this server reads whose headline has the words typed (the newest when none);
    the value is the story's number."""
    scope, typed = scope_for(interaction), current.strip().lstrip("#")
    service = _service(interaction)
    try:
        if typed.isdigit():
            found = await service.store.stories.visible(int(typed), scope)
            stories = [found] if found else []
        elif typed:
            stories = await service.search(typed, scope=scope, limit=MAX_CHOICES)
        else:
            stories = await service.stories(scope=scope, limit=MAX_CHOICES)
    except Exception:
        log.exception("story autocomplete failed")
        return []
    return [
        app_commands.Choice(name=_clip(f"#{s.id} {s.headline} · {s.source_name}"), value=str(s.id))
        for s in stories[:MAX_CHOICES]
    ]


async def subscription(interaction: discord.Interaction, current: str) -> Choices:
    if not _may_manage(interaction):
        return []
    scope = scope_for(interaction)
    try:
        subs = await _service(interaction).subscriptions(scope)
    except Exception:
        log.exception("subscription autocomplete failed")
        return []
    out = []
    for sub in subs:
        where = f"#{_channel_name(interaction, sub.channel_id)}" if sub.channel_id else "webhook"
        label = f"{sub.id}: {where} · {sub.schedule} · {', '.join(sub.topics) or 'all topics'}"
        if current.strip().lower() in label.lower():
            out.append(app_commands.Choice(name=_clip(label), value=str(sub.id)))
    return out[:MAX_CHOICES]


def _channel_name(interaction: discord.Interaction, channel_id: int) -> str:
    channel = interaction.guild.get_channel(channel_id) if interaction.guild else None
    return channel.name if channel is not None else str(channel_id)


async def schedule(interaction: discord.Interaction, current: str) -> Choices:
    typed = current.strip()
    out = [
        app_commands.Choice(name=name, value=value)
        for name, value in SCHEDULE_PRESETS
        if typed.lower() in name.lower()
    ]
    if typed and typed not in [c.value for c in out]:
        out.insert(0, app_commands.Choice(name=_clip(typed), value=_clip(typed)))
    return out[:MAX_CHOICES]


@functools.cache
def _zones() -> tuple[str, ...]:
    return tuple(sorted(z for z in zoneinfo.available_timezones() if "/" in z or z == "UTC"))


async def timezone(interaction: discord.Interaction, current: str) -> Choices:
    """IANA zones containing what was typed; "berlin" finds Europe/Berlin."""
    needle = current.strip().lower().replace(" ", "_")
    zones = _zones()
    starts = [z for z in zones if z.lower().startswith(needle)]
    contains = [z for z in zones if needle in z.lower() and z not in starts]
    return [app_commands.Choice(name=z, value=z) for z in (starts + contains)[:MAX_CHOICES]]
