"""The new families through the flows, against the emulator's gateway dialect."""

from __future__ import annotations

import pytest
from plugins.emulator_fixtures import png_bytes

from prefect_videogen.credentials import VideoGenCredentials
from prefect_videogen.emulator import get_stats
from prefect_videogen.flows import image_to_video, text_to_video
from prefect_videogen.images import ImageInput
from prefect_videogen.probe import probe_video

# fast_polling, isolated_results: tests/plugins/prefect_fixtures.py
pytestmark = pytest.mark.usefixtures("prefect_server", "fast_polling", "isolated_results")


def creds(base_url: str) -> VideoGenCredentials:
    return VideoGenCredentials(base_url=base_url, api_key="sk-emulator")


def test_seedance_text_to_video_flow(make_emulator, tmp_path):
    base_url = make_emulator(dialect="gateway", latency=0.1, fps=2)
    stored = text_to_video(
        prompt="a kite over the dunes",
        model="doubao-seedance-1-0-pro-250528",
        seconds=2,
        size="720x1280",
        credentials=creds(base_url),
        storage=str(tmp_path),
    )
    probe = probe_video(stored.location)
    assert (probe.size, round(probe.duration)) == ("720x1280", 2)
    assert stored.family == "seedance" and stored.mode == "t2v"


def test_hailuo_image_to_video_flow(make_emulator, tmp_path):
    base_url = make_emulator(dialect="gateway", latency=0.1, fps=2)
    stored = image_to_video(
        prompt="the cat yawns",
        image=ImageInput.from_bytes(png_bytes(640, 360)),
        model="MiniMax-Hailuo-02",
        size="768P",
        credentials=creds(base_url),
        storage=str(tmp_path),
    )
    probe = probe_video(stored.location)
    assert (probe.size, round(probe.duration)) == ("1366x768", 6)
    job = get_stats(base_url)["jobs"][stored.job_id]
    assert job["mode"] == "i2v"  # the image reached MiniMax, through metadata
