"""Scale benchmark: N loopback sources polled by 1, 2, 4 ``Worker`` processes on PostgreSQL,
and by one in-process poll on SQLite, for comparison.

Run from the repository root (the full run takes about half an hour)::

    python bench/scale_bench.py                                   # 10,000 sources x 20 items
    python bench/scale_bench.py --sources 1000 --workers 1,2      # scaled down
    python bench/scale_bench.py --engines pg --workers 1 --profile /tmp/scale.prof

Everything runs in child processes it starts and stops itself, also on Ctrl-C or an error:

- the feed farm (``bench/feedgen.py serve --items 20``: one host name per feed, answered on
  127.0.0.1; ETag/Last-Modified and 304; 5% broken feeds);
- a throwaway PostgreSQL server (``bench/pgserver.py``; as ``nobody`` when root, fsync off);
- the workers (``bench/scale_worker.py CONFIG worker``: ``Worker.run()`` as ``briefbot
  worker`` runs it, with the benchmark's loopback resolver), each with its own config file;
- for SQLite, one process that runs ``service.poll(due_only=False)`` like ``briefbot poll
  --all`` (``bench/scale_worker.py CONFIG poll``).

For each PostgreSQL configuration a fresh database gets the N sources (bulk INSERT, due far
in the future), the workers start and open their service, and then one UPDATE makes every
source due at once. A round ends when every source has been polled since that moment, no
lease is held and no story waits for the clusterer. Round 2 makes every source due again:
the feeds answer 304. CPU is read from /proc/<pid>/stat: each worker (all its threads), and
the PostgreSQL server (postmaster, every child, and children already reaped). Search:
``service.search`` over the store as the last configuration left it, topped up to
``--search-stories`` if it holds fewer, with poll_bench's query generator.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import ctypes
import json
import os
import pstats
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import tomllib
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench import feedgen  # noqa: E402
from bench.pgserver import PgServer, peak_rss_mb, process_cpu  # noqa: E402
from bench.poll_bench import MAX_BYTES, TIMEOUT_S, pct, queries_from_titles, say, top_up  # noqa: E402
from bot.config import load_config  # noqa: E402
from bot.news.service import NewsService  # noqa: E402
from bot.news.store import Store  # noqa: E402
from bot.news.store.db import to_ts  # noqa: E402
from bot.news.store.stories import SEARCH_WINDOW, fts_query  # noqa: E402
from bot.news.urls import canonical_url  # noqa: E402

ITEMS = 20
#: how often the bench looks at the database while a round runs
WATCH_S = 0.25
PROGRESS_S = 10.0


# ------------------------------------------------------------------ child processes


def _die_with_parent() -> None:
    """In the child: SIGTERM when the bench dies, even by SIGKILL (Linux prctl)."""
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG


class FeedFarm:
    """``feedgen.py serve`` in its own process; it stops when its stdin closes."""

    def __init__(self, feeds: int, items: int, seed: int) -> None:
        self.proc = subprocess.Popen(
            [
                sys.executable, str(ROOT / "bench" / "feedgen.py"), "serve",
                "--feeds", str(feeds), "--items", str(items), "--seed", str(seed),
            ],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
            preexec_fn=_die_with_parent,
        )  # fmt: skip
        line = self.proc.stdout.readline() if self.proc.stdout else ""
        if not line.startswith("PORT "):
            self.stop()
            raise SystemExit(f"the feed farm did not start: {line!r}")
        self.port = int(line.split()[1])

    def urls(self, count: int) -> list[str]:
        return [
            f"http://{feedgen.host_of(p.index)}:{self.port}{p.path}"
            for p in feedgen.plan(count, 0)  # only the count matters for the URLs
        ]

    def stop(self) -> None:
        if self.proc.stdin:
            with contextlib.suppress(OSError):
                self.proc.stdin.close()
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()


class Runner:
    """One ``bench/scale_worker.py`` process, and the lines it prints (``KIND {json}``)."""

    def __init__(self, proc: asyncio.subprocess.Process, label: str) -> None:
        self.proc = proc
        self.pid = proc.pid
        self.label = label
        self.events: asyncio.Queue[tuple[str, dict]] = asyncio.Queue()
        self._reader = asyncio.create_task(self._read())

    @classmethod
    async def start(cls, config: Path, mode: str, label: str, profile: str | None = None):
        argv = [sys.executable, str(ROOT / "bench" / "scale_worker.py"), str(config), mode]
        if profile:
            argv += ["--profile", profile]
        proc = await asyncio.create_subprocess_exec(
            *argv,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            preexec_fn=_die_with_parent,
            env={**os.environ, "PYTHONPATH": str(ROOT)},
        )
        return cls(proc, label)

    async def _read(self) -> None:
        assert self.proc.stdout is not None
        while line := await self.proc.stdout.readline():
            kind, _, rest = line.decode().strip().partition(" ")
            try:
                data = json.loads(rest) if rest else {}
            except json.JSONDecodeError:
                kind, data = "TEXT", {"text": line.decode().rstrip()}
            if kind == "PROGRESS":
                say(f"  {self.label}: {data['done']}/{data['count']} sources")
            else:
                await self.events.put((kind, data))
        await self.events.put(("EXIT", {"code": await self.proc.wait()}))

    async def expect(self, kind: str, within: float = 3600) -> dict:
        while True:
            got, data = await asyncio.wait_for(self.events.get(), within)
            if got == kind:
                return data
            if got == "EXIT":
                raise RuntimeError(f"{self.label} exited ({data['code']}) before {kind}")

    async def send(self, line: str) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.write(line.encode() + b"\n")
        await self.proc.stdin.drain()

    def cpu(self) -> float:
        return process_cpu(self.pid)

    def peak_rss(self) -> float:
        return peak_rss_mb(self.pid)

    async def stop(self, grace: float = 30.0) -> None:
        """SIGTERM (a worker finishes its round and gives its leases back), then SIGKILL."""
        if self.proc.returncode is None:
            with contextlib.suppress(ProcessLookupError):
                self.proc.send_signal(signal.SIGTERM)
            if self.proc.stdin is not None:
                with contextlib.suppress(OSError):
                    self.proc.stdin.close()
            try:
                await asyncio.wait_for(self.proc.wait(), grace)
            except TimeoutError:
                with contextlib.suppress(ProcessLookupError):
                    self.proc.kill()
                await self.proc.wait()
        self._reader.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self._reader


# ------------------------------------------------------------------ configuration and store


def config_text(storage: str, args: argparse.Namespace) -> str:
    key = "url" if storage.startswith("postgresql://") else "path"
    return f"""\
default_sources = false

[storage]
{key} = {json.dumps(storage)}

[worker]
lease_seconds = 120
batch = {args.batch}
idle_seconds = {args.idle}

[fetch]
timeout_s = {TIMEOUT_S}
connect_timeout_s = {TIMEOUT_S}
max_bytes = {MAX_BYTES}
allow_private_networks = true

[taxonomy]
embeddings = true
"""


def write_config(folder: Path, name: str, storage: str, args: argparse.Namespace) -> Path:
    path = folder / f"{name}.toml"
    path.write_text(config_text(storage, args))
    load_config(tomllib.loads(path.read_text()))  # fail here, not in a child
    return path


async def seed_sources(target: str, urls: list[str]) -> None:
    """The sources in one go (what ``sources add`` writes), none due until the bench says so."""
    store = await Store.open(target)
    try:
        now = datetime.now(UTC)
        later = to_ts(now + timedelta(days=365))
        async with store.transaction() as db:
            await db.executemany(
                "INSERT INTO sources (url, name, interval_s, backfill, full_text, created,"
                " next_poll) VALUES (?, ?, ?, ?, ?, ?, ?)",
                [
                    (canonical_url(u) or u, f"Outlet {i}", 1800, 0, 0, to_ts(now), later)
                    for i, u in enumerate(urls)
                ],
            )
            await db.execute(
                "INSERT INTO source_scopes (source_id, scope, from_config, added)"
                " SELECT id, 'global', 1, ? FROM sources",
                (to_ts(now),),
            )
    finally:
        await store.close()


# ------------------------------------------------------------------ figures


@dataclass
class RoundFigures:
    wall: float = 0.0
    polled_wall: float = 0.0  # until every source was polled (clustering may go on)
    worker_cpu: float = 0.0
    worker_cpus: list[float] = field(default_factory=list)
    db_cpu: float = 0.0
    new_stories: int = 0
    failed: int = 0

    @property
    def all_cpu(self) -> float:
        return self.worker_cpu + self.db_cpu


@dataclass
class RunFigures:
    label: str
    engine: str
    workers: int
    sources: int
    rounds: list[RoundFigures] = field(default_factory=list)
    peak_rss: list[float] = field(default_factory=list)


@dataclass
class SearchFigures:
    engine: str
    stories: int
    times: list[float] = field(default_factory=list)
    hits: list[int] = field(default_factory=list)
    plan: str = ""


# ------------------------------------------------------------------ PostgreSQL rounds


async def watch_round(store: Store, total: int, since: int, label: str, started: float) -> float:
    """Wait until every source was polled since ``since``, no lease is held and no story
    waits for the clusterer. Returns the seconds until the last source was polled."""
    db = store.db
    polled_at = 0.0
    last_say = time.perf_counter()
    while True:
        await asyncio.sleep(WATCH_S)
        polled = await db.fetchval("SELECT count(*) FROM sources WHERE last_polled >= ?", (since,))
        now = time.perf_counter()
        if polled >= total and not polled_at:
            polled_at = now - started
        if polled >= total:
            held = await db.fetchval("SELECT count(*) FROM sources WHERE lease_owner IS NOT NULL")
            if not held and not await store.stories.any_waiting():
                return polled_at
        if now - last_say >= PROGRESS_S:
            last_say = now
            stories = await db.fetchval("SELECT count(*) FROM stories")
            waiting = await db.fetchval("SELECT count(*) FROM cluster_waiting")
            say(
                f"  {label}: {polled}/{total} sources polled, {stories} stories,"
                f" {waiting} waiting for the clusterer ({now - started:.0f} s)"
            )


async def worker_round(
    store: Store, pg: PgServer, runners: list[Runner], total: int, label: str
) -> RoundFigures:
    fig = RoundFigures()
    await asyncio.sleep(1.1)  # last_polled has one-second steps: start on a fresh second
    stories0 = await store.db.fetchval("SELECT count(*) FROM stories")
    cpu0 = [r.cpu() for r in runners]
    db0 = pg.cpu_seconds()
    since = to_ts(datetime.now(UTC))
    started = time.perf_counter()
    await store.db.execute(
        "UPDATE sources SET next_poll = ?, lease_owner = NULL, lease_until = NULL", (since - 60,)
    )
    fig.polled_wall = await watch_round(store, total, since, label, started)
    fig.wall = time.perf_counter() - started
    fig.worker_cpus = [r.cpu() - c for r, c in zip(runners, cpu0, strict=True)]
    fig.worker_cpu = sum(fig.worker_cpus)
    fig.db_cpu = pg.cpu_seconds() - db0
    fig.new_stories = await store.db.fetchval("SELECT count(*) FROM stories") - stories0
    fig.failed = await store.db.fetchval(
        "SELECT count(*) FROM sources WHERE last_error IS NOT NULL AND last_polled >= ?", (since,)
    )
    say(
        f"{label}: {fig.new_stories} new stories in {fig.wall:.1f} s wall (all polled at"
        f" {fig.polled_wall:.1f} s); worker CPU {fig.worker_cpu:.1f} s"
        f" ({' + '.join(f'{c:.1f}' for c in fig.worker_cpus)}), PostgreSQL {fig.db_cpu:.1f} s;"
        f" {fig.failed} sources failed"
    )
    return fig


async def run_postgres(
    pg: PgServer, farm: FeedFarm, workers: int, args: argparse.Namespace, tmp: Path,
    *, sources: int | None = None, profile: str | None = None, rounds: int = 2,
) -> tuple[RunFigures, str]:  # fmt: skip
    sources = sources or args.sources
    name = f"bench_w{workers}" + ("_profile" if profile else "")
    label = f"PostgreSQL x{workers}" + (" (profiled)" if profile else "")
    pg.psql(f"CREATE DATABASE {name}")
    url = pg.url(name)
    await seed_sources(url, farm.urls(sources))
    config = write_config(tmp, name, url, args)
    run = RunFigures(label, "postgresql", workers, sources)
    say(f"{label}: {sources} sources seeded; starting {workers} worker process(es)")
    runners: list[Runner] = []
    store = await Store.open(url, pool_size=2)
    try:
        for n in range(workers):
            runners.append(await Runner.start(config, "worker", f"worker {n + 1}", profile))
        for r in runners:
            await r.expect("READY", within=120)
        for n in range(rounds):
            what = "first round" if n == 0 else "304 round"
            say(f"{label}: {what}: every source due now")
            run.rounds.append(await worker_round(store, pg, runners, sources, f"{label}, {what}"))
        run.peak_rss = [r.peak_rss() for r in runners]
    finally:
        await store.close()
        await asyncio.gather(*(r.stop() for r in runners), return_exceptions=True)
    return run, url


# ------------------------------------------------------------------ SQLite, in process


async def run_sqlite(farm: FeedFarm, args: argparse.Namespace, tmp: Path) -> tuple[RunFigures, str]:
    path = str(tmp / "sqlite" / "bench.sqlite3")
    await seed_sources(path, farm.urls(args.sources))
    config = write_config(tmp, "sqlite", path, args)
    run = RunFigures("SQLite x1 (in-process poll)", "sqlite", 1, args.sources)
    say(f"SQLite: {args.sources} sources seeded; one process polls them all")
    runner = await Runner.start(config, "poll", "SQLite poll")
    try:
        await runner.expect("READY", within=120)
        for n in range(2):
            what = "first round" if n == 0 else "304 round"
            say(f"SQLite: {what}")
            cpu0 = runner.cpu()
            await runner.send("poll")
            got = await runner.expect("POLLED")
            fig = RoundFigures(
                wall=got["wall"],
                polled_wall=got["wall"],
                worker_cpu=runner.cpu() - cpu0,
                new_stories=got["new"],
                failed=got["failed"],
            )
            fig.worker_cpus = [fig.worker_cpu]
            run.rounds.append(fig)
            say(
                f"SQLite, {what}: {fig.new_stories} new stories in {fig.wall:.1f} s wall,"
                f" {fig.worker_cpu:.1f} s CPU; {got['not_modified']} not modified,"
                f" {fig.failed} failed"
            )
        run.peak_rss = [runner.peak_rss()]
        await runner.send("quit")
    finally:
        await runner.stop()
    return run, path


# ------------------------------------------------------------------ search


async def measure_search(
    target: str, engine: str, args: argparse.Namespace, tmp: Path
) -> SearchFigures:
    config = load_config(tomllib.loads(config_text(target, args)))
    service = await NewsService.open(config, sync=False)
    try:
        stories = await top_up(service, args.search_stories, args.seed)
        queries = await queries_from_titles(service, args.queries, args.seed)
        await service.search(queries[0], limit=20)  # warm-up
        fig = SearchFigures(engine, stories)
        for q in queries:
            start = time.perf_counter()
            found = await service.search(q, limit=20)
            fig.times.append(time.perf_counter() - start)
            fig.hits.append(len(found))
        slow = sorted(zip(fig.times, queries, strict=True), reverse=True)[:3]
        say(
            f"search on {engine}: p95 {pct([t * 1000 for t in fig.times], 95):.1f} ms over"
            f" {stories} stories; slowest: "
            + "; ".join(f"{q!r} {t * 1000:.0f} ms" for t, q in slow)
        )
        if engine == "postgresql":
            fig.plan = await explain_search(service, slow[0][1])
            print(f"plan of the slowest query's first statement:\n{fig.plan}", flush=True)
        return fig
    finally:
        await service.close()


async def explain_search(service: NewsService, query: str) -> str:
    """EXPLAIN ANALYZE of the statement ``search`` runs first for ``query`` (no filters), with
    the plan made for this query's words, and with the generic plan PostgreSQL switches a
    prepared statement to after five runs (asyncpg prepares every statement)."""
    db = service.store.db
    sql = db.dialect.search_sql("")
    exact = fts_query(query, prefix=False, dialect=db.dialect)
    numbered = sql.replace("?", "$1", 1).replace("?", "$2", 1).replace("?", "$3", 1)
    literal = "'" + exact.replace("'", "''") + "'"
    out = []
    async with db.transaction() as tx:
        await tx.execute(f"PREPARE bench_search(text, bigint, bigint) AS {numbered}")
        for mode in ("force_custom_plan", "force_generic_plan"):
            await tx.execute(f"SET LOCAL plan_cache_mode = {mode}")
            rows = await tx.fetch(
                f"EXPLAIN (ANALYZE, BUFFERS) EXECUTE bench_search({literal}, {SEARCH_WINDOW}, 20)"
            )
            out += [f"-- {mode}:", *(r[0] for r in rows)]
        await tx.execute("DEALLOCATE bench_search")
    return "\n".join(out)


# ------------------------------------------------------------------ the profile


#: (label, file suffix, function): cumulative CPU of these, per story
PROFILE_STAGES = (
    ("fetch (aiohttp, guard, read)", "bot/news/fetch.py", "fetch"),
    ("parse_feed", "bot/news/parse.py", "parse_feed"),
    ("identity (content_hash)", "bot/news/identity.py", "content_hash"),
    ("enrich (all of it)", "bot/news/enrich.py", "enrich"),
    ("  clean_text", "bot/news/clean.py", "clean_text"),
    ("  condense", "bot/news/condense.py", "condense"),
    ("  tag_many", "bot/news/topics.py", "tag_many"),
    ("cluster: ClusterBatch.add (index)", "bot/news/cluster.py", "add"),
    ("cluster: ClusterBatch.finish", "bot/news/cluster.py", "finish"),
    ("store: sources.claim", "bot/news/store/sources.py", "claim"),
    ("  of it: sources.list", "bot/news/store/sources.py", "list"),
    ("store: Poller.write (ingest, results)", "bot/news/poll.py", "write"),
    ("  stories.known", "bot/news/store/stories.py", "known"),
    ("  stories.ingest", "bot/news/store/stories.py", "ingest"),
    ("  sources.record_results", "bot/news/store/sources.py", "record_results"),
    ("store: cluster reads (for_clustering)", "bot/news/store/stories.py", "for_clustering"),
    ("store: set_clusters", "bot/news/store/stories.py", "set_clusters"),
    ("store: mark_clustered", "bot/news/store/stories.py", "mark_clustered"),
    ("asyncpg Connection.fetch", "asyncpg/connection.py", "fetch"),
    ("asyncpg Connection.execute", "asyncpg/connection.py", "execute"),
    ("asyncpg Connection.executemany", "asyncpg/connection.py", "executemany"),
    ("asyncpg cursor iteration", "asyncpg/cursor.py", "__anext__"),
    ("asyncpg pool acquire/release", "asyncpg/pool.py", "_acquire"),
)


def profile_table(path: str, stories: int, cpu: float) -> str:
    stats = pstats.Stats(path)
    raw = stats.stats  # type: ignore[attr-defined]
    per = 1e6 / max(stories, 1)
    lines = [
        f"Profile of one worker's first round on PostgreSQL: {stories} stories,"
        f" {cpu:.1f} worker CPU-s with the profiler on ({cpu * per:.0f} µs per story)",
        f"{'stage (cumulative, all profiled threads)':<44} {'CPU s':>8} {'µs/story':>9}",
    ]
    for label, suffix, name in PROFILE_STAGES:
        cum = sum(v[3] for (f, _, fn), v in raw.items() if f.endswith(suffix) and fn == name)
        lines.append(f"{label:<44} {cum:8.2f} {cum * per:9.0f}")
    lines.append("")
    lines.append(f"{'top own time (tottime)':<70} {'CPU s':>8} {'µs/story':>9}")
    rows = sorted(raw.items(), key=lambda kv: -kv[1][2])[:25]
    for (f, line, fn), v in rows:
        where = f"{'/'.join(Path(f).parts[-2:])}:{line} {fn}"
        lines.append(f"{where[:70]:<70} {v[2]:8.2f} {v[2] * per:9.0f}")
    return "\n".join(lines)


# ------------------------------------------------------------------ output


def figure_table(runs: list[RunFigures], searches: list[SearchFigures], items: int) -> str:
    def col(run: RunFigures, pick) -> str:
        try:
            return pick(run)
        except (IndexError, ZeroDivisionError):
            return "-"

    base = next((r for r in runs if r.engine == "postgresql" and r.workers == 1), None)
    rows: list[tuple[str, object, str]] = [
        ("sources x items", lambda r: f"{r.sources:,} x {items}", ""),
        ("round 1: new stories", lambda r: f"{r.rounds[0].new_stories:,}", ""),
        ("round 1: sources failed", lambda r: f"{r.rounds[0].failed}", "5% broken feeds"),
        ("round 1: wall s", lambda r: f"{r.rounds[0].wall:.1f}", "until clustered too"),
        ("  of it: until all polled, s", lambda r: f"{r.rounds[0].polled_wall:.1f}", ""),
        (
            "  speed-up over PostgreSQL x1",
            lambda r: f"{base.rounds[0].wall / r.rounds[0].wall:.2f}x" if base else "-",
            "target x4 >= 3x",
        ),
        ("round 1: worker CPU s", lambda r: f"{r.rounds[0].worker_cpu:.1f}", "sum of workers"),
        (
            "  per worker",
            lambda r: " / ".join(f"{c:.0f}" for c in r.rounds[0].worker_cpus),
            "",
        ),
        ("round 1: PostgreSQL CPU s", lambda r: f"{r.rounds[0].db_cpu:.1f}", "server processes"),
        (
            "stories / worker CPU-s",
            lambda r: f"{r.rounds[0].new_stories / r.rounds[0].worker_cpu:,.0f}",
            "target >= 2,500",
        ),
        (
            "stories / CPU-s, all processes",
            lambda r: f"{r.rounds[0].new_stories / r.rounds[0].all_cpu:,.0f}",
            "workers + PostgreSQL",
        ),
        ("304 round: wall s", lambda r: f"{r.rounds[1].wall:.1f}", ""),
        (
            "304 round: worker CPU s",
            lambda r: f"{r.rounds[1].worker_cpu:.2f}",
            "target <= 3 at 10,000",
        ),
        ("304 round: PostgreSQL CPU s", lambda r: f"{r.rounds[1].db_cpu:.2f}", ""),
        (
            "peak RSS per worker, MB",
            lambda r: " / ".join(f"{m:.0f}" for m in r.peak_rss),
            "target <= 200 at 1,000",
        ),
    ]
    heads = [r.label for r in runs]
    width = max(len(h) for h in heads) if heads else 10
    width = max(width, 12)
    lines = [f"{'measure':<32}" + "".join(f"  {h:>{width}}" for h in heads) + "  notes"]
    lines.append("-" * len(lines[0]) + "-" * 24)
    for label, pick, note in rows:
        values = [col(r, pick) for r in runs]
        lines.append(f"{label:<32}" + "".join(f"  {v:>{width}}" for v in values) + f"  {note}")
    for s in searches:
        ms = [t * 1000 for t in s.times]
        lines.append(
            f"search on {s.engine}: p50 / p95 {pct(ms, 50):.1f} / {pct(ms, 95):.1f} ms,"
            f" max {max(ms, default=0):.1f} ms; {len(ms)} queries over {s.stories:,} stories,"
            f" mean hits {statistics.mean(s.hits) if s.hits else 0:.1f}; target p95 <= 25 ms"
        )
    return "\n".join(lines)


# ------------------------------------------------------------------ main


async def run(args: argparse.Namespace) -> dict:
    task = asyncio.current_task()
    assert task is not None
    asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, task.cancel)
    engines = set(args.engines.split(","))
    workers = [int(w) for w in args.workers.split(",") if w]
    runs: list[RunFigures] = []
    searches: list[SearchFigures] = []
    profile_text = ""
    farm_size = max(args.sources, args.profile_sources if args.profile else 0)
    say(f"starting the feed farm: {farm_size} feeds x {args.items} items (seed {args.seed})")
    farm = FeedFarm(farm_size, args.items, args.seed)
    pg: PgServer | None = None
    with tempfile.TemporaryDirectory(prefix="briefbot-scale-") as tmp_name:
        tmp = Path(tmp_name)
        try:
            if "pg" in engines:
                pg = PgServer().start()
                say(f"PostgreSQL on 127.0.0.1:{pg.port} (pid {pg.pid}), fsync off")
                last_url = ""
                for n in workers:
                    fig, last_url = await run_postgres(pg, farm, n, args, tmp)
                    runs.append(fig)
                    print("\n" + figure_table(runs, [], args.items) + "\n", flush=True)
                if last_url and args.queries:
                    searches.append(await measure_search(last_url, "postgresql", args, tmp))
            if "sqlite" in engines:
                fig, path = await run_sqlite(farm, args, tmp)
                runs.append(fig)
                if args.queries:
                    searches.append(await measure_search(path, "sqlite", args, tmp))
            if args.profile:
                if pg is None:
                    pg = PgServer().start()
                fig, _ = await run_postgres(
                    pg, farm, 1, args, tmp,
                    sources=args.profile_sources, profile=args.profile, rounds=1,
                )  # fmt: skip
                first = fig.rounds[0]
                profile_text = profile_table(args.profile, first.new_stories, first.worker_cpu)
        finally:
            farm.stop()
            if pg is not None:
                pg.stop()
    print("\n" + figure_table(runs, searches, args.items))
    if profile_text:
        print("\n" + profile_text)
    return {"runs": [asdict(r) for r in runs], "searches": [asdict(s) for s in searches]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sources", type=int, default=10_000)
    parser.add_argument("--items", type=int, default=ITEMS, help="items per feed")
    parser.add_argument("--workers", default="1,2,4", help="worker counts to run on PostgreSQL")
    parser.add_argument("--engines", default="pg,sqlite", help="pg, sqlite or both")
    parser.add_argument("--batch", type=int, default=32, help="[worker] batch")
    parser.add_argument("--idle", type=float, default=0.5, help="[worker] idle_seconds")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--search-stories", type=int, default=100_000)
    parser.add_argument("--queries", type=int, default=200, help="0: no search figures")
    parser.add_argument(
        "--profile", metavar="PATH", help="also profile one worker's first round (pstats to PATH)"
    )
    parser.add_argument("--profile-sources", type=int, default=1000)
    parser.add_argument("--json", metavar="PATH", help="also write the figures as JSON")
    args = parser.parse_args()
    try:
        figures = asyncio.run(run(args))
    except (KeyboardInterrupt, asyncio.CancelledError):
        print("interrupted; every process the bench started is stopped", file=sys.stderr)
        sys.exit(130)
    if args.json:
        Path(args.json).write_text(json.dumps(figures, indent=1))


if __name__ == "__main__":
    main()
