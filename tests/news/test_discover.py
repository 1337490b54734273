"""Web pages versus feeds, and the feeds a page links to."""

from __future__ import annotations

import pytest

from bot.news.discover import find_feed_links, looks_like_html

PAGE = """<!DOCTYPE html><html><head>
<base href="https://blog.example/base/">
<link rel="stylesheet" href="/s.css">
<link rel="alternate" type="application/rss+xml" title="Blog &raquo; Comments"
      href="/comments/feed/">
<link rel="alternate" type="application/json" title="JSON" href="feed.json">
<link rel="alternate" type="application/rss+xml" title="Blog"
      href="/feed/?utm_source=x">
<link rel="Alternate" type="application/atom+xml" href="https://blog.example/atom.xml">
<link rel="alternate" type="application/rss+xml" href="/feed/">
<link rel="alternate" hreflang="de" href="/de/">
</head><body><link rel="alternate" type="application/rss+xml" href="/in-body.xml"></body></html>"""


def test_feed_links_best_first_without_comments_or_duplicates() -> None:
    assert find_feed_links(PAGE, "https://blog.example/post/1") == [
        "https://blog.example/atom.xml",
        "https://blog.example/feed/",
        "https://blog.example/base/feed.json",
    ]


def test_comments_feed_kept_when_it_is_the_only_one() -> None:
    page = b'<html><head><link rel="alternate" type="application/rss+xml" title="Comments"'
    page += b' href="c.xml"></head></html>'
    assert find_feed_links(page, "https://blog.example/a/") == ["https://blog.example/a/c.xml"]


def test_page_without_feeds() -> None:
    assert find_feed_links("<html><head><title>x</title></head></html>", "https://x.example/") == []


@pytest.mark.parametrize(
    ("body", "content_type", "expected"),
    [
        (b"<!DOCTYPE html><html></html>", None, True),
        (b"\xef\xbb\xbf  <html lang='en'>", "application/xml", True),
        (
            b'<?xml version="1.0"?>\n<!DOCTYPE html PUBLIC "-//W3C//DTD XHTML 1.0//EN"><html>',
            None,
            True,
        ),
        (b"<!-- generated --><head><title>x</title>", None, True),
        (b'<?xml version="1.0"?><rss version="2.0"></rss>', "text/html", False),
        (
            b'<?xml-stylesheet href="s.xsl"?><feed xmlns="http://www.w3.org/2005/Atom">',
            "text/html",
            False,
        ),
        (b"<rdf:RDF xmlns:rdf='x'>", None, False),
        (b'{"version": "https://jsonfeed.org/version/1.1"}', "text/html", False),
        (b"Just some text", "text/html; charset=utf-8", True),
        (b"Just some text", "text/plain", False),
        # a feed root with a prefix, after a non-HTML DOCTYPE, after a long comment
        (b"<a:feed xmlns:a='http://www.w3.org/2005/Atom'>", "text/html", False),
        (b'<!DOCTYPE rdf:RDF [<!ENTITY nbsp "&#160;">]><rdf:RDF>', "text/html", False),
        (b"<!--" + b"x" * 5000 + b"--><rss version='2.0'>", "text/html", False),
    ],
)
def test_looks_like_html(body: bytes, content_type: str | None, expected: bool) -> None:
    assert looks_like_html(body, content_type) is expected
