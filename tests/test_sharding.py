"""The sharded batch's guards: host-local setups and ignored task runners are refused.

The sharded run itself (a real server, a work pool, two process workers) is in
tests/e2e/test_e2e_sharding.py.
"""

from __future__ import annotations

import asyncio

import pytest
from prefect.task_runners import ProcessPoolTaskRunner, ThreadPoolTaskRunner

from prefect_videogen.emulator import get_stats
from prefect_videogen.exceptions import InvalidRequestError
from prefect_videogen.flows import generate_batch, generate_batch_sharded
from prefect_videogen.sharding import HostLocalSetupError, host_local_parts, split_into_shards

pytestmark = pytest.mark.usefixtures("prefect_server", "fast_polling", "isolated_results")

ENTRIES = [{"prompt": "a fox"}, {"prompt": "a heron"}]


def test_equal_requests_stay_in_one_shard():
    assert split_into_shards(["a", "b", "a", "c", "d"], 2) == [[0, 2, 3], [1, 4]]
    assert split_into_shards(["a", "a"], 4) == [[0, 1]]  # no empty shards


def test_a_host_local_setup_is_refused_before_anything_runs(monkeypatch, tmp_path):
    monkeypatch.setenv("PREFECT_INTEGRATIONS_VIDEOGEN_LOCK_DIR", str(tmp_path))
    with pytest.raises(HostLocalSetupError) as refused:
        asyncio.run(generate_batch_sharded(requests=ENTRIES, deployment="no-such/deployment"))
    message = str(refused.value)
    assert "PREFECT_INTEGRATIONS_VIDEOGEN_LOCK_MANAGER=redis://" in message
    assert "PREFECT_RESULTS_DEFAULT_STORAGE_BLOCK" in message
    assert "single_host=True" in message


def test_redis_locks_and_an_s3_result_store_are_shared(redis_locks, s3_bucket):
    from prefect.settings import PREFECT_RESULTS_DEFAULT_STORAGE_BLOCK, temporary_settings

    s3_bucket.save("sharding-results", overwrite=True)
    with temporary_settings({PREFECT_RESULTS_DEFAULT_STORAGE_BLOCK: "s3-bucket/sharding-results"}):
        assert host_local_parts() == []


def test_a_local_folder_as_default_result_storage_is_host_local(redis_locks, tmp_path):
    from prefect.filesystems import LocalFileSystem
    from prefect.settings import PREFECT_RESULTS_DEFAULT_STORAGE_BLOCK, temporary_settings

    LocalFileSystem(basepath=str(tmp_path)).save("sharding-local", overwrite=True)
    ref = "local-file-system/sharding-local"
    with temporary_settings({PREFECT_RESULTS_DEFAULT_STORAGE_BLOCK: ref}):
        (problem,) = host_local_parts()
    assert "is a local folder" in problem


def test_a_default_result_storage_that_cannot_be_loaded_is_named(redis_locks):
    from prefect.settings import PREFECT_RESULTS_DEFAULT_STORAGE_BLOCK, temporary_settings

    with temporary_settings({PREFECT_RESULTS_DEFAULT_STORAGE_BLOCK: "s3-bucket/no-such-block"}):
        (problem,) = host_local_parts()
    assert "'s3-bucket/no-such-block' cannot be loaded" in problem


def test_a_task_runner_given_to_generate_batch_is_refused_not_ignored(make_emulator, tmp_path):
    base_url = make_emulator()
    credentials = {"base_url": base_url, "api_key": "sk-emulator"}
    batch = generate_batch.with_options(task_runner=ProcessPoolTaskRunner(max_workers=2))
    requests = [{"prompt": "a fox", "model": "emu-video", "seconds": 2, "size": "96x64"}]
    with pytest.raises(InvalidRequestError) as refused:
        asyncio.run(batch(requests=requests, credentials=credentials, storage=str(tmp_path)))
    assert refused.value.field == "task_runner"
    assert "generate_batch_sharded" in str(refused.value)
    assert get_stats(base_url)["requests"].get("create", 0) == 0


def test_the_default_runner_is_accepted_and_runs_are_named_for_the_ui(make_emulator, tmp_path):
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import FlowRunFilter, FlowRunFilterId

    base_url = make_emulator()
    credentials = {"base_url": base_url, "api_key": "sk-emulator"}
    batch = generate_batch.with_options(task_runner=ThreadPoolTaskRunner(max_workers=2))
    prompt = "A red fox, running through the deep snow of the northern forest at dawn"
    requests = [{"prompt": prompt, "model": "emu-video", "seconds": 2, "size": "96x64"}]
    state = asyncio.run(
        batch(requests=requests, credentials=credentials, storage=str(tmp_path), return_state=True)
    )
    (video,) = state.result()
    assert video is not None and video.job_id

    run_id = state.state_details.flow_run_id
    with get_client(sync_client=True) as client:
        assert client.read_flow_run(run_id).name == "batch-of-1"
        (task_run,) = [
            t
            for t in client.read_task_runs(
                flow_run_filter=FlowRunFilter(id=FlowRunFilterId(any_=[run_id]))
            )
            if t.name.startswith("emu-video")
        ]
    assert task_run.name == "emu-video-a-red-fox-running-through-the-deep-snow"


def test_artifact_keys_are_short_and_not_doubled():
    from prefect_videogen.reporting import artifact_key

    assert artifact_key("video", "video_68d5a1b2") == "video-68d5a1b2"
    assert artifact_key("video", "task_9") == "video-task-9"
    assert len(artifact_key("video", "x" * 300)) <= 100


def test_the_batch_table_shows_failures_and_a_summary_and_links_the_full_csv(
    make_emulator, tmp_path
):
    import csv
    import json

    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import ArtifactFilter, ArtifactFilterKey

    base_url = make_emulator(faults={"fail_prompts": {"boom": "moderation_blocked"}})
    credentials = {"base_url": base_url, "api_key": "sk-emulator"}
    small = {"model": "emu-video", "seconds": 2, "size": "96x64"}
    requests = [{"prompt": f"calm scene {i}", **small} for i in range(3)]
    requests.append({"prompt": "a boom scene", **small})
    videos = asyncio.run(
        generate_batch(
            requests=requests, credentials=credentials, storage=str(tmp_path), allow_failures=True
        )
    )
    assert [v is None for v in videos] == [False, False, False, True]

    (table_csv,) = (tmp_path / "batches").glob("batch-of-4-*.csv")
    rows = list(csv.DictReader(table_csv.open()))
    assert [row["status"] for row in rows] == ["stored"] * 3 + ["failed"]
    with get_client(sync_client=True) as client:
        (table,) = client.read_artifacts(
            artifact_filter=ArtifactFilter(key=ArtifactFilterKey(any_=["batch-of-4"])),
            limit=1,
        )
        (progress,) = client.read_artifacts(
            artifact_filter=ArtifactFilter(key=ArtifactFilterKey(any_=["batch-of-4-progress"])),
            limit=1,
        )
    summary, failure = json.loads(table.data)  # the summary, then only the failure
    assert summary["status"] == "3 stored, 1 failed, of 4"
    assert summary["uri"] == table_csv.as_uri()
    assert failure["prompt"] == "a boom scene" and "moderation_blocked" in failure["error"]
    assert table_csv.as_uri() in table.description
    assert float(progress.data) == 100.0


def test_a_shard_that_cannot_start_is_named(monkeypatch, tmp_path):
    from prefect_videogen.sharding import ShardFailedError

    monkeypatch.setenv("PREFECT_INTEGRATIONS_VIDEOGEN_LOCK_DIR", str(tmp_path))
    entries = [{**e, "model": "emu-video", "seconds": 2, "size": "96x64"} for e in ENTRIES]
    with pytest.raises(ShardFailedError) as failed:
        asyncio.run(
            generate_batch_sharded(
                requests=entries, deployment="no-such/deployment", single_host=True
            )
        )
    message = str(failed.value)
    assert "2 of 2 entries failed" in message
    assert "shard 1 of 2: could not start" in message and "shard 2 of 2" in message


def test_a_bad_entry_is_refused_before_any_shard_starts(monkeypatch, tmp_path):
    monkeypatch.setenv("PREFECT_INTEGRATIONS_VIDEOGEN_LOCK_DIR", str(tmp_path))
    entries = [{"prompt": "fine", "model": "emu-video"}, {"prompt": "", "model": "emu-video"}]
    with pytest.raises(InvalidRequestError) as refused:
        asyncio.run(
            generate_batch_sharded(
                requests=entries, deployment="no-such/deployment", single_host=True
            )
        )
    assert refused.value.field.startswith("requests[1]")
