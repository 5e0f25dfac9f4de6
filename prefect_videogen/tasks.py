"""Prefect tasks that submit a video job, wait for it, and download the video to storage.

Every task comes as a sync and an async twin, both real `Task` objects (with `.submit`,
`.map` and `.with_options`):

| sync               | async               | returns       |
|--------------------|---------------------|---------------|
| `submit_video`     | `asubmit_video`     | `JobRecord`   |
| `wait_for_video`   | `await_for_video`   | `JobRecord`   |
| `download_video`   | `adownload_video`   | `StoredVideo` |
| `generate_video`   | `agenerate_video`   | `StoredVideo` |

`generate_video` does the other three's work in one task run, for flows that make many
videos (`generate_batch` uses it): a third of the task runs, the same cache.

- `submit_video` is cached on the normalized request, the `attempt` number and the API's
  `base_url` (never the key; see `prefect_videogen.caching`), and its result is persisted
  as JSON: running it again, in a rerun or after a crash, returns the same job id instead
  of paying again. Pass `attempt=1` (2, ...) to pay for a new job.
- All three retry only transient errors (rate limits, 5xx, connection failures), never a
  submission whose outcome is unknown (`SubmissionUncertainError`).
- No task returns video bytes: videos go to a storage block, tasks return small records.
"""

from __future__ import annotations

import logging
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

from prefect import task
from prefect.cache_policies import NO_CACHE

from prefect_videogen.caching import SUBMIT_CACHE_POLICY, normalize_request, normalized_cache_key
from prefect_videogen.costs import record_estimate
from prefect_videogen.exceptions import (
    APIError,
    AuthenticationError,
    InvalidRequestError,
    SubmissionUncertainError,
    VideoGenerationFailed,
    VideoGenError,
    VideoMismatchError,
    is_transient,
)
from prefect_videogen.in_flight import track_in_flight
from prefect_videogen.models import VideoJob, VideoStatus
from prefect_videogen.probe import check_matches, probe_video
from prefect_videogen.records import JobRecord, StoredVideo, Timings, VideoProbe, utcnow
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
    acheck_writable,
    aresolve_storage,
    check_writable,
    open_target,
    render_path,
    resolve_storage,
    storage_label,
    storage_uri,
)

__all__ = [
    "adownload_video",
    "agenerate_video",
    "asubmit_video",
    "await_for_video",
    "download_video",
    "generate_video",
    "retry_if_transient",
    "submit_video",
    "wait_for_video",
]

#: Delays between task retries, in seconds (the clients already retry quickly inside).
RETRY_DELAYS = [2.0, 10.0, 30.0]

#: Thumbnails larger than this are not embedded; a frame of the video is used instead.
_MAX_THUMBNAIL_BYTES = 5 * 1024 * 1024


def retry_if_transient(task: Any, task_run: Any, state: Any) -> bool:
    """`retry_condition_fn` of the tasks: retry rate limits, 5xx and connection failures only.

    Never retries `SubmissionUncertainError` (a paid job may exist), bad input, auth,
    failed or expired jobs, or timeouts.

    Example:
        ```python
        from prefect import task
        from prefect_videogen.tasks import retry_if_transient

        @task(retries=3, retry_condition_fn=retry_if_transient)
        def poll(): ...
        ```
    """
    error = state.data if isinstance(state.data, BaseException) else None
    if error is None:
        try:
            state.result(raise_on_failure=True)
        except BaseException as exc:
            error = exc
    if error is None or isinstance(error, SubmissionUncertainError):
        return False
    return is_transient(error)


# --------------------------------------------------------------------------------------
# Plain helpers shared by the sync and async twins


def _check_credentials(credentials: Any) -> Any:
    if credentials is None or not hasattr(credentials, "get_client"):
        raise InvalidRequestError(
            "credentials",
            value=type(credentials).__name__,
            allowed="a VideoGenCredentials block (load a saved one with VideoGenCredentials.load)",
        )
    return credentials


def _idempotency_key(cache_key: str) -> str:
    return "prefect-videogen-" + cache_key[:40]


def _submitted_record(job: VideoJob, request: Any, family: Any, attempt: int) -> JobRecord:
    return JobRecord(
        job_id=job.id,
        model=request.model,
        family=family.name,
        mode=request.mode,
        fingerprint=request.fingerprint(),
        attempt=attempt,
        status=job.status,
        progress=job.progress,
        request=request.summary(),
        submitted_at=utcnow(),
        result_url=job.url,
        estimated_cost=record_estimate(request),
    )


def _as_record(job: JobRecord | str, model: str | None) -> JobRecord:
    if isinstance(job, JobRecord):
        return job
    if isinstance(job, dict):
        return JobRecord.model_validate(job)
    if isinstance(job, str) and job:
        return JobRecord(job_id=job, model=model or "unknown")
    raise InvalidRequestError("job", value=type(job).__name__, allowed="a JobRecord or a job id")


def _wait_options(
    timeout: float | None, poll_interval: float | None, max_poll_interval: float | None
) -> dict[str, Any]:
    settings = current_settings()
    minimum = settings.poll_interval if poll_interval is None else poll_interval
    maximum = settings.max_poll_interval if max_poll_interval is None else max_poll_interval
    return {
        "timeout": settings.max_wait_seconds if timeout is None else timeout,
        "min_interval": minimum,
        "max_interval": max(maximum, minimum),
    }


def _finished_record(record: JobRecord, job: VideoJob) -> JobRecord:
    return record.model_copy(
        update={
            "status": job.status,
            "progress": job.progress,
            "finished_at": utcnow(),
            "result_url": job.url or record.result_url,
            "model": record.model if record.model != "unknown" else (job.model or "unknown"),
        }
    )


def _failed(record: JobRecord, error: VideoGenerationFailed) -> VideoGenerationFailed:
    failed = record.model_copy(
        update={
            "status": VideoStatus.FAILED,
            "finished_at": utcnow(),
            "error_code": error.code,
            "error_message": error.message,
        }
    )
    emit_video_failed(failed, error)
    get_logger().error(
        "Video job %s failed: %s: %s",
        record.job_id,
        error.code or "unknown_error",
        error.message or "no message from the provider",
    )
    return error


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


def _should_try_result_url(error: VideoGenError, record: JobRecord) -> bool:
    """Whether a failed `/content` download should be retried from the job's result URL."""
    return (
        record.result_url is not None
        and isinstance(error, APIError)
        and not isinstance(error, AuthenticationError)
        and 400 <= error.status_code < 500
    )


def _thumbnail_from_file(path: Path) -> str | None:
    try:
        if 0 < path.stat().st_size <= _MAX_THUMBNAIL_BYTES:
            return thumbnail_data_url(path, max_px=current_settings().thumbnail_max_px)
    except (OSError, ValueError):
        pass
    return None


def _stored_record(
    record: JobRecord,
    target: StorageTarget,
    content: Any,
    probe: VideoProbe | None,
    started: float,
) -> StoredVideo:
    location = target.location or target.path
    return StoredVideo(
        job_id=record.job_id,
        model=record.model,
        family=record.family,
        mode=record.mode,
        fingerprint=record.fingerprint,
        attempt=record.attempt,
        storage=storage_label(target.block),
        path=target.path,
        location=location,
        uri=storage_uri(target.block, location),
        sidecar_path=target.sidecar_path,
        size_bytes=content.size,
        sha256=content.sha256,
        content_type=content.content_type,
        probe=probe,
        timings=Timings(
            submitted_at=record.submitted_at,
            finished_at=record.finished_at,
            stored_at=utcnow(),
            download_seconds=round(time.monotonic() - started, 3),
        ),
        request=record.request,
        estimated_cost=record.estimated_cost,
    )


def _sidecar_bytes(stored: StoredVideo) -> bytes:
    return stored.model_dump_json(indent=2).encode()


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


def _log_stored(stored: StoredVideo, detailed: bool = True) -> None:
    get_logger().log(
        logging.INFO if detailed else logging.DEBUG,
        "Stored video %s (%s bytes, sha256 %s) at %s",
        stored.job_id,
        stored.size_bytes,
        stored.sha256[:12],
        stored.uri,
    )


# --------------------------------------------------------------------------------------
# The work of each task, on a client the caller opened (`generate_video` opens one for all)


def _log_submitted(record: JobRecord) -> None:
    get_logger().info(
        "Submitted %s %s video job %s (attempt %d)",
        record.model,
        record.mode,
        record.job_id,
        record.attempt,
    )


def _submit(client: Any, normalized: Any, family: Any, attempt: int, cache_key: str) -> JobRecord:
    job = client.create(normalized, idempotency_key=_idempotency_key(cache_key))
    record = _submitted_record(job, normalized, family, attempt)
    _log_submitted(record)
    return record


async def _asubmit(
    client: Any, normalized: Any, family: Any, attempt: int, cache_key: str
) -> JobRecord:
    job = await client.create(normalized, idempotency_key=_idempotency_key(cache_key))
    record = _submitted_record(job, normalized, family, attempt)
    _log_submitted(record)
    return record


def _wait(client: Any, record: JobRecord, progress: bool, options: dict[str, Any]) -> JobRecord:
    try:
        done = client.wait(
            record.job_id,
            model=record.model,
            on_update=(reporter := ProgressReporter(record, detailed=progress)),
            on_tick=reporter.tick,
            **options,
        )
    except VideoGenerationFailed as exc:
        raise _failed(record, exc) from None
    return _finished_record(record, done)


async def _await(
    client: Any, record: JobRecord, progress: bool, options: dict[str, Any]
) -> JobRecord:
    try:
        done = await client.wait(
            record.job_id,
            model=record.model,
            on_update=(reporter := AsyncProgressReporter(record, detailed=progress)),
            on_tick=reporter.tick,
            **options,
        )
    except VideoGenerationFailed as exc:
        raise _failed(record, exc) from None
    return _finished_record(record, done)


# --------------------------------------------------------------------------------------
# submit


@task(
    name="submit-video",
    description="Submit a video generation job (paid); cached so a rerun reuses the job.",
    cache_policy=SUBMIT_CACHE_POLICY,
    persist_result=True,
    result_serializer="json",
    retries=len(RETRY_DELAYS),
    retry_delay_seconds=RETRY_DELAYS,
    retry_jitter_factor=0.5,
    retry_condition_fn=retry_if_transient,
)
def submit_video(request: Any, credentials: Any, attempt: int = 0) -> JobRecord:
    """Submit a video job, or return the job already submitted for the same request.

    The request is validated and normalized by its model family first, so a bad request
    raises `InvalidRequestError` before any HTTP call. The result is cached on the
    normalized request + `attempt` + `credentials.base_url` and persisted as JSON, so
    calling this again (a rerun, a flow retry, a rerun after a crash) makes no new paid
    submission. An `Idempotency-Key` derived from the same digest is sent as well.

    Args:
        request: A `VideoRequest` (or a dict of its fields).
        credentials: A `VideoGenCredentials` block.
        attempt: 0 for the first submission; raise it to pay for a new job when the old
            one failed or expired.

    Returns:
        The `JobRecord` of the submitted job.

    Raises:
        InvalidRequestError: The request is not acceptable for the model.
        SubmissionUncertainError: The request was sent but no answer came back; a job may
            exist. Not retried: look with `client.list()` before submitting again.

    Example:
        ```python
        from prefect import flow
        from prefect_videogen.credentials import VideoGenCredentials
        from prefect_videogen.families import VideoRequest
        from prefect_videogen.tasks import submit_video

        @flow
        def submit() -> str:
            credentials = VideoGenCredentials.load("default")
            request = VideoRequest(model="sora-2", prompt="a red fox in snow", seconds=4)
            return submit_video(request, credentials).job_id

        print(submit())
        ```
    """
    credentials = _check_credentials(credentials)
    normalized, family = normalize_request(request)  # a bad request fails before a client exists
    key = normalized_cache_key(normalized, credentials, attempt)
    with credentials.get_client() as client:
        return _submit(client, normalized, family, attempt, key)


@task(
    name="submit-video-async",
    description="Submit a video generation job (paid); cached so a rerun reuses the job.",
    cache_policy=SUBMIT_CACHE_POLICY,
    persist_result=True,
    result_serializer="json",
    retries=len(RETRY_DELAYS),
    retry_delay_seconds=RETRY_DELAYS,
    retry_jitter_factor=0.5,
    retry_condition_fn=retry_if_transient,
)
async def asubmit_video(request: Any, credentials: Any, attempt: int = 0) -> JobRecord:
    """Async twin of `submit_video`; shares its cache, so either finds the other's job.

    Example:
        ```python
        import asyncio

        from prefect import flow
        from prefect_videogen.credentials import VideoGenCredentials
        from prefect_videogen.families import VideoRequest
        from prefect_videogen.tasks import asubmit_video

        @flow
        async def submit() -> str:
            credentials = await VideoGenCredentials.aload("default")
            request = VideoRequest(model="sora-2", prompt="a red fox in snow", seconds=4)
            return (await asubmit_video(request, credentials)).job_id

        print(asyncio.run(submit()))
        ```
    """
    credentials = _check_credentials(credentials)
    normalized, family = normalize_request(request)  # a bad request fails before a client exists
    key = normalized_cache_key(normalized, credentials, attempt)
    async with credentials.get_async_client() as client:
        return await _asubmit(client, normalized, family, attempt, key)


# --------------------------------------------------------------------------------------
# wait


@task(
    name="wait-for-video",
    description="Poll a video job until it completes, with a progress artifact.",
    cache_policy=NO_CACHE,
    retries=len(RETRY_DELAYS),
    retry_delay_seconds=RETRY_DELAYS,
    retry_jitter_factor=0.5,
    retry_condition_fn=retry_if_transient,
)
def wait_for_video(
    job: JobRecord | str,
    credentials: Any,
    *,
    model: str | None = None,
    timeout: float | None = None,
    poll_interval: float | None = None,
    max_poll_interval: float | None = None,
    progress: bool = True,
) -> JobRecord:
    """Wait for a video job to finish, polling with backoff and the server's hint.

    Polls `GET /videos/{id}`: the pause is the server's `openai-poll-after-ms` hint when it
    sends one, else grows from `poll_interval` to `max_poll_interval`. A progress artifact
    is created, then updated as progress changes; the log gets a line per status change.

    Args:
        job: The `JobRecord` from `submit_video`, or a job id.
        credentials: A `VideoGenCredentials` block.
        model: The job's model, when `job` is a bare id.
        timeout: Seconds to wait at most (default: the `max_wait_seconds` setting).
        poll_interval: The first pause between polls (default: setting, 1 s).
        max_poll_interval: The longest pause between polls (default: setting, 15 s).
        progress: Report the job's progress: a progress artifact, and a log line per
            status change (logged at DEBUG level when False).

    Returns:
        The `JobRecord`, now `completed`.

    Raises:
        VideoGenerationFailed: The job failed; carries the provider's code and message.
            The `prefect-videogen.video.failed` event is emitted first.
        VideoTimeoutError: Still running after `timeout`; the job goes on, wait again.

    Example:
        ```python
        from prefect import flow
        from prefect_videogen.credentials import VideoGenCredentials
        from prefect_videogen.tasks import wait_for_video

        @flow
        def wait(job_id: str) -> str:
            credentials = VideoGenCredentials.load("default")
            return wait_for_video(job_id, credentials, model="sora-2").status.value

        print(wait("video_123"))
        ```
    """
    credentials = _check_credentials(credentials)
    record = _as_record(job, model)
    options = _wait_options(timeout, poll_interval, max_poll_interval)
    with credentials.get_client() as client:
        return _wait(client, record, progress, options)


@task(
    name="wait-for-video-async",
    description="Poll a video job until it completes, with a progress artifact.",
    cache_policy=NO_CACHE,
    retries=len(RETRY_DELAYS),
    retry_delay_seconds=RETRY_DELAYS,
    retry_jitter_factor=0.5,
    retry_condition_fn=retry_if_transient,
)
async def await_for_video(
    job: JobRecord | str,
    credentials: Any,
    *,
    model: str | None = None,
    timeout: float | None = None,
    poll_interval: float | None = None,
    max_poll_interval: float | None = None,
    progress: bool = True,
) -> JobRecord:
    """Async twin of `wait_for_video`.

    Example:
        ```python
        import asyncio

        from prefect import flow
        from prefect_videogen.credentials import VideoGenCredentials
        from prefect_videogen.tasks import await_for_video

        @flow
        async def wait(job_id: str) -> str:
            credentials = await VideoGenCredentials.aload("default")
            return (await await_for_video(job_id, credentials, model="sora-2")).status.value

        print(asyncio.run(wait("video_123")))
        ```
    """
    credentials = _check_credentials(credentials)
    record = _as_record(job, model)
    options = _wait_options(timeout, poll_interval, max_poll_interval)
    async with credentials.get_async_client() as client:
        return await _await(client, record, progress, options)


# --------------------------------------------------------------------------------------
# download


def _fetch(client: Any, record: JobRecord, destination: Path) -> Any:
    try:
        return client.download_content(record.job_id, destination)
    except VideoGenError as exc:
        if not _should_try_result_url(exc, record):
            raise
        get_logger().info("Downloading video %s from its result URL instead", record.job_id)
        return client.download_content(record.job_id, destination, url=record.result_url)


async def _afetch(client: Any, record: JobRecord, destination: Path) -> Any:
    try:
        return await client.download_content(record.job_id, destination)
    except VideoGenError as exc:
        if not _should_try_result_url(exc, record):
            raise
        get_logger().info("Downloading video %s from its result URL instead", record.job_id)
        return await client.download_content(record.job_id, destination, url=record.result_url)


def _fetch_thumbnail(client: Any, record: JobRecord, video: Path) -> str | None:
    if record.result_url is not None:  # a gateway: /content has no thumbnail variant
        return frame_thumbnail(video, max_px=current_settings().thumbnail_max_px)
    with tempfile.TemporaryDirectory(prefix="prefect-videogen-thumb-") as tmp:
        try:
            content = client.download_content(
                record.job_id, Path(tmp) / "thumbnail", variant="thumbnail"
            )
            if (url := _thumbnail_from_file(content.path)) is not None:
                return url
        except VideoGenError as exc:
            get_logger().debug("No thumbnail for %s from the server: %s", record.job_id, exc)
    return frame_thumbnail(video, max_px=current_settings().thumbnail_max_px)


async def _afetch_thumbnail(client: Any, record: JobRecord, video: Path) -> str | None:
    import anyio

    max_px = current_settings().thumbnail_max_px
    if record.result_url is not None:  # a gateway: /content has no thumbnail variant
        return await anyio.to_thread.run_sync(lambda: frame_thumbnail(video, max_px=max_px))
    with tempfile.TemporaryDirectory(prefix="prefect-videogen-thumb-") as tmp:
        try:
            content = await client.download_content(
                record.job_id, Path(tmp) / "thumbnail", variant="thumbnail"
            )
            url = await anyio.to_thread.run_sync(_thumbnail_from_file, content.path)
            if url is not None:
                return url
        except VideoGenError as exc:
            get_logger().debug("No thumbnail for %s from the server: %s", record.job_id, exc)
        return await anyio.to_thread.run_sync(lambda: frame_thumbnail(video, max_px=max_px))


def _download(
    client: Any,
    record: JobRecord,
    block: Any,
    path_template: str | None,
    *,
    probe: bool,
    duration_tolerance: float | None,
    thumbnail: bool,
    artifacts: bool,
) -> StoredVideo:
    path = _plan_path(record, path_template)
    started = time.monotonic()
    with open_target(block, path) as target:
        content = _fetch(client, record, target.local_path)
        probed = probe_video(target.local_path) if probe else None
        thumb = (
            _fetch_thumbnail(client, record, target.local_path) if thumbnail and artifacts else None
        )
        target.store()
        stored = _stored_record(record, target, content, probed, started)
        target.write_sidecar(_sidecar_bytes(stored))
    _log_stored(stored, artifacts)
    _check_probe(record, stored, duration_tolerance)
    if artifacts:
        create_video_artifacts(stored, thumb)
    emit_video_completed(stored)
    return stored


async def _adownload(
    client: Any,
    record: JobRecord,
    block: Any,
    path_template: str | None,
    *,
    probe: bool,
    duration_tolerance: float | None,
    thumbnail: bool,
    artifacts: bool,
) -> StoredVideo:
    import anyio

    path = _plan_path(record, path_template)
    started = time.monotonic()
    with open_target(block, path) as target:
        content = await _afetch(client, record, target.local_path)
        probed = await anyio.to_thread.run_sync(probe_video, target.local_path) if probe else None
        thumb = (
            await _afetch_thumbnail(client, record, target.local_path)
            if thumbnail and artifacts
            else None
        )
        await target.astore()
        stored = _stored_record(record, target, content, probed, started)
        await target.awrite_sidecar(_sidecar_bytes(stored))
    _log_stored(stored, artifacts)
    _check_probe(record, stored, duration_tolerance)
    if artifacts:
        await acreate_video_artifacts(stored, thumb)
    emit_video_completed(stored)
    return stored


@task(
    name="download-video",
    description="Stream a finished video to a storage block, with a sidecar JSON.",
    cache_policy=NO_CACHE,
    retries=len(RETRY_DELAYS),
    retry_delay_seconds=RETRY_DELAYS,
    retry_jitter_factor=0.5,
    retry_condition_fn=retry_if_transient,
)
def download_video(
    job: JobRecord | str,
    credentials: Any,
    *,
    storage: Any = None,
    path_template: str | None = None,
    model: str | None = None,
    probe: bool = False,
    duration_tolerance: float | None = None,
    thumbnail: bool = True,
    artifacts: bool = True,
) -> StoredVideo:
    """Download a finished video to a storage block and describe it.

    The video is streamed (and hashed while streaming), never held in memory whole, and
    never left half-written at its final path: on a `LocalFileSystem` it is written under a
    temporary name next to the destination and renamed; for `S3Bucket` and other object
    stores it is streamed to a local temporary file and then stream-uploaded (see
    `prefect_videogen.storage`). Then a sidecar `<path>.json` (the returned record) is
    written next to it, a link and a markdown artifact (with a small thumbnail) are
    created, and `prefect-videogen.video.completed` is emitted.

    Args:
        job: The completed `JobRecord` from `wait_for_video`, or a job id.
        credentials: A `VideoGenCredentials` block.
        storage: A storage block, a saved block's `"<type-slug>/<name>"`, a local directory,
            or None for the `output_dir` setting (`./videos`).
        path_template: Where the video goes inside the block (default setting
            `{model}/{date}/{job_id}.mp4`); fields are sanitized, ids cannot escape.
        model: The job's model, when `job` is a bare id.
        probe: Open the file with PyAV and check its size and duration against the request.
        duration_tolerance: Allowed duration difference in seconds when probing.
        thumbnail: Fetch the server's thumbnail (else a frame of the video) for the
            markdown artifact.
        artifacts: Create the link and markdown artifacts (without them no thumbnail is
            fetched; the event is emitted either way).

    Returns:
        A `StoredVideo`: where the video is, its size, sha256, probe and timings.

    Raises:
        VideoMismatchError: `probe=True` and the video's size or duration is not what was
            asked (the video stays stored; the message says where).
        ContentExpiredError: The server no longer has the video; submit with a new `attempt`.

    Example:
        ```python
        from prefect import flow
        from prefect_videogen.credentials import VideoGenCredentials
        from prefect_videogen.tasks import download_video, wait_for_video

        @flow
        def fetch(job_id: str) -> str:
            credentials = VideoGenCredentials.load("default")
            job = wait_for_video(job_id, credentials, model="sora-2")
            return download_video(job, credentials, storage="s3-bucket/videos").uri

        print(fetch("video_123"))
        ```
    """
    credentials = _check_credentials(credentials)
    record = _as_record(job, model)
    block = resolve_storage(storage)
    options = {"probe": probe, "duration_tolerance": duration_tolerance, "artifacts": artifacts}
    with credentials.get_client() as client:
        return _download(client, record, block, path_template, thumbnail=thumbnail, **options)


@task(
    name="download-video-async",
    description="Stream a finished video to a storage block, with a sidecar JSON.",
    cache_policy=NO_CACHE,
    retries=len(RETRY_DELAYS),
    retry_delay_seconds=RETRY_DELAYS,
    retry_jitter_factor=0.5,
    retry_condition_fn=retry_if_transient,
)
async def adownload_video(
    job: JobRecord | str,
    credentials: Any,
    *,
    storage: Any = None,
    path_template: str | None = None,
    model: str | None = None,
    probe: bool = False,
    duration_tolerance: float | None = None,
    thumbnail: bool = True,
    artifacts: bool = True,
) -> StoredVideo:
    """Async twin of `download_video`.

    Example:
        ```python
        import asyncio

        from prefect import flow
        from prefect_videogen.credentials import VideoGenCredentials
        from prefect_videogen.tasks import adownload_video, await_for_video

        @flow
        async def fetch(job_id: str) -> str:
            credentials = await VideoGenCredentials.aload("default")
            job = await await_for_video(job_id, credentials, model="sora-2")
            return (await adownload_video(job, credentials, storage="./videos")).uri

        print(asyncio.run(fetch("video_123")))
        ```
    """
    credentials = _check_credentials(credentials)
    record = _as_record(job, model)
    block = await aresolve_storage(storage)
    options = {"probe": probe, "duration_tolerance": duration_tolerance, "artifacts": artifacts}
    async with credentials.get_async_client() as client:
        return await _adownload(
            client, record, block, path_template, thumbnail=thumbnail, **options
        )


# --------------------------------------------------------------------------------------
# submit + wait + download as one task run


def _reused(record: Any) -> JobRecord:
    cached = JobRecord.model_validate(record.result)
    get_logger().info("Reusing video job %s (same request, already paid)", cached.job_id)
    return cached


def _submit_once(
    client: Any, normalized: Any, family: Any, credentials: Any, attempt: int
) -> JobRecord:
    """`submit_video`'s work under its cache, without a task run of its own.

    Same key, result store and lock as the task's cache policy: the lock is held while the
    record is looked up and, on a miss, while the job is created and its record written.
    So a retry, a rerun, or a `submit_video` call for the same request finds this job.
    """
    from prefect.results import get_result_store

    key = normalized_cache_key(normalized, credentials, attempt)
    store = get_result_store().update_for_task(submit_video, _sync=True)
    holder = uuid.uuid4().hex
    store.acquire_lock(key, holder=holder)
    try:
        if store.exists(key):
            return _reused(store.read(key, holder=holder))
        submitted = _submit(client, normalized, family, attempt, key)
        store.write(submitted, key=key, holder=holder)
        return submitted
    finally:
        store.release_lock(key, holder=holder)


async def _asubmit_once(
    client: Any, normalized: Any, family: Any, credentials: Any, attempt: int
) -> JobRecord:
    """Async twin of `_submit_once`."""
    from prefect.results import get_result_store

    key = normalized_cache_key(normalized, credentials, attempt)
    store = await get_result_store().aupdate_for_task(asubmit_video)
    holder = uuid.uuid4().hex
    await store.aacquire_lock(key, holder=holder)
    try:
        if await store.aexists(key):
            return _reused(await store.aread(key, holder=holder))
        submitted = await _asubmit(client, normalized, family, attempt, key)
        await store.awrite(submitted, key=key, holder=holder)
        return submitted
    finally:
        store.release_lock(key, holder=holder)


@task(
    name="generate-video",
    description="Submit a video job (cached), wait for it and store the video: one task run.",
    cache_policy=NO_CACHE,
    retries=len(RETRY_DELAYS),
    retry_delay_seconds=RETRY_DELAYS,
    retry_jitter_factor=0.5,
    retry_condition_fn=retry_if_transient,
)
def generate_video(
    request: Any,
    credentials: Any,
    *,
    attempt: int = 0,
    storage: Any = None,
    path_template: str | None = None,
    probe: bool = False,
    duration_tolerance: float | None = None,
    timeout: float | None = None,
    artifacts: bool = True,
) -> StoredVideo:
    """Submit, wait and download one video in a single task run.

    The same work as `submit_video` + `wait_for_video` + `download_video`, for flows that
    make many videos: one task run per video instead of three. The submission goes through
    `submit_video`'s cache (same key, same persisted record, same lock), so a retry of this
    task, a rerun, or a `submit_video` call for the same request never pays twice. While
    the job generates it is registered for `cancel_in_flight_jobs`.

    Args:
        request: A `VideoRequest` (or a dict of its fields).
        credentials: A `VideoGenCredentials` block.
        attempt: 0 for the first submission; raise it to pay for a new job.
        storage: Where the video goes (see `download_video`).
        path_template: Path inside the storage.
        probe: Check the stored video's size and duration with PyAV.
        duration_tolerance: Allowed duration difference in seconds when probing.
        timeout: Seconds to wait for the job at most.
        artifacts: Report this video on its own: its progress, link and markdown
            artifacts, and a log line per status change (else at DEBUG level). A flow
            making hundreds of videos passes False and reports them together.

    Returns:
        The `StoredVideo`.

    Example:
        ```python
        from prefect import flow, unmapped
        from prefect_videogen.credentials import VideoGenCredentials
        from prefect_videogen.families import VideoRequest
        from prefect_videogen.tasks import generate_video

        @flow
        def many(prompts: list[str]) -> list[str]:
            credentials = VideoGenCredentials.load("default")
            requests = [VideoRequest(model="sora-2", prompt=p, seconds=4) for p in prompts]
            futures = generate_video.map(requests, unmapped(credentials), storage="./videos")
            return [video.uri for video in futures.result()]

        print(many(["a red fox in snow", "a heron at dawn"]))
        ```
    """
    credentials = _check_credentials(credentials)
    normalized, family = normalize_request(request)  # a bad request fails before anything else
    block = check_writable(storage, path_template)  # before paying
    options = _wait_options(timeout, None, None)
    with credentials.get_client() as client:  # one client (and connection) for all three steps
        job = _submit_once(client, normalized, family, credentials, attempt)
        with track_in_flight(job, credentials):
            done = _wait(client, job, artifacts, options)
        return _download(
            client,
            done,
            block,
            path_template,
            probe=probe,
            duration_tolerance=duration_tolerance,
            thumbnail=True,
            artifacts=artifacts,
        )


@task(
    name="generate-video-async",
    description="Submit a video job (cached), wait for it and store the video: one task run.",
    cache_policy=NO_CACHE,
    retries=len(RETRY_DELAYS),
    retry_delay_seconds=RETRY_DELAYS,
    retry_jitter_factor=0.5,
    retry_condition_fn=retry_if_transient,
)
async def agenerate_video(
    request: Any,
    credentials: Any,
    *,
    attempt: int = 0,
    storage: Any = None,
    path_template: str | None = None,
    probe: bool = False,
    duration_tolerance: float | None = None,
    timeout: float | None = None,
    artifacts: bool = True,
) -> StoredVideo:
    """Async twin of `generate_video`.

    Example:
        ```python
        import asyncio

        from prefect import flow
        from prefect_videogen.credentials import VideoGenCredentials
        from prefect_videogen.families import VideoRequest
        from prefect_videogen.tasks import agenerate_video

        @flow
        async def one(prompt: str) -> str:
            credentials = await VideoGenCredentials.aload("default")
            request = VideoRequest(model="sora-2", prompt=prompt, seconds=4)
            return (await agenerate_video(request, credentials, storage="./videos")).uri

        print(asyncio.run(one("a red fox in snow")))
        ```
    """
    credentials = _check_credentials(credentials)
    normalized, family = normalize_request(request)  # a bad request fails before anything else
    block = await acheck_writable(storage, path_template)  # before paying
    options = _wait_options(timeout, None, None)
    async with credentials.get_async_client() as client:  # one client for all three steps
        job = await _asubmit_once(client, normalized, family, credentials, attempt)
        with track_in_flight(job, credentials):
            done = await _await(client, job, artifacts, options)
        return await _adownload(
            client,
            done,
            block,
            path_template,
            probe=probe,
            duration_tolerance=duration_tolerance,
            thumbnail=True,
            artifacts=artifacts,
        )
