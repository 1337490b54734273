"""Operations: health, backup, version, and logs that never carry secrets."""

from __future__ import annotations

import logging
import sqlite3
import time
from pathlib import Path

from bot import __version__
from bot.logs import RedactingFilter, redact
from tests.test_cli import run_cli

TOKEN = "MTIzNDU2Nzg5MDEyMzQ1Njc4.GAbCdE.abcdefghijklmnopqrstuvwxyz0123456789AB"


def test_tokens_and_webhook_secrets_are_redacted() -> None:
    line = f"login with {TOKEN} then POST https://discord.com/api/v10/webhooks/123/secret-tok_en"
    clean = redact(line)
    assert TOKEN not in clean and "secret-tok_en" not in clean
    assert "https://discord.com/api/v10/webhooks/123/****" in clean
    assert redact("Authorization: Bot abc.def.ghi") == "Authorization: Bot ****"


def test_log_records_are_redacted(caplog) -> None:
    logger = logging.getLogger("briefbot.test")
    logger.addFilter(RedactingFilter(("hunter2-secret-value",)))
    with caplog.at_level(logging.INFO):
        logger.info("token=%s key=%s", TOKEN, "hunter2-secret-value")
    assert TOKEN not in caplog.text and "hunter2-secret-value" not in caplog.text


def _config(tmp_path: Path) -> Path:
    path = tmp_path / "config.toml"
    path.write_text(f'default_sources = false\n[storage]\npath = "{tmp_path / "db.sqlite3"}"\n')
    return path


async def test_health_fails_before_the_bot_ran_and_passes_with_a_fresh_heartbeat(tmp_path) -> None:
    config = _config(tmp_path)
    code, _out, err = await run_cli("health", config=config)
    assert code == 1 and "no database" in err
    await run_cli("sources", "list", config=config)  # creates the database
    code, _out, err = await run_cli("health", config=config)
    assert code == 1 and "heartbeat" in err
    with sqlite3.connect(tmp_path / "db.sqlite3") as db:
        db.execute(
            "INSERT INTO meta (key, value) VALUES ('heartbeat', ?)", (str(int(time.time())),)
        )
    code, _out, err = await run_cli("health", config=config)
    assert code == 0, err
    with sqlite3.connect(tmp_path / "db.sqlite3") as db:
        db.execute(
            "UPDATE meta SET value = ? WHERE key = 'heartbeat'", (str(int(time.time()) - 3600),)
        )
    code, _out, err = await run_cli("health", config=config)
    assert code == 1 and "old" in err


async def test_health_on_postgres_reads_the_heartbeat_there(tmp_path, pg_url) -> None:
    from bot.news.store import Store

    config = tmp_path / "config.toml"
    config.write_text(f'default_sources = false\n[storage]\nurl = "{pg_url}"\n')
    code, _out, err = await run_cli("health", config=config)
    assert code == 1 and "heartbeat" in err and "Traceback" not in err
    store = await Store.open(pg_url)
    await store.outbox.set_meta("heartbeat", str(int(time.time())))
    await store.close()
    code, _out, err = await run_cli("health", config=config)
    assert code == 0, err
    assert not (tmp_path / "data").exists()  # no SQLite file beside it


async def test_backup_and_version(tmp_path) -> None:
    config = _config(tmp_path)
    code, out, err = await run_cli("backup", str(tmp_path / "copy.sqlite3"), config=config)
    assert code == 0, err
    with sqlite3.connect(tmp_path / "copy.sqlite3") as db:
        assert db.execute("PRAGMA user_version").fetchone()[0] > 0
    code, out, _err = await run_cli("version")
    assert code == 0 and out.strip() == f"briefbot {__version__}"
