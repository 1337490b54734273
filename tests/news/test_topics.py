"""Topic tagging: phrase rules, exclusions, admin taxonomies, the embedding fallback."""

from __future__ import annotations

import json
import logging
import socket
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from bot.news import embed
from bot.news.topics import DEFAULT_TOPICS, Tagger, TaxonomyError, Topic, taxonomy_from_config

DEVSET = Path(__file__).resolve().parent.parent / "data" / "devset" / "topics.jsonl"

CHIPS = Topic("infrastructure", "Infrastructure", "", ("chip", "data center"), ("potato chip",))
AI = Topic("ai", "AI", "", ("AI",))


def phrases_only(*topics: Topic) -> Tagger:
    return Tagger(topics, embeddings=False)


def test_phrase_matches_whole_words_only() -> None:
    tagger = phrases_only(CHIPS)
    assert tagger.tag("Nvidia shows a new chip", "") == ("infrastructure",)
    assert tagger.tag("Chipotle adds voice ordering", "Microchipped pets are on the rise") == ()


def test_plural_and_hyphen_variants_match() -> None:
    tagger = phrases_only(CHIPS)
    assert tagger.tag("Two new chips", "") == ("infrastructure",)
    assert tagger.tag("A data-center boom in Ohio", "") == ("infrastructure",)


def test_capitalised_phrase_is_case_sensitive() -> None:
    tagger = phrases_only(AI)
    assert tagger.tag("He said the rain would stop", "Aid was sent.") == ()
    assert tagger.tag("New AI rules", "") == ("ai",)


def test_exclusion_vetoes_the_topic() -> None:
    tagger = phrases_only(CHIPS)
    assert tagger.tag("Potato chip maker builds a new chip plant", "") == ()


def test_title_phrase_ranks_above_lead_phrase() -> None:
    a = Topic("a", "A", "", ("alpha",))
    b = Topic("b", "B", "", ("beta",))
    tagger = phrases_only(a, b)
    assert tagger.tag("Beta news", "Some alpha in the lead.") == ("b", "a")


def test_at_most_three_topics_best_first() -> None:
    topics = [Topic(n, n, "", (n,)) for n in ("one", "two", "three", "four", "five")]
    tagger = phrases_only(*topics)
    tags = tagger.tag("one two three four five", "five four")
    assert len(tags) == 3
    assert tags[:2] == ("four", "five")  # title and lead both matched


def test_tag_many_agrees_with_tag() -> None:
    tagger = Tagger(DEFAULT_TOPICS)
    items = [
        ("Taiwan places export controls on Huawei", "Chinese firms may struggle to get AI chips."),
        ("Mistral raises €3B in Series D", "The French lab is valued at €21 billion."),
        ("", ""),
    ]
    assert tagger.tag_many(items) == [tagger.tag(t, x) for t, x in items]
    assert tagger.tag("", "") == ()


def test_default_taxonomy_tags_typical_headlines() -> None:
    tagger = Tagger(DEFAULT_TOPICS)
    assert "regulation" in tagger.tag("Seattle Times sues OpenAI for copyright infringement", "")
    assert "business" in tagger.tag("Cognition hits $48B valuation in new funding round", "")
    assert "safety" in tagger.tag("Hackers exploit a prompt injection flaw in an AI agent", "")


@pytest.mark.parametrize(
    ("title", "topic"),
    [
        ("Attorneys general warn chatbot makers over their apps", "regulation"),
        ("Ofcom opens an inquiry into AI companion apps", "regulation"),
        ("A judge grants an injunction against the scraper", "regulation"),
        ("Sequoia-backed startup poaches Google's head of AI", "business"),
        ("Chip designer files for bankruptcy", "business"),
        ("GB300 racks arrive with liquid cooling", "infrastructure"),
        ("Hyperscalers sign power plant deals", "infrastructure"),
        ("Scammers clone voices with AI to fool relatives", "safety"),
        ("Models show sycophancy and scheming in new tests", "safety"),
        ("OpenAI's gpt-oss gets a smaller sibling", "open-source"),
        ("Lab releases the weights of its vision model", "open-source"),
        ("Preprint claims a faster route to theorem proving", "research"),
        ("Gemini rolled out to the Chrome browser", "products"),
        ("Entry-level hiring falls as employers adopt AI", "society"),
        ("Musicians and writers push back on AI music", "society"),
    ],
)
def test_default_taxonomy_knows_common_ai_news_vocabulary(title: str, topic: str) -> None:
    assert topic in phrases_only(*DEFAULT_TOPICS).tag(title, "")


def test_security_researchers_are_safety_not_research() -> None:
    tags = phrases_only(*DEFAULT_TOPICS).tag("Security researchers find a data breach", "")
    assert "safety" in tags
    assert "research" not in tags


def test_custom_taxonomy_extends_default() -> None:
    topics = taxonomy_from_config(
        [
            {
                "name": "robotics",
                "title": "Robots",
                "description": "Robots.",
                "phrases": ["humanoid"],
            },
            {"name": "safety", "phrases": ["kidnapped robot"]},
        ],
        extend_default=True,
    )
    names = [t.name for t in topics]
    assert names[: len(DEFAULT_TOPICS)] == [t.name for t in DEFAULT_TOPICS]
    assert names[-1] == "robotics"
    safety = next(t for t in topics if t.name == "safety")
    assert "kidnapped robot" in safety.phrases and "deepfake" in safety.phrases
    assert Tagger(topics, embeddings=False).tag("A humanoid that folds laundry", "") == (
        "robotics",
    )


def test_custom_taxonomy_replaces_default() -> None:
    topics = taxonomy_from_config([{"name": "chips", "phrases": ["wafer"]}], extend_default=False)
    assert [(t.name, t.title) for t in topics] == [("chips", "Chips")]


def test_bad_taxonomy_lists_every_problem() -> None:
    with pytest.raises(TaxonomyError) as err:
        taxonomy_from_config(
            [
                {"name": "Bad Name", "phrases": ["x"]},
                {"name": "ok", "phrases": "not a list", "colour": "red"},
                {"name": "ok", "phrases": ["y"]},
                {"name": "empty"},
                "nonsense",
            ],
            extend_default=False,
        )
    text = str(err.value)
    assert isinstance(err.value, ValueError)
    assert "topics[0].name" in text
    assert "topics[1] (ok).phrases: must be a list" in text
    assert "topics[1].colour: unknown key" in text
    assert "topics[2] (ok): duplicate" in text
    assert "topics[3] (empty): needs phrases or a description" in text
    assert "topics[4]: must be a table" in text
    assert len(err.value.problems) == 6


def test_falls_back_to_phrases_with_one_warning(monkeypatch, caplog) -> None:
    def broken() -> None:
        raise FileNotFoundError("weights missing")

    monkeypatch.setattr(embed, "_load", broken)
    monkeypatch.setattr(embed, "_loaded", {})
    with caplog.at_level(logging.WARNING):
        first = Tagger(DEFAULT_TOPICS)
        second = Tagger(DEFAULT_TOPICS)
    assert not first.uses_embeddings and not second.uses_embeddings
    assert len([r for r in caplog.records if "wordllama" in r.getMessage()]) == 1
    assert "infrastructure" in first.tag("Nvidia unveils a new GPU", "")


def test_model_loads_without_network(monkeypatch) -> None:
    def no_network(*args, **kwargs):
        raise AssertionError("wordllama tried to open a network connection")

    monkeypatch.setattr(socket.socket, "connect", no_network)
    embedder = embed._load()
    vecs = embedder.embed(["GPU shortage hits data centers", ""])
    assert vecs.shape == (2, embed.DIM)
    assert abs(float(vecs[0] @ vecs[0]) - 1.0) < 1e-4
    assert not vecs[1].any()


def test_devset_held_out_quality_does_not_regress() -> None:
    rows = [json.loads(line) for line in DEVSET.read_text(encoding="utf-8").splitlines()]
    rows = [r for r in rows if r["split"] == "test"]
    tagger = Tagger(DEFAULT_TOPICS)
    predicted = tagger.tag_many([(r["title"], r["summary"]) for r in rows])
    f1s = []
    for t in DEFAULT_TOPICS:
        tp = sum(
            t.name in p and t.name in r["topics"] for p, r in zip(predicted, rows, strict=True)
        )
        fp = sum(
            t.name in p and t.name not in r["topics"] for p, r in zip(predicted, rows, strict=True)
        )
        fn = sum(
            t.name not in p and t.name in r["topics"] for p, r in zip(predicted, rows, strict=True)
        )
        f1s.append(2 * tp / (2 * tp + fp + fn) if tp else 0.0)
    # measured 0.780 on the 219 held-out rows with the trained head (bench/tagging.py;
    # 0.779 with session 4's, 0.786 with the session-3 head trained on a third of the rows;
    # 0.752 with the hand-set weights alone); 0.80 is the goal
    assert sum(f1s) / len(f1s) >= 0.755


def test_phrase_inside_another_topics_phrase_counts_for_both() -> None:
    weights = Topic("open", "Open", "", ("weights released",))
    launch = Topic("launch", "Launch", "", ("released",))
    tagger = phrases_only(weights, launch)
    assert tagger.tag("Model weights released today", "") == ("open", "launch")
    assert tagger.tag("Model released today", "") == ("launch",)


def test_exclusion_in_the_lead_vetoes_and_spares_other_topics() -> None:
    money = Topic("money", "Money", "", ("shares",))
    tagger = phrases_only(CHIPS, money)
    assert tagger.tag("Chip maker's shares fall", "It sells potato chips.") == ("money",)
    assert tagger.tag("Chip maker's shares fall", "It sells chips.") == ("infrastructure", "money")


def _wordllama_reference(texts: list[str]):
    # wordllama configures the root logger at import; keep that out of the test run.
    root = logging.getLogger()
    placeholder = logging.NullHandler()
    root.addHandler(placeholder)
    try:
        import wordllama
    finally:
        root.removeHandler(placeholder)
    model = wordllama.WordLlama.load(
        config=embed.CONFIG,
        dim=embed.DIM,
        cache_dir=Path(wordllama.__file__).parent,
        disable_download=True,
    )
    return model.embed(texts, norm=True)


def test_embeddings_match_wordllama_own() -> None:
    rows = [json.loads(line) for line in DEVSET.read_text(encoding="utf-8").splitlines()]
    texts = [f"{r['title']}. {r['summary'][:600]}" for r in rows][:150]
    texts += [
        "a",
        "trailing space ",
        "  two  spaces  ",
        "tab\tand\nnewline",
        "café ’curly’ 日本 🚀",
    ]
    ours = embed._load().embed(texts)
    assert ours.shape == (len(texts), embed.DIM)
    cosines = (ours * _wordllama_reference(texts)).sum(axis=1)
    assert cosines.min() > 0.999


def test_embedder_loads_without_importing_wordllama() -> None:
    code = (
        "import sys; from bot.news import embed; assert embed.load_embedder() is not None; "
        "print(sorted(m for m in ('wordllama', 'pydantic', 'requests') if m in sys.modules))"
    )
    root = Path(__file__).resolve().parents[2]
    done = subprocess.run(
        [sys.executable, "-c", code], cwd=root, capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]"


def test_a_story_without_words_gets_no_topic() -> None:
    tagger = Tagger(DEFAULT_TOPICS)
    assert tagger.tag_many([("", ""), (".", ""), ("", "…")]) == [(), (), ()]


def test_a_full_word_cache_keeps_the_words_a_text_needs(monkeypatch) -> None:
    """When the token cache fills mid-call, words cached before must still be found.

    It once raised KeyError(' Red') here, and the poll reported that stray word as the
    feed's error (four real feeds failed so)."""
    from bot.news import embed

    embedder = embed.load_embedder()
    assert embedder is not None
    embedder.forget_words()
    monkeypatch.setattr(embed, "CACHE_WORDS", 50)
    before = embedder.embed(["Red fox by the river"])
    many = " ".join(f"word{i}" for i in range(60))
    rows = embedder.embed([many + " Red fox by the river", "Red fox by the river"])
    assert rows.shape == (2, embedder.dim)
    assert np.allclose(rows[1], before[0])
