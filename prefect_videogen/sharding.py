"""One batch shared by several workers (on several machines): `generate_batch_sharded`.

`generate_batch` is one flow run in one process. `generate_batch_sharded` splits a batch
into N shards and starts each as a run of a **deployment of `generate_batch`** (through
`run_deployment`, on that deployment's work pool), so every worker polling the pool takes a
shard. The parent validates every entry first (a bad manifest costs nothing), waits for the
shards, and builds one table artifact and one progress artifact for the whole batch; a
shard that fails or crashes is named with its flow run.

Identical requests always go to the same shard; and the submission ledger (see
`prefect_videogen.ledger`) makes sure that even the same request in two batches at once is
paid once, **provided every worker shares its locks and records**:

- `PREFECT_INTEGRATIONS_VIDEOGEN_LOCK_MANAGER=redis://host:6379/0` on every worker (a
  Redis lock through prefect-redis; `pip install "prefect-videogen[redis]"`), and
- `PREFECT_RESULTS_DEFAULT_STORAGE_BLOCK=s3-bucket/<name>` (or another non-local storage
  block) on every worker, so ledger records and shard results are seen by all machines;
- a video `storage` that every worker can write (a bucket, not `./videos`).

A sharded batch refuses to start when the parent's lock manager or result storage is
host-local, unless `single_host=True` says that every worker runs on this one machine.

Example:
    ```python
    import asyncio

    from prefect_videogen.flows import generate_batch_sharded

    videos = asyncio.run(
        generate_batch_sharded(
            manifest="/data/nightly.jsonl",
            shards=4,
            deployment="generate-video-batch/shard",
            parameters={"credentials": "gateway", "storage": "s3-bucket/videos"},
        )
    )
    ```
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from prefect import flow

from prefect_videogen import _prefect
from prefect_videogen.batch_report import areport_batch, batch_progress_key
from prefect_videogen.exceptions import InvalidRequestError, VideoGenError
from prefect_videogen.naming import SHARD_MARK, batch_stem, sharded_run_name
from prefect_videogen.records import StoredVideo
from prefect_videogen.reporting import (
    BatchProgress,
    acreate_batch_table,
    batch_table,
    get_logger,
)

__all__ = [
    "HostLocalSetupError",
    "ShardFailedError",
    "generate_batch_sharded",
    "host_local_parts",
    "refuse_task_runner",
    "split_into_shards",
]

_IMAGE_KEYS = ("image", "first_frame", "last_frame")
_PARENT_ONLY = ("requests", "manifest")


class HostLocalSetupError(VideoGenError):
    """A sharded batch would run on several machines with locks or records on one host."""


class ShardFailedError(VideoGenError):
    """One or more shards of a sharded batch failed; the message names each shard."""


def host_local_parts() -> list[str]:
    """What in this process's setup only works on one host (empty when all is shared).

    Example:
        ```python
        from prefect_videogen.sharding import host_local_parts

        print(host_local_parts())  # e.g. ["lock_manager is `file` ..."]
        ```
    """
    from prefect_videogen.locks import FileLockManager

    problems = []
    if isinstance(_prefect.submission_lock_manager(), FileLockManager):
        problems.append(
            "the submission lock is a lock file on this host (set "
            "PREFECT_INTEGRATIONS_VIDEOGEN_LOCK_MANAGER=redis://host:6379/0 on every worker)"
        )
    reference = _prefect.default_result_storage_reference()
    if reference is None:
        problems.append(
            "results and ledger records go to local files (set "
            "PREFECT_RESULTS_DEFAULT_STORAGE_BLOCK=s3-bucket/<name> on every worker)"
        )
    else:
        from prefect.filesystems import LocalFileSystem

        try:
            block = _prefect.load_block(reference)
        except Exception as exc:
            return [
                *problems,
                f"the default result storage {reference!r} cannot be loaded ({exc}); save that "
                "block or fix PREFECT_RESULTS_DEFAULT_STORAGE_BLOCK",
            ]
        if isinstance(block, LocalFileSystem):
            problems.append(
                f"the default result storage {reference!r} is a local folder (use an "
                "S3Bucket or another storage every worker can reach)"
            )
    return problems


def refuse_task_runner(flow_name: str = "generate_batch") -> None:
    """Raise if the running flow was given a task runner it would silently not use.

    `generate_batch` awaits its per-video tasks on its own event loop (a semaphore and
    global concurrency limits bound them), so a Dask or Ray task runner would be started
    and never used. Scale out with `generate_batch_sharded` instead.
    """
    from prefect.context import FlowRunContext
    from prefect.task_runners import ThreadPoolTaskRunner

    context = FlowRunContext.get()
    runner = getattr(context, "task_runner", None)
    if runner is None or type(runner) is ThreadPoolTaskRunner:
        return
    raise InvalidRequestError(
        "task_runner",
        f"{flow_name} runs its videos concurrently on the flow's own event loop and does "
        f"not use a task runner; {type(runner).__name__} would be ignored. Remove "
        "`task_runner=` and raise `max_concurrency`, or spread the batch over workers "
        "(several machines) with generate_batch_sharded(..., shards=N, deployment=...)",
        value=type(runner).__name__,
        allowed="the default ThreadPoolTaskRunner",
    )


def _absolute_images(entry: Mapping[str, Any], base_dir: Path) -> dict[str, Any]:
    """A manifest entry whose relative image paths are made absolute (shards run elsewhere)."""
    fixed = dict(entry)
    for key in _IMAGE_KEYS:
        value = fixed.get(key)
        if isinstance(value, str) and value and "://" not in value and ":" not in value[2:]:
            path = Path(value).expanduser()
            if not path.is_absolute() and (base_dir / path).exists():
                fixed[key] = str((base_dir / path).resolve())
    return fixed


def split_into_shards(keys: list[Any], shards: int) -> list[list[int]]:
    """Entry indexes per shard: distinct keys dealt round-robin, equal keys kept together.

    Example:
        ```python
        from prefect_videogen.sharding import split_into_shards

        assert split_into_shards(["a", "b", "a", "c"], 2) == [[0, 2, 3], [1]]
        ```
    """
    order: dict[Any, int] = {}
    for key in keys:
        order.setdefault(key, len(order) % shards)
    groups: list[list[int]] = [[] for _ in range(shards)]
    for index, key in enumerate(keys):
        groups[order[key]].append(index)
    return [group for group in groups if group]


def _current_run_id() -> str:
    from prefect.runtime import flow_run

    return str(flow_run.id or "local")


def _stored(value: Any) -> StoredVideo | None:
    if value is None or isinstance(value, StoredVideo):
        return value
    return StoredVideo.model_validate(value)


@flow(
    name="generate-video-batch-sharded",
    flow_run_name=sharded_run_name,
    description="Split a batch into shards run by generate_batch deployments on a work pool.",
    persist_result=True,
    result_serializer="json",
)
async def generate_batch_sharded(
    requests: list[dict[str, Any]] | None = None,
    manifest: str | None = None,
    shards: int = 2,
    deployment: str = "generate-video-batch/shard",
    parameters: dict[str, Any] | None = None,
    single_host: bool = False,
    shard_timeout: float | None = None,
    allow_failures: bool = False,
) -> list[StoredVideo | None]:
    """Generate a batch as `shards` flow runs of a `generate_batch` deployment.

    Args:
        requests: Entries as dicts (keys as in `prefect_videogen.flows.load_manifest`).
        manifest: Path of a `.jsonl` or `.csv` manifest (read here, by the parent; relative
            image paths in it are made absolute).
        shards: How many child flow runs to split the batch into (at most one per
            distinct request).
        deployment: `"<flow name>/<deployment name>"` of a deployment of `generate_batch`
            (flow name `generate-video-batch`) on the work pool the workers poll.
        parameters: Other `generate_batch` parameters for every shard (`credentials` as a
            saved block's name, `storage` as a block reference every worker can write,
            `model`, `max_concurrency` per shard, `concurrency_limit`, ...).
        single_host: Allow host-local locks and result storage (every worker runs on this
            machine); otherwise such a setup is refused before anything runs.
        shard_timeout: Seconds to wait for each shard run (None: as long as it takes).
        allow_failures: Return None for failed entries instead of failing the flow.

    Returns:
        One `StoredVideo` per entry, in order (None for failed entries when
        `allow_failures`); one table artifact and one progress artifact cover all shards.

    Raises:
        HostLocalSetupError: locks or result storage are host-local and not `single_host`.
        InvalidRequestError: a bad entry or parameter (before any shard starts).
        ShardFailedError: some shards or entries failed (each named) and not
            `allow_failures`.

    Example:
        ```python
        import asyncio

        from prefect_videogen.flows import generate_batch_sharded

        asyncio.run(
            generate_batch_sharded(
                requests=[{"prompt": "a fox"}, {"prompt": "a heron"}],
                shards=2,
                parameters={"credentials": "gateway", "storage": "s3-bucket/videos"},
            )
        )
        ```
    """
    from prefect_videogen.manifest import load_manifest, plan_entry
    from prefect_videogen.storage import aresolve_storage

    if shards < 1:
        raise InvalidRequestError("shards", value=shards, allowed="1 or more")
    options = dict(parameters or {})
    clashing = sorted(set(options) & {*_PARENT_ONLY, "allow_failures"})
    if clashing:
        raise InvalidRequestError(
            "parameters",
            f"{', '.join(clashing)} are set by the sharded flow itself; pass requests and "
            "manifest to generate_batch_sharded directly",
        )
    problems = host_local_parts()
    if problems and not single_host:
        raise HostLocalSetupError(
            "A sharded batch runs on several workers, maybe on several machines, but "
            + "; and ".join(problems)
            + ". Without a shared lock and shared records, two machines can pay for the same "
            "video. Configure that, or pass single_host=True if every worker runs here."
        )

    entries: list[dict[str, Any]] = [dict(e) for e in requests or []]
    if manifest is not None:
        manifest_path = Path(manifest).expanduser().resolve()
        entries += [_absolute_images(e, manifest_path.parent) for e in load_manifest(manifest_path)]
    if not entries:
        raise InvalidRequestError("requests", "give at least one request or a manifest")
    default_model = str(options.get("model") or "wan2.5-t2v-preview")
    default_attempt = int(options.get("attempt") or 0)
    planned = [
        plan_entry(
            entry, index, default_model=default_model, default_attempt=default_attempt,
            base_dir=None,
        )
        for index, entry in enumerate(entries)
    ]  # fmt: skip
    groups = split_into_shards([(fp, attempt) for _, attempt, fp in planned], shards)
    logger = get_logger()
    logger.info(
        "Sharded batch of %d request(s) in %d shard(s) of deployment %r",
        len(entries),
        len(groups),
        deployment,
    )

    stem = batch_stem(manifest, requests)
    parent_id = _current_run_id()
    progress = BatchProgress(len(entries), key=batch_progress_key())
    await progress.start()
    outcomes: list[StoredVideo | BaseException | None] = [None] * len(entries)
    shard_errors: list[str] = []

    async def run_shard(number: int, indexes: list[int]) -> None:
        from prefect.deployments import run_deployment

        label = f"shard {number} of {len(groups)}"
        try:
            run = await run_deployment(
                deployment,
                parameters={
                    **options,
                    "requests": [entries[i] for i in indexes],
                    "allow_failures": True,
                },
                flow_run_name=f"{stem}{SHARD_MARK}{number}-of-{len(groups)}",
                # A retry of this parent run waits for its shards instead of starting more.
                idempotency_key=f"{parent_id}{SHARD_MARK}{number}-of-{len(groups)}",
                timeout=shard_timeout,
                as_subflow=True,
                tags=["videogen-shard"],
            )
        except Exception as exc:
            shard_errors.append(f"{label}: could not start ({exc})")
            failure: BaseException = ShardFailedError(f"{label} could not start: {exc}")
            for index in indexes:
                outcomes[index] = failure
            return
        state = run.state
        where = f"{label} (flow run {run.name!r}, {run.id})"
        if state is None or not state.is_completed():
            why = state.message if state is not None and state.message else "no result"
            kind = state.type.value if state is not None else "UNKNOWN"
            shard_errors.append(f"{where}: {kind}: {why}")
            failure = ShardFailedError(f"{where} ended {kind}: {why}")
            for index in indexes:
                outcomes[index] = failure
        else:
            try:
                results = await state.aresult()
            except Exception as exc:
                shard_errors.append(f"{where}: its result cannot be read ({exc})")
                results = [None] * len(indexes)
            for index, value in zip(indexes, results, strict=True):
                stored = _stored(value)
                outcomes[index] = stored or ShardFailedError(
                    f"failed in {where}; see that run's table artifact"
                )
        for _ in indexes:
            await progress.advance()

    await asyncio.gather(*(run_shard(n, g) for n, g in enumerate(groups, start=1)))
    await progress.finish()
    summaries = [request.summary() for request, _, _ in planned]
    storage = options.get("storage")
    block = await aresolve_storage(storage) if storage is not None else None
    if block is not None:
        await areport_batch(batch_table(summaries, outcomes), block)
    else:
        await acreate_batch_table(batch_table(summaries, outcomes))

    failed = [i for i, outcome in enumerate(outcomes) if not isinstance(outcome, StoredVideo)]
    if failed and not allow_failures:
        shard_part = ("; shards: " + "; ".join(shard_errors)) if shard_errors else ""
        raise ShardFailedError(
            f"{len(failed)} of {len(entries)} entries failed (entries {failed[:20]}"
            f"{' ...' if len(failed) > 20 else ''}){shard_part}"
        )
    return [outcome if isinstance(outcome, StoredVideo) else None for outcome in outcomes]
