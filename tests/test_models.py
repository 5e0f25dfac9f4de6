"""Reading job objects from every server dialect into one VideoJob."""

import pytest

from prefect_videogen.models import VideoJob, VideoStatus


@pytest.mark.parametrize(
    ("payload", "status", "url"),
    [
        ({"id": "video_1", "status": "queued", "progress": 0}, VideoStatus.QUEUED, None),
        ({"id": "video_1", "status": "in_progress", "progress": 40}, VideoStatus.IN_PROGRESS, None),
        (
            {"id": "task_1", "status": "completed", "metadata": {"url": "https://cdn/x.mp4"}},
            VideoStatus.COMPLETED,
            "https://cdn/x.mp4",
        ),
        (
            {"id": "video_1", "status": "succeeded", "url": "https://cdn/y.mp4"},
            VideoStatus.COMPLETED,
            "https://cdn/y.mp4",
        ),
        ({"id": "video_1", "status": "processing"}, VideoStatus.IN_PROGRESS, None),
        ({"id": "video_1", "status": "SUCCESS"}, VideoStatus.COMPLETED, None),
        ({"id": "video_1", "status": "FAILURE", "fail_reason": "boom"}, VideoStatus.FAILED, None),
        (
            {
                "code": "success",
                "data": {"task_id": "t9", "status": "IN_PROGRESS", "progress": "30%"},
            },
            VideoStatus.IN_PROGRESS,
            None,
        ),
    ],
)
def test_dialects_normalize(payload, status, url):
    job = VideoJob.from_api(payload)
    assert job.status is status
    assert job.url == url


def test_progress_and_timestamps_are_normalized():
    job = VideoJob.from_api(
        {"task_id": "t9", "status": "IN_PROGRESS", "progress": "30%", "created_at": 1700000000123}
    )
    assert job.id == "t9"
    assert job.progress == 30
    assert job.created_at == 1700000000


def test_failed_job_carries_provider_error():
    job = VideoJob.from_api(
        {"id": "v", "status": "failed", "error": {"code": "moderation_blocked", "message": "no"}}
    )
    assert job.error is not None
    assert (job.error.code, job.error.message) == ("moderation_blocked", "no")


def test_poll_hint_header():
    job = VideoJob.from_api(
        {"id": "v", "status": "queued"}, headers={"openai-poll-after-ms": "250"}
    )
    assert job.poll_after_ms == 250


def test_family_status_words_extend_the_common_map():
    job = VideoJob.from_api(
        {"id": "v", "status": "weird"}, status_words={"weird": VideoStatus.FAILED}
    )
    assert job.status is VideoStatus.FAILED
