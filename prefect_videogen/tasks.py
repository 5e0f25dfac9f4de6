"""Prefect tasks that submit a video job, wait for it, and download the video to storage.

Every task comes as a sync and an async twin, both real `Task` objects (with `.submit`,
`.map` and `.with_options`):

| sync               | async               | returns       |
|--------------------|---------------------|---------------|
| `submit_video`     | `asubmit_video`     | `JobRecord`   |
| `wait_for_video`   | `await_for_video`   | `JobRecord`   |
| `download_video`   | `adownload_video`   | `StoredVideo` |
| `generate_video`   | `agenerate_video`   | `StoredVideo` |
|                    | `agenerate_videos`  | `list[StoredVideo]` |

`generate_video` does the other three's work in one task run, for flows that make many
videos (`generate_batch` uses it): a third of the task runs, the same ledger.
`agenerate_videos` generates several videos in one task run, for batches of thousands
(`generate_batch(videos_per_task=N)`): the same ledger, events and per-video retries.

- Every submission goes through the submission ledger (`prefect_videogen.ledger`): it is
  recorded in Prefect's result storage under the normalized request, the `attempt`
  number, the API's `base_url` and the account (the credentials' `account` label, else a
  fingerprint of the key; never the key). Running it again, in a rerun or after a crash,
  returns the same job instead of paying again. Pass `attempt=1` (2, ...) to pay for a
  new job.
- All tasks retry only transient errors (rate limits, 5xx while polling or downloading,
  connection failures), never a submission whose outcome is unknown
  (`SubmissionUncertainError`).
- No task returns video bytes: videos go to a storage block, tasks return small records.

Each task is a few lines over `prefect_videogen.steps` (the I/O) and the ledger.
"""

from __future__ import annotations

import asyncio
import contextlib
import random
from collections.abc import Awaitable, Callable
from contextlib import AbstractAsyncContextManager
from typing import Any

from prefect import task
from prefect.cache_policies import NO_CACHE

from prefect_videogen.caching import normalize_request
from prefect_videogen.exceptions import (
    InvalidRequestError,
    SubmissionUncertainError,
    is_transient,
)
from prefect_videogen.in_flight import track_in_flight
from prefect_videogen.ledger import SubmissionLedger
from prefect_videogen.naming import video_group_task_run_name, video_task_run_name
from prefect_videogen.records import JobRecord, StoredVideo
from prefect_videogen.reporting import get_logger
from prefect_videogen.steps import _AsyncSteps, _Steps, check_credentials, wait_options
from prefect_videogen.storage import (
    acheck_writable,
    aresolve_storage,
    check_writable,
    resolve_storage,
)

__all__ = [
    "RETRYING",
    "adownload_video",
    "agenerate_video",
    "agenerate_videos",
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


#: The options every task here shares: no Prefect cache (the ledger is the memory of
#: submissions), and retries of transient errors only.
RETRYING: dict[str, Any] = {
    "cache_policy": NO_CACHE,
    "retries": len(RETRY_DELAYS),
    "retry_delay_seconds": RETRY_DELAYS,
    "retry_jitter_factor": 0.5,
    "retry_condition_fn": retry_if_transient,
}


# --------------------------------------------------------------------------------------
# submit


@task(
    name="submit-video",
    description="Submit a video job (paid) through the ledger; a rerun reuses the job.",
    **RETRYING,
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
            request = VideoRequest(model="wan2.6-t2v", prompt="a red fox in snow", seconds=5)
            return submit_video(request, credentials).job_id

        print(submit())
        ```
    """
    credentials = check_credentials(credentials)
    normalized, family = normalize_request(request)  # a bad request fails before a client exists
    with credentials.get_client() as client:
        return _Steps(client, credentials).submit(normalized, family, attempt)


@task(
    name="submit-video-async",
    description="Submit a video job (paid) through the ledger; a rerun reuses the job.",
    **RETRYING,
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
            request = VideoRequest(model="wan2.6-t2v", prompt="a red fox in snow", seconds=5)
            return (await asubmit_video(request, credentials)).job_id

        print(asyncio.run(submit()))
        ```
    """
    credentials = check_credentials(credentials)
    normalized, family = normalize_request(request)  # a bad request fails before a client exists
    async with credentials.get_async_client() as client:
        return await _AsyncSteps(client, credentials).submit(normalized, family, attempt)


# --------------------------------------------------------------------------------------
# wait


@task(
    name="wait-for-video",
    description="Poll a video job until it completes, with a progress artifact.",
    **RETRYING,
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
            return wait_for_video(job_id, credentials, model="wan2.6-t2v").status.value

        print(wait("video_123"))
        ```
    """
    credentials = check_credentials(credentials)
    record = JobRecord.of(job, model)
    options = wait_options(timeout, poll_interval, max_poll_interval)
    with credentials.get_client() as client:
        return _Steps(client, credentials).wait(record, progress, options)


@task(
    name="wait-for-video-async",
    description="Poll a video job until it completes, with a progress artifact.",
    **RETRYING,
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
            return (await await_for_video(job_id, credentials, model="wan2.6-t2v")).status.value

        print(asyncio.run(wait("video_123")))
        ```
    """
    credentials = check_credentials(credentials)
    record = JobRecord.of(job, model)
    options = wait_options(timeout, poll_interval, max_poll_interval)
    async with credentials.get_async_client() as client:
        return await _AsyncSteps(client, credentials).wait(record, progress, options)


# --------------------------------------------------------------------------------------
# download


@task(
    name="download-video",
    description="Stream a finished video to a storage block, with a sidecar JSON.",
    **RETRYING,
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

    A video already stored at its path is not downloaded again: when the sidecar there
    names the same job and the stored file's size and sha256 match it, the sidecar's record
    is returned (no request to the server, no second completed event; from an object store
    the file is read back to hash it, one read from the bucket). A doubtful copy (another
    job's sidecar, a missing, truncated or changed file) is downloaded again with a
    warning. Delete the sidecar to force a fresh download.

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
            job = wait_for_video(job_id, credentials, model="wan2.6-t2v")
            return download_video(job, credentials, storage="s3-bucket/videos").uri

        print(fetch("video_123"))
        ```
    """
    credentials = check_credentials(credentials)
    record = JobRecord.of(job, model)
    block = resolve_storage(storage)
    options = {"probe": probe, "duration_tolerance": duration_tolerance, "artifacts": artifacts}
    with credentials.get_client() as client:
        steps = _Steps(client, credentials)
        return steps.download(record, block, path_template, thumbnail=thumbnail, **options)


@task(
    name="download-video-async",
    description="Stream a finished video to a storage block, with a sidecar JSON.",
    **RETRYING,
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
            job = await await_for_video(job_id, credentials, model="wan2.6-t2v")
            return (await adownload_video(job, credentials, storage="./videos")).uri

        print(asyncio.run(fetch("video_123")))
        ```
    """
    credentials = check_credentials(credentials)
    record = JobRecord.of(job, model)
    block = await aresolve_storage(storage)
    options = {"probe": probe, "duration_tolerance": duration_tolerance, "artifacts": artifacts}
    async with credentials.get_async_client() as client:
        steps = _AsyncSteps(client, credentials)
        return await steps.download(record, block, path_template, thumbnail=thumbnail, **options)


# --------------------------------------------------------------------------------------
# submit + wait + download as one task run


@task(
    name="generate-video",
    description="Submit a video job (ledger), wait for it and store the video: one task run.",
    task_run_name=video_task_run_name,
    **RETRYING,
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
    the job generates it is registered for `cancel_in_flight_jobs`. A job whose video is
    already stored intact (see `download_video`) is neither polled nor downloaded again.

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
            requests = [VideoRequest(model="wan2.6-t2v", prompt=p, seconds=5) for p in prompts]
            futures = generate_video.map(requests, unmapped(credentials), storage="./videos")
            return [video.uri for video in futures.result()]

        print(many(["a red fox in snow", "a heron at dawn"]))
        ```
    """
    credentials = check_credentials(credentials)
    normalized, family = normalize_request(request)  # a bad request fails before anything else
    block = check_writable(storage, path_template)  # before paying
    options = wait_options(timeout)
    with credentials.get_client() as client:  # one client (and connection) for all three steps
        steps = _Steps(client, credentials)
        job = steps.submit(normalized, family, attempt, detailed=artifacts)
        store = {"probe": probe, "duration_tolerance": duration_tolerance, "artifacts": artifacts}
        # A job whose video is already stored intact needs no poll and no download.
        stored = steps.reuse(job, block, path_template, thumbnail=True, **store)
        if stored is not None:
            return stored
        with track_in_flight(job, credentials):
            done = steps.wait(job, artifacts, options)
        return steps.download(done, block, path_template, thumbnail=True, reuse=False, **store)


@task(
    name="generate-video-async",
    description="Submit a video job (ledger), wait for it and store the video: one task run.",
    task_run_name=video_task_run_name,
    **RETRYING,
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
            request = VideoRequest(model="wan2.6-t2v", prompt=prompt, seconds=5)
            return (await agenerate_video(request, credentials, storage="./videos")).uri

        print(asyncio.run(one("a red fox in snow")))
        ```
    """
    credentials = check_credentials(credentials)
    normalized, family = normalize_request(request)  # a bad request fails before anything else
    block = await acheck_writable(storage, path_template)  # before paying
    return await _agenerate(
        normalized,
        family,
        credentials,
        attempt=attempt,
        block=block,
        path_template=path_template,
        probe=probe,
        duration_tolerance=duration_tolerance,
        timeout=timeout,
        artifacts=artifacts,
    )


async def _agenerate(
    normalized: Any,
    family: Any,
    credentials: Any,
    *,
    attempt: int,
    block: Any,
    path_template: str | None,
    probe: bool,
    duration_tolerance: float | None,
    timeout: float | None,
    artifacts: bool,
    ledger: Any = None,
) -> StoredVideo:
    """Submit (ledger), wait and store one video: the body of `agenerate_video`. `ledger`
    may be shared by several videos (`agenerate_videos`)."""
    options = wait_options(timeout)
    async with credentials.get_async_client() as client:  # one client for all three steps
        steps = _AsyncSteps(client, credentials, ledger)
        job = await steps.submit(normalized, family, attempt, detailed=artifacts)
        store = {"probe": probe, "duration_tolerance": duration_tolerance, "artifacts": artifacts}
        # A job whose video is already stored intact needs no poll and no download.
        stored = await steps.reuse(job, block, path_template, thumbnail=True, **store)
        if stored is not None:
            return stored
        with track_in_flight(job, credentials):
            done = await steps.wait(job, artifacts, options)
        return await steps.download(
            done, block, path_template, thumbnail=True, reuse=False, **store
        )


async def _retrying(make: Callable[[], Awaitable[StoredVideo]]) -> StoredVideo:
    """`make()` again after `RETRY_DELAYS` while it fails with a transient error, as the
    tasks' own retries do (`retry_if_transient`): never a `SubmissionUncertainError`."""
    for delay in [*RETRY_DELAYS, None]:
        try:
            return await make()
        except Exception as exc:
            if delay is None or isinstance(exc, SubmissionUncertainError):
                raise
            if not is_transient(exc):
                raise
            pause = delay * (1 + random.uniform(0, RETRYING["retry_jitter_factor"]))
            get_logger().warning("Retrying a video in %.0f s after: %s", pause, exc)
            await asyncio.sleep(pause)
    raise AssertionError("unreachable")  # pragma: no cover


# --------------------------------------------------------------------------------------
# many videos in one task run (an opt-in of generate_batch for very large batches)


@task(
    name="generate-videos-async",
    description="Submit (ledger), wait for and store several videos: one task run for all.",
    task_run_name=video_group_task_run_name,
    cache_policy=NO_CACHE,
)
async def agenerate_videos(
    requests: list[Any],
    credentials: Any,
    *,
    attempts: list[int] | None = None,
    storage: Any = None,
    path_template: str | None = None,
    probe: bool = False,
    duration_tolerance: float | None = None,
    timeout: float | None = None,
    artifacts: bool = False,
    admit: Callable[[], AbstractAsyncContextManager[Any]] | None = None,
    on_finished: Callable[[int, StoredVideo | Exception], Awaitable[None]] | None = None,
) -> list[StoredVideo]:
    """Generate several videos concurrently in ONE task run: each as `agenerate_video` would.

    For batches of thousands of videos, where a task run per video costs more Prefect
    bookkeeping (three state events in the flow process and the server) than the video's
    own work: `generate_batch(videos_per_task=N)` uses it. Every video still goes through
    the submission ledger (never paid twice), is registered for `cancel_in_flight_jobs`
    while it generates, emits its own `prefect-videogen.video.completed` event and is
    retried on its own, after the same delays and only for the same transient errors as
    the per-video task (`retry_if_transient`), so one video's 503 does not make the
    others run again. The task run itself is not retried.

    Args:
        requests: `VideoRequest`s (or dicts of their fields); all are validated first.
        credentials: A `VideoGenCredentials` block.
        attempts: The attempt of each request (default 0 for all).
        storage: Where the videos go (see `download_video`).
        path_template: Path inside the storage.
        probe: Check each stored video's size and duration with PyAV.
        duration_tolerance: Allowed duration difference in seconds when probing.
        timeout: Seconds to wait for each job at most.
        artifacts: Report each video on its own (see `generate_video`); off by default.
        admit: An async context manager factory held around each video's generation
            (e.g. a semaphore bounding how many are in flight); none by default, so all
            run at once.
        on_finished: Awaited with `(index, StoredVideo or exception)` as each video ends.

    Returns:
        The `StoredVideo`s, in the order of `requests`.

    Raises:
        ExceptionGroup: Some videos failed (after their retries); the others are stored
            and were passed to `on_finished`.

    Example:
        ```python
        import asyncio

        from prefect import flow
        from prefect_videogen.credentials import VideoGenCredentials
        from prefect_videogen.families import VideoRequest
        from prefect_videogen.tasks import agenerate_videos

        @flow
        async def many(prompts: list[str]) -> list[str]:
            credentials = await VideoGenCredentials.aload("default")
            requests = [VideoRequest(model="wan2.6-t2v", prompt=p, seconds=5) for p in prompts]
            videos = await agenerate_videos(requests, credentials, storage="./videos")
            return [video.uri for video in videos]

        print(asyncio.run(many(["a red fox in snow", "a heron at dawn"])))
        ```
    """
    credentials = check_credentials(credentials)
    attempts = list(attempts) if attempts is not None else [0] * len(requests)
    if len(attempts) != len(requests):
        raise InvalidRequestError(
            "attempts", value=len(attempts), allowed=f"one per request ({len(requests)})"
        )
    normalized = [normalize_request(request) for request in requests]  # all before paying
    block = await acheck_writable(storage, path_template)
    # One ledger (its store and lock manager) for the group. Each video keeps an HTTP client
    # of its own: a pool shared by many videos checks every idle connection (a poll() call
    # each) before each request, which cost more than the connections it saved.
    ledger = SubmissionLedger(credentials, detailed=artifacts)

    async def one(index: int) -> StoredVideo | Exception:
        request, family = normalized[index]
        try:
            async with admit() if admit is not None else contextlib.nullcontext():
                outcome: StoredVideo | Exception = await _retrying(
                    lambda: _agenerate(
                        request,
                        family,
                        credentials,
                        attempt=attempts[index],
                        block=block,
                        path_template=path_template,
                        probe=probe,
                        duration_tolerance=duration_tolerance,
                        timeout=timeout,
                        artifacts=artifacts,
                        ledger=ledger,
                    )
                )
        except Exception as exc:
            outcome = exc
        if on_finished is not None:
            await on_finished(index, outcome)
        return outcome

    outcomes = await asyncio.gather(*(one(index) for index in range(len(requests))))
    errors = [outcome for outcome in outcomes if isinstance(outcome, Exception)]
    if errors:
        raise ExceptionGroup(f"{len(errors)} of {len(requests)} videos failed", errors)
    return [outcome for outcome in outcomes if isinstance(outcome, StoredVideo)]
