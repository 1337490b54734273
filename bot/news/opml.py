"""OPML 2.0 import and export of source lists."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import format_datetime

from bot.news.errors import ParseError
from bot.news.models import Source


@dataclass(frozen=True)
class OutlineFeed:
    url: str
    title: str


def read_opml(data: bytes) -> list[OutlineFeed]:
    """Every outline with an xmlUrl, nested folders included; duplicates dropped.

    Entity declarations are refused outright (no entity-expansion tricks in an upload).
    """
    if b"<!ENTITY" in data[:4096].upper():
        raise ParseError("OPML files with entity declarations are not accepted")
    try:
        root = ET.fromstring(data)
    except ET.ParseError as exc:
        raise ParseError(f"not a valid OPML file ({exc})") from None
    if root.tag.lower() != "opml":
        raise ParseError("not an OPML file (the top element is not <opml>)")
    feeds: dict[str, OutlineFeed] = {}
    for node in root.iter("outline"):
        url = (node.get("xmlUrl") or node.get("xmlurl") or "").strip()
        if url and url not in feeds:
            title = (node.get("title") or node.get("text") or "").strip()
            feeds[url] = OutlineFeed(url, title)
    return list(feeds.values())


def write_opml(sources: Sequence[Source], *, title: str = "briefbot sources") -> str:
    opml = ET.Element("opml", version="2.0")
    head = ET.SubElement(opml, "head")
    ET.SubElement(head, "title").text = title
    ET.SubElement(head, "dateCreated").text = format_datetime(datetime.now(UTC), usegmt=True)
    body = ET.SubElement(opml, "body")
    for source in sources:
        ET.SubElement(
            body, "outline", type="rss", text=source.name, title=source.name, xmlUrl=source.url
        )
    ET.indent(opml)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(opml, encoding="unicode") + "\n"
