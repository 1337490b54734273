"""The ``briefbot`` command line: the composition root for both the terminal and the bot."""

from __future__ import annotations

import asyncio
import json
import logging
import os
import sys
import tomllib
from collections.abc import Awaitable, Callable, Sequence
from datetime import UTC, datetime
from pathlib import Path

from bot import __version__
from bot.cli_args import build_parser
from bot.config import Config, dump_toml, read_config, to_display
from bot.logs import setup_logging
from bot.news.errors import ConfigError, NewsError, StoreError
from bot.news.filters import NOT_SOURCE, Filters, parse_terms
from bot.news.models import Briefing, Bullet, PollReport, Source, Story
from bot.progress import ProgressLine

EXIT_OK, EXIT_ERROR, EXIT_USAGE = 0, 1, 2


# ----------------------------------------------------------------------------- helpers


def _err(message: str) -> None:
    print(f"briefbot: {message}", file=sys.stderr)


def _color() -> bool:
    return sys.stdout.isatty() and not os.environ.get("NO_COLOR")


def _iso(value: datetime | None) -> str | None:
    return value.astimezone(UTC).isoformat().replace("+00:00", "Z") if value else None


def story_json(story: Story) -> dict:
    return {
        "id": story.id,
        "title": story.headline or story.title,
        "url": story.url,
        "source": story.source_name,
        "published": _iso(story.published),
        "topics": list(story.topics),
        "lead": story.lead,
        "points": list(story.points),
        "snippet": story.snippet or story.lead,
        "cluster_size": story.cluster_size,
        "also_covered_by": list(story.also_covered_by),
        "image": story.image,
    }


def source_json(source: Source) -> dict:
    return {
        "id": source.id,
        "url": source.url,
        "name": source.name,
        "status": source.status,
        "last_error": source.last_error,
        "last_success": _iso(source.last_success),
        "consecutive_failures": source.consecutive_failures,
        "stories": source.story_count,
        "next_poll": _iso(source.next_poll),
        "interval": int(source.interval.total_seconds()),
    }


def _ago(when: datetime | None, now: datetime) -> str:
    if when is None:
        return "never"
    seconds = (now - when).total_seconds()
    future = seconds < 0
    seconds = abs(seconds)
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds >= size:
            text = f"{int(seconds // size)}{unit}"
            break
    else:
        text = f"{int(seconds)}s"
    return f"in {text}" if future else f"{text} ago"


def print_poll_summary(report: PollReport) -> None:
    print(
        f"Polled {report.ok + report.not_modified + report.failed} sources: "
        f"{report.ok} ok, {report.not_modified} not modified, {report.failed} failed; "
        f"{report.new_stories} new stories, {report.updated_stories} updated."
    )


async def _poll_with_progress(service, *, due_only: bool, quiet_after: int = 5) -> PollReport:
    """Poll with a progress bar; failing sources get a line each, up to ``quiet_after``."""
    bar = ProgressLine(total=0, label="Polling", stream=sys.stderr)  # the poll reports its total
    failed: list[str] = []

    def progress(done: int, total: int, source: Source, error: str | None) -> None:
        if error:
            failed.append(error)
            if len(failed) <= quiet_after:
                bar.message(f"  ✗ {source.name or source.url}: {error}")
        bar.update(done, total)

    try:
        report = await service.poll(due_only=due_only, progress=progress)
    finally:
        bar.close()
    for name, warning in report.warnings[:quiet_after]:
        print(f"  ! {name}: read despite errors ({warning})", file=sys.stderr)
    if len(failed) > quiet_after:
        print(f"  … and {len(failed) - quiet_after} more failing sources", file=sys.stderr)
    if failed and all("could not be resolved" in e for e in failed) and report.ok == 0:
        print("  (no host name could be resolved: is this machine offline?)", file=sys.stderr)
    return report


# ----------------------------------------------------------------------------- commands


async def cmd_poll(service, args) -> int:
    report = await _poll_with_progress(service, due_only=not args.all)
    print_poll_summary(report)
    return EXIT_OK


async def cmd_digest(service, args) -> int:
    if not args.no_poll and await service.stale():
        report = await _poll_with_progress(service, due_only=True)
        if report.failed:
            print(
                f"({report.failed} of {report.ok + report.not_modified + report.failed} sources "
                "could not be reached; `briefbot sources list` shows why)",
                file=sys.stderr,
            )
    filters = filters_from_args(args)
    from bot.textrender import render_digest_text

    if args.preview:
        return await _print_preview(service, args, filters)
    await service.check_filters(filters, warn=False)  # an unknown source is an error
    digest = await service.digest(
        topics=args.topic, since=args.since, limit=args.limit, filters=filters
    )
    if args.json:
        print(json.dumps([story_json(s) for s in digest.stories], indent=2, ensure_ascii=False))
        return EXIT_OK
    print(render_digest_text(digest, now=service.clock(), color=_color()))
    if digest.removed:
        kept_out = ", ".join(f"{stage} {n}" for stage, n in digest.removed)
        print(f"(kept out by the filters: {kept_out})", file=sys.stderr)
    return EXIT_OK


def filters_from_args(args) -> Filters:
    """``--include``/``--exclude`` may repeat and each holds terms as typed in Discord."""
    include = tuple(t for text in args.include for t in parse_terms(text, "include"))
    exclude = tuple(t for text in args.exclude for t in parse_terms(text, "exclude"))
    return Filters(
        include=include,
        exclude=exclude,
        sources=(*args.source, *(NOT_SOURCE + s for s in args.skip_source)),
        min_outlets=args.min_outlets or 0,
        max_stories=args.max_stories or 0,
    )


async def _print_preview(service, args, filters: Filters) -> int:
    from bot.news.preview import summary_lines
    from bot.textrender import render_digest_text

    warnings = await service.check_filters(filters)
    preview = await service.preview_subscription(
        topics=args.topic, schedule=args.schedule, timezone=args.timezone, filters=filters
    )
    for line in summary_lines(preview):
        print(line)
    for warning in warnings:
        print(f"Warning: {warning}")
    if preview.first is not None:
        print("\nThe first digest it would have posted:\n")
        print(render_digest_text(preview.first, now=preview.posted[0][0], color=_color()))
    return EXIT_OK


async def cmd_search(service, args) -> int:
    results = await service.search(" ".join(args.query), since=args.since, limit=args.limit)
    return _print_stories(service, results, as_json=args.json, none="No stories match.")


async def cmd_stories(service, args) -> int:
    results = await service.stories(
        topic=args.topic, source=args.source, since=args.since, limit=args.limit
    )
    return _print_stories(service, results, as_json=args.json, none="No stories in that window.")


async def cmd_story(service, args) -> int:
    briefing = await service.story_briefing(args.id)
    if args.json:
        print(json.dumps(briefing_json(briefing), indent=2, ensure_ascii=False))
    else:
        from bot.text_briefing import render_briefing_text

        print(render_briefing_text(briefing, color=_color()), end="")
    return EXIT_OK


def briefing_json(briefing: Briefing) -> dict:
    def bullet(b: Bullet) -> dict:
        return {"text": b.text, "outlet": b.outlet, "story_id": b.story_id, "url": b.url}

    return {
        "id": briefing.story_id,
        "headline": briefing.headline,
        "lead": briefing.lead,
        "lead_outlet": briefing.lead_outlet,
        "url": briefing.url,
        "published": _iso(briefing.published),
        "outlets": list(briefing.outlets),
        "written_by": briefing.written_by,
        "points": [bullet(p) for p in briefing.points],
        "sections": [
            {
                "title": s.title,
                "summary": bullet(s.summary),
                "bullets": [bullet(b) for b in s.bullets],
            }
            for s in briefing.sections
        ],
        "recent": [
            {
                "id": t.story_id,
                "title": t.title,
                "published": _iso(t.published),
                "outlet": t.outlet,
                "teaser": t.teaser,
                "url": t.url,
            }
            for t in briefing.recent
        ],
    }


def _print_stories(service, stories: Sequence[Story], *, as_json: bool, none: str) -> int:
    """A story list as JSON, or readable text (``none`` when the list is empty)."""
    if as_json:
        print(json.dumps([story_json(s) for s in stories], indent=2, ensure_ascii=False))
    elif not stories:
        print(none)
    else:
        from bot.textrender import render_stories_text

        print(render_stories_text(stories, now=service.clock(), color=_color()))
    return EXIT_OK


async def cmd_topics(service, args) -> int:
    counts = await service.topic_counts()
    fixes = await service.correction_counts()
    if args.json:
        rows = [
            {"name": t.name, "title": t.title, "stories": n, "corrections": fixes.get(t.name, 0)}
            for t, n in counts
        ]
        print(json.dumps(rows, indent=2))
        return EXIT_OK
    width = max(len(t.name) for t, _ in counts)
    for topic, count in counts:
        fixed = f"  ({fixes[topic.name]} corrected)" if fixes.get(topic.name) else ""
        print(f"{topic.name:<{width}}  {count:>5}  {topic.description}{fixed}")
    return EXIT_OK


async def cmd_retag(service, args) -> int:
    if args.story is not None or args.topic:
        if args.story is None or not args.topic:
            print("briefbot retag: --story ID needs at least one --topic T", file=sys.stderr)
            return EXIT_USAGE
        story = await service.retag_story(args.story, args.topic)
        print(f"#{story.id} {story.headline}: {', '.join(story.topics) or 'no topic'}")
        return EXIT_OK
    bar = ProgressLine(total=0, label="Re-tagging", stream=sys.stderr)
    changed = await service.retag(progress=lambda done, total: bar.update(done, total))
    bar.close()
    print(f"Re-tagged stories: {changed} changed.")
    return EXIT_OK


async def cmd_sources(service, args) -> int:
    now = service.clock()
    if args.action == "add":
        added = await service.add_source(
            args.url,
            name=args.name,
            interval=args.interval,
            backfill=args.backfill,
            full_text=args.full_text,
        )
        if added.note:
            print(added.note)
        s = added.source
        announced = (
            f"{args.backfill} will be announced" if args.backfill else "none announced as new"
        )
        print(
            f"Added source {s.id}: {s.name} <{s.url}>"
            f" ({s.story_count} stories stored, {announced})."
        )
        for _name, error in added.report.failures:
            print(f"Its first read failed ({error}); it will be retried.")
        for _name, warning in added.report.warnings:
            print(f"Note: {warning}")
        return EXIT_OK
    if args.action == "list":
        sources = await service.list_sources()
        if args.json:
            print(json.dumps([source_json(s) for s in sources], indent=2))
            return EXIT_OK
        if not sources:
            print("No sources yet. Add one with: briefbot sources add URL")
            return EXIT_OK
        for s in sources:
            mark = {"ok": "ok", "new": "new", "retrying": "retrying", "failing": "FAILING"}[
                s.status
            ]
            print(f"{s.id:>4}  {mark:<8} {s.name}  <{s.url}>")
            detail = (
                f"      {s.story_count} stories · last success {_ago(s.last_success, now)}"
                f" · next poll {_ago(s.next_poll, now)}"
            )
            if s.consecutive_failures:
                n = s.consecutive_failures
                detail += f" · {n} failure{'s' if n > 1 else ''} in a row"
            print(detail)
            if s.last_error:
                print(f"      last error: {s.last_error}")
        return EXIT_OK
    if args.action == "remove":
        source = await service.remove_source(args.source)
        print(f"Removed source {source.id}: {source.name}.")
        return EXIT_OK
    if args.action == "import":
        try:
            data = Path(args.file).read_bytes()
        except OSError as exc:
            _err(f"cannot read {args.file}: {exc.strerror}")
            return EXIT_ERROR
        report = await service.import_opml(data)
        print(f"Imported {len(report.added)} sources; skipped {len(report.skipped)}.")
        for url, why in report.skipped:
            print(f"  skipped {url}: {why}")
        return EXIT_OK
    if args.action == "export":
        text = await service.export_opml()
        if args.output:
            Path(args.output).write_text(text, encoding="utf-8")
            print(f"Wrote {args.output}.")
        else:
            sys.stdout.write(text)
        return EXIT_OK
    raise AssertionError(args.action)  # pragma: no cover


async def cmd_worker(service, args) -> int:
    """Poll due sources until SIGTERM/SIGINT: finish the round in hand, give back the rest."""
    import signal

    from bot.news.worker import Worker

    cfg = service.config.worker
    worker = Worker.from_config(service)
    loop = asyncio.get_running_loop()
    task = asyncio.current_task()

    def on_signal() -> None:
        if worker.stopping and task is not None:  # a second signal: stop now
            task.cancel()
        worker.stop()

    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, on_signal)
    if service.store.engine == "sqlite":
        print(
            "briefbot worker: on SQLite, run one worker (and `briefbot run` with"
            " [discord] poll = false); several workers need PostgreSQL ([storage] url)",
            file=sys.stderr,
        )
    print(
        f"worker {worker.name} polling {service.store.path}"
        f" ({cfg.batch} sources at a time, lease {cfg.lease_seconds}s); SIGTERM stops it",
        file=sys.stderr,
        flush=True,
    )
    try:
        await worker.run()
    except asyncio.CancelledError:
        print(f"worker {worker.name}: stopped at once", file=sys.stderr)
        return EXIT_OK
    print(f"worker {worker.name}: stopped after {worker.rounds} rounds", file=sys.stderr)
    return EXIT_OK


async def cmd_backup(service, args) -> int:
    await service.store.backup(args.path)
    print(f"Backed up {service.store.path} to {args.path}.")
    return EXIT_OK


async def cmd_migrate_to(config: Config, url: str) -> int:
    """Copy the SQLite database into PostgreSQL with a progress bar, then print the counts."""
    from bot.news.store.copy import migrate_to

    bar = ProgressLine(total=0, label="Copying", stream=sys.stderr)

    def progress(table: str, done: int, total: int) -> None:
        bar.label = f"Copying {table:<15}"
        bar.update(done, total)

    try:
        report = await migrate_to(
            config.storage.path, url, password=config.storage.password, progress=progress
        )
    finally:
        bar.close()
    width = max(len(t.table) for t in report.tables)
    print(f"{'table':<{width}}  {'sqlite':>9}  {'postgresql':>10}")
    for t in report.tables:
        mark = "" if t.equal else "  <- differs"
        print(f"{t.table:<{width}}  {t.source:>9}  {t.target:>10}{mark}")
    if report.changed:
        _err(
            f"{report.source} changed during the copy ({', '.join(report.changed)}): stop"
            " whatever still writes to it, empty the PostgreSQL database and run migrate-to again"
        )
        return EXIT_ERROR
    if report.mismatched:
        _err(
            f"row counts differ in {', '.join(report.mismatched)}: do not switch to {report.target}"
        )
        return EXIT_ERROR
    print(
        f"Copied {report.rows} rows from {report.source} to {report.target}"
        f" in {report.seconds:.1f}s. To use it, set [storage] url (or BRIEFBOT_DATABASE_URL)."
    )
    return EXIT_OK


def cmd_check_config(config: Config) -> int:
    print(f"# effective configuration (from {config.origin}); secrets masked")
    print(dump_toml(to_display(config)), end="")
    return EXIT_OK


async def cmd_health(config: Config) -> int:
    """Exit 0 only if the database opens and the running bot's heartbeat is fresh."""
    from bot.news.store import Store

    path = config.storage.path
    if not config.storage.url and not Path(path).exists():
        _err(f"unhealthy: no database at {path} (has the bot ever run?)")
        return EXIT_ERROR
    store = await Store.open(config.storage.target, password=config.storage.password)
    try:
        value = await store.outbox.get_meta("heartbeat")
    finally:
        await store.close()
    if not value:
        _err("unhealthy: the bot has not written a heartbeat yet (is `briefbot run` running?)")
        return EXIT_ERROR
    age = datetime.now(UTC).timestamp() - int(value)
    limit = max(90.0, config.discord.heartbeat_interval.total_seconds() * 3)
    if age > limit:
        _err(f"unhealthy: the last heartbeat is {int(age)}s old (limit {int(limit)}s)")
        return EXIT_ERROR
    print(f"healthy: heartbeat {int(age)}s ago")
    return EXIT_OK


def _with_shards(config: Config, args) -> Config:
    """``run --shards N --shard-ids a,b`` over the config's [discord] shards (or
    ``$BRIEFBOT_SHARDS`` / ``$BRIEFBOT_SHARD_IDS``), checked together wherever each came from:
    shard ids without a shard count would make every process run every shard."""
    import dataclasses

    changes = {}
    if args.shards:
        changes["shards"] = args.shards
    if args.shard_ids:
        changes["shard_ids"] = args.shard_ids
    discord = dataclasses.replace(config.discord, **changes)
    if discord.shard_ids and not discord.shards:
        raise ConfigError(
            ["--shard-ids (discord.shard_ids): needs --shards (discord.shards), the shards in all"]
        )
    if discord.shard_ids and max(discord.shard_ids) >= discord.shards:
        raise ConfigError([f"--shard-ids: each must be below --shards ({discord.shards})"])
    return dataclasses.replace(config, discord=discord) if changes else config


SERVICE_COMMANDS: dict[str, Callable[..., Awaitable[int]]] = {
    "poll": cmd_poll,
    "digest": cmd_digest,
    "search": cmd_search,
    "stories": cmd_stories,
    "story": cmd_story,
    "topics": cmd_topics,
    "retag": cmd_retag,
    "sources": cmd_sources,
    "backup": cmd_backup,
    "worker": cmd_worker,
}


async def _with_service(config: Config, command, args) -> int:
    from bot.news.service import NewsService

    # a worker leaves [[sources]] to the bot (or `briefbot poll`): workers on other machines
    # may have another config, and syncing it would take the admin's sources away
    service = await NewsService.open(config, sync=command is not cmd_worker)
    try:
        return await command(service, args)
    finally:
        await service.close()


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command == "version":
        print(f"briefbot {__version__}")
        return EXIT_OK
    try:
        config = read_config(args.config)
    except ConfigError as exc:
        _err(str(exc))
        return EXIT_USAGE
    setup_logging("DEBUG" if args.verbose else config.logging.level)
    try:
        if args.command == "check-config":
            return cmd_check_config(config)
        if args.command == "health":
            return asyncio.run(cmd_health(config))
        if args.command == "migrate-to":
            return asyncio.run(cmd_migrate_to(config, args.url))
        if args.command == "run":
            from bot.app import run_bot

            return run_bot(_with_shards(config, args))
        return asyncio.run(_with_service(config, SERVICE_COMMANDS[args.command], args))
    except StoreError as exc:
        _err(str(exc))
        return EXIT_ERROR
    except NewsError as exc:
        _err(str(exc))
        return EXIT_ERROR
    except tomllib.TOMLDecodeError as exc:  # pragma: no cover - read_config wraps these
        _err(str(exc))
        return EXIT_USAGE
    except BrokenPipeError:  # `briefbot digest | head`: the reader left, nothing is wrong
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return EXIT_OK
    except KeyboardInterrupt:
        _err("interrupted")
        return 130
    except Exception as exc:  # a bug: one readable line, the traceback only with -v
        logging.getLogger("briefbot").debug("unexpected error", exc_info=True)
        _err(f"unexpected error: {exc.__class__.__name__}: {exc} (run with -v for details)")
        return EXIT_ERROR


if __name__ == "__main__":
    sys.exit(main())
