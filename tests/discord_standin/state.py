"""The stand-in's world: users, guilds, channels, webhooks, messages, commands, interactions.

Payload builders return objects in Discord's JSON shape (snowflakes as strings), close enough to
the real thing that discord.py parses them and the spec's response schemas accept them.
"""

from __future__ import annotations

import secrets
from collections import defaultdict
from typing import Any

from tests.discord_standin.records import (
    ADMINISTRATOR,
    ALL_PERMISSIONS,
    MANAGE_WEBHOOKS,
    MEMBER_PERMISSIONS,
    Channel,
    Guild,
    InteractionRecord,
    RequestLog,
    Snowflakes,
    User,
    Webhook,
    iso,
    numbered,
)

__all__ = [
    "ADMINISTRATOR",
    "ALL_PERMISSIONS",
    "MANAGE_WEBHOOKS",
    "MEMBER_PERMISSIONS",
    "Channel",
    "Guild",
    "InteractionRecord",
    "RequestLog",
    "User",
    "Webhook",
    "World",
]


class World:
    """Everything the stand-in knows; REST and gateway handlers read and change it."""

    def __init__(self, token: str, bot_name: str = "briefbot") -> None:
        self.ids = Snowflakes()
        self.token = token
        self.application_id = self.ids.next()
        self.bot = User(self.application_id, bot_name, bot=True)
        self.owner = User(self.ids.next(), "owner")
        self.users: dict[int, User] = {self.bot.id: self.bot, self.owner.id: self.owner}
        self.guilds: dict[int, Guild] = {}
        self.channels: dict[int, Channel] = {}
        self.webhooks: dict[int, Webhook] = {}
        self.messages: defaultdict[int, list[dict[str, Any]]] = defaultdict(list)
        self.message_index: dict[int, dict[str, Any]] = {}
        self.nonces: dict[tuple[int, str], tuple[float, dict[str, Any]]] = {}
        self.global_commands: list[dict[str, Any]] = []
        self.guild_commands: dict[int, list[dict[str, Any]]] = {}
        self.command_syncs: list[tuple[int | None, list[dict[str, Any]]]] = []
        self.command_ids: dict[tuple[int | None, str, int], int] = {}
        self.interactions: dict[int, InteractionRecord] = {}
        self.violations: list[str] = []
        self.self_check: list[str] = []
        self.requests: list[RequestLog] = []

    # -- world building -------------------------------------------------------------------------

    def add_user(self, username: str) -> User:
        user = User(self.ids.next(), username)
        self.users[user.id] = user
        return user

    def add_guild(
        self,
        name: str,
        channel_names: tuple[str, ...] = ("general",),
        *,
        shard: tuple[int, int] | None = None,
    ) -> Guild:
        """A guild; ``shard=(id, count)`` picks an id Discord puts on that shard."""
        guild_id = self.ids.next()
        if shard is not None:
            shard_id, count = shard
            # the shard comes from the timestamp bits: a few milliseconds later is still "now"
            guild_id += ((shard_id - (guild_id >> 22)) % count) << 22
        guild = Guild(guild_id, name, self.owner.id)
        guild.member_ids = [self.bot.id, self.owner.id]
        self.guilds[guild.id] = guild
        for name_ in channel_names:
            self.add_channel(guild.id, name_)
        return guild

    def add_channel(self, guild_id: int, name: str) -> Channel:
        guild = self.guilds[guild_id]
        channel = Channel(self.ids.next(), guild_id, name, position=len(guild.channels))
        guild.channels[channel.id] = channel
        self.channels[channel.id] = channel
        return channel

    def add_webhook(self, channel_id: int, name: str, application_id: int | None = None) -> Webhook:
        channel = self.channels[channel_id]
        token = secrets.token_urlsafe(48)
        hook = Webhook(self.ids.next(), token, channel_id, channel.guild_id, name, application_id)
        self.webhooks[hook.id] = hook
        return hook

    # -- payloads -------------------------------------------------------------------------------

    def member_payload(self, guild: Guild, user: User, permissions: int | None = None) -> dict:
        data: dict[str, Any] = {
            "user": user.payload(),
            "roles": [],
            "nick": None,
            "avatar": None,
            "banner": None,
            "joined_at": iso(),
            "premium_since": None,
            "deaf": False,
            "mute": False,
            "pending": False,
            "flags": 0,
            "communication_disabled_until": None,
        }
        if permissions is not None:
            data["permissions"] = str(permissions)
        return data

    def guild_payload(self, guild: Guild) -> dict[str, Any]:
        return {
            "id": str(guild.id),
            "name": guild.name,
            "icon": None,
            "splash": None,
            "discovery_splash": None,
            "banner": None,
            "description": None,
            "owner_id": str(guild.owner_id),
            "region": "deprecated",
            "afk_channel_id": None,
            "afk_timeout": 300,
            "verification_level": 0,
            "default_message_notifications": 1,
            "explicit_content_filter": 0,
            "roles": [guild.role_payload()],
            "emojis": [],
            "stickers": [],
            "features": [],
            "mfa_level": 0,
            "system_channel_id": None,
            "system_channel_flags": 0,
            "rules_channel_id": None,
            "public_updates_channel_id": None,
            "safety_alerts_channel_id": None,
            "vanity_url_code": None,
            "premium_tier": 0,
            "premium_subscription_count": 0,
            "premium_progress_bar_enabled": False,
            "preferred_locale": "en-US",
            "nsfw_level": 0,
            "max_members": 500000,
            "max_video_channel_users": 25,
            "application_id": None,
            "widget_enabled": False,
            "widget_channel_id": None,
            "home_header": None,
            "incidents_data": None,
        }

    def gateway_guild(self, guild: Guild) -> dict[str, Any]:
        """GUILD_CREATE: the REST guild plus the gateway-only lists discord.py reads."""
        data = self.guild_payload(guild)
        members = [self.member_payload(guild, self.users[uid]) for uid in guild.member_ids]
        data.update(
            {
                "channels": [c.payload() for c in guild.channels.values()],
                "members": members,
                "member_count": len(members),
                "large": False,
                "unavailable": False,
                "joined_at": iso(),
                "threads": [],
                "voice_states": [],
                "presences": [],
                "stage_instances": [],
                "guild_scheduled_events": [],
                "soundboard_sounds": [],
                "lazy": True,
            }
        )
        return data

    def application_payload(self) -> dict[str, Any]:
        return {
            "id": str(self.application_id),
            "name": self.bot.username,
            "icon": None,
            "description": "",
            "type": None,
            "bot": self.bot.payload(),
            "bot_public": False,
            "bot_require_code_grant": False,
            "verify_key": "0" * 64,
            "flags": 0,
            "flags_new": "0",
            "redirect_uris": [],
            "interactions_endpoint_url": None,
            "role_connections_verification_url": None,
            "owner": self.owner.payload(),
            "approximate_guild_count": len(self.guilds),
            "approximate_user_install_count": 0,
            "approximate_user_authorization_count": 0,
            "explicit_content_filter": 0,
            "team": None,
            "summary": "",
            "hook": True,
            "is_monetized": False,
            "is_verified": False,
            "is_discoverable": False,
            "storefront_available": False,
            "integration_types_config": {"0": {}},
            "tags": [],
            "eligible_oauth2_scopes": [],
        }

    def new_message(
        self,
        channel_id: int,
        body: dict[str, Any],
        *,
        author: User | None = None,
        webhook_id: int | None = None,
        message_type: int = 0,
        extra: dict[str, Any] | None = None,
    ) -> dict[str, Any]:
        """A message as Discord returns it; not yet stored (see `store_message`)."""
        author = author or self.bot
        embeds = [{**e, "type": e.get("type") or "rich"} for e in body.get("embeds") or []]
        allowed = body.get("allowed_mentions") or {"parse": ["everyone", "users", "roles"]}
        content = body.get("content") or ""
        message: dict[str, Any] = {
            "id": str(self.ids.next()),
            "type": message_type,
            "channel_id": str(channel_id),
            "author": author.payload(),
            "content": content,
            "timestamp": iso(),
            "edited_timestamp": None,
            "tts": bool(body.get("tts")),
            "mention_everyone": "everyone" in (allowed.get("parse") or [])
            and ("@everyone" in content or "@here" in content),
            "mentions": [],
            "mention_roles": [],
            "attachments": [],
            "embeds": embeds,
            "components": numbered(body.get("components")),
            "pinned": False,
            "flags": int(body.get("flags") or 0),
        }
        channel = self.channels.get(channel_id)
        if channel is not None:
            message["guild_id"] = str(channel.guild_id)
        if body.get("nonce") is not None:
            message["nonce"] = body["nonce"]
        if webhook_id is not None:
            message["webhook_id"] = str(webhook_id)
        message.update(extra or {})
        return message

    def store_message(self, message: dict[str, Any], *, visible: bool = True) -> None:
        self.message_index[int(message["id"])] = message
        if visible:
            self.messages[int(message["channel_id"])].append(message)

    def edit_message(self, message: dict[str, Any], body: dict[str, Any]) -> dict[str, Any]:
        for key in ("content", "flags"):
            if body.get(key) is not None:
                message[key] = body[key]
        if "components" in body:
            message["components"] = numbered(body["components"])
        if "embeds" in body:
            message["embeds"] = [
                {**e, "type": e.get("type") or "rich"} for e in body["embeds"] or []
            ]
        message["edited_timestamp"] = iso()
        return message

    def delete_message(self, message_id: int) -> dict[str, Any] | None:
        message = self.message_index.pop(message_id, None)
        if message is not None:
            channel = self.messages[int(message["channel_id"])]
            self.messages[int(message["channel_id"])] = [m for m in channel if m is not message]
        return message

    def all_messages(self) -> list[dict[str, Any]]:
        return [m for channel in self.messages.values() for m in channel]
