"""Exceptions of the news core. Every message is a sentence a user may be shown."""

from __future__ import annotations

from datetime import timedelta


class NewsError(Exception):
    """Base class: something the user can be told about in plain words."""


class ConfigError(NewsError):
    """The configuration is invalid; ``problems`` lists every bad key path."""

    def __init__(self, problems: list[str]) -> None:
        self.problems = list(problems)
        super().__init__("invalid configuration:\n" + "\n".join(f"  - {p}" for p in problems))


class FetchError(NewsError):
    """A source could not be fetched."""

    #: a server-requested wait before the next try (429/503 Retry-After), if any
    retry_after: timedelta | None = None


class BlockedAddressError(FetchError):
    """The URL resolves to an address the private-network guard refuses."""


class InvalidURLError(FetchError):
    """The URL is not an http(s) URL we can fetch."""


class TooLargeError(FetchError):
    """The response body exceeded the configured cap."""


class TooManyRedirectsError(FetchError):
    """More redirects than allowed."""


class FetchTimeoutError(FetchError):
    """Connecting or reading took longer than allowed."""


class HTTPStatusError(FetchError):
    """The server answered with an error status."""

    def __init__(self, status: int, message: str, retry_after: timedelta | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.retry_after = retry_after


class ParseError(NewsError):
    """The body is not a feed we can read (or yields no entries)."""


class NotAFeedError(ParseError):
    """The document is an HTML page with no feed, or something else entirely."""


class SourceNotFoundError(NewsError):
    """No such source in this scope."""


class DuplicateSourceError(NewsError):
    """The source is already subscribed in this scope."""


class SourceLimitError(NewsError):
    """The scope has as many sources of its own as it may have."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        noun = "source" if limit == 1 else "sources"
        super().__init__(
            f"this server already has {limit} {noun} of its own, the most it may have"
            " (discord.max_sources_per_guild); remove one before adding another"
        )


class QueryError(NewsError):
    """A search query that cannot be used."""


class StoreError(NewsError):
    """The database cannot be opened or used."""


class StoryNotFoundError(NewsError):
    """No story with that id in this scope."""
