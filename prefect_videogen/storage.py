"""Write downloaded videos to a Prefect storage block without holding them in memory.

How a video reaches each kind of block:

- `LocalFileSystem`: the client streams the download to a temporary name in the destination
  directory and `os.replace()`s it into place: no copy, no whole file in memory, no half
  file at the final path.
- Blocks with `upload_from_path` (prefect-aws `S3Bucket`, other `ObjectStorageBlock`s): the
  client streams to a local temporary file, which is then stream-uploaded and deleted.
- Any other `WritableFileSystem` (`RemoteFileSystem`, `SMB`, ...): streamed to a local
  temporary file, then written with `write_path(bytes)`. **This reads the whole video into
  memory once**, because that is the only write method the interface offers.

Where a video goes inside the block comes from a path template such as the default
`{model}/{date}/{job_id}.mp4`. Every field is sanitized (only letters, digits, `.`, `_`
and `-` survive; a job id that had to be changed gets a short hash so two ids cannot
collide), and the rendered path is checked to stay inside the block, so an id such as
`../../etc/x` from a hostile server cannot escape the base path.
"""

from __future__ import annotations

import hashlib
import inspect
import os
import re
import shutil
import string
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path, PurePosixPath
from typing import Any, Literal

from prefect.blocks.core import Block, UnknownBlockType
from prefect.filesystems import LocalFileSystem, WritableFileSystem

from prefect_videogen._extras import EXTRA_BLOCK_TYPES, require_extra
from prefect_videogen.exceptions import InvalidRequestError
from prefect_videogen.settings import current_settings

__all__ = [
    "TEMPLATE_FIELDS",
    "StorageTarget",
    "aresolve_storage",
    "call_block",
    "check_path_template",
    "is_block_type",
    "open_target",
    "render_path",
    "resolve_storage",
    "safe_component",
    "storage_label",
    "storage_uri",
    "write_atomically",
]

#: The fields a path template may use.
TEMPLATE_FIELDS = ("model", "family", "mode", "date", "job_id", "fingerprint", "prompt_slug")

StorageLike = WritableFileSystem | Block | str | Path | None

_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")
_BLOCK_REF = re.compile(r"^([a-z0-9][a-z0-9-]*)/([^/]+)$")


def safe_component(value: Any, *, unique: bool = False, max_length: int = 100) -> str:
    """Make `value` safe to use as one path component.

    Runs of anything but letters, digits, `.`, `_` and `-` become `-`; leading and
    trailing dots and dashes go, so `.` and `..` cannot survive. With `unique=True` a value
    that had to change gets the first 8 hex digits of its SHA-256, so distinct inputs
    stay distinct.

    Example:
        ```python
        from prefect_videogen.storage import safe_component

        print(safe_component("../../etc/passwd", unique=True))  # etc-passwd-<8 hex digits>
        ```
    """
    raw = str(value)
    clean = _UNSAFE.sub("-", raw).strip(".-")
    clean = re.sub(r"-{2,}", "-", clean)[:max_length].rstrip(".-")
    if unique and clean != raw:
        digest = hashlib.sha256(raw.encode()).hexdigest()[:8]
        clean = f"{clean}-{digest}" if clean else digest
    return clean or "_"


def _prompt_slug(prompt: str | None, max_length: int = 48) -> str:
    words = re.findall(r"[a-z0-9]+", (prompt or "").lower())
    slug = ""
    for word in words:
        candidate = f"{slug}-{word}" if slug else word
        if len(candidate) > max_length:
            break
        slug = candidate
    return slug or (words[0][:max_length] if words else "video")


def render_path(
    template: str,
    *,
    model: str,
    job_id: str,
    family: str | None = None,
    mode: str | None = None,
    fingerprint: str | None = None,
    prompt: str | None = None,
    date: datetime | None = None,
) -> str:
    """Render a path template into a safe relative path inside a storage block.

    Fields: `model`, `family`, `mode`, `date` (UTC, `YYYY-MM-DD`), `job_id`, `fingerprint`
    (first 12 hex digits) and `prompt_slug` (the prompt's first words, lower-case).

    Args:
        template: E.g. `"{model}/{date}/{job_id}.mp4"`.
        model: The model name.
        job_id: The server's job id (sanitized and, if changed, suffixed with a hash).
        family: The model family's name.
        mode: t2v, i2v or keyframe.
        fingerprint: The request's digest.
        prompt: The prompt, for `prompt_slug`.
        date: When the job was submitted; now if not given.

    Returns:
        A relative POSIX path with no `.`/`..` components.

    Raises:
        InvalidRequestError: `path_template` uses an unknown field or leaves the block.

    Example:
        ```python
        from prefect_videogen.storage import render_path

        print(render_path("{model}/{job_id}.mp4", model="sora-2", job_id="video_1"))
        # sora-2/video_1.mp4
        ```
    """
    used = {name for _, name, _, _ in string.Formatter().parse(template) if name is not None}
    unknown = sorted(name for name in used if name not in TEMPLATE_FIELDS)
    if unknown or "" in used:
        raise InvalidRequestError(
            "path_template",
            f"unknown field(s) {', '.join(repr(n) for n in unknown) or '{}'} in {template!r}",
            allowed=[f"{{{name}}}" for name in TEMPLATE_FIELDS],
        )
    when = (date or datetime.now(UTC)).astimezone(UTC)
    fields = {
        "model": safe_component(model),
        "family": safe_component(family or "unknown"),
        "mode": safe_component(mode or "t2v"),
        "date": when.strftime("%Y-%m-%d"),
        "job_id": safe_component(job_id, unique=True),
        "fingerprint": safe_component((fingerprint or "nofingerprint")[:12]),
        "prompt_slug": _prompt_slug(prompt),
    }
    rendered = template.format(**fields).replace("\\", "/")
    parts = rendered.split("/")
    if any(part.strip() in ("", ".", "..") for part in parts) or re.match(r"^[A-Za-z]:", rendered):
        raise InvalidRequestError(
            "path_template",
            f"{template!r} renders to {rendered!r}, which is not a relative path inside the "
            "storage block",
            allowed='a relative path such as "{model}/{date}/{job_id}.mp4"',
        )
    return "/".join(parts)


def check_path_template(template: str) -> None:
    """Raise now if `template` is unusable, so a flow fails before it pays for a video.

    Raises:
        InvalidRequestError: `path_template` uses an unknown field or leaves the block.

    Example:
        ```python
        from prefect_videogen.storage import check_path_template

        check_path_template("{model}/{date}/{job_id}.mp4")  # fine
        check_path_template("../{job_id}.mp4")  # raises InvalidRequestError
        ```
    """
    render_path(
        template,
        model="model",
        job_id="job",
        family="family",
        mode="t2v",
        fingerprint="0" * 64,
        prompt="prompt",
    )


def _default_storage() -> LocalFileSystem:
    base = current_settings().output_dir.expanduser().resolve()
    return LocalFileSystem(basepath=str(base))


def is_block_type(slug: str) -> bool:
    """Whether `slug` ("s3-bucket", "local-file-system") is a block type Prefect knows."""
    try:
        Block.get_block_class_from_key(slug)
    except (KeyError, UnknownBlockType):
        return False
    return True


def _parse_reference(value: str) -> tuple[str, str] | None:
    """("s3-bucket", "name") if `value` names a saved block of a known type, else None."""
    match = _BLOCK_REF.match(value)
    if match is not None and (extra := EXTRA_BLOCK_TYPES.get(match.group(1))):
        require_extra(extra, f"The {match.group(1)} block {value!r}")
    if match is None or not is_block_type(match.group(1)):
        return None
    return match.group(1), match.group(2)


def _check_block(block: Any, given: Any) -> Any:
    if isinstance(block, WritableFileSystem) or hasattr(block, "upload_from_path"):
        return block
    raise InvalidRequestError(
        "storage",
        value=type(given).__name__,
        allowed="a WritableFileSystem or ObjectStorageBlock (LocalFileSystem, S3Bucket, ...), "
        'a saved block\'s "<type-slug>/<name>", or a local directory',
    )


def resolve_storage(storage: StorageLike = None) -> Any:
    """Turn what a flow was given into a storage block.

    Args:
        storage: A block object; a saved block's `"<block-type-slug>/<block-name>"` (e.g.
            `"s3-bucket/videos"`, `"local-file-system/out"`); a local directory as a `Path` or
            any other string; or None for a `LocalFileSystem` at the `output_dir` setting
            (`./videos` by default).

    Returns:
        The block to write to.

    Example:
        ```python
        from prefect_videogen.storage import resolve_storage

        block = resolve_storage("s3-bucket/videos")  # a saved S3Bucket
        local = resolve_storage("./videos")  # a LocalFileSystem
        ```
    """
    if storage is None:
        return _default_storage()
    if isinstance(storage, str) and (ref := _parse_reference(storage)) is not None:
        return _check_block(Block.load(f"{ref[0]}/{ref[1]}", _sync=True), storage)
    if isinstance(storage, str | Path):
        return LocalFileSystem(basepath=str(Path(storage).expanduser().resolve()))
    return _check_block(storage, storage)


async def aresolve_storage(storage: StorageLike = None) -> Any:
    """Async twin of `resolve_storage` (loads saved blocks with `Block.aload`)."""
    if isinstance(storage, str) and (ref := _parse_reference(storage)) is not None:
        return _check_block(await Block.aload(f"{ref[0]}/{ref[1]}"), storage)
    return resolve_storage(storage)


def storage_label(block: Any) -> str:
    """`"<type-slug>/<name>"` for a saved block, else the block type's slug."""
    slug = block.get_block_type_slug() if isinstance(block, Block) else type(block).__name__
    name = getattr(block, "_block_document_name", None)
    if name and not getattr(block, "_is_anonymous", False):
        return f"{slug}/{name}"
    return slug


def storage_uri(block: Any, location: str) -> str:
    """A URI for what was written: `file://...`, `s3://bucket/key`, or `<block>:<location>`."""
    if isinstance(block, LocalFileSystem):
        return Path(location).as_uri()
    bucket = getattr(block, "bucket_name", None)
    if bucket:
        return f"s3://{bucket}/{location.lstrip('/')}"
    if "://" in location:
        return location
    return f"{storage_label(block)}:{location}"


def _local_destination(block: LocalFileSystem, path: str) -> Path:
    base = Path(block.basepath).expanduser().resolve() if block.basepath else Path.cwd()
    destination = (base / path).resolve()
    if base not in destination.parents:
        raise InvalidRequestError(
            "path", f"{path!r} resolves outside the storage base path {str(base)!r}"
        )
    return destination


def call_block(block: Any, name: str, *args: Any) -> Any:
    """Call a block method from sync code, whatever style the block writes it in.

    Example:
        ```python
        from prefect.filesystems import LocalFileSystem
        from prefect_videogen.storage import call_block

        call_block(LocalFileSystem(basepath="videos"), "write_path", "a.txt", b"hi")
        ```
    """
    from prefect.utilities.asyncutils import run_coro_as_sync

    method = getattr(block, name)
    result = method(*args, _sync=True) if hasattr(method, "aio") else method(*args)
    if inspect.isawaitable(result):
        result = run_coro_as_sync(result)
    return result


async def _acall(block: Any, name: str, *args: Any) -> Any:
    """Call a block method from async code, preferring its `a<name>` twin."""
    import anyio

    async_method = getattr(block, f"a{name}", None)
    if async_method is not None and inspect.iscoroutinefunction(async_method):
        return await async_method(*args)
    method = getattr(block, name)
    if inspect.iscoroutinefunction(method):
        return await method(*args)
    if hasattr(method, "aio"):
        return await anyio.to_thread.run_sync(lambda: method(*args, _sync=True))
    return await anyio.to_thread.run_sync(lambda: method(*args))


def write_atomically(path: Path, data: bytes) -> None:
    """Write `data` to a temporary file beside `path`, fsync it, then rename it into place.

    Example:
        ```python
        from pathlib import Path
        from prefect_videogen.storage import write_atomically

        write_atomically(Path("videos/a.json"), b"{}")
        ```
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


@dataclass
class StorageTarget:
    """Where one video is being written: the local file to download to, and how to store it.

    Use through `open_target`. Download to `local_path`, then call `store()` (or
    `astore()`), then `write_sidecar()` (or `awrite_sidecar()`).
    """

    block: Any
    path: str
    local_path: Path
    kind: Literal["local", "upload", "write_path"]
    location: str | None = None
    _tmpdir: Path | None = field(default=None, repr=False)

    @property
    def sidecar_path(self) -> str:
        """The sidecar's path inside the block: the video's path plus `.json`."""
        return f"{self.path}.json"

    def store(self) -> str:
        """Put the downloaded file at its final place in the block; returns the location."""
        if self.kind == "local":
            self.location = str(self.local_path)
        elif self.kind == "upload":
            self.location = str(
                call_block(self.block, "upload_from_path", str(self.local_path), self.path)
            )
        else:
            self.location = str(
                call_block(self.block, "write_path", self.path, self.local_path.read_bytes())
                or self.path
            )
        return self.location

    async def astore(self) -> str:
        """Async twin of `store()`."""
        if self.kind == "local":
            self.location = str(self.local_path)
        elif self.kind == "upload":
            location = await _acall(self.block, "upload_from_path", str(self.local_path), self.path)
            self.location = str(location)
        else:
            content = self.local_path.read_bytes()
            self.location = str(
                await _acall(self.block, "write_path", self.path, content) or self.path
            )
        return self.location

    def write_sidecar(self, data: bytes) -> str:
        """Write the sidecar JSON next to the video (atomically on local disk)."""
        if self.kind == "local":
            sidecar = self.local_path.with_name(self.local_path.name + ".json")
            write_atomically(sidecar, data)
            return str(sidecar)
        return str(
            call_block(self.block, "write_path", self.sidecar_path, data) or self.sidecar_path
        )

    async def awrite_sidecar(self, data: bytes) -> str:
        """Async twin of `write_sidecar()`."""
        if self.kind == "local":
            import anyio

            sidecar = self.local_path.with_name(self.local_path.name + ".json")
            await anyio.to_thread.run_sync(write_atomically, sidecar, data)
            return str(sidecar)
        written = await _acall(self.block, "write_path", self.sidecar_path, data)
        return str(written or self.sidecar_path)

    def cleanup(self) -> None:
        """Delete the local temporary directory, if one was used."""
        if self._tmpdir is not None:
            shutil.rmtree(self._tmpdir, ignore_errors=True)
            self._tmpdir = None


@contextmanager
def open_target(block: Any, path: str) -> Iterator[StorageTarget]:
    """Plan where a video at `path` inside `block` is downloaded to; clean up afterwards.

    For a `LocalFileSystem` the download goes straight to the final path (the client writes
    it under a temporary name and renames it). For other blocks it goes to a temporary
    directory that is removed when the context exits.

    Raises:
        InvalidRequestError: if `path` would land outside the block's base path.

    Example:
        ```python
        from prefect.filesystems import LocalFileSystem
        from prefect_videogen.storage import open_target

        with open_target(LocalFileSystem(basepath="videos"), "a/b.mp4") as target:
            target.local_path.parent.mkdir(parents=True, exist_ok=True)
            target.local_path.write_bytes(b"...")  # normally client.download_content(...)
            print(target.store())
        ```
    """
    if isinstance(block, LocalFileSystem):
        destination = _local_destination(block, path)
        destination.parent.mkdir(parents=True, exist_ok=True)
        target = StorageTarget(block=block, path=path, local_path=destination, kind="local")
    else:
        tmpdir = Path(tempfile.mkdtemp(prefix="prefect-videogen-"))
        kind: Literal["upload", "write_path"] = (
            "upload" if hasattr(block, "upload_from_path") else "write_path"
        )
        target = StorageTarget(
            block=block,
            path=path,
            local_path=tmpdir / PurePosixPath(path).name,
            kind=kind,
            _tmpdir=tmpdir,
        )
    try:
        yield target
    finally:
        target.cleanup()
