"""JSON Feed 1.0 and 1.1 (https://jsonfeed.org/version/1.1), read with the json module."""

from __future__ import annotations

import html
import json
from collections.abc import Mapping
from datetime import datetime
from email.utils import parsedate_to_datetime
from typing import Any

from bot.news.errors import NotAFeedError, ParseError
from bot.news.models import ParsedFeed
from bot.news.parse_entry import RawEntry, normalise, plain_text, utc
from bot.news.urls import canonical_url

_JSON_TYPES = ("application/feed+json", "application/json")


def is_json_document(body: bytes, content_type: str | None) -> bool:
    """A JSON body: it starts with ``{`` (or ``[`` when the server says it is JSON)."""
    start = body.lstrip(b"\xef\xbb\xbf \t\r\n")[:1]
    if start == b"{":
        return True
    media_type = (content_type or "").split(";", 1)[0].strip().lower()
    return start == b"[" and media_type in _JSON_TYPES


def parse_json_feed(body: bytes, *, url: str, fetched_at: datetime) -> ParsedFeed:
    """Read a JSON Feed; NotAFeedError for other JSON, ParseError for broken JSON."""
    try:
        document = json.loads(body.decode("utf-8-sig"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ParseError(f"The feed is not valid JSON ({exc}).") from exc
    version = document.get("version") if isinstance(document, dict) else None
    items = document.get("items") if isinstance(document, dict) else None
    # the spec's version is a jsonfeed.org URL; some generators write just "1.1"
    if not isinstance(version, str) or ("jsonfeed.org" not in version and items is None):
        raise NotAFeedError("The document is JSON but not a JSON Feed.")
    if not isinstance(items, list):
        raise ParseError("The JSON Feed has no list of items.")
    raws = [_raw_entry(item, url) for item in items if isinstance(item, dict)]
    home = _text(document.get("home_page_url"))
    return ParsedFeed(
        title=plain_text(_text(document.get("title"))) or None,
        site_url=canonical_url(home, url) if home else None,
        entries=tuple(normalise(raw, base=url, fetched_at=fetched_at) for raw in raws),
        kind="json",
    )


def _raw_entry(item: Mapping[str, Any], url: str) -> RawEntry:
    contents = []
    if _text(item.get("content_html")):
        contents.append(("text/html", _text(item["content_html"])))
    if _text(item.get("content_text")):
        contents.append(("text/plain", _text_to_html(_text(item["content_text"]))))
    summary = _text(item.get("summary"))
    media = [
        (_text(item.get(key)), "image", None)
        for key in ("image", "banner_image")
        if _text(item.get(key))
    ]
    enclosures = [
        (_text(a.get("url")), _text(a.get("mime_type")) or None)
        for a in item.get("attachments") or ()
        if isinstance(a, dict) and _text(a.get("url"))
    ]
    guid = item.get("id")
    return RawEntry(
        title=_text(item.get("title")),
        link=_text(item.get("url")) or _text(item.get("external_url")) or None,
        guid=str(guid) if isinstance(guid, (str, int)) else None,
        published=_date(item.get("date_published")),
        updated=_date(item.get("date_modified")),
        author=_author(item),
        contents=contents,
        summary=html.escape(summary) if summary else "",
        categories=[t for t in item.get("tags") or () if isinstance(t, str)],
        media=media,
        enclosures=enclosures,
        base=url,
    )


def _text(value: object) -> str:
    return value.strip() if isinstance(value, str) else ""


def _text_to_html(text: str) -> str:
    """content_text as HTML paragraphs, so every body downstream is HTML."""
    paragraphs = [p.strip() for p in text.split("\n\n") if p.strip()]
    return "".join(f"<p>{html.escape(p)}</p>" for p in paragraphs)


def _author(item: Mapping[str, Any]) -> str | None:
    """``authors`` (1.1) first, then the deprecated ``author`` (1.0)."""
    authors = item.get("authors")
    candidates = list(authors) if isinstance(authors, list) else []
    candidates.append(item.get("author"))
    for author in candidates:
        if isinstance(author, dict) and _text(author.get("name")):
            return _text(author["name"])
    return None


def _date(value: object) -> datetime | None:
    """RFC 3339 as the spec says; RFC 822, which some generators write, as a fallback."""
    text = _text(value)
    if not text:
        return None
    try:
        return utc(datetime.fromisoformat(text))
    except ValueError:
        pass
    try:
        return utc(parsedate_to_datetime(text))
    except (TypeError, ValueError):
        return None
