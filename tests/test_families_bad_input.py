"""Bad input on `VideoRequest` and the families: a typed error naming the field, no network.

Every mistake a caller can make is an `InvalidRequestError` (never a pydantic
ValidationError, UnicodeEncodeError or TypeError), raised before any request is sent.
"""

from __future__ import annotations

import pytest

from prefect_videogen import VideoGenClient
from prefect_videogen.emulator import get_stats
from prefect_videogen.exceptions import InvalidRequestError
from prefect_videogen.families import FAMILIES, VideoRequest, family_for_model
from prefect_videogen.families.base import MAX_METADATA_BYTES
from prefect_videogen.families.generic import MAX_GENERIC_METADATA_BYTES

CASES = [
    ({"seconds": "4.5"}, "seconds", "whole number"),
    ({"seconds": 4.5}, "seconds", "whole number"),
    ({"seconds": True}, "seconds", "whole number"),
    ({"seconds": [4]}, "seconds", "whole number"),
    ({"metadata": {1: "x"}}, "metadata", "not a string"),
    ({"params": {2: "x"}}, "params", "not a string"),
    ({"prompt": "a \ud800 fox"}, "prompt", "lone surrogate"),
    ({"prompt": "a \x00 fox"}, "prompt", "NUL"),
    ({"model": "wan\x002.5"}, "model", "NUL"),
    ({"size": "720\udfffp"}, "size", "lone surrogate"),
    ({"metadata": {"note": "a\x00b"}}, "metadata.note", "NUL"),
    ({"metadata": {"a\ud83d": 1}}, "metadata key", "lone surrogate"),
    ({"params": {"negative_prompt": ["ok", "\x00"]}}, "params.negative_prompt[1]", "NUL"),
    ({"prompt": None}, "prompt", "a string"),
    ({"prompt": 12}, "prompt", "a string"),
    ({"model": [1]}, "model", "a model name"),
    ({"size": {"w": 1}}, "size", "a string"),
    ({"first_frame": "https://example.com/a.png"}, "first_frame", "ImageInput.from_url"),
    ({"metadata": "{}"}, "metadata", "a dict"),
    ({"duration": 5}, "duration", "the duration is `seconds`"),
]


@pytest.mark.parametrize(("fields", "field", "words"), CASES)
def test_video_request_raises_invalid_request_error_naming_the_field(fields, field, words):
    with pytest.raises(InvalidRequestError) as caught:
        VideoRequest(**{"model": "wan2.5-t2v-preview", "prompt": "a fox", **fields})
    assert caught.value.field == field
    assert words in str(caught.value)
    str(caught.value).encode("utf-8")  # the message itself is printable, loggable text


def test_model_validate_of_a_dict_gives_the_same_typed_error():
    with pytest.raises(InvalidRequestError) as caught:
        VideoRequest.model_validate({"model": "kling-v1", "prompt": "p", "seconds": "4.5"})
    assert caught.value.field == "seconds"
    with pytest.raises(InvalidRequestError) as caught:
        VideoRequest.model_validate({"model": "kling-v1", "prompt": "p", "lenght": 4})
    assert caught.value.field == "lenght"


def test_a_missing_prompt_is_named():
    with pytest.raises(InvalidRequestError) as caught:
        VideoRequest(model="sora-2")
    assert caught.value.field == "prompt"


def test_whole_seconds_written_as_text_or_float_are_read():
    assert VideoRequest(model="kling-v1", prompt="p", seconds="8").seconds == 8
    assert VideoRequest(model="kling-v1", prompt="p", seconds=8.0).seconds == 8


# --------------------------------------------------------------------------- metadata caps


@pytest.mark.parametrize(
    ("model", "cap"),
    [
        ("wan2.5-t2v-preview", MAX_METADATA_BYTES),
        ("doubao-seedance-1-0-pro-250528", MAX_METADATA_BYTES),
        ("kling-v1", MAX_METADATA_BYTES),
        ("emu-video", MAX_GENERIC_METADATA_BYTES),
    ],
)
def test_metadata_is_capped_per_family(model, cap):
    family = family_for_model(model)
    key = {
        "wan": "parameters",
        "seedance": "callback_url",
        "kling": "negative_prompt",
    }.get(family.name, "note")
    value = {"seed": 1, "x": "a" * cap} if key == "parameters" else "a" * cap
    with pytest.raises(InvalidRequestError) as caught:
        family.validate(VideoRequest(model=model, prompt="p", metadata={key: value}))
    assert caught.value.field == "metadata"
    assert f"at most {cap} bytes" in str(caught.value)


def test_every_provider_family_documents_its_metadata_cap():
    for family in FAMILIES.values():
        if family.name != "generic":
            assert family.max_metadata_bytes == MAX_METADATA_BYTES


def test_bad_input_never_reaches_the_server(emulator):
    before = get_stats(emulator)["submissions"]
    with VideoGenClient(emulator, "sk-emulator") as client:
        for fields, field, _ in CASES[:3]:
            with pytest.raises(InvalidRequestError) as caught:
                client.create(VideoRequest(**{"model": "kling-v1", "prompt": "p", **fields}))
            assert caught.value.field == field
        with pytest.raises(InvalidRequestError):
            client.create(
                VideoRequest(model="kling-v1", prompt="p", metadata={"note": "a" * 20000})
            )
    assert get_stats(emulator)["submissions"] == before


@pytest.mark.parametrize(
    ("prompt", "words"),
    [("", "non-empty"), ("a" * 32001, "32000"), ("night\x00", "NUL"), ("\udc00", "surrogate")],
)
def test_remix_checks_its_prompt_like_create_before_any_call(emulator, prompt, words):
    before = get_stats(emulator)["requests"].get("remix", 0)
    with (
        VideoGenClient(emulator, "sk-emulator") as client,
        pytest.raises(InvalidRequestError) as caught,
    ):
        client.remix("video_123", prompt)
    assert caught.value.field == "prompt"
    assert words in str(caught.value)
    assert get_stats(emulator)["requests"].get("remix", 0) == before
