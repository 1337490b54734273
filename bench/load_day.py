"""A simulated day of the bot's jobs: many sources, guilds and subscriptions, a poll a minute.

The real service (SQLite store, poller, enrichment, clustering, digests), the real outbox
``Deliverer`` and the real ``Jobs`` run against a clock this script moves: every simulated
minute it starts the poll job and the digest jobs that fall due in that minute, together as the
scheduler would, and waits for them before moving on. Time is moved, not waited for.

Feeds come from an in-process feed farm (no sockets): every source publishes a new story now
and then (on average every ``--story-every`` hours) and answers 304 Not Modified when its ETag
matches. Discord is a recording stand-in for ``channel.send`` that keeps nonces as Discord
does (a resend with a nonce seen in the last five minutes returns the first message).

What it reports:

- job overlap: a poll or digest job starting while the same job still runs (apscheduler would
  skip it), and the longest simulated minute in real time (over 60 s would overlap for real);
- RSS at the start of the day (after the first poll) and at its end, and the slope per hour;
- digest runs due vs run, digests posted, deliveries left pending or failed;
- duplicates (a story posted twice to one channel) and losses (a story the feeds published
  that is not stored, or a due digest with news that never went out);
- event-loop lag (a 10 ms sleeper's overshoot): p50, p99, max.

    python -m bench.load_day                      # 1000 sources, 20 guilds, 200 subs, 24 h
    python -m bench.load_day --sources 50 --guilds 3 --subs 20 --hours 2
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import gc
import json
import random
import re
import statistics
import sys
import tempfile
import time
import tracemalloc
from array import array
from collections import Counter, defaultdict
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from html import escape
from pathlib import Path
from typing import Any

from bench.feedgen import headline
from bot.config import load_config
from bot.deliver import Deliverer
from bot.jobs import Jobs
from bot.news.models import FetchResult
from bot.news.schedules import parse_schedule
from bot.news.service import NewsService
from bot.news.store import GLOBAL

START = datetime(2025, 3, 10, 0, 0, tzinfo=UTC)  # a Monday, so "weekdays" runs
SCHEDULES = ("daily 08:00", "hourly", "weekdays 09:00", "instant", "daily 18:30")
FEED_ITEMS = 20
LAG_TICK_S = 0.01
#: how long Discord remembers a nonce ("checked for uniqueness in the past few minutes")
NONCE_MEMORY = timedelta(minutes=5)
STORY_URL = re.compile(r"https://feed(\d+)\.load\.test/story/(\d+)")


# ------------------------------------------------------------------ a clock and a feed farm


class Clock:
    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


@dataclass
class Farm:
    """Feeds that publish on their own timetable; fetch() answers like a server would."""

    clock: Clock
    settings: Any
    seed: int
    story_every_h: float
    #: per source: publication times of its stories (sorted), drawn once
    timetable: dict[int, list[datetime]] = field(default_factory=dict)
    fetches: int = 0
    not_modified: int = 0

    def plan(self, index: int, hours: float) -> None:
        rng = random.Random(f"{self.seed}:{index}")
        times = [START - timedelta(hours=k + 1) for k in range(5)]  # the backlog
        t = START + timedelta(hours=rng.uniform(0, self.story_every_h))
        while t < START + timedelta(hours=hours):
            times.append(t)
            t += timedelta(hours=rng.expovariate(1 / self.story_every_h))
        self.timetable[index] = sorted(times)

    def published(self, index: int, until: datetime) -> list[datetime]:
        return [t for t in self.timetable[index] if t <= until]

    def story_url(self, index: int, n: int) -> str:
        return f"https://feed{index}.load.test/story/{n}"

    def expected_urls(self, until: datetime) -> set[str]:
        return {
            self.story_url(i, n)
            for i in self.timetable
            for n in range(len(self.published(i, until)))
        }

    async def fetch(self, url: str, *, etag=None, last_modified=None, accept=None) -> FetchResult:
        self.fetches += 1
        index = int(re.search(r"feed(\d+)\.", url)[1])
        times = self.published(index, self.clock())
        tag = f'"{len(times)}"'
        if etag == tag:
            self.not_modified += 1
            return FetchResult(url, 304, b"", {}, etag=tag)
        return FetchResult(url, 200, self.rss(index, times), {}, etag=tag)

    def rss(self, index: int, times: list[datetime]) -> bytes:
        items = []
        for n in range(max(0, len(times) - FEED_ITEMS), len(times)):
            rng = random.Random(f"{self.seed}:{index}:{n}")
            # made-up names of its own: feedgen's vocabulary and sentence templates alone
            # make unrelated stories so alike that the clusterer chains most of a day's
            # stories into a few events (see the note in bench/README.md)
            name = codename(rng)
            title = f"{headline(rng)}: the {name} case"
            text = " ".join(
                f"{name} {' '.join(codename(rng).lower() for _ in range(9))}." for _ in range(4)
            )
            link = self.story_url(index, n)
            items.append(
                f"<item><title>{escape(title)}</title><link>{link}</link><guid>{link}</guid>"
                f"<pubDate>{format_datetime(times[n])}</pubDate>"
                f"<description>{escape(text)}</description></item>"
            )
        return (
            '<?xml version="1.0"?><rss version="2.0"><channel>'
            f"<title>Load feed {index}</title><link>https://feed{index}.load.test/</link>"
            f"<description>load</description>{''.join(reversed(items))}</channel></rss>"
        ).encode()


def codename(rng: random.Random) -> str:
    """A pronounceable word no other story shares (almost surely)."""
    consonants, vowels = "bdfgklmnprstvz", "aeiou"
    syllables = (rng.choice(consonants) + rng.choice(vowels) for _ in range(4))
    return "".join(syllables).capitalize()


# ------------------------------------------------------------------ Discord, recorded


class Sent:
    """The message Discord answers with: its id, and the embeds it kept."""

    def __init__(self, id_: int, embeds: list | tuple = ()) -> None:
        self.id = id_
        self.embeds = list(embeds)


class Channel:
    def __init__(self, discord_: Discord, channel_id: int) -> None:
        self.discord = discord_
        self.channel_id = channel_id

    async def send(self, *, nonce=None, allowed_mentions=None, content=None, embeds=()) -> Sent:
        d = self.discord
        key = (self.channel_id, nonce)
        d.forget_nonces()
        if nonce is not None and key in d.by_nonce:  # enforce_nonce: the first message
            return Sent(d.by_nonce[key][0], embeds or ())
        d.next_id += 1
        # only what the checks need: the stories a message links, as numbers (holding every
        # message's text, or even its links as strings, made the bench's own memory grow)
        text = json.dumps([content or "", *[e.to_dict() for e in embeds or ()]])
        links = {int(feed) << 32 | int(n) for feed, n in STORY_URL.findall(text)}
        d.links[self.channel_id].extend(sorted(links))
        d.message_count[self.channel_id] += 1
        if nonce is not None:
            d.by_nonce[key] = (d.next_id, d.clock())
        return Sent(d.next_id, embeds or ())


class Discord:
    """``get_partial_messageable(id).send(...)`` that records what each channel shows."""

    def __init__(self, clock: Clock) -> None:
        self.clock = clock
        #: per channel: the stories its messages linked (feed << 32 | story number), each
        #: message's once, and how many messages it showed
        self.links: dict[int, array] = defaultdict(lambda: array("q"))
        self.message_count: Counter[int] = Counter()
        #: (channel, nonce) -> (message id, when), oldest first, for NONCE_MEMORY as Discord
        #: does (kept for ever, they were the bench's largest growing record after the links)
        self.by_nonce: dict[tuple[int, str], tuple[int, datetime]] = {}
        self.next_id = 10**17

    def forget_nonces(self) -> None:
        horizon = self.clock() - NONCE_MEMORY
        while self.by_nonce:
            key = next(iter(self.by_nonce))
            if self.by_nonce[key][1] >= horizon:
                break
            del self.by_nonce[key]

    def get_partial_messageable(self, channel_id: int) -> Channel:
        return Channel(self, channel_id)

    def story_links(self, channel_id: int) -> array:
        return self.links[channel_id]


# ------------------------------------------------------------------ measuring


class Concurrency:
    """How often a job started while the same job was still running."""

    def __init__(self) -> None:
        self.running: Counter[str] = Counter()
        self.overlaps = 0
        self.started = 0

    @contextlib.contextmanager
    def job(self, name: str) -> Iterator[None]:
        self.started += 1
        if self.running[name]:
            self.overlaps += 1
        self.running[name] += 1
        try:
            yield
        finally:
            self.running[name] -= 1


async def lag_monitor(samples: array, stop: asyncio.Event) -> None:
    loop = asyncio.get_running_loop()
    while not stop.is_set():
        before = loop.time()
        await asyncio.sleep(LAG_TICK_S)
        samples.append(max(0.0, loop.time() - before - LAG_TICK_S))


def rss_mib() -> float:
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return float("nan")  # pragma: no cover - not Linux


def percentile(values: Sequence[float], p: float) -> float:
    if not values:
        return 0.0
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(p / 100 * len(ordered)))]


class Tracer:
    """``--trace``: a tracemalloc snapshot each simulated hour, compared with the first.

    Prints to stderr the Python memory traced, the allocation sites that grew most since
    the first snapshot (taken after the first hour, so the start-up backlog is not counted
    as growth), the object types (of those the garbage collector tracks) that grew most,
    and the clustering index's size. Tracing slows the run down two to three times, and
    its own bookkeeping adds to RSS: read RSS from a run without it.
    """

    TOP = 12

    def __init__(self) -> None:
        tracemalloc.start()
        self.first: tracemalloc.Snapshot | None = None
        self.first_types: Counter[str] = Counter()
        self._filters = [
            tracemalloc.Filter(False, tracemalloc.__file__),
            tracemalloc.Filter(False, "<frozen importlib._bootstrap>"),
            tracemalloc.Filter(False, "<frozen importlib._bootstrap_external>"),
        ]

    def hour(self, elapsed: timedelta, index: Any) -> None:
        gc.collect()  # garbage waiting in cycles is not growth
        snap = tracemalloc.take_snapshot().filter_traces(self._filters)
        total = sum(s.size for s in snap.statistics("filename")) / 2**20
        hours = elapsed / timedelta(hours=1)
        out = [
            f"trace +{hours:.0f} h: traced {total:.1f} MiB, rss {rss_mib():.0f} MiB;"
            f" {cluster_sizes(index)}"
        ]
        types = Counter(type(o).__name__ for o in gc.get_objects())
        if self.first is None:
            self.first, self.first_types = snap, types
        else:
            out.append(f"  grown most since +1 h (top {self.TOP}):")
            for stat in snap.compare_to(self.first, "lineno")[: self.TOP]:
                frame = stat.traceback[0]
                out.append(
                    f"  {stat.size_diff / 2**20:+8.2f} MiB {stat.count_diff:+9d} blocks"
                    f"  (now {stat.size / 2**20:7.2f} MiB)  {_short(frame.filename)}:{frame.lineno}"
                )
            types.subtract(self.first_types)
            grown = ", ".join(f"{name} {n:+d}" for name, n in types.most_common(6) if n > 0)
            out.append(f"  objects grown most since +1 h: {grown or 'none'}")
        print("\n".join(out), file=sys.stderr, flush=True)


def cluster_sizes(index: Any) -> str:
    """The clustering index's size: stories held, slots (held and forgotten), terms, postings."""
    n = index.sizes()
    return (
        f"cluster index: {n['stories']} stories held, {n['slots']} slots, {n['terms']} terms,"
        f" {n['postings']} postings"
    )


def _short(filename: str) -> str:
    for marker in ("/bot/", "/bench/", "/site-packages/", "/lib/python"):
        at = filename.rfind(marker)
        if at >= 0:
            return filename[at + 1 :]
    return filename


# ------------------------------------------------------------------ the day


async def run_day(
    *,
    sources: int = 1000,
    guilds: int = 20,
    subs: int = 200,
    hours: float = 24,
    seed: int = 1,
    story_every_h: float = 3.0,
    workdir: Path | None = None,
    progress: bool = False,
    trace: bool = False,
) -> dict[str, Any]:
    """Run the simulated day; returns the figures (see the module docstring)."""
    with contextlib.ExitStack() as stack:
        if workdir is None:
            workdir = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="loadday-")))
        return await _run_day(
            sources,
            guilds,
            subs,
            hours,
            seed,
            story_every_h,
            workdir,
            progress=progress,
            tracer=Tracer() if trace else None,
        )


async def _run_day(
    n_sources: int,
    n_guilds: int,
    n_subs: int,
    hours: float,
    seed: int,
    story_every_h: float,
    workdir: Path,
    *,
    progress: bool,
    tracer: Tracer | None = None,
) -> dict[str, Any]:
    config = load_config(
        {
            "default_sources": False,
            "storage": {"path": str(workdir / "load.sqlite3")},
            "taxonomy": {"embeddings": False},
        }
    )
    clock = Clock(START)
    service = await NewsService.open(config, clock=clock)
    farm = Farm(clock, service.fetcher.settings, seed, story_every_h)
    service.fetcher = farm  # type: ignore[assignment]
    service.poller.fetcher = farm  # type: ignore[assignment]
    discord_ = Discord(clock)
    deliverer = Deliverer(discord_, service, None, retry_delays=(0.0,))  # type: ignore[arg-type]
    jobs = Jobs(service, deliverer, config, first_poll=None)
    watch = Concurrency()
    lags = array("d")  # the samples, 8 bytes each (a list of floats took 32)
    stop = asyncio.Event()
    figures: dict[str, Any] = {}
    try:
        for i in range(n_sources):
            farm.plan(i, hours)
            await service.store.sources.add(
                url=f"https://feed{i}.load.test/rss",
                name=f"Load feed {i}",
                interval=timedelta(minutes=30),
                backfill=0,
                full_text=False,
                scope=GLOBAL,
                now=START,
            )
        subscriptions = []
        per_guild = -(-n_subs // n_guilds)
        for k in range(n_subs):
            guild = k // per_guild
            sub = await service.subscribe(
                scope=f"guild:{1000 + guild}",
                channel_id=10_000 + k,
                schedule=SCHEDULES[k % len(SCHEDULES)],
            )
            subscriptions.append(sub)
        schedules = {s.id: parse_schedule(s.schedule, s.timezone) for s in subscriptions}
        timed = [s for s in subscriptions if not schedules[s.id].instant]
        next_due = {s.id: schedules[s.id].next_run(START - timedelta(seconds=1)) for s in timed}

        async def poll() -> None:
            with watch.job("poll"):
                await jobs.poll()

        runs_due = runs_done = 0
        posted_runs = 0

        async def scheduled(sub_id: int) -> None:
            nonlocal runs_done, posted_runs
            with watch.job(f"subscription:{sub_id}"):
                if await jobs.scheduled_run(sub_id):
                    posted_runs += 1
                runs_done += 1

        monitor = asyncio.create_task(lag_monitor(lags, stop))
        minutes = int(hours * 60)
        tick_s = array("d")
        rss_by_hour: list[float] = []
        started = time.perf_counter()
        for minute in range(minutes + 1):
            clock.now = START + timedelta(minutes=minute)
            due = [sid for sid, at in next_due.items() if at is not None and at <= clock.now]
            for sid in due:
                next_due[sid] = schedules[sid].next_run(clock.now)
            runs_due += len(due)
            t0 = time.perf_counter()
            await asyncio.gather(poll(), *(scheduled(sid) for sid in due))
            tick_s.append(time.perf_counter() - t0)
            if minute == 0:
                del lags[:]  # the first poll (the whole backlog at once) is the start-up
                figures["first_poll_s"] = tick_s[0]
            if minute % 60 == 0:
                rss_by_hour.append(rss_mib())
                if progress:
                    print(
                        f"  +{minute // 60} h rss {rss_by_hour[-1]:.0f} MiB,"
                        f" {cluster_sizes(service._clusters)};"
                        f" {time.perf_counter() - started:.0f} s so far",
                        file=sys.stderr,
                        flush=True,
                    )
                if tracer is not None and minute:
                    tracer.hour(clock.now - START, service._clusters)
        stop.set()
        await monitor
        wall = time.perf_counter() - started

        # what should be there: every story the feeds published, once; nothing doubled
        expected = farm.expected_urls(clock.now)
        stored = [r[0] for r in await service.store.db.fetch("SELECT url FROM stories")]
        stored_set = set(stored)
        duplicates_stored = len(stored) - len(stored_set)
        lost_stories = len(expected - stored_set)
        duplicates_posted = 0
        channels_with_news = 0
        for sub in subscriptions:
            links = discord_.story_links(sub.channel_id)
            duplicates_posted += len(links) - len(set(links))
            channels_with_news += bool(links)
        states = dict(
            await service.store.db.fetch("SELECT status, count(*) FROM deliveries GROUP BY status")
        )
        # a missed digest: a subscription whose last due run did not complete (its last_run
        # is set when a run posted, or found nothing to post)
        last_due: dict[int, datetime] = {}
        for sub in timed:
            at = schedules[sub.id].next_run(START - timedelta(seconds=1))
            while at is not None and at <= clock.now:
                last_due[sub.id] = at
                at = schedules[sub.id].next_run(at)
        now_subs = {s.id: s for s in await service.subscriptions()}
        missed = sum(
            1
            for sid, at in last_due.items()
            if now_subs[sid].last_run is None or now_subs[sid].last_run < at
        )
        figures.update(
            sources=n_sources,
            guilds=n_guilds,
            subscriptions=n_subs,
            simulated_hours=hours,
            polls=minutes + 1,
            fetches=farm.fetches,
            not_modified=farm.not_modified,
            stories_published=len(expected),
            stories_stored=len(stored_set),
            lost_stories=lost_stories,
            duplicate_stories=duplicates_stored,
            runs_due=runs_due,
            runs_done=runs_done,
            missed_digests=missed,
            digests_posted=posted_runs,
            instant_messages=sum(
                discord_.message_count[s.channel_id]
                for s in subscriptions
                if schedules[s.id].instant
            ),
            channels_with_news=channels_with_news,
            deliveries_sent=states.get("sent", 0),
            deliveries_pending=states.get("pending", 0),
            deliveries_failed=states.get("failed", 0),
            duplicates_posted=duplicates_posted,
            job_overlaps=watch.overlaps,
            jobs_started=watch.started,
            longest_minute_s=max(tick_s[1:] or tick_s),
            median_minute_s=statistics.median(tick_s[1:] or tick_s),
            wall_s=wall,
            rss_start_mib=rss_by_hour[1] if len(rss_by_hour) > 1 else rss_by_hour[0],
            rss_end_mib=rss_mib(),
            rss_slope_mib_per_h=_slope(rss_by_hour[1:]),
            # RSS at the end of each whole simulated day (hour 24, 48, ...)
            rss_by_day_mib=rss_by_hour[24::24],
            lag_p50_ms=percentile(lags, 50) * 1000,
            lag_p99_ms=percentile(lags, 99) * 1000,
            lag_max_ms=max(lags, default=0.0) * 1000,
            lag_samples=len(lags),
            cluster_index_stories=service._clusters.sizes()["stories"],
            cluster_index_slots=service._clusters.sizes()["slots"],
            cluster_index_terms=service._clusters.sizes()["terms"],
        )
        return figures
    finally:
        stop.set()
        await jobs.shutdown(timeout=5)
        await service.close()


def _slope(values: list[float]) -> float:
    """Least-squares slope of equally spaced samples (per step), 0 for fewer than two."""
    n = len(values)
    if n < 2:
        return 0.0
    mean_x, mean_y = (n - 1) / 2, sum(values) / n
    num = sum((x - mean_x) * (y - mean_y) for x, y in enumerate(values))
    den = sum((x - mean_x) ** 2 for x in range(n))
    return num / den


def table(figures: dict[str, Any]) -> str:
    rows = [
        ("sources / guilds / subscriptions", "{sources} / {guilds} / {subscriptions}"),
        ("simulated hours, polls", "{simulated_hours:g} h, {polls} polls"),
        ("fetches (304 not modified)", "{fetches} ({not_modified})"),
        ("first poll (whole backlog)", "{first_poll_s:.1f} s"),
        ("stories published / stored / lost / doubled",
         "{stories_published} / {stories_stored} / {lost_stories} / {duplicate_stories}"),
        ("digest runs due / run / posted", "{runs_due} / {runs_done} / {digests_posted}"),
        ("missed digests", "{missed_digests}"),
        ("instant messages", "{instant_messages}"),
        ("deliveries sent / pending / failed",
         "{deliveries_sent} / {deliveries_pending} / {deliveries_failed}"),
        ("stories posted twice to a channel", "{duplicates_posted}"),
        ("job overlaps (of jobs started)", "{job_overlaps} (of {jobs_started})"),
        ("simulated minute, median / longest",
         "{median_minute_s:.3f} s / {longest_minute_s:.2f} s"),
        ("RSS after the first hour / at the end",
         "{rss_start_mib:.0f} MiB / {rss_end_mib:.0f} MiB"),
        ("RSS slope after the first hour", "{rss_slope_mib_per_h:+.2f} MiB/h"),
        ("RSS at the end of each day", "{rss_by_day}"),
        ("clustering index: stories held / slots / terms",
         "{cluster_index_stories} / {cluster_index_slots} / {cluster_index_terms}"),
        ("event-loop lag p50 / p99 / max",
         "{lag_p50_ms:.1f} / {lag_p99_ms:.1f} / {lag_max_ms:.0f} ms ({lag_samples} samples)"),
        ("wall time", "{wall_s:.0f} s"),
    ]  # fmt: skip
    width = max(len(name) for name, _ in rows)
    lines = [f"| {'figure':<{width}} | value |", f"|{'-' * (width + 2)}|-------|"]
    by_day = " / ".join(f"{v:.0f}" for v in figures.get("rss_by_day_mib", ()))
    figures = {**figures, "rss_by_day": f"{by_day} MiB" if by_day else "(under a day)"}
    lines += [f"| {name:<{width}} | {fmt.format(**figures)} |" for name, fmt in rows]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--sources", type=int, default=1000)
    parser.add_argument("--guilds", type=int, default=20)
    parser.add_argument("--subs", type=int, default=200)
    parser.add_argument("--hours", type=float, default=24)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--story-every", type=float, default=3.0, help="hours, on average")
    parser.add_argument("--json", action="store_true", help="print the figures as JSON")
    parser.add_argument(
        "--trace",
        action="store_true",
        help="each simulated hour, print to stderr the allocation sites that grew (tracemalloc)",
    )
    args = parser.parse_args(argv)
    figures = asyncio.run(
        run_day(
            sources=args.sources,
            guilds=args.guilds,
            subs=args.subs,
            hours=args.hours,
            seed=args.seed,
            story_every_h=args.story_every,
            progress=True,
            trace=args.trace,
        )
    )
    print(json.dumps(figures, indent=2) if args.json else table(figures))
    return 0


if __name__ == "__main__":
    sys.exit(main())
