"""Typed, frozen configuration: TOML file + environment, validated in one pass.

Where the file comes from: ``--config PATH``, else ``$BRIEFBOT_CONFIG``, else ``./config.toml``
when present, else built-in defaults (a first run needs no file). Unknown keys and bad values
are errors, and one :class:`~bot.news.errors.ConfigError` lists every problem with its key path.
"""

from __future__ import annotations

import dataclasses
import os
import re
import tomllib
import types
import typing
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

from bot.news.errors import ConfigError
from bot.news.llm import LLMSettings

_DURATION = re.compile(r"^\s*(\d+)\s*(s|m|h|d|w)\s*$")
_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 7 * 86400}


def parse_duration(text: str) -> timedelta:
    """``"15m"`` -> 15 minutes. Units: s, m, h, d, w. Raises ValueError with a readable message."""
    match = _DURATION.match(str(text))
    if not match:
        raise ValueError(f"{text!r} is not a duration like 15m, 2h or 7d")
    return timedelta(seconds=int(match.group(1)) * _UNITS[match.group(2)])


def format_duration(value: timedelta) -> str:
    """The inverse of :func:`parse_duration`, using the largest exact unit."""
    seconds = int(value.total_seconds())
    for unit in ("w", "d", "h", "m"):
        if seconds and seconds % _UNITS[unit] == 0:
            return f"{seconds // _UNITS[unit]}{unit}"
    return f"{seconds}s"


class Duration(timedelta):
    """Marker type: a timedelta written in the config as ``15m`` / ``2h`` / ``7d``."""


class Secret(str):
    """Marker type: a value masked when the effective config is printed."""


class DatabaseUrl(str):
    """Marker type: a database URL, printed without its password."""


@dataclass(frozen=True)
class StorageConfig:
    #: SQLite database file; its folder is created on first use
    path: str = "data/briefbot.sqlite3"
    #: a PostgreSQL URL (postgresql://user:pass@host:5432/briefbot); when set, ``path`` is
    #: ignored and no SQLite file is written
    url: DatabaseUrl = DatabaseUrl("")
    #: stories older than this many days are pruned (their keys stay, so they never come back)
    retention_days: int = 90

    @property
    def target(self) -> str:
        """What the store opens: the PostgreSQL URL when one is set, else the SQLite path."""
        return str(self.url) or self.path

    @property
    def password(self) -> str | None:
        """The PostgreSQL password from ``$BRIEFBOT_DATABASE_PASSWORD`` (if not in the URL)."""
        return os.environ.get("BRIEFBOT_DATABASE_PASSWORD") or None


@dataclass(frozen=True)
class WorkerConfig:
    #: how long a worker's claim on a source lasts; a vanished worker's sources are free again
    #: once it runs out (the worker renews it while it works)
    lease_seconds: int = 120
    #: how many sources one worker claims and polls at once
    batch: int = 32
    #: how long an idle worker waits before looking for due sources again
    idle_seconds: float = 5.0


@dataclass(frozen=True)
class FetchConfig:
    timeout_s: float = 20.0
    connect_timeout_s: float = 10.0
    max_bytes: int = 10 * 1024 * 1024
    concurrency: int = 16
    per_host_concurrency: int = 2
    user_agent: str = ""  # empty: "briefbot/<version> (+project URL)"
    allow_private_networks: bool = False
    allowed_hosts: tuple[str, ...] = ()
    default_interval: Duration = Duration(minutes=30)
    #: never poll a source less often than this, whatever the server's hints or backoff say
    max_interval: Duration = Duration(hours=24)


@dataclass(frozen=True)
class SourceConfig:
    url: str
    name: str = ""
    interval: Duration | None = None
    #: how many of the newest stories count as new on the first poll (0: none, no flood)
    backfill: int = 0
    #: fetch each article page and extract its text (slower; for feeds with only a teaser)
    full_text: bool = False


@dataclass(frozen=True)
class TopicConfig:
    name: str
    #: None: the name (or, extending a default topic, its own title and description)
    title: str | None = None
    description: str | None = None
    phrases: tuple[str, ...] = ()
    exclude: tuple[str, ...] = ()


@dataclass(frozen=True)
class TaxonomyConfig:
    #: "default" (the built-in AI-news topics), "extend" (default plus these),
    #: "replace" (only these)
    mode: str = "default"
    topics: tuple[TopicConfig, ...] = ()
    #: use the bundled word-embedding model alongside decisive phrases
    embeddings: bool = True


@dataclass(frozen=True)
class DigestConfig:
    #: the window a digest covers when none is given
    default_since: Duration = Duration(hours=24)
    #: lead stories per digest (the rest become "More stories" one-liners)
    limit: int = 8
    title: str = "News briefing"


#: the [llm] section is the core's own settings record
LLMConfig = LLMSettings


@dataclass(frozen=True)
class DiscordConfig:
    #: the environment variable holding the bot token
    token_env: str = "DISCORD_TOKEN"
    api_base: str = "https://discord.com/api/v10"
    gateway_url: str = "wss://gateway.discord.gg/"
    #: guilds to sync commands to directly (they appear at once there)
    guild_ids: tuple[int, ...] = ()
    #: a channel for operational notices (failing sources, paused subscriptions)
    log_channel_id: int = 0
    #: how late a missed scheduled digest may be and still be sent on start
    missed_digest_grace: Duration = Duration(hours=6)
    #: where the running bot writes its heartbeat, checked by `briefbot health`
    heartbeat_interval: Duration = Duration(seconds=30)
    #: poll sources in the bot process; false leaves polling to `briefbot worker` processes
    #: (``$BRIEFBOT_DISCORD_POLL``)
    poll: bool = True
    #: shards in all (0: as Discord recommends) and the ones this process runs (empty: all);
    #: ``briefbot run --shards N --shard-ids a,b`` or ``$BRIEFBOT_SHARDS`` / ``$BRIEFBOT_SHARD_IDS``
    shards: int = 0
    shard_ids: tuple[int, ...] = ()


@dataclass(frozen=True)
class SubscriptionConfig:
    """A digest posted through a webhook, configured by the admin (not from Discord)."""

    webhook_url: Secret
    schedule: str = "daily 08:00"
    timezone: str = "UTC"
    topics: tuple[str, ...] = ()
    #: filters (bot.news.filters): each list entry is one word, phrase or re:pattern
    include: tuple[str, ...] = ()
    exclude: tuple[str, ...] = ()
    #: source names or ids; "-Name" means never that source
    sources: tuple[str, ...] = ()
    #: only stories covered by at least this many outlets (0: any)
    min_outlets: int = 0
    #: at most this many lead stories (0: digest.limit)
    max_stories: int = 0


@dataclass(frozen=True)
class LoggingConfig:
    level: str = "INFO"


@dataclass(frozen=True)
class Config:
    storage: StorageConfig = field(default_factory=StorageConfig)
    worker: WorkerConfig = field(default_factory=WorkerConfig)
    fetch: FetchConfig = field(default_factory=FetchConfig)
    sources: tuple[SourceConfig, ...] = ()
    taxonomy: TaxonomyConfig = field(default_factory=TaxonomyConfig)
    digest: DigestConfig = field(default_factory=DigestConfig)
    llm: LLMConfig = field(default_factory=LLMConfig)
    discord: DiscordConfig = field(default_factory=DiscordConfig)
    subscriptions: tuple[SubscriptionConfig, ...] = ()
    logging: LoggingConfig = field(default_factory=LoggingConfig)
    #: when no [[sources]] are listed: use the built-in AI-news sources (true) or none (false)
    default_sources: bool = True
    #: where the config came from ("built-in defaults" or a path), for messages
    origin: str = "built-in defaults"


# ----------------------------------------------------------------------------- loading

_CHOICES: dict[tuple[str, str], tuple[str, ...]] = {
    ("TaxonomyConfig", "mode"): ("default", "extend", "replace"),
    ("LoggingConfig", "level"): ("DEBUG", "INFO", "WARNING", "ERROR"),
}
_POSITIVE = {
    "timeout_s",
    "connect_timeout_s",
    "max_bytes",
    "concurrency",
    "per_host_concurrency",
    "retention_days",
    "limit",
    "max_per_poll",
    "lease_seconds",
    "batch",
    "idle_seconds",
}


def _convert(value: Any, kind: Any, path: str, problems: list[str]) -> Any:
    origin = typing.get_origin(kind)
    if origin in (typing.Union, types.UnionType):
        args = [a for a in typing.get_args(kind) if a is not type(None)]
        return _convert(value, args[0], path, problems)
    if origin is tuple:
        (item,) = typing.get_args(kind)[:1]
        if not isinstance(value, list):
            problems.append(f"{path}: expected a list, got {type(value).__name__}")
            return ()
        return tuple(_convert(v, item, f"{path}[{i}]", problems) for i, v in enumerate(value))
    if dataclasses.is_dataclass(kind):
        if not isinstance(value, dict):
            problems.append(f"{path}: expected a table, got {type(value).__name__}")
            return None
        return _build(kind, value, path, problems)
    if kind is Duration:
        try:
            return Duration(seconds=parse_duration(value).total_seconds())
        except ValueError as exc:
            problems.append(f"{path}: {exc}")
            return None
    if kind is bool:
        if not isinstance(value, bool):
            problems.append(f"{path}: expected true or false, got {value!r}")
        return value
    if kind is int:
        if isinstance(value, bool) or not isinstance(value, int):
            problems.append(f"{path}: expected a whole number, got {value!r}")
        return value
    if kind is float:
        if isinstance(value, bool) or not isinstance(value, int | float):
            problems.append(f"{path}: expected a number, got {value!r}")
            return value
        return float(value)
    if kind in (str, Secret, DatabaseUrl):
        if not isinstance(value, str):
            problems.append(f"{path}: expected a string, got {value!r}")
            return value
        return kind(value)
    raise TypeError(f"unsupported config type {kind!r}")  # pragma: no cover - programming error


def _build(cls: type, data: dict[str, Any], path: str, problems: list[str]) -> Any:
    hints = typing.get_type_hints(cls)
    fields = {f.name: f for f in dataclasses.fields(cls)}
    values: dict[str, Any] = {}
    for key, raw in data.items():
        where = f"{path}.{key}" if path else key
        if key not in fields or key == "origin":
            known = ", ".join(sorted(k for k in fields if k != "origin"))
            problems.append(f"{where}: unknown key (known keys here: {known})")
            continue
        value = _convert(raw, hints[key], where, problems)
        choices = _CHOICES.get((cls.__name__, key))
        if choices and value not in choices:
            problems.append(f"{where}: must be one of {', '.join(choices)}, got {raw!r}")
        if key in _POSITIVE and isinstance(value, int | float) and value <= 0:
            problems.append(f"{where}: must be greater than 0, got {raw!r}")
        if (
            key in ("backfill", "min_outlets", "max_stories")
            and isinstance(value, int)
            and value < 0
        ):
            problems.append(f"{where}: must be 0 or more, got {raw!r}")
        values[key] = value
    for name, f in fields.items():
        missing = f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING
        if missing and name not in data:
            problems.append(f"{path}.{name}: required" if path else f"{name}: required")
    try:
        return cls(**values)
    except TypeError:
        return None


def _check_semantics(config: Config, problems: list[str]) -> None:
    from bot.news.urls import is_http_url

    url = str(config.storage.url) if config.storage is not None else ""
    if url and not re.match(r"postgres(ql)?://[^/\s]+", url):
        problems.append(
            "storage.url: must be a PostgreSQL URL such as"
            " postgresql://user:password@host:5432/briefbot"
        )
    d = config.discord
    if d is not None and d.shards and any(i >= d.shards for i in d.shard_ids):
        problems.append(f"discord.shard_ids: each must be below discord.shards ({d.shards})")
    seen: set[str] = set()
    for i, source in enumerate(config.sources):
        if source is None:
            continue
        if not is_http_url(source.url):
            problems.append(f"sources[{i}].url: {source.url!r} is not an http(s) URL")
        if source.url in seen:
            problems.append(f"sources[{i}].url: {source.url} is listed twice")
        seen.add(source.url)
    for i, sub in enumerate(config.subscriptions):
        if sub is None:
            continue
        if not str(sub.webhook_url).startswith("https://"):
            problems.append(f"subscriptions[{i}].webhook_url: must be an https:// webhook URL")
        from bot.news.schedules import ScheduleError, parse_schedule

        try:
            parse_schedule(sub.schedule, sub.timezone)
        except ScheduleError as exc:
            problems.append(f"subscriptions[{i}]: {exc}")
        from bot.news.filtering import config_filters
        from bot.news.filters import FilterError

        try:
            config_filters(sub)
        except FilterError as exc:
            problems.append(f"subscriptions[{i}]: {exc}")
    for i, topic in enumerate(config.taxonomy.topics):
        if topic is not None and not re.fullmatch(r"[a-z0-9][a-z0-9-]{0,31}", topic.name):
            problems.append(
                f"taxonomy.topics[{i}].name: {topic.name!r} must be lower-case letters, digits, '-'"
            )
    if config.taxonomy.topics and all(t is not None for t in config.taxonomy.topics):
        # the taxonomy's own rules, reported here with their key paths
        from bot.news.taxonomy import TaxonomyError, taxonomy_from_config

        try:
            taxonomy_from_config(
                [dataclasses.asdict(t) for t in config.taxonomy.topics],
                extend_default=config.taxonomy.mode != "replace",
            )
        except TaxonomyError as exc:
            problems.extend(f"taxonomy.{p}" for p in exc.problems)
    if config.taxonomy.mode == "replace" and not config.taxonomy.topics:
        problems.append("taxonomy.mode: 'replace' needs at least one [[taxonomy.topics]] entry")


def load_config(data: dict[str, Any], *, origin: str = "built-in defaults") -> Config:
    """Build a :class:`Config` from parsed TOML, raising ConfigError listing every problem."""
    problems: list[str] = []
    data = dict(data)
    if "origin" in data:
        problems.append("origin: unknown key")
        data.pop("origin")
    config = _build(Config, data, "", problems)
    if config is not None:
        _check_semantics(config, problems)
    if problems:
        raise ConfigError(problems)
    assert config is not None
    return dataclasses.replace(config, origin=origin)


def find_config_file(explicit: str | None) -> Path | None:
    """``--config`` beats ``$BRIEFBOT_CONFIG`` beats ``./config.toml``; None means defaults.

    The first two must exist. The last is used only when present; the Docker image points it
    at ``/config/config.toml`` with ``$BRIEFBOT_DEFAULT_CONFIG`` (read when it is mounted).
    """
    if explicit:
        return Path(explicit)
    env = os.environ.get("BRIEFBOT_CONFIG")
    if env:
        return Path(env)
    local = Path(os.environ.get("BRIEFBOT_DEFAULT_CONFIG") or "config.toml")
    return local if local.is_file() else None


def read_config(explicit: str | None = None) -> Config:
    """Find, read and validate the configuration, applying environment overrides."""
    path = find_config_file(explicit)
    if path is None:
        config = load_config({})
    else:
        try:
            text = path.read_text(encoding="utf-8")
        except FileNotFoundError:
            raise ConfigError([f"{path}: no such file"]) from None
        except OSError as exc:
            raise ConfigError([f"{path}: cannot be read ({exc.strerror})"]) from None
        try:
            data = tomllib.loads(text)
        except tomllib.TOMLDecodeError as exc:
            raise ConfigError([f"{path}: not valid TOML ({exc})"]) from None
        config = load_config(data, origin=str(path))
    return apply_environment(config)


def apply_environment(config: Config) -> Config:
    """Environment overrides for deployment: database path and Discord endpoints."""
    env = os.environ
    if env.get("BRIEFBOT_DATABASE"):
        config = dataclasses.replace(
            config, storage=dataclasses.replace(config.storage, path=env["BRIEFBOT_DATABASE"])
        )
    if env.get("BRIEFBOT_DATABASE_URL"):
        url = DatabaseUrl(env["BRIEFBOT_DATABASE_URL"])
        config = dataclasses.replace(config, storage=dataclasses.replace(config.storage, url=url))
    discord_changes: dict[str, Any] = {}
    if env.get("BRIEFBOT_DISCORD_POLL"):
        discord_changes["poll"] = env["BRIEFBOT_DISCORD_POLL"].strip().lower() not in (
            "0",
            "false",
            "no",
            "off",
        )
    if env.get("BRIEFBOT_SHARDS", "").strip().isdigit():
        discord_changes["shards"] = int(env["BRIEFBOT_SHARDS"])
    if env.get("BRIEFBOT_SHARD_IDS"):
        try:
            discord_changes["shard_ids"] = parse_shard_ids(env["BRIEFBOT_SHARD_IDS"])
        except ValueError as exc:
            raise ConfigError([f"BRIEFBOT_SHARD_IDS: {exc}"]) from None
    if env.get("DISCORD_API_BASE"):
        discord_changes["api_base"] = env["DISCORD_API_BASE"]
    if env.get("DISCORD_GATEWAY_URL"):
        discord_changes["gateway_url"] = env["DISCORD_GATEWAY_URL"]
    if discord_changes:
        config = dataclasses.replace(
            config, discord=dataclasses.replace(config.discord, **discord_changes)
        )
    return config


def parse_shard_ids(text: str) -> tuple[int, ...]:
    """'0,2' -> (0, 2); raises ValueError with a sentence for anything else."""
    try:
        ids = tuple(int(p) for p in text.replace(" ", "").split(",") if p)
    except ValueError:
        raise ValueError(f"shard ids must be numbers separated by commas, got {text!r}") from None
    if any(i < 0 for i in ids):
        raise ValueError(f"shard ids must be 0 or more, got {text!r}")
    return ids


def _mask_url(url: str) -> str:
    # webhook URLs carry their token in the path: keep the id, hide the token
    parts = url.rstrip("/").split("/")
    return "/".join([*parts[:-1], "****"]) if len(parts) > 3 else "****"


def to_display(value: Any) -> Any:
    """The effective config as plain TOML-able data, secrets masked."""
    if isinstance(value, Secret):
        return _mask_url(value)
    if isinstance(value, DatabaseUrl):
        from bot.news.store.db import masked

        return masked(value)
    if isinstance(value, timedelta):
        return format_duration(value)
    if dataclasses.is_dataclass(value):
        return {
            f.name: to_display(getattr(value, f.name))
            for f in dataclasses.fields(value)
            if getattr(value, f.name) is not None and f.name != "origin"
        }
    if isinstance(value, tuple | list):
        return [to_display(v) for v in value]
    return value


def dump_toml(data: dict[str, Any]) -> str:
    """A small TOML writer for :func:`to_display` output (tables, arrays of tables, scalars)."""
    lines: list[str] = []

    def scalar(v: Any) -> str:
        if isinstance(v, bool):
            return "true" if v else "false"
        if isinstance(v, int | float):
            return repr(v)
        if isinstance(v, list):
            return "[" + ", ".join(scalar(x) for x in v) + "]"
        return '"' + str(v).replace("\\", "\\\\").replace('"', '\\"') + '"'

    def table(prefix: str, body: dict[str, Any], header: str | None) -> None:
        if header:
            lines.append("")
            lines.append(header)
        nested = []
        for k, v in body.items():
            if isinstance(v, dict):
                nested.append((k, v, False))
            elif isinstance(v, list) and v and all(isinstance(x, dict) for x in v):
                nested.append((k, v, True))
            else:
                lines.append(f"{k} = {scalar(v)}")
        for k, v, is_array in nested:
            name = f"{prefix}{k}"
            if is_array:
                for item in v:
                    table(f"{name}.", item, f"[[{name}]]")
            else:
                table(f"{name}.", v, f"[{name}]")

    table("", data, None)
    return "\n".join(lines).strip() + "\n"
