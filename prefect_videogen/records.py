"""Small JSON records that tasks return and persist: the job they track, the video they stored.

They never hold video bytes or secrets, so Prefect can persist them with the JSON serializer
and a rerun can read them back in a new process. `StoredVideo` is also what the sidecar file
next to each video holds (`<video path>.json`).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from prefect_videogen.costs import CostEstimate, record_estimate
from prefect_videogen.models import VideoStatus

__all__ = ["JobRecord", "StoredVideo", "Timings", "VideoProbe"]


def utcnow() -> datetime:
    """The current time, timezone-aware in UTC."""
    return datetime.now(UTC)


class VideoProbe(BaseModel):
    """What PyAV reads from a video file's first video stream.

    Example:
        ```python
        from prefect_videogen.records import VideoProbe

        probe = VideoProbe(width=1280, height=720, duration=4.0, fps=24.0, codec="h264")
        print(probe.size)  # 1280x720
        ```
    """

    model_config = ConfigDict(frozen=True)

    width: int = Field(description="Frame width in pixels.")
    height: int = Field(description="Frame height in pixels.")
    duration: float | None = Field(default=None, description="Duration in seconds, if known.")
    fps: float | None = Field(default=None, description="Average frame rate, if known.")
    codec: str = Field(description="Video codec name, e.g. h264.")
    frames: int | None = Field(default=None, description="Frame count, if the container says.")
    container: str | None = Field(default=None, description="Container format, e.g. mp4.")
    has_audio: bool = Field(default=False, description="Whether an audio stream is present.")

    @property
    def size(self) -> str:
        """The frame size as "WxH"."""
        return f"{self.width}x{self.height}"


class JobRecord(BaseModel):
    """One remote video job and the request behind it.

    `submit_video` returns it (and persists it, so a rerun finds the same job id);
    `wait_for_video` returns an updated copy once the job has finished.

    Example:
        ```python
        from prefect_videogen.records import JobRecord

        job = JobRecord(job_id="video_123", model="sora-2")
        print(job.status.value)  # queued
        ```
    """

    model_config = ConfigDict(frozen=True)

    job_id: str = Field(description="The id the server gave the job (opaque).")
    model: str = Field(description="The model generating the video.")
    family: str | None = Field(default=None, description="The model family's name.")
    mode: str | None = Field(default=None, description="t2v, i2v or keyframe.")
    fingerprint: str | None = Field(
        default=None, description="Digest of the normalized request (see VideoRequest.fingerprint)."
    )
    attempt: int = Field(default=0, description="Which submission of this request this is.")
    status: VideoStatus = Field(default=VideoStatus.QUEUED, description="Last known status.")
    progress: int = Field(default=0, description="Last known progress, 0 to 100.")
    request: dict[str, Any] = Field(
        default_factory=dict, description="Summary of the request (images by hash)."
    )
    submitted_at: datetime | None = Field(default=None, description="When the job was submitted.")
    finished_at: datetime | None = Field(
        default=None, description="When the job was seen finished."
    )
    result_url: str | None = Field(
        default=None,
        repr=False,
        description="A direct result URL, when the server gave one (gateways, seed dialect).",
    )
    error_code: str | None = Field(default=None, description="The provider's error code.")
    error_message: str | None = Field(default=None, description="The provider's error message.")
    estimated_cost: CostEstimate | None = Field(
        default=None, description="What the job was expected to cost (prefect_videogen.costs)."
    )

    @classmethod
    def submitted(cls, job: Any, request: Any, family: Any, attempt: int) -> JobRecord:
        """The record of a job the server just accepted for a normalized request.

        Example:
            ```python
            record = JobRecord.submitted(job, normalized, family, attempt=0)
            ```
        """
        return cls(
            job_id=job.id,
            model=request.model,
            family=family.name,
            mode=request.mode,
            fingerprint=request.fingerprint(),
            attempt=attempt,
            status=job.status,
            progress=job.progress,
            request=request.summary(),
            submitted_at=utcnow(),
            result_url=job.url,
            estimated_cost=record_estimate(request),
        )

    @classmethod
    def of(cls, job: JobRecord | dict[str, Any] | str, model: str | None = None) -> JobRecord:
        """A record from what a caller passed: a record, its dict, or a bare job id.

        Raises:
            InvalidRequestError: `job` is none of those.
        """
        from prefect_videogen.exceptions import InvalidRequestError

        if isinstance(job, JobRecord):
            return job
        if isinstance(job, dict):
            return cls.model_validate(job)
        if isinstance(job, str) and job:
            return cls(job_id=job, model=model or "unknown")
        raise InvalidRequestError(
            "job", value=type(job).__name__, allowed="a JobRecord or a job id"
        )

    def finished(self, job: Any) -> JobRecord:
        """This record updated with the finished job the server returned."""
        return self.model_copy(
            update={
                "status": job.status,
                "progress": job.progress,
                "finished_at": utcnow(),
                "result_url": job.url or self.result_url,
                "model": self.model if self.model != "unknown" else (job.model or "unknown"),
            }
        )

    def failed(self, code: str | None, message: str | None) -> JobRecord:
        """This record marked failed with the provider's code and message."""
        return self.model_copy(
            update={
                "status": VideoStatus.FAILED,
                "finished_at": utcnow(),
                "error_code": code,
                "error_message": message,
            }
        )

    @property
    def expected_seconds(self) -> int | None:
        """The duration the request asked for, if it says."""
        value = self.request.get("seconds")
        return int(value) if value is not None else None

    @property
    def expected_size(self) -> str | None:
        """The size the request asked for, if it says."""
        return self.request.get("size")


class Timings(BaseModel):
    """When each step happened and how long it took."""

    submitted_at: datetime | None = Field(default=None, description="When the job was submitted.")
    finished_at: datetime | None = Field(
        default=None, description="When the job was seen finished."
    )
    stored_at: datetime | None = Field(default=None, description="When the video was stored.")
    download_seconds: float | None = Field(
        default=None, description="Time spent downloading and storing the video."
    )

    @property
    def generation_seconds(self) -> float | None:
        """Seconds from submission to the job being seen finished."""
        if self.submitted_at is None or self.finished_at is None:
            return None
        return (self.finished_at - self.submitted_at).total_seconds()


class StoredVideo(BaseModel):
    """A generated video written to storage, and everything known about it.

    The sidecar JSON next to each video is this record (`model_dump_json`).

    Example:
        ```python
        from prefect_videogen.records import StoredVideo

        sidecar = open("videos/sora-2/2026-01-01/video_1.mp4.json").read()
        video = StoredVideo.model_validate_json(sidecar)
        print(video.uri, video.sha256)
        ```
    """

    job_id: str = Field(description="The server's job id.")
    model: str = Field(description="The model that generated the video.")
    family: str | None = Field(default=None, description="The model family's name.")
    mode: str | None = Field(default=None, description="t2v, i2v or keyframe.")
    fingerprint: str | None = Field(default=None, description="Digest of the normalized request.")
    attempt: int = Field(default=0, description="Which submission of this request it came from.")
    storage: str = Field(
        description='The storage block: "<type-slug>/<name>" when saved, else its type slug.'
    )
    path: str = Field(description="The video's path relative to the storage block.")
    location: str = Field(
        description="Where the block put it: an absolute local path or the full object key."
    )
    uri: str = Field(description="A URI for the video: file://... or s3://bucket/key.")
    sidecar_path: str = Field(description="Path of the sidecar JSON, relative to the block.")
    size_bytes: int = Field(description="Size of the video file.")
    sha256: str = Field(description="SHA-256 of the video file, hex.")
    content_type: str = Field(default="video/mp4", description="MIME type the server sent.")
    probe: VideoProbe | None = Field(default=None, description="What PyAV read from the file.")
    timings: Timings = Field(default_factory=Timings, description="When each step happened.")
    request: dict[str, Any] = Field(
        default_factory=dict, description="Summary of the request (images by hash)."
    )
    estimated_cost: CostEstimate | None = Field(
        default=None,
        description="What the video was expected to cost when it was submitted (our price table).",
    )

    @classmethod
    def stored(
        cls,
        record: JobRecord,
        *,
        storage: str,
        path: str,
        location: str,
        uri: str,
        sidecar_path: str,
        content: Any,
        probe: VideoProbe | None,
        download_seconds: float,
    ) -> StoredVideo:
        """The record of `record`'s video, stored at `location` (pure: no I/O).

        `content` is what the client's download returned (size, sha256, content type).
        """
        return cls(
            job_id=record.job_id,
            model=record.model,
            family=record.family,
            mode=record.mode,
            fingerprint=record.fingerprint,
            attempt=record.attempt,
            storage=storage,
            path=path,
            location=location,
            uri=uri,
            sidecar_path=sidecar_path,
            size_bytes=content.size,
            sha256=content.sha256,
            content_type=content.content_type,
            probe=probe,
            timings=Timings(
                submitted_at=record.submitted_at,
                finished_at=record.finished_at,
                stored_at=utcnow(),
                download_seconds=round(download_seconds, 3),
            ),
            request=record.request,
            estimated_cost=record.estimated_cost,
        )

    def sidecar_bytes(self) -> bytes:
        """The sidecar JSON written next to the video."""
        return self.model_dump_json(indent=2).encode()
