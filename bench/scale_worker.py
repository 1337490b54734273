"""One process of the scale benchmark (``bench/scale_bench.py`` starts it; not for hand use).

``python bench/scale_worker.py CONFIG.toml worker`` runs :class:`bot.news.worker.Worker` on the
config's store until SIGTERM, as ``briefbot worker`` does, except that host names resolve
through the benchmark's loopback resolver (``feed<i>.bench.test`` -> 127.0.0.1: one host per
feed, so the per-host limit applies as it would to real outlets).

``... CONFIG.toml poll`` is the embedded engine's way (``briefbot poll --all``): each line
``poll`` on standard input runs ``service.poll(due_only=False)`` in this process and answers
with one JSON line; ``quit`` (or the end of input) closes it.

Both print ``READY`` once the service is open. ``--profile PATH`` writes a cProfile of all
the work (event-loop thread, the poller's CPU thread and every ``asyncio.to_thread`` call,
each timed by its own thread's CPU clock) to PATH when the process stops.
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import json
import logging
import pstats
import resource
import signal
import sys
import time
import tomllib
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.poll_bench import LoopbackResolver  # noqa: E402
from bot.config import Config, load_config  # noqa: E402
from bot.news.fetch import Fetcher  # noqa: E402
from bot.news.service import NewsService, fetch_settings  # noqa: E402
from bot.news.worker import Worker  # noqa: E402


def cpu() -> float:
    use = resource.getrusage(resource.RUSAGE_SELF)
    return use.ru_utime + use.ru_stime


def emit(kind: str, **data: object) -> None:
    print(kind, json.dumps(data), flush=True)


class Profiler:
    """cProfile in every thread that does the service's work, merged at the end."""

    def __init__(self, service: NewsService) -> None:
        self.service = service
        self.main = cProfile.Profile(time.thread_time)
        self.others: list[cProfile.Profile] = []
        self.cpu_thread = cProfile.Profile(time.thread_time)
        self._saved = asyncio.to_thread

    def _profiled(self, func, /, *args, **kwargs):
        prof = cProfile.Profile(time.thread_time)
        prof.enable()
        try:
            return func(*args, **kwargs)
        finally:
            prof.disable()
            self.others.append(prof)

    def _start_thread(self) -> None:
        self.cpu_thread.enable()  # stays on for the life of the poller's one CPU thread

    def start(self) -> None:
        saved = self._saved

        async def to_thread(func, /, *args, **kwargs):
            return await saved(self._profiled, func, *args, **kwargs)

        asyncio.to_thread = to_thread  # type: ignore[assignment]
        poller = self.service.poller
        poller._cpu.shutdown()
        poller._cpu = ThreadPoolExecutor(
            max_workers=1, thread_name_prefix="briefbot-cpu", initializer=self._start_thread
        )
        self.main.enable()

    def stop(self, path: str) -> None:
        self.main.disable()
        poller = self.service.poller
        poller._cpu.submit(self.cpu_thread.disable).result()
        asyncio.to_thread = self._saved  # type: ignore[assignment]
        stats = pstats.Stats(self.main)
        stats.add(self.cpu_thread)
        for prof in self.others:
            stats.add(prof)
        stats.dump_stats(path)


async def open_service(config: Config) -> NewsService:
    session = Fetcher.make_session(fetch_settings(config), resolver=LoopbackResolver())
    try:
        service = await NewsService.open(config, session=session, sync=False)
    except BaseException:
        await session.close()
        raise
    service._bench_session = session  # type: ignore[attr-defined]  # closed in close()
    return service


async def close(service: NewsService) -> None:
    await service.close()
    await service._bench_session.close()  # type: ignore[attr-defined]


async def run_worker(service: NewsService, profile: str | None) -> None:
    worker = Worker.from_config(service)
    loop = asyncio.get_running_loop()
    loop.add_signal_handler(signal.SIGTERM, worker.stop)
    loop.add_signal_handler(signal.SIGINT, worker.stop)
    profiler = Profiler(service) if profile else None
    if profiler:
        profiler.start()
    emit("READY", name=worker.name)
    await worker.run()
    if profiler and profile:
        profiler.stop(profile)
    emit("DONE", rounds=worker.rounds, cpu=cpu())


async def run_polls(service: NewsService, profile: str | None) -> None:
    loop = asyncio.get_running_loop()
    profiler = Profiler(service) if profile else None
    if profiler:
        profiler.start()
    emit("READY")
    total = await service.store.db.fetchval("SELECT count(*) FROM sources")
    step = max(1, total // 10)

    def progress(done: int, count: int, source, error: str | None) -> None:
        if done % step == 0 or done == count:
            emit("PROGRESS", done=done, count=count)

    while True:
        line = await loop.run_in_executor(None, sys.stdin.readline)
        if line.strip() != "poll":
            break
        wall, cpu0 = time.perf_counter(), cpu()
        report = await service.poll(due_only=False, progress=progress)
        emit(
            "POLLED",
            wall=time.perf_counter() - wall,
            cpu=cpu() - cpu0,
            new=report.new_stories,
            failed=report.failed,
            not_modified=report.not_modified,
        )
    if profiler and profile:
        profiler.stop(profile)


async def main_async(args: argparse.Namespace, config: Config) -> None:
    service = await open_service(config)
    try:
        if args.mode == "worker":
            await run_worker(service, args.profile)
        else:
            await run_polls(service, args.profile)
    finally:
        await close(service)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("config", help="a TOML config file")
    parser.add_argument("mode", choices=("worker", "poll"))
    parser.add_argument("--profile", metavar="PATH", help="write a pstats dump here at the end")
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING, format="%(name)s: %(message)s")
    config = load_config(tomllib.loads(Path(args.config).read_text()), origin=args.config)
    asyncio.run(main_async(args, config))


if __name__ == "__main__":
    main()
