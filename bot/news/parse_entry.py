"""One entry, whichever reader produced it, normalised into a :class:`ParsedEntry`.

feedparser, fastfeedparser and the JSON Feed reader each fill a :class:`RawEntry`;
everything a user notices about an entry (the title text, the link, the date, the
picture) is then decided here, once, so the readers cannot drift apart.
This runs for every entry of every poll: no HTML parser, only a few regular expressions.
"""

from __future__ import annotations

import html
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from bot.news.models import ParsedEntry
from bot.news.urls import canonical_url

#: a date this far past the fetch time is a wrong clock or a scheduled post, not news
FUTURE_SKEW = timedelta(minutes=5)

_TAG = re.compile(r"</?[A-Za-z][^<>]*>|<!--.*?-->", re.DOTALL)
_ENTITY = re.compile(r"&(?:#\d+|#[xX][0-9A-Fa-f]+|[A-Za-z][A-Za-z0-9]*);")
_TAG_NAME = re.compile(r"</?([A-Za-z][A-Za-z0-9]*)")
_INLINE_TAGS = frozenset(
    "a abbr b bdi bdo cite code data del dfn em font i ins kbd mark q s samp small span "
    "strike strong sub sup time tt u var".split()
)
_IMG_SRC = re.compile(
    r"""<img\b[^>]*?\ssrc\s*=\s*(?:"([^"]*)"|'([^']*)'|([^\s"'>]+))""", re.IGNORECASE
)
_IMG_START = re.compile("<(?:img|IMG)")
_IMAGE_PATH = re.compile(r"\.(?:jpe?g|png|gif|webp|avif)(?:$|[?#])", re.IGNORECASE)


@dataclass(slots=True)
class RawEntry:
    """An entry as a reader found it: strings as the feed wrote them, dates in UTC."""

    title: str = ""
    link: str | None = None
    guid: str | None = None
    published: datetime | None = None
    updated: datetime | None = None
    author: str | None = None
    #: (media type, value) of each content element, in document order
    contents: list[tuple[str, str]] = field(default_factory=list)
    summary: str = ""
    categories: list[str] = field(default_factory=list)
    #: (url, medium, type) of media:content elements, then media:thumbnail ones
    media: list[tuple[str, str | None, str | None]] = field(default_factory=list)
    #: (url, type) of enclosures
    enclosures: list[tuple[str, str | None]] = field(default_factory=list)
    #: base URL for relative links inside the content (xml:base, else the feed URL)
    base: str = ""


def plain_text(value: str | None) -> str:
    """Markup-free text: tags stripped, entities decoded (twice-escaped ones too),
    whitespace collapsed. Feeds escape titles zero, one or two times; we undo all."""
    if not value:
        return ""
    if "<" not in value and "&" not in value:  # most titles: only whitespace to collapse
        return " ".join(value.split())
    text = value
    for _ in range(3):
        if "<" not in text and "&" not in text:
            break
        stripped = _TAG.sub(_tag_gap, text) if "<" in text else text
        decoded = html.unescape(stripped) if _ENTITY.search(stripped) else stripped
        if decoded == text:
            break
        text = decoded
    if "<" in text:
        text = _TAG.sub(_tag_gap, text)
    # str.split() and re's \s agree on what whitespace is (Py_UNICODE_ISSPACE)
    return " ".join(text.split())


def _tag_gap(match: re.Match[str]) -> str:
    """Inline tags vanish ("<b>Big</b>Co" is "BigCo"); others separate words."""
    name = _TAG_NAME.match(match.group())
    return "" if name and name.group(1).lower() in _INLINE_TAGS else " "


def utc(value: datetime | None) -> datetime | None:
    """Aware UTC to the second (feedparser drops fractions; both readers must agree)."""
    if value is None:
        return None
    if value.tzinfo is UTC and not value.microsecond:
        return value
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.astimezone(UTC).replace(microsecond=0)


def normalise(raw: RawEntry, *, base: str, fetched_at: datetime) -> ParsedEntry:
    """Build the entry the rest of the product sees (see :class:`ParsedEntry`)."""
    published = raw.published or raw.updated
    estimated = published is None or published > fetched_at + FUTURE_SKEW
    if estimated:
        published = fetched_at
    assert published is not None
    summary = raw.summary.strip()
    content = _richest(raw.contents).strip() or summary
    guid = raw.guid.strip() if raw.guid else None
    author = plain_text(raw.author) or None
    return ParsedEntry(
        title=plain_text(raw.title),
        link=canonical_url(raw.link, base) if raw.link else None,
        guid=guid or None,
        published=published,
        updated=raw.updated,
        date_estimated=estimated,
        author=author,
        content_html=content,
        summary_html=summary,
        categories=_categories(raw.categories) if raw.categories else (),
        image=_image(raw, content, summary),
    )


def _richest(contents: list[tuple[str, str]]) -> str:
    """The longest HTML content, else the longest of any type."""
    if not contents:
        return ""
    if len(contents) == 1:
        return contents[0][1]
    html_values = [value for kind, value in contents if "html" in kind and value]
    pool = html_values or [value for _, value in contents if value]
    return max(pool, key=len) if pool else ""


def _categories(terms: list[str]) -> tuple[str, ...]:
    seen: dict[str, None] = {}
    for term in terms:
        text = plain_text(term)
        if text:
            seen.setdefault(text)
    return tuple(seen)


def _image(raw: RawEntry, content: str, summary: str) -> str | None:
    """media:content/thumbnail that is an image, an image enclosure, else the first <img>."""
    for url, medium, kind in raw.media:
        is_image = medium == "image" or (kind or "").startswith("image/")
        if is_image or (medium is None and kind is None and _IMAGE_PATH.search(url)):
            found = canonical_url(url, raw.base)
            if found:
                return found
    for url, kind in raw.enclosures:
        if (kind or "").startswith("image/") or (not kind and _IMAGE_PATH.search(url)):
            found = canonical_url(url, raw.base)
            if found:
                return found
    for text in (content,) if summary == content else (content, summary):
        start = _first_img(text)
        if start >= 0:
            for match in _IMG_SRC.finditer(text, start):
                double, single, bare = match.groups()  # one of the three src spellings
                src = double if double is not None else single if single is not None else bare
                src = html.unescape(src)
                if src.startswith("data:"):
                    continue
                found = canonical_url(src, raw.base)
                if found:
                    return found
    return None


def _first_img(text: str) -> int:
    """Where the first "<img" starts, else the first "<IMG", -1 if neither: a search for
    both at once (the regex engine skips to each "<") is far quicker over a long
    article than a case-insensitive one, or than str.find twice."""
    found = _IMG_START.search(text)
    if found is None:
        return -1
    if found.group() == "<img":
        return found.start()
    at = text.find("<img", found.end())  # a lower-case one further on still wins
    return at if at >= 0 else found.start()
