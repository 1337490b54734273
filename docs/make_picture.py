"""Make docs/digest-discord.png: a real briefbot digest as Discord's dark theme shows it.

A documentation tool, not part of the bot: no test or CI step runs it. The digest is
real - the AI-blog feeds in tests/data/feeds/ai-blogs go through the same parse,
clean, condense, tag, cluster and arrange stages as a poll would, and
:func:`bot.render.render_digest` produces the very payloads the bot posts. Only the
last step is a stand-in: those payloads become an HTML page styled like Discord's
chat, which headless Chromium screenshots. Feed thumbnails would be grey boxes (no
network), but these feeds carry none.

    python docs/make_picture.py            # writes docs/digest-discord.png
    python docs/make_picture.py --keep-html /tmp/digest.html
    python docs/make_picture.py --story    # docs/story-discord.png: /story of a news event

The ``--story`` picture is the briefing of the biggest themed story cluster in the real news
feeds of bench/data/feeds/real-world (captured on 5 April 2022), built by
:func:`bot.news.briefing.build_briefing` and rendered by :func:`bot.render_briefing`.
"""

from __future__ import annotations

import argparse
import html
import re
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Sequence
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bot.news.briefing import build_briefing  # noqa: E402
from bot.news.clean import clean_text, clean_title  # noqa: E402
from bot.news.cluster import ClusterItem, assign_clusters  # noqa: E402
from bot.news.condense import condense  # noqa: E402
from bot.news.digest import arrange_digest, pick_representatives  # noqa: E402
from bot.news.embed import load_embedder  # noqa: E402
from bot.news.enrich import group_tagging_input  # noqa: E402
from bot.news.identity import content_hash  # noqa: E402
from bot.news.models import Briefing, Digest, Story  # noqa: E402
from bot.news.parse import parse_feed  # noqa: E402
from bot.news.topics import DEFAULT_TOPICS, Tagger  # noqa: E402
from bot.render import render_digest  # noqa: E402
from bot.render_briefing import render_briefing  # noqa: E402

FEEDS = ROOT / "tests" / "data" / "feeds" / "ai-blogs"
OUT = ROOT / "docs" / "digest-discord.png"
STORY_OUT = ROOT / "docs" / "story-discord.png"
#: the moment the digest is posted: the feeds were captured just before Christmas 2025
NOW = datetime(2025, 12, 22, 18, 0, tzinfo=UTC)
#: a weekly briefing with four lead stories (the config defaults are 1d and 8)
SINCE = timedelta(days=7)
LIMIT = 4
NEWS_FEEDS = ROOT / "bench" / "data" / "feeds" / "real-world"
NEWS_NOW = datetime(2022, 4, 6, 7, 0, tzinfo=UTC)
#: the publishers' names (bench/data/feeds/ATTRIBUTION.md); some feed titles are a slogan
PUBLISHERS = {
    "bbc-world": "BBC News",
    "buzzfeed": "BuzzFeed",
    "engadget": "Engadget",
    "ft": "Financial Times",
    "guardian": "The Guardian",
    "huffpost": "HuffPost",
    "macrumors": "MacRumors",
    "nyt": "The New York Times",
    "skynews": "Sky News",
    "telegraph": "The Telegraph",
    "thenextweb": "The Next Web",
    "theverge": "The Verge",
}
#: Discord's embeds are at most 520 px wide; the page is just wide enough for them
WIDTH = 640


# --------------------------------------------------------------------------- the digest


def load_stories(now: datetime, feeds: Path = FEEDS) -> list[Story]:
    """Every dated entry of the sample feeds, enriched as the poll pipeline does."""
    stories: list[Story] = []
    seen: set[str] = set()  # the store keeps one story when a feed repeats one under a new URL
    for source_id, path in enumerate(sorted(feeds.glob("*.xml")), start=1):
        feed = parse_feed(
            path.read_bytes(), url=f"https://{path.stem}.example/feed", fetched_at=now
        )
        for entry in feed.entries:
            if entry.date_estimated:  # dated after "now": not yet published at that moment
                continue
            if content_hash(entry) in seen:
                continue
            seen.add(content_hash(entry))
            body = clean_text(entry.content_html or entry.summary_html)
            short = condense(clean_title(entry.title), body)
            stories.append(
                Story(
                    id=len(stories) + 1,
                    source_id=source_id,
                    source_name=PUBLISHERS.get(path.stem) or feed.title or path.stem,
                    url=entry.link,
                    title=entry.title,
                    published=entry.published,
                    first_seen=now,
                    headline=short.headline,
                    lead=short.lead,
                    points=short.points,
                    image=entry.image,
                    author=entry.author,
                    text=body,
                )
            )
    return stories


def tag_and_cluster(stories: Sequence[Story]) -> list[Story]:
    """Topics from the default taxonomy and cluster ids, as the store would hold them: a
    cluster several outlets share is tagged from all of their text, as the service does."""
    items = [
        ClusterItem(s.id, s.source_id, s.published, f"{s.headline} {s.lead}", None) for s in stories
    ]
    clusters = assign_clusters(items, [])
    members: dict[int, list[Story]] = {}
    for s in sorted(stories, key=lambda s: (s.published, s.id)):
        members.setdefault(clusters[s.id], []).append(s)
    groups = list(members.values())
    inputs = [group_tagging_input([(s.headline, s.lead, s.points) for s in g]) for g in groups]
    tags = Tagger(DEFAULT_TOPICS).tag_many(inputs)
    topics = {s.id: tuple(t) for g, t in zip(groups, tags, strict=True) for s in g}
    return [replace(s, topics=topics[s.id], cluster_id=clusters[s.id]) for s in stories]


def build_digest(now: datetime) -> Digest:
    stories = [s for s in tag_and_cluster(load_stories(now)) if s.published >= now - SINCE]
    return arrange_digest(
        pick_representatives(stories),
        topics=DEFAULT_TOPICS,
        now=now,
        since=now - SINCE,
        limit=LIMIT,
        title="News briefing",
    )


def build_story_briefing(now: datetime) -> Briefing:
    """The briefing of the cluster most outlets covered in the real news feeds."""
    stories = tag_and_cluster(load_stories(now, NEWS_FEEDS))
    clusters: dict[int | None, list[Story]] = {}
    for s in stories:
        clusters.setdefault(s.cluster_id, []).append(s)
    model = load_embedder()
    embed = model.embed if model is not None else None
    briefings = []
    for members in clusters.values():
        if len({s.source_id for s in members}) < 3:
            continue
        topic = members[0].topics[:1]
        recent = [s for s in stories if not topic or topic[0] in s.topics]
        briefings.append(build_briefing(members, members[0].id, embed=embed, recent=recent))
    # the story most outlets covered whose outlets say enough for themed sections (feed
    # summaries are short: the biggest cluster of these feeds gets points, not sections)
    return max(briefings, key=lambda b: (bool(b.sections), len(b.outlets), -b.story_id))


# --------------------------------------------------------------------------- Discord markdown

# Discord hides a backslash before ASCII punctuation; links and bold are the only markup the
# renderer emits; feed text keeps bare URLs verbatim, which Discord autolinks.
_INLINE = re.compile(
    r"(?P<esc>\\(?P<char>[!-/:-@\[-`{-~]))"
    r"|(?P<link>\[(?P<label>(?:\\.|[^\]\\])*)\]\((?P<href>https?://[^\s)]+)\))"
    r"|(?P<bold>\*\*)"
    r"|(?P<italic>(?<!\*)\*(?![*\s])(?P<itext>[^*\n]+?)\*(?!\*))"
    r"|(?P<url>https?://[^\s<]*[^\s<.,:;\"'!?)\]])"
)


def inline(text: str) -> str:
    """One line of Discord markdown (the subset briefbot emits) as HTML."""
    parts: list[str] = []
    bold_at: int | None = None
    pos = 0
    for m in _INLINE.finditer(text):
        parts.append(html.escape(text[pos : m.start()]))
        pos = m.end()
        if m["esc"]:
            parts.append(html.escape(m["char"]))
        elif m["link"]:
            href = html.escape(m["href"], quote=True)
            parts.append(f'<a href="{href}">{inline(m["label"])}</a>')
        elif m["italic"]:
            parts.append(f"<em>{inline(m['itext'])}</em>")
        elif m["bold"]:
            parts.append("</strong>" if bold_at is not None else "<strong>")
            bold_at = None if bold_at is not None else len(parts) - 1
        else:
            url = html.escape(m["url"], quote=True)
            parts.append(f'<a href="{url}">{url}</a>')
    parts.append(html.escape(text[pos:]))
    if bold_at is not None:  # an unpaired "**" is shown as typed
        parts[bold_at] = "**"
    return "".join(parts)


def markdown(text: str) -> str:
    """Lines of Discord markdown as HTML: "-# " lines become small grey subtext."""
    out = []
    for line in text.split("\n"):
        if line.startswith("-# "):
            out.append(f'<div class="subtext">{inline(line[3:])}</div>')
        elif line.strip():
            out.append(f"<div>{inline(line)}</div>")
        else:
            out.append('<div class="blank"></div>')
    return "".join(out)


# --------------------------------------------------------------------------- the page

_CSS = """
* { box-sizing: border-box; }
body { margin: 0; background: #313338; color: #dbdee1;
  font: 16px/1.375 "gg sans", "Noto Sans", "Helvetica Neue", Helvetica, Arial, sans-serif; }
a { color: #00a8fc; text-decoration: none; }
strong { font-weight: 700; }
.topbar { height: 48px; display: flex; align-items: center; padding: 0 16px; gap: 8px;
  border-bottom: 1px solid #1f2023; color: #f2f3f5; font-weight: 600; }
.topbar .hash { color: #80848e; font-size: 24px; font-weight: 400; }
.topbar .topic { color: #949ba4; font-size: 14px; font-weight: 400; margin-left: 8px;
  padding-left: 12px; border-left: 1px solid #3f4147; }
.message { position: relative; padding: 2px 48px 2px 72px; margin-top: 17px; }
.message.cont { margin-top: 4px; }
.avatar { position: absolute; left: 16px; top: 4px; width: 40px; height: 40px; }
.head { display: flex; align-items: center; gap: 4px; }
.name { color: #f2f3f5; font-weight: 500; }
.app { background: #5865f2; color: #fff; font-size: 10px; font-weight: 600; line-height: 15px;
  height: 15px; padding: 0 4px; border-radius: 3px; margin-left: 2px; }
.time { color: #949ba4; font-size: 12px; margin-left: 4px; }
.content { color: #dbdee1; }
.row { display: flex; flex-wrap: wrap; gap: 8px; max-width: 520px; margin-top: 8px; }
.button { background: #4e5058; color: #fff; border-radius: 3px; padding: 2px 16px;
  font-size: 14px; line-height: 28px; max-width: 500px; white-space: nowrap;
  overflow: hidden; text-overflow: ellipsis; }
.embed { display: flex; max-width: 520px; margin-top: 8px; background: #2b2d31;
  border-radius: 4px; border-left: 4px solid; padding: 8px 16px 16px 12px; }
.embed .body { flex: 1; min-width: 0; }
.embed .title { color: #f2f3f5; font-weight: 600; font-size: 16px; margin-top: 8px; }
.embed .desc { font-size: 14px; line-height: 18px; margin-top: 8px; white-space: pre-wrap;
  overflow-wrap: anywhere; }
.embed .footer { color: #dbdee1; font-size: 12px; margin-top: 8px; }
.thumb { width: 80px; height: 80px; margin: 8px 0 0 16px; border-radius: 4px;
  background: #4e5058; flex-shrink: 0; }
.subtext { color: #949ba4; font-size: 13px; line-height: 17px; }
.subtext a { color: #00a8fc; }
.blank { height: 18px; }
.end { height: 24px; }
"""

_AVATAR = """<svg class="avatar" viewBox="0 0 40 40" xmlns="http://www.w3.org/2000/svg">
<circle cx="20" cy="20" r="20" fill="#5865f2"/>
<rect x="11" y="12" width="18" height="16" rx="2" fill="none" stroke="#fff" stroke-width="2"/>
<rect x="14" y="15" width="6" height="5" fill="#fff"/>
<path d="M22 16h4M22 19h4M14 23h12" stroke="#fff" stroke-width="1.6"/></svg>"""


def embed_html(embed: dict[str, Any]) -> str:
    color = f"#{embed.get('color', 0x1E1F22):06x}"
    body = []
    if embed.get("title"):
        body.append(f'<div class="title">{inline(embed["title"])}</div>')
    if embed.get("description"):
        body.append(f'<div class="desc">{markdown(embed["description"])}</div>')
    if (embed.get("footer") or {}).get("text"):
        body.append(f'<div class="footer">{html.escape(embed["footer"]["text"])}</div>')
    thumb = '<div class="thumb"></div>' if embed.get("thumbnail") else ""
    return (
        f'<div class="embed" style="border-color:{color}">'
        f'<div class="body">{"".join(body)}</div>{thumb}</div>'
    )


def page_html(payloads: Sequence[dict[str, Any]], *, posted: datetime) -> str:
    """The payloads as consecutive messages from the bot in a dark-theme channel."""
    messages = []
    for i, payload in enumerate(payloads):
        head = ""
        if i == 0:
            head = (
                f'{_AVATAR}<div class="head"><span class="name">briefbot</span>'
                f'<span class="app">APP</span>'
                f'<span class="time">Today at {posted:%H:%M}</span></div>'
            )
        content = payload.get("content") or ""
        content_html = f'<div class="content">{markdown(content)}</div>' if content else ""
        embeds = "".join(embed_html(e) for e in payload.get("embeds", ()))
        buttons = "".join(
            '<div class="row">'
            + "".join(
                f'<span class="button">{html.escape(b.get("label", ""))}</span>'
                for b in row.get("components", ())
            )
            + "</div>"
            for row in payload.get("components", ())
        )
        css = "message" if i == 0 else "message cont"
        messages.append(f'<div class="{css}">{head}{content_html}{embeds}{buttons}</div>')
    return (
        '<!doctype html><html><head><meta charset="utf-8"><style>'
        + _CSS
        + '</style></head><body><div class="topbar"><span class="hash">#</span>ai-news'
        '<span class="topic">AI lab blogs, condensed</span></div>'
        + "".join(messages)
        + '<div class="end"></div><script>document.title = "height:" + '
        "Math.ceil(document.querySelector('.end').getBoundingClientRect().bottom);</script></body></html>"
    )


# --------------------------------------------------------------------------- screenshot


def _chromium(*args: str) -> str:
    exe = shutil.which("chromium") or shutil.which("chromium-browser") or shutil.which("chrome")
    if exe is None:
        sys.exit("needs Chromium: apt-get install -y chromium")
    with tempfile.TemporaryDirectory() as profile:
        flags = [
            "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
            "--disable-background-networking", "--disable-component-update", "--disable-sync",
            "--hide-scrollbars", f"--user-data-dir={profile}",
        ]  # fmt: skip
        done = subprocess.run(
            [exe, *flags, *args], capture_output=True, text=True, timeout=120, check=True
        )
    return done.stdout


def screenshot(page: Path, png: Path, width: int = WIDTH) -> None:
    """Two runs: one to measure the page's height, one to shoot exactly that much."""
    dom = _chromium(f"--window-size={width},4000", "--dump-dom", page.as_uri())
    found = re.search(r"<title>height:(\d+)</title>", dom)
    height = int(found[1]) if found else 1400
    _chromium(f"--window-size={width},{height}", f"--screenshot={png}", page.as_uri())


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=OUT, help="the PNG to write")
    parser.add_argument("--keep-html", type=Path, help="also keep the HTML page here")
    parser.add_argument("--story", action="store_true", help="the /story picture instead")
    parser.add_argument("--html-only", action="store_true", help="write --keep-html, no PNG")
    args = parser.parse_args(argv)

    if args.story:
        if args.out == OUT:
            args.out = STORY_OUT
        payloads = [render_briefing(build_story_briefing(NEWS_NOW))]
        page = page_html(payloads, posted=NEWS_NOW)
    else:
        payloads = render_digest(build_digest(NOW), now=NOW)
        page = page_html(payloads, posted=NOW)
    if args.html_only:
        if args.keep_html is None:
            sys.exit("--html-only needs --keep-html PATH")
        args.keep_html.write_text(page, encoding="utf-8")
        print(f"{args.keep_html}: {len(payloads)} message(s)")
        return
    with tempfile.TemporaryDirectory() as tmp:
        page_path = Path(args.keep_html or Path(tmp) / "digest.html").resolve()
        page_path.write_text(page, encoding="utf-8")
        screenshot(page_path, args.out.resolve())
    size = args.out.stat().st_size
    print(f"{args.out}: {len(payloads)} message(s), {size // 1024} KB")


if __name__ == "__main__":
    main()
