"""What a server's notice says: words an admin can act on, feed text inert, within limits."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from bot.deliver import FORBIDDEN_CODES, GONE_CODES
from bot.news.models import Source
from bot.news.notices import (
    SOURCE_FAILING,
    SOURCE_FLOODED,
    SUBSCRIPTION_PAUSED,
    Notice,
)
from bot.news.store import Subscription
from bot.notices import notice_text, render_notice

NOW = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)


def source(**kw) -> Source:
    fields = {
        "id": 7,
        "url": "https://feeds.example/ai.xml",
        "name": "AI Wire",
        "interval": timedelta(minutes=30),
        "last_polled": NOW,
        "last_error": "the server answered 404 Not Found",
        "consecutive_failures": 3,
        "next_poll": NOW + timedelta(hours=2),
    }
    return Source(**(fields | kw))


def subscription(reason: str, channel_id: int | None = 555) -> Subscription:
    return Subscription(
        id=3,
        scope="guild:1",
        channel_id=channel_id,
        webhook_url=None if channel_id else "https://discord.com/api/webhooks/1/x",
        topics=(),
        schedule="daily 08:00",
        timezone="UTC",
        created=NOW,
        last_run=None,
        paused_reason=reason,
        from_config=False,
    )


def test_a_failing_source_names_itself_its_error_and_its_next_try() -> None:
    text = notice_text(Notice("guild:1", SOURCE_FAILING, 7, 0, 11, source()), now=NOW)
    assert "Source failing: **AI Wire** <https://feeds.example/ai.xml>" in text
    assert "Its last 3 polls failed: the server answered 404 Not Found." in text
    next_try = int((NOW + timedelta(hours=2)).timestamp())
    assert f"next try <t:{next_try}:R>" in text
    assert "/sources remove" in text


def test_feed_text_cannot_ping_or_format_and_a_notice_fits_one_message() -> None:
    hostile = source(name="@everyone **Breaking**", last_error="<@&123> " + "x " * 3000)
    text = notice_text(Notice("guild:1", SOURCE_FAILING, 7, 0, 11, hostile), now=NOW)
    assert "@everyone" not in text and "<@&123>" not in text
    assert "\\*\\*Breaking\\*\\*" in text
    assert len(text) <= 2000
    assert render_notice(Notice("guild:1", SOURCE_FAILING, 7, 0, 11, hostile), now=NOW) == {
        "content": text
    }


def test_a_paused_subscription_says_which_permission_in_which_channel() -> None:
    forbidden = Notice(
        "guild:1",
        SUBSCRIPTION_PAUSED,
        3,
        0,
        11,
        subscription=subscription(FORBIDDEN_CODES[50013]),
    )
    text = notice_text(forbidden, now=NOW)
    assert "Digest paused: subscription 3 to <#555>" in text
    assert "**Send Messages** or **Embed Links** in <#555>" in text
    hidden = Notice(
        "guild:1", SUBSCRIPTION_PAUSED, 3, 0, 11, subscription=subscription(FORBIDDEN_CODES[50001])
    )
    assert "**View Channel** in <#555>" in notice_text(hidden, now=NOW)
    gone = Notice(
        "guild:1", SUBSCRIPTION_PAUSED, 3, 0, 11, subscription=subscription(GONE_CODES[10003])
    )
    assert "The channel was deleted" in notice_text(gone, now=NOW)


def test_a_flood_says_what_the_poll_did() -> None:
    detail = "120 new stories at once; the newest 50 were taken, the rest wait for later polls"
    text = notice_text(
        Notice("guild:1", SOURCE_FLOODED, 7, 0, 11, source(), detail=detail), now=NOW
    )
    assert "Source capped: **AI Wire**" in text and "120 new stories at once" in text
