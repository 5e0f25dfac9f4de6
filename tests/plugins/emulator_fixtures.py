"""Fixtures: emulator.

- `emulator`: one fast openai-dialect emulator for the whole session; yields its base URL
  ("http://127.0.0.1:<port>/v1", key "sk-emulator"). Shared: do not change its faults,
  and read per-job stats (`get_stats(url)["jobs"][job_id]`) rather than global counters.
- `make_emulator(config=None, **overrides)`: starts a function-scoped emulator (another
  dialect, faults, latency...) and returns its base URL; stopped after the test. Defaults
  are fast (latency 0.2 s, 4 fps) unless overridden.
- `image_server`: a loopback HTTP server for input images; `image_server(name, data)`
  returns the URL of `data` (the emulator fetches image URLs only from loopback hosts).
"""

from __future__ import annotations

import contextlib
import http.server
import threading
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from prefect_videogen.emulator import EmulatorConfig, run_emulator

FAST = {"latency": 0.2, "fps": 4, "poll_after_ms": 50}


@pytest.fixture(scope="session")
def emulator() -> Iterator[str]:
    """A fast openai-dialect emulator shared by the session; yields its base URL."""
    with run_emulator(**FAST) as base_url:
        yield base_url


@pytest.fixture
def make_emulator() -> Iterator[Callable[..., str]]:
    """A factory of function-scoped emulators: `make_emulator(dialect="gateway") -> base URL`."""
    with contextlib.ExitStack() as stack:

        def factory(config: EmulatorConfig | None = None, **overrides: Any) -> str:
            if config is None:
                overrides = {**FAST, **overrides}
            return stack.enter_context(run_emulator(config, **overrides))

        yield factory


@pytest.fixture
def image_server() -> Iterator[Callable[[str, bytes], str]]:
    """Serve bytes on 127.0.0.1: `image_server("cat.png", data)` returns the file's URL."""
    files: dict[str, bytes] = {}

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            data = files.get(self.path.lstrip("/"))
            if data is None:
                self.send_error(404)
                return
            self.send_response(200)
            self.send_header("Content-Type", "application/octet-stream")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()

    def url_for(name: str, data: bytes) -> str:
        files[name] = data
        return f"http://127.0.0.1:{server.server_address[1]}/{name}"

    try:
        yield url_for
    finally:
        server.shutdown()
        server.server_close()


# --------------------------------------------------------------------------- helpers for tests

AUTH = {"Authorization": "Bearer sk-emulator"}
DONE_WORDS = {"completed", "failed", "succeeded"}


def png_bytes(
    width: int, height: int, color: tuple[int, int, int] = (200, 40, 40), *, format: str = "PNG"
) -> bytes:
    """An image with a horizontal gradient over `color` (so frames are not flat)."""
    import io

    import numpy as np
    from PIL import Image

    ramp = np.linspace(0.4, 1.0, width, dtype=np.float32)[None, :, None]
    pixels = (np.array(color, dtype=np.float32)[None, None, :] * ramp).astype(np.uint8)
    image = Image.fromarray(np.repeat(pixels, height, axis=0), "RGB")
    buffer = io.BytesIO()
    image.save(buffer, format=format)
    return buffer.getvalue()


def wait_for(client: Any, base_url: str, job_id: str, *, timeout: float = 30.0) -> dict:
    """Poll `GET /videos/{id}` with an httpx client until the job ends; returns the body."""
    import time

    deadline = time.monotonic() + timeout
    while True:
        response = client.get(f"{base_url}/videos/{job_id}", headers=AUTH)
        response.raise_for_status()
        body = response.json()
        if body["status"] in DONE_WORDS:
            return body
        if time.monotonic() > deadline:
            raise AssertionError(f"job {job_id} still {body['status']} after {timeout} s")
        time.sleep(0.05)


def probe_mp4(data: bytes) -> tuple[int, int, float, int]:
    """(width, height, duration seconds, decoded frame count) of MP4 bytes, via PyAV."""
    import io

    import av

    with av.open(io.BytesIO(data)) as container:
        stream = container.streams.video[0]
        width, height = stream.codec_context.width, stream.codec_context.height
        duration = float(stream.duration * stream.time_base)
        frames = sum(1 for _ in container.decode(stream))
    return width, height, duration, frames
