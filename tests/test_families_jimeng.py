"""Jimeng family: aspect ratios, frames, and multipart files versus JSON image URLs."""

import io
import json

import httpx
import pytest
from PIL import Image

from prefect_videogen.exceptions import InvalidRequestError
from prefect_videogen.families import VideoRequest
from prefect_videogen.families.jimeng import JimengFamily
from prefect_videogen.images import ImageInput

FAMILY = JimengFamily()
T2V, I2V = "jimeng_vgfm_t2v_l20", "jimeng_vgfm_i2v_l20"
URL, END_URL = "https://example.com/a.png", "https://example.com/b.png"


def picture(width: int, height: int, fmt: str = "PNG") -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (width, height), (240, 200, 10)).save(buffer, fmt)
    return buffer.getvalue()


def frame(width: int = 320, height: int = 180, fmt: str = "PNG", name: str = "a") -> ImageInput:
    return ImageInput.from_bytes(picture(width, height, fmt), filename=f"{name}.{fmt.lower()}")


@pytest.mark.parametrize(
    ("kwargs", "seconds", "size"),
    [
        ({"model": T2V}, 5, "16:9"),
        ({"model": T2V, "seconds": 10, "size": "1920x1080"}, 10, "16:9"),
        ({"model": T2V, "size": "1080x1920"}, 5, "9:16"),
        ({"model": T2V, "size": "1440x1080"}, 5, "4:3"),
        ({"model": T2V, "size": "2560x1080"}, 5, "21:9"),
        ({"model": T2V, "size": "3:4"}, 5, "3:4"),
        ({"model": T2V, "size": "1024*1024"}, 5, "1:1"),
        ({"model": I2V, "first_frame": frame()}, 5, "16:9"),
        (
            {"model": I2V, "first_frame": frame(fmt="JPEG"), "last_frame": frame(name="b")},
            5,
            "16:9",
        ),
        (
            {
                "model": I2V,
                "first_frame": ImageInput.from_url(URL),
                "last_frame": ImageInput.from_url(END_URL),
            },
            5,
            "16:9",
        ),
        ({"model": "jimeng_v40", "seconds": 8}, 8, "16:9"),  # newer model: lenient
    ],
)
def test_accepts_and_keeps_the_aspect_ratio(kwargs, seconds, size):
    request = FAMILY.validate(VideoRequest(prompt="rain on a window", **kwargs))
    assert (request.seconds, request.size) == (seconds, size)
    assert request.params == {"seed": -1}


@pytest.mark.parametrize(
    ("kwargs", "field", "allowed"),
    [
        ({"model": T2V, "size": "2:1"}, "size", ["16:9, 9:16, 1:1, 4:3, 3:4, 21:9"]),
        ({"model": T2V, "size": "1000x500"}, "size", ["16:9, 9:16, 1:1, 4:3, 3:4, 21:9"]),
        ({"model": T2V, "size": "1080p"}, "size", ["16:9"]),
        ({"model": T2V, "seconds": 6}, "seconds", ["5, 10"]),
        ({"model": T2V, "first_frame": frame()}, "first_frame", ["t2v (prompt only)"]),
        ({"model": I2V}, "first_frame", ["i2v (first_frame)", "keyframe"]),
        ({"model": T2V, "params": {"seed": -2}}, "params.seed", ["from -1 to 2147483647"]),
        ({"model": T2V, "params": {"frames": 121}}, "params.frames", ["seed"]),
        (
            {"model": I2V, "first_frame": frame(fmt="WEBP")},
            "first_frame",
            ["image/jpeg, image/png"],
        ),
        (
            {
                "model": I2V,
                "first_frame": ImageInput.from_bytes(picture(64, 64) + b"\0" * 5_000_000),
            },
            "first_frame",
            ["4.7 MB"],
        ),
        (
            {"model": I2V, "first_frame": frame(), "last_frame": ImageInput.from_url(END_URL)},
            "last_frame",
            ["both frames with bytes", "http(s) URLs"],
        ),
    ],
)
def test_rejects_with_field_and_allowed_values(kwargs, field, allowed):
    request = VideoRequest(**{"prompt": "rain", **kwargs})
    with pytest.raises(InvalidRequestError) as caught:
        FAMILY.validate(request)
    assert caught.value.field == field
    assert request.model in str(caught.value)
    for text in allowed:
        assert text in str(caught.value)


def encode(**kwargs):
    return FAMILY.encode(FAMILY.validate(VideoRequest(prompt="rain", **kwargs)))


def test_text_to_video_is_json_with_ratio_seed_and_frames():
    encoded = encode(model=T2V, seconds=10, size="1080x1920", params={"seed": 12})
    assert encoded.data is None
    assert encoded.json == {
        "model": T2V,
        "prompt": "rain",
        "seconds": "10",
        "duration": 10,
        "metadata": {"aspect_ratio": "9:16", "seed": 12, "frames": 241},
    }


def test_url_images_go_in_images_json():
    encoded = encode(
        model=I2V,
        first_frame=ImageInput.from_url(URL),
        last_frame=ImageInput.from_url(END_URL),
        metadata={"req_key": "jimeng_vgfm_i2v_l20"},
    )
    assert encoded.json == {
        "model": I2V,
        "prompt": "rain",
        "seconds": "5",
        "duration": 5,
        "images": [URL, END_URL],
        "metadata": {
            "aspect_ratio": "16:9",
            "seed": -1,
            "frames": 121,
            "req_key": "jimeng_vgfm_i2v_l20",
        },
    }


def test_image_bytes_are_uploaded_as_input_reference_files():
    first, last = frame(name="start"), frame(fmt="JPEG", name="end")
    encoded = encode(model=I2V, first_frame=first, last_frame=last, metadata={"x": 1})
    assert encoded.json is None
    assert encoded.data == {
        "model": I2V,
        "prompt": "rain",
        "seconds": "5",
        "aspect_ratio": "16:9",
        "seed": "-1",
        "frames": "121",
        "metadata": '{"aspect_ratio":"16:9","seed":-1,"frames":121,"x":1}',
    }
    assert json.loads(encoded.data["metadata"])["x"] == 1
    assert encoded.files == [
        ("input_reference", ("start.png", first.data, "image/png")),
        ("input_reference", ("end.jpeg", last.data, "image/jpeg")),
    ]
    sent = httpx.Request("POST", "http://gw/v1/videos", data=encoded.data, files=encoded.files)
    body = sent.read()
    assert body.count(b'name="input_reference"') == 2
    assert first.data in body and last.data in body


def test_single_image_bytes_is_one_file():
    encoded = encode(model=I2V, first_frame=frame(name="only"))
    assert encoded.files is not None and len(encoded.files) == 1
    assert encoded.files[0][1][0] == "only.png"


def test_equal_intents_get_equal_fingerprints():
    a = FAMILY.validate(VideoRequest(model=T2V, prompt="p", size="1920x1080"))
    b = FAMILY.validate(
        VideoRequest(model=T2V, prompt="p", size="16:9", seconds=5, params={"seed": -1})
    )
    assert a.fingerprint() == b.fingerprint()
    assert FAMILY.validate(a) == a
