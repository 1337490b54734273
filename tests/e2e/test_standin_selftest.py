"""The Discord stand-in against discord.py itself: if these pass, a bot built on discord.py can
be tested end to end against the stand-in, and what the stand-in calls a violation is one."""

from __future__ import annotations

import asyncio
import contextlib
import io
from collections.abc import AsyncIterator

import aiohttp
import discord
import pytest
from discord import app_commands
from discord.ext import commands

from tests.discord_standin import CommandNotAvailable, DiscordStandIn

pytestmark = pytest.mark.e2e

TOPICS = ["science", "sport", "tech", "world"]


class Buttons(discord.ui.View):
    def __init__(self) -> None:
        super().__init__(timeout=None)
        self.pressed: list[int] = []

    @discord.ui.button(label="More", custom_id="selftest:more")
    async def more(self, interaction: discord.Interaction, _button: discord.ui.Button) -> None:
        self.pressed.append(interaction.user.id)
        await interaction.response.send_message("more coming", ephemeral=True)


class SelftestBot(commands.Bot):
    async def before_identify_hook(self, shard_id: int | None, *, initial: bool = False) -> None:
        """discord.py sleeps 5 s before a re-IDENTIFY (Discord's identify limit); not here."""


def make_bot() -> tuple[commands.Bot, Buttons]:
    bot = SelftestBot(
        command_prefix="!",
        intents=discord.Intents.default(),
        allowed_mentions=discord.AllowedMentions.none(),
        guild_ready_timeout=0.05,  # discord.py waits this long after the last GUILD_CREATE
    )
    view = Buttons()

    @bot.tree.command(name="news", description="Post the news for a topic")
    @app_commands.describe(topic="Which topic")
    async def news(interaction: discord.Interaction, topic: str) -> None:
        await interaction.response.defer(thinking=True)
        embed = discord.Embed(title=f"Top {topic} stories", description="@everyone read this")
        embed.add_field(name="First", value="Something happened.")
        await interaction.channel.send(embed=embed, view=view)
        await interaction.edit_original_response(content=f"Posted {topic} news.")

    @news.autocomplete("topic")
    async def topic_choices(
        _interaction: discord.Interaction, current: str
    ) -> list[app_commands.Choice[str]]:
        return [app_commands.Choice(name=t, value=t) for t in TOPICS if t.startswith(current)]

    @bot.tree.command(name="setup", description="Admins only")
    @app_commands.default_permissions(manage_guild=True)
    async def setup(interaction: discord.Interaction) -> None:
        await interaction.response.send_message("done", ephemeral=True)

    bot.add_view(view)
    return bot, view


@pytest.fixture
async def standin() -> AsyncIterator[DiscordStandIn]:
    async with DiscordStandIn() as server:
        with server.patch_discord():
            yield server


@pytest.fixture
async def bot(standin: DiscordStandIn) -> AsyncIterator[commands.Bot]:
    client, _view = make_bot()
    task = asyncio.create_task(client.start(standin.token))
    try:
        await asyncio.wait_for(client.wait_until_ready(), 5)
        yield client
    finally:
        await client.close()
        await asyncio.wait_for(task, 5)


async def test_normal_lifecycle_is_recorded_and_has_zero_violations(
    standin: DiscordStandIn, bot: commands.Bot
) -> None:
    assert bot.user is not None and bot.user.id == standin.bot_user_id
    assert bot.get_guild(standin.guild_id) is not None

    synced = await bot.tree.sync()
    assert {c.name for c in synced} == {"news", "setup"}
    assert {c["name"] for c in standin.commands} == {"news", "setup"}

    record = await standin.send_interaction(None, None, None, "news", {"topic": "tech"})
    answer = await standin.wait_for_response(record)
    assert answer["content"] == "Posted tech news."
    posts = [m for m in standin.messages[standin.channel_id] if m["embeds"]]
    assert [p["embeds"][0]["title"] for p in posts] == ["Top tech stories"]
    assert posts[0]["mention_everyone"] is False

    completion = await standin.send_autocomplete("news", {"topic": "s"}, focused="topic")
    choices = await standin.wait_for_response(completion)
    assert [c["value"] for c in choices["choices"]] == ["science", "sport"]

    press = await standin.press_button(posts[0], "selftest:more")
    await standin.wait_for(lambda: press.acknowledged)
    assert press.ephemeral and press.original is not None
    assert press.original not in standin.messages[standin.channel_id]

    assert standin.violations == []
    assert standin.self_check == []


async def test_commands_obey_registration_and_default_permissions(
    standin: DiscordStandIn, bot: commands.Bot
) -> None:
    with pytest.raises(CommandNotAvailable):  # nothing synced yet: no user can run it
        await standin.send_interaction(None, None, None, "news", {"topic": "tech"})
    await bot.tree.sync()
    with pytest.raises(CommandNotAvailable):
        await standin.send_interaction(None, None, None, "setup")
    record = await standin.send_interaction(None, None, standin.owner_id, "setup")
    await standin.wait_for(lambda: record.acknowledged)
    assert standin.violations == []


async def test_same_nonce_twice_creates_one_message(
    standin: DiscordStandIn, bot: commands.Bot
) -> None:
    channel = bot.get_channel(standin.channel_id)
    first = await channel.send("digest", nonce="digest-42")
    second = await channel.send("digest", nonce="digest-42")
    assert first.id == second.id
    assert [m["content"] for m in standin.messages[standin.channel_id]] == ["digest"]
    assert standin.violations == []


async def test_429_burst_is_retried_and_lands_once(
    standin: DiscordStandIn, bot: commands.Bot
) -> None:
    standin.fail_next("POST /channels/{channel_id}/messages", status=429, times=2, retry_after=0.05)
    channel = bot.get_channel(standin.channel_id)
    await channel.send("after the burst")
    statuses = [r.status for r in standin.requests if r.path.endswith("/messages")]
    assert statuses == [429, 429, 200]
    assert len(standin.messages[standin.channel_id]) == 1
    assert standin.violations == []


async def test_connection_cut_after_create_then_retry_with_nonce_is_not_doubled(
    standin: DiscordStandIn, bot: commands.Bot
) -> None:
    standin.drop_after_create("POST /channels/*/messages")
    channel = bot.get_channel(standin.channel_id)
    with pytest.raises(aiohttp.ClientError):
        await channel.send("once only", nonce="outbox-7")
    await channel.send("once only", nonce="outbox-7")
    assert [m["content"] for m in standin.messages[standin.channel_id]] == ["once only"]


async def test_gateway_drop_is_resumed_and_missed_events_replayed(
    standin: DiscordStandIn, bot: commands.Bot
) -> None:
    await bot.tree.sync()
    await standin.drop_gateway(resumable=True)
    record = await standin.send_interaction(None, None, None, "news", {"topic": "world"})
    await standin.wait_for(lambda: standin.resume_count == 1, what="RESUME")
    answer = await standin.wait_for_response(record)
    assert answer["content"] == "Posted world news."
    assert standin.identify_count == 1
    assert standin.gateway.resume_paths == ["/gateway-resume"]
    assert standin.violations == []


async def test_expired_session_makes_the_bot_identify_again(
    standin: DiscordStandIn, bot: commands.Bot
) -> None:
    await standin.drop_gateway(resumable=False)
    await standin.wait_for(lambda: standin.identify_count == 2, what="second IDENTIFY")
    assert standin.resume_count == 0


async def _post(standin: DiscordStandIn, path: str, body: dict, auth: bool = True) -> tuple:
    headers = {"Authorization": f"Bot {standin.token}"} if auth else {}
    async with aiohttp.ClientSession() as session:
        async with session.post(f"{standin.api_url}{path}", json=body, headers=headers) as resp:
            ctype = resp.headers.get("Content-Type")
            return resp.status, ctype, await resp.json() if ctype else None


async def test_spec_violation_gets_400_and_is_recorded(standin: DiscordStandIn) -> None:
    body = {"embeds": [{"title": "t" * 300}], "allowed_mentions": {"parse": []}}
    status, ctype, reply = await _post(standin, f"/channels/{standin.channel_id}/messages", body)
    assert (status, ctype, reply["code"]) == (400, "application/json", 50035)
    assert "_errors" in reply["errors"]["embeds"]["0"]["title"]
    assert any("embeds.0.title" in v for v in standin.violations)
    assert standin.messages[standin.channel_id] == []


@pytest.mark.parametrize(
    ("body", "where"),
    [
        ({"content": "x" * 2001, "allowed_mentions": {"parse": []}}, "content"),
        ({"content": "hello @everyone"}, "allowed_mentions"),
        ({"content": "hi", "allowed_mentions": {"parse": ["everyone"]}}, "allowed_mentions.parse"),
        ({"embeds": [{"fields": [{"name": "", "value": "v"}]}], "allowed_mentions": {}}, "name"),
        ({"embeds": [{"description": "d" * 4000}] * 2, "allowed_mentions": {}}, "6000"),
        ({"allowed_mentions": {"parse": []}}, "empty message"),
    ],
)
async def test_limits_the_spec_does_not_encode(
    standin: DiscordStandIn, body: dict, where: str
) -> None:
    status, _ctype, _reply = await _post(standin, f"/channels/{standin.channel_id}/messages", body)
    assert status == 400
    assert any(where in v for v in standin.violations), standin.violations


async def test_unknown_route_and_missing_token_are_violations(standin: DiscordStandIn) -> None:
    status, _ctype, reply = await _post(standin, "/channels/1/nonsense", {})
    assert (status, reply) == (404, {"message": "404: Not Found", "code": 0})
    status, _ctype, _reply = await _post(standin, "/channels/1/messages", {"content": "x"}, False)
    assert status == 401
    assert len(standin.violations) == 2


async def test_incoming_webhook_needs_no_bot_token(standin: DiscordStandIn) -> None:
    hook = standin.add_webhook(standin.channel("news"))
    body = {"content": "from a webhook", "allowed_mentions": {"parse": []}}
    async with aiohttp.ClientSession() as session:
        url = standin.webhook_url(hook) + "?wait=true"
        async with session.post(url, json=body) as resp:
            assert resp.status == 200
            message = await resp.json()
    assert message["webhook_id"] == str(hook.id)
    assert standin.messages[standin.channel("news")][0]["content"] == "from a webhook"
    assert standin.violations == [] and standin.self_check == []


async def test_multipart_upload_is_validated_by_its_payload_json(
    standin: DiscordStandIn, bot: commands.Bot
) -> None:
    channel = bot.get_channel(standin.channel_id)
    upload = discord.File(io.BytesIO(b"headline,url\n"), filename="digest.csv")
    await channel.send("digest attached", file=upload)
    with pytest.raises(discord.HTTPException) as caught:
        big = discord.Embed(title="t" * 257)
        await channel.send(file=discord.File(io.BytesIO(b"x"), filename="x.txt"), embed=big)
    assert caught.value.status == 400 and caught.value.code == 50035
    assert [m["content"] for m in standin.messages[standin.channel_id]] == ["digest attached"]
    assert [v for v in standin.violations if "embeds.0.title" not in v] == []


async def test_interaction_answered_twice_or_too_late_is_a_violation() -> None:
    async with DiscordStandIn(interaction_deadline_s=0.2) as server:
        first = await server.send_interaction(None, None, None, "x", require_registered=False)
        late = await server.send_interaction(None, None, None, "y", require_registered=False)
        answer = {"type": 4, "data": {"content": "ok", "allowed_mentions": {"parse": []}}}
        path = f"/interactions/{first.id}/{first.token}/callback"
        assert (await _post(server, path, answer, auth=False))[0] == 204
        status, _ctype, reply = await _post(server, path, answer, auth=False)
        assert (status, reply["code"]) == (400, 40060)
        await asyncio.sleep(0.25)
        path = f"/interactions/{late.id}/{late.token}/callback"
        status, _ctype, reply = await _post(server, path, answer, auth=False)
        assert (status, reply["code"]) == (404, 10062)
        assert len(server.violations) == 2
        assert server.messages[server.channel_id][0]["content"] == "ok"


class ShardBot(commands.AutoShardedBot):
    async def before_identify_hook(self, shard_id: int | None, *, initial: bool = False) -> None:
        """No 5 s wait between the shards' IDENTIFYs."""


def shard_bot(shard_ids: list[int] | None) -> commands.AutoShardedBot:
    bot = ShardBot(
        command_prefix="!",
        intents=discord.Intents.default(),
        allowed_mentions=discord.AllowedMentions.none(),
        guild_ready_timeout=0.05,
        shard_count=2,
        shard_ids=shard_ids,
    )

    @bot.tree.command(name="where", description="Which shard answers")
    async def where(interaction: discord.Interaction) -> None:
        await interaction.response.send_message(f"shard {interaction.guild.shard_id}")

    return bot


@contextlib.asynccontextmanager
async def running(*bots: commands.Bot, token: str) -> AsyncIterator[None]:
    tasks = [asyncio.create_task(b.start(token)) for b in bots]
    try:
        await asyncio.wait_for(asyncio.gather(*(b.wait_until_ready() for b in bots)), 5)
        yield
    finally:
        for bot, task in zip(bots, tasks, strict=True):
            await bot.close()
            await asyncio.wait_for(task, 5)


async def test_a_shard_gets_only_its_guilds_and_their_events(standin: DiscordStandIn) -> None:
    home = (standin.guild_id >> 22) % 2
    other = standin.add_guild("Other shard", shard=(1 - home, 2))
    bots = [shard_bot([0]), shard_bot([1])]
    async with running(*bots, token=standin.token):
        for shard_id, bot in enumerate(bots):
            want = {g for g in standin.world.guilds if (g >> 22) % 2 == shard_id}
            assert {g.id for g in bot.guilds} == want
        assert sorted(p["shard"] for p in standin.gateway.identify_payloads) == [[0, 2], [1, 2]]
        await bots[0].tree.sync()
        for guild_id, shard_id in ((standin.guild_id, home), (other.id, 1 - home)):
            channel_id = next(iter(standin.world.guilds[guild_id].channels))
            record = await standin.send_interaction(guild_id, channel_id, None, "where")
            answer = await standin.wait_for_response(record)
            assert answer["content"] == f"shard {shard_id}"
    assert standin.violations == []


async def test_one_process_may_run_every_shard(standin: DiscordStandIn) -> None:
    other = standin.add_guild("Other shard", shard=(1 - (standin.guild_id >> 22) % 2, 2))
    bot = shard_bot(None)
    async with running(bot, token=standin.token):
        assert {g.id for g in bot.guilds} == {standin.guild_id, other.id}
        assert standin.identify_count == 2
    assert standin.violations == []
