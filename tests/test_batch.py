"""generate_batch: manifests, deduplication, bounded concurrency, failures, cancellation."""

from __future__ import annotations

import asyncio
import csv
import json
import threading
import time
from pathlib import Path

import pytest
from plugins.emulator_fixtures import png_bytes
from prefect.client.orchestration import get_client

from prefect_videogen.credentials import VideoGenCredentials
from prefect_videogen.emulator import get_stats
from prefect_videogen.exceptions import InvalidRequestError, VideoGenerationFailed
from prefect_videogen.flows import generate_batch, load_manifest
from prefect_videogen.probe import probe_video
from prefect_videogen.records import StoredVideo

# fast_polling, isolated_results: tests/plugins/prefect_fixtures.py
pytestmark = pytest.mark.usefixtures("prefect_server", "fast_polling", "isolated_results")

MODEL = "emu-video"


def creds(base_url: str) -> VideoGenCredentials:
    return VideoGenCredentials(base_url=base_url, api_key="sk-emulator")


def creates(base_url: str) -> int:
    return get_stats(base_url)["requests"].get("create", 0)


class InFlight:
    """Samples the emulator's jobs and records the most that were generating at once."""

    def __init__(self, base_url: str) -> None:
        self.base_url = base_url
        self.peak = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.is_set():
            jobs = get_stats(self.base_url)["jobs"].values()
            running = sum(job["status"] in ("queued", "in_progress") for job in jobs)
            self.peak = max(self.peak, running)
            time.sleep(0.02)

    def __enter__(self) -> InFlight:
        self._thread.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._stop.set()
        self._thread.join(timeout=10)


def write_jsonl(path: Path, entries: list[dict]) -> Path:
    path.write_text("\n".join(json.dumps(entry) for entry in entries) + "\n\n")
    return path


async def test_jsonl_manifest_dedupes_and_bounds_concurrency(make_emulator, tmp_path):
    base_url = make_emulator(latency=0.4)
    (tmp_path / "frames").mkdir()
    (tmp_path / "frames" / "start.png").write_bytes(png_bytes(96, 64))
    manifest = write_jsonl(
        tmp_path / "batch.jsonl",
        [
            {"prompt": "one", "seconds": 2, "size": "96x64"},
            {"prompt": "two", "seconds": 2, "size": "96x64"},
            {"prompt": "one", "seconds": 2, "size": "96x64"},  # duplicate of the first
            {"prompt": "three", "seconds": 2, "size": "96x64", "image": "frames/start.png"},
            {"prompt": "four", "seconds": 2, "size": "96x64"},
            {"prompt": "five", "seconds": 2, "size": "96x64"},
        ],
    )
    with InFlight(base_url) as monitor:
        videos = await generate_batch(
            manifest=str(manifest),
            model=MODEL,
            credentials=creds(base_url),
            storage=str(tmp_path / "out"),
            max_concurrency=2,
        )
    assert len(videos) == 6
    assert videos[0].job_id == videos[2].job_id  # the duplicate was submitted once
    assert creates(base_url) == 5
    assert 1 <= monitor.peak <= 2
    assert videos[3].mode == "i2v"
    for video in videos:
        assert isinstance(video, StoredVideo)
        assert probe_video(video.location).size == "96x64"

    from prefect.client.schemas.filters import ArtifactFilter, ArtifactFilterType
    from prefect.client.schemas.sorting import ArtifactSort

    async with get_client() as client:  # newest first: the session's server holds many
        artifacts = await client.read_artifacts(
            artifact_filter=ArtifactFilter(type=ArtifactFilterType(any_=["table"])),
            sort=ArtifactSort.CREATED_DESC,
            limit=20,
        )
    tables = [a for a in artifacts if "6 stored, 0 failed" in str(a.data)]
    (summary,) = json.loads(tables[0].data)  # no failures: the summary row alone
    (table_csv,) = (tmp_path / "out" / "batches").glob("*.csv")  # the full table
    assert summary["uri"] == table_csv.as_uri()
    rows = list(csv.DictReader(table_csv.open()))
    assert [row["prompt"] for row in rows] == ["one", "two", "one", "three", "four", "five"]
    assert rows[0]["job_id"] == rows[2]["job_id"] and {r["status"] for r in rows} == {"stored"}


async def test_csv_manifest_with_params_and_attempts(make_emulator, tmp_path):
    base_url = make_emulator()
    manifest = tmp_path / "batch.csv"
    with manifest.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["prompt", "model", "seconds", "size", "params", "metadata", "attempt"])
        writer.writerow(["a dune", MODEL, "2", "96x64", '{"seed": 7}', "", ""])
        writer.writerow(["a dune", MODEL, "2", "96x64", '{"seed": 7}', "", "1"])
        writer.writerow(["an oasis", MODEL, "", "128x96", "", '{"tag": "csv"}', ""])
    entries = load_manifest(manifest)
    assert entries[0]["params"] == {"seed": 7} and "metadata" not in entries[0]
    videos = await generate_batch(
        manifest=str(manifest), credentials=creds(base_url), storage=str(tmp_path / "out")
    )
    assert videos[0].job_id != videos[1].job_id  # attempt 1 is a new submission
    assert [v.attempt for v in videos] == [0, 1, 0]
    assert probe_video(videos[2].location).size == "128x96"
    jobs = get_stats(base_url)["jobs"]
    assert jobs[videos[2].job_id]["request"]["metadata"]["tag"] == "csv"
    assert creates(base_url) == 3

    again = await generate_batch(
        manifest=str(manifest), credentials=creds(base_url), storage=str(tmp_path / "out")
    )
    assert [v.job_id for v in again] == [v.job_id for v in videos]
    assert creates(base_url) == 3  # the rerun submitted nothing


async def test_global_concurrency_limit_holds_every_job(make_emulator, tmp_path):
    base_url = make_emulator(latency=0.4)
    async with get_client() as client:
        await client.upsert_global_concurrency_limit_by_name("videogen-test-limit", 1)
    requests = [{"prompt": f"shot {n}", "seconds": 2, "size": "96x64"} for n in range(2)]
    with InFlight(base_url) as monitor:
        videos = await generate_batch(
            requests=requests,
            model=MODEL,
            credentials=creds(base_url),
            storage=str(tmp_path),
            max_concurrency=3,
            concurrency_limit="videogen-test-limit",
        )
    assert len({v.job_id for v in videos}) == 2
    assert monitor.peak == 1  # max_concurrency would have allowed both at once


async def test_missing_concurrency_limit_submits_nothing(make_emulator, tmp_path):
    base_url = make_emulator()
    with pytest.raises(Exception, match="videogen-no-such-limit"):
        await generate_batch(
            requests=[{"prompt": "x", "seconds": 2, "size": "96x64"}],
            model=MODEL,
            credentials=creds(base_url),
            storage=str(tmp_path),
            concurrency_limit="videogen-no-such-limit",
        )
    assert creates(base_url) == 0


async def test_rate_limit_is_taken_before_each_submission(make_emulator, tmp_path):
    base_url = make_emulator()
    with pytest.raises(Exception, match="videogen-no-such-rate-limit"):
        await generate_batch(
            requests=[{"prompt": "x", "seconds": 2, "size": "96x64"}],
            model=MODEL,
            credentials=creds(base_url),
            storage=str(tmp_path),
            rate_limit="videogen-no-such-rate-limit",
        )
    assert creates(base_url) == 0

    from prefect.client.schemas.actions import GlobalConcurrencyLimitCreate

    async with get_client() as client:
        await client.create_global_concurrency_limit(
            GlobalConcurrencyLimitCreate(
                name="videogen-test-rpm", limit=5, slot_decay_per_second=10
            )
        )
    videos = await generate_batch(
        requests=[{"prompt": f"paced {n}", "seconds": 2, "size": "96x64"} for n in range(2)],
        model=MODEL,
        credentials=creds(base_url),
        storage=str(tmp_path),
        rate_limit="videogen-test-rpm",
    )
    assert len({v.job_id for v in videos}) == 2


async def test_an_invalid_entry_fails_the_batch_before_any_submission(make_emulator, tmp_path):
    base_url = make_emulator()
    requests = [
        {"prompt": "fine", "model": "sora-2"},
        {"prompt": "not fine", "model": "sora-2", "size": "640x480"},
    ]
    with pytest.raises(InvalidRequestError) as info:
        await generate_batch(requests=requests, credentials=creds(base_url), storage=str(tmp_path))
    assert info.value.field == "requests[1].size"
    with pytest.raises(InvalidRequestError, match="unknown key"):
        await generate_batch(
            requests=[{"prompt": "x", "colour": "red"}], credentials=creds(base_url)
        )
    assert creates(base_url) == 0


async def test_failures_fail_the_batch_or_become_none(make_emulator, tmp_path):
    base_url = make_emulator(faults={"fail_prompts": {"cursed": "generation_failed"}})
    requests = [
        {"prompt": "a blessed tree", "seconds": 2, "size": "96x64"},
        {"prompt": "a cursed tree", "seconds": 2, "size": "96x64"},
    ]
    common = {"model": MODEL, "credentials": creds(base_url), "storage": str(tmp_path)}
    with pytest.raises(VideoGenerationFailed):
        await generate_batch(requests=requests, **common)
    videos = await generate_batch(requests=requests, allow_failures=True, **common)
    assert isinstance(videos[0], StoredVideo) and videos[1] is None
    assert creates(base_url) == 2  # the second batch reused both jobs


async def test_a_crashed_batch_keeps_its_jobs_for_the_rerun(make_emulator, tmp_path, caplog):
    # A crash or an interruption is not a user's cancellation: the paid job is kept, and
    # the rerun (the ledger has its record) stores its video without paying again.
    base_url = make_emulator(latency=30)
    batch = asyncio.create_task(
        generate_batch(
            requests=[{"prompt": "a very slow glacier", "seconds": 2, "size": "96x64"}],
            model=MODEL,
            credentials=creds(base_url),
            storage=str(tmp_path),
        )
    )
    for _ in range(600):
        if get_stats(base_url)["jobs"]:
            break
        await asyncio.sleep(0.05)
    (job_id,) = get_stats(base_url)["jobs"]
    await asyncio.sleep(0.3)  # the job is now being waited for
    batch.cancel()
    with pytest.raises(BaseException):  # noqa: B017 - cancelled or crashed, either is fine
        await batch
    assert job_id in get_stats(base_url)["jobs"]
    assert get_stats(base_url)["requests"].get("delete", 0) == 0
    assert f"Kept video job {job_id}" in caplog.text


async def test_one_task_run_per_video_and_one_progress_artifact(make_emulator, tmp_path):
    from prefect.client.schemas.filters import (
        ArtifactFilter,
        ArtifactFilterFlowRunId,
        FlowRunFilter,
        FlowRunFilterId,
    )
    from prefect.context import FlowRunContext
    from prefect.flows import flow

    base_url = make_emulator()
    seen: dict[str, object] = {}

    @flow
    async def parent():
        seen["parent"] = FlowRunContext.get().flow_run.id
        return await generate_batch(
            requests=[{"prompt": f"clip {i}", "seconds": 2, "size": "96x64"} for i in range(3)],
            model=MODEL,
            credentials=creds(base_url),
            storage=str(tmp_path),
        )

    videos = await parent()
    assert creates(base_url) == 3 and all(isinstance(v, StoredVideo) for v in videos)
    async with get_client() as client:
        (batch_run,) = await client.read_flow_runs(
            flow_run_filter=FlowRunFilter(parent_flow_run_id={"any_": [seen["parent"]]})
        )
        task_runs = await client.read_task_runs(
            flow_run_filter=FlowRunFilter(id=FlowRunFilterId(any_=[batch_run.id]))
        )
        artifacts = await client.read_artifacts(
            artifact_filter=ArtifactFilter(flow_run_id=ArtifactFilterFlowRunId(any_=[batch_run.id]))
        )
    names = sorted(run.name for run in task_runs)  # named by model and prompt slug
    assert names == [f"{MODEL}-clip-{i}" for i in range(3)]
    # One progress artifact for the whole batch (at 100 %) and its table; no per-video ones.
    # (Artifacts without a type are Prefect's references to persisted results.)
    assert sorted(a.type for a in artifacts if a.type) == ["progress", "table"]
    (progress,) = [a for a in artifacts if a.type == "progress"]
    assert float(progress.data) == 100.0


async def test_video_artifacts_can_be_asked_for(make_emulator, tmp_path):
    base_url = make_emulator()
    (video,) = await generate_batch(
        requests=[{"prompt": "an artful heron", "seconds": 2, "size": "96x64"}],
        model=MODEL,
        credentials=creds(base_url),
        storage=str(tmp_path),
        video_artifacts=True,
    )
    from prefect.client.schemas.filters import ArtifactFilter, ArtifactFilterKey

    from prefect_videogen.reporting import artifact_key

    key = artifact_key("video", video.job_id)
    async with get_client() as client:
        found = await client.read_artifacts(
            artifact_filter=ArtifactFilter(key=ArtifactFilterKey(any_=[key, f"{key}-summary"]))
        )
    assert sorted(a.key for a in found) == [key, f"{key}-summary"]  # the link, the markdown
