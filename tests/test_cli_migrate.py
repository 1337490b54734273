"""`briefbot migrate-to URL` as an admin runs it: SQLite in, PostgreSQL out, counts shown."""

from __future__ import annotations

import json

from tests import test_cli
from tests.news.feeds import item, rss
from tests.test_cli import run_cli

config_file = test_cli.config_file  # the same fixture: a config whose [storage] path is SQLite


async def test_migrate_to_copies_and_the_bot_then_reads_postgresql(
    feed_server, config_file, pg_url
) -> None:
    feed_server.add("/feed.xml", rss([item(n) for n in range(1, 6)], title="Policy Wire"))
    code, _out, err = await run_cli(
        "sources", "add", feed_server.url("/feed.xml"), config=config_file
    )
    assert code == 0, err

    code, out, err = await run_cli("migrate-to", pg_url, config=config_file)
    assert code == 0, err
    assert "Traceback" not in err
    lines = {line.split()[0]: line.split()[1:] for line in out.splitlines() if line.strip()}
    assert lines["stories"] == ["5", "5"]
    assert lines["sources"] == ["1", "1"]
    assert "Copied" in out and pg_url.split("@")[1] in out

    # switched over, the same command line reads the moved stories from PostgreSQL
    config_file.write_text(
        config_file.read_text().replace("[storage]\n", f'[storage]\nurl = "{pg_url}"\n')
    )
    code, out, err = await run_cli("search", "story number", "--json", config=config_file)
    assert code == 0, err
    assert len(json.loads(out)) == 5


async def test_migrate_to_refusals_are_one_line_without_the_password(
    config_file, pg_url, tmp_path
) -> None:
    code, _out, err = await run_cli("migrate-to", pg_url, config=config_file)
    assert code == 1
    assert "no SQLite database at" in err and "Traceback" not in err

    await run_cli("sources", "list", config=config_file)  # creates the SQLite file, empty
    password = pg_url.split("://", 1)[1].split("@", 1)[0].split(":", 1)[1]
    wrong = pg_url.replace(f":{password}@", ":Wr0ng-Secret@")
    code, out, err = await run_cli("migrate-to", wrong, config=config_file)
    assert code == 1
    assert "refused the password" in err
    assert "Wr0ng-Secret" not in err + out and password not in err + out
    assert len(err.strip().splitlines()) == 1

    code, _out, err = await run_cli("migrate-to", str(tmp_path / "x.sqlite3"), config=config_file)
    assert code == 1 and "is not a PostgreSQL URL" in err


async def test_migrate_to_help_says_what_it_does() -> None:
    code, out, _err = await run_cli("migrate-to", "--help")
    assert code == 0
    text = " ".join(out.split())
    assert "empty PostgreSQL database at URL" in text and "row counts" in text
