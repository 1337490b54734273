"""Filters applied to stories: whole words, any case, any accent; patterns with a time limit.

Compiled once per :class:`~bot.news.filters.Filters` (one digest, one preview), never per
story. Words and phrases become one alternation for the standard ``re`` engine: they are
escaped literals, so they cannot backtrack badly. ``re:`` patterns are the user's own and
run in the ``regex`` engine with a timeout: a pattern that takes too long on a story counts
as not matching it and is not run again for that digest, so one bad pattern costs one
timeout per digest, not one per story.

Text is compared after casefolding and NFKD with combining marks dropped ("Café" = "cafe"),
and a word matches only where it is not part of a longer word (``AI`` does not match
"said"; ``C++`` and ``GPT-4o`` match as written).
"""

from __future__ import annotations

import logging
import re
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

import regex

from bot.news.digest import pick_representatives
from bot.news.filters import REGEX_PREFIX, FilterError, Filters
from bot.news.models import Story

log = logging.getLogger(__name__)

#: the longest a user's pattern may run on one story's text
REGEX_TIMEOUT_S = 0.05
#: between fields, so that a phrase never matches across headline and lead
FIELD_SEPARATOR = " | "
#: the order filters are applied in; a removed story is counted under the first that removed it
STAGES = ("sources", "include", "exclude", "min_outlets")

_MARKS = regex.compile(r"\p{M}+")


def normalize(text: str) -> str:
    """Casefolded, compatibility-decomposed, combining marks dropped: what terms are matched on."""
    if text.isascii():
        return text.lower()
    return _MARKS.sub(
        "", unicodedata.normalize("NFKD", unicodedata.normalize("NFKD", text).casefold())
    )


@dataclass(frozen=True, slots=True)
class StoryText:
    """A story's text as filters read it, and the set of its words for quick look-ups."""

    text: str
    words: frozenset[str]


#: story id -> (the text it was made from, what filters read); shared by every digest
_TEXTS: dict[int, tuple[str, StoryText]] = {}
#: about a month of a busy server's stories; past this the cache starts afresh
TEXT_CACHE_SIZE = 50_000
_WORD = re.compile(r"\w+")


def story_text(story: Story) -> StoryText:
    """What a filter reads: the headline, lead and points a reader sees, normalized once.

    Normalizing and splitting cost more than matching 10 terms, and after a poll every
    subscription's digest reads the same stories: they are kept by story id (and redone
    when the story's text was edited).
    """
    raw = FIELD_SEPARATOR.join((story.headline or story.title, story.lead, *story.points))
    hit = _TEXTS.get(story.id)
    if hit is not None and hit[0] == raw:
        return hit[1]
    text = normalize(raw)
    made = StoryText(text, frozenset(_WORD.findall(text)))
    if len(_TEXTS) >= TEXT_CACHE_SIZE:
        _TEXTS.clear()
    _TEXTS[story.id] = (raw, made)
    return made


def _user_pattern(pattern: str) -> regex.Pattern[str]:
    """A ``re:`` pattern, accent marks dropped like the text's; the text is casefolded, so a
    pattern without capitals needs no (slower) case-insensitive matching."""
    pattern = _MARKS.sub("", unicodedata.normalize("NFKD", pattern))
    flags = regex.IGNORECASE if any(c.isupper() for c in pattern) else 0
    return regex.compile(pattern, flags)


class PatternTimeout(FilterError):
    """A user's pattern took longer than allowed on one story."""


@dataclass
class Terms:
    """One list of terms (include or exclude): matches when any of its terms does.

    A term that is one word matches exactly when it is one of the text's words (a run of
    letters and digits), so it is a set look-up. Phrases and terms with symbols ("open
    weights", "C++") are searched with word boundaries, and only in texts that hold all
    of their words.
    """

    single: frozenset[str]
    multi: list[tuple[frozenset[str], re.Pattern[str]]]
    patterns: list[tuple[str, regex.Pattern[str]]]
    #: patterns that timed out here; skipped from then on
    timed_out: list[str] = field(default_factory=list)

    @classmethod
    def compile(cls, terms: Iterable[str]) -> Terms:
        single, multi, patterns = set(), [], []
        for term in terms:
            if term.startswith(REGEX_PREFIX):
                patterns.append((term, _user_pattern(term[len(REGEX_PREFIX) :])))
                continue
            norm = normalize(term)
            words = _WORD.findall(norm)
            if [norm] == words:
                single.add(norm)
            else:
                body = r"\s+".join(re.escape(w) for w in norm.split())
                multi.append((frozenset(words), re.compile(rf"(?<!\w){body}(?!\w)")))
        return cls(frozenset(single), multi, patterns)

    def __bool__(self) -> bool:
        return bool(self.single or self.multi or self.patterns)

    def search(self, story: StoryText, *, strict: bool = False) -> bool:
        """Whether any term matches the story's text. ``strict``: a timeout raises."""
        if not self.single.isdisjoint(story.words):
            return True
        for needed, rx in self.multi:
            if needed <= story.words and rx.search(story.text):
                return True
        text = story.text
        for term, pattern in self.patterns:
            if term in self.timed_out:
                continue
            try:
                if pattern.search(text, timeout=REGEX_TIMEOUT_S):
                    return True
            except TimeoutError:
                self.timed_out.append(term)
                log.warning("filter pattern %s timed out; skipped for this digest", term)
                if strict:
                    raise PatternTimeout(
                        f"{term} took longer than {REGEX_TIMEOUT_S * 1000:.0f} ms on one story;"
                        " write a simpler pattern"
                    ) from None
        return False


class FilterSet:
    """A compiled :class:`Filters`: decides, for each story, the first filter that removes it."""

    def __init__(self, filters: Filters, *, strict: bool = False) -> None:
        self.filters = filters
        self.strict = strict
        self.include = Terms.compile(filters.include)
        self.exclude = Terms.compile(filters.exclude)
        self._only = {normalize(s) for s in filters.only_sources}
        self._never = {normalize(s) for s in filters.never_sources}
        self._verdicts: dict[int, str | None] = {}  # story id -> word stage that removes it

    @property
    def timed_out(self) -> list[str]:
        return [*self.include.timed_out, *self.exclude.timed_out]

    def lead_limit(self, limit: int) -> int:
        return min(limit, self.filters.max_stories) if self.filters.max_stories else limit

    def source_ok(self, story: Story) -> bool:
        if not (self._only or self._never):
            return True
        keys = {str(story.source_id), normalize(story.source_name)}
        if self._only and not keys & self._only:
            return False
        return not keys & self._never

    def text_verdict(self, story: Story) -> str | None:
        """ "include", "exclude" or "min_outlets" when that removes the story; None keeps it."""
        if story.id in self._verdicts:
            verdict = self._verdicts[story.id]
        else:
            verdict = None
            if self.include or self.exclude:
                text = story_text(story)
                if self.include and not self.include.search(text, strict=self.strict):
                    verdict = "include"
                elif self.exclude and self.exclude.search(text, strict=self.strict):
                    verdict = "exclude"
            self._verdicts[story.id] = verdict
        # coverage is not cached: the same story is shown with more outlets as others join
        if verdict is None and story.cluster_size < self.filters.min_outlets:
            verdict = "min_outlets"
        return verdict

    def representatives(self, stories: Sequence[Story]) -> tuple[list[Story], dict[str, set]]:
        """One story per cluster, as :func:`pick_representatives`, with the filters applied.

        Sources are applied to every outlet's story first, so a cluster is shown through an
        allowed outlet (and dropped if it has none); words and coverage are then decided on
        the story shown, which is what the reader sees. Returns the kept stories and, per
        stage, the keys (cluster or story) it removed.
        """
        removed: dict[str, set] = {stage: set() for stage in STAGES}
        allowed = [s for s in stories if self.source_ok(s)]
        if len(allowed) < len(stories):
            kept_keys = {_key(s) for s in allowed}
            removed["sources"] = {_key(s) for s in stories} - kept_keys
        kept = []
        for rep in pick_representatives(allowed):
            verdict = self.text_verdict(rep)
            if verdict is None:
                kept.append(rep)
            else:
                removed[verdict].add(_key(rep))
        return kept, removed


def representatives(
    stories: Sequence[Story], filters: FilterSet | None
) -> tuple[list[Story], dict[str, set]]:
    """With no filters: plain :func:`pick_representatives`, nothing removed."""
    if filters is None:
        return pick_representatives(stories), {}
    return filters.representatives(stories)


def removed_counts(removed: dict[str, set]) -> tuple[tuple[str, int], ...]:
    """Per stage, how many stories it removed (stages that removed none are left out)."""
    return tuple((stage, len(removed[stage])) for stage in STAGES if removed.get(stage))


def _key(story: Story) -> tuple[str, int]:
    return ("cluster", story.cluster_id) if story.cluster_id is not None else ("story", story.id)
