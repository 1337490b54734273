"""Outbox delivery: digests reach a channel or webhook exactly once, and nothing is lost.

A digest is written to the outbox (every message part with its own nonce) before anything is
sent. Each part is sent with its stored nonce and ``enforce_nonce``, so Discord answers a resend
of a part that already went out (a crash between sending and marking it) with the message it
already created instead of a second one. A part is marked sent as soon as Discord answers; the
delivery is marked delivered, and its stories posted to the target, only after the last part.

Transient failures (429, 5xx, network) are retried with backoff and the delivery stays pending
for the next pass. A target that is gone or forbids the bot pauses its subscription and tells
the operator once; a payload Discord refuses (400) is given up, as resending cannot help.
"""

from __future__ import annotations

import asyncio
import logging
import re
from collections.abc import Sequence
from datetime import timedelta
from typing import Protocol

import aiohttp
import discord

from bot.news.models import Digest
from bot.news.service import NewsService
from bot.news.store import Delivery, Subscription
from bot.news.worker import worker_name
from bot.render import payload_to_kwargs, render_digest

log = logging.getLogger(__name__)

NO_MENTIONS = discord.AllowedMentions.none()

#: Discord error codes meaning the target will not accept messages until an admin acts
GONE_CODES = {10003: "the channel no longer exists", 10015: "the webhook no longer exists"}
FORBIDDEN_CODES = {
    50001: "the bot cannot see the channel",
    50013: "the bot lacks permission to post there (Send Messages, Embed Links)",
}

#: waits between tries within one pass; after the last, the delivery waits for the next pass
DEFAULT_RETRY_DELAYS = (2.0, 8.0, 30.0)
#: how long a process holds a delivery it is sending; then another may take it over
DEFAULT_LEASE = timedelta(minutes=2)


class Messenger(Protocol):
    """The part of the bot delivery needs (a ``discord.Client``)."""

    def get_partial_messageable(self, id: int, /) -> discord.PartialMessageable: ...


class TargetUnavailable(Exception):
    """The channel or webhook cannot take messages until someone fixes it."""


def failure_kind(exc: BaseException) -> str:
    """ "retry" (try again later), "unavailable" (pause the target) or "refused" (give up)."""
    if isinstance(exc, TargetUnavailable):
        return "unavailable"
    if isinstance(exc, aiohttp.ClientError | asyncio.TimeoutError | OSError):
        return "retry"
    if isinstance(exc, discord.HTTPException):
        if exc.status == 429 or exc.status >= 500:
            return "retry"
        if exc.code in GONE_CODES or exc.code in FORBIDDEN_CODES:
            return "unavailable"
        if exc.status in (401, 403, 404):
            return "unavailable"
        return "refused"
    return "refused"


def unavailable_reason(exc: BaseException) -> str:
    if isinstance(exc, discord.HTTPException):
        reason = GONE_CODES.get(exc.code) or FORBIDDEN_CODES.get(exc.code)
        if reason:
            return reason
        return f"Discord answered {exc.status} ({exc.text or 'no detail'})"
    return str(exc)


_WEBHOOK_URL = re.compile(r"/webhooks/(?P<id>\d{15,21})/(?P<token>[\w.-]+)/?$")


def webhook_for(url: str, session: aiohttp.ClientSession) -> discord.Webhook:
    """The webhook a URL names. Requests go to the configured API base, so a REST proxy
    (or the tests' stand-in) serves webhooks too, which ``Webhook.from_url`` would not allow."""
    match = _WEBHOOK_URL.search(url.split("?", 1)[0])
    if match is None:
        raise TargetUnavailable("the webhook URL is not a Discord webhook URL")
    return discord.Webhook.partial(int(match["id"]), match["token"], session=session)


class Deliverer:
    """Sends outbox deliveries; one at a time per target, so parts never interleave."""

    def __init__(
        self,
        client: Messenger,
        service: NewsService,
        session: aiohttp.ClientSession,
        *,
        log_channel_id: int = 0,
        retry_delays: Sequence[float] = DEFAULT_RETRY_DELAYS,
        owner: str | None = None,
        lease: timedelta = DEFAULT_LEASE,
    ) -> None:
        self.client = client
        self.service = service
        self.session = session
        self.log_channel_id = log_channel_id
        self.retry_delays = tuple(retry_delays)
        self._locks: dict[str, asyncio.Lock] = {}
        self._active: set[asyncio.Task] = set()
        #: deliveries being sent now, or completed by this process: never sent twice at once
        self._claimed: set[int] = set()
        #: this process's name in the outbox's leases, and how long a lease lasts
        self.owner = owner or worker_name()
        self.lease = lease

    # ------------------------------------------------------------------ public

    async def post_digest(
        self, sub: Subscription, digest: Digest, *, run_key: str | None = None
    ) -> bool | None:
        """Record the digest in the outbox (held by this process), then send it.

        None: the digest was empty, or that run was enqueued already (``run_key``), and
        nothing was posted. True: delivered. False: it stays pending (Discord unavailable)
        or was given up (the target is gone or refused it).
        """
        if digest.empty:
            return None
        payloads = render_digest(digest, now=self.service.clock())
        delivery = await self.service.enqueue_delivery(
            sub, sub.target, digest, payloads, run_key=run_key, owner=self.owner, lease=self.lease
        )
        if delivery is None:
            log.info("subscription %s: run %s was enqueued already; not again", sub.id, run_key)
            return None
        return await self.send(delivery, sub)

    async def resend_pending(self, *, target: str | None = None) -> int:
        """Send what an earlier pass (or run, or a process that died) left pending; returns
        how many are still pending. Deliveries another live process holds are left to it."""
        subs = {s.id: s for s in await self.service.subscriptions()}
        left = 0
        for delivery in await self.service.claim_deliveries(self.owner, self.lease):
            if target is not None and delivery.target != target:
                await self.service.release_delivery(delivery, self.owner)
                continue
            sub = subs.get(delivery.subscription_id) if delivery.subscription_id else None
            if delivery.subscription_id and sub is None:
                await self.service.delivery_failed(delivery, "unsubscribed", give_up=True)
                continue
            if sub is not None and sub.paused_reason:
                await self.service.release_delivery(delivery, self.owner)
                left += 1
                continue
            if not await self.send(delivery, sub):
                left += 1
        return left

    async def send(self, delivery: Delivery, sub: Subscription | None) -> bool:
        """Send the parts not yet sent; True when the delivery is complete."""
        if delivery.id in self._claimed:
            return False  # another task has it (or had it, and finished)
        self._claimed.add(delivery.id)
        task = asyncio.current_task()
        if task is not None:
            self._active.add(task)
        done = False
        try:
            lock = self._locks.setdefault(delivery.target, asyncio.Lock())
            async with lock:
                done = await self._send_with_retries(delivery, sub)
                return done
        finally:
            if not done:
                self._claimed.discard(delivery.id)
            if task is not None:
                self._active.discard(task)

    async def drain(self, timeout: float) -> None:  # noqa: ASYNC109 - a grace period
        """Let sends under way finish (shutdown); whatever does not stays pending in the outbox."""
        active = {t for t in self._active if t is not asyncio.current_task()}
        if active:
            await asyncio.wait(active, timeout=timeout)

    async def notify(self, text: str) -> None:
        """One operational notice to the configured log channel (if any); never raises."""
        if not self.log_channel_id:
            log.warning("notice (no discord.log_channel_id set): %s", text)
            return
        channel = self.client.get_partial_messageable(self.log_channel_id)
        try:
            await channel.send(content=text[:2000], allowed_mentions=NO_MENTIONS)
        except (TimeoutError, discord.HTTPException, aiohttp.ClientError) as exc:
            log.warning("could not post a notice to the log channel: %s (%s)", text, exc)

    # ------------------------------------------------------------------ internals

    async def _send_with_retries(self, delivery: Delivery, sub: Subscription | None) -> bool:
        sent = {part.seq for part in delivery.parts if part.message_id is not None}
        for attempt, delay in enumerate((*self.retry_delays, None)):
            try:
                await self._send_parts(delivery, sub, sent)
            except Exception as exc:
                kind = failure_kind(exc)
                if kind == "retry":
                    log.warning(
                        "delivery %s to %s failed (try %d): %s",
                        delivery.id,
                        delivery.target,
                        attempt + 1,
                        exc,
                    )
                    await self.service.delivery_failed(delivery, str(exc)[:500], give_up=False)
                    if delay is None:
                        return False
                    await asyncio.sleep(delay)
                    continue
                if kind == "unavailable":
                    await self._target_unavailable(delivery, sub, exc)
                    return False
                log.error(
                    "Discord refused delivery %s to %s: %s", delivery.id, delivery.target, exc
                )
                await self.service.delivery_failed(delivery, str(exc)[:500], give_up=True)
                return False
            await self.service.delivered(delivery)
            return True
        return False  # pragma: no cover - the loop always returns

    async def _send_parts(
        self, delivery: Delivery, sub: Subscription | None, sent: set[int]
    ) -> None:
        """Send each part not in ``sent``, in order, adding it there once Discord has it."""
        for part in delivery.parts:
            if part.seq in sent:
                continue
            kwargs = payload_to_kwargs(part.payload)
            if delivery.target.startswith("webhook:"):
                if sub is None or not sub.webhook_url:
                    raise TargetUnavailable("the webhook subscription is gone")
                webhook = webhook_for(sub.webhook_url, self.session)
                message = await webhook.send(**kwargs, wait=True, allowed_mentions=NO_MENTIONS)
            else:
                channel_id = int(delivery.target.removeprefix("channel:"))
                channel = self.client.get_partial_messageable(channel_id)
                # a stored nonce makes discord.py send enforce_nonce=True: a resend is a no-op
                message = await channel.send(
                    **kwargs, nonce=part.nonce, allowed_mentions=NO_MENTIONS
                )
            await self.service.part_sent(delivery, part.seq, str(message.id))
            sent.add(part.seq)

    async def _target_unavailable(
        self, delivery: Delivery, sub: Subscription | None, exc: BaseException
    ) -> None:
        reason = unavailable_reason(exc)
        await self.service.delivery_failed(delivery, reason, give_up=True)
        if sub is None:
            log.error("delivery %s to %s failed: %s", delivery.id, delivery.target, reason)
            return
        await self.service.pause_subscription(sub.id, reason)
        where = f"<#{sub.channel_id}>" if sub.channel_id else "its webhook"
        log.warning("paused subscription %s (%s): %s", sub.id, delivery.target, reason)
        await self.notify(
            f"Paused digest subscription {sub.id} to {where}: {reason}. "
            "A server admin can fix this and run /subscribe again to resume it."
        )
