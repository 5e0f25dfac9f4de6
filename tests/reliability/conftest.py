"""Shared helpers of the reliability tests (issue 7): chaos, crash, bad input, secrets, cancel.

Fixtures:

- `results_dir`: a private Prefect result storage directory for the test, so cached
  submissions never leak between tests (or between runs of the suite).
- `run_nonce`: a short random word put in prompts, so no request of this run can match a
  cached submission of an earlier run.
- `children`: starts `crash_child.py` runs (`Child`) that share one PREFECT_HOME (so the
  lock directory), result storage and the test server's API URL, as a crashed run and its
  rerun do; kills whatever is left at teardown.

Helpers:

- `leftovers(root)`: partial or temporary files under `root` (`*.part`, `*.tmp`, hidden
  `.<name>.*` files) that a finished or crashed run must not leave behind.
- `decodes(path)`: how many video frames PyAV decodes from a file (0 if none).
"""

from __future__ import annotations

import os
import secrets
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from prefect_videogen.records import StoredVideo

#: Suffixes of files that exist only while something is being written.
PARTIAL_SUFFIXES = (".part", ".tmp", ".partial", ".download")


@pytest.fixture
def results_dir(tmp_path_factory) -> Iterator[Path]:
    """A private `PREFECT_RESULTS_LOCAL_STORAGE_PATH` for one test."""
    from prefect.settings import PREFECT_RESULTS_LOCAL_STORAGE_PATH, temporary_settings

    path = tmp_path_factory.mktemp("results")
    with temporary_settings({PREFECT_RESULTS_LOCAL_STORAGE_PATH: path}):
        yield path


@pytest.fixture
def run_nonce() -> str:
    """A random word that makes this test's prompts unlike any earlier run's."""
    return secrets.token_hex(4)


CHILD = Path(__file__).with_name("crash_child.py")


class Child:
    """One run of `crash_child.py` in its own process, its output in `log`."""

    def __init__(self, env: dict[str, str], args: list[str], log: Path, wait: float) -> None:
        self.log = log
        self.wait = wait
        self._out = log.open("w")
        self.process = subprocess.Popen(
            [sys.executable, str(CHILD), *args],
            env=env,
            stdout=self._out,
            stderr=subprocess.STDOUT,
            text=True,
        )

    def output(self) -> str:
        self._out.flush()
        return self.log.read_text(errors="replace")

    def wait_until(self, check: Callable[[], object], what: str, poll: float = 0.1) -> None:
        """Poll `check` until it is true; fail if this child exits first or `wait` passes."""
        deadline = time.monotonic() + self.wait
        while not check():
            if self.process.poll() is not None:
                pytest.fail(f"the child exited before {what}:\n{self.output()[-4000:]}")
            if time.monotonic() > deadline:
                pytest.fail(f"timed out waiting for {what}:\n{self.output()[-4000:]}")
            time.sleep(poll)

    def kill(self) -> None:
        os.kill(self.process.pid, signal.SIGKILL)
        self.process.wait(timeout=30)
        assert self.process.returncode == -signal.SIGKILL

    def finish(self) -> StoredVideo:
        """Wait (bounded) for a successful exit; the `StoredVideo` it printed last."""
        from prefect_videogen.records import StoredVideo

        code = self.process.wait(timeout=self.wait)
        text = self.output()
        assert code == 0, f"rerun failed with exit code {code}:\n{text[-4000:]}"
        return StoredVideo.model_validate_json(text.strip().splitlines()[-1])

    def close(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait(timeout=30)
        self._out.close()


class Children:
    """Starts `Child` runs that share one environment: PREFECT_HOME, results, the API URL.

    Attributes:
        env: The children's environment (add settings before starting one).
        wait: Upper bound of `Child.finish`, in seconds.
    """

    def __init__(self, root: Path, api_url: str, wait: float = 90.0) -> None:
        home, results = root / "prefect-home", root / "results"
        home.mkdir()
        results.mkdir()
        self.root = root
        self.wait = wait
        self.env = {
            **os.environ,
            "PREFECT_API_URL": api_url,
            "PREFECT_HOME": str(home),
            "PREFECT_RESULTS_LOCAL_STORAGE_PATH": str(results),
            "PREFECT_LOGGING_LEVEL": "INFO",
        }
        self.started: list[Child] = []

    def start(self, *args: str, log: str = "child") -> Child:
        """`python crash_child.py args...`, logging to `<root>/<log>-<n>.log`."""
        path = self.root / f"{log}-{len(self.started)}.log"
        self.started.append(child := Child(self.env, list(args), path, self.wait))
        return child

    def close(self) -> None:
        for child in self.started:
            child.close()


@pytest.fixture
def children(tmp_path) -> Iterator[Children]:
    """`Children` of this test, on the Prefect test server (request `prefect_server`)."""
    from prefect.settings import PREFECT_API_URL

    started = Children(tmp_path, PREFECT_API_URL.value())
    try:
        yield started
    finally:
        started.close()


def leftovers(root: Path) -> list[Path]:
    """Partial or temporary files under `root`."""
    found = []
    for path in Path(root).rglob("*"):
        if not path.is_file():
            continue
        name = path.name
        if name.endswith(PARTIAL_SUFFIXES) or name.startswith("."):
            found.append(path)
    return sorted(found)


def decodes(path: Path) -> int:
    """The number of video frames PyAV decodes from `path` (raises if it cannot open it)."""
    import av

    with av.open(str(path)) as container:
        return sum(1 for _ in container.decode(container.streams.video[0]))
