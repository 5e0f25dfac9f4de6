"""Fixtures: a real Redis server (Debian's `redis-server`) on a free loopback port.

- `redis_url` (session): `redis://127.0.0.1:<port>/0` of a `redis-server` started in a
  temporary directory (no persistence); tests are skipped, saying why, where
  `redis-server` is not installed (`apt-get install -y redis-server`; `.ci/run` does it).
- `redis_locks`: sets `PREFECT_INTEGRATIONS_VIDEOGEN_LOCK_MANAGER` to that URL for one test
  and empties the database first.
"""

from __future__ import annotations

import shutil
import socket
import subprocess
import time
from collections.abc import Iterator

import pytest


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="session")
def redis_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A `redis-server` for the whole session; yields its URL."""
    binary = shutil.which("redis-server")
    if binary is None:
        pytest.skip("redis-server is not installed (apt-get install -y redis-server)")
    import redis

    directory = tmp_path_factory.mktemp("redis")
    port = _free_port()
    process = subprocess.Popen(
        [binary, "--port", str(port), "--bind", "127.0.0.1", "--dir", str(directory),
         "--save", "", "--appendonly", "no", "--protected-mode", "yes"],
        stdout=(directory / "redis.log").open("wb"),
        stderr=subprocess.STDOUT,
    )  # fmt: skip
    url = f"redis://127.0.0.1:{port}/0"
    try:
        client = redis.Redis.from_url(url)
        deadline = time.monotonic() + 20
        while True:
            try:
                client.ping()
                break
            except redis.ConnectionError:
                if process.poll() is not None or time.monotonic() > deadline:
                    log = (directory / "redis.log").read_text(errors="replace")
                    pytest.fail(f"redis-server did not start on port {port}:\n{log}")
                time.sleep(0.05)
        client.close()
        yield url
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)


@pytest.fixture
def redis_locks(redis_url: str, monkeypatch: pytest.MonkeyPatch) -> str:
    """Submission locks in Redis for this test (an empty database); yields the URL."""
    import redis

    with redis.Redis.from_url(redis_url) as client:
        client.flushdb()
    monkeypatch.setenv("PREFECT_INTEGRATIONS_VIDEOGEN_LOCK_MANAGER", redis_url)
    return redis_url
