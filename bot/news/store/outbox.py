"""SQL for subscriptions, the delivery outbox, what each target was sent, and housekeeping."""

from __future__ import annotations

import json
import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from bot.news.errors import NewsError
from bot.news.store.db import from_ts, to_ts
from bot.news.store.engine import Conn, Database, Row


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


def _subscription(row: Row) -> Subscription:
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
    def __init__(self, db: Database) -> None:
        self._db = db

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
        async with self._db.transaction() as db:
            if channel_id is not None:
                sub_id = await db.fetchval(
                    "UPDATE subscriptions SET topics = ?, schedule = ?, timezone = ?,"
                    " paused_reason = NULL WHERE scope = ? AND channel_id = ? RETURNING id",
                    (json.dumps(list(topics)), schedule, timezone, scope, channel_id),
                )
                if sub_id is not None:
                    return await self._get(db, sub_id)
            sub_id = await db.fetchval(
                "INSERT INTO subscriptions (scope, channel_id, webhook_url, topics, schedule,"
                " timezone, created, last_run, from_config) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)"
                " RETURNING id",
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
            return await self._get(db, sub_id)

    async def _get(self, db: Conn, sub_id: int) -> Subscription:
        row = await db.fetchone("SELECT * FROM subscriptions WHERE id = ?", (sub_id,))
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
        return [_subscription(r) for r in await self._db.fetch(sql + " ORDER BY id", args)]

    async def unsubscribe(self, scope: str, sub_id: int) -> bool:
        removed = await self._db.execute(
            "DELETE FROM subscriptions WHERE id = ? AND scope = ? AND from_config = 0",
            (sub_id, scope),
        )
        return removed > 0

    async def pause(self, sub_id: int, reason: str | None) -> None:
        await self._db.execute(
            "UPDATE subscriptions SET paused_reason = ? WHERE id = ?", (reason, sub_id)
        )

    async def mark_run(self, sub_id: int, when: datetime) -> None:
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
        run_key: str | None = None,
        owner: str | None = None,
        lease: timedelta | None = None,
    ) -> Delivery | None:
        """Record a delivery before anything is sent; each message part gets its own nonce.

        ``run_key`` names one scheduled run (subscription and due time): a second process
        enqueueing the same run gets None and sends nothing. ``owner`` (a bot process) holds
        the new delivery for ``lease`` while it sends; if it vanishes, another takes it over.
        """
        until = to_ts(now + lease) if owner and lease else None
        async with self._db.transaction() as db:
            delivery_id = await db.fetchval(
                "INSERT INTO deliveries (subscription_id, target, cluster_ids, created, run_key,"
                " lease_owner, lease_until) VALUES (?, ?, ?, ?, ?, ?, ?)"
                " ON CONFLICT DO NOTHING RETURNING id",
                (
                    subscription_id,
                    target,
                    json.dumps(list(cluster_ids)),
                    to_ts(now),
                    run_key,
                    owner if until else None,
                    until,
                ),
            )
            if delivery_id is None:
                return None
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
        row = await self._db.fetchone("SELECT * FROM deliveries WHERE id = ?", (delivery_id,))
        if row is None:
            return None
        rows = await self._db.fetch(
            "SELECT seq, payload, nonce, message_id FROM delivery_parts WHERE delivery_id = ?"
            " ORDER BY seq",
            (delivery_id,),
        )
        parts = tuple(
            DeliveryPart(r["seq"], json.loads(r["payload"]), r["nonce"], r["message_id"])
            for r in rows
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
        rows = await self._db.fetch(
            "SELECT id FROM deliveries WHERE status = 'pending' ORDER BY id"
        )
        return [d for d in [await self.delivery(r[0]) for r in rows] if d is not None]

    async def claim(
        self, owner: str, now: datetime, *, lease: timedelta, limit: int = 20
    ) -> list[Delivery]:
        """Lease pending deliveries to one bot process, oldest first.

        Deliveries another live process holds are passed by; a vanished process's lease runs
        out and its deliveries are taken over (the nonces keep a half-sent one from doubling).
        """
        stamp = to_ts(now)
        async with self._db.transaction() as db:
            rows = await db.fetch(
                "UPDATE deliveries SET lease_owner = ?, lease_until = ? WHERE id IN ("
                " SELECT id FROM deliveries WHERE status = 'pending'"
                " AND (lease_until IS NULL OR lease_until < ? OR lease_owner = ?)"
                f" ORDER BY id LIMIT ?{db.dialect.skip_locked}) RETURNING id",
                (owner, stamp + int(lease.total_seconds()), stamp, owner, limit),
            )
        ids = sorted(r[0] for r in rows)
        return [d for d in [await self.delivery(i) for i in ids] if d is not None]

    async def release(self, owner: str, delivery_id: int) -> None:
        await self._db.execute(
            "UPDATE deliveries SET lease_owner = NULL, lease_until = NULL"
            " WHERE id = ? AND lease_owner = ?",
            (delivery_id, owner),
        )

    async def part_sent(self, delivery_id: int, seq: int, message_id: str) -> None:
        await self._db.execute(
            "UPDATE delivery_parts SET message_id = ? WHERE delivery_id = ? AND seq = ?",
            (message_id, delivery_id, seq),
        )

    async def delivered(self, delivery: Delivery, now: datetime) -> None:
        """All parts sent: the delivery is done and its stories count as posted to the target."""
        async with self._db.transaction() as db:
            await db.execute(
                "UPDATE deliveries SET status = 'sent', sent_at = ?, lease_owner = NULL,"
                " lease_until = NULL WHERE id = ?",
                (to_ts(now), delivery.id),
            )
            await db.executemany(
                "INSERT INTO posted (target, cluster_id, posted_at) VALUES (?, ?, ?)"
                " ON CONFLICT DO NOTHING",
                [(delivery.target, c, to_ts(now)) for c in delivery.cluster_ids],
            )

    async def attempt_failed(self, delivery_id: int, error: str, *, give_up: bool) -> None:
        await self._db.execute(
            "UPDATE deliveries SET attempts = attempts + 1, last_error = ?,"
            " status = CASE WHEN ? = 1 THEN 'failed' ELSE status END WHERE id = ?",
            (error, int(give_up), delivery_id),
        )

    # ------------------------------------------------------------------ meta and housekeeping

    async def set_meta(self, key: str, value: str) -> None:
        await self._db.execute(
            "INSERT INTO meta (key, value) VALUES (?, ?)"
            " ON CONFLICT (key) DO UPDATE SET value = excluded.value",
            (key, value),
        )

    async def get_meta(self, key: str) -> str | None:
        return await self._db.fetchval("SELECT value FROM meta WHERE key = ?", (key,))

    async def prune(self, now: datetime, retention: timedelta) -> int:
        """Delete stories past retention. Their keys stay (tombstones), so they never return."""
        cutoff = to_ts(now - retention)
        async with self._db.transaction() as db:
            removed = await db.execute(
                "DELETE FROM stories WHERE published < ? AND first_seen < ?", (cutoff, cutoff)
            )
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
        return await self._db.fetchval("SELECT result FROM llm_cache WHERE key = ?", (key,))

    async def llm_store(self, key: str, result: str, now: datetime) -> None:
        await self._db.execute(
            "INSERT INTO llm_cache (key, result, created) VALUES (?, ?, ?) ON CONFLICT (key)"
            " DO UPDATE SET result = excluded.result, created = excluded.created",
            (key, result, to_ts(now)),
        )
