"""End-to-end harness: the real bot (started as `briefbot run` starts it) against the loopback
Discord stand-in, reading feeds from a loopback feed server.

Every stand-in a test uses is registered, and an autouse fixture fails the test if the bot did
anything Discord would refuse (`standin.violations`) or the stand-in broke its own spec.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from pathlib import Path
from typing import Any
from xml.sax.saxutils import escape as xml_escape

import pytest

from bot.app import running_bot
from bot.client import BriefBot
from bot.config import Config, load_config
from tests.discord_standin import DiscordStandIn
from tests.feedserver import FeedServer

FEED_PATH = "/news.xml"

#: every stand-in started during the current test, checked at its end
_STANDINS: list[DiscordStandIn] = []

#: bot options that keep the suite fast: discord.py's 2 s guild wait, the poll job's clock,
#: delivery backoff in seconds
FAST = {
    "guild_ready_timeout": 0.05,
    "poll_every": timedelta(hours=1),
    "first_poll": None,
    "retry_delays": (0.05, 0.1),
    "shutdown_grace": 2.0,
}


@dataclass
class Item:
    title: str
    text: str
    link: str
    minutes_ago: int = 30

    def xml(self, now: datetime) -> str:
        published = format_datetime(now - timedelta(minutes=self.minutes_ago))
        return (
            f"<item><title>{xml_escape(self.title)}</title><link>{xml_escape(self.link)}</link>"
            f"<guid>{xml_escape(self.link)}</guid><pubDate>{published}</pubDate>"
            f"<description>{xml_escape(self.text)}</description></item>"
        )


def rss(items: Iterable[Item], title: str = "Loopback News") -> str:
    now = datetime.now(UTC)
    body = "".join(i.xml(now) for i in items)
    return (
        '<?xml version="1.0"?><rss version="2.0"><channel>'
        f"<title>{xml_escape(title)}</title><link>https://news.test/</link>"
        f"<description>test feed</description>{body}</channel></rss>"
    )


REGULATION = [
    Item(
        "EU lawmakers approve the AI Act regulation",
        "European lawmakers approved the AI Act, the first broad regulation of artificial "
        "intelligence. The law sets duties for providers of high-risk systems. Regulators "
        "will enforce it from next year.",
        "https://news.test/eu-ai-act",
        20,
    ),
    Item(
        "US regulators propose rules for AI chatbots",
        "Federal regulators proposed rules that would require disclosure when people talk to "
        "an AI chatbot. The legislation now goes to public comment. Companies have 60 days.",
        "https://news.test/us-rules",
        40,
    ),
]

OTHER = [
    Item(
        f"Robotics startup {n} ships a warehouse robot",
        f"Startup number {n} began shipping its warehouse robot to customers this week. "
        "The robot picks parcels from shelves. It costs less than earlier models.",
        f"https://news.test/robot-{n}",
        60 + n,
    )
    for n in range(1, 8)
]

MENTIONS = Item(
    "Ping test @everyone <@&123> story",
    "A story whose text says @everyone and <@&123> and <@456> to see whether anyone is pinged. "
    "It also mentions @here once more.",
    "https://news.test/pings",
    10,
)


def make_config(tmp_path: Path, standin: DiscordStandIn, feed_url: str, **discord: Any) -> Config:
    return load_config(
        {
            "storage": {"path": str(tmp_path / "briefbot.sqlite3")},
            "fetch": {"allowed_hosts": ["127.0.0.1"]},
            "sources": [{"url": feed_url, "name": "Loopback News"}],
            "taxonomy": {"embeddings": False},
            "discord": {
                "api_base": standin.api_url,
                "gateway_url": standin.ws_url,
                **discord,
            },
        }
    )


@contextlib.asynccontextmanager
async def started_standin(**options: Any) -> AsyncIterator[DiscordStandIn]:
    async with DiscordStandIn(**options) as standin:
        _STANDINS.append(standin)
        with standin.patch_discord():
            yield standin


def start(config: Config, standin: DiscordStandIn, **options: Any):
    """The bot, started by the same code as `briefbot run` (see bot.app.running_bot)."""
    return running_bot(config, standin.token, **{**FAST, **options})


@dataclass
class World:
    """One stand-in, one feed server and one running bot, shared by a module's tests."""

    standin: DiscordStandIn
    feeds: FeedServer
    bot: BriefBot
    config: Config
    tmp_path: Path
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def feed_url(self) -> str:
        return self.feeds.url(FEED_PATH)

    async def command(self, name: str, options: dict[str, Any] | None = None, **kwargs: Any):
        """Run a slash command and return (record, the visible answer)."""
        record = await self.standin.send_interaction(
            kwargs.pop("guild_id", None),
            kwargs.pop("channel_id", None),
            kwargs.pop("user_id", None),
            name,
            options,
            **kwargs,
        )
        answer = await self.standin.wait_for_response(record, timeout=10)
        return record, answer


@contextlib.asynccontextmanager
async def world(tmp_path: Path, items: list[Item], **discord: Any) -> AsyncIterator[World]:
    async with FeedServer() as feeds, started_standin() as standin:
        feeds.add(FEED_PATH, rss(items), content_type="application/rss+xml")
        config = make_config(tmp_path, standin, feeds.url(FEED_PATH), **discord)
        async with start(config, standin) as bot:
            await bot.service.poll(due_only=False)
            yield World(standin, feeds, bot, config, tmp_path)


def text_of(message: dict[str, Any]) -> str:
    """Everything a reader sees in a message: content, embed titles, descriptions, fields."""
    parts = [message.get("content") or ""]
    for embed in message.get("embeds") or []:
        parts += [embed.get("title") or "", embed.get("description") or ""]
        parts += [f"{f['name']} {f['value']}" for f in embed.get("fields") or []]
        parts.append((embed.get("footer") or {}).get("text") or "")
    return "\n".join(p for p in parts if p)


def custom_ids(message: dict[str, Any]) -> list[str]:
    def walk(components: list[dict[str, Any]]) -> Iterator[str]:
        for c in components:
            if c.get("custom_id"):
                yield c["custom_id"]
            yield from walk(c.get("components") or [])

    return list(walk(message.get("components") or []))


@pytest.fixture(autouse=True)
def no_violations() -> Iterator[None]:
    """Whatever the test did, the bot never sent Discord a request Discord would refuse."""
    start_index = len(_STANDINS)
    yield
    checked = _STANDINS[start_index:] or _STANDINS[-1:]
    for standin in checked:
        assert standin.violations == [], standin.violations
        assert standin.self_check == [], standin.self_check
