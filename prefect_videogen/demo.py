"""`prefect-videogen demo`: make three real MP4s with Prefect and a local emulator, offline.

It starts the emulator in the `gateway` dialect (a new-api gateway, as the live Wan and
Kling models are served today; no key, no account), then runs the `text_to_video` (Wan),
`image_to_video` (Kling) and `keyframe_to_video` (Wan) flows on Prefect's local server: with no
`PREFECT_API_URL` set it starts Prefect's temporary server first, saying so (10 to 40 s),
with Prefect's telemetry off so an offline machine shows no telemetry errors.
The videos go under `./videos` through a `LocalFileSystem` block, each with its sidecar
JSON, and their paths are printed.

Example:
    ```python
    from prefect_videogen.demo import run_demo

    videos = run_demo("videos")
    print([video.location for video in videos])
    ```
"""

from __future__ import annotations

import io
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from prefect_videogen.records import StoredVideo

__all__ = ["DEMO_EMULATOR", "demo_image", "main", "run_demo"]

#: How the demo's emulator behaves: quick, but videos that look like videos.
DEMO_EMULATOR = {"dialect": "gateway", "latency": 2.0, "fps": 12}

#: Where each demo video goes inside the output directory.
DEMO_PATH_TEMPLATE = "{mode}/{model}/{date}/{job_id}.mp4"


def demo_image(
    width: int, height: int, *, sky: tuple[int, int, int], sun: tuple[int, int, int], sun_y: float
) -> bytes:
    """A PNG landscape (sky gradient, a sun at height `sun_y` (0 top, 1 bottom), hills)."""
    from PIL import Image, ImageDraw

    image = Image.new("RGB", (width, height))
    draw = ImageDraw.Draw(image)
    for y in range(height):
        shade = 0.55 + 0.45 * y / height
        draw.line([(0, y), (width, y)], fill=tuple(int(c * shade) for c in sky))
    radius = height // 8
    cx, cy = width * 2 // 3, int(height * sun_y)
    draw.ellipse([cx - radius, cy - radius, cx + radius, cy + radius], fill=sun)
    hills = [(0, height)]
    for step in range(9):
        x = width * step / 8
        y = height * (0.72 + 0.08 * ((step % 3) - 1))
        hills.append((x, y))
    hills.append((width, height))
    draw.polygon(hills, fill=(34, 70, 48))
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return buffer.getvalue()


def _describe(video: StoredVideo) -> str:
    probe = video.probe
    shape = f"{probe.size}, {probe.duration:.1f} s" if probe and probe.duration else ""
    return f"  {video.mode:<9} {video.model:<18} {shape:<18} {video.location}"


def run_demo(
    output_dir: str | Path = "videos",
    *,
    emulator: dict | None = None,
    echo: Callable[[str], None] = print,
) -> list[StoredVideo]:
    """Start the emulator and run the t2v, i2v and keyframe flows; write MP4s to `output_dir`.

    Args:
        output_dir: Directory the videos go to (created if missing).
        emulator: `EmulatorConfig` fields to use instead of `DEMO_EMULATOR`.
        echo: Where progress lines go (`print` by default).

    Returns:
        The three `StoredVideo` records: text-to-video, image-to-video, keyframe.

    Example:
        ```python
        from prefect_videogen.demo import run_demo

        for video in run_demo("videos"):
            print(video.mode, video.location)
        ```
    """
    from prefect.filesystems import LocalFileSystem
    from prefect.settings import (
        PREFECT_RESULTS_LOCAL_STORAGE_PATH,
        PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS,
        temporary_settings,
    )

    from prefect_videogen._console import start_prefect_api
    from prefect_videogen.credentials import VideoGenCredentials
    from prefect_videogen.emulator import run_emulator
    from prefect_videogen.flows import image_to_video, keyframe_to_video, text_to_video

    output = Path(output_dir).expanduser().resolve()
    output.mkdir(parents=True, exist_ok=True)
    storage = LocalFileSystem(basepath=str(output))
    started = time.monotonic()
    # Each demo has its own emulator, so its cached submissions must not outlive it; and a
    # busy machine may need more than the default 20 s to start Prefect's local server.
    startup = max(PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS.value(), 120)
    with (
        tempfile.TemporaryDirectory(prefix="prefect-videogen-demo-") as results,
        temporary_settings(
            {
                PREFECT_RESULTS_LOCAL_STORAGE_PATH: Path(results),
                PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS: startup,
            }
        ),
        run_emulator(**{**DEMO_EMULATOR, **(emulator or {})}) as base_url,
    ):
        echo(f"prefect-videogen demo: emulator at {base_url} (local, no key, no account)")
        # Say what happens while Prefect's temporary server starts (with its telemetry off:
        # offline, it would log an ERROR), rather than sit silent in the first flow call.
        start_prefect_api(echo, timeout=startup)
        credentials = VideoGenCredentials(base_url=base_url, api_key="sk-emulator")
        common = {
            "credentials": credentials,
            "storage": storage,
            "path_template": DEMO_PATH_TEMPLATE,
        }

        echo("1/3 text-to-video ...")
        t2v = text_to_video(
            prompt="A paper boat drifting down a rainy street at dusk, cinematic",
            model="wan2.5-t2v-preview",
            seconds=5,
            size="1280*720",
            **common,
        )
        echo("2/3 image-to-video ...")
        start = demo_image(1280, 720, sky=(90, 150, 230), sun=(255, 230, 120), sun_y=0.3)
        i2v = image_to_video(
            prompt="Clouds drift over the hills as the sun climbs",
            image=start,
            model="kling-v1",
            seconds=5,
            size="1280x720",
            **common,
        )
        echo("3/3 keyframe-to-video ...")
        dawn = demo_image(1280, 720, sky=(250, 150, 90), sun=(255, 200, 80), sun_y=0.65)
        noon = demo_image(1280, 720, sky=(80, 160, 240), sun=(255, 250, 210), sun_y=0.2)
        keyframe = keyframe_to_video(
            prompt="Time-lapse from dawn to noon over the hills",
            first_frame=dawn,
            last_frame=noon,
            model="wan2.2-kf2v-flash",
            size="480P",
            **common,
        )
    videos = [t2v, i2v, keyframe]
    echo(f"Wrote {len(videos)} videos under {output} in {time.monotonic() - started:.0f} s:")
    for video in videos:
        echo(_describe(video))
    echo(
        "Each video has a sidecar JSON next to it (<video>.json) with its job, sha256 and timings."
    )
    return videos


def main() -> None:
    """`python -m prefect_videogen.demo [OUTPUT_DIR]`."""
    import sys

    run_demo(sys.argv[1] if len(sys.argv) > 1 else "videos")


if __name__ == "__main__":  # pragma: no cover
    main()
