"""A full disk under a running bot: the poll says so once, the bot keeps serving, and polling
resumes by itself when space returns.

The database lives on a small tmpfs that a filler file fills up (as root, where ``mount`` is
allowed); elsewhere SQLite's ``max_page_count`` caps the file at its current size, which
SQLite reports the same way (SQLITE_FULL, "database or disk is full").
"""

from __future__ import annotations

import contextlib
import logging
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.e2e.conftest import FEED_PATH, REGULATION, Item, make_config, rss, start, started_standin
from tests.feedserver import FeedServer

TMPFS_SIZE = "6m"


def many_items(n: int, tag: str) -> list[Item]:
    """Fresh stories with long bodies, more than any leftover room in the database's files."""
    body = " ".join(
        f"Paragraph {k} of the report on regulation {tag} and its effects." * 4 for k in range(40)
    )
    return [
        Item(f"Regulators publish report {tag} {i}", body, f"https://news.test/{tag}/{i}", 1 + i)
        for i in range(n)
    ]


@contextlib.contextmanager
def small_disk(path: Path, how: str) -> Iterator[bool]:
    """A tmpfs of TMPFS_SIZE at ``path`` (True), or a plain folder (False)."""
    path.mkdir()
    mounted = how == "tmpfs" and (
        subprocess.run(
            ["mount", "-t", "tmpfs", "-o", f"size={TMPFS_SIZE}", "tmpfs", str(path)],
            capture_output=True,
            check=False,
        ).returncode
        == 0
    )
    try:
        yield mounted
    finally:
        if mounted:
            subprocess.run(["umount", "-l", str(path)], check=False)


def fill(folder: Path) -> Path:
    """Write a file until the disk is full."""
    filler = folder / "filler"
    chunk = b"\0" * 65536
    with filler.open("wb") as out:
        try:
            while True:
                out.write(chunk)
                out.flush()
        except OSError:
            pass
    return filler


@pytest.mark.parametrize("how", ["tmpfs", "page-cap"])
async def test_disk_full_the_poll_says_so_the_bot_serves_and_polling_resumes(
    tmp_path, caplog, how
) -> None:
    caplog.set_level(logging.INFO)
    with small_disk(tmp_path / "disk", how) as mounted:
        if how == "tmpfs" and not mounted:
            pytest.skip("cannot mount a tmpfs here (not root?); the page-cap case covers it")
        async with FeedServer() as feeds, started_standin() as standin:
            feeds.add(FEED_PATH, rss(REGULATION), content_type="application/rss+xml")
            config = make_config(
                tmp_path / "disk",
                standin,
                feeds.url(FEED_PATH),
                log_channel_id=standin.channel("general"),
            )
            async with start(config, standin) as bot:
                await bot.service.poll(due_only=False)  # the first poll's backlog
                db = bot.service.store.db
                before = await db.fetchval("SELECT count(*) FROM stories")
                await db.execute("UPDATE sources SET next_poll = 0")  # due again
                filler = None
                if mounted:
                    filler = fill(tmp_path / "disk")
                else:
                    pages = await db.fetchval("PRAGMA page_count")
                    await db.execute(f"PRAGMA max_page_count = {pages}")

                feeds.add(
                    FEED_PATH,
                    rss([*many_items(40, "full"), *REGULATION]),
                    content_type="application/rss+xml",
                )
                await bot.jobs.poll()
                await bot.jobs.poll()  # a second failed poll is not announced again

                log_text = caplog.text
                assert "poll failed" in log_text and "the disk is full" in log_text
                assert "Traceback" not in log_text
                notices = [
                    m["content"]
                    for m in standin.messages.get(standin.channel("general"), [])
                    if "Polling" in (m.get("content") or "")
                ]
                assert len(notices) == 1 and "the disk is full" in notices[0], notices
                assert await db.fetchval("SELECT count(*) FROM stories") == before

                # the bot still answers commands while its disk is full
                record = await standin.send_interaction(
                    None, None, None, "search", {"query": "AI Act"}
                )
                answer = await standin.wait_for_response(record, timeout=10)
                assert "AI Act" in str(answer)

                # space returns: the next poll stores the stories it could not before
                if filler is not None:
                    filler.unlink()
                else:
                    await db.execute("PRAGMA max_page_count = 1073741823")
                await db.execute("UPDATE sources SET next_poll = 0")
                await bot.jobs.poll()
                after = await db.fetchval("SELECT count(*) FROM stories")
                assert after == before + 40
                notices = [
                    m["content"]
                    for m in standin.messages.get(standin.channel("general"), [])
                    if "Polling" in (m.get("content") or "")
                ]
                assert len(notices) == 2 and "resumed" in notices[1], notices
                ok = await db.fetchval("PRAGMA integrity_check")
                assert ok == "ok"
            assert standin.violations == []
