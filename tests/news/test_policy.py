"""When the next poll happens: interval, server hints, backoff with jitter, the cap."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

import pytest

from bot.news.policy import next_poll

NOW = datetime(2024, 5, 1, 12, 0, tzinfo=UTC)
MIN = timedelta(minutes=1)
HOUR = timedelta(hours=1)
DAY = timedelta(hours=24)


def wait(**kwargs: object) -> timedelta:
    kwargs.setdefault("interval", 30 * MIN)
    kwargs.setdefault("rng", random.Random(7))
    return next_poll(NOW, **kwargs) - NOW  # type: ignore[arg-type]


def test_success_waits_the_interval() -> None:
    assert wait(ok=True, failures=0) == 30 * MIN


@pytest.mark.parametrize(
    ("hints", "expected"),
    [
        ({"max_age": 5 * MIN}, 30 * MIN),  # a hint never makes us poll more often
        ({"ttl": 10 * MIN}, 30 * MIN),
        ({"max_age": 2 * HOUR}, 2 * HOUR),  # a hint may make us poll less often
        ({"ttl": 3 * HOUR, "max_age": 2 * HOUR}, 3 * HOUR),  # the longest hint wins
        ({"retry_after": 90 * MIN}, 90 * MIN),
        ({"max_age": 30 * DAY}, DAY),  # but never beyond the cap
        ({"ttl": 7 * DAY, "cap": 6 * HOUR}, 6 * HOUR),
    ],
)
def test_success_hints_only_lengthen_within_the_cap(
    hints: dict[str, timedelta], expected: timedelta
) -> None:
    assert wait(ok=True, failures=0, **hints) == expected


def test_success_resets_the_backoff() -> None:
    assert wait(ok=True, failures=9) == 30 * MIN


def test_backoff_doubles_with_each_failure_within_jitter() -> None:
    for failures in range(1, 6):
        base = 30 * MIN * 2 ** (failures - 1)
        assert base * 0.9 <= wait(ok=False, failures=failures) <= base * 1.1


def test_backoff_grows() -> None:
    waits = [wait(ok=False, failures=f) for f in range(1, 6)]
    assert waits == sorted(waits)
    assert waits[-1] > 10 * waits[0]


def test_jitter_is_bounded_and_actually_spreads() -> None:
    rng = random.Random(1)
    waits = [wait(ok=False, failures=2, rng=rng) for _ in range(300)]
    assert all(54 * MIN <= w <= 66 * MIN for w in waits)
    assert max(waits) - min(waits) > 6 * MIN  # not one value repeated


def test_backoff_never_exceeds_the_cap_even_after_many_failures() -> None:
    for failures in (8, 50, 10_000):
        assert 0.9 * DAY <= wait(ok=False, failures=failures) <= DAY


def test_retry_after_is_honoured_on_failure() -> None:
    assert wait(ok=False, failures=1, retry_after=2 * HOUR) == 2 * HOUR


def test_retry_after_shorter_than_the_backoff_does_not_shorten_it() -> None:
    assert wait(ok=False, failures=4, retry_after=MIN) >= 0.9 * 4 * HOUR


def test_retry_after_is_bounded_by_the_cap() -> None:
    assert wait(ok=False, failures=1, retry_after=7 * DAY) == DAY


def test_hints_of_a_success_do_not_apply_to_a_failure() -> None:
    assert wait(ok=False, failures=1, max_age=5 * HOUR) <= 33 * MIN


def test_interval_longer_than_the_cap_is_kept() -> None:
    assert wait(ok=True, failures=0, interval=48 * HOUR) == 48 * HOUR
    assert wait(ok=False, failures=3, interval=48 * HOUR) <= 48 * HOUR


def test_same_seed_same_schedule() -> None:
    first = [wait(ok=False, failures=3, rng=random.Random(42)) for _ in range(3)]
    assert len(set(first)) == 1
