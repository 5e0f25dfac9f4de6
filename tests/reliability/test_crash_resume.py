"""Crash: `kill -9` a flow process while it works, rerun it, and lose nothing, pay nothing.

A child Python process (`crash_child.py`) runs `text_to_video` against the emulator this
test runs in-process, on the Prefect test server, with result storage and `PREFECT_HOME`
directories that the rerun shares. The test watches the emulator's counters and sends
SIGKILL at the chosen moment, then runs the same flow again in a new child:

- killed mid-poll (in `text_to_video`, and in `generate_batch`'s one-task-per-video path):
  the rerun resumes the same job id (the submit cache's persisted record), makes no new
  create request at all, and stores a video that decodes and matches the emulator's bytes,
  with no partial or temporary file left anywhere in the output;
- killed mid-download (the video response is held back, so `<video>.part` is open): the
  rerun still makes no new submission and leaves no `.part` file behind.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from pathlib import Path

import pytest

from prefect_videogen.emulator import get_stats
from prefect_videogen.records import StoredVideo

from .conftest import Child, Children, decodes, leftovers

pytestmark = [pytest.mark.usefixtures("prefect_server"), pytest.mark.timeout(300)]

#: Upper bound of every wait for the child, in seconds.
WAIT = 90.0


@pytest.fixture
def crash_env(children: Children) -> Callable[..., Child]:
    """Start children sharing one PREFECT_HOME, result storage and output directory."""
    children.wait = WAIT

    def start(base_url: str, storage: Path, prompt: str, flow: str = "text_to_video") -> Child:
        return children.start(base_url, str(storage), prompt, flow)

    return start


def _only_job(base_url: str) -> tuple[str, dict]:
    jobs = get_stats(base_url)["jobs"]
    assert len(jobs) == 1, jobs
    return next(iter(jobs.items()))


def _assert_intact(stored: StoredVideo, job: dict, storage: Path) -> None:
    video = Path(stored.location)
    assert video.is_relative_to(storage) and video.is_file()
    assert hashlib.sha256(video.read_bytes()).hexdigest() == stored.sha256 == job["sha256"]
    assert decodes(video) > 0
    assert Path(f"{video}.json").is_file()
    assert leftovers(storage) == []


@pytest.mark.parametrize("flow", ["text_to_video", "generate_batch"])
def test_kill_mid_poll_then_rerun_resumes_the_same_job(
    make_emulator, crash_env, run_nonce, tmp_path, flow
):
    base_url = make_emulator(latency=8.0, fps=2, poll_after_ms=300)
    storage = tmp_path / "videos"
    prompt = f"crash {run_nonce}: a lantern swinging in the wind ({flow})"

    first = crash_env(base_url, storage, prompt, flow)

    def polled_a_few_times() -> bool:
        jobs = get_stats(base_url)["jobs"]
        return any(job["polls"] >= 3 for job in jobs.values())

    first.wait_until(polled_a_few_times, "the submission and three polls")
    first.kill()
    job_id, job = _only_job(base_url)
    assert job["status"] in ("queued", "in_progress"), "killed too late: the job had finished"
    assert job["downloads"] == 0
    assert leftovers(storage) == [] and not list(storage.rglob("*.mp4"))

    stored = crash_env(base_url, storage, prompt, flow).finish()

    stats = get_stats(base_url)
    assert stored.job_id == job_id
    assert stats["submissions"] == 1
    assert stats["requests"]["create"] == 1, "the rerun sent a create request"
    assert stats["idempotent_replays"] == 0
    _assert_intact(stored, stats["jobs"][job_id], storage)


def test_kill_mid_download_leaves_no_partial_file(make_emulator, crash_env, run_nonce, tmp_path):
    # The first video download is held for 60 s before any byte is sent; the rerun's is not.
    base_url = make_emulator(
        latency=0.5,
        fps=2,
        faults={"content": {"script": ["slow"], "slow_seconds": 60}},
    )
    storage = tmp_path / "videos"
    prompt = f"crash {run_nonce}: a kettle coming to the boil"

    first = crash_env(base_url, storage, prompt)
    first.wait_until(
        lambda: get_stats(base_url)["requests"].get("content", 0) >= 1,
        "the video download to start",
    )
    first.wait_until(lambda: bool(list(storage.rglob("*.part"))), "the .part file")
    first.kill()
    job_id, _ = _only_job(base_url)
    assert [p.name for p in storage.rglob("*.part")], "the kill should leave a .part behind"

    stored = crash_env(base_url, storage, prompt).finish()

    stats = get_stats(base_url)
    assert stored.job_id == job_id
    assert stats["submissions"] == 1 and stats["requests"]["create"] == 1
    _assert_intact(stored, stats["jobs"][job_id], storage)
