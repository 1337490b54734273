"""A story briefing as one Discord message: the briefing embed, then "Recent stories".

The same rules as :mod:`bot.render`: feed text escaped and mention-neutralised, the only
links the stories' own http(s) URLs, every Discord limit kept. A briefing too long for a
message loses whole bullets from its last sections, then whole sections, then recent
stories: what is shown is always complete sentences, never a briefing cut mid-way.
"""

from __future__ import annotations

from typing import Any

from bot.news.models import Briefing, BriefingSection, Bullet, Teaser
from bot.render import (
    _NEUTRAL,
    MAX_DESCRIPTION,
    MAX_EMBED_TOTAL,
    MAX_TITLE,
    _bold,
    _label,
    embed_size,
    escape,
    shorten,
)
from bot.textrender import clean_text, http_url

COLOR = 0x5865F2
FOOTER_MAX = 1000
TEASER_MAX = 400
LINE_MAX = 600


def _credit(outlet_name: str) -> str:
    """ " *— Outlet*": who reported the sentence before it."""
    outlet = clean_text(outlet_name)
    return f" *— {shorten(outlet, 80)}*" if outlet else ""


def _bullet_line(bullet: Bullet, mark: str = "• ") -> str:
    return mark + shorten(clean_text(bullet.text), LINE_MAX) + _credit(bullet.outlet)


def _section_text(section: BriefingSection, bullets: int) -> str:
    lines = [f"**{shorten(clean_text(section.title), 100, _bold)}**"]
    lines.append(_bullet_line(section.summary, ""))
    lines += [_bullet_line(b) for b in section.bullets[:bullets]]
    return "\n".join(lines)


def _description(briefing: Briefing, shown: list[int], points: int) -> str:
    parts = []
    lead = clean_text(briefing.lead)
    if lead:
        parts.append(shorten(lead, LINE_MAX) + _credit(briefing.lead_outlet))
    if points:
        parts.append("\n".join(_bullet_line(p) for p in briefing.points[:points]))
    for section, n in zip(briefing.sections, shown, strict=False):
        if n >= 0:
            parts.append(_section_text(section, n))
    return "\n\n".join(parts) or "No more was reported than the headline."


def _footer(briefing: Briefing) -> str:
    names = [clean_text(o) for o in briefing.outlets if clean_text(o)]
    when = briefing.published
    date = f"{when.day} {when:%b %Y}"
    if len(names) <= 1:
        return f"{names[0]} · {date}" if names else date
    return shorten(f"{len(names)} outlets: {', '.join(names)} · {date}", FOOTER_MAX, lambda t: t)


def _teaser_text(t: Teaser) -> str:
    url = http_url(t.url)
    title = shorten(clean_text(t.title) or "Untitled story", 200, _label)
    head = f"[{title}]({url})" if url else title
    outlet = clean_text(t.outlet)
    line = f"**{t.published.day} {t.published:%b}** · {head}" + (
        f" — {shorten(outlet, 80)}" if outlet else ""
    )
    teaser = clean_text(t.teaser)
    return line + ("\n" + shorten(teaser, TEASER_MAX) if teaser else "")


def render_briefing(briefing: Briefing) -> dict[str, Any]:
    """The briefing as one message payload (one or two embeds), within Discord's limits."""
    shown = [len(s.bullets) for s in briefing.sections]
    points = len(briefing.points)
    recent = [_teaser_text(t) for t in briefing.recent]
    url = http_url(briefing.url)
    main: dict[str, Any] = {
        "title": shorten(clean_text(briefing.headline) or "Untitled story", MAX_TITLE, escape),
        "color": COLOR,
        "footer": {"text": _footer(briefing)},
    }
    if url:
        main["url"] = url
    while True:
        main["description"] = _description(briefing, shown, points)
        embeds = [main]
        if recent:
            embeds.append(
                {"title": "Recent stories", "description": "\n\n".join(recent), "color": _NEUTRAL}
            )
        total = sum(embed_size(e) for e in embeds)
        if (
            size_ok(main["description"], MAX_DESCRIPTION)
            and size_ok(embeds[-1]["description"], MAX_DESCRIPTION)
            and total <= MAX_EMBED_TOTAL
        ):
            return {"embeds": embeds}
        if recent and len(recent) > 2:
            recent.pop()
        elif _drop_one(shown):
            continue
        elif points > 1:
            points -= 1
        elif recent:
            recent.pop()
        else:  # only the headline and lead are left, each within its own cap
            return {"embeds": [main]}


def size_ok(text: str, limit: int) -> bool:
    return len(text.encode("utf-16-le")) // 2 <= limit


def _drop_one(shown: list[int]) -> bool:
    """One bullet less from the last section still shown, or that section gone when it
    would be left with fewer than two bullets (-1: not shown)."""
    for i in range(len(shown) - 1, -1, -1):
        if shown[i] < 0 or (i == 0 and shown[i] <= 2):
            continue
        if shown[i] > 2:
            shown[i] -= 1
        else:
            shown[i] = -1
        return True
    if shown and shown[0] > 0:
        shown[0] -= 1
        return True
    return False
