"""Chaos: 200 paid jobs through `generate_batch` while the server misbehaves.

The emulator (openai dialect, seeded faults) answers 20 % of retrieve and content requests
with a 5xx (10 % 500, 10 % 503), 10 % with 429 + `Retry-After`, 20 % of creates with 429
(the one answer that proves no job was made: a 5xx on a create may follow the job's
creation and is never resent, see tests/test_ledger.py), drops 5 % of content downloads
mid-body, and fails 5 % of the jobs it accepts. The batch is driven the
way a user would drive it: one `generate_batch` flow run on the Prefect test server, with a
`VideoGenCredentials` block and a local storage directory.

Afterwards:

- every job that did not fail is stored intact: the file's sha256 equals the emulator's,
  its sidecar says so, and PyAV decodes it; nothing else (no partial file) is on disk;
- the emulator counted exactly one submission per distinct request (duplicate entries
  included in the batch are submitted once) and never had to replay a create;
- each failed job surfaced as a `VideoGenerationFailed` carrying the emulator's own code
  and message for that job.

Tuning for speed (what the library lets a user tune): tiny frames (64x64, 2 fps, 4 s),
1 s of emulator latency, a 250 ms poll hint, `Retry-After: 1`, and 50 jobs in flight. The
clients' retry backoff (0.5 s doubling) and the tasks' retry delays (2, 10, 30 s) cannot be
set from the flows: `VideoGenCredentials` has no backoff option and the flows call the
module-level tasks. The measured wall time is printed (`-s`) and recorded as the junit
property `chaos_wall_seconds`. Measured on 2 cores: about 0.35 s of CPU in the flow process
and 0.37 s in the Prefect server per job, so 200 jobs need well over a minute.
"""

from __future__ import annotations

import hashlib
import time
from collections import Counter
from pathlib import Path

import httpx
import pytest

from prefect_videogen.credentials import VideoGenCredentials
from prefect_videogen.emulator import get_stats, set_faults
from prefect_videogen.exceptions import VideoGenerationFailed
from prefect_videogen.flows import generate_batch
from prefect_videogen.records import StoredVideo

from .conftest import decodes, leftovers

pytestmark = [pytest.mark.usefixtures("prefect_server"), pytest.mark.timeout(600)]

JOBS = 200
DUPLICATES = 10
MODEL = "emu-video"  # generic family: any even WxH, so the frames can be tiny
SIZE = "64x64"
SECONDS = 4
FAILURE_CODE = "chaos_generation_failed"
FAILURE_MESSAGE = "The chaos monkey unplugged the render farm."

ENDPOINT_FAULTS = {"rate_500": 0.10, "rate_503": 0.10, "rate_429": 0.10}
FAULTS = {
    "seed": 20240607,
    "retry_after": 1,
    "create": {"rate_429": 0.20},
    "retrieve": ENDPOINT_FAULTS,
    "content": {**ENDPOINT_FAULTS, "rate_drop": 0.05},
    "failure_rate": 0.05,
    "failure_code": FAILURE_CODE,
    "failure_message": FAILURE_MESSAGE,
}


def _flatten(error: BaseException) -> list[BaseException]:
    if isinstance(error, BaseExceptionGroup):
        return [leaf for inner in error.exceptions for leaf in _flatten(inner)]
    return [error]


async def test_two_hundred_jobs_under_chaos(
    make_emulator, results_dir, run_nonce, tmp_path, record_property
):
    base_url = make_emulator(latency=1.0, fps=2, poll_after_ms=250, render_workers=2, faults=FAULTS)
    credentials = VideoGenCredentials(base_url=base_url, api_key="sk-emulator")
    storage = tmp_path / "videos"
    prompts = [f"chaos {run_nonce} job {n:03d}: a paper boat on a pond" for n in range(JOBS)]
    entries = [{"prompt": p, "model": MODEL, "seconds": SECONDS, "size": SIZE} for p in prompts]
    # The same requests again: submitted once, stored once.
    entries += [dict(entries[n * (JOBS // DUPLICATES)]) for n in range(DUPLICATES)]

    started = time.monotonic()
    errors: list[BaseException] = []
    try:
        await generate_batch(
            requests=entries,
            credentials=credentials,
            storage=str(storage),
            max_concurrency=50,
            timeout=300,
        )
    except BaseException as exc:  # an ExceptionGroup (or one error) of the failed jobs
        errors = _flatten(exc)
    elapsed = time.monotonic() - started
    print(f"\nchaos: {len(entries)} entries, {JOBS} jobs in {elapsed:.1f} s")
    record_property("chaos_wall_seconds", round(elapsed, 1))

    stats = get_stats(base_url)
    set_faults(base_url)  # faults off: read each job's final state exactly as the server has it
    jobs = stats["jobs"]
    print(f"chaos: faults injected {stats['faults']}, requests {stats['requests']}")

    # Faults really happened, on every endpoint and of every kind asked for.
    for endpoint in ("create", "retrieve", "content"):
        injected = stats["faults"].get(endpoint, {})
        expected = {"429"} if endpoint == "create" else {"429", "500", "503"}
        assert expected <= set(injected), (endpoint, injected)
    assert stats["faults"]["content"].get("drop", 0) > 0

    # Exactly one submission per distinct request; no create was replayed.
    assert stats["submissions"] == JOBS == len(jobs)
    per_prompt = Counter(job["request"]["prompt"] for job in jobs.values())
    assert set(per_prompt) == set(prompts)
    assert max(per_prompt.values()) == 1
    assert stats["idempotent_replays"] == 0

    failed_ids = {job_id for job_id, job in jobs.items() if job["status"] == "failed"}
    completed_ids = {job_id for job_id, job in jobs.items() if job["status"] == "completed"}
    assert failed_ids and completed_ids
    assert failed_ids | completed_ids == set(jobs), "every job must have ended"

    # Each failed job raised VideoGenerationFailed with the emulator's code and message.
    unexpected = [e for e in errors if not isinstance(e, VideoGenerationFailed)]
    assert not unexpected, f"errors other than failed generations: {unexpected[:5]!r}"
    reported = {error.job.id: error for error in errors}
    assert len(reported) == len(errors), "a failed job was reported twice"
    assert set(reported) == failed_ids
    with httpx.Client(headers={"Authorization": "Bearer sk-emulator"}) as http:
        for job_id, error in reported.items():
            server_error = http.get(f"{base_url}/videos/{job_id}").json()["error"]
            assert (error.code, error.message) == (server_error["code"], server_error["message"])
            assert (error.code, error.message) == (FAILURE_CODE, FAILURE_MESSAGE)
            assert FAILURE_CODE in str(error) and FAILURE_MESSAGE in str(error)

    # Every completed job is stored once, intact, with a truthful sidecar; nothing else.
    assert leftovers(storage) == []
    videos = sorted(storage.rglob("*.mp4"))
    sidecars = {p: StoredVideo.model_validate_json(p.read_text()) for p in storage.rglob("*.json")}
    assert len(videos) == len(sidecars) == len(completed_ids)
    stored_ids = set()
    for sidecar_path, stored in sidecars.items():
        video = Path(stored.location)
        assert video == sidecar_path.with_suffix("") and video.is_file()
        digest = hashlib.sha256(video.read_bytes()).hexdigest()
        assert digest == stored.sha256 == jobs[stored.job_id]["sha256"], stored.job_id
        assert stored.size_bytes == video.stat().st_size
        assert decodes(video) == SECONDS * 2  # fps 2
        stored_ids.add(stored.job_id)
    assert stored_ids == completed_ids
    print(
        f"chaos: {len(completed_ids)} stored, {len(failed_ids)} failed as planned, "
        f"{stats['polls']} polls, {stats['downloads']} downloads"
    )
