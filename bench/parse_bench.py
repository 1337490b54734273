"""CPU cost of the parse stage per entry, and a snapshot that proves a change kept outputs.

Run from the repository root::

    python bench/parse_bench.py                      # µs of CPU per entry, per corpus
    python bench/parse_bench.py --profile            # plus the top cProfile lines
    python bench/parse_bench.py --snapshot out.json  # every parsed field of every document

The corpora are the healthy synthetic feeds of ``bench/feedgen.py`` (the documents the
poll benchmark serves, with its Content-Type) and the real feeds under
``tests/data/feeds/ai-blogs``. The snapshot also covers every document the differential
test reads, so optimising the parser can be checked byte for byte: take a snapshot
before the change and diff it with one taken after.
"""

from __future__ import annotations

import argparse
import cProfile
import io
import json
import pstats
import re
import statistics
import sys
import time
from dataclasses import fields
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.feedgen import Events, atom, plan, rss  # noqa: E402
from bot.news.errors import NotAFeedError, ParseError  # noqa: E402
from bot.news.models import ParsedFeed  # noqa: E402
from bot.news.parse import parse_feed  # noqa: E402
from bot.news.parse_fast import parse_fast  # noqa: E402

FEEDS = ROOT / "tests" / "data" / "feeds"
#: fixed clocks, so two runs (and two versions of the code) see the same documents
NOW = datetime(2026, 1, 1, 12, 0, tzinfo=UTC)
FETCHED_AT = NOW + timedelta(minutes=1)
#: the URL the differential test parses its documents under
TEST_URL = "https://feeds.example/path/feed.xml"

Document = tuple[str, bytes, str, dict[str, str]]  # name, body, url, headers


def synthetic(feeds: int = 200, seed: int = 1) -> list[Document]:
    """The healthy feeds of a poll-benchmark run, as its server sends them."""
    events = Events(seed)
    docs = []
    for p in plan(feeds, seed):
        if p.fault is not None:
            continue
        make = atom if p.kind == "atom" else rss
        ctype = "application/atom+xml" if p.kind == "atom" else "application/rss+xml"
        url = f"http://feed{p.index}.bench.test:8080{p.path}"
        body = make(seed, p.index, NOW, events)
        docs.append(
            (f"synthetic/{p.index}", body, url, {"Content-Type": f"{ctype}; charset=utf-8"})
        )
    return docs


def real() -> list[Document]:
    """The real AI-blog feeds, with no headers (as the differential test reads them)."""
    return [
        (f"ai-blogs/{p.name}", p.read_bytes(), f"https://{p.stem}.example/feed.xml", {})
        for p in sorted((FEEDS / "ai-blogs").glob("*.xml"))
    ]


def test_corpus() -> list[Document]:
    """Every document tests/news/test_parse_differential.py reads, with its headers."""
    paths = [p for p in FEEDS.rglob("*") if p.suffix in (".xml", ".json")]
    docs = []
    for path in sorted(p for p in paths if not p.name.endswith("_expected.json")):
        body = path.read_bytes()
        found = re.search(rb"Header:\s*([\w-]+):\s*(.*)", body[:1000])
        headers = {found[1].decode().lower(): found[2].decode("latin-1").strip()} if found else {}
        docs.append((str(path.relative_to(FEEDS)), body, TEST_URL, headers))
    return docs


def _parse(doc: Document) -> ParsedFeed:
    _, body, url, headers = doc
    return parse_feed(body, url=url, headers=headers, fetched_at=FETCHED_AT)


def _count_entries(docs: list[Document]) -> int:
    return sum(len(_parse(doc).entries) for doc in docs)


def cpu_per_entry(docs: list[Document], rounds: int, repeat: int) -> float:
    """Median over ``rounds`` of the CPU µs per entry of parsing every document ``repeat`` times."""
    entries = _count_entries(docs) * repeat
    samples = []
    for _ in range(rounds):
        start = time.process_time()
        for _ in range(repeat):
            for doc in docs:
                _parse(doc)
        samples.append(time.process_time() - start)
    return statistics.median(samples) / entries * 1e6


def profile(docs: list[Document], repeat: int, top: int) -> str:
    profiler = cProfile.Profile()
    profiler.enable()
    for _ in range(repeat):
        for doc in docs:
            _parse(doc)
    profiler.disable()
    out = io.StringIO()
    stats = pstats.Stats(profiler, stream=out).strip_dirs().sort_stats("tottime")
    stats.print_stats(top)
    return out.getvalue()


def _plain(value: object) -> object:
    """A JSON-able, order-preserving rendering of a parse result field."""
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, timedelta):
        return value.total_seconds()
    if isinstance(value, tuple | list):
        return [_plain(v) for v in value]
    if hasattr(value, "__dataclass_fields__"):
        return {f.name: _plain(getattr(value, f.name)) for f in fields(value)}  # type: ignore[arg-type]
    return value


def snapshot(docs: list[Document]) -> dict[str, object]:
    """Each document's parse result (or refusal) and whether the fast path took it."""
    out: dict[str, object] = {}
    for doc in docs:
        name, body, url, headers = doc
        lowered = {k.lower(): v for k, v in headers.items()}
        try:
            fast = parse_fast(body, url=url, headers=lowered, fetched_at=FETCHED_AT) is not None
        except Exception as exc:  # recorded, so a change shows in the diff
            fast = f"raised {type(exc).__name__}"
        try:
            result: object = _plain(_parse(doc))
        except (NotAFeedError, ParseError) as exc:
            result = {"error": type(exc).__name__, "message": str(exc)}
        out[name] = {"fast": fast, "result": result}
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--feeds", type=int, default=200, help="synthetic feeds to generate")
    parser.add_argument("--rounds", type=int, default=3, help="timed runs (the median counts)")
    parser.add_argument("--repeat", type=int, default=2, help="parses of each document per run")
    parser.add_argument("--profile", action="store_true", help="print the top cProfile lines")
    parser.add_argument("--top", type=int, default=30)
    parser.add_argument("--snapshot", metavar="FILE", help="write every parsed field as JSON")
    args = parser.parse_args()

    corpora: dict[str, list[Document]] = {"synthetic": synthetic(args.feeds), "ai-blogs": real()}
    if args.snapshot:
        docs = corpora["synthetic"] + corpora["ai-blogs"] + test_corpus()
        Path(args.snapshot).write_text(json.dumps(snapshot(docs), indent=1, sort_keys=True))
        print(f"snapshot of {len(docs)} documents written to {args.snapshot}")
        return
    for name, docs in corpora.items():
        us = cpu_per_entry(docs, args.rounds, args.repeat)
        entries = _count_entries(docs)
        print(f"{name:10} {len(docs):4} documents {entries:6} entries  {us:7.1f} µs/entry")
        if args.profile:
            print(profile(docs, 1, args.top))


if __name__ == "__main__":
    main()
