"""Never silent: the heartbeat cadence of waiting loops (single videos and batches).

The cadence is tested with an injected clock (no Prefect, no waiting); one test waits on a
real emulator job over HTTP to show that lines come while nothing changes.
"""

from __future__ import annotations

import asyncio
import logging
from types import SimpleNamespace

import pytest

from prefect_videogen import VideoGenClient, VideoRequest
from prefect_videogen.records import JobRecord
from prefect_videogen.reporting import (
    BatchProgress,
    Heartbeat,
    ProgressReporter,
    format_duration,
)


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def _record() -> JobRecord:
    return JobRecord(job_id="video_hb", model="wan2.2-t2v-plus", status="queued")


def _job(status: str, progress: int) -> SimpleNamespace:
    return SimpleNamespace(status=SimpleNamespace(value=status), progress=progress)


def test_format_duration():
    assert format_duration(0) == "0s"
    assert format_duration(59.9) == "59s"
    assert format_duration(250) == "4m10s"
    assert format_duration(3720) == "1h02m"


def test_heartbeat_at_most_every_30s_and_at_least_every_60s():
    clock = Clock()
    beat = Heartbeat(clock=clock)
    times = []
    # A progress change on every poll (every 5 s) for 3 minutes: a line every 30 s, no more.
    for _ in range(36):
        if beat.due(changed=True):
            times.append(clock.now - 1000)
        clock.now += 5
    assert times == [0, 30, 60, 90, 120, 150]
    # Nothing changes for 3 minutes: still a line every 60 s.
    beat = Heartbeat(clock=clock)
    start = clock.now
    times = []
    for _ in range(36):
        if beat.due(changed=False):
            times.append(clock.now - start)
        clock.now += 5
    assert times == [0, 60, 120]


def test_heartbeat_rejects_inverted_intervals():
    with pytest.raises(ValueError, match="min_interval"):
        Heartbeat(min_interval=60, max_interval=30)


def test_single_video_logs_while_nothing_changes(caplog):
    clock = Clock()
    logger = logging.getLogger("test-heartbeat-single")
    reporter = ProgressReporter(_record(), detailed=False, clock=clock, logger=logger)
    reporter.detailed = True  # INFO lines, but no artifact (no Prefect here)
    with caplog.at_level(logging.INFO, logger=logger.name):
        job = _job("in_progress", 20)
        reporter._log_status(job)  # the status change: logged at once
        for _ in range(30):  # 150 s of polls every 5 s, stuck at 20 %
            clock.now += 5
            reporter.tick(job)
    lines = [r.getMessage() for r in caplog.records]
    assert lines[0] == "Video job video_hb is in_progress (20%), waiting 0s"
    assert lines[1:] == [
        "Video job video_hb is in_progress (20%), waiting 1m00s, about 4m00s left at this rate",
        "Video job video_hb is in_progress (20%), waiting 2m00s, about 8m00s left at this rate",
    ]


def test_status_changes_are_logged_at_once(caplog):
    clock = Clock()
    logger = logging.getLogger("test-heartbeat-status")
    reporter = ProgressReporter(_record(), clock=clock, logger=logger)
    with caplog.at_level(logging.INFO, logger=logger.name):
        reporter._log_status(_job("queued", 0))
        clock.now += 2
        reporter._log_status(_job("in_progress", 5))
        clock.now += 2
        reporter._log_status(_job("in_progress", 10))  # progress only, 2 s later: quiet
        clock.now += 2
        reporter._log_status(_job("completed", 100))
    statuses = [r.getMessage().split(" is ")[1].split(" (")[0] for r in caplog.records]
    assert statuses == ["queued", "in_progress", "completed"]


def test_batch_summary_counts_stored_and_failed_apart(caplog):
    """The old line said "3 of 3 videos finished" when all three had failed."""
    clock = Clock()
    logger = logging.getLogger("test-heartbeat-batch")
    progress = BatchProgress(3, clock=clock, logger=logger)

    async def run() -> None:
        for _ in range(3):
            async with progress.generating():
                clock.now += 1
            await progress.advance(failed=True)
        await progress.finish()

    with caplog.at_level(logging.INFO, logger=logger.name):
        asyncio.run(run())
    assert caplog.records[-1].getMessage() == "Batch finished: 0 of 3 stored, 3 failed"
    assert not any("3 of 3" in r.getMessage() for r in caplog.records)


def test_batch_summary_names_the_oldest_waiting_video():
    clock = Clock()
    progress = BatchProgress(5, clock=clock, logger=logging.getLogger("x"))

    async def run() -> str:
        first, second = progress.generating(), progress.generating()
        await first.__aenter__()
        clock.now += 130
        await second.__aenter__()
        clock.now += 120
        await progress.advance()
        return progress.summary()

    assert asyncio.run(run()) == (
        "1 of 5 stored, 0 failed, 2 generating; oldest waiting 4m10s, 2 queued"
    )


def test_batch_timer_logs_while_nothing_finishes(caplog, monkeypatch):
    """The timer ticks without any video finishing: a line at least every max interval."""
    monkeypatch.setattr("prefect_videogen.reporting.HEARTBEAT_MIN_INTERVAL", 0.05)
    monkeypatch.setattr("prefect_videogen.reporting.HEARTBEAT_MAX_INTERVAL", 0.1)
    logger = logging.getLogger("test-heartbeat-timer")
    progress = BatchProgress(2, tick_interval=0.02, logger=logger)

    async def run() -> None:
        progress._ticker = asyncio.create_task(progress._beat())  # start() minus the artifact
        async with progress.generating():
            await asyncio.sleep(0.5)
        progress._ticker.cancel()

    with caplog.at_level(logging.INFO, logger=logger.name):
        asyncio.run(run())
    lines = [r.getMessage() for r in caplog.records]
    assert len(lines) >= 3, lines
    assert all(line.startswith("Batch: 0 of 2 stored, 0 failed, 1 generating") for line in lines)


def test_wait_ticks_on_every_poll_against_the_emulator(make_emulator, monkeypatch, caplog):
    """Over real HTTP: a job that stays queued still gets heartbeat lines through on_tick."""
    monkeypatch.setattr("prefect_videogen.reporting.HEARTBEAT_MIN_INTERVAL", 0.1)
    monkeypatch.setattr("prefect_videogen.reporting.HEARTBEAT_MAX_INTERVAL", 0.2)
    base_url = make_emulator(latency=1.5, queued_fraction=1.0, poll_after_ms=50)
    logger = logging.getLogger("test-heartbeat-wait")
    with VideoGenClient(base_url, "sk-emulator") as client:
        job = client.create(VideoRequest(model="wan2.2-t2v-plus", prompt="a fox"))
        record = JobRecord(job_id=job.id, model=job.model or "wan", status=job.status.value)
        reporter = ProgressReporter(record, logger=logger)
        reporter.detailed = True
        updates = []
        with caplog.at_level(logging.INFO, logger=logger.name):
            done = client.wait(
                job.id,
                min_interval=0.05,
                max_interval=0.05,
                on_update=lambda j: (updates.append(j.status.value), reporter._log_status(j)),
                on_tick=reporter.tick,
            )
    assert done.status.value == "completed"
    queued_lines = [r for r in caplog.records if " is queued " in r.getMessage()]
    # One line for the change to queued, then heartbeats while it stays queued for 1.5 s.
    assert len(queued_lines) >= 4, [r.getMessage() for r in caplog.records]
    assert updates.count("queued") == 1  # on_update alone would have logged it once


# -- through Prefect: the tasks pass the heartbeat on, the batch counts failures apart ----


def _run_log_lines(flow_run_id) -> list[str]:
    """The flow run's log lines as the Prefect API stored them (task runs included)."""
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import LogFilter, LogFilterFlowRunId
    from prefect.logging.handlers import APILogWorker

    APILogWorker.drain_all(timeout=10)
    with get_client(sync_client=True) as client:
        logs = client.read_logs(
            log_filter=LogFilter(flow_run_id=LogFilterFlowRunId(any_=[flow_run_id])), limit=200
        )
    return [log.message for log in logs]


@pytest.mark.usefixtures("prefect_server", "fast_polling", "isolated_results")
def test_a_flow_logs_while_its_video_stays_queued(make_emulator, monkeypatch, tmp_path):
    from prefect_videogen.credentials import VideoGenCredentials
    from prefect_videogen.flows import text_to_video

    monkeypatch.setattr("prefect_videogen.reporting.HEARTBEAT_MIN_INTERVAL", 0.2)
    monkeypatch.setattr("prefect_videogen.reporting.HEARTBEAT_MAX_INTERVAL", 0.3)
    base_url = make_emulator(latency=2.0, queued_fraction=1.0, poll_after_ms=50)
    state = text_to_video(
        prompt="a heron waiting in the reeds",
        model="emu-video",
        seconds=2,
        size="96x64",
        credentials=VideoGenCredentials(base_url=base_url, api_key="sk-emulator"),
        storage=str(tmp_path),
        return_state=True,
    )
    assert state.is_completed()
    lines = _run_log_lines(state.state_details.flow_run_id)
    queued = [line for line in lines if " is queued (0%), waiting " in line]
    # The status change, then heartbeats over the ~2 s the job stays queued (on_update
    # alone is called once for "queued": it would have logged one line).
    assert len(queued) >= 4, lines


@pytest.mark.usefixtures("prefect_server", "fast_polling", "isolated_results")
async def test_a_batch_where_every_video_failed_says_so(make_emulator, tmp_path):
    from prefect_videogen.credentials import VideoGenCredentials
    from prefect_videogen.flows import generate_batch

    base_url = make_emulator(faults={"fail_prompts": {"cursed": "generation_failed"}})
    requests = [
        {"prompt": f"a cursed tree number {n}", "seconds": 2, "size": "96x64"} for n in range(3)
    ]
    state = await generate_batch(
        requests=requests,
        model="emu-video",
        credentials=VideoGenCredentials(base_url=base_url, api_key="sk-emulator"),
        storage=str(tmp_path),
        allow_failures=True,
        return_state=True,
    )
    assert await state.result() == [None, None, None]
    lines = await asyncio.to_thread(_run_log_lines, state.state_details.flow_run_id)
    assert "Batch finished: 0 of 3 stored, 3 failed" in lines, lines
    assert not any("3 of 3 videos finished" in line for line in lines)
