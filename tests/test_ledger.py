"""The submission ledger against the emulator with `idempotency=False` (as most servers are).

Every fault that loses a create's answer after the job exists (500, a proxy's HTML 502,
503, a proxy's 504, a dropped connection, an answer slower than the client waits) must
cost at most one paid job per request over the client's retries, the task's retries and
three reruns; the error must say a job may exist. Where the server lists jobs (openai
dialect) a rerun adopts the job and stores its video; where it does not (gateway dialect)
every rerun raises `SubmissionUncertainError` naming `attempt=1`.
"""

from __future__ import annotations

import logging
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from prefect import flow

from prefect_videogen import locks
from prefect_videogen.credentials import VideoGenCredentials
from prefect_videogen.emulator import get_stats
from prefect_videogen.exceptions import NotFoundError, SubmissionUncertainError
from prefect_videogen.families import VideoRequest
from prefect_videogen.locks import FileLockManager, new_holder
from prefect_videogen.tasks import agenerate_video, generate_video, submit_video

pytestmark = pytest.mark.usefixtures("prefect_server", "fast_polling", "isolated_results")

MODEL = "emu-video"
AFTER_ACCEPTANCE = [
    "accepted_500",
    "accepted_502",
    "accepted_503",
    "accepted_504",
    "accepted_drop",
    "accepted_slow",
]


def creds(base_url: str, key: str = "sk-emulator", **options) -> VideoGenCredentials:
    options.setdefault("timeout", 1.0)  # `accepted_slow` answers after 2 s
    return VideoGenCredentials(base_url=base_url, api_key=key, **options)


def small(prompt: str) -> VideoRequest:
    return VideoRequest(model=MODEL, prompt=prompt, seconds=2, size="96x64")


@flow
def generate_once(request, credentials, storage):
    task = generate_video.with_options(retry_delay_seconds=0, retry_jitter_factor=0)
    return task(request, credentials, storage=storage, artifacts=False)


# ------------------------------------------------------------------------ faults after acceptance


@pytest.mark.parametrize("dialect", ["openai", "gateway"])
@pytest.mark.parametrize("fault", AFTER_ACCEPTANCE)
def test_a_lost_create_answer_costs_one_job_over_retries_and_reruns(
    make_emulator, tmp_path, fault, dialect
):
    base_url = make_emulator(
        dialect=dialect,
        idempotency=False,
        faults={"create": {"script": [fault], "slow_seconds": 2.0}},
    )
    request = small(f"a heron fishing ({fault}, {dialect})")
    credentials = creds(base_url, max_retries=3)

    with pytest.raises(SubmissionUncertainError) as first:
        generate_once(request, credentials, str(tmp_path))
    assert "job may" in str(first.value) and "attempt=1" in str(first.value)
    assert get_stats(base_url)["requests"]["create"] == 1  # neither client nor task resent it

    outcomes = []
    for _ in range(3):
        try:
            outcomes.append(generate_once(request, credentials, str(tmp_path)))
        except SubmissionUncertainError as exc:
            outcomes.append(exc)

    stats = get_stats(base_url)
    assert stats["submissions"] == 1, stats["requests"]
    (job_id,) = stats["jobs"]
    if dialect == "openai":  # the list route finds the job: the reruns store its video
        assert all(not isinstance(o, Exception) and o.job_id == job_id for o in outcomes)
        assert Path(outcomes[0].location).is_file()
    else:  # no list route: each rerun says what happened and how to pay again
        assert all(isinstance(o, SubmissionUncertainError) for o in outcomes)
        message = str(outcomes[-1])
        assert "may exist" in message and "no list route" in message
        assert "attempt=1" in message


@pytest.mark.parametrize("dialect", ["openai", "gateway"])
async def test_the_async_path_keeps_the_same_promise(make_emulator, tmp_path, dialect):
    base_url = make_emulator(
        dialect=dialect, idempotency=False, faults={"create": {"script": ["accepted_503"]}}
    )
    request = small(f"an async heron ({dialect})")

    @flow
    async def agenerate_once(request, credentials, storage):
        return await agenerate_video(request, credentials, storage=storage, artifacts=False)

    with pytest.raises(SubmissionUncertainError):
        await agenerate_once(request, creds(base_url), str(tmp_path))
    if dialect == "openai":
        stored = await agenerate_once(request, creds(base_url), str(tmp_path))
        assert Path(stored.location).is_file()
    else:
        with pytest.raises(SubmissionUncertainError, match="attempt=1"):
            await agenerate_once(request, creds(base_url), str(tmp_path))
    assert get_stats(base_url)["submissions"] == 1


def test_paying_again_deliberately_with_the_next_attempt(make_emulator, tmp_path):
    base_url = make_emulator(
        dialect="gateway", idempotency=False, faults={"create": {"script": ["accepted_502"]}}
    )
    request = small("a deliberate second payment")
    with pytest.raises(SubmissionUncertainError):
        generate_once(request, creds(base_url), str(tmp_path))

    @flow
    def again(request, credentials, storage):
        return generate_video(request, credentials, storage=storage, attempt=1, artifacts=False)

    stored = again(request, creds(base_url), str(tmp_path))
    assert stored.attempt == 1 and get_stats(base_url)["submissions"] == 2


def test_a_create_that_surely_made_no_job_is_sent_again_on_rerun(make_emulator, tmp_path):
    # 429 proves nothing was made: the intent is closed and the rerun submits.
    base_url = make_emulator(idempotency=False, faults={"create": {"script": ["429"] * 4}})
    request = small("a rate-limited otter")

    @flow
    def submit_only(request, credentials):
        return submit_video.with_options(retries=0)(request, credentials)

    with pytest.raises(Exception, match="429"):
        submit_only(request, creds(base_url, max_retries=0))
    job = submit_only(request, creds(base_url, max_retries=3))
    assert get_stats(base_url)["submissions"] == 1 and job.job_id in get_stats(base_url)["jobs"]


def test_idempotent_retries_resend_to_a_server_that_honours_the_key(make_emulator):
    base_url = make_emulator(faults={"create": {"script": ["accepted_502"]}})  # honours keys

    @flow
    def submit_only(request, credentials):
        return submit_video(request, credentials)

    job = submit_only(small("an idempotent crane"), creds(base_url, idempotent_retries=True))
    stats = get_stats(base_url)
    assert stats["requests"]["create"] == 2 and stats["idempotent_replays"] == 1
    assert stats["submissions"] == 1 and job.job_id in stats["jobs"]


def test_a_job_cached_before_the_ledger_is_reused_after_upgrading(make_emulator):
    # Records of the submit task's former cache (key without account) are still honoured.
    from prefect_videogen import _prefect
    from prefect_videogen.caching import normalize_request
    from prefect_videogen.ledger import SubmissionLedger
    from prefect_videogen.records import JobRecord

    base_url = make_emulator(idempotency=False)
    request = small("a job from an older release")
    normalized, _ = normalize_request(request)
    ledger = SubmissionLedger(creds(base_url))
    old = JobRecord(job_id="video_from_v1", model=MODEL)
    _prefect.ledger_store().write(old, key=ledger.legacy_key(normalized, 0))

    @flow
    def submit_only(request, credentials):
        return submit_video(request, credentials)

    assert submit_only(request, creds(base_url)).job_id == "video_from_v1"
    assert submit_only(request, creds(base_url)).job_id == "video_from_v1"
    assert get_stats(base_url)["requests"].get("create", 0) == 0


# ------------------------------------------------------------------------ accounts


def test_two_keys_with_per_key_jobs_each_pay_and_store_their_own(make_emulator, tmp_path):
    base_url = make_emulator(idempotency=False, per_key_jobs=True, extra_api_keys=["sk-two"])
    request = small("a shared prompt, two accounts")

    @flow
    def both(request, one, two, storage):
        first = generate_video(request, one, storage=storage, artifacts=False)
        second = generate_video(request, two, storage=storage, artifacts=False)
        return first, second

    first, second = both(request, creds(base_url), creds(base_url, key="sk-two"), str(tmp_path))
    stats = get_stats(base_url)
    assert stats["submissions"] == 2 and first.job_id != second.job_id
    assert sorted(stats["submissions_by_account"].values()) == [1, 1]
    assert Path(first.location).is_file() and Path(second.location).is_file()
    # A rerun of each account reuses its own job.
    again = both(request, creds(base_url), creds(base_url, key="sk-two"), str(tmp_path))
    assert (again[0].job_id, again[1].job_id) == (first.job_id, second.job_id)
    assert get_stats(base_url)["submissions"] == 2


def test_a_recorded_job_the_server_lost_names_the_job_and_attempt(make_emulator, tmp_path):
    base_url = make_emulator(idempotency=False)
    request = small("a job the server forgets")
    stored = generate_once(request, creds(base_url), str(tmp_path))
    import httpx

    root = base_url.removesuffix("/v1")
    httpx.post(f"{root}/emulator/reset", timeout=10).raise_for_status()

    with pytest.raises(NotFoundError) as info:
        generate_once(request, creds(base_url), str(tmp_path / "again"))
    message = str(info.value)
    assert stored.job_id in message and "attempt=1" in message
    assert get_stats(base_url)["submissions"] == 0  # nothing paid again


# ------------------------------------------------------------------------ locks


def _dead_pid() -> int:
    process = subprocess.Popen([sys.executable, "-c", "pass"])
    process.wait()
    return process.pid


def test_a_lock_left_by_a_dead_process_is_taken_over_at_once(tmp_path, caplog):
    manager = FileLockManager(tmp_path, hold_seconds=600)
    pid = _dead_pid()
    import json
    import socket

    (tmp_path / "k1.lock").write_text(
        json.dumps({"holder": "gone", "host": socket.gethostname(), "pid": pid, "expiration": None})
    )
    started = time.monotonic()
    with caplog.at_level(logging.WARNING):
        assert manager.acquire_lock("k1", new_holder(), acquire_timeout=5)
    assert time.monotonic() - started < 1.0
    assert "holder process is gone" in caplog.text
    assert manager.describe("k1")["pid"] == os.getpid()


def test_a_lock_from_another_host_expires_unless_its_holder_renews_it(tmp_path):
    import json

    manager = FileLockManager(tmp_path, hold_seconds=0.6)
    holder = new_holder()
    assert manager.acquire_lock("k3", holder)
    assert not manager.acquire_lock("k3", new_holder(), acquire_timeout=1.5)  # renewed
    locks._renewals.drop(manager, "k3", holder)  # as if its machine had crashed
    info = manager.describe("k3")
    (tmp_path / "k3.lock").write_text(json.dumps({**info, "host": "other-host"}))
    assert manager.acquire_lock("k3", new_holder(), acquire_timeout=3)  # it expired


def test_waiting_on_a_live_holder_logs_who_and_how_long(tmp_path, caplog, monkeypatch):
    monkeypatch.setattr(locks, "WAIT_LOG_EVERY", 0.1)
    manager = FileLockManager(tmp_path)
    assert manager.acquire_lock("k2", "someone-else")
    with caplog.at_level(logging.INFO):
        assert not manager.acquire_lock("k2", new_holder(), acquire_timeout=0.35)
    lines = [
        r.getMessage() for r in caplog.records if "Waiting for the submission lock" in r.message
    ]
    assert len(lines) >= 2 and f"pid {os.getpid()}" in lines[0]
    manager.release_lock("k2", "someone-else")
    assert manager.acquire_lock("k2", "me", acquire_timeout=1)


def test_only_the_prefect_adapter_passes_the_sync_flag():
    import prefect_videogen

    package = Path(prefect_videogen.__file__).parent
    offenders = [
        f"{path.relative_to(package)}:{number}"
        for path in sorted(package.rglob("*.py"))
        if path.name != "_prefect.py"
        for number, line in enumerate(path.read_text().splitlines(), 1)
        if "_sync=" in line
    ]
    assert offenders == [], "Prefect internals belong in prefect_videogen/_prefect.py"


class _CountingLocks(FileLockManager):
    """Counts renewals; a renewal can be slowed down between its read and its write."""

    def __init__(self, *args, slow_renewal: float = 0.0, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.renewals = 0
        self.slow_renewal = slow_renewal

    def renew_lock(self, key, holder, hold_seconds=None):
        self.renewals += 1
        return super().renew_lock(key, holder, hold_seconds)

    def read_info(self, key):
        info = super().read_info(key)
        if self.slow_renewal and locks.threading.current_thread().name == "videogen-lock-renewal":
            time.sleep(self.slow_renewal)  # the renewal has read the file, not yet written it
        return info


def test_taking_locks_renews_none_of_the_others(tmp_path):
    # A batch takes a lock per submission: each must not make the renewal thread rewrite
    # every lock held at that moment (it did: quadratic work in the number of locks held).
    manager = _CountingLocks(tmp_path, hold_seconds=30)
    holders = {f"k{i}": new_holder() for i in range(40)}
    for key, holder in holders.items():
        assert manager.acquire_lock(key, holder)
        time.sleep(0.005)
    time.sleep(0.3)
    assert manager.renewals == 0
    for key, holder in holders.items():
        manager.release_lock(key, holder)
    assert list(tmp_path.glob("*.lock")) == []


def test_a_renewal_never_brings_back_a_lock_its_holder_released(tmp_path):
    # The renewal thread read the lock file, then the holder released the lock: the
    # renewal's write must not create the file again (an orphan lock that a rerun of the
    # same request would wait out, then take over with a warning).
    manager = _CountingLocks(tmp_path, hold_seconds=0.3, slow_renewal=0.3)
    holder = new_holder()
    assert manager.acquire_lock("k", holder)
    deadline = time.monotonic() + 2
    while manager.renewals == 0 and time.monotonic() < deadline:
        time.sleep(0.01)
    assert manager.renewals == 1  # under way, sleeping between its read and its write
    manager.release_lock("k", holder)
    time.sleep(0.5)
    assert manager.describe("k") is None
    assert list(tmp_path.glob("*.lock")) == []


def test_ledger_records_on_local_storage_skip_resolving_but_not_the_base_path_check(tmp_path):
    from prefect.filesystems import LocalFileSystem

    from prefect_videogen._prefect import LedgerFileSystem, _store_with

    store = _store_with(LocalFileSystem(basepath=str(tmp_path)))
    assert isinstance(store.result_storage, LedgerFileSystem)
    files = store.result_storage
    assert files._resolve_path("ab12-intent") == tmp_path.resolve() / "ab12-intent"
    with pytest.raises(ValueError, match="outside of the base path"):
        files.write_path("../escaped", b"x")
    store.write({"job_id": "video_1"}, key="ab12", holder="me")
    assert store.read("ab12").result == {"job_id": "video_1"}
    assert (tmp_path / "ab12").is_file()
