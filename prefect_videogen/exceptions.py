"""Errors raised by prefect-videogen.

Every error is a `VideoGenError`, so callers can catch at the level they need:

```
VideoGenError
├── InvalidRequestError        bad input: names the field and what is allowed (local or 400/422)
│   ├── ModelRetiredError      the model is shut down where it was asked for (Sora on OpenAI)
│   ├── ModelUnavailableError  a gateway lists the model but has no channel for it
│   └── BudgetExceededError    the estimated cost is above max_cost or the daily cap (local)
├── APIError                   the server answered with an error status
│   ├── AuthenticationError    401 / 403: the API key is wrong or lacks permission
│   ├── NotFoundError          404, or a gateway's 400 `task_not_exist`
│   ├── ContentExpiredError    the job's result is gone (expired, 410, upstream 502 on /content)
│   ├── ContentNotReadyError   /content asked before the job completed (poll, then download)
│   ├── UnsupportedOperationError  the server has no such operation (a gateway: delete, list,
│   │                          thumbnails)
│   ├── RateLimitError         429; `retry_after` holds the server's hint in seconds
│   ├── ServerError            5xx; `retry_after` as well when a 503 sends one
│   └── UnexpectedContentError a download answered 2xx with something else (HTML, 0 bytes, ...)
├── APIConnectionError         the request did not reach the server or no answer came back
├── SubmissionUncertainError   a create was sent, no usable answer came back: a job may exist
├── VideoGenerationFailed      the job ended in `failed`; carries the provider's code and message
├── VideoTimeoutError          the job did not finish within the allowed wait
│   └── VideoStatusUnknownError  the server kept saying status `unknown` for too long
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
    "BudgetExceededError",
    "ContentExpiredError",
    "ContentNotReadyError",
    "InvalidRequestError",
    "ModelRetiredError",
    "ModelUnavailableError",
    "NotFoundError",
    "RateLimitError",
    "ServerError",
    "StorageError",
    "SubmissionUncertainError",
    "UnexpectedContentError",
    "UnsupportedOperationError",
    "VideoGenError",
    "VideoGenerationFailed",
    "VideoMismatchError",
    "VideoStatusUnknownError",
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


class ModelRetiredError(InvalidRequestError):
    """The model has been shut down by the provider the request was going to.

    Raised before any network call, e.g. for a Sora model sent to `https://api.openai.com`
    (OpenAI shut down the Videos API and every Sora 2 model on 2026-09-24). `field` is
    `"model"`; the message names live alternatives.
    """


class ModelUnavailableError(InvalidRequestError):
    """A gateway lists the model but has no channel (provider adaptor) that can serve it.

    new-api answers 400 `invalid_api_platform` at submit: no job was created and nothing
    was billed. Pick another model the gateway serves, or ask its operator to add a
    channel for this one. `field` is `"model"`.
    """


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


class ContentNotReadyError(APIError):
    """`/content` was asked for before the job completed (a gateway's 400 "Task is not
    completed yet, current status: X", OpenAI's `video_not_ready`).

    `download_content` handles it by polling the job until it completes, then downloading.
    """


class UnsupportedOperationError(APIError):
    """The server does not offer this operation at all; retrying cannot help.

    new-api gateways have no `DELETE /v1/videos/{id}` and no `GET /v1/videos` (list), and
    their `/content` ignores `variant`, so a thumbnail or spritesheet cannot be had there.
    """


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
    """A create request was sent but no usable answer came back, so a paid job may exist.

    Raised for a 5xx answer to a create (500, 502, 503, 504: the server may have created the
    job before failing), a read timeout or a dropped connection after sending, and by the
    submission ledger when a rerun finds a submission without its job. It is never retried
    automatically, by the client or by a task. Look for the job (`client.list()` on OpenAI,
    else the provider's console) before paying again deliberately with a new `attempt`.

    Attributes:
        status_code: The HTTP status of the answer, when there was one.
    """

    def __init__(self, message: str, *, status_code: int | None = None) -> None:
        self.status_code = status_code
        super().__init__(message)


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


class VideoStatusUnknownError(VideoTimeoutError):
    """The server kept answering status `unknown` for longer than the wait allows.

    On a new-api gateway `unknown` is the normal state of a task its poller has not looked
    at yet (NOT_START), which lasts seconds. When it lasts many minutes, the gateway's task
    poller is stuck, or the server passes on a provider's `UNKNOWN` (DashScope's word for a
    task id it does not know or that has expired). The job may still run and be billed:
    look at the gateway's task log, and wait again with the same id rather than resubmit.
    """

    def __init__(self, job_id: str, waited_seconds: float, unknown_seconds: float) -> None:
        self.unknown_seconds = unknown_seconds
        VideoGenError.__init__(
            self,
            f"Video job {job_id!r} has answered status 'unknown' for {unknown_seconds:.0f} s. "
            "On a new-api gateway this means the gateway has not polled its provider for the "
            "task yet (NOT_START), which normally takes seconds: its task poller may be stuck, "
            "or the server says 'unknown' for a task id it does not know or that has expired "
            "(DashScope does). The job may still run and be billed: check the gateway's task "
            "log, then wait again with the same job id; do not resubmit",
        )
        self.job_id = job_id
        self.waited_seconds = waited_seconds
        self.last_status = "unknown"


class VideoMismatchError(VideoGenError):
    """The delivered video does not match the request (frame size or duration)."""


class BudgetExceededError(InvalidRequestError):
    """The run's estimated cost is above its cap; raised before any paid call.

    Attributes:
        estimate: The estimated cost, or None when some prices are unknown.
        cap: The cap that refused it (`max_cost`, or what is left of a daily cap).
        currency: The currency of both.

    Example:
        ```python
        from prefect_videogen.exceptions import BudgetExceededError

        error = BudgetExceededError(estimate=12.0, cap=10.0, currency="USD",
                                    message="this run would cost about 12.00 USD")
        print(error)  # max_cost: this run would cost about 12.00 USD
        ```
    """

    def __init__(
        self,
        *,
        estimate: float | None,
        cap: float,
        currency: str = "USD",
        message: str,
        field: str = "max_cost",
    ) -> None:
        self.estimate = estimate
        self.cap = cap
        self.currency = currency
        super().__init__(field, message)


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
