"""Build small RSS documents for tests."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from xml.sax.saxutils import escape

BASE = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)


@dataclass
class Item:
    title: str
    link: str | None = None
    guid: str | None = None
    description: str = ""
    published: datetime | None = None


def item(n: int, *, topic_text: str = "", **kw) -> Item:
    defaults = {
        "title": f"Story number {n} about {topic_text or 'something'}",
        "link": f"https://news.example/story/{n}",
        "guid": f"urn:story:{n}",
        "description": (
            f"<p>Story {n} opens with its lead sentence about {topic_text or 'the news'}. "
            f"It then adds a second sentence with detail number {n}. "
            "A third sentence gives more context for readers.</p>"
        ),
        "published": BASE - timedelta(hours=n),
    }
    defaults.update(kw)
    return Item(**defaults)


def rss(items: list[Item], *, title: str = "Example News", ttl: int | None = None) -> bytes:
    parts = [
        '<?xml version="1.0" encoding="utf-8"?>',
        '<rss version="2.0"><channel>',
        f"<title>{escape(title)}</title><link>https://news.example/</link>",
        "<description>Test feed</description>",
    ]
    if ttl:
        parts.append(f"<ttl>{ttl}</ttl>")
    for it in items:
        parts.append("<item>")
        parts.append(f"<title>{escape(it.title)}</title>")
        if it.link:
            parts.append(f"<link>{escape(it.link)}</link>")
        if it.guid is not None:
            parts.append(f'<guid isPermaLink="false">{escape(it.guid)}</guid>')
        if it.published:
            parts.append(f"<pubDate>{format_datetime(it.published, usegmt=True)}</pubDate>")
        parts.append(f"<description>{escape(it.description)}</description>")
        parts.append("</item>")
    parts.append("</channel></rss>")
    return "\n".join(parts).encode("utf-8")
