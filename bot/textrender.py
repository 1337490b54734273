"""Digests and story lists as plain terminal text (the command line's view).

Feed text is untrusted: it may carry terminal escape sequences that would
recolour, retitle or rewrite the user's terminal, so every feed string passes
through :func:`clean_text` before it is printed. Styling (bold headlines, dim
metadata) is added only when the caller says the output is a colour terminal.

The small helpers here (:func:`clean_text`, :func:`relative_time`,
:func:`headline_of`, :func:`http_url`) are shared with the Discord renderer,
which is why they live in a module that does not import discord.
"""

from __future__ import annotations

import re
import textwrap
import unicodedata
from collections.abc import Sequence
from datetime import UTC, datetime
from urllib.parse import quote, urlsplit, urlunsplit

from bot.news.models import Digest, Story

WIDTH = 88
_BOLD, _DIM, _RESET = "\x1b[1m", "\x1b[2m", "\x1b[0m"
#: bidirectional overrides/isolates can reorder what the user reads ("Trojan source")
_BIDI = dict.fromkeys(
    map(ord, "\u061c\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")
)
_WS = re.compile(r"\s+")
#: combining marks kept on one character: scripts need two or three, "zalgo" text stacks
#: hundreds, which Discord draws over the lines around it
MAX_MARKS = 3
_URL = re.compile(r"https?://\S+", re.IGNORECASE)
#: a host name or IP literal, optionally with userinfo and port: nothing markdown could hijack
_NETLOC = re.compile(
    r"(?:[^\s/?#@()<>\[\]\"'\\`]+@)?(?:\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9.\-_~%]+)(?::\d{1,5})?"
)
MAX_URL = 2048


def clean_text(text: str | None) -> str:
    """One line of printable text: control and bidi characters gone, whitespace collapsed.

    Newlines go too: a renderer decides where lines break, not the feed.
    """
    if not text:
        return ""
    out = []
    marks = 0
    for ch in text.translate(_BIDI):
        if ch.isspace():
            out.append(" ")
            marks = 0
            continue
        category = unicodedata.category(ch)
        if category in ("Mn", "Me"):
            marks += 1
            if marks > MAX_MARKS:
                continue
        else:
            marks = 0
        if category != "Cc":
            out.append(ch)
    return _WS.sub(" ", "".join(out)).strip()


def relative_time(when: datetime, now: datetime) -> str:
    """ "just now", "5m ago", "3h ago", "2d ago": a briefing reader wants recency, not a clock."""
    seconds = (now - when).total_seconds()
    if seconds < 60:
        return "just now"
    if seconds < 3600:
        return f"{int(seconds // 60)}m ago"
    if seconds < 86400:
        return f"{int(seconds // 3600)}h ago"
    return f"{int(seconds // 86400)}d ago"


def headline_of(story: Story) -> str:
    """The condensed headline, else the feed title: a story is never shown without a name."""
    return clean_text(story.headline) or clean_text(story.title) or "Untitled story"


def http_url(url: str | None) -> str | None:
    """The URL made safe to link, or None when it is not a plain absolute http(s) URL.

    Spaces, parentheses and other characters that would end a markdown link or a
    terminal token early are percent-encoded; anything with another scheme
    (``javascript:``, ``data:``) or an odd host is refused.
    """
    if not url:
        return None
    url = url.strip()
    if any(unicodedata.category(ch) == "Cc" for ch in url):
        return None
    try:
        parts = urlsplit(url)
    except ValueError:
        return None
    if parts.scheme.lower() not in ("http", "https") or not parts.netloc:
        return None
    netloc = parts.netloc
    if not netloc.isascii():
        try:
            netloc = netloc.encode("idna").decode("ascii")
        except UnicodeError:
            return None
    if not _NETLOC.fullmatch(netloc):
        return None
    safe = "/%:@!$&'*+,;=~"
    url = urlunsplit(
        (
            parts.scheme.lower(),
            netloc,
            quote(parts.path, safe=safe),
            quote(parts.query, safe=safe + "?"),
            quote(parts.fragment, safe=safe + "?"),
        )
    )
    return url if len(url) <= MAX_URL else None


def outlets_note(story: Story, *, names: int = 3) -> str:
    """ "+2 outlets (A, B)": how widely the story was covered, naming the first few."""
    others = [n for n in (clean_text(o) for o in story.also_covered_by) if n]
    if not others:
        return ""
    count = max(len(others), story.cluster_size - 1)
    noun = "outlet" if count == 1 else "outlets"
    shown = ", ".join(others[:names]) + (", …" if count > names else "")
    return f"+{count} {noun} ({shown})"


def _meta(story: Story, now: datetime) -> str:
    parts = [clean_text(story.source_name), relative_time(story.published, now)]
    parts.append(outlets_note(story))
    parts.append(f"story {story.id}")  # what `briefbot story ID` takes
    return " · ".join(p for p in parts if p)


class _Style:
    def __init__(self, color: bool) -> None:
        self.color = color

    def bold(self, line: str) -> str:
        return f"{_BOLD}{line}{_RESET}" if self.color else line

    def dim(self, line: str) -> str:
        return f"{_DIM}{line}{_RESET}" if self.color else line


def _wrap(text: str, indent: str = "", hang: str | None = None) -> list[str]:
    """Wrap to WIDTH without ever splitting a URL (a broken link cannot be clicked).

    Long words that are not URLs are chunked first, so only URLs may overflow.
    """
    hang = indent if hang is None else hang
    room = WIDTH - max(len(indent), len(hang))
    words = []
    for word in text.split(" "):
        if len(word) > room and not _URL.match(word):
            words.extend(word[i : i + room] for i in range(0, len(word), room))
        else:
            words.append(word)
    return textwrap.wrap(
        " ".join(words),
        width=WIDTH,
        initial_indent=indent,
        subsequent_indent=hang,
        break_long_words=False,
        break_on_hyphens=False,
    )


def _story_lines(story: Story, now: datetime, style: _Style, *, points: bool) -> list[str]:
    lines = [style.bold(line) for line in _wrap(headline_of(story))]
    lead = clean_text(story.snippet) if not points and story.snippet else clean_text(story.lead)
    if lead:
        lines += _wrap(lead)
    if points:
        for point in map(clean_text, story.points):
            if point:
                lines += _wrap(point, indent="  • ", hang="    ")
    lines += [style.dim(line) for line in _wrap(_meta(story, now), indent="  ")]
    url = http_url(story.url)
    if url:
        lines.append(style.dim("  " + url))
    return lines


def _more_lines(stories: Sequence[Story], now: datetime, style: _Style) -> list[str]:
    lines = _heading("More stories", style)
    for story in stories:
        source = clean_text(story.source_name)
        line = headline_of(story) + (f" — {source}" if source else "")
        lines += _wrap(f"{line} · {relative_time(story.published, now)}", "  • ", "    ")
        url = http_url(story.url)
        if url:
            lines.append(style.dim("    " + url))
    return lines


def _heading(title: str, style: _Style) -> list[str]:
    title = clean_text(title) or "Other"
    return [style.bold(title), "─" * min(len(title), WIDTH)]


def render_digest_text(digest: Digest, *, now: datetime, color: bool) -> str:
    """The whole briefing as terminal text: title, notice, sections, then "More stories"."""
    style = _Style(color)
    until = digest.until.astimezone(UTC)
    count = len(digest.stories)
    title = clean_text(digest.title) or "News briefing"
    stamp = f"{until.day} {until:%b %Y, %H:%M} UTC"
    noun = "story" if count == 1 else "stories"
    lines = [style.bold(line) for line in _wrap(f"{title} · {stamp} · {count} {noun}")]
    if digest.notice:
        lines += _wrap(clean_text(digest.notice))
    if digest.empty:
        lines += ["", "No new stories."]
    for section in digest.sections:
        if not section.stories:
            continue
        lines += ["", *_heading(section.title, style)]
        for story in section.stories:
            lines += ["", *_story_lines(story, now, style, points=True)]
    if digest.more:
        lines += ["", *_more_lines(digest.more, now, style)]
    return "\n".join(lines) + "\n"


def render_stories_text(stories: Sequence[Story], *, now: datetime, color: bool) -> str:
    """A list of stories (search results, a source's latest), blank-line separated.

    A search snippet, when present, replaces the lead: it shows why the story matched.
    """
    if not stories:
        return "No stories found.\n"
    style = _Style(color)
    blocks = ["\n".join(_story_lines(s, now, style, points=False)) for s in stories]
    return "\n\n".join(blocks) + "\n"
