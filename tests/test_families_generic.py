"""Generic family: any model name, only the checks every model needs, both body forms."""

import base64
import io
import json

import pytest
from PIL import Image

from prefect_videogen.exceptions import InvalidRequestError
from prefect_videogen.families import VideoRequest
from prefect_videogen.families.generic import GenericFamily
from prefect_videogen.images import ImageInput

FAMILY = GenericFamily()
URL = "https://example.com/a.png"


def picture(width: int = 64, height: int = 48, fmt: str = "PNG") -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (width, height), (1, 2, 3)).save(buffer, fmt)
    return buffer.getvalue()


@pytest.mark.parametrize(
    ("kwargs", "seconds", "size"),
    [
        ({}, None, None),
        ({"model": "doubao-seedance-1-0-pro-250528", "seconds": 12}, 12, None),
        ({"size": " 1280x720 "}, None, "1280x720"),
        ({"size": "1920*1080"}, None, "1920*1080"),
        ({"size": "720P"}, None, "720P"),
        ({"size": "1080p"}, None, "1080p"),
        ({"size": "4k"}, None, "4k"),
        ({"size": "16:9"}, None, "16:9"),
        ({"seconds": 3600}, 3600, None),
        ({"first_frame": ImageInput.from_bytes(picture(fmt="BMP"))}, None, None),
        ({"params": {"nested": {"a": [1, 2.5, None, True]}}}, None, None),
    ],
)
def test_accepts_any_model_and_leaves_unset_values_unset(kwargs, seconds, size):
    request = FAMILY.validate(VideoRequest(prompt="a lighthouse", **{"model": "veo-3", **kwargs}))
    assert (request.seconds, request.size) == (seconds, size)


@pytest.mark.parametrize(
    ("kwargs", "field", "allowed"),
    [
        ({"prompt": ""}, "prompt", ["non-empty"]),
        ({"prompt": "x" * 32001}, "prompt", ["at most 32000 characters"]),
        ({"seconds": 0}, "seconds", ["1 to 3600"]),
        ({"seconds": -4}, "seconds", ["1 to 3600"]),
        ({"seconds": 3601}, "seconds", ["1 to 3600"]),
        ({"size": "big"}, "size", ['WxH ("1280x720")', "W*H", "tier", "ratio"]),
        ({"size": "1280x"}, "size", ["WxH"]),
        ({"params": {"when": object()}}, "params.when", ["JSON values"]),
        ({"params": {"list": [1, {2: "x"}]}}, "params.list[1]", ["string keys"]),
        ({"metadata": {"blob": b"bytes"}}, "metadata.blob", ["JSON values"]),
        (
            {"first_frame": ImageInput(url="ftp://example.com/a.png")},
            "first_frame",
            ["http://, https:// or data: URL"],
        ),
        ({"last_frame": ImageInput.from_url(URL)}, "first_frame", ["needs a first_frame"]),
        (
            {"first_frame": ImageInput.from_bytes(picture(fmt="GIF"))},
            "first_frame",
            ["image/jpeg, image/png, image/webp, image/bmp"],
        ),
        (
            {"first_frame": ImageInput.from_url("data:image/png;base64,not-base64!")},
            "first_frame",
            ["data:<type>;base64,<bytes>"],
        ),
        ({"model": ""}, "model", ["a model name"]),
    ],
)
def test_rejects_what_no_model_accepts(kwargs, field, allowed):
    request = VideoRequest(**{"model": "veo-3", "prompt": "a lighthouse", **kwargs})
    with pytest.raises(InvalidRequestError) as caught:
        FAMILY.validate(request)
    assert caught.value.field == field
    for text in allowed:
        assert text in str(caught.value)
    if field != "model":
        assert "veo-3" in str(caught.value)


def encode(**kwargs):
    return FAMILY.encode(
        FAMILY.validate(VideoRequest(**{"model": "veo-3", "prompt": "p", **kwargs}))
    )


def test_json_body_without_images_carries_seconds_both_ways():
    encoded = encode(
        seconds=8,
        size="1280x720",
        params={"negativePrompt": "fog"},
        metadata={"personGeneration": "allow_all", "negativePrompt": "rain"},
    )
    assert encoded.data is None
    assert encoded.json == {
        "model": "veo-3",
        "prompt": "p",
        "seconds": "8",
        "duration": 8,
        "size": "1280x720",
        "metadata": {"negativePrompt": "rain", "personGeneration": "allow_all"},
    }


def test_minimal_json_body_sends_only_what_was_given():
    assert encode().json == {"model": "veo-3", "prompt": "p"}


def test_url_images_go_in_input_reference_and_images():
    encoded = encode(
        first_frame=ImageInput.from_url(URL),
        last_frame=ImageInput.from_url("https://example.com/b.png"),
    )
    assert encoded.json is not None
    assert encoded.json["input_reference"] == URL
    assert encoded.json["images"] == [URL, "https://example.com/b.png"]


def test_image_bytes_are_uploaded_like_the_openai_sdk():
    raw = picture()
    encoded = encode(
        seconds=4,
        size="720x1280",
        first_frame=ImageInput.from_bytes(raw, "in.png"),
        params={"seed": 1},
    )
    assert encoded.json is None
    assert encoded.data == {
        "model": "veo-3",
        "prompt": "p",
        "seconds": "4",
        "size": "720x1280",
        "metadata": '{"seed":1}',
    }
    assert encoded.files == [("input_reference", ("in.png", raw, "image/png"))]


def test_mixed_images_fall_back_to_json_with_a_data_url():
    raw = picture()
    encoded = encode(first_frame=ImageInput.from_bytes(raw), last_frame=ImageInput.from_url(URL))
    assert encoded.json is not None
    assert encoded.json["images"] == [
        "data:image/png;base64," + base64.b64encode(raw).decode(),
        URL,
    ]
    assert json.dumps(encoded.json)  # the whole body is JSON-serializable
