"""Streaming a download to a private `.part` file: hashing, resuming, fsync and the final rename.

Every download is checked before it is kept, whatever the caller does afterwards: the
Content-Type must fit the variant asked for (a video, or an image for `thumbnail` and
`spritesheet`; `application/octet-stream` and no type at all are accepted), and the first
bytes must be an MP4 (ISO base media) box or an image signature. An HTML error page sent
with 200, an empty body or an MP4 where a thumbnail was asked for raise
`UnexpectedContentError`. A failing disk (full, read-only, closed under us) raises
`StorageError`, and the `.part` file is removed even when closing it fails again.
"""

from __future__ import annotations

import contextlib
import hashlib
import itertools
import os
import queue
import re
import threading
from pathlib import Path

import httpx
from pydantic import BaseModel, ConfigDict, Field

from prefect_videogen.exceptions import (
    APIConnectionError,
    StorageError,
    UnexpectedContentError,
)


class DownloadedContent(BaseModel):
    """A file written by `download_content`.

    Example:
        ```python
        from prefect_videogen.client import VideoGenClient

        with VideoGenClient("http://127.0.0.1:8000/v1", "sk-emulator") as client:
            content = client.download_content("video_123", "out/video.mp4")
            print(content.path, content.size, content.sha256)
        ```
    """

    model_config = ConfigDict(frozen=True)

    path: Path = Field(description="Where the file was written.")
    size: int = Field(description="Size in bytes.")
    sha256: str = Field(description="Hex sha256 of the file's bytes.")
    content_type: str = Field(description="The Content-Type the server gave, e.g. video/mp4.")


def _parse_content_range(value: str | None) -> tuple[int | None, int | None]:
    """(start, total) from `bytes START-END/TOTAL`; None where unknown."""
    match = re.fullmatch(r"\s*bytes\s+(\d+)-\d+/(\d+|\*)\s*", value or "")
    if not match:
        return None, None
    total = match.group(2)
    return int(match.group(1)), (int(total) if total.isdigit() else None)


_part_numbers = itertools.count()

#: Box types an MP4 / QuickTime (ISO base media) file may start with (bytes 4-8).
_MP4_BOXES = (b"ftyp", b"moov", b"mdat", b"free", b"skip", b"wide", b"styp", b"pnot")
#: Content types that say nothing about the body: accepted for every variant.
_GENERIC_TYPES = ("", "application/octet-stream", "binary/octet-stream")


def _is_mp4(head: bytes) -> bool:
    return len(head) >= 8 and head[4:8] in _MP4_BOXES


def _is_image(head: bytes) -> bool:
    return head.startswith((b"\xff\xd8\xff", b"\x89PNG\r\n\x1a\n", b"GIF87a", b"GIF89a")) or (
        head[:4] == b"RIFF" and head[8:12] == b"WEBP"
    )


def _type_fits(content_type: str, variant: str) -> bool:
    """Whether a Content-Type can carry `variant` (video, thumbnail, spritesheet)."""
    media = content_type.split(";", 1)[0].strip().lower()
    if media in _GENERIC_TYPES:
        return True
    if variant == "video":
        return media.startswith("video/") or media == "application/mp4"
    return media.startswith("image/")


def _storage_error(path: Path, exc: OSError, doing: str) -> StorageError:
    reason = exc.strerror or str(exc) or type(exc).__name__
    return StorageError(
        f"{doing} {str(path)!r} failed: {reason}. The video job is paid and finished, so do "
        "not submit it again: fix the storage (free space, permissions, the block), then run "
        "again; a rerun with the same request and attempt reuses the job and only downloads "
        "it again (or call download_content again with the job id).",
        path=str(path),
    )


def _process_is_gone(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    except OSError:  # e.g. PermissionError: it exists, under another user
        return False
    return False


def _remove_orphaned_parts(destination: Path) -> None:
    """Delete `<destination>.<pid>-<n>.part` files left by processes that no longer run.

    A folder is listed once per process, the first time a download completes into it (a
    batch stores thousands of videos in one folder: listing it at every download made the
    batch quadratic). Parts written later by other processes are theirs to finish; those
    left by a process that dies meanwhile are removed by the next process.
    """
    if os.name != "posix":  # os.kill(pid, 0) is only a liveness probe on POSIX
        return
    key = (os.getpid(), str(destination.parent))
    parts = _parts_seen.get(key)
    if parts is None:
        with os.scandir(destination.parent) as entries:  # one C-level listing, no stat
            parts = _parts_seen[key] = {e.name for e in entries if e.name.endswith(".part")}
    prefix = destination.name + "."
    for name in [name for name in parts if name.startswith(prefix)]:
        parts.discard(name)
        pid = name[len(prefix) :].split("-", 1)[0]
        if pid.isdigit() and int(pid) != os.getpid() and _process_is_gone(int(pid)):
            (destination.parent / name).unlink(missing_ok=True)


#: The `.part` files seen in each folder when this process first listed it: (pid, folder).
_parts_seen: dict[tuple[int, str], set[str]] = {}


#: Bytes written inline before a download hands its writing and hashing to a thread.
_INLINE_WRITE_BYTES = 4 << 20
#: Chunks (of up to 64 KiB) that may wait for the writer thread.
_WRITE_QUEUE_CHUNKS = 64


class _PartFile:
    """`<destination>.<pid>-<n>.part` being written: offset, hash, and resume bookkeeping.

    The name is this writer's own, so two downloads to one destination never write into
    the same file; parts left by a killed process are removed by the next process whose
    download completes to the same destination.

    Past the first few MiB, chunks are written and hashed by a thread of its own, so disk
    writes and SHA-256 (both release the GIL) overlap with reading the socket; at most
    `_WRITE_QUEUE_CHUNKS` chunks wait for it, so memory stays bounded.
    """

    def __init__(self, destination: Path, buffer_size: int, variant: str = "video") -> None:
        self.destination = destination
        self.variant = variant
        self.path = destination.with_name(
            f"{destination.name}.{os.getpid()}-{next(_part_numbers)}.part"
        )
        try:
            destination.parent.mkdir(parents=True, exist_ok=True)
            # Closed by commit() or discard(). Chunks go to the file as they arrive (so a
            # cut loses nothing already received); the file buffers `buffer_size` bytes.
            self._file = open(self.path, "wb", buffering=buffer_size)  # noqa: SIM115
        except OSError as exc:
            raise _storage_error(self.path, exc, "creating") from exc
        self._head = b""
        self._hash = hashlib.sha256()
        self._queue: queue.Queue[bytes | None] = queue.Queue(maxsize=_WRITE_QUEUE_CHUNKS)
        self._writer: threading.Thread | None = None
        self._write_error: BaseException | None = None
        self.size = 0
        self.expected_size: int | None = None
        self.resumable = False
        self.range_ignored = False
        self.content_type = "application/octet-stream"

    def request_headers(self) -> dict[str, str]:
        """Headers for the next attempt: a Range when resuming is possible."""
        headers = {"Accept": "*/*", "Accept-Encoding": "identity"}
        if self.size and not self.resumable:
            self._restart()
        if self.size:
            headers["Range"] = f"bytes={self.size}-"
        return headers

    def begin(self, response: httpx.Response) -> None:
        """Accept a success response: continue after a matching 206, else start over."""
        encoded = response.headers.get("content-encoding", "identity").lower() not in (
            "",
            "identity",
        )
        if response.status_code == 206:
            start, total = _parse_content_range(response.headers.get("content-range"))
            if not self.size or start != self.size:
                self._restart()
                self.resumable = False
                raise APIConnectionError(
                    f"the server answered a range request with Content-Range "
                    f"{response.headers.get('content-range')!r}, expected bytes {self.size}-; "
                    "restarting the download from byte 0"
                )
            self.expected_size = total
            return
        if self.size:  # a Range request answered 200: the server ignores Range
            self.range_ignored = True
            self._restart()
        self.resumable = (
            response.headers.get("accept-ranges", "").lower() == "bytes" and not encoded
        )
        length = response.headers.get("content-length", "")
        self.expected_size = int(length) if length.isdigit() and not encoded else None
        given = response.headers.get("content-type", "")
        if not _type_fits(given, self.variant):
            raise UnexpectedContentError(
                f"GET {response.url.path}: the server answered HTTP {response.status_code} with "
                f"Content-Type {given!r}, which is not a {self.variant}; probably an error "
                "page from a proxy or an expired link. Nothing was stored",
                status_code=response.status_code,
                code="unexpected_content_type",
            )
        self.content_type = given or self.content_type

    def write(self, chunk: bytes) -> None:
        if self._write_error is not None:
            raise self._failed_write()
        if len(self._head) < 16:
            self._head += chunk[: 16 - len(self._head)]
        if self._writer is not None:
            self._queue.put(chunk)
        else:
            try:
                self._write_now(chunk)
            except OSError as exc:
                raise _storage_error(self.path, exc, "writing") from exc
            if self.size + len(chunk) >= _INLINE_WRITE_BYTES:
                self._writer = threading.Thread(
                    target=self._write_queued, name="prefect-videogen-download", daemon=True
                )
                self._writer.start()
        self.size += len(chunk)

    def _write_now(self, chunk: bytes) -> None:
        self._file.write(chunk)
        self._hash.update(chunk)

    def _write_queued(self) -> None:
        while (chunk := self._queue.get()) is not None:
            try:
                if self._write_error is None:
                    self._write_now(chunk)
            except BaseException as exc:  # raised in the downloading thread by write()
                self._write_error = exc
            finally:
                self._queue.task_done()
        self._queue.task_done()

    def _failed_write(self) -> BaseException:
        error = self._write_error
        if isinstance(error, OSError):
            return _storage_error(self.path, error, "writing")
        return error  # type: ignore[return-value]

    def _written(self) -> None:
        """Wait until every queued chunk is written and hashed; raise what writing raised."""
        if self._writer is not None:
            self._queue.join()
        if self._write_error is not None:
            raise self._failed_write()

    def _stop_writer(self) -> None:
        if self._writer is not None:
            self._queue.put(None)
            self._writer.join()
            self._writer = None

    def end(self, status_code: int = 200) -> None:
        """Check the body was complete, and that it is the content asked for."""
        if self.expected_size is not None and self.size != self.expected_size:
            raise APIConnectionError(
                f"the download ended after {self.size} of {self.expected_size} bytes"
            )
        problem = None
        if self.size == 0:
            problem = "an empty body (0 bytes)"
        elif self.variant == "video" and not _is_mp4(self._head):
            problem = "a body that is not an MP4 (no ISO base media box at its start)"
        elif self.variant != "video" and not _is_image(self._head):
            kind = "an MP4" if _is_mp4(self._head) else "a body that is not an image"
            problem = f"{kind} where a {self.variant} image was asked for"
        if problem is not None:
            raise UnexpectedContentError(
                f"the download of {self.destination.name!r} got {problem} "
                f"(Content-Type {self.content_type!r}); nothing was stored",
                status_code=status_code,
                code="unexpected_content",
            )

    def commit(self) -> DownloadedContent:
        """fsync the part file and move it into place."""
        self._written()
        self._stop_writer()
        try:
            self._file.flush()
            os.fsync(self._file.fileno())
            self._file.close()
            os.replace(self.path, self.destination)
        except OSError as exc:
            raise _storage_error(self.destination, exc, "writing") from exc
        _remove_orphaned_parts(self.destination)
        if hasattr(os, "O_DIRECTORY"):
            fd = os.open(self.destination.parent, os.O_RDONLY | os.O_DIRECTORY)
            try:
                os.fsync(fd)
            finally:
                os.close(fd)
        return DownloadedContent(
            path=self.destination,
            size=self.size,
            sha256=self._hash.hexdigest(),
            content_type=self.content_type,
        )

    def discard(self) -> None:
        """Remove the part file, even when closing it fails (ENOSPC again on the flush)."""
        try:
            self._stop_writer()
            # The buffered bytes may not flush (ENOSPC again); the descriptor closes anyway.
            with contextlib.suppress(OSError):
                self._file.close()
        finally:
            self.path.unlink(missing_ok=True)

    def _restart(self) -> None:
        self._written()
        try:
            self._file.seek(0)
            self._file.truncate()
        except OSError as exc:
            raise _storage_error(self.path, exc, "rewinding") from exc
        self._hash = hashlib.sha256()
        self._head = b""
        self.size = 0
        self.expected_size = None
