"""The emulator's state: jobs, their status over time, rendered files on disk, and counters.

A job's status is computed from the time elapsed since submission whenever it is asked
for; no task runs per job, so hundreds of concurrent jobs cost nothing while they wait:

    elapsed < not_start_seconds (gateway only)   -> queued, not started (GET says `unknown`)
    elapsed < queued_fraction * latency          -> queued, progress 0
    elapsed < latency, or the render not done    -> in_progress, progress 1..99
    otherwise                                    -> completed (or failed, if planned)

Renders run in a thread pool, starting the first time a client looks at the job (a poll,
a list, a download), so jobs nobody waits for cost no CPU. They are shared: jobs asking
for the same video (prompt, size, duration, fps, images, padding) reuse one set of files.
A job is `completed` only once its file exists; when the render outlasts `latency` the job
stays `in_progress` at 99 %. Files live in a temporary directory removed by
`Store.close()`, or in `EmulatorConfig.content_dir`.
"""

from __future__ import annotations

import hashlib
import os
import secrets
import shutil
import string
import tempfile
import threading
import time
from collections import Counter
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from PIL import Image

from prefect_videogen.emulator.config import EmulatorConfig, FaultConfig
from prefect_videogen.emulator.render import RenderResult, RenderSpec, render

__all__ = ["FAILURE_MESSAGES", "Job", "JobState", "Stats", "Store"]

#: Default message of each failure code.
FAILURE_MESSAGES = {
    "generation_failed": "Video generation failed. Try again, or change the prompt.",
    "moderation_blocked": "Your request was blocked by our moderation system.",
    "render_failed": "The emulator could not render this video.",
}


@dataclass
class JobState:
    """A job's status at one moment."""

    status: str  # queued | in_progress | completed | failed
    progress: int
    completed_at: int | None = None
    expires_at: int | None = None
    error: dict[str, str] | None = None
    expired: bool = False
    result: RenderResult | None = None
    expires_exact: float | None = None
    not_started: bool = False  # gateway: the gateway's poller has not seen the job yet


@dataclass
class Job:
    """One video job."""

    id: str
    model: str
    prompt: str
    seconds: int
    width: int
    height: int
    mode: str
    family: str
    created_at: float
    started: float
    latency: float
    render_key: str | None
    file_token: str
    request: dict[str, Any]
    remixed_from: str | None = None
    planned_failure: tuple[str, str] | None = None
    pending_render: tuple[Any, Any] | None = None
    planned_expiry: bool = False
    idempotency_key: str | None = None
    fingerprint: str | None = None
    owner: str | None = None
    polls: int = 0
    downloads: int = 0
    replays: int = 0
    final: JobState | None = None

    @property
    def size(self) -> str:
        """The frame size as "WxH"."""
        return f"{self.width}x{self.height}"


@dataclass
class Stats:
    """Counters for `GET /emulator/stats`."""

    submissions: int = 0
    by_account: Counter = field(default_factory=Counter)
    polls: int = 0
    downloads: int = 0
    idempotent_replays: int = 0
    rejected: int = 0
    faults: dict[str, Counter] = field(default_factory=dict)
    requests: Counter = field(default_factory=Counter)

    def fault(self, endpoint: str, kind: str) -> None:
        self.faults.setdefault(endpoint, Counter())[kind] += 1


@dataclass
class _Render:
    future: Future[RenderResult]
    users: set[str] = field(default_factory=set)


def new_job_id(dialect: str) -> str:
    """`task_` + 32 letters/digits on a gateway, else `video_` + 48 hex digits."""
    if dialect == "gateway":
        alphabet = string.ascii_letters + string.digits
        return "task_" + "".join(secrets.choice(alphabet) for _ in range(32))
    return "video_" + secrets.token_hex(24)


class Store:
    """Jobs, renders and counters of one emulator; used from the event loop only."""

    def __init__(self, config: EmulatorConfig) -> None:
        self.config = config
        self.faults: FaultConfig = config.faults
        self.jobs: dict[str, Job] = {}
        self.by_token: dict[str, str] = {}
        self.idempotency: dict[str, str] = {}
        self.stats = Stats()
        self._renders: dict[str, _Render] = {}
        self._owned_dir = config.content_dir is None
        self.directory = Path(config.content_dir or tempfile.mkdtemp(prefix="videogen-emulator-"))
        self.directory.mkdir(parents=True, exist_ok=True)
        workers = config.render_workers or max(1, min(4, os.cpu_count() or 1))
        self._executor = ThreadPoolExecutor(workers, thread_name_prefix="emulator-render")
        self._closed = False
        self._lock = threading.Lock()

    # ------------------------------------------------------------------ jobs

    def add(self, job: Job) -> None:
        """Register a new job (counts one submission)."""
        self.jobs[job.id] = job
        self.by_token[job.file_token] = job.id
        if job.idempotency_key is not None:
            self.idempotency[job.idempotency_key] = job.id
        self.stats.submissions += 1
        if job.owner is not None:
            self.stats.by_account[job.owner] += 1

    def get(self, job_id: str) -> Job | None:
        """The job, or None if unknown or deleted."""
        return self.jobs.get(job_id)

    def delete(self, job_id: str) -> Job | None:
        """Forget a job; its files go when no other job uses them."""
        job = self.jobs.pop(job_id, None)
        if job is None:
            return None
        self.by_token.pop(job.file_token, None)
        if job.render_key and job.render_key in self._renders:
            entry = self._renders[job.render_key]
            entry.users.discard(job.id)
            if not entry.users:
                del self._renders[job.render_key]
                entry.future.add_done_callback(_remove_files)
        return job

    def ordered(self) -> list[Job]:
        """Jobs oldest first."""
        return sorted(self.jobs.values(), key=lambda j: (j.created_at, j.started))

    # ------------------------------------------------------------------ renders

    def plan_render(
        self,
        job: Job,
        spec: RenderSpec,
        images: tuple[Image.Image | None, Image.Image | None],
        image_digests: tuple[str | None, str | None],
    ) -> None:
        """Remember what to render for a job; it starts when the job is first looked at."""
        key_text = repr((spec, image_digests))
        job.render_key = hashlib.sha256(key_text.encode()).hexdigest()[:32]
        job.pending_render = (spec, images)

    def start_render(self, job: Job) -> None:
        """Start (or share) the planned render of a job, once."""
        if job.render_key is None or job.pending_render is None:
            return
        spec, images = job.pending_render
        job.pending_render = None
        entry = self._renders.get(job.render_key)
        if entry is None:
            name = f"{job.render_key[:16]}-{secrets.token_hex(4)}"
            future = self._executor.submit(
                render, spec, self.directory, name, first=images[0], last=images[1]
            )
            entry = self._renders[job.render_key] = _Render(future)
        entry.users.add(job.id)

    def render_of(self, job: Job) -> Future[RenderResult] | None:
        """The render future of a job (None if it has none)."""
        if job.render_key is None:
            return None
        entry = self._renders.get(job.render_key)
        return entry.future if entry else None

    # ------------------------------------------------------------------ status

    def state(self, job: Job, *, observe: bool = False) -> JobState:
        """The job's status now (see the module docstring).

        Args:
            job: The job.
            observe: A client is looking (poll, list, download): start the render if it
                has not started. Stats snapshots do not observe.
        """
        if observe:
            self.start_render(job)
        if job.final is not None:
            return self._with_expiry(job, job.final)
        elapsed = time.monotonic() - job.started
        latency = job.latency
        if elapsed < self.config.not_start_window():
            return JobState("queued", 0, not_started=True)
        failure = self._failure_of(job)
        if elapsed >= latency and failure is not None:
            job.final = JobState(
                "failed",
                0,
                completed_at=int(job.created_at + latency),
                error={"code": failure[0], "message": failure[1]},
            )
            return job.final
        if elapsed < latency * self.config.queued_fraction and elapsed < latency:
            return JobState("queued", 0)
        future = self.render_of(job)
        if elapsed < latency or future is None or not future.done():
            progress = 99 if latency <= 0 else int(100 * elapsed / latency)
            return JobState("in_progress", max(1, min(99, progress)))
        error = future.exception()
        if error is not None:
            job.final = JobState(
                "failed",
                0,
                completed_at=int(time.time()),
                error={
                    "code": "render_failed",
                    "message": f"{FAILURE_MESSAGES['render_failed']} "
                    f"({type(error).__name__}: {error})",
                },
            )
            return job.final
        result = future.result()
        finished = max(job.created_at + latency, result.finished_at)
        expires = finished if job.planned_expiry else finished + self.config.content_ttl
        job.final = JobState(
            "completed",
            100,
            completed_at=int(finished),
            expires_at=int(expires),
            result=result,
            expires_exact=expires,
        )
        return self._with_expiry(job, job.final)

    def _failure_of(self, job: Job) -> tuple[str, str] | None:
        if job.planned_failure is not None:
            return job.planned_failure
        faults = self.faults
        code = None
        if job.id in faults.fail_ids:
            code = faults.failure_code
        else:
            for needle, needle_code in faults.fail_prompts.items():
                if needle and needle in job.prompt:
                    code = needle_code
                    break
        if code is None:
            return None
        message = faults.failure_message or FAILURE_MESSAGES.get(
            code, f"Video generation failed ({code})."
        )
        if faults.echo_key_in_failures and self.config.api_key is not None:
            key = self.config.api_key.get_secret_value()
            message += f" (upstream request: Authorization: Bearer {key}; key={key})"
        return code, message

    def _with_expiry(self, job: Job, state: JobState) -> JobState:
        if state.status != "completed":
            return state
        expired = (
            job.planned_expiry
            or job.id in self.faults.expire_ids
            or any(n and n in job.prompt for n in self.faults.expire_prompts)
            or (state.expires_exact is not None and time.time() >= state.expires_exact)
        )
        return replace(state, expired=expired) if expired != state.expired else state

    # ------------------------------------------------------------------ stats

    def snapshot(self) -> dict[str, Any]:
        """The `GET /emulator/stats` document."""
        jobs: dict[str, Any] = {}
        for job in self.ordered():
            state = self.state(job)
            result = state.result
            jobs[job.id] = {
                "submissions": 1,
                "account": job.owner,
                "idempotent_replays": job.replays,
                "polls": job.polls,
                "downloads": job.downloads,
                "status": state.status,
                "progress": state.progress,
                "model": job.model,
                "family": job.family,
                "mode": job.mode,
                "size": job.size,
                "seconds": job.seconds,
                "remixed_from_video_id": job.remixed_from,
                "sha256": result.sha256["video"] if result else None,
                "content": dict(result.sha256) if result else None,
                "bytes": dict(result.sizes) if result else None,
                "render_seconds": round(result.seconds_taken, 4) if result else None,
                "request": job.request,
            }
        return {
            "submissions": self.stats.submissions,
            "submissions_by_account": dict(self.stats.by_account),
            "polls": self.stats.polls,
            "downloads": self.stats.downloads,
            "idempotent_replays": self.stats.idempotent_replays,
            "rejected": self.stats.rejected,
            "requests": dict(self.stats.requests),
            "faults": {k: dict(v) for k, v in self.stats.faults.items()},
            "jobs": jobs,
        }

    def reset(self) -> None:
        """Forget all jobs and counters (rendered files are kept for reuse)."""
        self.jobs.clear()
        self.by_token.clear()
        self.idempotency.clear()
        self.stats = Stats()
        for entry in self._renders.values():
            entry.users.clear()

    # ------------------------------------------------------------------ lifecycle

    def close(self) -> None:
        """Stop the render threads and remove the temporary directory (idempotent)."""
        with self._lock:
            if self._closed:
                return
            self._closed = True
        self._executor.shutdown(wait=True, cancel_futures=True)
        if self._owned_dir:
            shutil.rmtree(self.directory, ignore_errors=True)


def _remove_files(future: Future[RenderResult]) -> None:
    if future.cancelled() or future.exception() is not None:
        return
    result = future.result()
    for path in (result.video, result.thumbnail, result.spritesheet):
        path.unlink(missing_ok=True)
