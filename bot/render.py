"""Digests and story lists as Discord message payloads, within every Discord limit.

A digest reads like a briefing: a header line in the first message's content,
one embed per topic section (continued in "(cont.)" embeds when a section is
long), then "More stories" as linked one-liners. Payloads are plain Discord
JSON dicts so the outbox can store them; :func:`payload_to_kwargs` turns one
into discord.py arguments. The digest's last message carries a "Brief" button per lead
story as Discord component JSON (custom id ``brief:<story id>``); the story cog turns it
back into buttons when the message is sent, whether now or from the outbox.

Feed text is untrusted. Everything from a feed is cleaned, markdown-escaped
and mention-neutralised (:func:`escape`), and the only links are the ones we
build from a story's own http(s) URL. Lengths are counted in UTF-16 code units,
which is never less than what Discord counts, so a payload that fits here fits
there. Text is shortened at word boundaries with "…", and never inside a link.
"""

from __future__ import annotations

import colorsys
import math
import re
import zlib
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import discord

from bot.news.models import Digest, DigestSection, Story
from bot.textrender import clean_text, headline_of, http_url, outlets_note, relative_time

# Discord's limits (https://discord.com/developers/docs/resources/message#embed-object-embed-limits)
MAX_CONTENT = 2000
MAX_TITLE = 256
MAX_DESCRIPTION = 4096
MAX_EMBEDS = 10
MAX_EMBED_TOTAL = 6000

# Our own caps: a briefing entry is a glance, not the article.
HEADLINE_MAX = 250
LEAD_MAX = 600
POINT_MAX = 300
MAX_POINTS = 4
SOURCE_MAX = 80
MIN_LEAD = 60
ELLIPSIS = "…"
CONT = " (cont.)"

_NEUTRAL = 0x99AAB5

#: Discord allows five rows of five buttons on a message, and 80 characters a label
MAX_BUTTONS = 25
BUTTONS_PER_ROW = 5
LABEL_MAX = 80
BRIEF_PREFIX = "brief:"

# A bare URL in feed text is left verbatim (as discord.utils.escape_markdown does): Discord
# autolinks it, and a backslash inside would break the link. Square brackets end it, so a
# URL can never smuggle the "](" of a masked link past the escaping, and it never ends in
# a markdown character, so it cannot close markup of ours that follows it.
_URL = r"(?P<url>https?://[^\s<>\[\]]*[^\s<>\[\].,:;\"'!?)*_~|`])|"
_MARKDOWN = r"(?P<char>[\\*_~|`\[\]])|(?P<line>^[ \t]*(?:[>#-]|\+(?= )|\d+(?=\.)))"
_ESCAPE = re.compile(_URL + _MARKDOWN, re.IGNORECASE | re.MULTILINE)
#: with URLs not kept, "https\\://" stops Discord autolinking them (it shows as "https://")
_ESCAPE_ALL = re.compile(r"(?P<char2>(?:(?<=http)|(?<=https)):(?=//))|" + _MARKDOWN, re.I | re.M)
_MENTION_OPEN = re.compile(r"<(?=[@#/])")
_EVERYONE = re.compile(r"@(everyone|here)", re.IGNORECASE)
#: a server invite in feed text would show a join button under the digest: a zero-width
#: space after "discord" keeps it readable but neither linked nor expanded
_INVITE = re.compile(r"(discord(?:app)?)(\.(?:gg|io|me|li)/|\.com/invite/)", re.IGNORECASE)


def _escape_one(match: re.Match[str]) -> str:
    char = match["char"] or match.groupdict().get("char2")
    if char:
        return "\\" + char
    marker = match["line"]
    if marker:
        if marker[-1].isdigit():
            return marker + "\\"  # "2024. " -> "2024\. ": the dot is what makes a list
        return marker[:-1] + "\\" + marker[-1]
    return match["url"]


def escape(text: str, *, keep_urls: bool = True) -> str:
    """Make feed text inert: no formatting, headers, quotes, masked links or pings.

    Every markdown character gets a backslash (Discord hides it); a line that
    starts like a quote, header, list or subtext gets its marker escaped;
    ``@everyone``/``@here`` and ``<@id>``, ``<@&id>``, ``<#id>``, ``</cmd:id>``
    get a zero-width space so Discord no longer reads them as mentions, and server
    invites (``discord.gg/...``) one after "discord" so they are neither linked nor shown.
    ``keep_urls=False`` escapes inside URLs too, and stops them being autolinked:
    for headlines, whose only link may be the story's own.
    """
    return _no_pings((_ESCAPE if keep_urls else _ESCAPE_ALL).sub(_escape_one, text))


def inert(text: str) -> str:
    """Plain text (a button label: no markdown there) with mentions and invites made
    inert, as :func:`escape` makes them."""
    # no markdown in a label, so no live link either; still, a "[x](url)" shows broken
    return _no_pings(text).replace("](", "] (")


def _no_pings(text: str) -> str:
    """Mentions, @everyone/@here and server invites with a zero-width space in them."""
    text = discord.utils.escape_mentions(text)
    text = _EVERYONE.sub("@\u200b\\1", text)
    text = _INVITE.sub("\\1\u200b\\2", text)
    return _MENTION_OPEN.sub("<\u200b", text)


def size(text: str) -> int:
    """Length as Discord may count it: UTF-16 code units (an emoji can be two)."""
    return len(text.encode("utf-16-le")) // 2


def shorten(text: str, limit: int, esc: Callable[[str], str] = escape) -> str:
    """``esc(text)``, or the longest word-boundary prefix of ``text`` + "…" that fits ``limit``.

    ``text`` must be cleaned (single spaces). Only when even the first word does
    not fit is it cut inside, as nothing else could show the text at all. Returns
    "" when not even "…" fits.
    """
    whole = esc(text)
    if size(whole) <= limit:
        return whole

    def fits(end: int) -> bool:
        return size(esc(text[:end].rstrip()) + ELLIPSIS) <= limit

    cuts = [i for i, ch in enumerate(text) if ch == " "]
    best = _last_true(cuts, fits)
    if best is None:  # one word longer than the limit: cut inside it
        best = _last_true(range(1, len(text)), fits)
        if best is None:
            return ELLIPSIS if size(ELLIPSIS) <= limit else ""
    return esc(text[:best].rstrip()) + ELLIPSIS


def _last_true(candidates: Sequence[int], ok: Callable[[int], bool]) -> int | None:
    """The last candidate for which the monotone (True..., False...) ``ok`` holds."""
    lo, hi, found = 0, len(candidates) - 1, None
    while lo <= hi:
        mid = (lo + hi) // 2
        if ok(candidates[mid]):
            found, lo = candidates[mid], mid + 1
        else:
            hi = mid - 1
    return found


def _label(text: str) -> str:
    """Text for inside ``[...]``: brackets become parentheses, as escaped unbalanced
    brackets would end Discord's link label early."""
    return escape(text.replace("[", "(").replace("]", ")"), keep_urls=False)


def _bold(text: str) -> str:
    """Text for inside ``**...**``: a verbatim URL there could disturb the markers."""
    return escape(text, keep_urls=False)


def _headline(story: Story, limit: int, *, link: bool = True, bold: bool = True) -> str:
    """The headline (``limit`` characters of text), linked to the story's own http(s) URL."""
    url = http_url(story.url) if link else None
    text = shorten(headline_of(story), limit, _label)
    body = f"[{text}]({url})" if url else text
    return f"**{body}**" if bold else body


def color_for(topic: str) -> int:
    """A stable colour per topic, so a reader learns which embed is which at a glance.

    The hue comes from a hash of the name: distinct topics rarely share a colour.
    """
    if not topic:
        return _NEUTRAL
    hue = zlib.crc32(topic.encode()) / 2**32
    r, g, b = colorsys.hsv_to_rgb(hue, 0.6, 0.9)
    return (round(r * 255) << 16) | (round(g * 255) << 8) | round(b * 255)


def _meta(story: Story, now: datetime, *, outlets: bool) -> str:
    parts = [
        shorten(clean_text(story.source_name), SOURCE_MAX),
        relative_time(story.published, now),
    ]
    if outlets:
        parts.append(shorten(outlets_note(story), 3 * SOURCE_MAX))
    elif story.cluster_size > 1:
        n = story.cluster_size - 1
        parts.append(f"+{n} outlet{'s' if n > 1 else ''}")
    return "-# " + " · ".join(p for p in parts if p)


def _points(story: Story) -> list[str]:
    return [p for p in map(clean_text, story.points) if p]


@dataclass
class _Entry:
    """One lead story's parts, degraded step by step until the entry fits its budget."""

    story: Story
    now: datetime
    lead_text: str
    lead_limit: int
    points: int
    outlets: bool = True
    headline_limit: int = HEADLINE_MAX
    link: bool = True
    meta: bool = True

    def text(self) -> str:
        lines = [_headline(self.story, self.headline_limit, link=self.link)]
        if self.lead_text and self.lead_limit:
            lines.append(shorten(self.lead_text, self.lead_limit))
        for point in _points(self.story)[: self.points]:
            lines.append("• " + shorten(point, POINT_MAX))
        if self.meta:
            lines.append(_meta(self.story, self.now, outlets=self.outlets))
        return "\n".join(line for line in lines if line)

    def degrade(self, over: int) -> bool:
        """Give up the least important remaining detail; False when nothing is left to drop."""
        if self.points:
            self.points -= 1
        elif self.lead_limit:
            shown = size(shorten(self.lead_text, self.lead_limit))
            self.lead_limit = shown - over if shown - over >= MIN_LEAD else 0
        elif self.outlets:
            self.outlets = False
        elif self.headline_limit > 80:
            self.headline_limit = max(80, self.headline_limit - over)
        elif self.meta:
            self.meta = False
        elif self.link:
            self.link = False
        elif self.headline_limit > 10:
            self.headline_limit = max(10, self.headline_limit - over)
        else:
            return False
        return True


def story_entry(story: Story, now: datetime, budget: int, *, points: bool = True) -> str:
    """A lead story as a briefing entry of at most ``budget`` characters.

    Points go first, then the lead, then detail of the headline line - the
    headline itself is cut last, and never inside its link.
    """
    lead = clean_text(story.lead) if points or not story.snippet else clean_text(story.snippet)
    n_points = min(MAX_POINTS, len(_points(story))) if points else 0
    entry = _Entry(story, now, lead, LEAD_MAX if lead else 0, n_points)
    text = entry.text()
    while size(text) > budget and entry.degrade(size(text) - budget):
        text = entry.text()
    return text


def _more_line(story: Story) -> str:
    source = shorten(clean_text(story.source_name), SOURCE_MAX)
    return "• " + _headline(story, HEADLINE_MAX, bold=False) + (f" — {source}" if source else "")


def _pack(
    title: str, color: int, entries: Sequence[tuple[str, str | None]], sep: str
) -> Iterator[dict[str, Any]]:
    """Entries (text, thumbnail) into as few embeds as fit, later ones titled "(cont.)"."""
    title = shorten(clean_text(title) or "Other", MAX_TITLE - len(CONT))
    chunk: list[str] = []
    thumb: str | None = None
    count = 0

    def embed() -> dict[str, Any]:
        out: dict[str, Any] = {
            "title": title + (CONT if count else ""),
            "description": sep.join(chunk),
            "color": color,
        }
        if thumb:
            out["thumbnail"] = {"url": thumb}
        return out

    for text, image in entries:
        if chunk and size(sep.join([*chunk, text])) > MAX_DESCRIPTION:
            yield embed()
            chunk, thumb, count = [], None, count + 1
        chunk.append(text)
        thumb = thumb or image
    if chunk:
        yield embed()


def embed_size(embed: dict[str, Any]) -> int:
    """The characters Discord counts toward the 6,000 per message."""
    total = size(embed.get("title") or "") + size(embed.get("description") or "")
    total += sum(
        size(f.get("name", "")) + size(f.get("value", "")) for f in embed.get("fields", ())
    )
    total += size((embed.get("footer") or {}).get("text") or "")
    total += size((embed.get("author") or {}).get("name") or "")
    return total


def _messages(content: str, embeds: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    """Embeds into messages of at most 10 embeds and 6,000 embed characters, order kept."""
    messages: list[dict[str, Any]] = []
    current: dict[str, Any] = {"content": content, "embeds": []} if content else {"embeds": []}
    total = 0
    for embed in embeds:
        n = embed_size(embed)
        if current["embeds"] and (
            len(current["embeds"]) == MAX_EMBEDS or total + n > MAX_EMBED_TOTAL
        ):
            messages.append(current)
            current, total = {"embeds": []}, 0
        current["embeds"].append(embed)
        total += n
    if not current["embeds"]:
        del current["embeds"]
    if current or not messages:
        messages.append(current)
    return messages


def _header(digest: Digest) -> str:
    until = digest.until.astimezone(UTC)
    count = len(digest.stories)
    noun = "story" if count == 1 else "stories"
    stamp = f"{until.day} {until:%b}, {until:%H:%M} UTC"
    tail = f" · {stamp} · {count} {noun}" if count else f" · {stamp} · no new stories"
    title = shorten(clean_text(digest.title) or "News briefing", 200, _bold)
    line = f"**{title}**{tail}"
    notice = clean_text(digest.notice)
    if notice:
        line += "\n" + shorten(notice, MAX_CONTENT - size(line) - 1)
    return line


def _section_embeds(section: DigestSection, now: datetime) -> Iterator[dict[str, Any]]:
    entries = [
        (story_entry(story, now, MAX_DESCRIPTION), http_url(story.image))
        for story in section.stories
    ]
    return _pack(section.title, color_for(section.topic), entries, "\n\n")


def render_digest(digest: Digest, *, now: datetime) -> list[dict[str, Any]]:
    """The digest as Discord message payloads, in posting order; the last one carries a
    "Brief" button for each lead story (see :func:`brief_components`)."""
    embeds = [e for section in digest.sections for e in _section_embeds(section, now)]
    if digest.more:
        more = [(_more_line(story), None) for story in digest.more]
        embeds += _pack("More stories", _NEUTRAL, more, "\n")
    messages = _messages(_header(digest), embeds)
    components = brief_components([s for section in digest.sections for s in section.stories])
    if components:
        messages[-1]["components"] = components
    return messages


def brief_components(stories: Sequence[Story]) -> list[dict[str, Any]]:
    """Action rows of "Brief: <headline>" buttons, one per stored story (at most 25)."""
    buttons = []
    for story in stories[:MAX_BUTTONS]:
        label = "Brief: " + inert(" ".join(headline_of(story).split()))
        if len(label) > LABEL_MAX:
            label = label[: LABEL_MAX - 1].rsplit(" ", 1)[0] + ELLIPSIS
        buttons.append(
            {"type": 2, "style": 2, "label": label, "custom_id": f"{BRIEF_PREFIX}{story.id}"}
        )
    return [
        {"type": 1, "components": buttons[i : i + BUTTONS_PER_ROW]}
        for i in range(0, len(buttons), BUTTONS_PER_ROW)
    ]


def render_stories(
    stories: Sequence[Story], *, title: str, now: datetime, page: int = 0, per_page: int = 5
) -> dict[str, Any]:
    """One page of a story list (search results) as a single message payload.

    Each story gets an equal share of the description, so a page always fits in
    one embed however long the stories are; hence at most 10 stories a page.
    """
    per_page = min(max(1, per_page), 10)
    pages = max(1, math.ceil(len(stories) / per_page))
    page = min(max(0, page), pages - 1)
    shown = stories[page * per_page : (page + 1) * per_page]
    budget = (MAX_DESCRIPTION - 2 * (len(shown) - 1)) // max(1, len(shown))
    entries = [story_entry(story, now, budget, points=False) for story in shown]
    count = len(stories)
    embed: dict[str, Any] = {
        "title": shorten(clean_text(title) or "Stories", MAX_TITLE),
        "description": "\n\n".join(entries) or "No stories found.",
        "color": _NEUTRAL,
        "footer": {
            "text": f"Page {page + 1}/{pages} · {count} {'story' if count == 1 else 'stories'}"
        },
    }
    thumb = next((u for u in (http_url(s.image) for s in shown) if u), None)
    if thumb:
        embed["thumbnail"] = {"url": thumb}
    return {"embeds": [embed]}


MAX_FIELDS = 25
MAX_FIELD_NAME = 256
MAX_FIELD_VALUE = 1024
MAX_FOOTER = 2048
MAX_AUTHOR = 256


def fits(payload: dict[str, Any]) -> bool:
    """Whether a message payload keeps every Discord limit on its content and embeds."""
    embeds = payload.get("embeds") or []
    if size(payload.get("content") or "") > MAX_CONTENT or len(embeds) > MAX_EMBEDS:
        return False
    if sum(embed_size(e) for e in embeds) > MAX_EMBED_TOTAL:
        return False
    return all(_embed_fits(e) for e in embeds)


def _embed_fits(embed: dict[str, Any]) -> bool:
    fields = embed.get("fields") or []
    return (
        size(embed.get("title") or "") <= MAX_TITLE
        and size(embed.get("description") or "") <= MAX_DESCRIPTION
        and len(fields) <= MAX_FIELDS
        and size((embed.get("footer") or {}).get("text") or "") <= MAX_FOOTER
        and size((embed.get("author") or {}).get("name") or "") <= MAX_AUTHOR
        and all(
            size(f.get("name") or "") <= MAX_FIELD_NAME
            and size(f.get("value") or "") <= MAX_FIELD_VALUE
            for f in fields
        )
    )


def fit_payload(payload: dict[str, Any]) -> list[dict[str, Any]]:
    """A payload over Discord's limits as several messages within them, nothing dropped that
    can be kept: long content and descriptions are split at line breaks (else spaces), an
    embed's fields spread over "(cont.)" embeds, the embeds over messages. Only names and
    titles, which cannot be split, are shortened. A payload that fits comes back alone."""
    if fits(payload):
        return [payload]
    content = payload.get("content") or ""
    chunks = _split_text(content, MAX_CONTENT) if content else []
    embeds = [piece for e in payload.get("embeds") or [] for piece in _fit_embed(e)]
    out: list[dict[str, Any]] = [{"content": c} for c in chunks[:-1]]
    last = chunks[-1] if chunks else ""
    if last or embeds:
        out += _messages(last, embeds)
    if not out:
        return [payload]
    if payload.get("components"):  # the buttons stay under the last piece
        out[-1]["components"] = payload["components"]
    return out


def _fit_embed(embed: dict[str, Any]) -> list[dict[str, Any]]:
    base = {k: v for k, v in embed.items() if k not in ("description", "fields")}
    title = _cut(embed.get("title") or "", MAX_TITLE)
    if title:
        base["title"] = title
    if base.get("footer"):
        base["footer"] = {**base["footer"], "text": _cut(base["footer"].get("text") or "", 2048)}
    if base.get("author"):
        base["author"] = {**base["author"], "name": _cut(base["author"].get("name") or "", 256)}
    more = {"title": _cut(title, MAX_TITLE - len(CONT)) + CONT} if title else {}

    def follow_on() -> dict[str, Any]:
        return {**{k: v for k, v in base.items() if k in ("color", "url")}, **more}

    pieces: list[dict[str, Any]] = []
    for i, text in enumerate(_split_text(embed.get("description") or "", MAX_DESCRIPTION)):
        pieces.append({**(base if i == 0 else follow_on()), "description": text})
    if not pieces:
        pieces.append(dict(base))
    for field in embed.get("fields") or []:
        fixed = {
            **field,
            "name": _cut(field.get("name") or "", MAX_FIELD_NAME) or "\u200b",
            "value": _cut(field.get("value") or "", MAX_FIELD_VALUE) or "\u200b",
        }
        current = pieces[-1]
        fields = current.get("fields") or []
        grown = {**current, "fields": [*fields, fixed]}
        if len(fields) >= MAX_FIELDS or embed_size(grown) > MAX_EMBED_TOTAL:
            grown = {**follow_on(), "fields": [fixed]}
            pieces.append(grown)
        else:
            pieces[-1] = grown
    return pieces


def _prefix_within(text: str, limit: int) -> int:
    """The longest prefix (in code points) of ``text`` within ``limit`` UTF-16 units."""
    lo, hi = 0, len(text)
    while lo < hi:
        mid = (lo + hi + 1) // 2
        if size(text[:mid]) <= limit:
            lo = mid
        else:
            hi = mid - 1
    return lo


def _cut(text: str, limit: int) -> str:
    if size(text) <= limit:
        return text
    return text[: _prefix_within(text, limit - len(ELLIPSIS))].rstrip() + ELLIPSIS


def _split_text(text: str, limit: int) -> list[str]:
    """Text in pieces of at most ``limit`` UTF-16 units, cut at a line break, else a space."""
    pieces: list[str] = []
    rest = text.strip()
    while size(rest) > limit:
        cut = _prefix_within(rest, limit)
        window = rest[:cut]
        at = window.rfind("\n")
        if at <= 0:
            at = window.rfind(" ")
        if at > 0:
            cut = at
        pieces.append(rest[:cut].rstrip())
        rest = rest[cut:].strip()
    if rest:
        pieces.append(rest)
    return pieces


def payload_to_kwargs(payload: dict[str, Any]) -> dict[str, Any]:
    """A stored payload as keyword arguments for ``Messageable.send`` / ``followup.send``."""
    kwargs: dict[str, Any] = {}
    if payload.get("content"):
        kwargs["content"] = payload["content"]
    if payload.get("embeds"):
        kwargs["embeds"] = [discord.Embed.from_dict(e) for e in payload["embeds"]]
    return kwargs
