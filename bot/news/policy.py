"""When to poll a source next. Pure: the clock and the randomness are passed in."""

from __future__ import annotations

import random
from datetime import datetime, timedelta

_RNG = random.Random()

#: failures are spread by up to this fraction either way, so sources that failed
#: together (one outage) do not all retry in the same second
JITTER = 0.10


def next_poll(
    now: datetime,
    *,
    interval: timedelta,
    ok: bool,
    failures: int,
    retry_after: timedelta | None = None,
    max_age: timedelta | None = None,
    ttl: timedelta | None = None,
    cap: timedelta = timedelta(hours=24),
    rng: random.Random | None = None,
) -> datetime:
    """The time of the next poll after one that ended at ``now``.

    The rule:

    - **Success** (``ok``; ``failures`` is ignored, the backoff resets): wait
      ``interval``. A server's hints (Cache-Control ``max-age``, RSS ``ttl``,
      a ``Retry-After`` on a success) may only make the wait *longer*: we never
      poll more often than configured, and never wait longer than ``cap``
      because a server said so.
    - **Failure** (``failures`` = consecutive failures so far, counting this
      one): exponential backoff ``interval * 2**(failures - 1)``, spread by
      +-10 % jitter, at most ``cap``. A ``Retry-After`` from a 429/503 is
      honoured (never sooner than it asks) but is bounded by ``cap`` too, so a
      source that asks for a week is still retried daily.

    ``cap`` never shortens a configured ``interval``: a source set to poll every
    48 h is polled every 48 h.
    """
    ceiling = max(cap, interval)
    if ok:
        hints = [h for h in (max_age, ttl, retry_after) if h is not None]
        wait = max([interval, *hints])
        return now + min(wait, ceiling)

    exponent = max(failures, 1) - 1
    # Compare in seconds before multiplying: 2**exponent overflows timedelta fast.
    backoff_s = min(interval.total_seconds() * 2.0 ** min(exponent, 64), ceiling.total_seconds())
    jitter = (rng or _RNG).uniform(1.0 - JITTER, 1.0 + JITTER)
    wait = timedelta(seconds=backoff_s * jitter)
    if retry_after is not None:
        wait = max(wait, retry_after)
    return now + min(wait, ceiling)
