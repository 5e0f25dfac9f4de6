"""The I/O steps behind the tasks: submit (through the ledger), wait, fetch, store.

`_Steps` (sync) and `_AsyncSteps` (async) sit side by side and do the same things in the
same order; the decisions they share (paths, which error to raise, records) are plain
functions or record methods, written once. A task opens one client, builds a `_Steps`
over it and calls one or more steps; `generate_video` calls all of them on one client.
"""

from __future__ import annotations

import logging
import tempfile
import time
from pathlib import Path
from typing import Any

from prefect_videogen.exceptions import (
    APIError,
    AuthenticationError,
    ContentExpiredError,
    InvalidRequestError,
    NotFoundError,
    VideoGenerationFailed,
    VideoGenError,
    VideoMismatchError,
)
from prefect_videogen.ledger import SubmissionLedger
from prefect_videogen.probe import check_matches, probe_video
from prefect_videogen.records import JobRecord, StoredVideo, VideoProbe
from prefect_videogen.reporting import (
    AsyncProgressReporter,
    ProgressReporter,
    acreate_video_artifacts,
    create_video_artifacts,
    emit_video_completed,
    emit_video_failed,
    frame_thumbnail,
    get_logger,
    thumbnail_data_url,
)
from prefect_videogen.settings import current_settings
from prefect_videogen.storage import (
    StorageTarget,
    file_digest,
    open_target,
    render_path,
    storage_label,
    storage_uri,
)

__all__ = ["check_credentials", "wait_options"]

#: Thumbnails larger than this are not embedded; a frame of the video is used instead.
_MAX_THUMBNAIL_BYTES = 5 * 1024 * 1024


# --------------------------------------------------------------------------------------
# Decisions shared by both step classes (no network)


def check_credentials(credentials: Any) -> Any:
    """The credentials, or `InvalidRequestError` when they are not a credentials block."""
    if credentials is None or not hasattr(credentials, "get_client"):
        raise InvalidRequestError(
            "credentials",
            value=type(credentials).__name__,
            allowed="a VideoGenCredentials block (load a saved one with VideoGenCredentials.load)",
        )
    return credentials


def wait_options(
    timeout: float | None,
    poll_interval: float | None = None,
    max_poll_interval: float | None = None,
) -> dict[str, Any]:
    """`client.wait` options from the task's arguments, defaulting to the settings."""
    settings = current_settings()
    minimum = settings.poll_interval if poll_interval is None else poll_interval
    maximum = settings.max_poll_interval if max_poll_interval is None else max_poll_interval
    return {
        "timeout": settings.max_wait_seconds if timeout is None else timeout,
        "min_interval": minimum,
        "max_interval": max(maximum, minimum),
    }


def _plan_path(record: JobRecord, path_template: str | None) -> str:
    template = path_template or current_settings().path_template
    return render_path(
        template,
        model=record.model,
        job_id=record.job_id,
        family=record.family,
        mode=record.mode,
        fingerprint=record.fingerprint,
        prompt=record.request.get("prompt"),
        date=record.submitted_at,
    )


def _failed(record: JobRecord, error: VideoGenerationFailed) -> VideoGenerationFailed:
    emit_video_failed(record.failed(error.code, error.message), error)
    get_logger().error(
        "Video job %s failed: %s: %s",
        record.job_id,
        error.code or "unknown_error",
        error.message or "no message from the provider",
    )
    return error


def _job_gone(record: JobRecord, error: NotFoundError | ContentExpiredError) -> VideoGenError:
    """The error for a recorded job the server no longer has: names it, why, and attempt=."""
    why = (
        "its video has expired on the server"
        if isinstance(error, ContentExpiredError)
        else "the server does not know it (deleted, expired, or made with another account)"
    )
    message = (
        f"Video job {record.job_id} ({record.model}, attempt {record.attempt}) cannot be "
        f"used: {why} [{error.message}]. Nothing was paid again. To pay for a new job, run "
        f"again with attempt={record.attempt + 1}."
    )
    return type(error)(
        message,
        status_code=error.status_code,
        code=error.code,
        request_id=error.request_id,
    )


def _should_try_result_url(error: VideoGenError, record: JobRecord) -> bool:
    """Whether a failed `/content` download should be retried from the job's result URL."""
    return (
        record.result_url is not None
        and isinstance(error, APIError)
        and not isinstance(error, AuthenticationError)
        and 400 <= error.status_code < 500
    )


def _thumbnail_bytes(path: Path) -> bytes | None:
    """The server's thumbnail, read while its temporary folder still exists."""
    try:
        if 0 < path.stat().st_size <= _MAX_THUMBNAIL_BYTES:
            return path.read_bytes()
    except OSError:
        pass
    return None


def _thumbnail_url(data: bytes | None, video: Path) -> str | None:
    """A data: URL of the server's thumbnail, else of the video's first frame."""
    max_px = current_settings().thumbnail_max_px
    if data is not None:
        try:
            return thumbnail_data_url(data, max_px=max_px)
        except (OSError, ValueError):
            pass
    return frame_thumbnail(video, max_px=max_px)


def _stored(
    record: JobRecord, target: StorageTarget, content: Any, probe: VideoProbe | None, started: float
) -> StoredVideo:
    location = target.location or target.path
    return StoredVideo.stored(
        record,
        storage=storage_label(target.block),
        path=target.path,
        location=location,
        uri=storage_uri(target.block, location),
        sidecar_path=target.sidecar_path,
        content=content,
        probe=probe,
        download_seconds=time.monotonic() - started,
    )


def _check_probe(record: JobRecord, stored: StoredVideo, duration_tolerance: float | None) -> None:
    if stored.probe is None:
        return
    try:
        check_matches(record, stored.probe, duration_tolerance=duration_tolerance)
    except VideoMismatchError as exc:
        message = f"video job {record.job_id} stored at {stored.uri}: {exc}"
        emit_video_failed(
            record.model_copy(update={"error_code": "video_mismatch", "error_message": message}),
            exc,
        )
        error = VideoMismatchError(message)
        error.differences = getattr(exc, "differences", {})  # type: ignore[attr-defined]
        raise error from exc


def _finish(
    record: JobRecord, stored: StoredVideo, duration_tolerance: float | None, artifacts: bool
) -> None:
    get_logger().log(
        logging.INFO if artifacts else logging.DEBUG,
        "Stored video %s (%s bytes, sha256 %s) at %s",
        stored.job_id,
        stored.size_bytes,
        stored.sha256[:12],
        stored.uri,
    )
    _check_probe(record, stored, duration_tolerance)


def _already_stored(
    record: JobRecord, target: StorageTarget, probe: bool
) -> tuple[StoredVideo | None, str | None]:
    """The video of `record` already stored at `target`, else why it is not usable.

    Blocking I/O (the async steps run it in a thread). Returns `(stored, None)` when the
    sidecar names this job and the stored file's size and sha256 match it; `(None, None)`
    when there is no sidecar (nothing stored yet); `(None, why)` when something is there
    that cannot be trusted, so the video is downloaded again.
    """
    data = target.read_sidecar()
    if data is None:
        return None, None
    try:
        stored = StoredVideo.model_validate_json(data)
    except ValueError as exc:
        reason = str(exc).splitlines()[0]
        return None, f"its sidecar {target.sidecar_path} is not a stored video's record ({reason})"
    if stored.job_id != record.job_id:
        return None, f"its sidecar names another job ({stored.job_id})"
    try:
        local = target.read_back()
    except Exception as exc:  # a missing object: each block raises its own error
        return None, f"the video cannot be read back ({type(exc).__name__}: {exc})"
    if local is None:
        return None, "the sidecar is there but the video file is missing"
    size, sha256 = file_digest(local)
    if size != stored.size_bytes:
        return None, (
            f"the stored file has {size} bytes, its sidecar says {stored.size_bytes} "
            "(truncated or replaced)"
        )
    if sha256 != stored.sha256:
        return None, (
            f"the stored file's sha256 {sha256[:12]} differs from its sidecar's "
            f"{stored.sha256[:12]} (corrupted or replaced)"
        )
    if probe and stored.probe is None:  # stored without a probe: probe the file, keep it
        stored = stored.model_copy(update={"probe": probe_video(local)})
        target.write_sidecar(stored.sidecar_bytes())
    return stored, None


def _log_reuse(record: JobRecord, target: StorageTarget, found: Any, artifacts: bool) -> None:
    stored, why = found
    if stored is not None:
        get_logger().log(
            logging.INFO if artifacts else logging.DEBUG,
            "Already stored video %s at %s (its sidecar's job id and sha256 %s match); "
            "not downloaded",
            record.job_id,
            stored.uri,
            stored.sha256[:12],
        )
    elif why is not None:
        get_logger().warning(
            "Downloading video %s again to %s: %s", record.job_id, target.path, why
        )


def _stored_thumbnail(target: StorageTarget, wanted: bool) -> str | None:
    """A thumbnail from the first frame of the stored (or read-back) file; no request."""
    if not wanted or not target.local_path.is_file():
        return None
    return frame_thumbnail(target.local_path, max_px=current_settings().thumbnail_max_px)


# --------------------------------------------------------------------------------------
# The steps


class _Steps:
    """The tasks' I/O on one open `VideoGenClient`."""

    def __init__(self, client: Any, credentials: Any) -> None:
        self.client = client
        self.credentials = credentials

    def submit(
        self, normalized: Any, family: Any, attempt: int, *, detailed: bool = True
    ) -> JobRecord:
        """The job of this request and attempt: recorded, reconciled or paid for once.

        `detailed=False` logs the submission at DEBUG (a batch reports videos together).
        """
        ledger = SubmissionLedger(self.credentials, detailed=detailed)
        return ledger.submit(self.client, normalized, family, attempt)

    def wait(self, record: JobRecord, progress: bool, options: dict[str, Any]) -> JobRecord:
        """Poll until the job completes; a failed or vanished job raises a clear error."""
        try:
            done = self.client.wait(
                record.job_id,
                model=record.model,
                on_update=(reporter := ProgressReporter(record, detailed=progress)),
                on_tick=reporter.tick,
                **options,
            )
        except VideoGenerationFailed as exc:
            raise _failed(record, exc) from None
        except (NotFoundError, ContentExpiredError) as exc:
            raise _job_gone(record, exc) from exc
        return record.finished(done)

    def fetch(self, record: JobRecord, destination: Path) -> Any:
        """Download the video to `destination` (from `/content`, else the result URL)."""
        try:
            try:
                return self.client.download_content(record.job_id, destination)
            except VideoGenError as exc:
                if not _should_try_result_url(exc, record):
                    raise
                get_logger().info("Downloading video %s from its result URL instead", record.job_id)
                return self.client.download_content(
                    record.job_id, destination, url=record.result_url
                )
        except (NotFoundError, ContentExpiredError) as exc:
            raise _job_gone(record, exc) from exc

    def thumbnail(self, record: JobRecord, video: Path) -> str | None:
        """A thumbnail data: URL: the server's (OpenAI), else the video's first frame."""
        data = None
        if record.result_url is None:  # a gateway: /content has no thumbnail variant
            with tempfile.TemporaryDirectory(prefix="prefect-videogen-thumb-") as tmp:
                try:
                    content = self.client.download_content(
                        record.job_id, Path(tmp) / "thumbnail", variant="thumbnail"
                    )
                    data = _thumbnail_bytes(content.path)
                except VideoGenError as exc:
                    get_logger().debug(
                        "No thumbnail for %s from the server: %s", record.job_id, exc
                    )
        return _thumbnail_url(data, video)

    def reuse(
        self,
        record: JobRecord,
        block: Any,
        path_template: str | None,
        *,
        probe: bool,
        duration_tolerance: float | None,
        thumbnail: bool,
        artifacts: bool,
    ) -> StoredVideo | None:
        """The video of `record` if it is already stored intact at its path, else None.

        Makes no request to the video server: reads the sidecar and hashes the stored file
        (from an object store it is read back, one read from the bucket). The `probe` check
        uses the sidecar's probe (the file is probed if the sidecar has none). No completed
        event is emitted again; the link artifacts are, when `artifacts`.
        """
        with open_target(block, _plan_path(record, path_template)) as target:
            found = _already_stored(record, target, probe)
            _log_reuse(record, target, found, artifacts)
            stored = found[0]
            if stored is None:
                return None
            thumb = _stored_thumbnail(target, thumbnail and artifacts)
        if probe:
            _check_probe(record, stored, duration_tolerance)
        if artifacts:
            create_video_artifacts(stored, thumb)
        return stored

    def download(
        self,
        record: JobRecord,
        block: Any,
        path_template: str | None,
        *,
        probe: bool,
        duration_tolerance: float | None,
        thumbnail: bool,
        artifacts: bool,
        reuse: bool = True,
    ) -> StoredVideo:
        """Fetch the video into `block`, write its sidecar, report it.

        A video already stored at its path (its sidecar names this job, and the file's size
        and sha256 match the sidecar) is not downloaded again: see `reuse`.
        """
        options = {"probe": probe, "duration_tolerance": duration_tolerance}
        if reuse:
            found = self.reuse(
                record, block, path_template, thumbnail=thumbnail, artifacts=artifacts, **options
            )
            if found is not None:
                return found
        started = time.monotonic()
        with open_target(block, _plan_path(record, path_template)) as target:
            content = self.fetch(record, target.local_path)
            probed = probe_video(target.local_path) if probe else None
            thumb = self.thumbnail(record, target.local_path) if thumbnail and artifacts else None
            target.store()
            stored = _stored(record, target, content, probed, started)
            target.write_sidecar(stored.sidecar_bytes())
        _finish(record, stored, duration_tolerance, artifacts)
        if artifacts:
            create_video_artifacts(stored, thumb)
        emit_video_completed(stored)
        return stored


class _AsyncSteps:
    """The tasks' I/O on one open `AsyncVideoGenClient`; mirrors `_Steps`."""

    def __init__(self, client: Any, credentials: Any, ledger: Any = None) -> None:
        self.client = client
        self.credentials = credentials
        self.ledger = ledger  # a `SubmissionLedger` shared by several videos, or None

    async def submit(
        self, normalized: Any, family: Any, attempt: int, *, detailed: bool = True
    ) -> JobRecord:
        """See `_Steps.submit`."""
        ledger = self.ledger or SubmissionLedger(self.credentials, detailed=detailed)
        return await ledger.asubmit(self.client, normalized, family, attempt)

    async def wait(self, record: JobRecord, progress: bool, options: dict[str, Any]) -> JobRecord:
        """See `_Steps.wait`."""
        try:
            done = await self.client.wait(
                record.job_id,
                model=record.model,
                on_update=(reporter := AsyncProgressReporter(record, detailed=progress)),
                on_tick=reporter.tick,
                **options,
            )
        except VideoGenerationFailed as exc:
            raise _failed(record, exc) from None
        except (NotFoundError, ContentExpiredError) as exc:
            raise _job_gone(record, exc) from exc
        return record.finished(done)

    async def fetch(self, record: JobRecord, destination: Path) -> Any:
        """See `_Steps.fetch`."""
        try:
            try:
                return await self.client.download_content(record.job_id, destination)
            except VideoGenError as exc:
                if not _should_try_result_url(exc, record):
                    raise
                get_logger().info("Downloading video %s from its result URL instead", record.job_id)
                return await self.client.download_content(
                    record.job_id, destination, url=record.result_url
                )
        except (NotFoundError, ContentExpiredError) as exc:
            raise _job_gone(record, exc) from exc

    async def thumbnail(self, record: JobRecord, video: Path) -> str | None:
        """See `_Steps.thumbnail`."""
        import anyio

        data = None
        if record.result_url is None:
            with tempfile.TemporaryDirectory(prefix="prefect-videogen-thumb-") as tmp:
                try:
                    content = await self.client.download_content(
                        record.job_id, Path(tmp) / "thumbnail", variant="thumbnail"
                    )
                    data = await anyio.to_thread.run_sync(_thumbnail_bytes, content.path)
                except VideoGenError as exc:
                    get_logger().debug(
                        "No thumbnail for %s from the server: %s", record.job_id, exc
                    )
        return await anyio.to_thread.run_sync(_thumbnail_url, data, video)

    async def reuse(
        self,
        record: JobRecord,
        block: Any,
        path_template: str | None,
        *,
        probe: bool,
        duration_tolerance: float | None,
        thumbnail: bool,
        artifacts: bool,
    ) -> StoredVideo | None:
        """See `_Steps.reuse`."""
        import anyio

        with open_target(block, _plan_path(record, path_template)) as target:
            found = await anyio.to_thread.run_sync(_already_stored, record, target, probe)
            _log_reuse(record, target, found, artifacts)
            stored = found[0]
            if stored is None:
                return None
            thumb = await anyio.to_thread.run_sync(
                _stored_thumbnail, target, thumbnail and artifacts
            )
        if probe:
            _check_probe(record, stored, duration_tolerance)
        if artifacts:
            await acreate_video_artifacts(stored, thumb)
        return stored

    async def download(
        self,
        record: JobRecord,
        block: Any,
        path_template: str | None,
        *,
        probe: bool,
        duration_tolerance: float | None,
        thumbnail: bool,
        artifacts: bool,
        reuse: bool = True,
    ) -> StoredVideo:
        """See `_Steps.download`."""
        import anyio

        options = {"probe": probe, "duration_tolerance": duration_tolerance}
        if reuse:
            found = await self.reuse(
                record, block, path_template, thumbnail=thumbnail, artifacts=artifacts, **options
            )
            if found is not None:
                return found
        started = time.monotonic()
        with open_target(block, _plan_path(record, path_template)) as target:
            content = await self.fetch(record, target.local_path)
            probed = (
                await anyio.to_thread.run_sync(probe_video, target.local_path) if probe else None
            )
            thumb = (
                await self.thumbnail(record, target.local_path) if thumbnail and artifacts else None
            )
            await target.astore()
            stored = _stored(record, target, content, probed, started)
            await target.awrite_sidecar(stored.sidecar_bytes())
        _finish(record, stored, duration_tolerance, artifacts)
        if artifacts:
            await acreate_video_artifacts(stored, thumb)
        emit_video_completed(stored)
        return stored
