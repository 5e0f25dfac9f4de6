"""Poster frames: PyAV decoding, local files, saved LocalFileSystem blocks and S3 (moto)."""

from __future__ import annotations

import io
import uuid
from pathlib import Path

import pytest

from prefect_videogen.exceptions import InvalidRequestError, VideoMismatchError
from prefect_videogen.postprocess import (
    extract_poster_frame,
    poster_path_for,
    postprocess_video,
    render_poster,
)

FPS = 10
SIZE = (160, 96)


def _grey_level(frame_index: int) -> int:
    return (frame_index * 20) % 240


def _make_mp4(path: Path, seconds: int = 1) -> Path:
    """An H.264 MP4 whose frame i is a flat grey of level 20*i."""
    import av
    import numpy as np

    width, height = SIZE
    with av.open(str(path), "w") as container:
        stream = container.add_stream("libx264", rate=FPS)
        stream.width, stream.height, stream.pix_fmt = width, height, "yuv420p"
        for index in range(FPS * seconds):
            pixels = np.full((height, width, 3), _grey_level(index), dtype=np.uint8)
            frame = av.VideoFrame.from_ndarray(pixels, format="rgb24")
            for packet in stream.encode(frame):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)
    return path


def _jpeg(data: bytes) -> tuple[tuple[int, int], int]:
    """(size, grey level at the centre) of a JPEG."""
    from PIL import Image

    with Image.open(io.BytesIO(data)) as image:
        assert image.format == "JPEG"
        return image.size, image.convert("L").getpixel((image.width // 2, image.height // 2))


@pytest.fixture
def video(tmp_path: Path) -> Path:
    return _make_mp4(tmp_path / "clip.mp4")


@pytest.mark.parametrize(
    ("at_seconds", "frame_index"),
    [(0.0, 0), (0.5, 5), (30.0, FPS - 1)],  # past the end: the last frame
)
def test_render_poster_takes_the_frame_at_the_time_asked(
    video: Path, at_seconds: float, frame_index: int
) -> None:
    size, level = _jpeg(render_poster(video, at_seconds=at_seconds))
    assert size == SIZE
    assert abs(level - _grey_level(frame_index)) <= 6  # JPEG/YUV rounding


def test_render_poster_rejects_what_is_not_a_video(tmp_path: Path) -> None:
    fake = tmp_path / "fake.mp4"
    fake.write_bytes(b"not a video at all")
    with pytest.raises(VideoMismatchError, match=r"fake\.mp4"):
        render_poster(fake)


@pytest.mark.parametrize(("option", "value"), [("at_seconds", -1.0), ("quality", 0)])
def test_render_poster_validates_options(video: Path, option: str, value: float) -> None:
    with pytest.raises(InvalidRequestError) as caught:
        render_poster(video, **{option: value})
    assert caught.value.field == option


def test_poster_path_is_next_to_the_video() -> None:
    assert poster_path_for("sora-2/2026/video_1.mp4") == "sora-2/2026/video_1.poster.jpg"
    assert poster_path_for("/data/v.mp4") == "/data/v.poster.jpg"


def test_flow_writes_the_poster_next_to_a_local_video(prefect_server, video: Path) -> None:
    poster = postprocess_video(str(video), at_seconds=0.5)
    assert poster == str(video.with_name("clip.poster.jpg"))
    size, level = _jpeg(Path(poster).read_bytes())
    assert size == SIZE
    assert abs(level - _grey_level(5)) <= 6


def test_flow_takes_what_the_completed_event_carries(prefect_server, tmp_path: Path) -> None:
    """A file:// URI, or the unsaved-LocalFileSystem label / "" as `storage`."""
    first = _make_mp4(tmp_path / "a.mp4")
    second = _make_mp4(tmp_path / "b.mp4")
    assert postprocess_video(first.as_uri(), storage="") == str(tmp_path / "a.poster.jpg")
    assert postprocess_video(str(second), storage="local-file-system") == str(
        tmp_path / "b.poster.jpg"
    )


def test_flow_reads_relative_paths_from_a_saved_local_block(prefect_server, tmp_path: Path) -> None:
    from prefect.filesystems import LocalFileSystem

    name = f"posters-{uuid.uuid4().hex[:8]}"
    LocalFileSystem(basepath=str(tmp_path)).save(name)
    (tmp_path / "sora-2").mkdir()
    _make_mp4(tmp_path / "sora-2" / "v.mp4")

    poster = postprocess_video("sora-2/v.mp4", storage=f"local-file-system/{name}")
    assert poster == str(tmp_path / "sora-2" / "v.poster.jpg")
    assert Path(poster).is_file()

    with pytest.raises(InvalidRequestError, match="outside the storage base path"):
        postprocess_video("../elsewhere.mp4", storage=f"local-file-system/{name}")


def test_flow_fails_clearly_without_a_video(prefect_server, tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match="no video at"):
        postprocess_video(str(tmp_path / "missing.mp4"))


def test_a_folder_name_as_storage_reads_like_storage_does(
    prefect_server, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`storage="videos"` is the folder ./videos here too (it raised UnknownBlockType)."""
    monkeypatch.chdir(tmp_path)
    (tmp_path / "videos" / "m").mkdir(parents=True)
    _make_mp4(tmp_path / "videos" / "m" / "v.mp4")
    poster = postprocess_video("m/v.mp4", storage="videos")
    assert poster == str(tmp_path / "videos" / "m" / "v.poster.jpg")
    assert Path(poster).is_file()


def test_an_unsaved_block_type_is_refused(prefect_server, video: Path) -> None:
    with pytest.raises(InvalidRequestError) as caught:
        postprocess_video(str(video), storage="s3-bucket")
    assert caught.value.field == "storage"
    assert "<type-slug>/<name>" in str(caught.value)


def test_poster_goes_to_object_storage(prefect_server, s3_bucket, s3_client, video: Path) -> None:
    """StoredVideo.location is the full key (with the bucket folder), .path is relative."""
    from prefect import flow

    key = "videos/sora-2/2026-01-01/video_9.mp4"
    s3_client.upload_file(str(video), s3_bucket.bucket_name, key)

    @flow
    def posters_in_bucket() -> list[str]:
        return [
            extract_poster_frame(key, storage=s3_bucket, at_seconds=0.5),
            extract_poster_frame(
                key, storage=s3_bucket, path="sora-2/2026-01-01/video_9.mp4", at_seconds=0.5
            ),
        ]

    written = posters_in_bucket()
    assert written == ["videos/sora-2/2026-01-01/video_9.poster.jpg"] * 2
    body = s3_client.get_object(Bucket=s3_bucket.bucket_name, Key=written[0])["Body"].read()
    size, level = _jpeg(body)
    assert size == SIZE
    assert abs(level - _grey_level(5)) <= 6
