"""What a batch costs Prefect per video: events, log lines sent to the API, task runs.

Counted where they leave the flow process: `EventsWorker.send` (every event, the task
runs' state changes among them) and `APILogHandler.emit` (every log line the server would
store). No timing is asserted; bench/bench_scale.py measures the CPU.
"""

from __future__ import annotations

import collections
import logging

import pytest
from prefect.events.worker import EventsWorker
from prefect.logging.handlers import APILogHandler

from prefect_videogen import tasks
from prefect_videogen.credentials import VideoGenCredentials
from prefect_videogen.emulator import get_stats
from prefect_videogen.exceptions import (
    InvalidRequestError,
    ServerError,
    SubmissionUncertainError,
    VideoGenerationFailed,
)
from prefect_videogen.flows import generate_batch
from prefect_videogen.records import StoredVideo

pytestmark = pytest.mark.usefixtures("prefect_server", "fast_polling", "isolated_results")

MODEL = "emu-video"


class Sent:
    """Events and API log lines this process sends while a test runs."""

    def __init__(self) -> None:
        self.events: collections.Counter[str] = collections.Counter()
        self.task_runs: set[str] = set()
        self.task_run_names: set[str] = set()
        self.logs: list[logging.LogRecord] = []

    def task_run_info_lines(self) -> list[str]:
        return [
            r.getMessage()
            for r in self.logs
            if r.name == "prefect.task_runs" and r.levelno >= logging.INFO
        ]


@pytest.fixture
def sent(monkeypatch) -> Sent:
    record = Sent()
    send = EventsWorker.send
    emit = APILogHandler.emit

    def counted_send(worker, event):
        record.events[event.event] += 1
        if event.event.startswith("prefect.task-run."):
            record.task_runs.add(event.resource.get("prefect.resource.id"))
        if event.event in ("prefect.task-run.Completed", "prefect.task-run.Failed"):
            record.task_run_names.add(event.resource.get("prefect.resource.name"))
        return send(worker, event)

    def counted_emit(handler, log_record):
        if log_record.levelno >= handler.level and handler.filter(log_record):
            record.logs.append(log_record)
        return emit(handler, log_record)

    monkeypatch.setattr(EventsWorker, "send", counted_send)
    monkeypatch.setattr(APILogHandler, "emit", counted_emit)
    return record


def batch(prompts: list[str]) -> list[dict]:
    return [{"prompt": prompt, "seconds": 2, "size": "96x64"} for prompt in prompts]


def state_events(sent: Sent) -> int:
    return sum(n for name, n in sent.events.items() if name.startswith("prefect.task-run."))


async def test_a_video_costs_three_state_events_one_completion_event_and_no_info_line(
    make_emulator, tmp_path, sent
):
    base_url = make_emulator(latency=0.2)
    credentials = VideoGenCredentials(base_url=base_url, api_key="sk-emulator")
    videos = await generate_batch(
        requests=batch(["a red kite", "a blue kite", "a green kite"]),
        model=MODEL,
        credentials=credentials,
        storage=str(tmp_path),
        max_concurrency=3,
    )
    assert all(isinstance(video, StoredVideo) for video in videos)
    assert sent.events["prefect-videogen.video.completed"] == 3
    assert state_events(sent) == 3 * 3  # Pending, Running, Completed per task run
    assert len(sent.task_runs) == 3  # one task run per video, named after it
    assert sent.task_run_names == {f"emu-video-a-{c}-kite" for c in ("red", "blue", "green")}
    # Neither "Submitted ... video job" nor Prefect's "Finished in state Completed()" goes
    # to the API for each video: the batch's progress lines say it once for all.
    assert sent.task_run_info_lines() == []


async def test_video_artifacts_keep_the_per_video_lines(make_emulator, tmp_path, sent):
    base_url = make_emulator(latency=0.2)
    credentials = VideoGenCredentials(base_url=base_url, api_key="sk-emulator")
    await generate_batch(
        requests=batch(["one loud kite"]),
        model=MODEL,
        credentials=credentials,
        storage=str(tmp_path),
        video_artifacts=True,
    )
    lines = sent.task_run_info_lines()
    assert any(line.startswith("Submitted emu-video") for line in lines)
    assert "Finished in state Completed()" in lines


async def test_videos_per_task_shares_task_runs_and_keeps_every_guarantee(
    make_emulator, tmp_path, sent
):
    base_url = make_emulator(latency=0.2, faults={"fail_prompts": {"cursed": "moderation"}})
    credentials = VideoGenCredentials(base_url=base_url, api_key="sk-emulator")
    prompts = ["kite one", "kite two", "a cursed kite", "kite four", "kite one"]
    common = {
        "requests": batch(prompts),
        "model": MODEL,
        "credentials": credentials,
        "storage": str(tmp_path),
        "max_concurrency": 2,
        "videos_per_task": 2,
        "allow_failures": True,
    }
    videos = await generate_batch(**common)
    assert [type(v).__name__ for v in videos] == [
        "StoredVideo",
        "StoredVideo",
        "NoneType",
        "StoredVideo",
        "StoredVideo",
    ]
    assert videos[0].job_id == videos[4].job_id  # the duplicate entry is the same video
    stored = [v.request["prompt"] for v in videos if v]
    assert stored == ["kite one", "kite two", "kite four", "kite one"]
    # 4 distinct videos, 2 per task run: 2 task runs, 3 state events each.
    assert state_events(sent) == 2 * 3
    assert len(sent.task_runs) == 2
    assert all(name.endswith("-and-1-more") for name in sent.task_run_names)
    assert sent.events["prefect-videogen.video.completed"] == 3
    assert sent.events["prefect-videogen.video.failed"] == 1
    assert get_stats(base_url)["requests"].get("create", 0) == 4

    # A rerun pays for nothing: every video goes through the ledger.
    again = await generate_batch(**common)
    assert [v.job_id for v in again if v] == [v.job_id for v in videos if v]
    assert get_stats(base_url)["requests"].get("create", 0) == 4

    with pytest.raises(VideoGenerationFailed):  # without allow_failures the failure is raised
        await generate_batch(**{**common, "allow_failures": False})


async def test_videos_per_task_must_be_positive(tmp_path):
    with pytest.raises(InvalidRequestError, match="videos_per_task"):
        await generate_batch(
            requests=batch(["x"]),
            model=MODEL,
            credentials=VideoGenCredentials(base_url="http://127.0.0.1:9/v1", api_key="sk-x"),
            storage=str(tmp_path),
            videos_per_task=0,
        )


async def test_a_video_in_a_shared_task_run_is_retried_alone_and_only_when_transient(
    monkeypatch,
):
    monkeypatch.setattr(tasks, "RETRY_DELAYS", [0.0, 0.0])
    calls = []

    async def flaky():
        calls.append("flaky")
        if len(calls) == 1:
            raise ServerError("upstream busy", status_code=503)
        return "stored"

    assert await tasks._retrying(flaky) == "stored"
    assert calls == ["flaky", "flaky"]

    async def uncertain():
        calls.append("uncertain")
        raise SubmissionUncertainError("no answer", status_code=502)

    with pytest.raises(SubmissionUncertainError):  # a paid job may exist: never again
        await tasks._retrying(uncertain)
    assert calls.count("uncertain") == 1

    async def always_busy():
        calls.append("busy")
        raise ServerError("upstream busy", status_code=503)

    with pytest.raises(ServerError):
        await tasks._retrying(always_busy)
    assert calls.count("busy") == 3  # the first try and one per delay
