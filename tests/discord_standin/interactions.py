"""INTERACTION_CREATE payloads as a Discord client would cause them: slash commands (with
subcommands and typed options looked up in what the bot registered), autocomplete, buttons.

Like Discord, a user cannot invoke a command that was never registered, nor one whose
`default_member_permissions` they lack (servers can override that, hence the switch).
"""

from __future__ import annotations

import itertools
import secrets
from typing import Any

from tests.discord_standin.state import ADMINISTRATOR, InteractionRecord, World

APPLICATION_COMMAND, MESSAGE_COMPONENT, AUTOCOMPLETE = 2, 3, 4
SUB_COMMAND, SUB_COMMAND_GROUP = 1, 2
STRING, INTEGER, BOOLEAN, USER, CHANNEL, ROLE, NUMBER = 3, 4, 5, 6, 7, 8, 10
ATTACHMENT_SIZE_LIMIT = 10 * 1024 * 1024


class CommandNotAvailable(LookupError):
    """The command was not registered (or not for this guild), or the user may not see it."""


def _infer_type(value: Any) -> int:
    if isinstance(value, bool):
        return BOOLEAN
    if isinstance(value, int):
        return INTEGER
    if isinstance(value, float):
        return NUMBER
    return STRING


def find_command(world: World, guild_id: int | None, name: str) -> dict[str, Any] | None:
    """Guild commands shadow global ones of the same name, as in Discord's client."""
    pools = [world.guild_commands.get(guild_id, [])] if guild_id else []
    pools.append(world.global_commands)
    for pool in pools:
        for command in pool:
            if command["name"] == name and command.get("type", 1) == 1:
                return command
    return None


def _leaf_options(
    world: World,
    definitions: list[dict[str, Any]] | None,
    values: dict[str, Any],
    focused: str | None,
    resolved: dict[str, dict[str, Any]],
) -> list[dict[str, Any]]:
    by_name = {d["name"]: d for d in definitions or []}
    if definitions is not None:
        unknown = set(values) - set(by_name)
        if unknown:
            raise CommandNotAvailable(f"options {sorted(unknown)} are not registered")
        missing = {d["name"] for d in definitions if d.get("required")} - set(values)
        if missing and focused is None:
            raise CommandNotAvailable(f"required options {sorted(missing)} are missing")
    options = []
    for key, value in values.items():
        kind = by_name[key]["type"] if key in by_name else _infer_type(value)
        option: dict[str, Any] = {"name": key, "type": kind, "value": value}
        if kind in (USER, CHANNEL, ROLE):
            option["value"] = str(value)
            _resolve(world, kind, int(value), resolved)
        if key == focused:
            option["focused"] = True
            option["value"] = str(value)
        options.append(option)
    return options


def _resolve(world: World, kind: int, target: int, resolved: dict[str, dict[str, Any]]) -> None:
    if kind == CHANNEL and target in world.channels:
        channel = world.channels[target].payload() | {"permissions": str(1 << 11 | 1 << 10)}
        resolved.setdefault("channels", {})[str(target)] = channel
    elif kind == USER and target in world.users:
        resolved.setdefault("users", {})[str(target)] = world.users[target].payload()


def command_data(
    world: World,
    guild_id: int | None,
    name: str,
    options: dict[str, Any] | None,
    *,
    focused: str | None = None,
    require_registered: bool = True,
) -> tuple[dict[str, Any], dict[str, Any] | None]:
    """`name` may be "sources add" or "admin sources add" for subcommands (groups)."""
    parts = name.split()
    command = find_command(world, guild_id, parts[0])
    if command is None and require_registered:
        raise CommandNotAvailable(f"/{parts[0]} is not registered for guild {guild_id}")
    resolved: dict[str, dict[str, Any]] = {}
    definitions = command.get("options") if command else None
    chain: list[dict[str, Any]] = []
    for part in parts[1:]:
        match = next((d for d in definitions or [] if d["name"] == part), None)
        if command is not None and match is None:
            raise CommandNotAvailable(f"/{name}: no subcommand {part!r} registered")
        kind = match["type"] if match else SUB_COMMAND
        chain.append({"name": part, "type": kind, "options": []})
        definitions = match.get("options") if match else None
    leaves = _leaf_options(
        world, definitions if command else None, options or {}, focused, resolved
    )
    if chain:
        for outer, inner in itertools.pairwise(chain):
            outer["options"] = [inner]
        chain[-1]["options"] = leaves
        top_options = [chain[0]]
    else:
        top_options = leaves
    data: dict[str, Any] = {
        "id": command["id"] if command else str(world.ids.next()),
        "name": parts[0],
        "type": 1,
        "options": top_options,
    }
    if command and command.get("guild_id"):
        data["guild_id"] = command["guild_id"]
    if resolved:
        data["resolved"] = resolved
    return data, command


def may_use(command: dict[str, Any] | None, permissions: int) -> bool:
    required = command.get("default_member_permissions") if command else None
    if required is None or permissions & ADMINISTRATOR:
        return True
    needed = int(required)
    return needed != 0 and permissions & needed == needed


def build_interaction(
    world: World,
    *,
    kind: int,
    guild_id: int,
    channel_id: int,
    user_id: int,
    permissions: int,
    app_permissions: int,
    data: dict[str, Any],
    message: dict[str, Any] | None = None,
) -> InteractionRecord:
    guild = world.guilds[guild_id]
    user = world.users[user_id]
    interaction_id = world.ids.next()
    token = "aW50ZXJhY3Rpb246" + secrets.token_urlsafe(48)
    member = world.member_payload(guild, user, permissions)
    payload: dict[str, Any] = {
        "id": str(interaction_id),
        "application_id": str(world.application_id),
        "type": kind,
        "data": data,
        "guild_id": str(guild_id),
        "guild": {"id": str(guild_id), "locale": "en-US", "features": []},
        "channel_id": str(channel_id),
        "channel": world.channels[channel_id].payload(),
        "member": member,
        "token": token,
        "version": 1,
        "app_permissions": str(app_permissions),
        "locale": "en-US",
        "guild_locale": "en-US",
        "entitlements": [],
        "authorizing_integration_owners": {"0": str(guild_id)},
        "context": 0,
        "attachment_size_limit": ATTACHMENT_SIZE_LIMIT,
    }
    if message is not None:
        payload["message"] = message
    record = InteractionRecord(interaction_id, token, kind, payload, channel_id, guild_id, user_id)
    world.interactions[interaction_id] = record
    return record
