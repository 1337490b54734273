"""Records of the stand-in's world (users, channels, guilds, webhooks, interactions) and the
small helpers their Discord JSON needs: snowflakes, timestamps, component ids."""

from __future__ import annotations

import datetime as dt
import itertools
import time
from dataclasses import dataclass, field
from typing import Any

DISCORD_EPOCH_MS = 1_420_070_400_000

# Permission bits used by the defaults (https://discord.com/developers/docs/topics/permissions).
ADMINISTRATOR = 1 << 3
VIEW_CHANNEL = 1 << 10
SEND_MESSAGES = 1 << 11
EMBED_LINKS = 1 << 14
READ_MESSAGE_HISTORY = 1 << 16
MANAGE_WEBHOOKS = 1 << 29
USE_APPLICATION_COMMANDS = 1 << 31
MEMBER_PERMISSIONS = VIEW_CHANNEL | SEND_MESSAGES | EMBED_LINKS | READ_MESSAGE_HISTORY
MEMBER_PERMISSIONS |= USE_APPLICATION_COMMANDS
ALL_PERMISSIONS = (1 << 51) - 1


def numbered(components: list[dict[str, Any]] | None) -> list[dict[str, Any]]:
    """Components as Discord echoes them: every one gets a numeric `id` in reading order."""
    counter = itertools.count(1)

    def walk(items: list[dict[str, Any]]) -> list[dict[str, Any]]:
        out = []
        for item in items:
            copy = {k: v for k, v in item.items() if v is not None}
            copy["id"] = item.get("id") or next(counter)
            if isinstance(item.get("components"), list):
                copy["components"] = walk(item["components"])
            out.append(copy)
        return out

    return walk(components or [])


def iso(ts: float | None = None) -> str:
    when = dt.datetime.fromtimestamp(time.time() if ts is None else ts, dt.UTC)
    return when.isoformat(timespec="microseconds")


class Snowflakes:
    """Real-looking snowflakes, so `created_at` on discord.py objects is now, not 1970."""

    def __init__(self) -> None:
        self._counter = itertools.count()

    def next(self) -> int:
        ms = int(time.time() * 1000) - DISCORD_EPOCH_MS
        return (ms << 22) | (1 << 17) | (next(self._counter) & 0xFFF)


@dataclass
class User:
    id: int
    username: str
    bot: bool = False

    def payload(self) -> dict[str, Any]:
        return {
            "id": str(self.id),
            "username": self.username,
            "discriminator": "0",
            "global_name": None if self.bot else self.username.title(),
            "avatar": None,
            "bot": self.bot,
            "public_flags": 0,
            "flags": 0,
            "banner": None,
            "accent_color": None,
            "avatar_decoration_data": None,
            "collectibles": None,
            "primary_guild": None,
        }


@dataclass
class Channel:
    id: int
    guild_id: int
    name: str
    type: int = 0  # GUILD_TEXT
    position: int = 0
    # When True the bot lacks access: sends answer 403 50013 "Missing Permissions".
    forbidden: bool = False
    # Permission bits a member overwrite denies the bot here: (bot user id, deny bits)
    bot_deny: tuple[int, int] | None = None

    def overwrites(self) -> list[dict[str, Any]]:
        if self.bot_deny is None:
            return []
        bot_id, deny = self.bot_deny
        return [{"id": str(bot_id), "type": 1, "allow": "0", "deny": str(deny)}]

    def payload(self) -> dict[str, Any]:
        return {
            "id": str(self.id),
            "type": self.type,
            "guild_id": str(self.guild_id),
            "name": self.name,
            "position": self.position,
            "permission_overwrites": self.overwrites(),
            "nsfw": False,
            "topic": None,
            "last_message_id": None,
            "rate_limit_per_user": 0,
            "parent_id": None,
            "flags": 0,
        }


@dataclass
class Guild:
    id: int
    name: str
    owner_id: int
    channels: dict[int, Channel] = field(default_factory=dict)
    member_ids: list[int] = field(default_factory=list)
    everyone_permissions: int = MEMBER_PERMISSIONS

    def channel_named(self, name: str) -> Channel:
        for channel in self.channels.values():
            if channel.name == name:
                return channel
        raise KeyError(f"guild {self.name!r} has no channel {name!r}")

    def role_payload(self) -> dict[str, Any]:
        return {
            "id": str(self.id),
            "name": "@everyone",
            "permissions": str(self.everyone_permissions),
            "position": 0,
            "color": 0,
            "colors": {"primary_color": 0, "secondary_color": None, "tertiary_color": None},
            "hoist": False,
            "managed": False,
            "mentionable": False,
            "icon": None,
            "unicode_emoji": None,
            "flags": 0,
        }


@dataclass
class Webhook:
    id: int
    token: str
    channel_id: int
    guild_id: int
    name: str
    application_id: int | None = None

    def payload(self, *, with_token: bool = True) -> dict[str, Any]:
        data = {
            "id": str(self.id),
            "type": 1,
            "guild_id": str(self.guild_id),
            "channel_id": str(self.channel_id),
            "name": self.name,
            "avatar": None,
            "application_id": None if self.application_id is None else str(self.application_id),
        }
        if with_token:
            data["token"] = self.token
        return data


@dataclass
class InteractionRecord:
    """One interaction the stand-in dispatched, and everything the bot answered to it."""

    id: int
    token: str
    type: int
    payload: dict[str, Any]
    channel_id: int
    guild_id: int | None
    user_id: int
    created: float = field(default_factory=time.monotonic)
    callbacks: list[dict[str, Any]] = field(default_factory=list)
    original: dict[str, Any] | None = None
    followups: list[dict[str, Any]] = field(default_factory=list)
    edits: list[dict[str, Any]] = field(default_factory=list)
    deleted_original: bool = False

    @property
    def acknowledged(self) -> bool:
        return bool(self.callbacks)

    @property
    def response_type(self) -> int | None:
        return self.callbacks[0].get("type") if self.callbacks else None

    @property
    def autocomplete_choices(self) -> list[dict[str, Any]] | None:
        if self.response_type != 8:
            return None
        return list((self.callbacks[0].get("data") or {}).get("choices") or [])

    @property
    def ephemeral(self) -> bool:
        data = self.callbacks[0].get("data") if self.callbacks else None
        return bool((data or {}).get("flags", 0) & 64)


@dataclass(frozen=True)
class RequestLog:
    method: str
    path: str
    status: int
    operation: str | None
