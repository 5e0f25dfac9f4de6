"""Jobs still generating in a flow run, so a run a user cancels can delete them.

A remote job is paid for. Only a user's cancellation (the flow run's state is Cancelling,
as `prefect flow-run cancel` or the UI set it) deletes it. A SIGTERM without one (a
container stop, `timeout`), Ctrl-C or a crash keeps it: the submission ledger has its
record, so a rerun picks the same job up and stores its video.

`track_in_flight` marks a job as in flight while its wait runs; `cancel_in_flight_jobs` is
the `on_cancellation` hook that deletes what is left (best effort, logged). Used as an
`on_crashed` hook it only logs that the jobs were kept. Nothing here sees an API key other
than through the credentials block's client.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from prefect.context import FlowRunContext

from prefect_videogen import _prefect
from prefect_videogen.credentials import VideoGenCredentials
from prefect_videogen.records import JobRecord
from prefect_videogen.reporting import get_logger

__all__ = ["cancel_in_flight_jobs", "track_in_flight"]


_in_flight: dict[str, dict[str, tuple[JobRecord, VideoGenCredentials]]] = {}
_in_flight_lock = threading.Lock()


def _flow_run_id() -> str | None:
    context = FlowRunContext.get()
    return str(context.flow_run.id) if context and context.flow_run else None


@contextmanager
def track_in_flight(record: JobRecord, credentials: VideoGenCredentials) -> Iterator[None]:
    """Remember `record` as in flight for the current flow run while the body runs.

    When the body ends by an interruption (Prefect's `TerminationSignal`, `KeyboardInterrupt`,
    `asyncio.CancelledError`: a `BaseException` that is not an `Exception`) and the flow run
    is Cancelling (a user cancelled it), the remote job is deleted right here, in the
    process that knows it: a served or deployed run's cancellation hooks run in another
    process. Any other interruption (SIGTERM from a container stop or `timeout`, Ctrl-C)
    keeps the job and says so: a rerun reuses it.

    Example:
        ```python
        from prefect_videogen.in_flight import track_in_flight

        with track_in_flight(job, credentials):  # a JobRecord from submit_video
            client.wait(job.job_id, model=job.model)
        ```
    """
    run_id = _flow_run_id()
    if run_id is None:
        yield
        return
    with _in_flight_lock:
        _in_flight.setdefault(run_id, {})[record.job_id] = (record, credentials)
    try:
        yield
    except Exception:
        _forget(run_id, record.job_id)
        raise
    except BaseException as interruption:
        _forget(run_id, record.job_id)
        why = type(interruption).__name__
        if _prefect.flow_run_is_cancelling(run_id):
            _delete_remote_job(record, credentials, get_logger(), f"{why} (run cancelled)")
        else:
            _keep_remote_job(record, get_logger(), why)
        raise
    else:
        _forget(run_id, record.job_id)


def _delete_remote_job(
    record: JobRecord, credentials: VideoGenCredentials, logger: Any, why: str
) -> None:
    """Best-effort DELETE of a job still generating; says in the log what happened."""
    try:
        with credentials.get_client() as client:
            client.delete(record.job_id)
    except Exception as exc:
        logger.warning(
            "Could not delete video job %s (%s) after %s: %s", record.job_id, record.model, why, exc
        )
    else:
        logger.warning(
            "Deleted video job %s (%s), still generating at %s", record.job_id, record.model, why
        )


def _keep_remote_job(record: JobRecord, logger: Any, why: str) -> None:
    logger.warning(
        "Kept video job %s (%s, attempt %d), still generating at %s: it is paid for and "
        "recorded, so a rerun of the same request picks it up; cancel the flow run to "
        "delete jobs instead",
        record.job_id,
        record.model,
        record.attempt,
        why,
    )


def _forget(run_id: str, job_id: str) -> None:
    with _in_flight_lock:
        jobs = _in_flight.get(run_id, {})
        jobs.pop(job_id, None)
        if not jobs:
            _in_flight.pop(run_id, None)


def cancel_in_flight_jobs(flow: Any, flow_run: Any, state: Any) -> None:
    """Flow hook: when a user cancelled the run, delete the jobs it was still waiting for.

    Used as `on_cancellation` hook of the flows here (and as `on_crashed`, where it only
    logs that the jobs were kept for a rerun); add it to your own flows that call the tasks
    the same way. Each deletion (or failure to delete) is logged. It knows the jobs of runs
    in this process. When a runner or worker cancels a run, the run's own process deletes
    its jobs as the termination signal reaches it (see `track_in_flight`).

    Example:
        ```python
        from prefect import flow
        from prefect_videogen.flows import cancel_in_flight_jobs

        @flow(on_cancellation=[cancel_in_flight_jobs], on_crashed=[cancel_in_flight_jobs])
        def my_flow(): ...
        ```
    """
    from prefect.logging.loggers import flow_run_logger

    logger = flow_run_logger(flow_run=flow_run, flow=flow)
    with _in_flight_lock:
        jobs = _in_flight.pop(str(flow_run.id), {})
    cancelled = state.is_cancelled() or state.is_cancelling()
    for record, credentials in jobs.values():
        if cancelled:
            _delete_remote_job(record, credentials, logger, f"the flow run became {state.name}")
        else:
            _keep_remote_job(record, logger, f"the flow run became {state.name}")
