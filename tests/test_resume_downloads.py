"""A video already stored is not downloaded again; anything doubtful at its path is.

The download step reads the sidecar next to the video's path first: when it names the same
job and the stored file's size and sha256 match it, the stored record is returned without a
request to `/content` (nor to the thumbnail). A corrupted or truncated file, a missing one,
or a sidecar of another job is downloaded again (atomically) with a warning saying why.
The emulator counts every `/content` GET per job (`get_stats(url)["jobs"][id]["downloads"]`).
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import logging
from pathlib import Path

import pytest
from prefect import flow

from prefect_videogen.credentials import VideoGenCredentials
from prefect_videogen.emulator import get_stats
from prefect_videogen.families import VideoRequest
from prefect_videogen.probe import probe_video
from prefect_videogen.records import StoredVideo
from prefect_videogen.tasks import agenerate_video, download_video, submit_video, wait_for_video

# fast_polling, isolated_results: tests/plugins/prefect_fixtures.py
pytestmark = pytest.mark.usefixtures("prefect_server", "fast_polling", "isolated_results")

MODEL = "emu-video"


def creds(base_url: str) -> VideoGenCredentials:
    return VideoGenCredentials(base_url=base_url, api_key="sk-emulator")


def small(prompt: str) -> VideoRequest:
    return VideoRequest(model=MODEL, prompt=prompt, seconds=1, size="64x64")


@flow
def pipeline(request, credentials, storage, probe=False):
    job = submit_video(request, credentials)
    done = wait_for_video(job, credentials)
    return download_video(done, credentials, storage=storage, probe=probe)


def downloads(base_url: str, job_id: str) -> int:
    """GETs of the job's `/content` (video and thumbnail) the emulator served."""
    return get_stats(base_url)["jobs"][job_id]["downloads"]


def sidecar_of(stored: StoredVideo) -> Path:
    return Path(stored.location + ".json")


def test_a_stored_video_is_not_downloaded_again(emulator, tmp_path, caplog):
    caplog.set_level(logging.INFO)
    request, storage = small("resume: a stored lighthouse"), str(tmp_path)
    first = pipeline(request, creds(emulator), storage)
    served = downloads(emulator, first.job_id)
    assert served >= 1
    sidecar = sidecar_of(first).read_bytes()

    again = pipeline(request, creds(emulator), storage)

    assert again == first
    assert downloads(emulator, first.job_id) == served, "the rerun downloaded again"
    assert sidecar_of(first).read_bytes() == sidecar  # untouched
    assert f"Already stored video {first.job_id}" in caplog.text
    assert "not downloaded" in caplog.text


#: How a stored video is damaged, and what the warning then says.
DAMAGES = {
    "flip": "differs from its sidecar's",
    "truncate": "truncated or replaced",
    "delete": "the video file is missing",
    "other_job": "its sidecar names another job (video_someone_else)",
    "garbage": "is not a stored video's record",
}


def _damage(video: Path, sidecar: Path, damage: str) -> None:
    if damage == "flip":
        data = bytearray(video.read_bytes())
        data[len(data) // 2] ^= 0xFF
        video.write_bytes(bytes(data))
    elif damage == "truncate":
        video.write_bytes(video.read_bytes()[:-100])
    elif damage == "delete":
        video.unlink()
    elif damage == "other_job":
        record = json.loads(sidecar.read_text())
        sidecar.write_text(json.dumps({**record, "job_id": "video_someone_else"}))
    else:
        sidecar.write_text("{not json")


def test_a_doubtful_stored_video_is_downloaded_again(emulator, tmp_path, caplog):
    request, storage = small("resume: a damaged fox"), str(tmp_path)
    first = pipeline(request, creds(emulator), storage)
    video, sidecar = Path(first.location), sidecar_of(first)

    for damage, says in DAMAGES.items():  # each rerun repairs what the previous one broke
        served = downloads(emulator, first.job_id)
        caplog.clear()
        _damage(video, sidecar, damage)

        again = pipeline(request, creds(emulator), storage)

        assert downloads(emulator, first.job_id) > served, f"{damage}: not downloaded again"
        assert again.job_id == first.job_id and again.sha256 == first.sha256
        assert hashlib.sha256(video.read_bytes()).hexdigest() == first.sha256
        assert StoredVideo.model_validate_json(sidecar.read_text()).job_id == first.job_id
        assert not [p for p in tmp_path.rglob("*") if p.name.endswith((".part", ".tmp"))]
        warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
        assert any(
            f"Downloading video {first.job_id} again" in message and says in message
            for message in warnings
        ), (damage, warnings)


def test_probe_uses_the_sidecar_or_probes_the_stored_file(emulator, tmp_path):
    request, storage = small("resume: a probed heron"), str(tmp_path)
    first = pipeline(request, creds(emulator), storage, probe=False)
    assert first.probe is None
    served = downloads(emulator, first.job_id)

    probed = pipeline(request, creds(emulator), storage, probe=True)

    assert downloads(emulator, first.job_id) == served
    assert probed.probe == probe_video(first.location)
    assert StoredVideo.model_validate_json(sidecar_of(first).read_text()).probe == probed.probe


async def test_a_rerun_of_generate_video_neither_polls_nor_downloads(emulator, tmp_path):
    @flow
    async def make(request):
        return await agenerate_video(request, creds(emulator), storage=str(tmp_path))

    request = small("resume: a generated kettle")
    first = await make(request)
    job = get_stats(emulator)["jobs"][first.job_id]

    again = await make(request)

    after = get_stats(emulator)["jobs"][first.job_id]
    assert again == first
    assert (after["polls"], after["downloads"]) == (job["polls"], job["downloads"])


def test_skip_works_in_an_s3_bucket(emulator, s3_bucket, s3_client, caplog):
    @flow
    async def make(request):  # generate_batch's path: the async steps, in a worker thread
        return await agenerate_video(request, creds(emulator), storage=s3_bucket)

    request = small("resume: a bucket of frames")
    first = pipeline(request, creds(emulator), s3_bucket)
    served = downloads(emulator, first.job_id)

    assert pipeline(request, creds(emulator), s3_bucket) == first
    assert asyncio.run(make(request)) == first
    assert downloads(emulator, first.job_id) == served, "a rerun downloaded again"

    # A corrupted object in the bucket is downloaded again and put back.
    s3_client.put_object(Bucket=s3_bucket.bucket_name, Key=first.location, Body=b"broken")
    repaired = pipeline(request, creds(emulator), s3_bucket)
    assert downloads(emulator, first.job_id) > served
    body = s3_client.get_object(Bucket=s3_bucket.bucket_name, Key=first.location)["Body"].read()
    assert hashlib.sha256(body).hexdigest() == repaired.sha256 == first.sha256
    assert "truncated or replaced" in caplog.text
