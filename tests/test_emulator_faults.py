"""Fault injection: 429/500/503, dropped connections, slow answers, failed jobs, expired content."""

from __future__ import annotations

import time

import httpx
import pytest
from plugins.emulator_fixtures import AUTH, wait_for

from prefect_videogen.emulator import FaultConfig, get_stats, set_faults


@pytest.fixture
def http():
    with httpx.Client(timeout=30.0, trust_env=False) as client:
        yield client


def _create(http, base_url, prompt="a fox", **headers):
    return http.post(
        f"{base_url}/videos",
        json={"prompt": prompt, "size": "720x1280"},
        headers={**AUTH, **headers},
    )


def test_429_on_create_has_retry_after_and_creates_nothing(make_emulator, http):
    base_url = make_emulator(faults={"retry_after": 3, "create": {"script": ["429"]}})

    limited = _create(http, base_url)
    assert limited.status_code == 429
    assert limited.headers["retry-after"] == "3"
    assert limited.json()["error"]["code"] == "rate_limit_exceeded"
    assert get_stats(base_url)["submissions"] == 0

    accepted = _create(http, base_url)
    assert accepted.status_code == 200
    stats = get_stats(base_url)
    assert stats["submissions"] == 1
    assert stats["faults"] == {"create": {"429": 1}}


def test_500_and_503_on_each_endpoint(make_emulator, http):
    base_url = make_emulator()
    job = wait_for(http, base_url, _create(http, base_url).json()["id"])
    set_faults(
        base_url,
        create={"script": ["500", "503"]},
        retrieve={"script": ["500", "503"]},
        list={"script": ["503"]},
        content={"script": ["500"]},
        delete={"script": ["503"]},
    )
    calls = [
        lambda: _create(http, base_url),
        lambda: _create(http, base_url),
        lambda: http.get(f"{base_url}/videos/{job['id']}", headers=AUTH),
        lambda: http.get(f"{base_url}/videos/{job['id']}", headers=AUTH),
        lambda: http.get(f"{base_url}/videos", headers=AUTH),
        lambda: http.get(f"{base_url}/videos/{job['id']}/content", headers=AUTH),
        lambda: http.delete(f"{base_url}/videos/{job['id']}", headers=AUTH),
    ]
    statuses = [call().status_code for call in calls]

    assert statuses == [500, 503, 500, 503, 503, 500, 503]
    assert get_stats(base_url)["submissions"] == 1  # the failed creates made no job
    assert http.get(f"{base_url}/videos/{job['id']}", headers=AUTH).status_code == 200


def test_gateway_create_faults_use_the_task_error_shape(make_emulator, http):
    base_url = make_emulator(dialect="gateway", faults={"create": {"script": ["429", "500"]}})
    body = {"model": "kling-v1", "prompt": "k"}

    limited = http.post(f"{base_url}/videos", json=body, headers=AUTH)
    failed = http.post(f"{base_url}/videos", json=body, headers=AUTH)

    assert limited.status_code == 429 and limited.headers["retry-after"] == "1"
    assert limited.json()["code"] == "fail_to_fetch_task"
    assert failed.status_code == 500 and failed.json()["data"] is None


def test_drop_on_create_loses_the_answer_but_the_job_exists(make_emulator, http):
    base_url = make_emulator(faults={"create": {"script": ["drop"]}})

    with pytest.raises(httpx.RemoteProtocolError):
        _create(http, base_url, prompt="paid once", **{"Idempotency-Key": "k-1"})
    stats = get_stats(base_url)
    assert stats["submissions"] == 1
    (job_id,) = stats["jobs"]

    retried = _create(http, base_url, prompt="paid once", **{"Idempotency-Key": "k-1"})
    assert retried.json()["id"] == job_id
    assert get_stats(base_url)["submissions"] == 1


def test_drop_mid_download_sends_part_of_the_body(make_emulator, http):
    base_url = make_emulator(faults={"content": {"script": ["drop"], "drop_after_bytes": 1000}})
    job = wait_for(http, base_url, _create(http, base_url).json()["id"])
    url = f"{base_url}/videos/{job['id']}/content"

    received = bytearray()
    with pytest.raises(httpx.RemoteProtocolError), http.stream("GET", url, headers=AUTH) as r:
        announced = int(r.headers["content-length"])
        for chunk in r.iter_bytes():
            received += chunk
    assert len(received) == 1000 < announced

    whole = http.get(url, headers=AUTH)  # the next download is whole
    assert len(whole.content) == announced
    assert get_stats(base_url)["faults"]["content"] == {"drop": 1}


def test_drop_on_retrieve_truncates_the_json(make_emulator, http):
    base_url = make_emulator(faults={"retrieve": {"script": ["drop"]}})
    job = _create(http, base_url).json()

    with pytest.raises(httpx.RemoteProtocolError):
        http.get(f"{base_url}/videos/{job['id']}", headers=AUTH)


def test_slow_responses_exceed_a_short_client_timeout(make_emulator):
    base_url = make_emulator(faults={"list": {"script": ["slow"], "slow_seconds": 0.5}})

    with httpx.Client(timeout=0.1, trust_env=False) as impatient, pytest.raises(httpx.ReadTimeout):
        impatient.get(f"{base_url}/videos", headers=AUTH)
    with httpx.Client(timeout=10, trust_env=False) as patient:
        assert patient.get(f"{base_url}/videos", headers=AUTH).status_code == 200
    assert get_stats(base_url)["faults"] == {"list": {"slow": 1}}


@pytest.mark.parametrize(
    ("dialect", "failed_word"), [("openai", "failed"), ("gateway", "failed"), ("seed", "failed")]
)
def test_prompt_targeted_generation_failure(make_emulator, http, dialect, failed_word):
    base_url = make_emulator(
        dialect=dialect, faults={"fail_prompts": {"forbidden": "moderation_blocked"}}
    )
    bad = http.post(
        f"{base_url}/videos", json={"model": "sora-2", "prompt": "a forbidden scene"}, headers=AUTH
    )
    good = http.post(f"{base_url}/videos", json={"model": "sora-2", "prompt": "fine"}, headers=AUTH)

    failed = wait_for(http, base_url, bad.json()["id"])
    assert failed["status"] == failed_word
    assert failed["error"]["code"] == "moderation_blocked"
    assert "moderation" in failed["error"]["message"]
    assert wait_for(http, base_url, good.json()["id"])["status"] in {"completed", "succeeded"}
    assert http.get(f"{base_url}/videos/{failed['id']}/content", headers=AUTH).status_code == 400


def test_failure_by_job_id_and_by_rate(make_emulator, http):
    base_url = make_emulator(latency=0.5, render_scale=0.25)
    job = _create(http, base_url).json()
    set_faults(base_url, fail_ids=[job["id"]], failure_code="generation_failed")
    assert wait_for(http, base_url, job["id"])["error"]["code"] == "generation_failed"

    set_faults(base_url, failure_rate=1.0, failure_code="engine_crashed", failure_message="boom")
    crashed = wait_for(http, base_url, _create(http, base_url).json()["id"])
    assert crashed["error"] == {"code": "engine_crashed", "message": "boom"}


def test_faults_are_reproducible_with_a_seed(make_emulator, http):
    def run() -> list[int]:
        faults = FaultConfig(seed=11, retrieve={"rate_500": 0.3, "rate_503": 0.2}, failure_rate=0.5)
        base_url = make_emulator(faults=faults, latency=0.05, render_scale=0.25)
        jobs = [_create(http, base_url, prompt=f"p{i}").json()["id"] for i in range(6)]
        codes = [
            http.get(f"{base_url}/videos/{jobs[0]}", headers=AUTH).status_code for _ in range(20)
        ]
        set_faults(base_url)  # no more faults: read the outcomes
        outcomes = [wait_for(http, base_url, j)["status"] for j in jobs]
        return codes + [s == "failed" for s in outcomes]

    first, second = run(), run()
    assert first == second
    assert {500, 503, 200} <= set(first[:20])


def test_expired_content_per_dialect(make_emulator, http):
    openai_url = make_emulator()
    job = wait_for(http, openai_url, _create(http, openai_url).json()["id"])
    set_faults(openai_url, expire_ids=[job["id"]])
    expired = http.get(f"{openai_url}/videos/{job['id']}/content", headers=AUTH)
    assert expired.status_code == 410
    assert expired.json()["error"]["code"] == "video_expired"

    gateway_url = make_emulator(dialect="gateway", faults={"expire_prompts": ["old"]})
    created = http.post(
        f"{gateway_url}/videos", json={"model": "kling-v1", "prompt": "old news"}, headers=AUTH
    )
    done = wait_for(http, gateway_url, created.json()["id"])
    proxied = http.get(f"{gateway_url}/videos/{done['id']}/content", headers=AUTH)
    assert proxied.status_code == 502
    assert proxied.json()["error"]["message"] == "Upstream service returned status 403"
    direct = http.get(done["metadata"]["url"])
    assert direct.status_code == 403 and b"AccessDenied" in direct.content


def test_content_expires_after_the_ttl(make_emulator, http):
    base_url = make_emulator(content_ttl=0.3, latency=0.05)
    job = wait_for(http, base_url, _create(http, base_url).json()["id"])
    time.sleep(0.5)

    response = http.get(f"{base_url}/videos/{job['id']}/content", headers=AUTH)
    assert response.status_code == 410
    assert http.get(f"{base_url}/videos/{job['id']}", headers=AUTH).json()["status"] == "completed"


def test_expire_rate_expires_at_completion(make_emulator, http):
    base_url = make_emulator(faults={"expire_rate": 1.0})
    job = wait_for(http, base_url, _create(http, base_url).json()["id"])

    assert job["expires_at"] == job["completed_at"]
    assert http.get(f"{base_url}/videos/{job['id']}/content", headers=AUTH).status_code == 410


def test_invalid_faults_are_refused(emulator):
    with pytest.raises(ValueError, match="rate"):
        set_faults(emulator, create={"rate_429": 0.8, "rate_500": 0.8})
    with pytest.raises(ValueError):
        set_faults(emulator, retrieve={"script": ["teapot"]})


def test_drop_applies_to_error_answers_and_cdn_links_too(make_emulator, http):
    base_url = make_emulator(dialect="gateway", faults={"retrieve": {"script": ["drop"]}})
    with pytest.raises(httpx.RemoteProtocolError):
        http.get(f"{base_url}/videos/task_unknown", headers=AUTH)

    created = http.post(
        f"{base_url}/videos", json={"model": "kling-v1", "prompt": "k"}, headers=AUTH
    )
    done = wait_for(http, base_url, created.json()["id"])
    set_faults(base_url, content={"script": ["drop"], "drop_after_bytes": 10})
    with pytest.raises(httpx.RemoteProtocolError):
        http.get(done["metadata"]["url"])
    assert get_stats(base_url)["faults"] == {"retrieve": {"drop": 1}, "content": {"drop": 1}}
