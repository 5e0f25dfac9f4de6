"""Fixtures for the end-to-end deployment tests: a real `prefect server start`, the emulator,
the setup script, `prefect deploy` from deployments/prefect.yaml, and a process worker.

The server runs on PostgreSQL, as in production: a database of its own (per test module) in
the session's throwaway cluster (tests/plugins/postgres_fixtures.py). Where PostgreSQL is not
installed the server falls back to SQLite in its PREFECT_HOME (`stack.database` says which),
so the deployment tests still run; the sharding test requires PostgreSQL and is skipped.

Everything runs in subprocesses with their own `PREFECT_HOME`, from the same uv environment
as the tests. Every wait is bounded; a failed wait shows the server and worker logs. All
processes (and whatever they started) are killed at teardown.
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import httpx
import pytest

REPO = Path(__file__).resolve().parents[2]
PREFECT_FILE = REPO / "deployments" / "prefect.yaml"
SETUP_SCRIPT = REPO / "deployments" / "setup.py"

WORK_POOL = "videogen-process"
CREDENTIALS_BLOCK = "videogen"
STORAGE_BLOCK = "videogen-videos"

#: Upper bound of every wait, in seconds (a flow run normally finishes in 10 to 20 s; on a
#: loaded 2-core machine it can take several times that).
WAIT = 240.0

T = TypeVar("T")

# Server services the tests do not need; fewer loops leave more CPU for the flow runs.
_IDLE_SERVICES = (
    "CANCELLATION_CLEANUP",
    "DB_VACUUM",
    "FOREMAN",
    "LATE_RUNS",
    "PAUSE_EXPIRATIONS",
    "REPOSSESSOR",
    "CLEANUP_RECONCILER",
)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _tail(path: Path, lines: int = 80) -> str:
    try:
        text = path.read_text(errors="replace")
    except OSError:
        return "(no log)"
    return "\n".join(text.splitlines()[-lines:])


@dataclass
class Stack:
    """A running server + worker + emulator, and how to reach them."""

    api_url: str
    env: dict[str, str]
    emulator_url: str
    api_key: str
    video_dir: Path
    upload_dir: Path
    log_dir: Path
    #: "postgresql" or "sqlite": what the server stores its state in.
    database: str = "sqlite"
    #: The server's PostgreSQL database name (None on SQLite).
    database_name: str | None = None
    timings: dict[str, float] = field(default_factory=dict)
    _processes: list[subprocess.Popen] = field(default_factory=list)

    # -- processes ------------------------------------------------------------------

    def start(
        self, name: str, *args: str, extra_env: dict[str, str] | None = None
    ) -> subprocess.Popen:
        """Start `python args...` in the background (own session), logging to <name>.log."""
        log = (self.log_dir / f"{name}.log").open("ab")
        process = subprocess.Popen(
            [sys.executable, *args],
            cwd=REPO,
            env={**self.env, **(extra_env or {})},
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        log.close()
        self._processes.append(process)
        return process

    def run(self, name: str, *args: str, extra_env: dict[str, str] | None = None) -> str:
        """Run `python args...` to completion (bounded); returns its output, fails on error."""
        return self.finish(name, self.start(name, *args, extra_env=extra_env))

    def finish(self, name: str, process: subprocess.Popen) -> str:
        """Wait (bounded) for a process from `start`; returns its output, fails on error."""
        try:
            code = process.wait(timeout=WAIT)
        except subprocess.TimeoutExpired:
            pytest.fail(f"{name} did not finish within {WAIT:.0f} s\n{self.logs(name)}")
        output = (self.log_dir / f"{name}.log").read_text(errors="replace")
        if code != 0:
            pytest.fail(f"{name} exited with {code}\n{output}\n{self.logs()}")
        return output

    def stop_all(self) -> None:
        """Kill every process started here, their process groups and their descendants.

        All are asked to stop (SIGTERM) at once and given one shared grace period, then
        whatever is left is killed: stopping costs at most one grace period, not one each.
        """
        import psutil

        running = [process for process in self._processes if process.poll() is None]
        descendants: list[psutil.Process] = []
        for process in running:
            with contextlib.suppress(psutil.Error):
                descendants += psutil.Process(process.pid).children(recursive=True)
        for sig, grace in ((signal.SIGTERM, 5.0), (signal.SIGKILL, 5.0)):
            for process in running:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(process.pid, sig)
            deadline = time.monotonic() + grace
            for process in running:
                with contextlib.suppress(subprocess.TimeoutExpired):
                    process.wait(timeout=max(0.0, deadline - time.monotonic()))
            running = [process for process in running if process.poll() is None]
            if not running:
                break
        for child in descendants:
            with contextlib.suppress(psutil.Error):
                child.kill()
        psutil.wait_procs(descendants, timeout=5)

    # -- diagnostics ----------------------------------------------------------------

    def logs(self, *names: str) -> str:
        """The tails of the given logs (all logs by default)."""
        paths = [self.log_dir / f"{name}.log" for name in names] or sorted(
            self.log_dir.glob("*.log")
        )
        return "\n".join(f"----- {path.name} -----\n{_tail(path)}" for path in paths)

    def wait_for(self, what: str, probe: Callable[[], T | None], timeout: float = WAIT) -> T:
        """Poll `probe` until it returns something truthy; fail with the logs after `timeout`."""
        deadline = time.monotonic() + timeout
        while True:
            value = probe()
            if value:
                return value
            if time.monotonic() > deadline:
                pytest.fail(f"timed out after {timeout:.0f} s waiting for {what}\n{self.logs()}")
            time.sleep(0.5)

    # -- the API ----------------------------------------------------------------------

    def client(self) -> Any:
        """A synchronous Prefect client for this server (independent of test settings)."""
        from prefect.client.orchestration import SyncPrefectClient

        return SyncPrefectClient(self.api_url)

    def emit(self, event: str, resource: dict[str, str], payload: dict[str, Any]) -> str:
        """Emit an event through the server's REST API; returns its id."""
        import uuid
        from datetime import UTC, datetime

        event_id = str(uuid.uuid4())
        body = [
            {
                "id": event_id,
                "occurred": datetime.now(UTC).isoformat(),
                "event": event,
                "resource": resource,
                "payload": payload,
                "related": [],
            }
        ]
        response = httpx.post(f"{self.api_url}/events", json=body, timeout=30)
        response.raise_for_status()
        return event_id

    def flow_runs(self, deployment: str) -> list[Any]:
        """All flow runs of a deployment ("<flow name>/<deployment name>")."""
        from prefect.client.schemas.filters import DeploymentFilter, DeploymentFilterId

        with self.client() as client:
            deployment_id = client.read_deployment_by_name(deployment).id
            return client.read_flow_runs(
                deployment_filter=DeploymentFilter(id=DeploymentFilterId(any_=[deployment_id]))
            )


def _base_env(home: Path, api_url: str) -> dict[str, str]:
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("PREFECT_", "VIDEOGEN_"))
    }
    env.update(
        PREFECT_HOME=str(home),
        PREFECT_API_URL=api_url,
        PREFECT_SERVER_ANALYTICS_ENABLED="false",
        PREFECT_UI_ENABLED="false",
        PREFECT_WORKER_QUERY_SECONDS="1",
        PREFECT_CLI_COLORS="false",
        PREFECT_CLI_WRAP_LINES="false",
        COLUMNS="200",
        PYTHONUNBUFFERED="1",
    )
    for service in _IDLE_SERVICES:
        env[f"PREFECT_SERVER_SERVICES_{service}_ENABLED"] = "false"
    return env


def _create_process_pool(stack: Stack) -> None:
    """The process work pool, with Prefect's default job template (as `setup.py` makes it)."""
    from prefect.client.schemas.actions import WorkPoolCreate
    from prefect.workers.process import ProcessWorker

    with stack.client() as client:
        client.create_work_pool(
            WorkPoolCreate(
                name=WORK_POOL,
                type="process",
                base_job_template=ProcessWorker.get_default_base_job_template(),
            )
        )


def _healthy(api_url: str) -> bool:
    try:
        return httpx.get(f"{api_url}/health", timeout=2).status_code == 200
    except httpx.HTTPError:
        return False


def _server_database(request: pytest.FixtureRequest) -> tuple[str | None, dict[str, str]]:
    """A new PostgreSQL database for this module's server: (name, env); (None, {}) for SQLite."""
    try:
        postgres = request.getfixturevalue("postgres")
    except pytest.skip.Exception as skipped:
        print(f"\ne2e server falls back to SQLite: {skipped}")
        return None, {}
    name = f"e2e_{request.module.__name__.rpartition('.')[2]}_{secrets.token_hex(4)}"
    return name, {"PREFECT_API_DATABASE_CONNECTION_URL": postgres.create_database(name)}


@pytest.fixture(scope="module")
def stack(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Stack]:
    """Server, emulator, blocks and limits, deployments from prefect.yaml, and a worker."""
    from pydantic import SecretStr

    from prefect_videogen.emulator import EmulatorConfig, run_emulator

    root = tmp_path_factory.mktemp("e2e")
    for name in ("home", "videos", "uploads", "logs"):
        (root / name).mkdir()
    port = _free_port()
    api_url = f"http://127.0.0.1:{port}/api"
    api_key = f"sk-e2e-{secrets.token_hex(12)}"
    config = EmulatorConfig(api_key=SecretStr(api_key), latency=0.5, fps=4)

    database_name, database_env = _server_database(request)
    started = time.monotonic()
    with run_emulator(config) as emulator_url:
        stack = Stack(
            api_url=api_url,
            env=_base_env(root / "home", api_url),
            emulator_url=emulator_url,
            api_key=api_key,
            video_dir=root / "videos",
            upload_dir=root / "uploads",
            log_dir=root / "logs",
            database="postgresql" if database_name else "sqlite",
            database_name=database_name,
        )
        try:
            # Only the server gets the database URL: workers and flow runs talk to the API.
            stack.start(
                "server", "-m", "prefect", "server", "start", "--host", "127.0.0.1",
                "--port", str(port), extra_env=database_env,
            )  # fmt: skip
            stack.wait_for("the Prefect server's /api/health", lambda: _healthy(api_url))
            stack.timings["server_ready"] = time.monotonic() - started

            # `prefect deploy` needs the work pool to exist; with it created here, the setup
            # script (blocks, limits), the worker and `prefect deploy` can all start at once.
            _create_process_pool(stack)
            setup = stack.start(
                "setup",
                str(SETUP_SCRIPT),
                "--base-url", emulator_url,
                "--credentials-block", CREDENTIALS_BLOCK,
                "--storage-block", STORAGE_BLOCK,
                "--storage-dir", str(stack.video_dir),
                "--limit", "videogen-gateway=2",
                "--limit", "videogen-gateway-rpm=30:0.5",
                "--work-pool", WORK_POOL,
                extra_env={"VIDEOGEN_API_KEY": api_key},
            )  # fmt: skip
            stack.start(
                "worker", "-m", "prefect", "worker", "start", "--pool", WORK_POOL,
                "--type", "process", "--name", "e2e-worker",
            )  # fmt: skip
            stack.run(
                "deploy", "-m", "prefect", "--no-prompt", "deploy", "--all",
                "--prefect-file", str(PREFECT_FILE.relative_to(REPO)),
            )  # fmt: skip
            stack.timings["deployed"] = time.monotonic() - started
            stack.finish("setup", setup)
            stack.timings["setup_done"] = time.monotonic() - started

            def worker_online() -> bool:
                with stack.client() as client:
                    return any(
                        worker.status.value == "ONLINE"
                        for worker in client.read_workers_for_work_pool(WORK_POOL)
                    )

            stack.wait_for("the process worker to come online", worker_online)
            stack.timings["worker_online"] = time.monotonic() - started
            yield stack
        finally:
            stopping = time.monotonic()
            stack.stop_all()
            stack.timings["stop_all"] = time.monotonic() - stopping
            timings = json.dumps({k: round(v, 1) for k, v in stack.timings.items()})
            print(f"\ne2e timings (s; server on {stack.database}): {timings}")
