"""Token routes: interaction callbacks, interaction follow-ups and @original, incoming webhooks.

An interaction's webhook is addressed as /webhooks/{application_id}/{interaction token}; an
incoming webhook as /webhooks/{webhook id}/{webhook token}. Neither needs the bot token.
"""

from __future__ import annotations

import time
from typing import Any

from tests.discord_standin.interactions import APPLICATION_COMMAND, AUTOCOMPLETE, MESSAGE_COMPONENT
from tests.discord_standin.rest import Call, DiscordError, route
from tests.discord_standin.routes_core import MISSING_PERMISSIONS, channel_of
from tests.discord_standin.state import InteractionRecord, User, Webhook

EPHEMERAL, LOADING = 1 << 6, 1 << 7
CHAT_INPUT_COMMAND_MESSAGE = 20
MODAL_SUBMIT = 5
# Which callback types Discord accepts for each interaction type.
ALLOWED_CALLBACKS = {
    APPLICATION_COMMAND: {4, 5, 9, 12},
    MESSAGE_COMPONENT: {4, 5, 6, 7, 9, 12},
    AUTOCOMPLETE: {8},
    MODAL_SUBMIT: {4, 5, 6, 7},
}
UNKNOWN_WEBHOOK = (404, 10015, "Unknown Webhook")
UNKNOWN_MESSAGE = (404, 10008, "Unknown Message")


def _interaction_message(call: Call, record: InteractionRecord, data: dict[str, Any]) -> dict:
    world = call.world
    user = world.users[record.user_id]
    metadata = {
        "id": str(record.id),
        "type": record.type,
        "user": user.payload(),
        "authorizing_integration_owners": {"0": str(record.guild_id)},
    }
    if record.type == MESSAGE_COMPONENT:
        metadata["interacted_message_id"] = record.payload["message"]["id"]
    kind = CHAT_INPUT_COMMAND_MESSAGE if record.type == APPLICATION_COMMAND else 0
    return world.new_message(
        record.channel_id,
        data,
        webhook_id=world.application_id,
        message_type=kind,
        extra={"interaction_metadata": metadata, "application_id": str(world.application_id)},
    )


@route("POST /interactions/{interaction_id}/{interaction_token}/callback")
async def interaction_callback(call: Call) -> tuple[int, Any]:
    record = call.world.interactions.get(call.id("interaction_id"))
    if record is None or record.token != call.op.params["interaction_token"]:
        raise DiscordError(404, 10062, "Unknown interaction", "callback for an unknown interaction")
    if record.acknowledged:
        msg = "Interaction has already been acknowledged."
        raise DiscordError(400, 40060, msg, "a second callback for one interaction")
    waited = time.monotonic() - record.created
    if waited > call.rest.options.interaction_deadline_s:
        late = f"callback {waited:.1f}s after the interaction (Discord allows 3 s)"
        raise DiscordError(404, 10062, "Unknown interaction", late)
    kind = call.body.get("type")
    if kind not in ALLOWED_CALLBACKS.get(record.type, set()):
        bad = f"callback type {kind} is not valid for interaction type {record.type}"
        raise DiscordError(400, 50035, "Invalid interaction response type", bad)
    record.callbacks.append(call.body)
    data = call.body.get("data") or {}
    message = None
    if kind in (4, 5):
        body = data if kind == 4 else {"flags": LOADING | (data.get("flags", 0) & EPHEMERAL)}
        message = _interaction_message(call, record, body)
        await call.rest.publish(message, visible=not body.get("flags", 0) & EPHEMERAL)
        record.original = message
    elif kind in (6, 7):
        target = record.payload.get("message") or {}
        message = call.world.message_index.get(int(target.get("id", 0)))
        if message is not None and kind == 7:
            call.world.edit_message(message, data)
        record.original = message
    call.rest.changed()
    if not call.flag("with_response"):
        return 204, None
    reply: dict[str, Any] = {
        "interaction": {
            "id": str(record.id),
            "type": record.type,
            "response_message_loading": kind == 5,
            "response_message_ephemeral": bool(data.get("flags", 0) & EPHEMERAL),
        }
    }
    if message is not None:
        reply["interaction"]["response_message_id"] = message["id"]
    # Discord returns the message itself only for answers that show one now (not for defers).
    if message is not None and kind in (4, 7):
        reply["resource"] = {"type": kind, "message": message}
    return 200, reply


def _target(call: Call) -> InteractionRecord | Webhook:
    world, token = call.world, call.op.params["webhook_token"]
    webhook_id = call.id("webhook_id")
    if webhook_id == world.application_id:
        for record in world.interactions.values():
            if record.token == token:
                return record
    hook = world.webhooks.get(webhook_id)
    if hook is None or hook.token != token:
        raise DiscordError(*UNKNOWN_WEBHOOK)
    return hook


def _original(call: Call) -> tuple[InteractionRecord, dict[str, Any]]:
    target = _target(call)
    if not isinstance(target, InteractionRecord) or target.original is None:
        raise DiscordError(*UNKNOWN_MESSAGE)
    if target.deleted_original:
        raise DiscordError(*UNKNOWN_MESSAGE)
    return target, target.original


def _owned_message(call: Call) -> tuple[InteractionRecord | Webhook, dict[str, Any]]:
    target = _target(call)
    message = call.world.message_index.get(call.id("message_id"))
    owner = call.world.application_id if isinstance(target, InteractionRecord) else target.id
    if message is None or message.get("webhook_id") != str(owner):
        raise DiscordError(*UNKNOWN_MESSAGE)
    return target, message


@route("POST /webhooks/{webhook_id}/{webhook_token}")
async def execute_webhook(call: Call) -> tuple[int, Any]:
    target = _target(call)
    body = call.body
    if isinstance(target, InteractionRecord):
        if not target.acknowledged:
            raise DiscordError(
                *UNKNOWN_WEBHOOK, "follow-up sent before the interaction was answered"
            )
        message = _interaction_message(call, target, body)
        target.followups.append(message)
        await call.rest.publish(message, visible=not (body.get("flags") or 0) & EPHEMERAL)
    else:
        channel = channel_of(call, target.channel_id)
        if channel.forbidden:
            raise DiscordError(*MISSING_PERMISSIONS)
        author = User(target.id, body.get("username") or target.name, bot=True)
        message = call.world.new_message(channel.id, body, author=author, webhook_id=target.id)
        await call.rest.publish(message)
    return (200, message) if call.flag("wait") else (204, None)


@route("GET /webhooks/{webhook_id}/{webhook_token}")
async def get_webhook_with_token(call: Call) -> tuple[int, Any]:
    target = _target(call)
    if isinstance(target, InteractionRecord):
        raise DiscordError(*UNKNOWN_WEBHOOK)
    return 200, target.payload()


@route("GET /webhooks/{webhook_id}")
async def get_webhook(call: Call) -> tuple[int, Any]:
    hook = call.world.webhooks.get(call.id("webhook_id"))
    if hook is None:
        raise DiscordError(*UNKNOWN_WEBHOOK)
    return 200, hook.payload() | {"user": call.world.bot.payload()}


@route("DELETE /webhooks/{webhook_id}")
@route("DELETE /webhooks/{webhook_id}/{webhook_token}")
async def delete_webhook(call: Call) -> tuple[int, Any]:
    hook = call.world.webhooks.get(call.id("webhook_id"))
    token = call.op.params.get("webhook_token")
    if hook is None or (token is not None and token != hook.token):
        raise DiscordError(*UNKNOWN_WEBHOOK)
    del call.world.webhooks[hook.id]
    return 204, None


@route("GET /webhooks/{webhook_id}/{webhook_token}/messages/@original")
async def get_original(call: Call) -> tuple[int, Any]:
    return 200, _original(call)[1]


@route("PATCH /webhooks/{webhook_id}/{webhook_token}/messages/@original")
async def edit_original(call: Call) -> tuple[int, Any]:
    record, message = _original(call)
    record.edits.append(call.body)
    message["flags"] = int(message.get("flags") or 0) & ~LOADING
    return 200, call.world.edit_message(message, call.body)


@route("DELETE /webhooks/{webhook_id}/{webhook_token}/messages/@original")
async def delete_original(call: Call) -> tuple[int, Any]:
    record, message = _original(call)
    record.deleted_original = True
    call.world.delete_message(int(message["id"]))
    return 204, None


@route("GET /webhooks/{webhook_id}/{webhook_token}/messages/{message_id}")
async def get_webhook_message(call: Call) -> tuple[int, Any]:
    return 200, _owned_message(call)[1]


@route("PATCH /webhooks/{webhook_id}/{webhook_token}/messages/{message_id}")
async def edit_webhook_message(call: Call) -> tuple[int, Any]:
    target, message = _owned_message(call)
    if isinstance(target, InteractionRecord):
        target.edits.append(call.body)
    return 200, call.world.edit_message(message, call.body)


@route("DELETE /webhooks/{webhook_id}/{webhook_token}/messages/{message_id}")
async def delete_webhook_message(call: Call) -> tuple[int, Any]:
    _owned_message(call)
    call.world.delete_message(call.id("message_id"))
    return 204, None
