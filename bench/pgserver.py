"""A throwaway PostgreSQL server for a benchmark: initdb in a temporary folder, pg_ctl start,
and everything removed again at :meth:`PgServer.stop`.

As root it runs the server as ``nobody`` (PostgreSQL refuses to run as root). The server
listens on 127.0.0.1 only, on a free port, with ``fsync=off`` (a benchmark's data is
disposable). :meth:`PgServer.cpu_seconds` sums the CPU of the postmaster and all of its
children (backends, checkpointer, WAL writer, autovacuum), including children that have
already exited (the kernel adds those to the postmaster's ``cutime``/``cstime``).
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from pathlib import Path

TICK = os.sysconf("SC_CLK_TCK")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def proc_stat(pid: int) -> list[str] | None:
    """The fields of /proc/<pid>/stat after the command name (field 3 onwards), or None."""
    try:
        raw = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    return raw[raw.rindex(")") + 2 :].split()


def process_cpu(pid: int, *, children: bool = False) -> float:
    """utime + stime of a process (all its threads); ``children``: its reaped children too."""
    fields = proc_stat(pid)
    if fields is None:
        return 0.0
    # fields[0] is field 3 (state): utime is field 14, stime 15, cutime 16, cstime 17
    ticks = int(fields[11]) + int(fields[12])
    if children:
        ticks += int(fields[13]) + int(fields[14])
    return ticks / TICK


def child_pids(pid: int) -> list[int]:
    out = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            fields = proc_stat(int(entry))
            if fields is not None and int(fields[1]) == pid:
                out.append(int(entry))
    return out


def peak_rss_mb(pid: int) -> float:
    """VmHWM: the most resident memory the process ever had."""
    with contextlib.suppress(OSError):
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    return 0.0


class PgServer:
    """``with PgServer() as pg: pg.url("bench")``: a server that lives as long as the block."""

    def __init__(self, *, port: int | None = None) -> None:
        self.port = port or free_port()
        self.base = Path(tempfile.mkdtemp(prefix="briefbot-pg-"))
        self.data = self.base / "data"
        self.sockets = self.base / "run"
        self.log = self.base / "server.log"
        self.user = "nobody" if os.geteuid() == 0 else os.environ.get("USER", "postgres")
        self.pid: int | None = None

    def _run(self, *argv: str, check: bool = True) -> subprocess.CompletedProcess:
        if os.geteuid() == 0:
            argv = ("runuser", "-u", "nobody", "--", *argv)
        return subprocess.run(argv, check=check, capture_output=True, text=True)

    def start(self) -> PgServer:
        os.chmod(self.base, 0o755)
        self.data.mkdir()
        self.sockets.mkdir()
        if os.geteuid() == 0:
            for path in (self.data, self.sockets, self.base):
                shutil.chown(path, "nobody")
        try:
            self._run(
                "initdb", "-D", str(self.data), "-U", self.user, "--auth=trust",
                "--encoding=UTF8", "--no-sync", "--locale=C",
            )  # fmt: skip
            options = (
                f"-p {self.port} -k {self.sockets} -c listen_addresses=127.0.0.1"
                " -c fsync=off -c synchronous_commit=off -c full_page_writes=off"
                " -c max_connections=200"
            )
            self._run(
                "pg_ctl", "-D", str(self.data), "-l", str(self.log), "-w", "-t", "60",
                "-o", options, "start",
            )  # fmt: skip
        except subprocess.CalledProcessError as exc:
            tail = self.log.read_text()[-2000:] if self.log.exists() else ""
            self.stop()
            raise RuntimeError(f"PostgreSQL did not start: {exc.stderr}\n{tail}") from None
        self.pid = int((self.data / "postmaster.pid").read_text().split()[0])
        return self

    def url(self, database: str = "postgres") -> str:
        return f"postgresql://{self.user}@127.0.0.1:{self.port}/{database}"

    def psql(self, sql: str, database: str = "postgres") -> str:
        return self._run(
            "psql", "-h", "127.0.0.1", "-p", str(self.port), "-U", self.user, "-d", database,
            "-v", "ON_ERROR_STOP=1", "-Atc", sql,
        ).stdout  # fmt: skip

    def cpu_seconds(self) -> float:
        """CPU of the whole server so far: postmaster, live children and reaped children."""
        if self.pid is None:
            return 0.0
        return process_cpu(self.pid, children=True) + sum(
            process_cpu(c) for c in child_pids(self.pid)
        )

    def stop(self) -> None:
        """Stop the server (immediately: nothing here is worth a checkpoint) and delete it all."""
        if self.data.joinpath("postmaster.pid").exists():
            result = self._run(
                "pg_ctl", "-D", str(self.data), "-m", "immediate", "-w", "-t", "20", "stop",
                check=False,
            )  # fmt: skip
            if result.returncode != 0 and self.pid is not None:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(self.pid, signal.SIGKILL)
                time.sleep(0.5)
        self.pid = None
        shutil.rmtree(self.base, ignore_errors=True)

    def __enter__(self) -> PgServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
