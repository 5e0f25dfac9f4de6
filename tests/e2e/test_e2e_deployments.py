"""End to end: deployments/prefect.yaml on a real Prefect server with a process worker.

One server for the module (see conftest.py). The image-uploaded event and the parent flow
are started together by the `kicked_off` fixture, so their flow runs overlap; each test then
waits (bounded) for its part:

1. the event trigger runs image-to-video with parameters templated from the event, and the
   MP4 decodes at the size the event asked for;
2. the video's `prefect-videogen.video.completed` event runs the post-processing deployment,
   which writes a poster frame next to the video;
3. a parent flow (flows/storyboard.py) runs the text-to-video deployment as a subflow with
   `run_deployment` and gets the stored video back;
4. the nightly batch has its cron schedule and its global limits exist (running the batch
   is left to tests/test_batch.py, which checks the limit under the test harness: here it
   would add four flow-run processes, the batch and three post-processing runs, to a
   2-core CI);
5. the API key is nowhere in stored parameters, job variables, events, logs or sidecars.
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

import pytest

from prefect_videogen.emulator import get_stats

from .conftest import REPO, WAIT, Stack

# The module's own waits are bounded (conftest.WAIT) and print the logs when they run out;
# the per-test timeout only has to stay out of their way.
pytestmark = [pytest.mark.e2e, pytest.mark.timeout(600), pytest.mark.xdist_group("e2e-deployments")]

I2V = "image-to-video/on-image-uploaded"
T2V = "text-to-video/on-demand"
POSTPROCESS = "postprocess-video/on-video-completed"
NIGHTLY = "generate-video-batch/nightly"
UPLOAD_SIZE = (720, 1280)  # portrait: differs from the deployment's default 1280x720


def _png(path: Path, size: tuple[int, int]) -> Path:
    from PIL import Image

    Image.new("RGB", size, (200, 120, 40)).save(path)
    return path


def _decode(path: Path) -> tuple[int, int, int]:
    """(width, height, frames decoded) of a video, decoding every frame with PyAV."""
    import av

    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        frames = sum(1 for _ in container.decode(stream))
        return stream.codec_context.width, stream.codec_context.height, frames


def _finished_run(stack: Stack, deployment: str, accept: Any = None) -> Any:
    """Wait for a COMPLETED run of `deployment` (matching `accept`); fail fast on a failure."""

    def probe() -> Any:
        for run in stack.flow_runs(deployment):
            if accept is not None and not accept(run):
                continue
            state = run.state
            if state is not None and state.is_completed():
                return run
            if state is not None and state.is_final():
                pytest.fail(f"{deployment} run {run.name} ended {state.type.value}: "
                            f"{state.message}\n{stack.logs()}")  # fmt: skip
        return None

    return stack.wait_for(f"a completed run of {deployment}", probe)


def _sidecars(stack: Stack) -> list[dict[str, Any]]:
    return [json.loads(path.read_text()) for path in stack.video_dir.rglob("*.mp4.json")]


@pytest.fixture(scope="module")
def kicked_off(stack: Stack) -> dict[str, Any]:
    """Emit the image-uploaded event and start the parent flow; return what was asked."""
    image = _png(stack.upload_dir / "cat.png", UPLOAD_SIZE)
    stack.emit(
        "prefect-videogen.image.uploaded",
        resource={"prefect.resource.id": "prefect-videogen.image.e2e-cat"},
        payload={
            "location": str(image),
            "prompt": "the cat slowly turns its head",
            "size": f"{UPLOAD_SIZE[0]}x{UPLOAD_SIZE[1]}",
        },
    )
    parent = stack.start("storyboard", "flows/storyboard.py", "a lighthouse at dusk, waves below")
    return {"image": image, "parent": parent}


@pytest.fixture(scope="module")
def i2v_video(stack: Stack, kicked_off: dict[str, Any]) -> dict[str, Any]:
    """The StoredVideo (sidecar JSON) the event-triggered image-to-video run wrote."""
    run = _finished_run(stack, I2V)
    videos = [video for video in _sidecars(stack) if video["mode"] == "i2v"]
    assert len(videos) == 1, videos
    return {"run": run, "video": videos[0]}


def test_nightly_batch_is_scheduled_and_limits_exist(stack: Stack) -> None:
    with stack.client() as client:
        deployment = client.read_deployment_by_name(NIGHTLY)
        jobs = client.read_global_concurrency_limit_by_name("videogen-gateway")
        rpm = client.read_global_concurrency_limit_by_name("videogen-gateway-rpm")
    schedules = [(s.schedule.cron, s.schedule.timezone, s.active) for s in deployment.schedules]
    assert schedules == [("0 2 * * *", "UTC", True)]
    assert deployment.parameters["manifest"] == "deployments/manifests/nightly.jsonl"
    assert deployment.parameters["concurrency_limit"] == "videogen-gateway"
    assert (REPO / deployment.parameters["manifest"]).is_file()
    assert (jobs.limit, jobs.slot_decay_per_second) == (2, 0.0)
    assert (rpm.limit, rpm.slot_decay_per_second) == (30, 0.5)


def test_image_uploaded_event_runs_image_to_video(
    stack: Stack, kicked_off: dict[str, Any], i2v_video: dict[str, Any]
) -> None:
    run, video = i2v_video["run"], i2v_video["video"]
    # Parameters: templated from the event, defaults from the template, blocks by name.
    assert run.parameters["image"] == str(kicked_off["image"])
    assert run.parameters["prompt"] == "the cat slowly turns its head"
    assert run.parameters["size"] == "720x1280"
    assert str(run.parameters["seconds"]) == "4"
    assert run.parameters["model"] == "veo-3.1-fast-generate-preview"
    assert run.parameters["credentials"] == "videogen"
    assert run.parameters["storage"] == "local-file-system/videogen-videos"

    path = Path(video["location"])
    assert path.is_file() and stack.video_dir in path.parents
    assert video["storage"] == "local-file-system/videogen-videos"
    width, height, frames = _decode(path)
    assert (width, height) == UPLOAD_SIZE
    assert frames > 0

    # The emulator made it, from one submission that carried the uploaded image.
    job = get_stats(stack.emulator_url)["jobs"][video["job_id"]]
    assert (job["submissions"], job["mode"], job["size"]) == (1, "i2v", "720x1280")
    assert job["request"]["images"][0]["width"] == UPLOAD_SIZE[0]


def test_completed_event_runs_postprocessing(stack: Stack, i2v_video: dict[str, Any]) -> None:
    from PIL import Image

    video = i2v_video["video"]
    run = _finished_run(
        stack, POSTPROCESS, accept=lambda run: run.parameters.get("location") == video["location"]
    )
    assert run.parameters["storage"] == "local-file-system/videogen-videos"
    assert run.parameters["path"] == video["path"]
    poster = Path(video["location"]).with_name(Path(video["location"]).stem + ".poster.jpg")
    assert poster.is_file()
    with Image.open(poster) as image:
        assert image.format == "JPEG"
        assert image.size == UPLOAD_SIZE


def test_parent_flow_runs_text_to_video_deployment(
    stack: Stack, kicked_off: dict[str, Any]
) -> None:
    parent = kicked_off["parent"]
    try:
        code = parent.wait(timeout=WAIT)
    except subprocess.TimeoutExpired:
        pytest.fail(f"the storyboard flow did not finish within {WAIT:.0f} s\n{stack.logs()}")
    output = (stack.log_dir / "storyboard.log").read_text()
    assert code == 0, f"{output}\n{stack.logs()}"
    scenes = [json.loads(line) for line in output.splitlines() if line.startswith("{")]
    assert len(scenes) == 1, output
    scene = scenes[0]
    assert scene["state"] == "COMPLETED"
    assert scene["video"]["mode"] == "t2v"
    width, height, frames = _decode(Path(scene["video"]["location"]))
    assert (width, height, frames > 0) == (1280, 720, True)

    # The child run belongs to the text-to-video deployment and is linked to the parent.
    with stack.client() as client:
        child = client.read_flow_run(scene["flow_run_id"])
        deployment = client.read_deployment_by_name(T2V)
        parent_task_run = client.read_task_run(child.parent_task_run_id)
        parent_run = client.read_flow_run(parent_task_run.flow_run_id)
    assert child.deployment_id == deployment.id
    assert child.parameters["prompt"] == "a lighthouse at dusk, waves below"
    assert child.parameters["credentials"] == "videogen"
    assert parent_run.state.is_completed()
    assert parent_run.flow_id != child.flow_id
    job = get_stats(stack.emulator_url)["jobs"][scene["video"]["job_id"]]
    assert (job["submissions"], job["mode"]) == (1, "t2v")


def test_api_key_is_never_stored(stack: Stack, i2v_video: dict[str, Any]) -> None:
    with stack.client() as client:
        deployments = client.read_deployments()
        runs = client.read_flow_runs()
        page = client.read_events(limit=50)
        events = list(page.events)
        while page.next_page:
            page = client.read_events_page(str(page.next_page))
            events += page.events
    assert any(event.event == "prefect-videogen.video.completed" for event in events)
    assert stack.api_key not in json.dumps([event.model_dump(mode="json") for event in events])
    assert {d.name for d in deployments} >= {"on-demand", "on-image-uploaded", "nightly"}
    stored = json.dumps(
        [d.parameters for d in deployments]
        + [d.model_dump(mode="json").get("job_variables") for d in deployments]
        + [run.parameters for run in runs]
    )
    assert stack.api_key not in stored
    for deployment in deployments:
        if "credentials" in deployment.parameters:
            assert deployment.parameters["credentials"] == "videogen"
    for log in stack.log_dir.glob("*.log"):
        assert stack.api_key not in log.read_text(errors="replace"), log.name
    for sidecar in stack.video_dir.rglob("*.json"):
        assert stack.api_key not in sidecar.read_text(), sidecar.name
