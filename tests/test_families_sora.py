"""Sora family: what sora-2 / sora-2-pro accept, and the multipart/JSON bodies it sends."""

import base64
import io
import json

import httpx
import pytest
from PIL import Image

from prefect_videogen.exceptions import InvalidRequestError
from prefect_videogen.families import VideoRequest
from prefect_videogen.families.sora import SoraFamily
from prefect_videogen.images import ImageInput

FAMILY = SoraFamily()


def picture(width: int, height: int, fmt: str = "PNG") -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (width, height), (200, 40, 40)).save(buffer, fmt)
    return buffer.getvalue()


def frame(width: int, height: int, fmt: str = "PNG") -> ImageInput:
    return ImageInput.from_bytes(picture(width, height, fmt), filename=f"frame.{fmt.lower()}")


@pytest.mark.parametrize(
    ("kwargs", "seconds", "size"),
    [
        ({}, 4, "720x1280"),
        ({"seconds": 12, "size": "1280x720"}, 12, "1280x720"),
        ({"size": "1280*720"}, 4, "1280x720"),
        ({"model": "sora-2-pro", "seconds": 8, "size": "1792x1024"}, 8, "1792x1024"),
        ({"model": "sora-2-pro", "size": "1024X1792"}, 4, "1024x1792"),
        ({"model": "sora-2-2025-10-06", "size": "1280x720"}, 4, "1280x720"),
        ({"model": "sora-2-2025-12-08"}, 4, "720x1280"),
        ({"model": "sora-2-pro-2025-10-06", "size": "1792x1024"}, 4, "1792x1024"),
        ({"size": "1280x720", "first_frame": frame(1280, 720)}, 4, "1280x720"),
        ({"first_frame": frame(720, 1280, "JPEG")}, 4, "720x1280"),
        ({"first_frame": frame(720, 1280, "WEBP")}, 4, "720x1280"),
        (
            {
                "first_frame": ImageInput.from_url(
                    "data:image/png;base64," + base64.b64encode(picture(720, 1280)).decode()
                )
            },
            4,
            "720x1280",
        ),
        # Unknown snapshot of the family: lenient spec (guide's 1080p, longer clips).
        ({"model": "sora-2-2026-03-01", "seconds": 16, "size": "1920x1080"}, 16, "1920x1080"),
    ],
)
def test_accepts_and_fills_defaults(kwargs, seconds, size):
    request = FAMILY.validate(VideoRequest(prompt="a fox in snow", **{"model": "sora-2", **kwargs}))
    assert (request.seconds, request.size) == (seconds, size)
    assert request.params == {}


@pytest.mark.parametrize(
    ("kwargs", "field", "allowed"),
    [
        ({"seconds": 5}, "seconds", ["4, 8, 12"]),
        ({"seconds": 20}, "seconds", ["4, 8, 12"]),
        ({"size": "1792x1024"}, "size", ["720x1280, 1280x720"]),
        ({"size": "1920x1080", "model": "sora-2-pro"}, "size", ["1024x1792, 1792x1024"]),
        ({"size": "720P"}, "size", ["720x1280"]),
        ({"prompt": ""}, "prompt", ["non-empty", "32000"]),
        ({"prompt": "   "}, "prompt", ["non-empty"]),
        ({"prompt": "x" * 32001}, "prompt", ["32000", "32001"]),
        ({"params": {"seed": 1}}, "params.seed", ["no extra parameters", "'seed'"]),
        (
            {"first_frame": frame(720, 1280), "last_frame": frame(720, 1280)},
            "last_frame",
            ["t2v (prompt only)", "i2v (first_frame)"],
        ),
        ({"last_frame": frame(720, 1280)}, "first_frame", ["needs a first_frame"]),
        ({"first_frame": frame(640, 480)}, "first_frame", ["640x480", "720x1280"]),
        ({"size": "1280x720", "first_frame": frame(720, 1280)}, "first_frame", ["1280x720"]),
        (
            {"first_frame": ImageInput.from_url("https://example.com/cat.png")},
            "first_frame",
            ["from_path", "uploaded file"],
        ),
        (
            {"first_frame": frame(720, 1280, "BMP")},
            "first_frame",
            ["image/bmp", "image/jpeg, image/png, image/webp"],
        ),
        (
            {"first_frame": ImageInput.from_bytes(b"\x89PNG not really")},
            "first_frame",
            ["not a readable image"],
        ),
        ({"metadata": {"when": object()}}, "metadata.when", ["JSON values"]),
        ({"metadata": {"ratio": float("nan")}}, "metadata.ratio", ["finite"]),
        ({"model": "kling-v1"}, "model", ["sora-2, sora-2-pro"]),
        ({"model": " sora-2"}, "model", ["'sora-2'"]),
    ],
)
def test_rejects_with_field_and_allowed_values(kwargs, field, allowed):
    request = VideoRequest(**{"model": "sora-2", "prompt": "a fox", **kwargs})
    with pytest.raises(InvalidRequestError) as caught:
        FAMILY.validate(request)
    assert caught.value.field == field
    assert caught.value.status_code is None
    for text in allowed:
        assert text in str(caught.value)
    if field != "model":
        assert request.model in str(caught.value)


def test_text_to_video_is_json_with_string_seconds():
    request = FAMILY.validate(VideoRequest(model="sora-2", prompt="a fox", seconds=8))
    encoded = FAMILY.encode(request)
    assert encoded.data is None and encoded.files is None
    assert encoded.json == {
        "model": "sora-2",
        "prompt": "a fox",
        "seconds": "8",
        "size": "720x1280",
    }


def test_metadata_rides_along_as_object_in_json_and_string_in_multipart():
    meta = {"user": "u1", "tags": ["a", 1]}
    t2v = FAMILY.encode(FAMILY.validate(VideoRequest(model="sora-2", prompt="p", metadata=meta)))
    assert t2v.json is not None and t2v.json["metadata"] == meta
    i2v = FAMILY.encode(
        FAMILY.validate(
            VideoRequest(model="sora-2", prompt="p", metadata=meta, first_frame=frame(720, 1280))
        )
    )
    assert i2v.data is not None and json.loads(i2v.data["metadata"]) == meta


def test_image_to_video_is_multipart_with_the_file():
    image = frame(1280, 720)
    request = FAMILY.validate(
        VideoRequest(model="sora-2-pro", prompt="a fox", size="1280x720", first_frame=image)
    )
    encoded = FAMILY.encode(request)
    assert encoded.json is None
    assert encoded.data == {
        "model": "sora-2-pro",
        "prompt": "a fox",
        "seconds": "4",
        "size": "1280x720",
    }
    assert encoded.files == [("input_reference", ("frame.png", image.data, "image/png"))]
    # httpx takes the shape as is and sends a real multipart body with the file part.
    sent = httpx.Request("POST", "http://gw/v1/videos", data=encoded.data, files=encoded.files)
    body = sent.read()
    assert sent.headers["content-type"].startswith("multipart/form-data; boundary=")
    assert b'name="input_reference"; filename="frame.png"' in body
    assert image.data in body


def test_data_url_image_is_uploaded_with_a_clean_file_name():
    raw = picture(720, 1280, "JPEG")
    image = ImageInput.from_url("data:image/jpeg;base64," + base64.b64encode(raw).decode())
    encoded = FAMILY.encode(
        FAMILY.validate(VideoRequest(model="sora-2", prompt="p", first_frame=image))
    )
    assert encoded.files == [("input_reference", ("first_frame.jpg", raw, "image/jpeg"))]


def test_equal_intents_get_equal_fingerprints():
    implicit = FAMILY.validate(VideoRequest(model="sora-2", prompt="a fox"))
    explicit = FAMILY.validate(
        VideoRequest(model="sora-2", prompt="a fox", seconds=4, size="720*1280")
    )
    assert implicit.fingerprint() == explicit.fingerprint()
    assert FAMILY.validate(explicit) == explicit
