"""The `briefbot` command line, run as a user runs it: a separate process against loopback feeds."""

from __future__ import annotations

import asyncio
import dataclasses
import json
import os
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from tests.news.feeds import item, rss

ROOT = Path(__file__).resolve().parents[1]


async def run_cli(
    *args: str, config: Path | None = None, limit_s: float = 60
) -> tuple[int, str, str]:
    env = {**os.environ, "PYTHONPATH": str(ROOT), "NO_COLOR": "1"}
    env.pop("BRIEFBOT_CONFIG", None)
    argv = [sys.executable, "-m", "bot"]
    if config is not None:
        argv += ["--config", str(config)]
    proc = await asyncio.create_subprocess_exec(
        *argv,
        *args,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        env=env,
        cwd=config.parent if config else ROOT,
    )
    out, err = await asyncio.wait_for(proc.communicate(), limit_s)
    return proc.returncode, out.decode(), err.decode()


@pytest.fixture
def config_file(tmp_path) -> Path:
    path = tmp_path / "config.toml"
    path.write_text(
        "default_sources = false\n"
        f'[storage]\npath = "{tmp_path / "db.sqlite3"}"\n'
        '[fetch]\nallowed_hosts = ["127.0.0.1"]\ntimeout_s = 5.0\n'
        "[taxonomy]\nembeddings = false\n"
    )
    return path


REGULATION = [
    item(
        1,
        title="EU regulators fine chatbot maker under the AI Act",
        description="<p>The European Commission fined the company on Monday. "
        "Officials said the ruling sets a precedent. The firm will appeal.</p>",
    ),
    item(
        2,
        title="Startup raises $50 million in funding round",
        description="<p>The startup raised money from investors. The valuation doubled. "
        "It plans to hire.</p>",
    ),
]


async def test_add_poll_search_and_list(feed_server, config_file) -> None:
    feed_server.add("/feed.xml", rss(REGULATION, title="Policy Wire"))
    feed_server.add_status("/broken.xml", 500)
    code, out, err = await run_cli(
        "sources", "add", feed_server.url("/feed.xml"), config=config_file
    )
    assert code == 0, err
    assert "Added source 1: Policy Wire" in out

    code, out, err = await run_cli(
        "sources", "add", feed_server.url("/broken.xml"), config=config_file
    )
    assert code == 1
    assert "HTTP 500" in err and "Traceback" not in err

    code, out, err = await run_cli("poll", "--all", config=config_file)
    assert code == 0, err
    assert "Polled 1 sources: 0 ok, 1 not modified" in out or "Polled 1 sources: 1 ok" in out

    code, out, err = await run_cli("search", "AI Act", "--json", config=config_file)
    assert code == 0, err
    results = json.loads(out)
    assert results[0]["title"] == "EU regulators fine chatbot maker under the AI Act"
    for key in ("id", "title", "url", "source", "published", "snippet", "topics", "lead", "points"):
        assert key in results[0]
    assert results[0]["source"] == "Policy Wire"
    assert results[0]["published"].endswith("Z")

    code, out, err = await run_cli("sources", "list", "--json", config=config_file)
    listed = json.loads(out)
    assert [(s["name"], s["status"], s["stories"]) for s in listed] == [("Policy Wire", "ok", 2)]
    assert {"id", "url", "name", "status", "last_error", "stories", "next_poll"} <= set(listed[0])


async def test_poll_exits_zero_and_names_failing_sources(
    feed_server, tmp_path, config_file
) -> None:
    config_file.write_text(
        config_file.read_text()
        + f'[[sources]]\nurl = "{feed_server.url("/ok.xml")}"\nname = "Good"\n'
        + f'[[sources]]\nurl = "{feed_server.url("/gone.xml")}"\nname = "Gone"\n'
    )
    feed_server.add("/ok.xml", rss([item(1)]))
    feed_server.add_status("/gone.xml", 404)
    code, out, err = await run_cli("poll", config=config_file)
    assert code == 0, err
    assert "1 ok, 0 not modified, 1 failed" in out
    assert "Gone" in err and "404" in err


async def test_digest_json_and_text(feed_server, config_file) -> None:
    feed_server.add("/feed.xml", rss(REGULATION, title="Policy Wire"))
    await run_cli("sources", "add", feed_server.url("/feed.xml"), config=config_file)
    code, out, err = await run_cli("digest", "--since", "30d", "--json", config=config_file)
    assert code == 0, err
    stories = json.loads(out)
    assert {s["title"] for s in stories} == {r.title for r in REGULATION}
    for key in (
        "id",
        "title",
        "url",
        "source",
        "published",
        "topics",
        "lead",
        "points",
        "cluster_size",
        "also_covered_by",
    ):
        assert key in stories[0]
    code, out, err = await run_cli("digest", "--since", "30d", config=config_file)
    assert code == 0, err
    assert "EU regulators fine chatbot maker" in out
    assert "<p>" not in out and "\x1b[" not in out


async def test_bad_config_and_bad_arguments_exit_non_zero(tmp_path, config_file) -> None:
    bad = tmp_path / "bad.toml"
    bad.write_text("[fetch]\ntimeout_s = 'soon'\n")
    code, _out, err = await run_cli("poll", config=bad)
    assert code == 2 and "fetch.timeout_s" in err
    code, _out, err = await run_cli("search", "x", "--limit", "zero", config=config_file)
    assert code == 2 and "--limit" in err
    code, _out, err = await run_cli("poll", "--bogus", config=config_file)
    assert code == 2


async def test_unusable_database_exits_non_zero(tmp_path) -> None:
    db = tmp_path / "db.sqlite3"
    db.write_bytes(b"garbage" * 1000)
    config = tmp_path / "config.toml"
    config.write_text(f'default_sources = false\n[storage]\npath = "{db}"\n')
    code, _out, err = await run_cli("poll", config=config)
    assert code == 1
    assert "not a usable briefbot database" in err and "Traceback" not in err


async def test_hostile_query_gets_a_sentence(config_file) -> None:
    code, _out, err = await run_cli("search", '"', "--", config=config_file)
    assert code == 1
    assert "words to search for" in err


async def test_check_config_prints_the_effective_config(config_file) -> None:
    code, out, err = await run_cli("check-config", config=config_file)
    assert code == 0, err
    assert "[fetch]" in out and 'allowed_hosts = ["127.0.0.1"]' in out


async def test_opml_export_and_import(feed_server, tmp_path, config_file) -> None:
    feed_server.add("/feed.xml", rss([item(1)], title="Policy Wire"))
    await run_cli("sources", "add", feed_server.url("/feed.xml"), config=config_file)
    opml = tmp_path / "out.opml"
    code, _out, err = await run_cli("sources", "export", "-o", str(opml), config=config_file)
    assert code == 0, err
    assert feed_server.url("/feed.xml") in opml.read_text()
    other = tmp_path / "other"
    other.mkdir()
    other_config = other / "config.toml"
    other_config.write_text(
        config_file.read_text().replace(str(tmp_path / "db.sqlite3"), str(other / "db.sqlite3"))
    )
    code, out, err = await run_cli("sources", "import", str(opml), config=other_config)
    assert code == 0, err
    assert "Imported 1 sources" in out


async def test_digest_filters_and_preview(feed_server, config_file) -> None:
    yesterday = datetime.now(UTC) - timedelta(hours=30)  # the preview replays the real week
    items = [dataclasses.replace(i, published=yesterday) for i in REGULATION]
    feed_server.add("/feed.xml", rss(items, title="Policy Wire"))
    await run_cli("sources", "add", feed_server.url("/feed.xml"), config=config_file)
    code, out, err = await run_cli(
        "digest", "--since", "30d", "--exclude", "funding, crypto", "--json", config=config_file
    )
    assert code == 0, err
    assert [s["title"] for s in json.loads(out)] == [REGULATION[0].title]

    code, out, err = await run_cli(
        "digest", "--since", "30d", "--include", '"ai act"', "--preview", config=config_file
    )
    assert code == 0, err
    assert "would have posted 1 digest." in out
    assert "Stories kept out, by filter: include 1." in out
    assert "EU regulators fine chatbot maker" in out and "Startup raises" not in out

    code, out, err = await run_cli(
        "digest", "--source", "Reuters", "--include", "re:(ai", config=config_file
    )
    assert code == 1
    assert "re:(ai in the include filter is not a valid regular expression" in err
    code, out, err = await run_cli("digest", "--source", "Reuters", "--no-poll", config=config_file)
    assert (code, err.strip()) == (
        1,
        "briefbot: there is no source 'Reuters' here; use a name or id from /sources list",
    )
