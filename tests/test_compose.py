"""The self-hosting files agree with each other: compose.yaml, compose.scale.yaml, Dockerfile,
.dockerignore, .env.

Static and fast, so it runs everywhere; tests/test_container.py builds and runs the image itself.
`docker compose` cannot run on these machines, so what a self-hoster relies on is checked here:
the bot restarts, its data sits on a volume at the path the image writes to, the config is
mounted read-only where the image reads it, the token comes from .env, logs are rotated. Every
briefbot container of compose.scale.yaml (the bot and the scalable workers) is held to the same
checks, and its PostgreSQL wiring is read back through the config loader the containers use.
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest

yaml = pytest.importorskip("yaml", reason="PyYAML is needed to read compose.yaml")

REPO = Path(__file__).resolve().parents[1]


def _load(name: str) -> dict[str, Any]:
    return yaml.safe_load((REPO / name).read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    return _load("compose.yaml")


@pytest.fixture(scope="module")
def scale() -> dict[str, Any]:
    return _load("compose.scale.yaml")


# every container that runs briefbot, in either file: each gets the self-hosting checks
APP_SERVICES = [
    ("compose.yaml", "bot"),
    ("compose.scale.yaml", "bot"),
    ("compose.scale.yaml", "worker"),
]


@pytest.fixture(scope="module", params=APP_SERVICES, ids=lambda p: f"{p[0]}:{p[1]}")
def app(request: pytest.FixtureRequest) -> dict[str, Any]:
    """One briefbot service of one file, its YAML merge keys resolved."""
    name, service = request.param
    services = _load(name)["services"]
    expected = {"compose.yaml": {"bot"}, "compose.scale.yaml": {"postgres", "worker", "bot"}}
    assert set(services) == expected[name]
    return services[service]


def _mounts(service: dict[str, Any]) -> list[dict[str, Any]]:
    """Volume entries in long form, whichever syntax compose.yaml uses."""
    mounts = []
    for entry in service.get("volumes", []):
        if isinstance(entry, str):
            source, target, *mode = entry.split(":")
            kind = "bind" if source.startswith((".", "/", "~")) else "volume"
            mounts.append(
                {"type": kind, "source": source, "target": target, "read_only": "ro" in mode}
            )
        else:
            mounts.append(entry)
    return mounts


def _dockerfile() -> str:
    return (REPO / "Dockerfile").read_text(encoding="utf-8")


def _env_file(path: Path) -> dict[str, str]:
    pairs = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.strip() and not line.lstrip().startswith("#"):
            key, _, value = line.partition("=")
            pairs[key.strip()] = value.strip()
    return pairs


def test_bot_restarts_unless_stopped_and_is_built_here(app: dict[str, Any]) -> None:
    assert app["restart"] == "unless-stopped"
    assert app["build"] in (".", {"context": "."})


def test_data_lives_on_a_named_volume_where_the_image_keeps_its_database(
    compose: dict[str, Any],
) -> None:
    bot = compose["services"]["bot"]
    data = [m for m in _mounts(bot) if m["target"] == "/data"]
    assert len(data) == 1 and data[0]["type"] == "volume"
    assert data[0]["source"] in (compose.get("volumes") or {})
    dockerfile = _dockerfile()
    assert re.search(r'^VOLUME \["/data"\]', dockerfile, re.M)
    assert re.search(r"BRIEFBOT_DATABASE=/data/\S+", dockerfile)


def test_config_is_mounted_read_only_where_the_image_reads_it(app: dict[str, Any]) -> None:
    config = [m for m in _mounts(app) if m["target"] == "/config/config.toml"]
    assert len(config) == 1
    assert config[0]["type"] == "bind" and config[0]["read_only"] is True
    assert config[0]["source"] == "./config.toml"
    # the image reads the mounted file through BRIEFBOT_DEFAULT_CONFIG when present
    assert re.search(r"^WORKDIR /data$", _dockerfile(), re.M)
    assert "BRIEFBOT_DEFAULT_CONFIG=/config/config.toml" in _dockerfile()


def test_token_comes_from_the_env_file_never_from_compose_yaml(app: dict[str, Any]) -> None:
    env_files = app["env_file"] if isinstance(app["env_file"], list) else [app["env_file"]]
    assert ".env" in [e if isinstance(e, str) else e["path"] for e in env_files]
    assert "DISCORD_TOKEN" not in str(app.get("environment") or "")
    example = _env_file(REPO / ".env.example")
    assert example.get("DISCORD_TOKEN") == ""  # a blank to fill in, no real-looking token
    assert ".env" in (REPO / ".gitignore").read_text(encoding="utf-8").split()


def test_logs_are_rotated(app: dict[str, Any]) -> None:
    logging = app["logging"]
    assert logging["driver"] == "json-file"
    assert re.fullmatch(r"\d+[kmg]", str(logging["options"]["max-size"]))
    assert int(logging["options"]["max-file"]) >= 2


def test_every_stage_uses_the_supported_base_and_the_runtime_is_not_root() -> None:
    dockerfile = _dockerfile()
    bases = re.findall(r"^FROM\s+(\S+)", dockerfile, re.M)
    assert len(bases) >= 2, "a build stage and a runtime stage"
    assert set(bases) == {"python:3.11-slim-bookworm"}
    users = re.findall(r"^USER\s+(\S+)", dockerfile, re.M)
    assert users and users[-1] not in ("root", "0", "0:0")
    assert 'ENTRYPOINT ["briefbot"]' in dockerfile and 'CMD ["run"]' in dockerfile
    assert re.search(r'^\s*CMD \["briefbot", "health"\]', dockerfile, re.M)


def test_build_context_lets_in_only_the_package() -> None:
    """An allow-list, so .env, config.toml and databases can never be copied into a layer."""
    patterns = [
        line.strip()
        for line in (REPO / ".dockerignore").read_text(encoding="utf-8").splitlines()
        if line.strip() and not line.startswith("#")
    ]
    assert patterns[0] == "*"
    allowed = {p[1:] for p in patterns if p.startswith("!")}
    assert allowed <= {"pyproject.toml", "README.md", "LICENSE", "bot", "cogs"}
    assert {"pyproject.toml", "bot", "cogs"} <= allowed


# -- compose.scale.yaml: PostgreSQL, any number of workers, one bot ------------------------------

# characters that would break a password written into a URL
PASSWORD = "pa:ss/w@rd#1"


def _interpolate(value: Any, env: dict[str, str]) -> str:
    """Compose's ``${VAR}``, ``${VAR:?message}`` and ``${VAR:-default}``, read from ``env``."""

    def sub(match: re.Match[str]) -> str:
        name, op, rest = match.group(1), match.group(2) or "", match.group(3) or ""
        if env.get(name) or (name in env and not op.startswith(":")):
            return env[name]
        assert "?" not in op, f"compose would stop: {name}: {rest}"
        return rest

    return re.sub(r"\$\{(\w+)(?:(:?[?-])([^}]*))?\}", sub, str(value))


def _environment(service: dict[str, Any]) -> dict[str, str]:
    env = service.get("environment") or {}
    if isinstance(env, list):
        env = dict(entry.partition("=")[::2] for entry in env)
    return {key: str(value) for key, value in env.items()}


def _config_of(service: dict[str, Any], monkeypatch: pytest.MonkeyPatch) -> Any:
    """The config a container of ``service`` runs with: its environment over the defaults."""
    from bot.config import Config, apply_environment

    for name in list(os.environ):
        if name.startswith(("BRIEFBOT_", "DISCORD_")):
            monkeypatch.delenv(name)
    for name, value in _environment(service).items():
        monkeypatch.setenv(name, _interpolate(value, {"POSTGRES_PASSWORD": PASSWORD}))
    return apply_environment(Config())


def test_scale_database_keeps_its_data_on_a_named_volume_and_stays_private(
    scale: dict[str, Any],
) -> None:
    postgres = scale["services"]["postgres"]
    assert re.fullmatch(r"postgres:1[56](\.\d+)?(-\w+)?", postgres["image"])
    assert postgres["restart"] == "unless-stopped"
    data = [m for m in _mounts(postgres) if m["target"] == "/var/lib/postgresql/data"]
    assert len(data) == 1 and data[0]["type"] == "volume"
    assert data[0]["source"] in (scale.get("volumes") or {})
    assert "ports" not in postgres  # reachable on the project's network only
    assert re.fullmatch(r"\d+[kmg]", str(postgres["logging"]["options"]["max-size"]))


def test_scale_database_is_healthy_only_once_it_answers_over_tcp(scale: dict[str, Any]) -> None:
    """The image's first-start setup server listens on its socket only: check TCP."""
    check = scale["services"]["postgres"]["healthcheck"]["test"]
    argv = check[1:] if check[0] == "CMD" else " ".join(check[1:]).split()
    assert argv[0] == "pg_isready"
    assert argv[argv.index("-h") + 1] in ("127.0.0.1", "localhost")
    env = _environment(scale["services"]["postgres"])
    assert argv[argv.index("-U") + 1] == env["POSTGRES_USER"]


def test_scale_password_is_required_from_env_and_written_nowhere(scale: dict[str, Any]) -> None:
    assert _env_file(REPO / ".env.example").get("POSTGRES_PASSWORD") == ""  # a blank to fill in
    text = (REPO / "compose.scale.yaml").read_text(encoding="utf-8")
    uses = re.findall(r"\$\{POSTGRES_PASSWORD([^}]*)\}", text)
    assert uses and all(use.startswith(":?") for use in uses)  # blank: compose refuses to start
    for name, service in scale["services"].items():
        for key, value in _environment(service).items():
            if "PASSWORD" in key:
                assert value.startswith("${"), f"{name}: {key} is written in the file"
    postgres_env = _environment(scale["services"]["postgres"])
    assert _interpolate(postgres_env["POSTGRES_PASSWORD"], {"POSTGRES_PASSWORD": PASSWORD}) == (
        PASSWORD
    )
    with pytest.raises(AssertionError, match="compose would stop"):
        _interpolate(postgres_env["POSTGRES_PASSWORD"], {"POSTGRES_PASSWORD": ""})


@pytest.mark.parametrize("name", ["bot", "worker"])
def test_scale_containers_open_the_compose_database_once_it_is_healthy(
    scale: dict[str, Any], monkeypatch: pytest.MonkeyPatch, name: str
) -> None:
    service = scale["services"][name]
    assert service["depends_on"]["postgres"]["condition"] == "service_healthy"
    storage = _config_of(service, monkeypatch).storage
    url = urlsplit(str(storage.url))
    postgres = scale["services"][url.hostname]
    assert postgres["image"].startswith("postgres:")
    db_env = _environment(postgres)
    assert url.scheme == "postgresql" and url.port in (None, 5432)
    assert url.username == db_env["POSTGRES_USER"]
    assert url.path == "/" + db_env["POSTGRES_DB"]
    assert url.password is None  # the password travels apart, so any character is safe in it
    assert storage.password == PASSWORD
    assert storage.target == str(storage.url)  # not the image's SQLite path


def test_scale_polling_is_left_to_the_workers(
    scale: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    bot, worker = scale["services"]["bot"], scale["services"]["worker"]
    assert bot["command"] in (["run"], "run")
    assert worker["command"] in (["worker"], "worker")
    assert _config_of(bot, monkeypatch).discord.poll is False


def test_scale_workers_can_be_scaled(scale: dict[str, Any]) -> None:
    """`--scale worker=N` needs no fixed name or host port; the image's check is the bot's."""
    worker = scale["services"]["worker"]
    assert not {"container_name", "ports", "hostname"} & set(worker)
    # `briefbot health` reads the bot's heartbeat, which says nothing about a worker
    assert worker["healthcheck"].get("disable") is True
    assert "healthcheck" not in scale["services"]["bot"]  # the image's own check applies


def test_readme_says_how_to_scale_out_with_this_file(scale: dict[str, Any]) -> None:
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    headings = re.findall(r"^## (.+)$", readme, re.M)
    title = "When one machine is not enough"
    assert headings.index(title) == headings.index("Run the bot with Docker") + 1
    section = readme.split(f"## {title}", 1)[1].split("\n## ", 1)[0]
    commands = [
        line.strip()
        for block in re.findall(r"```sh\n(.*?)\n```", section, flags=re.S)
        for line in block.splitlines()
    ]
    up = [c for c in commands if " up " in c]
    logs = [c for c in commands if " logs " in c]
    assert up and "-f compose.scale.yaml" in up[0] and re.search(r"--scale worker=\d+", up[0])
    assert logs and "-f compose.scale.yaml" in logs[0]
    words = logs[0].split()
    named = [word for word in words[words.index("logs") + 1 :] if not word.startswith("-")]
    assert named and set(named) <= set(scale["services"])
    assert "briefbot migrate-to postgresql://" in section
