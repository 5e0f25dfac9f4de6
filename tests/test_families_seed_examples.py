"""The seed document's own examples (openai-video-format.txt), translated to our API.

Each curl/JS example either makes its video against the emulator's `seed` and `gateway`
dialects, or is refused before any network call with an error that names the accepted
spelling. The document's Wan spellings (`metadata.img_url`, `metadata.first_frame_url` /
`last_frame_url`, flat `watermark`/`prompt_extend`/`resolution`) are the same request as
our canonical fields: one normalized request, one fingerprint.
"""

from __future__ import annotations

import av
import pytest

from prefect_videogen import VideoGenClient
from prefect_videogen.emulator import get_stats
from prefect_videogen.exceptions import InvalidRequestError
from prefect_videogen.families import VideoRequest, family_for_model
from prefect_videogen.images import ImageInput
from tests.plugins.emulator_fixtures import png_bytes

URL = "https://example.com/image.jpg"
START, END = "https://example.com/start.jpg", "https://example.com/end.jpg"
CAT = png_bytes(640, 480)


def validate(request: VideoRequest) -> VideoRequest:
    return family_for_model(request.model).validate(request)


# --------------------------------------------------------------------------- one request


@pytest.mark.parametrize(
    ("seed_spelling", "canonical"),
    [
        (
            {"model": "wan2.5-i2v-preview", "metadata": {"img_url": URL}},
            {"model": "wan2.5-i2v-preview", "first_frame": ImageInput.from_url(URL)},
        ),
        (
            {"model": "wan2.5-i2v-preview", "metadata": {"input": {"img_url": URL}}},
            {"model": "wan2.5-i2v-preview", "first_frame": ImageInput.from_url(URL)},
        ),
        (
            {
                "model": "wan2.2-kf2v-flash",
                "metadata": {
                    "first_frame_url": START,
                    "last_frame_url": END,
                    "resolution": "720P",
                    "watermark": False,
                },
            },
            {
                "model": "wan2.2-kf2v-flash",
                "first_frame": ImageInput.from_url(START),
                "last_frame": ImageInput.from_url(END),
                "size": "720p",
            },
        ),
        (
            {
                "model": "wan2.5-t2v-preview",
                "size": "1920*1080",
                "metadata": {"watermark": False, "prompt_extend": True},
            },
            {"model": "wan2.5-t2v-preview", "size": "1920x1080"},
        ),
        (
            {
                "model": "wan2.5-i2v-preview",
                "metadata": {"parameters": {"watermark": True, "duration": 10}, "img_url": URL},
            },
            {
                "model": "wan2.5-i2v-preview",
                "first_frame": ImageInput.from_url(URL),
                "seconds": 10,
                "params": {"watermark": True},
            },
        ),
    ],
)
def test_two_spellings_are_one_request_with_one_fingerprint(seed_spelling, canonical):
    a = validate(VideoRequest(prompt="p", **seed_spelling))
    b = validate(VideoRequest(prompt="p", **canonical))
    assert a == b
    assert a.fingerprint() == b.fingerprint()
    assert validate(a) == a


def test_the_seed_image_spelling_is_image_to_video_not_text_to_video():
    request = validate(
        VideoRequest(model="wan2.5-i2v-preview", prompt="p", metadata={"img_url": URL})
    )
    assert request.mode == "i2v"
    body = family_for_model(request.model).encode(request).json
    assert body["metadata"]["input"] == {"img_url": URL}  # the nested form the gateway reads
    assert "img_url" not in body["metadata"]


@pytest.mark.parametrize(
    ("metadata", "field", "words"),
    [
        ({"img_url": URL, "ratio": "16:9"}, "metadata.ratio", "metadata.parameters"),
        ({"img_url": URL, "parameters": {"ratio": "16:9"}}, "metadata.parameters.ratio", "seed"),
        ({"img_url": 7}, "metadata.img_url", "first_frame="),
        ({"img_url": URL, "input": {"img_url": START}}, "metadata.input.img_url", "first_frame="),
        (
            {"img_url": URL, "watermark": True, "parameters": {"watermark": False}},
            "metadata.parameters.watermark",
            "params.watermark",
        ),
    ],
)
def test_seed_spellings_the_gateway_would_drop_are_refused_with_the_accepted_one(
    metadata, field, words
):
    with pytest.raises(InvalidRequestError) as caught:
        validate(VideoRequest(model="wan2.5-i2v-preview", prompt="p", metadata=metadata))
    assert caught.value.field == field
    assert words in str(caught.value)


# --------------------------------------------------------------------------- the examples

#: (name, request fields, accepted?, what the refusal names) — the seed document's examples.
REFUSED = [
    # curl "Text-to-Video": sora-2, seconds=5, size=1920x1080
    ("sora-t2v", {"model": "sora-2", "seconds": 5, "size": "1920x1080"}, "seconds", "4, 8, 12"),
    # curl "Image-to-Video": sora-2, seconds=3, size=1920x1080, input_reference=@cat.jpg
    (
        "sora-i2v",
        {"model": "sora-2", "seconds": 3, "size": "1920x1080", "first_frame": "bytes"},
        "seconds",
        "4, 8, 12",
    ),
    # curl "Image-to-Video (Wanxiang 2.5)": size=1280P, metadata img_url
    (
        "wan-i2v-curl",
        {"model": "wan2.5-i2v-preview", "seconds": 5, "size": "1280P", "metadata": "img_url"},
        "size",
        "480P, 720P, 1080P",
    ),
    # JS generateAliImageToVideo: seconds=3, resolution=720P, input_reference file
    (
        "wan-i2v-js",
        {"model": "wan2.5-i2v-preview", "seconds": 3, "size": "720P", "first_frame": "bytes"},
        "seconds",
        "5, 10",
    ),
    # JS generateAliKeyframeVideo: seconds=4
    (
        "wan-kf2v-js",
        {"model": "wan2.2-kf2v-flash", "seconds": 4, "metadata": "keyframes"},
        "seconds",
        "allowed: 5",
    ),
]

#: The same examples with the refused value set to the accepted one, plus the accepted ones.
ACCEPTED = [
    # curl "Text-to-Video (Wanxiang 2.5)" and JS generateAliVideo
    ("wan-t2v", {"model": "wan2.5-t2v-preview", "seconds": 5, "size": "1920*1080"}, (1920, 1080)),
    (
        "wan-t2v-js",
        {
            "model": "wan2.5-t2v-preview",
            "seconds": 5,
            "size": "1920*1080",
            "metadata": {"watermark": False, "prompt_extend": True},
        },
        (1920, 1080),
    ),
    # curl "Image-to-Video (Wanxiang 2.5)" with its size written as a tier it has
    ("wan-i2v-curl", {"model": "wan2.5-i2v-preview", "size": "720P", "metadata": "img_url"}, None),
    # JS generateAliImageToVideo with seconds 5
    ("wan-i2v-js", {"model": "wan2.5-i2v-preview", "size": "720P", "first_frame": "bytes"}, None),
    # JS generateAliKeyframeVideo with seconds 5
    ("wan-kf2v-js", {"model": "wan2.2-kf2v-flash", "seconds": 5, "metadata": "keyframes"}, None),
    # the Sora examples with sizes and seconds Sora takes
    ("sora-t2v", {"model": "sora-2", "seconds": 4, "size": "1280x720"}, (1280, 720)),
]


def _fields(fields: dict, image_server) -> dict:
    """Fill the placeholders: a served image URL, image bytes, the keyframe metadata."""
    fields = dict(fields)
    if fields.get("first_frame") == "bytes":
        size = fields.get("size", "")
        fields["first_frame"] = ImageInput.from_bytes(
            png_bytes(1920, 1080) if size == "1920x1080" else CAT, filename="cat.png"
        )
    if fields.get("metadata") == "img_url":
        fields["metadata"] = {"img_url": image_server("cat.png", CAT)}
    elif fields.get("metadata") == "keyframes":
        fields["metadata"] = {
            "first_frame_url": image_server("start.png", CAT),
            "last_frame_url": image_server("end.png", png_bytes(640, 480, (20, 90, 200))),
            "resolution": "720P",
            "watermark": False,
        }
    return fields


@pytest.mark.parametrize("dialect", ["seed", "gateway"])
@pytest.mark.parametrize(("name", "fields", "field", "words"), REFUSED, ids=[r[0] for r in REFUSED])
def test_refused_examples_name_the_accepted_value_before_any_call(
    make_emulator, image_server, dialect, name, fields, field, words
):
    base_url = make_emulator(dialect=dialect)
    request = VideoRequest(prompt="an example", **_fields(fields, image_server))
    with (
        VideoGenClient(base_url, "sk-emulator") as client,
        pytest.raises(InvalidRequestError) as caught,
    ):
        client.create(request)
    assert caught.value.field == field
    assert words in str(caught.value)
    assert caught.value.status_code is None  # refused here, not by the server
    assert get_stats(base_url)["jobs"] == {}


@pytest.mark.parametrize("dialect", ["seed", "gateway"])
@pytest.mark.parametrize(("name", "fields", "size"), ACCEPTED, ids=[a[0] for a in ACCEPTED])
def test_accepted_examples_make_their_video(
    make_emulator, image_server, tmp_path, dialect, name, fields, size
):
    base_url = make_emulator(dialect=dialect, latency=0.1, fps=1, render_scale=0.25)
    request = VideoRequest(prompt="an example", **_fields(fields, image_server))
    with VideoGenClient(base_url, "sk-emulator") as client:
        job = client.create(request)
        done = client.wait(job.id, model=request.model, timeout=60, min_interval=0.05)
        client.download_content(done.id, tmp_path / "v.mp4")
    with av.open(str(tmp_path / "v.mp4")) as container:
        assert container.streams.video
    stats = get_stats(base_url)["jobs"][job.id]
    assert stats["mode"] == validate(request).mode
    if size is not None:
        assert stats["size"] == f"{size[0]}x{size[1]}"
