"""`briefbot worker` processes on one PostgreSQL database, run as an admin runs them.

Three real worker processes poll a loopback feed farm; one is killed with -9 while it holds
sources. Every source is still polled, every story stored once, and the dead worker's leases
are taken over when they run out. Then SIGTERM stops the others cleanly.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from bot.news.store import GLOBAL, Store
from tests.news.feeds import item, rss

ROOT = Path(__file__).resolve().parents[1]
SOURCES = 24
ITEMS = 5
LEASE_S = 3


def worker_config(tmp_path: Path, url: str) -> Path:
    path = tmp_path / "config.toml"
    path.write_text(
        "default_sources = false\n"
        f'[storage]\nurl = "{url}"\n'
        f"[worker]\nlease_seconds = {LEASE_S}\nbatch = 4\nidle_seconds = 0.3\n"
        '[fetch]\nallowed_hosts = ["127.0.0.1"]\ntimeout_s = 10.0\n'
        "[taxonomy]\nembeddings = false\n"
    )
    return path


async def start_worker(config: Path) -> asyncio.subprocess.Process:
    env = {**os.environ, "PYTHONPATH": str(ROOT), "NO_COLOR": "1"}
    env.pop("BRIEFBOT_CONFIG", None)
    env.pop("BRIEFBOT_DATABASE_URL", None)
    return await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bot",
        "--config",
        str(config),
        "worker",
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        env=env,
        cwd=str(config.parent),
    )


async def until(check, *, limit: float, what: str) -> None:
    deadline = time.monotonic() + limit
    while not await check():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(0.2)


def farm(feed_server, n: int, *, delay: float) -> list[str]:
    """n feeds of ITEMS stories each, every link its own; each answer takes ``delay``."""
    urls = []
    for f in range(n):
        items = [
            item(f * 100 + i, link=f"https://farm.example/{f}/{i}", guid=f"farm-{f}-{i}")
            for i in range(ITEMS)
        ]
        feed_server.add(f"/feed{f}.xml", rss(items, title=f"Farm {f}"), delay=delay)
        urls.append(feed_server.url(f"/feed{f}.xml"))
    return urls


async def add_sources(url: str, feeds: list[str]) -> None:
    store = await Store.open(url)
    try:
        now = datetime.now(UTC)
        for n, feed in enumerate(feeds):
            await store.sources.add(
                url=feed,
                name=f"Farm {n}",
                interval=timedelta(minutes=30),
                backfill=0,
                full_text=False,
                scope=GLOBAL,
                now=now,
            )
    finally:
        await store.close()


@pytest.mark.timeout(90)
async def test_three_workers_one_killed_every_source_polled_every_story_once(
    tmp_path, pg_url, feed_server
) -> None:
    feeds = farm(feed_server, SOURCES, delay=1.0)
    await add_sources(pg_url, feeds)
    config = worker_config(tmp_path, pg_url)
    workers = [await start_worker(config) for _ in range(3)]
    store = await Store.open(pg_url)
    try:
        victim = workers[0]
        tag = f":{victim.pid}:"

        async def victim_holds() -> bool:
            rows = await store.db.fetch(
                "SELECT id FROM sources WHERE lease_owner LIKE ?", (f"%{tag}%",)
            )
            return bool(rows)

        await until(victim_holds, limit=30, what="the first worker to claim sources")
        held = {
            r[0]
            for r in await store.db.fetch(
                "SELECT id FROM sources WHERE lease_owner LIKE ?", (f"%{tag}%",)
            )
        }
        victim.kill()  # -9: no chance to give anything back
        await victim.wait()

        async def all_polled() -> bool:
            left = await store.db.fetchval(
                "SELECT count(*) FROM sources WHERE last_success IS NULL"
            )
            return left == 0

        await until(all_polled, limit=60, what="every source to be polled")

        # the dead worker's sources were taken over, by the others, once its leases ran out
        sources = {s.id: s for s in await store.sources.list()}
        assert held and all(sources[i].last_success is not None for i in held)
        assert not await victim_holds()  # its claims ended with the polls that took them over
        # every story once: one row per link, every feed credited with all of its items
        assert await store.stories.count() == SOURCES * ITEMS
        dupes = await store.db.fetchval(
            "SELECT count(*) FROM (SELECT url FROM stories GROUP BY url HAVING count(*) > 1) d"
        )
        assert dupes == 0
        assert all(s.story_count == ITEMS for s in sources.values())
        # no feed was fetched twice in the round while a lease held it, except the ones
        # the dead worker had in hand (fetched again after its lease ran out)
        for n, _feed in enumerate(feeds):
            assert feed_server.hits(f"/feed{n}.xml") <= 2
    finally:
        for proc in workers[1:]:
            with contextlib.suppress(ProcessLookupError):
                proc.send_signal(signal.SIGTERM)
        outcomes = []
        for proc in workers[1:]:
            try:
                _out, err = await asyncio.wait_for(proc.communicate(), 20)
                outcomes.append((proc.returncode, err.decode()))
            except TimeoutError:
                proc.kill()
                outcomes.append((None, "did not stop on SIGTERM"))
        await store.close()
    for code, err in outcomes:
        assert code == 0, err
        assert "stopped after" in err and "Traceback" not in err


async def test_a_stopped_worker_gives_back_what_it_holds(tmp_path, pg_url, feed_server) -> None:
    """SIGTERM mid-round: the round finishes, nothing stays leased, the worker exits 0."""
    feeds = farm(feed_server, 4, delay=2.0)
    await add_sources(pg_url, feeds)
    proc = await start_worker(worker_config(tmp_path, pg_url))
    store = await Store.open(pg_url)
    try:

        async def holds() -> bool:
            n = await store.db.fetchval(
                "SELECT count(*) FROM sources WHERE lease_owner IS NOT NULL"
            )
            return n > 0

        await until(holds, limit=30, what="the worker to claim sources")
        proc.send_signal(signal.SIGTERM)
        _out, err = await asyncio.wait_for(proc.communicate(), 30)
        assert proc.returncode == 0, err.decode()
        assert (
            await store.db.fetchval("SELECT count(*) FROM sources WHERE lease_owner IS NOT NULL")
            == 0
        )
        # the round in hand was finished, not dropped
        assert (
            await store.db.fetchval("SELECT count(*) FROM sources WHERE last_success IS NULL") == 0
        )
    finally:
        with contextlib.suppress(ProcessLookupError):
            proc.kill()
        await store.close()


async def test_a_worker_rides_out_the_database_going_away_mid_round(
    tmp_path, pg_url, feed_server, caplog
) -> None:
    """The server vanishes while a round is being fetched and stored: the worker says so,
    retries with backoff, and once it is back every source is polled and nothing doubled."""
    from urllib.parse import urlsplit, urlunsplit

    from bot.config import load_config
    from bot.news.service import NewsService
    from bot.news.worker import Worker
    from tests.tcpproxy import TcpProxy

    feeds = farm(feed_server, 12, delay=0.5)
    await add_sources(pg_url, feeds)
    target = urlsplit(pg_url)
    async with TcpProxy(target.hostname, target.port) as proxy:
        netloc = f"{target.username}:{target.password}@127.0.0.1:{proxy.port}"
        via_proxy = urlunsplit((target.scheme, netloc, target.path, "", ""))
        config = load_config(
            {
                "default_sources": False,
                "storage": {"url": via_proxy},
                "fetch": {"allowed_hosts": ["127.0.0.1"], "timeout_s": 5.0},
                "taxonomy": {"embeddings": False},
            }
        )
        service = await NewsService.open(config)
        worker = Worker(service, lease=timedelta(seconds=2), batch=4, idle=0.2)
        task = asyncio.create_task(worker.run())
        store = await Store.open(pg_url)  # the test's own view, not through the proxy
        try:

            async def claimed() -> bool:
                n = await store.db.fetchval(
                    "SELECT count(*) FROM sources WHERE lease_owner IS NOT NULL"
                )
                return n > 0

            await until(claimed, limit=20, what="the first claim")
            proxy.cut()
            await asyncio.sleep(3)
            proxy.restore()

            async def all_polled() -> bool:
                n = await store.db.fetchval(
                    "SELECT count(*) FROM sources WHERE last_success IS NULL"
                )
                return n == 0

            await until(all_polled, limit=60, what="every source after the outage")
            assert await store.stories.count() == 12 * ITEMS
            assert "the database is unreachable" in caplog.text
        finally:
            worker.stop()
            await asyncio.wait_for(task, 30)
            await service.close()
            await store.close()
