"""Flows that turn prompts and images into stored videos: one at a time or in batches.

| flow                | makes                                   |
|---------------------|-----------------------------------------|
| `text_to_video`     | a video from a prompt                   |
| `image_to_video`    | a video starting from an image          |
| `keyframe_to_video` | a video from a first and a last frame   |
| `generate_batch`    | many videos from a list or a manifest   |
| `generate_batch_sharded` | one batch split over several workers (`prefect_videogen.sharding`) |

Their inputs are made ready in `prefect_videogen.inputs` (credentials, images, the
request) and batch manifests are read by `prefect_videogen.manifest`; the names are
re-exported here.

Each submits the job (cached: a rerun reuses the job, see `prefect_videogen.caching`),
waits for it, streams the video to storage with a sidecar JSON, and returns a
`StoredVideo` (the batch returns a list, plus a table artifact).

Costs (see `prefect_videogen.costs`): each logs its estimated cost before submitting;
`max_cost` refuses a run whose estimate is above it, `daily_cap` (with `budget_name`) a run
that would take the day's spend shared by every run of that budget over it, both before
the first paid call; `generate_batch(dry_run=True)` shows what a batch would cost and
submits nothing.

All parameters are JSON-able, so the flows work as subflows and through `run_deployment`:

- `credentials`: a `VideoGenCredentials` block, or the **name** of a saved one. `None` loads
  the block named by the `credentials_block` setting
  (`PREFECT_INTEGRATIONS_VIDEOGEN_CREDENTIALS_BLOCK`, default `"default"`). For deployments
  pass the name: parameters are stored by the server.
- `storage`: a storage block, a saved block as `"<block-type-slug>/<block-name>"` (e.g.
  `"s3-bucket/videos"`), a local directory (`"./videos"`, `"/data/videos"`), or `None` for
  the `output_dir` setting (`./videos`). It is checked before the job is paid for (a probe
  file in a local folder; a saved block must load); `"a/b"` whose `a` is no block type is
  refused as a typo (write `"./a/b"` for a folder).
- images: a local path, an `http(s)://` or `data:` URL, raw bytes, an `ImageInput` (or its
  dict), or an image inside a saved storage block written
  **`"<block-type-slug>/<block-name>:<path/in/block>"`** (e.g.
  `"s3-bucket/assets:frames/cat.png"`). Pass paths or URLs to deployments, not bytes.
  URLs that the library downloads itself (models that take uploads) must point at public
  addresses unless the `allowed_image_hosts` setting names the host
  (see `prefect_videogen.inputs.check_image_host`).

If a flow run is cancelled or crashes while jobs are still generating, an
`on_cancellation` / `on_crashed` hook deletes those jobs on the server (best effort, and
logged), so nothing keeps running unattended. Jobs that already finished are left alone.
This works for runs cancelled or interrupted in their own process; when a worker kills a
run's process, the jobs it had in flight are not known to the hook and keep generating.
"""

# No `from __future__ import annotations` here: Prefect validates flow parameters against
# these annotations, also in a worker's process, so they must be real types.

import asyncio
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from prefect import flow

from prefect_videogen.batch_report import areport_batch, batch_progress_key
from prefect_videogen.caching import normalize_request
from prefect_videogen.costs import (
    DailyBudget,
    aguard_spend,
    check_max_cost,
    estimate_batch,
    estimate_rows,
    format_rows,
    guard_spend,
)
from prefect_videogen.credentials import VideoGenCredentials
from prefect_videogen.exceptions import BudgetExceededError, InvalidRequestError
from prefect_videogen.families import VideoRequest
from prefect_videogen.in_flight import cancel_in_flight_jobs, track_in_flight
from prefect_videogen.inputs import (
    aresolve_credentials,
    build_request,
    resolve_credentials,
    resolve_image,
)
from prefect_videogen.manifest import BATCH_KEYS, BatchEntry, load_manifest, plan_entry
from prefect_videogen.naming import batch_run_name
from prefect_videogen.records import StoredVideo
from prefect_videogen.reporting import (
    BatchProgress,
    batch_table,
    get_logger,
    quiet_batch_task_runs,
)
from prefect_videogen.sharding import generate_batch_sharded, refuse_task_runner
from prefect_videogen.storage import acheck_writable, check_writable
from prefect_videogen.tasks import (
    agenerate_video,
    agenerate_videos,
    download_video,
    submit_video,
    wait_for_video,
)

__all__ = [
    "BATCH_KEYS",
    "BatchEntry",
    "aresolve_credentials",
    "cancel_in_flight_jobs",
    "generate_batch",
    "generate_batch_sharded",
    "image_to_video",
    "keyframe_to_video",
    "load_manifest",
    "resolve_credentials",
    "resolve_image",
    "text_to_video",
]

# --------------------------------------------------------------------------------------
# Cost guards (see prefect_videogen.costs)


def _estimate(requests: list[Any], attempts: list[int], creds: Any, limits: dict) -> Any:
    guarded = limits.get("max_cost") is not None or limits.get("daily_cap") is not None
    # Past submissions cost nothing; asking the cache is only worth it under a cap.
    estimate = estimate_batch(requests, attempts=attempts, credentials=creds if guarded else None)
    get_logger().info("Estimated cost: %s", estimate.display_total())
    return estimate


def _check_spend(requests: list[Any], attempts: list[int], creds: Any, limits: dict) -> Any:
    estimate = _estimate(requests, attempts, creds, limits)
    guard_spend(estimate, **limits)
    return estimate


async def _acheck_spend(requests: list[Any], attempts: list[int], creds: Any, limits: dict) -> Any:
    estimate = _estimate(requests, attempts, creds, limits)
    await aguard_spend(estimate, **limits)
    return estimate


# --------------------------------------------------------------------------------------
# One video, sync


def _generate(
    request: VideoRequest,
    credentials: VideoGenCredentials | str | None,
    storage: Any,
    *,
    path_template: str | None,
    probe: bool,
    attempt: int,
    timeout: float | None,
    limits: dict[str, Any] | None = None,
) -> StoredVideo:
    # Validate before anything is loaded or sent.
    normalized, _ = normalize_request(request)
    block = check_writable(storage, path_template)  # the template too; before paying
    creds = resolve_credentials(credentials)
    _check_spend([normalized], [attempt], creds, limits or {})
    job = submit_video(request, creds, attempt=attempt)
    with track_in_flight(job, creds):
        done = wait_for_video(job, creds, timeout=timeout)
    return download_video(done, creds, storage=block, path_template=path_template, probe=probe)


@flow(
    name="text-to-video",
    description="Generate a video from a prompt and store it.",
    flow_run_name="text-to-video-{model}",
    persist_result=True,
    result_serializer="json",
    on_cancellation=[cancel_in_flight_jobs],
    on_crashed=[cancel_in_flight_jobs],
)
def text_to_video(
    prompt: str,
    model: str = "wan2.5-t2v-preview",
    seconds: int | None = None,
    size: str | None = None,
    credentials: VideoGenCredentials | str | None = None,
    storage: Any = None,
    path_template: str | None = None,
    probe: bool = True,
    attempt: int = 0,
    params: dict[str, Any] | None = None,
    metadata: dict[str, Any] | None = None,
    timeout: float | None = None,
    max_cost: float | None = None,
    daily_cap: float | None = None,
    budget_name: str = "default",
    allow_unknown_prices: bool = False,
) -> StoredVideo:
    """Generate a video from a prompt and store it.

    Args:
        prompt: What the video should show.
        model: The video model (`wan2.5-t2v-preview`, `kling-v2-master`, `viduq1`, ...).
        seconds: Duration; the model's default if None.
        size: Resolution, e.g. "1280x720"; the model's default if None.
        credentials: A `VideoGenCredentials` block or a saved block's name (None: the
            `credentials_block` setting, "default").
        storage: A storage block, `"<type-slug>/<name>"` of a saved one, a local directory,
            or None (`./videos`).
        path_template: Path inside the storage; default `{model}/{date}/{job_id}.mp4`.
        probe: Check the stored video's size and duration with PyAV.
        attempt: Raise to pay for a new job instead of reusing the cached one.
        params: The model family's extra parameters (seed, negative_prompt, ...).
        metadata: Raw metadata passed to the server untouched.
        timeout: Seconds to wait for the job (default: the `max_wait_seconds` setting).
        max_cost: Refuse before any paid call if the video's estimated cost is above
            this (in the price table's currency; see `prefect_videogen.costs`).
        daily_cap: A spending cap per UTC day shared by all runs with the same
            `budget_name`; this video's estimate is reserved there before it is paid for.
        budget_name: The shared daily budget `daily_cap` applies to.
        allow_unknown_prices: Under a cap, go ahead even when the model has no known
            price (it then counts as nothing) instead of refusing.

    Returns:
        The `StoredVideo`.

    Example:
        ```python
        from prefect_videogen.flows import text_to_video

        video = text_to_video(
            "a red fox running through fresh snow, golden hour",
            model="wan2.5-t2v-preview",
            seconds=5,
            size="1280*720",
            credentials="gateway",  # a saved VideoGenCredentials block
            storage="./videos",
        )
        print(video.uri)
        ```
    """
    request = build_request(
        model=model, prompt=prompt, seconds=seconds, size=size, params=params, metadata=metadata
    )
    return _generate(
        request,
        credentials,
        storage,
        path_template=path_template,
        probe=probe,
        attempt=attempt,
        timeout=timeout,
        limits={
            "max_cost": max_cost,
            "daily_cap": daily_cap,
            "budget_name": budget_name,
            "allow_unknown_prices": allow_unknown_prices,
        },
    )


@flow(
    name="image-to-video",
    description="Generate a video that starts from an image and store it.",
    flow_run_name="image-to-video-{model}",
    persist_result=True,
    result_serializer="json",
    on_cancellation=[cancel_in_flight_jobs],
    on_crashed=[cancel_in_flight_jobs],
)
def image_to_video(
    prompt: str,
    image: Any,
    model: str = "wan2.5-i2v-preview",
    seconds: int | None = None,
    size: str | None = None,
    credentials: VideoGenCredentials | str | None = None,
    storage: Any = None,
    path_template: str | None = None,
    probe: bool = True,
    attempt: int = 0,
    params: dict[str, Any] | None = None,
    metadata: dict[str, Any] | None = None,
    timeout: float | None = None,
    max_cost: float | None = None,
    daily_cap: float | None = None,
    budget_name: str = "default",
    allow_unknown_prices: bool = False,
) -> StoredVideo:
    """Generate a video that starts from an image, and store it.

    Args:
        prompt: What should happen in the video.
        image: The first frame: a path, an http(s)/data URL, bytes, an `ImageInput`, or
            `"<block-type-slug>/<block-name>:<path/in/block>"`. Models that take uploads
            (Sora) get URL images downloaded first. Sora needs the image at the video size.
        model: The video model.
        seconds: Duration; the model's default if None.
        size: Resolution; the model's default if None.
        credentials: A `VideoGenCredentials` block or a saved block's name.
        storage: Where the video goes (see `text_to_video`).
        path_template: Path inside the storage.
        probe: Check the stored video's size and duration with PyAV.
        attempt: Raise to pay for a new job instead of reusing the cached one.
        params: The model family's extra parameters.
        metadata: Raw metadata passed to the server untouched.
        timeout: Seconds to wait for the job.
        max_cost: Refuse before any paid call if the video's estimated cost is above
            this (in the price table's currency; see `prefect_videogen.costs`).
        daily_cap: A spending cap per UTC day shared by all runs with the same
            `budget_name`; this video's estimate is reserved there before it is paid for.
        budget_name: The shared daily budget `daily_cap` applies to.
        allow_unknown_prices: Under a cap, go ahead even when the model has no known
            price (it then counts as nothing) instead of refusing.

    Returns:
        The `StoredVideo`.

    Example:
        ```python
        from prefect_videogen.flows import image_to_video

        video = image_to_video(
            "the cat slowly turns its head",
            image="https://example.com/cat.png",
            model="wan2.5-i2v-preview",
            size="720P",
            credentials="gateway",
        )
        print(video.uri)
        ```
    """
    request = build_request(
        model=model,
        prompt=prompt,
        seconds=seconds,
        size=size,
        first_frame=resolve_image(image, field="image"),
        params=params,
        metadata=metadata,
        credentials=credentials,
    )
    if request.first_frame is None:
        raise InvalidRequestError("image", "an image is required for image-to-video")
    return _generate(
        request,
        credentials,
        storage,
        path_template=path_template,
        probe=probe,
        attempt=attempt,
        timeout=timeout,
        limits={
            "max_cost": max_cost,
            "daily_cap": daily_cap,
            "budget_name": budget_name,
            "allow_unknown_prices": allow_unknown_prices,
        },
    )


@flow(
    name="keyframe-to-video",
    description="Generate a video between a first and a last frame and store it.",
    flow_run_name="keyframe-to-video-{model}",
    persist_result=True,
    result_serializer="json",
    on_cancellation=[cancel_in_flight_jobs],
    on_crashed=[cancel_in_flight_jobs],
)
def keyframe_to_video(
    prompt: str,
    first_frame: Any,
    last_frame: Any,
    model: str = "wan2.2-kf2v-flash",
    seconds: int | None = None,
    size: str | None = None,
    credentials: VideoGenCredentials | str | None = None,
    storage: Any = None,
    path_template: str | None = None,
    probe: bool = True,
    attempt: int = 0,
    params: dict[str, Any] | None = None,
    metadata: dict[str, Any] | None = None,
    timeout: float | None = None,
    max_cost: float | None = None,
    daily_cap: float | None = None,
    budget_name: str = "default",
    allow_unknown_prices: bool = False,
) -> StoredVideo:
    """Generate a video that goes from a first frame to a last frame, and store it.

    Args:
        prompt: What happens between the frames.
        first_frame: The opening image (same notations as `image_to_video`'s `image`).
        last_frame: The closing image.
        model: A model with keyframe support (Wan kf2v, Kling, Vidu, Jimeng, generic).
        seconds: Duration; the model's default if None.
        size: Resolution; the model's default if None.
        credentials: A `VideoGenCredentials` block or a saved block's name.
        storage: Where the video goes (see `text_to_video`).
        path_template: Path inside the storage.
        probe: Check the stored video's size and duration with PyAV.
        attempt: Raise to pay for a new job instead of reusing the cached one.
        params: The model family's extra parameters.
        metadata: Raw metadata passed to the server untouched.
        timeout: Seconds to wait for the job.
        max_cost: Refuse before any paid call if the video's estimated cost is above
            this (in the price table's currency; see `prefect_videogen.costs`).
        daily_cap: A spending cap per UTC day shared by all runs with the same
            `budget_name`; this video's estimate is reserved there before it is paid for.
        budget_name: The shared daily budget `daily_cap` applies to.
        allow_unknown_prices: Under a cap, go ahead even when the model has no known
            price (it then counts as nothing) instead of refusing.

    Returns:
        The `StoredVideo`.

    Example:
        ```python
        from prefect_videogen.flows import keyframe_to_video

        video = keyframe_to_video(
            "the flower opens",
            first_frame="bud.png",
            last_frame="bloom.png",
            model="wan2.2-kf2v-flash",
            credentials="dashscope-gateway",
        )
        print(video.uri)
        ```
    """
    first = resolve_image(first_frame, field="first_frame")
    last = resolve_image(last_frame, field="last_frame")
    if first is None or last is None:
        raise InvalidRequestError(
            "last_frame" if first is not None else "first_frame",
            "keyframe video needs both first_frame and last_frame",
        )
    request = build_request(
        model=model,
        prompt=prompt,
        seconds=seconds,
        size=size,
        first_frame=first,
        last_frame=last,
        params=params,
        metadata=metadata,
        credentials=credentials,
    )
    return _generate(
        request,
        credentials,
        storage,
        path_template=path_template,
        probe=probe,
        attempt=attempt,
        timeout=timeout,
        limits={
            "max_cost": max_cost,
            "daily_cap": daily_cap,
            "budget_name": budget_name,
            "allow_unknown_prices": allow_unknown_prices,
        },
    )


# --------------------------------------------------------------------------------------
# Batches


@asynccontextmanager
async def _slot(limit_name: str | None) -> AsyncIterator[None]:
    if limit_name is None:
        yield
        return
    from prefect.concurrency.asyncio import concurrency

    async with concurrency(limit_name, occupy=1, strict=True):
        yield


async def _take_rate_slot(limit_name: str) -> None:
    from prefect.concurrency.asyncio import rate_limit

    await rate_limit(limit_name, occupy=1, strict=True)


@flow(
    name="generate-video-batch",
    flow_run_name=batch_run_name,
    description="Generate many videos concurrently from a list or a JSONL/CSV manifest.",
    persist_result=True,
    result_serializer="json",
    on_cancellation=[cancel_in_flight_jobs],
    on_crashed=[cancel_in_flight_jobs],
)
async def generate_batch(
    requests: list[dict[str, Any]] | None = None,
    manifest: str | None = None,
    model: str = "wan2.5-t2v-preview",
    credentials: VideoGenCredentials | str | None = None,
    storage: Any = None,
    path_template: str | None = None,
    probe: bool = True,
    attempt: int = 0,
    max_concurrency: int = 4,
    concurrency_limit: str | None = None,
    rate_limit: str | None = None,
    timeout: float | None = None,
    allow_failures: bool = False,
    video_artifacts: bool = False,
    dry_run: bool = False,
    max_cost: float | None = None,
    daily_cap: float | None = None,
    budget_name: str = "default",
    allow_unknown_prices: bool = False,
    videos_per_task: int = 1,
) -> list[StoredVideo | None]:
    """Generate many videos concurrently; identical requests are submitted once.

    Every entry is validated before anything is submitted, so a bad manifest costs nothing.
    Each distinct video is one `generate-video-async` task run (submit, wait, store; see
    `prefect_videogen.tasks.agenerate_video`), sharing `submit_video`'s cache.
    At most `max_concurrency` jobs of this batch are in flight at once; with
    `concurrency_limit`, each job also holds a slot of that Prefect global concurrency
    limit from submission until its video is stored, so several batches (or flows)
    together stay under a provider's limit. The limit must exist
    (`prefect gcl create videogen --limit 4`). With `rate_limit`, the name of a global
    limit that has `--slot-decay-per-second` set, submissions are also spaced out to the
    provider's requests-per-minute budget.

    Args:
        requests: Entries as dicts (keys as in `load_manifest`).
        manifest: Path of a `.jsonl` or `.csv` manifest (instead of, or after, `requests`).
        model: Model for entries that name none.
        credentials: A `VideoGenCredentials` block or a saved block's name.
        storage: Where the videos go (see `text_to_video`).
        path_template: Path inside the storage.
        probe: Check each stored video's size and duration with PyAV.
        attempt: Attempt number for entries that give none.
        max_concurrency: Jobs of this batch in flight at once.
        concurrency_limit: Name of a Prefect global concurrency limit every job occupies.
        rate_limit: Name of a Prefect global limit with slot decay; each submission takes
            one slot of it first (`prefect.concurrency.asyncio.rate_limit`).
        timeout: Seconds to wait for each job.
        allow_failures: Return None for failed entries instead of failing the flow.
        video_artifacts: Also report each video on its own, as `text_to_video` does: its
            progress, link and markdown artifacts and a log line per status change. Off by
            default: the batch keeps one progress artifact (with a log line as it moves)
            and one table artifact for all its videos, which is what a batch of hundreds
            needs, at a dozen fewer API calls per video.
        dry_run: Validate every entry, print and record (as a table artifact) what would
            be made and what it would cost, and submit nothing; returns None per entry.
            Credentials are loaded only when given, to leave out what earlier runs paid.
        max_cost: Refuse before the first paid call if the batch's estimated cost is
            above this. Repeated entries and jobs already submitted by an earlier run
            cost nothing.
        daily_cap: A spending cap per UTC day shared by all runs with the same
            `budget_name` (see `prefect_videogen.costs.DailyBudget`): the batch's
            estimate is reserved there before its first paid call, or the batch refused.
        budget_name: The shared daily budget `daily_cap` applies to.
        allow_unknown_prices: Under a cap, go ahead even when some models have no known
            price (they then count as nothing) instead of refusing.
        videos_per_task: Distinct videos per task run. 1 (the default): one
            `generate-video-async` task run per video, named after it. N > 1: one
            `generate-videos-async` task run per N videos (`agenerate_videos`), for
            batches of thousands: Prefect's bookkeeping (three state events per task run,
            in the flow process and the server) is shared by N videos, while each video
            keeps its ledger record, its `video.completed` event, its row in the table and
            its own retries of transient errors. See bench/RESULTS.md, "Cost per video".

    Returns:
        One `StoredVideo` per entry, in order (None for failed entries when
        `allow_failures`); a table artifact lists them all.

    Example:
        ```python
        import asyncio

        from prefect_videogen.flows import generate_batch

        videos = asyncio.run(
            generate_batch(manifest="videos.jsonl", credentials="gateway", max_concurrency=2)
        )
        print([video.uri for video in videos])
        ```
    """
    refuse_task_runner("generate_batch")  # a Dask/Ray runner would be ignored: say so
    if max_concurrency < 1:
        raise InvalidRequestError("max_concurrency", value=max_concurrency, allowed="1 or more")
    if videos_per_task < 1:
        raise InvalidRequestError("videos_per_task", value=videos_per_task, allowed="1 or more")
    entries: list[tuple[Mapping[str, Any], Path | None]] = [(e, None) for e in requests or []]
    if manifest is not None:
        manifest_path = Path(manifest).expanduser().resolve()
        entries += [(e, manifest_path.parent) for e in load_manifest(manifest_path)]
    if not entries:
        raise InvalidRequestError("requests", "give at least one request or a manifest")

    planned = [
        plan_entry(
            entry,
            index,
            default_model=model,
            default_attempt=attempt,
            base_dir=base_dir,
            credentials=credentials,
        )
        for index, (entry, base_dir) in enumerate(entries)
    ]
    limits = {
        "max_cost": max_cost,
        "daily_cap": daily_cap,
        "budget_name": budget_name,
        "allow_unknown_prices": allow_unknown_prices,
    }
    requests_ = [request for request, _, _ in planned]
    attempts = [entry_attempt for _, entry_attempt, _ in planned]
    if dry_run:
        creds = await aresolve_credentials(credentials) if credentials is not None else None
        return await _dry_run(requests_, attempts, creds, limits)
    block = await acheck_writable(storage, path_template)  # the template too; before paying
    creds = await aresolve_credentials(credentials)
    estimate = await _acheck_spend(requests_, attempts, creds, limits)

    unique: dict[tuple[str, int], VideoRequest] = {}
    keys = []
    for request, entry_attempt, fingerprint in planned:
        key = (fingerprint, entry_attempt)
        unique.setdefault(key, request)
        keys.append(key)
    logger = get_logger()
    logger.info(
        "Batch of %d request(s), %d distinct; up to %d at once%s",
        len(planned),
        len(unique),
        max_concurrency,
        f", global limit {concurrency_limit!r}" if concurrency_limit else "",
    )

    gate = asyncio.Semaphore(max_concurrency)
    progress = BatchProgress(len(unique), key=batch_progress_key())
    await progress.start()
    if not video_artifacts:
        quiet_batch_task_runs()  # no INFO line per video: the batch's progress line says it

    @asynccontextmanager
    async def admitted() -> AsyncIterator[None]:
        async with gate, _slot(concurrency_limit), progress.generating():
            if rate_limit is not None:
                await _take_rate_slot(rate_limit)
            yield

    async def counted(request: VideoRequest, entry_attempt: int) -> StoredVideo:
        try:
            async with admitted():
                stored = await agenerate_video(
                    request,
                    creds,
                    attempt=entry_attempt,
                    storage=block,
                    path_template=path_template,
                    probe=probe,
                    timeout=timeout,
                    artifacts=video_artifacts,
                )
        except Exception:
            await progress.advance(failed=True)
            raise
        await progress.advance()
        return stored

    if videos_per_task == 1:
        outcomes = await asyncio.gather(
            *(counted(request, key[1]) for key, request in unique.items()),
            return_exceptions=True,
        )
    else:
        outcomes = await _grouped(
            list(unique.items()),
            videos_per_task,
            creds,
            progress,
            admitted,
            storage=block,
            path_template=path_template,
            probe=probe,
            timeout=timeout,
            artifacts=video_artifacts,
        )
    await progress.finish()
    by_key = dict(zip(unique, outcomes, strict=True))
    results = [by_key[key] for key in keys]

    summaries = [request.summary() for request, _, _ in planned]
    rows = batch_table(summaries, results)
    for row, cost in zip(rows, estimate.entries, strict=True):
        row["estimated_cost"] = cost.display()
    logger.info("Estimated cost of this batch: %s", estimate.display_total())
    await areport_batch(rows, block)  # short table + full CSV (prefect_videogen.batch_report)
    for outcome in outcomes:
        if isinstance(outcome, BaseException) and not isinstance(outcome, Exception):
            raise outcome
    errors = [outcome for outcome in outcomes if isinstance(outcome, Exception)]
    if errors and not allow_failures:
        if len(errors) == 1:
            raise errors[0]
        raise ExceptionGroup(f"{len(errors)} of {len(unique)} videos failed", errors)
    return [result if isinstance(result, StoredVideo) else None for result in results]


async def _grouped(
    items: list[tuple[tuple[str, int], VideoRequest]],
    size: int,
    creds: Any,
    progress: BatchProgress,
    admitted: Any,
    **options: Any,
) -> list[Any]:
    """Run the distinct videos `size` per `agenerate_videos` task run; their outcomes in order."""
    outcomes: list[Any] = [None] * len(items)

    async def group(start: int) -> None:
        chunk = items[start : start + size]

        async def finished(index: int, outcome: StoredVideo | Exception) -> None:
            outcomes[start + index] = outcome
            await progress.advance(failed=isinstance(outcome, Exception))

        try:
            await agenerate_videos(
                [request for _, request in chunk],
                creds,
                attempts=[key[1] for key, _ in chunk],
                admit=admitted,
                on_finished=finished,
                **options,
            )
        except Exception as exc:  # failed videos were passed to `finished`; this is the rest
            for index in range(start, start + len(chunk)):
                if outcomes[index] is None:
                    outcomes[index] = exc
                    await progress.advance(failed=True)

    await asyncio.gather(*(group(start) for start in range(0, len(items), size)))
    return outcomes


async def _dry_run(
    requests: list[VideoRequest], attempts: list[int], creds: Any, limits: dict
) -> list[StoredVideo | None]:
    """Show what a batch would make and what it would cost; submit nothing. The caps are
    checked without reserving anything: a refusal the real run would meet is reported."""
    from prefect.artifacts import acreate_table_artifact

    estimate = estimate_batch(requests, attempts=attempts, credentials=creds)
    summaries = [normalize_request(request)[0].summary() for request in requests]
    rows = estimate_rows(summaries, estimate)
    refusal = None
    try:
        check_max_cost(
            estimate, limits["max_cost"], allow_unknown_prices=limits["allow_unknown_prices"]
        )
        if limits["daily_cap"] is not None:
            budget = DailyBudget(limits["budget_name"], limits["daily_cap"], estimate.currency)
            spent = await budget.aspent_today()
            if spent + estimate.total > budget.cap + 1e-9:
                refusal = (
                    f"daily_cap: {spent:.2f} of {budget.cap:g} {estimate.currency} is spent "
                    f"today; this batch ({estimate.display_total()}) would not fit"
                )
    except BudgetExceededError as exc:
        refusal = str(exc)
    if refusal:
        rows[-1]["note"] += f"; the real run would be refused: {refusal}"
    columns = (
        "#",
        "model",
        "mode",
        "seconds",
        "size",
        "tier",
        "estimated_cost",
        "in_total",
        "note",
    )
    text = format_rows(rows, columns)
    print(text)
    logger = get_logger()
    logger.info("Dry run, nothing submitted:\n%s", text)
    if refusal:
        logger.warning("The real run would be refused: %s", refusal)
    try:
        await acreate_table_artifact(
            table=rows, description="Dry run: what this batch would make and what it would cost."
        )
    except Exception:
        logger.warning("Could not create the dry-run table artifact", exc_info=True)
    return [None] * len(requests)
