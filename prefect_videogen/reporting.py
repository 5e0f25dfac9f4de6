"""Artifacts and events for generated videos.

- a progress artifact per job while it is generated (created, then updated);
- a link artifact and a markdown artifact (with a small embedded thumbnail) per stored video;
- a table artifact per batch;
- events `prefect-videogen.video.completed` and `prefect-videogen.video.failed`, whose
  resource is the job: `{"prefect.resource.id": "prefect-videogen.video.<job id>",
  "prefect.resource.name": <job id>, "prefect-videogen.model": ..., "prefect-videogen.family": ...,
  "prefect-videogen.mode": ...}`. Automations can match on these, e.g.
  `match: {"prefect.resource.id": "prefect-videogen.video.*"}`.

Nothing here ever sees an API key: everything is built from `JobRecord` and `StoredVideo`.
"""

from __future__ import annotations

import asyncio
import base64
import contextvars
import io
import logging
import re
import time
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import Any
from uuid import UUID

from prefect_videogen._prefect import call_sync
from prefect_videogen.client._errors import redact
from prefect_videogen.records import JobRecord, StoredVideo

__all__ = [
    "COMPLETED_EVENT",
    "FAILED_EVENT",
    "HEARTBEAT_MAX_INTERVAL",
    "HEARTBEAT_MIN_INTERVAL",
    "AsyncProgressReporter",
    "BatchProgress",
    "Heartbeat",
    "ProgressReporter",
    "acreate_batch_table",
    "acreate_video_artifacts",
    "artifact_key",
    "batch_table",
    "create_batch_table",
    "create_video_artifacts",
    "emit_video_completed",
    "emit_video_failed",
    "format_duration",
    "frame_thumbnail",
    "get_logger",
    "quiet_batch_task_runs",
    "thumbnail_data_url",
    "video_resource",
]

COMPLETED_EVENT = "prefect-videogen.video.completed"
FAILED_EVENT = "prefect-videogen.video.failed"

_fallback_logger = logging.getLogger("prefect_videogen")


def get_logger() -> Any:
    """The Prefect run logger inside a flow or task run, else the `prefect_videogen` logger."""
    from prefect import get_run_logger
    from prefect.exceptions import MissingContextError

    try:
        return get_run_logger()
    except MissingContextError:
        return _fallback_logger


#: The tasks whose "Finished in state Completed()" line a quiet batch demotes.
BATCH_TASK_NAMES = frozenset({"generate-video-async", "generate-videos-async"})

#: True inside a `generate_batch` that reports its videos together (see `quiet_batch_task_runs`).
_quiet_task_runs: contextvars.ContextVar[bool] = contextvars.ContextVar(
    "prefect_videogen_quiet_task_runs", default=False
)


class _BatchTaskRunFilter(logging.Filter):
    """Demotes Prefect's "Finished in state Completed()" line of a batch's task runs to DEBUG."""

    def filter(self, record: logging.LogRecord) -> bool:
        if (
            record.levelno == logging.INFO
            and _quiet_task_runs.get()
            and getattr(record, "task_name", None) in BATCH_TASK_NAMES
            and str(record.msg).startswith("Finished in state Completed")
        ):
            record.levelno, record.levelname = logging.DEBUG, "DEBUG"
            return logging.getLogger(record.name).isEnabledFor(logging.DEBUG)
        return True


def quiet_batch_task_runs() -> None:
    """Log the completion of each video of this batch at DEBUG, not INFO.

    Prefect logs "Finished in state Completed()" at INFO for every task run; a batch of
    10,000 videos would send 10,000 such lines to the API (each costs the flow process and
    the server a few milliseconds) and bury the batch's own progress lines. Called in a
    flow, this demotes that line to DEBUG for the video tasks (`generate-video-async`,
    `generate-videos-async`) started from the current context on: failures and every
    other task's lines are untouched, and with `PREFECT_LOGGING_LEVEL=DEBUG` the lines are
    still logged. `generate_batch` calls it unless `video_artifacts=True`.

    Example:
        ```python
        from prefect_videogen.reporting import quiet_batch_task_runs

        quiet_batch_task_runs()
        ```
    """
    logger = logging.getLogger("prefect.task_runs")
    if not any(isinstance(f, _BatchTaskRunFilter) for f in logger.filters):
        logger.addFilter(_BatchTaskRunFilter())
    _quiet_task_runs.set(True)


def artifact_key(*parts: Any, max_length: int = 100) -> str:
    """An artifact key (lowercase letters, digits and dashes only) built from `parts`.

    Example:
        ```python
        from prefect_videogen.reporting import artifact_key

        print(artifact_key("video", "Video_ABC.1"))  # video-abc-1
        ```
    """
    text = "-".join(str(part) for part in parts if part not in (None, ""))
    key = re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")
    key = re.sub(r"^([a-z0-9]+)-\1(?=-|$)", r"\1", key)  # "video", "video_1" -> video-1
    return key[:max_length].rstrip("-") or "video"


def video_resource(job: JobRecord | StoredVideo) -> dict[str, str]:
    """The event resource for a video job."""
    resource = {
        "prefect.resource.id": f"prefect-videogen.video.{job.job_id}",
        "prefect.resource.name": job.job_id,
        "prefect-videogen.model": job.model,
    }
    if job.family:
        resource["prefect-videogen.family"] = job.family
    if job.mode:
        resource["prefect-videogen.mode"] = job.mode
    return resource


def _emit(event: str, resource: dict[str, str], payload: dict[str, Any]) -> Any:
    from prefect.events import emit_event

    try:
        return emit_event(event=event, resource=resource, payload=payload)
    except Exception:  # events are best effort; never fail a paid video over one
        get_logger().warning("Could not emit event %s", event, exc_info=True)
        return None


def emit_video_completed(stored: StoredVideo) -> Any:
    """Emit `prefect-videogen.video.completed` for a stored video.

    The payload holds where the video is (`uri`, `location`, `storage`, `path`), its
    `sha256`, `size_bytes`, the request `fingerprint` and `attempt`, the probe when
    there is one, and the `estimated_cost` (see `prefect_videogen.costs`).

    Example:
        ```python
        from prefect_videogen.reporting import emit_video_completed

        emit_video_completed(stored_video)  # a StoredVideo from download_video
        ```
    """
    payload = {
        "uri": stored.uri,
        "location": stored.location,
        "storage": stored.storage,
        "path": stored.path,
        "sha256": stored.sha256,
        "size_bytes": stored.size_bytes,
        "fingerprint": stored.fingerprint,
        "attempt": stored.attempt,
        "probe": stored.probe.model_dump(mode="json") if stored.probe else None,
        "estimated_cost": (
            stored.estimated_cost.model_dump(mode="json") if stored.estimated_cost else None
        ),
    }
    return _emit(COMPLETED_EVENT, video_resource(stored), payload)


def emit_video_failed(job: JobRecord, error: BaseException) -> Any:
    """Emit `prefect-videogen.video.failed` for a job, with the provider's code and message.

    Example:
        ```python
        from prefect_videogen.reporting import emit_video_failed

        emit_video_failed(job_record, exc)
        ```
    """
    payload = {
        "error_type": type(error).__name__,
        "code": getattr(error, "code", None) or job.error_code,
        # The client already removed this run's key; bearer tokens and sk- keys of any
        # other account a server may quote go too.
        "message": redact(getattr(error, "message", None) or job.error_message or str(error), ()),
        "fingerprint": job.fingerprint,
        "attempt": job.attempt,
    }
    return _emit(FAILED_EVENT, video_resource(job), payload)


def thumbnail_data_url(image: bytes | Path, *, max_px: int = 320, quality: int = 70) -> str:
    """A small JPEG `data:` URL of an image (WEBP, PNG, JPEG...), at most `max_px` on a side.

    Example:
        ```python
        from prefect_videogen.reporting import thumbnail_data_url

        print(thumbnail_data_url(open("thumb.webp", "rb").read())[:30])
        ```
    """
    from PIL import Image

    source = io.BytesIO(image) if isinstance(image, bytes) else image
    with Image.open(source) as img:
        img = img.convert("RGB")
        img.thumbnail((max_px, max_px))
        buffer = io.BytesIO()
        img.save(buffer, format="JPEG", quality=quality)
    return "data:image/jpeg;base64," + base64.b64encode(buffer.getvalue()).decode()


def frame_thumbnail(video: Path, *, max_px: int = 320) -> str | None:
    """A thumbnail `data:` URL from the first frame of a local video, or None if unreadable."""
    import av

    try:
        with av.open(str(video)) as container:
            for frame in container.decode(video=0):
                buffer = io.BytesIO()
                frame.to_image().save(buffer, format="PNG")
                return thumbnail_data_url(buffer.getvalue(), max_px=max_px)
    except (av.FFmpegError, OSError, ValueError):
        return None
    return None


def _md(text: Any) -> str:
    return str(text).replace("|", "\\|").replace("\n", " ").strip()


def _markdown(stored: StoredVideo, thumbnail: str | None) -> str:
    lines = [f"### {_md(stored.model)} video `{_md(stored.job_id)}`", ""]
    if thumbnail:
        lines += [f"![thumbnail]({thumbnail})", ""]
    probe = stored.probe
    shape = (
        f"{probe.size}, {probe.duration or 0:.2f} s, {probe.fps or 0:g} fps, {probe.codec}"
        if probe
        else f"{stored.request.get('size') or '?'}, {stored.request.get('seconds') or '?'} s"
    )
    rows = [
        ("Where", f"`{_md(stored.uri)}`"),
        ("Video", shape),
        ("Bytes", f"{stored.size_bytes:,}"),
        ("SHA-256", f"`{stored.sha256}`"),
        ("Mode", _md(stored.mode or "")),
        ("Prompt", _md(stored.request.get("prompt", ""))[:500]),
    ]
    if stored.timings.generation_seconds is not None:
        rows.append(("Generation", f"{stored.timings.generation_seconds:.1f} s"))
    lines += ["| | |", "|---|---|"] + [f"| {name} | {value} |" for name, value in rows]
    return "\n".join(lines)


def create_video_artifacts(stored: StoredVideo, thumbnail: str | None = None) -> None:
    """Create the link artifact and the markdown artifact (with thumbnail) for a stored video.

    Both use the key `video-<job id>`, so each job's artifacts line up across reruns.

    Example:
        ```python
        from prefect_videogen.reporting import create_video_artifacts

        create_video_artifacts(stored_video, thumbnail="data:image/jpeg;base64,...")
        ```
    """
    from prefect.artifacts import create_link_artifact, create_markdown_artifact

    key = artifact_key("video", stored.job_id)
    try:
        call_sync(
            create_link_artifact,
            link=stored.uri,
            link_text=f"{stored.model} video {stored.job_id}",
            key=key,
            description=f"Stored {stored.mode or ''} video ({stored.size_bytes:,} bytes).",
        )
        call_sync(
            create_markdown_artifact,
            markdown=_markdown(stored, thumbnail),
            key=f"{key}-summary"[:100],
            description=f"{stored.model} video {stored.job_id}",
        )
    except Exception:
        get_logger().warning(
            "Could not create artifacts for video %s", stored.job_id, exc_info=True
        )


async def acreate_video_artifacts(stored: StoredVideo, thumbnail: str | None = None) -> None:
    """Async twin of `create_video_artifacts`."""
    from prefect.artifacts import acreate_link_artifact, acreate_markdown_artifact

    key = artifact_key("video", stored.job_id)
    try:
        await acreate_link_artifact(
            link=stored.uri,
            link_text=f"{stored.model} video {stored.job_id}",
            key=key,
            description=f"Stored {stored.mode or ''} video ({stored.size_bytes:,} bytes).",
        )
        await acreate_markdown_artifact(
            markdown=_markdown(stored, thumbnail),
            key=f"{key}-summary"[:100],
            description=f"{stored.model} video {stored.job_id}",
        )
    except Exception:
        get_logger().warning(
            "Could not create artifacts for video %s", stored.job_id, exc_info=True
        )


def batch_table(
    requests: Sequence[dict[str, Any]], outcomes: Iterable[StoredVideo | BaseException | None]
) -> list[dict[str, Any]]:
    """One row per batch entry: what was asked, and where it went or why it failed."""
    rows = []
    for index, (request, outcome) in enumerate(zip(requests, outcomes, strict=True)):
        row: dict[str, Any] = {
            "#": index,
            "model": request.get("model"),
            "mode": request.get("mode"),
            "prompt": str(request.get("prompt", ""))[:80],
            "status": "stored",
            "job_id": None,
            "uri": None,
            "bytes": None,
            "sha256": None,
            "error": None,
        }
        if isinstance(outcome, StoredVideo):
            row.update(
                job_id=outcome.job_id,
                uri=outcome.uri,
                bytes=outcome.size_bytes,
                sha256=outcome.sha256[:16],
            )
        else:
            row.update(
                status="failed" if outcome is not None else "skipped",
                job_id=getattr(getattr(outcome, "job", None), "id", None),
                error=f"{type(outcome).__name__}: {outcome}" if outcome is not None else None,
            )
        rows.append(row)
    return rows


def create_batch_table(rows: list[dict[str, Any]], key: str | None = None) -> UUID | None:
    """Create the table artifact of a batch (see `batch_table`)."""
    from prefect.artifacts import create_table_artifact

    try:
        return call_sync(
            create_table_artifact,
            table=rows,
            key=key,
            description="Videos generated by this batch.",
        )
    except Exception:
        get_logger().warning("Could not create the batch table artifact", exc_info=True)
        return None


async def acreate_batch_table(rows: list[dict[str, Any]], key: str | None = None) -> UUID | None:
    """Async twin of `create_batch_table`."""
    from prefect.artifacts import acreate_table_artifact

    try:
        return await acreate_table_artifact(
            table=rows, key=key, description="Videos generated by this batch."
        )
    except Exception:
        get_logger().warning("Could not create the batch table artifact", exc_info=True)
        return None


#: Waiting loops log a line at most this often when something changed (seconds) ...
HEARTBEAT_MIN_INTERVAL = 30.0
#: ... and at least this often even when nothing changed (seconds).
HEARTBEAT_MAX_INTERVAL = 60.0


def format_duration(seconds: float) -> str:
    """`4m10s`, `1h02m`, `45s`: a duration short enough for a log line.

    Example:
        ```python
        from prefect_videogen.reporting import format_duration

        assert format_duration(250) == "4m10s"
        ```
    """
    seconds = max(int(seconds), 0)
    if seconds < 60:
        return f"{seconds}s"
    if seconds < 3600:
        return f"{seconds // 60}m{seconds % 60:02d}s"
    return f"{seconds // 3600}h{seconds % 3600 // 60:02d}m"


class Heartbeat:
    """When a waiting loop should log: never silent, never chatty.

    `due(changed)` is true for the first call, then when something `changed` and at least
    `min_interval` seconds passed since the last line, or when `max_interval` seconds passed
    whatever happened. Call it on every poll (or on a timer); log when it says so. The clock
    is injectable so the cadence is testable without waiting.

    Example:
        ```python
        from prefect_videogen.reporting import Heartbeat

        now = [0.0]
        beat = Heartbeat(clock=lambda: now[0])
        assert beat.due(changed=True)  # the first line
        now[0] = 10.0
        assert not beat.due(changed=True)  # too soon after the last line
        now[0] = 45.0
        assert not beat.due(changed=False)  # nothing new, and under a minute
        assert beat.due(changed=True)  # something new, 30 s or more later
        now[0] = 105.0
        assert beat.due(changed=False)  # a minute without a line: say something
        ```
    """

    def __init__(
        self,
        *,
        min_interval: float | None = None,
        max_interval: float | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.min_interval = HEARTBEAT_MIN_INTERVAL if min_interval is None else min_interval
        self.max_interval = HEARTBEAT_MAX_INTERVAL if max_interval is None else max_interval
        if not 0 <= self.min_interval <= self.max_interval:
            raise ValueError(
                f"need 0 <= min_interval <= max_interval, got {self.min_interval} "
                f"and {self.max_interval}"
            )
        self.clock = clock
        self.started = clock()
        self.last_beat: float | None = None

    @property
    def elapsed(self) -> float:
        """Seconds since the heartbeat was made."""
        return self.clock() - self.started

    def due(self, changed: bool = False) -> bool:
        """Whether to log now; when true, the line counts as logged."""
        now = self.clock()
        since = None if self.last_beat is None else now - self.last_beat
        if since is None or since >= self.max_interval or (changed and since >= self.min_interval):
            self.last_beat = now
            return True
        return False

    def mark(self) -> None:
        """Count a line logged for another reason (e.g. a status change) as the last beat."""
        self.last_beat = self.clock()


def _status_word(job: Any) -> str:
    return getattr(job.status, "value", str(job.status))


class _ProgressBase:
    def __init__(
        self,
        job: JobRecord,
        *,
        detailed: bool = True,
        clock: Callable[[], float] = time.monotonic,
        logger: Any = None,
    ) -> None:
        self.job = job
        self.detailed = detailed
        self.artifact_id: UUID | None = None
        self.last_status: str | None = None
        self.last_progress: int | None = None
        self.logger = logger if logger is not None else get_logger()
        self.heartbeat = Heartbeat(clock=clock)
        self._last_seen: Any = None

    @property
    def description(self) -> str:
        return f"{self.job.model} video job {self.job.job_id}"

    @property
    def _level(self) -> int:
        return logging.INFO if self.detailed else logging.DEBUG

    def _line(self, job: Any) -> None:
        elapsed = self.heartbeat.elapsed
        progress = int(job.progress or 0)
        estimate = ""
        if 0 < progress < 100 and elapsed >= 1:
            left = elapsed * (100 - progress) / progress
            if left >= 1:
                estimate = f", about {format_duration(left)} left at this rate"
        self.logger.log(
            self._level,
            "Video job %s is %s (%d%%), waiting %s%s",
            self.job.job_id,
            _status_word(job),
            progress,
            format_duration(elapsed),
            estimate,
        )

    def _log_status(self, update: Any) -> bool:
        """Log a status change at once, progress at the heartbeat's pace; True if progress moved."""
        self._last_seen = update
        status = _status_word(update)
        if status != self.last_status:
            self._line(update)
            self.heartbeat.mark()
            self.last_status = status
        elif self.heartbeat.due(changed=True):
            self._line(update)
        changed = update.progress != self.last_progress
        self.last_progress = update.progress
        return changed

    def tick(self, job: Any = None) -> None:
        """Called after every poll, changed or not: log a line if a minute passed without one.

        `job` is the last polled job (None if no poll has answered yet).
        """
        job = job if job is not None else self._last_seen
        if self.heartbeat.due(changed=False):
            if job is None:
                self.logger.log(
                    self._level,
                    "Video job %s: no status yet, waiting %s",
                    self.job.job_id,
                    format_duration(self.heartbeat.elapsed),
                )
            else:
                self._line(job)


class ProgressReporter(_ProgressBase):
    """`on_update` callback for `VideoGenClient.wait`: progress artifact and log lines.

    A status change is logged at once; otherwise a line (status, percent, time waited and
    the remaining time at the current rate) comes at most every 30 s while the progress
    moves and at least every 60 s while it does not, when `tick` is passed as `on_tick`.
    With `detailed=False` it keeps no artifact and logs at DEBUG: a batch reports progress
    once for all its videos (`BatchProgress`), not per job.

    Example:
        ```python
        from prefect_videogen.reporting import ProgressReporter

        reporter = ProgressReporter(record)
        job = client.wait(record.job_id, on_update=reporter, on_tick=reporter.tick)
        ```
    """

    def __call__(self, update: Any) -> None:
        """Record one status update."""
        from prefect.artifacts import create_progress_artifact, update_progress_artifact

        changed = self._log_status(update)
        if not self.detailed or (not changed and self.artifact_id is not None):
            return
        try:
            if self.artifact_id is None:
                self.artifact_id = call_sync(
                    create_progress_artifact,
                    progress=float(update.progress or 0),
                    description=self.description,
                )
            else:
                call_sync(update_progress_artifact, self.artifact_id, float(update.progress))
        except Exception:
            self.logger.debug("Could not update the progress artifact", exc_info=True)


class AsyncProgressReporter(_ProgressBase):
    """Async twin of `ProgressReporter`, for `AsyncVideoGenClient.wait`."""

    async def __call__(self, update: Any) -> None:
        """Record one status update."""
        from prefect.artifacts import acreate_progress_artifact, aupdate_progress_artifact

        changed = self._log_status(update)
        if not self.detailed or (not changed and self.artifact_id is not None):
            return
        try:
            if self.artifact_id is None:
                self.artifact_id = await acreate_progress_artifact(
                    progress=float(update.progress or 0), description=self.description
                )
            else:
                await aupdate_progress_artifact(self.artifact_id, float(update.progress))
        except Exception:
            self.logger.debug("Could not update the progress artifact", exc_info=True)


class BatchProgress:
    """Progress of a whole batch: one progress artifact and a heartbeat log line.

    The line reads `2 of 5 stored, 1 failed, 2 generating; oldest waiting 4m10s`: stored and
    failed are counted apart, and "generating" are the videos past the batch's concurrency
    gate and not finished yet. It is logged at most every 30 s when the counts change and at
    least every 60 s (a timer ticks while the batch runs), and once at the end. The artifact
    (the share of finished videos) is updated at most every `min_interval` seconds.

    Example:
        ```python
        from prefect_videogen.reporting import BatchProgress

        progress = BatchProgress(total=500)
        await progress.start()
        async with progress.generating():  # for each video, around its generation
            ...
        await progress.advance()  # or advance(failed=True)
        await progress.finish()
        ```
    """

    def __init__(
        self,
        total: int,
        *,
        min_interval: float = 2.0,
        tick_interval: float = 5.0,
        clock: Callable[[], float] = time.monotonic,
        logger: Any = None,
        key: str | None = None,
    ) -> None:
        self.key = key
        self.total = max(total, 1)
        self.stored = 0
        self.failed = 0
        self.min_interval = min_interval
        self.tick_interval = tick_interval
        self.clock = clock
        self.logger = logger
        self.heartbeat = Heartbeat(clock=clock)
        self.artifact_id: UUID | None = None
        self._in_flight: dict[int, float] = {}
        self._next_token = 0
        self._counts_logged: tuple[int, int, int] | None = None
        self._reported = -1.0
        self._last_update = 0.0
        self._ticker: asyncio.Task[None] | None = None

    @property
    def finished(self) -> int:
        """Videos stored or failed so far."""
        return self.stored + self.failed

    def generating(self) -> _Generating:
        """`async with progress.generating():` around one video's generation."""
        return _Generating(self)

    def summary(self) -> str:
        """`N of M stored, K failed, J generating; oldest waiting 4m10s`."""
        line = f"{self.stored} of {self.total} stored, {self.failed} failed"
        if self._in_flight:
            oldest = self.clock() - min(self._in_flight.values())
            line += f", {len(self._in_flight)} generating; oldest waiting {format_duration(oldest)}"
        queued = self.total - self.finished - len(self._in_flight)
        if queued > 0:
            line += f"{';' if not self._in_flight else ','} {queued} queued"
        return line

    def tick(self) -> None:
        """Log the summary if the heartbeat says so (counts changed, or a minute passed)."""
        counts = (self.stored, self.failed, len(self._in_flight))
        if self.heartbeat.due(changed=counts != self._counts_logged):
            self._counts_logged = counts
            (self.logger or get_logger()).info("Batch: %s", self.summary())

    async def start(self) -> None:
        """Create the artifact at 0 % and start the heartbeat timer."""
        from prefect.artifacts import acreate_progress_artifact

        try:
            self.artifact_id = await acreate_progress_artifact(
                progress=0.0,
                key=self.key,
                description=f"Videos finished in this batch of {self.total}.",
            )
        except Exception:
            get_logger().debug("Could not create the batch progress artifact", exc_info=True)
        self._reported, self._last_update = 0.0, self.clock()
        self._ticker = asyncio.create_task(self._beat())

    async def _beat(self) -> None:
        while True:
            await asyncio.sleep(self.tick_interval)
            self.tick()

    async def advance(self, *, failed: bool = False) -> None:
        """Count one more finished video (stored, or `failed`); update the artifact if due."""
        if failed:
            self.failed += 1
        else:
            self.stored += 1
        self.tick()
        if self.clock() - self._last_update >= self.min_interval:
            await self._update()

    async def finish(self) -> None:
        """Stop the timer, log the final counts and bring the artifact up to date."""
        if self._ticker is not None:
            self._ticker.cancel()
            self._ticker = None
        (self.logger or get_logger()).info(
            "Batch finished: %d of %d stored, %d failed", self.stored, self.total, self.failed
        )
        await self._update()

    async def _update(self) -> None:
        from prefect.artifacts import aupdate_progress_artifact

        progress = round(100.0 * self.finished / self.total, 1)
        self._last_update = self.clock()
        if self.artifact_id is None or progress == self._reported:
            return
        self._reported = progress
        try:
            await aupdate_progress_artifact(self.artifact_id, progress)
        except Exception:
            get_logger().debug("Could not update the batch progress artifact", exc_info=True)


class _Generating:
    """Marks one video as generating while the `async with` block runs."""

    def __init__(self, progress: BatchProgress) -> None:
        self.progress = progress
        self.token: int | None = None

    async def __aenter__(self) -> None:
        self.token = self.progress._next_token
        self.progress._next_token += 1
        self.progress._in_flight[self.token] = self.progress.clock()

    async def __aexit__(self, *exc_info: object) -> None:
        self.progress._in_flight.pop(self.token, None)
