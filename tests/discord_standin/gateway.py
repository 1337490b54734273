"""The gateway websocket: HELLO, IDENTIFY -> READY + GUILD_CREATE, heartbeats, RESUME with replay.

An IDENTIFY with ``shard: [id, count]`` opens that shard's session, as on Discord: its READY
lists (and GUILD_CREATE follows for) only the guilds with ``(guild_id >> 22) % count == id``,
and guild events go to the session of the guild's shard (DMs and the like to shard 0). So
several bot processes, one per shard, can share one stand-in.

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


def shard_of(guild_id: int, shard_count: int) -> int:
    """The shard Discord puts a guild on."""
    return (guild_id >> 22) % shard_count


@dataclass
class Session:
    id: str
    intents: int
    connection: Connection | None = None
    #: ``(shard_id, shard_count)`` from IDENTIFY; None: one session gets everything
    shard: tuple[int, int] | None = None
    seq: int = 0
    events: list[dict[str, Any]] = field(default_factory=list)
    valid: bool = True

    def serves(self, guild_id: int | None) -> bool:
        """Is this session's shard the one Discord sends that guild's events to?"""
        if self.shard is None:
            return True
        shard_id, count = self.shard
        if guild_id is None:
            return shard_id == 0
        return shard_of(guild_id, count) == shard_id


def _event_guild(data: dict[str, Any]) -> int | None:
    guild_id = data.get("guild_id") if isinstance(data, dict) else None
    return int(guild_id) if guild_id else None


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
        #: the session identified last (what `drop` and `request_reconnect` act on)
        self.current: Session | None = None
        #: the live session of each shard (None: an unsharded IDENTIFY)
        self.shard_sessions: dict[tuple[int, int] | None, Session] = {}
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

    def sessions_for(self, guild_id: int | None) -> list[Session]:
        """The live sessions a guild's events go to (one per bot, its guild's shard)."""
        return [s for s in self.shard_sessions.values() if s.valid and s.serves(guild_id)]

    async def dispatch(
        self, event: str, data: dict[str, Any], *, session: Session | None = None
    ) -> int | None:
        """Send a DISPATCH to the session of the guild's shard (``data["guild_id"]``), or to
        ``session``; kept for replay when it is not connected right now."""
        targets = [session] if session is not None else self.sessions_for(_event_guild(data))
        seq = None
        for target in targets:
            if not target.valid:
                continue
            target.seq += 1
            seq = target.seq
            payload = {"op": DISPATCH, "t": event, "s": target.seq, "d": data}
            target.events.append(payload)
            if target.connection is not None:
                await target.connection.send(payload)
        return seq

    def wants_guild_messages(self, guild_id: int | None = None) -> bool:
        return any(s.intents & GUILD_MESSAGES_INTENT for s in self.sessions_for(guild_id))

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
            await self._member_chunk(session, data or {})
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
        shard = data.get("shard")
        if shard is not None and not _valid_shard(shard):
            self.world.violations.append(f"gateway: IDENTIFY with an invalid shard {shard!r}")
            await conn.ws.close(code=4010, message=b"Invalid shard.")
            return None
        key = (shard[0], shard[1]) if shard is not None else None
        self.identify_count += 1
        self.identify_payloads.append(data)
        session = Session(secrets.token_hex(16), data["intents"], connection=conn, shard=key)
        previous = self.shard_sessions.get(key)
        if previous is not None:
            previous.valid = False
        self.sessions[session.id] = session
        self.shard_sessions[key] = session
        self.current = session
        guilds = [g for g in self.world.guilds.values() if session.serves(g.id)]
        ready = {
            "v": 10,
            "user": self.world.bot.payload() | {"verified": True, "mfa_enabled": False},
            "guilds": [{"id": str(g.id), "unavailable": True} for g in guilds],
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
        if key is not None:
            ready["shard"] = list(key)
        await self.dispatch("READY", ready, session=session)
        for guild in guilds:
            await self.dispatch("GUILD_CREATE", self.world.gateway_guild(guild), session=session)
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
        await self.dispatch("RESUMED", {"_trace": ["discord-standin"]}, session=session)
        self._changed()
        return session

    async def _member_chunk(self, session: Session, data: dict[str, Any]) -> None:
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
        await self.dispatch("GUILD_MEMBERS_CHUNK", chunk, session=session)


def _valid_shard(shard: Any) -> bool:
    """``[shard_id, shard_count]`` with ``0 <= shard_id < shard_count``."""
    if not isinstance(shard, list) or len(shard) != 2:
        return False
    shard_id, count = shard
    return isinstance(shard_id, int) and isinstance(count, int) and 0 <= shard_id < count
