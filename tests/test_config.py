"""Configuration: where it comes from, what it rejects, how it is shown."""

from __future__ import annotations

from datetime import timedelta

import pytest

from bot.config import dump_toml, load_config, parse_duration, read_config, to_display
from bot.news.errors import ConfigError


def test_first_run_needs_no_file(tmp_path, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("BRIEFBOT_CONFIG", raising=False)
    config = read_config(None)
    assert config.origin == "built-in defaults"
    assert config.storage.path == "data/briefbot.sqlite3"
    assert config.fetch.allow_private_networks is False
    assert config.default_sources is True


def test_file_is_found_by_flag_then_environment_then_cwd(tmp_path, monkeypatch) -> None:
    (tmp_path / "config.toml").write_text('[digest]\ntitle = "cwd"\n')
    (tmp_path / "env.toml").write_text('[digest]\ntitle = "env"\n')
    (tmp_path / "flag.toml").write_text('[digest]\ntitle = "flag"\n')
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("BRIEFBOT_CONFIG", raising=False)
    assert read_config(None).digest.title == "cwd"
    monkeypatch.setenv("BRIEFBOT_CONFIG", str(tmp_path / "env.toml"))
    assert read_config(None).digest.title == "env"
    assert read_config(str(tmp_path / "flag.toml")).digest.title == "flag"


def test_every_problem_is_listed_with_its_key_path() -> None:
    with pytest.raises(ConfigError) as info:
        load_config(
            {
                "fetch": {"timeout_s": "soon", "concurrency": 0, "colour": "blue"},
                "sources": [{"url": "ftp://x.example/"}, {"name": "no url"}],
                "storage": {"path": 5},
                "taxonomy": {"mode": "everything"},
            }
        )
    problems = "\n".join(info.value.problems)
    for fragment in (
        "fetch.timeout_s",
        "fetch.concurrency",
        "fetch.colour: unknown key",
        "sources[0].url",
        "sources[1].url: required",
        "storage.path",
        "taxonomy.mode",
    ):
        assert fragment in problems
    assert len(info.value.problems) == 7


def test_durations() -> None:
    assert parse_duration("15m") == timedelta(minutes=15)
    assert parse_duration("2h") == timedelta(hours=2)
    assert parse_duration("7d") == timedelta(days=7)
    for bad in ("15", "m", "1.5h", "-3h", "2 hours"):
        with pytest.raises(ValueError):
            parse_duration(bad)


def test_secrets_are_masked_when_shown() -> None:
    config = load_config(
        {
            "subscriptions": [
                {
                    "webhook_url": "https://discord.com/api/webhooks/123/very-secret-token",
                    "schedule": "daily 08:00",
                }
            ]
        }
    )
    text = dump_toml(to_display(config))
    assert "very-secret-token" not in text
    assert "https://discord.com/api/webhooks/123/****" in text


def test_bad_toml_is_a_config_error(tmp_path) -> None:
    path = tmp_path / "broken.toml"
    path.write_text("[fetch\ntimeout_s = 3")
    with pytest.raises(ConfigError, match="not valid TOML"):
        read_config(str(path))


def test_environment_overrides_discord_endpoints(monkeypatch) -> None:
    monkeypatch.setenv("DISCORD_API_BASE", "http://127.0.0.1:9/api/v10")
    monkeypatch.delenv("BRIEFBOT_CONFIG", raising=False)
    assert read_config(None).discord.api_base == "http://127.0.0.1:9/api/v10"


def test_image_default_config_is_read_only_when_present(tmp_path, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("BRIEFBOT_CONFIG", raising=False)
    mounted = tmp_path / "mounted.toml"
    monkeypatch.setenv("BRIEFBOT_DEFAULT_CONFIG", str(mounted))
    assert read_config(None).origin == "built-in defaults"  # nothing mounted: defaults
    mounted.write_text('[digest]\ntitle = "mounted"\n')
    assert read_config(None).digest.title == "mounted"


def test_a_topic_the_taxonomy_would_refuse_is_a_config_error() -> None:
    with pytest.raises(ConfigError) as info:
        load_config(
            {
                "taxonomy": {
                    "mode": "extend",
                    "topics": [
                        {"name": "robotics", "description": "   ", "phrases": ["robot", ""]}
                    ],
                }
            }
        )
    problems = "\n".join(info.value.problems)
    assert "taxonomy.topics[0] (robotics).description" in problems
    assert "taxonomy.topics[0] (robotics).phrases[1]" in problems


def test_subscription_filters_are_checked_with_their_key_paths() -> None:
    hook = "https://discord.com/api/webhooks/1/abc"
    with pytest.raises(ConfigError) as caught:
        load_config(
            {
                "subscriptions": [
                    {"webhook_url": hook, "include": ["re:(chips"]},
                    {"webhook_url": hook, "min_outlets": -1, "exclude": [""]},
                ]
            }
        )
    problems = caught.value.problems
    assert any(
        p.startswith("subscriptions[0]: re:(chips in the include filter is not a valid")
        for p in problems
    )
    assert "subscriptions[1].min_outlets: must be 0 or more, got -1" in problems
    ok = load_config({"subscriptions": [{"webhook_url": hook, "sources": ["-Reddit"]}]})
    assert ok.subscriptions[0].sources == ("-Reddit",)
