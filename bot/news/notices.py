"""Per-server notices: what a server is told about its own sources and subscriptions.

A mixin of :class:`bot.news.service.NewsService`. The incidents come from state the store
already keeps, so every process (a bot that polls, or one that leaves polling to workers)
finds the same ones and numbers them alike:

- a source failing: ``consecutive_failures`` reached three; numbered by its last success (the
  streak that began after it), over when a poll succeeds again ("working again");
- a subscription paused (its channel gone, the bot's permission lost); numbered by when it was
  paused, over when ``/subscribe`` resumes it;
- a source flooding: its polls bring more new stories than ``fetch.max_new_per_poll``;
  numbered by the first capped poll of the run, told at most once a week per server.

Only the servers that own the subject are told, each in its own notices channel; nothing of
one server's reaches another. Telling goes through the outbox (see ``store/notices.py``).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from bot.news.errors import NewsError
from bot.news.models import Source
from bot.news.store import GLOBAL, Delivery, Incident, NoticeSetting, Store, Subscription
from bot.news.store.db import to_ts

#: run keys of notice deliveries start so; the scope they belong to follows
NOTICE_PREFIX = "notice:"

SOURCE_FAILING = "source_failing"
SOURCE_RECOVERED = "source_recovered"
SOURCE_FLOODED = "source_flooded"
SUBSCRIPTION_PAUSED = "subscription_paused"
SUBSCRIPTION_RESUMED = "subscription_resumed"

#: the incident a closing notice ends
CLOSES = {SOURCE_RECOVERED: SOURCE_FAILING, SUBSCRIPTION_RESUMED: SUBSCRIPTION_PAUSED}

#: a source that floods again soon after is not told again before this
FLOOD_QUIET = timedelta(days=7)


@dataclass(frozen=True)
class Notice:
    """One thing to tell one server, in its notices channel."""

    scope: str
    kind: str
    subject_id: int
    incident: int
    channel_id: int
    source: Source | None = None
    subscription: Subscription | None = None
    #: what a flooding poll did (the poller's sentence)
    detail: str = ""

    @property
    def closes(self) -> bool:
        return self.kind in CLOSES

    @property
    def key(self) -> tuple[str, str, int, int]:
        """The ledger key of the incident this notice opens or closes."""
        return (self.scope, CLOSES.get(self.kind, self.kind), self.subject_id, self.incident)

    @property
    def run_key(self) -> str:
        """The outbox run key: one delivery per notice, however many passes find it."""
        return f"{NOTICE_PREFIX}{self.scope}:{self.kind}:{self.subject_id}:{self.incident}"


def notice_of(run_key: str | None) -> tuple[str, str, int, int] | None:
    """(scope, notice kind, subject id, incident) of a notice delivery's run key; None for
    a delivery that is no notice."""
    if not run_key or not run_key.startswith(NOTICE_PREFIX):
        return None
    parts = run_key.removeprefix(NOTICE_PREFIX).rsplit(":", 3)
    if len(parts) != 4 or not parts[2].isdigit() or not parts[3].isdigit():
        return None
    return parts[0], parts[1], int(parts[2]), int(parts[3])


def failing_number(source: Source) -> int:
    """A failing streak's number: the last success before it (0: it never worked)."""
    return to_ts(source.last_success) or 0


class NoticesMixin:
    store: Store
    clock: Callable[[], datetime]

    # ------------------------------------------------------------------ settings

    async def notice_setting(self, scope: str) -> NoticeSetting:
        return await self.store.notices.setting(scope)

    async def set_notices(
        self, scope: str, *, channel_id: int | None = None, off: bool = False
    ) -> NoticeSetting:
        """Send the server's notices to a channel, or stop them (``off``); a pause ends."""
        if scope == GLOBAL:
            raise NewsError("notices are set per server; the operator's go to log_channel_id")
        if off:
            await self.store.notices.set_off(scope, self.clock())
        elif channel_id is not None:
            await self.store.notices.set_channel(scope, channel_id, self.clock())
        return await self.store.notices.setting(scope)

    async def notices_hint(self, scope: str) -> bool:
        """Whether to say how to set a notices channel: once, to a server that has none."""
        if scope == GLOBAL:
            return False
        return await self.store.notices.first_hint(scope, self.clock())

    async def notice_refused(self, delivery: Delivery, reason: str) -> str | None:
        """A notice's channel is gone or forbids the bot: pause that server's notices there
        until an admin sets them again, and forget that this notice was told, so that it is
        told then. Returns the server's scope when its notices were paused now."""
        told = notice_of(delivery.run_key)
        if told is None or not delivery.target.startswith("channel:"):
            return None
        scope, kind, subject_id, incident = told
        key = (scope, CLOSES.get(kind, kind), subject_id, incident)
        await self.store.notices.untell(key, closes=kind in CLOSES, run_key=delivery.run_key)
        channel_id = int(delivery.target.removeprefix("channel:"))
        paused = await self.store.notices.pause(scope, channel_id, reason, self.clock())
        return scope if paused else None

    # ------------------------------------------------------------------ incidents

    async def pending_notices(self, owns: Callable[[str], bool] | None = None) -> list[Notice]:
        """What servers with notices on have not been told yet: endings first, then news.

        Incidents whose subject is gone (a removed source, a deleted subscription) end here
        without a word. ``owns`` limits the servers to this process's (its shards).
        """
        settings = {
            s.scope: s
            for s in await self.store.notices.settings()
            if s.active and (owns is None or owns(s.scope))
        }
        if not settings:
            return []
        now = self.clock()
        # the ledger is read before the state it is compared with: an incident closed since
        # then is one whose state we read afterwards, so it is never opened twice
        open_rows = await self.store.notices.open_incidents(sorted(settings))
        flooded_lately = await self.store.notices.told_since(SOURCE_FLOODED, now - FLOOD_QUIET)
        sources = {s.id: s for s in await self.store.sources.list(None, with_counts=False)}
        floods = await self.store.notices.floods()
        subs = {s.id: s for s in await self.store.outbox.subscriptions()}
        paused = await self.store.notices.pause_numbers()

        endings = await self._endings(open_rows, settings, sources, floods, subs, paused, now)
        known = {row.key for row in open_rows}
        news: list[Notice] = []
        for source in sources.values():
            owners = [scope for scope in source.scopes if scope in settings]
            if source.status == "failing":
                number = failing_number(source)
                news += [
                    Notice(
                        scope, SOURCE_FAILING, source.id, number, _channel(settings, scope), source
                    )
                    for scope in owners
                    if (scope, SOURCE_FAILING, source.id, number) not in known
                ]
            if source.id in floods:
                since, note = floods[source.id]
                news += [
                    Notice(
                        scope,
                        SOURCE_FLOODED,
                        source.id,
                        since,
                        _channel(settings, scope),
                        source,
                        detail=note,
                    )
                    for scope in owners
                    if (scope, source.id) not in flooded_lately
                ]
        for sub in subs.values():
            if sub.paused_reason and sub.scope in settings:
                number = paused.get(sub.id, 0)
                if (sub.scope, SUBSCRIPTION_PAUSED, sub.id, number) not in known:
                    news.append(
                        Notice(
                            sub.scope,
                            SUBSCRIPTION_PAUSED,
                            sub.id,
                            number,
                            _channel(settings, sub.scope),
                            subscription=sub,
                        )
                    )
        return endings + news

    async def _endings(
        self,
        open_rows: Sequence[Incident],
        settings: dict[str, NoticeSetting],
        sources: dict[int, Source],
        floods: dict[int, tuple[int, str]],
        subs: dict[int, Subscription],
        paused: dict[int, int],
        now: datetime,
    ) -> list[Notice]:
        endings = []
        for row in open_rows:
            channel = _channel(settings, row.scope)
            if row.kind == SOURCE_FAILING:
                source = sources.get(row.subject_id)
                if source is None or row.scope not in source.scopes:
                    await self.store.notices.close_quietly(row.key, now)
                elif failing_number(source) != row.incident:  # a poll succeeded since
                    endings.append(
                        Notice(
                            row.scope, SOURCE_RECOVERED, source.id, row.incident, channel, source
                        )
                    )
            elif row.kind == SUBSCRIPTION_PAUSED:
                sub = subs.get(row.subject_id)
                if sub is None or sub.scope != row.scope:
                    await self.store.notices.close_quietly(row.key, now)
                elif not sub.paused_reason:
                    endings.append(
                        Notice(
                            row.scope,
                            SUBSCRIPTION_RESUMED,
                            sub.id,
                            row.incident,
                            channel,
                            subscription=sub,
                        )
                    )
                elif paused.get(sub.id, 0) != row.incident:  # resumed and paused again
                    await self.store.notices.close_quietly(row.key, now)
            elif row.kind == SOURCE_FLOODED:
                if floods.get(row.subject_id, (None, ""))[0] != row.incident:
                    await self.store.notices.close_quietly(row.key, now)
        return endings

    async def tell(
        self, notice: Notice, payloads: Sequence[dict], *, owner: str, lease: timedelta
    ) -> Delivery | None:
        """Record the notice's incident and enqueue it (held by ``owner``), atomically.

        None: it was told already (by an earlier pass, or another process).
        """
        delivery_id = await self.store.notices.tell(
            notice.key,
            closes=notice.closes,
            target=f"channel:{notice.channel_id}",
            payloads=payloads,
            run_key=notice.run_key,
            now=self.clock(),
            owner=owner,
            lease=lease,
        )
        if delivery_id is None:
            return None
        return await self.store.outbox.delivery(delivery_id)


def _channel(settings: dict[str, NoticeSetting], scope: str) -> int:
    channel_id = settings[scope].channel_id
    assert channel_id is not None  # only active settings are here
    return channel_id
