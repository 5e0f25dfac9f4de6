"""Post-processing for stored videos: a poster frame (JPEG) written next to each video.

`postprocess_video` is the flow the `prefect-videogen.video.completed` deployment trigger runs
(see `deployments/prefect.yaml`); `extract_poster_frame` is the task that does the work and
can be used on its own.

Example:
    ```python
    from prefect_videogen.postprocess import postprocess_video

    poster = postprocess_video("videos/sora-2/2026-01-01/video_1.mp4")
    print(poster)  # .../videos/sora-2/2026-01-01/video_1.poster.jpg
    ```
"""

from __future__ import annotations

import io
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path, PurePosixPath
from typing import Any
from urllib.parse import unquote, urlparse

from prefect import flow, get_run_logger, task
from prefect.filesystems import LocalFileSystem

from prefect_videogen.exceptions import InvalidRequestError, VideoMismatchError
from prefect_videogen.storage import call_block, is_block_type, resolve_storage, write_atomically

__all__ = ["extract_poster_frame", "poster_path_for", "postprocess_video", "render_poster"]

#: What is appended to the video's name, without its extension, to name its poster frame.
POSTER_SUFFIX = ".poster.jpg"


def poster_path_for(video_path: str) -> str:
    """The poster frame's path for a video: same directory, `<stem>.poster.jpg`.

    Example:
        ```python
        from prefect_videogen.postprocess import poster_path_for

        print(poster_path_for("sora-2/2026-01-01/video_1.mp4"))
        # sora-2/2026-01-01/video_1.poster.jpg
        ```
    """
    path = PurePosixPath(video_path.replace("\\", "/"))
    return str(path.with_name(path.stem + POSTER_SUFFIX))


def render_poster(video_file: str | Path, *, at_seconds: float = 0.0, quality: int = 90) -> bytes:
    """Decode one frame of a local video with PyAV and encode it as a JPEG.

    Args:
        video_file: A local video file.
        at_seconds: Where to take the frame from; the first frame at or after this time
            (the last frame if the video is shorter).
        quality: JPEG quality, 1 to 95.

    Returns:
        The JPEG bytes, at the video's frame size.

    Raises:
        VideoMismatchError: if the file is not a video PyAV can decode.

    Example:
        ```python
        from prefect_videogen.postprocess import render_poster

        jpeg = render_poster("clip.mp4", at_seconds=1.0)
        ```
    """
    import av

    if at_seconds < 0:
        raise InvalidRequestError("at_seconds", value=at_seconds, allowed="0 or more seconds")
    if not 1 <= quality <= 95:
        raise InvalidRequestError("quality", value=quality, allowed="1 to 95")
    name = Path(video_file).name
    try:
        with av.open(str(video_file)) as container:
            if not container.streams.video:
                raise VideoMismatchError(f"{name}: the file has no video stream")
            stream = container.streams.video[0]
            if at_seconds > 0:
                container.seek(int(at_seconds * av.time_base), backward=True, any_frame=False)
            chosen = None
            for frame in container.decode(stream):
                chosen = frame
                if frame.time is None or frame.time >= at_seconds:
                    break
            if chosen is None:
                raise VideoMismatchError(f"{name}: no frame could be decoded")
            image = chosen.to_image()
    except av.FFmpegError as exc:
        raise VideoMismatchError(f"{name}: not a readable video ({exc.strerror or exc})") from exc
    buffer = io.BytesIO()
    image.convert("RGB").save(buffer, format="JPEG", quality=quality)
    return buffer.getvalue()


def _local_path(location: str) -> Path:
    """A local file path from a plain path or a file:// URI."""
    if location.startswith("file://"):
        parsed = urlparse(location)
        return Path(unquote(parsed.path))
    return Path(location).expanduser()


@contextmanager
def _fetched(block: Any, path: str) -> Iterator[Path]:
    """A local copy of `path` in a non-local storage block, deleted afterwards."""
    tmpdir = Path(tempfile.mkdtemp(prefix="prefect-videogen-post-"))
    local = tmpdir / (PurePosixPath(path).name or "video.mp4")
    try:
        if hasattr(block, "download_object_to_path"):
            call_block(block, "download_object_to_path", path, str(local))
        else:
            local.write_bytes(call_block(block, "read_path", path))
        yield local
    finally:
        shutil.rmtree(tmpdir, ignore_errors=True)


def _resolve_block(storage: Any) -> Any | None:
    """The storage block the video is in, or None when `location` is a plain local file."""
    if storage is None:
        return None
    if not isinstance(storage, str):
        return storage
    text = storage.strip()
    # "" (an event without storage) and the label of an unsaved LocalFileSystem both mean
    # that the location is a local path.
    if text in ("", LocalFileSystem.get_block_type_slug()):
        return None
    if "/" not in text:
        if not is_block_type(text):  # as storage reads it: a local directory
            return resolve_storage(text)
        raise InvalidRequestError(
            "storage",
            f"{text!r} is the type of an unsaved block, which a later run cannot load",
            value=text,
            allowed='a saved block\'s "<type-slug>/<name>", e.g. "s3-bucket/videos"',
        )
    return resolve_storage(text)


def _local_video(location: str, block: LocalFileSystem | None) -> Path:
    """The local file of a video, checked to exist (and to be inside the block, if any)."""
    video = _local_path(location)
    if block is not None and not video.is_absolute():
        base = Path(block.basepath or ".").expanduser().resolve()
        video = (base / video).resolve()
        if base not in video.parents:
            raise InvalidRequestError(
                "location", f"{location!r} resolves outside the storage base path {str(base)!r}"
            )
    video = video.resolve()
    if not video.is_file():
        raise FileNotFoundError(
            f"no video at {str(video)!r}; pass the stored video's local path, or its storage "
            "block and its path in the block for object storage"
        )
    return video


def _relative_to_block(block: Any, location: str) -> str:
    """A full object key made relative to the block's `bucket_folder` (S3, GCS), if any."""
    folder = str(getattr(block, "bucket_folder", "") or "").strip("/")
    if folder and location.startswith(folder + "/"):
        return location[len(folder) + 1 :]
    return location


def _retry_if_transient(task: Any, task_run: Any, state: Any) -> bool:
    """Retry storage hiccups, not a missing or undecodable video or a bad argument."""
    try:
        state.result()
    except (FileNotFoundError, InvalidRequestError, VideoMismatchError):
        return False
    except Exception:
        return True
    return False


@task(
    name="extract-poster-frame",
    retries=2,
    retry_delay_seconds=2,
    retry_condition_fn=_retry_if_transient,
)
def extract_poster_frame(
    location: str,
    storage: Any = None,
    path: str | None = None,
    at_seconds: float = 0.0,
    quality: int = 90,
) -> str:
    """Write a JPEG poster frame next to a stored video and return where it went.

    The poster is named after the video: `<video stem>.poster.jpg` in the same directory
    (or under the same key prefix). Writing it again replaces it, so reruns are harmless.

    Args:
        location: Where the video is (`StoredVideo.location`): a local path or `file://`
            URI, or the full object key in an object storage block.
        storage: The storage block the video is in: a block, a saved block's
            `"<type-slug>/<name>"`, or None for a local file. With a `LocalFileSystem`,
            an absolute `location` is used as is and a relative one is read from the
            block's base path.
        path: The video's path relative to an object storage block (`StoredVideo.path`);
            if not given, `location` without the block's `bucket_folder`.
        at_seconds: Where in the video to take the frame from.
        quality: JPEG quality, 1 to 95.

    Returns:
        The poster's location: an absolute local path, or its path or key in the block.

    Raises:
        FileNotFoundError: the local video does not exist.
        VideoMismatchError: the file is not a decodable video.
        InvalidRequestError: `storage` cannot be loaded, or `location` leaves the block.

    Example:
        ```python
        from prefect import flow
        from prefect_videogen.postprocess import extract_poster_frame

        @flow
        def posters(keys: list[str]) -> list[str]:
            return [extract_poster_frame(key, storage="s3-bucket/videos") for key in keys]
        ```
    """
    block = _resolve_block(storage)
    if block is None or isinstance(block, LocalFileSystem):
        video = _local_video(location, block)
        jpeg = render_poster(video, at_seconds=at_seconds, quality=quality)
        poster = Path(poster_path_for(str(video)))
        write_atomically(poster, jpeg)
        written = str(poster)
    else:
        relative = path or _relative_to_block(block, location)
        with _fetched(block, relative) as local:
            jpeg = render_poster(local, at_seconds=at_seconds, quality=quality)
        key = poster_path_for(relative)
        written = str(call_block(block, "write_path", key, jpeg) or key)
    get_run_logger().info("Wrote poster frame %s (%d bytes)", written, len(jpeg))
    return written


@flow(
    name="postprocess-video",
    description="Write a poster frame JPEG next to a stored video.",
)
def postprocess_video(
    location: str,
    storage: Any = None,
    path: str | None = None,
    at_seconds: float = 0.0,
) -> str:
    """Post-process a generated video: write a poster frame JPEG next to it.

    This is what the `postprocess-video` deployment runs when a video is stored (the
    `prefect-videogen.video.completed` event, whose payload carries the video's `location`,
    `storage` and `path`). Parameters templated from an event are strings, so a deployment
    passes `storage` as a saved block's name (`"s3-bucket/videos"`).

    Args:
        location: The stored video: a local path or `file://` URI, or its path/key inside
            `storage` (`StoredVideo.location`).
        storage: A storage block, a saved one as `"<type-slug>/<name>"`, or None (or "")
            for a local file.
        path: The video's path relative to an object storage block (`StoredVideo.path`).
        at_seconds: Where in the video to take the poster frame from.

    Returns:
        Where the poster frame was written (local path, or path/key in the block).

    Example:
        ```python
        from prefect_videogen.postprocess import postprocess_video

        poster = postprocess_video("videos/sora-2/2026-01-01/video_1.mp4", at_seconds=0.5)
        ```
    """
    return extract_poster_frame(location, storage=storage, path=path or None, at_seconds=at_seconds)
