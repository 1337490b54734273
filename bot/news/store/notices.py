"""SQL for per-server notices: where each server's notices go, and the incidents it was told.

An incident is keyed (scope, kind, subject id, incident number). Telling one is a single
transaction that inserts the key (``ON CONFLICT DO NOTHING``) and enqueues the notice in the
outbox: whichever process inserts the key sends the notice, every other one sends nothing, and
a crash leaves either both or neither. Telling that it is over ("working again") is the same,
with an update that only one process can make (``closed IS NULL``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from bot.news.store.db import from_ts, to_ts
from bot.news.store.engine import Database, Row
from bot.news.store.outbox import Outbox


@dataclass(frozen=True, slots=True)
class NoticeSetting:
    """A server's notices: a channel, off, or paused because that channel refused them."""

    scope: str
    channel_id: int | None = None
    off: bool = False
    paused_reason: str | None = None

    @property
    def state(self) -> str:
        """ "unset", "off", "paused" or "on"."""
        if self.off:
            return "off"
        if self.channel_id is None:
            return "unset"
        return "paused" if self.paused_reason else "on"

    @property
    def active(self) -> bool:
        return self.state == "on"


@dataclass(frozen=True, slots=True)
class Incident:
    scope: str
    kind: str
    subject_id: int
    incident: int
    opened: datetime
    closed: datetime | None

    @property
    def key(self) -> tuple[str, str, int, int]:
        return (self.scope, self.kind, self.subject_id, self.incident)


def _setting(row: Row) -> NoticeSetting:
    return NoticeSetting(
        scope=row["scope"],
        channel_id=row["channel_id"],
        off=bool(row["off"]),
        paused_reason=row["paused_reason"],
    )


def _incident(row: Row) -> Incident:
    return Incident(
        scope=row["scope"],
        kind=row["kind"],
        subject_id=row["subject_id"],
        incident=row["incident"],
        opened=from_ts(row["opened"]),
        closed=from_ts(row["closed"]),
    )


class NoticeTable:
    def __init__(self, db: Database, outbox: Outbox) -> None:
        self._db = db
        self._outbox = outbox

    # ------------------------------------------------------------------ settings

    async def setting(self, scope: str) -> NoticeSetting:
        row = await self._db.fetchone("SELECT * FROM notice_settings WHERE scope = ?", (scope,))
        return _setting(row) if row else NoticeSetting(scope)

    async def settings(self) -> list[NoticeSetting]:
        return [_setting(r) for r in await self._db.fetch("SELECT * FROM notice_settings")]

    async def set_channel(self, scope: str, channel_id: int | None, now: datetime) -> None:
        """Notices go to ``channel_id`` (None with ``off``: nowhere); a pause ends here."""
        await self._save(scope, channel_id, False, now)

    async def set_off(self, scope: str, now: datetime) -> None:
        await self._save(scope, None, True, now)

    async def _save(self, scope: str, channel_id: int | None, off: bool, now: datetime) -> None:
        await self._db.execute(
            "INSERT INTO notice_settings (scope, channel_id, off, paused_reason, updated)"
            " VALUES (?, ?, ?, NULL, ?) ON CONFLICT (scope) DO UPDATE SET"
            " channel_id = excluded.channel_id, off = excluded.off, paused_reason = NULL,"
            " updated = excluded.updated",
            (scope, channel_id, int(off), to_ts(now)),
        )

    async def pause(self, scope: str, channel_id: int, reason: str, now: datetime) -> bool:
        """Pause the scope's notices if they still go to that channel; True if it paused now.

        A notice to a channel the admin has since replaced must not pause the new one."""
        changed = await self._db.execute(
            "UPDATE notice_settings SET paused_reason = ?, updated = ?"
            " WHERE scope = ? AND channel_id = ? AND off = 0 AND paused_reason IS NULL",
            (reason, to_ts(now), scope, channel_id),
        )
        return changed > 0

    async def first_hint(self, scope: str, now: datetime) -> bool:
        """True the first time a scope with no setting asks: the hint is given once."""
        inserted = await self._db.fetchval(
            "INSERT INTO notice_settings (scope, channel_id, off, updated) VALUES (?, NULL, 0, ?)"
            " ON CONFLICT (scope) DO NOTHING RETURNING scope",
            (scope, to_ts(now)),
        )
        return inserted is not None

    # ------------------------------------------------------------------ what is going on

    async def open_incidents(self, scopes: Sequence[str]) -> list[Incident]:
        if not scopes:
            return []
        marks = ",".join("?" * len(scopes))
        rows = await self._db.fetch(
            f"SELECT * FROM notice_incidents WHERE closed IS NULL AND scope IN ({marks})",
            tuple(scopes),
        )
        return [_incident(r) for r in rows]

    async def told_since(self, kind: str, since: datetime) -> set[tuple[str, int]]:
        """(scope, subject) pairs told about an incident of ``kind`` since then."""
        rows = await self._db.fetch(
            "SELECT DISTINCT scope, subject_id FROM notice_incidents"
            " WHERE kind = ? AND opened >= ?",
            (kind, to_ts(since)),
        )
        return {(r[0], r[1]) for r in rows}

    async def floods(self) -> dict[int, tuple[int, str]]:
        """Sources whose polls bring more than the cap: id -> (since when, what happened)."""
        rows = await self._db.fetch(
            "SELECT id, flood_since, flood_note FROM sources WHERE flood_since IS NOT NULL"
        )
        return {r[0]: (r[1], r[2] or "") for r in rows}

    async def pause_numbers(self) -> dict[int, int]:
        """Paused subscriptions: id -> when it was paused (0 if before this was recorded)."""
        rows = await self._db.fetch(
            "SELECT id, paused_at FROM subscriptions WHERE paused_reason IS NOT NULL"
        )
        return {r[0]: r[1] or 0 for r in rows}

    # ------------------------------------------------------------------ telling

    async def tell(
        self,
        key: tuple[str, str, int, int],
        *,
        closes: bool,
        target: str,
        payloads: Sequence[dict],
        run_key: str,
        now: datetime,
        owner: str | None = None,
        lease: timedelta | None = None,
    ) -> int | None:
        """Record the incident (or its end) and enqueue its notice, in one transaction.

        Returns the delivery's id, or None when another pass or process told it already.
        """
        scope, kind, subject_id, incident = key
        stamp = to_ts(now)
        async with self._db.transaction() as db:
            if closes:
                won = await db.execute(
                    "UPDATE notice_incidents SET closed = ? WHERE scope = ? AND kind = ?"
                    " AND subject_id = ? AND incident = ? AND closed IS NULL",
                    (stamp, scope, kind, subject_id, incident),
                )
            else:
                won = await db.fetchval(
                    "INSERT INTO notice_incidents (scope, kind, subject_id, incident, opened)"
                    " VALUES (?, ?, ?, ?, ?) ON CONFLICT DO NOTHING RETURNING 1",
                    (scope, kind, subject_id, incident, stamp),
                )
            if not won:
                return None
            return await self._outbox.enqueue_in(
                db,
                subscription_id=None,
                target=target,
                cluster_ids=(),
                payloads=payloads,
                now=now,
                run_key=run_key,
                owner=owner,
                lease=lease,
            )

    async def close_quietly(self, key: tuple[str, str, int, int], now: datetime) -> None:
        """The subject is gone (removed, unsubscribed): the incident ends without a notice."""
        scope, kind, subject_id, incident = key
        await self._db.execute(
            "UPDATE notice_incidents SET closed = ? WHERE scope = ? AND kind = ?"
            " AND subject_id = ? AND incident = ? AND closed IS NULL",
            (to_ts(now), scope, kind, subject_id, incident),
        )

    async def untell(
        self, key: tuple[str, str, int, int], *, closes: bool, run_key: str | None
    ) -> None:
        """A notice that could not be delivered counts as untold (its failed delivery goes
        too, so its run key is free): the next pass after notices resume tells it again."""
        where = " WHERE scope = ? AND kind = ? AND subject_id = ? AND incident = ?"
        async with self._db.transaction() as db:
            if closes:
                await db.execute("UPDATE notice_incidents SET closed = NULL" + where, key)
            else:
                await db.execute("DELETE FROM notice_incidents" + where, key)
            if run_key:
                await db.execute(
                    "DELETE FROM deliveries WHERE run_key = ? AND status = 'failed'", (run_key,)
                )
