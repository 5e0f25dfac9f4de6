"""Typed models of what the video API answers, normalized across server dialects.

Three dialects exist in the wild and all read into the same `VideoJob`:

- OpenAI (`queued | in_progress | completed | failed`, result only at `/content`);
- new-api gateways (same words plus `unknown` for a task the gateway has not started yet,
  the result URL in `metadata.url`, millisecond timestamps from some providers, and a
  `completed_at` that is the last update time, also while the job runs);
- the seed document (`processing | succeeded | failed`, a top-level `url`).
"""

from __future__ import annotations

from collections.abc import Mapping
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

__all__ = [
    "STATUS_WORDS",
    "ContentVariant",
    "DeletedVideo",
    "VideoJob",
    "VideoJobError",
    "VideoList",
    "VideoStatus",
]


class VideoStatus(StrEnum):
    """The normalized lifecycle of a video job."""

    QUEUED = "queued"
    IN_PROGRESS = "in_progress"
    COMPLETED = "completed"
    FAILED = "failed"

    @property
    def is_terminal(self) -> bool:
        """Whether the job has ended (completed or failed)."""
        return self in (VideoStatus.COMPLETED, VideoStatus.FAILED)


class ContentVariant(StrEnum):
    """What `GET /v1/videos/{id}/content?variant=` returns."""

    VIDEO = "video"
    THUMBNAIL = "thumbnail"
    SPRITESHEET = "spritesheet"


#: Status words seen across OpenAI, new-api gateways, the seed document and the providers
#: behind them (lower-cased). Families may add their own on top.
STATUS_WORDS: dict[str, VideoStatus] = {
    "queued": VideoStatus.QUEUED,
    "pending": VideoStatus.QUEUED,
    "submitted": VideoStatus.QUEUED,
    "in_queue": VideoStatus.QUEUED,
    "queueing": VideoStatus.QUEUED,
    "created": VideoStatus.QUEUED,
    "not_start": VideoStatus.QUEUED,
    "in_progress": VideoStatus.IN_PROGRESS,
    "processing": VideoStatus.IN_PROGRESS,
    "running": VideoStatus.IN_PROGRESS,
    "generating": VideoStatus.IN_PROGRESS,
    "preparing": VideoStatus.IN_PROGRESS,
    "completed": VideoStatus.COMPLETED,
    "succeeded": VideoStatus.COMPLETED,
    "success": VideoStatus.COMPLETED,
    "succeed": VideoStatus.COMPLETED,
    "done": VideoStatus.COMPLETED,
    "failed": VideoStatus.FAILED,
    "failure": VideoStatus.FAILED,
    "fail": VideoStatus.FAILED,
    "error": VideoStatus.FAILED,
    "cancelled": VideoStatus.FAILED,
    "canceled": VideoStatus.FAILED,
    "expired": VideoStatus.FAILED,
    # new-api stores a new task as NOT_START and answers "unknown" until its poller first
    # asks the provider: a job that has not started yet, not a failure. (A server that says
    # "unknown" for an id it does not know is caught by the wait's `unknown_timeout`.)
    "unknown": VideoStatus.QUEUED,
}


class VideoJobError(BaseModel):
    """Why a job failed, as the provider said it."""

    model_config = ConfigDict(extra="allow")

    code: str | None = Field(default=None, description="The provider's error code.")
    message: str | None = Field(default=None, description="The provider's error message.")


def _seconds(value: Any) -> int | None:
    """Unix seconds from seconds or milliseconds (some providers send ms)."""
    if value is None or value == "":
        return None
    try:
        number = int(float(value))
    except (TypeError, ValueError):
        return None
    return number // 1000 if number > 10_000_000_000 else number


def _progress(value: Any) -> int:
    """0..100 from an int, a float or a string such as "30%"."""
    if value is None:
        return 0
    if isinstance(value, str):
        value = value.strip().rstrip("%") or 0
    try:
        return max(0, min(100, int(float(value))))
    except (TypeError, ValueError):
        return 0


class VideoJob(BaseModel):
    """A video generation job, whatever dialect the server speaks.

    Build one from a response body with `VideoJob.from_api(payload)`.

    Example:
        ```python
        from prefect_videogen.models import VideoJob, VideoStatus

        job = VideoJob.from_api({"id": "video_1", "status": "succeeded", "url": "https://x/y.mp4"})
        assert job.status is VideoStatus.COMPLETED and job.url == "https://x/y.mp4"
        ```
    """

    model_config = ConfigDict(frozen=True)

    id: str = Field(description="The job id the server gave; treat it as opaque.")
    status: VideoStatus = Field(description="The normalized status.")
    raw_status: str | None = Field(
        default=None, description="The status word as the server sent it."
    )
    model: str | None = Field(default=None, description="The model generating the video.")
    progress: int = Field(default=0, description="Approximate percent complete, 0 to 100.")
    created_at: int | None = Field(default=None, description="Unix seconds when created.")
    completed_at: int | None = Field(
        default=None,
        description="Unix seconds when finished (completed or failed); None while running.",
    )
    expires_at: int | None = Field(
        default=None, description="Unix seconds when the result expires."
    )
    size: str | None = Field(
        default=None, description="Resolution of the video, as the server says."
    )
    seconds: str | None = Field(
        default=None, description="Duration of the video, as the server says."
    )
    prompt: str | None = Field(default=None, description="The prompt, when the server echoes it.")
    url: str | None = Field(
        default=None,
        description="A direct result URL, when the server gives one (`metadata.url` or `url`).",
    )
    error: VideoJobError | None = Field(default=None, description="Why the job failed.")
    remixed_from_video_id: str | None = Field(default=None, description="Source of a remix.")
    poll_after_ms: int | None = Field(
        default=None,
        description="The server's hint (`openai-poll-after-ms` header) for the next poll.",
    )

    @classmethod
    def from_api(
        cls,
        payload: Mapping[str, Any],
        *,
        status_words: Mapping[str, VideoStatus] | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> VideoJob:
        """Normalize a job object from any supported dialect.

        Args:
            payload: The decoded JSON body (a gateway's `{"code","data"}` envelope is unwrapped).
            status_words: Extra status words (lower-case) a model family uses.
            headers: Response headers, read for `openai-poll-after-ms`.

        Returns:
            The normalized job.
        """
        if (
            "id" not in payload
            and "task_id" not in payload
            and isinstance(payload.get("data"), Mapping)
        ):
            payload = payload["data"]
        words = {**STATUS_WORDS, **(status_words or {})}
        raw_status = payload.get("status")
        raw_status = str(raw_status) if raw_status is not None else None
        status = words.get((raw_status or "").lower(), VideoStatus.IN_PROGRESS)

        metadata = payload.get("metadata")
        url = None
        if isinstance(metadata, Mapping):
            url = metadata.get("url") or None
        url = url or payload.get("url") or payload.get("result_url") or None

        error = payload.get("error")
        if isinstance(error, Mapping):
            error_model: VideoJobError | None = VideoJobError.model_validate(dict(error))
        elif isinstance(error, str) and error:
            error_model = VideoJobError(message=error)
        elif status is VideoStatus.FAILED and payload.get("fail_reason"):
            error_model = VideoJobError(message=str(payload["fail_reason"]))
        else:
            error_model = None

        poll_after = None
        if headers is not None:
            hint = headers.get("openai-poll-after-ms")
            if hint is not None:
                try:
                    poll_after = int(float(hint))
                except ValueError:
                    poll_after = None

        seconds = payload.get("seconds", payload.get("duration"))
        return cls(
            id=str(payload.get("id") or payload.get("task_id")),
            status=status,
            raw_status=raw_status,
            model=payload.get("model"),
            progress=100 if status is VideoStatus.COMPLETED else _progress(payload.get("progress")),
            created_at=_seconds(payload.get("created_at")),
            # Gateways send their last update time here while the job runs: keep it only
            # once the job has ended.
            completed_at=_seconds(payload.get("completed_at")) if status.is_terminal else None,
            expires_at=_seconds(payload.get("expires_at")),
            size=payload.get("size"),
            seconds=str(seconds) if seconds is not None else None,
            prompt=payload.get("prompt"),
            url=url,
            error=error_model,
            remixed_from_video_id=payload.get("remixed_from_video_id"),
            poll_after_ms=poll_after,
        )


class VideoList(BaseModel):
    """One page of `GET /v1/videos`."""

    data: list[VideoJob] = Field(default_factory=list, description="The jobs on this page.")
    first_id: str | None = Field(default=None, description="Id of the first job on the page.")
    last_id: str | None = Field(default=None, description="Id of the last job; pass as `after`.")
    has_more: bool = Field(default=False, description="Whether another page follows.")


class DeletedVideo(BaseModel):
    """The answer to `DELETE /v1/videos/{id}`."""

    id: str = Field(description="The deleted job's id.")
    deleted: bool = Field(description="Whether the server deleted it.")
