"""``briefbot worker``: poll due sources forever, beside any number of other workers.

Each round, a worker claims a few due sources with a lease (``SourceTable.claim``: one short
transaction, ``FOR UPDATE SKIP LOCKED`` on PostgreSQL), polls them, and the poll's write ends
each lease. While it works it renews the leases it still holds, so a slow feed is not taken
over; a worker killed with -9 holds nothing for longer than ``[worker] lease_seconds``, and
then its sources are claimed again. SIGTERM stops claiming, lets the round finish, and gives
back what is still held.

No Discord here: a worker process never imports it.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import secrets
import socket
from collections.abc import Callable
from datetime import timedelta

from bot.news.errors import StoreError
from bot.news.models import PollReport

log = logging.getLogger(__name__)

#: rounds a worker runs at once (its [worker] batch is shared out between them)
LANES = 4
#: how long a worker waits before trying again after the database went away
RETRY_FIRST_S, RETRY_MAX_S = 1.0, 60.0


def worker_name() -> str:
    """host:pid:random, unique across machines and restarts (the lease owner's name)."""
    return f"{socket.gethostname()}:{os.getpid()}:{secrets.token_hex(3)}"


class Worker:
    def __init__(
        self,
        service,
        *,
        lease: timedelta,
        batch: int,
        idle: float,
        name: str | None = None,
        on_round: Callable[[PollReport], None] | None = None,
        lanes: int = LANES,
    ) -> None:
        self.service = service
        self.lease = lease
        self.lanes = max(1, min(lanes, batch))
        self.batch = max(1, batch // self.lanes)  # per lane
        self.idle = idle
        self.name = name or worker_name()
        self.on_round = on_round
        self._stop = asyncio.Event()
        self.rounds = 0

    @classmethod
    def from_config(cls, service, **options) -> Worker:
        """A worker with the service's ``[worker]`` settings (as ``briefbot worker`` runs it)."""
        cfg = service.config.worker
        return cls(
            service,
            lease=timedelta(seconds=cfg.lease_seconds),
            batch=cfg.batch,
            idle=cfg.idle_seconds,
            **options,
        )

    def stop(self) -> None:
        """Finish the round in hand, then return from :meth:`run`."""
        self._stop.set()

    @property
    def stopping(self) -> bool:
        return self._stop.is_set()

    async def run(self) -> None:
        """Poll until :meth:`stop`: ``lanes`` rounds at a time, each claiming its own few
        sources, so one slow feed holds up only its lane's next claim, not the worker's."""
        store = self.service.store
        try:
            await asyncio.gather(*(self._lane() for _ in range(self.lanes)))
        finally:
            with contextlib.suppress(Exception):
                released = await store.sources.release(self.name)
                if released:
                    log.info("worker %s: gave back %d sources", self.name, released)

    async def _lane(self) -> None:
        delay = RETRY_FIRST_S
        while not self._stop.is_set():
            try:
                report = await self.round()
                delay = RETRY_FIRST_S
            except (OSError, StoreError, *_lost_connection_errors()) as exc:
                log.warning(
                    "worker %s: the database is unreachable (%s); retrying in %.0fs",
                    self.name,
                    exc.__class__.__name__,
                    delay,
                )
                await self._sleep(delay)
                delay = min(delay * 2, RETRY_MAX_S)
                continue
            if report is None:  # nothing due: wait a little, or until told to stop
                await self._sleep(self.idle)

    async def round(self) -> PollReport | None:
        """Claim, poll and store one batch of due sources; None when nothing was due."""
        service = self.service
        sources = await service.store.sources.claim(
            self.name, service.clock(), limit=self.batch, lease=self.lease
        )
        if not sources:
            # another worker may have stored stories that wait for the clusterer (this one,
            # if it holds the role)
            await service.cluster()
            return None
        renewer = asyncio.create_task(self._renew([s.id for s in sources]))
        try:
            report = await service.poller.run(sources)
        finally:
            renewer.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await renewer
        await service.cluster(report.new_story_ids)
        await service._prune_if_due()
        self.rounds += 1
        log.info(
            "worker %s: %d sources (%d new stories, %d failed)",
            self.name,
            len(sources),
            report.new_stories,
            report.failed,
        )
        if self.on_round is not None:
            self.on_round(report)
        return report

    async def _renew(self, ids: list[int]) -> None:
        every = max(1.0, self.lease.total_seconds() / 3)
        while True:
            await asyncio.sleep(every)
            try:
                held = await self.service.store.sources.renew(
                    self.name, ids, self.service.clock() + self.lease
                )
            except Exception as exc:  # the round goes on; the lease may lapse
                log.warning("worker %s: could not renew leases: %s", self.name, exc)
                continue
            if not held:
                return

    async def _sleep(self, seconds: float) -> None:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._stop.wait(), seconds)


def _lost_connection_errors() -> tuple[type[BaseException], ...]:
    try:
        import asyncpg
    except ImportError:  # pragma: no cover - asyncpg is a dependency
        return ()
    return (
        asyncpg.PostgresConnectionError,
        asyncpg.InterfaceError,
        asyncpg.ConnectionDoesNotExistError,
    )
