"""Per-server notices in Discord: render what the core found, record it, send it.

The core (:mod:`bot.news.notices`) says which server should hear what; here each notice
becomes one message in words an admin can act on, is recorded in the outbox together with its
incident (so it goes out exactly once, also across restarts and processes) and is sent like a
digest: with a nonce, no mentions, within Discord's 2000 characters.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime

from bot.deliver import FORBIDDEN_CODES, GONE_CODES, Deliverer
from bot.news.notices import (
    SOURCE_FAILING,
    SOURCE_FLOODED,
    SOURCE_RECOVERED,
    SUBSCRIPTION_PAUSED,
    SUBSCRIPTION_RESUMED,
    Notice,
)
from bot.news.service import NewsService
from bot.render import MAX_CONTENT, escape, shorten

log = logging.getLogger(__name__)

URL_MAX = 400
ERROR_MAX = 400


def _ts(when: datetime | None, style: str = "R") -> str:
    """A Discord timestamp: every reader sees it in their own time zone."""
    return f"<t:{int(when.timestamp())}:{style}>" if when else "soon"


def _source_line(notice: Notice) -> str:
    source = notice.source
    assert source is not None
    return f"**{shorten(source.name, 100)}** <{source.url[:URL_MAX]}>"


def _channel(channel_id: int | None) -> str:
    return f"<#{channel_id}>" if channel_id else "its webhook"


def _pause_advice(reason: str, channel_id: int | None) -> str:
    """What to do about a paused subscription, from the reason delivery gave."""
    where = _channel(channel_id)
    if reason == GONE_CODES[10003]:
        return (
            "The channel was deleted. Run `/subscribe` with another channel to get the digests"
            " there, or `/unsubscribe` to drop this one."
        )
    if reason == GONE_CODES[10015]:
        return (
            "Its webhook was deleted. Run `/subscribe` again with a new webhook URL (or none),"
            " or `/unsubscribe` to drop it."
        )
    if reason == FORBIDDEN_CODES[50001]:
        return (
            f"briefbot lost **View Channel** in {where}. Give it View Channel, Send Messages and"
            " Embed Links there, then run `/subscribe` for that channel again to resume."
        )
    if reason == FORBIDDEN_CODES[50013]:
        return (
            f"briefbot lacks **Send Messages** or **Embed Links** in {where}. Give it both"
            " there, then run `/subscribe` for that channel again to resume."
        )
    return (
        f"Check briefbot's permissions in {where} (View Channel, Send Messages, Embed Links),"
        " then run `/subscribe` for that channel again to resume."
    )


def notice_text(notice: Notice, *, now: datetime) -> str:
    """One notice as a message an admin can act on (Discord markdown, feed text escaped)."""
    if notice.kind == SOURCE_FAILING:
        source = notice.source
        assert source is not None
        error = shorten(source.last_error or "no detail was given", ERROR_MAX)
        error += "" if error.endswith((".", "!", "?", "…")) else "."
        text = (
            f"⚠️ Source failing: {_source_line(notice)}\n"
            f"Its last {source.consecutive_failures} polls failed: {error}\n"
            f"briefbot keeps trying, less often while it fails; next try {_ts(source.next_poll)}"
            f" ({_ts(source.next_poll, 'f')}). Its stories are missing from digests meanwhile."
            " Check the URL in a browser; `/sources list` shows its state and `/sources remove`"
            " drops it. You will be told here when it works again."
        )
    elif notice.kind == SOURCE_RECOVERED:
        text = (
            f"✅ Source working again: {_source_line(notice)}\n"
            "It was read without error; its new stories reach the digests again."
        )
    elif notice.kind == SOURCE_FLOODED:
        detail = shorten(notice.detail or "more new stories than one poll takes", ERROR_MAX)
        text = (
            f"🌊 Source capped: {_source_line(notice)}\n{detail}\n"
            "Nothing is lost, but a source this busy can crowd digests: a subscription's"
            " `sources:` or `exclude:` filters keep it in check, `/sources remove` drops it."
        )
    elif notice.kind == SUBSCRIPTION_PAUSED:
        sub = notice.subscription
        assert sub is not None
        reason = sub.paused_reason or "Discord refused its digest"
        text = (
            f"⏸️ Digest paused: subscription {sub.id} to {_channel(sub.channel_id)}"
            f" ({escape(sub.schedule)}): {escape(reason)}.\n"
            + _pause_advice(reason, sub.channel_id)
        )
    elif notice.kind == SUBSCRIPTION_RESUMED:
        sub = notice.subscription
        assert sub is not None
        text = (
            f"▶️ Digest resumed: subscription {sub.id} to {_channel(sub.channel_id)}"
            f" posts again ({escape(sub.schedule)})."
        )
    else:  # pragma: no cover - every kind the core makes is above
        raise ValueError(f"unknown notice kind {notice.kind!r}")
    return text[:MAX_CONTENT]


def render_notice(notice: Notice, *, now: datetime) -> dict:
    """The outbox payload of a notice: one plain message."""
    return {"content": notice_text(notice, now=now)}


class Notifier:
    """Tells each server, in its notices channel, what the core found it was not told."""

    def __init__(
        self,
        service: NewsService,
        deliverer: Deliverer,
        owns: Callable[[str], bool] | None = None,
    ) -> None:
        self.service = service
        self.deliverer = deliverer
        self.owns = owns

    async def run(self) -> int:
        """One pass; returns how many notices were delivered.

        A server whose channel refuses a notice has its notices paused by the deliverer;
        the rest of its notices this pass wait (untold) until an admin sets them again.
        """
        delivered = 0
        stopped: set[str] = set()
        for notice in await self.service.pending_notices(self.owns):
            if notice.scope in stopped:
                continue
            payload = render_notice(notice, now=self.service.clock())
            delivery = await self.service.tell(
                notice, [payload], owner=self.deliverer.owner, lease=self.deliverer.lease
            )
            if delivery is None:
                continue  # told already, by an earlier pass or another process
            log.info("notice %s to %s", delivery.run_key, delivery.target)
            if await self.deliverer.send(delivery, None):
                delivered += 1
            elif not (await self.service.notice_setting(notice.scope)).active:
                stopped.add(notice.scope)
        return delivered
