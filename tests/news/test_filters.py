"""Filters: parsing what a user types, whole-word matching, patterns with a time limit."""

from __future__ import annotations

import time

import pytest

from bot.news.filters import FilterError, Filters, parse_terms
from bot.news.matcher import REGEX_TIMEOUT_S, FilterSet, PatternTimeout, removed_counts
from tests.factories import story


def keeps(filters: Filters, **fields) -> bool:
    s = story(1, **{"lead": "", "points": (), **fields})
    kept, _ = FilterSet(filters).representatives([s])
    return bool(kept)


def include(text: str, headline: str) -> bool:
    return keeps(Filters.from_text(include=text), headline=headline)


# --------------------------------------------------------------------------- parsing


def test_commas_spaces_and_quotes_make_terms() -> None:
    assert parse_terms('crypto, NFT "open weights" re:gpt-\\d') == (
        "crypto",
        "NFT",
        "open weights",
        "re:gpt-\\d",
    )
    assert parse_terms('re:"chips? (act|law)", x') == ("re:chips? (act|law)", "x")


@pytest.mark.parametrize("text", ["", "   ", ",", ' "" , '])
def test_an_empty_filter_is_refused_with_a_sentence(text: str) -> None:
    with pytest.raises(FilterError, match="include filter is empty"):
        Filters.from_text(include=text)


def test_unclosed_quote_and_bad_pattern_are_refused() -> None:
    with pytest.raises(FilterError, match="never closed"):
        parse_terms('"open weights')
    with pytest.raises(
        FilterError,
        match=r"re:\(chips in the exclude filter is not a valid regular expression: missing \)",
    ):
        Filters.from_text(exclude="re:(chips")
    with pytest.raises(FilterError, match="empty re: pattern"):
        Filters.from_text(include="re:")
    with pytest.raises(FilterError, match="sources filter is empty"):
        Filters.from_text(sources=" , ")


def test_json_round_trip_and_no_filters_is_empty_json() -> None:
    f = Filters(
        include=("open weights", "re:gpt-\\d"),
        exclude=("crypto",),
        sources=("The Verge", "-Reddit"),
        min_outlets=3,
        max_stories=5,
    )
    assert Filters.from_json(f.to_json()) == f
    assert Filters().to_json() == "{}"
    assert Filters.from_json(None) == Filters() == Filters.from_json("")
    assert not Filters() and f


def test_described_in_words() -> None:
    f = Filters.from_text(
        include='chips "open weights"', exclude="crypto", sources="Wired, -Reddit", min_outlets=2
    )
    assert f.describe() == (
        "mentions “chips” or “open weights” · never “crypto” · only from Wired"
        " · never from Reddit · covered by 2+ outlets"
    )
    assert Filters().describe() == ""


# --------------------------------------------------------------------------- words


def test_whole_words_not_substrings() -> None:
    assert include("AI", "Meta bets on AI chips")
    assert not include("AI", "The company said it would appeal")
    assert include("AI", "AI-powered search arrives")  # a hyphen ends a word
    assert include("AI", "OpenAI’s rival: AI")
    assert not include("chip", "Chipmakers rally")


def test_case_and_accents_do_not_matter() -> None:
    assert include("cafe", "Le CAFÉ du commerce adopte l'IA")
    assert include("Zürich", "Startup from ZURICH raises money")
    assert include("straße", "Strasse closed for a robotaxi test")


def test_phrases_match_words_in_order_only() -> None:
    assert include('"open weights"', "Lab releases open  weights model")
    assert not include('"open weights"', "Weights open to the public")
    assert not keeps(
        Filters.from_text(include='"open weights"'), headline="Lab goes open", lead="Weights too"
    )  # never across fields


def test_terms_with_symbols() -> None:
    assert include("C++", "Why C++ still rules inference kernels")
    assert not include("C++", "Why C still rules")
    assert include("GPT-4o", "GPT-4o gets a voice mode")
    assert not include("GPT-4o", "GPT-4omni is not a model")


def test_include_and_exclude_look_at_lead_and_points() -> None:
    f = Filters.from_text(exclude="crypto, NFT")
    assert not keeps(f, headline="Market news", points=("NFT sales fell.",))
    assert not keeps(f, headline="Market news", lead="Crypto miners buy GPUs.")
    assert keeps(f, headline="Market news", lead="Cryptography research award.")


def test_patterns_are_case_insensitive_and_accent_blind() -> None:
    assert include(r"re:gpt-\d", "OpenAI ships GPT-5")
    assert include("re:caf[eé]s?", "Cafés adopt robots")
    assert not include(r"re:gpt-\d", "GPT-x leaked")


# --------------------------------------------------------------------------- the other filters


def test_sources_by_name_or_id_only_or_never() -> None:
    verge = story(1, source_id=1, source_name="The Verge")
    wired = story(2, source_id=2, source_name="Wired")
    only = FilterSet(Filters.from_text(sources="the verge"))
    assert [s.id for s in only.representatives([verge, wired])[0]] == [1]
    never = FilterSet(Filters.from_text(sources="-2"))
    kept, removed = never.representatives([verge, wired])
    assert [s.id for s in kept] == [1]
    assert removed_counts(removed) == (("sources", 1),)


def test_a_cluster_is_shown_through_an_allowed_outlet() -> None:
    verge = story(1, source_id=1, source_name="The Verge", cluster_id=7, also_covered_by=())
    wired = story(2, source_id=2, source_name="Wired", cluster_id=7, also_covered_by=())
    kept, removed = FilterSet(Filters.from_text(sources="-The Verge")).representatives(
        [verge, wired]
    )
    assert [s.source_name for s in kept] == ["Wired"]
    assert removed_counts(removed) == ()  # the story is still there


def test_min_outlets_uses_the_outlet_count() -> None:
    f = Filters(min_outlets=3)
    assert keeps(f, other_outlets=2, also_covered_by=())
    assert not keeps(f, other_outlets=1, also_covered_by=())


def test_each_removed_story_is_counted_under_the_first_filter_that_removed_it() -> None:
    stories = [
        story(1, source_name="Reddit", source_id=9, headline="AI chips"),
        story(2, headline="Crypto AI chips"),
        story(3, headline="Robots"),
        story(4, headline="AI chips", also_covered_by=()),
        story(5, headline="AI chips, widely covered"),
    ]
    f = Filters.from_text(include="chips", exclude="crypto", sources="-Reddit", min_outlets=2)
    kept, removed = FilterSet(f).representatives(stories)
    assert [s.id for s in kept] == [5]
    assert removed_counts(removed) == (
        ("sources", 1),
        ("include", 1),
        ("exclude", 1),
        ("min_outlets", 1),
    )


def test_max_stories_caps_the_lead_stories() -> None:
    assert FilterSet(Filters(max_stories=3)).lead_limit(8) == 3
    assert FilterSet(Filters()).lead_limit(8) == 8


# --------------------------------------------------------------------------- patterns that stall


CATASTROPHIC = "re:(a|aa)+$"


def test_a_catastrophic_pattern_is_cut_off_and_not_run_again() -> None:
    stories = [story(i, headline="a" * 40 + "!", lead="", points=()) for i in range(1, 21)]
    fs = FilterSet(Filters.from_text(include=CATASTROPHIC))
    start = time.perf_counter()
    kept, removed = fs.representatives(stories)
    elapsed = time.perf_counter() - start
    # one timeout for the digest, not one per story (20 x 50 ms would be a second)
    assert elapsed < REGEX_TIMEOUT_S * 5
    assert kept == [] and removed_counts(removed) == (("include", 20),)
    assert fs.timed_out == [CATASTROPHIC]


def test_strict_matching_turns_a_timeout_into_a_sentence() -> None:
    fs = FilterSet(Filters.from_text(include=CATASTROPHIC), strict=True)
    with pytest.raises(PatternTimeout, match=r"took longer than 50 ms.*simpler pattern"):
        fs.representatives([story(1, headline="a" * 40 + "!")])


def test_an_edited_story_is_matched_on_its_new_text() -> None:
    f = FilterSet(Filters.from_text(exclude="crypto"))
    assert f.representatives([story(77, headline="Chips news")])[0]
    edited = FilterSet(Filters.from_text(exclude="crypto"))  # the next digest, same story id
    assert not edited.representatives([story(77, headline="Chips news, now with crypto")])[0]
