"""The fast paths of cleaning and condensing give exactly what the plain code would.

clean_text, split_sentences and condense run for every new story, so their hot spots are
written for speed (str.replace instead of split/join, byte searches, regexes the engine
can skip through). Each test here compares one of them with the straightforward version
it replaces, on text made to hit its corner cases: every kind of Unicode space and line
break, characters that lower-case into ASCII, boilerplate at line starts.
"""

from __future__ import annotations

import re

from hypothesis import given, settings
from hypothesis import strategies as st

from bot.news import boilerplate, clean, condense, sentences

_SPACES = [chr(c) for c in range(0x3001) if chr(c).isspace()]
_TRICKY = ["İ", "K", "Σ", "ς", "ß", "é", "’", "“", "—", "…", "\xa0", "中文", "。", "ภา", "_", "٣"]
_WORDS = [
    *("Share", "Tweet", "X", "Save", "Copy link", "Follow us on", "Photo:", "Image source:"),
    *("Credit:", "Source:", "Video:", "By Jane Roe", "Read more", "Sign up for", "[…]"),
    *("(Getty Images)", "(AP Photo/Jo)", "/EPA)", "(Image credit: X)", "Listen to article"),
    *("(GLOBE NEWSWIRE) -- ", "NEW YORK, May 1 ", "The post", "appeared first on", "Mr."),
    *("U.S.", "Inc.", "No. 5", "3.5", "a", "word", "Apple", ".", ",", ";", ":", "!", "?", "-"),
    *(" – ", "（", "，", "、", "\x00", "\x7f", "\u00ad", "\u200b", "\ufeff", "\r\n"),
]
_piece = st.one_of(
    st.sampled_from(_WORDS), st.sampled_from(_SPACES), st.sampled_from(_TRICKY), st.text()
)
_text = st.lists(_piece, max_size=50).map("".join)
_fast = settings(max_examples=150, deadline=None)


def _reference_normalise(text: str) -> str:
    lines = [" ".join(line.split()) for line in text.splitlines()]
    return re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip()


def test_space_tables_match_python() -> None:
    wide = {*clean._ASCII_SPACES, *clean._WIDE_SPACES}
    assert wide | {" ", "\n"} == {chr(c) for c in range(0x110000) if chr(c).isspace()}
    breaks = {ch for ch in wide if len(f"a{ch}b".splitlines()) == 2}
    assert breaks == set(clean._LINE_BREAKS)


@_fast
@given(_text)
def test_whitespace_tidying(text: str) -> None:
    assert clean._squeeze_spaces(text) == " ".join(text.split())
    assert clean._normalise(text) == _reference_normalise(text)
    assert clean._strip_invisible(text) == clean._INVISIBLE.sub("", text)


@_fast
@given(_text)
def test_boilerplate_triggers_and_removal(text: str) -> None:
    text = clean._normalise(text)  # what clean_text hands to them
    lowered = "\n" + text.lower()
    expected = {
        name for name, words in boilerplate._TRIGGERS.items() if any(w in lowered for w in words)
    }
    assert boilerplate.triggered(text) == expected
    for name, pattern in boilerplate.BOILERPLATE:
        assert boilerplate.remove_pattern(name, pattern, text) == pattern.subn("", text), name


@_fast
@given(st.lists(_text.map(lambda t: t.replace("\n", " ").replace("\r", " ")), max_size=6))
def test_words_and_digits(texts: list[str]) -> None:
    for text, (words, digit) in zip(texts, condense._word_sets(texts), strict=True):
        assert words == condense._lowered_content_words(text.lower())
        assert digit == (re.search(r"\d", text) is not None)
        assert condense.content_words(text) == words


@_fast
@given(_text, st.integers(2, 120))
def test_clause_search_starts_late_but_finds_the_same(text: str, budget: int) -> None:
    half = budget // 2
    everywhere = [m.start() for m in condense._CLAUSE.finditer(text, 0, budget)]
    late = [
        m.start()
        for m in condense._CLAUSE.finditer(text, condense._clause_scan_start(text, half), budget)
    ]
    assert [s for s in everywhere if s >= half] == [s for s in late if s >= half]


@_fast
@given(_text)
def test_sentence_end_regex_is_the_plain_one(text: str) -> None:
    plain = re.compile(r"((?:[.!?]+|…)[\"'”’»)\]]*)\s+(?=\S)")
    assert [m.span(1) for m in sentences._END.finditer(text)] == [
        m.span(1) for m in plain.finditer(text)
    ]
