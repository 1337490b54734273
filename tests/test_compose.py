"""The self-hosting files agree with each other: compose.yaml, Dockerfile, .dockerignore, .env.

Static and fast, so it runs everywhere; tests/test_container.py builds and runs the image itself.
`docker compose` cannot run on these machines, so what a self-hoster relies on is checked here:
the bot restarts, its data sits on a volume at the path the image writes to, the config is
mounted read-only where the image reads it, the token comes from .env, logs are rotated.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

yaml = pytest.importorskip("yaml", reason="PyYAML is needed to read compose.yaml")

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    return yaml.safe_load((REPO / "compose.yaml").read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def bot(compose: dict[str, Any]) -> dict[str, Any]:
    assert list(compose["services"]) == ["bot"]
    return compose["services"]["bot"]


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


def test_bot_restarts_unless_stopped_and_is_built_here(bot: dict[str, Any]) -> None:
    assert bot["restart"] == "unless-stopped"
    assert bot["build"] in (".", {"context": "."})


def test_data_lives_on_a_named_volume_where_the_image_keeps_its_database(
    compose: dict[str, Any], bot: dict[str, Any]
) -> None:
    data = [m for m in _mounts(bot) if m["target"] == "/data"]
    assert len(data) == 1 and data[0]["type"] == "volume"
    assert data[0]["source"] in (compose.get("volumes") or {})
    dockerfile = _dockerfile()
    assert re.search(r'^VOLUME \["/data"\]', dockerfile, re.M)
    assert re.search(r"BRIEFBOT_DATABASE=/data/\S+", dockerfile)


def test_config_is_mounted_read_only_where_the_image_reads_it(bot: dict[str, Any]) -> None:
    config = [m for m in _mounts(bot) if m["target"] == "/config/config.toml"]
    assert len(config) == 1
    assert config[0]["type"] == "bind" and config[0]["read_only"] is True
    assert config[0]["source"] == "./config.toml"
    # the image reads the mounted file through BRIEFBOT_DEFAULT_CONFIG when present
    assert re.search(r"^WORKDIR /data$", _dockerfile(), re.M)
    assert "BRIEFBOT_DEFAULT_CONFIG=/config/config.toml" in _dockerfile()


def test_token_comes_from_the_env_file_never_from_compose_yaml(bot: dict[str, Any]) -> None:
    env_files = bot["env_file"] if isinstance(bot["env_file"], list) else [bot["env_file"]]
    assert ".env" in [e if isinstance(e, str) else e["path"] for e in env_files]
    assert "DISCORD_TOKEN" not in str(bot.get("environment") or "")
    example = _env_file(REPO / ".env.example")
    assert example.get("DISCORD_TOKEN") == ""  # a blank to fill in, no real-looking token
    assert ".env" in (REPO / ".gitignore").read_text(encoding="utf-8").split()


def test_logs_are_rotated(bot: dict[str, Any]) -> None:
    logging = bot["logging"]
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
