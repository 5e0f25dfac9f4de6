"""Jobs still generating in a flow run, so a cancelled or crashed run can delete them.

`track_in_flight` marks a job as in flight while its wait runs; `cancel_in_flight_jobs` is
the `on_cancellation` / `on_crashed` hook that deletes what is left (best effort, logged).
Nothing here sees an API key other than through the credentials block's client.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from prefect.context import FlowRunContext

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

    When the body ends by cancellation or interruption (Prefect's `TerminationSignal` when a
    runner or worker cancels the run, `KeyboardInterrupt`, `asyncio.CancelledError`: a
    `BaseException` that is not an `Exception`), the remote job is deleted right here, in the
    process that knows it: a served or deployed run's cancellation hooks run in another
    process. Jobs of runs killed outright stay registered for the crash hook.

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
        _delete_remote_job(record, credentials, get_logger(), type(interruption).__name__)
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


def _forget(run_id: str, job_id: str) -> None:
    with _in_flight_lock:
        jobs = _in_flight.get(run_id, {})
        jobs.pop(job_id, None)
        if not jobs:
            _in_flight.pop(run_id, None)


def cancel_in_flight_jobs(flow: Any, flow_run: Any, state: Any) -> None:
    """Flow hook: delete the jobs this flow run was still waiting for (best effort).

    Used as `on_cancellation` and `on_crashed` hook of the flows here; add it to your own
    flows that call the tasks the same way. Each deletion (or failure to delete) is logged.
    It knows the jobs of runs in this process. When a runner or worker cancels a run, the
    run's own process deletes its jobs as the termination signal reaches it (see
    `track_in_flight`); only a run killed without warning (SIGKILL) leaves its jobs generating.

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
    for record, credentials in jobs.values():
        _delete_remote_job(record, credentials, logger, f"the flow run became {state.name}")
