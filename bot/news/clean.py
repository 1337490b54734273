"""Feed HTML (or plain text) -> readable plain text.

Feeds ship bodies full of things a reader of a briefing never wants: markup, scripts,
tracking pixels, share bars, image credits, "The post ... appeared first on ..." and
"Continue reading". Cleaning happens in two passes:

1. Structure: lxml parses the fragment and we walk the tree once, dropping elements that
   never carry story text (scripts, iframes, captions, share and subscribe blocks) and
   turning block elements into paragraph breaks and list items into "- " lines, so the
   condenser can still see paragraphs and bullet lists.
2. Boilerplate: a table of named regular expressions (:data:`BOILERPLATE`) removes the
   phrases that survive as plain text. Each entry has a test of its own.

lxml parses broken markup the way browsers do; with our tree walk it costs about what a
bare ``html.parser`` pass that only collects text does (90 vs 75 µs for a 2 KB story on
the slow development machine). Plain text without markup skips the parser entirely.
"""

from __future__ import annotations

import html
import re
from typing import Final

from lxml import etree
from lxml import html as lxml_html

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

_INVISIBLE: Final = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\u00ad\u200b-\u200d\u2060\ufeff]")
_MANY_BREAKS: Final = re.compile(r"\n{3,}")
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

_NAME: Final = r"(?:[A-Z][\w'’.-]*|de|van|von|der|da|di|la|le)"
_PERSON: Final = rf"[A-Z][\w'’.-]*(?:\s+{_NAME}){{0,3}}"
_OUTLETS: Final = r"(?:Getty Images|Getty|AP Photo|AP Images|Shutterstock|Alamy|iStock|EPA|AFP)"

#: Boilerplate phrases removed from the plain text, applied in this order to the whole
#: text with ``re.MULTILINE`` (``^``/``$`` match at line ends; ``\A`` is the start of the
#: story). Each match is removed; empty paragraphs are dropped afterwards. Patterns are
#: case-sensitive and start with a literal where they can: Python's regex engine then
#: skips ahead to candidate positions instead of trying every one, which is 20x faster
#: (and capital "Sign up" etc. marks a sentence start, so "users can sign up" survives).
BOILERPLATE: Final[tuple[tuple[str, re.Pattern[str]], ...]] = tuple(
    (name, re.compile(pattern, re.MULTILINE))
    for name, pattern in (
        ("post_appeared_first", r"The post\s.{1,400}?\sappeared first on\s[^\n]{1,200}?(?:\.|$)"),
        (
            "originally_appeared",
            r"This (?:article|story|post|piece) (?:was )?(?:originally|first) "
            r"(?:appeared|published) (?:on|in|at) [^\n]*",
        ),
        ("continue_reading", r"(?:Continue|CONTINUE) (?:reading|READING)\b[^\n]{0,200}$"),
        (
            "read_more",
            r"Read(?<!\wRead) (?:more|the full (?:story|article|post)|full (?:story|article|post))"
            r"\b(?:\s*(?:\.\.\.|…|→|»|>>|›))?(?:[ \t]*:[^\n]*)?$",
        ),
        ("bracketed_ellipsis", r"\[\s*(?:\.\.\.|…|&#8230;|&hellip;)\s*\]"),
        ("sign_up", r"Sign up (?:for|to|now|today|here)\b[^.!?\n]*(?:[.!?]+|$)"),
        ("subscribe", r"Subscribe (?:to|for|now|today|here)\b[^.!?\n]*(?:[.!?]+|$)"),
        ("click_here", r"Click here\b[^.!?\n]*(?:[.!?]+|$)"),
        ("browser_unsupported", r"Your browser does not support[^.!?\n]{0,60}(?:[.!?]|$)"),
        (
            "wire_dateline",
            r"\b[A-Z][A-Z .'-]{1,40}, [^\n()]{0,60}?\((?:GLOBE NEWSWIRE|BUSINESS WIRE|PRNewswire"
            r"|PR Newswire|ACCESSWIRE)\)\s*(?:--|—|–|-)\s*",
        ),
        (
            "photo_credit_line",
            r"^(?:Photo(?:graph)?s?|Images?|Pictures?|Video)(?: [Cc]redits?)?(?: by)?\s*[:：]"
            r"[^\n]{0,200}$",
        ),
        ("credit_line", r"^(?:Credits?|Source|Image source)\s*[:：][^\n]{0,120}$"),
        (
            "photo_credit_inline",
            r"\((?:Photo(?:graph)?|Image|Picture|photo|image|picture)(?: [Cc]redit)?s?(?: by)?"
            r"\s*[:：]?\s*[^()\[\]\n]{1,120}\)",
        ),
        ("agency_credit", rf"\((?:[^()\n]{{1,80}}/)?{_OUTLETS}(?:/[^()\n]{{1,80}})?\)"),
        (
            "byline",
            rf"\ABy\s+{_PERSON}(?:\s*(?:,|and|&)\s*{_PERSON}){{0,3}}"
            r"(?:\s*[,|–—-]\s*[^\n]{0,60})?$",
        ),
        (
            "share_line",
            r"^(?:(?:Share|Tweet|Email|E-mail|Print|Facebook|Twitter|X|LinkedIn|WhatsApp|Reddit"
            r"|Pinterest|Copy link|Save)[\s,|/•·:]*){1,12}$",
        ),
        ("share_this", r"^(?:Share (?:this|on|via)\b|Share\s*:|Follow us (?:on|at)\b)[^\n]{0,80}$"),
        (
            # a text-to-speech player's controls: "Listen to article ... Voice Speed 0.75X 1X 1.5X 2X"
            "audio_player",
            r"Listen to (?:this |the )?article\b[^\n]{0,300}?Speed(?:\s*Voice Speed)?"
            r"(?:\s*\d(?:\.\d+)?[Xx]\b)+\s*",
        ),
    )
)

#: lower-case strings one of which must occur before a pattern is tried, so a story pays
#: only for the patterns that can match it. The text is searched with a "\n" in front, so
#: "\nshare" means "a line starting with share".
_TRIGGERS: Final[dict[str, tuple[str, ...]]] = {
    "post_appeared_first": ("appeared first",),
    "originally_appeared": ("originally", "first appeared", "first published"),
    "continue_reading": ("continue reading",),
    "read_more": ("read more", "read the full", "read full"),
    "bracketed_ellipsis": ("[",),
    "sign_up": ("sign up",),
    "subscribe": ("subscribe",),
    "click_here": ("click here",),
    "browser_unsupported": ("your browser does not support",),
    "wire_dateline": ("newswire", "business wire", "accesswire"),
    "photo_credit_line": ("\nphoto", "\nimage", "\npicture", "\nvideo"),
    "credit_line": ("\ncredit", "\nsource", "\nimage source"),
    "photo_credit_inline": ("(photo", "(image", "(picture"),
    "agency_credit": (
        *("getty", "ap photo", "ap images", "shutterstock", "alamy", "istock"),
        *("epa)", "afp)", "/epa", "/afp"),
    ),
    "byline": ("\nby ",),
    "share_line": tuple(
        "\n" + word
        for word in "share tweet email e-mail print facebook twitter x linkedin whatsapp reddit "
        "pinterest copy save".split()
    ),
    "share_this": ("\nshare", "\nfollow us"),
    "audio_player": ("listen to",),
}

#: a space left before punctuation where an inline credit was removed
_SPACE_BEFORE_PUNCT: Final = re.compile(r" +(?=[.,;:!?](?:\s|$))")


def clean_text(html_text: str) -> str:
    """Return the readable text of a feed body; paragraphs separated by a blank line.

    Bullet list items become lines starting with ``"- "``. Accepts HTML fragments, whole
    documents or plain text; never raises on malformed markup.
    """
    if not html_text:
        return ""
    raw = _INVISIBLE.sub("", html_text)
    if _HAS_MARKUP.search(raw):
        text = _html_to_text(raw)
    else:
        text = html.unescape(raw)
    text = _decode_again(text)
    if "<" in text and _ESCAPED_TAG.search(text):  # the feed escaped its HTML twice
        text = _html_to_text(text)
    text = _normalise(text)
    lowered = "\n" + text.lower()
    removed = False
    for name, pattern in BOILERPLATE:
        if any(word in lowered for word in _TRIGGERS[name]):
            text, count = pattern.subn("", text)
            removed = removed or count > 0
    if removed:
        text = _SPACE_BEFORE_PUNCT.sub("", _normalise(text))
    return _normalise(text)


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
        root = lxml_html.fragment_fromstring(raw, create_parent="div")
    except (etree.ParserError, ValueError):
        # whole documents and oddities: the document parser copes with everything else
        try:
            root = lxml_html.document_fromstring(raw)
        except (etree.ParserError, ValueError):
            return _TAG.sub(" ", raw)
    parts: list[str] = []
    _walk(root, parts)
    text = " ".join("".join(parts).split())  # source line breaks are just spaces in HTML
    paragraphs = (p.replace(_LINE, "\n").strip() for p in text.split(_PARA))
    return "\n\n".join(p for p in paragraphs if p)


def _walk(el: etree._Element, parts: list[str]) -> None:
    """Append the text of *el* (not its tail) to *parts*, with break markers."""
    tag = el.tag if isinstance(el.tag, str) else ""
    if tag in _SKIP_TAGS or (tag and _is_furniture(el)):
        return
    if tag == "br":
        parts.append(_LINE)
        return
    block = tag in _BLOCK_TAGS
    if tag == "li":
        parts.append(_PARA + "- ")
    elif block:
        parts.append(_PARA)
    elif tag in ("td", "th"):
        parts.append(" ")
    if tag and el.text:  # comments and processing instructions have .text too
        parts.append(el.text)
    for child in el:
        _walk(child, parts)
        if child.tail:
            parts.append(child.tail)
    if block or tag == "li":
        parts.append(_PARA)


def _is_furniture(el: etree._Element) -> bool:
    attrs = el.attrib
    if not attrs:
        return False
    marker = (attrs.get("class") or "") + " " + (attrs.get("id") or "")
    return len(marker) > 1 and _FURNITURE.search(marker) is not None


def _normalise(text: str) -> str:
    """Collapse runs of spaces, trim lines, and keep at most one blank line in a row."""
    lines = [" ".join(line.split()) for line in text.splitlines()]
    return _MANY_BREAKS.sub("\n\n", "\n".join(lines)).strip()
