"""What a subscription would have posted: its schedule replayed over stored stories. Pure.

Each replayed run does what a real run does (``SubscriptionsMixin.subscription_digest``):
it looks back to the previous run (at least a day, at most a week), leaves out what the
channel already had, applies the filters, and posts nothing when the digest is empty. The
replay goes by publication dates and knows only stories stored now (also those the bot
first saw later, e.g. from a source added since) and the outlets known now: an estimate of
what these settings give, not a record of what was posted.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from bot.news.digest import arrange_digest
from bot.news.filters import Filters
from bot.news.matcher import STAGES, FilterSet, representatives
from bot.news.models import Digest, Story
from bot.news.schedules import Schedule
from bot.news.topics import Topic

#: an instant subscription posts after every poll; the replay counts one run an hour
INSTANT_STEP = timedelta(hours=1)
MIN_LOOKBACK = timedelta(hours=24)
MAX_LOOKBACK = timedelta(days=7)


@dataclass(frozen=True)
class Preview:
    filters: Filters
    schedule: str
    start: datetime
    end: datetime
    #: the schedule's runs in the window (instant: one an hour)
    runs: int
    #: the runs that would have posted: (when, how many stories)
    posted: tuple[tuple[datetime, int], ...]
    first: Digest | None
    #: per filter, the distinct stories it kept out over the whole window
    removed: tuple[tuple[str, int], ...]
    #: patterns that took too long on some story (they matched nothing there)
    timed_out: tuple[str, ...] = ()
    instant: bool = False


def run_times(schedule: Schedule, start: datetime, end: datetime) -> list[datetime]:
    """The schedule's runs after ``start`` up to ``end``."""
    runs: list[datetime] = []
    when = start
    while True:
        nxt = when + INSTANT_STEP if schedule.instant else schedule.next_run(when)
        if nxt is None or nxt > end:
            return runs
        runs.append(nxt)
        when = nxt


def replay(
    stories: Sequence[Story],
    *,
    schedule: Schedule,
    filters: Filters,
    start: datetime,
    end: datetime,
    topics: Sequence[Topic],
    wanted_topics: Sequence[str],
    limit: int,
    title: str,
) -> Preview:
    """Replay ``schedule`` from ``start`` to ``end`` over ``stories`` (newest first or not)."""
    matcher = FilterSet(filters) if filters else None
    lead_limit = matcher.lead_limit(limit) if matcher else limit
    runs = run_times(schedule, start, end)
    posted: list[tuple[datetime, int]] = []
    had: set[int] = set()  # clusters the channel got, as the delivery ledger keys them
    removed: dict[str, set] = {stage: set() for stage in STAGES}
    first = None
    previous = start
    for when in runs:
        lookback = min(max(when - previous, MIN_LOOKBACK), MAX_LOOKBACK)
        since = when - lookback
        window = [
            s for s in stories if since <= s.published <= when and (s.cluster_id or s.id) not in had
        ]
        shown, out = representatives(window, matcher)
        for stage, keys in out.items():
            removed[stage] |= keys
        digest = arrange_digest(
            shown,
            topics=topics,
            now=when,
            since=since,
            limit=lead_limit,
            wanted_topics=wanted_topics,
            title=title,
        )
        previous = when
        if digest.empty:
            continue
        posted.append((when, len(digest.stories)))
        first = first or digest
        had.update(s.cluster_id or s.id for s in digest.stories)
    return Preview(
        filters=filters,
        schedule=schedule.text,
        start=start,
        end=end,
        runs=len(runs),
        posted=tuple(posted),
        first=first,
        removed=tuple((stage, len(removed[stage])) for stage in STAGES if removed[stage]),
        timed_out=tuple(matcher.timed_out) if matcher else (),
        instant=schedule.instant,
    )


STAGE_WORDS = {
    "sources": "the sources filter",
    "include": "include",
    "exclude": "exclude",
    "min_outlets": "min_outlets",
}


def summary_lines(preview: Preview) -> list[str]:
    """The preview in plain sentences (Discord and the terminal add their own markup)."""
    days = round((preview.end - preview.start) / timedelta(days=1))
    n = len(preview.posted)
    runs = "one run an hour (instant)" if preview.instant else f"{preview.runs} scheduled runs"
    lines = [
        f"Over the last {days} days ({preview.schedule}: {runs}), this subscription would have "
        f"posted {n} digest{'' if n == 1 else 's'}."
    ]
    if preview.posted:
        counts = ", ".join(str(c) for _, c in preview.posted[:30])
        more = f", … ({n - 30} more)" if n > 30 else ""
        lines.append(f"Stories in each: {counts}{more}.")
    if preview.filters:
        lines.append(f"Filters: {preview.filters.describe()}.")
    if preview.removed:
        parts = [f"{STAGE_WORDS[stage]} {count}" for stage, count in preview.removed]
        lines.append("Stories kept out, by filter: " + ", ".join(parts) + ".")
    elif preview.filters:
        lines.append("The filters kept no story out.")
    for term in preview.timed_out:
        lines.append(f"Warning: {term} took too long on some stories and matched none of them.")
    return lines
