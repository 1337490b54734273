"""A throwaway PostgreSQL server for tests: one per test session, a fresh database per test.

The store runs on SQLite and on PostgreSQL; a Postgres code path is only tested against a real
server. :class:`PgServer` runs ``initdb`` once into a temporary folder, starts ``postgres`` on
127.0.0.1 at a free port (its unix socket inside that folder, never in /var/run), and tunes it
for speed over durability (``fsync=off``, small buffers). Host connections need a password
(``scram-sha-256``), so a test can check that a wrong one is refused::

    def test_something(pg_url: str) -> None:   # postgresql://briefbot:...@127.0.0.1:PORT/t_3
        ...

Two roles exist: the superuser ``postgres`` (:attr:`PgServer.admin_url`, for the harness) and
``briefbot``, an ordinary role that owns each test database, as an application's role would:
code that silently needs superuser rights fails here rather than in production.

Postgres refuses to run as root. When the tests run as root (they do in CI), initdb and pg_ctl
run as ``nobody`` through ``runuser`` and the folder is handed to that user. The fixtures
``pg_server`` and ``pg_url`` live in ``tests/conftest.py``.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import glob
import itertools
import os
import pwd
import re
import secrets
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Awaitable, Callable
from pathlib import Path
from types import TracebackType
from typing import TypeVar
from urllib.parse import quote

import pytest

T = TypeVar("T")

INSTALL_HINT = "apt-get install postgresql (or put initdb, pg_ctl and postgres on PATH)"
UNPRIVILEGED_USER = "nobody"
APP_ROLE = "briefbot"
SUPERUSER = "postgres"

# Speed over durability: a test database is thrown away. Small buffers, so several engineers'
# sessions (and xdist workers) fit on one machine.
SETTINGS = {
    "listen_addresses": "127.0.0.1",
    "fsync": "off",
    "synchronous_commit": "off",
    "full_page_writes": "off",
    "wal_level": "minimal",
    "max_wal_senders": "0",
    "shared_buffers": "16MB",
    "max_connections": "60",
    "timezone": "UTC",
    "log_timezone": "UTC",
    "password_encryption": "scram-sha-256",
}


class PostgresUnavailable(RuntimeError):
    """The server binaries are not installed, or the server cannot be run here."""


def find_bin_dir() -> Path | None:
    """The folder holding initdb, pg_ctl and postgres: from PATH, else Debian's newest."""
    candidates: list[Path] = []
    if found := shutil.which("initdb"):
        # resolve: /usr/local/bin/initdb may be a link into /usr/lib/postgresql/15/bin
        candidates.append(Path(found).resolve().parent)

    def version(path: str) -> tuple[int, ...]:
        return tuple(int(n) for n in re.findall(r"\d+", path))

    for found in sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"), key=version, reverse=True):
        candidates.append(Path(found).parent)
    for folder in candidates:
        if all(os.access(folder / name, os.X_OK) for name in ("initdb", "pg_ctl", "postgres")):
            return folder
    return None


def require_bin_dir() -> Path:
    """The server binaries' folder, or skip the test; in CI (CI=true) fail it instead.

    A skipped engine is an untested engine: CI must have the binaries (.ci/run installs them).
    """
    if (found := find_bin_dir()) is not None:
        return found
    message = f"PostgreSQL server binaries (initdb, pg_ctl, postgres) not found: {INSTALL_HINT}"
    if os.environ.get("CI", "").strip().lower() in ("true", "1", "yes"):
        pytest.fail(f"CI=true and {message}", pytrace=False)
    pytest.skip(message)


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now (start() retries on a race)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def run_coroutine(make: Callable[[], Awaitable[T]]) -> T:
    """Run ``make()`` to completion on a private event loop in a helper thread.

    The fixtures are synchronous (a session-scoped async fixture would need a session-scoped
    event loop), and a test's own loop may already be set in this thread: a thread of its own
    keeps the harness's admin connections out of both.
    """

    async def main() -> T:
        return await make()

    with concurrent.futures.ThreadPoolExecutor(1, thread_name_prefix="pgserver") as pool:
        return pool.submit(asyncio.run, main()).result()


class PgServer:
    """A PostgreSQL server in a temporary folder; ``with PgServer() as server:`` or start/stop."""

    def __init__(self, bin_dir: Path | None = None) -> None:
        self.bin_dir = bin_dir or find_bin_dir()
        self.host = "127.0.0.1"
        self.port = 0
        self.superuser_password = secrets.token_urlsafe(18)
        self.password = secrets.token_urlsafe(18)  # the briefbot role's
        self.root: Path | None = None
        self._names = itertools.count(1)
        self._as_user: list[str] = []

    # -- life cycle -------------------------------------------------------------------------

    def start(self) -> PgServer:
        """initdb, start the server and create the application role; raises with the log."""
        if self.bin_dir is None:
            raise PostgresUnavailable(f"PostgreSQL server binaries not found: {INSTALL_HINT}")
        self.root = Path(tempfile.mkdtemp(prefix="briefbot-pg-"))
        try:
            self._prepare_folder()
            self._initdb()
            for attempt in range(3):
                self.port = free_port()
                try:
                    self._pg_ctl("start", "-w", "-t", "60", "-l", str(self.log_path),
                                 "-o", f"-p {self.port}")  # fmt: skip
                    break
                except PostgresUnavailable:
                    # another process may have taken the port between probing and binding
                    if attempt == 2 or "Address already in use" not in self.log():
                        raise
            run_coroutine(self._create_app_role)
        except BaseException:
            self.stop()
            raise
        return self

    def stop(self) -> None:
        """Stop the server at once (its data is thrown away) and remove the folder."""
        if self.root is None:
            return
        if (self.data_dir / "postmaster.pid").exists():
            try:
                self._pg_ctl("stop", "-w", "-t", "30", "-m", "immediate")
            except PostgresUnavailable:
                pass  # already gone; the folder goes either way
        shutil.rmtree(self.root, ignore_errors=True)
        self.root = None

    def __enter__(self) -> PgServer:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()

    # -- addresses --------------------------------------------------------------------------

    @property
    def data_dir(self) -> Path:
        assert self.root is not None, "the server is not started"
        return self.root / "data"

    @property
    def log_path(self) -> Path:
        assert self.root is not None, "the server is not started"
        return self.root / "server.log"

    def url(self, database: str = "postgres", *, user: str = APP_ROLE, password: str = "") -> str:
        """A postgresql:// URL for ``database`` as ``user`` (the briefbot role by default)."""
        if not password:
            password = self.superuser_password if user == SUPERUSER else self.password
        return (
            f"postgresql://{quote(user, safe='')}:{quote(password, safe='')}"
            f"@{self.host}:{self.port}/{quote(database, safe='')}"
        )

    @property
    def admin_url(self) -> str:
        """The superuser's URL to the maintenance database ``postgres``."""
        return self.url("postgres", user=SUPERUSER)

    def log(self) -> str:
        """The server's log so far (empty before start)."""
        try:
            return self.log_path.read_text(encoding="utf-8", errors="replace")
        except (AssertionError, OSError):
            return ""

    # -- databases --------------------------------------------------------------------------

    def create_database(self) -> str:
        """A new empty database owned by the briefbot role; returns its name."""
        name = f"t_{os.getpid()}_{next(self._names)}"
        self.execute(f'CREATE DATABASE "{name}" OWNER "{APP_ROLE}"')
        return name

    def drop_database(self, name: str) -> None:
        """Drop ``name`` even if a test left connections open to it."""
        self.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

    def execute(self, sql: str, *, database: str = "postgres") -> None:
        """Run one statement as the superuser (outside a transaction, so CREATE DATABASE works)."""

        async def go() -> None:
            import asyncpg

            conn = await asyncpg.connect(self.url(database, user=SUPERUSER), timeout=30)
            try:
                await conn.execute(sql)
            finally:
                await conn.close()

        run_coroutine(go)

    # -- internals --------------------------------------------------------------------------

    def _prepare_folder(self) -> None:
        assert self.root is not None
        (self.root / "sock").mkdir()
        pwfile = self.root / "pwfile"
        pwfile.write_text(self.superuser_password + "\n", encoding="utf-8")
        pwfile.chmod(0o600)
        if os.geteuid() != 0:
            return
        if shutil.which("runuser") is None:
            raise PostgresUnavailable(
                "the tests run as root and PostgreSQL refuses to; runuser (util-linux) is "
                f"needed to run it as {UNPRIVILEGED_USER}"
            )
        entry = pwd.getpwnam(UNPRIVILEGED_USER)
        for path in (self.root, self.root / "sock", pwfile):
            os.chown(path, entry.pw_uid, entry.pw_gid)
        self._as_user = ["runuser", "-u", UNPRIVILEGED_USER, "--"]
        probe = subprocess.run([*self._as_user, "test", "-w", str(self.root)], check=False)
        if probe.returncode != 0:
            raise PostgresUnavailable(
                f"{UNPRIVILEGED_USER} cannot write {self.root}; point TMPDIR at a folder every "
                "user can reach (such as /tmp)"
            )

    def _run(self, *argv: str) -> None:
        assert self.root is not None
        env = {**os.environ, "LC_ALL": "C", "LANG": "C", "TZ": "UTC"}
        env.pop("PGDATA", None)
        result = subprocess.run(
            [*self._as_user, *argv],
            cwd=self.root,  # the unprivileged user may not be able to enter the caller's cwd
            env=env,
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        if result.returncode != 0:
            raise PostgresUnavailable(
                f"{Path(argv[0]).name} {argv[1] if len(argv) > 1 else ''} failed "
                f"({result.returncode}):\n{result.stdout}{result.stderr}\n{self.log()}"
            )

    def _initdb(self) -> None:
        assert self.root is not None and self.bin_dir is not None
        self._run(
            str(self.bin_dir / "initdb"),
            "--pgdata", str(self.data_dir),
            "--username", SUPERUSER,
            "--pwfile", str(self.root / "pwfile"),
            "--auth", "scram-sha-256",  # host and local connections alike need the password
            "--encoding", "UTF8",
            "--no-locale",
            "--no-sync",
            "--no-instructions",
        )  # fmt: skip
        settings = {**SETTINGS, "unix_socket_directories": str(self.root / "sock")}
        lines = [f"{key} = '{value}'" for key, value in settings.items()]
        with (self.data_dir / "postgresql.conf").open("a", encoding="utf-8") as conf:
            conf.write("\n# tests/pgserver.py\n" + "\n".join(lines) + "\n")

    def _pg_ctl(self, *args: str) -> None:
        assert self.bin_dir is not None
        self._run(str(self.bin_dir / "pg_ctl"), "-D", str(self.data_dir), *args)

    async def _create_app_role(self) -> None:
        import asyncpg

        conn = await asyncpg.connect(self.admin_url, timeout=30)
        try:
            # a literal is needed here (no parameters in utility statements); token_urlsafe
            # passwords hold no quote characters
            await conn.execute(
                f"CREATE ROLE \"{APP_ROLE}\" LOGIN PASSWORD '{self.password}' NOSUPERUSER"
            )
        finally:
            await conn.close()
