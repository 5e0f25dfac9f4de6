"""HTTP clients for the OpenAI video format API: submit, poll, list, delete and download.

`VideoGenClient` (sync) and `AsyncVideoGenClient` (async) speak to OpenAI (Sora) and to
new-api gateways alike. Both share the request building and response reading in
`_BaseVideoGenClient`; only the sending, sleeping and streaming differ.

Safety rules they keep:

- A create (or remix) POST is retried only when the server surely did not accept it: the
  connection could not be opened, or the server answered 429 or 5xx. When the request may
  have reached the server and no answer came back, `SubmissionUncertainError` is raised and
  nothing is resent, so a paid job is never submitted twice by accident.
- The API key and extra headers go only to the API's own origin, never to a CDN URL, and
  never appear in exception messages, reprs or logs.
- Downloads stream to `<destination>.part`, are hashed while writing, fsynced and then
  moved into place; a failed download leaves no file behind.
"""

from __future__ import annotations

import functools
import hashlib
import inspect
import itertools
import json
import logging
import os
import queue
import re
import ssl
import threading
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any, Literal
from urllib.parse import quote

import httpx
from pydantic import BaseModel, ConfigDict, Field, SecretStr, ValidationError

from prefect_videogen.exceptions import (
    APIConnectionError,
    APIError,
    AuthenticationError,
    ContentExpiredError,
    InvalidRequestError,
    NotFoundError,
    RateLimitError,
    ServerError,
    SubmissionUncertainError,
    VideoGenerationFailed,
    VideoGenError,
    VideoTimeoutError,
    is_transient,
)
from prefect_videogen.families import ModelFamily, VideoRequest, family_for_model
from prefect_videogen.http_retry import Backoff, aretry_call, retry_call
from prefect_videogen.models import (
    ContentVariant,
    DeletedVideo,
    VideoJob,
    VideoList,
    VideoStatus,
)

__all__ = ["DEFAULT_BASE_URL", "AsyncVideoGenClient", "DownloadedContent", "VideoGenClient"]

DEFAULT_BASE_URL = "https://api.openai.com/v1"

try:
    _USER_AGENT = f"prefect-videogen/{version('prefect-videogen')}"
except PackageNotFoundError:  # pragma: no cover - running from a source tree
    _USER_AGENT = "prefect-videogen"

logger = logging.getLogger("prefect_videogen.client")

_MAX_REDIRECTS = 5
_MAX_MESSAGE_CHARS = 500

# Failures that happen before any byte of the request left: resending cannot duplicate a job.
_NOT_SENT = (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout)

# Gateway error codes that name the request field at fault.
_FIELD_BY_CODE = {
    "invalid_size": "size",
    "missing_model": "model",
    "invalid_seconds": "seconds",
    "invalid_duration": "seconds",
    "invalid_prompt": "prompt",
}
# Field names looked for in a 400 message when the server names no field.
_KNOWN_FIELDS = (
    "prompt",
    "seconds",
    "size",
    "duration",
    "input_reference",
    "image",
    "metadata",
    "model",
)

# What kind of call a request is; decides how errors and transport failures read.
#   api: an idempotent call to the API (GET, DELETE); submit: a paid POST (create, remix);
#   list: GET /videos; content: a download from the API origin; cdn: a download from elsewhere.
_Kind = Literal["api", "submit", "list", "content", "cdn"]


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


@functools.cache
def _ssl_context() -> ssl.SSLContext:
    """One verifying TLS context for every client: loading the CA store costs ~0.1 s of CPU."""
    return httpx.create_ssl_context()


# --------------------------------------------------------------------------------------
# Reading errors


def _redact(text: str, secrets: tuple[str, ...]) -> str:
    for secret in secrets:
        text = text.replace(secret, "***")
    return text


def _check_header_value(field: str, value: str) -> None:
    """Reject values httpx would refuse later with the value quoted in the error."""
    if not value.isascii() or any(ch in value for ch in "\r\n\0"):
        raise InvalidRequestError(
            field, "contains characters not allowed in an HTTP header (non-ASCII or a line break)"
        )


def _retry_after(headers: httpx.Headers) -> float | None:
    """The server's hint in seconds: `retry-after-ms`, `Retry-After` seconds or HTTP date."""
    millis = headers.get("retry-after-ms")
    if millis:
        try:
            return max(0.0, float(millis) / 1000)
        except ValueError:
            pass
    value = headers.get("retry-after")
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - datetime.now(UTC)).total_seconds())


def _error_fields(response: httpx.Response) -> tuple[str, str | None, str | None]:
    """(message, code, param) from any error body: OpenAI, new-api gateway or plain text."""
    text = response.text
    try:
        body = json.loads(text) if text else None
    except ValueError:
        body = None
    message: Any = None
    code: Any = None
    param: Any = None
    if isinstance(body, Mapping):
        error = body.get("error")
        if isinstance(error, Mapping):  # OpenAI: {"error": {"message", "type", "param", "code"}}
            message, code, param = error.get("message"), error.get("code"), error.get("param")
        elif isinstance(error, str) and error:
            message = error
        if not message:  # gateway: {"code", "message", "data"}
            message = next(
                (body[k] for k in ("message", "msg", "detail") if isinstance(body.get(k), str)),
                None,
            )
        if code in (None, "") and body.get("code") not in (None, "", 0, "0", "success"):
            code = body["code"]
        if param is None:
            param = body.get("param")
    if not message:
        message = " ".join(text.split()) or response.reason_phrase or "no message"
    message = str(message)
    if len(message) > _MAX_MESSAGE_CHARS:
        message = message[:_MAX_MESSAGE_CHARS] + "..."
    return (
        message,
        str(code) if code not in (None, "") else None,
        str(param) if param not in (None, "") else None,
    )


def _infer_field(param: str | None, code: str | None, message: str) -> str | None:
    if param:
        return param
    if code in _FIELD_BY_CODE:
        return _FIELD_BY_CODE[code]
    lowered = message.lower()
    return next((f for f in _KNOWN_FIELDS if re.search(rf"\b{f}\b", lowered)), None)


def _error_from_response(
    response: httpx.Response,
    *,
    what: str,
    kind: _Kind,
    secrets: tuple[str, ...],
    model: str | None = None,
) -> VideoGenError:
    """The typed error for an error answer (the body must have been read)."""
    status = response.status_code
    raw_message, code, param = _error_fields(response)
    raw_message = _redact(raw_message, secrets)
    request_id = response.headers.get("x-request-id")
    suffix = f" [request id {request_id}]" if request_id else ""
    message = f"{what}: {raw_message}{suffix}"
    details: dict[str, Any] = {"status_code": status, "code": code, "request_id": request_id}

    if code == "task_not_exist" or raw_message == "task_not_exist":
        return NotFoundError(message, **details)
    if kind == "list" and status in (404, 405, 501):
        hint = (
            f"{what}: this server does not list videos ({raw_message}). new-api gateways do "
            f"not implement GET /videos; keep the job ids that create() returns.{suffix}"
        )
        return NotFoundError(hint, **details) if status == 404 else APIError(hint, **details)
    if kind == "cdn" and status in (401, 403, 404, 410):
        return ContentExpiredError(
            f"{what}: the provider URL no longer serves the video ({raw_message}); "
            f"it has probably expired, download from /content or submit again{suffix}",
            **details,
        )
    if status in (400, 422):
        return InvalidRequestError(
            _infer_field(param, code, raw_message),
            raw_message + suffix,
            model=model,
            status_code=status,
            code=code,
        )
    if status == 413:
        return InvalidRequestError(
            _infer_field(param, code, raw_message) or "input_reference",
            f"the request is too large for the server ({raw_message}); send a smaller image"
            + suffix,
            model=model,
            status_code=status,
            code=code,
        )
    if status in (401, 403):
        return AuthenticationError(
            f"{message}; check api_key and base_url on the VideoGenCredentials block", **details
        )
    if status == 404:
        return NotFoundError(message, **details)
    if status == 410:
        return ContentExpiredError(message, **details)
    if status == 429:
        return RateLimitError(message, retry_after=_retry_after(response.headers), **details)
    if kind == "content" and status == 502 and re.search(r"\b(403|404|410)\b", raw_message):
        return ContentExpiredError(
            f"{message}; the provider's copy of the video has expired, submit the job again",
            **details,
        )
    if kind == "submit" and status == 504:
        # A gateway timed out waiting for its upstream, which may have accepted the job.
        return SubmissionUncertainError(
            f"{message}. The gateway timed out waiting for the provider, so a job may have "
            "been created and billed; look for it before submitting again."
        )
    if status >= 500 and status != 501:  # 501 Not Implemented will not change on retry
        return ServerError(message, retry_after=_retry_after(response.headers), **details)
    return APIError(message, **details)


def _connection_error(
    exc: httpx.TransportError, *, what: str, kind: _Kind, secrets: tuple[str, ...]
) -> VideoGenError:
    """The typed error for a transport failure; decides whether a create may be resent."""
    detail = _redact(f"{type(exc).__name__}: {exc}".rstrip(": "), secrets)
    if isinstance(exc, httpx.UnsupportedProtocol):
        return InvalidRequestError(
            "base_url", f"{what}: {detail}", allowed="an http:// or https:// URL"
        )
    if isinstance(exc, _NOT_SENT):
        return APIConnectionError(
            f"{what}: could not connect ({detail}); check base_url and the network"
        )
    if kind == "submit":
        return SubmissionUncertainError(
            f"{what}: the request was sent but no answer came back ({detail}). A job may have "
            "been created and billed; look for it (client.list() on OpenAI, else the "
            "gateway's or provider's console) before submitting again."
        )
    return APIConnectionError(f"{what}: the connection failed ({detail})")


# --------------------------------------------------------------------------------------
# Requests, downloads and polling state shared by both clients


@dataclass(frozen=True)
class _Call:
    """One API call, described once and built anew for every attempt."""

    method: str
    path: str
    kind: _Kind = "api"
    params: Mapping[str, Any] | None = None
    json: Any = None
    files: list[tuple[str, tuple[Any, ...]]] | None = None
    headers: Mapping[str, str] | None = None
    model: str | None = None

    @property
    def what(self) -> str:
        return f"{self.method} {self.path}"


def _job_id(payload: Mapping[str, Any]) -> Any:
    found = payload.get("id") or payload.get("task_id")
    data = payload.get("data")
    if not found and isinstance(data, Mapping):
        found = data.get("id") or data.get("task_id")
    return found


def _parse_content_range(value: str | None) -> tuple[int | None, int | None]:
    """(start, total) from `bytes START-END/TOTAL`; None where unknown."""
    match = re.fullmatch(r"\s*bytes\s+(\d+)-\d+/(\d+|\*)\s*", value or "")
    if not match:
        return None, None
    total = match.group(2)
    return int(match.group(1)), (int(total) if total.isdigit() else None)


_part_numbers = itertools.count()


def _process_is_gone(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    except OSError:  # e.g. PermissionError: it exists, under another user
        return False
    return False


def _remove_orphaned_parts(destination: Path) -> None:
    """Delete `<destination>.<pid>-<n>.part` files left by processes that no longer run."""
    if os.name != "posix":  # os.kill(pid, 0) is only a liveness probe on POSIX
        return
    prefix = destination.name + "."
    with os.scandir(destination.parent) as entries:  # one C-level listing, no per-entry stat
        parts = [e.name for e in entries if e.name.startswith(prefix) and e.name.endswith(".part")]
    for name in parts:
        pid = name[len(prefix) :].split("-", 1)[0]
        if pid.isdigit() and int(pid) != os.getpid() and _process_is_gone(int(pid)):
            (destination.parent / name).unlink(missing_ok=True)


#: Bytes written inline before a download hands its writing and hashing to a thread.
_INLINE_WRITE_BYTES = 4 << 20
#: Chunks (of up to 64 KiB) that may wait for the writer thread.
_WRITE_QUEUE_CHUNKS = 64


class _PartFile:
    """`<destination>.<pid>-<n>.part` being written: offset, hash, and resume bookkeeping.

    The name is this writer's own, so two downloads to one destination never write into
    the same file; parts left by a killed process are removed by the next download that
    completes to the same destination.

    Past the first few MiB, chunks are written and hashed by a thread of its own, so disk
    writes and SHA-256 (both release the GIL) overlap with reading the socket; at most
    `_WRITE_QUEUE_CHUNKS` chunks wait for it, so memory stays bounded.
    """

    def __init__(self, destination: Path, buffer_size: int) -> None:
        self.destination = destination
        self.path = destination.with_name(
            f"{destination.name}.{os.getpid()}-{next(_part_numbers)}.part"
        )
        destination.parent.mkdir(parents=True, exist_ok=True)
        # Closed by commit() or discard(). Chunks go to the file as they arrive (so a cut
        # loses nothing already received); the file buffers `buffer_size` bytes per write.
        self._file = open(self.path, "wb", buffering=buffer_size)  # noqa: SIM115
        self._hash = hashlib.sha256()
        self._queue: queue.Queue[bytes | None] = queue.Queue(maxsize=_WRITE_QUEUE_CHUNKS)
        self._writer: threading.Thread | None = None
        self._write_error: BaseException | None = None
        self.size = 0
        self.expected_size: int | None = None
        self.resumable = False
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
        if self.size:
            self._restart()
        self.resumable = (
            response.headers.get("accept-ranges", "").lower() == "bytes" and not encoded
        )
        length = response.headers.get("content-length", "")
        self.expected_size = int(length) if length.isdigit() and not encoded else None
        self.content_type = response.headers.get("content-type", self.content_type)

    def write(self, chunk: bytes) -> None:
        if self._write_error is not None:
            raise self._write_error
        if self._writer is not None:
            self._queue.put(chunk)
        else:
            self._write_now(chunk)
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

    def _written(self) -> None:
        """Wait until every queued chunk is written and hashed; raise what writing raised."""
        if self._writer is not None:
            self._queue.join()
        if self._write_error is not None:
            raise self._write_error

    def _stop_writer(self) -> None:
        if self._writer is not None:
            self._queue.put(None)
            self._writer.join()
            self._writer = None

    def end(self) -> None:
        """Check the body was complete."""
        if self.expected_size is not None and self.size != self.expected_size:
            raise APIConnectionError(
                f"the download ended after {self.size} of {self.expected_size} bytes"
            )

    def commit(self) -> DownloadedContent:
        """fsync the part file and move it into place."""
        self._written()
        self._stop_writer()
        self._file.flush()
        os.fsync(self._file.fileno())
        self._file.close()
        os.replace(self.path, self.destination)
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
        self._stop_writer()
        self._file.close()
        self.path.unlink(missing_ok=True)

    def _restart(self) -> None:
        self._written()
        self._file.seek(0)
        self._file.truncate()
        self._hash = hashlib.sha256()
        self.size = 0
        self.expected_size = None


class _Poller:
    """When to poll next, when to call on_update, and when to stop waiting."""

    def __init__(
        self, video_id: str, *, timeout: float | None, min_interval: float, max_interval: float
    ) -> None:
        if min_interval < 0 or max_interval < min_interval:
            raise InvalidRequestError(
                "min_interval",
                f"need 0 <= min_interval <= max_interval, got {min_interval} and {max_interval}",
            )
        self.video_id = video_id
        self.started = time.monotonic()
        self.deadline = None if timeout is None else self.started + timeout
        self.interval = min_interval
        self.max_interval = max_interval
        self.last_job: VideoJob | None = None
        self.last_error: VideoGenError | None = None
        self._seen: tuple[VideoStatus, int] | None = None

    def observe(self, job: VideoJob) -> bool:
        """Record a polled job; True when its status or progress changed."""
        self.last_job, self.last_error = job, None
        seen = (job.status, job.progress)
        changed, self._seen = seen != self._seen, seen
        return changed

    def finished(self, job: VideoJob) -> bool:
        """True when completed; raises VideoGenerationFailed when failed."""
        if job.status is VideoStatus.FAILED:
            raise VideoGenerationFailed(job)
        return job.status is VideoStatus.COMPLETED

    def poll_failed(self, exc: VideoGenError) -> None:
        """Keep polling through transient errors; anything else ends the wait."""
        if not is_transient(exc):
            raise exc
        self.last_error = exc
        logger.warning("Polling video %s failed, will poll again: %s", self.video_id, exc)

    def next_delay(self) -> float:
        """Seconds until the next poll; raises VideoTimeoutError when time is up."""
        hint = self.last_job.poll_after_ms if self.last_job and not self.last_error else None
        if hint is not None:
            delay = min(max(hint / 1000, 0.0), self.max_interval)
        else:
            delay = self.interval
            self.interval = min(self.interval * 1.5, self.max_interval)
        if self.deadline is not None:
            remaining = self.deadline - time.monotonic()
            if remaining <= 0:
                last_status = self.last_job.status.value if self.last_job else None
                raise VideoTimeoutError(
                    self.video_id, time.monotonic() - self.started, last_status
                ) from self.last_error
            delay = min(delay, remaining)
        return delay


class _BaseVideoGenClient:
    """Configuration, request building and response reading shared by both clients."""

    _http: httpx.Client | httpx.AsyncClient

    def __init__(
        self,
        base_url: str,
        api_key: str | SecretStr | None,
        *,
        headers: Mapping[str, str] | None,
        timeout: float | httpx.Timeout,
        max_retries: int,
        backoff: Backoff | None,
    ) -> None:
        if not isinstance(base_url, str) or not base_url.startswith(("http://", "https://")):
            raise InvalidRequestError(
                "base_url",
                value=base_url,
                allowed="an http(s) URL with the version prefix, e.g. https://api.openai.com/v1",
            )
        if max_retries < 0:
            raise InvalidRequestError("max_retries", value=max_retries, allowed="0 or more")
        self.base_url = base_url.rstrip("/")
        self._origin = httpx.URL(self.base_url)
        key = api_key.get_secret_value() if isinstance(api_key, SecretStr) else api_key
        key = (key or "").strip()
        _check_header_value("api_key", key)
        self._api_key = SecretStr(key) if key else None
        self._extra_headers: dict[str, str] = {}
        for name, value in (headers or {}).items():
            _check_header_value(f"headers.{name}", str(name))
            _check_header_value(f"headers.{name}", str(value))
            self._extra_headers[str(name)] = str(value)
        self.max_retries = max_retries
        self._backoff = backoff or Backoff()
        self._timeout = timeout if isinstance(timeout, httpx.Timeout) else httpx.Timeout(timeout)

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}(base_url={self.base_url!r}, "
            f"api_key={'set' if self._api_key else 'unset'}, max_retries={self.max_retries})"
        )

    # -- headers ------------------------------------------------------------------------

    def _secrets(self) -> tuple[str, ...]:
        values = [v for v in self._extra_headers.values() if len(v) >= 6]
        if self._api_key:
            values.insert(0, self._api_key.get_secret_value())
        return tuple(values)

    def _api_headers(self) -> dict[str, str]:
        """Headers for the API origin only: the key and the caller's extra headers."""
        headers = dict(self._extra_headers)
        if self._api_key:
            headers["Authorization"] = f"Bearer {self._api_key.get_secret_value()}"
        return headers

    def _same_origin(self, url: httpx.URL) -> bool:
        return (url.scheme, url.host, url.port) == (
            self._origin.scheme,
            self._origin.host,
            self._origin.port,
        )

    # -- building calls -----------------------------------------------------------------

    @staticmethod
    def _video_path(video_id: str, suffix: str = "") -> str:
        if not isinstance(video_id, str) or not video_id.strip():
            raise InvalidRequestError("video_id", value=video_id, allowed="a non-empty job id")
        segment = quote(video_id, safe="")
        if segment in (".", ".."):  # a bare dot segment would be collapsed into another path
            segment = segment.replace(".", "%2E")
        return f"/videos/{segment}{suffix}"

    def _create_call(
        self, request: VideoRequest, idempotency_key: str | None
    ) -> tuple[ModelFamily, _Call]:
        family = family_for_model(request.model)
        encoded = family.encode(family.validate(request))
        headers = {}
        if idempotency_key is not None:
            if not idempotency_key:
                raise InvalidRequestError("idempotency_key", "must not be empty")
            _check_header_value("idempotency_key", idempotency_key)
            headers["Idempotency-Key"] = idempotency_key
        if encoded.json is not None:
            return family, _Call(
                "POST",
                "/videos",
                kind="submit",
                json=encoded.json,
                headers=headers,
                model=request.model,
            )
        # Multipart, always (plain form fields become parts) as the OpenAI SDK sends it.
        parts: list[tuple[str, tuple[Any, ...]]] = [
            (name, (None, str(value))) for name, value in (encoded.data or {}).items()
        ]
        parts += list(encoded.files or [])
        if not parts:
            raise InvalidRequestError("request", f"family {family.name!r} encoded an empty body")
        return family, _Call(
            "POST", "/videos", kind="submit", files=parts, headers=headers, model=request.model
        )

    def _remix_call(self, video_id: str, prompt: str) -> _Call:
        if not isinstance(prompt, str) or not prompt.strip():
            raise InvalidRequestError("prompt", value=prompt, allowed="a non-empty string")
        path = self._video_path(video_id, "/remix")
        return _Call("POST", path, kind="submit", json={"prompt": prompt})

    @staticmethod
    def _list_call(after: str | None, limit: int | None, order: str | None) -> _Call:
        if limit is not None and not 0 <= limit <= 100:
            raise InvalidRequestError("limit", value=limit, allowed="0 to 100")
        if order is not None and order not in ("asc", "desc"):
            raise InvalidRequestError("order", value=order, allowed=["asc", "desc"])
        given = {"after": after, "limit": limit, "order": order}
        params = {name: value for name, value in given.items() if value is not None}
        return _Call("GET", "/videos", kind="list", params=params)

    def _content_target(
        self, video_id: str, variant: str, url: str | None
    ) -> tuple[httpx.URL, dict[str, str]]:
        """The first URL of a download and its query parameters."""
        if url is not None:
            target = httpx.URL(self.base_url + "/").join(url)
            if target.scheme not in ("http", "https"):
                raise InvalidRequestError("url", value=url, allowed="an http(s) URL")
            return target, {}
        try:
            ContentVariant(variant)
        except ValueError:
            raise InvalidRequestError(
                "variant", value=variant, allowed=[v.value for v in ContentVariant]
            ) from None
        params = {} if variant == ContentVariant.VIDEO.value else {"variant": variant}
        return httpx.URL(self.base_url + self._video_path(video_id, "/content")), params

    @staticmethod
    def _open_part(destination: str | Path, chunk_size: int) -> _PartFile:
        path = Path(destination)
        if path.is_dir():
            raise InvalidRequestError(
                "destination", f"{str(path)!r} is a directory; give a file path"
            )
        if chunk_size < 1:
            raise InvalidRequestError("chunk_size", value=chunk_size, allowed="1 or more")
        return _PartFile(path, chunk_size)

    def _download_call(self, target: httpx.URL) -> _Call:
        """Describes a download in messages: the path on the API, else host and path."""
        if self._same_origin(target):
            return _Call("GET", target.path, kind="content")
        return _Call("GET", f"{target.scheme}://{target.host}{target.path}", kind="cdn")

    def _download_error(
        self, response: httpx.Response, call: _Call, kind: _Kind, part: _PartFile
    ) -> VideoGenError:
        if response.status_code == 416 and part.size:  # the range no longer fits: start over
            part.resumable = False
            return APIConnectionError(f"{call.what}: the server refused to resume; restarting")
        return self._error(response, call, kind)

    def _build_request(self, call: _Call) -> httpx.Request:
        return self._http.build_request(
            call.method,
            self.base_url + call.path,
            params=call.params,
            json=call.json,
            files=call.files,
            headers={**self._api_headers(), **(call.headers or {})},
        )

    def _content_request(
        self, url: httpx.URL, params: Mapping[str, str], part: _PartFile
    ) -> tuple[httpx.Request, _Kind]:
        headers = part.request_headers()
        same_origin = self._same_origin(url)
        if same_origin:  # never send the key or extra headers to a third-party host
            headers.update(self._api_headers())
        if params:
            url = url.copy_merge_params(params)
        request = self._http.build_request("GET", url, headers=headers)
        return request, ("content" if same_origin else "cdn")

    # -- reading answers ----------------------------------------------------------------

    def _error(
        self, response: httpx.Response, call: _Call, kind: _Kind | None = None
    ) -> VideoGenError:
        return _error_from_response(
            response,
            what=call.what,
            kind=kind or call.kind,
            secrets=self._secrets(),
            model=call.model,
        )

    def _connection_error(
        self, exc: httpx.TransportError, call: _Call, kind: _Kind | None = None
    ) -> VideoGenError:
        return _connection_error(
            exc, what=call.what, kind=kind or call.kind, secrets=self._secrets()
        )

    def _check(self, response: httpx.Response, call: _Call) -> httpx.Response:
        if not response.is_success:
            raise self._error(response, call)
        return response

    @staticmethod
    def _json_object(response: httpx.Response, call: _Call) -> Mapping[str, Any]:
        try:
            payload = response.json()
        except ValueError:
            payload = None
        if not isinstance(payload, Mapping):
            raise APIError(
                f"{call.what}: expected a JSON object, got "
                f"{response.headers.get('content-type')!r}; check that base_url points at the "
                "API (with its /v1 prefix)",
                status_code=response.status_code,
                request_id=response.headers.get("x-request-id"),
            )
        return payload

    def _read_job(
        self, response: httpx.Response, call: _Call, family: ModelFamily | None
    ) -> VideoJob:
        payload = self._json_object(response, call)
        if not _job_id(payload):  # a gateway error envelope sent with HTTP 200
            raise self._error(response, call)
        try:
            if family is not None:
                return family.parse_job(dict(payload), response.headers)
            return VideoJob.from_api(payload, headers=response.headers)
        except (ValidationError, ValueError, TypeError) as exc:
            raise APIError(
                f"{call.what}: cannot read the job object: {str(exc)[:_MAX_MESSAGE_CHARS]}",
                status_code=response.status_code,
            ) from exc

    def _read_submitted_job(
        self, response: httpx.Response, call: _Call, family: ModelFamily | None
    ) -> VideoJob:
        """Read a create/remix answer; an unreadable 2xx means a job may exist."""
        try:
            return self._read_job(response, call, family)
        except VideoGenError as exc:
            raise SubmissionUncertainError(
                f"{call.what} answered HTTP {response.status_code} without a readable job "
                f"({exc}); a job may have been created, look for it before submitting again"
            ) from exc

    def _read_list(self, response: httpx.Response, call: _Call) -> VideoList:
        payload = self._json_object(response, call)
        items = payload.get("data")
        if not isinstance(items, list):
            raise APIError(
                f"{call.what}: the answer has no list of videos; the server may not support "
                "listing jobs",
                status_code=response.status_code,
            )
        jobs = [VideoJob.from_api(item) for item in items if isinstance(item, Mapping)]
        return VideoList(
            data=jobs,
            first_id=payload.get("first_id") or (jobs[0].id if jobs else None),
            last_id=payload.get("last_id") or (jobs[-1].id if jobs else None),
            has_more=bool(payload.get("has_more", False)),
        )

    @staticmethod
    def _read_deleted(response: httpx.Response, video_id: str) -> DeletedVideo:
        try:
            payload = response.json() if response.content else {}
        except ValueError:
            payload = {}
        if not isinstance(payload, Mapping):
            payload = {}
        if isinstance(payload.get("data"), Mapping):
            payload = payload["data"]
        return DeletedVideo(
            id=str(payload.get("id") or video_id),
            deleted=bool(payload.get("deleted", True)),  # gateways answer with the job object
        )


class VideoGenClient(_BaseVideoGenClient):
    """A synchronous client for the OpenAI video format API (OpenAI and new-api gateways).

    Args:
        base_url: The API root including its version prefix, e.g. `https://api.openai.com/v1`.
        api_key: Sent as `Authorization: Bearer <key>` to `base_url`'s origin only.
        headers: Extra headers for the API (e.g. `OpenAI-Organization`); like the key, they
            are sent to `base_url`'s origin only.
        timeout: Seconds per network operation, or an `httpx.Timeout`.
        max_retries: Retries after the first attempt for transient failures.
        transport: An httpx transport, e.g. `httpx.MockTransport` in tests.
        backoff: Retry delays and the sleep function (tests pass a recorder).

    Example:
        ```python
        from prefect_videogen.client import VideoGenClient
        from prefect_videogen.families import VideoRequest

        with VideoGenClient("http://127.0.0.1:8000/v1", "sk-emulator") as client:
            job = client.create(VideoRequest(model="sora-2", prompt="a red fox in snow"))
            job = client.wait(job.id, model=job.model)
            client.download_content(job.id, "fox.mp4")
        ```
    """

    def __init__(
        self,
        base_url: str = DEFAULT_BASE_URL,
        api_key: str | SecretStr | None = None,
        *,
        headers: Mapping[str, str] | None = None,
        timeout: float | httpx.Timeout = 60.0,
        max_retries: int = 3,
        transport: httpx.BaseTransport | None = None,
        backoff: Backoff | None = None,
    ) -> None:
        super().__init__(
            base_url,
            api_key,
            headers=headers,
            timeout=timeout,
            max_retries=max_retries,
            backoff=backoff,
        )
        self._http = httpx.Client(
            timeout=self._timeout,
            transport=transport,
            headers={"User-Agent": _USER_AGENT},
            verify=_ssl_context(),
        )

    def __enter__(self) -> VideoGenClient:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def close(self) -> None:
        """Close the connection pool."""
        self._http.close()

    def _send(self, call: _Call) -> httpx.Response:
        def attempt() -> httpx.Response:
            request = self._build_request(call)
            try:
                response = self._http.send(request)
            except httpx.TransportError as exc:
                raise self._connection_error(exc, call) from exc
            return self._check(response, call)

        return retry_call(
            attempt, max_retries=self.max_retries, backoff=self._backoff, what=call.what
        )

    def create(self, request: VideoRequest, *, idempotency_key: str | None = None) -> VideoJob:
        """Submit a video job (paid). The request is validated by its model family first.

        Args:
            request: What to generate.
            idempotency_key: Sent as `Idempotency-Key` for servers that honour it.

        Returns:
            The new job, usually `queued`.

        Raises:
            InvalidRequestError: The request is not valid for the model (no network call made).
            SubmissionUncertainError: The request was sent but no answer came back.

        Example:
            ```python
            job = client.create(VideoRequest(model="sora-2", prompt="waves", seconds=4))
            ```
        """
        family, call = self._create_call(request, idempotency_key)
        return self._read_submitted_job(self._send(call), call, family)

    def retrieve(self, video_id: str, *, model: str | None = None) -> VideoJob:
        """Get a job's current state; `model` picks the family's status words.

        Example:
            ```python
            job = client.retrieve("video_123", model="sora-2")
            print(job.status, job.progress)
            ```
        """
        call = _Call("GET", self._video_path(video_id))
        family = family_for_model(model) if model else None
        return self._read_job(self._send(call), call, family)

    def list(
        self, *, after: str | None = None, limit: int | None = None, order: str | None = None
    ) -> VideoList:
        """One page of jobs (OpenAI only; new-api gateways do not list jobs).

        Example:
            ```python
            page = client.list(limit=10, order="desc")
            print([job.id for job in page.data], page.has_more)
            ```
        """
        call = self._list_call(after, limit, order)
        return self._read_list(self._send(call), call)

    def delete(self, video_id: str) -> DeletedVideo:
        """Delete a finished job and its files.

        Example:
            ```python
            assert client.delete("video_123").deleted
            ```
        """
        call = _Call("DELETE", self._video_path(video_id))
        return self._read_deleted(self._send(call), video_id)

    def remix(self, video_id: str, prompt: str) -> VideoJob:
        """Make a new job (paid) from a completed one with a changed prompt.

        Example:
            ```python
            job = client.remix("video_123", "the same fox, at night")
            ```
        """
        call = self._remix_call(video_id, prompt)
        return self._read_submitted_job(self._send(call), call, None)

    def wait(
        self,
        video_id: str,
        *,
        model: str | None = None,
        timeout: float | None = 900,
        min_interval: float = 1.0,
        max_interval: float = 15.0,
        on_update: Callable[[VideoJob], None] | None = None,
    ) -> VideoJob:
        """Poll until the job completes.

        The pause between polls is the server's `openai-poll-after-ms` hint when it sends
        one (capped at `max_interval`), else `min_interval` growing x1.5 per poll up to
        `max_interval`. Transient errors while polling do not end the wait.

        Args:
            video_id: The job to wait for.
            model: The job's model, for its family's status words.
            timeout: Seconds to wait at most; None waits forever.
            min_interval: The first pause between polls, in seconds.
            max_interval: The longest pause between polls, in seconds.
            on_update: Called with the job whenever its status or progress changes.

        Returns:
            The completed job.

        Raises:
            VideoGenerationFailed: The job ended in `failed`.
            VideoTimeoutError: `timeout` passed first; the job goes on, wait again later.

        Example:
            ```python
            job = client.wait("video_123", on_update=lambda j: print(j.status, j.progress))
            ```
        """
        poller = _Poller(
            video_id, timeout=timeout, min_interval=min_interval, max_interval=max_interval
        )
        while True:
            try:
                job = self.retrieve(video_id, model=model)
            except VideoGenError as exc:
                poller.poll_failed(exc)
            else:
                if poller.observe(job) and on_update is not None:
                    on_update(job)
                if poller.finished(job):
                    return job
            self._backoff.sleep(poller.next_delay())

    def download_content(
        self,
        video_id: str,
        destination: str | Path,
        *,
        variant: str = "video",
        url: str | None = None,
        chunk_size: int = 1 << 20,
    ) -> DownloadedContent:
        """Stream a job's video (or thumbnail/spritesheet) to a file, safely.

        Writes `<destination>.part`, hashing as it goes, resumes with a `Range` request
        when the connection drops and the server accepts ranges, then fsyncs and moves
        the file into place. On failure no file is left at `destination` or `.part`.

        Args:
            video_id: The completed job.
            destination: The file to write; parent directories are created.
            variant: `video`, `thumbnail` or `spritesheet` (for `/content` only).
            url: Fetch this URL (e.g. `job.url` from a gateway) instead of `/content`;
                the API key is sent only if it is on `base_url`'s origin.
            chunk_size: Bytes buffered per write to disk.

        Returns:
            The written file's path, size, sha256 and content type.

        Example:
            ```python
            content = client.download_content("video_123", "out/fox.mp4")
            print(content.sha256)
            ```
        """
        target, params = self._content_target(video_id, variant, url)
        call = self._download_call(target)
        part = self._open_part(destination, chunk_size)
        try:
            retry_call(
                lambda: self._download_once(call, target, params, part),
                max_retries=self.max_retries,
                backoff=self._backoff,
                what=f"download {call.path}",
            )
            return part.commit()
        except BaseException:
            part.discard()
            raise

    def _download_once(
        self,
        call: _Call,
        url: httpx.URL,
        params: Mapping[str, str],
        part: _PartFile,
    ) -> None:
        for _ in range(_MAX_REDIRECTS + 1):
            request, kind = self._content_request(url, params, part)
            try:
                response = self._http.send(request, stream=True)
            except httpx.TransportError as exc:
                raise self._connection_error(exc, call, kind) from exc
            try:
                if response.is_redirect:
                    url, params = response.next_request.url, {}  # type: ignore[union-attr]
                    continue
                if not response.is_success:
                    response.read()
                    raise self._download_error(response, call, kind, part)
                part.begin(response)
                for chunk in response.iter_bytes():
                    part.write(chunk)
                part.end()
                return
            except httpx.TransportError as exc:
                raise self._connection_error(exc, call, kind) from exc
            finally:
                response.close()
        raise APIError(f"{call.what}: more than {_MAX_REDIRECTS} redirects", status_code=302)


class AsyncVideoGenClient(_BaseVideoGenClient):
    """The async twin of `VideoGenClient`: the same methods, as coroutines.

    `wait(on_update=...)` accepts a plain function or a coroutine function.

    Example:
        ```python
        import asyncio

        from prefect_videogen.client import AsyncVideoGenClient
        from prefect_videogen.families import VideoRequest

        async def main():
            async with AsyncVideoGenClient("http://127.0.0.1:8000/v1", "sk-emulator") as client:
                job = await client.create(VideoRequest(model="sora-2", prompt="a red fox"))
                job = await client.wait(job.id, model=job.model)
                await client.download_content(job.id, "fox.mp4")

        asyncio.run(main())
        ```
    """

    def __init__(
        self,
        base_url: str = DEFAULT_BASE_URL,
        api_key: str | SecretStr | None = None,
        *,
        headers: Mapping[str, str] | None = None,
        timeout: float | httpx.Timeout = 60.0,
        max_retries: int = 3,
        transport: httpx.AsyncBaseTransport | None = None,
        backoff: Backoff | None = None,
    ) -> None:
        super().__init__(
            base_url,
            api_key,
            headers=headers,
            timeout=timeout,
            max_retries=max_retries,
            backoff=backoff,
        )
        self._http = httpx.AsyncClient(
            timeout=self._timeout,
            transport=transport,
            headers={"User-Agent": _USER_AGENT},
            verify=_ssl_context(),
        )

    async def __aenter__(self) -> AsyncVideoGenClient:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.close()

    async def close(self) -> None:
        """Close the connection pool."""
        await self._http.aclose()

    async def _send(self, call: _Call) -> httpx.Response:
        async def attempt() -> httpx.Response:
            request = self._build_request(call)
            try:
                response = await self._http.send(request)
            except httpx.TransportError as exc:
                raise self._connection_error(exc, call) from exc
            return self._check(response, call)

        return await aretry_call(
            attempt, max_retries=self.max_retries, backoff=self._backoff, what=call.what
        )

    async def create(
        self, request: VideoRequest, *, idempotency_key: str | None = None
    ) -> VideoJob:
        """Submit a video job (paid); see `VideoGenClient.create`.

        Example:
            ```python
            job = await client.create(VideoRequest(model="sora-2", prompt="waves"))
            ```
        """
        family, call = self._create_call(request, idempotency_key)
        return self._read_submitted_job(await self._send(call), call, family)

    async def retrieve(self, video_id: str, *, model: str | None = None) -> VideoJob:
        """Get a job's current state; see `VideoGenClient.retrieve`.

        Example:
            ```python
            job = await client.retrieve("video_123")
            ```
        """
        call = _Call("GET", self._video_path(video_id))
        family = family_for_model(model) if model else None
        return self._read_job(await self._send(call), call, family)

    async def list(
        self, *, after: str | None = None, limit: int | None = None, order: str | None = None
    ) -> VideoList:
        """One page of jobs; see `VideoGenClient.list`.

        Example:
            ```python
            page = await client.list(limit=10)
            ```
        """
        call = self._list_call(after, limit, order)
        return self._read_list(await self._send(call), call)

    async def delete(self, video_id: str) -> DeletedVideo:
        """Delete a finished job; see `VideoGenClient.delete`.

        Example:
            ```python
            await client.delete("video_123")
            ```
        """
        call = _Call("DELETE", self._video_path(video_id))
        return self._read_deleted(await self._send(call), video_id)

    async def remix(self, video_id: str, prompt: str) -> VideoJob:
        """Make a new job (paid) from a completed one; see `VideoGenClient.remix`.

        Example:
            ```python
            job = await client.remix("video_123", "at night")
            ```
        """
        call = self._remix_call(video_id, prompt)
        return self._read_submitted_job(await self._send(call), call, None)

    async def wait(
        self,
        video_id: str,
        *,
        model: str | None = None,
        timeout: float | None = 900,
        min_interval: float = 1.0,
        max_interval: float = 15.0,
        on_update: Callable[[VideoJob], Awaitable[None] | None] | None = None,
    ) -> VideoJob:
        """Poll until the job completes; see `VideoGenClient.wait`.

        Example:
            ```python
            job = await client.wait("video_123", timeout=600)
            ```
        """
        poller = _Poller(
            video_id, timeout=timeout, min_interval=min_interval, max_interval=max_interval
        )
        while True:
            try:
                job = await self.retrieve(video_id, model=model)
            except VideoGenError as exc:
                poller.poll_failed(exc)
            else:
                if poller.observe(job) and on_update is not None:
                    result = on_update(job)
                    if inspect.isawaitable(result):
                        await result
                if poller.finished(job):
                    return job
            await self._backoff.async_sleep(poller.next_delay())

    async def download_content(
        self,
        video_id: str,
        destination: str | Path,
        *,
        variant: str = "video",
        url: str | None = None,
        chunk_size: int = 1 << 20,
    ) -> DownloadedContent:
        """Stream a job's content to a file, safely; see `VideoGenClient.download_content`.

        Example:
            ```python
            content = await client.download_content("video_123", "fox.mp4")
            ```
        """
        target, params = self._content_target(video_id, variant, url)
        call = self._download_call(target)
        part = self._open_part(destination, chunk_size)
        try:
            await aretry_call(
                lambda: self._download_once(call, target, params, part),
                max_retries=self.max_retries,
                backoff=self._backoff,
                what=f"download {call.path}",
            )
            return part.commit()
        except BaseException:
            part.discard()
            raise

    async def _download_once(
        self,
        call: _Call,
        url: httpx.URL,
        params: Mapping[str, str],
        part: _PartFile,
    ) -> None:
        for _ in range(_MAX_REDIRECTS + 1):
            request, kind = self._content_request(url, params, part)
            try:
                response = await self._http.send(request, stream=True)
            except httpx.TransportError as exc:
                raise self._connection_error(exc, call, kind) from exc
            try:
                if response.is_redirect:
                    url, params = response.next_request.url, {}  # type: ignore[union-attr]
                    continue
                if not response.is_success:
                    await response.aread()
                    raise self._download_error(response, call, kind, part)
                part.begin(response)
                async for chunk in response.aiter_bytes():
                    part.write(chunk)
                part.end()
                return
            except httpx.TransportError as exc:
                raise self._connection_error(exc, call, kind) from exc
            finally:
                await response.aclose()
        raise APIError(f"{call.what}: more than {_MAX_REDIRECTS} redirects", status_code=302)
