"""The family registry (`family_for_model`, `FAMILIES`, `all_models`) and the shared checks."""

import pytest

from prefect_videogen.exceptions import InvalidRequestError
from prefect_videogen.families import FAMILIES, VideoRequest, all_models, family_for_model
from prefect_videogen.families.checks import deep_merge, nearest_ratio, parse_tier, parse_wxh
from prefect_videogen.images import ImageInput
from prefect_videogen.models import VideoStatus

SEED_MODELS = [
    "sora-2",
    "wan2.5-t2v-preview",
    "wan2.5-i2v-preview",
    "wan2.2-i2v-flash",
    "wan2.2-i2v-plus",
    "wanx2.1-i2v-plus",
    "wanx2.1-i2v-turbo",
    "kling-v1",
    "kling-v2-master",
    "jimeng_vgfm_t2v_l20",
    "jimeng_vgfm_i2v_l20",
    "viduq1",
]


def test_every_model_of_the_seed_document_has_a_spec():
    known = all_models()
    for model in SEED_MODELS:
        assert model in known


def test_registry_order_ends_with_the_generic_fallback():
    assert list(FAMILIES) == [
        *("sora", "wan", "kling", "jimeng", "vidu", "seedance", "hailuo", "veo", "generic")
    ]


@pytest.mark.parametrize("model", all_models())
def test_every_known_model_maps_to_the_family_holding_its_spec(model):
    family = family_for_model(model)
    assert model in family.specs
    assert family.spec(model).model == model


@pytest.mark.parametrize(
    ("model", "family"),
    [
        ("sora-2-2026-03-01", "sora"),
        ("wan2.7-i2v", "wan"),
        ("wanx2.1-t2v-turbo", "wan"),
        ("kling-v2-1-master", "kling"),
        ("jimeng_v30_pro", "jimeng"),
        ("viduq3-pro", "vidu"),
        ("veo-3.0-generate-001", "veo"),
        ("veo-3.2-generate-preview", "veo"),
        ("MiniMax-Hailuo-02", "hailuo"),
        ("minimax-hailuo-3", "hailuo"),
        ("I2V-01-live", "hailuo"),
        ("doubao-seedance-1-0-pro-250528", "seedance"),
        ("doubao-seedance-2-5-260628", "seedance"),
        ("happyhorse-1.0-t2v", "generic"),
        ("", "generic"),
    ],
)
def test_unknown_names_go_by_prefix_else_generic(model, family):
    assert family_for_model(model).name == family


def test_prefix_matched_models_get_a_lenient_spec():
    spec = family_for_model("kling-v4").spec("kling-v4")
    assert spec.model == "kling-v4"
    assert spec.seconds == ()  # any duration
    assert spec.modes == {"t2v", "i2v", "keyframe"}


def test_a_family_refuses_a_model_it_does_not_serve():
    with pytest.raises(InvalidRequestError) as caught:
        FAMILIES["vidu"].validate(VideoRequest(model="wan2.2-i2v-flash", prompt="p"))
    assert caught.value.field == "model"
    assert "viduq1" in str(caught.value) and "vidu*" in str(caught.value)


URL = "https://example.com/a.png"


@pytest.mark.parametrize(
    "request_",
    [
        VideoRequest(model="sora-2", prompt="p"),
        VideoRequest(model="wan2.5-t2v-preview", prompt="p", size="1280x720"),
        VideoRequest(
            model="wan2.2-kf2v-flash",
            prompt="p",
            first_frame=ImageInput.from_url(URL),
            last_frame=ImageInput.from_url(URL),
        ),
        VideoRequest(model="kling-v1", prompt="p", size="720x1280"),
        VideoRequest(model="jimeng_vgfm_t2v_l20", prompt="p", size="4:3"),
        VideoRequest(model="viduq1", prompt="p", size="1080P"),
        VideoRequest(model="some-new-model", prompt="p", size="720P", params={"x": 1}),
    ],
)
def test_validate_is_idempotent_and_every_body_is_json_or_multipart(request_):
    family = family_for_model(request_.model)
    once = family.validate(request_)
    assert family.validate(once) == once
    assert once.fingerprint() == family.validate(once).fingerprint()
    encoded = family.encode(once)
    assert (encoded.json is None) != (encoded.data is None)
    body = encoded.json or encoded.data
    assert body["model"] == request_.model and body["prompt"] == "p"


@pytest.mark.parametrize(
    ("family", "word", "status"),
    [
        ("jimeng", "generating", VideoStatus.IN_PROGRESS),
        ("jimeng", "done", VideoStatus.COMPLETED),
        ("kling", "succeed", VideoStatus.COMPLETED),
        ("vidu", "success", VideoStatus.COMPLETED),
        ("wan", "CANCELED", VideoStatus.FAILED),
        ("sora", "in_progress", VideoStatus.IN_PROGRESS),
    ],
)
def test_families_read_their_providers_status_words(family, word, status):
    job = FAMILIES[family].parse_job({"id": "task_1", "status": word})
    assert job.status is status


def test_unknown_parameter_lists_the_allowed_names():
    with pytest.raises(InvalidRequestError) as caught:
        family_for_model("viduq1").validate(
            VideoRequest(model="viduq1", prompt="p", params={"movement": "large"})
        )
    assert caught.value.field == "params.movement"
    assert caught.value.allowed == ["seed", "movement_amplitude", "bgm", "callback_url"]
    assert caught.value.model == "viduq1"


@pytest.mark.parametrize(
    ("text", "parsed"),
    [
        ("1280x720", (1280, 720)),
        ("1280*720", (1280, 720)),
        (" 1280 X 720 ", (1280, 720)),
        ("1280\u00d7720", (1280, 720)),
        ("720P", None),
        ("1280x", None),
    ],
)
def test_parse_wxh(text, parsed):
    assert parse_wxh(text) == parsed


@pytest.mark.parametrize(
    ("text", "lines"),
    [("720P", 720), ("720p", 720), ("720", 720), ("720x1280", None), ("HD", None)],
)
def test_parse_tier(text, lines):
    assert parse_tier(text) == lines


def test_nearest_ratio_has_a_two_percent_tolerance():
    ratios = ["16:9", "9:16", "1:1", "21:9"]
    assert nearest_ratio(1920, 1080, ratios) == "16:9"
    assert nearest_ratio(2560, 1080, ratios) == "21:9"  # 64:27 is 1.6 % off 21:9
    assert nearest_ratio(1000, 700, ratios) is None
    assert nearest_ratio(0, 700, ratios) is None


def test_deep_merge_merges_nested_dicts_and_replaces_the_rest():
    base = {"input": {"a": 1, "b": 2}, "parameters": {"x": 1}, "list": [1]}
    merged = deep_merge(base, {"input": {"b": 3}, "parameters": 5, "list": [2]})
    assert merged == {"input": {"a": 1, "b": 3}, "parameters": 5, "list": [2]}
    assert base["input"] == {"a": 1, "b": 2}  # the inputs are not changed
