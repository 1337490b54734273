"""Feed bytes -> :class:`ParsedFeed`: the parse stage of the core.

Pure and synchronous; callers run it off the event loop. JSON Feeds are read with the
json module, web pages are refused with the feeds they link to, well-formed UTF-8
RSS/Atom goes through the fast path (:mod:`bot.news.parse_fast`) and everything else,
including whatever the fast path declines, through feedparser, the reference.
"""

from __future__ import annotations

import codecs
import io
import re
import warnings
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from time import struct_time
from typing import Any

import feedparser

from bot.news.discover import find_feed_links, is_html_type, markup_says_html
from bot.news.errors import NotAFeedError, ParseError
from bot.news.models import ParsedFeed
from bot.news.parse_entry import RawEntry, normalise, plain_text
from bot.news.parse_fast import parse_fast
from bot.news.parse_json import is_json_document, parse_json_feed
from bot.news.urls import canonical_url

__all__ = ["parse_feed"]

#: feedparser's complaints that do not make a document broken
_HARMLESS = (feedparser.NonXMLContentType,)


def parse_feed(
    body: bytes,
    *,
    url: str,
    headers: Mapping[str, str] | None = None,
    fetched_at: datetime,
    fast: bool = True,
) -> ParsedFeed:
    """Read a fetched feed. ``fast=False`` forces feedparser (the differential test's
    reference). Raises NotAFeedError for a web page or a non-feed document, ParseError
    when a broken document yields no entries; an empty valid feed has no entries."""
    headers = {key.lower(): value for key, value in (headers or {}).items()}
    fetched_at = fetched_at.astimezone(UTC)
    content_type = headers.get("content-type")
    if not body or body.isspace():  # body.strip() would copy the whole document
        raise ParseError("The feed is empty: the server sent no content.")
    if is_json_document(body, content_type):
        return parse_json_feed(body, url=url, fetched_at=fetched_at)
    markup = markup_says_html(body)
    if markup:
        raise NotAFeedError(_web_page_message(body, url))
    # relative links resolve against xml:base, else the Content-Location, else the feed URL
    base = canonical_url(headers.get("content-location", ""), url) or url
    if markup is None and is_html_type(content_type):
        # Only the header says "web page", and servers label feeds text/html: let the
        # reader decide (a feed with an unusual start was once refused as a web page)
        try:
            return parse_with_feedparser(body, url=base, headers=headers, fetched_at=fetched_at)
        except ParseError:
            raise NotAFeedError(_web_page_message(body, url)) from None
    if fast:
        parsed = parse_fast(body, url=base, headers=headers, fetched_at=fetched_at)
        if parsed is not None:
            return parsed
    return parse_with_feedparser(body, url=base, headers=headers, fetched_at=fetched_at)


def parse_with_feedparser(
    body: bytes, *, url: str, headers: Mapping[str, str], fetched_at: datetime
) -> ParsedFeed:
    """The reference reader; ``url`` is the base for relative links (xml:base wins)
    and the Content-Type lets it find the encoding."""
    response_headers = {"content-location": url}
    if headers.get("content-type"):
        response_headers["content-type"] = headers["content-type"]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            # a stream, never bytes or str: feedparser opens strings as URLs or file names
            result = feedparser.parse(
                io.BytesIO(body),
                response_headers=response_headers,
                sanitize_html=False,
                resolve_relative_uris=False,
            )
        except Exception as exc:  # feedparser catches nearly all; be sure
            raise ParseError(f"The feed could not be read ({exc}).") from exc

    problem = result.get("bozo_exception") if result.get("bozo") else None
    if isinstance(problem, _HARMLESS) or _read_as_declared(problem, body, result.get("encoding")):
        problem = None
    entries = result.get("entries") or []
    if not entries:
        if problem is not None:
            raise ParseError(f"The feed could not be read: {_describe(problem)}.")
        if not result.get("version"):
            raise NotAFeedError("The document is not an RSS, Atom or JSON feed.")

    feed = result.get("feed") or {}
    link = feed.get("link")
    return ParsedFeed(
        title=plain_text(feed.get("title")) or None,
        site_url=canonical_url(link, url) if link else None,
        entries=tuple(
            normalise(_raw_entry(entry, url), base=url, fetched_at=fetched_at) for entry in entries
        ),
        ttl=_ttl(feed.get("ttl")),
        kind=_kind(result.get("version") or ""),
        warning=_warning(problem, result.get("encoding")) if problem is not None else None,
    )


def _raw_entry(entry: Mapping[str, Any], url: str) -> RawEntry:
    contents = [(c.get("type") or "", c.get("value") or "") for c in entry.get("content") or ()]
    base = next((c["base"] for c in entry.get("content") or () if c.get("base")), None)
    base = base or (entry.get("summary_detail") or {}).get("base") or url
    media = [
        (m.get("url") or "", m.get("medium"), m.get("type")) for m in _list(entry, "media_content")
    ]
    media += [(m.get("url") or "", "image", None) for m in _list(entry, "media_thumbnail")]
    enclosures = [
        (link.get("href") or "", link.get("type"))
        for link in entry.get("links") or ()
        if link.get("rel") == "enclosure" and link.get("href")
    ]
    return RawEntry(
        title=entry.get("title") or "",
        link=entry.get("link"),
        guid=entry.get("id"),
        published=_date(entry.get("published_parsed")),
        # dict.get: feedparser's own get() answers "updated" with the published date
        updated=_date(dict.get(entry, "updated_parsed")),
        author=(entry.get("author_detail") or {}).get("name") or entry.get("author"),
        contents=contents,
        summary=entry.get("summary") or "",
        categories=[t.get("term") or t.get("label") or "" for t in entry.get("tags") or ()],
        media=[m for m in media if m[0]],
        enclosures=enclosures,
        base=base,
    )


def _list(entry: Mapping[str, Any], key: str) -> list[Mapping[str, Any]]:
    value = entry.get(key)
    return [v for v in value if isinstance(v, Mapping)] if isinstance(value, list) else []


def _date(value: struct_time | None) -> datetime | None:
    """feedparser's ``*_parsed`` fields are UTC struct_times."""
    if not value:
        return None
    try:
        return datetime(*value[:6], tzinfo=UTC)
    except (TypeError, ValueError):
        return None


def _ttl(value: object) -> timedelta | None:
    try:
        minutes = int(str(value).strip())
    except (TypeError, ValueError):
        return None
    return timedelta(minutes=minutes) if minutes > 0 else None


def _kind(version: str) -> str:
    if version.startswith("atom"):
        return "atom"
    if version in ("rss10", "rss090"):
        return "rdf"
    return "rss"


def _describe(problem: BaseException) -> str:
    """feedparser's exception as a clause; XML errors say where."""
    message = getattr(problem, "getMessage", None)
    line = getattr(problem, "getLineNumber", None)
    if callable(message) and callable(line):
        try:
            return f"{message()} at line {line()}"
        except Exception:
            pass
    return str(problem).strip().rstrip(".") or type(problem).__name__


_XML_ENCODING = re.compile(rb"\A(?:\xef\xbb\xbf)?\s*<\?xml[^>]*?encoding\s*=\s*[\"']([^\"']+)")


def _read_as_declared(problem: object, body: bytes, encoding: str | None) -> bool:
    """An "override" that read the document in the encoding it declares: the server's
    Content-Type named none (text/xml means US-ASCII by the letter of RFC 3023) or
    another; the text is right, so there is nothing to warn about on every poll."""
    if not isinstance(problem, feedparser.CharacterEncodingOverride) or not encoding:
        return False
    declared = _XML_ENCODING.match(body)
    if declared is None:
        return False
    try:
        name = declared.group(1).decode("ascii")
        return codecs.lookup(name).name == codecs.lookup(encoding).name
    except (UnicodeDecodeError, LookupError):
        return False


def _warning(problem: BaseException, encoding: str | None) -> str:
    if isinstance(problem, feedparser.CharacterEncodingOverride):
        return f"The feed declares the wrong character encoding; it was read as {encoding}."
    if isinstance(problem, feedparser.CharacterEncodingUnknown):
        return "The feed's character encoding is unknown; some characters may be wrong."
    return f"The feed is not well-formed XML ({_describe(problem)}); some entries may be missing."


def _web_page_message(body: bytes, url: str) -> str:
    """Tell the user what to subscribe to instead, when the page says."""
    feeds = find_feed_links(body, url)
    if not feeds:
        return f"{url} is a web page, not a feed, and it links to no feed."
    listed = ", ".join(feeds[:3])
    return f"{url} is a web page, not a feed. It links to: {listed}"
