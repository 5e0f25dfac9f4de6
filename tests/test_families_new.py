"""Seedance, Hailuo and Veo: validation, encoding, and an end-to-end video per family.

The end-to-end tests use `VideoGenClient` against the emulator's `gateway` dialect (which
reads each family the way new-api's adaptor does) and open the MP4 with PyAV.
"""

from __future__ import annotations

import av
import pytest

from prefect_videogen import VideoGenClient
from prefect_videogen.emulator import get_stats
from prefect_videogen.exceptions import InvalidRequestError
from prefect_videogen.families import VideoRequest, family_for_model
from prefect_videogen.families.hailuo import HailuoFamily
from prefect_videogen.families.seedance import SeedanceFamily
from prefect_videogen.families.veo import VeoFamily
from prefect_videogen.images import ImageInput
from tests.plugins.emulator_fixtures import png_bytes

URL = "https://example.com/a.png"
END_URL = "https://example.com/b.png"
SEEDANCE, HAILUO, VEO = SeedanceFamily(), HailuoFamily(), VeoFamily()


def url(value: str = URL) -> ImageInput:
    return ImageInput.from_url(value)


def refused(family, **kwargs) -> InvalidRequestError:
    with pytest.raises(InvalidRequestError) as caught:
        family.validate(VideoRequest(**{"prompt": "p", **kwargs}))
    return caught.value


# --------------------------------------------------------------------------- Seedance

SD_PRO = "doubao-seedance-1-0-pro-250528"


@pytest.mark.parametrize(
    ("kwargs", "size", "resolution", "seconds"),
    [
        ({"model": SD_PRO}, "16:9", "1080p", 5),
        ({"model": SD_PRO, "size": "1280x720", "seconds": 12}, "16:9", "720p", 12),
        ({"model": SD_PRO, "size": "9:16"}, "9:16", "1080p", 5),
        ({"model": SD_PRO, "size": "480p", "first_frame": url()}, "adaptive", "480p", 5),
        ({"model": "doubao-seedance-2-0-260128", "seconds": 15}, "16:9", "1080p", 15),
        ({"model": "doubao-seedance-2-0-fast-260128"}, "16:9", "720p", 5),
        (
            {
                "model": "doubao-seedance-1-0-lite-i2v",
                "first_frame": url(),
                "last_frame": url(END_URL),
            },
            "adaptive",
            "720p",
            5,
        ),
        ({"model": SD_PRO, "size": "720p", "params": {"resolution": "720p"}}, "16:9", "720p", 5),
    ],
)
def test_seedance_accepts_and_normalizes(kwargs, size, resolution, seconds):
    request = SEEDANCE.validate(VideoRequest(prompt="p", **kwargs))
    assert (request.size, request.params["resolution"], request.seconds) == (
        size,
        resolution,
        seconds,
    )
    assert SEEDANCE.validate(request) == request


@pytest.mark.parametrize(
    ("kwargs", "field", "words"),
    [
        ({"model": SD_PRO, "seconds": 13}, "seconds", "2, 3"),
        ({"model": "doubao-seedance-2-0-260128", "seconds": 3}, "seconds", "4, 5"),
        ({"model": SD_PRO, "size": "1000x700"}, "size", "21:9"),
        ({"model": SD_PRO, "size": "adaptive"}, "size", "16:9"),
        ({"model": SD_PRO, "size": "2160p"}, "size", "480, 720 or 1080"),
        ({"model": SD_PRO, "first_frame": url(), "last_frame": url(END_URL)}, "last_frame", ""),
        ({"model": "doubao-seedance-1-0-lite-t2v", "first_frame": url()}, "first_frame", ""),
        ({"model": SD_PRO, "params": {"generate_audio": True}}, "params.generate_audio", ""),
        (
            {"model": SD_PRO, "size": "720p", "params": {"resolution": "1080p"}},
            "params.resolution",
            "720p",
        ),
        ({"model": SD_PRO, "metadata": {"content": []}}, "metadata.content", "first_frame="),
        ({"model": SD_PRO, "metadata": {"style": "anime"}}, "metadata.style", "resolution"),
    ],
)
def test_seedance_refuses_naming_the_field(kwargs, field, words):
    error = refused(SEEDANCE, **kwargs)
    assert error.field == field
    assert words in str(error)


def test_seedance_spellings_share_one_fingerprint():
    a = SEEDANCE.validate(VideoRequest(model=SD_PRO, prompt="p", size="1280x720", seconds=6))
    b = SEEDANCE.validate(
        VideoRequest(
            model=SD_PRO,
            prompt="p",
            metadata={"ratio": "16:9", "resolution": "720p", "duration": 6},
        )
    )
    c = SEEDANCE.validate(
        VideoRequest(
            model=SD_PRO, prompt="p", size="16:9", seconds=6, params={"resolution": "720p"}
        )
    )
    assert a == b == c
    assert a.fingerprint() == b.fingerprint() == c.fingerprint()


def test_seedance_encoding_puts_everything_the_gateway_reads_in_metadata():
    request = SEEDANCE.validate(
        VideoRequest(
            model="doubao-seedance-1-0-lite-i2v",
            prompt="the door opens",
            first_frame=url(),
            last_frame=url(END_URL),
            size="720p",
            seconds=4,
            params={"seed": 9, "camera_fixed": True},
        )
    )
    body = SEEDANCE.encode(request).json
    assert "size" not in body  # the gateway ignores it
    assert "images" not in body  # no role there: the last frame would be lost
    assert body["metadata"] == {
        "ratio": "adaptive",
        "resolution": "720p",
        "duration": 4,
        "seed": 9,
        "camera_fixed": True,
        "content": [
            {"type": "image_url", "image_url": {"url": URL}, "role": "first_frame"},
            {"type": "image_url", "image_url": {"url": END_URL}, "role": "last_frame"},
            {"type": "text", "text": "the door opens"},
        ],
    }


# --------------------------------------------------------------------------- Hailuo


@pytest.mark.parametrize(
    ("kwargs", "size", "seconds"),
    [
        ({"model": "MiniMax-Hailuo-2.3"}, "768P", 6),
        ({"model": "MiniMax-Hailuo-2.3", "size": "1920x1080"}, "1080P", 6),
        ({"model": "MiniMax-Hailuo-2.3", "seconds": 10, "size": "768p"}, "768P", 10),
        ({"model": "MiniMax-Hailuo-02", "size": "512", "first_frame": url()}, "512P", 6),
        ({"model": "MiniMax-Hailuo-2.3-Fast", "first_frame": url()}, "768P", 6),
        ({"model": "T2V-01-Director"}, "720P", 6),
        ({"model": "I2V-01-live", "first_frame": url()}, "720P", 6),
        ({"model": "S2V-01", "params": {"subject_reference": [URL]}}, "720P", 6),
    ],
)
def test_hailuo_accepts_and_normalizes(kwargs, size, seconds):
    request = HAILUO.validate(VideoRequest(prompt="p", **kwargs))
    assert (request.size, request.seconds) == (size, seconds)
    assert HAILUO.validate(request) == request


@pytest.mark.parametrize(
    ("kwargs", "field", "words"),
    [
        ({"model": "MiniMax-Hailuo-2.3", "seconds": 10, "size": "1080P"}, "size", "1080P only"),
        ({"model": "MiniMax-Hailuo-02", "size": "512P"}, "size", "512P only with images"),
        ({"model": "MiniMax-Hailuo-2.3", "seconds": 8}, "seconds", "6, 10"),
        ({"model": "MiniMax-Hailuo-2.3-Fast"}, "first_frame", ""),
        ({"model": "T2V-01", "seconds": 10}, "seconds", "6"),
        ({"model": "S2V-01"}, "params.subject_reference", "subject_reference"),
        (
            {"model": "MiniMax-Hailuo-2.3", "metadata": {"image": URL}},
            "metadata.image",
            "first_frame_image",
        ),
        (
            {
                "model": "MiniMax-Hailuo-2.3",
                "metadata": {"first_frame_image": END_URL},
                "first_frame": url(),
            },
            "metadata.first_frame_image",
            "two different images",
        ),
    ],
)
def test_hailuo_refuses_naming_the_field(kwargs, field, words):
    error = refused(HAILUO, **kwargs)
    assert error.field == field
    assert words in str(error)


def test_hailuo_metadata_images_are_the_same_request_as_first_frame():
    a = HAILUO.validate(
        VideoRequest(
            model="MiniMax-Hailuo-02",
            prompt="p",
            metadata={"first_frame_image": URL, "last_frame_image": END_URL, "duration": 10},
        )
    )
    b = HAILUO.validate(
        VideoRequest(
            model="MiniMax-Hailuo-02",
            prompt="p",
            first_frame=url(),
            last_frame=url(END_URL),
            seconds=10,
        )
    )
    assert a == b and a.fingerprint() == b.fingerprint()
    assert a.mode == "keyframe"


def test_hailuo_encoding_sends_images_only_in_metadata():
    request = HAILUO.validate(
        VideoRequest(
            model="MiniMax-Hailuo-02",
            prompt="p",
            first_frame=url(),
            last_frame=url(END_URL),
            params={"prompt_optimizer": False},
        )
    )
    body = HAILUO.encode(request).json
    assert not {"image", "images", "input_reference"} & set(body)
    assert body["metadata"] == {
        "resolution": "768P",
        "duration": 6,
        "first_frame_image": URL,
        "last_frame_image": END_URL,
        "prompt_optimizer": False,
    }
    assert (body["duration"], body["size"]) == (6, "768P")


# --------------------------------------------------------------------------- Veo

VEO3 = "veo-3.0-generate-001"
PNG = png_bytes(64, 36)


@pytest.mark.parametrize(
    ("kwargs", "size", "seconds"),
    [
        ({"model": VEO3}, "1280x720", 8),
        ({"model": VEO3, "size": "1080p", "seconds": 4}, "1920x1080", 4),
        ({"model": VEO3, "size": "9:16"}, "720x1280", 8),
        (
            {"model": "veo-3.1-fast-generate-preview", "size": "1080*1920", "seconds": 6},
            "1080x1920",
            6,
        ),
        ({"model": VEO3, "first_frame": ImageInput.from_bytes(PNG)}, "1280x720", 8),
    ],
)
def test_veo_accepts_and_normalizes(kwargs, size, seconds):
    request = VEO.validate(VideoRequest(prompt="p", **kwargs))
    assert (request.size, request.seconds) == (size, seconds)


@pytest.mark.parametrize(
    ("kwargs", "field", "words"),
    [
        ({"model": VEO3, "first_frame": url()}, "first_frame", "drops an http URL"),
        ({"model": VEO3, "seconds": 5}, "seconds", "4, 6, 8"),
        ({"model": VEO3, "size": "1024x1024"}, "size", "1280x720"),
        (
            {
                "model": VEO3,
                "first_frame": ImageInput.from_bytes(PNG),
                "last_frame": ImageInput.from_bytes(PNG),
            },
            "last_frame",
            "",
        ),
        (
            {"model": VEO3, "metadata": {"aspect_ratio": "16:9"}},
            "metadata.aspect_ratio",
            "aspectRatio",
        ),
    ],
)
def test_veo_refuses_naming_the_field(kwargs, field, words):
    error = refused(VEO, **kwargs)
    assert error.field == field
    assert words in str(error)


def test_veo_encoding_sends_the_image_as_a_data_url():
    request = VEO.validate(
        VideoRequest(
            model=VEO3,
            prompt="p",
            size="720x1280",
            first_frame=ImageInput.from_bytes(PNG),
            params={"negative_prompt": "fog", "generate_audio": False},
        )
    )
    body = VEO.encode(request).json
    assert body["images"][0].startswith("data:image/png;base64,")
    assert body["metadata"] == {
        "aspectRatio": "9:16",
        "resolution": "720p",
        "durationSeconds": 8,
        "negativePrompt": "fog",
        "generateAudio": False,
    }
    assert (body["size"], body["duration"], body["seconds"]) == ("720x1280", 8, "8")


@pytest.mark.parametrize(
    ("model", "family"),
    [(SD_PRO, "seedance"), ("MiniMax-Hailuo-2.3", "hailuo"), (VEO3, "veo")],
)
def test_registry_serves_the_new_families(model, family):
    assert family_for_model(model).name == family


# --------------------------------------------------------------------------- end to end


def _make(client: VideoGenClient, request: VideoRequest, tmp_path, name: str):
    job = client.create(request)
    done = client.wait(job.id, model=request.model, timeout=60, min_interval=0.05)
    path = tmp_path / f"{name}.mp4"
    client.download_content(done.id, path)
    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        duration = float(stream.duration * stream.time_base)
        return job, (stream.codec_context.width, stream.codec_context.height), duration


E2E = [
    pytest.param(
        VideoRequest(model=SD_PRO, prompt="a kite", size="1280x720", seconds=2),
        (1280, 720),
        2,
        "t2v",
        id="seedance-t2v",
    ),
    pytest.param(
        VideoRequest(
            model="doubao-seedance-1-5-pro-251215",
            prompt="the square turns",
            size="720p",
            seconds=2,
            first_frame=ImageInput.from_bytes(png_bytes(400, 400)),
            last_frame=ImageInput.from_bytes(png_bytes(400, 400, (20, 90, 200))),
        ),
        (720, 720),
        2,
        "keyframe",
        id="seedance-keyframe-adaptive",
    ),
    pytest.param(
        VideoRequest(
            model="MiniMax-Hailuo-2.3",
            prompt="a cat yawns",
            first_frame=ImageInput.from_bytes(png_bytes(640, 360)),
        ),
        (1366, 768),
        6,
        "i2v",
        id="hailuo-i2v",
    ),
    pytest.param(
        VideoRequest(
            model=VEO3,
            prompt="a lighthouse",
            size="720x1280",
            seconds=4,
            first_frame=ImageInput.from_bytes(png_bytes(360, 640)),
        ),
        (720, 1280),
        4,
        "i2v",
        id="veo-i2v",
    ),
]


@pytest.mark.parametrize(("request_", "size", "seconds", "mode"), E2E)
def test_end_to_end_against_the_gateway_dialect(
    make_emulator, tmp_path, request_, size, seconds, mode
):
    base_url = make_emulator(dialect="gateway", latency=0.1, fps=2)
    with VideoGenClient(base_url, "sk-emulator") as client:
        job, got_size, duration = _make(client, request_, tmp_path, "out")
    assert got_size == size
    assert abs(duration - seconds) < 0.6
    stats = get_stats(base_url)["jobs"][job.id]
    assert stats["mode"] == mode  # the images reached the provider
    assert not stats["request"]["extra"].get("dropped")
