"""Crashes and restarts, with real `briefbot` processes: kill -9 mid-poll, mid-delivery and
mid-migration, then start again; a damaged or read-only database at start.

Each case asserts what an admin or a channel notices: the database opens again, every story is
there once, a digest arrives once, and a file that cannot be used gets one sentence and a
non-zero exit, not a traceback.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from bot.news.store import GLOBAL, Store
from bot.news.store.dialect import SQLITE
from bot.news.store.migrations import MIGRATIONS, SCHEMA_VERSION, script
from tests.discord_standin import DiscordStandIn
from tests.e2e.conftest import REGULATION, Item, text_of
from tests.e2e.conftest import rss as dated_rss
from tests.feedserver import FeedServer
from tests.news.feeds import item, rss

ROOT = Path(__file__).resolve().parents[2]
CREATE = "POST /channels/{channel_id}/messages"


# ------------------------------------------------------------------ processes


def write_config(tmp_path: Path, db: Path, extra: str = "") -> Path:
    path = tmp_path / "config.toml"
    path.write_text(
        "default_sources = false\n"
        f'[storage]\npath = "{db}"\n'
        '[fetch]\nallowed_hosts = ["127.0.0.1"]\ntimeout_s = 10.0\n'
        "[taxonomy]\nembeddings = false\n" + extra
    )
    return path


def _env(**extra: str) -> dict[str, str]:
    env = {**os.environ, "PYTHONPATH": str(ROOT), "NO_COLOR": "1", **extra}
    for name in ("BRIEFBOT_CONFIG", "BRIEFBOT_DATABASE_URL"):
        env.pop(name, None)
    return env


async def spawn(config: Path, *args: str, **env: str) -> asyncio.subprocess.Process:
    return await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bot",
        "--config",
        str(config),
        *args,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        env=_env(**env),
        cwd=str(config.parent),
    )


async def run_cli(config: Path, *args: str, limit_s: float = 60, **env: str):
    proc = await spawn(config, *args, **env)
    try:
        out, err = await asyncio.wait_for(proc.communicate(), limit_s)
    finally:
        await stop(proc)
    return proc.returncode, out.decode(), err.decode()


async def stop(proc: asyncio.subprocess.Process, sig: int = signal.SIGKILL) -> None:
    """Send ``sig`` if it still runs, and reap it."""
    if proc.returncode is None:
        with contextlib.suppress(ProcessLookupError):
            proc.send_signal(sig)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(proc.wait(), 15)
    if proc.returncode is None:  # SIGTERM ignored: make sure
        with contextlib.suppress(ProcessLookupError):
            proc.kill()
        await proc.wait()


@contextlib.asynccontextmanager
async def killed_at_end(proc: asyncio.subprocess.Process) -> AsyncIterator[None]:
    try:
        yield
    finally:
        await stop(proc)


async def until(check: Callable[[], Awaitable[bool] | bool], *, limit: float, what: str) -> None:
    deadline = time.monotonic() + limit
    while True:
        result = check()
        if asyncio.iscoroutine(result):
            result = await result
        if result:
            return
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(0.02)


def sql(db: Path, query: str, args: tuple = ()) -> list[tuple]:
    """A read from outside the bot, as an admin's sqlite3 shell would do it."""
    conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=10)
    try:
        return conn.execute(query, args).fetchall()
    finally:
        conn.close()


def one_sentence(err: str) -> str:
    """The start failure as an admin sees it: one short message, no traceback."""
    assert "Traceback" not in err, err
    lines = [line for line in err.strip().splitlines() if line.strip()]
    assert len(lines) == 1, err
    return lines[0]


# ------------------------------------------------------------------ kill -9 mid-poll

FEEDS = 12
OLD, NEW = 2, 3


def farm_items(f: int, n: int) -> list:
    return [
        item(f * 100 + i, link=f"https://farm.example/{f}/{i}", guid=f"farm-{f}-{i}")
        for i in range(n)
    ]


async def test_kill_9_mid_poll_then_again_every_story_once_none_announced_twice(
    tmp_path, feed_server
) -> None:
    db = tmp_path / "db.sqlite3"
    config = write_config(tmp_path, db)
    store = await Store.open(db)
    try:
        for f in range(FEEDS):
            feed_server.add(f"/feed{f}.xml", rss(farm_items(f, OLD), title=f"Farm {f}"))
            await store.sources.add(
                url=feed_server.url(f"/feed{f}.xml"),
                name=f"Farm {f}",
                interval=timedelta(minutes=30),
                backfill=0,
                full_text=False,
                scope=GLOBAL,
                now=datetime.now(UTC),
            )
    finally:
        await store.close()
    code, _out, err = await run_cli(config, "poll", "--all")  # the first poll: backlog
    assert code == 0, err

    # new stories, the feeds answering one after another over about three seconds
    for f in range(FEEDS):
        body = rss(farm_items(f, OLD + NEW), title=f"Farm {f}")
        feed_server.add(f"/feed{f}.xml", body, delay=0.25 * f)
    total = FEEDS * (OLD + NEW)

    def stored() -> int:
        return sql(db, "SELECT count(*) FROM stories")[0][0]

    poll = await spawn(config, "poll", "--all")
    async with killed_at_end(poll):
        await until(lambda: stored() > FEEDS * OLD, limit=30, what="the poll to store stories")
        poll.kill()
        await poll.wait()
    assert stored() < total, "the poll had finished before it was killed"

    assert sql(db, "PRAGMA integrity_check") == [("ok",)]
    code, out, err = await run_cli(config, "poll", "--all")
    assert code == 0, err
    assert "Polled" in out
    assert sql(db, "PRAGMA integrity_check") == [("ok",)]

    rows = sql(db, "SELECT guid, backlog FROM stories")
    guids = [g for g, _b in rows]
    assert len(guids) == len(set(guids)) == total  # every story there, once
    old = {f"farm-{f}-{i}" for f in range(FEEDS) for i in range(OLD)}
    # the first poll's backlog stays unannounced; every new story is announced (once: a
    # story has one row, and a channel's ledger keys it by its cluster)
    assert {g for g, b in rows if b} == old

    # a channel's digest lists each new story once
    from bot.config import read_config
    from bot.news.service import NewsService

    service = await NewsService.open(read_config(str(config)), sync=False)
    try:
        digest = await service.digest(since=timedelta(days=3650), limit=200, widen=False)
        links = [s.url for s in digest.stories]
        assert len(links) == len(set(links))
    finally:
        await service.close()


# ------------------------------------------------------------------ kill -9 mid-migration

OLD_STORIES = 300_000


def old_database(path: Path, stories: int) -> None:
    """A schema-5 database (before migration 6) holding ``stories`` stories."""
    conn = sqlite3.connect(path, isolation_level=None)
    try:
        conn.execute("PRAGMA journal_mode=WAL")
        for number, migration in enumerate(MIGRATIONS[:5], 1):
            conn.executescript(
                f"BEGIN;\n{script(migration, SQLITE)}\nPRAGMA user_version = {number};\nCOMMIT;"
            )
        conn.execute(
            "INSERT INTO sources (id, url, name, interval_s, created)"
            " VALUES (1, 'https://old.example/feed', 'Old', 1800, 0)"
        )
        conn.execute("BEGIN")
        conn.execute("DROP TRIGGER stories_fts_insert")  # the index is rebuilt in one go below
        conn.execute(
            "INSERT INTO stories (id, source_id, url, guid, title, published, first_seen,"
            " content_hash, cluster_id)"
            f" WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < {stories})"
            " SELECT i, 1, 'https://old.example/story/' || i, 'g' || i, 'Old story ' || i,"
            " 1700000000 + i, 1700000000 + i, 'h' || i, i FROM n"
        )
        conn.execute("INSERT INTO stories_fts(stories_fts) VALUES ('rebuild')")
        conn.execute(
            "CREATE TRIGGER stories_fts_insert AFTER INSERT ON stories BEGIN"
            " INSERT INTO stories_fts(rowid, title, text) VALUES (new.id, new.title, new.text);"
            " END"
        )
        conn.execute("COMMIT")
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    finally:
        conn.close()


async def test_kill_9_mid_migration_leaves_the_old_schema_and_the_next_start_migrates(
    tmp_path,
) -> None:
    db = tmp_path / "db.sqlite3"
    await asyncio.to_thread(old_database, db, OLD_STORIES)
    config = write_config(tmp_path, db)
    wal = Path(f"{db}-wal")

    for _attempt in range(3):  # the kill must land inside the migration's transaction
        proc = await spawn(config, "sources", "list")
        async with killed_at_end(proc):

            def migrating(proc: asyncio.subprocess.Process = proc) -> bool:
                if proc.returncode is not None:
                    return True
                return wal.exists() and wal.stat().st_size > 1_000_000

            await until(migrating, limit=60, what="the migration to start writing")
            proc.kill()
            await proc.wait()
        if sql(db, "PRAGMA user_version")[0][0] == 5:
            break
        # the migration committed before the kill: start over with a fresh old database
        for leftover in (db, wal, Path(f"{db}-shm")):
            leftover.unlink(missing_ok=True)
        await asyncio.to_thread(old_database, db, OLD_STORIES)
    else:
        pytest.fail("could not kill the migration before it committed")

    # nothing of the killed migration is visible: the old schema, every story, no new table
    assert sql(db, "PRAGMA integrity_check") == [("ok",)]
    assert sql(db, "PRAGMA user_version") == [(5,)]
    assert sql(db, "SELECT count(*) FROM stories") == [(OLD_STORIES,)]
    assert sql(db, "SELECT count(*) FROM sqlite_master WHERE name = 'story_urls'") == [(0,)]

    code, out, err = await run_cli(config, "sources", "list")
    assert code == 0, err
    assert "Old" in out
    assert sql(db, "PRAGMA user_version") == [(SCHEMA_VERSION,)]
    assert sql(db, "SELECT count(*) FROM stories") == [(OLD_STORIES,)]
    assert sql(db, "SELECT count(*) FROM story_urls") == [(OLD_STORIES,)]
    assert sql(db, "PRAGMA integrity_check") == [("ok",)]


# ------------------------------------------------------------------ kill -9 mid-delivery

FRESH = [
    Item(
        f"Parliament votes on AI regulation amendment {n}",
        f"Lawmakers voted on amendment {n} to the AI regulation. The change sets new duties "
        "for providers. It takes effect next year.",
        f"https://news.test/amendment-{n}",
        2 + n,
    )
    for n in range(3)
]


async def _digest_world(tmp_path: Path, standin: DiscordStandIn, feeds: FeedServer) -> Path:
    """A database with a subscription whose hourly digest fell due while the bot was down."""
    from bot.config import read_config
    from bot.news.service import NewsService

    db = tmp_path / "db.sqlite3"
    config = write_config(
        tmp_path,
        db,
        "[worker]\nlease_seconds = 1\n"
        f'[discord]\napi_base = "{standin.api_url}"\ngateway_url = "{standin.ws_url}"\n',
    )
    feeds.add("/news.xml", dated_rss(REGULATION), content_type="application/rss+xml")
    service = await NewsService.open(read_config(str(config)))
    try:
        await service.add_source(feeds.url("/news.xml"))  # its backlog is not announced
        sub = await service.subscribe(
            scope=f"guild:{standin.guild_id}",
            channel_id=standin.channel("news"),
            schedule="hourly",
        )
        feeds.add("/news.xml", dated_rss([*FRESH, *REGULATION]), content_type="application/rss+xml")
        report = await service.poll(due_only=False)
        assert report.new_stories == len(FRESH)
        # the last run was 70 minutes ago: the hourly run fell due while the bot was down
        ran = int((datetime.now(UTC) - timedelta(minutes=70)).timestamp())
        await service.store.db.execute(
            "UPDATE subscriptions SET last_run = ? WHERE id = ?", (ran, sub.id)
        )
    finally:
        await service.close()
    return config


@pytest.mark.parametrize("when", ["in flight", "made, answer lost"])
async def test_kill_9_mid_delivery_then_restart_the_missed_digest_arrives_once(
    tmp_path, when
) -> None:
    async with FeedServer() as feeds, DiscordStandIn() as standin:
        config = await _digest_world(tmp_path, standin, feeds)
        news = standin.channel("news")

        def shown() -> list[dict]:
            return standin.messages.get(news, [])

        if when == "in flight":
            fault = standin.hold_in_flight(CREATE)
        else:
            fault = standin.drop_after_create(CREATE)
        bot = await spawn(config, "run", DISCORD_TOKEN=standin.token)
        async with killed_at_end(bot):
            if when == "in flight":
                await until(lambda: fault.hits > 0, limit=30, what="the digest's first part")
            else:
                await until(lambda: bool(shown()), limit=30, what="the digest's first part")
            bot.kill()
            await bot.wait()
        fault.release()
        await asyncio.sleep(0.1)
        before = len(shown())
        assert before == (0 if when == "in flight" else 1)

        bot = await spawn(config, "run", DISCORD_TOKEN=standin.token)
        async with killed_at_end(bot):
            db = tmp_path / "db.sqlite3"

            def delivered() -> bool:
                if sql(db, "SELECT count(*) FROM deliveries WHERE status = 'pending'")[0][0]:
                    return False
                return all(any(i.title in text_of(m) for m in shown()) for i in FRESH)

            await until(delivered, limit=30, what="the digest after the restart")
            await asyncio.sleep(2)  # time for a second copy, were one coming
            bot.send_signal(signal.SIGTERM)
            _out, err = await asyncio.wait_for(bot.communicate(), 20)
        assert bot.returncode == 0, err.decode()[-2000:]

        messages = shown()
        for story in FRESH:
            assert sum(story.title in text_of(m) for m in messages) == 1, story.title
        assert len({m["nonce"] for m in messages}) == len(messages)  # no part twice
        assert standin.violations == []
        assert sql(db, "SELECT status, count(*) FROM deliveries GROUP BY status") == [("sent", 1)]


# ------------------------------------------------------------------ unusable files at start


def _damage(db: Path) -> None:
    """Garbage over every page but the first: the header still reads, the tables do not."""
    size = db.stat().st_size
    with db.open("r+b") as out:
        out.seek(4096)
        out.write(os.urandom(size - 4096))


async def _made_database(tmp_path: Path, feed_server) -> Path:
    db = tmp_path / "data" / "db.sqlite3"
    feed_server.add("/feed.xml", rss(farm_items(1, 3), title="Farm"))
    store = await Store.open(db)
    try:
        await store.sources.add(
            url=feed_server.url("/feed.xml"),
            name="Farm",
            interval=timedelta(minutes=30),
            backfill=0,
            full_text=False,
            scope=GLOBAL,
            now=datetime.now(UTC),
        )
        await store.db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    finally:
        await store.close()
    return db


async def _refused_at_start(config: Path) -> list[str]:
    """`sources list`, `poll` and `run` each exit 1 with one sentence."""
    runs = await asyncio.gather(
        run_cli(config, "sources", "list"),
        run_cli(config, "poll"),
        run_cli(config, "run", DISCORD_TOKEN="not.a.real.token"),
    )
    sentences = []
    for code, _out, err in runs:
        assert code == 1, err
        sentences.append(one_sentence(err))
    return sentences


@pytest.mark.parametrize("damage", ["not a database", "damaged pages"])
async def test_a_damaged_database_is_one_sentence_at_start(tmp_path, feed_server, damage) -> None:
    db = await _made_database(tmp_path, feed_server)
    if damage == "not a database":
        db.write_bytes(os.urandom(64 * 1024))
    else:
        _damage(db)
    config = write_config(tmp_path, db, '[discord]\napi_base = "http://127.0.0.1:9/api/v10"\n')
    for sentence in await _refused_at_start(config):
        assert str(db) in sentence and "not a usable briefbot database" in sentence
        assert "restore a backup" in sentence


@contextlib.contextmanager
def immutable(path: Path) -> Iterator[None]:
    """chattr +i: not even root may write it (chmod does not stop root)."""
    if subprocess.run(["chattr", "+i", str(path)], capture_output=True).returncode != 0:
        pytest.skip("chattr +i is not available here")
    try:
        yield
    finally:
        subprocess.run(["chattr", "-i", str(path)], check=False)


@contextlib.contextmanager
def read_only_mount(folder: Path) -> Iterator[None]:
    """The folder bind-mounted read-only on itself (root only)."""
    if subprocess.run(
        ["mount", "--bind", str(folder), str(folder)], capture_output=True
    ).returncode:
        pytest.skip("cannot bind-mount here (not root?)")
    try:
        remount = ["mount", "-o", "remount,ro,bind", str(folder)]
        if subprocess.run(remount, capture_output=True).returncode != 0:
            pytest.skip("cannot remount read-only here")
        yield
    finally:
        subprocess.run(["umount", "-l", str(folder)], check=False)


@pytest.mark.parametrize("what", ["file", "folder"])
async def test_a_read_only_database_is_one_sentence_at_start(tmp_path, feed_server, what) -> None:
    db = await _made_database(tmp_path, feed_server)
    config = write_config(tmp_path, db, '[discord]\napi_base = "http://127.0.0.1:9/api/v10"\n')
    guard = immutable(db) if what == "file" else read_only_mount(db.parent)
    with guard:
        sentences = await _refused_at_start(config)
    for sentence in sentences:
        assert "read-only" in sentence, sentence
        assert str(db if what == "file" else db.parent) in sentence
    # once writable again, it opens and holds what it held
    code, out, err = await run_cli(config, "sources", "list")
    assert code == 0, err
    assert "Farm" in out
