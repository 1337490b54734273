"""Sentence splitting: one test per rule a news reader would notice when broken."""

from __future__ import annotations

import pytest

from bot.news.sentences import split_sentences


@pytest.mark.parametrize(
    ("rule", "text", "expected"),
    [
        ("plain stops", "It rained. Then it stopped.", ["It rained.", "Then it stopped."]),
        (
            "Mr. Dr.",
            "Mr. Smith met Dr. Jones. They talked.",
            ["Mr. Smith met Dr. Jones.", "They talked."],
        ),
        (
            "U.S. inside",
            "The U.S. economy grew. Jobs rose.",
            ["The U.S. economy grew.", "Jobs rose."],
        ),
        (
            "U.S. at the end",
            "He moved to the U.S. The rest followed.",
            ["He moved to the U.S.", "The rest followed."],
        ),
        (
            "e.g. i.e.",
            "Fruit, e.g. apples, i.e. red ones. Done.",
            ["Fruit, e.g. apples, i.e. red ones.", "Done."],
        ),
        (
            "Inc. Corp. mid",
            "Apple Inc. Chief Tim Cook and Acme Corp. Chairman spoke.",
            ["Apple Inc. Chief Tim Cook and Acme Corp. Chairman spoke."],
        ),
        (
            "Inc. at the end",
            "It was bought by Apple Inc. The deal closed.",
            ["It was bought by Apple Inc.", "The deal closed."],
        ),
        (
            "vs.",
            "Arsenal vs. Chelsea ended 2-1. Fans cheered.",
            ["Arsenal vs. Chelsea ended 2-1.", "Fans cheered."],
        ),
        (
            "No.",
            "It was ranked No. 1 again. Rivals fell.",
            ["It was ranked No. 1 again.", "Rivals fell."],
        ),
        ("Jan.", "Sales on Jan. 5 rose. Profits fell.", ["Sales on Jan. 5 rose.", "Profits fell."]),
        (
            "St.",
            "They met at St. Paul's Cathedral. It rained.",
            ["They met at St. Paul's Cathedral.", "It rained."],
        ),
        (
            "decimals",
            "Growth was 3.5 percent. Prices rose 0.2%.",
            ["Growth was 3.5 percent.", "Prices rose 0.2%."],
        ),
        (
            "versions",
            "GPT-4.5 beats v2.1 easily. Tests agree.",
            ["GPT-4.5 beats v2.1 easily.", "Tests agree."],
        ),
        ("quote ends", 'He said "Stop." Then he left.', ['He said "Stop."', "Then he left."]),
        ("quote goes on", '"Stop!" he said. She did.', ['"Stop!" he said.', "She did."]),
        (
            "initials",
            "J. R. R. Tolkien wrote it. George W. Bush read it.",
            ["J. R. R. Tolkien wrote it.", "George W. Bush read it."],
        ),
        (
            "ellipsis goes on",
            "Wait... what happened? Nobody knew.",
            ["Wait... what happened?", "Nobody knew."],
        ),
        ("ellipsis ends", "He paused… Then he spoke.", ["He paused…", "Then he spoke."]),
        (
            "URLs",
            "See https://example.com/a.b?c=1&d=2. Then go.",
            ["See https://example.com/a.b?c=1&d=2.", "Then go."],
        ),
        ("! and ?", "Really? Yes! It is true.", ["Really?", "Yes!", "It is true."]),
        ("lines", "Heading\nFirst line. Second line.", ["Heading", "First line.", "Second line."]),
        ("CJK stops", "市场上涨。投资者乐观！", ["市场上涨。", "投资者乐观！"]),
        ("no stop at all", "just words without an end", ["just words without an end"]),
    ],
)
def test_rule(rule: str, text: str, expected: list[str]) -> None:
    assert split_sentences(text) == expected, rule


def test_blank_text_has_no_sentences() -> None:
    assert split_sentences("") == []
    assert split_sentences(" \n\n \t") == []


def test_sentences_keep_every_word_in_order() -> None:
    text = "Mr. A. B. Cee said 3.5 is fine... Really? Yes! The U.S. Inc. Co. No. 9 vs. e.g. end."
    assert " ".join(split_sentences(text)).split() == text.split()


def test_a_heading_run_into_the_next_sentence_is_split_off() -> None:
    assert split_sentences("Key takeaways Alexa+ answers the door. It works.") == [
        "Key takeaways",
        "Alexa+ answers the door.",
        "It works.",
    ]
    assert split_sentences("The Name That Stuck The journey to OpenClaw was long.") == [
        "The Name That Stuck",
        "The journey to OpenClaw was long.",
    ]
    assert split_sentences("Last updated: December 4, 2025 AWS unveiled new chips.") == [
        "Last updated: December 4, 2025",
        "AWS unveiled new chips.",
    ]


def test_titles_and_names_after_a_word_stay_in_the_sentence() -> None:
    for sentence in (
        "He told The Verge that the film A Quiet Place was the best of the year.",
        "The piece ran in The New York Times on Monday.",
        "She said: The new rules start in May.",
        "The streamer said Warner Bros.' Batman podcast will debut on May 3rd.",
    ):
        assert split_sentences(sentence) == [sentence]
