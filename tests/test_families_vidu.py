"""Vidu family: resolution tiers, duration/size pairs, data-URL images in images[]."""

import base64
import io

import pytest
from PIL import Image

from prefect_videogen.exceptions import InvalidRequestError
from prefect_videogen.families import VideoRequest
from prefect_videogen.families.vidu import ViduFamily
from prefect_videogen.images import ImageInput

FAMILY = ViduFamily()
URL = "https://example.com/start.webp"


def picture(width: int, height: int, fmt: str = "PNG") -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (width, height), (90, 10, 160)).save(buffer, fmt)
    return buffer.getvalue()


def frame(width: int = 320, height: int = 180, fmt: str = "PNG") -> ImageInput:
    return ImageInput.from_bytes(picture(width, height, fmt), filename=f"frame.{fmt.lower()}")


@pytest.mark.parametrize(
    ("kwargs", "seconds", "size"),
    [
        ({}, 5, "1080p"),
        ({"size": "1920x1080"}, 5, "1080p"),
        ({"size": "1080P"}, 5, "1080p"),
        ({"size": "1080"}, 5, "1080p"),
        ({"first_frame": frame(), "size": "1080x1920"}, 5, "1080p"),  # the image sets the shape
        ({"first_frame": frame(fmt="WEBP"), "last_frame": frame(fmt="JPEG")}, 5, "1080p"),
        ({"first_frame": frame(800, 200)}, 5, "1080p"),  # 4:1 is the limit, allowed
        ({"model": "viduq2", "seconds": 7, "size": "540p"}, 7, "540p"),
        ({"model": "viduq2"}, 5, "720p"),
        ({"model": "vidu2.0", "first_frame": frame()}, 4, "720p"),
        ({"model": "vidu2.0", "first_frame": frame(), "size": "360p"}, 4, "360p"),
        ({"model": "vidu2.0", "first_frame": frame(), "seconds": 8}, 8, "720p"),
        ({"model": "vidu1.5", "seconds": 8, "size": "1280x720"}, 8, "720p"),
        ({"model": "viduq4-pro", "seconds": 12}, 12, "1080p"),  # newer model: lenient
    ],
)
def test_accepts_and_writes_size_as_a_tier(kwargs, seconds, size):
    request = FAMILY.validate(VideoRequest(prompt="waves", **{"model": "viduq1", **kwargs}))
    assert (request.seconds, request.size) == (seconds, size)
    assert request.params == {"movement_amplitude": "auto", "bgm": False}


@pytest.mark.parametrize(
    ("kwargs", "field", "allowed"),
    [
        ({"seconds": 4}, "seconds", ["allowed: 5"]),
        ({"size": "720p"}, "size", ["allowed: 1080p"]),
        ({"size": "1080x1920"}, "size", ["16:9", "1080p"]),
        ({"size": "1080x1080"}, "size", ["16:9"]),
        ({"size": "big"}, "size", ["1080p"]),
        (
            {"model": "vidu2.0", "first_frame": frame(), "seconds": 8, "size": "1080p"},
            "size",
            ["allowed: 720p", "8 s allows only these"],
        ),
        ({"model": "vidu2.0", "first_frame": frame(), "seconds": 5}, "seconds", ["4, 8"]),
        ({"model": "vidu2.0"}, "first_frame", ["i2v (first_frame)"]),
        ({"model": "viduq2", "seconds": 11}, "seconds", ["1, 2, 3, 4, 5, 6, 7, 8, 9, 10"]),
        ({"model": "viduq2", "size": "360p"}, "size", ["540p, 720p, 1080p"]),
        ({"prompt": "p" * 1501}, "prompt", ["at most 1500 characters"]),
        (
            {"params": {"movement_amplitude": "huge"}},
            "params.movement_amplitude",
            ["one of: auto, small, medium, large"],
        ),
        ({"params": {"bgm": "sometimes"}}, "params.bgm", ["true or false"]),
        ({"params": {"seed": -1}}, "params.seed", ["from 0 to 2147483647"]),
        (
            {"params": {"aspect_ratio": "9:16"}},
            "params.aspect_ratio",
            ["seed, movement_amplitude, bgm, callback_url"],
        ),
        ({"first_frame": frame(1000, 200)}, "first_frame", ["between 1:4 and 4:1"]),
        ({"first_frame": frame(fmt="BMP")}, "first_frame", ["image/png, image/jpeg, image/webp"]),
        (
            {"first_frame": ImageInput.from_bytes(picture(64, 64) + b"\0" * (16 * 1024 * 1024))},
            "first_frame",
            ["20 MB"],
        ),
    ],
)
def test_rejects_with_field_and_allowed_values(kwargs, field, allowed):
    request = VideoRequest(**{"model": "viduq1", "prompt": "waves", **kwargs})
    with pytest.raises(InvalidRequestError) as caught:
        FAMILY.validate(request)
    assert caught.value.field == field
    assert request.model in str(caught.value)
    for text in allowed:
        assert text in str(caught.value)


def encode(**kwargs) -> dict:
    request = FAMILY.validate(VideoRequest(**{"model": "viduq1", "prompt": "waves", **kwargs}))
    encoded = FAMILY.encode(request)
    assert encoded.data is None and encoded.files is None
    assert encoded.json is not None
    return encoded.json


def test_text_to_video_body():
    assert encode(size="1920x1080", params={"seed": 3, "bgm": True}) == {
        "model": "viduq1",
        "prompt": "waves",
        "duration": 5,
        "seconds": "5",
        "size": "1080p",
        "metadata": {"seed": 3, "movement_amplitude": "auto", "bgm": True},
    }


def test_images_are_data_urls_with_prefix_or_http_urls():
    raw = picture(320, 180)
    body = encode(first_frame=ImageInput.from_bytes(raw), last_frame=ImageInput.from_url(URL))
    assert body["images"] == ["data:image/png;base64," + base64.b64encode(raw).decode(), URL]


def test_raw_metadata_is_merged_last():
    body = encode(
        params={"movement_amplitude": "small", "callback_url": "https://me.example/hook"},
        metadata={"bgm": True, "payload": "mine"},
    )
    assert body["metadata"] == {
        "movement_amplitude": "small",
        "bgm": True,
        "callback_url": "https://me.example/hook",
        "payload": "mine",
    }


def test_equal_intents_get_equal_fingerprints():
    a = FAMILY.validate(VideoRequest(model="viduq1", prompt="p", size="1920x1080"))
    b = FAMILY.validate(
        VideoRequest(
            model="viduq1",
            prompt="p",
            size="1080p",
            seconds=5,
            params={"bgm": False, "movement_amplitude": "auto"},
        )
    )
    assert a.fingerprint() == b.fingerprint()
    assert FAMILY.validate(a) == a
