"""An admin's topic corrections, applied to the stories one scope reads.

Stories are tagged once, at ingest, for every guild (a story is shared by all who read its
source), so a guild's correction cannot change the stored topics without changing them for
everyone. Instead a scope's corrections are applied when that scope reads stories (its
digests, scheduled or asked for, and their topic filters):

- a corrected story gets exactly the topics its correction gave (the guild's own correction
  wins over the operator's);
- any other story gets, beside the tagger's topics, those that its nearest corrected
  examples agree on: the ``K`` most similar corrections (cosine of the tagger's story
  vectors) at or above ``SIMILARITY``, each weighted by its similarity; a topic is added
  when at least ``AGREE`` of that weight carries it. Only scopes with corrections pay.

The operator's corrections (scope ``global``, from the command line) also rewrite the stored
topics, since everyone reads those; and they vote for every scope.

``SIMILARITY`` was chosen on the devset (bench/README.md, "Corrections"): looser thresholds
added wrong topics more often than right ones.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence

import numpy as np

from bot.news.enrich import tagging_input
from bot.news.models import Story
from bot.news.store.corrections import Correction
from bot.news.topics import MAX_TOPICS, Tagger

#: corrected examples that vote on a story
K = 3
#: cosine at or above which a corrected example is near enough to vote
SIMILARITY = 0.7
#: share of the near examples' weight that must carry a topic for it to be added
AGREE = 0.5
#: story vectors kept between digests (float16, 512 bytes each)
CACHE_STORIES = 20_000


class CorrectionVoter:
    """Applies corrections to stories; keeps story vectors between calls."""

    def __init__(self, tagger: Tagger) -> None:
        self.tagger = tagger
        self._vectors: dict[tuple[int, int], np.ndarray] = {}  # (id, text hash)

    def apply(
        self, stories: Sequence[Story], corrections: Sequence[Correction], own: str
    ) -> list[Story]:
        """``stories`` with their topics as scope ``own`` sees them; ``corrections`` are
        the ones visible to it (its own and the operator's)."""
        if not corrections or not stories:
            return list(stories)
        known = {t.name for t in self.tagger.topics}
        fixed: dict[int, tuple[str, ...]] = {}
        for c in corrections:  # the scope's own correction of a story wins
            if c.story_id not in fixed or c.scope == own:
                fixed[c.story_id] = tuple(t for t in c.topics if t in known)
        added = self._votes([s for s in stories if s.id not in fixed], corrections)
        out = []
        for s in stories:
            if s.id in fixed:
                topics = fixed[s.id]
            else:
                extra = [t for t in added.get(s.id, ()) if t not in s.topics]
                topics = (*s.topics, *extra)[:MAX_TOPICS] if extra else s.topics
            out.append(s if topics == s.topics else dataclasses.replace(s, topics=topics))
        return out

    def _votes(
        self, stories: Sequence[Story], corrections: Sequence[Correction]
    ) -> dict[int, tuple[str, ...]]:
        examples = [c for c in corrections if c.topics]
        if not examples or not stories:
            return {}
        ref = self.tagger.vectors([(c.headline, c.body) for c in examples])
        if ref is None:
            return {}
        names = sorted({t for c in examples for t in c.topics})
        labels = np.array([[t in c.topics for t in names] for c in examples], dtype=np.float64)
        sims = self._story_vectors(stories) @ ref.T
        out: dict[int, tuple[str, ...]] = {}
        k = min(K, len(examples))
        for i, story in enumerate(stories):
            row = sims[i]
            near = [j for j in np.argsort(-row, kind="stable")[:k] if row[j] >= SIMILARITY]
            if not near:
                continue
            weight = row[near]
            share = (weight[:, None] * labels[near]).sum(axis=0) / weight.sum()
            chosen = tuple(names[t] for t in np.argsort(-share, kind="stable") if share[t] >= AGREE)
            if chosen:
                out[story.id] = chosen
        return out

    def _story_vectors(self, stories: Sequence[Story]) -> np.ndarray:
        keys = [(s.id, hash(story_text(s))) for s in stories]  # an edited story is new text
        missing = [(k, s) for k, s in zip(keys, stories, strict=True) if k not in self._vectors]
        if missing:
            vecs = self.tagger.vectors([story_text(s) for _, s in missing])
            assert vecs is not None  # the examples' vectors were there
            if len(self._vectors) + len(missing) > CACHE_STORIES:
                self._vectors = {}
            for (k, _), v in zip(missing, vecs, strict=True):
                self._vectors[k] = v.astype(np.float16)
        return np.vstack([self._vectors[k] for k in keys]).astype(np.float32)


def story_text(story: Story) -> tuple[str, str]:
    """What the tagger reads of a stored story (as at ingest and on retag)."""
    return tagging_input(story.headline, story.lead, story.points)
