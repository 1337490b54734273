"""Digests as Discord payloads: within every Discord limit, readable, and inert.

The property test throws random digests at the renderer (huge and empty texts,
unicode, markdown, mentions, good and hostile URLs) and checks what Discord
would reject or what a reader would notice: a limit broken, an empty field, a
word cut in half, a story missing, a link that is not the story's own.
"""

from __future__ import annotations

import functools
import json
import re
from datetime import timedelta
from pathlib import Path
from typing import Any

import discord
import jsonschema
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from bot.news.models import Digest, DigestSection, Story
from bot.render import (
    escape,
    fit_payload,
    payload_to_kwargs,
    render_digest,
    render_stories,
    shorten,
    size,
)
from bot.textrender import clean_text, headline_of, http_url
from tests import factories
from tests.factories import (
    NOW,
    make_digest,
)

# --------------------------------------------------------------------------- helpers


def unescape(text: str) -> str:
    """What a Discord reader sees of escaped text: backslashes and zero-width spaces gone."""
    return re.sub(r"\\([!-/:-@\[-`{-~])", r"\1", text).replace("\u200b", "")


def texts(payload: dict[str, Any]) -> list[str]:
    """Every human-visible string of a payload, in order."""
    out = [payload.get("content") or ""]
    for embed in payload.get("embeds", ()):
        out += [embed.get("title", ""), embed.get("description", "")]
        out += [x for f in embed.get("fields", ()) for x in (f["name"], f["value"])]
        out.append((embed.get("footer") or {}).get("text", ""))
    return [t for t in out if t]


# How Discord (simple-markdown) autolinks a bare URL outside a link label: nothing inside it
# is markup. The renderer's own verbatim-URL pattern is stricter (a prefix of this).
AUTOLINK = re.compile(r"https?://[^\s<]+[^<.,:;\"')\]\s]", re.IGNORECASE)


def live_markup(text: str) -> tuple[str, list[str]]:
    """Text with escaped characters and autolinked URLs blanked, and the targets of live links.

    What remains of markdown in the returned text is markup Discord would act on.
    """
    out: list[str] = []
    targets: list[str] = []
    in_label = False
    i = 0
    while i < len(text):
        if text[i] == "\\" and i + 1 < len(text):
            out.append("xx")
            i += 2
        elif not in_label and (m := AUTOLINK.match(text, i)):
            out.append("u" * len(m[0]))
            i = m.end()
        elif in_label and text.startswith("](", i):
            end = text.index(")", i)
            targets.append(text[i + 2 : end])
            out.append("]")
            in_label, i = False, end + 1
        else:
            in_label = in_label or text[i] == "["
            out.append(text[i])
            i += 1
    return "".join(out), targets


def check_inert(text: str, story_urls: set[str]) -> None:
    """Only our own markup is live: bold headlines, our links, "-# " lines, "• " bullets."""
    live, targets = live_markup(text)
    assert set(targets) <= story_urls, "a link that is not a story's own"
    assert all(t.startswith(("https://", "http://")) for t in targets)
    # bold headlines and the header title, then our link labels
    live = re.sub(r"^\*\*(.*?)\*\*", r"\1", live, flags=re.MULTILINE)
    live = re.sub(r"^(• )?\[([^\[\]]*)\]", r"\1\2", live, flags=re.MULTILINE)
    live = re.sub(r"^-# ", "", live, flags=re.MULTILINE)
    assert not re.search(r"[*_~|`\[\]]", live), live
    assert not re.search(r"^\s*([>#-]|\d+\.)", live, flags=re.MULTILINE), live
    assert not re.search(r"@(everyone|here)|<[@#/]", text)


def shown(expected: str, haystack: str) -> bool:
    """``expected`` appears whole, or as a word-boundary prefix + "…" (or a cut first word)."""
    if expected in haystack:
        return True
    first_space = expected.find(" ")
    for end in range(1, min(len(expected), 400)):
        at_boundary = expected[end] == " "
        first_word_cut = first_space == -1 or end < first_space
        if (at_boundary or first_word_cut) and expected[:end].rstrip() + "…" in haystack:
            return True
    return False


#: Discord's own OpenAPI spec, as the e2e stand-in keeps it (see its data/SOURCE.md)
SPEC = Path(__file__).parent / "discord_standin" / "data" / "openapi.json"


@functools.cache
def message_schema() -> jsonschema.Draft202012Validator | None:
    """The validator for a message create body, or None when the spec is not in the tree."""
    if not SPEC.exists():
        return None
    spec = json.loads(SPEC.read_text(encoding="utf-8"))
    schema = {"$ref": "#/components/schemas/MessageCreateRequest", "components": spec["components"]}
    return jsonschema.Draft202012Validator(schema)


def check_limits(payloads: list[dict[str, Any]]) -> None:
    assert payloads
    for payload in payloads:
        if validator := message_schema():
            assert [e.message for e in validator.iter_errors(payload)] == []
        assert set(payload) <= {"content", "embeds", "components"}
        assert payload.get("content") or payload.get("embeds"), "an empty message"
        rows = payload.get("components") or []
        assert len(rows) <= 5
        for row in rows:
            assert row["type"] == 1 and 1 <= len(row["components"]) <= 5
            for button in row["components"]:
                assert 1 <= len(button["label"]) <= 80 and len(button["custom_id"]) <= 100
        assert size(payload.get("content") or "") <= 2000
        embeds = payload.get("embeds", [])
        assert len(embeds) <= 10
        total = 0
        for embed in embeds:
            assert 0 < size(embed["title"]) <= 256
            assert 0 < size(embed["description"].strip()) <= 4096
            assert len(embed.get("fields", ())) <= 25
            for field in embed.get("fields", ()):
                assert 0 < size(field["name"].strip()) <= 256
                assert 0 < size(field["value"].strip()) <= 1024
            footer = (embed.get("footer") or {}).get("text", "")
            assert size(footer) <= 2048
            assert size((embed.get("author") or {}).get("name", "")) <= 256
            total += size(embed["title"]) + size(embed["description"]) + size(footer)
            thumb = (embed.get("thumbnail") or {}).get("url")
            assert thumb is None or (
                thumb.startswith(("https://", "http://")) and len(thumb) <= 2048
            )
            assert len(discord.Embed.from_dict(embed)) <= 6000
        assert total <= 6000


# --------------------------------------------------------------------------- strategies

NASTY = [
    "@everyone",
    "@here",
    "<@123456789012345678>",
    "<@&123>",
    "<#123>",
    "</cmd:1>",
    "**bold**",
    "__under__",
    "*it*",
    "~~gone~~",
    "||spoiler||",
    "`code`",
    "[x](javascript:alert(1))",
    "[Trusted](https://evil.example/x)",
    "[a](b) [c](https://evil.example)",
    "# Header",
    "> quote",
    "-# sub",
    "- item",
    "1. item",
    "\\",
    "\\*",
    "https://ok.example/a_b_(c)",
    "https://ok.example/**x**",
    "\n",
    "\x1b[31m",
    "😀🎉",
    "ß…",
    "\u202e",
    "]",
    "[",
]
word = st.text(
    alphabet=st.characters(exclude_categories=("Cs", "Cc", "Zs", "Zl", "Zp")),
    min_size=1,
    max_size=12,
)
long_word = st.text(alphabet="abcdefghijklmnopqrstuvwxyz", min_size=50, max_size=400)
# Long texts cheaply: a few random tokens, repeated up to 60 times (several thousand chars).
text = st.builds(
    lambda tokens, times: " ".join(tokens * times),
    st.lists(st.one_of(word, word, word, st.sampled_from(NASTY), long_word), max_size=12),
    st.one_of(st.just(1), st.integers(1, 120)),
)
short_text = st.lists(st.one_of(word, st.sampled_from(NASTY)), max_size=6).map(" ".join)
urls = st.one_of(
    st.none(),
    st.builds("https://news.example/{}/{}".format, st.integers(0, 10**6), word),
    st.just("javascript:alert(1)"),
    st.just("https://exa mple.example/a (b)"),
    st.builds(lambda n: "https://news.example/" + "a" * n, st.integers(1500, 2100)),
)


@st.composite
def stories(draw: st.DrawFn) -> Story:
    return Story(
        id=draw(st.integers(1, 10**6)),
        source_id=1,
        source_name=draw(short_text),
        url=draw(urls),
        title=draw(short_text),
        published=NOW - timedelta(seconds=draw(st.integers(-100, 10**7))),
        first_seen=NOW,
        headline=draw(text),
        lead=draw(text),
        points=tuple(draw(st.lists(text, max_size=4))),
        image=draw(urls),
        also_covered_by=tuple(draw(st.lists(short_text, max_size=5))),
    )


sections = st.builds(
    DigestSection,
    topic=st.sampled_from(["", "regulation", "models", "chips"]),
    title=short_text,
    stories=st.lists(stories(), min_size=1, max_size=5).map(tuple),
)
digests = st.builds(
    Digest,
    title=short_text,
    since=st.just(NOW - timedelta(days=1)),
    until=st.just(NOW),
    sections=st.lists(sections, max_size=5).map(tuple),
    more=st.lists(stories(), max_size=15).map(tuple),
    notice=st.one_of(st.none(), text),
)

# big examples: few of them, and no "explain" phase (its tracing is slow on Python 3.11)
SLOW = settings(
    max_examples=20,
    deadline=None,
    phases=[Phase.explicit, Phase.reuse, Phase.generate, Phase.target, Phase.shrink],
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)


def expected_headline(story: Story) -> str:
    return headline_of(story).replace("[", "(").replace("]", ")").replace("\u200b", "")


# --------------------------------------------------------------------------- properties


@SLOW
@given(digests)
def test_any_digest_renders_within_limits_and_inert(digest: Digest) -> None:
    payloads = render_digest(digest, now=NOW)
    check_limits(payloads)
    story_urls = {u for u in (http_url(s.url) for s in digest.stories) if u}
    for payload in payloads:
        for t in texts(payload):
            check_inert(t, story_urls)
    seen = unescape("\n".join(t for p in payloads for t in texts(p)))
    for story in digest.stories:
        assert shown(expected_headline(story), seen), expected_headline(story)[:80]
    assert "content" in payloads[0] and all("content" not in p for p in payloads[1:])
    for payload in payloads:
        payload_to_kwargs(payload)


@SLOW
@given(st.lists(stories(), max_size=12), st.integers(-2, 4), st.integers(1, 10))
def test_any_story_page_is_one_valid_message(
    story_list: list[Story], page: int, per_page: int
) -> None:
    payload = render_stories(
        story_list, title="Search: chips", now=NOW, page=page, per_page=per_page
    )
    check_limits([payload])
    assert len(payload["embeds"]) == 1
    story_urls = {u for u in (http_url(s.url) for s in story_list) if u}
    check_inert(payload["embeds"][0]["description"], story_urls)
    seen = unescape(payload["embeds"][0]["description"])
    page = min(max(0, page), max(0, (len(story_list) - 1) // per_page))
    for story in story_list[page * per_page : (page + 1) * per_page]:
        assert shown(expected_headline(story), seen)


@settings(max_examples=100, deadline=None)
@given(text, st.integers(0, 700))
def test_shorten_cuts_at_word_boundaries(raw: str, limit: int) -> None:
    raw = clean_text(raw)
    out = shorten(raw, limit)
    if out == escape(raw):
        assert size(out) <= limit or not raw
        return
    assert size(out) <= limit
    if not out:
        return
    assert out.endswith("…")
    prefix = unescape(out[:-1])
    kept = raw.replace("\u200b", "")
    assert kept.startswith(prefix)
    rest = kept[len(prefix) :]
    assert rest.startswith(" ") or " " not in prefix, "a word cut in the middle"


# --------------------------------------------------------------------------- examples


def story(n: int, **changes: object) -> Story:
    """The shared test story, with a thumbnail unless the test says otherwise."""
    return factories.story(n, **{"image": f"https://img.example.com/{n}.png", **changes})


def test_three_sections_read_like_a_briefing() -> None:
    d = make_digest(
        DigestSection("regulation", "Regulation", (story(1, image=None), story(2))),
        DigestSection("models", "Models", (story(3, also_covered_by=()),)),
        DigestSection("chips", "Chips", (story(4, url=None, image=None),)),
        more=(story(5, source_name="Reuters"), story(6, url="javascript:alert(1)")),
        notice="No stories in 24h; showing 7 days.",
    )
    [message] = render_digest(d, now=NOW)
    assert message["content"] == (
        "**AI news briefing** · 27 Nov, 08:00 UTC · 6 stories\nNo stories in 24h; showing 7 days."
    )
    regulation, models, chips, more = message["embeds"]
    assert [e["title"] for e in message["embeds"]] == [
        "Regulation",
        "Models",
        "Chips",
        "More stories",
    ]
    assert len({regulation["color"], models["color"], chips["color"]}) == 3
    assert regulation["description"].split("\n\n")[0] == "\n".join(
        [
            "**[Regulators open inquiry 1](https://example.com/news/1)**",
            "The agency said on Tuesday it would examine the deal.",
            "• The review takes 90 days.",
            "• Shares fell 2%.",
            "-# The Verge · 3h ago · +2 outlets (Wired, Ars Technica)",
        ]
    )
    # the first story with an image gives the thumbnail
    assert regulation["thumbnail"] == {"url": "https://img.example.com/2.png"}
    assert "thumbnail" not in chips
    assert models["description"].endswith("-# The Verge · 3h ago")
    assert chips["description"].startswith("**Regulators open inquiry 4**\n")  # no link without URL
    assert more["description"] == (
        "• [Regulators open inquiry 5](https://example.com/news/5) — Reuters\n"
        "• Regulators open inquiry 6 — The Verge"
    )
    kwargs = payload_to_kwargs(message)
    assert kwargs["content"] == message["content"]
    assert [e.title for e in kwargs["embeds"]] == ["Regulation", "Models", "Chips", "More stories"]
    assert kwargs["embeds"][0].thumbnail.url == "https://img.example.com/2.png"


def test_markdown_and_mentions_from_feeds_are_neutralised() -> None:
    evil = "@everyone [Login](https://evil.example) **now** <@123456789012345678> <@&42> <#7> __x__"
    s = story(1, headline=evil, lead="# " + evil, points=("> " + evil,), source_name="@here")
    d = make_digest(DigestSection("x", "News", (s,)), notice=evil)
    [message] = render_digest(d, now=NOW)
    everything = "\n".join(texts(message))
    assert "@everyone" not in everything and "@here" not in everything
    assert "@\u200beveryone" in everything
    assert "<@123" not in everything and "<@&42>" not in everything and "<#7>" not in everything
    description = message["embeds"][0]["description"]
    assert description.startswith(
        "**[@\u200beveryone (Login)(https\\://evil.example) \\*\\*now\\*\\* <\u200b@\u200b1234567"
    )
    assert "\n\\# @\u200beveryone \\[Login\\](https://evil.example) \\*\\*now\\*\\*" in description
    _, targets = live_markup(description)
    assert targets == ["https://example.com/news/1"]


def test_escape_examples() -> None:
    assert escape("a_b *c* ~~d~~ ||e|| `f`") == "a\\_b \\*c\\* \\~\\~d\\~\\~ \\|\\|e\\|\\| \\`f\\`"
    assert escape("# big\n> quote\n-# small\n1. one") == "\\# big\n\\> quote\n\\-# small\n1\\. one"
    assert escape("see https://x.example/a_b_c now") == "see https://x.example/a_b_c now"
    assert escape("[a](b) [c](https://evil)") == "\\[a\\](b) \\[c\\](https://evil)"


def test_long_digest_splits_across_messages_in_order() -> None:
    words = " ".join(f"w{i:04d}" for i in range(1200))
    big = [story(i, headline=f"Story {i:02d}", lead=words, points=(words,) * 4) for i in range(30)]
    more = tuple(story(100 + i, headline=f"More {i:03d} " + words[:150]) for i in range(200))
    d = make_digest(
        DigestSection("regulation", "Regulation", tuple(big[:20])),
        DigestSection("models", "Models", tuple(big[20:])),
        more=more,
    )
    payloads = render_digest(d, now=NOW)
    check_limits(payloads)
    assert len(payloads) > 1
    titles = [e["title"] for p in payloads for e in p["embeds"]]
    assert titles[0] == "Regulation" and "Regulation (cont.)" in titles
    assert "Models (cont.)" in titles and "More stories (cont.)" in titles
    joined = "\n".join(t for p in payloads for t in texts(p))
    order = [joined.index(f"Story {i:02d}") for i in range(30)]
    order += [joined.index(f"More {i:03d}") for i in range(200)]
    assert order == sorted(order)
    # long leads and points are shortened after a whole word, never inside one
    cuts = re.findall(r"(\S*)…", joined)
    assert cuts and all(re.fullmatch(r"w\d{4}", c) for c in cuts), set(cuts) - {""}
    # the Brief buttons (25 at most) go under the last message only
    assert [bool(p.get("components")) for p in payloads] == [False] * (len(payloads) - 1) + [True]
    ids = [b["custom_id"] for row in payloads[-1]["components"] for b in row["components"]]
    assert ids == [f"brief:{i}" for i in range(25)]


def test_an_over_limit_stored_payload_keeps_its_buttons_on_the_last_piece() -> None:
    (payload,) = render_digest(make_digest(DigestSection("models", "Models", (story(7),))), now=NOW)
    payload["content"] = "x " * 3000  # as if an older version had rendered it over the limit
    pieces = fit_payload(payload)
    assert len(pieces) > 1
    assert [bool(p.get("components")) for p in pieces] == [False] * (len(pieces) - 1) + [True]
    assert pieces[-1]["components"][0]["components"][0]["custom_id"] == "brief:7"


def test_huge_headline_keeps_its_link_and_loses_points_first() -> None:
    headline = " ".join(["Headline"] * 400)
    s = story(1, headline=headline, url="https://example.com/" + "p" * 2000)
    [message] = render_digest(make_digest(DigestSection("x", "News", (s,))), now=NOW)
    description = message["embeds"][0]["description"]
    assert description.startswith("**[Headline Headline")
    assert "…](https://example.com/ppp" in description
    page = render_stories([s] * 5, title="Search", now=NOW)
    check_limits([page])


def test_empty_digest_is_one_short_message() -> None:
    assert render_digest(make_digest(), now=NOW) == [
        {"content": "**AI news briefing** · 27 Nov, 08:00 UTC · no new stories"}
    ]


def test_story_pages() -> None:
    items = [story(i, snippet=f"matched term {i}") for i in range(12)]
    last = render_stories(items, title="Search: term", now=NOW, page=2)
    [embed] = last["embeds"]
    assert embed["title"] == "Search: term"
    assert embed["footer"] == {"text": "Page 3/3 · 12 stories"}
    assert embed["description"].count("**[") == 2
    assert "matched term 10" in embed["description"]
    assert render_stories(items, title="t", now=NOW, page=99) == last | {
        "embeds": [embed | {"title": "t"}]
    }
    empty = render_stories([], title="Search: nothing", now=NOW)
    assert empty["embeds"][0]["description"] == "No stories found."
    assert empty["embeds"][0]["footer"] == {"text": "Page 1/1 · 0 stories"}
