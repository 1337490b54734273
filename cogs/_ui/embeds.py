"""Small embeds for list-like answers: topics, sources, subscriptions, status.

Anything that came from a feed or a user (source names, errors) is escaped, so it can neither
format the message nor ping anyone. Every description stays within Discord's 4,096 limit.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

import discord

from bot.news.filters import Filters
from bot.news.models import Source
from bot.news.operations import Status
from bot.news.store import Subscription
from bot.news.topics import Topic
from bot.render import escape

MAX_DESCRIPTION = 4096
COLOR = 0x5865F2
STATUS_MARK = {"ok": "🟢", "new": "⚪", "retrying": "🟡", "failing": "🔴"}


def when(moment: datetime | None, style: str = "R") -> str:
    """A Discord timestamp each reader sees in their own time zone ("in 3 hours")."""
    return f"<t:{int(moment.timestamp())}:{style}>" if moment else "never"


def clip(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def lines_description(lines: Sequence[str], empty: str) -> str:
    """Join lines, ending with "… and N more" rather than going past the limit."""
    out: list[str] = []
    used = 0
    for i, line in enumerate(lines):
        more = f"… and {len(lines) - i} more"
        if used + len(line) + 1 > MAX_DESCRIPTION - len(more) - 1:
            out.append(more)
            break
        out.append(line)
        used += len(line) + 1
    return "\n".join(out) or empty


def topics_embed(counts: Sequence[tuple[Topic, int]]) -> discord.Embed:
    lines = [
        f"**{escape(t.title)}** (`{t.name}`) — {n} {'story' if n == 1 else 'stories'}"
        for t, n in sorted(counts, key=lambda tc: -tc[1])
    ]
    embed = discord.Embed(title="Topics · last 7 days", color=COLOR)
    embed.description = lines_description(lines, "No topics configured.")
    embed.set_footer(text="/digest topic:<name> shows a topic's briefing")
    return embed


def source_line(source: Source, scope: str) -> str:
    mark = STATUS_MARK.get(source.status, "⚪")
    own = "" if scope in source.scopes else " · server-wide (bot config)"
    line = (
        f"{mark} **{escape(clip(source.name, 100))}** `#{source.id}` · {source.story_count} stories"
        f" · polled {when(source.last_polled)}{own}\n<{clip(source.url, 300)}>"
    )
    if source.status in ("failing", "retrying") and source.last_error:
        line += f"\n  last error: {escape(clip(source.last_error, 200))}"
    return line


def sources_embed(sources: Sequence[Source], scope: str) -> discord.Embed:
    embed = discord.Embed(title=f"Sources ({len(sources)})", color=COLOR)
    embed.description = lines_description(
        [source_line(s, scope) for s in sources],
        "No sources yet. Add one with /sources add url:<feed or site URL>.",
    )
    return embed


def subscription_line(
    sub: Subscription, next_run: datetime | None, filters: Filters | None = None
) -> str:
    where = f"<#{sub.channel_id}>" if sub.channel_id else "a webhook"
    topics = ", ".join(f"`{t}`" for t in sub.topics) or "all topics"
    line = f"**{sub.id}** · {where} · {topics} · {escape(sub.schedule)} ({sub.timezone})"
    if filters:
        line += f"\n  filters: {escape(clip(filters.describe(), 600))}"
    if sub.paused_reason:
        return line + f"\n  ⏸️ paused: {escape(sub.paused_reason)}. Run /subscribe again to resume."
    if next_run is not None:
        line += f"\n  next digest {when(next_run)}"
    elif sub.schedule.strip().lower() == "instant":
        line += "\n  posts new stories after each poll"
    return line


def subscriptions_embed(
    subs: Sequence[tuple[Subscription, datetime | None, Filters]],
) -> discord.Embed:
    embed = discord.Embed(title=f"Digest subscriptions ({len(subs)})", color=COLOR)
    embed.description = lines_description(
        [subscription_line(s, n, f) for s, n, f in subs],
        "No subscriptions. Create one with /subscribe channel:<#channel>.",
    )
    return embed


def status_embed(status: Status) -> discord.Embed:
    failing = len(status.sources_failing)
    embed = discord.Embed(title="briefbot status", color=0xED4245 if failing else 0x57F287)
    embed.add_field(
        name="Sources",
        value=f"{status.sources_ok} ok · {failing} failing · {status.sources_total} total",
        inline=True,
    )
    embed.add_field(name="Stories stored", value=str(status.stories), inline=True)
    embed.add_field(name="Last poll", value=when(status.last_poll), inline=True)
    if failing:
        lines = [
            f"🔴 {escape(clip(s.name, 80))}: {escape(clip(s.last_error or 'no detail', 150))}"
            for s in status.sources_failing
        ]
        embed.add_field(name="Failing sources", value=clip("\n".join(lines), 1024), inline=False)
    if status.subscriptions:
        lines = [subscription_line(s, n) for s, n in status.subscriptions]
        embed.add_field(name="Next digests", value=clip("\n".join(lines), 1024), inline=False)
    embed.set_footer(text=f"briefbot {status.version}")
    return embed
