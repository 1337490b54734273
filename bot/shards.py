"""Which bot process serves which guild, when several share the work (``--shards``).

Discord puts a guild on shard ``(guild_id >> 22) % shard_count``; a process running some of
the shards builds and schedules digests only for subscriptions of guilds on its shards. The
operator's own (global, webhook) subscriptions and the log-channel notices belong to the
process that runs shard 0. Deliveries already in the outbox are another matter: any process
may send them (``Outbox.claim``), so a dead process's digests are taken over.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass


def shard_of(guild_id: int, shard_count: int) -> int:
    return (guild_id >> 22) % shard_count


@dataclass(frozen=True)
class ShardSet:
    """The shards one process runs: ``count`` 0 means one process runs everything."""

    count: int = 0
    ids: tuple[int, ...] = ()

    @classmethod
    def of(cls, count: int, ids: Sequence[int]) -> ShardSet:
        return cls(count, tuple(sorted(set(ids))) if count else ())

    @property
    def everything(self) -> bool:
        return not self.count or not self.ids or len(self.ids) == self.count

    @property
    def primary(self) -> bool:
        """Runs shard 0: the operator's subscriptions and notices are this process's."""
        return self.everything or 0 in self.ids

    def owns_scope(self, scope: str) -> bool:
        """``global`` or ``guild:<id>``: is that subscription this process's to run?"""
        if self.everything:
            return True
        if not scope.startswith("guild:"):
            return self.primary
        try:
            guild_id = int(scope.removeprefix("guild:"))
        except ValueError:
            return self.primary
        return shard_of(guild_id, self.count) in self.ids
