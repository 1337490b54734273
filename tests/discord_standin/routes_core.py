"""Routes a bot uses with its bot token: identity, gateway discovery, commands, guilds, channels,
channel messages (with nonce + enforce_nonce de-duplication) and channel webhooks."""

from __future__ import annotations

import time
from typing import Any

from tests.discord_standin.records import EMBED_LINKS, SEND_MESSAGES, VIEW_CHANNEL
from tests.discord_standin.rest import Call, DiscordError, route
from tests.discord_standin.state import Channel, Guild

MISSING_PERMISSIONS = (403, 50013, "Missing Permissions")


def _guild(call: Call) -> Guild:
    guild = call.world.guilds.get(call.id("guild_id"))
    if guild is None:
        raise DiscordError(404, 10004, "Unknown Guild", "the bot addressed a guild it is not in")
    return guild


def channel_of(call: Call, channel_id: int) -> Channel:
    channel = call.world.channels.get(channel_id)
    if channel is None:
        raise DiscordError(404, 10003, "Unknown Channel")
    return channel


def message_of(call: Call, channel_id: int, message_id: int) -> dict[str, Any]:
    message = call.world.message_index.get(message_id)
    if message is None or int(message["channel_id"]) != channel_id:
        raise DiscordError(404, 10008, "Unknown Message")
    return message


# -- identity and gateway -------------------------------------------------------------------------


@route("GET /users/@me")
async def get_me(call: Call) -> tuple[int, Any]:
    extra = {"mfa_enabled": False, "locale": "en-US", "verified": True, "email": None}
    return 200, call.world.bot.payload() | extra


@route("GET /users/{user_id}")
async def get_user(call: Call) -> tuple[int, Any]:
    user = call.world.users.get(call.id("user_id"))
    if user is None:
        raise DiscordError(404, 10013, "Unknown User")
    return 200, user.payload()


@route("GET /oauth2/applications/@me")
@route("GET /applications/@me")
async def get_application(call: Call) -> tuple[int, Any]:
    return 200, call.world.application_payload()


@route("GET /gateway")
async def get_gateway(call: Call) -> tuple[int, Any]:
    return 200, {"url": call.rest.gateway.url}


@route("GET /gateway/bot")
async def get_gateway_bot(call: Call) -> tuple[int, Any]:
    limit = {"total": 1000, "remaining": 999, "reset_after": 14_400_000, "max_concurrency": 1}
    return 200, {"url": call.rest.gateway.url, "shards": 1, "session_start_limit": limit}


@route("GET /users/@me/guilds")
async def get_my_guilds(call: Call) -> tuple[int, Any]:
    guilds = []
    for guild in call.world.guilds.values():
        owner = guild.owner_id == call.world.bot.id
        guilds.append(
            {
                "id": str(guild.id),
                "name": guild.name,
                "icon": None,
                "owner": owner,
                "permissions": str(guild.everyone_permissions),
                "features": [],
                "banner": None,
            }
        )
    return 200, guilds


# -- application commands -------------------------------------------------------------------------


def _command_reply(call: Call, scope: int | None, body: dict[str, Any]) -> dict[str, Any]:
    world = call.world
    kind = body.get("type") or 1
    key = (scope, body["name"], kind)
    permissions = body.get("default_member_permissions")
    command_id = world.command_ids.setdefault(key, world.ids.next())
    reply = {
        "id": str(command_id),
        "application_id": str(world.application_id),
        "version": str(world.ids.next()),
        "default_member_permissions": None if permissions is None else str(permissions),
        "type": kind,
        "name": body["name"],
        "description": body.get("description") or "",
        "name_localizations": body.get("name_localizations"),
        "description_localizations": body.get("description_localizations"),
        "dm_permission": body.get("dm_permission", True) is not False,
        "contexts": body.get("contexts"),
        "integration_types": body.get("integration_types") or [0],
        "nsfw": bool(body.get("nsfw")),
    }
    if body.get("options"):
        reply["options"] = body["options"]
    if scope is not None:
        reply["guild_id"] = str(scope)
    return reply


def _check_application(call: Call) -> None:
    if call.id("application_id") != call.world.application_id:
        raise DiscordError(403, 50001, "Missing Access", "commands sent for another application")


@route("PUT /applications/{application_id}/commands")
@route("PUT /applications/{application_id}/guilds/{guild_id}/commands")
async def bulk_set_commands(call: Call) -> tuple[int, Any]:
    _check_application(call)
    scope = call.id("guild_id") if "guild_id" in call.op.params else None
    if scope is not None:
        _guild(call)
    commands = [_command_reply(call, scope, body) for body in call.body or []]
    if scope is None:
        call.world.global_commands = commands
    else:
        call.world.guild_commands[scope] = commands
    call.world.command_syncs.append((scope, commands))
    return 200, commands


@route("GET /applications/{application_id}/commands")
@route("GET /applications/{application_id}/guilds/{guild_id}/commands")
async def get_commands(call: Call) -> tuple[int, Any]:
    _check_application(call)
    if "guild_id" in call.op.params:
        return 200, call.world.guild_commands.get(call.id("guild_id"), [])
    return 200, call.world.global_commands


@route("POST /applications/{application_id}/commands")
@route("POST /applications/{application_id}/guilds/{guild_id}/commands")
async def upsert_command(call: Call) -> tuple[int, Any]:
    _check_application(call)
    scope = call.id("guild_id") if "guild_id" in call.op.params else None
    pool = (
        call.world.global_commands
        if scope is None
        else call.world.guild_commands.setdefault(scope, [])
    )
    reply = _command_reply(call, scope, call.body)
    pool[:] = [c for c in pool if c["id"] != reply["id"]] + [reply]
    return 201, reply


# -- guilds and channels --------------------------------------------------------------------------


@route("GET /guilds/{guild_id}")
async def get_guild(call: Call) -> tuple[int, Any]:
    guild = _guild(call)
    return 200, call.world.guild_payload(guild)


@route("GET /guilds/{guild_id}/channels")
async def get_guild_channels(call: Call) -> tuple[int, Any]:
    return 200, [c.payload() for c in _guild(call).channels.values()]


@route("GET /guilds/{guild_id}/roles")
async def get_guild_roles(call: Call) -> tuple[int, Any]:
    return 200, [_guild(call).role_payload()]


@route("GET /guilds/{guild_id}/members/{user_id}")
async def get_member(call: Call) -> tuple[int, Any]:
    guild = _guild(call)
    user_id = call.id("user_id")
    if user_id not in guild.member_ids:
        raise DiscordError(404, 10007, "Unknown Member")
    return 200, call.world.member_payload(guild, call.world.users[user_id])


@route("GET /channels/{channel_id}")
async def get_channel(call: Call) -> tuple[int, Any]:
    return 200, channel_of(call, call.id("channel_id")).payload()


@route("POST /channels/{channel_id}/typing")
async def trigger_typing(call: Call) -> tuple[int, Any]:
    channel_of(call, call.id("channel_id"))
    return 204, None


# -- channel messages -----------------------------------------------------------------------------


def _as_permitted(channel: Channel, body: dict[str, Any]) -> dict[str, Any]:
    """What Discord does with a message the bot's channel permissions do not fully allow:
    no View Channel is 50001 Missing Access, no Send Messages 50013; without Embed Links an
    embed-only message is 50013 and the embeds of one with content are silently dropped."""
    denied = channel.bot_deny[1] if channel.bot_deny else 0
    if denied & VIEW_CHANNEL:
        raise DiscordError(403, 50001, "Missing Access")
    if denied & SEND_MESSAGES:
        raise DiscordError(*MISSING_PERMISSIONS)
    if denied & EMBED_LINKS and body.get("embeds"):
        if not body.get("content"):
            raise DiscordError(*MISSING_PERMISSIONS)
        body = {**body, "embeds": []}
    return body


@route("POST /channels/{channel_id}/messages")
async def create_message(call: Call) -> tuple[int, Any]:
    world, body = call.world, call.body
    channel = channel_of(call, call.id("channel_id"))
    if channel.forbidden:
        raise DiscordError(*MISSING_PERMISSIONS)
    body = _as_permitted(channel, body)
    nonce = body.get("nonce")
    key = (channel.id, str(nonce))
    if nonce is not None and body.get("enforce_nonce"):
        seen = world.nonces.get(key)
        if seen is not None and time.monotonic() - seen[0] < call.rest.options.nonce_window_s:
            return 200, seen[1]  # Discord answers with the message the first request made
    message = world.new_message(channel.id, body)
    if nonce is not None:
        world.nonces[key] = (time.monotonic(), message)
    await call.rest.publish(message)
    return 200, message


@route("GET /channels/{channel_id}/messages")
async def list_messages(call: Call) -> tuple[int, Any]:
    channel = channel_of(call, call.id("channel_id"))
    limit = min(int(call.query.get("limit", "50")), 100)
    newest_first = list(reversed(call.world.messages[channel.id]))
    return 200, newest_first[:limit]


@route("GET /channels/{channel_id}/messages/{message_id}")
async def get_message(call: Call) -> tuple[int, Any]:
    return 200, message_of(call, call.id("channel_id"), call.id("message_id"))


@route("PATCH /channels/{channel_id}/messages/{message_id}")
async def edit_message(call: Call) -> tuple[int, Any]:
    message = message_of(call, call.id("channel_id"), call.id("message_id"))
    if message["author"]["id"] != str(call.world.bot.id):
        raise DiscordError(403, 50005, "Cannot edit a message authored by another user")
    return 200, call.world.edit_message(message, call.body)


@route("DELETE /channels/{channel_id}/messages/{message_id}")
async def delete_message(call: Call) -> tuple[int, Any]:
    message_of(call, call.id("channel_id"), call.id("message_id"))
    call.world.delete_message(call.id("message_id"))
    return 204, None


# -- channel webhooks (bot-managed) ---------------------------------------------------------------


@route("POST /channels/{channel_id}/webhooks")
async def create_webhook(call: Call) -> tuple[int, Any]:
    channel = channel_of(call, call.id("channel_id"))
    if channel.forbidden:
        raise DiscordError(*MISSING_PERMISSIONS)
    hook = call.world.add_webhook(channel.id, call.body["name"], call.world.application_id)
    return 200, hook.payload() | {"user": call.world.bot.payload()}


@route("GET /channels/{channel_id}/webhooks")
async def list_channel_webhooks(call: Call) -> tuple[int, Any]:
    channel = channel_of(call, call.id("channel_id"))
    hooks = [h for h in call.world.webhooks.values() if h.channel_id == channel.id]
    return 200, [h.payload() for h in hooks]
