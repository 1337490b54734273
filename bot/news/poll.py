"""One polling pass: fetch -> parse -> identify -> enrich -> one writer.

Sources are fetched concurrently (the fetcher's limits apply); parsing and enrichment run in
worker threads; every database write goes through one writer task that groups several
sources' results into one transaction.
"""

from __future__ import annotations

import asyncio
import functools
import json
import logging
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from bot.news import articles, policy
from bot.news.enrich import Enricher
from bot.news.errors import FetchError, NewsError, ParseError, StoreError
from bot.news.fetch import Fetcher
from bot.news.identity import content_hash, guids_unreliable, story_key
from bot.news.llm import LLMCondenser
from bot.news.models import Condensed, FetchResult, ParsedFeed, PollReport, Source
from bot.news.parse import parse_feed
from bot.news.store import Candidate, Store

log = logging.getLogger(__name__)

#: how many sources' results one write transaction may carry
WRITE_BATCH = 32
#: sources being fetched, parsed or enriched at once in a poll
IN_FLIGHT = 24

Progress = Callable[[int, int, Source, str | None], None]


@dataclass(slots=True)
class SourceOutcome:
    source: Source
    ok: bool
    next_poll: datetime
    error: str | None = None
    not_modified: bool = False
    result: FetchResult | None = None
    key_mode: str | None = None
    candidates: list[Candidate] = field(default_factory=list)
    warning: str | None = None
    #: more new stories than the per-poll cap, some left for later polls: what happened
    flood: str | None = None


def new_totals() -> dict:
    """Running counts of a poll, filled in by :meth:`Poller.write`."""
    return {"ok": 0, "nm": 0, "failed": 0, "new": [], "updated": 0, "failures": [], "warnings": []}


class Poller:
    def __init__(
        self,
        store: Store,
        fetcher: Fetcher,
        enricher: Enricher,
        *,
        cap: timedelta,
        clock: Callable[[], datetime],
        llm: LLMCondenser | None = None,
        articles: bool = True,
    ) -> None:
        self.llm = llm
        self.articles = articles
        # CPU work (parsing, cleaning, condensing, tagging) runs on one worker thread: more
        # threads would not run in parallel under the GIL, and every extra thread contending
        # for it delays the event loop. In-flight sources are bounded so finished results
        # don't pile up in memory while they wait for the worker or the writer.
        self._cpu = ThreadPoolExecutor(max_workers=1, thread_name_prefix="briefbot-cpu")
        self._in_flight = asyncio.Semaphore(IN_FLIGHT)
        self.store = store
        self.fetcher = fetcher
        self.enricher = enricher
        self.cap = cap
        self.clock = clock

    async def run(self, sources: Sequence[Source], progress: Progress | None = None) -> PollReport:
        queue: asyncio.Queue[SourceOutcome | None] = asyncio.Queue(maxsize=WRITE_BATCH * 2)
        totals = new_totals()
        writer = asyncio.create_task(self._writer(queue, totals))
        done = 0

        async def one(source: Source) -> None:
            nonlocal done
            async with self._in_flight:
                outcome = await self.poll_source(source)
                await queue.put(outcome)
            done += 1
            if progress is not None:
                progress(done, len(sources), source, outcome.error)

        if self.llm is not None:
            self.llm.start_poll()
        tasks = [asyncio.create_task(one(s)) for s in sources]
        readers = asyncio.gather(*tasks)
        try:
            # a writer that fails (the disk is full) ends the poll: readers waiting to hand it
            # their results would otherwise wait for ever, and every later poll behind them
            await asyncio.wait({readers, writer}, return_when=asyncio.FIRST_COMPLETED)
            if writer.done():
                writer.result()  # raises what stopped it (it ends early only on an error)
            await readers
        finally:
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            if readers.done() and not readers.cancelled():
                readers.exception()  # retrieved: raised above, or superseded by the writer's
            if not writer.done():
                await queue.put(None)
                await writer
        return PollReport(
            ok=totals["ok"],
            not_modified=totals["nm"],
            failed=totals["failed"],
            new_stories=len(totals["new"]),
            updated_stories=totals["updated"],
            failures=tuple(totals["failures"]),
            warnings=tuple(totals["warnings"]),
            new_story_ids=tuple(totals["new"]),
        )

    # ---------------------------------------------------------------- one source

    async def poll_source(
        self, source: Source, *, result: FetchResult | None = None
    ) -> SourceOutcome:
        """Fetch (unless ``result`` is given), parse and enrich; nothing is written here."""
        try:
            if result is None:
                result = await self.fetcher.fetch(
                    source.url, etag=source.etag, last_modified=source.last_modified
                )
            now = self.clock()
            if result.status == 304:
                return SourceOutcome(
                    source,
                    True,
                    self._next(source, now, result=result),
                    result=result,
                    not_modified=True,
                )
            parsed = await self._run_cpu(
                parse_feed, result.body, url=result.url, headers=result.headers, fetched_at=now
            )
            outcome = await self._identify(source, parsed, result, now)
            return outcome
        except (FetchError, ParseError) as exc:
            return self._failure(source, exc)
        except StoreError:  # the database's trouble, not the feed's: it ends the poll
            raise
        except NewsError as exc:  # pragma: no cover - any other core error is still a failure
            return self._failure(source, exc)
        except Exception as exc:  # a bug must not stop the other sources
            log.exception("poll: unexpected error for %s", source.url)
            return self._failure(source, exc)

    async def _run_cpu(self, fn, /, *args, **kwargs):
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._cpu, functools.partial(fn, *args, **kwargs))

    def close(self) -> None:
        self._cpu.shutdown(wait=False, cancel_futures=True)

    def _failure(self, source: Source, exc: Exception) -> SourceOutcome:
        now = self.clock()
        failures = source.consecutive_failures + 1
        when = policy.next_poll(
            now,
            interval=source.interval,
            ok=False,
            failures=failures,
            retry_after=getattr(exc, "retry_after", None),
            cap=self.cap,
        )
        if isinstance(exc, NewsError):
            message = str(exc) or exc.__class__.__name__
        else:  # a bug's text is no sentence for an admin (a KeyError says only ' Red')
            message = (
                f"an unexpected error ({exc.__class__.__name__}) stopped reading this feed;"
                " it was logged, and the source will be retried"
            )
        return SourceOutcome(source, False, when, error=message)

    def _next(self, source: Source, now: datetime, *, result: FetchResult, ttl=None) -> datetime:
        return policy.next_poll(
            now,
            interval=source.interval,
            ok=True,
            failures=0,
            max_age=result.max_age,
            retry_after=result.retry_after,
            ttl=ttl,
            cap=self.cap,
        )

    async def _identify(
        self, source: Source, parsed: ParsedFeed, result: FetchResult, now: datetime
    ) -> SourceOutcome:
        entries = parsed.entries
        key_mode = source.key_mode
        if key_mode == "guid" and guids_unreliable(entries):
            log.info("source %s: guids are blank or repeated; using links as keys", source.url)
            key_mode = "link"
        candidates = [Candidate(story_key(e, key_mode), e, content_hash(e)) for e in entries]
        known = await self.store.stories.known(source.id, [c.key for c in candidates])
        work = [
            c
            for c in candidates
            if c.key not in known or (known[c.key][0] is not None and known[c.key][1] != c.hash)
        ]
        fresh = [c for c in work if c.key not in known]
        cap = self.fetcher.settings.max_new_per_poll
        warning = parsed.warning
        over: set[int] = set()  # beyond the cap: the oldest (then last listed) new ones
        flood = None
        if len(fresh) > cap:
            order = sorted(range(len(fresh)), key=lambda i: (fresh[i].entry.published, -i))
            over = {id(fresh[i]) for i in order[: len(fresh) - cap]}
            if source.last_success is not None:  # deferred: a later poll takes them
                work = [c for c in work if id(c) not in over]
            held = f"{len(fresh)} new stories at once; " + (
                f"the newest {cap} were taken, the rest wait for later polls"
                if source.last_success is not None  # a first poll's backlog is never announced
                else f"the newest {cap} were summarised, the rest stored without a summary"
            )
            held += " (fetch.max_new_per_poll)"
            if source.last_success is not None:  # a first poll's backlog is no flood
                flood = held
            warning = f"{warning} {held}." if warning else f"The feed brought {held}."
        if source.last_success is None:
            # first poll: the backlog is stored but never announced, except `backfill` newest
            newest = sorted(work, key=lambda c: c.entry.published, reverse=True)
            keep = {id(c) for c in newest[: source.backfill]}
            for cand in work:
                cand.backlog = id(cand) not in keep
        if work:
            enrich = [c for c in work if id(c) not in over] if over else work
            texts = await self._full_texts(source, enrich)
            await self._run_cpu(self.enricher.enrich, enrich, texts=texts)
            if self.llm is not None:
                await self._llm_condense(work)
        return SourceOutcome(
            source,
            True,
            self._next(source, now, result=result, ttl=parsed.ttl),
            result=result,
            key_mode=key_mode if key_mode != source.key_mode else None,
            candidates=work,
            warning=warning,
            flood=flood,
        )

    async def _llm_condense(self, work: Sequence[Candidate]) -> None:
        """Use the model's result where it answers well; cached by content."""
        assert self.llm is not None
        for cand in work:
            if cand.condensed is None or not cand.text:
                continue
            key = self.llm.cache_key(cand.entry.title, cand.text)
            cached = await self.store.outbox.llm_cached(key)
            if cached is not None:
                data = json.loads(cached)
                cand.condensed = Condensed(
                    cand.condensed.headline, data["lead"], tuple(data["points"])
                )
                cand.topics = tuple(data["topics"]) or cand.topics
                continue
            condensed, topics = await self.llm.condense(
                cand.entry.title, cand.text, cand.entry.link, cand.condensed
            )
            if topics is None:  # fell back: the extractive result stays, nothing cached
                continue
            cand.condensed = condensed
            cand.topics = topics[:3] or cand.topics
            await self.store.outbox.llm_store(
                key,
                json.dumps(
                    {
                        "lead": condensed.lead,
                        "points": list(condensed.points),
                        "topics": list(topics),
                    }
                ),
                self.clock(),
            )

    async def _full_texts(self, source: Source, work: Sequence[Candidate]) -> dict[str, str]:
        """Article pages for teasers (or every item: full_text), see bot/news/articles.py."""
        if not self.articles or source.full_text is False:
            return {}
        chosen = await self._run_cpu(articles.wanted, work, every=bool(source.full_text))
        return await articles.article_texts(self.fetcher, self.store.articles, chosen, self.clock())

    # ---------------------------------------------------------------- the one writer

    async def _writer(self, queue: asyncio.Queue, totals: dict) -> None:
        finished = False
        while not finished:
            first = await queue.get()
            batch = [first] if first is not None else []
            finished = first is None
            while not finished and len(batch) < WRITE_BATCH and not queue.empty():
                item = queue.get_nowait()
                if item is None:
                    finished = True
                else:
                    batch.append(item)
            if batch:
                await self.write(batch, totals)

    async def write(self, batch: Sequence[SourceOutcome], totals: dict) -> None:
        """One transaction for a batch of sources: their stories, then their poll state."""
        now = self.clock()
        oks, fails, moves, floods = [], [], [], []
        async with self.store.transaction() as db:
            for out in batch:
                if not out.ok:
                    totals["failed"] += 1
                    totals["failures"].append((out.source.name or out.source.url, out.error or ""))
                    fails.append((out.source.id, out.error, out.next_poll))
                    continue
                if out.warning:
                    name = out.source.name or out.source.url
                    totals["warnings"].append((name, out.warning))
                    log.warning("source %s: read despite errors: %s", name, out.warning)
                if out.candidates:
                    ingest = await self.store.stories.ingest(db, out.source.id, out.candidates, now)
                    totals["new"].extend(ingest.new_ids)
                    totals["updated"] += len(ingest.updated_ids)
                totals["nm" if out.not_modified else "ok"] += 1
                r, source = out.result, out.source
                fresh = r is not None and r.status == 200
                oks.append(
                    (
                        source.id,
                        out.next_poll,
                        r.etag if fresh else source.etag,
                        r.last_modified if fresh else source.last_modified,
                        out.key_mode,
                    )
                )
                if r is not None and r.permanent_url and r.permanent_url != source.url:
                    moves.append((source.id, r.permanent_url))
                floods.append((source.id, out.flood))
            await self.store.sources.record_results(
                db, now, oks=oks, fails=fails, moves=moves, floods=floods
            )
