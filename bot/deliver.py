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
import hashlib
import logging
import re
from collections.abc import Callable, Sequence
from datetime import datetime, timedelta
from typing import Any, Protocol

import aiohttp
import discord

from bot.news.models import Digest
from bot.news.service import NewsService
from bot.news.store import Delivery, Subscription
from bot.news.worker import worker_name
from bot.render import fit_payload, payload_to_kwargs, render_digest

log = logging.getLogger(__name__)

NO_MENTIONS = discord.AllowedMentions.none()

#: Discord error codes meaning the target will not accept messages until an admin acts
GONE_CODES = {10003: "the channel no longer exists", 10015: "the webhook no longer exists"}
FORBIDDEN_CODES = {
    50001: "the bot cannot see the channel",
    50013: "the bot lacks permission to post there (Send Messages, Embed Links)",
}

#: the channel permissions a digest part needs, as discord.py names them and as Discord shows them
NEEDED_PERMISSIONS = (("view_channel", "View Channel"), ("send_messages", "Send Messages"))
EMBED_PERMISSION = ("embed_links", "Embed Links")

#: waits between tries within one pass; after the last, the delivery waits for the next pass
DEFAULT_RETRY_DELAYS = (2.0, 8.0, 30.0)
#: how long one send may take before it counts as failed (and is retried: the nonce makes a
#: resend of a message Discord did create a no-op)
DEFAULT_SEND_TIMEOUT = 30.0
#: how long a process holds a delivery it is sending; then another may take it over
DEFAULT_LEASE = timedelta(minutes=2)
#: how long this process remembers a delivery it completed (beyond the resend passes under way
#: then), so that a copy read before it completed is not sent again
DONE_MEMORY = timedelta(hours=1)


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


def piece_nonce(nonce: str, index: int) -> str:
    """The nonce of the ``index``-th extra message of a split part: stable, within 25 chars."""
    return "bb" + hashlib.sha256(f"{nonce}:{index}".encode()).hexdigest()[:23]


def lacks(names: Sequence[str]) -> str:
    """The reason a subscription pauses when the bot lacks channel permissions."""
    which = " and ".join(names)
    noun = "permission" if len(names) == 1 else "permissions"
    return f"the bot lacks the {which} {noun} in the channel"


def unavailable_reason(exc: BaseException) -> str:
    if isinstance(exc, discord.HTTPException):
        reason = GONE_CODES.get(exc.code) or FORBIDDEN_CODES.get(exc.code)
        if reason:
            return reason
        return f"Discord answered {exc.status} ({exc.text or 'no detail'})"
    return str(exc)


_PERMISSION_ORDER = [label for _attr, label in (*NEEDED_PERMISSIONS, EMBED_PERMISSION)]

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
        send_timeout: float = DEFAULT_SEND_TIMEOUT,
    ) -> None:
        self.client = client
        self.service = service
        self.session = session
        self.log_channel_id = log_channel_id
        self.retry_delays = tuple(retry_delays)
        self._locks: dict[str, asyncio.Lock] = {}
        self._active: set[asyncio.Task] = set()
        #: deliveries being sent now: never sent twice at once
        self._claimed: set[int] = set()
        #: deliveries this process completed -> when, oldest first: a stale copy (a resend
        #: pass claimed it while another task sent it) is not sent again. Kept while a pass
        #: that began before they completed runs, and for DONE_MEMORY; then the outbox says
        #: they are sent and no claim returns them (without a bound this grew all the time)
        self._done: dict[int, datetime] = {}
        #: when each resend pass under way began
        self._passes: list[datetime] = []
        #: builds the buttons a payload's ``components`` describe (the story cog sets it);
        #: without it, or for a webhook, a digest goes out without its Brief buttons
        self.view_for: Callable[[dict[str, Any]], discord.ui.View | None] | None = None
        #: this process's name in the outbox's leases, and how long a lease lasts
        self.owner = owner or worker_name()
        self.lease = lease
        self.send_timeout = send_timeout

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
        began = self.service.clock()
        self._passes.append(began)
        try:
            return await self._resend_pending(target)
        finally:
            self._passes.remove(began)

    async def _resend_pending(self, target: str | None) -> int:
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
        if delivery.id in self._claimed or delivery.id in self._done:
            return False  # another task has it (or had it, and finished)
        self._claimed.add(delivery.id)
        task = asyncio.current_task()
        if task is not None:
            self._active.add(task)
        done = False
        # the lease is renewed while this process waits for the target and sends (retries
        # included), so another process takes the delivery over only if this one is gone
        renewer = asyncio.get_running_loop().create_task(self._renew(delivery))
        try:
            lock = self._locks.setdefault(delivery.target, asyncio.Lock())
            async with lock:
                done = await self._send_with_retries(delivery, sub)
                return done
        finally:
            renewer.cancel()
            self._claimed.discard(delivery.id)
            if done:
                self._remember_done(delivery.id)
            if task is not None:
                self._active.discard(task)

    def _remember_done(self, delivery_id: int) -> None:
        """Remember a completed delivery; forget those no copy still held can be of."""
        now = self.service.clock()
        self._done[delivery_id] = now
        horizon = min([now - DONE_MEMORY, *self._passes])
        done = self._done
        while done:
            oldest = next(iter(done))
            if done[oldest] >= horizon:
                break
            del done[oldest]

    async def _renew(self, delivery: Delivery) -> None:
        every = max(0.5, self.lease.total_seconds() / 3)
        while True:
            await asyncio.sleep(every)
            try:
                held = await self.service.renew_delivery(delivery, self.owner, self.lease)
            except Exception as exc:  # the send goes on; the nonce still guards a resend
                log.warning("could not renew the lease of delivery %s: %s", delivery.id, exc)
                continue
            if not held:
                log.warning("delivery %s was taken over by another process", delivery.id)
                return

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
                error = str(exc) or type(exc).__name__  # a timeout has no message of its own
                if kind == "retry":
                    log.warning(
                        "delivery %s to %s failed (try %d): %s",
                        delivery.id,
                        delivery.target,
                        attempt + 1,
                        error,
                    )
                    await self.service.delivery_failed(delivery, error[:500], give_up=False)
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
            # a part over Discord's limits (rendered by an older version, or by a bug) goes out
            # as several messages rather than being refused; each has a nonce of its own
            pieces = fit_payload(part.payload)
            for i, piece in enumerate(pieces):
                nonce = part.nonce if i == 0 else piece_nonce(part.nonce, i)
                message = await self._send_one(delivery, sub, piece, nonce)
            await self.service.part_sent(delivery, part.seq, str(message.id))
            sent.add(part.seq)

    async def _send_one(
        self, delivery: Delivery, sub: Subscription | None, payload: dict, nonce: str
    ) -> discord.Message | discord.WebhookMessage:
        """One message to the target; raises what Discord answered, or TargetUnavailable."""
        kwargs = payload_to_kwargs(payload)
        if delivery.target.startswith("webhook:"):
            if sub is None or not sub.webhook_url:
                raise TargetUnavailable("the webhook subscription is gone")
            webhook = webhook_for(sub.webhook_url, self.session)
            sending = webhook.send(**kwargs, wait=True, allowed_mentions=NO_MENTIONS)
        else:
            channel_id = int(delivery.target.removeprefix("channel:"))
            missing = self.missing_permissions(channel_id, payload)
            if missing:
                raise TargetUnavailable(lacks(missing))
            view = self.view_for(payload) if self.view_for and payload.get("components") else None
            if view is not None:
                kwargs["view"] = view
            channel = self.client.get_partial_messageable(channel_id)
            # a stored nonce makes discord.py send enforce_nonce=True: a resend is a no-op
            sending = channel.send(**kwargs, nonce=nonce, allowed_mentions=NO_MENTIONS)
        message = await asyncio.wait_for(sending, self.send_timeout)
        if payload.get("embeds") and not message.embeds:
            # Discord drops the embeds of a message with content when the bot lacks Embed
            # Links: the stories did not arrive, so this part is not marked sent
            raise TargetUnavailable(lacks([EMBED_PERMISSION[1]]))
        return message

    def missing_permissions(self, channel_id: int, payload: dict) -> list[str]:
        """The permissions the bot lacks to post ``payload`` there, as far as its cache knows
        (nothing when the channel or the bot's member is not cached: Discord will say)."""
        get_channel = getattr(self.client, "get_channel", None)
        channel = get_channel(channel_id) if get_channel is not None else None
        guild = getattr(channel, "guild", None)
        me = getattr(guild, "me", None)
        if channel is None or me is None or not hasattr(channel, "permissions_for"):
            return []
        perms = channel.permissions_for(me)
        needed = [*NEEDED_PERMISSIONS, *([EMBED_PERMISSION] if payload.get("embeds") else [])]
        missing = [label for attr, label in needed if not getattr(perms, attr)]
        # without View Channel Discord grants nothing there, without Send Messages no embeds:
        # name the one permission that gives the others back
        for first in ("View Channel", "Send Messages"):
            if first in missing:
                return [first]
        return missing

    async def _target_unavailable(
        self, delivery: Delivery, sub: Subscription | None, exc: BaseException
    ) -> None:
        reason = unavailable_reason(exc)
        if isinstance(exc, discord.HTTPException) and exc.code in FORBIDDEN_CODES:
            channel_id = delivery.target.removeprefix("channel:")
            if channel_id.isdigit():
                parts = [p.payload for p in delivery.parts]
                missing = {m for p in parts for m in self.missing_permissions(int(channel_id), p)}
                if missing:
                    reason = lacks(sorted(missing, key=_PERMISSION_ORDER.index))
        await self.service.delivery_failed(delivery, reason, give_up=True)
        if sub is None:
            scope = await self.service.notice_refused(delivery, reason)
            if scope is None:
                log.error("delivery %s to %s failed: %s", delivery.id, delivery.target, reason)
                return
            log.warning("paused the notices of %s (%s): %s", scope, delivery.target, reason)
            await self.notify(
                f"Paused the notices of server {scope.removeprefix('guild:')} to"
                f" <#{delivery.target.removeprefix('channel:')}>: {reason}."
                " An admin there can run /notices channel:... to resume them."
            )
            return
        await self.service.pause_subscription(sub.id, reason)
        where = f"<#{sub.channel_id}>" if sub.channel_id else "its webhook"
        log.warning("paused subscription %s (%s): %s", sub.id, delivery.target, reason)
        await self.notify(
            f"Paused digest subscription {sub.id} to {where}: {reason}. "
            "A server admin can fix this and run /subscribe again to resume it."
        )
