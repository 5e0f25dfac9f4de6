"""Running the emulator: in a background thread for tests (`run_emulator`), in the
foreground for the CLI (`serve`), and small clients of its control endpoints.

`run_emulator` binds a socket on 127.0.0.1 (port 0 = a free port) before starting
uvicorn in a daemon thread, waits until the server answers, yields the base URL ending in
`/v1`, and on exit stops uvicorn and removes the rendered files.
"""

from __future__ import annotations

import contextlib
import socket
import threading
import time
from collections.abc import Iterator
from typing import Any

import httpx
import uvicorn

from prefect_videogen.emulator.app import _merge, create_app
from prefect_videogen.emulator.config import EmulatorConfig

__all__ = ["get_stats", "reset", "run_emulator", "serve", "set_faults"]


def _root(base_url: str) -> str:
    root = base_url.rstrip("/")
    return root[: -len("/v1")] if root.endswith("/v1") else root


@contextlib.contextmanager
def run_emulator(
    config: EmulatorConfig | None = None,
    *,
    host: str = "127.0.0.1",
    port: int = 0,
    startup_timeout: float = 15.0,
    **overrides: Any,
) -> Iterator[str]:
    """Run the emulator in a background thread while the block runs.

    Args:
        config: The configuration; defaults to `EmulatorConfig()` (openai dialect,
            key "sk-emulator").
        host: Interface to bind.
        port: Port to bind; 0 picks a free one.
        startup_timeout: Seconds to wait for the server to answer.
        **overrides: `EmulatorConfig` fields, e.g. `dialect="gateway", latency=0.2, fps=4`.

    Yields:
        The base URL, e.g. "http://127.0.0.1:54321/v1".

    Example:
        ```python
        import httpx
        from prefect_videogen.emulator import run_emulator

        with run_emulator(latency=0.2, fps=4) as base_url:
            job = httpx.post(f"{base_url}/videos", json={"prompt": "a red fox", "size": "1280x720"},
                             headers={"Authorization": "Bearer sk-emulator"}).json()
            print(job["id"], job["status"])
        ```
    """
    config = _merge(config, overrides)
    app = create_app(config)
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    # IPPROTO_TCP explicitly: asyncio sets TCP_NODELAY only on sockets whose proto is TCP,
    # and without it every small answer waits ~40 ms for a delayed ACK.
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, port))
    bound_port = sock.getsockname()[1]
    server = uvicorn.Server(
        uvicorn.Config(
            app,
            log_level="warning",
            access_log=False,
            lifespan="on",
            timeout_graceful_shutdown=2,
            timeout_keep_alive=30,
        )
    )
    thread = threading.Thread(
        target=server.run, kwargs={"sockets": [sock]}, name="videogen-emulator", daemon=True
    )
    thread.start()
    display_host = f"[{host}]" if ":" in host else host
    base_url = f"http://{display_host}:{bound_port}/v1"
    try:
        deadline = time.monotonic() + startup_timeout
        while not server.started:
            if not thread.is_alive():
                raise RuntimeError("the emulator's server thread stopped during startup")
            if time.monotonic() > deadline:
                raise TimeoutError(f"the emulator did not start within {startup_timeout} s")
            time.sleep(0.01)
        yield base_url
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        sock.close()
        app.state.emulator.store.close()


def serve(
    config: EmulatorConfig, *, host: str = "127.0.0.1", port: int = 8000, quiet: bool = False
) -> None:
    """Serve the emulator in the foreground until interrupted (the CLI's `emulator` command).

    Args:
        config: The configuration.
        host: Interface to bind.
        port: Port to bind.
        quiet: No access log, warnings only.
    """
    app = create_app(config)
    try:
        uvicorn.run(
            app,
            host=host,
            port=port,
            log_level="warning" if quiet else "info",
            access_log=not quiet,
            timeout_graceful_shutdown=2,
        )
    finally:
        app.state.emulator.store.close()


def get_stats(base_url: str) -> dict[str, Any]:
    """The emulator's counters (`GET <root>/emulator/stats`).

    Example:
        ```python
        from prefect_videogen.emulator import get_stats, run_emulator

        with run_emulator() as base_url:
            assert get_stats(base_url)["submissions"] == 0
        ```
    """
    response = httpx.get(f"{_root(base_url)}/emulator/stats", timeout=10.0, trust_env=False)
    response.raise_for_status()
    return response.json()


def set_faults(base_url: str, **faults: Any) -> dict[str, Any]:
    """Replace the running emulator's faults (`POST <root>/emulator/faults`).

    Fields left out get their defaults, so `set_faults(base_url)` turns every fault off.

    Example:
        ```python
        from prefect_videogen.emulator import run_emulator, set_faults

        with run_emulator() as base_url:
            set_faults(base_url, create={"script": ["503"]}, fail_prompts={"boom": "blocked"})
        ```
    """
    response = httpx.post(
        f"{_root(base_url)}/emulator/faults", json=faults, timeout=10.0, trust_env=False
    )
    if response.status_code == 422:
        raise ValueError(f"invalid faults: {response.json()['error']['detail']}")
    response.raise_for_status()
    return response.json()


def reset(base_url: str) -> None:
    """Forget all jobs and counters and restore the start faults (`POST <root>/emulator/reset`)."""
    response = httpx.post(f"{_root(base_url)}/emulator/reset", timeout=10.0, trust_env=False)
    response.raise_for_status()
