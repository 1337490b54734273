"""The command line's grammar: commands, options and their value checks."""

from __future__ import annotations

import argparse
from datetime import timedelta

from bot.config import parse_duration, parse_shard_ids


def _duration(text: str) -> timedelta:
    try:
        return parse_duration(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def _positive(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if value < 1:
        raise argparse.ArgumentTypeError("must be 1 or more")
    return value


def _non_negative(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if value < 0:
        raise argparse.ArgumentTypeError("must be 0 or more")
    return value


def _shard_ids(text: str) -> tuple[int, ...]:
    try:
        return parse_shard_ids(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def add_filter_options(p: argparse.ArgumentParser) -> None:
    """The filters of a subscription, on `briefbot digest` (see bot/news/filters.py)."""
    g = p.add_argument_group("filters (all optional, combined with AND)")
    g.add_argument(
        "--include",
        action="append",
        default=[],
        metavar="TERMS",
        help='only stories that mention one of these: words, "quoted phrases", re:patterns',
    )
    g.add_argument(
        "--exclude", action="append", default=[], metavar="TERMS", help="never these terms"
    )
    g.add_argument(
        "--source",
        action="append",
        default=[],
        metavar="S",
        help="only this source, by name or id (repeatable)",
    )
    g.add_argument(
        "--skip-source", action="append", default=[], metavar="S", help="never this source"
    )
    g.add_argument(
        "--min-outlets", type=_positive, metavar="N", help="only stories N or more outlets covered"
    )
    g.add_argument(
        "--max-stories", type=_positive, metavar="N", help="at most N lead stories, rest listed"
    )
    g.add_argument(
        "--preview",
        action="store_true",
        help="show what a subscription with these options would have posted in the last 7 days",
    )
    g.add_argument(
        "--schedule",
        default="daily 08:00",
        help="the schedule --preview replays (default: daily 08:00)",
    )
    g.add_argument("--timezone", default="UTC", help="the schedule's time zone (default: UTC)")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="briefbot",
        description=(
            "Turns news feeds into condensed, topic-grouped digests, in a terminal or on Discord."
        ),
    )
    parser.add_argument(
        "--config",
        metavar="PATH",
        help="config file (default: $BRIEFBOT_CONFIG, else ./config.toml)",
    )
    parser.add_argument("-v", "--verbose", action="store_true", help="log debug details to stderr")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)

    p = sub.add_parser("run", help="run the Discord bot (token from $DISCORD_TOKEN)")
    p.add_argument(
        "--shards",
        type=_positive,
        metavar="N",
        help="shards in all, across every bot process (default: [discord] shards)",
    )
    p.add_argument(
        "--shard-ids",
        type=_shard_ids,
        metavar="A,B",
        help="the shards this process runs, e.g. 0,1 (default: all)",
    )
    sub.add_parser(
        "worker",
        help="poll due sources forever beside other workers (PostgreSQL); stops on SIGTERM",
    )
    p = sub.add_parser("poll", help="fetch the sources that are due")
    p.add_argument("--all", action="store_true", help="fetch every source now, due or not")

    p = sub.add_parser("digest", help="print the condensed digest")
    p.add_argument(
        "--topic",
        action="append",
        default=[],
        metavar="T",
        help="a topic (repeatable); other words search",
    )
    p.add_argument(
        "--since",
        type=_duration,
        metavar="DURATION",
        help="window, e.g. 24h or 7d (default from config)",
    )
    p.add_argument(
        "--limit", type=_positive, metavar="N", help="lead stories (default from config)"
    )
    p.add_argument("--json", action="store_true", help="print JSON")
    p.add_argument("--no-poll", action="store_true", help="do not poll stale sources first")
    add_filter_options(p)

    p = sub.add_parser("search", help="full-text search of stored stories")
    p.add_argument("query", nargs="+")
    p.add_argument("--since", type=_duration, metavar="DURATION")
    p.add_argument("--limit", type=_positive, default=10, metavar="N")
    p.add_argument("--json", action="store_true")

    p = sub.add_parser("stories", help="list stored stories, newest first")
    p.add_argument("--topic", metavar="T")
    p.add_argument("--source", metavar="S", help="source id, URL or name")
    p.add_argument("--since", type=_duration, default=timedelta(days=7), metavar="DURATION")
    p.add_argument("--limit", type=_positive, default=20, metavar="N")
    p.add_argument("--json", action="store_true")

    p = sub.add_parser("topics", help="topics with story counts over the last 7 days")
    p.add_argument("--json", action="store_true")
    sub.add_parser("retag", help="tag every stored story again with the current topics")

    sources = sub.add_parser("sources", help="add, list, remove, import or export sources")
    ss = sources.add_subparsers(dest="action", metavar="ACTION", required=True)
    p = ss.add_parser("add", help="add a feed (or a page that names one)")
    p.add_argument("url")
    p.add_argument("--name")
    p.add_argument("--interval", type=_duration, metavar="DURATION")
    p.add_argument(
        "--backfill",
        type=_non_negative,
        default=0,
        metavar="N",
        help="how many of the newest stories count as new (default 0: no flood)",
    )
    p.add_argument("--full-text", action="store_true", help="fetch article pages for their text")
    p = ss.add_parser("list", help="sources with their health")
    p.add_argument("--json", action="store_true")
    p = ss.add_parser("remove", help="remove a source (id, URL or name)")
    p.add_argument("source")
    p = ss.add_parser("import", help="add the feeds of an OPML file")
    p.add_argument("file")
    p = ss.add_parser("export", help="print the sources as OPML")
    p.add_argument("--output", "-o", metavar="FILE")

    sub.add_parser("check-config", help="validate the config and print it, secrets masked")
    sub.add_parser("health", help="exit 0 if the running bot's heartbeat is fresh")
    p = sub.add_parser("backup", help="a consistent copy of the database, safe while the bot runs")
    p.add_argument("path")
    sub.add_parser("version", help="print the version")
    return parser
