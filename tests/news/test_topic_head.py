"""The trained topic head: used for shipped default topics only, loads offline, reproducible."""

from __future__ import annotations

import json
import logging
import socket
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from bot.news import topic_head
from bot.news.topic_head import (
    HEAD_PATH,
    TopicHead,
    design_matrix,
    load_head,
    neighbour_votes,
    topic_fingerprint,
)
from bot.news.topics import DEFAULT_TOPICS, MAX_TOPICS, Tagger, taxonomy_from_config

DEVSET = Path(__file__).resolve().parent.parent / "data" / "devset" / "topics.jsonl"
NAMES = tuple(t.name for t in DEFAULT_TOPICS)


def tune_items() -> list[tuple[str, str]]:
    rows = [json.loads(line) for line in DEVSET.read_text(encoding="utf-8").splitlines()]
    return [(r["title"], r["summary"]) for r in rows if r["split"] == "tune"]


def test_shipped_artifact_is_small_loads_offline_and_fits_the_default_taxonomy(
    monkeypatch,
) -> None:
    def no_network(*args, **kwargs):
        raise AssertionError("loading the topic head tried to open a network connection")

    monkeypatch.setattr(socket.socket, "connect", no_network)
    assert HEAD_PATH.stat().st_size < 400_000  # weights, and the neighbours it may vote with
    head = TopicHead.read(HEAD_PATH)
    assert head.names == NAMES
    assert head.fingerprints == tuple(topic_fingerprint(t) for t in DEFAULT_TOPICS)
    assert head.weights.shape[1] == head.thresholds.shape[0] == len(NAMES)
    assert ((head.thresholds > 0) & (head.thresholds < 1)).all()
    assert load_head() is not None


def test_default_taxonomy_is_decided_by_the_head() -> None:
    tagger = Tagger(DEFAULT_TOPICS)
    assert tagger.head_topics == NAMES
    items = tune_items()
    with_head = tagger.tag_many(items)
    assert with_head != Tagger(DEFAULT_TOPICS, head=False).tag_many(items)
    assert all(len(tags) <= MAX_TOPICS for tags in with_head)
    assert tagger.tag_many([("", ""), (".", "")]) == [(), ()]


def test_edited_default_topic_keeps_the_hand_set_rule() -> None:
    topics = taxonomy_from_config(
        [{"name": "safety", "phrases": ["kidnapped robot"]}], extend_default=True
    )
    tagger = Tagger(topics)
    assert "safety" not in tagger.head_topics
    assert set(tagger.head_topics) == set(NAMES) - {"safety"}
    items = [*tune_items(), ("A kidnapped robot was found in a ditch", "")]
    before = Tagger(topics, head=False)
    got = [("safety" in tags) for tags in tagger.tag_many(items)]
    assert got == [("safety" in tags) for tags in before.tag_many(items)]
    assert got[-1]
    # the same story with the shipped safety topic is the head's call, not the edit's
    assert "safety" in Tagger(DEFAULT_TOPICS).head_topics


def test_added_topic_uses_phrases_and_leaves_the_defaults_to_the_head() -> None:
    topics = taxonomy_from_config(
        [{"name": "robotics", "description": "Robots.", "phrases": ["humanoid"]}],
        extend_default=True,
    )
    tagger = Tagger(topics)
    assert tagger.head_topics == NAMES
    assert "robotics" in tagger.tag("A humanoid that folds laundry", "")
    # the head reads the shipped topics' evidence, whatever else the taxonomy holds
    shipped = Tagger(DEFAULT_TOPICS)
    for title, text in tune_items()[:30]:
        ours, theirs = tagger.scores(title, text), shipped.scores(title, text)
        assert [ours[n] for n in NAMES] == pytest.approx([theirs[n] for n in NAMES], abs=1e-4)


def test_retitled_default_topic_is_still_decided_by_the_head() -> None:
    topics = tuple(replace(t, title="Money") if t.name == "business" else t for t in DEFAULT_TOPICS)
    assert "business" in Tagger(topics).head_topics


def test_custom_taxonomy_without_defaults_behaves_as_before() -> None:
    topics = taxonomy_from_config([{"name": "chips", "phrases": ["wafer"]}], extend_default=False)
    tagger = Tagger(topics)
    assert tagger.head_topics == ()
    items = [*tune_items()[:40], ("TSMC wafer output rises", "")]
    assert tagger.tag_many(items) == Tagger(topics, head=False).tag_many(items)


def test_without_embeddings_the_head_is_not_used() -> None:
    tagger = Tagger(DEFAULT_TOPICS, embeddings=False)
    assert tagger.head_topics == ()
    items = tune_items()[:40]
    assert tagger.tag_many(items) == Tagger(DEFAULT_TOPICS, embeddings=False, head=False).tag_many(
        items
    )


def test_head_for_another_taxonomy_is_refused_with_a_warning(tmp_path, caplog) -> None:
    shipped = TopicHead.read(HEAD_PATH)
    stale = TopicHead(
        names=shipped.names,
        fingerprints=("0" * 16, *shipped.fingerprints[1:]),
        blocks=shipped.blocks,
        basis=shipped.basis,
        weights=shipped.weights,
        bias=shipped.bias,
        thresholds=shipped.thresholds,
        reference=shipped.reference,
        reference_topics=shipped.reference_topics,
        info=shipped.info,
    )
    path = tmp_path / "stale.npz"
    stale.save(path)
    with caplog.at_level(logging.WARNING):
        assert load_head(path) is None
    assert "retrain" in caplog.text
    broken = tmp_path / "broken.npz"
    broken.write_bytes(b"not an npz")
    assert load_head(broken) is None


def test_training_is_deterministic_and_matches_the_shipped_choice() -> None:
    """A small run of tools/topics/train_topics twice: the same head, shaped like the shipped one.

    (The full run, `python -m tools.topics.train_topics --check`, takes minutes.) A subprocess,
    because the script limits BLAS to one thread before numpy loads.
    """
    code = """
import json, numpy as np
from tools.topics import train_topics as tt
from bot.news.topic_head import HEAD_PATH, TopicHead
shipped = TopicHead.read(HEAD_PATH)
config = tt.Config(**tt.config_of(shipped))
rows = [r for r in tt.training_rows() if r["split"] == "tune"][:80]
heads = []
for _ in range(2):
    data = tt.prepare(rows)
    heads.append(tt.build(data, tt.cross_validate(data, config, seeds=(0,))))
a, b = heads
print(json.dumps({
    "same": bool(np.array_equal(a.weights, b.weights) and np.array_equal(a.thresholds, b.thresholds)
                 and np.array_equal(a.basis, b.basis)),
    "shape": a.weights.shape == shipped.weights.shape and a.blocks == shipped.blocks,
    "learnt": bool(np.abs(a.weights).sum() > 0),
}))
"""
    root = Path(__file__).resolve().parents[2]
    done = subprocess.run(
        [sys.executable, "-c", code], cwd=root, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout.strip().splitlines()[-1]) == {
        "same": True,
        "shape": True,
        "learnt": True,
    }


def test_training_rows_hold_every_training_file_and_no_held_out_story() -> None:
    from bench.tagging import DEVSET, load_jsonl
    from tools.topics import train_topics as tt

    rows = tt.training_rows()
    test = [r for r in load_jsonl("topics.jsonl") if r["split"] == "test"]
    files = sorted(DEVSET.glob(tt.TRAIN_GLOB))
    assert len(files) >= 5
    assert len(rows) == 191 + sum(len(load_jsonl(f.name)) for f in files)
    assert not {r["id"] for r in test} & {r["id"] for r in rows}

    def link(row: dict) -> str:
        return row["origin"].get("link", "").rstrip("/").lower()

    assert not ({link(r) for r in test} & {link(r) for r in rows}) - {""}
    # the second annotator's labels cover exactly the held-out rows
    assert {r["id"] for r in load_jsonl("test_second.jsonl")} == {r["id"] for r in test}


def test_cross_validation_keeps_retellings_of_one_story_in_one_group() -> None:
    from tools.topics import train_topics as tt

    rows = [
        {
            "title": "Nvidia unveils Rubin GPUs for data centres",
            "summary": "The chips ship in 2026.",
        },
        {
            "title": "Nvidia's Rubin GPUs for data centres unveiled",
            "summary": "Chips ship in 2026.",
        },
        {"title": "EU fines Meta over AI training data", "summary": "Regulators act on privacy."},
        {"title": "Mistral releases open-weight coding model", "summary": "Apache 2.0 licence."},
    ]
    groups = tt.near_duplicate_groups(rows)
    assert groups[0] == groups[1]
    assert len({groups[0], groups[2], groups[3]}) == 3


@pytest.fixture(autouse=True)
def _fresh_cache(monkeypatch):
    """load_head caches per path; tests that write heads must not leak into others."""
    monkeypatch.setattr(topic_head, "_loaded", dict(topic_head._loaded))


def test_tagger_reads_the_features_the_head_was_trained_on() -> None:
    """The tagger's sparse bag of words and projected vector equal the training matrix."""
    tagger = Tagger(DEFAULT_TOPICS)
    head = TopicHead.read(HEAD_PATH)
    ev, _ = tagger.evidence(tune_items()[:50])
    dense = design_matrix(head.with_votes(ev), head.blocks) @ head.weights + head.bias
    assert head.logits(ev) == pytest.approx(dense, abs=1e-6)


def test_neighbour_votes_follow_the_nearest_stories_and_never_the_story_itself() -> None:
    reference = np.array([[1.0, 0.0], [0.9, 0.436], [0.0, 1.0], [-1.0, 0.0]])
    topics = np.array([[1, 0], [1, 0], [0, 1], [0, 1]])
    story = np.array([[0.995, 0.1]])
    assert neighbour_votes(story, reference, topics, 2).tolist() == [[1.0, 0.0]]
    # weighted by cosine; the opposite story (cosine -1) counts nothing
    votes = neighbour_votes(story, reference, topics, 4)[0]
    cosines = [0.995, 0.995 * 0.9 + 0.1 * 0.436, 0.1]  # the last is the only topic-2 story
    assert votes[1] == pytest.approx(cosines[2] / sum(cosines), rel=1e-6)
    assert votes[0] + votes[1] == pytest.approx(1.0)
    hide_first_two = np.array([[True, True, False, False]])
    assert neighbour_votes(story, reference, topics, 2, hide_first_two)[0, 0] == 0.0
    assert neighbour_votes(story, reference[:1], topics[:1], 10).tolist() == [[1.0, 0.0]]


def test_a_head_with_neighbours_survives_saving(tmp_path) -> None:
    """What the tagger computes from a saved head equals the training matrix's product."""
    from tools.topics import train_topics as tt

    rows = [r for r in tt.training_rows() if r["split"] == "tune"][:60]
    config = tt.Config(("hits", "z", "vector", "tokens-256", "neighbours-5"), 8, 30.0)
    data = tt.prepare(rows)
    head = tt.build(data, tt.cross_validate(data, config, seeds=(0,)))
    path = tmp_path / "head.npz"
    head.save(path)
    loaded = TopicHead.read(path)
    assert loaded.reads_tokens
    assert loaded.reference.shape == (60, 8) and loaded.reference_topics.shape == (60, 8)
    tagger = Tagger(DEFAULT_TOPICS, head=loaded)
    items = tune_items()[60:90]
    ev, _ = tagger.evidence(items)
    assert ev.votes is None and ev.tokens is not None
    voted = loaded.with_votes(ev)
    assert voted.votes.shape == (30, 8)
    assert ((voted.votes >= 0) & (voted.votes <= 1)).all()
    dense = design_matrix(voted, loaded.blocks) @ loaded.weights + loaded.bias
    assert loaded.logits(ev) == pytest.approx(dense, abs=1e-6)
    assert len(tagger.tag_many(items)) == 30


def test_the_head_does_not_import_the_tagger() -> None:
    """topics builds on topic_head, never the reverse (the shared topic_text lives in
    taxonomy): a fresh interpreter that loads the head has not loaded the tagger."""
    code = "import sys, bot.news.topic_head; print('bot.news.topics' in sys.modules)"
    root = Path(__file__).resolve().parents[2]
    done = subprocess.run(
        [sys.executable, "-c", code], cwd=root, capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "False"
