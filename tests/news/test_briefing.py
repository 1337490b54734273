"""The long briefing of one story: themed sections from every outlet, credited, no filler."""

from __future__ import annotations

import time
from dataclasses import replace
from datetime import timedelta

from bot.news.briefing import build_briefing
from bot.news.condense import content_words, near_duplicate
from bot.news.embed import load_embedder
from bot.news.points import filler_kind
from tests.factories import NOW, story

OUTLETS = ["Reuters", "The Verge", "Wired", "Ars Technica"]

#: four outlets on one story, each with sentences on three themes (the fine, the appeal,
#: the wider law) and the filler real feeds carry
TEXTS = [
    "The European Commission fined Acme €20 million on Monday under the AI Act.\n"
    "The fine is the first penalty issued under the new law.\n"
    "Acme said it would appeal the decision at the European Court of Justice.\n"
    "Lawyers expect the appeal to take at least two years.\n"
    "What does this mean for you?\n"
    "Sign up for our newsletter to get the latest news.",
    "Regulators in Brussels fined the chatbot maker Acme €20 million for hiding training data.\n"
    "Officials said the penalty was set at four percent of the company's European revenue.\n"
    "Acme's lawyers filed notice of an appeal within hours of the ruling.\n"
    "The AI Act requires general-purpose model makers to publish summaries of their data.\n"
    "It was a big day.\n"
    "The company is likely to...",
    "The fine against Acme marks the first enforcement of the AI Act since it took effect.\n"
    "Other model makers, including Mistral and Aleph Alpha, must publish data summaries by March.\n"
    "Industry groups warned that the transparency rules would slow European start-ups.\n"
    "Acme's chief executive told staff the appeal would argue the rules were unclear.\n"
    "We're thrilled to bring you this coverage!",
    "Acme will pay the €20 million fine unless the court suspends it during the appeal.\n"
    "The AI Office plans to audit three more model makers before the end of the year.\n"
    "Consumer groups welcomed the decision and asked for faster audits of large models.\n"
    "The European Parliament's rapporteur said the ruling showed the law had teeth.\n",
]


def cluster():
    return [
        story(
            i + 1,
            source_id=i + 1,
            source_name=outlet,
            cluster_id=1,
            published=NOW - timedelta(hours=5 - i),
            headline="EU fines chatbot maker Acme under the AI Act",
            lead=text.split("\n")[0],
            points=(),
            text=text,
        )
        for i, (outlet, text) in enumerate(zip(OUTLETS, TEXTS, strict=True))
    ]


def shown_sentences(briefing):
    out = list(briefing.points)
    for section in briefing.sections:
        out += [section.summary, *section.bullets]
    return out


def embedder():
    model = load_embedder()
    return model.embed if model is not None else None


def test_a_multi_outlet_story_gets_themed_sections_of_credited_facts() -> None:
    briefing = build_briefing(cluster(), 1, embed=embedder())
    assert briefing.headline == "EU fines chatbot maker Acme under the AI Act"
    assert briefing.lead
    assert briefing.outlets == tuple(OUTLETS)
    assert 2 <= len(briefing.sections) <= 5
    for section in briefing.sections:
        assert 0 < len(section.title) <= 60 and not section.title.endswith(".")
        assert 2 <= len(section.bullets) <= 3
    shown = shown_sentences(briefing)
    assert {b.outlet for b in shown} <= set(OUTLETS)
    assert len({b.outlet for b in shown}) >= 3  # built from every outlet, not one
    for bullet in shown:  # each a full sentence from its own outlet's text
        source = next(s for s in cluster() if s.source_name == bullet.outlet)
        assert bullet.text in source.text
        assert filler_kind(bullet.text) is None, bullet.text


def test_no_sentence_is_said_twice() -> None:
    briefing = build_briefing(cluster(), 1, embed=embedder())
    texts = [briefing.lead] + [b.text for b in shown_sentences(briefing)]
    words = [content_words(t) for t in texts]
    assert len(texts) == len(set(texts))
    for i, a in enumerate(words):
        for b in words[i + 1 :]:
            assert not near_duplicate(a, b)


def test_a_story_of_one_outlet_gets_its_points_and_no_sections() -> None:
    one = story(
        7,
        source_name="Reuters",
        cluster_id=7,
        points=("The review takes 90 days.", "Shares fell 2%."),
        text=TEXTS[0],
    )
    briefing = build_briefing([one], 7, embed=embedder())
    assert briefing.sections == ()
    assert [p.text for p in briefing.points] == ["The review takes 90 days.", "Shares fell 2%."]
    assert {p.outlet for p in briefing.points} == {"Reuters"}
    assert briefing.outlets == ("Reuters",)


def test_two_short_outlets_give_points_not_made_up_sections() -> None:
    stories = cluster()[:2]
    short = [replace(s, text="\n".join(s.text.split("\n")[:2])) for s in stories]
    briefing = build_briefing(short, 1, embed=embedder())
    assert briefing.sections == ()
    assert 1 <= len(briefing.points) <= 5


def test_a_huge_page_is_read_quickly_and_only_in_full_sentences() -> None:
    huge = "The regulator published a long decision with many findings about the company. " * 20_000
    stories = cluster()
    stories[0] = replace(stories[0], text=huge + "\n" + TEXTS[0])
    start = time.perf_counter()
    briefing = build_briefing(stories, 1, embed=embedder())
    assert time.perf_counter() - start < 2.0
    assert all(filler_kind(b.text) is None for b in shown_sentences(briefing))


def test_recent_stories_are_related_dated_and_teased_in_two_sentences() -> None:
    related = story(
        20,
        source_name="Wired",
        cluster_id=20,
        headline="AI Act: the EU names the first model makers it will audit",
        lead="The AI Office will audit general-purpose model makers under the AI Act this year.",
        points=("The audits check the training data summaries the law requires.",),
        published=NOW - timedelta(days=2),
    )
    unrelated = story(
        21,
        cluster_id=21,
        headline="Football club sacks its manager after five straight defeats",
        lead="The club announced the decision after Saturday's loss at home.",
        points=(),
    )
    briefing = build_briefing(cluster(), 1, embed=embedder(), recent=[related, unrelated])
    assert [t.story_id for t in briefing.recent] == [20]
    teaser = briefing.recent[0]
    assert teaser.published == related.published
    assert teaser.teaser == f"{related.lead} {related.points[0]}"
