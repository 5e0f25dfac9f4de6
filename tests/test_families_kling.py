"""Kling family: aspect ratios instead of sizes, typed params, bare base64 images, image_tail."""

import base64
import io

import pytest
from PIL import Image

from prefect_videogen.exceptions import InvalidRequestError
from prefect_videogen.families import VideoRequest
from prefect_videogen.families.kling import KlingFamily
from prefect_videogen.images import ImageInput

FAMILY = KlingFamily()
URL = "https://example.com/start.jpg"


def picture(width: int, height: int, fmt: str = "PNG") -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (width, height), (20, 160, 60)).save(buffer, fmt)
    return buffer.getvalue()


def frame(width: int = 640, height: int = 360, fmt: str = "PNG") -> ImageInput:
    return ImageInput.from_bytes(picture(width, height, fmt), filename=f"frame.{fmt.lower()}")


@pytest.mark.parametrize(
    ("kwargs", "seconds", "size"),
    [
        ({}, 5, "16:9"),
        ({"size": "1280x720"}, 5, "16:9"),
        ({"size": "1920x1080", "seconds": 10}, 10, "16:9"),
        ({"size": "720x1280"}, 5, "9:16"),
        ({"size": "1080*1920"}, 5, "9:16"),
        ({"size": "1024x1024"}, 5, "1:1"),
        ({"size": "512x512"}, 5, "1:1"),
        ({"size": "9:16"}, 5, "9:16"),
        ({"size": " 1:1 "}, 5, "1:1"),
        ({"model": "kling-v1-6", "first_frame": frame()}, 5, "16:9"),
        (
            {
                "model": "kling-v2-master",
                "first_frame": frame(fmt="JPEG"),
                "last_frame": ImageInput.from_url(URL),
            },
            5,
            "16:9",
        ),
        ({"first_frame": frame(300, 750)}, 5, "16:9"),  # 1:2.5 is the limit, allowed
        ({"model": "kling-v4", "seconds": 15}, 15, "16:9"),  # newer model: lenient
    ],
)
def test_accepts_and_keeps_the_aspect_ratio(kwargs, seconds, size):
    request = FAMILY.validate(VideoRequest(prompt="a kite", **{"model": "kling-v1", **kwargs}))
    assert (request.seconds, request.size) == (seconds, size)
    assert request.params == {"mode": "std"}


def test_typed_params_are_normalized():
    request = FAMILY.validate(
        VideoRequest(
            model="kling-v1",
            prompt="a kite",
            params={
                "mode": "pro",
                "cfg_scale": "0.5",
                "negative_prompt": "blur",
                "camera_control": {"type": "simple", "config": {"zoom": 5}},
                "callback_url": "https://me.example/hook",
                "external_task_id": "job-1",
            },
        )
    )
    assert request.params == {
        "mode": "pro",
        "cfg_scale": 0.5,
        "negative_prompt": "blur",
        "camera_control": {
            "type": "simple",
            "config": {"horizontal": 0, "vertical": 0, "pan": 0, "tilt": 0, "roll": 0, "zoom": 5},
        },
        "callback_url": "https://me.example/hook",
        "external_task_id": "job-1",
    }


@pytest.mark.parametrize(
    ("kwargs", "field", "allowed"),
    [
        ({"size": "4:3"}, "size", ["16:9, 9:16, 1:1", "1280x720"]),
        ({"size": "1000x700"}, "size", ["16:9, 9:16, 1:1"]),
        ({"size": "1920*1440"}, "size", ["16:9, 9:16, 1:1"]),
        ({"size": "720P"}, "size", ["16:9, 9:16, 1:1"]),
        ({"seconds": 7}, "seconds", ["5, 10"]),
        ({"prompt": "p" * 2501}, "prompt", ["at most 2500 characters"]),
        (
            {"model": "kling-v2-master", "params": {"cfg_scale": 0.5}},
            "params.cfg_scale",
            ["kling-v1 and kling-v1-6"],
        ),
        ({"params": {"cfg_scale": 1.5}}, "params.cfg_scale", ["a number from 0 to 1"]),
        ({"params": {"mode": "turbo"}}, "params.mode", ["one of: std, pro"]),
        (
            {"params": {"negative_prompt": "n" * 2501}},
            "params.negative_prompt",
            ["at most 2500 characters"],
        ),
        (
            {"params": {"seed": 3}},
            "params.seed",
            ["mode, negative_prompt, cfg_scale, camera_control, callback_url, external_task_id"],
        ),
        (
            {"params": {"camera_control": {"type": "spin"}}},
            "params.camera_control.type",
            ["simple, down_back, forward_up, right_turn_forward, left_turn_forward"],
        ),
        (
            {"params": {"camera_control": {"type": "simple", "config": {"pan": 1, "zoom": 2}}}},
            "params.camera_control",
            ["exactly one non-zero"],
        ),
        (
            {"params": {"camera_control": {"type": "forward_up", "config": {"pan": 1}}}},
            "params.camera_control",
            ["takes no config"],
        ),
        (
            {"params": {"camera_control": {"type": "simple", "config": {"zoom": 11}}}},
            "params.camera_control.config.zoom",
            ["a number from -10 to 10"],
        ),
        (
            {"params": {"camera_control": {"type": "simple", "config": {"spin": 1}}}},
            "params.camera_control.config.spin",
            ["horizontal, vertical, pan, tilt, roll, zoom"],
        ),
        (
            {
                "params": {"camera_control": {"type": "down_back"}},
                "first_frame": frame(),
                "last_frame": frame(),
            },
            "params.camera_control",
            ["without last_frame"],
        ),
        ({"params": {"callback_url": "hook"}}, "params.callback_url", ["http(s) URL"]),
        ({"first_frame": frame(200, 200)}, "first_frame", ["at least 300 px"]),
        ({"first_frame": frame(800, 300)}, "first_frame", ["between 1:2.5 and 2.5:1"]),
        ({"first_frame": frame(fmt="WEBP")}, "first_frame", ["image/jpeg, image/png"]),
        (
            {"first_frame": frame(), "last_frame": frame(100, 100)},
            "last_frame",
            ["at least 300 px"],
        ),
        (
            {"first_frame": ImageInput.from_bytes(picture(640, 360) + b"\0" * (10 * 1024 * 1024))},
            "first_frame",
            ["at most 10485760 bytes"],
        ),
        ({"metadata": {"duration": 10}}, "metadata.duration", ['a string such as "5"']),
    ],
)
def test_rejects_with_field_and_allowed_values(kwargs, field, allowed):
    request = VideoRequest(**{"model": "kling-v1", "prompt": "a kite", **kwargs})
    with pytest.raises(InvalidRequestError) as caught:
        FAMILY.validate(request)
    assert caught.value.field == field
    assert request.model in str(caught.value)
    for text in allowed:
        assert text in str(caught.value)


def encode(**kwargs) -> dict:
    request = FAMILY.validate(VideoRequest(**{"model": "kling-v1", "prompt": "a kite", **kwargs}))
    encoded = FAMILY.encode(request)
    assert encoded.data is None and encoded.files is None
    assert encoded.json is not None
    return encoded.json


def test_text_to_video_body():
    assert encode(size="1080x1920", seconds=10, params={"negative_prompt": "blur"}) == {
        "model": "kling-v1",
        "prompt": "a kite",
        "duration": 10,
        "seconds": "10",
        "size": "720x1280",
        "metadata": {
            "aspect_ratio": "9:16",
            "duration": "10",
            "mode": "std",
            "negative_prompt": "blur",
        },
    }


def test_images_travel_as_bare_base64_with_the_last_frame_in_image_tail():
    start, end = picture(640, 360), picture(640, 360, "JPEG")
    body = encode(
        model="kling-v1-6",
        first_frame=ImageInput.from_bytes(start),
        last_frame=ImageInput.from_url("data:image/jpeg;base64," + base64.b64encode(end).decode()),
        params={"mode": "pro"},
    )
    assert body["image"] == base64.b64encode(start).decode()
    assert body["metadata"]["image_tail"] == base64.b64encode(end).decode()
    assert not body["image"].startswith("data:")
    assert body["metadata"]["mode"] == "pro"


def test_http_url_images_pass_as_urls():
    body = encode(first_frame=ImageInput.from_url(URL))
    assert body["image"] == URL
    assert "image_tail" not in body["metadata"]


def test_camera_control_and_raw_metadata_go_in_metadata():
    body = encode(
        params={"camera_control": {"type": "forward_up"}, "cfg_scale": 0.3},
        metadata={"static_mask": "https://x/mask.png", "aspect_ratio": "1:1"},
    )
    assert body["metadata"] == {
        "aspect_ratio": "1:1",  # raw metadata wins, as documented
        "duration": "5",
        "mode": "std",
        "cfg_scale": 0.3,
        "camera_control": {"type": "forward_up"},
        "static_mask": "https://x/mask.png",
    }


def test_equal_intents_get_equal_fingerprints():
    a = FAMILY.validate(VideoRequest(model="kling-v1", prompt="p", size="1920x1080"))
    b = FAMILY.validate(
        VideoRequest(model="kling-v1", prompt="p", size="16:9", seconds=5, params={"mode": "std"})
    )
    assert a.fingerprint() == b.fingerprint()
    assert FAMILY.validate(a) == a


def test_kling_metadata_image_spellings_are_the_frames():
    a = FAMILY.validate(
        VideoRequest(
            model="kling-v1",
            prompt="p",
            metadata={
                "image": "https://example.com/a.png",
                "image_tail": "https://example.com/b.png",
            },
        )
    )
    b = FAMILY.validate(
        VideoRequest(
            model="kling-v1",
            prompt="p",
            first_frame=ImageInput.from_url("https://example.com/a.png"),
            last_frame=ImageInput.from_url("https://example.com/b.png"),
        )
    )
    assert a == b and a.mode == "keyframe"
    assert a.fingerprint() == b.fingerprint()
