"""Performance benchmark of the core: one full poll, an all-304 poll, search at scale.

Run from the repository root (it takes minutes; progress is printed as it goes)::

    python bench/poll_bench.py --feeds 1000              # the table
    python bench/poll_bench.py --feeds 200 --profile p   # also a per-thread CPU profile

The feeds come from ``bench/feedgen.py serve`` running as a separate process, so only the
bot's own CPU is counted (``getrusage(RUSAGE_SELF)``: every thread of this process,
including the parse/enrich workers and aiosqlite's thread). Every feed has its own host
name, mapped to loopback by a resolver under the private-network guard, as 1000 real
outlets would be. The store is opened through :class:`NewsService` with the product's
defaults (embeddings on) except a 3 s fetch timeout and a 2 MiB size limit, so the broken
feeds (slow, 500, truncated XML, an HTML page, too large, 404) fail quickly.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import cProfile
import gc
import json
import pstats
import random
import re
import resource
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import traceback
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from aiohttp.abc import AbstractResolver, ResolveResult  # noqa: E402

from bench import feedgen  # noqa: E402
from bot.config import load_config  # noqa: E402
from bot.news.clean import clean_text, clean_title  # noqa: E402
from bot.news.fetch import Fetcher  # noqa: E402
from bot.news.identity import content_hash  # noqa: E402
from bot.news.models import Condensed, ParsedEntry  # noqa: E402
from bot.news.service import NewsService, fetch_settings  # noqa: E402
from bot.news.store import Candidate  # noqa: E402

TIMEOUT_S = 3.0
MAX_BYTES = 2 * 1024 * 1024


class LoopbackResolver(AbstractResolver):
    """Every ``*.bench.test`` name is 127.0.0.1; the guard still judges the address."""

    async def resolve(
        self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_INET
    ) -> list[ResolveResult]:
        if not host.endswith(".bench.test"):
            raise OSError(f"the benchmark resolves only *.bench.test, not {host}")
        return [
            ResolveResult(
                hostname=host,
                host="127.0.0.1",
                port=port,
                family=socket.AF_INET,
                proto=0,
                flags=socket.AI_NUMERICHOST,
            )
        ]

    async def close(self) -> None:
        return None


def cpu() -> float:
    use = resource.getrusage(resource.RUSAGE_SELF)
    return use.ru_utime + use.ru_stime


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux reports KiB


def say(text: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {text}", flush=True)


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q / 100 * len(ordered)))] if ordered else 0.0


@dataclass
class Figures:
    feeds: int
    skip_cluster: bool = False
    core_only: bool = False
    open_s: float = 0.0
    first_wall: float = 0.0
    first_cpu: float = 0.0
    cluster_cpu: float = 0.0
    stored: int = 0
    failed: int = 0
    lag: list[float] = field(default_factory=list)
    worst_lag_at: float = 0.0
    gc_pauses: list[tuple[int, float]] = field(default_factory=list)
    rss_after_poll: float = 0.0
    second_wall: float = 0.0
    second_cpu: float = 0.0
    not_modified: int = 0
    lag2: list[float] = field(default_factory=list)
    stories: int = 0
    searches: list[float] = field(default_factory=list)
    hits: list[int] = field(default_factory=list)
    digests: dict[str, list[float]] = field(default_factory=dict)
    rss_end: float = 0.0


# ------------------------------------------------------------------ the feed server


class FeedServerProcess:
    """``feedgen.py serve`` as a child process; it stops when its stdin closes."""

    def __init__(self, feeds: int, seed: int) -> None:
        self.proc = subprocess.Popen(
            [
                sys.executable,
                str(ROOT / "bench" / "feedgen.py"),
                "serve",
                "--feeds",
                str(feeds),
                "--seed",
                str(seed),
            ],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        line = self.proc.stdout.readline() if self.proc.stdout else ""
        if not line.startswith("PORT "):
            self.stop()
            raise SystemExit(f"the feed server did not start: {line!r}")
        self.port = int(line.split()[1])

    def stop(self) -> None:
        if self.proc.stdin:
            self.proc.stdin.close()
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.terminate()
            self.proc.wait()


# ------------------------------------------------------------------ measuring helpers


class LagMonitor:
    """How late a 10 ms sleep wakes up: what any other task would feel during a poll."""

    def __init__(self, *, watchdog: bool = False) -> None:
        self.samples: list[float] = []
        self.started = self.worst_at = 0.0
        self._task: asyncio.Task | None = None
        self._beat = time.perf_counter()
        self._watchdog = watchdog
        self._stop = threading.Event()

    async def _run(self) -> None:
        self.started = time.perf_counter()
        while True:
            start = self._beat = time.perf_counter()
            await asyncio.sleep(0.010)
            late = max(0.0, time.perf_counter() - start - 0.010)
            if late > max(self.samples, default=0.0):
                self.worst_at = start - self.started  # seconds into the block
            self.samples.append(late)

    def _watch(self, loop_thread: int) -> None:
        """Print where the event loop's thread is when it has not run for half a second."""
        reported = 0.0
        while not self._stop.wait(0.1):
            stalled = time.perf_counter() - self._beat
            if stalled > 0.5 and self._beat != reported:
                reported = self._beat
                frames = sys._current_frames()
                names = {t.ident: t.name for t in threading.enumerate()}
                where = "".join(
                    f"  -- {names.get(ident, ident)}"
                    f"{' (event loop)' if ident == loop_thread else ''}:\n"
                    + "".join(traceback.format_stack(frame)[-4:])
                    for ident, frame in frames.items()
                    if ident != threading.get_ident()
                )
                say(f"event loop stalled {stalled:.1f} s; every thread was in:\n{where}")

    def __enter__(self) -> LagMonitor:
        self._task = asyncio.get_running_loop().create_task(self._run())
        if self._watchdog:
            threading.Thread(target=self._watch, args=(threading.get_ident(),), daemon=True).start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        if self._task:
            self._task.cancel()


class GcPauses:
    """Every cyclic garbage collection while the block runs: (generation, seconds).

    A collection holds the GIL throughout, in whichever thread set it off: a full one
    over a big heap stops the event loop as surely as a blocking call would.
    """

    def __init__(self) -> None:
        self.pauses: list[tuple[int, float]] = []
        self._start = 0.0

    def _callback(self, phase: str, info: dict) -> None:
        if phase == "start":
            self._start = time.perf_counter()
        else:
            self.pauses.append((info["generation"], time.perf_counter() - self._start))

    def __enter__(self) -> GcPauses:
        gc.callbacks.append(self._callback)
        return self

    def __exit__(self, *exc: object) -> None:
        gc.callbacks.remove(self._callback)


class PollProfile:
    """cProfile of poll 1 across threads, timed by each thread's CPU clock.

    cProfile sees one thread, so the event loop's thread has one profile and every
    ``asyncio.to_thread`` call (parse, enrich, clustering) gets its own in its worker,
    merged afterwards. aiosqlite's thread is not profiled: its CPU is what is left of
    the process's CPU.
    """

    def __init__(self) -> None:
        self.main = cProfile.Profile(time.thread_time)
        self.workers: list[cProfile.Profile] = []
        self.worker_cpu = self.main_cpu = self.process_cpu = 0.0
        self._saved = asyncio.to_thread

    def _profiled(self, func, /, *args, **kwargs):
        prof, start = cProfile.Profile(time.thread_time), time.thread_time()
        prof.enable()
        try:
            return func(*args, **kwargs)
        finally:
            prof.disable()
            self.worker_cpu += time.thread_time() - start  # float add: atomic enough here
            self.workers.append(prof)

    def __enter__(self) -> PollProfile:
        saved = self._saved

        async def to_thread(func, /, *args, **kwargs):
            return await saved(self._profiled, func, *args, **kwargs)

        asyncio.to_thread = to_thread  # type: ignore[assignment]
        self._t0, self._p0 = time.thread_time(), cpu()
        self.main.enable()
        return self

    def __exit__(self, *exc: object) -> None:
        self.main.disable()
        self.main_cpu = time.thread_time() - self._t0
        self.process_cpu = cpu() - self._p0
        asyncio.to_thread = self._saved  # type: ignore[assignment]

    def stats(self) -> pstats.Stats:
        stats = pstats.Stats(self.main)
        for prof in self.workers:
            stats.add(prof)
        return stats


#: (label, file suffix, function): cumulative CPU of these is the stage's share
STAGES = (
    ("fetch (aiohttp, guard, read)", "bot/news/fetch.py", "fetch"),
    ("parse_feed", "bot/news/parse.py", "parse_feed"),
    ("  fastfeedparser.parse", "fastfeedparser/main.py", "parse"),
    ("  expat well-formed check", "bot/news/parse_fast.py", "_well_formed"),
    ("  normalise entries", "bot/news/parse_entry.py", "normalise"),
    ("  feedparser (fallback)", "bot/news/parse.py", "parse_with_feedparser"),
    ("identity (content_hash)", "bot/news/identity.py", "content_hash"),
    ("enrich", "bot/news/enrich.py", "enrich"),
    ("  clean_text", "bot/news/clean.py", "clean_text"),
    ("  clean_title", "bot/news/clean.py", "clean_title"),
    ("  condense", "bot/news/condense.py", "condense"),
    ("  tag_many", "bot/news/topics.py", "tag_many"),
    ("    phrase scores", "bot/news/topics.py", "_phrase_scores"),
    ("    embeddings (wordllama)", "bot/news/embed.py", "embed"),
    ("store: known() look-up", "bot/news/store/stories.py", "known"),
    ("store: ingest", "bot/news/store/stories.py", "ingest"),
    ("cluster (assign_clusters)", "bot/news/cluster.py", "assign_clusters"),
)


def summarise_profile(run: PollProfile, out: Path) -> list[tuple[str, float, float]]:
    """Stage shares of the process's CPU during poll 1; full listings written to ``out``.txt."""
    stats = run.stats()
    raw = stats.stats  # type: ignore[attr-defined]
    total = run.process_cpu or 1.0
    rows = []
    for label, suffix, name in STAGES:
        cum = sum(v[3] for (f, _, fn), v in raw.items() if f.endswith(suffix) and fn == name)
        rows.append((label, cum, 100 * cum / total))
    rows.append(("event-loop thread (all of it)", run.main_cpu, 100 * run.main_cpu / total))
    rows.append(("worker threads (all of them)", run.worker_cpu, 100 * run.worker_cpu / total))
    rest = run.process_cpu - run.main_cpu - run.worker_cpu
    rows.append(("rest: sqlite thread, GIL, profiler", rest, 100 * rest / total))
    stats.dump_stats(str(out))
    with open(f"{out}.txt", "w") as text:
        stats.stream = text  # type: ignore[attr-defined]
        text.write(f"process CPU {run.process_cpu:.2f} s, event loop {run.main_cpu:.2f} s\n")
        stats.sort_stats("cumulative").print_stats(60)
        stats.sort_stats("tottime").print_stats(40)
    rows.append(("TOTAL process CPU in poll 1", total, 100.0))
    return rows


# ------------------------------------------------------------------ the phases


def make_config(tmp: Path, port: int, feeds: int):
    plans = feedgen.plan(feeds, 0)  # only the count matters for the URLs
    return load_config(
        {
            "default_sources": False,
            "storage": {"path": str(tmp / "bench.sqlite3")},
            "fetch": {
                "timeout_s": TIMEOUT_S,
                "connect_timeout_s": TIMEOUT_S,
                "max_bytes": MAX_BYTES,
                "allow_private_networks": True,
                # the synthetic items' links lead nowhere; what pages cost is not measured here
                "articles": False,
            },
            "sources": [
                {
                    "url": f"http://{feedgen.host_of(p.index)}:{port}{p.path}",
                    "name": f"Outlet {p.index}",
                }
                for p in plans
            ],
            "taxonomy": {"embeddings": True},
        }
    )


async def timed_poll(service: NewsService, label: str, total: int) -> tuple[float, float, object]:
    step = max(1, total // 10)

    def progress(done: int, count: int, source, error: str | None) -> None:
        if done % step == 0 or done == count:
            say(f"  {label}: {done}/{count} sources")

    wall, cpu0 = time.perf_counter(), cpu()
    report = await service.poll(due_only=False, progress=progress)
    return time.perf_counter() - wall, cpu() - cpu0, report


async def top_up(service: NewsService, target: int, seed: int) -> int:
    """Synthetic stories straight through the store's ingest path (FTS triggers fire)."""
    db = service.store.db
    have = await db.fetchval("SELECT count(*) FROM stories")
    source_ids = [r[0] for r in await db.fetch("SELECT id FROM sources")]
    missing = max(0, target - have)
    if not missing:
        return have
    say(f"topping the store up from {have} to {target} stories")
    rng = random.Random(f"topup-{seed}")
    now = datetime.now(UTC)
    topics = service.topic_names
    made, batch = 0, 500
    while made < missing:
        async with service.store.transaction() as tx:
            for _ in range(10):
                size = min(batch, missing - made)
                if size <= 0:
                    break
                source_id = rng.choice(source_ids)
                cands = []
                for n in range(size):
                    title = feedgen.headline(rng)
                    sentences = [feedgen.sentence(rng, title) for _ in range(rng.randint(2, 4))]
                    when = now - timedelta(seconds=rng.randrange(90 * 86400))
                    entry = ParsedEntry(
                        title=title,
                        link=f"https://topup.example.com/{made + n}",
                        guid=f"topup-{made + n}",
                        published=when,
                        updated=None,
                        date_estimated=False,
                        author=None,
                        content_html="<p>" + " ".join(sentences) + "</p>",
                        summary_html="",
                    )
                    cand = Candidate(f"topup-{made + n}", entry, content_hash(entry))
                    cand.text = " ".join(sentences)
                    cand.condensed = Condensed(title, sentences[0], tuple(sentences[1:]))
                    cand.topics = tuple(rng.sample(topics, rng.randint(0, 2)))
                    cands.append(cand)
                await service.store.stories.ingest(tx, source_id, cands, now)
                made += size
        if made % 10_000 < batch * 10:
            say(f"  {have + made}/{target} stories")
    return have + made


_WORD = re.compile(r"[A-Za-z][\w-]+")


async def queries_from_titles(service: NewsService, count: int, seed: int) -> list[str]:
    """1-3 consecutive title words; a quarter are the commonest single words."""
    rows = await service.store.db.fetch(
        "SELECT title FROM stories ORDER BY random() LIMIT ?", (count * 5,)
    )
    titles = [r[0] for r in rows]
    rng = random.Random(f"queries-{seed}")
    freq: dict[str, int] = {}
    for t in titles:
        for w in _WORD.findall(t):
            freq[w.lower()] = freq.get(w.lower(), 0) + 1
    common = sorted(freq, key=lambda w: -freq[w])[:15]
    out = []
    for i in range(count):
        if i % 4 == 0:
            out.append(rng.choice(common))
            continue
        words = _WORD.findall(rng.choice(titles))
        n = min(len(words), rng.randint(1, 3))
        start = rng.randrange(len(words) - n + 1)
        out.append(" ".join(words[start : start + n]))
    return out


async def run(args: argparse.Namespace) -> Figures:
    fig = Figures(args.feeds, skip_cluster=args.skip_cluster, core_only=args.core_only)
    say(f"starting the feed server for {args.feeds} feeds (seed {args.seed})")
    server = FeedServerProcess(args.feeds, args.seed)
    try:
        with tempfile.TemporaryDirectory(prefix="briefbot-bench-") as tmp:
            config = make_config(Path(tmp), server.port, args.feeds)
            session = Fetcher.make_session(fetch_settings(config), resolver=LoopbackResolver())
            start = time.perf_counter()
            service = await NewsService.open(config, session=session)
            fig.open_s = time.perf_counter() - start
            say(f"service open in {fig.open_s:.1f} s; first poll of {args.feeds} sources")
            try:
                await measure(service, fig, args)
            finally:
                await service.close()
                await session.close()
    finally:
        server.stop()
    fig.rss_end = peak_rss_mb()
    return fig


def core_only(service: NewsService) -> None:
    """Leave out what condensing and topics add per story (issue 5): each story gets its
    clean text (the store indexes it) and its title as headline, no lead, points or topics."""

    def enrich(candidates, *, texts=None) -> None:
        for cand in candidates:
            cand.text = clean_text(cand.entry.content_html or cand.entry.summary_html)
            cand.condensed = Condensed(clean_title(cand.entry.title), "", ())
            cand.topics = ()

    service.poller.enricher.enrich = enrich


async def measure(service: NewsService, fig: Figures, args: argparse.Namespace) -> None:
    original_cluster = service.cluster
    if args.core_only:
        core_only(service)

    async def timed_cluster(ids):
        if args.skip_cluster or args.core_only:
            return
        before = cpu()
        await original_cluster(ids)
        if not fig.first_cpu:  # poll 1 only
            fig.cluster_cpu += cpu() - before

    service.cluster = timed_cluster

    profile = PollProfile() if args.profile else contextlib.nullcontext()
    with LagMonitor(watchdog=args.watchdog) as lag, GcPauses() as pauses, profile:
        fig.first_wall, fig.first_cpu, report = await timed_poll(service, "poll 1", args.feeds)
    fig.gc_pauses = pauses.pauses
    if isinstance(profile, PollProfile):
        print_profile(summarise_profile(profile, Path(args.profile)), args.profile)
    fig.lag, fig.worst_lag_at = lag.samples, lag.worst_at
    fig.stored = report.new_stories
    fig.failed = report.failed
    fig.rss_after_poll = peak_rss_mb()
    say(
        f"poll 1: {fig.stored} stories in {fig.first_wall:.1f} s wall, {fig.first_cpu:.1f} s CPU"
        f" ({fig.cluster_cpu:.1f} s of it clustering); {report.failed} sources failed"
    )

    with LagMonitor() as lag2:
        fig.second_wall, fig.second_cpu, report = await timed_poll(service, "poll 2", args.feeds)
    fig.lag2 = lag2.samples
    fig.not_modified = report.not_modified
    say(
        f"poll 2: {report.not_modified} not modified, {report.ok} changed, {report.failed} failed"
        f" in {fig.second_wall:.1f} s wall, {fig.second_cpu:.2f} s CPU"
    )

    fig.stories = await top_up(service, args.stories, args.seed)
    queries = await queries_from_titles(service, args.queries, args.seed)
    await service.search(queries[0], limit=20)  # one warm-up: the first query opens pages
    say(f"{len(queries)} searches over {fig.stories} stories")
    for q in queries:
        start = time.perf_counter()
        found = await service.search(q, limit=20)
        fig.searches.append(time.perf_counter() - start)
        fig.hits.append(len(found))
    for label, kwargs in (
        ("digest, last 24h", {"since": timedelta(hours=24)}),
        ("digest, last 7d", {"since": timedelta(days=7)}),
        ("digest, 7d, topic regulation", {"since": timedelta(days=7), "topics": ["regulation"]}),
    ):
        times = fig.digests.setdefault(label, [])
        for _ in range(10):
            start = time.perf_counter()
            await service.digest(**kwargs)
            times.append(time.perf_counter() - start)
        say(f"{label}: p50 {pct([t * 1000 for t in times], 50):.0f} ms")
    if args.keep:
        await service.store.backup(args.keep)
    slow = sorted(zip(fig.searches, queries, strict=True), reverse=True)[:3]
    say("slowest: " + "; ".join(f"{q!r} {t * 1000:.0f} ms" for t, q in slow))


# ------------------------------------------------------------------ output


def print_profile(rows: list[tuple[str, float, float]], path: str) -> None:
    print("\nProfile of poll 1 (CPU per thread, cumulative; nested rows are part of the row above)")
    for label, cum, share in rows:
        print(f"  {label:<34} {cum:8.2f} s  {share:5.1f}%")
    print(f"  full listings: {path}.txt (pstats dump: {path})\n", flush=True)


def table(fig: Figures) -> str:
    per_cpu = fig.stored / fig.first_cpu if fig.first_cpu else 0.0
    rest = fig.first_cpu - fig.cluster_cpu
    per_cpu_rest = fig.stored / rest if rest > 0 else 0.0
    ms = [s * 1000 for s in fig.searches]
    lag = [s * 1000 for s in fig.lag]
    full_gc = [d for generation, d in fig.gc_pauses if generation == 2]
    lag2 = [s * 1000 for s in fig.lag2]
    rows = [
        ("sources", f"{fig.feeds}", ""),
        ("service open (wordllama load)", f"{fig.open_s:.2f} s", ""),
        ("poll 1: stories stored", f"{fig.stored}", f"{fig.failed} sources failed"),
        ("poll 1: wall", f"{fig.first_wall:.1f} s", ""),
        (
            "poll 1: CPU (this process)",
            f"{fig.first_cpu:.2f} s",
            "condensing, tagging, clustering SKIPPED"
            if fig.core_only
            else "clustering SKIPPED"
            if fig.skip_cluster
            else f"clustering {fig.cluster_cpu:.2f} s",
        ),
        ("poll 1: stories per CPU-second", f"{per_cpu:,.0f}", "target >= 5,500"),
        ("  same, clustering left out", f"{per_cpu_rest:,.0f}", ""),
        (
            "poll 1: event-loop lag p50 / p99",
            f"{pct(lag, 50):.1f} / {pct(lag, 99):.1f} ms",
            f"max {max(lag, default=0):.0f} ms ({fig.worst_lag_at:.1f} s in); target p99 <= 50",
        ),
        (
            "poll 1: full GC collections",
            str(len(full_gc)),
            f"longest {1000 * max(full_gc, default=0.0):.0f} ms;"
            f" all generations: {len(fig.gc_pauses)} in {sum(d for _, d in fig.gc_pauses):.1f} s",
        ),
        (
            "poll 2 (304s): CPU",
            f"{fig.second_cpu:.2f} s",
            f"{fig.not_modified} not modified; target <= 1 (N=1000)",
        ),
        ("poll 2 (304s): wall", f"{fig.second_wall:.1f} s", ""),
        ("poll 2: event-loop lag p99", f"{pct(lag2, 99):.1f} ms", ""),
        (
            "search p50 / p95",
            f"{pct(ms, 50):.1f} / {pct(ms, 95):.1f} ms",
            f"{len(ms)} queries over {fig.stories:,} stories; target p95 <= 25",
        ),
        (
            "search max",
            f"{max(ms, default=0):.1f} ms",
            f"mean hits {statistics.mean(fig.hits) if fig.hits else 0:.1f}",
        ),
        *(
            (
                label,
                f"{pct([t * 1000 for t in ts], 50):.0f} / {pct([t * 1000 for t in ts], 95):.0f} ms",
                f"p50 / p95 over {fig.stories:,} stories; target <= 200",
            )
            for label, ts in fig.digests.items()
        ),
        ("peak RSS after poll 1", f"{fig.rss_after_poll:.0f} MB", "target <= 100 (N=1000)"),
        ("peak RSS at the end", f"{fig.rss_end:.0f} MB", "after top-up and search"),
    ]
    width = max(len(r[0]) for r in rows)
    lines = [f"{'measure':<{width}}  {'value':>16}  notes", "-" * (width + 50)]
    lines += [f"{a:<{width}}  {b:>16}  {c}" for a, b, c in rows]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description="briefbot poll/search benchmark")
    parser.add_argument("--feeds", type=int, default=200)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--stories", type=int, default=100_000)
    parser.add_argument("--queries", type=int, default=200)
    parser.add_argument(
        "--profile", metavar="PATH", help="profile poll 1 (slows it down) and write pstats to PATH"
    )
    parser.add_argument(
        "--watchdog",
        action="store_true",
        help="print where the event loop is whenever poll 1 stalls it for over 0.5 s",
    )
    parser.add_argument(
        "--skip-cluster",
        action="store_true",
        help="leave out the clustering step of each poll",
    )
    parser.add_argument(
        "--core-only",
        action="store_true",
        help="fetch, parse, identify, clean and store only: no condensing, tagging, clustering",
    )
    parser.add_argument("--keep", metavar="PATH", help="keep a copy of the database at PATH")
    parser.add_argument("--json", metavar="PATH", help="also write the figures as JSON")
    args = parser.parse_args()
    fig = asyncio.run(run(args))
    print("\n" + table(fig))
    if args.json:
        data = {k: v for k, v in vars(fig).items() if not isinstance(v, list)}
        Path(args.json).write_text(json.dumps(data, indent=2))


if __name__ == "__main__":
    main()
