"""The terminal view of digests and story lists: readable, wrapped, and safe to print."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest

from bot.news.models import DigestSection
from bot.textrender import (
    WIDTH,
    clean_text,
    http_url,
    relative_time,
    render_digest_text,
    render_stories_text,
)
from tests.factories import (
    NOW,
    story,
)
from tests.factories import make_digest as digest

ANSI = re.compile(r"\x1b\[[0-9;]*m")


def test_digest_reads_like_a_briefing() -> None:
    d = digest(
        DigestSection("regulation", "Regulation", (story(1),)),
        more=(story(2, headline="Chip maker raises prices", source_name="Reuters"),),
        notice="No stories in 24h; showing 7 days.",
    )
    lines = render_digest_text(d, now=NOW, color=False).splitlines()
    assert lines[:2] == [
        "AI news briefing · 27 Nov 2025, 08:00 UTC · 2 stories",
        "No stories in 24h; showing 7 days.",
    ]
    start = lines.index("Regulation")
    assert lines[start + 1] == "──────────"
    assert lines[start + 3 : start + 9] == [
        "Regulators open inquiry 1",
        "The agency said on Tuesday it would examine the deal.",
        "  • The review takes 90 days.",
        "  • Shares fell 2%.",
        "  The Verge · 3h ago · +2 outlets (Wired, Ars Technica) · story 1",
        "  https://example.com/news/1",
    ]
    more = lines.index("More stories")
    assert lines[more + 2 :] == [
        "  • Chip maker raises prices — Reuters · 3h ago",
        "    https://example.com/news/2",
    ]


def test_empty_digest_says_so() -> None:
    text = render_digest_text(digest(), now=NOW, color=False)
    assert "0 stories" in text
    assert "No new stories." in text


def test_no_ansi_without_color_and_bold_headlines_with_it() -> None:
    d = digest(DigestSection("regulation", "Regulation", (story(1),)), more=(story(2),))
    plain = render_digest_text(d, now=NOW, color=False)
    assert "\x1b" not in plain
    colored = render_digest_text(d, now=NOW, color=True)
    assert "\x1b[1mRegulators open inquiry 1\x1b[0m" in colored
    assert "\x1b[2m  https://example.com/news/1\x1b[0m" in colored
    assert ANSI.sub("", colored) == plain


HOSTILE = "Pwned\x1b]0;evil title\x07 \x1b[2J\x1b[31mred\r\n\x08\x00 \u202eemag\x9b31m done"


@pytest.mark.parametrize("color", [False, True])
def test_control_characters_from_feeds_are_stripped(color: bool) -> None:
    s = story(
        1,
        headline=HOSTILE,
        lead=HOSTILE,
        points=(HOSTILE,),
        source_name=HOSTILE,
        also_covered_by=(HOSTILE,),
    )
    d = digest(DigestSection("x", HOSTILE, (s,)), more=(s,), notice=HOSTILE)
    for text in (
        render_digest_text(d, now=NOW, color=color),
        render_stories_text([s], now=NOW, color=color),
    ):
        text = ANSI.sub("", text)  # our own styling, when asked for
        bad = [ch for ch in text if ch != "\n" and (ord(ch) < 32 or 0x7F <= ord(ch) <= 0x9F)]
        assert bad == []
        assert "\u202e" not in text
        assert "Pwned]0;evil title [2J[31mred emag31m done" in text


def test_wrapped_to_88_columns_and_urls_never_split() -> None:
    url_in_text = "https://example.com/" + "-".join(["segment"] * 20)
    lead = " ".join(["word"] * 60) + f" see {url_in_text} for more " + "x" * 200
    long_link = "https://example.com/" + "a" * 150
    s = story(1, lead=lead, points=(" ".join(["point"] * 40),), url=long_link)
    text = render_digest_text(digest(DigestSection("t", "Topic", (s,))), now=NOW, color=False)
    lines = text.splitlines()
    assert [ln for ln in lines if len(ln) > WIDTH and "https://" not in ln] == []
    assert any(len(ln) > WIDTH for ln in lines)  # the URLs are longer than a line...
    assert url_in_text in lines  # ...and are kept whole on a line of their own
    assert f"  {long_link}" in lines
    assert any(ln.startswith("    point point") for ln in lines)  # hanging indent on bullets


def test_only_http_links_are_printed() -> None:
    s = story(1, url="javascript:alert(1)")
    text = render_stories_text([s], now=NOW, color=False)
    assert "javascript" not in text
    assert "Regulators open inquiry 1" in text


def test_story_list_uses_snippet_and_falls_back_to_title() -> None:
    a = story(1, snippet="…the merger was blocked by…", points=("hidden",))
    b = story(2, headline="", lead="")
    text = render_stories_text([a, b], now=NOW, color=False)
    blocks = text.strip().split("\n\n")
    assert blocks[0].splitlines()[:2] == [
        "Regulators open inquiry 1",
        "…the merger was blocked by…",
    ]
    assert "hidden" not in text  # a result list stays compact
    assert blocks[1].splitlines()[0] == "Feed title 2"
    assert render_stories_text([], now=NOW, color=False) == "No stories found.\n"


@pytest.mark.parametrize(
    ("age", "expected"),
    [
        (timedelta(seconds=-30), "just now"),
        (timedelta(seconds=59), "just now"),
        (timedelta(minutes=5, seconds=10), "5m ago"),
        (timedelta(hours=3, minutes=59), "3h ago"),
        (timedelta(days=2, hours=5), "2d ago"),
    ],
)
def test_relative_time(age: timedelta, expected: str) -> None:
    assert relative_time(NOW - age, NOW) == expected


def test_clean_text_collapses_whitespace() -> None:
    assert clean_text("  a\n\tb \u00a0 c\x1b ") == "a b c"
    assert clean_text(None) == ""


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("https://example.com/a b(c)", "https://example.com/a%20b%28c%29"),
        ("HTTP://Example.com/x?q=1#f", "http://Example.com/x?q=1#f"),
        ("javascript:alert(1)", None),
        ("data:text/html,hi", None),
        ("https:///nohost", None),
        ("https://exa)mple.com/", None),
        ("https://example.com/\x1b[2J", None),
        ("https://example.com/" + "a" * 3000, None),
        (None, None),
    ],
)
def test_http_url(url: str | None, expected: str | None) -> None:
    assert http_url(url) == expected
