"""Stories and digests for the renderer tests, with overridable fields."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from bot.news.models import Digest, DigestSection, Story

NOW = datetime(2025, 11, 27, 8, 0, tzinfo=UTC)


def story(n: int, **changes: object) -> Story:
    fields: dict[str, object] = {
        "id": n,
        "source_id": 1,
        "source_name": "The Verge",
        "url": f"https://example.com/news/{n}",
        "title": f"Feed title {n}",
        "published": NOW - timedelta(hours=3),
        "first_seen": NOW,
        "headline": f"Regulators open inquiry {n}",
        "lead": "The agency said on Tuesday it would examine the deal.",
        "points": ("The review takes 90 days.", "Shares fell 2%."),
        "also_covered_by": ("Wired", "Ars Technica"),
    }
    fields.update(changes)
    return Story(**fields)  # type: ignore[arg-type]


def make_digest(
    *sections: DigestSection, more: tuple[Story, ...] = (), notice: str | None = None
) -> Digest:
    return Digest(
        title="AI news briefing",
        since=NOW - timedelta(days=1),
        until=NOW,
        sections=sections,
        more=more,
        notice=notice,
    )
