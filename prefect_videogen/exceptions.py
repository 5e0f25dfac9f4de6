"""Errors raised by prefect-videogen.

Every error is a `VideoGenError`, so callers can catch at the level they need:

```
VideoGenError
├── InvalidRequestError        bad input: names the field and what is allowed (local or 400/422)
├── APIError                   the server answered with an error status
│   ├── AuthenticationError    401 / 403: the API key is wrong or lacks permission
│   ├── NotFoundError          404, or a gateway's 400 `task_not_exist`
│   ├── ContentExpiredError    the job's result is gone (expired, 410, upstream 502 on /content)
│   ├── RateLimitError         429; `retry_after` holds the server's hint in seconds
│   ├── ServerError            5xx; `retry_after` as well when a 503 sends one
│   └── UnexpectedContentError a download answered 2xx with something else (HTML, 0 bytes, ...)
├── APIConnectionError         the request did not reach the server or no answer came back
├── SubmissionUncertainError   a create request was sent but no answer came back: a job may exist
├── VideoGenerationFailed      the job ended in `failed`; carries the provider's code and message
├── VideoTimeoutError          the job did not finish within the allowed wait
├── VideoMismatchError         the delivered video is not what was asked for (size, duration)
└── StorageError               the video could not be written after it was paid for
```

`is_transient(exc)` says whether retrying the same call can help; Prefect tasks use it as
their `retry_condition_fn`.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

__all__ = [
    "APIConnectionError",
    "APIError",
    "AuthenticationError",
    "ContentExpiredError",
    "InvalidRequestError",
    "NotFoundError",
    "RateLimitError",
    "ServerError",
    "StorageError",
    "SubmissionUncertainError",
    "UnexpectedContentError",
    "VideoGenError",
    "VideoGenerationFailed",
    "VideoMismatchError",
    "VideoTimeoutError",
    "is_transient",
]


class VideoGenError(Exception):
    """Base class of every error raised by prefect-videogen."""


class InvalidRequestError(VideoGenError, ValueError):
    """The request is not acceptable: a field has a value that is not allowed.

    Raised before any network call when the model family rejects the input
    (`status_code is None`), or when the server answers 400/422 (`status_code` set).

    Attributes:
        field: The request field at fault, e.g. `"size"` or `"params.watermark"`.
        value: The rejected value, when known.
        allowed: What would have been accepted, when known.
        model: The model the request was for, when known.
        status_code: The HTTP status from the server, or `None` for a local rejection.
        code: The server's error code, when it gave one.

    Example:
        ```python
        from prefect_videogen.exceptions import InvalidRequestError

        try:
            raise InvalidRequestError("size", value="1x1", allowed=["720x1280"], model="sora-2")
        except InvalidRequestError as exc:
            print(exc)  # size: '1x1' is not allowed for model 'sora-2'; allowed: 720x1280
        ```
    """

    def __init__(
        self,
        field: str | None,
        message: str | None = None,
        *,
        value: Any = None,
        allowed: Iterable[Any] | str | None = None,
        model: str | None = None,
        status_code: int | None = None,
        code: str | None = None,
    ) -> None:
        self.field = field
        self.value = value
        self.allowed = allowed if isinstance(allowed, str) or allowed is None else list(allowed)
        self.model = model
        self.status_code = status_code
        self.code = code
        super().__init__(self._render(message))

    def _render(self, message: str | None) -> str:
        if message is None:
            message = f"{self.value!r} is not allowed"
            if self.model:
                message += f" for model {self.model!r}"
        if self.allowed is not None:
            allowed = (
                self.allowed
                if isinstance(self.allowed, str)
                else ", ".join(str(a) for a in self.allowed)
            )
            message += f"; allowed: {allowed}"
        prefix = f"{self.field}: " if self.field else ""
        suffix = f" (HTTP {self.status_code})" if self.status_code else ""
        return f"{prefix}{message}{suffix}"


class APIError(VideoGenError):
    """The server answered with an error status.

    Attributes:
        status_code: The HTTP status.
        message: The server's error message.
        code: The server's error code (`error.code`, or a gateway's top-level `code`).
        request_id: The `x-request-id` response header, when present.
    """

    def __init__(
        self,
        message: str,
        *,
        status_code: int,
        code: str | None = None,
        request_id: str | None = None,
    ) -> None:
        self.message = message
        self.status_code = status_code
        self.code = code
        self.request_id = request_id
        detail = f"HTTP {status_code}"
        if code:
            detail += f" {code}"
        super().__init__(f"{message} ({detail})")


class AuthenticationError(APIError):
    """401 or 403: check `api_key` (and `base_url`) on the VideoGenCredentials block."""


class NotFoundError(APIError):
    """The video id is unknown to the server (404, or a gateway's 400 `task_not_exist`)."""


class ContentExpiredError(APIError):
    """The job's downloadable result is gone; submit the job again to get a new one."""


class RateLimitError(APIError):
    """429: too many requests. `retry_after` is the server's hint in seconds, if it gave one."""

    def __init__(self, message: str, *, retry_after: float | None = None, **kwargs: Any) -> None:
        self.retry_after = retry_after
        super().__init__(message, **kwargs)


class ServerError(APIError):
    """5xx: the server failed; retrying later can help.

    `retry_after` is the server's hint in seconds when it sent one (a 503 may carry
    `Retry-After`); retries wait that long.
    """

    def __init__(self, message: str, *, retry_after: float | None = None, **kwargs: Any) -> None:
        self.retry_after = retry_after
        super().__init__(message, **kwargs)


class APIConnectionError(VideoGenError):
    """The request could not be sent, or the connection broke before an answer came back."""


class SubmissionUncertainError(VideoGenError):
    """A create request was sent but no answer came back, so a paid job may exist.

    It is never retried automatically. Look for the job with `client.list()` before
    submitting again.
    """


class VideoGenerationFailed(VideoGenError):
    """The job ended in `failed`.

    Attributes:
        job: The final `VideoJob`.
        code: The provider's error code, when it gave one.
        message: The provider's error message, when it gave one.
    """

    def __init__(self, job: Any) -> None:
        self.job = job
        error = getattr(job, "error", None)
        self.code = getattr(error, "code", None)
        self.message = getattr(error, "message", None)
        super().__init__(
            f"Video job {job.id!r} ({job.model}) failed: "
            f"{self.code or 'unknown_error'}: {self.message or 'no message from the provider'}"
        )


class VideoTimeoutError(VideoGenError):
    """The job was still running when the allowed wait ran out; the job itself goes on."""

    def __init__(self, job_id: str, waited_seconds: float, last_status: str | None) -> None:
        self.job_id = job_id
        self.waited_seconds = waited_seconds
        self.last_status = last_status
        super().__init__(
            f"Video job {job_id!r} not finished after {waited_seconds:.0f} s "
            f"(last status: {last_status}); wait again with the same job id, do not resubmit"
        )


class VideoMismatchError(VideoGenError):
    """The delivered video does not match the request (frame size or duration)."""


class UnexpectedContentError(APIError):
    """A download answered 2xx with something that is not the content asked for.

    An HTML or JSON page (a proxy's or CDN's error page sent with 200), an empty body, a
    body that is not an MP4, or an MP4 where a thumbnail was asked for. Nothing is stored.
    """


class StorageError(VideoGenError):
    """The video could not be written to its storage (full disk, read-only, failing block).

    Raised after the job was paid for and finished: fix the storage and run again; the
    rerun reuses the finished job (same request and attempt) and only downloads it again.

    Attributes:
        path: Where the write failed, when known.
    """

    def __init__(self, message: str, *, path: str | None = None) -> None:
        self.path = path
        super().__init__(message)


def is_transient(exc: BaseException) -> bool:
    """Whether retrying the same call later can succeed.

    True for rate limits, server errors and connection failures; false for everything that
    needs a change first (bad input, auth, not found, failed or expired jobs, and a create
    whose outcome is unknown).

    Example:
        ```python
        from prefect_videogen.exceptions import RateLimitError, is_transient

        assert is_transient(RateLimitError("slow down", status_code=429))
        ```
    """
    return isinstance(exc, RateLimitError | ServerError | APIConnectionError)
