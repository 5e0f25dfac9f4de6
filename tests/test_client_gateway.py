"""The client against what new-api gateways really do (the emulator's `gateway` dialect).

Each test here failed against the client before it learned the behaviour: a fresh task
that says `unknown`, `completed_at` on running tasks, `/content` before completion, the
proxy's time limit without Range, no DELETE route, `invalid_api_platform`, `variant`
ignored. The Sora retirement and the remix prompt check are here too: both are refused
before any network call.
"""

from __future__ import annotations

import asyncio
import hashlib

import httpx
import pytest
from plugins.emulator_fixtures import probe_mp4

from prefect_videogen.client import AsyncVideoGenClient, VideoGenClient
from prefect_videogen.client._retry import Backoff
from prefect_videogen.credentials import VideoGenCredentials
from prefect_videogen.emulator import get_stats
from prefect_videogen.exceptions import (
    InvalidRequestError,
    ModelRetiredError,
    ModelUnavailableError,
    NotFoundError,
    UnsupportedOperationError,
    VideoGenerationFailed,
    VideoStatusUnknownError,
    VideoTimeoutError,
)
from prefect_videogen.families import VideoRequest
from prefect_videogen.models import VideoJob, VideoStatus

KEY = "sk-emulator"
KLING = VideoRequest(model="kling-v1", prompt="a kite over the dunes", seconds=5)


def client_for(base_url: str, **options) -> VideoGenClient:
    return VideoGenClient(
        base_url, KEY, backoff=Backoff(initial_delay=0.01, max_delay=0.05), **options
    )


# --------------------------------------------------------------------------- status `unknown`


def test_a_fresh_gateway_job_is_queued_not_failed(make_emulator):
    base_url = make_emulator(dialect="gateway", latency=0.8, not_start_seconds=0.4)
    with client_for(base_url) as client:
        job = client.create(KLING)
        seen = client.retrieve(job.id, model=KLING.model)
        assert (seen.status, seen.raw_status) == (VideoStatus.QUEUED, "unknown")

        done = client.wait(job.id, model=KLING.model, min_interval=0.05, max_interval=0.1)

    assert done.status is VideoStatus.COMPLETED


@pytest.mark.parametrize("model", ["kling-v1", "wan2.5-t2v-preview", "veo-3"])
def test_unknown_reads_as_queued_for_every_family(model):
    from prefect_videogen.families import family_for_model

    job = family_for_model(model).parse_job({"id": "task_1", "status": "unknown"})
    assert job.status is VideoStatus.QUEUED


def test_a_job_that_stays_unknown_ends_in_a_clear_error(make_emulator):
    base_url = make_emulator(dialect="gateway", latency=30, not_start_seconds=30)
    with client_for(base_url) as client:
        job = client.create(KLING)
        with pytest.raises(VideoStatusUnknownError) as caught:
            client.wait(job.id, min_interval=0.05, max_interval=0.1, unknown_timeout=0.4)

    error = caught.value
    assert isinstance(error, VideoTimeoutError)  # the job may go on: wait again, no resubmit
    assert not isinstance(error, VideoGenerationFailed)
    assert error.job_id == job.id and error.unknown_seconds >= 0.4
    assert "'unknown'" in str(error) and "do not resubmit" in str(error)


def test_unknown_timeout_counts_only_consecutive_unknown_answers():
    from prefect_videogen.client._polling import _Poller

    poller = _Poller("task_1", timeout=None, min_interval=0, max_interval=0, unknown_timeout=0)
    queued = VideoJob(id="task_1", status=VideoStatus.QUEUED, raw_status="queued")
    assert poller.finished(queued) is False  # "queued" is not "unknown": no limit applies
    with pytest.raises(VideoStatusUnknownError):
        poller.finished(queued.model_copy(update={"raw_status": "unknown"}))
    with pytest.raises(InvalidRequestError, match="unknown_timeout"):
        _Poller("task_1", timeout=None, min_interval=0, max_interval=0, unknown_timeout=-1)


def test_async_wait_goes_through_the_unknown_phase(make_emulator):
    base_url = make_emulator(dialect="gateway", latency=0.8, not_start_seconds=0.4)

    async def run() -> VideoJob:
        async with AsyncVideoGenClient(base_url, KEY) as client:
            job = await client.create(KLING)
            return await client.wait(job.id, min_interval=0.05, max_interval=0.1)

    assert asyncio.run(run()).status is VideoStatus.COMPLETED


# --------------------------------------------------------------------------- completed_at


def test_completed_at_is_kept_only_once_the_job_has_ended(make_emulator):
    base_url = make_emulator(dialect="gateway", latency=0.8, queued_fraction=0, not_start_seconds=0)
    with client_for(base_url) as client, httpx.Client() as http:
        job = client.create(KLING)
        raw = http.get(f"{base_url}/videos/{job.id}", headers={"Authorization": f"Bearer {KEY}"})
        assert raw.json()["status"] == "in_progress" and raw.json()["completed_at"]

        running = client.retrieve(job.id)
        assert running.status is VideoStatus.IN_PROGRESS
        assert running.completed_at is None  # the gateway's last update time, not a completion

        done = client.wait(job.id, min_interval=0.05, max_interval=0.1)
    assert done.completed_at is not None and done.completed_at >= done.created_at


# --------------------------------------------------------------------------- /content


def test_download_before_completion_polls_then_downloads(make_emulator, tmp_path):
    base_url = make_emulator(dialect="gateway", latency=0.8, not_start_seconds=0.3)
    with client_for(base_url) as client:
        job = client.create(KLING)
        content = client.download_content(job.id, tmp_path / "kite.mp4")  # not ready yet

    assert content.size == (tmp_path / "kite.mp4").stat().st_size
    width, height, seconds, _ = probe_mp4((tmp_path / "kite.mp4").read_bytes())
    assert (width, height, seconds) == (1280, 720, 5.0)
    stats = get_stats(base_url)
    assert stats["jobs"][job.id]["polls"] >= 1 and stats["submissions"] == 1


def test_download_of_a_job_that_fails_meanwhile_says_it_failed(make_emulator, tmp_path):
    base_url = make_emulator(dialect="gateway", latency=0.5, not_start_seconds=0)
    with client_for(base_url) as client:
        job = client.create(VideoRequest(model="kling-v1", prompt="boom", seconds=5))
        from prefect_videogen.emulator import set_faults

        set_faults(base_url, fail_ids=[job.id])
        with pytest.raises(VideoGenerationFailed):
            client.download_content(job.id, tmp_path / "boom.mp4")
    assert list(tmp_path.iterdir()) == []


def test_a_download_the_gateway_keeps_cutting_comes_from_the_result_url(make_emulator, tmp_path):
    base_url = make_emulator(
        dialect="gateway",
        not_start_seconds=0,
        pad_content_to=300_000,
        content_rate=300_000,
        content_timeout=0.3,  # new-api: 60 s, whatever the file's size
    )
    with client_for(base_url, max_retries=1) as client:
        job = client.create(KLING)
        job = client.wait(job.id, min_interval=0.05, max_interval=0.1)
        content = client.download_content(job.id, tmp_path / "long.mp4")

    data = (tmp_path / "long.mp4").read_bytes()
    assert len(data) == content.size == 300_000
    stats = get_stats(base_url)
    assert hashlib.sha256(data).hexdigest() == stats["jobs"][job.id]["sha256"] == content.sha256
    assert stats["requests"]["content"] == 2 and stats["requests"]["files"] == 1
    assert not list(tmp_path.glob("*.part"))


def test_a_thumbnail_that_arrives_as_video_is_an_error(make_emulator, tmp_path):
    base_url = make_emulator(dialect="gateway", not_start_seconds=0)
    with client_for(base_url) as client:
        job = client.create(KLING)
        client.wait(job.id, min_interval=0.05, max_interval=0.1)
        for variant in ("thumbnail", "spritesheet"):
            with pytest.raises(UnsupportedOperationError, match="ignores `variant`"):
                client.download_content(job.id, tmp_path / f"{variant}.webp", variant=variant)
        assert client.download_content(job.id, tmp_path / "video.mp4").content_type == "video/mp4"

    assert [p.name for p in tmp_path.iterdir()] == ["video.mp4"]


# --------------------------------------------------------------------------- routes and errors


def test_delete_on_a_gateway_says_the_gateway_cannot_delete(make_emulator):
    base_url = make_emulator(dialect="gateway", not_start_seconds=0)
    with client_for(base_url) as client:
        job = client.create(KLING)
        with pytest.raises(UnsupportedOperationError, match="cannot delete") as caught:
            client.delete(job.id)
        assert not isinstance(caught.value, NotFoundError)  # the job exists
        with pytest.raises(UnsupportedOperationError, match="does not list"):
            client.list()


def test_delete_of_an_unknown_job_on_openai_is_still_not_found(emulator):
    with client_for(emulator) as client, pytest.raises(NotFoundError):
        client.delete("video_" + "0" * 48)


def test_advertised_model_without_a_channel_is_its_own_error(make_emulator):
    base_url = make_emulator(dialect="gateway")  # serves no grok-imagine-video by default
    with client_for(base_url) as client:
        request = VideoRequest(model="grok-imagine-video", prompt="a lighthouse")
        with pytest.raises(ModelUnavailableError) as caught:
            client.create(request)

    error = caught.value
    assert isinstance(error, InvalidRequestError)  # not to be retried as is
    assert (error.field, error.code, error.status_code) == ("model", "invalid_api_platform", 400)
    assert "this gateway advertises grok-imagine-video but has no channel for it" in str(error)
    assert "Pick another model" in str(error)
    assert get_stats(base_url)["submissions"] == 0


# --------------------------------------------------------------------------- refused locally


class Recorder:
    def __init__(self) -> None:
        self.requests: list[httpx.Request] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        return httpx.Response(500)


@pytest.mark.parametrize("base_url", ["https://api.openai.com/v1", "https://eu.api.openai.com/v1"])
def test_sora_on_openai_is_refused_before_any_call(base_url):
    recorder = Recorder()
    transport = httpx.MockTransport(recorder)
    with VideoGenClient(base_url, "sk-real", transport=transport) as client:
        with pytest.raises(ModelRetiredError) as caught:
            client.create(VideoRequest(model="sora-2", prompt="a fox", seconds=4))
        with pytest.raises(ModelRetiredError):
            client.remix("video_1", "the fox at night")

    message = str(caught.value)
    assert caught.value.field == "model" and isinstance(caught.value, InvalidRequestError)
    assert "2026-09-24" in message
    for alternative in ("Wan", "Kling", "Seedance", "Veo", "gateway.example.com"):
        assert alternative in message
    assert recorder.requests == []


def test_sora_still_works_where_it_is_served(emulator):
    with client_for(emulator) as client:
        job = client.create(VideoRequest(model="sora-2", prompt="a fox", seconds=4))
    assert job.model == "sora-2"


def test_async_sora_on_openai_is_refused_too():
    recorder = Recorder()

    async def run() -> None:
        transport = httpx.MockTransport(recorder)
        async with AsyncVideoGenClient("https://api.openai.com/v1", "k", transport=transport) as c:
            await c.create(VideoRequest(model="sora-2-pro", prompt="a fox"))

    with pytest.raises(ModelRetiredError):
        asyncio.run(run())
    assert recorder.requests == []


@pytest.mark.parametrize(
    ("prompt", "model", "match"),
    [
        ("x" * 32001, None, "32001 characters"),
        ("x" * 801, "wan2.2-kf2v-flash", "801 characters"),
        ("   ", None, "non-empty"),
    ],
)
def test_remix_checks_its_prompt_before_any_call(prompt, model, match):
    recorder = Recorder()
    transport = httpx.MockTransport(recorder)
    with (
        VideoGenClient("https://gateway.example.com/v1", "k", transport=transport) as client,
        pytest.raises(InvalidRequestError, match=match) as caught,
    ):
        client.remix("video_1", prompt, model=model)
    assert caught.value.field == "prompt"
    assert recorder.requests == []


def test_base_url_is_required():
    with pytest.raises(TypeError):
        VideoGenClient()  # type: ignore[call-arg]
    with pytest.raises(ValueError, match="base_url"):
        VideoGenCredentials()  # type: ignore[call-arg]
    with pytest.raises(ImportError, match="2026-09-24"):
        from prefect_videogen.client import DEFAULT_BASE_URL  # noqa: F401
    with pytest.raises(ValueError, match="model"):
        VideoRequest(prompt="no model")  # type: ignore[call-arg]
    field = VideoGenCredentials.model_fields["base_url"]
    assert "https://gateway.example.com/v1" in field.description
    assert "127.0.0.1" in field.description


def test_async_download_waits_for_the_job_and_falls_back_from_a_cut_proxy(make_emulator, tmp_path):
    base_url = make_emulator(
        dialect="gateway",
        latency=0.6,
        not_start_seconds=0.2,
        pad_content_to=300_000,
        content_rate=300_000,
        content_timeout=0.3,
    )

    async def run() -> None:
        backoff = Backoff(initial_delay=0.01, max_delay=0.05)
        async with AsyncVideoGenClient(base_url, KEY, backoff=backoff, max_retries=1) as client:
            job = await client.create(KLING)
            content = await client.download_content(job.id, tmp_path / "kite.mp4")  # not ready
            assert content.size == 300_000
            with pytest.raises(UnsupportedOperationError, match="ignores `variant`"):
                await client.download_content(job.id, tmp_path / "t.webp", variant="thumbnail")
            with pytest.raises(UnsupportedOperationError, match="cannot delete"):
                await client.delete(job.id)

    asyncio.run(run())
    stats = get_stats(base_url)
    assert stats["requests"]["files"] == 1  # the cut /content went on from the result URL
    assert sorted(p.name for p in tmp_path.iterdir()) == ["kite.mp4"]


def test_download_waits_for_the_job_then_falls_back_from_a_cut_proxy(make_emulator, tmp_path):
    base_url = make_emulator(
        dialect="gateway",
        latency=0.6,
        not_start_seconds=0.2,
        pad_content_to=300_000,
        content_rate=300_000,
        content_timeout=0.3,
    )
    with client_for(base_url, max_retries=1) as client:
        job = client.create(KLING)
        content = client.download_content(job.id, tmp_path / "kite.mp4")  # not ready, then cut

    assert content.size == (tmp_path / "kite.mp4").stat().st_size == 300_000
    assert get_stats(base_url)["requests"]["files"] == 1
