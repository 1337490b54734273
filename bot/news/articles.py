"""Article pages for feed items that carry only a teaser.

A feed item whose text ends cut ("…", "...", "[…]") or says less than two sentences gets its
page fetched through the feed fetcher (the same private-network guard, size, time and
redirect limits) and its text extracted with trafilatura. The text is cached by canonical
URL ('' when the page gave none), so an edited item or a second outlet's copy is not fetched
again. Bounded: at most ``PER_POLL`` pages per source per poll, ``CONCURRENCY`` at a time, the
newest announced items first; the rest keep their teaser. A page that fails, is not HTML, is
over ``MAX_PAGE_BYTES`` or gives no more text than the teaser (a paywall) leaves the teaser.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from datetime import datetime

from bot.news.clean import clean_text
from bot.news.errors import FetchError
from bot.news.fetch import Fetcher
from bot.news.sentences import split_sentences
from bot.news.store import Candidate
from bot.news.store.corrections import ArticleCache
from bot.news.urls import canonical_url

log = logging.getLogger(__name__)

#: pages fetched for one source in one poll
PER_POLL = 20
#: pages of one source fetched at once (the fetcher's own limits apply as well)
CONCURRENCY = 4
#: pages larger than this are not extracted (the fetcher refuses above fetch.max_bytes)
MAX_PAGE_BYTES = 2 * 1024 * 1024
#: an article must add this many characters to the teaser to replace it
MIN_GAIN = 80
TRUNCATED = ("…", "...", "[…]", "[...]", "[&hellip;]")
PAGE_ACCEPT = "text/html,application/xhtml+xml;q=0.9,*/*;q=0.5"


def teaser_of(cand: Candidate) -> str:
    return clean_text(cand.entry.content_html or cand.entry.summary_html)


def is_teaser(text: str) -> bool:
    """Whether a feed item's text is cut short or too short to write a briefing from."""
    text = text.rstrip()
    return not text or text.endswith(TRUNCATED) or len(split_sentences(text)) < 2


def wanted(candidates: Sequence[Candidate], *, every: bool) -> list[tuple[Candidate, str]]:
    """The candidates whose page to read (every one with a link, or only teasers), with their
    teaser, newest announced first, at most ``PER_POLL``. CPU work: run it off the loop."""
    out = []
    for cand in candidates:
        if not cand.entry.link or not canonical_url(cand.entry.link):
            continue
        teaser = teaser_of(cand)
        if every or is_teaser(teaser):
            out.append((cand, teaser))
    out.sort(key=lambda ct: (ct[0].backlog, -ct[0].entry.published.timestamp()))
    return out[:PER_POLL]


async def article_texts(
    fetcher: Fetcher,
    cache: ArticleCache,
    chosen: Sequence[tuple[Candidate, str]],
    now: datetime,
) -> dict[str, str]:
    """Candidate key -> article text, for those whose page gave more than the teaser."""
    if not chosen:
        return {}
    from bot.news.fulltext import extract_article  # trafilatura loads only when needed

    urls = {c.key: canonical_url(c.entry.link or "") or "" for c, _ in chosen}
    links = {urls[c.key]: c.entry.link or "" for c, _ in chosen}
    known = await cache.get_many(sorted(set(urls.values())))
    fresh: dict[str, str] = {}
    limit = asyncio.Semaphore(CONCURRENCY)

    async def page(url: str) -> None:
        async with limit:
            try:
                result = await fetcher.fetch(links[url], accept=PAGE_ACCEPT)
            except FetchError as exc:  # not cached: a later edit of the item may try again
                log.info("article %s unavailable: %s", url, exc)
                return
        kind = result.headers.get("content-type", "text/html").lower()
        if "html" not in kind or len(result.body) > MAX_PAGE_BYTES:
            fresh[url] = ""
            return
        fresh[url] = await asyncio.to_thread(extract_article, result.body, result.url)

    await asyncio.gather(*(page(u) for u in sorted(set(urls.values()) - set(known))))
    await cache.put_many(fresh, now)
    texts = {**known, **fresh}
    out = {}
    for cand, teaser in chosen:
        text = texts.get(urls[cand.key], "")
        if len(text) >= len(teaser) + MIN_GAIN:
            out[cand.key] = text
    return out
