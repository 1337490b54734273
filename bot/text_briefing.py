"""A story briefing as terminal text (``briefbot story ID``); feed text cleaned as in
:mod:`bot.textrender`, styling only on a colour terminal."""

from __future__ import annotations

from bot.news.models import Briefing, Bullet
from bot.textrender import _heading, _Style, _wrap, clean_text, http_url


def _credited(bullet: Bullet) -> str:
    outlet = clean_text(bullet.outlet)
    return clean_text(bullet.text) + (f" ({outlet})" if outlet else "")


def render_briefing_text(briefing: Briefing, *, color: bool) -> str:
    style = _Style(color)
    lines = [style.bold(line) for line in _wrap(clean_text(briefing.headline) or "Untitled")]
    lead = clean_text(briefing.lead)
    if lead:
        outlet = clean_text(briefing.lead_outlet)
        lines += _wrap(lead + (f" ({outlet})" if outlet else ""))
    names = [n for n in map(clean_text, briefing.outlets) if n]
    when = briefing.published
    meta = f"{when.day} {when:%b %Y}"
    if len(names) > 1:
        meta = f"{len(names)} outlets: {', '.join(names)} · {meta}"
    elif names:
        meta = f"{names[0]} · {meta}"
    lines += [style.dim(line) for line in _wrap(meta, indent="  ")]
    url = http_url(briefing.url)
    if url:
        lines.append(style.dim("  " + url))
    if briefing.points:
        lines.append("")
        for point in briefing.points:
            lines += _wrap(_credited(point), indent="  • ", hang="    ")
    for section in briefing.sections:
        lines += ["", style.bold(clean_text(section.title))]
        lines += _wrap(_credited(section.summary))
        for bullet in section.bullets:
            lines += _wrap(_credited(bullet), indent="  • ", hang="    ")
    if briefing.recent:
        lines += ["", *_heading("Recent stories", style)]
        for t in briefing.recent:
            head = f"{t.published.day} {t.published:%b} · {clean_text(t.title)}"
            outlet = clean_text(t.outlet)
            lines += _wrap(head + (f" — {outlet}" if outlet else ""), indent="  ")
            teaser = clean_text(t.teaser)
            if teaser:
                lines += [style.dim(line) for line in _wrap(teaser, indent="    ")]
    return "\n".join(lines) + "\n"
