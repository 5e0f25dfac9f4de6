"""Wan family: per-model limits, size notation, gateway limitations and the nested JSON body."""

import base64
import io

import pytest
from PIL import Image

from prefect_videogen.exceptions import InvalidRequestError
from prefect_videogen.families import VideoRequest
from prefect_videogen.families.wan import WanFamily
from prefect_videogen.images import ImageInput

FAMILY = WanFamily()
URL = "https://example.com/cat.png"
END_URL = "https://example.com/end.png"


def picture(width: int, height: int, fmt: str = "PNG") -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (width, height), (30, 120, 200)).save(buffer, fmt)
    return buffer.getvalue()


def frame(width: int = 640, height: int = 480, fmt: str = "PNG") -> ImageInput:
    return ImageInput.from_bytes(picture(width, height, fmt), filename=f"frame.{fmt.lower()}")


def url(address: str = URL) -> ImageInput:
    return ImageInput.from_url(address)


T2V = "wan2.5-t2v-preview"
DEFAULT_PARAMS = {"watermark": False, "prompt_extend": True}


@pytest.mark.parametrize(
    ("kwargs", "seconds", "size"),
    [
        ({"model": T2V}, 5, "1920*1080"),
        ({"model": T2V, "seconds": 10, "size": "1280x720"}, 10, "1280*720"),
        ({"model": T2V, "size": "832*480"}, 5, "832*480"),
        ({"model": T2V, "size": "1248 x 1632"}, 5, "1248*1632"),
        ({"model": "wan2.5-i2v-preview", "first_frame": url()}, 5, "1080P"),
        ({"model": "wan2.5-i2v-preview", "first_frame": url(), "size": "720p"}, 5, "720P"),
        ({"model": "wan2.5-i2v-preview", "first_frame": url(), "size": "480"}, 5, "480P"),
        ({"model": "wan2.5-i2v-preview", "first_frame": url(), "size": "1280x720"}, 5, "720P"),
        ({"model": "wan2.5-i2v-preview", "first_frame": url(), "size": "1080*1920"}, 5, "1080P"),
        ({"model": "wan2.2-i2v-flash", "first_frame": frame()}, 5, "720P"),
        ({"model": "wan2.2-i2v-plus", "first_frame": url(), "size": "480P"}, 5, "480P"),
        ({"model": "wanx2.1-i2v-plus", "first_frame": frame(2000, 360, "JPEG")}, 5, "720P"),
        ({"model": "wanx2.1-i2v-turbo", "first_frame": frame(fmt="WEBP"), "seconds": 3}, 3, "720P"),
        (
            {"model": "wan2.2-kf2v-flash", "first_frame": url(), "last_frame": url(END_URL)},
            5,
            "720P",
        ),
        # Newer Wan names: lenient spec, no default size (the gateway chooses).
        ({"model": "wan2.8-i2v", "first_frame": url(), "seconds": 15}, 15, None),
        ({"model": "wan2.7-t2v", "size": "1280x720"}, 5, "1280*720"),
    ],
)
def test_accepts_and_normalizes(kwargs, seconds, size):
    request = FAMILY.validate(VideoRequest(prompt="a cat", **kwargs))
    assert (request.seconds, request.size) == (seconds, size)
    assert request.params == DEFAULT_PARAMS


def test_params_keep_defaults_and_given_values():
    request = FAMILY.validate(
        VideoRequest(
            model="wan2.5-i2v-preview",
            prompt="a cat",
            first_frame=url(),
            params={"seed": "42", "audio": False, "negative_prompt": "blur", "watermark": True},
        )
    )
    assert request.params == {
        "watermark": True,
        "prompt_extend": True,
        "audio": False,
        "seed": 42,
        "negative_prompt": "blur",
    }


I2V = {"model": "wan2.5-i2v-preview", "first_frame": url()}


@pytest.mark.parametrize(
    ("kwargs", "field", "allowed"),
    [
        ({"model": T2V, "size": "720P"}, "size", ["1280*720", "1920*1080", '"W*H"']),
        ({"model": T2V, "size": "1000*1000"}, "size", ["832*480"]),
        ({"model": T2V, "seconds": 8}, "seconds", ["5, 10"]),
        ({**I2V, "size": "1280P"}, "size", ["480P, 720P, 1080P"]),
        ({**I2V, "size": "1000x1000"}, "size", ["480P, 720P, 1080P"]),
        (
            {"model": "wan2.2-i2v-flash", "first_frame": url(), "size": "1080P"},
            "size",
            ["480P, 720P"],
        ),
        (
            {"model": "wan2.2-i2v-plus", "first_frame": url(), "size": "720P"},
            "size",
            ["480P, 1080P"],
        ),
        ({"model": "wan2.2-i2v-flash", "first_frame": url(), "seconds": 10}, "seconds", ["5"]),
        (
            {"model": "wanx2.1-i2v-turbo", "first_frame": url(), "seconds": 6},
            "seconds",
            ["3, 4, 5"],
        ),
        ({"model": "wan2.5-i2v-preview"}, "first_frame", ["i2v (first_frame)"]),
        ({"model": T2V, "first_frame": url()}, "first_frame", ["t2v (prompt only)"]),
        (
            {"model": "wan2.2-kf2v-flash", "first_frame": url()},
            "last_frame",
            ["keyframe (first_frame + last_frame)"],
        ),
        ({"model": "wan2.2-kf2v-flash"}, "first_frame", ["keyframe"]),
        ({**I2V, "last_frame": url(END_URL)}, "last_frame", ["i2v (first_frame)"]),
        ({**I2V, "params": {"watermark": "sometimes"}}, "params.watermark", ["true or false"]),
        ({**I2V, "params": {"seed": -1}}, "params.seed", ["0 to 2147483647"]),
        ({**I2V, "params": {"seed": 2**31}}, "params.seed", ["0 to 2147483647"]),
        ({**I2V, "params": {"seed": 0}}, "params.seed", ["1 to 2147483647", "drop"]),
        (
            {**I2V, "params": {"prompt_extend": False}},
            "params.prompt_extend",
            ["true (the default)", "drop"],
        ),
        (
            {"model": "wan2.2-i2v-flash", "first_frame": url(), "params": {"audio": True}},
            "params.audio",
            ["wan2.5-t2v-preview, wan2.5-i2v-preview"],
        ),
        (
            {
                "model": "wanx2.1-i2v-plus",
                "first_frame": url(),
                "params": {"audio_url": "https://x/a.mp3"},
            },
            "params.audio_url",
            ["wan2.5-i2v-preview"],
        ),
        (
            {**I2V, "params": {"negative_prompt": "n" * 501}},
            "params.negative_prompt",
            ["at most 500 characters"],
        ),
        ({**I2V, "params": {"audio_url": "ftp://x/a.mp3"}}, "params.audio_url", ["http(s) URL"]),
        (
            {**I2V, "params": {"resolution": "720P"}},
            "params.resolution",
            ["watermark, prompt_extend, audio, seed, negative_prompt, audio_url"],
        ),
        (
            {"model": "wan2.5-i2v-preview", "first_frame": frame(200, 200)},
            "first_frame",
            ["at least 360 px"],
        ),
        (
            {"model": "wan2.5-i2v-preview", "first_frame": frame(2400, 1200)},
            "first_frame",
            ["at most 2000 px"],
        ),
        (
            {"model": "wan2.5-i2v-preview", "first_frame": frame(fmt="GIF")},
            "first_frame",
            ["image/jpeg, image/png, image/bmp, image/webp"],
        ),
        (
            {"model": "wan2.2-i2v-flash", "first_frame": url(), "prompt": "p" * 801},
            "prompt",
            ["at most 800 characters"],
        ),
        ({"model": T2V, "prompt": "p" * 1501}, "prompt", ["at most 1500 characters"]),
        ({"model": T2V, "prompt": ""}, "prompt", ["non-empty"]),
    ],
)
def test_rejects_with_field_and_allowed_values(kwargs, field, allowed):
    request = VideoRequest(**{"prompt": "a cat", **kwargs})
    with pytest.raises(InvalidRequestError) as caught:
        FAMILY.validate(request)
    assert caught.value.field == field
    assert request.model in str(caught.value)
    for text in allowed:
        assert text in str(caught.value)


def encode(**kwargs) -> dict:
    encoded = FAMILY.encode(FAMILY.validate(VideoRequest(prompt="a cat", **kwargs)))
    assert encoded.data is None and encoded.files is None
    assert encoded.json is not None
    return encoded.json


def test_text_to_video_body():
    assert encode(model=T2V, seconds=10, size="1280x720", params={"seed": 7}) == {
        "model": T2V,
        "prompt": "a cat",
        "seconds": "10",
        "duration": 10,
        "size": "1280*720",
        "metadata": {
            "parameters": {
                "size": "1280*720",
                "duration": 10,
                "prompt_extend": True,
                "watermark": False,
                "seed": 7,
            }
        },
    }


def test_image_to_video_body_is_nested_under_input_and_parameters():
    body = encode(
        model="wan2.5-i2v-preview",
        first_frame=url(),
        size="720p",
        params={"negative_prompt": "blur", "audio": False, "audio_url": "https://x/a.mp3"},
    )
    assert body == {
        "model": "wan2.5-i2v-preview",
        "prompt": "a cat",
        "seconds": "5",
        "duration": 5,
        "metadata": {
            "input": {"img_url": URL, "negative_prompt": "blur", "audio_url": "https://x/a.mp3"},
            "parameters": {
                "resolution": "720P",
                "duration": 5,
                "prompt_extend": True,
                "watermark": False,
                "audio": False,
            },
        },
    }
    assert "img_url" not in body["metadata"]  # the flat form real gateways ignore


def test_image_bytes_travel_as_a_data_url():
    raw = picture(640, 480)
    body = encode(model="wan2.2-i2v-flash", first_frame=ImageInput.from_bytes(raw))
    assert body["metadata"]["input"]["img_url"] == (
        "data:image/png;base64," + base64.b64encode(raw).decode()
    )


def test_keyframe_body_has_first_and_last_frame_urls():
    body = encode(model="wan2.2-kf2v-flash", first_frame=url(), last_frame=url(END_URL))
    assert body["metadata"]["input"] == {"first_frame_url": URL, "last_frame_url": END_URL}
    assert body["metadata"]["parameters"]["resolution"] == "720P"


def test_raw_metadata_is_deep_merged_last():
    body = encode(
        model="wan2.5-i2v-preview",
        first_frame=url(),
        metadata={"input": {"template": "flying"}, "parameters": {"watermark": True}},
    )
    assert body["metadata"]["input"] == {"img_url": URL, "template": "flying"}
    assert body["metadata"]["parameters"]["watermark"] is True
    assert body["metadata"]["parameters"]["resolution"] == "1080P"


def test_lenient_model_without_size_leaves_the_choice_to_the_gateway():
    body = encode(model="wan2.8-i2v", first_frame=url())
    assert "size" not in body
    assert body["metadata"]["parameters"] == {
        "duration": 5,
        "prompt_extend": True,
        "watermark": False,
    }


def test_equal_intents_get_equal_fingerprints():
    a = FAMILY.validate(
        VideoRequest(model="wan2.5-i2v-preview", prompt="p", first_frame=url(), size="720p")
    )
    b = FAMILY.validate(
        VideoRequest(
            model="wan2.5-i2v-preview",
            prompt="p",
            first_frame=url(),
            size="1280x720",
            seconds=5,
            params={"watermark": False, "prompt_extend": True},
        )
    )
    assert a.fingerprint() == b.fingerprint()
    assert FAMILY.validate(a) == a
