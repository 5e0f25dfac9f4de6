"""The emulator's `gateway` dialect (new-api as its code behaves) over HTTP, family by family."""

from __future__ import annotations

import base64
import json

import httpx
import pytest
from plugins.emulator_fixtures import AUTH, png_bytes, probe_mp4, wait_for

from prefect_videogen.emulator import get_stats


@pytest.fixture(scope="module")
def gateway():
    from prefect_videogen.emulator import run_emulator

    with run_emulator(dialect="gateway", latency=0.2, fps=4) as base_url:
        yield base_url


@pytest.fixture
def http():
    with httpx.Client(timeout=30.0, trust_env=False) as client:
        yield client


def _post(http, base_url, **kwargs):
    return http.post(f"{base_url}/videos", headers=AUTH, **kwargs)


def _job(gateway, job_id):
    return get_stats(gateway)["jobs"][job_id]


def test_create_answers_the_minimal_task_object(gateway, http):
    response = _post(http, gateway, json={"model": "kling-v1", "prompt": "a cat", "duration": 5})

    assert response.status_code == 200
    body = response.json()
    assert set(body) == {"id", "task_id", "object", "model", "status", "progress", "created_at"}
    assert body["id"] == body["task_id"]
    assert body["id"].startswith("task_") and len(body["id"]) == len("task_") + 32
    assert (body["object"], body["model"], body["status"], body["progress"]) == (
        "video",
        "kling-v1",
        "queued",
        0,
    )
    assert "openai-poll-after-ms" not in response.headers


def test_completed_task_has_metadata_url_and_no_expiry_or_size(gateway, http):
    created = _post(
        http, gateway, json={"model": "kling-v1", "prompt": "a dog", "size": "1280x720"}
    ).json()
    done = wait_for(http, gateway, created["id"])

    assert done["status"] == "completed" and done["progress"] == 100
    assert "expires_at" not in done and "size" not in done
    assert done["seconds"] == "5"
    assert done["completed_at"] >= done["created_at"]
    url = done["metadata"]["url"]
    assert url.startswith(gateway.removesuffix("/v1") + "/files/")
    direct = http.get(url)  # no auth: a CDN-like link
    assert direct.status_code == 200
    assert direct.headers["cache-control"] == "public, max-age=86400"
    assert probe_mp4(direct.content) == (1280, 720, 5.0, 20)
    proxied = http.get(
        f"{gateway}/videos/{done['id']}/content", params={"variant": "thumbnail"}, headers=AUTH
    )
    assert proxied.headers["content-type"] == "video/mp4"  # the gateway ignores `variant`
    assert proxied.content == direct.content
    assert _job(gateway, done["id"])["downloads"] == 2


def test_unfinished_task_content_says_not_completed(gateway, http):
    created = _post(http, gateway, json={"model": "kling-v1", "prompt": "slow"}).json()
    response = http.get(f"{gateway}/videos/{created['id']}/content", headers=AUTH)

    assert response.status_code == 400
    error = response.json()["error"]
    assert error["type"] == "invalid_request_error"
    assert error["message"] in {
        "Task is not completed yet, current status: NOT_START",
        "Task is not completed yet, current status: QUEUED",
        "Task is not completed yet, current status: IN_PROGRESS",
    }


def test_in_progress_task_carries_the_gateway_update_time(make_emulator, http):
    base_url = make_emulator(dialect="gateway", latency=30, queued_fraction=0)
    created = _post(http, base_url, json={"model": "vidu2.0", "prompt": "x", "size": "360p"})
    body = http.get(f"{base_url}/videos/{created.json()['id']}", headers=AUTH).json()

    assert body["status"] == "in_progress"
    assert 1 <= body["progress"] <= 99
    assert "completed_at" in body and "metadata" not in body


def test_unknown_ids(gateway, http):
    retrieve = http.get(f"{gateway}/videos/task_nope", headers=AUTH)
    assert retrieve.status_code == 400
    assert retrieve.json() == {"code": "task_not_exist", "message": "task_not_exist", "data": None}
    content = http.get(f"{gateway}/videos/task_nope/content", headers=AUTH)
    assert content.status_code == 404
    assert content.json() == {
        "error": {"message": "Task not found", "type": "invalid_request_error"}
    }


def test_no_list_or_delete_routes_and_no_405(gateway, http):
    for method, path in (
        ("GET", "/v1/videos"),
        ("DELETE", "/v1/videos/task_x"),
        ("PUT", "/v1/videos/task_x/content"),
        ("GET", "/v1/nothing"),
    ):
        response = http.request(method, gateway.removesuffix("/v1") + path, headers=AUTH)
        assert response.status_code == 404  # gin: no route, and no 405 either
        assert response.json() == {
            "error": {
                "message": f"Invalid URL ({method} {path})",
                "type": "invalid_request_error",
                "param": "",
                "code": "",
            }
        }


def test_new_task_answers_unknown_until_the_gateway_polls_it(make_emulator, http):
    base_url = make_emulator(dialect="gateway", latency=0.6, not_start_seconds=0.3)
    created = _post(http, base_url, json={"model": "kling-v1", "prompt": "a cat"}).json()
    assert created["status"] == "queued"  # the submit answer says queued...

    body = http.get(f"{base_url}/videos/{created['id']}", headers=AUTH).json()
    assert body["status"] == "unknown"  # ...then GET says unknown (NOT_START)
    assert body["progress"] == 0
    assert body["completed_at"] == created["created_at"]  # the task's last update time
    content = http.get(f"{base_url}/videos/{created['id']}/content", headers=AUTH)
    assert content.status_code == 400
    assert content.json()["error"]["message"] == (
        "Task is not completed yet, current status: NOT_START"
    )
    assert wait_for(http, base_url, created["id"])["status"] == "completed"


def test_not_start_window_defaults_to_half_the_queued_phase_and_can_be_off(make_emulator, http):
    from prefect_videogen.emulator import EmulatorConfig

    assert EmulatorConfig(dialect="gateway", latency=4).not_start_window() == 0.4
    assert EmulatorConfig(dialect="openai", latency=4).not_start_window() == 0.0
    base_url = make_emulator(dialect="gateway", latency=5, not_start_seconds=0)
    created = _post(http, base_url, json={"model": "kling-v1", "prompt": "a cat"}).json()
    assert http.get(f"{base_url}/videos/{created['id']}", headers=AUTH).json()["status"] == (
        "queued"
    )


def test_advertised_model_without_an_adaptor_is_invalid_api_platform(make_emulator, http):
    base_url = make_emulator(dialect="gateway", unservable_models=["veo-3.0-generate-001"])
    response = _post(http, base_url, json={"model": "veo-3.0-generate-001", "prompt": "x"})

    assert response.status_code == 400
    assert response.json() == {
        "code": "invalid_api_platform",
        "message": "invalid api platform: 48",
        "data": None,
    }
    assert get_stats(base_url)["submissions"] == 0


def test_content_proxy_ignores_range_and_is_cut_after_its_time_limit(make_emulator, http):
    base_url = make_emulator(
        dialect="gateway",
        not_start_seconds=0,
        pad_content_to=400_000,
        content_rate=200_000,
        content_timeout=0.5,
    )
    created = _post(http, base_url, json={"model": "kling-v1", "prompt": "long"}).json()
    done = wait_for(http, base_url, created["id"])
    content = f"{base_url}/videos/{done['id']}/content"

    ranged = {**AUTH, "Range": "bytes=0-99"}
    with (
        pytest.raises(httpx.RemoteProtocolError),  # cut at 0.5 s: ~100 kB of 400 kB
        http.stream("GET", content, headers=ranged) as response,
    ):
        assert response.status_code == 200  # Range not forwarded: the whole file
        assert response.headers["content-length"] == "400000"
        response.read()
    direct = http.get(done["metadata"]["url"], headers={"Range": "bytes=0-99"})
    assert direct.status_code == 206  # the provider link itself honours Range
    whole = http.get(done["metadata"]["url"], timeout=10)
    assert len(whole.content) == 400_000  # not cut: the limit is the proxy's


def test_auth_error_is_new_api_shaped(gateway, http):
    response = http.get(f"{gateway}/videos/task_x", headers={"Authorization": "Bearer sk-bad"})

    assert response.status_code == 401
    assert response.json()["error"]["type"] == "new_api_error"
    assert "sk-bad" not in response.text


@pytest.mark.parametrize(
    ("body", "status", "code", "message"),
    [
        ({"prompt": "x"}, 400, "missing_model", "model field is required"),
        ({"model": "kling-v1"}, 400, "invalid_request", "prompt is required"),
        (
            {"model": "sora-2", "prompt": "x", "size": "1792x1024"},
            400,
            "invalid_size",
            "sora-2 size is invalid",
        ),
        (
            {"model": "sora-2-pro", "prompt": "x", "size": "1920x1080"},
            400,
            "invalid_size",
            "sora-2-pro size is invalid",
        ),
        (
            {"model": "wan2.5-t2v-preview", "prompt": "x", "size": "1920x1080"},
            500,
            "build_request_failed",
            "invalid size: 1920x1080, example: 1920*1080",
        ),
        (
            {"model": "wan2.2-t2v-plus", "prompt": "x", "size": "1000*1000"},
            400,
            "invalid_size",
            None,
        ),
        ({"model": "sora-2", "prompt": "x", "seconds": "99999"}, 400, "invalid_seconds", None),
        (
            {"model": "kling-v1", "prompt": "x", "metadata": {"aspect_ratio": "4:3"}},
            400,
            "task_failed",
            None,
        ),
    ],
)
def test_gateway_own_refusals(gateway, http, body, status, code, message):
    response = _post(http, gateway, json=body)

    assert response.status_code == status, response.text
    error = response.json()
    assert set(error) == {"code", "message", "data"}
    assert error["code"] == code and error["data"] is None
    if message is not None:
        assert error["message"] == message


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"model": "sora-2", "prompt": "x", "seconds": "5"}, "seconds"),
        (
            {
                "model": "wan2.5-i2v-preview",
                "prompt": "x",
                "size": "1920x1080",
                "metadata": {"input": {"img_url": "data:image/png;base64,AAAA"}},
            },
            "size",
        ),
        ({"model": "vidu2.0", "prompt": "x", "size": "1920x1080"}, "size"),
        ({"model": "viduq1", "prompt": "x", "size": "720p"}, "size"),
    ],
)
def test_upstream_refusals_are_fail_to_fetch_task_with_the_provider_body(
    gateway, http, body, field
):
    response = _post(http, gateway, json=body)

    assert response.status_code == 400, response.text
    error = response.json()
    assert error["code"] == "fail_to_fetch_task"
    upstream = json.loads(error["message"])  # the provider's own body, passed on as text
    assert "message" in upstream or "error" in upstream


def test_sora_through_the_gateway_answers_the_openai_object(gateway, http):
    response = _post(
        http, gateway, data={"model": "sora-2", "prompt": "x", "size": "1280x720", "seconds": "4"}
    )
    body = wait_for(http, gateway, response.json()["id"])

    assert body["id"].startswith("task_")
    assert body["expires_at"] is not None and body["size"] == "1280x720"
    assert "metadata" not in body and "task_id" not in body


def test_wan_t2v_star_size_and_default_duration(gateway, http):
    response = _post(
        http, gateway, data={"model": "wan2.5-t2v-preview", "prompt": "a garden", "size": "832*480"}
    )
    done = wait_for(http, gateway, response.json()["id"])

    assert done["seconds"] == "5"
    assert probe_mp4(http.get(done["metadata"]["url"]).content)[:3] == (832, 480, 5.0)


@pytest.mark.parametrize(
    ("image_size", "expected"), [((1600, 900), (1280, 720)), ((900, 1600), (720, 1280))]
)
def test_wan_i2v_reads_nested_metadata_in_multipart(
    gateway, http, image_server, image_size, expected
):
    url = image_server("wan.png", png_bytes(*image_size))
    response = _post(
        http,
        gateway,
        data={
            "model": "wan2.2-i2v-flash",
            "prompt": "move",
            "seconds": "3",
            "size": "720P",
            "metadata": json.dumps({"input": {"img_url": url}, "parameters": {"watermark": False}}),
        },
    )
    assert response.status_code == 200, response.text
    done = wait_for(http, gateway, response.json()["id"])

    assert probe_mp4(http.get(done["metadata"]["url"]).content)[:3] == (*expected, 3.0)
    job = _job(gateway, done["id"])
    assert job["mode"] == "i2v" and job["request"]["encoding"] == "multipart"


def test_wan_ignores_top_level_img_url_and_uploads(gateway, http, image_server):
    url = image_server("top.png", png_bytes(320, 180))
    response = _post(
        http,
        gateway,
        data={
            "model": "wan2.5-i2v-preview",
            "prompt": "x",
            "metadata": json.dumps({"img_url": url}),
        },
        files={"input_reference": ("a.png", png_bytes(320, 180), "image/png")},
    )

    assert response.status_code == 400
    message = response.json()["message"]
    assert "metadata.input.img_url" in message
    assert "top-level metadata.img_url is ignored" in message
    assert "Uploaded files are not read" in message


def test_wan_kf2v_blends_first_into_last(gateway, http, image_server):
    first = image_server("first.png", png_bytes(1280, 720, (250, 0, 0)))
    last = image_server("last.png", png_bytes(1280, 720, (0, 0, 250)))
    response = _post(
        http,
        gateway,
        json={
            "model": "wan2.2-kf2v-flash",
            "prompt": "red to blue",
            "metadata": {
                "input": {"first_frame_url": first, "last_frame_url": last},
                "parameters": {"resolution": "480P"},
            },
        },
    )
    assert response.status_code == 200, response.text
    done = wait_for(http, gateway, response.json()["id"])

    assert _job(gateway, done["id"])["mode"] == "keyframe"
    assert probe_mp4(http.get(done["metadata"]["url"]).content)[:3] == (832, 480, 5.0)


def test_kling_maps_sizes_reads_image_and_tail_and_duration_quirk(gateway, http):
    image = base64.b64encode(png_bytes(640, 360)).decode()
    cases = [
        ({"size": "1280x720", "duration": 10}, "1280x720", 10, "t2v"),
        ({"size": "1920*1080", "seconds": "10"}, "720x720", 5, "t2v"),  # JSON seconds ignored
        ({"metadata": {"aspect_ratio": "9:16", "mode": "pro"}}, "1080x1920", 5, "t2v"),
        ({"image": image, "size": "1280x720"}, "1280x720", 5, "i2v"),
        (
            {"image": image, "metadata": {"image_tail": image, "aspect_ratio": "16:9"}},
            "1280x720",
            5,
            "keyframe",
        ),
    ]
    for fields, size, seconds, mode in cases:
        response = _post(http, gateway, json={"model": "kling-v1", "prompt": "k", **fields})
        assert response.status_code == 200, (fields, response.text)
        job = _job(gateway, response.json()["id"])
        assert (job["size"], job["seconds"], job["mode"]) == (size, seconds, mode), fields


def test_jimeng_uploads_first_and_last_frames_and_maps_duration(gateway, http):
    response = _post(
        http,
        gateway,
        data={
            "model": "jimeng_vgfm_t2v_l20",
            "prompt": "j",
            "seconds": "10",
            "metadata": json.dumps({"aspect_ratio": "9:16"}),
        },
        files=[
            ("input_reference", ("a.png", png_bytes(360, 640, (200, 0, 0)), "image/png")),
            ("input_reference", ("b.png", png_bytes(360, 640, (0, 200, 0)), "image/png")),
        ],
    )
    assert response.status_code == 200, response.text
    job = _job(gateway, response.json()["id"])
    assert (job["size"], job["seconds"], job["mode"]) == ("720x1280", 10, "keyframe")

    other = _post(
        http, gateway, json={"model": "jimeng_vgfm_t2v_l20", "prompt": "j", "duration": 4}
    )
    assert _job(gateway, other.json()["id"])["seconds"] == 5  # anything but 10 is 121 frames


def test_vidu_size_is_the_resolution_and_images_pick_the_mode(gateway, http):
    one = base64.b64encode(png_bytes(400, 400)).decode()
    response = _post(
        http,
        gateway,
        json={
            "model": "vidu2.0",
            "prompt": "v",
            "size": "720p",
            "duration": 4,
            "images": [f"data:image/png;base64,{one}", f"data:image/png;base64,{one}"],
        },
    )
    job = _job(gateway, response.json()["id"])
    assert (job["size"], job["seconds"], job["mode"]) == ("720x720", 4, "keyframe")

    plain = _post(http, gateway, json={"model": "vidu1.5", "prompt": "v", "size": "540p"})
    assert _job(gateway, plain.json()["id"])["size"] == "960x540"


@pytest.mark.parametrize(
    ("body", "size", "seconds"),
    [
        ({"model": "MiniMax-Hailuo-02", "size": "1920x1080"}, "1920x1080", 6),
        ({"model": "MiniMax-Hailuo-2.3"}, "1366x768", 6),
        ({"model": "veo-3.0-generate-001", "size": "1080x1920"}, "1080x1920", 8),
        (
            {"model": "doubao-seedance-1-0-lite-t2v", "metadata": {"ratio": "1:1", "duration": 3}},
            "720x720",
            3,
        ),
        ({"model": "some-new-model", "size": "640x360", "seconds": "2"}, "640x360", 2),
    ],
)
def test_other_families_sizes_and_durations(gateway, http, body, size, seconds):
    response = _post(http, gateway, json={"prompt": "p", **body})

    assert response.status_code == 200, response.text
    job = _job(gateway, response.json()["id"])
    assert (job["size"], job["seconds"]) == (size, seconds)


def test_remix_only_for_sora_tasks(gateway, http):
    kling = _post(http, gateway, json={"model": "kling-v1", "prompt": "k", "size": "1280x720"})
    done = wait_for(http, gateway, kling.json()["id"])
    refused = http.post(f"{gateway}/videos/{done['id']}/remix", json={"prompt": "x"}, headers=AUTH)
    assert refused.status_code == 400
    assert refused.json()["code"] == "invalid_request"

    sora = _post(http, gateway, data={"model": "sora-2", "prompt": "s", "size": "720x1280"})
    source = wait_for(http, gateway, sora.json()["id"])
    remix = http.post(
        f"{gateway}/videos/{source['id']}/remix", json={"prompt": "again"}, headers=AUTH
    )
    assert remix.status_code == 200
    assert remix.json()["remixed_from_video_id"] == source["id"]
