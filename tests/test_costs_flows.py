"""Budget guards in the flows against the emulator: refusals happen with 0 creates.

The emulator's answers carry no prices: every estimate comes from a price table that
this module points PREFECT_INTEGRATIONS_VIDEOGEN_PRICE_TABLE at (emu-video: 0.10/s).
"""

from __future__ import annotations

import asyncio
import json
import uuid

import pytest
from prefect.client.orchestration import get_client

from prefect_videogen.costs import DailyBudget
from prefect_videogen.credentials import VideoGenCredentials
from prefect_videogen.emulator import get_stats
from prefect_videogen.exceptions import BudgetExceededError
from prefect_videogen.flows import generate_batch, text_to_video
from prefect_videogen.records import StoredVideo
from prefect_videogen.reporting import emit_video_completed

pytestmark = pytest.mark.usefixtures("prefect_server", "fast_polling", "isolated_results")

MODEL = "emu-video"
CLIP = {"seconds": 2, "size": "96x64"}  # 2 s x 0.10 = 0.20 each


@pytest.fixture(autouse=True)
def emu_prices(tmp_path, monkeypatch):
    path = tmp_path / "prices.toml"
    path.write_text(
        '[[price]]\nmodels = ["emu-video"]\nper_second = { "64p" = 0.10 }\n'
        'source = "test"\nas_of = "2026-12-03"\n'
    )
    monkeypatch.setenv("PREFECT_INTEGRATIONS_VIDEOGEN_PRICE_TABLE", str(path))


def creds(base_url: str) -> VideoGenCredentials:
    return VideoGenCredentials(base_url=base_url, api_key="sk-emulator")


def creates(base_url: str) -> int:
    return get_stats(base_url)["requests"].get("create", 0)


def clips(*prompts: str, model: str = MODEL) -> list[dict]:
    return [{"prompt": p, "model": model, **CLIP} for p in prompts]


async def test_a_batch_over_max_cost_is_refused_with_no_create(make_emulator, tmp_path):
    base_url = make_emulator()
    with pytest.raises(BudgetExceededError) as info:
        await generate_batch(
            requests=clips("one", "two", "three"),
            credentials=creds(base_url),
            storage=str(tmp_path),
            max_cost=0.5,
        )
    assert info.value.estimate == pytest.approx(0.6) and info.value.cap == 0.5
    assert "0.60 USD" in str(info.value)
    assert creates(base_url) == 0


async def test_unknown_prices_are_refused_under_a_cap_unless_allowed(make_emulator, tmp_path):
    base_url = make_emulator()
    requests = [{"prompt": "x", "model": "emu-unpriced", **CLIP}]
    with pytest.raises(BudgetExceededError, match="emu-unpriced"):
        await generate_batch(
            requests=requests, credentials=creds(base_url), storage=str(tmp_path), max_cost=5
        )
    assert creates(base_url) == 0
    videos = await generate_batch(
        requests=requests,
        credentials=creds(base_url),
        storage=str(tmp_path),
        max_cost=5,
        allow_unknown_prices=True,
    )
    assert creates(base_url) == 1 and videos[0].estimated_cost.amount is None


def test_a_single_video_over_max_cost_is_refused_with_no_create(make_emulator, tmp_path):
    base_url = make_emulator()
    with pytest.raises(BudgetExceededError, match=r"max_cost=0\.1"):
        text_to_video(
            "a fox",
            model=MODEL,
            credentials=creds(base_url),
            storage=str(tmp_path),
            max_cost=0.1,
            **CLIP,
        )
    assert creates(base_url) == 0


async def test_dry_run_shows_the_costs_and_submits_nothing(make_emulator, tmp_path, capsys):
    from prefect.client.schemas.filters import ArtifactFilter, ArtifactFilterFlowRunId

    base_url = make_emulator()
    state = await generate_batch(
        requests=[*clips("one", "one", "two"), {"prompt": "odd", "model": "emu-unpriced", **CLIP}],
        credentials=creds(base_url),
        storage=str(tmp_path),
        dry_run=True,
        max_cost=0.3,
        return_state=True,
    )
    assert await state.result() == [None] * 4
    assert creates(base_url) == 0
    out = capsys.readouterr().out
    assert "0.20 USD" in out and "same as #0" in out and "unknown" in out
    assert "0.40 USD + 1 unknown" in out and "would be refused" in out

    async with get_client() as client:
        artifacts = await client.read_artifacts(
            artifact_filter=ArtifactFilter(
                flow_run_id=ArtifactFilterFlowRunId(any_=[state.state_details.flow_run_id])
            )
        )
    (table,) = [a for a in artifacts if a.type == "table"]
    rows = json.loads(table.data) if isinstance(table.data, str) else table.data
    assert [row["estimated_cost"] for row in rows[:4]] == ["0.20 USD"] * 3 + ["unknown"]
    assert [row["in_total"] for row in rows[:3]] == ["0.20 USD", "0.00 USD", "0.20 USD"]
    assert rows[-1]["#"] == "total"


async def test_costs_travel_with_the_videos_and_reruns_cost_nothing(make_emulator, tmp_path):
    base_url = make_emulator()
    requests = clips("one", "two")
    videos = await generate_batch(
        requests=requests, credentials=creds(base_url), storage=str(tmp_path)
    )
    assert creates(base_url) == 2
    for video in videos:
        assert video.estimated_cost.amount == pytest.approx(0.2)
        on_disk = StoredVideo.model_validate_json((tmp_path / video.sidecar_path).read_text())
        assert on_disk.estimated_cost == video.estimated_cost

    # The same batch again costs nothing (its jobs exist), so a tiny cap lets it through.
    again = await generate_batch(
        requests=requests, credentials=creds(base_url), storage=str(tmp_path), max_cost=0.01
    )
    assert creates(base_url) == 2 and [v.job_id for v in again] == [v.job_id for v in videos]
    # ...but one more video is paid for, and the cap sees it.
    with pytest.raises(BudgetExceededError, match=r"0\.20 USD"):
        await generate_batch(
            requests=clips("one", "two", "three"),
            credentials=creds(base_url),
            storage=str(tmp_path),
            max_cost=0.1,
        )
    assert creates(base_url) == 2


def test_the_completed_event_carries_the_estimate(monkeypatch):
    from prefect_videogen import reporting
    from prefect_videogen.costs import CostEstimate

    sent = {}
    monkeypatch.setattr(reporting, "_emit", lambda event, resource, payload: sent.update(payload))
    estimate = CostEstimate(model=MODEL, seconds=2, amount=0.2, unit_price=0.1)
    stored = StoredVideo(
        job_id="video_1",
        model=MODEL,
        storage="local-file-system",
        path="a.mp4",
        location="/tmp/a.mp4",
        uri="file:///tmp/a.mp4",
        sidecar_path="a.mp4.json",
        size_bytes=1,
        sha256="0" * 64,
        estimated_cost=estimate,
    )
    emit_video_completed(stored)
    assert sent["estimated_cost"]["amount"] == 0.2 and sent["estimated_cost"]["currency"] == "USD"


async def test_two_batches_share_a_daily_cap(make_emulator, tmp_path):
    base_url = make_emulator()
    budget = f"nightly-{uuid.uuid4().hex[:8]}"
    options = {"credentials": creds(base_url), "daily_cap": 0.5, "budget_name": budget}
    await generate_batch(requests=clips("a", "b"), storage=str(tmp_path / "a"), **options)
    assert creates(base_url) == 2
    assert await DailyBudget(budget, 0.5).aspent_today() == pytest.approx(0.4)
    with pytest.raises(BudgetExceededError, match="daily cap") as info:
        await generate_batch(requests=clips("c", "d"), storage=str(tmp_path / "b"), **options)
    assert info.value.field == "daily_cap"
    assert creates(base_url) == 2


async def test_concurrent_reservations_never_pass_the_cap():
    budget = DailyBudget(f"race-{uuid.uuid4().hex[:8]}", cap=1.0)
    outcomes = await asyncio.gather(
        *(budget.areserve(0.3) for _ in range(5)), return_exceptions=True
    )
    refused = [o for o in outcomes if isinstance(o, BudgetExceededError)]
    assert len(refused) == 2 and await budget.aspent_today() == pytest.approx(0.9)


def test_a_single_video_is_refused_when_the_days_budget_is_spent(make_emulator, tmp_path):
    base_url = make_emulator()
    name = f"single-{uuid.uuid4().hex[:8]}"
    DailyBudget(name, cap=1.0).reserve(0.9)  # another run spent most of today's budget
    with pytest.raises(BudgetExceededError, match=name):
        text_to_video(
            "a fox",
            model=MODEL,
            credentials=creds(base_url),
            storage=str(tmp_path),
            daily_cap=1.0,
            budget_name=name,
            **CLIP,
        )
    assert creates(base_url) == 0
    assert DailyBudget(name, cap=1.0).spent_today() == pytest.approx(0.9)


async def test_a_saved_price_table_block_is_named_by_the_setting(
    monkeypatch, make_emulator, tmp_path
):
    from prefect_videogen.costs import VideoGenPriceTable, estimate_cost

    name = f"gateway-{uuid.uuid4().hex[:8]}"
    VideoGenPriceTable(
        prices=[{"models": ["emu-*"], "per_second": {"64p": 0.5}, "source": "my gateway"}]
    ).save(name, _sync=True)
    monkeypatch.setenv("PREFECT_INTEGRATIONS_VIDEOGEN_PRICE_TABLE", f"videogen-price-table/{name}")
    estimate = await asyncio.to_thread(estimate_cost, {"model": MODEL, "prompt": "x", **CLIP})
    assert (estimate.amount, estimate.table) == (1.0, f"videogen-price-table/{name}")
    sora = await asyncio.to_thread(estimate_cost, {"model": "sora-2", "prompt": "x", "seconds": 4})
    assert sora.amount == pytest.approx(0.4)  # the package's table underneath

    # The flows and the sidecars use it too (loaded from inside a running event loop).
    base_url = make_emulator()
    with pytest.raises(BudgetExceededError, match=r"1\.00 USD"):
        await generate_batch(
            requests=clips("x"), credentials=creds(base_url), storage=str(tmp_path), max_cost=0.5
        )
    (video,) = await generate_batch(
        requests=clips("x"), credentials=creds(base_url), storage=str(tmp_path)
    )
    assert video.estimated_cost.amount == 1.0


async def test_spend_reads_the_folder_of_a_local_file_system_block(make_emulator, tmp_path, capsys):
    from prefect.filesystems import LocalFileSystem

    from prefect_videogen.cli import main

    base_url = make_emulator()
    name = f"videos-{uuid.uuid4().hex[:8]}"
    await LocalFileSystem(basepath=str(tmp_path)).save(name)
    await generate_batch(
        requests=clips("one", "two"),
        credentials=creds(base_url),
        storage=f"local-file-system/{name}",
    )
    assert await asyncio.to_thread(main, ["spend", f"local-file-system/{name}"]) == 0
    total = next(line for line in capsys.readouterr().out.splitlines() if line.startswith("total"))
    assert "0.40 USD" in total


async def test_spend_reads_sidecars_in_an_s3_bucket(make_emulator, s3_bucket):
    from prefect_videogen.costs import summarize_spend

    base_url = make_emulator()
    await generate_batch(
        requests=clips("one", "two", "one"), credentials=creds(base_url), storage=s3_bucket
    )
    name = f"spend-{uuid.uuid4().hex[:8]}"
    await s3_bucket.asave(name)
    for where in (s3_bucket, f"s3-bucket/{name}"):
        rows = await asyncio.to_thread(summarize_spend, where)
        assert len(rows) == 1, rows  # one day, one model: the duplicate entry is not counted
        (row,) = rows
        assert (row["model"], row["videos"], row["estimated_cost"]) == (
            MODEL,
            2,
            pytest.approx(0.4),
        )


async def test_spend_of_an_s3_bucket_never_reads_a_local_folder_of_the_same_name(
    make_emulator, s3_bucket, tmp_path, monkeypatch
):
    # The bucket's folder is `videos`; after the demo, ./videos holds local sidecars too.
    from prefect_videogen.costs import summarize_spend

    base_url = make_emulator()
    (video,) = await generate_batch(
        requests=clips("one"), credentials=creds(base_url), storage=s3_bucket
    )
    local = tmp_path / s3_bucket.bucket_folder
    local.mkdir()
    decoy = video.model_copy(update={"job_id": "video_local", "model": "wan2.5-t2v-preview"})
    (local / "decoy.mp4.json").write_bytes(decoy.sidecar_bytes())
    monkeypatch.chdir(tmp_path)
    rows = await asyncio.to_thread(summarize_spend, s3_bucket)
    assert [(row["model"], row["videos"]) for row in rows] == [(MODEL, 1)]
