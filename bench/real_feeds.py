"""Real-world feed files as a new user meets them: added one by one, served from loopback.

Run from the repository root::

    python bench/real_feeds.py                       # tests/data/feeds
    python bench/real_feeds.py ../shared/feeds -v    # another corpus; -v lists every file

Every feed file under the folder is served by the loopback feed server of the tests (a
feedparser test file with the Content-Type its header comment names) and added with
``NewsService.add_source`` into one fresh store, exactly as ``briefbot sources add`` would;
plain ``feedparser.parse`` reads the same bytes as the reference. What a user must never
see, and what this counts:

- a feed feedparser reads entries from, added "ok", that contributes no stories (neither
  its own nor keys merged into another source's story);
- a feed feedparser reads entries from that is refused;
- an error that is not a sentence (a stray exception text such as ``' Red'``).
"""

from __future__ import annotations

import argparse
import asyncio
import io
import re
import sys
import tempfile
import time
import warnings
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import feedparser  # noqa: E402

from bot.config import load_config  # noqa: E402
from bot.news.errors import NewsError  # noqa: E402
from bot.news.service import NewsService  # noqa: E402
from tests.feedserver import FeedServer  # noqa: E402

FEEDS = ROOT / "tests" / "data" / "feeds"
_HEADER = re.compile(rb"Header:\s*([\w-]+):\s*(.*)")


def feed_files(root: Path) -> list[Path]:
    """Feed documents under ``root``: .xml and .json, not gofeed's expected outputs
    (``*_expected.json``, or a .json beside the .xml of the same name)."""
    out = []
    for path in sorted(root.rglob("*")):
        if path.suffix not in (".xml", ".json") or not path.is_file():
            continue
        if path.name.endswith("_expected.json"):
            continue
        if path.suffix == ".json" and path.with_suffix(".xml").exists():
            continue
        out.append(path)
    return out


def served_headers(body: bytes) -> dict[str, str]:
    """feedparser's test files name the HTTP header they were served with."""
    found = _HEADER.search(body[:1000])
    return {found[1].decode().lower(): found[2].decode("latin-1").strip()} if found else {}


def feedparser_entries(body: bytes, headers: dict[str, str]) -> int:
    """How many entries plain feedparser reads (the reference a user compares us with)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            return len(feedparser.parse(io.BytesIO(body), response_headers=headers).entries)
        except Exception:
            return 0


def is_sentence(message: str) -> bool:
    """An error a user can read: several words, not a bare quoted token or class name."""
    words = re.findall(r"[A-Za-z]{2,}", message)
    return len(words) >= 4 and not re.fullmatch(r"\s*['\"].*['\"]\s*", message)


async def contributed(service: NewsService, source_id: int) -> int:
    """Stories the source brought: its own plus those merged into another source's."""
    n = await service.store.db.fetchval(
        "SELECT count(*) FROM story_keys WHERE source_id = ? AND story_id IS NOT NULL",
        (source_id,),
    )
    return int(n)


async def run(root: Path, verbose: bool) -> dict[str, list[str]]:
    """Add every feed file; returns outcome -> file names."""
    files = feed_files(root)
    outcomes: dict[str, list[str]] = {}
    with tempfile.TemporaryDirectory() as tmp:
        config = load_config(
            {
                "default_sources": False,
                "storage": {"path": f"{tmp}/bench.sqlite3"},
                "fetch": {"allowed_hosts": ["127.0.0.1"], "timeout_s": 10.0},
            }
        )
        async with FeedServer() as server:
            service = await NewsService.open(config)
            try:
                for n, path in enumerate(files):
                    name = str(path.relative_to(root))
                    body = path.read_bytes()
                    headers = served_headers(body)
                    content_type = headers.get("content-type", "application/xml")
                    route = f"/{n}/{path.name}"
                    server.add(route, body, content_type=content_type)
                    reference = feedparser_entries(body, headers)
                    try:
                        added = await service.add_source(server.url(route))
                    except NewsError as exc:
                        kind = "refused" if reference else "refused (feedparser: none)"
                        message = str(exc)
                        if not is_sentence(message):
                            kind = "not a sentence"
                        outcomes.setdefault(kind, []).append(f"{name}: {message}")
                        continue
                    got = await contributed(service, added.source.id)
                    if reference and not got:
                        kind = "ok, no stories"
                    elif reference and not added.source.story_count:
                        kind = "ok, merged into another source"
                    else:
                        kind = "ok"
                    outcomes.setdefault(kind, []).append(f"{name}: {got}/{reference}")
            finally:
                await service.close()
    return outcomes


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("root", nargs="?", type=Path, default=FEEDS)
    parser.add_argument("-v", "--verbose", action="store_true", help="list every file")
    args = parser.parse_args()
    started = time.perf_counter()
    outcomes = asyncio.run(run(args.root, args.verbose))
    counts = Counter({k: len(v) for k, v in outcomes.items()})
    print(f"{sum(counts.values())} feed files in {time.perf_counter() - started:.0f} s")
    for kind, n in counts.most_common():
        print(f"  {kind:32} {n}")
    for kind, names in sorted(outcomes.items()):
        if kind == "ok" and not args.verbose:
            continue
        if kind.startswith("refused (") and not args.verbose:
            continue
        print(f"\n{kind}:")
        for line in names:
            print(f"  {line[:200]}")


if __name__ == "__main__":
    main()
