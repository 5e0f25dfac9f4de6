"""Resume at scale: `kill -9` a batch about half way, rerun it, pay nothing and fetch nothing twice.

A child process (`crash_child.py ... batch`) runs `generate_batch` over 12 distinct videos,
3 at a time, against an emulator this test runs in-process, on the Prefect test server, with
`PREFECT_HOME` and result storage shared with its rerun. When about half the videos are
stored (their sidecars appear in the storage folder) the child gets SIGKILL; at that moment
some videos are stored, some jobs are in flight and some entries are not submitted yet.
The same batch then runs again in a new child:

- every distinct request was created exactly once over both runs (no new create for a job
  submitted before the kill: in-flight jobs are resumed under the same job ids);
- videos stored before the kill are not downloaded again (their sidecar's job id and sha256
  match), only the others are, each once;
- every video is stored intact (PyAV decodes it, its sha256 matches its sidecar and the
  emulator's bytes), with no `.part` or temporary file left behind.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from pathlib import Path

import pytest

from prefect_videogen.emulator import get_stats
from prefect_videogen.records import StoredVideo

from .conftest import Child, Children, decodes, leftovers
from .test_crash_resume import WAIT

pytestmark = [pytest.mark.usefixtures("prefect_server"), pytest.mark.timeout(300)]

COUNT = 12
CONCURRENCY = 3


@pytest.fixture
def batch_env(children: Children) -> Callable[[str, Path, str], Child]:
    """Start batch children sharing one PREFECT_HOME, result storage and output folder."""
    children.wait = WAIT
    children.env["PREFECT_INTEGRATIONS_VIDEOGEN_POLL_INTERVAL"] = "0.1"
    children.env["PREFECT_INTEGRATIONS_VIDEOGEN_MAX_POLL_INTERVAL"] = "0.3"

    def start(base_url: str, storage: Path, prompt: str) -> Child:
        args = [base_url, str(storage), prompt, "batch", str(COUNT), str(CONCURRENCY)]
        return children.start(*args, log="batch")

    return start


def _sidecars(storage: Path) -> dict[str, StoredVideo]:
    """The videos stored under `storage`, by job id (from their sidecars)."""
    found = {}
    for path in storage.rglob("*.mp4.json"):
        stored = StoredVideo.model_validate_json(path.read_text())
        found[stored.job_id] = stored
    return found


def test_kill_a_batch_half_way_then_rerun_pays_and_fetches_nothing_twice(
    make_emulator, batch_env, run_nonce, tmp_path
):
    base_url = make_emulator(latency=1.5, fps=2, poll_after_ms=100)
    storage = tmp_path / "videos"
    prompt = f"batch resume {run_nonce}: a paper crane"

    first = batch_env(base_url, storage, prompt)

    def half_way() -> bool:
        """About half stored, and a job still generating (so it is surely in flight)."""
        if len(list(storage.rglob("*.mp4.json"))) < COUNT // 2 - 1:
            return False
        jobs = get_stats(base_url)["jobs"].values()
        return any(job["status"] in ("queued", "in_progress") for job in jobs)

    first.wait_until(half_way, "half the videos", poll=0.05)
    first.kill()

    before = get_stats(base_url)
    stored_before = _sidecars(storage)
    submitted_before = set(before["jobs"])
    in_flight = submitted_before - set(stored_before)
    assert COUNT // 2 - 1 <= len(stored_before) < COUNT, "killed too late: all were stored"
    assert set(stored_before) <= submitted_before and in_flight
    assert len(submitted_before) < COUNT, "killed too late: every entry was submitted"

    second = batch_env(base_url, storage, prompt)
    assert second.process.wait(timeout=WAIT) == 0, second.output()[-4000:]
    videos = [StoredVideo.model_validate(v) for v in json.loads(second.output().splitlines()[-1])]

    after = get_stats(base_url)
    # One job per distinct request over both runs. (Jobs, not create requests, are counted:
    # a create the kill cut off before its body arrived is a request that made no job, and
    # the rerun's ledger, finding no such job listed, submits that entry once.)
    assert after["submissions"] == len(after["jobs"]) == COUNT, "a job was paid twice"
    by_prompt = {video.request["prompt"]: video for video in videos}
    assert sorted(by_prompt) == sorted(f"{prompt} #{i}" for i in range(COUNT))
    # Jobs submitted before the kill (stored or in flight) are the rerun's jobs.
    for job_id in submitted_before:
        assert by_prompt[before["jobs"][job_id]["request"]["prompt"]].job_id == job_id
    # Stored videos were not fetched again; every other one exactly once.
    fetched = {
        job_id: job["downloads"] - before["jobs"].get(job_id, {}).get("downloads", 0)
        for job_id, job in after["jobs"].items()
    }
    assert {job_id: fetched[job_id] for job_id in stored_before} == dict.fromkeys(
        stored_before, 0
    ), "a stored video was downloaded again"
    assert sum(fetched.values()) == COUNT - len(stored_before)
    # Every video is intact, with its sidecar, and nothing half-written is left.
    assert _sidecars(storage) == {video.job_id: video for video in videos}
    for video in videos:
        path = Path(video.location)
        assert path.is_relative_to(storage)
        digest = hashlib.sha256(path.read_bytes()).hexdigest()
        assert digest == video.sha256 == after["jobs"][video.job_id]["sha256"]
        assert decodes(path) > 0
    assert [p for p in leftovers(storage) if "batches" not in p.parts] == []
