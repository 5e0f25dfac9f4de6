"""Flows that turn prompts and images into stored videos: one at a time or in batches.

| flow                | makes                                   |
|---------------------|-----------------------------------------|
| `text_to_video`     | a video from a prompt                   |
| `image_to_video`    | a video starting from an image          |
| `keyframe_to_video` | a video from a first and a last frame   |
| `generate_batch`    | many videos from a list or a manifest   |

Each submits the job (cached: a rerun reuses the job, see `prefect_videogen.caching`),
waits for it, streams the video to storage with a sidecar JSON, and returns a
`StoredVideo` (the batch returns a list, plus a table artifact).

All parameters are JSON-able, so the flows work as subflows and through `run_deployment`:

- `credentials`: a `VideoGenCredentials` block, or the **name** of a saved one. `None` loads
  the block named by the `credentials_block` setting
  (`PREFECT_INTEGRATIONS_VIDEOGEN_CREDENTIALS_BLOCK`, default `"default"`). For deployments
  pass the name: parameters are stored by the server.
- `storage`: a storage block, a saved block as `"<block-type-slug>/<block-name>"` (e.g.
  `"s3-bucket/videos"`), a local directory (`"./videos"`, `"/data/videos"`), or `None` for
  the `output_dir` setting (`./videos`).
- images: a local path, an `http(s)://` or `data:` URL, raw bytes, an `ImageInput` (or its
  dict), or an image inside a saved storage block written
  **`"<block-type-slug>/<block-name>:<path/in/block>"`** (e.g.
  `"s3-bucket/assets:frames/cat.png"`). Pass paths or URLs to deployments, not bytes.

If a flow run is cancelled or crashes while jobs are still generating, an
`on_cancellation` / `on_crashed` hook deletes those jobs on the server (best effort, and
logged), so nothing keeps running unattended. Jobs that already finished are left alone.
This works for runs cancelled or interrupted in their own process; when a worker kills a
run's process, the jobs it had in flight are not known to the hook and keep generating.
"""

# No `from __future__ import annotations` here: Prefect validates flow parameters against
# these annotations, also in a worker's process, so they must be real types.

import asyncio
import csv
import json
import re
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import httpx
from prefect import flow
from prefect.blocks.core import Block
from pydantic import ValidationError

from prefect_videogen.caching import normalize_request
from prefect_videogen.credentials import VideoGenCredentials
from prefect_videogen.exceptions import InvalidRequestError
from prefect_videogen.families import VideoRequest, family_for_model
from prefect_videogen.images import ImageInput
from prefect_videogen.in_flight import cancel_in_flight_jobs, track_in_flight
from prefect_videogen.records import StoredVideo
from prefect_videogen.reporting import (
    BatchProgress,
    acreate_batch_table,
    batch_table,
    get_logger,
)
from prefect_videogen.settings import current_settings
from prefect_videogen.storage import (
    aresolve_storage,
    check_path_template,
    is_block_type,
    resolve_storage,
)
from prefect_videogen.tasks import (
    agenerate_video,
    download_video,
    submit_video,
    wait_for_video,
)

__all__ = [
    "aresolve_credentials",
    "cancel_in_flight_jobs",
    "generate_batch",
    "image_to_video",
    "keyframe_to_video",
    "load_manifest",
    "resolve_credentials",
    "resolve_image",
    "text_to_video",
]

#: Keys a batch entry may have.
BATCH_KEYS = (
    "model",
    "prompt",
    "seconds",
    "size",
    "image",
    "first_frame",
    "last_frame",
    "params",
    "metadata",
    "attempt",
)

_IMAGE_REF = re.compile(r"^([a-z0-9][a-z0-9-]*)/([^/:]+):(.+)$")
_MAX_IMAGE_DOWNLOAD = 50 * 1024 * 1024

# --------------------------------------------------------------------------------------
# Credentials


def _credentials_name(credentials: str | None) -> str:
    name = credentials if credentials is not None else current_settings().credentials_block
    # Accept the "<block-type-slug>/<name>" form as well.
    slug = VideoGenCredentials.get_block_type_slug()
    return name.split("/", 1)[1] if name.startswith(f"{slug}/") else name


def _missing_credentials(name: str, exc: Exception) -> InvalidRequestError:
    return InvalidRequestError(
        "credentials",
        f"no VideoGenCredentials block named {name!r} ({exc}); save one with "
        f'VideoGenCredentials(base_url=..., api_key=...).save("{name}"), pass its name, '
        "or set PREFECT_INTEGRATIONS_VIDEOGEN_CREDENTIALS_BLOCK",
    )


def resolve_credentials(credentials: VideoGenCredentials | str | None) -> VideoGenCredentials:
    """A credentials block from a block, a saved block's name, or None (the default name).

    Example:
        ```python
        from prefect_videogen.flows import resolve_credentials

        credentials = resolve_credentials("my-gateway")  # VideoGenCredentials.load("my-gateway")
        ```
    """
    if isinstance(credentials, VideoGenCredentials):
        return credentials
    if credentials is not None and not isinstance(credentials, str):
        raise InvalidRequestError(
            "credentials",
            value=type(credentials).__name__,
            allowed="a VideoGenCredentials block, a saved block's name, or None",
        )
    name = _credentials_name(credentials)
    try:
        return VideoGenCredentials.load(name, _sync=True)
    except ValueError as exc:
        raise _missing_credentials(name, exc) from None


async def aresolve_credentials(
    credentials: VideoGenCredentials | str | None,
) -> VideoGenCredentials:
    """Async twin of `resolve_credentials`."""
    if credentials is None or isinstance(credentials, str):
        name = _credentials_name(credentials)
        try:
            return await VideoGenCredentials.aload(name)
        except ValueError as exc:
            raise _missing_credentials(name, exc) from None
    return resolve_credentials(credentials)


# --------------------------------------------------------------------------------------
# Images


def _block_image_ref(value: str) -> tuple[str, str, str] | None:
    match = _IMAGE_REF.match(value)
    if match is None or not is_block_type(match.group(1)):
        return None
    return match.group(1), match.group(2), match.group(3)


def _read_block_image(slug: str, name: str, path: str) -> ImageInput:
    block = Block.load(f"{slug}/{name}", _sync=True)
    reader = block.read_path
    data = reader(path, _sync=True) if hasattr(reader, "aio") else reader(path)
    return ImageInput.from_bytes(data, filename=Path(path).name)


def resolve_image(
    value: Any, *, base_dir: Path | None = None, field: str = "image"
) -> ImageInput | None:
    """An `ImageInput` from any of the accepted image notations (see this module's docstring).

    Args:
        value: A path, URL, bytes, ImageInput/dict, `"<block-type-slug>/<name>:<path>"`, or None.
        base_dir: Directory relative paths are read from (a manifest's directory).
        field: The parameter's name, for errors.

    Raises:
        InvalidRequestError: naming `field`, when the image cannot be read or is not one.

    Example:
        ```python
        from prefect_videogen.flows import resolve_image

        image = resolve_image("s3-bucket/assets:frames/cat.png")
        ```
    """
    if value is None or value == "":
        return None
    try:
        if isinstance(value, str) and not value.startswith(("http://", "https://", "data:")):
            if (ref := _block_image_ref(value)) is not None:
                return _read_block_image(*ref)
            path = Path(value).expanduser()
            if base_dir is not None and not path.is_absolute():
                path = base_dir / path
            return ImageInput.from_path(path)
        return ImageInput.coerce(value)
    except InvalidRequestError as exc:
        raise InvalidRequestError(field, _without_field(exc)) from exc
    except ValidationError as exc:  # ImageInput's own checks, wrapped by pydantic
        message = "; ".join(error["msg"].removeprefix("Value error, ") for error in exc.errors())
        raise InvalidRequestError(field, _without_field(message)) from None


def _without_field(error: Any) -> str:
    """An error's message without its leading "<field>: "."""
    text = str(error)
    return text.split(": ", 1)[1] if re.match(r"^[\w.\[\]]+: ", text) else text


def _needs_bytes(model: str) -> bool:
    """Whether the model takes images as uploaded files (so a URL must be fetched here)."""
    family = family_for_model(model)
    try:
        return family.spec(model).image_transport == "file"
    except KeyError:
        return family.name == "sora"


def _fetch_image(image: ImageInput) -> ImageInput:
    """Download an http(s) image so its bytes can be uploaded."""
    url = image.url or ""
    try:
        with httpx.stream("GET", url, follow_redirects=True, timeout=30.0) as response:
            response.raise_for_status()
            chunks, size = [], 0
            for chunk in response.iter_bytes():
                size += len(chunk)
                if size > _MAX_IMAGE_DOWNLOAD:
                    raise InvalidRequestError(
                        "image", f"{url!r} is larger than {_MAX_IMAGE_DOWNLOAD} bytes"
                    )
                chunks.append(chunk)
    except httpx.HTTPError as exc:
        raise InvalidRequestError("image", f"cannot fetch {url!r}: {exc}") from exc
    return ImageInput.from_bytes(b"".join(chunks), filename=image.filename)


def _build_request(
    *,
    model: str,
    prompt: str,
    seconds: int | None,
    size: str | None,
    first_frame: ImageInput | None = None,
    last_frame: ImageInput | None = None,
    params: Mapping[str, Any] | None = None,
    metadata: Mapping[str, Any] | None = None,
) -> VideoRequest:
    if _needs_bytes(model):
        first_frame = _fetch_if_url(first_frame)
        last_frame = _fetch_if_url(last_frame)
    return VideoRequest(
        model=model,
        prompt=prompt,
        seconds=seconds,
        size=size,
        first_frame=first_frame,
        last_frame=last_frame,
        params=dict(params or {}),
        metadata=dict(metadata or {}),
    )


def _fetch_if_url(image: ImageInput | None) -> ImageInput | None:
    if image is not None and not image.has_bytes():
        return _fetch_image(image)
    return image


# --------------------------------------------------------------------------------------
# One video, sync


def _generate(
    request: VideoRequest,
    credentials: VideoGenCredentials | str | None,
    storage: Any,
    *,
    path_template: str | None,
    probe: bool,
    attempt: int,
    timeout: float | None,
) -> StoredVideo:
    # Validate before anything is loaded or sent.
    normalize_request(request)
    check_path_template(path_template or current_settings().path_template)
    creds = resolve_credentials(credentials)
    block = resolve_storage(storage)
    job = submit_video(request, creds, attempt=attempt)
    with track_in_flight(job, creds):
        done = wait_for_video(job, creds, timeout=timeout)
    return download_video(done, creds, storage=block, path_template=path_template, probe=probe)


@flow(
    name="text-to-video",
    description="Generate a video from a prompt and store it.",
    flow_run_name="text-to-video-{model}",
    persist_result=True,
    result_serializer="json",
    on_cancellation=[cancel_in_flight_jobs],
    on_crashed=[cancel_in_flight_jobs],
)
def text_to_video(
    prompt: str,
    model: str = "sora-2",
    seconds: int | None = None,
    size: str | None = None,
    credentials: VideoGenCredentials | str | None = None,
    storage: Any = None,
    path_template: str | None = None,
    probe: bool = True,
    attempt: int = 0,
    params: dict[str, Any] | None = None,
    metadata: dict[str, Any] | None = None,
    timeout: float | None = None,
) -> StoredVideo:
    """Generate a video from a prompt and store it.

    Args:
        prompt: What the video should show.
        model: The video model (`sora-2`, `wan2.5-t2v-preview`, `kling-v2-master`, ...).
        seconds: Duration; the model's default if None.
        size: Resolution, e.g. "1280x720"; the model's default if None.
        credentials: A `VideoGenCredentials` block or a saved block's name (None: the
            `credentials_block` setting, "default").
        storage: A storage block, `"<type-slug>/<name>"` of a saved one, a local directory,
            or None (`./videos`).
        path_template: Path inside the storage; default `{model}/{date}/{job_id}.mp4`.
        probe: Check the stored video's size and duration with PyAV.
        attempt: Raise to pay for a new job instead of reusing the cached one.
        params: The model family's extra parameters (seed, negative_prompt, ...).
        metadata: Raw metadata passed to the server untouched.
        timeout: Seconds to wait for the job (default: the `max_wait_seconds` setting).

    Returns:
        The `StoredVideo`.

    Example:
        ```python
        from prefect_videogen.flows import text_to_video

        video = text_to_video(
            "a red fox running through fresh snow, golden hour",
            model="sora-2",
            seconds=4,
            size="1280x720",
            credentials="openai",  # a saved VideoGenCredentials block
            storage="./videos",
        )
        print(video.uri)
        ```
    """
    request = _build_request(
        model=model, prompt=prompt, seconds=seconds, size=size, params=params, metadata=metadata
    )
    return _generate(
        request,
        credentials,
        storage,
        path_template=path_template,
        probe=probe,
        attempt=attempt,
        timeout=timeout,
    )


@flow(
    name="image-to-video",
    description="Generate a video that starts from an image and store it.",
    flow_run_name="image-to-video-{model}",
    persist_result=True,
    result_serializer="json",
    on_cancellation=[cancel_in_flight_jobs],
    on_crashed=[cancel_in_flight_jobs],
)
def image_to_video(
    prompt: str,
    image: Any,
    model: str = "sora-2",
    seconds: int | None = None,
    size: str | None = None,
    credentials: VideoGenCredentials | str | None = None,
    storage: Any = None,
    path_template: str | None = None,
    probe: bool = True,
    attempt: int = 0,
    params: dict[str, Any] | None = None,
    metadata: dict[str, Any] | None = None,
    timeout: float | None = None,
) -> StoredVideo:
    """Generate a video that starts from an image, and store it.

    Args:
        prompt: What should happen in the video.
        image: The first frame: a path, an http(s)/data URL, bytes, an `ImageInput`, or
            `"<block-type-slug>/<block-name>:<path/in/block>"`. Models that take uploads
            (Sora) get URL images downloaded first. Sora needs the image at the video size.
        model: The video model.
        seconds: Duration; the model's default if None.
        size: Resolution; the model's default if None.
        credentials: A `VideoGenCredentials` block or a saved block's name.
        storage: Where the video goes (see `text_to_video`).
        path_template: Path inside the storage.
        probe: Check the stored video's size and duration with PyAV.
        attempt: Raise to pay for a new job instead of reusing the cached one.
        params: The model family's extra parameters.
        metadata: Raw metadata passed to the server untouched.
        timeout: Seconds to wait for the job.

    Returns:
        The `StoredVideo`.

    Example:
        ```python
        from prefect_videogen.flows import image_to_video

        video = image_to_video(
            "the cat slowly turns its head",
            image="cat_1280x720.png",
            model="sora-2",
            size="1280x720",
            credentials="openai",
        )
        print(video.uri)
        ```
    """
    request = _build_request(
        model=model,
        prompt=prompt,
        seconds=seconds,
        size=size,
        first_frame=resolve_image(image, field="image"),
        params=params,
        metadata=metadata,
    )
    if request.first_frame is None:
        raise InvalidRequestError("image", "an image is required for image-to-video")
    return _generate(
        request,
        credentials,
        storage,
        path_template=path_template,
        probe=probe,
        attempt=attempt,
        timeout=timeout,
    )


@flow(
    name="keyframe-to-video",
    description="Generate a video between a first and a last frame and store it.",
    flow_run_name="keyframe-to-video-{model}",
    persist_result=True,
    result_serializer="json",
    on_cancellation=[cancel_in_flight_jobs],
    on_crashed=[cancel_in_flight_jobs],
)
def keyframe_to_video(
    prompt: str,
    first_frame: Any,
    last_frame: Any,
    model: str = "wan2.2-kf2v-flash",
    seconds: int | None = None,
    size: str | None = None,
    credentials: VideoGenCredentials | str | None = None,
    storage: Any = None,
    path_template: str | None = None,
    probe: bool = True,
    attempt: int = 0,
    params: dict[str, Any] | None = None,
    metadata: dict[str, Any] | None = None,
    timeout: float | None = None,
) -> StoredVideo:
    """Generate a video that goes from a first frame to a last frame, and store it.

    Args:
        prompt: What happens between the frames.
        first_frame: The opening image (same notations as `image_to_video`'s `image`).
        last_frame: The closing image.
        model: A model with keyframe support (Wan kf2v, Kling, Vidu, Jimeng, generic).
        seconds: Duration; the model's default if None.
        size: Resolution; the model's default if None.
        credentials: A `VideoGenCredentials` block or a saved block's name.
        storage: Where the video goes (see `text_to_video`).
        path_template: Path inside the storage.
        probe: Check the stored video's size and duration with PyAV.
        attempt: Raise to pay for a new job instead of reusing the cached one.
        params: The model family's extra parameters.
        metadata: Raw metadata passed to the server untouched.
        timeout: Seconds to wait for the job.

    Returns:
        The `StoredVideo`.

    Example:
        ```python
        from prefect_videogen.flows import keyframe_to_video

        video = keyframe_to_video(
            "the flower opens",
            first_frame="bud.png",
            last_frame="bloom.png",
            model="wan2.2-kf2v-flash",
            credentials="dashscope-gateway",
        )
        print(video.uri)
        ```
    """
    first = resolve_image(first_frame, field="first_frame")
    last = resolve_image(last_frame, field="last_frame")
    if first is None or last is None:
        raise InvalidRequestError(
            "last_frame" if first is not None else "first_frame",
            "keyframe video needs both first_frame and last_frame",
        )
    request = _build_request(
        model=model,
        prompt=prompt,
        seconds=seconds,
        size=size,
        first_frame=first,
        last_frame=last,
        params=params,
        metadata=metadata,
    )
    return _generate(
        request,
        credentials,
        storage,
        path_template=path_template,
        probe=probe,
        attempt=attempt,
        timeout=timeout,
    )


# --------------------------------------------------------------------------------------
# Batches


def _cell(value: str | None) -> Any:
    return None if value is None or value.strip() == "" else value.strip()


def _csv_entry(row: dict[str, str | None], line: int, path: Path) -> dict[str, Any]:
    entry: dict[str, Any] = {}
    for key, raw in row.items():
        if key is None:
            raise InvalidRequestError(
                "manifest", f"{path.name} line {line}: more cells than header columns"
            )
        value = _cell(raw)
        if value is None:
            continue
        if key in ("params", "metadata"):
            try:
                value = json.loads(value)
            except json.JSONDecodeError as exc:
                raise InvalidRequestError(
                    f"manifest.{key}", f"{path.name} line {line}: not JSON ({exc.msg})"
                ) from None
        entry[key.strip()] = value
    return entry


def load_manifest(path: str | Path) -> list[dict[str, Any]]:
    """Read batch entries from a `.jsonl` (one JSON object a line) or `.csv` manifest.

    Entry keys: `prompt` (required), `model`, `seconds`, `size`, `image` (or
    `first_frame`), `last_frame`, `params`, `metadata`, `attempt`. In CSV, `params` and
    `metadata` cells hold JSON and empty cells mean "not given". Relative image paths are
    read from the manifest's directory.

    Example:
        ```python
        from prefect_videogen.flows import load_manifest

        # videos.csv:
        # prompt,model,seconds,size,image
        # a fox in snow,sora-2,4,1280x720,
        # the cat turns,sora-2,4,1280x720,cat.png
        print(load_manifest("videos.csv"))
        ```
    """
    path = Path(path).expanduser()
    if not path.is_file():
        raise InvalidRequestError("manifest", f"{str(path)!r} is not a file")
    suffix = path.suffix.lower()
    entries: list[dict[str, Any]] = []
    if suffix in (".jsonl", ".ndjson"):
        with path.open(encoding="utf-8") as handle:
            for line_number, line in enumerate(handle, start=1):
                if not line.strip():
                    continue
                try:
                    entry = json.loads(line)
                except json.JSONDecodeError as exc:
                    raise InvalidRequestError(
                        "manifest", f"{path.name} line {line_number}: not JSON ({exc.msg})"
                    ) from None
                if not isinstance(entry, dict):
                    raise InvalidRequestError(
                        "manifest", f"{path.name} line {line_number}: not a JSON object"
                    )
                entries.append(entry)
    elif suffix == ".csv":
        with path.open(encoding="utf-8", newline="") as handle:
            for line_number, row in enumerate(csv.DictReader(handle), start=2):
                entries.append(_csv_entry(row, line_number, path))
    else:
        raise InvalidRequestError("manifest", value=path.name, allowed=[".jsonl", ".csv"])
    return entries


def _entry_request(
    entry: Mapping[str, Any],
    index: int,
    *,
    default_model: str,
    default_attempt: int,
    base_dir: Path | None,
) -> tuple[VideoRequest, int, str]:
    """The entry's request, its attempt, and its normalized fingerprint (for deduplication)."""
    unknown = sorted(set(entry) - set(BATCH_KEYS))
    if unknown:
        raise InvalidRequestError(
            f"requests[{index}]", f"unknown key(s) {', '.join(unknown)}", allowed=BATCH_KEYS
        )
    if not entry.get("prompt"):
        raise InvalidRequestError(f"requests[{index}].prompt", "a prompt is required")
    try:
        seconds = entry.get("seconds")
        request = _build_request(
            model=str(entry.get("model") or default_model),
            prompt=str(entry["prompt"]),
            seconds=int(seconds) if seconds not in (None, "") else None,
            size=str(entry["size"]) if entry.get("size") else None,
            first_frame=resolve_image(
                entry.get("first_frame", entry.get("image")),
                base_dir=base_dir,
                field="image" if "image" in entry else "first_frame",
            ),
            last_frame=resolve_image(
                entry.get("last_frame"), base_dir=base_dir, field="last_frame"
            ),
            params=entry.get("params"),
            metadata=entry.get("metadata"),
        )
        fingerprint = normalize_request(request)[0].fingerprint()
        given = entry.get("attempt")
        attempt = int(given) if given not in (None, "") else default_attempt
    except InvalidRequestError as exc:
        field = f"requests[{index}].{exc.field}" if exc.field else f"requests[{index}]"
        raise InvalidRequestError(field, str(exc)) from exc
    except (TypeError, ValueError) as exc:
        raise InvalidRequestError(f"requests[{index}]", str(exc)) from exc
    return request, attempt, fingerprint


@asynccontextmanager
async def _slot(limit_name: str | None) -> AsyncIterator[None]:
    if limit_name is None:
        yield
        return
    from prefect.concurrency.asyncio import concurrency

    async with concurrency(limit_name, occupy=1, strict=True):
        yield


async def _take_rate_slot(limit_name: str) -> None:
    from prefect.concurrency.asyncio import rate_limit

    await rate_limit(limit_name, occupy=1, strict=True)


@flow(
    name="generate-video-batch",
    description="Generate many videos concurrently from a list or a JSONL/CSV manifest.",
    persist_result=True,
    result_serializer="json",
    on_cancellation=[cancel_in_flight_jobs],
    on_crashed=[cancel_in_flight_jobs],
)
async def generate_batch(
    requests: list[dict[str, Any]] | None = None,
    manifest: str | None = None,
    model: str = "sora-2",
    credentials: VideoGenCredentials | str | None = None,
    storage: Any = None,
    path_template: str | None = None,
    probe: bool = True,
    attempt: int = 0,
    max_concurrency: int = 4,
    concurrency_limit: str | None = None,
    rate_limit: str | None = None,
    timeout: float | None = None,
    allow_failures: bool = False,
    video_artifacts: bool = False,
) -> list[StoredVideo | None]:
    """Generate many videos concurrently; identical requests are submitted once.

    Every entry is validated before anything is submitted, so a bad manifest costs nothing.
    Each distinct video is one `generate-video-async` task run (submit, wait, store; see
    `prefect_videogen.tasks.agenerate_video`), sharing `submit_video`'s cache.
    At most `max_concurrency` jobs of this batch are in flight at once; with
    `concurrency_limit`, each job also holds a slot of that Prefect global concurrency
    limit from submission until its video is stored, so several batches (or flows)
    together stay under a provider's limit. The limit must exist
    (`prefect gcl create videogen --limit 4`). With `rate_limit`, the name of a global
    limit that has `--slot-decay-per-second` set, submissions are also spaced out to the
    provider's requests-per-minute budget.

    Args:
        requests: Entries as dicts (keys as in `load_manifest`).
        manifest: Path of a `.jsonl` or `.csv` manifest (instead of, or after, `requests`).
        model: Model for entries that name none.
        credentials: A `VideoGenCredentials` block or a saved block's name.
        storage: Where the videos go (see `text_to_video`).
        path_template: Path inside the storage.
        probe: Check each stored video's size and duration with PyAV.
        attempt: Attempt number for entries that give none.
        max_concurrency: Jobs of this batch in flight at once.
        concurrency_limit: Name of a Prefect global concurrency limit every job occupies.
        rate_limit: Name of a Prefect global limit with slot decay; each submission takes
            one slot of it first (`prefect.concurrency.asyncio.rate_limit`).
        timeout: Seconds to wait for each job.
        allow_failures: Return None for failed entries instead of failing the flow.
        video_artifacts: Also report each video on its own, as `text_to_video` does: its
            progress, link and markdown artifacts and a log line per status change. Off by
            default: the batch keeps one progress artifact (with a log line as it moves)
            and one table artifact for all its videos, which is what a batch of hundreds
            needs, at a dozen fewer API calls per video.

    Returns:
        One `StoredVideo` per entry, in order (None for failed entries when
        `allow_failures`); a table artifact lists them all.

    Example:
        ```python
        import asyncio

        from prefect_videogen.flows import generate_batch

        videos = asyncio.run(
            generate_batch(manifest="videos.jsonl", credentials="openai", max_concurrency=2)
        )
        print([video.uri for video in videos])
        ```
    """
    if max_concurrency < 1:
        raise InvalidRequestError("max_concurrency", value=max_concurrency, allowed="1 or more")
    check_path_template(path_template or current_settings().path_template)
    entries: list[tuple[Mapping[str, Any], Path | None]] = [(e, None) for e in requests or []]
    if manifest is not None:
        manifest_path = Path(manifest).expanduser().resolve()
        entries += [(e, manifest_path.parent) for e in load_manifest(manifest_path)]
    if not entries:
        raise InvalidRequestError("requests", "give at least one request or a manifest")

    planned = [
        _entry_request(
            entry, index, default_model=model, default_attempt=attempt, base_dir=base_dir
        )
        for index, (entry, base_dir) in enumerate(entries)
    ]
    creds = await aresolve_credentials(credentials)
    block = await aresolve_storage(storage)

    unique: dict[tuple[str, int], VideoRequest] = {}
    keys = []
    for request, entry_attempt, fingerprint in planned:
        key = (fingerprint, entry_attempt)
        unique.setdefault(key, request)
        keys.append(key)
    logger = get_logger()
    logger.info(
        "Batch of %d request(s), %d distinct; up to %d at once%s",
        len(planned),
        len(unique),
        max_concurrency,
        f", global limit {concurrency_limit!r}" if concurrency_limit else "",
    )

    gate = asyncio.Semaphore(max_concurrency)
    progress = BatchProgress(len(unique))
    await progress.start()

    async def one(request: VideoRequest, entry_attempt: int) -> StoredVideo:
        async with gate, _slot(concurrency_limit), progress.generating():
            if rate_limit is not None:
                await _take_rate_slot(rate_limit)
            return await agenerate_video(
                request,
                creds,
                attempt=entry_attempt,
                storage=block,
                path_template=path_template,
                probe=probe,
                timeout=timeout,
                artifacts=video_artifacts,
            )

    async def counted(request: VideoRequest, entry_attempt: int) -> StoredVideo:
        try:
            stored = await one(request, entry_attempt)
        except Exception:
            await progress.advance(failed=True)
            raise
        await progress.advance()
        return stored

    outcomes = await asyncio.gather(
        *(counted(request, key[1]) for key, request in unique.items()), return_exceptions=True
    )
    await progress.finish()
    by_key = dict(zip(unique, outcomes, strict=True))
    results = [by_key[key] for key in keys]

    summaries = [request.summary() for request, _, _ in planned]
    await acreate_batch_table(batch_table(summaries, results))
    for outcome in outcomes:
        if isinstance(outcome, BaseException) and not isinstance(outcome, Exception):
            raise outcome
    errors = [outcome for outcome in outcomes if isinstance(outcome, Exception)]
    if errors and not allow_failures:
        if len(errors) == 1:
            raise errors[0]
        raise ExceptionGroup(f"{len(errors)} of {len(unique)} videos failed", errors)
    return [result if isinstance(result, StoredVideo) else None for result in results]
