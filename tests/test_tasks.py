"""The submit / wait / download tasks against the emulator over real HTTP, on a Prefect server."""

from __future__ import annotations

import asyncio
import json
import time
from pathlib import Path

import httpx
import pytest
from prefect import flow
from prefect.client.orchestration import get_client
from prefect.events.worker import EventsWorker
from prefect.filesystems import LocalFileSystem
from prefect.states import Failed
from prefect.tasks import Task

from prefect_videogen.client import VideoGenClient
from prefect_videogen.credentials import VideoGenCredentials
from prefect_videogen.emulator import get_stats
from prefect_videogen.exceptions import (
    APIConnectionError,
    InvalidRequestError,
    RateLimitError,
    ServerError,
    SubmissionUncertainError,
    VideoGenerationFailed,
    VideoMismatchError,
)
from prefect_videogen.families import VideoRequest
from prefect_videogen.probe import probe_video
from prefect_videogen.records import JobRecord, StoredVideo
from prefect_videogen.tasks import (
    adownload_video,
    agenerate_video,
    asubmit_video,
    await_for_video,
    download_video,
    generate_video,
    retry_if_transient,
    submit_video,
    wait_for_video,
)

# fast_polling, isolated_results: tests/plugins/prefect_fixtures.py
pytestmark = pytest.mark.usefixtures("prefect_server", "fast_polling", "isolated_results")

MODEL = "emu-video"  # the generic family: any even "WxH", so tests can stay small


def creds(base_url: str, **options) -> VideoGenCredentials:
    return VideoGenCredentials(base_url=base_url, api_key="sk-emulator", **options)


def small(prompt: str, **fields) -> VideoRequest:
    return VideoRequest(model=MODEL, prompt=prompt, seconds=2, size="96x64", **fields)


def creates(base_url: str) -> int:
    return get_stats(base_url)["requests"].get("create", 0)


def read_events(name: str, resource_id: str, expected: int = 1) -> list[dict]:
    """Events named `name` about `resource_id`, as the Prefect server stored them."""
    EventsWorker.instance().wait_until_empty()
    query = {
        "filter": {"event": {"name": [name]}, "resource": {"id": [resource_id]}},
        "limit": 50,
    }
    with get_client(sync_client=True) as client:
        for _ in range(100):
            events = client._client.post("/events/filter", json=query).json()["events"]
            if len(events) >= expected:
                return events
            time.sleep(0.1)
    return events


@flow
def pipeline(request, credentials, storage, attempt=0, probe=True):
    job = submit_video(request, credentials, attempt=attempt)
    done = wait_for_video(job, credentials)
    return download_video(done, credentials, storage=storage, probe=probe)


# ------------------------------------------------------------------------------------ tasks


def test_tasks_are_real_task_objects():
    for task in (
        submit_video,
        asubmit_video,
        wait_for_video,
        await_for_video,
        generate_video,
        agenerate_video,
    ):
        assert isinstance(task, Task)
        assert callable(task.submit) and callable(task.with_options)
    assert isinstance(download_video, Task) and isinstance(adownload_video, Task)
    assert asyncio.iscoroutinefunction(asubmit_video.fn)
    assert not asyncio.iscoroutinefunction(submit_video.fn)


def test_pipeline_stores_a_decodable_video_with_sidecar(emulator, tmp_path):
    stored = pipeline(small("a lighthouse at dusk"), creds(emulator), str(tmp_path))
    assert isinstance(stored, StoredVideo)
    video = Path(stored.location)
    assert video.is_file() and video.is_relative_to(tmp_path)
    probe = probe_video(video)
    assert (probe.width, probe.height) == (96, 64)
    assert probe.duration == pytest.approx(2.0, abs=0.3)
    assert stored.probe == probe
    assert stored.sha256 == get_stats(emulator)["jobs"][stored.job_id]["sha256"]
    sidecar = json.loads(video.with_name(video.name + ".json").read_text())
    assert StoredVideo.model_validate(sidecar) == stored
    assert sidecar["request"]["prompt"] == "a lighthouse at dusk"
    assert sorted(p.name for p in video.parent.iterdir()) == [video.name, video.name + ".json"]


async def test_async_twins_store_a_video(emulator, tmp_path):
    @flow
    async def apipeline(request, credentials):
        job = await asubmit_video(request, credentials)
        done = await await_for_video(job, credentials)
        return await adownload_video(done, credentials, storage=str(tmp_path), probe=True)

    stored = await apipeline(small("an async heron"), creds(emulator))
    assert probe_video(stored.location).size == "96x64"
    assert Path(stored.location + ".json").is_file()


def test_invalid_request_raises_before_any_http_call(make_emulator):
    base_url = make_emulator()

    @flow
    def submit_only():
        bad = VideoRequest(model="sora-2", prompt="a fox", size="640x480")
        return submit_video(bad, creds(base_url))

    with pytest.raises(InvalidRequestError) as info:
        submit_only()
    assert info.value.field == "size"
    assert "1280x720" in str(info.value)
    assert creates(base_url) == 0


def test_submit_is_cached_and_attempt_resubmits(make_emulator, isolated_results):
    base_url = make_emulator()

    @flow
    def submit_only(request, credentials, attempt=0):
        return submit_video(request, credentials, attempt=attempt)

    request = small("a cached otter")
    first = submit_only(request, creds(base_url))
    again = submit_only(request, creds(base_url))
    assert again.job_id == first.job_id
    assert creates(base_url) == 1
    # The server's idempotency replay was not needed either: no create request was sent.
    assert get_stats(base_url)["idempotent_replays"] == 0
    # The ledger's records are plain JSON (a new process reads them back; see
    # tests/reliability): the intent written before the create, and the job record.
    records = [json.loads(p.read_text()) for p in isolated_results.iterdir() if p.is_file()]
    assert len(records) == 2
    assert any(first.job_id in json.dumps(record) for record in records)
    assert "sk-emulator" not in json.dumps(records)

    retry = submit_only(request, creds(base_url), attempt=1)
    assert retry.job_id != first.job_id and retry.attempt == 1
    assert creates(base_url) == 2


def test_ledger_key_uses_the_normalized_request_and_account_not_the_api_key(make_emulator):
    base_url = make_emulator()

    @flow
    def submit_only(request, credentials):
        return submit_video(request, credentials)

    team = creds(base_url, account="team-a")
    first = submit_only(VideoRequest(model="sora-2", prompt="a calm sea"), team)
    # Same request once the family fills its defaults (4 s, 720x1280); a rotated key of the
    # same account (the emulator would reject it) must still find the job without a request.
    explicit = VideoRequest(model="sora-2", prompt="a calm sea", seconds=4, size="720x1280")
    rotated = VideoGenCredentials(base_url=base_url, api_key="sk-rotated", account="team-a")
    assert submit_only(explicit, rotated).job_id == first.job_id
    assert creates(base_url) == 1


def test_concurrent_submits_of_the_same_request_submit_once(make_emulator):
    # Each create takes a second, so the three submits overlap; without the lock all three
    # would POST (the emulator would then only dedupe them by Idempotency-Key).
    base_url = make_emulator(faults={"create": {"rate_slow": 1.0, "slow_seconds": 1.0}})

    @flow
    def submit_three(request, credentials):
        futures = [submit_video.submit(request, credentials) for _ in range(3)]
        return [future.result() for future in futures]

    jobs = submit_three(small("a contested fox"), creds(base_url))
    assert len({job.job_id for job in jobs}) == 1
    assert creates(base_url) == 1
    assert get_stats(base_url)["idempotent_replays"] == 0


async def test_concurrent_async_submits_submit_once(make_emulator):
    base_url = make_emulator(faults={"create": {"rate_slow": 1.0, "slow_seconds": 1.0}})

    @flow
    async def submit_three(request, credentials):
        return await asyncio.gather(*(asubmit_video(request, credentials) for _ in range(3)))

    jobs = await submit_three(small("a contested async fox"), creds(base_url))
    assert len({job.job_id for job in jobs}) == 1
    assert creates(base_url) == 1


def test_generate_video_shares_the_submit_cache(make_emulator, tmp_path):
    base_url = make_emulator()
    request = small("a shared-cache otter")

    @flow
    def submit_then_generate(request, credentials, storage):
        job = submit_video(request, credentials)
        first = generate_video(request, credentials, storage=storage, probe=True)
        again = generate_video(request, credentials, storage=storage)
        return job, first, again

    job, first, again = submit_then_generate(request, creds(base_url), str(tmp_path))
    assert first.job_id == again.job_id == job.job_id
    assert creates(base_url) == 1
    assert first.probe is not None and probe_video(first.location).size == "96x64"

    @flow
    def generate_attempt(request, credentials, storage, attempt):
        return generate_video(request, credentials, storage=storage, attempt=attempt)

    retry = generate_attempt(request, creds(base_url), str(tmp_path), 1)
    assert retry.job_id != first.job_id and creates(base_url) == 2


async def test_concurrent_async_generates_submit_once(make_emulator, tmp_path):
    base_url = make_emulator(faults={"create": {"rate_slow": 1.0, "slow_seconds": 1.0}})

    @flow
    async def generate_three(request, credentials):
        # All three store to the same path: each writes its own `.part`, then renames.
        return await asyncio.gather(
            *(agenerate_video(request, credentials, storage=str(tmp_path)) for _ in range(3))
        )

    videos = await generate_three(small("a contested async heron"), creds(base_url))
    assert len({video.job_id for video in videos}) == 1
    assert creates(base_url) == 1
    assert len({video.location for video in videos}) == 1
    assert probe_video(videos[0].location).size == "96x64"
    assert list(tmp_path.rglob("*.part")) == []
    # A later submit_video of the same request reads the record generate wrote.

    @flow
    async def submit_only(request, credentials):
        return await asubmit_video(request, credentials)

    job = await submit_only(small("a contested async heron"), creds(base_url))
    assert job.job_id == videos[0].job_id and creates(base_url) == 1


@pytest.mark.parametrize(
    ("error", "retry"),
    [
        (RateLimitError("slow down", status_code=429), True),
        (ServerError("boom", status_code=503), True),
        (APIConnectionError("refused"), True),
        (SubmissionUncertainError("no answer"), False),
        (InvalidRequestError("size", value="1x1"), False),
        (ValueError("bug"), False),
    ],
)
def test_retry_condition_retries_only_transient_errors(error, retry):
    assert retry_if_transient(submit_video, None, Failed(data=error)) is retry


def test_submit_retries_transient_errors(make_emulator):
    # 429 proves no job was made (a 5xx on a create does not: see the next test).
    base_url = make_emulator(faults={"create": {"script": ["429", "429"]}, "retry_after": 0})

    @flow
    def submit_only(request, credentials):
        task = submit_video.with_options(retry_delay_seconds=0, retry_jitter_factor=0)
        return task(request, credentials)

    # The client does not retry (max_retries=0): the task-level retries do.
    job = submit_only(small("a retried eel"), creds(base_url, max_retries=0))
    assert creates(base_url) == 3
    assert get_stats(base_url)["submissions"] == 1
    assert job.job_id in get_stats(base_url)["jobs"]


def test_submission_with_lost_answer_is_not_retried(make_emulator):
    base_url = make_emulator(faults={"create": {"script": ["drop"]}})

    @flow
    def submit_only(request, credentials):
        return submit_video.with_options(retry_delay_seconds=0)(request, credentials)

    with pytest.raises(SubmissionUncertainError):
        submit_only(small("a lost answer"), creds(base_url))
    assert creates(base_url) == 1  # a job exists on the server; nothing was resent


# ------------------------------------------------------------------------------------ wait


def test_failed_generation_raises_with_provider_code_and_emits_event(make_emulator, tmp_path):
    base_url = make_emulator(faults={"fail_prompts": {"forbidden": "moderation_blocked"}})
    with pytest.raises(VideoGenerationFailed) as info:
        pipeline(small("a forbidden dance"), creds(base_url), str(tmp_path))
    error = info.value
    assert error.code == "moderation_blocked"
    assert error.message and "moderation" in error.message
    job_id = error.job.id
    events = read_events("prefect-videogen.video.failed", f"prefect-videogen.video.{job_id}")
    assert len(events) == 1
    assert events[0]["payload"]["code"] == "moderation_blocked"
    assert events[0]["resource"]["prefect-videogen.model"] == MODEL
    assert not any(tmp_path.rglob("*.mp4"))


def test_polling_survives_transient_faults(make_emulator, tmp_path):
    base_url = make_emulator(
        faults={"retrieve": {"script": ["503", "429", "500"]}, "retry_after": 0}
    )
    stored = pipeline(small("a patient snail"), creds(base_url, max_retries=0), str(tmp_path))
    assert Path(stored.location).is_file()
    faults = get_stats(base_url)["faults"]["retrieve"]
    assert faults == {"503": 1, "429": 1, "500": 1}


def test_wait_creates_and_updates_a_progress_artifact(make_emulator):
    base_url = make_emulator(latency=1.0, poll_after_ms=100)

    @flow
    def submit_and_wait(request, credentials):
        job = submit_video(request, credentials)
        return wait_for_video(job, credentials)

    done = submit_and_wait(small("a slow tide"), creds(base_url))
    assert done.status.value == "completed" and done.finished_at is not None

    async def progress_artifacts():
        from prefect.client.schemas.filters import ArtifactFilter, ArtifactFilterType
        from prefect.client.schemas.sorting import ArtifactSort

        async with get_client() as client:  # newest first: the session's server holds many
            return await client.read_artifacts(
                artifact_filter=ArtifactFilter(type=ArtifactFilterType(any_=["progress"])),
                sort=ArtifactSort.CREATED_DESC,
                limit=50,
            )

    artifacts = asyncio.run(progress_artifacts())
    mine = [a for a in artifacts if done.job_id in (a.description or "")]
    assert len(mine) == 1  # created once, then updated in place
    assert mine[0].data == 100.0


# ------------------------------------------------------------------------------------ download


def test_download_retries_a_dropped_connection(make_emulator, tmp_path):
    base_url = make_emulator(faults={"content": {"script": ["drop", "503"]}})

    @flow
    def fetch(request, credentials):
        job = wait_for_video(submit_video(request, credentials), credentials)
        task = download_video.with_options(retry_delay_seconds=0, retry_jitter_factor=0)
        return task(job, credentials, storage=str(tmp_path), thumbnail=False)

    stored = fetch(small("a resilient download"), creds(base_url, max_retries=0))
    assert probe_video(stored.location).size == "96x64"
    assert get_stats(base_url)["faults"]["content"] == {"drop": 1, "503": 1}
    leftovers = [
        p.name for p in tmp_path.rglob("*") if p.is_file() and not p.name.endswith(("mp4", "json"))
    ]
    assert leftovers == []


def test_dropped_download_leaves_nothing_at_the_final_path(make_emulator, tmp_path):
    base_url = make_emulator(faults={"content": {"script": ["drop"]}})

    @flow
    def fetch(request, credentials):
        job = wait_for_video(submit_video(request, credentials), credentials)
        return download_video.with_options(retries=0)(
            job, credentials, storage=str(tmp_path), thumbnail=False
        )

    with pytest.raises(APIConnectionError):
        fetch(small("a dropped download"), creds(base_url, max_retries=0))
    files = [p for p in tmp_path.rglob("*") if p.is_file()]
    assert files == []  # no video, no .part, no sidecar


def test_download_to_s3_streams_through_moto(emulator, s3_bucket, s3_client, tmp_path):
    stored = pipeline(small("a bucket of frames"), creds(emulator), s3_bucket)
    assert stored.uri == f"s3://{s3_bucket.bucket_name}/{stored.location}"
    assert stored.location.startswith("videos/emu-video/")
    local = tmp_path / "copy.mp4"
    s3_client.download_file(s3_bucket.bucket_name, stored.location, str(local))
    probe = probe_video(local)
    assert (probe.size, round(probe.duration)) == ("96x64", 2)
    body = s3_client.get_object(Bucket=s3_bucket.bucket_name, Key=stored.location + ".json")
    assert json.loads(body["Body"].read())["sha256"] == stored.sha256


def test_probe_mismatch_raises_and_keeps_the_video(make_emulator, tmp_path):
    base_url = make_emulator(render_scale=0.5)  # renders half the asked size
    with pytest.raises(VideoMismatchError) as info:
        pipeline(small("a shrunken fox"), creds(base_url), str(tmp_path))
    assert "size is 48x32, asked 96x64" in str(info.value)
    kept = list(tmp_path.rglob("*.mp4"))
    assert len(kept) == 1 and str(kept[0]) in str(info.value)


class HostileCredentials(VideoGenCredentials):
    """Credentials whose client talks to a server that returns path-traversal job ids."""

    _block_type_name = "Hostile Test Credentials"

    def get_client(self) -> VideoGenClient:
        mp4 = Path(self.base_url.split("#", 1)[1]).read_bytes()
        hostile = "../../../escaped"

        def handler(request: httpx.Request) -> httpx.Response:
            if request.method == "POST":
                return httpx.Response(200, json={"id": hostile, "status": "queued"})
            if request.url.path.endswith("/content"):
                return httpx.Response(200, content=mp4, headers={"content-type": "video/mp4"})
            return httpx.Response(200, json={"id": hostile, "status": "completed"})

        return VideoGenClient(
            "http://hostile.test/v1", "sk-x", transport=httpx.MockTransport(handler)
        )


def test_hostile_job_ids_cannot_escape_the_base_path(emulator, tmp_path):
    # Real MP4 bytes from the emulator, served back under a hostile job id.
    real = pipeline(small("bytes for the hostile server"), creds(emulator), str(tmp_path / "real"))
    base = tmp_path / "a" / "b" / "base"
    credentials = HostileCredentials(base_url=f"http://hostile.test/v1#{real.location}")
    stored = pipeline(small("hostile"), credentials, LocalFileSystem(basepath=str(base)))
    assert stored.job_id == "../../../escaped"
    location = Path(stored.location)
    assert base.resolve() in location.resolve().parents
    assert location.name.startswith("escaped-") and location.suffix == ".mp4"
    outside = [p for p in tmp_path.rglob("*escaped*") if base not in p.parents]
    assert outside == []


def test_the_api_key_appears_nowhere(make_emulator, tmp_path, isolated_results, caplog):
    secret = "sk-VIDEOGEN-SECRET-do-not-leak-7f3a"
    base_url = make_emulator(api_key=secret)
    credentials = VideoGenCredentials(base_url=base_url, api_key=secret)

    @flow
    def run(request):
        return pipeline.fn(request, credentials, str(tmp_path))

    stored = run(small("a secretive fox"))
    places = {
        "record": stored.model_dump_json(),
        "sidecar": Path(stored.location + ".json").read_text(),
        "results": "".join(
            p.read_text(errors="replace") for p in isolated_results.rglob("*") if p.is_file()
        ),
        "logs": caplog.text,
    }

    async def server_side():
        async with get_client() as client:
            artifacts = await client.read_artifacts()
            logs = await client.read_logs()
        return (
            " ".join(f"{a.data} {a.description}" for a in artifacts),
            " ".join(log.message for log in logs),
        )

    places["artifacts"], places["server logs"] = asyncio.run(server_side())
    places["events"] = json.dumps(
        read_events("prefect-videogen.video.completed", f"prefect-videogen.video.{stored.job_id}")
    )
    assert stored.job_id in places["events"]
    for where, text in places.items():
        assert secret not in text, f"the API key leaked into {where}"


def test_job_record_from_a_bare_id(emulator, tmp_path):
    @flow
    def by_id(request, credentials):
        job_id = submit_video(request, credentials).job_id
        done = wait_for_video(job_id, credentials, model=MODEL)
        return download_video(done, credentials, storage=str(tmp_path), probe=False)

    stored = by_id(small("an id only"), creds(emulator))
    assert isinstance(stored, StoredVideo) and stored.model == MODEL
    assert JobRecord(job_id="x", model="m").status.value == "queued"


@pytest.mark.parametrize("dialect", ["gateway", "seed"])
def test_pipeline_on_other_server_dialects(make_emulator, tmp_path, dialect):
    base_url = make_emulator(dialect=dialect)
    stored = pipeline(small(f"a {dialect} fox"), creds(base_url), str(tmp_path))
    assert probe_video(stored.location).size == "96x64"
    assert stored.sha256 == get_stats(base_url)["jobs"][stored.job_id]["sha256"]
