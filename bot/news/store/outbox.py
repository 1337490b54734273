"""SQL for subscriptions, the delivery outbox, what each target was sent, and housekeeping."""

from __future__ import annotations

import json
import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

import aiosqlite

from bot.news.errors import NewsError
from bot.news.store.db import from_ts, to_ts, transaction


@dataclass(frozen=True, slots=True)
class Subscription:
    id: int
    scope: str
    channel_id: int | None
    webhook_url: str | None
    topics: tuple[str, ...]
    schedule: str
    timezone: str
    created: datetime
    last_run: datetime | None
    paused_reason: str | None
    from_config: bool

    @property
    def target(self) -> str:
        """Where stories go: 'channel:<id>' or 'webhook:<subscription id>' (the ledger key)."""
        return f"channel:{self.channel_id}" if self.channel_id else f"webhook:{self.id}"


@dataclass(frozen=True, slots=True)
class DeliveryPart:
    seq: int
    payload: dict
    nonce: str
    message_id: str | None


@dataclass(frozen=True, slots=True)
class Delivery:
    id: int
    subscription_id: int | None
    target: str
    cluster_ids: tuple[int, ...]
    status: str
    attempts: int
    last_error: str | None
    parts: tuple[DeliveryPart, ...]


def _subscription(row: aiosqlite.Row) -> Subscription:
    return Subscription(
        id=row["id"],
        scope=row["scope"],
        channel_id=row["channel_id"],
        webhook_url=row["webhook_url"],
        topics=tuple(json.loads(row["topics"])),
        schedule=row["schedule"],
        timezone=row["timezone"],
        created=from_ts(row["created"]),
        last_run=from_ts(row["last_run"]),
        paused_reason=row["paused_reason"],
        from_config=bool(row["from_config"]),
    )


class Outbox:
    def __init__(self, db: aiosqlite.Connection, lock) -> None:
        self._db = db
        self._lock = lock

    # ------------------------------------------------------------------ subscriptions

    async def subscribe(
        self,
        *,
        scope: str,
        channel_id: int | None,
        webhook_url: str | None,
        topics: Sequence[str],
        schedule: str,
        timezone: str,
        now: datetime,
        from_config: bool = False,
    ) -> Subscription:
        """Create, or replace the settings of, the scope's subscription for that channel."""
        async with self._lock, transaction(self._db) as db:
            if channel_id is not None:
                cur = await db.execute(
                    "UPDATE subscriptions SET topics = ?, schedule = ?, timezone = ?,"
                    " paused_reason = NULL WHERE scope = ? AND channel_id = ?",
                    (json.dumps(list(topics)), schedule, timezone, scope, channel_id),
                )
                if cur.rowcount:
                    async with db.execute(
                        "SELECT id FROM subscriptions WHERE scope = ? AND channel_id = ?",
                        (scope, channel_id),
                    ) as c:
                        (sub_id,) = await c.fetchone()
                    return await self._get(db, sub_id)
            cur = await db.execute(
                "INSERT INTO subscriptions (scope, channel_id, webhook_url, topics, schedule,"
                " timezone, created, last_run, from_config) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    scope,
                    channel_id,
                    webhook_url,
                    json.dumps(list(topics)),
                    schedule,
                    timezone,
                    to_ts(now),
                    to_ts(now),
                    int(from_config),
                ),
            )
            return await self._get(db, cur.lastrowid)

    async def _get(self, db: aiosqlite.Connection, sub_id: int) -> Subscription:
        async with db.execute("SELECT * FROM subscriptions WHERE id = ?", (sub_id,)) as cur:
            row = await cur.fetchone()
        if row is None:
            raise NewsError("no such subscription")
        return _subscription(row)

    async def get(self, sub_id: int) -> Subscription | None:
        try:
            return await self._get(self._db, sub_id)
        except NewsError:
            return None

    async def subscriptions(self, scope: str | None = None) -> list[Subscription]:
        sql, args = "SELECT * FROM subscriptions", ()
        if scope is not None:
            sql, args = sql + " WHERE scope = ?", (scope,)
        async with self._db.execute(sql + " ORDER BY id", args) as cur:
            return [_subscription(r) async for r in cur]

    async def unsubscribe(self, scope: str, sub_id: int) -> bool:
        async with self._lock:
            cur = await self._db.execute(
                "DELETE FROM subscriptions WHERE id = ? AND scope = ? AND from_config = 0",
                (sub_id, scope),
            )
            return cur.rowcount > 0

    async def pause(self, sub_id: int, reason: str | None) -> None:
        async with self._lock:
            await self._db.execute(
                "UPDATE subscriptions SET paused_reason = ? WHERE id = ?", (reason, sub_id)
            )

    async def mark_run(self, sub_id: int, when: datetime) -> None:
        async with self._lock:
            await self._db.execute(
                "UPDATE subscriptions SET last_run = ? WHERE id = ?", (to_ts(when), sub_id)
            )

    async def sync_config(self, wanted: Sequence[dict], now: datetime) -> None:
        """Make the config's webhook subscriptions exist exactly once each."""
        current = [s for s in await self.subscriptions("global") if s.from_config]
        keys = {
            (w["webhook_url"], w["schedule"], w["timezone"], tuple(w["topics"])) for w in wanted
        }
        for sub in current:
            if (sub.webhook_url, sub.schedule, sub.timezone, sub.topics) not in keys:
                async with self._lock:
                    await self._db.execute("DELETE FROM subscriptions WHERE id = ?", (sub.id,))
        have = {(s.webhook_url, s.schedule, s.timezone, s.topics) for s in current}
        for w in wanted:
            key = (w["webhook_url"], w["schedule"], w["timezone"], tuple(w["topics"]))
            if key not in have:
                await self.subscribe(
                    scope="global", channel_id=None, from_config=True, now=now, **w
                )

    # ------------------------------------------------------------------ deliveries

    async def enqueue(
        self,
        *,
        subscription_id: int | None,
        target: str,
        cluster_ids: Sequence[int],
        payloads: Sequence[dict],
        now: datetime,
    ) -> Delivery:
        """Record a delivery before anything is sent; each message part gets its own nonce."""
        async with self._lock, transaction(self._db) as db:
            cur = await db.execute(
                "INSERT INTO deliveries (subscription_id, target, cluster_ids, created)"
                " VALUES (?, ?, ?, ?)",
                (subscription_id, target, json.dumps(list(cluster_ids)), to_ts(now)),
            )
            delivery_id = cur.lastrowid
            await db.executemany(
                "INSERT INTO delivery_parts (delivery_id, seq, payload, nonce) VALUES (?, ?, ?, ?)",
                [
                    (
                        delivery_id,
                        seq,
                        json.dumps(p),
                        f"bb{delivery_id}.{seq}.{secrets.token_hex(4)}",
                    )
                    for seq, p in enumerate(payloads)
                ],
            )
        delivery = await self.delivery(delivery_id)
        assert delivery is not None
        return delivery

    async def delivery(self, delivery_id: int) -> Delivery | None:
        async with self._db.execute("SELECT * FROM deliveries WHERE id = ?", (delivery_id,)) as cur:
            row = await cur.fetchone()
        if row is None:
            return None
        async with self._db.execute(
            "SELECT seq, payload, nonce, message_id FROM delivery_parts WHERE delivery_id = ?"
            " ORDER BY seq",
            (delivery_id,),
        ) as cur:
            parts = tuple(
                [
                    DeliveryPart(r["seq"], json.loads(r["payload"]), r["nonce"], r["message_id"])
                    async for r in cur
                ]
            )
        return Delivery(
            id=row["id"],
            subscription_id=row["subscription_id"],
            target=row["target"],
            cluster_ids=tuple(json.loads(row["cluster_ids"])),
            status=row["status"],
            attempts=row["attempts"],
            last_error=row["last_error"],
            parts=parts,
        )

    async def pending(self) -> list[Delivery]:
        async with self._db.execute(
            "SELECT id FROM deliveries WHERE status = 'pending' ORDER BY id"
        ) as cur:
            ids = [r[0] async for r in cur]
        return [d for d in [await self.delivery(i) for i in ids] if d is not None]

    async def part_sent(self, delivery_id: int, seq: int, message_id: str) -> None:
        async with self._lock:
            await self._db.execute(
                "UPDATE delivery_parts SET message_id = ? WHERE delivery_id = ? AND seq = ?",
                (message_id, delivery_id, seq),
            )

    async def delivered(self, delivery: Delivery, now: datetime) -> None:
        """All parts sent: the delivery is done and its stories count as posted to the target."""
        async with self._lock, transaction(self._db) as db:
            await db.execute(
                "UPDATE deliveries SET status = 'sent', sent_at = ? WHERE id = ?",
                (to_ts(now), delivery.id),
            )
            await db.executemany(
                "INSERT OR IGNORE INTO posted (target, cluster_id, posted_at) VALUES (?, ?, ?)",
                [(delivery.target, c, to_ts(now)) for c in delivery.cluster_ids],
            )

    async def attempt_failed(self, delivery_id: int, error: str, *, give_up: bool) -> None:
        async with self._lock:
            await self._db.execute(
                "UPDATE deliveries SET attempts = attempts + 1, last_error = ?,"
                " status = CASE WHEN ? THEN 'failed' ELSE status END WHERE id = ?",
                (error, int(give_up), delivery_id),
            )

    # ------------------------------------------------------------------ meta and housekeeping

    async def set_meta(self, key: str, value: str) -> None:
        async with self._lock:
            await self._db.execute(
                "INSERT INTO meta (key, value) VALUES (?, ?)"
                " ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                (key, value),
            )

    async def get_meta(self, key: str) -> str | None:
        async with self._db.execute("SELECT value FROM meta WHERE key = ?", (key,)) as cur:
            row = await cur.fetchone()
        return row[0] if row else None

    async def prune(self, now: datetime, retention: timedelta) -> int:
        """Delete stories past retention. Their keys stay (tombstones), so they never return."""
        cutoff = to_ts(now - retention)
        async with self._lock, transaction(self._db) as db:
            cur = await db.execute(
                "DELETE FROM stories WHERE published < ? AND first_seen < ?", (cutoff, cutoff)
            )
            removed = cur.rowcount
            await db.execute("DELETE FROM posted WHERE posted_at < ?", (cutoff,))
            await db.execute(
                "DELETE FROM cluster_outlets WHERE first < ? AND cluster_id NOT IN"
                " (SELECT cluster_id FROM stories WHERE cluster_id IS NOT NULL)",
                (cutoff,),
            )
            await db.execute(
                "DELETE FROM deliveries WHERE status != 'pending' AND created < ?", (cutoff,)
            )
        return removed

    async def llm_cached(self, key: str) -> str | None:
        async with self._db.execute("SELECT result FROM llm_cache WHERE key = ?", (key,)) as cur:
            row = await cur.fetchone()
        return row[0] if row else None

    async def llm_store(self, key: str, result: str, now: datetime) -> None:
        async with self._lock:
            await self._db.execute(
                "INSERT OR REPLACE INTO llm_cache (key, result, created) VALUES (?, ?, ?)",
                (key, result, to_ts(now)),
            )
