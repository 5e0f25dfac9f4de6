"""What a person at a terminal sees: Prefect's server starting, and a live progress display.

Used by `prefect-videogen generate` and `prefect-videogen demo`; nothing here is needed by
flows that run in a worker.
"""

from __future__ import annotations

import logging
import os
import re
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

__all__ = ["RunDisplay", "quiet_telemetry", "start_prefect_api"]

#: The loggers whose records a run display shows.
RUN_LOGGERS = ("prefect.flow_runs", "prefect.task_runs")

_SUBMITTED = re.compile(r"Submitted (\S+) (\S+) video job (\S+)")
_STATUS = re.compile(r"Video job (\S+) is (\w+) \((\d+)%\)")
_STORED = re.compile(r"Stored video (\S+)")
_BATCH = re.compile(r"Batch(?: finished)?: (\d+) of (\d+) stored, (\d+) failed")
_BATCH_START = re.compile(r"Batch of \d+ request\(s\), (\d+) distinct")


def quiet_telemetry() -> None:
    """Turn off Prefect's telemetry for this process and the servers it starts.

    On an offline machine Prefect's temporary server logs an ERROR when its telemetry
    heartbeat cannot be sent. Settings the user gave explicitly are kept.
    """
    os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
    os.environ.setdefault("DO_NOT_TRACK", "1")


def start_prefect_api(
    echo: Callable[[str], None], *, timeout: float | None = None, progress_every: float = 10.0
) -> str | None:
    """Start Prefect's temporary local server now, saying so, unless an API is configured.

    Without `PREFECT_API_URL` the first flow call starts a temporary server by itself and
    is silent while it does (10 to 40 s). Starting it here lets the caller say what is
    happening: a line when it starts, one every `progress_every` seconds while it starts,
    and one when it is ready. Returns the API URL of the server started, else None.

    Example:
        ```python
        from prefect_videogen._console import start_prefect_api

        start_prefect_api(print)  # "Starting Prefect's temporary local server ..."
        ```
    """
    from prefect.settings import (
        PREFECT_API_URL,
        PREFECT_SERVER_EPHEMERAL_ENABLED,
        PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS,
    )

    if PREFECT_API_URL.value():
        echo(f"Using the Prefect API at {PREFECT_API_URL.value()}")
        return None
    if not PREFECT_SERVER_EPHEMERAL_ENABLED.value():
        return None
    from prefect.server.api.server import SubprocessASGIServer

    quiet_telemetry()
    server = SubprocessASGIServer()
    if server.running:
        return server.api_url
    echo(
        "Starting Prefect's temporary local server (PREFECT_API_URL is not set; "
        "this takes 10 to 40 s) ..."
    )
    started = time.monotonic()
    wait = timeout or max(PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS.value(), 120)
    done, failure = threading.Event(), []

    def start() -> None:
        try:
            server.start(timeout=int(wait))
        except BaseException as exc:  # re-raised below, in the caller's thread
            failure.append(exc)
        finally:
            done.set()

    threading.Thread(target=start, name="prefect-server-start", daemon=True).start()
    while not done.wait(progress_every):
        echo(f"  ... Prefect's server is still starting ({time.monotonic() - started:.0f} s)")
    if failure:
        raise failure[0]
    echo(f"Prefect server ready at {server.api_url} after {time.monotonic() - started:.0f} s")
    return server.api_url


class _Drop(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        return not record.name.startswith(RUN_LOGGERS)


class RunDisplay(logging.Handler):
    """A `rich` progress display fed by the run's own log lines.

    One row per video job (status, percent, time since submitted); a batch has one row
    (stored and failed of the total) instead. Each log line is printed above the
    rows, so nothing is hidden. Use it as a context manager around the flow call.

    Example:
        ```python
        from prefect_videogen._console import RunDisplay
        from prefect_videogen.flows import text_to_video

        with RunDisplay():
            text_to_video(prompt="a red fox in snow", credentials="videogen")
        ```
    """

    def __init__(self, console: Any = None, *, live: bool | None = None) -> None:
        super().__init__(level=logging.INFO)
        from rich.console import Console
        from rich.progress import (
            BarColumn,
            Progress,
            SpinnerColumn,
            TaskProgressColumn,
            TextColumn,
            TimeElapsedColumn,
        )

        self.console = console if console is not None else Console(stderr=True)
        self.live = self.console.is_terminal if live is None else live
        self.progress = Progress(
            SpinnerColumn(),
            TextColumn("{task.description}"),
            BarColumn(),
            TaskProgressColumn(),
            TextColumn("{task.fields[status]}"),
            TimeElapsedColumn(),
            console=self.console,
            disable=not self.live,
        )
        self.jobs: dict[str, Any] = {}
        self.batch: Any = None
        self._drop = _Drop()

    def emit(self, record: logging.LogRecord) -> None:
        """Update the rows from one log record and print it."""
        try:
            message = record.getMessage()
            self._update(message)
            if self.live:
                stamp = time.strftime("%H:%M:%S", time.localtime(record.created))
                self.console.print(f"[dim]{stamp}[/dim] {message}", markup=True, highlight=False)
        except Exception:  # a display must never break a run
            self.handleError(record)

    def _row(self, job_id: str, label: str | None = None) -> Any:
        if job_id not in self.jobs:
            self.jobs[job_id] = self.progress.add_task(
                label or job_id[-12:], total=100, status="submitted"
            )
        return self.jobs[job_id]

    def _update(self, message: str) -> None:
        if match := _BATCH_START.search(message):
            total = int(match.group(1))
            self.batch = self.progress.add_task("batch", total=total, status="starting")
            return
        if match := _BATCH.search(message):
            stored, total, failed = (int(group) for group in match.groups())
            if self.batch is None:
                self.batch = self.progress.add_task("batch", total=total, status="")
            self.progress.update(
                self.batch, completed=stored + failed, status=f"{stored} stored, {failed} failed"
            )
            return
        if self.batch is not None:  # a batch has one row, not one per video
            return
        if match := _SUBMITTED.search(message):
            model, mode, job_id = match.groups()
            self._row(job_id, f"{mode} {model} {job_id[-8:]}")
        elif match := _STATUS.search(message):
            job_id, status, percent = match.groups()
            self.progress.update(self._row(job_id), completed=int(percent), status=status)
        elif match := _STORED.search(message):
            self.progress.update(self._row(match.group(1)), completed=100, status="stored")

    @contextmanager
    def _attached(self) -> Iterator[None]:
        loggers = [logging.getLogger(name) for name in RUN_LOGGERS]
        console_handlers = list(logging.getLogger().handlers) if self.live else []
        for logger in loggers:
            logger.addHandler(self)
        for handler in console_handlers:  # the display prints these lines itself
            handler.addFilter(self._drop)
        try:
            yield
        finally:
            for logger in loggers:
                logger.removeHandler(self)
            for handler in console_handlers:
                handler.removeFilter(self._drop)

    def __enter__(self) -> RunDisplay:
        self._stack = self._attached()
        self._stack.__enter__()
        self.progress.start()
        return self

    def __exit__(self, *exc_info: Any) -> None:
        self.progress.stop()
        self._stack.__exit__(*exc_info)
