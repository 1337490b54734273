"""Story identity: which key a feed entry is known by, and when a source's guids can't be trusted.

A story's key within its source is its guid, else its canonical link, else a hash of title and
date. Some feeds give every item the same guid, or none, or a fresh one on each fetch of a
mirror; when more than 5% of a fetch's guids collide or are blank, the source falls back to
link keys for good (the switch is stored with the source).
"""

from __future__ import annotations

import hashlib
from collections import Counter
from collections.abc import Sequence

from bot.news.models import ParsedEntry

#: share of blank or colliding guids in one fetch beyond which guids are not trusted
GUID_FAILURE_SHARE = 0.05


def guids_unreliable(entries: Sequence[ParsedEntry]) -> bool:
    """True when more than 5% of the entries' guids are blank or shared with another entry."""
    if not entries:
        return False
    counts = Counter(e.guid for e in entries if e.guid)
    bad = sum(1 for e in entries if not e.guid or counts[e.guid] > 1)
    return bad / len(entries) > GUID_FAILURE_SHARE


def _digest(*parts: str) -> str:
    return hashlib.blake2b("\x1f".join(parts).encode("utf-8"), digest_size=12).hexdigest()


def story_key(entry: ParsedEntry, key_mode: str) -> str:
    """The entry's key in its source; prefixes keep the three kinds apart."""
    if key_mode == "guid" and entry.guid:
        return "g:" + entry.guid
    if entry.link:
        return "l:" + entry.link
    stamp = "" if entry.date_estimated else entry.published.isoformat()
    return "h:" + _digest(entry.title, stamp)


def content_hash(entry: ParsedEntry) -> str:
    """Changes when a story is edited (title or body), not when it is merely re-dated."""
    return _digest(entry.title, entry.content_html)
