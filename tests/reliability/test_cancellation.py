"""Cancellation: cancelling a flow run cancels its remote job and says so in the run's log.

A flow run that `flow(...)` starts in-process has no one watching for a cancel request:
in Prefect 3.9 cancellation reaches a run through the process that launched it (a runner:
`flow.serve` or a worker), which signals the run's process and then runs the flow's
`on_cancellation` hooks. So this test serves `text_to_video` from a child process
(`cancel_serve.py`) against the Prefect test server, starts a run with `run_deployment`,
waits until the emulator shows the job submitted and polled, and cancels the run through
the API (`set_flow_run_state(Cancelling)`, what `prefect flow-run cancel` does).

Then the emulator must have received a `DELETE /v1/videos/{id}` (best effort: the server
may refuse to delete a job that is still running), and the flow run's log must name the job
and say what was done about it.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from prefect.client.orchestration import get_client
from prefect.client.schemas.filters import FlowRunFilter, LogFilter, LogFilterFlowRunId
from prefect.deployments import run_deployment
from prefect.states import Cancelling

from prefect_videogen.credentials import VideoGenCredentials
from prefect_videogen.emulator import get_stats

pytestmark = [pytest.mark.usefixtures("prefect_server"), pytest.mark.timeout(300)]

SERVE = Path(__file__).with_name("cancel_serve.py")
WAIT = 120.0


def _wait_until(check: Callable[[], object], what: str, log: Path) -> object:
    deadline = time.monotonic() + WAIT
    while True:
        result = check()
        if result:
            return result
        if time.monotonic() > deadline:
            tail = log.read_text(errors="replace")[-4000:] if log.exists() else ""
            pytest.fail(f"timed out waiting for {what}; serve log:\n{tail}")
        time.sleep(0.2)


@pytest.fixture
def served(tmp_path, run_nonce) -> Iterator[tuple[str, Path]]:
    """`text_to_video` served from a child process; yields the deployment's full name."""
    from prefect.settings import PREFECT_API_URL

    name = f"cancel-{run_nonce}"
    log = tmp_path / "serve.log"
    env = {
        **os.environ,
        "PREFECT_API_URL": PREFECT_API_URL.value(),
        "PREFECT_HOME": str(tmp_path / "prefect-home"),
        "PREFECT_RESULTS_LOCAL_STORAGE_PATH": str(tmp_path / "results"),
        "PREFECT_RUNNER_POLL_FREQUENCY": "1",
        "PREFECT_LOGGING_LEVEL": "INFO",  # DEBUG ships every engine line to the API: CPU
    }
    with log.open("w") as out:
        process = subprocess.Popen(
            [sys.executable, str(SERVE), name],
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            cwd=tmp_path,
        )
        try:
            yield f"text-to-video/{name}", log
        finally:
            process.terminate()
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout=30)


def test_cancelling_a_flow_run_deletes_its_remote_job(make_emulator, served, tmp_path, run_nonce):
    deployment, log = served
    base_url = make_emulator(latency=90.0, fps=2, poll_after_ms=500)
    block = f"cancel-{run_nonce}"
    VideoGenCredentials(base_url=base_url, api_key="sk-emulator").save(block)

    with get_client(sync_client=True) as client:

        def deployed() -> bool:
            try:
                client.read_deployment_by_name(deployment)
            except Exception:
                return False
            return True

        _wait_until(deployed, "the deployment to be served", log)
        flow_run = run_deployment(
            deployment,
            parameters={
                "prompt": f"cancel {run_nonce}: a kite over the dunes",
                "model": "emu-video",
                "seconds": 2,
                "size": "64x64",
                "credentials": block,
                "storage": str(tmp_path / "videos"),
            },
            timeout=0,
        )

        def polled() -> bool:
            jobs = get_stats(base_url)["jobs"]
            return any(job["polls"] >= 2 for job in jobs.values())

        _wait_until(polled, "the job to be submitted and polled", log)
        (job_id,) = get_stats(base_url)["jobs"]
        client.set_flow_run_state(flow_run.id, Cancelling(message="cancelled by the test"))

        def final_state() -> object:
            state = client.read_flow_run(flow_run.id).state
            return state if state is not None and state.is_final() else None

        state = _wait_until(final_state, "the flow run to end", log)
        assert state.is_cancelled(), state

        def run_log() -> str:
            logs = client.read_logs(
                log_filter=LogFilter(flow_run_id=LogFilterFlowRunId(any_=[flow_run.id]))
            )
            return "\n".join(entry.message for entry in logs)

        # Hooks run after the state change; give their log lines a moment to arrive.
        deadline = time.monotonic() + 20
        while job_id not in run_log() and time.monotonic() < deadline:
            time.sleep(0.5)
        messages = run_log()
        runs = client.read_flow_runs(flow_run_filter=FlowRunFilter(id={"any_": [flow_run.id]}))
        assert runs and runs[0].state and runs[0].state.is_cancelled()

    stats = get_stats(base_url)
    assert stats["submissions"] == 1
    assert stats["requests"].get("delete", 0) >= 1, (
        f"no DELETE reached the server for job {job_id}; flow run log:\n{messages}"
    )
    cancel_lines = [
        line for line in messages.splitlines() if job_id in line and "delet" in line.lower()
    ]
    assert cancel_lines, f"the flow run log does not say what happened to {job_id}:\n{messages}"
