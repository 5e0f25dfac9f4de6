"""Read a video's size, duration, frame rate and codec with PyAV; check it against the request.

Example:
    ```python
    from prefect_videogen.probe import check_matches, probe_video

    probe = probe_video("videos/sora-2/2026-01-01/video_1.mp4")
    check_matches({"size": "1280x720", "seconds": 4}, probe)  # raises VideoMismatchError if not
    ```
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from prefect_videogen.exceptions import VideoMismatchError
from prefect_videogen.families.sizes import parse_tier, parse_wxh
from prefect_videogen.records import JobRecord, VideoProbe

__all__ = ["check_matches", "parse_size", "probe_video"]


def probe_video(path: str | Path) -> VideoProbe:
    """Read the first video stream's properties without decoding the whole file.

    Args:
        path: A local video file.

    Returns:
        Width, height, duration, frame rate, codec, frame count, container and audio flag.

    Raises:
        VideoMismatchError: if the file is not a video PyAV can open.

    Example:
        ```python
        from prefect_videogen.probe import probe_video

        print(probe_video("clip.mp4").size)  # e.g. 1280x720
        ```
    """
    import av

    try:
        with av.open(str(path)) as container:
            if not container.streams.video:
                raise VideoMismatchError(f"{Path(path).name}: the file has no video stream")
            stream = container.streams.video[0]
            duration = None
            if stream.duration is not None and stream.time_base is not None:
                duration = float(stream.duration * stream.time_base)
            elif container.duration is not None:
                duration = container.duration / av.time_base
            rate = stream.average_rate or stream.guessed_rate
            return VideoProbe(
                width=stream.codec_context.width,
                height=stream.codec_context.height,
                duration=round(duration, 3) if duration is not None else None,
                fps=round(float(rate), 3) if rate else None,
                codec=stream.codec_context.name,
                frames=stream.frames or None,
                container=container.format.name.split(",")[0] if container.format else None,
                has_audio=bool(container.streams.audio),
            )
    except av.FFmpegError as exc:
        raise VideoMismatchError(
            f"{Path(path).name}: not a readable video ({exc.strerror or exc})"
        ) from exc


def parse_size(size: str) -> tuple[int, int] | None:
    """(width, height) from "1280x720" / "1280*720", or None for tiers and other notations.

    The grammar is the families' one (`prefect_videogen.families.sizes`).
    """
    return parse_wxh(size)


def _expected(expected: Any) -> tuple[str | None, float | None]:
    if isinstance(expected, JobRecord):
        return expected.expected_size, expected.expected_seconds
    if isinstance(expected, Mapping):
        size, seconds = expected.get("size"), expected.get("seconds")
    else:  # a VideoRequest, or anything with the same attributes
        size, seconds = getattr(expected, "size", None), getattr(expected, "seconds", None)
    return (str(size) if size else None), (float(seconds) if seconds is not None else None)


def check_matches(
    expected: Any,
    probe: VideoProbe,
    *,
    duration_tolerance: float | None = None,
) -> None:
    """Raise if the video's frame size or duration is not what the request asked for.

    Sizes given as "WxH" (or "W*H") must match exactly; a tier such as "720P" must match the
    short side. The duration may differ by `duration_tolerance` seconds (default: the larger
    of 0.5 s and 5 % of the asked duration, since providers round to whole frames).
    What the request leaves unset is not checked.

    Args:
        expected: A `VideoRequest`, a `JobRecord`, or a mapping with `size` and `seconds`.
        probe: What `probe_video` read.
        duration_tolerance: Allowed difference in seconds.

    Raises:
        VideoMismatchError: naming each property that differs, what was asked and what came.

    Example:
        ```python
        from prefect_videogen.probe import check_matches
        from prefect_videogen.records import VideoProbe

        probe = VideoProbe(width=1280, height=720, duration=4.04, fps=24, codec="h264")
        check_matches({"size": "1280x720", "seconds": 4}, probe)  # passes
        ```
    """
    size, seconds = _expected(expected)
    problems: list[str] = []
    differences: dict[str, tuple[Any, Any]] = {}
    if size:
        dims = parse_size(size)
        tier = parse_tier(size) if dims is None else None
        if dims is not None and dims != (probe.width, probe.height):
            problems.append(f"size is {probe.size}, asked {dims[0]}x{dims[1]}")
            differences["size"] = (f"{dims[0]}x{dims[1]}", probe.size)
        elif tier is not None and tier != min(probe.width, probe.height):
            problems.append(f"size is {probe.size}, asked {size} (short side {tier})")
            differences["size"] = (size, probe.size)
    if seconds is not None and probe.duration is not None:
        tolerance = (
            duration_tolerance if duration_tolerance is not None else max(0.5, 0.05 * seconds)
        )
        if abs(probe.duration - seconds) > tolerance:
            problems.append(
                f"duration is {probe.duration:.2f} s, asked {seconds:g} s "
                f"(tolerance {tolerance:g} s)"
            )
            differences["seconds"] = (seconds, probe.duration)
    if problems:
        error = VideoMismatchError("the video does not match the request: " + "; ".join(problems))
        error.differences = differences  # type: ignore[attr-defined]
        raise error
