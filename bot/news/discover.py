"""Telling web pages from feeds, and finding the feeds a web page advertises.

Users paste the address of a blog rather than of its feed. The page names its feeds in
``<link rel="alternate" type="application/rss+xml" href="...">`` tags; we offer those
instead of a parse error.
"""

from __future__ import annotations

import re
from html.parser import HTMLParser

from bot.news.urls import canonical_url

#: feed MIME types, best first
_FEED_TYPES = (
    "application/atom+xml",
    "application/rss+xml",
    "application/rdf+xml",
    "application/feed+json",
    "application/json",
    "text/xml",
    "application/xml",
)
_COMMENTS = re.compile(r"\bcomments?\b", re.IGNORECASE)
#: the first markup of a document after the byte-order mark, XML declaration, comments
#: and a DOCTYPE that is not HTML's (an RSS 0.91 or RDF one, with its internal subset)
_PROLOGUE = re.compile(
    r"\A(?:\s+|<\?.*?\?>|<!--.*?-->|<!doctype\s+(?!html\b)[^\[>]*(?:\[.*?\])?\s*>)*",
    re.DOTALL | re.IGNORECASE,
)
_HTML_STARTS = ("<!doctype html", "<html", "<head", "<body", "<meta", "<title", "<script")
#: a feed's root, also with a namespace prefix (``<a:feed xmlns:a="...Atom">``)
_FEED_START = re.compile(r"<(?:[\w.-]+:)?(?:rss|feed|rdf|channel)\b|<!doctype rss|\{")
_HTML_TYPES = ("text/html", "application/xhtml+xml")
#: how much of a document is looked at: a generator's comment can run to kilobytes
_HEAD_BYTES = 64 * 1024


def looks_like_html(body: bytes, content_type: str | None) -> bool:
    """True when ``body`` is a web page rather than a feed.

    The markup decides; the Content-Type only settles documents that start with neither
    (servers often label feeds ``text/html``, so the header alone proves nothing).
    """
    says = markup_says_html(body)
    if says is not None:
        return says
    return is_html_type(content_type)


def markup_says_html(body: bytes) -> bool | None:
    """True for HTML's first markup, False for a feed's, None when it says neither."""
    head = _first_markup(body)
    if head.startswith(_HTML_STARTS):
        return True
    if _FEED_START.match(head):
        return False
    return None


def is_html_type(content_type: str | None) -> bool:
    """Whether a Content-Type names a web page (which proves little: see looks_like_html)."""
    media_type = (content_type or "").split(";", 1)[0].strip().lower()
    return media_type in _HTML_TYPES


def _first_markup(body: bytes) -> str:
    """The document's first element or declaration, lower-cased (a short prefix)."""
    chunk = body[:_HEAD_BYTES]
    if chunk.startswith((b"\xff\xfe", b"\xfe\xff")):
        text = chunk.decode("utf-16", errors="replace")
    else:
        text = chunk.decode("utf-8", errors="replace")
    text = text.lstrip("\ufeff")
    start = _PROLOGUE.match(text)
    return text[start.end() if start else 0 :][:64].lower()


def find_feed_links(html: bytes | str, base_url: str) -> list[str]:
    """Absolute URLs of the feeds a page advertises, best first, without duplicates.

    Comment feeds are left out when the page offers another feed; Atom and RSS come
    before JSON Feed and generic XML; otherwise the page's order is kept.
    """
    if isinstance(html, bytes):
        html = html.decode("utf-8", errors="replace")
    body_at = re.search(r"<body[\s>]", html, re.IGNORECASE)
    html = html[: body_at.start()] if body_at else html[:1_000_000]
    collector = _LinkCollector()
    try:
        collector.feed(html)
        collector.close()
    except Exception:  # a broken page still yields the links read so far
        pass
    base = canonical_url(collector.base, base_url) if collector.base else base_url

    found: list[tuple[bool, int, int, str]] = []
    seen: set[str] = set()
    for order, (href, kind, title) in enumerate(collector.links):
        url = canonical_url(href, base)
        if url is None or url in seen:
            continue
        seen.add(url)
        is_comments = bool(_COMMENTS.search(title) or "/comments/" in url)
        found.append((is_comments, _FEED_TYPES.index(kind), order, url))
    if any(not is_comments for is_comments, *_ in found):
        found = [f for f in found if not f[0]]
    return [url for *_, url in sorted(found)]


class _LinkCollector(HTMLParser):
    """Collects ``<link rel=alternate>`` feed links and the ``<base href>``."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.links: list[tuple[str, str, str]] = []  # (href, type, title)
        self.base: str | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "base" and self.base is None:
            self.base = dict(attrs).get("href") or None
            return
        if tag != "link":
            return
        values = {name: (value or "") for name, value in attrs}
        rels = values.get("rel", "").lower().split()
        kind = values.get("type", "").split(";", 1)[0].strip().lower()
        href = values.get("href", "").strip()
        if "alternate" in rels and kind in _FEED_TYPES and href:
            self.links.append((href, kind, values.get("title", "")))

    handle_startendtag = handle_starttag
