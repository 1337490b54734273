"""Injected failures: 429 bursts, 5xx answers, a connection cut right after a message was made,
and a request held unanswered (the bot's process can be killed while it waits), answers
held back after the work was done (a client timeout), and a request held in flight that is
never done if its client went away.

A rule names a route as Discord's spec template ("POST /channels/{channel_id}/messages"), a
concrete path ("/channels/123/messages"), either with an optional method and `*` globs.
"""

from __future__ import annotations

import asyncio
import fnmatch
import math
import time
from dataclasses import dataclass, field
from typing import Any


def route_matches(pattern: str, method: str, template: str, path: str) -> bool:
    """A "[METHOD ]path" rule against a request, by spec template or concrete path (`*` globs)."""
    want_method, _, want_path = pattern.rpartition(" ")
    if want_method and want_method.upper() != method.upper():
        return False
    return fnmatch.fnmatchcase(template, want_path) or fnmatch.fnmatchcase(path, want_path)


@dataclass
class Fault:
    pattern: str
    status: int
    times: int
    retry_after: float = 0.1
    is_global: bool = False
    drop_after_create: bool = False
    #: seconds the answer is held back after the work is done (a slow Discord)
    delay: float = 0.0
    hits: int = 0
    #: set for a held request: it waits until ``release()`` (a kill -9 case: the bot dies
    #: while its request is in flight; a request whose client is gone is then never done)
    released: asyncio.Event | None = None

    def release(self) -> None:
        if self.released is not None:
            self.released.set()

    def matches(self, method: str, template: str, path: str) -> bool:
        return route_matches(self.pattern, method, template, path)


@dataclass
class Hold:
    """The next `times` matching requests wait at the stand-in, unanswered, until `release()`;
    then the connection is cut. `after_create`: the work is done first (the message exists)."""

    pattern: str
    times: int = 1
    after_create: bool = False
    hits: int = 0
    #: set when a request is being held
    reached: asyncio.Event = field(default_factory=asyncio.Event)
    released: asyncio.Event = field(default_factory=asyncio.Event)

    def matches(self, method: str, template: str, path: str) -> bool:
        return route_matches(self.pattern, method, template, path)

    def release(self) -> None:
        """Let held requests end (their connection is cut) and hold no more."""
        self.times = self.hits
        self.released.set()

    async def hold(self) -> None:
        self.reached.set()
        await self.released.wait()


class Faults:
    def __init__(self) -> None:
        self.rules: list[Fault] = []
        self.holds: list[Hold] = []

    def take_hold(
        self, method: str, template: str, path: str, *, after_create: bool
    ) -> Hold | None:
        for hold in self.holds:
            if hold.after_create != after_create or hold.hits >= hold.times:
                continue
            if hold.matches(method, template, path):
                hold.hits += 1
                return hold
        return None

    def release_all(self) -> None:
        for hold in self.holds:
            hold.release()

    def add(self, fault: Fault) -> Fault:
        self.rules.append(fault)
        return fault

    def take(
        self,
        method: str,
        template: str,
        path: str,
        *,
        drop: bool,
        delayed: bool = False,
        hold: bool = False,
    ) -> Fault | None:
        """The first live rule of the kind asked for; each use counts down its `times`."""
        for rule in self.rules:
            if rule.drop_after_create != drop or rule.hits >= rule.times:
                continue
            if (rule.delay > 0) != delayed or (rule.released is not None) != hold:
                continue
            if rule.matches(method, template, path):
                rule.hits += 1
                return rule
        return None

    def pending(self) -> list[Fault]:
        return [rule for rule in self.rules if rule.hits < rule.times]


def ratelimit_headers(bucket: str, *, remaining: int = 49, reset_after: float = 1.0) -> dict:
    now = time.time()
    return {
        "X-RateLimit-Limit": "50",
        "X-RateLimit-Remaining": str(remaining),
        "X-RateLimit-Reset": f"{now + reset_after:.3f}",
        "X-RateLimit-Reset-After": f"{reset_after:.3f}",
        "X-RateLimit-Bucket": bucket,
    }


def too_many_requests(fault: Fault, bucket: str) -> tuple[dict[str, Any], dict[str, str]]:
    """A 429 as Discord sends it. The `Via` header matters: without it discord.py assumes a
    Cloudflare ban and raises instead of waiting."""
    body = {
        "message": "You are being rate limited.",
        "retry_after": fault.retry_after,
        "global": fault.is_global,
        "code": 0,
    }
    headers = ratelimit_headers(bucket, remaining=0, reset_after=fault.retry_after)
    headers["Retry-After"] = str(max(1, math.ceil(fault.retry_after)))
    headers["X-RateLimit-Scope"] = "global" if fault.is_global else "user"
    headers["Via"] = "1.1 google"
    if fault.is_global:
        headers["X-RateLimit-Global"] = "true"
    return body, headers
