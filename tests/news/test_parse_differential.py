"""The fast path must give the stories feedparser (the reference) gives.

For every corpus document the fast path agrees to read, parse_feed with and without it
must yield the same entries: count, titles, links, guids and dates. Documents it declines
go to feedparser in both modes, so there is nothing to compare for them; the last test
makes sure it still reads the real-world feeds, so it cannot pass by declining everything.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from pathlib import Path

import pytest

from bot.news.errors import ParseError
from bot.news.parse import parse_feed
from bot.news.parse_fast import parse_fast

FEEDS = Path(__file__).parent.parent / "data" / "feeds"
NOW = datetime(2026, 1, 1, tzinfo=UTC)
URL = "https://feeds.example/path/feed.xml"

#: documents where the two paths differ on purpose, with the reason
KNOWN_DIFFERENCES = {
    # feedparser 6.0.14 takes the href-less enclosure link; the file's own expectation
    # (and the fast path) is the alternate link
    "feedparser-tests/wellformed/atom10/entry_link_rel_enclosure_no_href.xml",
}


def _documents() -> list[Path]:
    paths = [p for p in FEEDS.rglob("*") if p.suffix in (".xml", ".json")]
    return sorted(p for p in paths if not p.name.endswith("_expected.json"))


def _headers(body: bytes) -> dict[str, str]:
    """feedparser's test files name the HTTP header they were served with."""
    found = re.search(rb"Header:\s*([\w-]+):\s*(.*)", body[:1000])
    return {found[1].decode().lower(): found[2].decode("latin-1").strip()} if found else {}


def _stories(body: bytes, headers: dict[str, str], fast: bool) -> object:
    try:
        feed = parse_feed(body, url=URL, headers=headers, fetched_at=NOW, fast=fast)
    except ParseError as error:
        return type(error).__name__
    return [
        (e.title, e.link, e.guid, e.published, e.updated, e.date_estimated) for e in feed.entries
    ]


ALL_DOCUMENTS = _documents()
#: the documents the fast path agrees to read (the rest go to feedparser in both modes)
DOCUMENTS = [
    p for p in ALL_DOCUMENTS
    if parse_fast(p.read_bytes(), url=URL, headers=_headers(p.read_bytes()), fetched_at=NOW)
    is not None
]


def test_every_corpus_document_parses_or_is_refused_with_a_sentence() -> None:
    """Ill-formed, oddly encoded and hostile documents never raise anything but ParseError."""
    for path in ALL_DOCUMENTS:
        body = path.read_bytes()
        try:
            parse_feed(body, url=URL, headers=_headers(body), fetched_at=NOW)
        except ParseError as error:
            assert str(error), path


@pytest.mark.parametrize("path", DOCUMENTS, ids=[str(p.relative_to(FEEDS)) for p in DOCUMENTS])
def test_fast_path_gives_feedparsers_stories(path: Path) -> None:
    name = str(path.relative_to(FEEDS))
    body = path.read_bytes()
    headers = _headers(body)
    fast, reference = _stories(body, headers, True), _stories(body, headers, False)
    if name in KNOWN_DIFFERENCES:
        assert fast != reference, "a known difference is gone: remove it from the list"
        return
    assert isinstance(reference, list)
    assert len(fast) == len(reference)
    for mine, theirs in zip(fast, reference, strict=True):
        assert mine == theirs


def test_the_fast_path_is_compared_on_enough_documents() -> None:
    assert len(DOCUMENTS) >= 40


def test_fast_path_reads_the_real_world_feeds() -> None:
    """Every ai-blogs feed with items goes through the fast path."""
    taken = []
    for path in sorted((FEEDS / "ai-blogs").glob("*.xml")):
        body = path.read_bytes()
        if parse_fast(body, url=URL, headers={}, fetched_at=NOW) is not None:
            taken.append(path.name)
    assert len(taken) == 9  # palantir.xml has no items: feedparser settles empty feeds
    assert "palantir.xml" not in taken
