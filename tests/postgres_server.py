"""A throwaway PostgreSQL server for the ledger tests: Debian's server binaries (`make postgresql` installs
them), a cluster in a temporary folder reached by a Unix socket only, started once per test session and
stopped at its end. Without the binaries the tests that need it are skipped, saying why."""

from __future__ import annotations

import glob
import os
import shutil
import subprocess
import tempfile
import uuid
from pathlib import Path
from typing import Iterator


def server_binaries() -> Path | None:
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/pg_ctl"), key=lambda p: int(p.split("/")[4]))
    return Path(found[-1]).parent if found else None


class Server:
    def __init__(self, folder: Path, bindir: Path) -> None:
        self.folder, self.bindir = folder, bindir
        self.data, self.socket = folder / "data", folder / "socket"
        # initdb refuses to run as root: the cluster then belongs to the postgres account Debian creates
        self.as_owner = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []

    def start(self) -> None:
        self.data.mkdir()
        self.socket.mkdir()
        if self.as_owner:
            os.chmod(self.folder, 0o755)
            for path in (self.folder, self.data, self.socket):
                shutil.chown(path, "postgres")
        self._run("initdb", "-D", str(self.data), "-A", "trust", "-U", "postgres", "--no-sync")
        self._run("pg_ctl", "-D", str(self.data), "-w", "-l", str(self.folder / "server.log"), "-o",
                  f"-k {self.socket} -c listen_addresses='' -c fsync=off", "start")

    def stop(self) -> None:
        subprocess.run(self.as_owner + [str(self.bindir / "pg_ctl"), "-D", str(self.data), "-m", "immediate", "stop"],
                       capture_output=True)

    def _run(self, tool: str, *args: str) -> None:
        done = subprocess.run(self.as_owner + [str(self.bindir / tool), *args], capture_output=True, text=True)
        if done.returncode != 0:
            raise RuntimeError(f"{tool} failed: {done.stderr.strip()[-500:]}")

    def url(self, database: str = "postgres") -> str:
        return f"postgresql://postgres@/{database}?host={self.socket}"

    def new_database(self) -> str:
        """A fresh, empty database of the cluster: each test's store starts empty."""
        import psycopg

        name = "ledger_" + uuid.uuid4().hex[:12]
        with psycopg.connect(self.url(), autocommit=True) as connection:
            connection.execute(f'CREATE DATABASE "{name}"')
        return self.url(name)


def running_server() -> Iterator[Server | str]:
    """The server while the session runs, or why there is none."""
    bindir = server_binaries()
    if bindir is None:
        yield "no PostgreSQL server binaries (/usr/lib/postgresql/*/bin): run `make postgresql`"
        return
    try:
        import psycopg  # noqa: F401
    except ImportError:
        yield "psycopg is not installed: pip install -e '.[test]'"
        return
    folder = Path(tempfile.mkdtemp(prefix="svcascode-pg."))
    server = Server(folder, bindir)
    try:
        server.start()
    except (RuntimeError, OSError, LookupError) as error:
        shutil.rmtree(folder, ignore_errors=True)
        yield f"the PostgreSQL server did not start: {error}"
        return
    try:
        yield server
    finally:
        server.stop()
        shutil.rmtree(folder, ignore_errors=True)
