"""Emulator behaviours the ledger is tested against: ignored Idempotency-Key, faults after
acceptance, per-key jobs and per-account submission counts (raw HTTP, no library client)."""

from __future__ import annotations

import httpx
import pytest

from prefect_videogen.emulator import get_stats, run_emulator, set_faults

BODY = {"model": "emu-video", "prompt": "a moth at a lamp", "seconds": "2", "size": "96x64"}
ONE = {"Authorization": "Bearer sk-emulator"}
TWO = {"Authorization": "Bearer sk-two"}
FAST = {"latency": 0.2, "fps": 4}


def test_idempotency_false_ignores_the_key():
    with run_emulator(idempotency=False, **FAST) as url, httpx.Client() as http:
        headers = {**ONE, "Idempotency-Key": "same"}
        first = http.post(f"{url}/videos", json=BODY, headers=headers).json()["id"]
        second = http.post(f"{url}/videos", json=BODY, headers=headers).json()["id"]
        stats = get_stats(url)
    assert first != second
    assert stats["submissions"] == 2 and stats["idempotent_replays"] == 0


@pytest.mark.parametrize(
    ("fault", "status", "content_type"),
    [
        ("accepted_500", 500, "application/json"),
        ("accepted_502", 502, "text/html"),
        ("accepted_503", 503, "application/json"),
        ("accepted_504", 504, "text/html"),
    ],
)
def test_faults_after_acceptance_create_the_job_then_fail(fault, status, content_type):
    with run_emulator(idempotency=False, **FAST) as url, httpx.Client() as http:
        set_faults(url, create={"script": [fault]})
        response = http.post(f"{url}/videos", json=BODY, headers=ONE)
        stats = get_stats(url)
    assert response.status_code == status
    assert response.headers["content-type"].startswith(content_type)
    assert stats["submissions"] == 1 and stats["faults"]["create"] == {fault: 1}


def test_dropped_and_slow_answers_after_acceptance():
    with run_emulator(idempotency=False, **FAST) as url, httpx.Client(timeout=0.3) as http:
        set_faults(url, create={"script": ["accepted_drop", "accepted_slow"], "slow_seconds": 1})
        with pytest.raises(httpx.RemoteProtocolError):
            http.post(f"{url}/videos", json=BODY, headers=ONE)
        with pytest.raises(httpx.ReadTimeout):
            http.post(f"{url}/videos", json=BODY, headers=ONE)
        assert get_stats(url)["submissions"] == 2


def test_per_key_jobs_are_visible_only_to_their_key():
    with (
        run_emulator(per_key_jobs=True, extra_api_keys=["sk-two"], **FAST) as url,
        httpx.Client() as http,
    ):
        mine = http.post(f"{url}/videos", json=BODY, headers=ONE).json()["id"]
        theirs = http.post(f"{url}/videos", json=BODY, headers=TWO).json()["id"]
        assert http.get(f"{url}/videos/{mine}", headers=ONE).status_code == 200
        assert http.get(f"{url}/videos/{mine}", headers=TWO).status_code == 404
        assert http.delete(f"{url}/videos/{theirs}", headers=ONE).status_code == 404
        listed = [job["id"] for job in http.get(f"{url}/videos", headers=TWO).json()["data"]]
        stats = get_stats(url)
    assert listed == [theirs]
    assert sorted(stats["submissions_by_account"].values()) == [1, 1]
    assert "sk-two" not in str(stats) and "sk-emulator" not in str(stats)


def test_without_scoping_every_key_sees_every_job():
    with run_emulator(extra_api_keys=["sk-two"], **FAST) as url, httpx.Client() as http:
        mine = http.post(f"{url}/videos", json=BODY, headers=ONE).json()["id"]
        assert http.get(f"{url}/videos/{mine}", headers=TWO).status_code == 200
        assert (
            http.get(f"{url}/videos/{mine}", headers={"Authorization": "Bearer x"}).status_code
            == 401
        )
