"""Moving from SQLite to PostgreSQL (``briefbot migrate-to``): nothing lost, nothing reused."""

from __future__ import annotations

import sqlite3
import subprocess
import sys
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

import pytest

from bot.news.errors import StoreError
from bot.news.service import NewsService
from bot.news.store import GLOBAL, Store
from bot.news.store import db as store_db
from bot.news.store.copy import TABLES, migrate_to
from tests.news.conftest import make_config
from tests.news.feeds import item, rss
from tests.news.feeds import item as feed_item


@dataclass
class Filled:
    """A SQLite database that the real service filled, and what is in it."""

    path: Path
    feed_url: str
    counts: dict[str, int]
    top_story_id: int


async def _counts(store: Store) -> dict[str, int]:
    return {t: await store.db.fetchval(f"SELECT count(*) FROM {t}") for t in TABLES}


@pytest.fixture
async def filled(tmp_path, feed_server, clock) -> Filled:
    """Two sources polled twice, a subscription, a delivery sent, a meta key, an LLM cache row,
    a topic correction, a cached article text, a server's notices setting and an incident
    it was told."""
    path = tmp_path / "briefbot.sqlite3"

    def item(n: int, **kw):  # text the tagger files under topics, so story_topics fills too
        return feed_item(
            n, topic_text="EU regulators fining a chatbot maker under the AI Act", **kw
        )

    feed_server.add("/a.xml", rss([item(n) for n in range(1, 8)], title="Outlet A"))
    feed_server.add(
        "/b.xml",
        rss(
            [item(n, link=f"https://other.example/{n}", guid=f"b{n}") for n in (20, 21)]
            + [item(1, guid="b-dup")],  # the same story as Outlet A's first: one cluster
            title="Outlet B",
        ),
    )
    service = await NewsService.open(
        make_config(tmp_path, storage={"path": str(path)}), clock=clock
    )
    try:
        await service.add_source(feed_server.url("/a.xml"))
        await service.add_source(feed_server.url("/b.xml"))
        feed_server.add("/a.xml", rss([item(n) for n in range(0, 8)], title="Outlet A"))
        clock.advance(timedelta(hours=1))
        await service.poll(due_only=False)
        sub = await service.subscribe(scope=GLOBAL, channel_id=42, schedule="daily 08:00")
        stories = await service.stories(since=timedelta(days=30), limit=100)
        outbox = service.store.outbox
        delivery = await outbox.enqueue(
            subscription_id=sub.id,
            target="channel:42",
            cluster_ids=[s.cluster_id or s.id for s in stories[:3]],
            payloads=[{"content": "digest part 1"}, {"content": "digest part 2"}],
            now=clock(),
        )
        assert delivery is not None
        await outbox.part_sent(delivery.id, 0, "1001")
        await outbox.part_sent(delivery.id, 1, "1002")
        await outbox.delivered(delivery, clock())
        await outbox.set_meta("digest_note", "moved from SQLite")
        await outbox.llm_store("model:abc", '{"lead": "x"}', clock())
        await service.retag_story(stories[0].id, ["safety"], scope="guild:7")
        await service.store.articles.put_many({"https://news.example/a": "Article."}, clock())
        await service.set_notices("guild:7", channel_id=43)  # a server told of an incident
        await service.store.notices.tell(
            ("guild:7", "source_failing", 1, 0),
            closes=False,
            target="channel:43",
            payloads=[{"content": "Source failing"}],
            run_key="notice:guild:7:source_failing:1:0",
            now=clock(),
        )
        # a story still waiting for the clusterer moves over waiting
        await service.store.db.execute(
            "INSERT INTO cluster_waiting (story_id) VALUES (?)", (stories[-1].id,)
        )
        counts = await _counts(service.store)
        top = await service.store.db.fetchval("SELECT max(id) FROM stories")
    finally:
        await service.close()
    # every table has rows, so "equal counts" below means something
    assert all(counts.values()), counts
    return Filled(path, feed_server.url("/a.xml"), counts, top)


async def _open(tmp_path, clock, storage: dict) -> NewsService:
    return await NewsService.open(make_config(tmp_path, storage=storage), clock=clock, sync=False)


async def test_every_table_arrives_with_the_same_counts(filled, pg_url) -> None:
    seen: list[tuple[str, int, int]] = []
    report = await migrate_to(filled.path, pg_url, progress=lambda *a: seen.append(a))
    assert report.mismatched == []
    assert {t.table: t.target for t in report.tables} == filled.counts
    assert seen[-1][1:] == (sum(filled.counts.values()),) * 2  # the bar ends full
    assert report.changed == ()
    target = await Store.open(pg_url)
    try:
        assert await _counts(target) == filled.counts
        assert await target.outbox.get_meta("digest_note") == "moved from SQLite"
        assert await target.outbox.llm_cached("model:abc") == '{"lead": "x"}'
        [sub] = await target.outbox.subscriptions()
        assert sub.channel_id == 42
    finally:
        await target.close()


async def test_search_and_digest_find_the_same_stories_after_the_move(
    filled, pg_url, tmp_path, clock
) -> None:
    await migrate_to(filled.path, pg_url)
    before = await _open(tmp_path, clock, {"path": str(filled.path)})
    after = await _open(tmp_path, clock, {"url": pg_url})
    try:
        for query in ("story number", "detail number 3", "lead sentence"):
            found = [(s.id, s.url) for s in await before.search(query, limit=50)]
            assert found, query
            assert sorted(found) == sorted(
                (s.id, s.url) for s in await after.search(query, limit=50)
            )
        old = await before.stories(since=timedelta(days=30), limit=100)
        new = await after.stories(since=timedelta(days=30), limit=100)
        assert [(s.id, s.title, s.cluster_size) for s in new] == [
            (s.id, s.title, s.cluster_size) for s in old
        ]
        # what channel 42 was sent stays sent: the next digest for it is the same on both
        sent = set(await before.store.db.fetch("SELECT cluster_id FROM posted"))
        digests = [
            await service.digest(
                since=timedelta(days=30), exclude_posted_to="channel:42", widen=False, limit=50
            )
            for service in (before, after)
        ]
        assert [s.id for s in digests[0].stories] == [s.id for s in digests[1].stories]
        assert sent and not {(s.cluster_id,) for s in digests[1].stories} & sent
    finally:
        await before.close()
        await after.close()


async def test_a_poll_after_the_move_stores_new_stories_with_fresh_ids(
    filled, pg_url, tmp_path, clock, feed_server
) -> None:
    await migrate_to(filled.path, pg_url)
    fresh = [item(n, title=f"Glacier survey finds record melt, part {n}") for n in (100, 101)]
    feed_server.add("/a.xml", rss(fresh + [item(n) for n in range(0, 8)], title="Outlet A"))
    after = await _open(tmp_path, clock, {"url": pg_url})
    try:
        clock.advance(timedelta(hours=2))
        report = await after.poll(due_only=False)
        assert report.new_stories == 2
        assert report.failed == 0
        found = await after.search("glacier melt")
        assert sorted(s.url for s in found) == [
            "https://news.example/story/100",
            "https://news.example/story/101",
        ]
        assert all(s.id > filled.top_story_id for s in found)  # the sequence moved past old ids
        sub = await after.subscribe(scope=GLOBAL, channel_id=43)
        assert sub.id == 2  # the copied subscription kept id 1
    finally:
        await after.close()


async def test_a_database_that_holds_data_is_refused_and_left_alone(filled, pg_url) -> None:
    await migrate_to(filled.path, pg_url)
    with pytest.raises(StoreError, match="is not empty") as caught:
        await migrate_to(filled.path, pg_url)
    assert "stories" in str(caught.value)
    target = await Store.open(pg_url)
    try:
        assert await _counts(target) == filled.counts  # not doubled, not emptied
    finally:
        await target.close()


async def test_a_wrong_password_is_one_sentence_without_the_password(filled, pg_url) -> None:
    user, rest = pg_url.split("://", 1)[1].split("@", 1)
    name, password = user.split(":", 1)
    wrong = f"postgresql://{name}:not-{password}@{rest}"
    with pytest.raises(StoreError, match="refused the password") as caught:
        await migrate_to(filled.path, wrong)
    assert password not in str(caught.value)
    assert "***" in str(caught.value)


async def test_the_password_may_come_from_the_environment_setting(filled, pg_url) -> None:
    user, rest = pg_url.split("://", 1)[1].split("@", 1)
    name, password = user.split(":", 1)
    report = await migrate_to(filled.path, f"postgresql://{name}@{rest}", password=password)
    assert report.mismatched == []


async def test_a_newer_schema_on_the_target_is_refused(filled, pg_url) -> None:
    target = await Store.open(pg_url)
    try:
        await target.db.execute("INSERT INTO briefbot_schema (version) VALUES (99)")
    finally:
        await target.close()
    with pytest.raises(StoreError, match="newer briefbot"):
        await migrate_to(filled.path, pg_url)


async def test_bad_input_gets_a_sentence(tmp_path, filled, pg_url, monkeypatch) -> None:
    with pytest.raises(StoreError, match="is not a PostgreSQL URL"):
        await migrate_to(filled.path, "mysql://root:hunter2@localhost/x")
    with pytest.raises(StoreError, match="no SQLite database at"):
        await migrate_to(tmp_path / "missing.sqlite3", pg_url)
    assert not (tmp_path / "missing.sqlite3").exists()  # and none was created
    monkeypatch.setattr(store_db, "CONNECT_ATTEMPTS", 1)
    with pytest.raises(StoreError, match="cannot connect to PostgreSQL") as caught:
        await migrate_to(filled.path, "postgresql://u:hunter2@127.0.0.1:1/briefbot")
    assert "hunter2" not in str(caught.value)


async def test_the_copy_knows_every_table_and_copies_parents_first(pg_url) -> None:
    # a migration that adds a table must add it to TABLES, or its rows would be left behind
    target = await Store.open(pg_url)
    try:
        names = await target.db.fetch(
            "SELECT table_name FROM information_schema.tables"
            " WHERE table_schema = current_schema() AND table_name <> 'briefbot_schema'"
        )
        links = await target.db.fetch(
            "SELECT DISTINCT child.relname, parent.relname FROM pg_constraint c"
            " JOIN pg_class child ON child.oid = c.conrelid"
            " JOIN pg_class parent ON parent.oid = c.confrelid WHERE c.contype = 'f'"
        )
    finally:
        await target.close()
    assert sorted(TABLES) == sorted(r[0] for r in names)
    for child, parent in links:
        assert TABLES.index(parent) < TABLES.index(child), (child, parent)


async def test_a_bot_still_writing_during_the_copy_is_noticed(filled, pg_url) -> None:
    def write_meanwhile(table: str, done: int, total: int) -> None:
        if table == "stories":  # another process writes while we copy
            other = sqlite3.connect(filled.path)
            with other:
                other.execute("INSERT OR REPLACE INTO meta (key, value) VALUES ('heartbeat', '1')")
            other.close()

    report = await migrate_to(filled.path, pg_url, progress=write_meanwhile)
    assert report.changed == ("meta",)
    assert report.mismatched == []  # the copy itself is one consistent snapshot


def test_the_copy_is_core_and_imports_nothing_of_discord() -> None:
    root = Path(__file__).resolve().parents[2]
    code = "import sys, bot.news.store.copy; print('discord' in sys.modules)"
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=root
    )
    assert out.stdout.strip() == "False"


async def test_a_column_missing_from_the_sqlite_file_takes_its_default(filled, pg_url) -> None:
    # a file written before a column was added to an already-numbered migration
    other = sqlite3.connect(filled.path)
    other.execute("ALTER TABLE subscriptions DROP COLUMN filters")
    other.close()
    report = await migrate_to(filled.path, pg_url)
    assert report.mismatched == []
    target = await Store.open(pg_url)
    try:
        assert await target.db.fetchval("SELECT filters FROM subscriptions") == "{}"
    finally:
        await target.close()


async def test_a_column_postgresql_lacks_stops_the_copy_before_anything_is_lost(
    filled, pg_url
) -> None:
    other = sqlite3.connect(filled.path)
    other.execute("ALTER TABLE stories ADD COLUMN mood TEXT")
    other.close()
    with pytest.raises(StoreError, match=r"stories .* lacks \(mood\)"):
        await migrate_to(filled.path, pg_url)
    target = await Store.open(pg_url)
    try:
        assert await target.db.fetchval("SELECT count(*) FROM sources") == 0  # rolled back
    finally:
        await target.close()
