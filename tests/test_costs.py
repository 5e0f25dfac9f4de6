"""Price table, estimates, budget checks and spend records, without a server."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest

from prefect_videogen.cli import main
from prefect_videogen.costs import (
    CostEstimate,
    PriceTable,
    VideoGenPriceTable,
    check_max_cost,
    default_price_table,
    estimate_batch,
    estimate_cost,
    load_price_table,
    summarize_spend,
)
from prefect_videogen.exceptions import BudgetExceededError, InvalidRequestError
from prefect_videogen.records import StoredVideo, Timings

#: Models the gateways serve today (live-servers-2026-12 §4) that must have a row.
GATEWAY_MODELS = [
    "doubao-seedance-1-0-pro-250528",
    "doubao-seedance-1-0-lite-t2v",
    "doubao-seedance-1-5-pro-251215",
    "doubao-seedance-2-0-260128",
    "doubao-seedance-2-0-fast-260128",
    "MiniMax-Hailuo-2.3",
    "MiniMax-Hailuo-2.3-Fast",
    "MiniMax-Hailuo-02",
    "veo-3.0-generate-001",
    "veo-3.0-fast-generate-001",
    "veo-3.1-generate-preview",
    "veo-3.1-fast-generate-001",
    "wan2.7-t2v",
    "wan2.5-t2v-preview",
    "kling-v2-1-master",
    "jimeng_v30",
    "viduq2",
    "sora-2",
    "sora-2-pro",
]


def cost(**request) -> CostEstimate:
    return estimate_cost({"prompt": "a lighthouse at dusk", **request})


def test_every_bundled_row_says_where_its_price_comes_from_and_when():
    table = default_price_table()
    assert table.currency == "USD" and table.rows
    for row in table.rows:
        assert row.source and row.as_of, row.models
        assert all(price > 0 for price in row.per_second.values()), row.models


@pytest.mark.parametrize("model", GATEWAY_MODELS)
def test_models_of_todays_gateways_have_a_row(model):
    row, _ = default_price_table().row_for(model)
    assert row is not None, model


@pytest.mark.parametrize(
    ("request_", "amount", "tier"),
    [
        ({"model": "sora-2", "seconds": 8}, 0.80, "720p"),
        ({"model": "sora-2-pro", "seconds": 4, "size": "1792x1024"}, 2.00, "1024p"),
        ({"model": "sora-2-pro", "seconds": 4, "size": "1280x720"}, 1.20, "720p"),
        ({"model": "veo-3.1-fast-generate-001", "seconds": 8, "size": "1920x1080"}, 0.96, "1080p"),
        ({"model": "veo-3.1-generate-preview"}, 3.20, "720p"),  # 8 s by default
        (
            {"model": "doubao-seedance-2-0-fast-260128", "seconds": 5, "size": "480p"},
            0.265449,
            "480p",
        ),
        ({"model": "MiniMax-Hailuo-2.3", "seconds": 10}, 0.52, "768p"),  # a clip price
        ({"model": "wan2.7-t2v", "seconds": 5, "size": "1280*720"}, 0.43006, "720p"),
    ],
)
def test_estimates_of_priced_models(request_, amount, tier):
    estimate = cost(**request_)
    assert estimate.amount == pytest.approx(amount, abs=1e-6)
    assert estimate.tier == tier and estimate.currency == "USD" and estimate.source


def test_the_tier_can_come_from_a_parameter_and_sound_changes_the_price():
    base = {"model": "doubao-seedance-1-5-pro-251215", "seconds": 5}
    silent = cost(**base, params={"resolution": "1080p", "generate_audio": False})
    loud = cost(**base, params={"resolution": "1080p"})  # sound on by default
    assert silent.tier == loud.tier == "1080p"
    assert (silent.audio, loud.audio) == (False, True)
    assert loud.amount == pytest.approx(2 * silent.amount)


@pytest.mark.parametrize(
    ("request_", "reason"),
    [
        ({"model": "emu-video", "seconds": 4}, "no price for model 'emu-video'"),
        ({"model": "kling-v2-master"}, "no known price"),
        ({"model": "MiniMax-Hailuo-2.3", "seconds": 6, "size": "1080P"}, "1080P"),
        ({"model": "some-new-model"}, "no price for model"),
    ],
)
def test_unknown_prices_say_unknown_never_zero(request_, reason):
    estimate = cost(**request_)
    assert estimate.amount is None and not estimate.known
    assert estimate.display() == "unknown" and reason in str(estimate)


def test_a_bad_request_is_refused_before_pricing():
    with pytest.raises(InvalidRequestError) as info:
        cost(model="sora-2", seconds=7)
    assert info.value.field == "seconds"


def write_table(path, text):
    path.write_text(text, encoding="utf-8")
    return path


def test_a_user_table_is_matched_first_and_falls_back_on_the_package(tmp_path):
    path = write_table(
        tmp_path / "gateway.toml",
        """
currency = "USD"
[[price]]
models = ["sora-2"]
per_second = { "720p" = 0.05 }
source = "my gateway"
as_of = "2026-12-01"
[[price]]
models = ["kling-v2*"]
tier_param = "mode"
default_tier = "std"
per_second = { std = 0.04, pro = 0.08 }
source = "my gateway"
as_of = "2026-12-01"
""",
    )
    table = load_price_table(path)
    assert estimate_cost({"model": "sora-2", "prompt": "x", "seconds": 4}, table).amount == 0.2
    pro = estimate_cost(
        {"model": "kling-v2-master", "prompt": "x", "params": {"mode": "pro"}}, table
    )
    assert (pro.tier, pro.amount, pro.table) == ("pro", 0.4, str(path))
    veo = estimate_cost({"model": "veo-3.1-generate-001", "prompt": "x", "seconds": 4}, table)
    assert veo.amount == 1.6 and veo.table == "prefect-videogen prices.toml"


def test_the_setting_points_at_a_table(tmp_path, monkeypatch):
    path = write_table(
        tmp_path / "prices.json",
        json.dumps({"price": [{"models": ["emu-*"], "per_second": {"720p": 0.01}}]}),
    )
    monkeypatch.setenv("PREFECT_INTEGRATIONS_VIDEOGEN_PRICE_TABLE", str(path))
    assert cost(model="emu-video", seconds=4, size="1280x720").amount == 0.04


def test_a_table_in_another_currency_does_not_mix_with_the_package(tmp_path):
    text = '[[price]]\nmodels = ["wan*"]\nper_second = { "720p" = 0.6 }\n'
    with pytest.raises(InvalidRequestError, match="include_defaults"):
        load_price_table(write_table(tmp_path / "a.toml", 'currency = "CNY"\n' + text))
    alone = load_price_table(
        write_table(tmp_path / "b.toml", 'currency = "CNY"\ninclude_defaults = false\n' + text)
    )
    assert alone.currency == "CNY" and alone.fallback is None


def test_a_malformed_table_names_what_is_wrong(tmp_path):
    path = write_table(tmp_path / "bad.toml", '[[price]]\nmodels = ["x"]\nper_sec = 1\n')
    with pytest.raises(InvalidRequestError, match=r"price\.0\.per_sec"):
        load_price_table(path)


def test_the_block_builds_a_table_over_the_package():
    block = VideoGenPriceTable(prices=[{"models": ["sora-2"], "per_second": {"720p": 0.07}}])
    table = block.price_table()
    assert isinstance(table, PriceTable) and table.fallback is not None
    assert estimate_cost({"model": "sora-2", "prompt": "x", "seconds": 4}, block).amount == 0.28


def test_a_batch_pays_once_for_repeated_entries():
    fox = {"model": "sora-2", "prompt": "a fox", "seconds": 4}
    batch = estimate_batch([fox, fox, fox], attempts=[0, 0, 1])
    assert batch.duplicate_of == [None, 0, None]
    assert batch.total == pytest.approx(0.8) and batch.payable == [0, 2]
    assert batch.cost_in_tally(1) == 0.0


def test_max_cost_refuses_above_the_cap_and_unknown_prices_unless_told():
    batch = estimate_batch([{"model": "sora-2", "prompt": "a fox", "seconds": 12}] * 1)
    check_max_cost(batch, 1.2)
    with pytest.raises(BudgetExceededError) as info:
        check_max_cost(batch, 1.0)
    error = info.value
    assert isinstance(error, InvalidRequestError) and error.field == "max_cost"
    assert (error.estimate, error.cap) == (pytest.approx(1.2), 1.0)
    assert "1.20 USD" in str(error) and "dry_run=True" in str(error)

    unknown = estimate_batch([{"model": "emu-video", "prompt": "x"}])
    with pytest.raises(BudgetExceededError, match="allow_unknown_prices=True"):
        check_max_cost(unknown, 100.0)
    check_max_cost(unknown, 100.0, allow_unknown_prices=True)


def sidecar(root, name, job_id, model, amount, day="2026-12-01"):
    when = datetime.fromisoformat(f"{day}T23:30:00+00:00").astimezone(UTC)
    estimate = (
        CostEstimate(model=model, seconds=4, amount=amount, currency="USD")
        if amount is not None
        else CostEstimate(model=model, reason="no price")
    )
    video = StoredVideo(
        job_id=job_id,
        model=model,
        storage="local-file-system",
        path=name,
        location=str(root / name),
        uri=f"file://{root / name}",
        sidecar_path=f"{name}.json",
        size_bytes=1,
        sha256="0" * 64,
        timings=Timings(submitted_at=when, stored_at=when),
        estimated_cost=estimate,
    )
    path = root / f"{name}.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(video.model_dump_json())


def test_spend_sums_sidecars_by_day_and_model_and_counts_a_job_once(tmp_path, capsys):
    sidecar(tmp_path, "sora-2/a.mp4", "video_a", "sora-2", 0.4)
    sidecar(tmp_path, "rerun/a.mp4", "video_a", "sora-2", 0.4, day="2026-12-02")  # same job
    sidecar(tmp_path, "sora-2/b.mp4", "video_b", "sora-2", 0.8)
    sidecar(tmp_path, "emu/c.mp4", "video_c", "emu-video", None)
    sidecar(tmp_path, "veo/d.mp4", "video_d", "veo-3.1-generate-001", 3.2, day="2026-12-02")
    (tmp_path / "notes.json").write_text('{"not": "a sidecar"}')

    rows = summarize_spend(tmp_path)
    assert [
        (r["day"], r["model"], r["videos"], r["estimated_cost"], r["unknown"]) for r in rows
    ] == [
        ("2026-12-01", "emu-video", 1, 0.0, 1),
        ("2026-12-01", "sora-2", 2, pytest.approx(1.2), 0),
        ("2026-12-02", "veo-3.1-generate-001", 1, 3.2, 0),
    ]

    assert main(["spend", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert "sora-2" in out and "1.20 USD" in out
    total = next(line for line in out.splitlines() if line.startswith("total"))
    assert "4.40 USD" in total and total.split()[-1] == "1"  # one video of unknown price

    assert main(["spend", str(tmp_path), "--json"]) == 0
    assert len(json.loads(capsys.readouterr().out)) == 3


def test_spend_of_a_missing_folder_is_an_error(tmp_path, capsys):
    assert main(["spend", str(tmp_path / "nope")]) == 2
    assert "not a folder" in capsys.readouterr().err
