"""Two real `briefbot run --shards 2` processes, one per shard, on one Discord stand-in and one
PostgreSQL database: each guild's scheduled digest reaches its channel exactly once, also when
a process is killed with -9 before its message got out (the other takes the delivery over when
the lease runs out; a restarted process sends what its shard still owed).

The digests are ones missed while the bots were down (due an hour ago), so the catch-up on start
sends them: no waiting for a clock. The stand-in runs here; the bots are subprocesses.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import sys
import tomllib
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from bot.config import Config, load_config
from bot.news.service import NewsService
from bot.shards import shard_of
from tests.discord_standin import DiscordStandIn
from tests.e2e.conftest import FEED_PATH, REGULATION, rss, started_standin, text_of
from tests.feedserver import FeedServer

pytestmark = pytest.mark.e2e

ROOT = Path(__file__).resolve().parents[2]
SHARDS = 2
#: the delivery lease: how long a dead process's delivery waits before another takes it over
LEASE_S = 3


@dataclass
class Fleet:
    """The stand-in with two guilds per shard, the feed, the database, the bot processes."""

    standin: DiscordStandIn
    config_path: Path
    config: Config
    tmp_path: Path
    #: shard -> the subscribed channel of each of its guilds, in subscription order
    channels: dict[int, list[int]]
    procs: list[asyncio.subprocess.Process] = field(default_factory=list)
    logs: list[Path] = field(default_factory=list)

    @property
    def all_channels(self) -> list[int]:
        return [c for shard in sorted(self.channels) for c in self.channels[shard]]

    async def start_bot(self, shard_id: int) -> asyncio.subprocess.Process:
        """`briefbot run --shards 2 --shard-ids <shard_id>`, as an operator starts it."""
        env = {k: v for k, v in os.environ.items() if not k.startswith(("BRIEFBOT_", "DISCORD_"))}
        env |= {"PYTHONPATH": str(ROOT), "NO_COLOR": "1", "DISCORD_TOKEN": self.standin.token}
        log = self.tmp_path / f"bot-shard{shard_id}-{len(self.logs)}.log"
        self.logs.append(log)
        with log.open("wb") as out:
            proc = await asyncio.create_subprocess_exec(
                *(sys.executable, "-m", "bot", "--config", str(self.config_path), "run"),
                *("--shards", str(SHARDS), "--shard-ids", str(shard_id)),
                stdout=out,
                stderr=asyncio.subprocess.STDOUT,
                env=env,
                cwd=self.tmp_path,
            )
        self.procs.append(proc)
        return proc

    def posts_to(self, channel_id: int) -> int:
        """How many message creates reached the channel (answered or not)."""
        path = f"/channels/{channel_id}/messages"
        return sum(1 for r in self.standin.requests if r.method == "POST" and r.path == path)

    def shown(self, channel_id: int) -> list[dict[str, Any]]:
        return self.standin.messages.get(channel_id, [])

    async def wait_for(self, predicate: Callable[[], Any], timeout: float, what: str) -> None:  # noqa: ASYNC109
        """Like the stand-in's wait, but a bot that died early fails the test at once."""

        def done() -> Any:
            for proc, log in zip(self.procs, self.logs, strict=True):
                if proc.returncode is not None and proc.returncode != -signal.SIGKILL:
                    raise AssertionError(f"{log.name} exited {proc.returncode}:\n{tail(log)}")
            return predicate()

        try:
            await self.standin.wait_for(done, timeout, what)
        except TimeoutError as exc:
            logs = "\n".join(f"--- {log.name}\n{tail(log)}" for log in self.logs)
            raise AssertionError(f"{exc}\n{logs}") from None

    async def settled(self) -> None:
        """Nothing pending in the outbox, then one more delivery round of both processes (a
        double would show up now)."""
        service = await NewsService.open(self.config, sync=False)
        try:
            loop = asyncio.get_running_loop()
            deadline = loop.time() + 10
            while await service.pending_deliveries():
                assert loop.time() < deadline, "deliveries still pending after 10 s"
                await asyncio.sleep(0.2)
        finally:
            await service.close()
        await asyncio.sleep(LEASE_S + 1.5)

    async def stop(self) -> None:
        for proc in self.procs:
            if proc.returncode is None:
                proc.kill()
        for proc in self.procs:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(proc.wait(), 10)


def tail(path: Path, lines: int = 25) -> str:
    return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])


def write_config(tmp_path: Path, standin: DiscordStandIn, feed_url: str, pg_url: str) -> Path:
    path = tmp_path / "briefbot.toml"
    path.write_text(
        "default_sources = false\n"
        f'[storage]\nurl = "{pg_url}"\n'
        f"[worker]\nlease_seconds = {LEASE_S}\n"
        '[fetch]\nallowed_hosts = ["127.0.0.1"]\n'
        "[taxonomy]\nembeddings = false\n"
        '[logging]\nlevel = "INFO"\n'
        f'[discord]\napi_base = "{standin.api_url}"\ngateway_url = "{standin.ws_url}"\n'
        # polling is a worker's job here; the test polls once itself
        "poll = false\n"
        f'[[sources]]\nurl = "{feed_url}"\nname = "Loopback News"\nbackfill = 10\n'
    )
    return path


async def subscribe_all(
    config: Config, channels: dict[int, list[int]], guilds: dict[int, int]
) -> None:
    """A daily digest per channel, due an hour ago and missed (its last run was yesterday);
    the stories are in the database already."""
    now = datetime.now(UTC)
    due = now - timedelta(hours=1)
    service = await NewsService.open(config)
    try:
        await service.poll(due_only=False)
        for channel_id in [c for shard in sorted(channels) for c in channels[shard]]:
            sub = await service.subscribe(
                scope=f"guild:{guilds[channel_id]}",
                channel_id=channel_id,
                schedule=f"daily {due:%H:%M}",
            )
            await service.store.outbox.mark_run(sub.id, now - timedelta(days=1))
    finally:
        await service.close()


@contextlib.asynccontextmanager
async def fleet(tmp_path: Path, pg_url: str) -> AsyncIterator[Fleet]:
    async with FeedServer() as feeds, started_standin() as standin:
        feeds.add(FEED_PATH, rss(REGULATION), content_type="application/rss+xml")
        channels: dict[int, list[int]] = {s: [] for s in range(SHARDS)}
        guilds: dict[int, int] = {}
        for shard in range(SHARDS):
            for n in range(2):
                guild = standin.add_guild(f"Shard {shard} guild {n}", shard=(shard, SHARDS))
                assert shard_of(guild.id, SHARDS) == shard
                channel_id = guild.channel_named("news").id
                channels[shard].append(channel_id)
                guilds[channel_id] = guild.id
        path = write_config(tmp_path, standin, feeds.url(FEED_PATH), pg_url)
        config = load_config(tomllib.loads(path.read_text()))  # no environment overrides
        await subscribe_all(config, channels, guilds)
        world = Fleet(standin, path, config, tmp_path, channels)
        try:
            yield world
        finally:
            await world.stop()


def assert_one_digest_each(world: Fleet) -> None:
    """What a member of each server sees: one digest, with the feed's stories."""
    for channel_id in world.all_channels:
        messages = world.shown(channel_id)
        assert len(messages) == 1, (channel_id, [text_of(m)[:80] for m in messages])
        text = text_of(messages[0])
        assert all(item.title in text for item in REGULATION), text
        assert messages[0]["nonce"].startswith("bb")


async def test_two_shard_processes_post_each_guilds_digest_once(tmp_path, pg_url):
    async with fleet(tmp_path, pg_url) as world:
        await world.start_bot(0)
        await world.start_bot(1)
        await world.wait_for(
            lambda: all(world.shown(c) for c in world.all_channels), 25, "a digest in every channel"
        )
        await world.settled()

        assert_one_digest_each(world)
        # each digest was sent once, not sent twice and de-duplicated by its nonce
        assert [world.posts_to(c) for c in world.all_channels] == [1] * len(world.all_channels)
        shards = sorted(tuple(p["shard"]) for p in world.standin.gateway.identify_payloads)
        assert shards == [(0, SHARDS), (1, SHARDS)]


@pytest.mark.parametrize(
    "made", [False, True], ids=["killed-before-discord-had-it", "killed-before-the-answer"]
)
async def test_a_killed_process_digest_is_taken_over_and_posted_once(tmp_path, pg_url, made):
    """Process A (shard 0) enqueues its first guild's digest, its POST hangs, it is killed -9.
    B (shard 1) takes the delivery over once A's lease ran out; with ``made`` Discord had
    already created A's message, and B's resend (same nonce) makes none. A restarted shard 0
    then sends its other guild's digest, which A never got to."""
    async with fleet(tmp_path, pg_url) as world:
        first, second = world.channels[0]
        hold = world.standin.hold_next(f"POST /channels/{first}/messages", after_create=made)
        proc_a = await world.start_bot(0)
        await world.start_bot(1)
        await asyncio.wait_for(hold.reached.wait(), 25)
        proc_a.kill()
        await asyncio.wait_for(proc_a.wait(), 10)
        hold.release()

        # B takes the delivery over: A's channel gets it now, though no shard 0 process runs
        await world.wait_for(
            lambda: world.shown(first) and world.posts_to(first) == 2,
            LEASE_S + 15,
            "shard 1 taking over shard 0's delivery",
        )
        assert not world.shown(second)  # A died before it got to that one

        await world.start_bot(0)
        await world.wait_for(
            lambda: all(world.shown(c) for c in world.all_channels), 25, "a digest in every channel"
        )
        await world.settled()

        assert_one_digest_each(world)
        assert world.posts_to(first) == 2  # A's held one and B's take-over, nothing after
