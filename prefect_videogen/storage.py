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
`../../etc/x` from a hostile server cannot escape the base path. A template that names
neither `{job_id}` nor `{fingerprint}` cannot tell two jobs apart, so the job id is added to
its file name (`{prompt_slug}.mp4` writes `a-red-fox-<job id>.mp4`) and a warning says so:
two different paid videos never overwrite each other.

Storage references: `"<block-type-slug>/<block-name>"` names a saved block; a string of that
shape whose slug is no block type (`"s3-buckt/videos"`) is an error, not a local folder;
write local folders as `"./videos/out"`, `"videos"` or an absolute path.

A video already at its path is kept: `StorageTarget.read_sidecar` and `read_back` let the
download step check that the sidecar names the same job and that the stored file's size
and sha256 match it (an object is read back to hash it), so a rerun downloads nothing
twice; a doubtful copy is downloaded again.

`check_writable` runs before a paid submit: a local folder gets a probe file written and
removed, a saved block must load. Writes that fail after paying raise `StorageError`, which
says that the job is paid and that a rerun after the fix reuses it.
"""

from __future__ import annotations

import difflib
import hashlib
import inspect
import logging
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

from prefect_videogen import _prefect
from prefect_videogen._extras import EXTRA_BLOCK_TYPES, require_extra
from prefect_videogen.exceptions import InvalidRequestError, StorageError
from prefect_videogen.settings import current_settings

__all__ = [
    "TEMPLATE_FIELDS",
    "StorageTarget",
    "acheck_writable",
    "aresolve_storage",
    "call_block",
    "check_path_template",
    "check_writable",
    "file_digest",
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
#: Fields that tell two jobs apart; a template without one gets the job id appended.
_UNIQUE_FIELDS = ("job_id", "fingerprint")

logger = logging.getLogger("prefect_videogen.storage")


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
    used = _fields(template)
    unknown = sorted(name for name in used if name not in TEMPLATE_FIELDS)
    if unknown or "" in used:
        raise InvalidRequestError(
            "path_template",
            f"unknown field(s) {', '.join(repr(n) for n in unknown) or '{}'} in {template!r}",
            allowed=[f"{{{name}}}" for name in TEMPLATE_FIELDS],
        )
    template = unique_template(template)
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


def _fields(template: str) -> set[str]:
    try:
        return {name for _, name, _, _ in string.Formatter().parse(template) if name is not None}
    except ValueError as exc:  # an unmatched "{" or "}"
        raise InvalidRequestError("path_template", f"{template!r}: {exc}") from None


def unique_template(template: str) -> str:
    """`template`, with `-{job_id}` added to its file name if it cannot tell jobs apart.

    A template without `{job_id}` or `{fingerprint}` would write two different jobs' videos
    to one path, the second overwriting the first.

    Example:
        ```python
        from prefect_videogen.storage import unique_template

        print(unique_template("{model}/{prompt_slug}.mp4"))  # {model}/{prompt_slug}-{job_id}.mp4
        ```
    """
    if any(name in _UNIQUE_FIELDS for name in _fields(template)):
        return template
    folder, _, name = template.replace("\\", "/").rpartition("/")
    stem, dot, suffix = name.rpartition(".")
    if not dot or not stem:
        stem, suffix = name, ""
    unique = f"{stem}-{{job_id}}" + (f".{suffix}" if suffix else "")
    return f"{folder}/{unique}" if folder else unique


def check_path_template(template: str) -> None:
    """Raise now if `template` is unusable, so a flow fails before it pays for a video.

    A template that names neither `{job_id}` nor `{fingerprint}` is accepted with a
    warning: the job id is added to its file name (see `unique_template`).

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
    if (unique := unique_template(template)) != template:
        _warn(
            "path_template %r names neither {job_id} nor {fingerprint}, so two jobs could "
            "write the same file; the job id is added to each file name: %r",
            template,
            unique,
        )


_warned: set[tuple[Any, ...]] = set()


def _warn(message: str, *args: Any) -> None:
    """A warning in the Prefect run's log (once per flow run), else in ours (once)."""
    from prefect.context import FlowRunContext

    context = FlowRunContext.get()
    run_id = context.flow_run.id if context is not None and context.flow_run else None
    key = (run_id, message, *args)
    if key in _warned:
        return
    _warned.add(key)
    try:
        from prefect import get_run_logger

        get_run_logger().warning(message, *args)
    except Exception:  # MissingContextError outside a run
        logger.warning(message, *args)


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


def _block_types() -> list[str]:
    from prefect.utilities.dispatch import get_registry_for_type

    return sorted(get_registry_for_type(Block) or {})


def _parse_reference(value: str) -> tuple[str, str] | None:
    """("s3-bucket", "name") if `value` is a saved block's reference, None for a folder.

    Raises:
        InvalidRequestError: `value` has the shape `slug/name` but `slug` is no block type.
    """
    match = _BLOCK_REF.match(value)
    if match is not None and (extra := EXTRA_BLOCK_TYPES.get(match.group(1))):
        require_extra(extra, f"The {match.group(1)} block {value!r}")
    if match is None:
        return None
    slug = match.group(1)
    if not is_block_type(slug):
        close = difflib.get_close_matches(slug, _block_types(), n=3)
        hint = f"did you mean {' or '.join(repr(c) for c in close)}? " if close else ""
        raise InvalidRequestError(
            "storage",
            f"{value!r} looks like a saved block (<block-type-slug>/<block-name>) but "
            f"{slug!r} is no block type Prefect knows; {hint}(a block type's package must "
            f"be installed.) For a local folder write {'./' + value!r} or an absolute path",
        )
    return slug, match.group(2)


def _missing_block(reference: str, exc: Exception) -> InvalidRequestError:
    return InvalidRequestError(
        "storage",
        f"no saved block {reference!r} ({exc}); save it first (e.g. "
        f'S3Bucket(bucket_name=...).save("{reference.split("/", 1)[1]}")), check its name '
        "with `prefect block ls`, or pass a local folder",
    )


def _load_block(reference: str) -> Any:
    from prefect.exceptions import ObjectNotFound

    try:
        return _prefect.load_block(reference)
    except (ValueError, ObjectNotFound) as exc:
        raise _missing_block(reference, exc) from None


async def _aload_block(reference: str) -> Any:
    from prefect.exceptions import ObjectNotFound

    try:
        return await Block.aload(reference)
    except (ValueError, ObjectNotFound) as exc:
        raise _missing_block(reference, exc) from None


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
            a string (`"./videos/out"`, `"videos"`, `"/data/videos"`; `"a/b"` whose `a` is no
            block type is refused as a likely typo); or None for a `LocalFileSystem` at the
            `output_dir` setting (`./videos` by default).

    Raises:
        InvalidRequestError: naming `storage`: not a storage, an unknown block type, or no
            saved block of that name.

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
        return _check_block(_load_block(f"{ref[0]}/{ref[1]}"), storage)
    if isinstance(storage, str | Path):
        return LocalFileSystem(basepath=str(Path(storage).expanduser().resolve()))
    return _check_block(storage, storage)


async def aresolve_storage(storage: StorageLike = None) -> Any:
    """Async twin of `resolve_storage` (loads saved blocks with `Block.aload`)."""
    if isinstance(storage, str) and (ref := _parse_reference(storage)) is not None:
        return _check_block(await _aload_block(f"{ref[0]}/{ref[1]}"), storage)
    return resolve_storage(storage)


def _probe_local(block: LocalFileSystem) -> None:
    base = Path(block.basepath).expanduser() if block.basepath else Path.cwd()
    try:
        base.mkdir(parents=True, exist_ok=True)
        # An unnamed file (O_TMPFILE on Linux; elsewhere unlinked as soon as it is made):
        # a process killed mid-check leaves nothing behind in the user's folder.
        with tempfile.TemporaryFile(prefix=".prefect-videogen-probe-", dir=base) as handle:
            handle.write(b"probe")
            handle.flush()
            os.fsync(handle.fileno())
    except OSError as exc:
        raise InvalidRequestError(
            "storage",
            f"cannot write to {str(base)!r} ({exc.strerror or exc}); nothing was submitted. "
            "Fix the folder's permissions or free space, or choose another storage",
        ) from None


def check_writable(storage: StorageLike = None, path_template: str | None = None) -> Any:
    """Check, before paying for a video, that it can be stored; returns the resolved block.

    The path template must be usable (see `check_path_template`), a saved block must load,
    and a local folder must take a probe file (written, fsynced and removed). Other blocks
    are not written to here: a probe object would cost a request and may be kept.

    Args:
        storage: What `resolve_storage` accepts.
        path_template: The template to check; None checks the `path_template` setting.

    Raises:
        InvalidRequestError: naming `storage` or `path_template`; nothing was submitted.

    Example:
        ```python
        from prefect_videogen.storage import check_writable

        block = check_writable("./videos", "{model}/{date}/{job_id}.mp4")
        ```
    """
    check_path_template(path_template or current_settings().path_template)
    block = resolve_storage(storage)
    if isinstance(block, LocalFileSystem):
        _probe_local(block)
    return block


async def acheck_writable(storage: StorageLike = None, path_template: str | None = None) -> Any:
    """Async twin of `check_writable` (loads saved blocks with `Block.aload`)."""
    import anyio

    check_path_template(path_template or current_settings().path_template)
    block = await aresolve_storage(storage)
    if isinstance(block, LocalFileSystem):
        await anyio.to_thread.run_sync(_probe_local, block)
    return block


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
    return _prefect.call_block(block, name, *args)


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
        return await anyio.to_thread.run_sync(lambda: _prefect.call_sync(method, *args))
    return await anyio.to_thread.run_sync(lambda: method(*args))


def file_digest(path: Path) -> tuple[int, str]:
    """`(size in bytes, hex sha256)` of a local file, read in chunks.

    Example:
        ```python
        from pathlib import Path
        from prefect_videogen.storage import file_digest

        size, sha256 = file_digest(Path("videos/a.mp4"))
        ```
    """
    with open(path, "rb") as handle:
        digest = hashlib.file_digest(handle, "sha256")
        return handle.tell(), digest.hexdigest()


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


def _paid_storage_error(doing: str, where: str, exc: BaseException) -> StorageError:
    reason = (exc.strerror if isinstance(exc, OSError) else None) or str(exc) or type(exc).__name__
    return StorageError(
        f"{doing} {where!r} failed ({type(exc).__name__}: {reason}). The video job is paid and "
        "finished, so do not submit it again: fix the storage (free space, permissions, the "
        "block's settings), then run again; a rerun with the same request and attempt "
        "reuses the job and only downloads it again.",
        path=where,
    )


@contextmanager
def _storing(doing: str, where: str) -> Iterator[None]:
    """Turn a failing write (OSError, a block's own error) into a `StorageError`."""
    try:
        yield
    except (InvalidRequestError, StorageError):
        raise
    except Exception as exc:
        raise _paid_storage_error(doing, where, exc) from exc


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

    @property
    def _local_sidecar(self) -> Path:
        return self.local_path.with_name(self.local_path.name + ".json")

    def read_sidecar(self) -> bytes | None:
        """The sidecar JSON already at this video's place, or None when there is none.

        A local file is read directly; other blocks through `read_path` (one GET for an S3
        object). A sidecar that cannot be read counts as none (the video is downloaded).
        """
        if self.kind == "local":
            try:
                return self._local_sidecar.read_bytes()
            except OSError:
                return None
        try:
            data = call_block(self.block, "read_path", self.sidecar_path)
        except Exception as exc:  # a missing object: each block raises its own error
            logger.debug(
                "No sidecar readable at %s: %s: %s", self.sidecar_path, type(exc).__name__, exc
            )
            return None
        return bytes(data) if data is not None else None

    def read_back(self) -> Path | None:
        """The video already stored at this place, as a local file to hash or probe.

        On local disk that is the final file itself (None if it is not there). From other
        blocks the object is read back into the temporary `local_path`: `S3Bucket` (any block
        with `download_object_to_path`) streams it to disk, which costs one read from the
        bucket but never a download from the video server; other blocks use `read_path`
        (the whole file in memory once).

        Raises:
            Exception: whatever the block raises for a missing or unreadable object.
        """
        if self.kind == "local":
            return self.local_path if self.local_path.is_file() else None
        if hasattr(self.block, "download_object_to_path"):
            call_block(self.block, "download_object_to_path", self.path, str(self.local_path))
        else:
            self.local_path.write_bytes(call_block(self.block, "read_path", self.path))
        return self.local_path

    def store(self) -> str:
        """Put the downloaded file at its final place in the block; returns the location.

        Raises:
            StorageError: the block refused the video (it is paid; a rerun reuses the job).
        """
        with _storing("storing the video at", self.path):
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
        with _storing("storing the video at", self.path):
            if self.kind == "local":
                self.location = str(self.local_path)
            elif self.kind == "upload":
                location = await _acall(
                    self.block, "upload_from_path", str(self.local_path), self.path
                )
                self.location = str(location)
            else:
                import anyio

                content = await anyio.to_thread.run_sync(self.local_path.read_bytes)
                self.location = str(
                    await _acall(self.block, "write_path", self.path, content) or self.path
                )
        return self.location

    def write_sidecar(self, data: bytes) -> str:
        """Write the sidecar JSON next to the video (atomically on local disk)."""
        with _storing("writing the sidecar", self.sidecar_path):
            if self.kind == "local":
                sidecar = self._local_sidecar
                write_atomically(sidecar, data)
                return str(sidecar)
            return str(
                call_block(self.block, "write_path", self.sidecar_path, data) or self.sidecar_path
            )

    async def awrite_sidecar(self, data: bytes) -> str:
        """Async twin of `write_sidecar()`."""
        with _storing("writing the sidecar", self.sidecar_path):
            if self.kind == "local":
                import anyio

                sidecar = self._local_sidecar
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
        StorageError: the folder cannot be created (the job is paid; a rerun reuses it).

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
        with _storing("creating the folder", str(destination.parent)):
            destination.parent.mkdir(parents=True, exist_ok=True)
        target = StorageTarget(block=block, path=path, local_path=destination, kind="local")
    else:
        with _storing("creating a temporary folder for", path):
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
