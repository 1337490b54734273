"""Feed HTML (or plain text) -> readable plain text.

Feeds ship bodies full of things a reader of a briefing never wants: markup, scripts,
tracking pixels, share bars, image credits, "The post ... appeared first on ..." and
"Continue reading". Cleaning happens in two passes:

1. Structure: lxml parses the fragment and we walk the tree once, dropping elements that
   never carry story text (scripts, iframes, captions, share and subscribe blocks) and
   turning block elements into paragraph breaks and list items into "- " lines, so the
   condenser can still see paragraphs and bullet lists.
2. Boilerplate: a table of named regular expressions (:mod:`bot.news.boilerplate`) removes the
   phrases that survive as plain text. Each entry has a test of its own.

lxml parses broken markup the way browsers do. Cleaning runs for every new story, so the
text passes avoid Python's slow spots while giving exactly what the straightforward code
would (``tests/news/test_text_fast_paths.py`` compares them): whitespace is tidied with
``str.replace`` rather than splitting into words, boilerplate triggers are looked for in
ASCII-lower-cased bytes, and the line-anchored patterns are tried at line starts only.
Plain text without markup skips the parser entirely.
"""

from __future__ import annotations

import html
import re
from typing import Final

from lxml import etree
from lxml import html as lxml_html

from bot.news.boilerplate import BOILERPLATE, SPACE_BEFORE_PUNCT, remove_pattern, triggered

#: elements whose whole subtree is dropped: never story text
_SKIP_TAGS: Final = frozenset(
    {
        "script",
        "style",
        "noscript",
        "iframe",
        "object",
        "embed",
        "svg",
        "canvas",
        "template",
        "form",
        "button",
        "input",
        "select",
        "textarea",
        "figcaption",
        "head",
        "title",
        "meta",
        "link",
        "nav",
        "aside",
        "footer",
        "img",
        "picture",
        "video",
        "audio",
        "source",
        "map",
    }
)

#: elements that end a paragraph
_BLOCK_TAGS: Final = frozenset(
    {
        "p",
        "div",
        "section",
        "article",
        "main",
        "header",
        "blockquote",
        "pre",
        "h1",
        "h2",
        "h3",
        "h4",
        "h5",
        "h6",
        "ul",
        "ol",
        "dl",
        "dt",
        "dd",
        "table",
        "tr",
        "figure",
        "hr",
        "address",
        "details",
        "summary",
        "body",
        "html",
    }
)

#: class/id tokens of containers that hold sharing, subscription, caption or ad furniture
_FURNITURE: Final = re.compile(
    r"(?:^|[\s_-])(?:share|sharing|sharedaddy|social|subscribe|subscription|newsletter|signup"
    r"|related|relatedposts|caption|credits?|advert|advertisement|ads?|promo|byline"
    r"|wp-caption-text)(?:$|[\s_-])",
    re.IGNORECASE,
)

_PARA: Final = "\x00"  # paragraph marker while walking; never in input (removed first)
_LINE: Final = "\x01"  # line break (<br>) marker

#: bidirectional controls are here too: an override reorders what readers see ("Trojan source")
_INVISIBLE: Final = re.compile(
    r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\u00ad\u061c\u200b-\u200f\u202a-\u202e\u2060\u2066-\u2069\ufeff]"
)
#: the ASCII characters of _INVISIBLE, and the others
_INVISIBLE_BYTES: Final = bytes([*range(0x00, 0x09), 0x0B, 0x0C, *range(0x0E, 0x20), 0x7F])
_INVISIBLE_WIDE: Final = (
    *("\u00ad", "\u061c", "\u200b", "\u200c", "\u200d", "\u200e", "\u200f", "\u2060"),
    *("\u202a", "\u202b", "\u202c", "\u202d", "\u202e", "\u2066", "\u2067", "\u2068"),
    *("\u2069", "\ufeff"),
)
#: what ``str.split()`` and ``str.splitlines()`` treat as whitespace and line breaks,
#: besides " " and "\n" (checked against ``str.isspace`` in the tests)
_ASCII_SPACES: Final = ("\t", "\x0b", "\x0c", "\r", "\x1c", "\x1d", "\x1e", "\x1f")
_WIDE_SPACES: Final = (
    *("\x85", "\xa0", "\u1680", "\u2028", "\u2029", "\u202f", "\u205f", "\u3000"),
    *(chr(code) for code in range(0x2000, 0x200B)),
)
_LINE_BREAKS: Final = frozenset("\x0b\x0c\r\x1c\x1d\x1e\x85\u2028\u2029")
#: lxml.html's parser without its per-element Python class lookup: the same tree, faster
_PARSER: Final = etree.HTMLParser()
_HAS_MARKUP: Final = re.compile(r"<[a-zA-Z!/?]")
#: an entity still present after one decoding, i.e. the feed escaped it twice
_ENTITY: Final = re.compile(r"&(?:#\d{1,7}|#[xX][0-9a-fA-F]{1,6}|[a-zA-Z][a-zA-Z0-9]{1,31});")
#: a closing tag (or <br>/<img>) left after decoding: the feed escaped its HTML twice.
#: Opening tags alone are not enough, since prose like "a<b and c>d" looks like one.
_ESCAPED_TAG: Final = re.compile(
    r"</(?:p|div|span|a|b|i|em|strong|ul|ol|li|h[1-6]|blockquote|figure|script|style)\s*>"
    r"|<(?:br|img|iframe)\b[^<>]{0,500}>",
    re.IGNORECASE,
)
_TAG: Final = re.compile(
    r"</?(?:p|br|div|span|a|b|i|em|strong|img|ul|ol|li|h[1-6]|blockquote|figure|iframe|script"
    r"|style)\b[^<>]{0,500}>",
    re.IGNORECASE,
)
_TAG: Final = re.compile(r"<[^<>]{0,2000}>")


def clean_text(html_text: str) -> str:
    """Return the readable text of a feed body; paragraphs separated by a blank line.

    Bullet list items become lines starting with ``"- "``. Accepts HTML fragments, whole
    documents or plain text; never raises on malformed markup.
    """
    if not html_text:
        return ""
    raw = _strip_invisible(html_text)
    if _HAS_MARKUP.search(raw):
        text = _html_to_text(raw)
        tidy = True  # _html_to_text returns normalised text
    else:
        text = html.unescape(raw)
        tidy = False
    if "&" in text:
        decoded = _decode_again(text)
        if decoded != text:
            text, tidy = decoded, False
    if "<" in text and _ESCAPED_TAG.search(text):  # the feed escaped its HTML twice
        text, tidy = _html_to_text(text), True
    if not tidy:
        text = _normalise(text)
    fired = triggered(text)
    removed = False
    for name, pattern in BOILERPLATE:
        if name in fired:
            text, count = remove_pattern(name, pattern, text)
            removed = removed or count > 0
    if removed:
        # removing only deletes characters, so " " and "\n" are still the only whitespace;
        # the result is normalised already (no space is left at a line's end)
        text = SPACE_BEFORE_PUNCT.sub("", _tidy_lines(text))
    return text


def _strip_invisible(text: str) -> str:
    """``_INVISIBLE.sub("", text)``; a regex scan of every character is the slow way to
    find out that there is nothing to remove, which is the usual case."""
    data = text.encode("utf-8", "surrogatepass")
    if len(data.translate(None, _INVISIBLE_BYTES)) == len(data) and (
        text.isascii() or not any(ch in text for ch in _INVISIBLE_WIDE)
    ):
        return text
    return _INVISIBLE.sub("", text)


def clean_title(title: str, *, site: str | None = None) -> str:
    """Plain one-line title: tags stripped, entities decoded (twice-escaped too).

    A trailing " - Site" / " | Site" is removed only when *site* names it, because a
    dash in a title is just as often part of the headline.
    """
    if not title:
        return ""
    text = _INVISIBLE.sub("", title)
    if "<" in text:
        text = _TAG.sub(" ", text)
    text = _decode_again(html.unescape(text))
    if "<" in text and _HAS_MARKUP.search(text):  # tags that were escaped in the feed
        text = _TAG.sub(" ", text)
    text = " ".join(text.split())
    if site:
        for sep in (" - ", " | ", " – ", " — ", " · "):
            suffix = sep + site.strip()
            if text.lower().endswith(suffix.lower()) and len(text) > len(suffix):
                text = text[: -len(suffix)].rstrip()
                break
    return text


def _decode_again(text: str) -> str:
    """Decode entities that survived one round (``&amp;#8217;`` in the feed)."""
    if "&" not in text:
        return text
    return _ENTITY.sub(lambda m: html.unescape(m.group(0)), text)


def _html_to_text(raw: str) -> str:
    try:
        # lxml.html.fragment_fromstring(raw, create_parent="div"), without building the div
        found = lxml_html.fragments_fromstring(raw, parser=_PARSER)
        root = None
    except (etree.ParserError, ValueError):
        # whole documents and oddities: the document parser copes with everything else
        try:
            root = lxml_html.document_fromstring(raw, parser=_PARSER)
        except (etree.ParserError, ValueError):
            return _normalise(_TAG.sub(" ", raw))
    parts: list[str] = [_PARA]
    if root is not None:
        _walk(root, parts)
    else:
        for el in found:
            if isinstance(el, str):  # leading text
                parts.append(el)
            else:
                _walk(el, parts)
                if el.tail:
                    parts.append(el.tail)
    parts.append(_PARA)
    # source line breaks are just spaces in HTML
    text = _squeeze_spaces("".join(parts))
    paragraphs = []
    for p in text.split(_PARA):
        p = _tidy_lines(p.replace(_LINE, "\n")) if _LINE in p else p.strip()
        if p:
            paragraphs.append(p)
    return "\n\n".join(paragraphs)


def _walk(el: etree._Element, parts: list[str]) -> None:
    """Append the text of *el* (not its tail) to *parts*, with break markers."""
    tag = el.tag
    if not isinstance(tag, str):  # comments and processing instructions have .text too
        return
    if tag in _SKIP_TAGS or _is_furniture(el):
        return
    if tag == "br":
        parts.append(_LINE)
        return
    block = tag in _BLOCK_TAGS
    if tag == "li":
        block = True
        parts.append(_PARA + "- ")
    elif block:
        parts.append(_PARA)
    elif tag == "td" or tag == "th":
        parts.append(" ")
    text = el.text
    if text:
        parts.append(text)
    for child in el:
        _walk(child, parts)
        tail = child.tail
        if tail:
            parts.append(tail)
    if block:
        parts.append(_PARA)


def _is_furniture(el: etree._Element) -> bool:
    cls = el.get("class")
    ident = el.get("id")
    if not (cls or ident):
        return False
    return _FURNITURE.search((cls or "") + " " + (ident or "")) is not None


def _squeeze_spaces(text: str) -> str:
    """``" ".join(text.split())``, which makes an object per word: slow on long text."""
    for space in _ASCII_SPACES if text.isascii() else (*_ASCII_SPACES, *_WIDE_SPACES):
        if space in text:
            text = text.replace(space, " ")
    if "\n" in text:
        text = text.replace("\n", " ")
    while "  " in text:
        text = text.replace("  ", " ")
    return text.strip(" ")


def _normalise(text: str) -> str:
    """Collapse runs of spaces, trim lines, and keep at most one blank line in a row.

    Line breaks are those of ``str.splitlines`` and spaces those of ``str.split``.
    """
    if "\r\n" in text:
        text = text.replace("\r\n", "\n")
    for space in _ASCII_SPACES if text.isascii() else (*_ASCII_SPACES, *_WIDE_SPACES):
        if space in text:
            text = text.replace(space, "\n" if space in _LINE_BREAKS else " ")
    return _tidy_lines(text)


def _tidy_lines(text: str) -> str:
    """:func:`_normalise` for text whose only whitespace is " " and "\n"."""
    while "  " in text:
        text = text.replace("  ", " ")
    if " \n" in text:
        text = text.replace(" \n", "\n")
    if "\n " in text:
        text = text.replace("\n ", "\n")
    while "\n\n\n" in text:
        text = text.replace("\n\n\n", "\n\n")
    return text.strip(" \n")
