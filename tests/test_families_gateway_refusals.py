"""What a gateway would silently alter is refused before any paid call.

For each case, the body a naive client would send (the generic family's shape, or a raw
metadata key) is posted to the emulator's `gateway` dialect to show what new-api does with
it: the job is accepted and billed, but the image, size or key is gone (the job silently
became text-to-video, or lost its setting). Our family refuses the same request before any
network call, naming the field and how to pass it instead.
"""

from __future__ import annotations

import base64

import httpx
import pytest

from prefect_videogen import VideoGenClient
from prefect_videogen.emulator import get_stats
from prefect_videogen.exceptions import InvalidRequestError
from prefect_videogen.families import VideoRequest
from prefect_videogen.families.generic import GenericFamily
from prefect_videogen.images import ImageInput
from tests.plugins.emulator_fixtures import AUTH, png_bytes

PNG = png_bytes(640, 360)
DATA_URL = "data:image/png;base64," + base64.b64encode(PNG).decode()


@pytest.fixture
def gateway(make_emulator) -> str:
    return make_emulator(dialect="gateway", latency=0.1, fps=1, render_scale=0.25)


def _post_raw(base_url: str, body: dict) -> dict:
    """Post a body as is and return the job's stats (what the provider got)."""
    response = httpx.post(f"{base_url}/videos", json=body, headers=AUTH, timeout=10)
    assert response.status_code == 200, response.text
    return get_stats(base_url)["jobs"][response.json()["id"]]


def _refused(base_url: str, request: VideoRequest) -> InvalidRequestError:
    before = get_stats(base_url)["submissions"]
    with (
        VideoGenClient(base_url, "sk-emulator") as client,
        pytest.raises(InvalidRequestError) as caught,
    ):
        client.create(request)
    assert get_stats(base_url)["submissions"] == before  # nothing was sent
    return caught.value


def test_hailuo_image_outside_metadata_silently_becomes_text_to_video(gateway, image_server):
    url = image_server("cat.png", PNG)
    naive = GenericFamily().encode(
        GenericFamily().validate(
            VideoRequest(
                model="MiniMax-Hailuo-2.3", prompt="p", first_frame=ImageInput.from_url(url)
            )
        )
    )
    stats = _post_raw(gateway, naive.json)
    assert stats["mode"] == "t2v"
    assert set(stats["request"]["extra"]["dropped"]) == {"images", "input_reference"}

    # The Hailuo family sends the same image where the gateway reads it.
    with VideoGenClient(gateway, "sk-emulator") as client:
        job = client.create(
            VideoRequest(
                model="MiniMax-Hailuo-2.3", prompt="p", first_frame=ImageInput.from_url(url)
            )
        )
    assert get_stats(gateway)["jobs"][job.id]["mode"] == "i2v"


def test_veo_http_image_url_silently_becomes_text_to_video(gateway, image_server):
    url = image_server("cat.png", PNG)
    stats = _post_raw(gateway, {"model": "veo-3.0-generate-001", "prompt": "p", "images": [url]})
    assert stats["mode"] == "t2v"
    assert stats["request"]["extra"]["dropped"] == ["images[0]"]

    error = _refused(
        gateway,
        VideoRequest(
            model="veo-3.0-generate-001", prompt="p", first_frame=ImageInput.from_url(url)
        ),
    )
    assert error.field == "first_frame"
    assert "data: URL" in str(error) and "text-to-video" in str(error)

    # The bytes as a data: URL reach Veo.
    with VideoGenClient(gateway, "sk-emulator") as client:
        job = client.create(
            VideoRequest(
                model="veo-3.0-generate-001",
                prompt="p",
                first_frame=ImageInput.from_url(DATA_URL),
            )
        )
    assert get_stats(gateway)["jobs"][job.id]["mode"] == "i2v"


def test_seedance_top_level_size_is_ignored_so_it_travels_in_metadata(gateway):
    stats = _post_raw(
        gateway,
        {"model": "doubao-seedance-1-0-pro-250528", "prompt": "p", "size": "720x1280"},
    )
    assert stats["size"] != "720x1280"  # the gateway ignored it
    assert stats["request"]["extra"]["dropped"] == ["size"]

    with VideoGenClient(gateway, "sk-emulator") as client:
        job = client.create(
            VideoRequest(
                model="doubao-seedance-1-0-pro-250528", prompt="p", size="720x1280", seconds=2
            )
        )
    assert get_stats(gateway)["jobs"][job.id]["size"] == "720x1280"


def test_kling_metadata_outside_its_struct_is_dropped_and_refused(gateway):
    stats = _post_raw(
        gateway,
        {"model": "kling-v2-6", "prompt": "p", "metadata": {"sound": "on", "multi_shot": True}},
    )
    assert stats["request"]["extra"]["dropped"] == ["metadata.multi_shot", "metadata.sound"]
    assert stats["request"]["extra"]["cfg_scale"] == 0.5  # always sent by the gateway

    error = _refused(
        gateway, VideoRequest(model="kling-v2-6", prompt="p", metadata={"sound": "on"})
    )
    assert error.field == "metadata.sound"
    assert "dropped silently" in str(error)
    error = _refused(gateway, VideoRequest(model="kling-v2-6", prompt="p", params={"sound": "on"}))
    assert error.field == "params.sound"
    assert "no sound field" in str(error)


def test_wan_parameters_outside_ali_video_parameters_are_dropped_and_refused(gateway):
    stats = _post_raw(
        gateway,
        {
            "model": "wan2.7-t2v",
            "prompt": "p",
            "size": "1280*720",
            "metadata": {"parameters": {"ratio": "9:16"}},
        },
    )
    assert stats["request"]["extra"]["dropped"] == ["metadata.parameters.ratio"]

    error = _refused(
        gateway,
        VideoRequest(model="wan2.7-t2v", prompt="p", metadata={"parameters": {"ratio": "9:16"}}),
    )
    assert error.field == "metadata.parameters.ratio"
    assert "dropped silently" in str(error) and "resolution" in str(error)


def test_vidu_aspect_ratio_in_metadata_is_dropped_and_refused(gateway):
    stats = _post_raw(
        gateway, {"model": "viduq2", "prompt": "p", "metadata": {"aspect_ratio": "9:16"}}
    )
    assert stats["request"]["extra"]["dropped"] == ["metadata.aspect_ratio"]
    assert stats["size"] == "1920x1080"  # still 16:9

    error = _refused(
        gateway, VideoRequest(model="viduq2", prompt="p", metadata={"aspect_ratio": "9:16"})
    )
    assert error.field == "metadata.aspect_ratio"
    assert "no aspect_ratio" in str(error)


@pytest.mark.parametrize("dialect", ["openai", "seed"])
def test_other_dialects_refuse_what_the_gateway_drops(make_emulator, dialect):
    base_url = make_emulator(dialect=dialect)
    response = httpx.post(
        f"{base_url}/videos",
        json={"model": "veo-3.0-generate-001", "prompt": "p", "images": ["http://127.0.0.1/x.png"]},
        headers=AUTH,
        timeout=10,
    )
    assert response.status_code == 400
    assert "images[0]" in response.text


def test_an_image_to_video_hailuo_model_without_its_image_fails_at_the_provider(gateway):
    response = httpx.post(
        f"{gateway}/videos",
        json={"model": "MiniMax-Hailuo-2.3-Fast", "prompt": "p", "images": [DATA_URL]},
        headers=AUTH,
        timeout=10,
    )
    assert response.status_code == 400
    assert "first_frame_image" in response.json()["message"]
