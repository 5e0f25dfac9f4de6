"""ASGI responses the emulator needs beyond Starlette's: a ranged file stream that can drop
the connection part-way (a planned drop, or a total time limit such as new-api's 60 s proxy
cutoff), optionally throttled to a byte rate, and a JSON answer cut off mid-body.

`FileStream` reads the file in 1 MiB chunks off the event loop, answers `Range:
bytes=a-b`, `bytes=a-` and `bytes=-n` with 206 (416 when unsatisfiable; several ranges get
the whole file, which RFC 9110 allows), honours `If-Range` with the ETag, and stops when
the client disconnects. A planned drop sends the headers and `drop_after` bytes, then
raises `InjectedDisconnect`: uvicorn closes the socket, so the client sees a body shorter
than its Content-Length.
"""

from __future__ import annotations

import asyncio
import logging
import re
import time
from pathlib import Path
from typing import Any

import anyio
from starlette.responses import Response
from starlette.types import Receive, Scope, Send

from prefect_videogen.emulator.faults import InjectedDisconnect

__all__ = ["DroppedResponse", "FileStream", "install_log_filter"]

_CHUNK = 1 << 20
_RANGE = re.compile(r"^\s*bytes\s*=\s*(\d*)\s*-\s*(\d*)\s*$")


def _parse_range(header: str | None, size: int) -> tuple[int, int] | str | None:
    """(start, end inclusive), None for the whole file, "unsatisfiable" for a 416."""
    if not header:
        return None
    if "," in header:
        return None
    match = _RANGE.match(header)
    if not match:
        return None
    first, last = match.group(1), match.group(2)
    if first == "" and last == "":
        return None
    if first == "":
        length = int(last)
        if length == 0:
            return "unsatisfiable"
        return max(0, size - length), size - 1
    start = int(first)
    end = int(last) if last else size - 1
    if start >= size or end < start:
        return "unsatisfiable"
    return start, min(end, size - 1)


class FileStream(Response):
    """A file served from disk with Range support; optionally dropped after some bytes."""

    def __init__(
        self,
        path: Path,
        *,
        media_type: str,
        filename: str,
        etag: str,
        range_header: str | None = None,
        if_range: str | None = None,
        headers: dict[str, str] | None = None,
        drop_after: int | None = None,
        rate: int | None = None,
        cutoff: float | None = None,
    ) -> None:
        self.path = path
        self.size = path.stat().st_size
        self.drop_after = drop_after
        self.rate = rate
        self.cutoff = cutoff
        self.status_code = 200
        self.background = None
        self.media_type = media_type
        selected = _parse_range(range_header, self.size)
        if if_range is not None and if_range.strip() != f'"{etag}"':
            selected = None
        raw = {
            "content-type": media_type,
            "accept-ranges": "bytes",
            "etag": f'"{etag}"',
            "content-disposition": f'attachment; filename="{filename}"',
            **(headers or {}),
        }
        self.start, self.end = 0, self.size - 1
        if selected == "unsatisfiable":
            self.status_code = 416
            raw["content-range"] = f"bytes */{self.size}"
            self.start, self.end = 0, -1
        elif isinstance(selected, tuple):
            self.status_code = 206
            self.start, self.end = selected
            raw["content-range"] = f"bytes {self.start}-{self.end}/{self.size}"
        raw["content-length"] = str(self.end - self.start + 1)
        self.raw_headers = [(k.encode("latin-1"), v.encode("latin-1")) for k, v in raw.items()]

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        await send(
            {"type": "http.response.start", "status": self.status_code, "headers": self.raw_headers}
        )
        length = self.end - self.start + 1
        if scope.get("method") == "HEAD" or length <= 0:
            await send({"type": "http.response.body", "body": b"", "more_body": False})
            return
        limit = length
        if self.drop_after is not None:
            limit = min(length - 1, self.drop_after)
        disconnected = asyncio.ensure_future(_wait_disconnect(receive))
        started = time.monotonic()
        step = _CHUNK if self.rate is None else max(1, min(_CHUNK, self.rate // 20))
        try:
            with self.path.open("rb") as handle:
                handle.seek(self.start)
                sent = 0
                while sent < limit and not disconnected.done():
                    await self._pace(started, sent)
                    chunk = await anyio.to_thread.run_sync(handle.read, min(step, limit - sent))
                    if not chunk:
                        break
                    sent += len(chunk)
                    await send({"type": "http.response.body", "body": chunk, "more_body": True})
            if self.drop_after is not None and not disconnected.done():
                raise InjectedDisconnect(f"dropped after {sent} of {length} bytes")
            await send({"type": "http.response.body", "body": b"", "more_body": False})
        finally:
            disconnected.cancel()

    async def _pace(self, started: float, sent: int) -> None:
        """Wait for the throttle (`rate`); cut the connection once `cutoff` has passed."""
        wait = 0.0 if self.rate is None else started + sent / self.rate - time.monotonic()
        if self.cutoff is not None:
            left = started + self.cutoff - time.monotonic()
            if wait >= left:
                await asyncio.sleep(max(0.0, left))
                raise InjectedDisconnect(f"cut after {self.cutoff:g} s and {sent} bytes")
        if wait > 0:
            await asyncio.sleep(wait)


async def _wait_disconnect(receive: Receive) -> None:
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            return


class DroppedResponse(Response):
    """Sends `inner`'s status, headers and part of its body, then drops the connection."""

    def __init__(self, inner: Response, drop_after: int | None = None) -> None:
        self.inner = inner
        self.drop_after = drop_after
        self.status_code = inner.status_code
        self.background = None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        body = bytes(self.inner.body)
        cut = len(body) // 2 if self.drop_after is None else self.drop_after
        cut = max(0, min(cut, len(body) - 1))
        await send(
            {
                "type": "http.response.start",
                "status": self.inner.status_code,
                "headers": self.inner.raw_headers,
            }
        )
        await send({"type": "http.response.body", "body": body[:cut], "more_body": True})
        raise InjectedDisconnect(f"dropped after {cut} of {len(body)} bytes")


class _DropFilter(logging.Filter):
    """Hides uvicorn's traceback for connections the emulator drops on purpose."""

    def filter(self, record: logging.LogRecord) -> bool:
        info: Any = record.exc_info
        return not (info and isinstance(info[1], InjectedDisconnect))


_FILTER = _DropFilter()


def install_log_filter() -> None:
    """Install the filter on uvicorn's error logger (once)."""
    logger = logging.getLogger("uvicorn.error")
    if _FILTER not in logger.filters:
        logger.addFilter(_FILTER)
