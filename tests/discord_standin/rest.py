"""REST under /api/v10: spec routing, auth, validation, injected faults, Discord-like replies.

Every request is matched to a spec operation first; one the spec does not know is a 404 and a
violation. Bodies (JSON, or the payload_json part of multipart) are checked against the
operation's requestBody schema and the limits in `validate`; any problem is answered with
Discord's 50035 "Invalid Form Body" and recorded. Our own 2xx answers are checked against the
spec's response schemas too, so a drift in the stand-in shows up in `self_check`.
"""

from __future__ import annotations

import asyncio
import json
import zlib
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web
from multidict import MultiMapping

from tests.discord_standin import validate
from tests.discord_standin.faults import Faults, ratelimit_headers, too_many_requests
from tests.discord_standin.gateway import Gateway
from tests.discord_standin.spec import Operation, Spec
from tests.discord_standin.state import RequestLog, World


@dataclass
class Options:
    require_allowed_mentions: bool = True
    nonce_window_s: float = 300.0
    interaction_deadline_s: float = 3.0


class DiscordError(Exception):
    """Answer with Discord's error document; `violation` also records it against the bot."""

    def __init__(self, status: int, code: int, message: str, violation: str | None = None) -> None:
        super().__init__(message)
        self.status, self.code, self.message, self.violation = status, code, message, violation


@dataclass
class Call:
    """What a route handler gets: the matched operation, the parsed body and the world."""

    op: Operation
    body: Any
    query: MultiMapping[str]
    files: int
    rest: Rest

    @property
    def world(self) -> World:
        return self.rest.world

    def id(self, name: str) -> int:
        return int(self.op.params[name])

    def flag(self, name: str) -> bool:
        return self.query.get(name, "").lower() in ("1", "true")


Handler = Callable[[Call], Awaitable[tuple[int, Any]]]
ROUTES: dict[str, Handler] = {}


def route(key: str) -> Callable[[Handler], Handler]:
    """Register a handler for "METHOD /spec/template"."""

    def register(handler: Handler) -> Handler:
        ROUTES[key] = handler
        return handler

    return register


def json_response(status: int, body: Any, headers: dict[str, str] | None = None) -> web.Response:
    # discord.py parses a body as JSON only when Content-Type is exactly "application/json".
    data = None if body is None else json.dumps(body).encode()
    response = web.Response(status=status, body=data, headers=headers or {})
    if data is not None:
        response.headers["Content-Type"] = "application/json"
    return response


async def _read_body(request: web.Request) -> tuple[Any, int, str | None]:
    """(body, number of files, problem): JSON, or multipart whose payload_json is the body."""
    if not request.body_exists:
        return None, 0, None
    ctype = request.content_type
    if ctype == "application/json":
        try:
            return json.loads(await request.text()), 0, None
        except ValueError:
            return None, 0, "body is not valid JSON"
    if ctype == "multipart/form-data":
        body, files = None, 0
        reader = await request.multipart()
        async for part in reader:
            if part.name == "payload_json":
                body = json.loads(await part.text())
            elif part.filename is not None:
                files += 1
                await part.read()
        return body, files, None
    return None, 0, f"unsupported Content-Type {ctype!r}"


@dataclass
class Rest:
    world: World
    gateway: Gateway
    spec: Spec
    faults: Faults
    changed: Callable[[], None]
    options: Options = field(default_factory=Options)

    async def handle(self, request: web.Request) -> web.StreamResponse:
        path = "/" + request.match_info["tail"]
        template, op = self.spec.match(request.method, path)
        status = 500
        try:
            response = await self._handle(request, path, template, op)
            status = response.status
            return response
        finally:
            self.world.requests.append(RequestLog(request.method, path, status, op and op.key))
            self.changed()

    async def publish(self, message: dict[str, Any], *, visible: bool = True) -> None:
        """Store a new message and, like Discord, echo it to the bot as MESSAGE_CREATE."""
        self.world.store_message(message, visible=visible)
        guild_id = int(message["guild_id"]) if message.get("guild_id") else None
        if visible and self.gateway.wants_guild_messages(guild_id):
            await self.gateway.dispatch("MESSAGE_CREATE", message)

    def violation(self, text: str) -> None:
        self.world.violations.append(text)

    async def _handle(
        self, request: web.Request, path: str, template: str | None, op: Operation | None
    ) -> web.StreamResponse:
        where = f"{request.method} {path}"
        if op is None:
            self.violation(f"{where}: no such route in Discord's API")
            status = 405 if template else 404
            return json_response(status, {"message": f"{status}: Not Found", "code": 0})
        bucket = format(zlib.crc32(op.key.encode()), "08x")
        headers = ratelimit_headers(bucket)
        auth = request.headers.get("Authorization")
        if (auth is None and not self.spec.auth_optional(op)) or (
            auth is not None and auth != f"Bot {self.world.token}"
        ):
            self.violation(f"{where}: missing or wrong Authorization ({auth!r})")
            return json_response(401, {"message": "401: Unauthorized", "code": 0}, headers)
        held = self.faults.take(request.method, op.template, path, drop=False, hold=True)
        if held is not None and held.released is not None:
            await held.released.wait()
            if request.transport is None or request.transport.is_closing():
                return json_response(499, {"message": "client gone", "code": 0}, headers)
        fault = self.faults.take(request.method, op.template, path, drop=False)
        if fault is not None:
            if fault.status == 429:
                body, fault_headers = too_many_requests(fault, bucket)
                return json_response(429, body, fault_headers)
            message = {"message": f"{fault.status}: stand-in injected failure", "code": 0}
            return json_response(fault.status, message, headers)
        body, files, body_problem = await _read_body(request)
        problems = validate.path_problems(self.spec, op)
        if body_problem:
            problems.append(validate.Problem((), "BODY", body_problem))
        problems += self._body_problems(op, body, files)
        if problems:
            for problem in problems:
                self.violation(f"{op.key}: {problem.describe()}")
            return json_response(400, validate.error_body(problems), headers)
        handler = ROUTES.get(op.key)
        if handler is None:
            self.violation(f"{where}: {op.key} is in the spec but the stand-in does not serve it")
            return json_response(404, {"message": "404: Not Found", "code": 0}, headers)
        if await self._held(request, op, path, after_create=False):
            return json_response(503, {"message": "held and cut", "code": 0}, headers)
        call = Call(op, body, request.query, files, self)
        try:
            status, reply = await handler(call)
        except DiscordError as error:
            if error.violation:
                self.violation(f"{op.key}: {error.violation}")
            reply = {"message": error.message, "code": error.code}
            return json_response(error.status, reply, headers)
        self._check_own_reply(op, status, reply)
        slow = self.faults.take(request.method, op.template, path, drop=False, delayed=True)
        if slow is not None:
            await asyncio.sleep(slow.delay)  # done, but the answer comes late (or never)
        if await self._held(request, op, path, after_create=True):
            return json_response(status, reply, headers)
        if self.faults.take(request.method, op.template, path, drop=True) is not None:
            # The server did the work but the client never hears back, as after a crash.
            if request.transport is not None:
                request.transport.abort()
        return json_response(status, reply, headers)

    async def _held(
        self, request: web.Request, op: Operation, path: str, *, after_create: bool
    ) -> bool:
        """Hold a matching request unanswered until released, then cut its connection."""
        hold = self.faults.take_hold(request.method, op.template, path, after_create=after_create)
        if hold is None:
            return False
        self.changed()
        await hold.hold()
        if request.transport is not None:
            request.transport.abort()
        return True

    def _body_problems(self, op: Operation, body: Any, files: int) -> list[validate.Problem]:
        if body is None:
            if self.spec.request_body_required(op):
                return [validate.Problem((), "BASE_TYPE_REQUIRED", "a request body is required")]
            return []
        validator = self.spec.request_validator(op)
        problems = validate.schema_problems(validator, body) if validator else []
        if problems or not isinstance(body, dict | list):
            return problems
        strict = self.options.require_allowed_mentions
        if op.operation_id == "create_interaction_response":
            kind = body.get("type")
            if kind in (4, 7) and isinstance(body.get("data"), dict):
                creating = kind == 4
                problems += validate.message_problems(
                    body["data"],
                    base=("data",),
                    creating=creating,
                    has_files=files > 0,
                    require_allowed_mentions=strict,
                )
            if kind == 8:
                choices = (body.get("data") or {}).get("choices") or []
                if len(choices) > validate.AUTOCOMPLETE_CHOICES_LIMIT:
                    msg = "Must be 25 or fewer in length."
                    problems.append(
                        validate.Problem(("data", "choices"), "BASE_TYPE_MAX_LENGTH", msg)
                    )
        elif op.operation_id in validate.MESSAGE_OPERATIONS and isinstance(body, dict):
            creating = op.method == "POST"
            problems += validate.message_problems(
                body, creating=creating, has_files=files > 0, require_allowed_mentions=strict
            )
        elif op.operation_id.startswith("bulk_set_") and isinstance(body, list):
            problems += validate.command_problems(body)
        return problems

    def _check_own_reply(self, op: Operation, status: int, reply: Any) -> None:
        validator = self.spec.response_validator(op, status)
        if validator is None:
            if reply is not None and 200 <= status < 300 and status != 200:
                self.world.self_check.append(f"{op.key}: {status} is not a documented answer")
            return
        for problem in validate.schema_problems(validator, reply):
            self.world.self_check.append(f"{op.key} -> {status}: {problem.describe()}")


def make_app(rest: Rest) -> web.Application:
    app = web.Application(client_max_size=64 * 1024 * 1024)
    app.router.add_get("/gateway", rest.gateway.handle)
    app.router.add_get("/gateway-resume", rest.gateway.handle)
    app.router.add_route("*", "/api/v10/{tail:.*}", rest.handle)
    app.router.add_route("*", "/{tail:.*}", _unknown(rest))
    return app


def _unknown(rest: Rest) -> Callable[[web.Request], Awaitable[web.Response]]:
    async def handler(request: web.Request) -> web.Response:
        rest.violation(f"{request.method} {request.path}: outside /api/v10")
        return json_response(404, {"message": "404: Not Found", "code": 0})

    return handler
