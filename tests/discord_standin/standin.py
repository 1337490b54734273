"""`DiscordStandIn`: the loopback Discord a test starts, drives and inspects.

async with DiscordStandIn() as discord_:
    with discord_.patch_discord():      # discord.py now talks to the stand-in
        ...start the bot with discord_.token...
        await discord_.wait_until_ready()
        record = await discord_.send_interaction(None, None, None, "digest", {"topic": "tech"})
        await discord_.wait_for(lambda: record.original is not None)
    assert discord_.violations == []
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable, Iterator
from typing import Any, TypeVar

from aiohttp import web

from tests.discord_standin import interactions as ix
from tests.discord_standin import routes_core, routes_webhooks  # noqa: F401 - register routes
from tests.discord_standin.faults import Fault, Faults, Hold
from tests.discord_standin.gateway import Gateway
from tests.discord_standin.rest import Options, Rest, make_app
from tests.discord_standin.spec import load_spec
from tests.discord_standin.state import (
    ALL_PERMISSIONS,
    MANAGE_WEBHOOKS,
    MEMBER_PERMISSIONS,
    Guild,
    InteractionRecord,
    Webhook,
    World,
)

T = TypeVar("T")


class DiscordStandIn:
    """Discord's gateway and REST API on 127.0.0.1, for one bot, checked against the spec.

    The world starts with one guild holding text channels `channels`, its owner (an admin) and
    one plain member; `guild_id`, `channel_id`, `owner_id` and `member_id` name them.
    """

    def __init__(
        self,
        *,
        token: str = "standin.bot.token",
        bot_name: str = "briefbot",
        guild_name: str = "Stand-in Guild",
        channels: tuple[str, ...] = ("general", "news"),
        heartbeat_interval_ms: int = 41250,
        require_allowed_mentions: bool = True,
        interaction_deadline_s: float = 3.0,
    ) -> None:
        self.world = World(token, bot_name)
        self.guild = self.world.add_guild(guild_name, channels)
        member = self.world.add_user("member")
        self.guild.member_ids.append(member.id)
        self.member_id = member.id
        self.bot_permissions = MEMBER_PERMISSIONS | MANAGE_WEBHOOKS
        self._wakeup = asyncio.Event()
        self.gateway = Gateway(self.world, self._notify, heartbeat_interval_ms)
        self.faults = Faults()
        options = Options(require_allowed_mentions, interaction_deadline_s=interaction_deadline_s)
        self.rest = Rest(self.world, self.gateway, load_spec(), self.faults, self._notify, options)
        self._runner: web.AppRunner | None = None
        self.port = 0

    # -- lifecycle ------------------------------------------------------------------------------

    async def start(self) -> DiscordStandIn:
        self._runner = web.AppRunner(make_app(self.rest), handle_signals=False, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        server = site._server  # aiohttp exposes the bound port only here
        assert server is not None
        self.port = server.sockets[0].getsockname()[1]
        self.gateway.base_url = f"ws://127.0.0.1:{self.port}"
        return self

    async def stop(self) -> None:
        self.faults.release_all()
        await self.gateway.close_all()
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def __aenter__(self) -> DiscordStandIn:
        return await self.start()

    async def __aexit__(self, *exc_info: object) -> None:
        await self.stop()

    @contextlib.contextmanager
    def patch_discord(self) -> Iterator[None]:
        """Point discord.py's REST base and default gateway here; restored on exit."""
        import discord.gateway  # only tests that drive discord.py need it
        import discord.http
        import yarl

        old_base = discord.http.Route.BASE
        old_gateway = discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY
        discord.http.Route.BASE = self.api_url
        discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY = yarl.URL(self.ws_url)
        try:
            yield
        finally:
            discord.http.Route.BASE = old_base
            discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY = old_gateway

    # -- names ----------------------------------------------------------------------------------

    @property
    def token(self) -> str:
        return self.world.token

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def api_url(self) -> str:
        return f"{self.url}/api/v10"

    @property
    def ws_url(self) -> str:
        return self.gateway.url

    @property
    def application_id(self) -> int:
        return self.world.application_id

    @property
    def bot_user_id(self) -> int:
        return self.world.bot.id

    @property
    def guild_id(self) -> int:
        return self.guild.id

    @property
    def channel_id(self) -> int:
        return next(iter(self.guild.channels))

    def channel(self, name: str) -> int:
        return self.guild.channel_named(name).id

    @property
    def owner_id(self) -> int:
        return self.world.owner.id

    # -- records --------------------------------------------------------------------------------

    @property
    def messages(self) -> dict[int, list[dict[str, Any]]]:
        """Channel id -> messages the channel shows, oldest first (ephemeral ones excluded)."""
        return self.world.messages

    @property
    def violations(self) -> list[str]:
        return self.world.violations

    @property
    def self_check(self) -> list[str]:
        """The stand-in's own answers that broke the spec's response schemas (a stand-in bug)."""
        return self.world.self_check

    @property
    def interactions(self) -> dict[int, InteractionRecord]:
        return self.world.interactions

    @property
    def commands(self) -> list[dict[str, Any]]:
        return self.world.global_commands

    @property
    def guild_commands(self) -> dict[int, list[dict[str, Any]]]:
        return self.world.guild_commands

    @property
    def command_syncs(self) -> list[tuple[int | None, list[dict[str, Any]]]]:
        return self.world.command_syncs

    @property
    def requests(self) -> list[Any]:
        return self.world.requests

    @property
    def identify_count(self) -> int:
        return self.gateway.identify_count

    @property
    def resume_count(self) -> int:
        return self.gateway.resume_count

    # -- world changes --------------------------------------------------------------------------

    def add_guild(
        self,
        name: str,
        channels: tuple[str, ...] = ("news",),
        *,
        shard: tuple[int, int] | None = None,
    ) -> Guild:
        """Another guild the bot is in (the owner owns it); ``shard=(id, count)`` puts it on
        that shard. Add guilds before the bot connects: no GUILD_CREATE is sent for it."""
        guild = self.world.add_guild(name, channels, shard=shard)
        guild.member_ids.append(self.member_id)
        return guild

    def add_user(self, username: str) -> int:
        user = self.world.add_user(username)
        self.guild.member_ids.append(user.id)
        return user.id

    async def add_channel(self, name: str) -> int:
        channel = self.world.add_channel(self.guild.id, name)
        await self.gateway.dispatch("CHANNEL_CREATE", channel.payload())
        return channel.id

    def channel_in(self, guild_id: int, name: str) -> int:
        return self.world.guilds[guild_id].channel_named(name).id

    async def delete_channel(self, channel_id: int) -> None:
        """Someone deletes the channel (CHANNEL_DELETE); sends there answer 404 10003."""
        channel = self.world.channels.pop(channel_id)
        self.world.guilds[channel.guild_id].channels.pop(channel_id, None)
        await self.gateway.dispatch("CHANNEL_DELETE", channel.payload())

    def forbid_channel(self, channel_id: int, forbidden: bool = True) -> None:
        """The bot loses access: sends there answer 403 50013 Missing Permissions."""
        self.world.channels[channel_id].forbidden = forbidden

    async def deny_bot(self, channel_id: int, permissions: int) -> None:
        """A member overwrite denies the bot these permission bits in the channel
        (CHANNEL_UPDATE); sends then get what Discord answers (see routes_core)."""
        channel = self.world.channels[channel_id]
        channel.bot_deny = (self.bot_user_id, permissions) if permissions else None
        await self.gateway.dispatch("CHANNEL_UPDATE", channel.payload())

    def add_webhook(self, channel_id: int | None = None, name: str = "feed") -> Webhook:
        return self.world.add_webhook(channel_id or self.channel_id, name)

    def webhook_url(self, hook: Webhook) -> str:
        return f"{self.api_url}/webhooks/{hook.id}/{hook.token}"

    # -- faults and gateway control -------------------------------------------------------------

    def fail_next(
        self,
        route: str,
        status: int = 429,
        times: int = 1,
        retry_after: float = 0.1,
        is_global: bool = False,
    ) -> Fault:
        """The next `times` requests matching `route` get `status` (429 with Discord's headers)."""
        return self.faults.add(Fault(route, status, times, retry_after, is_global))

    def drop_after_create(self, route: str, times: int = 1) -> Fault:
        """Do the work (the message exists) but cut the connection instead of answering."""
        return self.faults.add(Fault(route, 0, times, drop_after_create=True))

    kill_after_create = drop_after_create

    def hold_next(self, route: str, times: int = 1, *, after_create: bool = False) -> Hold:
        """The next `times` matching requests get no answer until `hold.release()` (then their
        connection is cut); `await hold.reached.wait()` until one is held. `after_create`: the
        work is done first (the message exists), as when Discord made it but the answer was lost.
        """
        hold = Hold(route, times, after_create)
        self.faults.holds.append(hold)
        return hold

    def delay_next(self, route: str, seconds: float, times: int = 1) -> Fault:
        """Do the work (the message exists) but hold the answer back `seconds`."""
        return self.faults.add(Fault(route, 0, times, delay=seconds))

    async def drop_gateway(self, resumable: bool = True, code: int | None = None) -> None:
        await self.gateway.drop(resumable=resumable, code=code)

    def hold_in_flight(self, route: str, times: int = 1) -> Fault:
        """The next `times` matching requests wait until `fault.release()`; one whose client
        has gone by then (the bot was killed) is dropped undone, as if it never arrived."""
        return self.faults.add(Fault(route, 0, times, released=asyncio.Event()))

    async def request_reconnect(self) -> None:
        await self.gateway.request_reconnect()

    # -- interactions ---------------------------------------------------------------------------

    def _permissions(self, user_id: int, permissions: str | int | None) -> int:
        if permissions is not None:
            return int(permissions)
        return ALL_PERMISSIONS if user_id == self.owner_id else self.guild.everyone_permissions

    async def _dispatch_interaction(self, record: InteractionRecord) -> InteractionRecord:
        await self.gateway.dispatch("INTERACTION_CREATE", record.payload)
        self._notify()
        return record

    async def send_interaction(
        self,
        guild_id: int | None,
        channel_id: int | None,
        user_id: int | None,
        name: str,
        options: dict[str, Any] | None = None,
        *,
        permissions: str | int | None = None,
        require_registered: bool = True,
        enforce_default_permissions: bool = True,
        focused: str | None = None,
    ) -> InteractionRecord:
        """A user runs `/name` (subcommands: "sources add"); None picks the defaults.

        Raises `CommandNotAvailable` where Discord's client would not let the user do it.
        """
        guild_id = guild_id or self.guild_id
        channel_id = channel_id or self.channel_id
        user_id = user_id or self.member_id
        perms = self._permissions(user_id, permissions)
        data, command = ix.command_data(
            self.world,
            guild_id,
            name,
            options,
            focused=focused,
            require_registered=require_registered,
        )
        if enforce_default_permissions and not ix.may_use(command, perms):
            raise ix.CommandNotAvailable(f"/{name} needs permissions the user lacks")
        record = ix.build_interaction(
            self.world,
            kind=ix.AUTOCOMPLETE if focused else ix.APPLICATION_COMMAND,
            guild_id=guild_id,
            channel_id=channel_id,
            user_id=user_id,
            permissions=perms,
            app_permissions=self.bot_permissions,
            data=data,
        )
        return await self._dispatch_interaction(record)

    async def send_autocomplete(
        self, name: str, options: dict[str, Any], focused: str, **kwargs: Any
    ) -> InteractionRecord:
        """The user is typing option `focused`; the bot must answer with choices (type 8)."""
        return await self.send_interaction(
            kwargs.pop("guild_id", None),
            kwargs.pop("channel_id", None),
            kwargs.pop("user_id", None),
            name,
            options,
            focused=focused,
            **kwargs,
        )

    async def press_button(
        self,
        message: dict[str, Any] | int,
        custom_id: str,
        *,
        values: list[str] | None = None,
        user_id: int | None = None,
        permissions: str | int | None = None,
    ) -> InteractionRecord:
        """Click a button (or pick `values` in a select) that the bot put on `message`."""
        if isinstance(message, int):
            message = self.world.message_index[message]
        component = _find_component(message.get("components") or [], custom_id)
        if component is None:
            raise LookupError(f"message {message['id']} has no component {custom_id!r}")
        data: dict[str, Any] = {"custom_id": custom_id, "component_type": component["type"]}
        if values is not None:
            data["values"] = values
        user_id = user_id or self.member_id
        record = ix.build_interaction(
            self.world,
            kind=ix.MESSAGE_COMPONENT,
            guild_id=self.world.channels[int(message["channel_id"])].guild_id,
            channel_id=int(message["channel_id"]),
            user_id=user_id,
            permissions=self._permissions(user_id, permissions),
            app_permissions=self.bot_permissions,
            data=data,
            message=message,
        )
        return await self._dispatch_interaction(record)

    # -- waiting --------------------------------------------------------------------------------

    def _notify(self) -> None:
        self._wakeup.set()
        self._wakeup = asyncio.Event()

    async def wait_for(
        self,
        predicate: Callable[[], T],
        timeout: float = 5.0,  # noqa: ASYNC109 - a deadline per wait reads best in tests
        what: str | None = None,
    ) -> T:
        """Wait until `predicate()` is truthy and return its value; a TimeoutError says why not."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            result = predicate()
            if result:
                return result
            remaining = deadline - loop.time()
            if remaining <= 0:
                recent = [f"{r.method} {r.path} -> {r.status}" for r in self.requests[-8:]]
                raise TimeoutError(
                    f"stand-in: {what or 'condition'} not met within {timeout}s; "
                    f"recent requests {recent}; violations {self.violations}"
                )
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wakeup.wait(), min(remaining, 0.05))

    async def wait_until_ready(self, timeout: float = 5.0) -> None:  # noqa: ASYNC109
        await self.wait_for(lambda: self.gateway.identify_count > 0, timeout, "IDENTIFY")

    async def wait_for_response(
        self,
        record: InteractionRecord,
        timeout: float = 5.0,  # noqa: ASYNC109
    ) -> dict[str, Any]:
        """The interaction's visible answer: the message, after the edit if it was deferred."""

        def answered() -> dict[str, Any] | None:
            if record.response_type == 8:
                return {"choices": record.autocomplete_choices}
            original = record.original
            if original is None or int(original.get("flags") or 0) & 128:
                return None
            return original

        return await self.wait_for(answered, timeout, f"an answer to interaction {record.id}")


def _find_component(components: list[dict[str, Any]], custom_id: str) -> dict[str, Any] | None:
    for component in components:
        if component.get("custom_id") == custom_id:
            return component
        found = _find_component(component.get("components") or [], custom_id)
        if found is not None:
            return found
    return None
