"""PyAV probe of stored videos, and the check against the request."""

from __future__ import annotations

from fractions import Fraction

import av
import numpy as np
import pytest

from prefect_videogen.exceptions import VideoMismatchError
from prefect_videogen.families import VideoRequest
from prefect_videogen.probe import check_matches, parse_size, probe_video
from prefect_videogen.records import JobRecord, VideoProbe


def make_mp4(path, *, width=64, height=48, seconds=2, fps=8, audio=False):
    """Encode a small H.264 MP4 with PyAV."""
    with av.open(str(path), "w") as container:
        stream = container.add_stream("libx264", rate=fps)
        stream.width, stream.height, stream.pix_fmt = width, height, "yuv420p"
        for index in range(seconds * fps):
            pixels = np.full((height, width, 3), index * 7 % 255, dtype=np.uint8)
            frame = av.VideoFrame.from_ndarray(pixels, format="rgb24")
            frame.pts, frame.time_base = index, Fraction(1, fps)
            container.mux(stream.encode(frame))
        container.mux(stream.encode())
    return path


@pytest.fixture(scope="module")
def clip(tmp_path_factory):
    return make_mp4(tmp_path_factory.mktemp("probe") / "clip.mp4", width=64, height=48, seconds=2)


def test_probe_reads_size_duration_fps_codec(clip):
    probe = probe_video(clip)
    assert (probe.width, probe.height, probe.size) == (64, 48, "64x48")
    assert probe.duration == pytest.approx(2.0, abs=0.2)
    assert probe.fps == pytest.approx(8.0)
    assert probe.codec == "h264"
    assert probe.container == "mov"
    assert probe.has_audio is False


def test_probe_rejects_a_file_that_is_not_a_video(tmp_path):
    junk = tmp_path / "junk.mp4"
    junk.write_bytes(b"<html>gateway error</html>" * 10)
    with pytest.raises(VideoMismatchError, match=r"junk\.mp4: not a readable video"):
        probe_video(junk)


@pytest.mark.parametrize(
    "expected",
    [
        {"size": "64x48", "seconds": 2},
        {"size": "64*48", "seconds": 2},
        {"size": "48P", "seconds": 2},
        {"size": None, "seconds": None},
        VideoRequest(model="x-model", prompt="p", size="64x48", seconds=2),
        JobRecord(job_id="j", model="m", request={"size": "64x48", "seconds": 2}),
    ],
)
def test_check_matches_accepts_what_was_asked(clip, expected):
    check_matches(expected, probe_video(clip))


def test_check_matches_names_each_difference(clip):
    with pytest.raises(VideoMismatchError) as info:
        check_matches({"size": "1280x720", "seconds": 8}, probe_video(clip))
    message = str(info.value)
    assert "size is 64x48, asked 1280x720" in message
    assert "asked 8 s" in message
    assert set(info.value.differences) == {"size", "seconds"}


def test_check_matches_tier_compares_the_short_side():
    probe = VideoProbe(width=1280, height=720, duration=5.0, fps=24, codec="h264")
    check_matches({"size": "720P"}, probe)
    with pytest.raises(VideoMismatchError, match="short side 1080"):
        check_matches({"size": "1080p"}, probe)


def test_duration_tolerance():
    probe = VideoProbe(width=8, height=8, duration=5.1, fps=24, codec="h264")
    check_matches({"seconds": 5}, probe)  # providers round to frames
    with pytest.raises(VideoMismatchError, match="duration"):
        check_matches({"seconds": 5}, probe, duration_tolerance=0.05)


def test_parse_size():
    assert parse_size("1280x720") == (1280, 720)
    assert parse_size(" 1280 * 720 ") == (1280, 720)
    assert parse_size("720P") is None
    assert parse_size("16:9") is None
