"""The families' contract (base.py), the shared size grammar (sizes.py) and the 2026-12 tables."""

from __future__ import annotations

from typing import ClassVar

import pytest
from pydantic import BaseModel, ConfigDict

from prefect_videogen.exceptions import InvalidRequestError
from prefect_videogen.families import FAMILIES, VideoRequest, family_for_model
from prefect_videogen.families.base import (
    EncodedRequest,
    ImageRules,
    ModelSpec,
    ProviderFamily,
)
from prefect_videogen.families.sizes import parse_ratio, parse_size, parse_tier, parse_wxh
from prefect_videogen.images import ImageInput
from prefect_videogen.probe import check_matches
from prefect_videogen.probe import parse_size as probe_parse_size
from prefect_videogen.records import VideoProbe
from tests.plugins.emulator_fixtures import png_bytes

URL = "https://example.com/a.png"

# --------------------------------------------------------------------------- size grammar


@pytest.mark.parametrize(
    ("text", "kind", "dims", "lines", "ratio"),
    [
        ("1280x720", "wxh", (1280, 720), 720, None),
        (" 1280 * 720 ", "wxh", (1280, 720), 720, None),
        ("720X1280", "wxh", (720, 1280), 720, None),
        ("1280\u00d7720", "wxh", (1280, 720), 720, None),
        ("720P", "tier", None, 720, None),
        ("1080p", "tier", None, 1080, None),
        ("768", "tier", None, 768, None),
        ("4k", "tier", None, 2160, None),
        ("16:9", "ratio", None, None, (16, 9)),
        ("21 : 9", "ratio", None, None, (21, 9)),
    ],
)
def test_one_size_grammar(text, kind, dims, lines, ratio):
    size = parse_size(text)
    assert size is not None
    assert (size.kind, size.dims, size.short_side, size.ratio) == (kind, dims, lines, ratio)


@pytest.mark.parametrize("text", ["", "big", "16:0", "x720", "1280x", "720pp", "0:9"])
def test_what_is_not_a_size(text):
    assert parse_size(text) is None


def test_probe_reads_sizes_with_the_same_grammar():
    assert probe_parse_size("1280*720") == parse_wxh("1280*720") == (1280, 720)
    assert parse_tier("720") == 720 and parse_ratio("9:16") == (9, 16)
    probe = VideoProbe(width=1366, height=768, duration=6.0, fps=24, codec="h264")
    check_matches({"size": "768P", "seconds": 6}, probe)
    check_matches({"size": "768", "seconds": 6}, probe)  # a tier without P reads the same


# --------------------------------------------------------------------------- the template


class ToyParams(BaseModel):
    model_config = ConfigDict(extra="forbid")

    loud: bool | None = None


class ToyFamily(ProviderFamily):
    """A new family written as the contract intends: tables and only what is its own."""

    name = "toy"
    prefixes = ("toy-",)
    specs: ClassVar[dict[str, ModelSpec]] = {
        "toy-1": ModelSpec(
            model="toy-1",
            modes=frozenset({"t2v", "i2v"}),
            seconds=(3, 6),
            sizes=("640x360",),
            default_seconds=3,
            default_size="640x360",
        )
    }
    lenient = specs["toy-1"]
    params_model = ToyParams
    image_rules = ImageRules(media_types=("image/png",), min_side=100, http_urls=False)
    metadata_keys = frozenset({"trace"})

    def encode(self, request):
        return EncodedRequest(json={"model": request.model})


def test_a_new_family_writes_only_its_tables_and_gets_every_check():
    family = ToyFamily()
    image = ImageInput.from_bytes(png_bytes(200, 200))
    request = family.validate(
        VideoRequest(model="toy-1", prompt="p", first_frame=image, params={"loud": True})
    )
    assert (request.seconds, request.size, request.mode) == (3, "640x360", "i2v")
    checks = [
        ({"seconds": 4}, "seconds"),
        ({"params": {"quiet": True}}, "params.quiet"),
        ({"metadata": {"other": 1}}, "metadata.other"),
        ({"metadata": {"trace": "x" * 20000}}, "metadata"),
        ({"first_frame": ImageInput.from_url(URL)}, "first_frame"),
        ({"first_frame": ImageInput.from_bytes(png_bytes(50, 50))}, "first_frame"),
        ({"prompt": "a" * 40000}, "prompt"),
        ({"first_frame": image, "last_frame": image}, "last_frame"),
    ]
    for fields, field in checks:
        with pytest.raises(InvalidRequestError) as caught:
            family.validate(VideoRequest(**{"model": "toy-1", "prompt": "p", **fields}))
        assert caught.value.field == field, fields


def test_every_provider_family_uses_the_template():
    for family in FAMILIES.values():
        if family.name == "generic":
            continue
        assert isinstance(family, ProviderFamily)
        assert type(family).validate is ProviderFamily.validate
        assert isinstance(family.image_rules, ImageRules)


# --------------------------------------------------------------------------- tables (2026-12)


@pytest.mark.parametrize(
    ("fields", "seconds", "size"),
    [
        ({"model": "wan2.6-t2v", "seconds": 15}, 15, "1280*720"),
        ({"model": "wan2.6-i2v", "first_frame": ImageInput.from_url(URL)}, 5, "1080P"),
        ({"model": "wan2.7-t2v", "seconds": 2, "size": "1920x1080"}, 2, "1920*1080"),
        (
            {
                "model": "wan2.7-i2v",
                "first_frame": ImageInput.from_url(URL),
                "last_frame": ImageInput.from_url(URL + "?2"),
            },
            5,
            "720P",
        ),
        ({"model": "kling-v3", "seconds": 3}, 3, "16:9"),
        ({"model": "kling-v3", "seconds": 15, "size": "9:16"}, 15, "9:16"),
        ({"model": "kling-v2-5-turbo", "seconds": 10}, 10, "16:9"),
        ({"model": "jimeng_v30_1080p", "seconds": 10}, 10, "16:9"),
        ({"model": "jimeng_i2v_first_v30", "first_frame": ImageInput.from_url(URL)}, 5, "16:9"),
        ({"model": "viduq3-pro", "seconds": 16, "size": "1080p"}, 16, "1080p"),
        ({"model": "viduq2-turbo", "first_frame": ImageInput.from_url(URL)}, 5, "720p"),
    ],
)
def test_new_table_rows_are_accepted(fields, seconds, size):
    family = family_for_model(fields["model"])
    assert family.is_known(fields["model"])  # a strict spec, not the lenient one
    request = family.validate(VideoRequest(prompt="p", **fields))
    assert (request.seconds, request.size) == (seconds, size)


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"model": "wan2.7-t2v", "size": "832*480"}, "size"),  # no 480P tier
        ({"model": "wan2.7-i2v", "size": "480P", "first_frame": ImageInput.from_url(URL)}, "size"),
        ({"model": "wan2.6-t2v", "seconds": 12}, "seconds"),
        ({"model": "kling-v3", "seconds": 2}, "seconds"),
        ({"model": "kling-v2-6", "seconds": 7}, "seconds"),
        (
            {
                "model": "kling-v2-1-master",
                "first_frame": ImageInput.from_url(URL),
                "last_frame": ImageInput.from_url(URL),
            },
            "last_frame",
        ),
        ({"model": "kling-v2-6", "params": {"sound": "on"}}, "params.sound"),
        ({"model": "kling-v2-5-turbo", "params": {"cfg_scale": 0.4}}, "params.cfg_scale"),
        ({"model": "jimeng_v30_pro", "seconds": 8}, "seconds"),
        ({"model": "jimeng_t2v_v30", "first_frame": ImageInput.from_url(URL)}, "first_frame"),
        ({"model": "viduq2-pro"}, "first_frame"),
        ({"model": "viduq3-turbo", "seconds": 17}, "seconds"),
    ],
)
def test_new_table_rows_refuse_what_the_model_does_not_take(fields, field):
    family = family_for_model(fields["model"])
    with pytest.raises(InvalidRequestError) as caught:
        family.validate(VideoRequest(prompt="p", **fields))
    assert caught.value.field == field


def test_audio_is_recorded_in_the_tables():
    assert family_for_model("kling-v3").spec("kling-v3").audio
    assert not family_for_model("kling-v2-1-master").spec("kling-v2-1-master").audio
    assert family_for_model("wan2.6-t2v").spec("wan2.6-t2v").audio
    assert family_for_model("doubao-seedance-2-0-260128").spec("doubao-seedance-2-0-260128").audio
