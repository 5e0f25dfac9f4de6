"""When to retry a call to the video API, and how long to wait before doing so.

The clients in `prefect_videogen.client` turn every failure into a `VideoGenError` first;
this module only decides, from that error, whether another attempt can help
(`prefect_videogen.exceptions.is_transient`) and how long to wait: the server's
`Retry-After` hint when it gave one (capped), else exponential backoff with jitter.

Whether a failed *create* may be retried at all is decided before this module sees the
error: the client raises `SubmissionUncertainError` (never retried) when the request may
have reached the server, and `APIConnectionError` only when nothing was sent.
"""

from __future__ import annotations

import asyncio
import logging
import random
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TypeVar

from prefect_videogen.exceptions import RateLimitError, ServerError, VideoGenError, is_transient

__all__ = ["Backoff", "aretry_call", "retry_call"]

T = TypeVar("T")

logger = logging.getLogger("prefect_videogen.http")


@dataclass(frozen=True)
class Backoff:
    """How long to wait between attempts, and the functions that do the waiting.

    The delay before retry number `n` (0-based) is the server's `Retry-After` hint when the
    error carries one, capped at `max_retry_after`; otherwise
    `min(initial_delay * 2**n, max_delay)`, shortened by up to `jitter` (a fraction) at
    random so that many clients do not retry in step.

    `sleep` and `async_sleep` do the waiting; tests pass recorders to see the requested
    delays without waiting. The clients also use them between polls in `wait()`.

    Example:
        ```python
        from prefect_videogen.client._retry import Backoff

        delays = []
        backoff = Backoff(sleep=delays.append)
        print(backoff.delay(0), backoff.delay(3))  # about 0.4-0.5 and 3-4 seconds
        ```
    """

    initial_delay: float = 0.5
    max_delay: float = 8.0
    jitter: float = 0.25
    max_retry_after: float = 60.0
    sleep: Callable[[float], object] = time.sleep
    async_sleep: Callable[[float], Awaitable[object]] = asyncio.sleep

    def delay(self, retries_taken: int, error: BaseException | None = None) -> float:
        """Seconds to wait before the next attempt.

        Args:
            retries_taken: How many retries were already made (0 before the first retry).
            error: The error that ended the last attempt; a `RateLimitError` or
                `ServerError` with a `retry_after` hint sets the delay.

        Returns:
            The delay in seconds, never negative.
        """
        hint = error.retry_after if isinstance(error, RateLimitError | ServerError) else None
        if hint is not None:
            return max(0.0, min(hint, self.max_retry_after))
        delay = min(self.initial_delay * 2**retries_taken, self.max_delay)
        return max(0.0, delay * (1 - self.jitter * random.random()))


def _next_delay(
    exc: VideoGenError,
    retries_taken: int,
    *,
    max_retries: int,
    backoff: Backoff,
    what: str,
    retryable: Callable[[BaseException], bool],
) -> float | None:
    """The delay before another attempt, or None when `exc` must be raised."""
    if retries_taken >= max_retries or not retryable(exc):
        return None
    delay = backoff.delay(retries_taken, exc)
    logger.info(
        "%s failed (%s: %s); retry %d of %d in %.2f s",
        what,
        type(exc).__name__,
        exc,
        retries_taken + 1,
        max_retries,
        delay,
    )
    return delay


def retry_call(
    attempt: Callable[[], T],
    *,
    max_retries: int,
    backoff: Backoff,
    what: str = "request",
    retryable: Callable[[BaseException], bool] = is_transient,
) -> T:
    """Run `attempt()` until it returns, retrying transient `VideoGenError`s.

    Args:
        attempt: Makes one attempt; raises a `VideoGenError` on failure.
        max_retries: Retries after the first attempt (so at most `max_retries + 1` calls).
        backoff: Delays and the sleep function.
        what: How the call is named in log lines, e.g. `"GET /videos/video_1"`.
        retryable: Which errors may be retried; `is_transient` by default.

    Returns:
        What `attempt()` returned.

    Example:
        ```python
        from prefect_videogen.exceptions import ServerError
        from prefect_videogen.client._retry import Backoff, retry_call

        calls = []

        def flaky():
            calls.append(1)
            if len(calls) < 3:
                raise ServerError("busy", status_code=503)
            return "ok"

        assert retry_call(flaky, max_retries=3, backoff=Backoff(sleep=lambda s: None)) == "ok"
        ```
    """
    retries_taken = 0
    while True:
        try:
            return attempt()
        except VideoGenError as exc:
            delay = _next_delay(
                exc,
                retries_taken,
                max_retries=max_retries,
                backoff=backoff,
                what=what,
                retryable=retryable,
            )
            if delay is None:
                raise
        backoff.sleep(delay)
        retries_taken += 1


async def aretry_call(
    attempt: Callable[[], Awaitable[T]],
    *,
    max_retries: int,
    backoff: Backoff,
    what: str = "request",
    retryable: Callable[[BaseException], bool] = is_transient,
) -> T:
    """The async twin of `retry_call`: awaits `attempt()` and `backoff.async_sleep`.

    Example:
        ```python
        import asyncio

        from prefect_videogen.client._retry import Backoff, aretry_call

        async def ok():
            return 42

        assert asyncio.run(aretry_call(ok, max_retries=2, backoff=Backoff())) == 42
        ```
    """
    retries_taken = 0
    while True:
        try:
            return await attempt()
        except VideoGenError as exc:
            delay = _next_delay(
                exc,
                retries_taken,
                max_retries=max_retries,
                backoff=backoff,
                what=what,
                retryable=retryable,
            )
            if delay is None:
                raise
        await backoff.async_sleep(delay)
        retries_taken += 1
