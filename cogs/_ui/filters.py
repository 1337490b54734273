"""Filter options shared by /digest, /subscribe and /subscription edit, and the preview reply."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from bot.news.filters import Filters
from bot.news.preview import Preview, summary_lines
from bot.render import escape, render_digest
from cogs._ui.embeds import clip

#: the option descriptions, the same wherever the options appear
DESCRIBE = {
    "include": 'Only stories mentioning one of these: words, "quoted phrases", re:patterns',
    "exclude": "Never stories mentioning one of these (e.g. crypto, NFT)",
    "sources": "Only these sources, by name or id, comma-separated; -Name means never that one",
    "min_outlets": "Only stories covered by at least this many outlets",
    "max_stories": "At most this many lead stories; the rest are listed as more stories",
}


def filters_from(
    include: str | None = None,
    exclude: str | None = None,
    sources: str | None = None,
    min_outlets: int | None = None,
    max_stories: int | None = None,
) -> Filters:
    """The options as typed; a bad one raises FilterError, which the error handler words."""
    return Filters.from_text(
        include=include,
        exclude=exclude,
        sources=sources,
        min_outlets=min_outlets,
        max_stories=max_stories,
    )


def in_words(filters: Filters) -> str:
    return escape(filters.describe()) if filters else "no filters"


def preview_payloads(preview: Preview, warnings: list[str]) -> list[dict[str, Any]]:
    """The preview's sentences, then the first digest it would have posted, as posted."""
    lines = [*summary_lines(preview), *(f"⚠️ {w}" for w in warnings)]
    lines.append(
        "Nothing was saved. Run the command again without preview to subscribe."
        if preview.first is None
        else "The first digest it would have posted follows. Nothing was saved yet."
    )
    head = {"content": clip(escape("\n".join(lines)), 2000)}
    if preview.first is None:
        return [head]
    first_run: datetime = preview.posted[0][0]
    return [head, *render_digest(preview.first, now=first_run)]
