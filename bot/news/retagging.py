"""Topic corrections on the service: ``retag_story`` stores one, and what a scope reads is
seen through its corrections (see bot/news/corrections.py for how they apply)."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from datetime import datetime
from typing import TYPE_CHECKING

from bot.news.corrections import CorrectionVoter, story_text
from bot.news.errors import NewsError
from bot.news.models import Story
from bot.news.store import GLOBAL, Correction, Store
from bot.news.taxonomy import topic_names

if TYPE_CHECKING:
    from bot.news.topics import Tagger

#: what ``topic:`` takes to mean "this story has no topic"
NO_TOPIC = "none"


class StoryNotFoundError(NewsError):
    """No story with that id among the sources this scope reads."""


class RetagMixin:
    store: Store
    topic_names: tuple[str, ...]
    tagger: Tagger
    clock: Callable[[], datetime]
    _voter: CorrectionVoter | None = None

    async def retag_story(self, story_id: int, topics: Sequence[str], scope: str = GLOBAL) -> Story:
        """Set a story's topics for ``scope`` from now on, and keep the correction as a
        labelled example for that scope's other stories. ``topics`` may be ``["none"]``.

        The operator's correction (``global``) rewrites the stored topics everyone reads; a
        guild's is applied to what that guild reads only. Returns the story as ``scope``
        now sees it.
        """
        asked = [t for t in topics if t.strip()]
        if not asked:
            raise NewsError("name one or more topics (or 'none' for no topic)")
        if [t.strip().lower() for t in asked] == [NO_TOPIC]:
            names: list[str] = []
        else:
            names = list(dict.fromkeys(topic_names(asked, self.topic_names)))
        if len(names) > 3:
            raise NewsError("a story has at most 3 topics")
        story = await self.store.stories.visible(story_id, scope if scope != GLOBAL else None)
        if story is None:
            raise StoryNotFoundError(f"no story #{story_id} among the sources this server reads")
        headline, body = story_text(story)
        correction = Correction(scope, story_id, tuple(names), headline, body, self.clock())
        async with self.store.transaction() as db:
            await self.store.corrections.put(db, correction)
            if scope == GLOBAL:
                await self.store.stories.set_topics(db, [(story_id, names)])
        return (await self.with_corrections([story], scope))[0]

    async def correction_counts(self, *, scope: str | None = None) -> dict[str, int]:
        """How many corrections (visible to ``scope``) give each topic."""
        counts: dict[str, int] = {}
        for c in await self.store.corrections.for_scopes(_correction_scopes(scope)):
            for t in c.topics:
                counts[t] = counts.get(t, 0) + 1
        return counts

    async def with_corrections(self, stories: Sequence[Story], scope: str | None) -> list[Story]:
        """``stories`` with the topics ``scope`` sees: its corrections and their votes."""
        corrections = await self.store.corrections.for_scopes(_correction_scopes(scope))
        if not corrections or not stories:
            return list(stories)
        if self._voter is None:
            self._voter = CorrectionVoter(self.tagger)
        own = scope or GLOBAL
        return await asyncio.to_thread(self._voter.apply, stories, corrections, own)

    async def has_corrections(self, scope: str | None) -> bool:
        return (await self.store.corrections.version(_correction_scopes(scope)))[0] > 0

    async def _global_corrections(self) -> dict[int, tuple[str, ...]]:
        known = set(self.topic_names)
        return {
            c.story_id: tuple(t for t in c.topics if t in known)
            for c in await self.store.corrections.for_scopes([GLOBAL])
        }


def _correction_scopes(scope: str | None) -> tuple[str, ...]:
    """A guild reads its own corrections and the operator's; the operator only his."""
    return (GLOBAL,) if scope in (None, GLOBAL) else (GLOBAL, scope)
