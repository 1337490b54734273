"""What the fixed stack costs before briefbot does anything of its own.

    python bench/floor_bench.py --feeds 1000

The issue asks for >= 5,500 stories per CPU-second on a first poll of 1000 synthetic
feeds (180 µs a story, everything included) and a peak RSS <= 100 MB. This measures
the floor under those figures: the pieces any Python bot on the fixed stack (aiohttp,
a feed parser, SQLite with FTS5, wordllama for topics) must run for each story, each
stripped to its bare minimum, on the same feeds as bench/poll_bench.py:

1. fetch: an aiohttp GET of every feed from the loopback server, body read, nothing
   else (no guard, no limits, no policy);
2. parse: fastfeedparser (the fastest parser allowed; lxml in C) on each body;
3. store: one INSERT per story into a bare table, in transactions of 1,600 rows,
   with and without an FTS5 index on title and text kept by a trigger;
4. memory: resident size after importing the fixed libraries and loading the
   embedding model, before a single story.

Nothing here cleans, condenses, tags, clusters or checks identity: what it prints is
the best any design on this stack can do, not a briefbot figure.
"""

from __future__ import annotations

import argparse
import asyncio
import sqlite3
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def rss_mb() -> float:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return 0.0


def memory_floor() -> list[tuple[str, float]]:
    """Resident size as the fixed stack comes in (run first, in a fresh process)."""
    rows = [("python interpreter", rss_mb())]
    import aiohttp  # noqa: F401

    rows.append(("+ aiohttp", rss_mb()))
    import aiosqlite  # noqa: F401
    import fastfeedparser  # noqa: F401
    import feedparser  # noqa: F401

    rows.append(("+ aiosqlite, feedparser, fastfeedparser", rss_mb()))
    import numpy  # noqa: F401

    rows.append(("+ numpy (wordllama's vectors)", rss_mb()))
    from bot.news.embed import load_embedder

    load_embedder()
    rows.append(("+ wordllama tokenizer and table", rss_mb()))
    return rows


async def fetch_all(port: int, feeds: int) -> tuple[list[bytes], float]:
    import aiohttp

    from bench import feedgen

    urls = [f"http://127.0.0.1:{port}{p.path}" for p in feedgen.plan(feeds, 0)]
    bodies: list[bytes] = []
    connector = aiohttp.TCPConnector(limit=16, force_close=True)
    timeout = aiohttp.ClientTimeout(total=3)
    async with aiohttp.ClientSession(connector=connector, timeout=timeout) as session:

        async def one(url: str) -> None:
            try:
                async with session.get(url) as resp:
                    body = await resp.read()
                    if resp.status == 200 and len(body) < 2 * 1024 * 1024:
                        bodies.append(body)
            except (aiohttp.ClientError, TimeoutError):
                pass

        start = time.process_time()
        await asyncio.gather(*(one(u) for u in urls))
        return bodies, time.process_time() - start


def parse_all(bodies: list[bytes]) -> tuple[list[tuple[str, str, str]], float]:
    import fastfeedparser

    stories: list[tuple[str, str, str]] = []
    start = time.process_time()
    for body in bodies:
        try:
            feed = fastfeedparser.parse(body)
        except Exception:  # malformed feeds of the bench: the floor skips them
            continue
        for e in feed.get("entries", ()):
            text = e.get("content", [{}])[0].get("value", "") if e.get("content") else ""
            text = text or e.get("description", "")
            stories.append((e.get("title", ""), e.get("link", ""), text))
    return stories, time.process_time() - start


def store_all(stories: list[tuple[str, str, str]], *, fts: bool) -> float:
    with tempfile.TemporaryDirectory() as tmp:
        db = sqlite3.connect(Path(tmp) / "floor.sqlite3", isolation_level=None)
        db.execute("PRAGMA journal_mode=WAL")
        db.execute("PRAGMA synchronous=NORMAL")
        db.execute("CREATE TABLE s (id INTEGER PRIMARY KEY, title TEXT, link TEXT, text TEXT)")
        if fts:
            db.executescript(
                """
                CREATE VIRTUAL TABLE s_fts USING fts5(title, text, content='s',
                    content_rowid='id', tokenize='porter unicode61 remove_diacritics 2');
                CREATE TRIGGER s_ai AFTER INSERT ON s BEGIN
                    INSERT INTO s_fts(rowid, title, text) VALUES (new.id, new.title, new.text);
                END;
                """
            )
        start = time.process_time()
        insert = "INSERT INTO s (title, link, text) VALUES (?, ?, ?)"
        for i in range(0, len(stories), 1600):
            db.execute("BEGIN")
            db.executemany(insert, stories[i : i + 1600])
            db.execute("COMMIT")
        spent = time.process_time() - start
        db.close()
        return spent


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--feeds", type=int, default=1000)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()

    memory = memory_floor()
    from bench.poll_bench import FeedServerProcess

    server = FeedServerProcess(args.feeds, args.seed)
    try:
        bodies, fetch_cpu = asyncio.run(fetch_all(server.port, args.feeds))
    finally:
        server.stop()
    stories, parse_cpu = parse_all(bodies)
    n = max(1, len(stories))
    store_cpu = store_all(stories, fts=False)
    fts_cpu = store_all(stories, fts=True)

    def per(cpu: float) -> str:
        return f"{cpu:6.2f} s  {cpu / n * 1e6:6.0f} µs/story"

    print(f"\n{len(bodies)} feeds read, {len(stories)} stories (seed {args.seed})\n")
    print(f"{'stage (bare minimum)':44s} {'CPU':>8s}  {'per story':>14s}")
    print("-" * 72)
    print(f"{'fetch: aiohttp GET, body read':44s} {per(fetch_cpu)}")
    print(f"{'parse: fastfeedparser':44s} {per(parse_cpu)}")
    print(f"{'store: INSERT, no index':44s} {per(store_cpu)}")
    print(f"{'store: INSERT + FTS5 trigger':44s} {per(fts_cpu)}")
    floor = fetch_cpu + parse_cpu + fts_cpu
    print("-" * 72)
    print(f"{'fetch + parse + store with FTS5':44s} {per(floor)}")
    print(f"{'  = at most':44s} {n / floor:8,.0f} stories per CPU-second  (target 5,500)")
    print(f"\n{'resident memory before any story':44s} {'MB':>8s}")
    print("-" * 72)
    for label, mb in memory:
        print(f"{label:44s} {mb:8.0f}")
    print(f"{'(target for the whole first poll of 1000 sources)':44s} {100:8.0f}")


if __name__ == "__main__":
    main()
