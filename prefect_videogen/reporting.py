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

import base64
import io
import logging
import re
import time
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any
from uuid import UUID

from prefect_videogen.client._errors import redact
from prefect_videogen.records import JobRecord, StoredVideo

__all__ = [
    "COMPLETED_EVENT",
    "FAILED_EVENT",
    "AsyncProgressReporter",
    "BatchProgress",
    "ProgressReporter",
    "acreate_batch_table",
    "acreate_video_artifacts",
    "artifact_key",
    "batch_table",
    "create_batch_table",
    "create_video_artifacts",
    "emit_video_completed",
    "emit_video_failed",
    "frame_thumbnail",
    "get_logger",
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


def artifact_key(*parts: Any, max_length: int = 100) -> str:
    """An artifact key (lowercase letters, digits and dashes only) built from `parts`.

    Example:
        ```python
        from prefect_videogen.reporting import artifact_key

        print(artifact_key("video", "Video_ABC.1"))  # video-video-abc-1
        ```
    """
    text = "-".join(str(part) for part in parts if part not in (None, ""))
    key = re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")
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
        create_link_artifact(
            link=stored.uri,
            link_text=f"{stored.model} video {stored.job_id}",
            key=key,
            description=f"Stored {stored.mode or ''} video ({stored.size_bytes:,} bytes).",
            _sync=True,
        )
        create_markdown_artifact(
            markdown=_markdown(stored, thumbnail),
            key=f"{key}-summary"[:100],
            description=f"{stored.model} video {stored.job_id}",
            _sync=True,
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
        return create_table_artifact(
            table=rows, key=key, description="Videos generated by this batch.", _sync=True
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


class _ProgressBase:
    def __init__(self, job: JobRecord, *, detailed: bool = True) -> None:
        self.job = job
        self.detailed = detailed
        self.artifact_id: UUID | None = None
        self.last_status: str | None = None
        self.last_progress: int | None = None
        self.logger = get_logger()

    @property
    def description(self) -> str:
        return f"{self.job.model} video job {self.job.job_id}"

    def _log_status(self, update: Any) -> bool:
        """Log when the status changes; return whether the progress value changed."""
        status = getattr(update.status, "value", str(update.status))
        if status != self.last_status:
            self.logger.log(
                logging.INFO if self.detailed else logging.DEBUG,
                "Video job %s is %s (%d%%)",
                self.job.job_id,
                status,
                int(update.progress or 0),
            )
            self.last_status = status
        changed = update.progress != self.last_progress
        self.last_progress = update.progress
        return changed


class ProgressReporter(_ProgressBase):
    """`on_update` callback for `VideoGenClient.wait`: progress artifact + log on status change.

    With `detailed=False` it keeps no artifact and logs status changes at DEBUG: a batch
    reports progress once for all its videos (`BatchProgress`), not per job.

    Example:
        ```python
        from prefect_videogen.reporting import ProgressReporter

        job = client.wait(record.job_id, on_update=ProgressReporter(record))
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
                self.artifact_id = create_progress_artifact(
                    progress=float(update.progress or 0), description=self.description, _sync=True
                )
            else:
                update_progress_artifact(self.artifact_id, float(update.progress), _sync=True)
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
    """One progress artifact for a whole batch: the share of its videos that are finished.

    The artifact is updated at most every `min_interval` seconds (and always at the end), so
    a batch of hundreds of videos makes a few dozen API calls, not one per video.

    Example:
        ```python
        from prefect_videogen.reporting import BatchProgress

        progress = BatchProgress(total=500)
        await progress.start()
        ...  # after each video, stored or failed:
        await progress.advance()
        await progress.finish()
        ```
    """

    def __init__(self, total: int, *, min_interval: float = 2.0) -> None:
        self.total = max(total, 1)
        self.finished = 0
        self.min_interval = min_interval
        self.artifact_id: UUID | None = None
        self._reported = -1.0
        self._last_update = 0.0

    async def start(self) -> None:
        """Create the artifact at 0 %."""
        from prefect.artifacts import acreate_progress_artifact

        try:
            self.artifact_id = await acreate_progress_artifact(
                progress=0.0, description=f"Videos finished in this batch of {self.total}."
            )
        except Exception:
            get_logger().debug("Could not create the batch progress artifact", exc_info=True)
        self._reported, self._last_update = 0.0, time.monotonic()

    async def advance(self) -> None:
        """Count one more finished video; update the artifact if it is due."""
        self.finished += 1
        if time.monotonic() - self._last_update >= self.min_interval:
            await self._update()

    async def finish(self) -> None:
        """Bring the artifact up to date."""
        await self._update()

    async def _update(self) -> None:
        from prefect.artifacts import aupdate_progress_artifact

        progress = round(100.0 * self.finished / self.total, 1)
        self._last_update = time.monotonic()
        if self.artifact_id is None or progress == self._reported:
            return
        self._reported = progress
        get_logger().info("%d of %d videos finished", self.finished, self.total)
        try:
            await aupdate_progress_artifact(self.artifact_id, progress)
        except Exception:
            get_logger().debug("Could not update the batch progress artifact", exc_info=True)
