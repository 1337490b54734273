"""Key points carry facts: what a reader would skip never becomes a point.

Each test feeds condense() a story the way a feed gives it and checks what the reader of
the briefing sees.
"""

from __future__ import annotations

from bot.news.condense import condense

LEAD = "Acme Corp. said on Tuesday it would cut 1,200 jobs as demand for its robots slowed."
FACT = "Chief executive Jane Roe said the cuts would save $80m a year."


def _points(*sentences: str) -> tuple[str, ...]:
    return condense("Acme to cut 1,200 jobs", " ".join((LEAD, *sentences))).points


def test_a_question_is_never_a_point() -> None:
    points = _points("Will the other robot makers follow the same path this year?", FACT)
    assert points == (FACT,)


def test_first_person_marketing_is_never_a_point() -> None:
    points = _points(
        "We're excited to announce our new robot arm for small workshops.",
        "Today we are thrilled to share what the team has been building.",
        FACT,
    )
    assert points == (FACT,)


def test_a_truncated_teaser_sentence_is_never_a_point() -> None:
    points = _points(FACT, "The company also plans to close two of its plants in the state of…")
    assert points == (FACT,)
    teaser = _points(FACT, "Analysts at Example Bank expect further cuts in the coming [...]")
    assert teaser == (FACT,)


def test_a_long_sentence_is_skipped_rather_than_cut_into_a_point() -> None:
    long = "The plan, " + ", ".join(["which unions oppose strongly"] * 12) + ", starts in May."
    points = _points(long, FACT)
    assert points == (FACT,)
    assert not any(p.endswith("…") for p in points)


def test_a_story_with_only_filler_gets_no_points() -> None:
    c = condense(
        "Acme to cut 1,200 jobs",
        " ".join(
            (
                LEAD,
                "What does this mean for workers?",
                "Here are a few ways they're inspiring us.",
                "Read more about the plan on our blog.",
                "Sign up for our newsletter to get updates.",
                "Big news.",
                "It is…",
            )
        ),
    )
    assert c.lead == LEAD
    assert c.points == ()


def test_a_sentence_leaning_on_an_unseen_referent_is_skipped() -> None:
    points = _points(
        "They rolled out the new robots across every plant last spring.",
        "This is the third round of cuts in two years at the company.",
        FACT,
    )
    assert points == (FACT,)


def test_it_is_replaced_by_the_lead_s_named_subject_when_that_subject_acts() -> None:
    points = _points("It said the cuts would save $80m a year in labour costs.")
    assert points == ("Acme Corp. said the cuts would save $80m a year in labour costs.",)


def test_it_is_skipped_when_its_referent_is_not_certain() -> None:
    c = condense(
        "Robots slow down",
        "Demand for factory robots slowed sharply in Europe this year. "
        "It fell by 12% in the third quarter alone, the trade group said.",
    )
    assert c.points == ()


def test_a_linking_word_is_dropped_and_the_claim_kept() -> None:
    points = _points("Also, the company will open a new plant in Texas in 2026.")
    assert points == ("The company will open a new plant in Texas in 2026.",)


def test_an_attributed_quote_is_a_point() -> None:
    quote = "“It is a painful but necessary step for the business,” said Jane Roe."
    assert _points(quote) == (quote,)


def test_a_short_fragment_is_not_a_point_but_a_short_figure_is() -> None:
    points = _points("Programming sucks.", "Shares rose 4% on Tuesday.")
    assert points == ("Shares rose 4% on Tuesday.",)


def test_points_add_to_the_lead_rather_than_repeat_it() -> None:
    points = _points("Acme said it would cut 1,200 jobs because robot demand slowed.", FACT)
    assert points == (FACT,)


def test_instructions_and_the_readers_you_are_not_points_but_a_quoted_you_is() -> None:
    """From the README picture: tips and how-tos spoke to the reader as key points."""
    points = _points(
        "Break down technical or scientific topics with visualizations.",
        "Choose your research style with NotebookLM.",
        "As the browser agent helps you get more done, it also becomes a bigger target.",
        "“You cannot regulate what you cannot measure,” the commissioner said.",
        FACT,
    )
    assert points == (
        "“You cannot regulate what you cannot measure,” the commissioner said.",
        FACT,
    )
