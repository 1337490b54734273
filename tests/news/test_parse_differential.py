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
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.news.errors import ParseError
from bot.news.parse import parse_feed
from bot.news.parse_entry import _first_img, plain_text
from bot.news.parse_fast import (
    _C1_CONTROL,
    _LATIN1_HIGH,
    _census,
    _has_c2_pair,
    _has_x_words,
    parse_fast,
)

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
    p
    for p in ALL_DOCUMENTS
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


# ------------------------------------------------------------------ quick scans

#: pieces the guards and the census look for, and near misses of each
_PIECES = st.sampled_from(
    [
        b"xml:base",
        b"xml:bas",
        b"xhtml",
        b"'",
        b'"',
        b"x",
        b"<item>",
        b"<items>",
        b"<item ",
        b"<item/",
        b"<guid>",
        b"<guid\n",
        b"<guidx",
        b"<description>",
        b"<link>",
        b"<link/>",
        b"<entry>",
        b"<entry\t",
        b"<id>",
        b"<idx>",
        b"<summary ",
        b"\xc2",
        b"\x80",
        b"\x9f",
        b"\xa0",
        b"\xbf",
        b"\xc0",
        b"&#",
        b"&",
        b"#",
        b"a",
        b" ",
    ]
)
_BODIES = st.lists(_PIECES, max_size=40).map(b"".join)


@settings(max_examples=400, deadline=None)
@given(_BODIES)
def test_quick_scans_find_what_their_patterns_find(body: bytes) -> None:
    """The guards scan with bytes.find and one regex where plain patterns read better;
    a document must be declined (or repaired) exactly when the patterns say so."""
    assert _has_x_words(body) == bool(re.search(rb"xml:base|[\"']xhtml[\"']", body))
    assert _has_c2_pair(body, _LATIN1_HIGH) == bool(re.search(rb"\xc2[\x80-\xbf]", body))
    assert _has_c2_pair(body, _C1_CONTROL) == bool(re.search(rb"\xc2[\x80-\x9f]", body))


def _census_by_loop(body: bytes, kind: str) -> tuple[int, int, bool, bool] | None:
    """The census as first written: one pass over the tags, counted in Python."""
    tags = {
        "rss": (rb"<(item|guid|description|link)[\s>/]", b"item", b"guid", b"description", b"link"),
        "atom": (rb"<(entry|id|summary)[\s>/]", b"entry", b"id", b"summary", b""),
    }
    pattern, item_tag, guid_tag, summary_tag, link_tag = tags[kind]
    counts: dict[bytes, int] = {}
    first_item = -1
    for match in re.finditer(pattern, body):
        if first_item < 0:
            if match.group(1) != item_tag:
                continue
            first_item = match.start()
        counts[match.group(1)] = counts.get(match.group(1), 0) + 1
    items = counts.get(item_tag, 0)
    guids, summaries = counts.get(guid_tag, 0), counts.get(summary_tag, 0)
    if items == 0 or guids not in (0, items) or summaries not in (0, items):
        return None
    if link_tag and counts.get(link_tag, 0) != items:
        return None
    return first_item, items, guids == items, summaries == items


@settings(max_examples=400, deadline=None)
@given(_BODIES, st.sampled_from(["rss", "atom"]))
def test_census_counts_as_a_tag_by_tag_loop_does(body: bytes, kind: str) -> None:
    census = _census(body, kind)
    found = (
        None
        if census is None
        else (census.first_item, census.items, census.has_guid, census.has_summary)
    )
    assert found == _census_by_loop(body, kind)


@settings(max_examples=300, deadline=None)
@given(
    st.lists(st.sampled_from(["<img", "<IMG", "<Img", "<im", "<", "img", "x", " "]), max_size=12)
)
def test_first_img_is_the_first_lower_case_tag_else_the_first_upper_case_one(
    pieces: list[str],
) -> None:
    text = "".join(pieces)
    lower = text.find("<img")
    assert _first_img(text) == (lower if lower >= 0 else text.find("<IMG"))


@settings(max_examples=300, deadline=None)
@given(
    st.text(
        alphabet=st.sampled_from("ab \t\n\r\x0b\x0c\x1c\x85\xa0\u2003\u2028\u3000"), max_size=20
    )
)
def test_plain_titles_collapse_whitespace_as_the_pattern_does(title: str) -> None:
    assert plain_text(title) == re.sub(r"\s+", " ", title).strip()


@pytest.mark.parametrize(
    "prologue",
    [
        '<!DOCTYPE rss [<!ENTITY co "Big &amp; Co">]>',
        '<!DOCTYPE rss [\n  <!ENTITY % p "x">\n  <!ENTITY co "Big Co">\n]>',
    ],
    ids=["entity", "parameter-entity"],
)
def test_documents_declaring_entities_go_to_feedparser(prologue: str) -> None:
    """fastfeedparser ignores entity declarations; feedparser expands them."""
    body = (
        f'<?xml version="1.0" encoding="utf-8"?>\n{prologue}\n<rss version="2.0"><channel>'
        "<title>F</title><link>https://news.example/</link><item><title>&co; wins</title>"
        "<link>https://news.example/a</link></item></channel></rss>"
    ).encode()
    assert parse_fast(body, url=URL, headers={}, fetched_at=NOW) is None
    assert parse_feed(body, url=URL, fetched_at=NOW).entries[0].title.endswith("wins")
