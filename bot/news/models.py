"""Plain data records that travel through the pipeline.

All datetimes are timezone-aware UTC. Records are frozen: a stage returns new
records rather than changing the ones it was given.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta

# --------------------------------------------------------------------------- fetch


@dataclass(frozen=True, slots=True)
class FetchResult:
    """What :class:`bot.news.fetch.Fetcher` returns for one successful request.

    ``status`` is 200 (``body`` holds the decoded, decompressed bytes) or 304
    (``body`` is empty: the source has not changed since the validators we sent).
    """

    url: str  # the final URL, after redirects
    status: int
    body: bytes
    headers: Mapping[str, str]  # response headers, keys lower-cased
    etag: str | None = None
    last_modified: str | None = None
    #: set when a 301/308 chain moved the feed for good: store it as the new URL
    permanent_url: str | None = None
    #: Cache-Control max-age, when the server sent one
    max_age: timedelta | None = None
    #: Retry-After on a 2xx/3xx (rare), when the server sent one
    retry_after: timedelta | None = None


# --------------------------------------------------------------------------- parse


@dataclass(frozen=True, slots=True)
class ParsedEntry:
    """One feed entry, normalised. Text fields are plain text unless named *_html."""

    title: str  # plain text, entities decoded, whitespace collapsed ("" if none)
    link: str | None  # canonical absolute http(s) URL, tracking parameters stripped
    guid: str | None  # the feed's id/guid as given (stripped), None if blank
    published: datetime  # aware UTC; fetch time when missing or in the future
    updated: datetime | None
    date_estimated: bool  # True when published was missing/in the future and set to fetch time
    author: str | None
    content_html: str  # the richest body the feed gave (content, else summary), raw HTML
    summary_html: str  # the feed's summary/description, raw HTML ("" if none)
    categories: tuple[str, ...] = ()
    image: str | None = None  # absolute http(s) URL


@dataclass(frozen=True, slots=True)
class ParsedFeed:
    title: str | None
    site_url: str | None
    entries: tuple[ParsedEntry, ...]
    ttl: timedelta | None = None  # RSS <ttl>
    kind: str = "rss"  # "rss" | "atom" | "rdf" | "json"
    #: set when the document had recoverable errors but still yielded entries
    warning: str | None = None


# --------------------------------------------------------------------------- sources


@dataclass(frozen=True, slots=True)
class Source:
    id: int
    url: str
    name: str
    interval: timedelta
    backfill: int = 0
    full_text: bool = False
    etag: str | None = None
    last_modified: str | None = None
    last_polled: datetime | None = None
    last_success: datetime | None = None
    last_error: str | None = None
    consecutive_failures: int = 0
    next_poll: datetime | None = None
    key_mode: str = "guid"  # "guid" | "link": link keys once guids proved unreliable
    created: datetime | None = None
    story_count: int = 0
    #: scopes that own this source: "global" (config) or "guild:<id>"
    scopes: tuple[str, ...] = ()

    @property
    def status(self) -> str:
        """ "new" before the first poll, "failing" after repeated errors, else "ok"."""
        if self.last_polled is None:
            return "new"
        if self.consecutive_failures >= FAILING_AFTER:
            return "failing"
        if self.consecutive_failures:
            return "retrying"
        return "ok"


#: consecutive failed polls after which a source is shown as failing
FAILING_AFTER = 3


# --------------------------------------------------------------------------- stories


@dataclass(frozen=True, slots=True)
class Condensed:
    """A story written down as a briefing does: headline, one-sentence lead, key points."""

    headline: str
    lead: str
    points: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Story:
    """A stored story as the rest of the product sees it."""

    id: int
    source_id: int
    source_name: str
    url: str | None
    title: str
    published: datetime
    first_seen: datetime
    headline: str = ""
    lead: str = ""
    points: tuple[str, ...] = ()
    topics: tuple[str, ...] = ()
    image: str | None = None
    author: str | None = None
    text: str = ""
    cluster_id: int | None = None
    #: names of the other outlets that covered the same story (the first few, earliest first)
    also_covered_by: tuple[str, ...] = ()
    #: how many other outlets covered it, named or not (a big event may have hundreds)
    other_outlets: int = 0
    snippet: str = ""  # search highlight, when the story came from a search

    @property
    def cluster_size(self) -> int:
        """Outlets that covered the story, this one included."""
        return 1 + max(self.other_outlets, len(self.also_covered_by))


# --------------------------------------------------------------------------- digests


@dataclass(frozen=True, slots=True)
class DigestSection:
    topic: str  # a taxonomy name, or "" for stories with no topic ("Other")
    title: str  # human title of the section, e.g. "Regulation"
    stories: tuple[Story, ...]


@dataclass(frozen=True, slots=True)
class Digest:
    """A briefing: topic sections of lead stories, then one-line "More stories"."""

    title: str
    since: datetime
    until: datetime
    sections: tuple[DigestSection, ...]
    more: tuple[Story, ...] = ()
    #: set when the window was empty and was widened (e.g. "No stories in 24h; showing 7 days.")
    notice: str | None = None
    topics: tuple[str, ...] = ()
    query: str | None = None
    #: per filter ("sources", "include", "exclude", "min_outlets"): how many stories it removed
    removed: tuple[tuple[str, int], ...] = ()

    @property
    def stories(self) -> tuple[Story, ...]:
        """Every story in the digest, lead stories first."""
        return tuple(s for sec in self.sections for s in sec.stories) + self.more

    @property
    def empty(self) -> bool:
        return not self.sections and not self.more


@dataclass(frozen=True, slots=True)
class PollReport:
    """The outcome of one polling pass."""

    ok: int = 0
    not_modified: int = 0
    failed: int = 0
    new_stories: int = 0
    updated_stories: int = 0
    failures: tuple[tuple[str, str], ...] = ()  # (source name or url, error sentence)
    #: feeds read despite recoverable errors: (source name or url, what was wrong)
    warnings: tuple[tuple[str, str], ...] = ()
    new_story_ids: tuple[int, ...] = field(default=())
