"""/subscribe, /unsubscribe, /subscriptions: scheduled digests for a channel (Manage Server)."""

from __future__ import annotations

import discord
from discord import app_commands
from discord.ext import commands

from bot.guild import scope_for
from bot.news.errors import NewsError
from bot.render import escape
from cogs._ui import autocomplete
from cogs._ui.checks import ensure_manage_guild, manage_guild_only
from cogs._ui.embeds import subscriptions_embed, when
from cogs._ui.filters import DESCRIBE, filters_from, in_words, preview_payloads
from cogs._ui.reply import answer, in_time, say


def topic_list(text: str | None) -> list[str]:
    return [t.strip().lower() for t in (text or "").split(",") if t.strip()]


class SubscriptionsCog(commands.Cog):
    def __init__(self, bot: commands.Bot) -> None:
        self.bot = bot
        self.service = bot.service  # type: ignore[attr-defined]

    @property
    def jobs(self):
        return self.bot.jobs  # type: ignore[attr-defined]

    @app_commands.command(name="subscribe", description="Post digests to a channel on a schedule")
    @app_commands.describe(
        channel="The channel that gets the digests",
        topics="Only these topics, separated by commas (default: all topics)",
        schedule="instant, hourly, daily 08:00, weekdays 08:00, weekly mon 08:00, or 5-field cron",
        timezone="The time zone of the schedule, e.g. Europe/Berlin (default: UTC)",
        webhook_url="Post through this channel webhook instead of as the bot (optional)",
        **DESCRIBE,
        preview="Only show what it would have posted over the last 7 days; save nothing",
        force="Save even if a filter matches no story of the last 30 days",
    )
    @app_commands.autocomplete(
        topics=autocomplete.topic_list,
        schedule=autocomplete.schedule,
        timezone=autocomplete.timezone,
    )
    @manage_guild_only()
    async def subscribe(
        self,
        interaction: discord.Interaction,
        channel: discord.TextChannel,
        topics: app_commands.Range[str, 1, 200] | None = None,
        schedule: app_commands.Range[str, 1, 100] = "daily 08:00",
        timezone: app_commands.Range[str, 1, 64] = "UTC",
        webhook_url: app_commands.Range[str, 1, 300] | None = None,
        include: app_commands.Range[str, 1, 300] | None = None,
        exclude: app_commands.Range[str, 1, 300] | None = None,
        sources: app_commands.Range[str, 1, 300] | None = None,
        min_outlets: app_commands.Range[int, 1, 50] | None = None,
        max_stories: app_commands.Range[int, 1, 25] | None = None,
        preview: bool = False,
        force: bool = False,
    ) -> None:
        filters = filters_from(include, exclude, sources, min_outlets, max_stories)
        if preview:
            work = self.service.preview_with_warnings(
                scope=scope_for(interaction),
                topics=topic_list(topics),
                schedule=schedule,
                timezone=timezone,
                filters=filters,
            )
            shown, warnings = await in_time(interaction, work, ephemeral=True)
            await answer(interaction, preview_payloads(shown, warnings), ephemeral=True)
            return
        work = self.service.subscribe(
            scope=scope_for(interaction),
            channel_id=None if webhook_url else channel.id,
            webhook_url=webhook_url,
            topics=topic_list(topics),
            schedule=schedule,
            timezone=timezone,
            filters=filters,
            force=force,
        )
        sub = await in_time(interaction, work, ephemeral=True)
        self.jobs.schedule(sub)
        what = ", ".join(f"`{t}`" for t in sub.topics) or "all topics"
        if filters:
            what += f" ({in_words(filters)})"
        where = channel.mention + (" (through its webhook)" if webhook_url else "")
        nxt = self.jobs.next_run(sub.id)
        timing = (
            "new stories are posted after each poll"
            if nxt is None
            else f"next digest {when(nxt)} ({when(nxt, 'f')})"
        )
        await say(
            interaction,
            f"Subscription {sub.id}: {where} gets {what} · {escape(sub.schedule)} "
            f"({sub.timezone}); {timing}. Only stories the channel has not had are posted.",
            ephemeral=True,
        )

    @app_commands.command(name="unsubscribe", description="Stop a digest subscription")
    @app_commands.describe(subscription="The subscription (suggestions as you type)")
    @app_commands.autocomplete(subscription=autocomplete.subscription)
    @manage_guild_only()
    async def unsubscribe(self, interaction: discord.Interaction, subscription: str) -> None:
        sub_id = subscription.strip().lstrip("#")
        if not sub_id.isdigit():
            raise NewsError(f"{subscription!r} is not a subscription; /subscriptions lists them")
        if not await self.service.unsubscribe(scope_for(interaction), int(sub_id)):
            raise NewsError(f"this server has no subscription {sub_id}; /subscriptions lists them")
        self.jobs.unschedule(int(sub_id))
        await say(interaction, f"Subscription {sub_id} removed.", ephemeral=True)

    @app_commands.command(name="subscriptions", description="This server's digest subscriptions")
    @manage_guild_only()
    async def subscriptions(self, interaction: discord.Interaction) -> None:
        subs = await self.service.subscriptions_with_filters(scope_for(interaction))
        listed = [(sub, self.jobs.next_run(sub.id), filters) for sub, filters in subs]
        await say(interaction, embed=subscriptions_embed(listed), ephemeral=True)

    subscription = app_commands.guild_only(
        app_commands.Group(
            name="subscription",
            description="Change a digest subscription",
            default_permissions=discord.Permissions(manage_guild=True),
        )
    )

    @subscription.command(
        name="edit", description="Set a subscription's filters; what the channel had stays had"
    )
    @app_commands.describe(
        subscription="The subscription (suggestions as you type)",
        **DESCRIBE,
        force="Save even if a filter matches no story of the last 30 days",
    )
    @app_commands.autocomplete(subscription=autocomplete.subscription)
    @app_commands.check(ensure_manage_guild)  # the group carries the hint and server-only
    async def edit(
        self,
        interaction: discord.Interaction,
        subscription: str,
        include: app_commands.Range[str, 1, 300] | None = None,
        exclude: app_commands.Range[str, 1, 300] | None = None,
        sources: app_commands.Range[str, 1, 300] | None = None,
        min_outlets: app_commands.Range[int, 1, 50] | None = None,
        max_stories: app_commands.Range[int, 1, 25] | None = None,
        force: bool = False,
    ) -> None:
        """Options left out are cleared: the command states the whole filter set."""
        filters = filters_from(include, exclude, sources, min_outlets, max_stories)
        work = self.service.set_subscription_filters(
            scope_for(interaction), _sub_id(subscription), filters, force=force
        )
        sub, warnings = await in_time(interaction, work, ephemeral=True)
        text = f"Subscription {sub.id} now has {in_words(filters)}."
        text += "".join(f"\n⚠️ {escape(w)}" for w in warnings)
        await say(
            interaction,
            text + "\nStories the channel already had are not posted again.",
            ephemeral=True,
        )


def _sub_id(text: str) -> int:
    sub_id = text.strip().lstrip("#")
    if not sub_id.isdigit():
        raise NewsError(f"{text!r} is not a subscription; /subscriptions lists them")
    return int(sub_id)


async def setup(bot: commands.Bot) -> None:
    await bot.add_cog(SubscriptionsCog(bot))
