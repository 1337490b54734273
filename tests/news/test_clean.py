"""Cleaning feed bodies: structure, entities, and every named boilerplate pattern."""

from __future__ import annotations

import time

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.news.clean import BOILERPLATE, clean_text, clean_title

# one case per named pattern: (feed body, what the reader should get)
PATTERN_CASES: dict[str, tuple[str, str]] = {
    "post_appeared_first": (
        "<p>Chips got faster.</p><p>The post <a href='x'>Fast chips</a> appeared first on "
        "<a href='y'>Chip News</a>.</p>",
        "Chips got faster.",
    ),
    "originally_appeared": (
        "<p>Rates rose.</p><p>This article originally appeared on Example Times.</p>",
        "Rates rose.",
    ),
    "continue_reading": (
        "<p>The vote passed narrowly. <a href='#'>Continue reading...</a></p>",
        "The vote passed narrowly.",
    ),
    "read_more": ("<p>The vote passed. Read more »</p>", "The vote passed."),
    "bracketed_ellipsis": ("The vote passed in the end [&#8230;]", "The vote passed in the end"),
    "sign_up": (
        "<p>Markets fell. Sign up for our daily newsletter.</p>",
        "Markets fell.",
    ),
    "subscribe": ("<p>Markets fell.</p><p>Subscribe to our podcast!</p>", "Markets fell."),
    "click_here": ("Markets fell. Click here to read the report.", "Markets fell."),
    "browser_unsupported": (
        "<p>Your browser does not support the audio element.</p><p>Markets fell.</p>",
        "Markets fell.",
    ),
    "wire_dateline": (
        "SANTA CLARA, Calif., Dec. 02, 2025 (GLOBE NEWSWIRE) -- Today, AMD announced a deal.",
        "Today, AMD announced a deal.",
    ),
    "photo_credit_line": (
        "<p>Photo: Jane Roe/Reuters</p><p>Markets fell.</p>",
        "Markets fell.",
    ),
    "credit_line": ("<p>Markets fell.</p><p>Credit: NASA/JPL</p>", "Markets fell."),
    "photo_credit_inline": (
        "The rover landed (Image credit: NASA) on Tuesday.",
        "The rover landed on Tuesday.",
    ),
    "agency_credit": (
        "Protesters gathered outside (Getty Images) the parliament.",
        "Protesters gathered outside the parliament.",
    ),
    "byline": ("<p>By Jane Doe and John Roe</p><p>Markets fell.</p>", "Markets fell."),
    "share_line": ("<p>Markets fell.</p><p>Share | Tweet | Email</p>", "Markets fell."),
    "share_this": ("<p>Markets fell.</p><p>Share this article on Facebook</p>", "Markets fell."),
}


def test_every_pattern_has_a_case() -> None:
    assert {name for name, _ in BOILERPLATE} == set(PATTERN_CASES)


@pytest.mark.parametrize("name", sorted(PATTERN_CASES))
def test_pattern_removes_boilerplate(name: str) -> None:
    body, expected = PATTERN_CASES[name]
    assert clean_text(body) == expected


@pytest.mark.parametrize(
    "text",
    [
        "By 2030, the company expects to double output.",
        "Share prices fell sharply on Monday.",
        "Readers can read more about the ruling in the court's summary today.",
        "The senator said she would subscribe to any plan that cuts costs.",
        "Photographers waited outside (and so did the press) for hours.",
        "The source of the leak is unknown.",
    ],
)
def test_ordinary_sentences_survive(text: str) -> None:
    assert clean_text(text) == text


def test_blocks_become_paragraphs_and_lists_become_items() -> None:
    body = (
        "<h2>Update</h2><p>First <b>bold</b> para.</p><div>Second<br>line</div>"
        "<ul><li>One</li><li>Two</li></ul>"
    )
    assert clean_text(body) == "Update\n\nFirst bold para.\n\nSecond\nline\n\n- One\n\n- Two"


def test_scripts_styles_iframes_and_pixels_leave_no_trace() -> None:
    body = (
        "<style>p{color:red}</style><p>Kept.</p><script>track('x')</script>"
        "<iframe src='https://ads.example'>ad text</iframe><noscript>enable js</noscript>"
        "<img src='https://t.example/p.gif' width='1' height='1' alt='pixel'>"
        "<figure><img src='a.jpg'><figcaption>A caption here</figcaption></figure>"
    )
    assert clean_text(body) == "Kept."


def test_share_and_subscribe_blocks_are_dropped_by_class() -> None:
    body = (
        "<p>Kept.</p><div class='sharedaddy sd-sharing-enabled'><h3>Share this:</h3>"
        "<ul><li>Twitter</li></ul></div><div id='newsletter-signup'>Join 10,000 readers</div>"
        "<p class='wp-caption-text'>Photo by someone</p>"
    )
    assert clean_text(body) == "Kept."


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        ("AT&amp;T &amp; Verizon", "AT&T & Verizon"),
        ("It&#8217;s &quot;fine&quot;", 'It’s "fine"'),
        ("double &amp;#8217; and &amp;amp; escaped", "double ’ and & escaped"),
        ("<p>Caf&eacute; &mdash; open</p>", "Café — open"),
        ("no&nbsp;break\u200bzero", "no breakzero"),
    ],
)
def test_entities_are_decoded(body: str, expected: str) -> None:
    assert clean_text(body) == expected


def test_twice_escaped_markup_is_removed_but_prose_comparisons_stay() -> None:
    body = "&lt;p&gt;Rates rose.&lt;/p&gt;&lt;script&gt;x()&lt;/script&gt;"
    assert clean_text(body) == "Rates rose."
    assert clean_text("<p>if a&lt;b and c&gt;d then</p>") == "if a<b and c>d then"


def test_whitespace_is_normalised() -> None:
    assert clean_text("  a \t b\r\n\r\n\r\n\r\nc  ") == "a b\n\nc"


def test_broken_markup_and_empty_input() -> None:
    assert clean_text("") == ""
    assert clean_text("<p>unclosed <b>bold <i>text") == "unclosed bold text"
    assert clean_text("<html><body><p>Whole document.</p></body></html>") == "Whole document."
    assert clean_text("<!-- only a comment -->") == ""


def test_clean_title() -> None:
    assert clean_title("  Caf&eacute; <b>opens</b>\n again ") == "Café opens again"
    assert clean_title("Q&amp;amp;A &lt;b&gt;live&lt;/b&gt;") == "Q&A live"
    assert clean_title("Rates rise - Example News") == "Rates rise - Example News"
    assert clean_title("Rates rise - Example News", site="Example News") == "Rates rise"


def test_cleaning_is_fast() -> None:
    body = "".join(
        f"<p>Sentence {i} about the market, with <a href='#'>a link</a>.</p>" for i in range(40)
    )
    clean_text(body)
    t0 = time.perf_counter()
    for _ in range(20):
        clean_text(body)
    per_call = (time.perf_counter() - t0) / 20
    assert per_call < 0.01  # ~2.5 KB of HTML; well under a millisecond on a desktop


_html_bits = st.sampled_from(
    # a lone "<" is spaced: "<word<script>" is an element named "word<script" to browsers too
    [
        *("<p>", "</p>", "<br>", "<li>", "<script>x()</script>", "&amp;", "&#8230;", "&bogus;"),
        *(" < ", " > ", "<div class='share'>", "</div>", "<!--", "-->", " ", "\n", "word"),
        *("Read more", "é"),
    ]
)


@given(st.lists(_html_bits, max_size=40).map("".join))
def test_any_markup_gives_tidy_text(body: str) -> None:
    text = clean_text(body)
    assert "x()" not in text and "\x00" not in text and "\x01" not in text
    assert "\n\n\n" not in text and text == text.strip()
    assert all(line == " ".join(line.split()) for line in text.split("\n"))
