"""Property: on arbitrary text and markup, parse -> clean -> condense -> render never raises
and always fits Discord's limits (title 256, description 4096, field 1024, embed total
6000, content 2000), with no live mention left."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from xml.sax.saxutils import escape

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.news.clean import clean_text, clean_title
from bot.news.condense import condense
from bot.news.errors import ParseError
from bot.news.models import Digest, DigestSection, Story
from bot.news.parse import parse_feed
from bot.render import render_digest, render_stories
from tests.adversarial.conftest import assert_within_discord_limits, payload_text

NOW = datetime(2026, 1, 1, 12, tzinfo=UTC)

#: pieces strangers put in feeds, mixed with arbitrary characters
_PIECES = st.sampled_from(
    [
        "@everyone",
        "@here",
        "<@123>",
        "<@&456>",
        "<#789>",
        "[x](http://evil.example)",
        "javascript:alert(1)",
        "data:text/html,x",
        "\u202e",
        "\u200b",
        "\u0336" * 30,
        "<p>",
        "</p>",
        "<br/>",
        "&amp;",
        "&lt;b&gt;",
        "<script>alert(1)</script>",
        "**",
        "`",
        "# ",
        "> ",
        "- ",
        "\n",
        "discord.gg/x",
        "https://news.example/a(b)",
        "😀",
        ". ",
        "Mr. ",
    ]
)
TEXT = st.lists(st.one_of(_PIECES, st.text(max_size=40)), max_size=40).map("".join)
LONG = st.one_of(TEXT, st.builds(lambda t, n: t * n, TEXT, st.integers(1, 300)))
PROPERTY = settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def _story(n: int, title: str, body: str, source: str, url: str | None) -> Story:
    c = condense(title, body)
    return Story(
        id=n,
        source_id=1,
        source_name=source,
        url=url,
        title=title,
        published=NOW - timedelta(hours=n),
        first_seen=NOW,
        headline=c.headline,
        lead=c.lead,
        points=c.points,
        also_covered_by=(source,) * 3,
        other_outlets=3,
    )


@PROPERTY
@given(title=LONG, body=LONG, link=TEXT)
def test_parse_never_raises_but_a_sentence(title: str, body: str, link: str) -> None:
    document = (
        '<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel><title>T</title>'
        f"<item><title>{escape(title)}</title><link>{escape(link)}</link>"
        f"<description>{escape(body)}</description></item></channel></rss>"
    ).encode("utf-8", "surrogatepass")
    for raw in (document, title.encode("utf-8", "surrogatepass")):
        try:
            feed = parse_feed(raw, url="https://feed.example/", fetched_at=NOW)
        except ParseError as exc:
            assert len(str(exc).split()) >= 4
            continue
        for entry in feed.entries:
            assert entry.link is None or entry.link.startswith(("http://", "https://"))


@PROPERTY
@given(text=LONG)
def test_cleaner_never_raises_and_leaves_no_markup(text: str) -> None:
    cleaned = clean_text(text)
    title = clean_title(text)
    assert "\u202e" not in cleaned + title
    assert "<script" not in (cleaned + title).lower() or "<script" in text.lower().replace(
        "&lt;", "<"
    )


@PROPERTY
@given(titles=st.lists(LONG, min_size=1, max_size=12), body=LONG, source=TEXT, url=TEXT)
def test_condense_and_render_fit_discord(
    titles: list[str], body: str, source: str, url: str
) -> None:
    stories = tuple(
        _story(n, t, body, source, url if n % 2 else f"https://news.example/{n}")
        for n, t in enumerate(titles)
    )
    digest = Digest(
        title=source or "Digest",
        since=NOW - timedelta(days=1),
        until=NOW,
        sections=(DigestSection("x", source, stories[:6]), DigestSection("", "Other", stories)),
        more=stories,
        notice=body[:500] or None,
    )
    payloads = render_digest(digest, now=NOW)
    payloads.append(render_stories(stories, title=source, now=NOW))
    assert_within_discord_limits(payloads)
    text = payload_text(payloads)
    assert not re.search(r"@(everyone|here)|<[@#][!&]?\d+>", text)
    # such text may be shown, never linked: every link target is http(s)
    assert not re.search(r"\]\((?!<?https?://)", text.replace("\\]", ""))
