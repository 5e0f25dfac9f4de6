"""Every download is checked before it is kept: content type per variant, MP4/image signature.

A real HTTP server on 127.0.0.1 plays the CDN (the `url=` download path, as gateways give)
and answers what the emulator never does: an HTML page with 200, an empty body, a
thumbnail that is an MP4. A failing disk is simulated under `_PartFile` (ENOSPC on flush
and close); the real full-disk run is described in the hardening report.
"""

from __future__ import annotations

import asyncio
import errno
import http.server
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from prefect_videogen.client import AsyncVideoGenClient, VideoGenClient
from prefect_videogen.client._download import _PartFile
from prefect_videogen.exceptions import (
    StorageError,
    UnexpectedContentError,
    UnsupportedOperationError,
)

MP4 = b"\x00\x00\x00\x18ftypisom\x00\x00\x02\x00isomiso2" + b"\x00" * 1000
WEBP = b"RIFF\x10\x00\x00\x00WEBPVP8 " + b"\x00" * 100
HTML = b"<!doctype html><html><body>502 Bad Gateway (cached)</body></html>"


@pytest.fixture
def cdn() -> Iterator[Callable[[bytes, str], str]]:
    """`cdn(body, content_type)` serves `body` with 200 at a fresh URL on 127.0.0.1."""
    files: dict[str, tuple[bytes, str]] = {}

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            body, content_type = files[self.path]
            self.send_response(200)
            if content_type:
                self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()

    def serve(body: bytes, content_type: str) -> str:
        path = f"/f{len(files)}"
        files[path] = (body, content_type)
        return f"http://127.0.0.1:{server.server_address[1]}{path}"

    yield serve
    server.shutdown()
    server.server_close()


def _client() -> VideoGenClient:
    return VideoGenClient("https://api.invalid/v1", "sk-test", max_retries=0)


@pytest.mark.parametrize(
    ("body", "content_type", "variant", "says"),
    [
        (HTML, "text/html; charset=utf-8", "video", "text/html"),
        (b"", "video/mp4", "video", "empty body"),
        (HTML, "application/octet-stream", "video", "not an MP4"),
        (HTML, "", "video", "not an MP4"),
        (MP4, "application/json", "video", "application/json"),
        (WEBP, "image/webp", "video", "image/webp"),
        (MP4, "image/webp", "thumbnail", "an MP4 where a thumbnail"),
        (MP4, "application/octet-stream", "spritesheet", "an MP4 where a spritesheet"),
    ],
)
def test_content_that_does_not_fit_is_refused_and_not_kept(
    cdn, tmp_path, body, content_type, variant, says
):
    url = cdn(body, content_type)
    destination = tmp_path / "out" / "v.mp4"
    with _client() as client, pytest.raises(UnexpectedContentError, match=says):
        client.download_content("video_1", destination, variant=variant, url=url)
    assert list((tmp_path / "out").iterdir()) == []  # no file, no .part


def test_a_video_sent_for_a_thumbnail_is_unsupported_and_not_kept(cdn, tmp_path):
    # What gateways do: they ignore `variant` and send the MP4.
    url = cdn(MP4, "video/mp4")
    destination = tmp_path / "out" / "v.webp"
    with _client() as client, pytest.raises(UnsupportedOperationError, match="ignores `variant`"):
        client.download_content("video_1", destination, variant="thumbnail", url=url)
    assert list((tmp_path / "out").iterdir()) == []  # no file, no .part


@pytest.mark.parametrize(
    ("body", "content_type", "variant"),
    [
        (MP4, "video/mp4", "video"),
        (MP4, "binary/octet-stream", "video"),  # what S3 serves without a type set
        (MP4, "", "video"),
        (WEBP, "image/webp", "thumbnail"),
        (b"\xff\xd8\xff\xe0" + b"\x00" * 50, "image/jpeg", "spritesheet"),
    ],
)
def test_content_that_fits_is_kept(cdn, tmp_path, body, content_type, variant):
    url = cdn(body, content_type)
    with _client() as client:
        content = client.download_content("video_1", tmp_path / "v", variant=variant, url=url)
    assert content.path.read_bytes() == body and content.size == len(body)


def test_the_async_client_checks_too(cdn, tmp_path):
    url = cdn(HTML, "text/html")

    async def run() -> None:
        async with AsyncVideoGenClient("https://api.invalid/v1", "sk-test") as client:
            await client.download_content("video_1", tmp_path / "v.mp4", url=url)

    with pytest.raises(UnexpectedContentError, match="text/html"):
        asyncio.run(run())
    assert list(tmp_path.iterdir()) == []


class _FullDisk:
    """A file whose buffered bytes never reach the disk: flush and close fail with ENOSPC."""

    def __init__(self, real: Any) -> None:
        self.real = real

    def write(self, data: bytes) -> int:
        return len(data)  # buffered

    def flush(self) -> None:
        raise OSError(errno.ENOSPC, "No space left on device")

    def close(self) -> None:
        self.real.close()  # the descriptor goes, as BufferedWriter.close does
        raise OSError(errno.ENOSPC, "No space left on device")

    def fileno(self) -> int:
        return self.real.fileno()


def test_a_full_disk_is_a_storage_error_and_leaves_no_part_file(tmp_path):
    destination = tmp_path / "v.mp4"
    part = _PartFile(destination, 1 << 16)
    part._file = _FullDisk(part._file)
    part.write(MP4)
    with pytest.raises(StorageError) as info:
        part.commit()
    part.discard()  # what download_content does on any failure; close fails again here
    assert "No space left on device" in str(info.value)
    assert "paid" in str(info.value) and "reuses the job" in str(info.value)
    assert list(Path(tmp_path).iterdir()) == []


def test_the_async_client_does_file_work_off_the_event_loop(cdn, tmp_path, monkeypatch):
    url = cdn(MP4, "video/mp4")
    threads: dict[str, set[int]] = {}
    for name in ("__init__", "begin", "write", "commit"):
        original = getattr(_PartFile, name)

        def spy(self, *args, _original=original, _name=name, **kwargs):
            threads.setdefault(_name, set()).add(threading.get_ident())
            return _original(self, *args, **kwargs)

        monkeypatch.setattr(_PartFile, name, spy)

    async def run() -> int:
        async with AsyncVideoGenClient("https://api.invalid/v1", "sk-test") as client:
            await client.download_content("video_1", tmp_path / "v.mp4", url=url)
        return threading.get_ident()

    loop_thread = asyncio.run(run())
    assert set(threads) == {"__init__", "begin", "write", "commit"}
    assert all(loop_thread not in idents for idents in threads.values()), threads
    assert (tmp_path / "v.mp4").read_bytes() == MP4
