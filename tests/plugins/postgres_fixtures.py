"""Fixtures: a throwaway PostgreSQL cluster (the machine's own binaries) on a free loopback port.

- `postgres` (session): a `PostgresCluster` started with `initdb` + `postgres` in a temporary
  directory, superuser `postgres` with trust authentication, listening on 127.0.0.1 only
  (unix socket in the temporary directory). It is throwaway, so durability is off (fsync,
  synchronous_commit, full_page_writes). `create_database()` makes a database per use and
  returns its SQLAlchemy URL for `PREFECT_API_DATABASE_CONNECTION_URL`; `query()` reads one
  back with `psql`.

Tests that use it are skipped, saying how to install it, where no PostgreSQL server binaries
are found (`apt-get install -y postgresql`; they are looked up on PATH and in
`/usr/lib/postgresql/<version>/bin`). `initdb` refuses to run as root, so as root the cluster
runs as the unprivileged user `nobody`. Under pytest-xdist every worker process that asks
for the fixture starts its own cluster, on its own port, in its own directory.
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

#: How long the cluster may take to accept connections, in seconds.
START_TIMEOUT = 60.0

#: The unprivileged user the cluster runs as when the tests run as root.
UNPRIVILEGED_USER = "nobody"

_SETTINGS = {
    "listen_addresses": "127.0.0.1",
    "fsync": "off",
    "synchronous_commit": "off",
    "full_page_writes": "off",
    "shared_buffers": "32MB",
    "max_connections": "100",
    "log_min_messages": "warning",
}


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def find_postgres_bindir() -> Path | None:
    """The directory holding `initdb` and `postgres` (newest version first), or None."""
    on_path = shutil.which("initdb")
    if on_path is not None:
        return Path(on_path).resolve().parent
    candidates = [
        path.parent
        for path in Path("/usr/lib/postgresql").glob("*/bin/initdb")
        if (path.parent / "postgres").exists()
    ]

    def version(bindir: Path) -> tuple[int, ...]:
        return tuple(int(part) for part in re.findall(r"\d+", bindir.parent.name))

    return max(candidates, key=version, default=None)


@dataclass
class PostgresCluster:
    """A running throwaway cluster: how to reach it, and how to add databases to it."""

    bindir: Path
    port: int
    directory: Path
    user: str = "postgres"
    host: str = "127.0.0.1"
    _process: subprocess.Popen | None = field(default=None, repr=False)

    @property
    def version(self) -> str:
        """The server's major version, e.g. "15"."""
        return (self.directory / "data" / "PG_VERSION").read_text().strip()

    def url(self, database: str, driver: str = "postgresql+asyncpg") -> str:
        """The SQLAlchemy URL of a database in this cluster (no password: trust auth)."""
        return f"{driver}://{self.user}@{self.host}:{self.port}/{database}"

    def _client(self, program: str, *args: str) -> str:
        completed = subprocess.run(
            [str(self.bindir / program), "-h", self.host, "-p", str(self.port),
             "-U", self.user, *args],
            capture_output=True,
            text=True,
            timeout=60,
            env={**os.environ, "PGCONNECT_TIMEOUT": "10"},
        )  # fmt: skip
        if completed.returncode != 0:
            raise RuntimeError(f"{program} {' '.join(args)} failed:\n{completed.stderr}")
        return completed.stdout

    def create_database(self, name: str, template: str | None = None) -> str:
        """Create database `name` (optionally a copy of `template`); returns its URL."""
        self._client("createdb", *(["-T", template] if template else []), name)
        return self.url(name)

    def query(self, database: str, sql: str) -> list[str]:
        """Run `sql` with psql; returns the result rows, columns joined by "|"."""
        output = self._client("psql", "-X", "-A", "-t", "-q", "-d", database, "-c", sql)
        return output.splitlines()

    def log(self) -> str:
        try:
            return (self.directory / "postgres.log").read_text(errors="replace")
        except OSError:
            return "(no log)"


def _as_unprivileged() -> dict[str, object]:
    """Popen arguments to drop root for the server processes ({} when not root)."""
    if os.geteuid() != 0:
        return {}
    import pwd

    try:
        entry = pwd.getpwnam(UNPRIVILEGED_USER)
    except KeyError:
        pytest.skip(
            f"PostgreSQL refuses to run as root and there is no user {UNPRIVILEGED_USER!r} "
            "to run it as (run the tests as a normal user, or create that user)"
        )
    return {"user": entry.pw_uid, "group": entry.pw_gid, "extra_groups": []}


def start_cluster(bindir: Path) -> PostgresCluster:
    """initdb + start a cluster in a new temporary directory; waits until it is ready."""
    # Not under pytest's basetemp: that is private to the test user (0700), and as root the
    # server runs as `nobody`, which must own its directory.
    directory = Path(tempfile.mkdtemp(prefix="videogen-pg-"))
    privileges = _as_unprivileged()
    if privileges:
        os.chown(directory, privileges["user"], privileges["group"])  # type: ignore[arg-type]
    env = {**os.environ, "LC_ALL": "C", "LANG": "C", "TZ": "UTC"}
    cluster = PostgresCluster(bindir=bindir, port=_free_port(), directory=directory)
    init = subprocess.run(
        [str(bindir / "initdb"), "-D", str(directory / "data"), "-U", cluster.user,
         "--auth=trust", "--encoding=UTF8", "--locale=C", "--no-sync", "--no-instructions"],
        capture_output=True, text=True, timeout=120, cwd=directory, env=env, **privileges,
    )  # fmt: skip
    if init.returncode != 0:
        shutil.rmtree(directory, ignore_errors=True)
        pytest.fail(f"initdb failed ({bindir}):\n{init.stdout}\n{init.stderr}")

    settings = [f"--{key}={value}" for key, value in _SETTINGS.items()]
    settings += [f"--port={cluster.port}", f"--unix_socket_directories={directory}"]
    with (directory / "postgres.log").open("wb") as log:
        if privileges:
            os.chown(directory / "postgres.log", privileges["user"], privileges["group"])  # type: ignore[arg-type]
        cluster._process = subprocess.Popen(
            [str(bindir / "postgres"), "-D", str(directory / "data"), *settings],
            stdout=log, stderr=subprocess.STDOUT, cwd=directory, env=env,
            start_new_session=True, **privileges,
        )  # fmt: skip

    deadline = time.monotonic() + START_TIMEOUT
    while True:
        ready = subprocess.run(
            [str(bindir / "pg_isready"), "-q", "-h", cluster.host, "-p", str(cluster.port),
             "-U", cluster.user, "-t", "2"],
            timeout=30,
        )  # fmt: skip
        if ready.returncode == 0:
            return cluster
        if cluster._process.poll() is not None or time.monotonic() > deadline:
            log = cluster.log()
            stop_cluster(cluster)
            pytest.fail(f"PostgreSQL did not start on port {cluster.port}:\n{log}")
        time.sleep(0.1)


def stop_cluster(cluster: PostgresCluster) -> None:
    """Immediate shutdown (SIGQUIT, as `pg_ctl stop -m immediate`), kill leftovers, remove files."""
    process = cluster._process
    if process is not None and process.poll() is None:
        with contextlib.suppress(ProcessLookupError):
            process.send_signal(signal.SIGQUIT)
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)
    if process is not None:
        # Backends leave on their own when the postmaster dies; make sure of it.
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(process.pid, signal.SIGKILL)
    shutil.rmtree(cluster.directory, ignore_errors=True)


@pytest.fixture(scope="session")
def postgres() -> Iterator[PostgresCluster]:
    """A throwaway PostgreSQL cluster for this test session (per xdist worker)."""
    bindir = find_postgres_bindir()
    if bindir is None:
        pytest.skip(
            "PostgreSQL server binaries (initdb, postgres) were not found on PATH or in "
            "/usr/lib/postgresql/*/bin (apt-get install -y postgresql)"
        )
    cluster = start_cluster(bindir)
    try:
        yield cluster
    finally:
        stop_cluster(cluster)
