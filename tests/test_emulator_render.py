"""The emulator's renderer: real MP4s of the asked size and duration, thumbnails, padding."""

from __future__ import annotations

import io
import struct
from pathlib import Path

import av
import numpy as np
import pytest
from PIL import Image
from plugins.emulator_fixtures import png_bytes, probe_mp4

from prefect_videogen.emulator.render import RenderSpec, file_sha256, render


def _image(width: int, height: int, color: tuple[int, int, int]) -> Image.Image:
    return Image.open(io.BytesIO(png_bytes(width, height, color))).convert("RGB")


def _frames(path: Path) -> list[np.ndarray]:
    with av.open(str(path)) as container:
        return [f.to_ndarray(format="rgb24") for f in container.decode(video=0)]


@pytest.mark.parametrize(
    ("width", "height", "seconds", "fps"),
    [(320, 180, 2, 4), (180, 320, 3, 8), (1280, 720, 1, 4), (624, 624, 2, 5)],
)
def test_t2v_has_the_asked_size_and_duration(tmp_path, width, height, seconds, fps):
    result = render(RenderSpec("a red fox in snow", width, height, seconds, fps), tmp_path, "v")

    assert probe_mp4(result.video.read_bytes()) == (width, height, seconds, seconds * fps)
    assert result.frames == seconds * fps
    with av.open(str(result.video)) as container:
        stream = container.streams.video[0]
        assert stream.codec_context.name == "h264"
        assert stream.codec_context.pix_fmt == "yuv420p"


def test_t2v_frames_move_and_depend_on_the_prompt(tmp_path):
    one = render(RenderSpec("a red fox", 160, 96, 1, 4), tmp_path, "one")
    same = render(RenderSpec("a red fox", 160, 96, 1, 4), tmp_path, "same")
    other = render(RenderSpec("a blue whale", 160, 96, 1, 4), tmp_path, "other")

    frames = _frames(one.video)
    assert not np.array_equal(frames[0], frames[-1])  # animated
    assert one.sha256["video"] == same.sha256["video"]  # deterministic
    assert one.sha256["video"] != other.sha256["video"]


def test_i2v_starts_on_the_image(tmp_path):
    image = _image(320, 180, (220, 60, 30))
    result = render(RenderSpec("pan", 320, 180, 1, 4), tmp_path, "i2v", first=image)

    first = _frames(result.video)[0].astype(np.int16)
    expected = np.asarray(image, dtype=np.int16)
    assert np.abs(first - expected).mean() < 12  # lossy H.264 + yuv420p, but the same picture


def test_keyframe_blends_first_into_last(tmp_path):
    red, blue = _image(160, 96, (230, 20, 20)), _image(160, 96, (20, 20, 230))
    result = render(RenderSpec("blend", 160, 96, 2, 4), tmp_path, "kf", first=red, last=blue)

    frames = _frames(result.video)
    assert len(frames) == 8
    assert frames[0][..., 0].mean() > frames[0][..., 2].mean() + 60
    assert frames[-1][..., 2].mean() > frames[-1][..., 0].mean() + 60
    middle = frames[len(frames) // 2]
    assert abs(float(middle[..., 0].mean()) - float(middle[..., 2].mean())) < 60


def test_thumbnail_is_webp_and_spritesheet_is_a_jpeg_grid(tmp_path):
    result = render(RenderSpec("sprites", 320, 180, 3, 4), tmp_path, "s")

    with Image.open(result.thumbnail) as thumbnail:
        assert thumbnail.format == "WEBP"
        assert thumbnail.size == (320, 180)
    with Image.open(result.spritesheet) as sheet:
        assert sheet.format == "JPEG"
        assert sheet.size == (5 * 160, 2 * 90)  # 10 tiles of 160x90, five per row
    assert result.sha256["thumbnail"] == file_sha256(result.thumbnail)


def test_padding_keeps_a_valid_mp4_of_the_exact_length(tmp_path):
    target = 3 * 1024 * 1024 + 7
    result = render(RenderSpec("big", 160, 96, 1, 4, pad_to=target), tmp_path, "pad")

    data = result.video.read_bytes()
    assert len(data) == target == result.sizes["video"]
    assert probe_mp4(data)[:3] == (160, 96, 1.0)
    # The last top-level box is a `free` box running to the end of the file.
    offset, last_type = 0, None
    while offset < len(data):
        size, kind = struct.unpack(">I4s", data[offset : offset + 8])
        if size == 1:
            size = struct.unpack(">Q", data[offset + 8 : offset + 16])[0]
        offset, last_type = offset + size, kind
    assert offset == len(data)
    assert last_type == b"free"


def test_odd_frame_sizes_are_refused(tmp_path):
    with pytest.raises(ValueError, match="even"):
        render(RenderSpec("odd", 161, 96, 1, 4), tmp_path, "odd")
