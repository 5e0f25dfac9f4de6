"""The t2v / i2v / keyframe flows end to end: emulator over HTTP, Prefect server, disk and S3."""

from __future__ import annotations

import asyncio
import json
import time
from pathlib import Path

import pytest
from plugins.emulator_fixtures import png_bytes
from prefect import flow
from prefect.client.orchestration import get_client
from prefect.events.worker import EventsWorker
from prefect.filesystems import LocalFileSystem

from prefect_videogen.credentials import VideoGenCredentials
from prefect_videogen.emulator import get_stats
from prefect_videogen.exceptions import InvalidRequestError, VideoGenerationFailed
from prefect_videogen.flows import (
    image_to_video,
    keyframe_to_video,
    resolve_credentials,
    resolve_image,
    text_to_video,
)
from prefect_videogen.images import ImageInput
from prefect_videogen.probe import probe_video
from prefect_videogen.records import StoredVideo

# fast_polling, isolated_results: tests/plugins/prefect_fixtures.py
pytestmark = pytest.mark.usefixtures("prefect_server", "fast_polling", "isolated_results")

MODEL = "emu-video"  # the generic family: any even "WxH", keyframes as two uploads


def creds(base_url: str) -> VideoGenCredentials:
    return VideoGenCredentials(base_url=base_url, api_key="sk-emulator")


def creates(base_url: str) -> int:
    return get_stats(base_url)["requests"].get("create", 0)


def read_events(name: str, resource_id: str) -> list[dict]:
    EventsWorker.instance().wait_until_empty()
    query = {"filter": {"event": {"name": [name]}, "resource": {"id": [resource_id]}}}
    with get_client(sync_client=True) as client:
        for _ in range(100):
            events = client._client.post("/events/filter", json=query).json()["events"]
            if events:
                return events
            time.sleep(0.1)
    return []


def assert_video(stored: StoredVideo, size: str, seconds: float) -> None:
    probe = probe_video(stored.location)
    assert probe.size == size
    assert probe.duration == pytest.approx(seconds, abs=0.3)
    assert probe.codec == "h264"


def test_text_to_video_end_to_end_then_rerun_and_attempt(make_emulator, tmp_path):
    base_url = make_emulator()
    args = {
        "prompt": "a red fox running through fresh snow",
        "model": "sora-2",
        "seconds": 4,
        "size": "1280x720",
        "credentials": creds(base_url),
        "storage": str(tmp_path),
    }
    stored = text_to_video(**args)
    assert_video(stored, "1280x720", 4)
    assert stored.mode == "t2v" and stored.family == "sora"
    assert Path(stored.location).is_relative_to(tmp_path / "sora-2")
    assert Path(stored.location + ".json").is_file()
    event = read_events(
        "prefect-videogen.video.completed", f"prefect-videogen.video.{stored.job_id}"
    )
    assert event[0]["payload"]["sha256"] == stored.sha256
    assert creates(base_url) == 1

    rerun = text_to_video(**args)
    assert rerun.job_id == stored.job_id and rerun.sha256 == stored.sha256
    assert creates(base_url) == 1  # the rerun made 0 new submissions

    again = text_to_video(**args, attempt=1)
    assert again.job_id != stored.job_id
    assert creates(base_url) == 2  # attempt=1 made exactly 1 new one


def test_artifacts_link_and_thumbnail(emulator, tmp_path):
    stored = text_to_video(
        "an artifact heron",
        model=MODEL,
        seconds=2,
        size="160x96",
        credentials=creds(emulator),
        storage=str(tmp_path),
    )

    async def artifacts(key):
        from prefect.client.schemas.filters import ArtifactFilter, ArtifactFilterKey

        async with get_client() as client:
            return await client.read_artifacts(
                artifact_filter=ArtifactFilter(key=ArtifactFilterKey(any_=[key]))
            )

    key = "video-" + stored.job_id.replace("_", "-").lower().removeprefix("video-")  # not doubled
    link = asyncio.run(artifacts(key))
    assert link[0].type == "markdown" or link[0].type == "link"
    assert stored.uri in link[0].data
    summary = asyncio.run(artifacts(key + "-summary"))[0]
    assert "data:image/jpeg;base64," in summary.data
    assert len(summary.data) < 60_000  # the embedded thumbnail stays small


@pytest.mark.parametrize("notation", ["path", "bytes", "url", "image-input", "block"])
def test_image_to_video_accepts_every_image_notation(emulator, image_server, tmp_path, notation):
    data = png_bytes(160, 96, (30, 90, 200))
    (tmp_path / "in").mkdir()
    (tmp_path / "in" / "start.png").write_bytes(data)
    # The generic family sends a URL image both as input_reference and images[0], which the
    # emulator reads as two frames; a URL goes to Vidu here, whose gateway takes URLs.
    model, size, seconds = MODEL, "160x96", 2
    if notation == "path":
        image = str(tmp_path / "in" / "start.png")
    elif notation == "bytes":
        image = data
    elif notation == "url":
        image = image_server("start.png", data)
        model, size, seconds = "vidu2.0", "360p", 4
    elif notation == "image-input":
        image = ImageInput.from_bytes(data, filename="start.png")
    else:
        LocalFileSystem(basepath=str(tmp_path / "in")).save("videogen-images", overwrite=True)
        image = "local-file-system/videogen-images:start.png"
    stored = image_to_video(
        f"the blue gradient ripples ({notation})",
        image=image,
        model=model,
        seconds=seconds,
        size=size,
        credentials=creds(emulator),
        storage=str(tmp_path / "out"),
    )
    assert stored.mode == "i2v"
    assert get_stats(emulator)["jobs"][stored.job_id]["mode"] == "i2v"
    if notation == "url":
        probe = probe_video(stored.location)
        assert min(probe.width, probe.height) == 360
        assert probe.duration == pytest.approx(4, abs=0.3)
    else:
        assert_video(stored, "160x96", 2)
        assert stored.request["first_frame_sha256"] == ImageInput.from_bytes(data).sha256


def test_sora_image_from_a_url_is_fetched_and_uploaded(
    emulator, image_server, tmp_path, monkeypatch
):
    # The image server is on loopback, which image fetches refuse unless allowed.
    monkeypatch.setenv("PREFECT_INTEGRATIONS_VIDEOGEN_ALLOWED_IMAGE_HOSTS", '["127.0.0.1"]')
    url = image_server("cat.png", png_bytes(1280, 720))
    stored = image_to_video(
        "the cat turns its head",
        image=url,
        model="sora-2",
        seconds=4,
        size="1280x720",
        credentials=creds(emulator),
        storage=str(tmp_path),
    )
    assert_video(stored, "1280x720", 4)
    assert get_stats(emulator)["jobs"][stored.job_id]["mode"] == "i2v"


def test_keyframe_to_video(emulator, tmp_path):
    first = tmp_path / "first.png"
    first.write_bytes(png_bytes(160, 96, (250, 200, 30)))
    stored = keyframe_to_video(
        "the sun sets",
        first_frame=str(first),
        last_frame=png_bytes(160, 96, (20, 20, 80)),
        model=MODEL,
        seconds=2,
        size="160x96",
        credentials=creds(emulator),
        storage=str(tmp_path / "out"),
    )
    assert stored.mode == "keyframe"
    assert_video(stored, "160x96", 2)
    assert get_stats(emulator)["jobs"][stored.job_id]["mode"] == "keyframe"


def test_keyframe_needs_both_frames(emulator, tmp_path):
    with pytest.raises(InvalidRequestError) as info:
        keyframe_to_video(
            "x",
            first_frame=png_bytes(16, 16),
            last_frame=None,
            model=MODEL,
            credentials=creds(emulator),
        )
    assert info.value.field == "last_frame"


async def test_flows_store_to_a_saved_s3_bucket_by_name(emulator, s3_bucket, s3_client, tmp_path):
    await s3_bucket.asave("videogen-flows", overwrite=True)
    await creds(emulator).asave("videogen-flows-emulator", overwrite=True)

    def run():
        return text_to_video(
            "frames in a bucket",
            model=MODEL,
            seconds=2,
            size="160x96",
            credentials="videogen-flows-emulator",
            storage="s3-bucket/videogen-flows",
        )

    stored = await asyncio.to_thread(run)
    assert stored.storage == "s3-bucket/videogen-flows"
    assert stored.uri == f"s3://{s3_bucket.bucket_name}/{stored.location}"
    local = tmp_path / "from-s3.mp4"
    s3_client.download_file(s3_bucket.bucket_name, stored.location, str(local))
    probe = probe_video(local)
    assert (probe.size, round(probe.duration)) == ("160x96", 2)
    sidecar = s3_client.get_object(Bucket=s3_bucket.bucket_name, Key=stored.location + ".json")
    assert StoredVideo.model_validate(json.loads(sidecar["Body"].read())) == stored


def test_flows_work_as_subflows(emulator, tmp_path):
    @flow
    def storyboard(credentials) -> list[StoredVideo]:
        opening = text_to_video(
            "an opening shot",
            model=MODEL,
            seconds=2,
            size="160x96",
            credentials=credentials,
            storage=str(tmp_path),
        )
        follow = image_to_video(
            "the next shot",
            image=png_bytes(160, 96),
            model=MODEL,
            seconds=2,
            size="160x96",
            credentials=credentials,
            storage=str(tmp_path),
        )
        return [opening, follow]

    videos = storyboard(creds(emulator))
    assert [v.mode for v in videos] == ["t2v", "i2v"]
    for video in videos:
        assert_video(video, "160x96", 2)


async def test_flows_run_from_a_deployment_in_another_process(emulator, tmp_path):
    """Parameters are JSON: block names and paths go through the server to a new process."""
    from prefect.deployments import arun_deployment
    from prefect.flow_engine import run_flow_in_subprocess

    await creds(emulator).asave("videogen-deployment", overwrite=True)
    deployment = await text_to_video.ato_deployment(name="videogen-test")
    await deployment.apply()
    flow_run = await arun_deployment(
        "text-to-video/videogen-test",
        parameters={
            "prompt": "a deployed fox",
            "model": MODEL,
            "seconds": 2,
            "size": "160x96",
            "credentials": "videogen-deployment",
            "storage": str(tmp_path),
        },
        timeout=0,
    )
    assert flow_run.parameters["credentials"] == "videogen-deployment"
    process = run_flow_in_subprocess(text_to_video, flow_run=flow_run)
    await asyncio.to_thread(process.join, 120)
    assert process.exitcode == 0
    async with get_client() as client:
        finished = await client.read_flow_run(flow_run.id)
    assert finished.state.is_completed()
    stored = await finished.state.result()
    assert isinstance(stored, StoredVideo)
    assert_video(stored, "160x96", 2)
    assert Path(stored.location).is_relative_to(tmp_path)


def test_failed_generation_fails_the_flow_with_the_provider_code(make_emulator, tmp_path):
    base_url = make_emulator(faults={"fail_prompts": {"melt": "content_policy_violation"}})
    state = text_to_video(
        "the clock melts",
        model=MODEL,
        seconds=2,
        size="160x96",
        credentials=creds(base_url),
        storage=str(tmp_path),
        return_state=True,
    )
    assert state.is_failed()
    with pytest.raises(VideoGenerationFailed) as info:
        state.result()
    assert info.value.code == "content_policy_violation"
    events = read_events(
        "prefect-videogen.video.failed", f"prefect-videogen.video.{info.value.job.id}"
    )
    assert events[0]["payload"]["code"] == "content_policy_violation"


def test_credentials_by_name_and_default(emulator, monkeypatch):
    creds(emulator).save("videogen-default-test", overwrite=True)
    assert resolve_credentials("videogen-default-test").base_url == emulator
    monkeypatch.setenv("PREFECT_INTEGRATIONS_VIDEOGEN_CREDENTIALS_BLOCK", "videogen-default-test")
    assert resolve_credentials(None).base_url == emulator
    with pytest.raises(InvalidRequestError, match=r'\.save\("no-such-block"\)'):
        resolve_credentials("no-such-block")


def test_bad_input_fails_before_anything_is_sent(make_emulator, tmp_path):
    base_url = make_emulator()
    with pytest.raises(InvalidRequestError) as info:
        text_to_video("x", model="sora-2", seconds=5, credentials=creds(base_url))
    assert info.value.field == "seconds"
    with pytest.raises(InvalidRequestError) as info:
        image_to_video("x", image=str(tmp_path / "missing.png"), credentials=creds(base_url))
    assert info.value.field == "image"
    empty = tmp_path / "empty.png"
    empty.write_bytes(b"")
    with pytest.raises(InvalidRequestError) as info:
        keyframe_to_video("x", first_frame=png_bytes(16, 16), last_frame=str(empty), model=MODEL)
    assert info.value.field == "last_frame"
    for template in ("{user}/{job_id}.mp4", "../{job_id}.mp4"):
        with pytest.raises(InvalidRequestError) as info:
            text_to_video("x", model=MODEL, credentials=creds(base_url), path_template=template)
        assert info.value.field == "path_template"
    assert creates(base_url) == 0


def test_resolve_image_notations(tmp_path):
    (tmp_path / "a.png").write_bytes(png_bytes(8, 8))
    assert resolve_image("a.png", base_dir=tmp_path).filename == "a.png"
    assert resolve_image("https://example.com/x.png").url == "https://example.com/x.png"
    assert resolve_image(None) is None
    # A slug that is no block type is read as a path (and fails as one).
    with pytest.raises(InvalidRequestError, match="cannot read"):
        resolve_image("no-such-type/name:x.png")
