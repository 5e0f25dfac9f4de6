"""Submission locks shared by several machines: prefect-redis on a real `redis-server`.

Two "machines" are stood for by two lock managers (or two ledgers) that share nothing but
the Redis URL and the S3 bucket (a moto server): separate lock directories, separate
`ResultStore`s. With host-local file locks they would both pay for the same request.
"""

from __future__ import annotations

import asyncio
import logging
import threading

import pytest

from prefect_videogen import _prefect, locks
from prefect_videogen.caching import normalize_request
from prefect_videogen.credentials import VideoGenCredentials
from prefect_videogen.emulator import get_stats
from prefect_videogen.families import VideoRequest
from prefect_videogen.ledger import SubmissionLedger
from prefect_videogen.locks import FileLockManager, RedisSubmissionLockManager, new_holder


def test_the_setting_selects_the_redis_lock_manager(redis_locks, monkeypatch, tmp_path):
    assert isinstance(_prefect.submission_lock_manager(), RedisSubmissionLockManager)
    monkeypatch.setenv("PREFECT_INTEGRATIONS_VIDEOGEN_LOCK_MANAGER", "file")
    monkeypatch.setenv("PREFECT_INTEGRATIONS_VIDEOGEN_LOCK_DIR", str(tmp_path))
    assert isinstance(_prefect.submission_lock_manager(), FileLockManager)


def test_an_unknown_lock_manager_is_refused(monkeypatch):
    from prefect_videogen.settings import VideoGenSettings

    monkeypatch.setenv("PREFECT_INTEGRATIONS_VIDEOGEN_LOCK_MANAGER", "reddis://host")
    with pytest.raises(ValueError, match="file` or a Redis URL"):
        VideoGenSettings()


def test_two_machines_exclude_each_other(redis_url):
    one, two = RedisSubmissionLockManager(redis_url), RedisSubmissionLockManager(redis_url)
    a, b = new_holder(), new_holder()
    assert one.acquire_lock("k1", a, acquire_timeout=1)
    assert not two.acquire_lock("k1", b, acquire_timeout=0.2)
    assert two.is_locked("k1") and two.is_lock_holder("k1", a)  # any instance can tell
    with pytest.raises(ValueError, match="held by"):
        two.release_lock("k1", b)
    one.release_lock("k1", a)
    assert two.acquire_lock("k1", b, acquire_timeout=1)
    two.release_lock("k1", b)
    assert not one.is_locked("k1")


def test_a_lock_left_by_a_crashed_machine_expires(redis_url):
    crashed = RedisSubmissionLockManager(redis_url, hold_seconds=0.5)
    assert crashed.acquire_lock("k2", "dead-host:1:1:x")  # never released
    locks._renewals.drop(crashed, "k2", "dead-host:1:1:x")  # its process "dies": no renewals
    other = RedisSubmissionLockManager(redis_url, hold_seconds=0.5)
    assert other.acquire_lock("k2", new_holder(), acquire_timeout=5)


def test_a_live_holder_keeps_its_lock_past_the_hold_time(redis_url):
    # A create slower than lock_hold_seconds must not let another machine in: the holder's
    # process renews the lock (every third of the hold time) until it releases it.
    one = RedisSubmissionLockManager(redis_url, hold_seconds=0.6)
    two = RedisSubmissionLockManager(redis_url, hold_seconds=0.6)
    holder = new_holder()
    assert one.acquire_lock("k5", holder, acquire_timeout=1)
    assert not two.acquire_lock("k5", new_holder(), acquire_timeout=1.5)  # 2.5 hold times
    assert two.is_lock_holder("k5", holder)
    one.release_lock("k5", holder)
    assert two.acquire_lock("k5", new_holder(), acquire_timeout=1)
    assert not one.renew_lock("k5", holder)  # not its lock any more: nothing renewed


def test_an_async_acquire_is_released_from_sync_code(redis_url):
    # The ledger's async path acquires with `aacquire_lock` and releases with the sync
    # `release_lock`; prefect-redis alone returns an un-awaited coroutine there.
    manager = RedisSubmissionLockManager(redis_url)
    holder = new_holder()
    assert asyncio.run(manager.aacquire_lock("k3", holder, acquire_timeout=1))
    manager.release_lock("k3", holder)
    assert not manager.is_locked("k3")


def test_waiting_logs_the_holder(redis_url, caplog, monkeypatch):
    monkeypatch.setattr(locks, "WAIT_LOG_EVERY", 0.1)
    manager = RedisSubmissionLockManager(redis_url)
    assert manager.acquire_lock("k4", "build-7:4242:1:abc")
    with caplog.at_level(logging.INFO):
        assert not manager.acquire_lock("k4", new_holder(), acquire_timeout=0.35)
    assert "held by build-7:4242:1:abc" in caplog.text
    manager.release_lock("k4", "build-7:4242:1:abc")


def test_the_lock_manager_never_shows_its_url(monkeypatch, redis_url):
    secret_url = redis_url.replace("redis://", "redis://:hunter2-secret@")
    manager = RedisSubmissionLockManager(secret_url)
    assert "hunter2" not in repr(manager)


@pytest.mark.usefixtures("prefect_server")
def test_two_machines_pay_once_for_the_same_request(
    make_emulator, redis_locks, s3_bucket, s3_client, monkeypatch, tmp_path
):
    """Two ledgers with separate lock directories and stores, sharing Redis and S3."""
    # Each create takes 0.6 s, so both machines are inside "look, else POST" at once.
    base_url = make_emulator(idempotency=False, faults={"create": {"rate_slow": 1.0}})
    monkeypatch.setenv("PREFECT_INTEGRATIONS_VIDEOGEN_POLL_INTERVAL", "0.05")
    credentials = VideoGenCredentials(base_url=base_url, api_key="sk-emulator", timeout=5)
    normalized, family = normalize_request(
        VideoRequest(model="emu-video", prompt="two machines, one heron", seconds=2, size="96x64")
    )
    ledgers = []
    for machine in ("a", "b"):  # each machine's own lock directory, as on its own disk
        monkeypatch.setenv("PREFECT_INTEGRATIONS_VIDEOGEN_LOCK_DIR", str(tmp_path / machine))
        ledgers.append(SubmissionLedger(credentials, store=_prefect._store_with(s3_bucket)))

    barrier = threading.Barrier(2)
    records: list = []

    def submit(ledger: SubmissionLedger) -> None:
        with credentials.get_client() as client:
            barrier.wait()
            records.append(ledger.submit(client, normalized, family, attempt=0))

    threads = [threading.Thread(target=submit, args=(ledger,)) for ledger in ledgers]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)

    assert len(records) == 2
    assert get_stats(base_url)["requests"]["create"] == 1
    assert records[0].job_id == records[1].job_id
    stored = s3_client.list_objects_v2(Bucket=s3_bucket.bucket_name).get("Contents", [])
    assert any(ledgers[0].key(normalized, 0) in item["Key"] for item in stored)
