"""The demo writes three decodable MP4s under ./videos and says where they are."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from prefect_videogen.demo import run_demo
from prefect_videogen.probe import probe_video
from prefect_videogen.records import StoredVideo

pytestmark = pytest.mark.usefixtures("prefect_server")


def test_demo_writes_three_decodable_videos(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("PREFECT_INTEGRATIONS_VIDEOGEN_POLL_INTERVAL", "0.05")
    lines: list[str] = []
    videos = run_demo(emulator={"latency": 0.2, "fps": 4, "poll_after_ms": 50}, echo=lines.append)

    files = sorted((tmp_path / "videos").rglob("*.mp4"))
    assert len(files) == 3
    assert [v.mode for v in videos] == ["t2v", "i2v", "keyframe"]
    expected = {"t2v": ("1280x720", 5), "i2v": ("1280x720", 5), "keyframe": (None, 5)}
    for video in videos:
        path = Path(video.location)
        assert path in files
        probe = probe_video(path)
        size, seconds = expected[video.mode]
        assert probe.codec == "h264" and probe.duration == pytest.approx(seconds, abs=0.3)
        if size:
            assert probe.size == size
        else:
            assert min(probe.width, probe.height) == 480
        sidecar = StoredVideo.model_validate(json.loads(Path(f"{path}.json").read_text()))
        assert sidecar.sha256 == video.sha256
        assert any(str(path) in line for line in lines)  # the demo says where it is
    assert "no key, no account" in lines[0]
    # It says which Prefect API it uses (or that it starts the temporary server) before the
    # first flow, rather than sitting silent while a server starts.
    assert lines[1].startswith(("Using the Prefect API at", "Starting Prefect's temporary"))
    assert lines[2] == "1/3 text-to-video ..."
