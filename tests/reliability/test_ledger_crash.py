"""Crashes around a paid create, against an emulator that ignores `Idempotency-Key`.

- `kill -9` right after the server accepted the create (its answer is held back): the
  rerun takes over the dead process's lock at once, and makes no new job: it adopts the
  job through the list route (openai dialect) or stops with a `SubmissionUncertainError`
  that names `attempt=1` (gateway dialect, no list route).
- SIGTERM mid-poll (a container stop, `timeout`; not a user's cancellation): the remote
  job is kept, and the rerun stores its video without paying again.

The children are `crash_child.py` runs sharing PREFECT_HOME (so the lock directory) and
result storage, as in `test_crash_resume.py`.
"""

from __future__ import annotations

import os
import signal
import time

import pytest

from prefect_videogen.emulator import get_stats

from .test_crash_resume import WAIT, _assert_intact, _only_job, crash_env

pytestmark = [pytest.mark.usefixtures("prefect_server"), pytest.mark.timeout(300)]

__all__ = ["crash_env"]  # the fixture, imported for pytest


@pytest.mark.parametrize("dialect", ["openai", "gateway"])
def test_kill_right_after_acceptance_then_rerun_makes_no_new_job(
    make_emulator, crash_env, run_nonce, tmp_path, dialect
):
    base_url = make_emulator(
        dialect=dialect,
        idempotency=False,
        latency=0.5,
        fps=2,
        faults={"create": {"script": ["accepted_slow"], "slow_seconds": 60}},
    )
    storage = tmp_path / "videos"
    prompt = f"crash {run_nonce}: a gull over the harbour ({dialect})"

    first = crash_env(base_url, storage, prompt)
    first.wait_until(lambda: get_stats(base_url)["submissions"] == 1, "the accepted create")
    first.kill()
    job_id, _ = _only_job(base_url)

    started = time.monotonic()
    rerun = crash_env(base_url, storage, prompt)
    if dialect == "openai":
        stored = rerun.finish()
        assert stored.job_id == job_id
        assert "Reconciled video submission" in rerun.output()
        _assert_intact(stored, get_stats(base_url)["jobs"][job_id], storage)
    else:
        code = rerun.process.wait(timeout=WAIT)
        output = rerun.output()
        assert code != 0, output[-4000:]
        assert "SubmissionUncertainError" in output and "attempt=1" in output
        assert "no list route" in output
    # The dead process's lock was taken over at once (it would otherwise hold 600 s).
    assert time.monotonic() - started < WAIT
    stats = get_stats(base_url)
    assert stats["submissions"] == 1 and stats["requests"]["create"] == 1


def test_sigterm_mid_poll_keeps_the_job_and_the_rerun_stores_it(
    make_emulator, crash_env, run_nonce, tmp_path
):
    base_url = make_emulator(idempotency=False, latency=8.0, fps=2, poll_after_ms=300)
    storage = tmp_path / "videos"
    prompt = f"sigterm {run_nonce}: a windmill turning"

    first = crash_env(base_url, storage, prompt)
    first.wait_until(
        lambda: any(job["polls"] >= 3 for job in get_stats(base_url)["jobs"].values()),
        "the submission and three polls",
    )
    os.kill(first.process.pid, signal.SIGTERM)
    first.process.wait(timeout=30)
    job_id, job = _only_job(base_url)  # still there: not deleted
    assert get_stats(base_url)["requests"].get("delete", 0) == 0, first.output()[-4000:]
    assert f"Kept video job {job_id}" in first.output()
    assert job["status"] in ("queued", "in_progress")

    stored = crash_env(base_url, storage, prompt).finish()
    stats = get_stats(base_url)
    assert stored.job_id == job_id
    assert stats["submissions"] == 1 and stats["requests"]["create"] == 1
    _assert_intact(stored, stats["jobs"][job_id], storage)
