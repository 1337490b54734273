"""The Docker image, built and run the way a self-hoster uses it.

There is no Docker engine on the CI machines: ``../shared/tools/container-check`` (beside the
repository) builds the Dockerfile with podman and runs the image's entry point as its USER, with
``/data`` and ``/config/config.toml`` bind-mounted, on the host network, so a container reaches
the loopback feed server and Discord stand-in that these tests start in a background thread.

The image is built once per session (module fixture): minutes on a cold machine, seconds when
podman's layer cache is warm. Everything here is skipped, with the reason, when the tool is
missing, we are not root, or podman cannot work on the machine; set BRIEFBOT_REQUIRE_CONTAINER=1
to make those a failure instead (for a CI job that must not pass silently).
"""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import signal
import subprocess
import threading
import time
from collections.abc import Coroutine, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from pathlib import Path
from typing import Any, TypeVar

import pytest

from tests.feedserver import FeedServer

REPO = Path(__file__).resolve().parents[1]
TOOL = REPO.parent / "shared" / "tools" / "container-check"
T = TypeVar("T")

pytestmark = [pytest.mark.container, pytest.mark.timeout(900)]

#: lines of the tool's own output that mean "this machine cannot run podman", not "the image is bad"
ENVIRONMENT_FAILURES = (
    "container-check: needs root",
    "container-check: debootstrap failed",
    "container-check: base build failed",
    "container-check: could not mount the container",
)

STORIES = (
    (
        "Open-weights language model tops reasoning benchmark",
        "The lab released the weights of its new language model under a permissive licence.",
    ),
    (
        "Chip maker unveils accelerator for AI inference",
        "The accelerator triples inference throughput for large language models.",
    ),
)


# ----------------------------------------------------------------------------- plumbing


def _unavailable(reason: str) -> None:
    if os.environ.get("BRIEFBOT_REQUIRE_CONTAINER"):
        pytest.fail(f"container tests required but cannot run: {reason}")
    pytest.skip(reason)


def _tail(text: str, lines: int = 40) -> str:
    return "\n".join(text.splitlines()[-lines:])


@dataclass(frozen=True)
class Image:
    """The built image, and ways to start containers from it."""

    uid: int
    gid: int
    config: dict[str, Any]  # what `container-check inspect` prints, key -> JSON value

    @staticmethod
    def _options(data: Path | None, config: Path | None, env: dict[str, str]) -> list[str]:
        options: list[str] = []
        if data is not None:
            options += ["--data", str(data)]
        if config is not None:
            options += ["--config", str(config)]
        for key, value in env.items():
            options += ["--env", f"{key}={value}"]
        return options

    def run(
        self,
        *args: str,
        data: Path | None = None,
        config: Path | None = None,
        env: dict[str, str] | None = None,
        timeout: float = 120,
    ) -> subprocess.CompletedProcess[str]:
        """`docker run IMAGE ARGS...`: the entry point with ARGS in place of CMD."""
        command = [str(TOOL), "run", *self._options(data, config, env or {}), "--", *args]
        return subprocess.run(command, capture_output=True, text=True, timeout=timeout, check=False)

    def health(self, data: Path, config: Path | None = None) -> subprocess.CompletedProcess[str]:
        """The image's HEALTHCHECK command, as Docker runs it inside the container."""
        command = [str(TOOL), "health", *self._options(data, config, {})]
        return subprocess.run(command, capture_output=True, text=True, timeout=60, check=False)

    def start(
        self, *args: str, data: Path, config: Path, env: dict[str, str], log: Path
    ) -> subprocess.Popen[bytes]:
        """A long-running container (`docker run -d`); its output goes to `log`."""
        command = [str(TOOL), "run", *self._options(data, config, env), "--", *args]
        with log.open("wb") as out:
            return subprocess.Popen(command, stdout=out, stderr=subprocess.STDOUT)


def _inspect() -> dict[str, Any]:
    proc = subprocess.run([str(TOOL), "inspect"], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    config = {}
    for line in proc.stdout.splitlines():
        key, _, value = line.partition(": ")
        config[key] = json.loads(value)
    return config


@pytest.fixture(scope="module")
def image() -> Image:
    """Build the Dockerfile once for this module; skip when this machine cannot run podman."""
    if not TOOL.is_file():
        _unavailable(f"container-check not found at {TOOL} (shared/tools beside the repository)")
    if os.geteuid() != 0:
        _unavailable("container-check needs root")
    if shutil.which("podman") is None and shutil.which("apt-get") is None:
        _unavailable("podman is not installed and apt-get is not there to install it")
    proc = subprocess.run(
        [str(TOOL), "build", str(REPO)], capture_output=True, text=True, timeout=840, check=False
    )
    output = proc.stdout + proc.stderr
    if proc.returncode != 0:
        if shutil.which("podman") is None:
            _unavailable(f"podman could not be installed:\n{_tail(output, 10)}")
        for marker in ENVIRONMENT_FAILURES:
            if marker in output:
                _unavailable(f"podman cannot work on this machine ({marker}):\n{_tail(output, 10)}")
        pytest.fail(f"the image did not build:\n{_tail(output)}")
    config = _inspect()
    uid, _, gid = (config["User"] or "").partition(":")
    assert uid.isdigit() and gid.isdigit(), f"USER should be numeric uid:gid, is {config['User']!r}"
    return Image(int(uid), int(gid), config)


class LoopThread:
    """An event loop in a thread: servers keep answering while a test waits on a container."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self._thread.start()

    def call(self, coro: Coroutine[Any, Any, T], timeout: float = 30) -> T:
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout)

    def close(self) -> None:
        self.loop.call_soon_threadsafe(self.loop.stop)
        self._thread.join(5)
        self.loop.close()


@pytest.fixture(scope="module")
def loop_thread() -> Iterator[LoopThread]:
    thread = LoopThread()
    yield thread
    thread.close()


def _rss(base: str, now: datetime) -> bytes:
    items = "".join(
        f"<item><title>{title}</title><link>{base}/articles/{n}.html</link>"
        f"<guid>{base}/articles/{n}.html</guid><description>{lead}</description>"
        f"<pubDate>{format_datetime(now - timedelta(minutes=10 * (n + 1)))}</pubDate></item>"
        for n, (title, lead) in enumerate(STORIES)
    )
    return (
        '<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel>'
        f"<title>Loopback Wire</title><link>{base}/</link><description>AI news</description>"
        f"{items}</channel></rss>"
    ).encode()


def _article(title: str, lead: str) -> bytes:
    body = " ".join(
        [
            lead,
            "Researchers said the results held across every evaluation they ran this week.",
            "Independent engineers were able to reproduce the numbers on their own hardware.",
            "The company plans to publish a detailed technical report next month.",
        ]
    )
    return (
        f"<!doctype html><html><head><title>{title}</title></head><body>"
        f"<article><h1>{title}</h1><p>{body}</p><p>{body}</p></article></body></html>"
    ).encode()


@pytest.fixture(scope="module")
def feeds(loop_thread: LoopThread) -> Iterator[FeedServer]:
    """One loopback feed host with a fresh feed and its article pages (for full_text)."""
    server = FeedServer()
    loop_thread.call(server.start())
    base = server.url("").rstrip("/")
    server.add("/feed.xml", _rss(base, datetime.now(UTC)), content_type="application/rss+xml")
    for n, (title, lead) in enumerate(STORIES):
        server.add(f"/articles/{n}.html", _article(title, lead), content_type="text/html")
    yield server
    loop_thread.call(server.stop())


def _write_config(path: Path, feeds: FeedServer, extra: str = "") -> Path:
    path.write_text(
        f"""default_sources = false

[fetch]
allowed_hosts = ["127.0.0.1"]
timeout_s = 10.0

[[sources]]
url = "{feeds.url("/feed.xml")}"
name = "Loopback Wire"
full_text = true
{extra}""",
        encoding="utf-8",
    )
    return path


def _data_dir(image: Image, path: Path) -> Path:
    """A host folder for /data, owned by the image's user as a named volume would be."""
    path.mkdir(parents=True, exist_ok=True)
    os.chown(path, image.uid, image.gid)
    return path


@dataclass(frozen=True)
class Polled:
    data: Path
    config: Path
    result: subprocess.CompletedProcess[str]


@pytest.fixture(scope="module")
def polled(image: Image, feeds: FeedServer, tmp_path_factory: pytest.TempPathFactory) -> Polled:
    """`briefbot poll --all` once in a container, into a mounted /data."""
    root = tmp_path_factory.mktemp("volume")
    data = _data_dir(image, root / "data")
    config = _write_config(root / "config.toml", feeds)
    return Polled(data, config, image.run("poll", "--all", data=data, config=config))


# ----------------------------------------------------------------------------- the image


def test_image_runs_as_a_non_root_user_with_data_volume_and_health_check(image: Image) -> None:
    config = image.config
    assert image.uid != 0 and image.gid != 0
    assert config["Entrypoint"] == ["briefbot"]
    assert config["Cmd"] == ["run"]
    assert "/data" in (config["Volumes"] or {})
    assert "BRIEFBOT_DATABASE=/data/briefbot.sqlite3" in config["Env"]
    assert config["Healthcheck"]["Test"] == ["CMD", "briefbot", "health"]
    names = [entry.partition("=")[0] for entry in config["Env"]]
    assert not [n for n in names if any(s in n for s in ("TOKEN", "SECRET", "PASSWORD"))]


def test_help_and_version_run_in_the_image(image: Image) -> None:
    help_ = image.run("--help")
    assert help_.returncode == 0, help_.stderr
    assert "usage: briefbot" in help_.stdout
    assert "check-config" in help_.stdout
    version = image.run("version")
    assert version.returncode == 0 and version.stdout.startswith("briefbot ")


def test_check_config_accepts_the_example_and_keeps_the_database_in_data(image: Image) -> None:
    example = image.run("check-config", config=REPO / "config.example.toml")
    assert example.returncode == 0, example.stderr
    assert 'path = "/data/briefbot.sqlite3"' in example.stdout
    assert "built-in defaults" not in example.stdout.splitlines()[0]


def test_mounted_config_is_read_and_is_optional(image: Image, tmp_path: Path) -> None:
    mine = tmp_path / "config.toml"
    mine.write_text('[digest]\ntitle = "Morning wire"\n', encoding="utf-8")
    mounted = image.run("check-config", config=mine)
    assert mounted.returncode == 0, mounted.stderr
    assert 'title = "Morning wire"' in mounted.stdout
    # no file mounted: the built-in defaults, not an error
    bare = image.run("check-config")
    assert bare.returncode == 0, bare.stderr
    assert "built-in defaults" in bare.stdout.splitlines()[0]


def test_bad_mounted_config_is_refused_with_the_key_named(image: Image, tmp_path: Path) -> None:
    bad = tmp_path / "config.toml"
    bad.write_text('[digest]\nlimit = "many"\n', encoding="utf-8")
    result = image.run("check-config", config=bad)
    assert result.returncode == 2
    assert "digest.limit" in result.stderr


def test_health_fails_before_the_bot_ever_ran(image: Image, tmp_path: Path) -> None:
    result = image.health(_data_dir(image, tmp_path / "data"))
    assert result.returncode != 0
    assert "unhealthy" in result.stderr


# ----------------------------------------------------------------------------- the data volume


def test_poll_in_a_container_stores_stories_in_the_data_volume(
    image: Image, feeds: FeedServer, polled: Polled
) -> None:
    result = polled.result
    assert result.returncode == 0, f"{result.stdout}\n{result.stderr}"
    assert "1 ok" in result.stdout and "0 failed" in result.stdout, result.stdout
    assert feeds.hits("/feed.xml") >= 1
    # full_text = true: the article pages were fetched and extracted (trafilatura in the image)
    assert all(feeds.hits(f"/articles/{n}.html") >= 1 for n in range(len(STORIES)))
    database = polled.data / "briefbot.sqlite3"
    assert database.is_file()
    owner = database.stat()
    assert (owner.st_uid, owner.st_gid) == (image.uid, image.gid)


def test_a_new_container_on_the_same_volume_keeps_sources_and_stories(
    image: Image, polled: Polled
) -> None:
    assert polled.result.returncode == 0, polled.result.stderr
    listed = image.run("sources", "list", "--json", data=polled.data, config=polled.config)
    assert listed.returncode == 0, listed.stderr
    sources = json.loads(listed.stdout)
    assert [(s["name"], s["status"], s["stories"]) for s in sources] == [
        ("Loopback Wire", "ok", len(STORIES))
    ]
    stories = image.run("stories", "--json", data=polled.data, config=polled.config)
    assert stories.returncode == 0, stories.stderr
    titles = {s["title"] for s in json.loads(stories.stdout)}
    assert titles == {title for title, _ in STORIES}
    # what was seen stays seen: polling again finds nothing new
    again = image.run("poll", "--all", data=polled.data, config=polled.config)
    assert again.returncode == 0, again.stderr
    assert "0 new stories" in again.stdout, again.stdout


# ----------------------------------------------------------------------------- the running bot


def _descendants(pid: int) -> list[int]:
    """Processes started (directly or not) by `pid`, parents first."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        ppid = int(stat.rpartition(")")[2].split()[1])
        children.setdefault(ppid, []).append(int(entry.name))
    found, todo = [], [pid]
    while todo:
        for child in children.get(todo.pop(0), []):
            found.append(child)
            todo.append(child)
    return found


def _cmdline(pid: int) -> bytes:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:  # it ended meanwhile
        return b""


def _stop(container: subprocess.Popen[bytes], timeout: float = 30) -> None:
    """`docker stop`: SIGTERM to the bot itself, then wait for the tool to clean up its mounts."""
    if container.poll() is not None:
        return
    bots = [pid for pid in _descendants(container.pid) if b"briefbot" in _cmdline(pid)]
    if not bots:  # the bot never started: stop the tool we started
        container.terminate()
        container.wait(timeout)
        return
    os.kill(bots[-1], signal.SIGTERM)
    try:
        container.wait(timeout)
    except subprocess.TimeoutExpired:
        os.kill(bots[-1], signal.SIGKILL)
        container.wait(timeout)


def _text_of(message: dict[str, Any]) -> str:
    return json.dumps([message.get("content"), message.get("embeds")], ensure_ascii=False)


def _names(commands: Sequence[dict[str, Any]]) -> set[str]:
    return {c["name"] for c in commands}


def test_bot_in_a_container_answers_digest_and_reports_healthy(
    image: Image, feeds: FeedServer, polled: Polled, loop_thread: LoopThread, tmp_path: Path
) -> None:
    if not (REPO / "bot" / "app.py").is_file():
        pytest.skip("bot/app.py (run_bot, behind `briefbot run`) is not written yet")
    from tests.discord_standin import DiscordStandIn

    assert polled.result.returncode == 0, polled.result.stderr
    standin = DiscordStandIn()
    loop_thread.call(standin.start())
    config = _write_config(
        tmp_path / "config.toml",
        feeds,
        extra=f'\n[discord]\nguild_ids = [{standin.guild_id}]\nheartbeat_interval = "10s"\n',
    )
    env = {
        "DISCORD_TOKEN": standin.token,
        "DISCORD_API_BASE": standin.api_url,
        "DISCORD_GATEWAY_URL": standin.ws_url,
    }
    log = tmp_path / "bot.log"

    def connected() -> bool:  # commands are synced before the gateway connects
        commands = standin.commands + standin.guild_commands.get(standin.guild_id, [])
        return standin.identify_count > 0 and "digest" in _names(commands)

    bot = image.start("run", data=polled.data, config=config, env=env, log=log)
    try:
        try:
            loop_thread.call(standin.wait_for(connected, 90, "connected, /digest registered"), 100)
        except TimeoutError as exc:
            pytest.fail(f"{exc}\nbot log:\n{_tail(log.read_text(errors='replace'))}")
        record = loop_thread.call(standin.send_interaction(None, None, None, "digest", {}))
        answer = loop_thread.call(standin.wait_for_response(record, 30), 40)
        assert any(title in _text_of(answer) for title, _ in STORIES), _text_of(answer)

        deadline = time.monotonic() + 30
        while (health := image.health(polled.data, config)).returncode != 0:
            assert time.monotonic() < deadline, f"never healthy: {health.stderr}"
            time.sleep(1)
        assert "healthy" in health.stdout
        assert bot.poll() is None, _tail(log.read_text(errors="replace"))
    finally:
        _stop(bot)
        loop_thread.call(standin.stop())
    assert bot.returncode == 0, f"`docker stop` should stop it cleanly:\n{_tail(log.read_text())}"
    assert standin.violations == []
