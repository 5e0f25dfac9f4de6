"""The one module that touches Prefect internals.

Prefect's public API is async-dispatched: the same function returns a coroutine or a value
depending on where it is called from, and `_sync=True` forces the value. That flag, block
loading and block method calls, the result store behind the submission ledger and the
choice of lock manager live here, so a change in Prefect is fixed in one place
(`tests/test_prefect_adapter.py` fails if `_sync=` appears anywhere else in the package).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

from prefect.filesystems import LocalFileSystem
from pydantic import PrivateAttr

__all__ = [
    "acall_block",
    "aledger_store",
    "call_block",
    "call_sync",
    "default_result_storage_reference",
    "ledger_store",
    "load_block",
    "submission_lock_manager",
]


def call_sync(function: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
    """Call an async-dispatched Prefect function for its value, from sync or async code.

    Example:
        ```python
        from prefect.artifacts import create_link_artifact
        from prefect_videogen._prefect import call_sync

        call_sync(create_link_artifact, "file:///tmp/fox.mp4", link_text="fox")
        ```
    """
    return function(*args, _sync=True, **kwargs)


def load_block(reference: str) -> Any:
    """`Block.load("<type-slug>/<name>")`, synchronously.

    Example:
        ```python
        from prefect_videogen._prefect import load_block

        bucket = load_block("s3-bucket/videos")
        ```
    """
    from prefect.blocks.core import Block

    return Block.load(reference, _sync=True)


def call_block(block: Any, name: str, *args: Any) -> Any:
    """Call a block's I/O method synchronously (async-dispatched, plain, or a coroutine)."""
    import inspect

    from prefect.utilities.asyncutils import run_coro_as_sync

    method = getattr(block, name)
    result = method(*args, _sync=True) if hasattr(method, "aio") else method(*args)
    if inspect.isawaitable(result):
        result = run_coro_as_sync(result)
    return result


async def acall_block(block: Any, name: str, *args: Any) -> Any:
    """Call a block's I/O method from async code, off the event loop when it is sync."""
    import anyio

    async_method = getattr(block, f"a{name}", None)
    if async_method is not None:
        return await async_method(*args)
    method = getattr(block, name)
    if hasattr(method, "aio"):
        return await method.aio(block, *args)
    return await anyio.to_thread.run_sync(lambda: call_block(block, name, *args))


def submission_lock_manager() -> Any:
    """The lock manager of the submission ledger, chosen by the `lock_manager` setting.

    `file` (default): a `FileLockManager` under `lock_dir` (one host). A Redis URL: a
    `RedisSubmissionLockManager` (several hosts), one per URL and process.
    """
    from prefect_videogen.locks import FileLockManager
    from prefect_videogen.settings import current_settings

    settings = current_settings()
    if settings.lock_manager.lower() != "file":
        return _redis_lock_manager(settings.lock_manager, settings.lock_hold_seconds)
    directory = settings.lock_dir
    if directory is None:
        from prefect.settings import get_current_settings

        directory = Path(get_current_settings().home) / "videogen-locks"
    key = (str(directory), settings.lock_hold_seconds)  # one per folder: it keeps no state
    manager = _file_managers.get(key)
    if manager is None:
        manager = _file_managers[key] = FileLockManager(
            directory, hold_seconds=settings.lock_hold_seconds
        )
    return manager


_file_managers: dict[tuple[str, float], Any] = {}


_redis_managers: dict[tuple[str, float, int], Any] = {}


def _redis_lock_manager(url: str, hold_seconds: float) -> Any:
    import os

    from prefect_videogen.locks import RedisSubmissionLockManager

    key = (url, hold_seconds, os.getpid())  # Redis connections are not shared over fork
    manager = _redis_managers.get(key)
    if manager is None:
        manager = _redis_managers[key] = RedisSubmissionLockManager(url, hold_seconds)
    return manager


def default_result_storage_reference() -> str | None:
    """`PREFECT_RESULTS_DEFAULT_STORAGE_BLOCK` (a `slug/name`), or None (local files)."""
    from prefect.settings import get_current_settings

    return get_current_settings().results.default_storage_block


class LedgerFileSystem(LocalFileSystem):
    """`LocalFileSystem` for the submission ledger's records.

    Their keys are plain file names (hex digests), so a record's path is the base path,
    resolved once, joined with the key. `LocalFileSystem` resolves both paths on every
    read, write and existence check: about 40 % of the ledger's CPU per submission. Any
    other path goes through `LocalFileSystem`'s own checks. Not a block to save: the
    ledger makes one from the run's local result storage.
    """

    _block_type_slug = "videogen-ledger-file-system"
    _base: Path | None = PrivateAttr(default=None)

    def _resolve_path(self, path: str) -> Path:
        if path and _PLAIN_NAME.fullmatch(path):
            if self._base is None:
                self._base = super()._resolve_path(None)  # type: ignore[arg-type]
            return self._base / path
        return super()._resolve_path(path)


_PLAIN_NAME = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.-]*")


def _store_with(storage: Any) -> Any:
    from prefect.results import ResultStore, resolve_serializer

    if type(storage) is LocalFileSystem:
        storage = LedgerFileSystem(basepath=storage.basepath)
    return ResultStore(
        result_storage=storage,
        serializer=resolve_serializer("json"),
        lock_manager=submission_lock_manager(),
        cache_result_in_memory=False,
    )


def ledger_store() -> Any:
    """A Prefect `ResultStore` for ledger records: the run's result storage (else the
    default one), JSON, the submission lock manager, no in-memory cache."""
    from prefect.results import get_default_result_storage, get_result_store

    storage = get_result_store().result_storage
    if storage is None:
        storage = get_default_result_storage(_sync=True)
    return _store_with(storage)


async def aledger_store() -> Any:
    """Async twin of `ledger_store`."""
    from prefect.results import aget_default_result_storage, get_result_store

    storage = get_result_store().result_storage
    if storage is None:
        storage = await aget_default_result_storage()
    return _store_with(storage)


def flow_run_is_cancelling(flow_run_id: str) -> bool:
    """Whether a user asked to cancel the flow run (its state is Cancelling or Cancelled).

    A runner or worker that cancels a run sets Cancelling first, then signals the run's
    process; a container stop or `timeout` sends the same SIGTERM without it. Unknown
    (the API cannot be reached) counts as not cancelling: a paid job is kept.
    """
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.objects import StateType

    try:
        with get_client(sync_client=True) as client:
            state = client.read_flow_run(flow_run_id).state
    except Exception:
        return False
    return state is not None and state.type in (StateType.CANCELLING, StateType.CANCELLED)
