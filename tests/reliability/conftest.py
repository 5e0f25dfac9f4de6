"""Shared helpers of the reliability tests (issue 7): chaos, crash, bad input, secrets, cancel.

Fixtures:

- `results_dir`: a private Prefect result storage directory for the test, so cached
  submissions never leak between tests (or between runs of the suite).
- `run_nonce`: a short random word put in prompts, so no request of this run can match a
  cached submission of an earlier run.

Helpers:

- `leftovers(root)`: partial or temporary files under `root` (`*.part`, `*.tmp`, hidden
  `.<name>.*` files) that a finished or crashed run must not leave behind.
- `decodes(path)`: how many video frames PyAV decodes from a file (0 if none).
"""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from pathlib import Path

import pytest

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
