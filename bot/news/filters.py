"""A subscription's (or a digest's) filters: what the user typed, checked, stored as JSON.

``Filters`` is the record that is saved with a subscription and compared; it holds the
terms as the user meant them (a word, a phrase, or ``re:`` and a pattern), never compiled
state, so it is cheap to build, equal when the settings are equal, and round-trips through
one JSON text column. :mod:`bot.news.matcher` compiles it once for a digest.

Text typed in Discord or on the command line is split by :func:`parse_terms`: commas and
spaces separate terms, double quotes keep a phrase (or a pattern with spaces) together.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

import regex

from bot.news.errors import NewsError

#: a term this long is a paragraph, not a filter (and keeps compiled patterns small)
MAX_TERM = 100
#: terms per list: a filter with more is a word list, not a channel's interests
MAX_TERMS = 25
REGEX_PREFIX = "re:"
#: a source entry starting with this means "never this source"
NOT_SOURCE = "-"

_TOKEN = re.compile(r'\s*(?:re:"((?:[^"\\]|\\.)*)"|"([^"]*)"|([^\s,"]+))\s*,?')


class FilterError(NewsError):
    """A filter that cannot be used: empty, a pattern that does not compile, an unknown source."""


class FilterWarning(NewsError):
    """A filter that works but would let nothing through; saved only if the user insists."""


def parse_terms(text: str | None, what: str = "filter") -> tuple[str, ...]:
    """User text -> terms: ``crypto, NFT "open weights" re:gpt-\\d`` gives four.

    None means "no filter". Text that is given but holds no term is an error: the user
    typed something and would otherwise get every story without noticing.
    """
    if text is None:
        return ()
    terms: list[str] = []
    pos = 0
    text = text.strip()
    while pos < len(text):
        m = _TOKEN.match(text, pos)
        if not m or m.end() == pos:
            if text[pos] == '"':
                raise FilterError(f"the {what} filter has a quote that is never closed")
            pos += 1  # a stray comma
            continue
        quoted_re, phrase, word = m.groups()
        if quoted_re is not None:
            terms.append(REGEX_PREFIX + quoted_re.replace('\\"', '"'))
        elif phrase is not None:
            terms.append(" ".join(phrase.split()))
        else:
            terms.append(word)
        pos = m.end()
    terms = [t for t in terms if t]
    if not terms:
        raise FilterError(
            f'the {what} filter is empty: give words, "quoted phrases" or re:patterns'
        )
    return tuple(terms)


def check_terms(terms: tuple[str, ...], what: str) -> None:
    """Raise :class:`FilterError` with one sentence for the first term that cannot be used."""
    if len(terms) > MAX_TERMS:
        raise FilterError(f"the {what} filter has {len(terms)} terms; at most {MAX_TERMS}")
    for term in terms:
        if len(term) > MAX_TERM:
            raise FilterError(f"a {what} term is longer than {MAX_TERM} characters")
        if term.startswith(REGEX_PREFIX):
            pattern = term[len(REGEX_PREFIX) :]
            if not pattern.strip():
                raise FilterError(f"the {what} filter has an empty re: pattern")
            try:
                regex.compile(pattern)
            except regex.error as exc:
                raise FilterError(
                    f"{term} in the {what} filter is not a valid regular expression: {exc}"
                ) from None
        elif not re.search(r"\w", term):
            raise FilterError(f"{term!r} in the {what} filter has no letters or digits")


@dataclass(frozen=True, slots=True)
class Filters:
    """All optional, combined with AND; each term list matches if any of its terms does.

    ``sources`` holds source ids or names; one written ``-Name`` means never that source.
    ``max_stories`` caps the lead stories (0: the digest's own limit); the rest are listed
    as "more stories".
    """

    include: tuple[str, ...] = ()
    exclude: tuple[str, ...] = ()
    sources: tuple[str, ...] = ()
    min_outlets: int = 0
    max_stories: int = 0

    def __post_init__(self) -> None:
        check_terms(self.include, "include")
        check_terms(self.exclude, "exclude")
        for entry in self.sources:
            if not entry.removeprefix(NOT_SOURCE).strip():
                raise FilterError("a source in the sources filter is empty")
        if self.min_outlets < 0 or self.max_stories < 0:
            raise FilterError("min_outlets and max_stories must be 0 or more")

    @classmethod
    def from_text(
        cls,
        *,
        include: str | None = None,
        exclude: str | None = None,
        sources: str | None = None,
        min_outlets: int | None = None,
        max_stories: int | None = None,
    ) -> Filters:
        """From options typed as text (Discord, the command line); raises FilterError."""
        return cls(
            include=parse_terms(include, "include"),
            exclude=parse_terms(exclude, "exclude"),
            sources=_source_list(sources),
            min_outlets=min_outlets or 0,
            max_stories=max_stories or 0,
        )

    @property
    def only_sources(self) -> tuple[str, ...]:
        return tuple(s.strip() for s in self.sources if not s.startswith(NOT_SOURCE))

    @property
    def never_sources(self) -> tuple[str, ...]:
        return tuple(s[1:].strip() for s in self.sources if s.startswith(NOT_SOURCE))

    def __bool__(self) -> bool:
        return bool(
            self.include or self.exclude or self.sources or self.min_outlets > 1 or self.max_stories
        )

    # ------------------------------------------------------------------ storage

    def to_json(self) -> str:
        """The text stored in a subscription's ``filters`` column ("{}" for no filters)."""
        data: dict[str, Any] = {}
        for key in ("include", "exclude", "sources"):
            if getattr(self, key):
                data[key] = list(getattr(self, key))
        for key in ("min_outlets", "max_stories"):
            if getattr(self, key):
                data[key] = getattr(self, key)
        return json.dumps(data, ensure_ascii=False, sort_keys=True)

    @classmethod
    def from_json(cls, text: str | None) -> Filters:
        """The inverse of :meth:`to_json`; NULL or empty text is no filters."""
        if not text:
            return cls()
        data = json.loads(text)
        return cls(
            include=tuple(data.get("include", ())),
            exclude=tuple(data.get("exclude", ())),
            sources=tuple(data.get("sources", ())),
            min_outlets=int(data.get("min_outlets", 0)),
            max_stories=int(data.get("max_stories", 0)),
        )

    # ------------------------------------------------------------------ words

    def describe(self) -> str:
        """The filters in words, for /subscriptions and the preview ("" when there are none)."""
        parts = []
        if self.include:
            parts.append("mentions " + _or(self.include))
        if self.exclude:
            parts.append("never " + _or(self.exclude))
        if self.only_sources:
            parts.append("only from " + ", ".join(self.only_sources))
        if self.never_sources:
            parts.append("never from " + ", ".join(self.never_sources))
        if self.min_outlets > 1:
            parts.append(f"covered by {self.min_outlets}+ outlets")
        if self.max_stories:
            parts.append(f"at most {self.max_stories} lead stories")
        return " · ".join(parts)


def _source_list(text: str | None) -> tuple[str, ...]:
    """Sources are names with spaces ("The Verge"): only commas separate them."""
    if text is None:
        return ()
    entries = tuple(e.strip() for e in text.split(",") if e.strip())
    if not entries:
        raise FilterError("the sources filter is empty: give source names or ids")
    return entries


def _or(terms: tuple[str, ...]) -> str:
    shown = [t if t.startswith(REGEX_PREFIX) else f"“{t}”" for t in terms]
    return shown[0] if len(shown) == 1 else ", ".join(shown[:-1]) + " or " + shown[-1]


#: the default of every ``filters=`` argument: a frozen record, safe to share
NO_FILTERS = Filters()
