"""The emulator's `openai` dialect over real HTTP, and the official openai SDK against it."""

from __future__ import annotations

import io
import json
import warnings

import httpx
import pytest
from openai import OpenAI
from PIL import Image
from plugins.emulator_fixtures import AUTH, png_bytes, probe_mp4, wait_for

from prefect_videogen.emulator import EmulatorConfig, get_stats, reset

VIDEO_KEYS = {
    "id",
    "object",
    "model",
    "status",
    "progress",
    "created_at",
    "completed_at",
    "expires_at",
    "prompt",
    "size",
    "seconds",
    "remixed_from_video_id",
    "error",
}


@pytest.fixture
def http():
    with httpx.Client(timeout=30.0, trust_env=False) as client:
        yield client


def _create(http, base_url, **fields):
    body = {"prompt": "a red fox in snow", "size": "1280x720", "seconds": "4", **fields}
    response = http.post(f"{base_url}/videos", data=body, headers=AUTH)
    assert response.status_code == 200, response.text
    return response.json()


# --------------------------------------------------------------------------- SDK acceptance


def test_openai_sdk_create_and_poll_and_download(emulator, tmp_path):
    client = OpenAI(base_url=emulator, api_key="sk-emulator", max_retries=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        video = client.videos.create_and_poll(
            prompt="a lighthouse at dusk", model="sora-2", size="1280x720", seconds="4"
        )
        assert video.status == "completed"
        assert (video.size, video.seconds, video.progress) == ("1280x720", "4", 100)
        content = client.videos.download_content(video.id)
        target = tmp_path / "video.mp4"
        content.write_to_file(target)
        thumbnail = client.videos.download_content(video.id, variant="thumbnail")

    assert probe_mp4(target.read_bytes())[:3] == (1280, 720, 4.0)
    assert Image.open(io.BytesIO(thumbnail.content)).format == "WEBP"
    stats = get_stats(emulator)["jobs"][video.id]
    assert stats["submissions"] == 1
    assert stats["polls"] >= 1
    assert stats["sha256"] == __import__("hashlib").sha256(target.read_bytes()).hexdigest()


def test_openai_sdk_input_reference_upload_and_list_and_delete(emulator):
    client = OpenAI(base_url=emulator, api_key="sk-emulator", max_retries=0)
    image = png_bytes(720, 1280, (30, 160, 90))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        video = client.videos.create_and_poll(
            prompt="make it move",
            size="720x1280",
            input_reference=("first.png", image, "image/png"),
        )
        ids = [v.id for v in client.videos.list(limit=100)]
        deleted = client.videos.delete(video.id)

    assert video.status == "completed"
    assert video.id in ids
    assert (deleted.id, deleted.deleted) == (video.id, True)
    request = get_stats(emulator)["jobs"].get(video.id)
    assert request is None  # deleted jobs are gone


# --------------------------------------------------------------------------- endpoints


def test_create_answers_the_13_key_object_with_a_poll_hint(emulator, http):
    response = http.post(
        f"{emulator}/videos",
        data={"prompt": "a fox", "model": "sora-2", "size": "720x1280", "seconds": "8"},
        headers=AUTH,
    )

    assert response.status_code == 200
    body = response.json()
    assert set(body) == VIDEO_KEYS
    assert body["id"].startswith("video_") and len(body["id"]) == len("video_") + 48
    assert body["object"] == "video"
    assert (body["status"], body["progress"]) == ("queued", 0)
    assert (body["size"], body["seconds"], body["prompt"]) == ("720x1280", "8", "a fox")
    assert body["completed_at"] is None and body["expires_at"] is None and body["error"] is None
    assert response.headers["openai-poll-after-ms"] == "50"


def test_json_create_with_data_url_reference(emulator, http):
    image = png_bytes(1280, 720, (10, 10, 200))
    data_url = "data:image/png;base64," + __import__("base64").b64encode(image).decode()
    response = http.post(
        f"{emulator}/videos",
        json={
            "prompt": "the blue image moves",
            "size": "1280x720",
            "seconds": "4",
            "input_reference": {"image_url": data_url},
        },
        headers=AUTH,
    )
    assert response.status_code == 200, response.text
    job = wait_for(http, emulator, response.json()["id"])

    assert job["status"] == "completed"
    stats = get_stats(emulator)["jobs"][job["id"]]
    assert stats["mode"] == "i2v"
    assert stats["request"]["encoding"] == "json"
    assert stats["request"]["images"][0]["width"] == 1280


def test_retrieve_progresses_and_completes(emulator, http):
    job = _create(http, emulator)
    seen = []
    while True:
        response = http.get(f"{emulator}/videos/{job['id']}", headers=AUTH)
        body = response.json()
        seen.append(body["status"])
        if body["status"] == "completed":
            assert "openai-poll-after-ms" not in response.headers
            break
        assert response.headers["openai-poll-after-ms"] == "50"
        assert 0 <= body["progress"] < 100

    assert set(body) == VIDEO_KEYS
    assert body["progress"] == 100
    assert body["completed_at"] >= body["created_at"]
    assert body["expires_at"] == body["completed_at"] + 3600
    assert seen.index("completed") == len(seen) - 1


def test_unknown_id_is_404_in_the_openai_envelope(emulator, http):
    for method, path in [
        ("GET", "/videos/video_nope"),
        ("GET", "/videos/video_nope/content"),
        ("DELETE", "/videos/video_nope"),
        ("POST", "/videos/video_nope/remix"),
    ]:
        response = http.request(method, f"{emulator}{path}", headers=AUTH, json={"prompt": "x"})
        assert response.status_code == 404, path
        error = response.json()["error"]
        assert set(error) == {"message", "type", "param", "code"}
        assert error["code"] == "video_not_found"


def test_wrong_or_missing_key_is_401_and_the_key_is_not_echoed(emulator, http):
    wrong = http.get(f"{emulator}/videos", headers={"Authorization": "Bearer sk-wrong-secret"})
    missing = http.post(f"{emulator}/videos", json={"prompt": "x"})

    for response in (wrong, missing):
        assert response.status_code == 401
        assert response.json()["error"]["code"] == "invalid_api_key"
        assert "sk-wrong-secret" not in response.text and "sk-emulator" not in response.text


def test_list_pages_with_after_limit_and_order(make_emulator, http):
    base_url = make_emulator()
    ids = [_create(http, base_url, prompt=f"clip {i}")["id"] for i in range(5)]

    first = http.get(f"{base_url}/videos", params={"limit": 2, "order": "asc"}, headers=AUTH)
    page = first.json()
    assert page["object"] == "list"
    assert [v["id"] for v in page["data"]] == ids[:2]
    assert (page["first_id"], page["last_id"], page["has_more"]) == (ids[0], ids[1], True)
    rest = http.get(
        f"{base_url}/videos", params={"limit": 10, "order": "asc", "after": ids[1]}, headers=AUTH
    ).json()
    assert [v["id"] for v in rest["data"]] == ids[2:]
    assert rest["has_more"] is False
    newest = http.get(f"{base_url}/videos", headers=AUTH).json()
    assert [v["id"] for v in newest["data"]] == ids[::-1]
    assert set(newest["data"][0]) == VIDEO_KEYS
    bad = http.get(f"{base_url}/videos", params={"limit": 101}, headers=AUTH)
    assert bad.status_code == 400 and bad.json()["error"]["param"] == "limit"
    empty = http.get(f"{base_url}/videos", params={"limit": 0}, headers=AUTH).json()
    assert empty["data"] == [] and empty["first_id"] is None and empty["has_more"] is True


def test_delete_finished_and_running_jobs(emulator, http):
    job = _create(http, emulator, prompt="delete me")
    wait_for(http, emulator, job["id"])
    deleted = http.delete(f"{emulator}/videos/{job['id']}", headers=AUTH)
    assert deleted.json() == {"id": job["id"], "object": "video.deleted", "deleted": True}
    assert http.get(f"{emulator}/videos/{job['id']}", headers=AUTH).status_code == 404
    assert http.get(f"{emulator}/videos/{job['id']}/content", headers=AUTH).status_code == 404
    assert http.delete(f"{emulator}/videos/{job['id']}", headers=AUTH).status_code == 404

    running = _create(http, emulator, prompt="cancel me")  # deleting a running job cancels it
    cancelled = http.delete(f"{emulator}/videos/{running['id']}", headers=AUTH)
    assert cancelled.status_code == 200
    assert running["id"] not in get_stats(emulator)["jobs"]


def test_remix_of_a_completed_video(emulator, http):
    source = _create(http, emulator, prompt="original", size="720x1280")
    early = http.post(f"{emulator}/videos/{source['id']}/remix", json={"prompt": "x"}, headers=AUTH)
    assert early.status_code == 400 and early.json()["error"]["code"] == "invalid_video_state"
    wait_for(http, emulator, source["id"])

    response = http.post(
        f"{emulator}/videos/{source['id']}/remix", json={"prompt": "now at night"}, headers=AUTH
    )
    assert response.status_code == 200
    remix = wait_for(http, emulator, response.json()["id"])
    assert remix["remixed_from_video_id"] == source["id"]
    assert (remix["size"], remix["seconds"], remix["prompt"]) == ("720x1280", "4", "now at night")
    video = http.get(f"{emulator}/videos/{remix['id']}/content", headers=AUTH).content
    assert probe_mp4(video)[:3] == (720, 1280, 4.0)
    missing = http.post(f"{emulator}/videos/{source['id']}/remix", json={}, headers=AUTH)
    assert missing.status_code == 400 and missing.json()["error"]["param"] == "prompt"


def test_content_variants_headers_and_range(emulator, http):
    job = wait_for(http, emulator, _create(http, emulator, prompt="variants", seconds="4")["id"])
    url = f"{emulator}/videos/{job['id']}/content"

    video = http.get(url, headers=AUTH)
    assert video.headers["content-type"] == "video/mp4"
    assert video.headers["accept-ranges"] == "bytes"
    assert int(video.headers["content-length"]) == len(video.content)
    assert video.headers["content-disposition"] == f'attachment; filename="{job["id"]}.mp4"'
    assert probe_mp4(video.content) == (1280, 720, 4.0, 16)

    part = http.get(url, headers={**AUTH, "Range": "bytes=100-199"})
    assert part.status_code == 206
    assert part.headers["content-range"] == f"bytes 100-199/{len(video.content)}"
    assert part.content == video.content[100:200]
    tail = http.get(url, headers={**AUTH, "Range": "bytes=-50"})
    assert tail.content == video.content[-50:]
    resume = http.get(url, headers={**AUTH, "Range": f"bytes={len(video.content) - 10}-"})
    assert resume.content == video.content[-10:]
    beyond = http.get(url, headers={**AUTH, "Range": f"bytes={len(video.content)}-"})
    assert beyond.status_code == 416
    stale = http.get(url, headers={**AUTH, "Range": "bytes=0-9", "If-Range": '"other"'})
    assert stale.status_code == 200 and stale.content == video.content

    thumbnail = http.get(url, params={"variant": "thumbnail"}, headers=AUTH)
    assert thumbnail.headers["content-type"] == "image/webp"
    assert Image.open(io.BytesIO(thumbnail.content)).size == (1280, 720)
    sheet = http.get(url, params={"variant": "spritesheet"}, headers=AUTH)
    assert sheet.headers["content-type"] == "image/jpeg"
    assert Image.open(io.BytesIO(sheet.content)).format == "JPEG"
    bad = http.get(url, params={"variant": "gif"}, headers=AUTH)
    assert bad.status_code == 400 and bad.json()["error"]["param"] == "variant"

    stats = get_stats(emulator)["jobs"][job["id"]]
    assert (
        stats["content"]["thumbnail"] == __import__("hashlib").sha256(thumbnail.content).hexdigest()
    )


def test_content_of_an_unfinished_job_is_refused(emulator, http):
    job = _create(http, emulator, prompt="not yet")
    response = http.get(f"{emulator}/videos/{job['id']}/content", headers=AUTH)

    assert response.status_code == 400
    assert response.json()["error"]["code"] == "video_not_ready"


def test_idempotency_key_returns_the_same_job_without_a_new_submission(make_emulator, http):
    base_url = make_emulator()
    headers = {**AUTH, "Idempotency-Key": "order-42"}
    body = {"prompt": "once only", "size": "720x1280"}

    first = http.post(f"{base_url}/videos", json=body, headers=headers).json()
    again = http.post(f"{base_url}/videos", json=body, headers=headers).json()
    changed = http.post(f"{base_url}/videos", json={**body, "prompt": "other"}, headers=headers)

    assert again["id"] == first["id"]
    assert changed.status_code == 400
    assert changed.json()["error"]["code"] == "idempotency_key_reused"
    stats = get_stats(base_url)
    assert stats["submissions"] == 1
    assert stats["idempotent_replays"] == 1
    assert stats["jobs"][first["id"]]["idempotent_replays"] == 1
    assert stats["jobs"][first["id"]]["request"]["idempotency_key"] == "order-42"


def test_stats_count_submissions_polls_and_downloads_and_reset(make_emulator, http):
    base_url = make_emulator()
    job = _create(http, base_url, prompt="counted")
    done = wait_for(http, base_url, job["id"])
    http.get(f"{base_url}/videos/{job['id']}/content", headers=AUTH)

    stats = get_stats(base_url)
    entry = stats["jobs"][job["id"]]
    assert stats["submissions"] == 1 and entry["submissions"] == 1
    assert stats["polls"] == entry["polls"] >= 1
    assert stats["downloads"] == entry["downloads"] == 1
    assert entry["status"] == done["status"] == "completed"
    assert entry["model"] == "sora-2"
    assert len(entry["sha256"]) == 64
    assert entry["request"]["prompt"] == "counted"

    reset(base_url)
    assert get_stats(base_url)["submissions"] == 0
    assert http.get(f"{base_url}/videos/{job['id']}", headers=AUTH).status_code == 404


@pytest.mark.parametrize(
    ("fields", "param", "code"),
    [
        ({"size": "1920x1080"}, "size", "invalid_size"),
        ({"model": "sora-2-pro", "size": "640x480"}, "size", "invalid_size"),
        ({"seconds": "5"}, "seconds", "invalid_value"),
        ({"seconds": "four"}, "seconds", "invalid_value"),
        ({"prompt": ""}, "prompt", "missing_required_parameter"),
        ({"metadata": "{not json"}, "metadata", "invalid_metadata"),
    ],
)
def test_sora_rules_are_400_with_param_and_code(emulator, http, fields, param, code):
    body = {"prompt": "x", "model": "sora-2", "size": "720x1280", "seconds": "4", **fields}
    response = http.post(f"{emulator}/videos", data=body, headers=AUTH)

    assert response.status_code == 400, response.text
    error = response.json()["error"]
    assert (error["param"], error["code"], error["type"]) == (param, code, "invalid_request_error")


def test_sora_pro_accepts_large_sizes(emulator, http):
    job = _create(http, emulator, model="sora-2-pro", size="1024x1792", seconds="4")
    assert job["size"] == "1024x1792"


def test_sora_reference_must_match_the_size(emulator, http):
    response = http.post(
        f"{emulator}/videos",
        data={"prompt": "x", "size": "720x1280"},
        files={"input_reference": ("ref.png", png_bytes(640, 480), "image/png")},
        headers=AUTH,
    )

    assert response.status_code == 400
    error = response.json()["error"]
    assert error["message"] == "Inpaint image must match the requested width and height"
    assert error["param"] == "input_reference"


def test_image_urls_only_from_loopback_hosts(emulator, http, image_server):
    remote = http.post(
        f"{emulator}/videos",
        json={"prompt": "x", "input_reference": {"image_url": "https://example.com/cat.png"}},
        headers=AUTH,
    )
    assert remote.status_code == 400
    error = remote.json()["error"]
    assert error["code"] == "image_url_not_allowed" and error["param"] == "input_reference"
    assert "127.0.0.0/8" in error["message"] and "example.com" in error["message"]

    url = image_server("ref.png", png_bytes(720, 1280))
    local = http.post(
        f"{emulator}/videos",
        json={"prompt": "x", "size": "720x1280", "input_reference": {"image_url": url}},
        headers=AUTH,
    )
    assert local.status_code == 200, local.text
    assert get_stats(emulator)["jobs"][local.json()["id"]]["mode"] == "i2v"

    missing = http.post(
        f"{emulator}/videos",
        json={"prompt": "x", "input_reference": {"image_url": url + ".missing"}},
        headers=AUTH,
    )
    assert missing.status_code == 400 and missing.json()["error"]["code"] == "image_fetch_failed"


def test_oversized_and_undecodable_images_are_refused(make_emulator, http):
    base_url = make_emulator(max_image_bytes=1000)
    big = http.post(
        f"{base_url}/videos",
        data={"prompt": "x"},
        files={"input_reference": ("big.png", b"\x89PNG" + b"0" * 5000, "image/png")},
        headers=AUTH,
    )
    assert big.status_code == 413
    assert big.json()["error"]["param"] == "input_reference"

    junk = http.post(
        f"{base_url}/videos",
        data={"prompt": "x"},
        files={"input_reference": ("junk.png", b"not an image", "image/png")},
        headers=AUTH,
    )
    assert junk.status_code == 400 and junk.json()["error"]["code"] == "invalid_image"


def test_control_endpoints(emulator, http):
    root = emulator.removesuffix("/v1")
    assert http.get(f"{root}/emulator/health").json() == {"ok": True, "dialect": "openai"}
    config = http.get(f"{root}/emulator/config").json()
    assert config["auth"] is True and "api_key" not in config
    assert "sk-emulator" not in json.dumps(config)
    bad = http.post(f"{root}/emulator/faults", json={"create": {"rate_429": 2}})
    assert bad.status_code == 422
    assert "sk-emulator" not in repr(EmulatorConfig())
    assert "sk-x-secret" not in repr(EmulatorConfig(api_key="sk-x-secret"))


def test_padded_content_downloads_whole_and_matches_the_recorded_hash(make_emulator, http):
    base_url = make_emulator(pad_content_to=2 * 1024 * 1024 + 5)
    job = wait_for(http, base_url, _create(http, base_url, prompt="padded")["id"])

    data = http.get(f"{base_url}/videos/{job['id']}/content", headers=AUTH).content
    assert len(data) == 2 * 1024 * 1024 + 5
    assert probe_mp4(data)[:3] == (1280, 720, 4.0)
    recorded = get_stats(base_url)["jobs"][job["id"]]
    assert recorded["sha256"] == __import__("hashlib").sha256(data).hexdigest()
    assert recorded["bytes"]["video"] == len(data)


def test_render_scale_shrinks_frames_but_not_the_job(make_emulator, http):
    base_url = make_emulator(render_scale=0.25)
    job = wait_for(http, base_url, _create(http, base_url, prompt="small")["id"])

    assert job["size"] == "1280x720"
    data = http.get(f"{base_url}/videos/{job['id']}/content", headers=AUTH).content
    assert probe_mp4(data)[:3] == (320, 180, 4.0)


def test_head_request_gives_headers_without_counting_a_download(make_emulator, http):
    base_url = make_emulator()
    job = wait_for(http, base_url, _create(http, base_url, prompt="head")["id"])

    head = http.head(f"{base_url}/videos/{job['id']}/content", headers=AUTH)
    assert head.status_code == 200 and int(head.headers["content-length"]) > 0
    assert head.content == b""
    assert get_stats(base_url)["jobs"][job["id"]]["downloads"] == 0


@pytest.mark.parametrize(
    ("method", "path", "allow"),
    [
        ("PUT", "/v1/videos", {"GET", "HEAD", "POST"}),
        ("POST", "/v1/videos/video_x", {"GET", "HEAD", "DELETE"}),
        ("DELETE", "/v1/videos/video_x/content", {"GET", "HEAD"}),
    ],
)
def test_405_lists_every_method_of_the_path(emulator, http, method, path, allow):
    response = http.request(method, emulator.removesuffix("/v1") + path, headers=AUTH)

    assert response.status_code == 405
    assert {m.strip() for m in response.headers["allow"].split(",")} == allow
    assert response.json()["error"]["code"] == "method_not_allowed"


def test_unknown_path_is_openai_invalid_url(emulator, http):
    response = http.get(emulator + "/videoz", headers=AUTH)

    assert response.status_code == 404
    assert response.json()["error"]["message"] == "Invalid URL (GET /v1/videoz)"
