"""parse_feed: what a user would notice about the stories a feed turns into."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from bot.news.errors import NotAFeedError, ParseError
from bot.news.parse import parse_feed

FEEDS = Path(__file__).parent.parent / "data" / "feeds"
NOW = datetime(2026, 1, 1, 12, 0, tzinfo=UTC)
URL = "https://news.example/blog/feed.xml"
both_paths = pytest.mark.parametrize("fast", [True, False], ids=["fast", "feedparser"])


def rss(items: str, channel: str = "", encoding: str = "utf-8") -> bytes:
    return (
        f'<?xml version="1.0" encoding="{encoding}"?>\n'
        '<rss version="2.0" xmlns:media="http://search.yahoo.com/mrss/" '
        'xmlns:content="http://purl.org/rss/1.0/modules/content/">'
        f"<channel><title>Example</title><link>https://news.example/</link>{channel}"
        f"{items}</channel></rss>"
    ).encode(encoding)


def item(title: str = "A story", link: str = "https://news.example/a", extra: str = "") -> str:
    return (
        f"<item><title>{title}</title><link>{link}</link><guid>id-{link}</guid>"
        f"<pubDate>Mon, 22 Dec 2025 10:00:00 +0200</pubDate>{extra}</item>"
    )


def parse(body: bytes, fast: bool = True, **kwargs: object):
    return parse_feed(body, url=URL, fetched_at=NOW, fast=fast, **kwargs)


# ------------------------------------------------------------------ titles


@both_paths
def test_title_entities_decoded_including_double_escaped(fast: bool) -> None:
    feed = parse(rss(item("Tom &amp;amp; Jerry &amp;#8217;s  &lt;b&gt;big&lt;/b&gt;\n day")), fast)
    assert feed.entries[0].title == "Tom & Jerry ’s big day"


@both_paths
def test_cdata_title_markup_stripped(fast: bool) -> None:
    feed = parse(rss(item("<![CDATA[<em>Big</em>Co buys <a href='x'>Tiny</a>&nbsp;Inc]]>")), fast)
    assert feed.entries[0].title == "BigCo buys Tiny Inc"


@both_paths
def test_plain_title_whitespace_collapsed(fast: bool) -> None:
    feed = parse(rss(item("  Big\tnews\u00a0\u2003today \n")), fast)
    assert feed.entries[0].title == "Big news today"


def test_atom_html_title_is_plain_text() -> None:
    body = b"""<feed xmlns="http://www.w3.org/2005/Atom"><title>F</title>
    <entry><title type="html">&lt;b&gt;Rates&lt;/b&gt; rise &amp;amp; fall</title>
    <link href="https://news.example/r"/><id>urn:r</id><updated>2025-01-01T00:00:00Z</updated>
    </entry></feed>"""
    entry = parse(body).entries[0]
    assert entry.title == "Rates rise & fall"
    assert entry.guid == "urn:r"


# ------------------------------------------------------------------ links


@both_paths
def test_relative_link_resolved_against_feed_url_and_tracking_stripped(fast: bool) -> None:
    feed = parse(rss(item(link="../posts/1?utm_source=rss&amp;id=7&amp;fbclid=x#comments")), fast)
    assert feed.entries[0].link == "https://news.example/posts/1?id=7"
    assert feed.site_url == "https://news.example/"


def test_relative_link_resolved_against_xml_base() -> None:
    body = b"""<feed xmlns="http://www.w3.org/2005/Atom" xml:base="https://cdn.example/site/">
    <title>F</title><entry xml:base="posts/"><title>T</title><link href="one.html"/>
    <id>urn:1</id><updated>2025-01-01T00:00:00Z</updated></entry></feed>"""
    assert parse(body).entries[0].link == "https://cdn.example/site/posts/one.html"


def test_content_location_header_is_the_base() -> None:
    headers = {"Content-Location": "https://mirror.example/feeds/main.xml"}
    feed = parse(rss(item(link="/p/1")), headers=headers)
    assert feed.entries[0].link == "https://mirror.example/p/1"


@both_paths
def test_host_lower_cased_and_default_port_dropped(fast: bool) -> None:
    feed = parse(rss(item(link="HTTPS://News.EXAMPLE:443/Case")), fast)
    assert feed.entries[0].link == "https://news.example/Case"


# ------------------------------------------------------------------ guid and dates


@both_paths
def test_blank_guid_is_none_and_guid_is_stripped(fast: bool) -> None:
    body = rss(
        "<item><title>a</title><link>https://x.example/a</link><guid>   </guid></item>"
        "<item><title>b</title><link>https://x.example/b</link><guid>  tag:b  </guid></item>"
    )
    a, b = parse(body, fast).entries
    assert a.guid is None
    assert b.guid == "tag:b"


@both_paths
def test_date_converted_to_utc(fast: bool) -> None:
    entry = parse(rss(item()), fast).entries[0]
    assert entry.published == datetime(2025, 12, 22, 8, 0, tzinfo=UTC)
    assert not entry.date_estimated


@both_paths
def test_missing_date_becomes_fetch_time_flagged(fast: bool) -> None:
    body = rss("<item><title>Undated</title><link>https://news.example/u</link></item>")
    entry = parse(body, fast).entries[0]
    assert entry.published == NOW
    assert entry.date_estimated


@both_paths
def test_future_date_becomes_fetch_time_flagged(fast: bool) -> None:
    future = "<item><title>F</title><link>https://news.example/f</link>"
    future += "<pubDate>Fri, 01 Jan 2027 00:00:00 GMT</pubDate></item>"
    soon = "<item><title>S</title><link>https://news.example/s</link>"
    soon += "<pubDate>Thu, 01 Jan 2026 12:02:00 GMT</pubDate></item>"  # clock skew: kept
    far, near = parse(rss(future + soon), fast).entries
    assert (far.published, far.date_estimated) == (NOW, True)
    assert near.published == NOW + timedelta(minutes=2)
    assert not near.date_estimated


# ------------------------------------------------------------------ encodings


@pytest.mark.parametrize(
    ("encoding", "title"),
    [
        ("iso-8859-1", "Café in Zürich: naïve façade"),
        ("windows-1251", "Новости дня: экономика"),
        ("utf-16", "Grüße aus 東京"),
    ],
)
def test_non_utf8_feeds_give_correct_titles(encoding: str, title: str) -> None:
    feed = parse(rss(item(title), encoding=encoding))
    assert feed.entries[0].title == title


def test_charset_from_content_type_header() -> None:
    body = rss(item("Погода"), encoding="windows-1251").replace(b' encoding="windows-1251"', b"")
    headers = {"content-type": "application/rss+xml; charset=windows-1251"}
    assert parse(body, headers=headers).entries[0].title == "Погода"


@pytest.mark.parametrize("name", ["utf-16le.xml", "utf-16be-bom.xml", "utf-32le.xml"])
def test_corpus_utf16_and_utf32_feeds_read(name: str) -> None:
    """Empty but valid feeds: read without error or warning once the encoding is found."""
    feed = parse((FEEDS / "feedparser-tests" / "encoding" / name).read_bytes())
    assert (feed.entries, feed.kind, feed.warning) == ((), "rss", None)


# ------------------------------------------------------------------ broken documents


def test_malformed_xml_still_yields_entries_with_a_warning() -> None:
    body = rss(item("Tom & Jerry <3 cheese", link="https://news.example/t?a=1&b=2"))
    feed = parse(body)
    assert [e.title for e in feed.entries] == ["Tom & Jerry <3 cheese"]
    assert feed.entries[0].link == "https://news.example/t?a=1&b=2"
    assert feed.warning and feed.warning.startswith("The feed is not well-formed XML")


def test_truncated_feed_keeps_the_items_before_the_break() -> None:
    body = (FEEDS / "ai-blogs" / "openai.xml").read_bytes()
    full = parse(body).entries
    fourth_item = [i for i in range(len(body)) if body.startswith(b"<item>", i)][3]
    cut = parse(body[: fourth_item + 300])
    assert 3 <= len(cut.entries) < len(full)
    assert [e.title for e in cut.entries[:3]] == [e.title for e in full[:3]]
    assert [e.link for e in cut.entries[:3]] == [e.link for e in full[:3]]
    assert cut.warning is not None


def test_broken_document_without_entries_is_a_parse_error() -> None:
    with pytest.raises(ParseError, match="could not be read"):
        parse(b'<rss version="2.0"><channel><title>cut off</ti')


def test_empty_valid_feed_has_no_entries() -> None:
    body = (FEEDS / "ai-blogs" / "palantir.xml").read_bytes()
    feed = parse(body)
    assert feed.entries == ()
    assert feed.title == "Palantir Press Releases"
    assert feed.warning is None


def test_xml_that_is_not_a_feed() -> None:
    with pytest.raises(NotAFeedError, match="not an RSS, Atom or JSON feed"):
        parse(b'<?xml version="1.0"?><config><a>1</a></config>')


def test_empty_body() -> None:
    with pytest.raises(ParseError, match="empty"):
        parse(b"  \n")


@pytest.mark.parametrize("body", [b"/etc/passwd", b"http://127.0.0.1:9/feed.xml"])
def test_body_is_never_opened_as_a_file_or_fetched(body: bytes) -> None:
    with pytest.raises(ParseError) as error:
        parse(body)
    assert "root:" not in str(error.value)


# ------------------------------------------------------------------ web pages


def test_html_page_is_not_a_feed_and_names_its_feeds() -> None:
    page = b"""<!DOCTYPE html><html><head><title>Blog</title>
    <link rel="alternate" type="application/rss+xml" title="Comments" href="/comments/feed">
    <link rel="alternate" type="application/rss+xml" title="Posts" href="/feed/"></head>
    <body><p>Hello</p></body></html>"""
    with pytest.raises(NotAFeedError) as error:
        parse(page, headers={"content-type": "text/html; charset=utf-8"})
    assert "web page, not a feed" in str(error.value)
    assert "https://news.example/feed/" in str(error.value)
    assert "comments" not in str(error.value)


def test_feed_served_as_text_html_is_still_read() -> None:
    feed = parse(rss(item()), headers={"content-type": "text/html"})
    assert len(feed.entries) == 1
    assert feed.warning is None


# ------------------------------------------------------------------ JSON Feed


def test_json_feed_11_from_corpus() -> None:
    body = (FEEDS / "gofeed-testdata" / "parser" / "json" / "version_json_11.json").read_bytes()
    feed = parse(body, headers={"content-type": "application/feed+json"})
    assert (feed.kind, feed.title, feed.site_url) == (
        "json",
        "title",
        "https://sample-json-feed.com/",
    )
    (entry,) = feed.entries
    assert (entry.guid, entry.title) == ("id", "title")
    assert entry.link == "https://sample-json-feed.com/id"
    assert entry.content_html == "<p>content_html</p>"  # HTML preferred over content_text
    assert entry.published == datetime(2019, 10, 12, 7, 20, 50, tzinfo=UTC)
    assert (entry.author, entry.categories) == ("author_name", ("tag1", "tag2"))
    assert entry.image == "https://sample-json-feed.com/image.png"


def test_json_feed_items() -> None:
    body = b"""{"version": "https://jsonfeed.org/version/1.1", "title": "JF &amp; co",
      "home_page_url": "https://jf.example/",
      "items": [
        {"id": 1, "url": "/p/1?utm_medium=x", "title": "First",
         "content_text": "Line one.\\n\\nTwo <b>",
         "date_published": "2025-03-01T10:00:00+01:00", "authors": [{"name": "Ann"}],
         "tags": ["ai", "ml"], "image": "https://jf.example/i.png"},
        {"id": "2", "external_url": "https://other.example/x", "content_html": "<p>hi</p>",
         "summary": "short", "author": {"name": "Bob"}, "date_modified": "2025-03-02T00:00:00Z"}
      ]}"""
    feed = parse(body)
    first, second = feed.entries
    assert feed.title == "JF & co"
    assert first.guid == "1"
    assert first.link == "https://news.example/p/1"
    assert first.published == datetime(2025, 3, 1, 9, 0, tzinfo=UTC)
    assert first.content_html == "<p>Line one.</p><p>Two &lt;b&gt;</p>"
    assert (first.author, first.categories, first.image) == (
        "Ann",
        ("ai", "ml"),
        "https://jf.example/i.png",
    )
    assert second.link == "https://other.example/x"
    assert second.author == "Bob"
    assert second.published == datetime(2025, 3, 2, tzinfo=UTC)  # modified when not published
    assert (second.content_html, second.summary_html) == ("<p>hi</p>", "short")


def test_json_that_is_not_a_json_feed() -> None:
    with pytest.raises(NotAFeedError, match="not a JSON Feed"):
        parse(b'{"items": []}')
    with pytest.raises(ParseError, match="not valid JSON"):
        parse(b'{"version": "https://jsonfeed.org/version/1", ')


# ------------------------------------------------------------------ images, content, ttl

IMG = '<content:encoded><![CDATA[<p>x <img alt="" src="/img/inline.jpg?a=1&amp;b=2"></p>]]>'
IMG += "</content:encoded>"


@both_paths
@pytest.mark.parametrize(
    ("extra", "image"),
    [
        (
            '<media:content url="https://i.example/m.jpg" medium="image"/>' + IMG,
            "https://i.example/m.jpg",
        ),
        ('<media:thumbnail url="https://i.example/t.jpg"/>' + IMG, "https://i.example/t.jpg"),
        (
            '<enclosure url="https://i.example/e.mp3" type="audio/mpeg" length="1"/>'
            '<enclosure url="https://i.example/e.png" type="image/png" length="1"/>',
            "https://i.example/e.png",
        ),
        (
            '<media:content url="https://i.example/v.mp4" type="video/mp4"/>' + IMG,
            "https://news.example/img/inline.jpg?a=1&b=2",
        ),
        ('<description>&lt;img src="data:image/png;base64,AAA"&gt;</description>', None),
        (
            '<description>&lt;p&gt;A &lt;IMG SRC="https://i.example/u.gif"&gt;</description>',
            "https://i.example/u.gif",
        ),
    ],
    ids=[
        "media-content",
        "media-thumbnail",
        "enclosure",
        "first-img",
        "data-uri-ignored",
        "upper-case-img",
    ],
)
def test_image_extraction(fast: bool, extra: str, image: str | None) -> None:
    assert parse(rss(item(extra=extra)), fast).entries[0].image == image


@both_paths
def test_content_author_categories_summary(fast: bool) -> None:
    extra = (
        "<description>Short &lt;i&gt;summary&lt;/i&gt;</description>"
        "<content:encoded><![CDATA[<p>The whole story.</p>]]></content:encoded>"
        "<author>jane@news.example (Jane Doe)</author><category>AI</category>"
        "<category>Policy</category>"
    )
    entry = parse(rss(item(extra=extra)), fast).entries[0]
    assert entry.content_html == "<p>The whole story.</p>"
    assert entry.summary_html == "Short <i>summary</i>"
    assert entry.categories == ("AI", "Policy")
    assert entry.author


@both_paths
def test_rss_ttl(fast: bool) -> None:
    assert parse(rss(item(), channel="<ttl>45</ttl>"), fast).ttl == timedelta(minutes=45)
    assert parse(rss(item()), fast).ttl is None


@pytest.mark.parametrize(
    ("path", "kind"),
    [
        ("ai-blogs/openai.xml", "rss"),
        ("gofeed-testdata/parser/universal/atom10_feed.xml", "atom"),
        ("gofeed-testdata/parser/universal/rdf_feed.xml", "rdf"),
        ("gofeed-testdata/parser/universal/json11_feed.json", "json"),
    ],
)
def test_feed_kind(path: str, kind: str) -> None:
    assert parse((FEEDS / path).read_bytes()).kind == kind


def test_real_feed_entries_are_complete() -> None:
    feed = parse((FEEDS / "ai-blogs" / "openai.xml").read_bytes())
    assert len(feed.entries) == 30
    for entry in feed.entries:
        assert entry.title and entry.link and entry.link.startswith("https://openai.com/")
        assert entry.published.tzinfo is UTC and not entry.date_estimated
        assert entry.content_html.startswith("<p>")
