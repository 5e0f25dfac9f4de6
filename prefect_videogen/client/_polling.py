"""The poll schedule: server hints, backoff, the deadline, and when a job is finished."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

from prefect_videogen.exceptions import (
    InvalidRequestError,
    VideoGenerationFailed,
    VideoGenError,
    VideoStatusUnknownError,
    VideoTimeoutError,
    is_transient,
)
from prefect_videogen.models import (
    VideoJob,
    VideoStatus,
)

logger = logging.getLogger("prefect_videogen.client")

#: Seconds a job may keep answering status `unknown` before `wait` gives up on it.
#: new-api answers `unknown` for a task its poller has not looked at yet (NOT_START); the
#: poller ran every 15 s in early-2026 releases, so five minutes is twenty missed cycles.
#: DashScope answers `UNKNOWN` for a task id it does not know or that has expired (24 h),
#: so a server passing that word on must still end the wait, with a clear error.
UNKNOWN_TIMEOUT = 300.0


class _Poller:
    """When to poll next, when to call on_update, and when to stop waiting."""

    def __init__(
        self,
        video_id: str,
        *,
        timeout: float | None,
        min_interval: float,
        max_interval: float,
        unknown_timeout: float | None = UNKNOWN_TIMEOUT,
        on_tick: Callable[[VideoJob | None], None] | None = None,
    ) -> None:
        if min_interval < 0 or max_interval < min_interval:
            raise InvalidRequestError(
                "min_interval",
                f"need 0 <= min_interval <= max_interval, got {min_interval} and {max_interval}",
            )
        if unknown_timeout is not None and unknown_timeout < 0:
            raise InvalidRequestError(
                "unknown_timeout", value=unknown_timeout, allowed="None or 0 seconds or more"
            )
        self.unknown_timeout = unknown_timeout
        self._unknown_since: float | None = None
        self.video_id = video_id
        self.started = time.monotonic()
        self.deadline = None if timeout is None else self.started + timeout
        self.interval = min_interval
        self.max_interval = max_interval
        self.last_job: VideoJob | None = None
        self.last_error: VideoGenError | None = None
        self._seen: tuple[VideoStatus, int] | None = None
        self.on_tick = on_tick

    def observe(self, job: VideoJob) -> bool:
        """Record a polled job; True when its status or progress changed."""
        self.last_job, self.last_error = job, None
        seen = (job.status, job.progress)
        changed, self._seen = seen != self._seen, seen
        return changed

    def finished(self, job: VideoJob) -> bool:
        """True when completed; raises VideoGenerationFailed when failed, and
        VideoStatusUnknownError when the server has said `unknown` for too long."""
        if job.status is VideoStatus.FAILED:
            raise VideoGenerationFailed(job)
        if (job.raw_status or "").lower() == "unknown":
            now = time.monotonic()
            if self._unknown_since is None:
                self._unknown_since = now
            unknown_for = now - self._unknown_since
            if self.unknown_timeout is not None and unknown_for >= self.unknown_timeout:
                raise VideoStatusUnknownError(self.video_id, now - self.started, unknown_for)
        else:
            self._unknown_since = None
        return job.status is VideoStatus.COMPLETED

    def poll_failed(self, exc: VideoGenError) -> None:
        """Keep polling through transient errors; anything else ends the wait."""
        if not is_transient(exc):
            raise exc
        self.last_error = exc
        logger.warning("Polling video %s failed, will poll again: %s", self.video_id, exc)

    def next_delay(self) -> float:
        """Seconds until the next poll; raises VideoTimeoutError when time is up.

        Called once after every poll, answered or not: `on_tick` (a heartbeat) runs here.
        """
        if self.on_tick is not None:
            self.on_tick(self.last_job)
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
