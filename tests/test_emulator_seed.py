"""The emulator's `seed` dialect (the seed document's shape) over real HTTP."""

from __future__ import annotations

import httpx
import pytest
from plugins.emulator_fixtures import AUTH, probe_mp4, wait_for


@pytest.fixture(scope="module")
def seed():
    from prefect_videogen.emulator import run_emulator

    with run_emulator(dialect="seed", latency=0.2, fps=4) as base_url:
        yield base_url


@pytest.fixture
def http():
    with httpx.Client(timeout=30.0, trust_env=False) as client:
        yield client


def test_create_is_201_processing(seed, http):
    response = http.post(
        f"{seed}/videos",
        data={"prompt": "a fox", "size": "720x1280", "seconds": "4"},
        headers=AUTH,
    )

    assert response.status_code == 201
    body = response.json()
    assert set(body) == {"id", "object", "model", "created_at", "status", "progress"}
    assert (body["status"], body["progress"], body["model"]) == ("processing", 0, "sora-2")


def test_succeeded_job_has_url_quality_and_expiry(seed, http):
    created = http.post(
        f"{seed}/videos",
        json={"prompt": "a fox", "size": "1280x720", "seconds": "4"},
        headers=AUTH,
    ).json()
    done = wait_for(http, seed, created["id"])

    assert done["status"] == "succeeded" and done["progress"] == 100
    assert done["quality"] == "standard"
    assert (done["size"], done["seconds"]) == ("1280x720", "4")
    assert done["expires_at"] > done["created_at"]
    assert done["remixed_from_video_id"] is None and done["error"] is None
    assert probe_mp4(http.get(done["url"]).content)[:3] == (1280, 720, 4.0)
    content = http.get(
        f"{seed}/videos/{done['id']}/content", params={"variant": "spritesheet"}, headers=AUTH
    )
    assert content.headers["content-type"] == "image/jpeg"


def test_processing_job_has_no_url(seed, http):
    created = http.post(f"{seed}/videos", json={"prompt": "wait"}, headers=AUTH).json()
    body = http.get(f"{seed}/videos/{created['id']}", headers=AUTH).json()

    assert body["status"] == "processing"
    assert "url" not in body and body["expires_at"] is None
    content = http.get(f"{seed}/videos/{created['id']}/content", headers=AUTH)
    assert content.status_code == 400
    assert "processing" in content.json()["error"]["message"]


def test_errors_are_message_and_type(seed, http):
    missing = http.get(f"{seed}/videos/video_nope", headers=AUTH)
    assert missing.status_code == 404
    assert missing.json()["error"]["type"] == "invalid_request_error"
    bad = http.post(f"{seed}/videos", json={"prompt": "x", "size": "1x1"}, headers=AUTH)
    assert bad.status_code == 400
    assert set(bad.json()["error"]) == {"message", "type", "code"}
    unauthorized = http.get(f"{seed}/videos/video_nope")
    assert unauthorized.status_code == 401


def test_list_and_delete_use_seed_objects(seed, http):
    created = http.post(f"{seed}/videos", json={"prompt": "listed"}, headers=AUTH).json()
    wait_for(http, seed, created["id"])
    page = http.get(f"{seed}/videos", params={"limit": 100}, headers=AUTH).json()
    listed = {v["id"]: v for v in page["data"]}

    assert listed[created["id"]]["status"] == "succeeded"
    deleted = http.delete(f"{seed}/videos/{created['id']}", headers=AUTH).json()
    assert deleted["deleted"] is True


def test_remix_in_the_seed_shape(seed, http):
    source = http.post(
        f"{seed}/videos", json={"prompt": "first", "size": "720x1280"}, headers=AUTH
    ).json()
    wait_for(http, seed, source["id"])
    response = http.post(
        f"{seed}/videos/{source['id']}/remix", json={"prompt": "second"}, headers=AUTH
    )

    assert response.status_code == 201
    remix = wait_for(http, seed, response.json()["id"])
    assert remix["remixed_from_video_id"] == source["id"]
    assert remix["status"] == "succeeded" and remix["size"] == "720x1280"
