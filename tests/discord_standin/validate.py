"""Checks on what the bot sends: the spec's request schemas plus the limits the spec leaves out.

Each check yields `Problem`s (a JSON path into the body, a Discord-style error code and a
sentence). The REST layer turns them into Discord's 50035 "Invalid Form Body" answer and records
them as violations, so a test sees both the bot's reaction and the cause.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any

import jsonschema

from tests.discord_standin.spec import Operation, Spec

CONTENT_LIMIT = 2000
EMBEDS_PER_MESSAGE = 10
EMBED_TOTAL_CHARS = 6000
EMBED_LIMITS = {"title": 256, "description": 4096}
FIELDS_PER_EMBED = 25
FIELD_NAME_LIMIT = 256
FIELD_VALUE_LIMIT = 1024
FOOTER_TEXT_LIMIT = 2048
AUTHOR_NAME_LIMIT = 256
ACTION_ROWS_PER_MESSAGE = 5
SELECT_OPTIONS_LIMIT = 25
AUTOCOMPLETE_CHOICES_LIMIT = 25

_USER_MENTION = re.compile(r"<@!?\d+>")
_ROLE_MENTION = re.compile(r"<@&\d+>")
_MASS_MENTION = re.compile(r"@(everyone|here)")

# Operations whose body is (or wraps) a message a channel will show.
MESSAGE_OPERATIONS = {
    "create_message",
    "update_message",
    "execute_webhook",
    "update_webhook_message",
    "update_original_webhook_message",
    "create_interaction_response",
}


@dataclass(frozen=True)
class Problem:
    path: tuple[str | int, ...]
    code: str
    message: str

    def describe(self) -> str:
        where = ".".join(str(p) for p in self.path) or "<body>"
        return f"{where}: {self.message} ({self.code})"


def _leaf_errors(error: jsonschema.ValidationError) -> list[jsonschema.ValidationError]:
    if not error.context:
        return [error]
    leaves = [leaf for sub in error.context for leaf in _leaf_errors(sub)]
    deepest = max(len(leaf.absolute_path) for leaf in leaves)
    return [leaf for leaf in leaves if len(leaf.absolute_path) == deepest]


def schema_problems(validator: jsonschema.protocols.Validator, body: Any) -> list[Problem]:
    """Errors of `body` against a spec schema; for unions, the errors of the closest branch."""
    problems: dict[tuple[tuple[str | int, ...], str], Problem] = {}
    for error in validator.iter_errors(body):
        for leaf in _leaf_errors(error):
            path = tuple(leaf.absolute_path)
            code = f"SCHEMA_{str(leaf.validator).upper()}"
            problems.setdefault((path, leaf.message), Problem(path, code, leaf.message[:300]))
    return list(problems.values())


def path_problems(spec: Spec, op: Operation) -> list[Problem]:
    problems = []
    for name, validator in spec.path_param_validators(op).items():
        value = op.params.get(name)
        if value is not None and not validator.is_valid(value):
            problems.append(Problem((name,), "PATH_PARAMETER", f"{value!r} is not a valid {name}"))
    return problems


def _too_long(value: Any, limit: int, path: tuple[str | int, ...]) -> Iterator[Problem]:
    if isinstance(value, str) and len(value) > limit:
        msg = f"Must be {limit} or fewer in length (got {len(value)})."
        yield Problem(path, "BASE_TYPE_MAX_LENGTH", msg)


def _blank(value: Any) -> bool:
    return not isinstance(value, str) or not value.strip()


def embed_problems(embeds: Any, base: tuple[str | int, ...] = ()) -> Iterator[Problem]:
    """Discord's embed limits, including the 6,000 characters shared by all embeds of a message."""
    if not isinstance(embeds, list):
        return
    if len(embeds) > EMBEDS_PER_MESSAGE:
        yield Problem((*base, "embeds"), "BASE_TYPE_MAX_LENGTH", "Must be 10 or fewer in length.")
    total = 0
    for i, embed in enumerate(embeds):
        if not isinstance(embed, dict):
            continue
        at = (*base, "embeds", i)
        for key, limit in EMBED_LIMITS.items():
            yield from _too_long(embed.get(key), limit, (*at, key))
            total += len(embed.get(key) or "")
        footer = embed.get("footer") or {}
        yield from _too_long(footer.get("text"), FOOTER_TEXT_LIMIT, (*at, "footer", "text"))
        total += len(footer.get("text") or "")
        author = embed.get("author") or {}
        yield from _too_long(author.get("name"), AUTHOR_NAME_LIMIT, (*at, "author", "name"))
        total += len(author.get("name") or "")
        fields = embed.get("fields") or []
        if len(fields) > FIELDS_PER_EMBED:
            msg = "Must be 25 or fewer in length."
            yield Problem((*at, "fields"), "BASE_TYPE_MAX_LENGTH", msg)
        for j, field in enumerate(fields):
            if not isinstance(field, dict):
                continue
            for key, limit in (("name", FIELD_NAME_LIMIT), ("value", FIELD_VALUE_LIMIT)):
                if _blank(field.get(key)):
                    msg = "This field is required (blank or missing)."
                    yield Problem((*at, "fields", j, key), "BASE_TYPE_REQUIRED", msg)
                yield from _too_long(field.get(key), limit, (*at, "fields", j, key))
                total += len(field.get(key) or "")
    if total > EMBED_TOTAL_CHARS:
        msg = f"Embed size exceeds maximum size of 6000 (got {total})."
        yield Problem((*base, "embeds"), "MAX_EMBED_SIZE_EXCEEDED", msg)


def component_problems(components: Any, base: tuple[str | int, ...] = ()) -> Iterator[Problem]:
    if not isinstance(components, list):
        return
    rows = [c for c in components if isinstance(c, dict) and c.get("type") == 1]
    if len(rows) > ACTION_ROWS_PER_MESSAGE:
        msg = f"Must be 5 or fewer action rows (got {len(rows)})."
        yield Problem((*base, "components"), "BASE_TYPE_MAX_LENGTH", msg)
    for i, row in enumerate(components):
        if not isinstance(row, dict):
            continue
        for j, child in enumerate(row.get("components") or []):
            options = child.get("options") if isinstance(child, dict) else None
            if isinstance(options, list) and len(options) > SELECT_OPTIONS_LIMIT:
                path = (*base, "components", i, "components", j, "options")
                yield Problem(path, "BASE_TYPE_MAX_LENGTH", "Must be 25 or fewer in length.")


def mention_problems(
    message: dict[str, Any], base: tuple[str | int, ...] = ()
) -> Iterator[Problem]:
    """The project's rule: feed text must never ping. Mentions must be explicitly switched off."""
    content = message.get("content") or ""
    allowed = message.get("allowed_mentions")
    if not isinstance(allowed, dict):
        msg = "allowed_mentions is missing: feed text could ping @everyone, roles or users."
        yield Problem((*base, "allowed_mentions"), "STANDIN_MENTION_POLICY", msg)
        return
    parse = allowed.get("parse") or []
    for kind in ("everyone", "roles"):
        if kind in parse:
            msg = f"allowed_mentions.parse permits {kind!r}."
            yield Problem((*base, "allowed_mentions", "parse"), "STANDIN_MENTION_POLICY", msg)
    if "users" in parse and _USER_MENTION.search(content):
        msg = "content mentions a user and allowed_mentions.parse permits 'users'."
        yield Problem((*base, "allowed_mentions", "parse"), "STANDIN_MENTION_POLICY", msg)


def _is_empty_message(message: dict[str, Any], *, has_files: bool) -> bool:
    keys = ("content", "embeds", "components", "sticker_ids", "poll", "attachments")
    return not has_files and not any(message.get(k) for k in keys)


def message_problems(
    message: dict[str, Any],
    *,
    base: tuple[str | int, ...] = (),
    creating: bool,
    has_files: bool = False,
    require_allowed_mentions: bool = True,
) -> list[Problem]:
    """Limits on one message body (create, edit, webhook, interaction response data)."""
    problems: list[Problem] = []
    problems += _too_long(message.get("content"), CONTENT_LIMIT, (*base, "content"))
    problems += embed_problems(message.get("embeds"), base)
    problems += component_problems(message.get("components"), base)
    if creating and _is_empty_message(message, has_files=has_files):
        problems.append(Problem(base, "EMPTY_MESSAGE", "Cannot send an empty message"))
    carries_text = "content" in message or "embeds" in message
    if require_allowed_mentions and (creating or carries_text):
        problems += mention_problems(message, base)
    return problems


def mentions_in(text: str) -> set[str]:
    """Which kinds of mention a text contains (for tests that inspect delivered messages)."""
    kinds = set()
    if _MASS_MENTION.search(text):
        kinds.add("everyone")
    if _ROLE_MENTION.search(text):
        kinds.add("roles")
    if _USER_MENTION.search(text):
        kinds.add("users")
    return kinds


def error_body(problems: Iterable[Problem]) -> dict[str, Any]:
    """Discord's nested 50035 document: {"errors": {"embeds": {"0": {"title": {"_errors"…"""
    errors: dict[str, Any] = {}
    for problem in problems:
        node = errors
        for part in problem.path:
            node = node.setdefault(str(part), {})
        node.setdefault("_errors", []).append({"code": problem.code, "message": problem.message})
    return {"code": 50035, "message": "Invalid Form Body", "errors": errors}


_COMMAND_NAME = re.compile(r"^[-_'\w]{1,32}$")


def _option_problems(options: Any, base: tuple[str | int, ...]) -> Iterator[Problem]:
    if not isinstance(options, list):
        return
    if len(options) > 25:
        yield Problem((*base, "options"), "BASE_TYPE_MAX_LENGTH", "Must be 25 or fewer in length.")
    seen_optional = False
    names: set[str] = set()
    for i, option in enumerate(options):
        if not isinstance(option, dict):
            continue
        at = (*base, "options", i)
        yield from _name_problems(option, at, chat_input=True)
        if option.get("name") in names:
            yield Problem((*at, "name"), "DUPLICATE_NAME", "Option names must be unique.")
        names.add(option.get("name"))
        if option.get("type") in (1, 2):
            yield from _option_problems(option.get("options"), at)
            continue
        if option.get("required") and seen_optional:
            msg = "Required options must be placed before non-required options."
            yield Problem(at, "APPLICATION_COMMAND_OPTIONS_REQUIRED_INVALID", msg)
        seen_optional = seen_optional or not option.get("required")
        if len(option.get("choices") or []) > 25:
            msg = "Must be 25 or fewer in length."
            yield Problem((*at, "choices"), "BASE_TYPE_MAX_LENGTH", msg)


def _name_problems(item: dict[str, Any], at: tuple[str | int, ...], *, chat_input: bool):
    name = item.get("name")
    if chat_input and (
        not isinstance(name, str) or not _COMMAND_NAME.match(name) or name != name.lower()
    ):
        msg = f"{name!r}: names must be 1-32 lowercase letters, digits, - or _."
        yield Problem((*at, "name"), "APPLICATION_COMMAND_INVALID_NAME", msg)
    description = item.get("description")
    if chat_input and (not isinstance(description, str) or not 1 <= len(description) <= 100):
        msg = "Slash commands and options need a description of 1-100 characters."
        yield Problem((*at, "description"), "BASE_TYPE_BAD_LENGTH", msg)


def command_problems(commands: list[Any]) -> list[Problem]:
    """Registration rules Discord enforces beyond the schema (names, order, uniqueness)."""
    problems: list[Problem] = []
    seen: set[tuple[Any, Any]] = set()
    for i, command in enumerate(commands):
        if not isinstance(command, dict):
            continue
        chat_input = command.get("type", 1) == 1
        problems += _name_problems(command, (i,), chat_input=chat_input)
        key = (command.get("name"), command.get("type", 1))
        if key in seen:
            msg = "Application command names must be unique"
            problems.append(Problem((i, "name"), "APPLICATION_COMMANDS_DUPLICATE_NAME", msg))
        seen.add(key)
        if chat_input:
            problems += _option_problems(command.get("options"), (i,))
    return problems
