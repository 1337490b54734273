"""Outbox delivery with a scripted Discord: retries, pauses, refusals, and no double sends."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from types import SimpleNamespace

import aiohttp
import discord

from bot.deliver import DONE_MEMORY, Deliverer, failure_kind
from bot.news.store import Delivery, DeliveryPart, Subscription


def http_error(status: int, code: int = 0) -> discord.HTTPException:
    response = SimpleNamespace(status=status, reason="x")
    cls = {403: discord.Forbidden, 404: discord.NotFound}.get(status, discord.HTTPException)
    if status >= 500:
        cls = discord.DiscordServerError
    return cls(response, {"code": code, "message": "x"})


def test_failures_are_classified_by_what_helps():
    assert failure_kind(http_error(429)) == "retry"
    assert failure_kind(http_error(503)) == "retry"
    assert failure_kind(aiohttp.ServerDisconnectedError()) == "retry"
    assert failure_kind(http_error(403, 50013)) == "unavailable"
    assert failure_kind(http_error(404, 10003)) == "unavailable"
    assert failure_kind(http_error(400, 50035)) == "refused"


@dataclass
class Channel:
    script: list  # exceptions to raise, in order, before sends succeed
    sent: list = field(default_factory=list)

    async def send(self, **kwargs):
        if self.script:
            raise self.script.pop(0)
        self.sent.append(kwargs)
        return SimpleNamespace(id=1000 + len(self.sent))


@dataclass
class Client:
    channels: dict

    def get_partial_messageable(self, channel_id: int):
        return self.channels[channel_id]


@dataclass
class Service:
    calls: list = field(default_factory=list)
    now: datetime = datetime(2025, 3, 10, tzinfo=UTC)

    def clock(self) -> datetime:
        return self.now

    async def part_sent(self, delivery, seq, message_id):
        self.calls.append(("part_sent", seq, message_id))

    async def delivered(self, delivery):
        self.calls.append(("delivered", delivery.id))

    async def delivery_failed(self, delivery, error, *, give_up):
        self.calls.append(("failed", give_up))

    async def pause_subscription(self, sub_id, reason):
        self.calls.append(("pause", sub_id, reason))


SUB = Subscription(1, "guild:1", 10, None, (), "daily 08:00", "UTC", None, None, None, False)


def delivery(*sent: str | None) -> Delivery:
    parts = tuple(
        DeliveryPart(i, {"content": f"part {i}"}, f"bb1.{i}.x", m) for i, m in enumerate(sent)
    )
    return Delivery(1, 1, "channel:10", (5,), "pending", 0, None, parts)


def make(script, log_channel=None):
    channels = {10: Channel(script)}
    if log_channel is not None:
        channels[99] = log_channel
    service = Service()
    deliverer = Deliverer(
        Client(channels),
        service,
        None,
        log_channel_id=99 if log_channel else 0,
        retry_delays=(0, 0),
    )
    return deliverer, service, channels[10]


async def test_rate_limits_are_retried_and_each_part_sent_once_with_its_nonce():
    deliverer, service, channel = make([http_error(429), http_error(503)])
    assert await deliverer.send(delivery(None, None), SUB) is True
    assert [s["content"] for s in channel.sent] == ["part 0", "part 1"]
    assert [s["nonce"] for s in channel.sent] == ["bb1.0.x", "bb1.1.x"]
    assert all(s["allowed_mentions"].to_dict() == {"parse": []} for s in channel.sent)
    assert service.calls.count(("failed", False)) == 2
    assert service.calls[-1] == ("delivered", 1)


async def test_parts_already_sent_are_not_sent_again():
    deliverer, _, channel = make([])
    assert await deliverer.send(delivery("777", None), SUB) is True
    assert [s["content"] for s in channel.sent] == ["part 1"]


async def test_a_completed_delivery_is_not_sent_again_and_is_forgotten_in_time():
    deliverer, service, channel = make([])
    first = delivery(None)
    assert await deliverer.send(first, SUB) is True
    assert await deliverer.send(first, SUB) is False  # a stale copy: not twice
    assert len(channel.sent) == 1
    # a long-running process remembers only the recent ones (the outbox has the rest)
    for n in range(2, 50):
        service.now += timedelta(minutes=10)
        assert await deliverer.send(dataclasses.replace(delivery(None), id=n), SUB) is True
    assert len(deliverer._done) <= DONE_MEMORY // timedelta(minutes=10) + 1
    assert 1 not in deliverer._done


async def test_still_failing_after_the_last_try_stays_pending():
    deliverer, service, channel = make([http_error(503)] * 3)
    assert await deliverer.send(delivery(None), SUB) is False
    assert service.calls == [("failed", False)] * 3  # attempts counted, never given up
    assert channel.sent == []


async def test_forbidden_channel_pauses_and_notifies_once():
    log_channel = Channel([])
    deliverer, service, _ = make([http_error(403, 50013)], log_channel)
    assert await deliverer.send(delivery(None), SUB) is False
    assert ("failed", True) in service.calls
    (pause,) = [c for c in service.calls if c[0] == "pause"]
    assert "lacks permission" in pause[2]
    assert (
        len(log_channel.sent) == 1
        and "Paused digest subscription 1" in log_channel.sent[0]["content"]
    )


async def test_refused_payload_is_given_up_without_pausing():
    deliverer, service, _ = make([http_error(400, 50035)])
    assert await deliverer.send(delivery(None), SUB) is False
    assert service.calls == [("failed", True)]
