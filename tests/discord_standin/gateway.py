"""The gateway websocket: HELLO, IDENTIFY -> READY + GUILD_CREATE, heartbeats, RESUME with replay.

discord.py connects with `?v=10&encoding=json&compress=zlib-stream`: every frame we send is a
chunk of one zlib stream per connection, each message ending in a Z_SYNC_FLUSH (00 00 ff ff) that
tells the client a message is complete. Sessions outlive connections, so events dispatched while
the bot is away are replayed when it RESUMEs, as on Discord.
"""

from __future__ import annotations

import asyncio
import json
import secrets
import zlib
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from aiohttp import WSMsgType, web

from tests.discord_standin.state import World

HELLO, HEARTBEAT, IDENTIFY, PRESENCE, VOICE, RESUME = 10, 1, 2, 3, 4, 6
RECONNECT, REQUEST_MEMBERS, INVALID_SESSION, HEARTBEAT_ACK, DISPATCH = 7, 8, 9, 11, 0
GUILD_MESSAGES_INTENT = 1 << 9
# Close codes after which Discord lets the client RESUME.
RESUMABLE_CLOSE = 4000
NOT_RESUMABLE_CLOSE = 4009
# Close codes after which the session is gone: 4007 invalid seq, 4009 session timed out.
SESSION_ENDING_CLOSES = {4007, 4009}


class _Zlib:
    def __init__(self) -> None:
        self._compressor = zlib.compressobj()

    def __call__(self, data: bytes) -> bytes:
        return self._compressor.compress(data) + self._compressor.flush(zlib.Z_SYNC_FLUSH)


class _Zstd:
    """Used only when discord.py found a zstd module and so asks for `zstd-stream`."""

    def __init__(self) -> None:
        import zstandard  # optional: imported only when asked for

        self._flush = zstandard.COMPRESSOBJ_FLUSH_BLOCK
        self._compressor = zstandard.ZstdCompressor().compressobj()

    def __call__(self, data: bytes) -> bytes:
        return self._compressor.compress(data) + self._compressor.flush(self._flush)


@dataclass
class Connection:
    ws: web.WebSocketResponse
    compress: Callable[[bytes], bytes] | None
    path: str
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)

    async def send(self, payload: dict[str, Any]) -> None:
        data = json.dumps(payload, separators=(",", ":")).encode()
        async with self.lock:  # compressed chunks must reach the wire in stream order
            if self.ws.closed:
                return
            if self.compress is None:
                await self.ws.send_str(data.decode())
            else:
                await self.ws.send_bytes(self.compress(data))


@dataclass
class Session:
    id: str
    intents: int
    seq: int = 0
    events: list[dict[str, Any]] = field(default_factory=list)
    connection: Connection | None = None
    valid: bool = True


class Gateway:
    """One bot's gateway; tests drive it through `DiscordStandIn`."""

    def __init__(
        self, world: World, changed: Callable[[], None], heartbeat_interval_ms: int = 41250
    ) -> None:
        self.world = world
        self._changed = changed
        self.heartbeat_interval_ms = heartbeat_interval_ms
        self.base_url = ""
        self.sessions: dict[str, Session] = {}
        self.current: Session | None = None
        self.identify_count = 0
        self.resume_count = 0
        self.connections = 0
        self.identify_payloads: list[dict[str, Any]] = []
        self.resume_paths: list[str] = []
        self.presence_updates: list[dict[str, Any]] = []
        self.ready = asyncio.Event()

    @property
    def url(self) -> str:
        return f"{self.base_url}/gateway"

    @property
    def resume_url(self) -> str:
        return f"{self.base_url}/gateway-resume"

    @property
    def connected(self) -> bool:
        session = self.current
        return session is not None and session.connection is not None

    # -- events ---------------------------------------------------------------------------------

    async def dispatch(self, event: str, data: dict[str, Any]) -> int | None:
        """Send a DISPATCH to the bot; kept for replay when it is not connected right now."""
        session = self.current
        if session is None or not session.valid:
            return None
        session.seq += 1
        payload = {"op": DISPATCH, "t": event, "s": session.seq, "d": data}
        session.events.append(payload)
        if session.connection is not None:
            await session.connection.send(payload)
        return session.seq

    def wants_guild_messages(self) -> bool:
        return self.current is not None and bool(self.current.intents & GUILD_MESSAGES_INTENT)

    async def drop(self, *, resumable: bool = True, code: int | None = None) -> None:
        """Close the socket as Discord does on a node restart (resumable) or an expired session.

        ``code`` picks the close code (default 4000, or 4009 when not resumable); with a code
        after which Discord's sessions cannot be resumed (4007 invalid seq, 4009 timed out) the
        session is gone and a RESUME gets op 9."""
        session = self.current
        if session is None or session.connection is None:
            return
        if code is None:
            code = RESUMABLE_CLOSE if resumable else NOT_RESUMABLE_CLOSE
        if code in SESSION_ENDING_CLOSES:
            session.valid = False
        connection, session.connection = session.connection, None
        await connection.ws.close(code=code, message=b"stand-in dropped the connection")

    async def request_reconnect(self) -> None:
        """Op 7 RECONNECT: the client must reconnect and resume."""
        session = self.current
        if session is not None and session.connection is not None:
            await session.connection.send({"op": RECONNECT, "d": None})

    async def close_all(self) -> None:
        for session in self.sessions.values():
            if session.connection is not None:
                connection, session.connection = session.connection, None
                await connection.ws.close(code=1001, message=b"stand-in stopping")

    # -- websocket ------------------------------------------------------------------------------

    async def handle(self, request: web.Request) -> web.WebSocketResponse:
        ws = web.WebSocketResponse(timeout=1.0, max_msg_size=0)
        await ws.prepare(request)
        self.connections += 1
        query = request.query
        compress_kind = query.get("compress")
        if query.get("v") != "10":
            self.world.violations.append(f"gateway: connected with v={query.get('v')!r}, not 10")
        if query.get("encoding", "json") != "json":
            self.world.violations.append(f"gateway: encoding={query.get('encoding')!r} unsupported")
            await ws.close(code=4002, message=b"stand-in speaks json only")
            return ws
        compress: Callable[[bytes], bytes] | None = None
        if compress_kind == "zlib-stream":
            compress = _Zlib()
        elif compress_kind == "zstd-stream":
            compress = _Zstd()
        elif compress_kind is not None:
            self.world.violations.append(f"gateway: unknown compress={compress_kind!r}")
        connection = Connection(ws, compress, request.path)
        await connection.send(
            {"op": HELLO, "d": {"heartbeat_interval": self.heartbeat_interval_ms}}
        )
        session: Session | None = None
        try:
            async for msg in ws:
                if msg.type is not WSMsgType.TEXT:
                    continue
                payload = json.loads(msg.data)
                session = await self._on_payload(connection, session, payload)
                if ws.closed:
                    break
        finally:
            if session is not None and session.connection is connection:
                session.connection = None
                if ws.close_code in (1000, 1001):  # a clean close from the client ends the session
                    session.valid = False
            self._changed()
        return ws

    async def _on_payload(
        self, conn: Connection, session: Session | None, payload: dict[str, Any]
    ) -> Session | None:
        op, data = payload.get("op"), payload.get("d")
        if op == HEARTBEAT:
            await conn.send({"op": HEARTBEAT_ACK})
            return session
        if op == IDENTIFY:
            return await self._identify(conn, session, data or {})
        if op == RESUME:
            return await self._resume(conn, session, data or {})
        if session is None:
            await conn.ws.close(code=4003, message=b"Not authenticated.")
            return None
        if op == PRESENCE:
            self.presence_updates.append(data or {})
        elif op == REQUEST_MEMBERS:
            await self._member_chunk(data or {})
        elif op != VOICE:
            self.world.violations.append(f"gateway: unknown opcode {op!r}")
            await conn.ws.close(code=4001, message=b"Unknown opcode.")
        return session

    async def _identify(
        self, conn: Connection, session: Session | None, data: dict
    ) -> Session | None:
        if session is not None:
            await conn.ws.close(code=4005, message=b"Already authenticated.")
            return session
        if data.get("token") != self.world.token:
            self.world.violations.append("gateway: IDENTIFY with a wrong token")
            await conn.ws.close(code=4004, message=b"Authentication failed.")
            return None
        if not isinstance(data.get("intents"), int):
            self.world.violations.append("gateway: IDENTIFY without intents")
            await conn.ws.close(code=4013, message=b"Invalid intent(s).")
            return None
        self.identify_count += 1
        self.identify_payloads.append(data)
        session = Session(secrets.token_hex(16), data["intents"], connection=conn)
        if self.current is not None:
            self.current.valid = False
        self.sessions[session.id] = session
        self.current = session
        ready = {
            "v": 10,
            "user": self.world.bot.payload() | {"verified": True, "mfa_enabled": False},
            "guilds": [{"id": str(g), "unavailable": True} for g in self.world.guilds],
            "session_id": session.id,
            "session_type": "normal",
            "resume_gateway_url": self.resume_url,
            "application": {"id": str(self.world.application_id), "flags": 0},
            "private_channels": [],
            "relationships": [],
            "user_settings": {},
            "presences": [],
            "guild_join_requests": [],
            "geo_ordered_rtc_regions": ["loopback"],
            "auth": {},
            "_trace": ["discord-standin"],
        }
        await self.dispatch("READY", ready)
        for guild in self.world.guilds.values():
            await self.dispatch("GUILD_CREATE", self.world.gateway_guild(guild))
        self.ready.set()
        self._changed()
        return session

    async def _resume(
        self, conn: Connection, current: Session | None, data: dict
    ) -> Session | None:
        session = self.sessions.get(str(data.get("session_id")))
        if data.get("token") != self.world.token:
            self.world.violations.append("gateway: RESUME with a wrong token")
            await conn.ws.close(code=4004, message=b"Authentication failed.")
            return None
        if session is None or not session.valid or current is not None:
            await conn.send({"op": INVALID_SESSION, "d": False})
            return None
        self.resume_count += 1
        self.resume_paths.append(conn.path)
        seq = data.get("seq") or 0
        session.connection = conn
        for event in session.events:
            if event["s"] > seq:
                await conn.send(event)
        await self.dispatch("RESUMED", {"_trace": ["discord-standin"]})
        self._changed()
        return session

    async def _member_chunk(self, data: dict[str, Any]) -> None:
        guild = self.world.guilds.get(int(data.get("guild_id") or 0))
        if guild is None:
            return
        members = [self.world.member_payload(guild, self.world.users[u]) for u in guild.member_ids]
        chunk = {
            "guild_id": str(guild.id),
            "members": members,
            "chunk_index": 0,
            "chunk_count": 1,
            "not_found": [],
        }
        if data.get("nonce") is not None:
            chunk["nonce"] = data["nonce"]
        await self.dispatch("GUILD_MEMBERS_CHUNK", chunk)
