"""The README's configuration reference and config.example.toml match the code, both ways."""

from __future__ import annotations

import dataclasses
import re
import tomllib
import typing
from pathlib import Path

from bot.config import Config, load_config

ROOT = Path(__file__).resolve().parents[1]


def config_keys(cls: type = Config, prefix: str = "") -> set[str]:
    keys: set[str] = set()
    hints = typing.get_type_hints(cls)
    for f in dataclasses.fields(cls):
        if f.name == "origin":
            continue
        kind = hints[f.name]
        args = [a for a in typing.get_args(kind) if dataclasses.is_dataclass(a)]
        if dataclasses.is_dataclass(kind):
            keys |= config_keys(kind, f"{prefix}{f.name}.")
        elif typing.get_origin(kind) is tuple and args:
            keys |= config_keys(args[0], f"{prefix}{f.name}[].")
        else:
            keys.add(f"{prefix}{f.name}")
    return keys


def readme_keys() -> set[str]:
    text = (ROOT / "README.md").read_text()
    section = text.split("## Configuration reference", 1)[1].split("\n## ", 1)[0]
    return set(re.findall(r"^\| `([a-z_.\[\]]+)` \|", section, flags=re.M))


def example_keys() -> set[str]:
    """Keys set or shown commented-out in config.example.toml, with their table paths."""
    keys, table = set(), ""
    for raw in (ROOT / "config.example.toml").read_text().splitlines():
        line = raw.lstrip("# ").rstrip()
        if m := re.fullmatch(r"\[\[([a-z_.]+)\]\]", line):
            table = m.group(1).replace(".", "[].") + "[]."
            table = table.replace("taxonomy[].topics", "taxonomy.topics")
        elif m := re.fullmatch(r"\[([a-z_.]+)\]", line):
            table = m.group(1) + "."
        elif (m := re.match(r"([a-z_]+) = ", line)) and (
            raw.startswith(m.group(1)) or raw.startswith("# " + m.group(1))
        ):
            keys.add(table + m.group(1))
    return keys


def test_readme_reference_lists_exactly_the_config_keys() -> None:
    assert readme_keys() == config_keys()


def test_example_config_documents_exactly_the_config_keys() -> None:
    assert example_keys() == config_keys()


def test_example_config_is_valid_and_equals_the_defaults() -> None:
    data = tomllib.loads((ROOT / "config.example.toml").read_text())
    example = load_config(data, origin="example")
    assert dataclasses.replace(example, origin="x") == dataclasses.replace(Config(), origin="x")


def test_readme_has_the_two_commands_and_ci_uses_the_test_one() -> None:
    text = (ROOT / "README.md").read_text()
    blocks = re.findall(r"```sh\n(.*?)\n```", text, flags=re.S)
    install_run, install_test = blocks[0].strip(), blocks[1].strip()
    assert "pip install ." in install_run and "briefbot" in install_run
    assert "pip install '.[test]'" in install_test and "pytest" in install_test
    ci = (ROOT / ".ci" / "run").read_text()
    assert install_test.replace("pip install", "pip install -q") in ci or install_test in ci
