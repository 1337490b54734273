"""The service's side of story briefings: read the cluster, build (or ask the model), cache."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Sequence
from datetime import datetime, timedelta

import aiohttp
import numpy as np

from bot.config import Config
from bot.news.briefing import Embed, bag_of_words, build_briefing
from bot.news.embed import load_embedder
from bot.news.errors import StoryNotFoundError
from bot.news.llm_briefing import LLMBriefer
from bot.news.models import Briefing
from bot.news.store import Store

log = logging.getLogger(__name__)

#: "Recent stories" come from this long before the story until now
RECENT_WINDOW = timedelta(days=7)
#: stories of a cluster read for its briefing (a big event may have hundreds)
MAX_CLUSTER = 40


class BriefingsMixin:
    store: Store
    clock: Callable[[], datetime]
    config: Config
    _llm_session: aiohttp.ClientSession | None

    async def story_briefing(self, story_id: int, *, scope: str | None = None) -> Briefing:
        """The long briefing of the story's cluster, as this scope sees it.

        With ``[llm] enabled`` the model writes it from the same sentences, checked (see
        :mod:`bot.news.llm_briefing`); any failure gives the offline briefing.

        Raises :class:`StoryNotFoundError` for an id that is not stored or not visible."""
        cluster = []
        if 0 < story_id < 2**63:  # a larger id cannot be stored, so it names no story
            cluster = await self.store.stories.in_cluster(story_id, scope=scope, limit=MAX_CLUSTER)
        if not cluster:
            raise StoryNotFoundError(
                f"there is no story {story_id} here (a story's id is shown with it in"
                " `briefbot stories` and `briefbot digest`)"
            )
        first = min(s.published for s in cluster)
        topics = cluster[0].topics[:1] or next((s.topics[:1] for s in cluster if s.topics), ())
        recent = await self.store.stories.recent(
            scope=scope, since=first - RECENT_WINDOW, topics=topics, limit=300
        )
        embed = _embedder()
        briefing = await asyncio.to_thread(
            build_briefing, cluster, story_id, embed=embed, recent=recent
        )
        if self.config.llm.enabled and self._llm_session is not None:
            briefer = LLMBriefer(self._llm_session, self.config.llm)
            briefing = await briefer.brief(cluster, briefing, self.store.outbox, self.clock())
        return briefing


def _embedder() -> Embed:
    model = load_embedder()
    if model is None:
        return bag_of_words

    def embed(texts: Sequence[str]) -> np.ndarray:
        return model.embed(texts)

    return embed
