"""Cache policy of the submit task: the same request is never paid for twice.

`submit_video` is cached on a digest of

- the request after the model family has validated and normalized it (so `size=None` and
  the model's default size are the same request; images count by content hash);
- the `attempt` number (pass `attempt=1` to pay for a new job when the old one failed or
  expired);
- the credentials' `base_url` (the same request on another server is another job).

The API key is never part of the key: rotating a key does not resubmit anything, and the
key cannot leak through cache records. (The flip side: two accounts on the same `base_url`
share cache entries.)

Results are persisted as JSON in Prefect's result storage, so a rerun, a flow retry, or a
rerun after a crash in a new process finds the job id instead of submitting again. For runs
on several machines, point `PREFECT_RESULTS_DEFAULT_STORAGE_BLOCK` at shared storage.

Isolation is `SERIALIZABLE` with a file lock per key (`SubmitLockManager`), so two runs of
the same request on one host at the same time cannot both submit: the second waits, then
reads the first one's job.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import partial
from pathlib import Path
from typing import Any

from prefect.cache_policies import CachePolicy
from prefect.locking.filesystem import FileSystemLockManager

from prefect_videogen.exceptions import InvalidRequestError
from prefect_videogen.settings import current_settings

__all__ = [
    "SUBMIT_CACHE_POLICY",
    "SubmitCachePolicy",
    "SubmitLockManager",
    "normalize_request",
    "normalized_cache_key",
    "submit_cache_key",
]

#: Bump when the meaning of a cached submit result changes.
CACHE_NAMESPACE = "prefect-videogen/submit/v1"


def normalize_request(request: Any) -> tuple[Any, Any]:
    """Validate a request with its model family; return `(normalized request, family)`.

    Raises:
        InvalidRequestError: naming the field at fault, before any network call.
    """
    from prefect_videogen.families import VideoRequest, family_for_model

    if isinstance(request, dict):
        request = VideoRequest.model_validate(request)
    if not isinstance(request, VideoRequest):
        raise InvalidRequestError(
            "request", value=type(request).__name__, allowed="a VideoRequest or a dict"
        )
    family = family_for_model(request.model)
    return family.validate(request), family


def submit_cache_key(request: Any, *, attempt: int = 0, base_url: str = "") -> str:
    """The cache key of a submission: normalized request fingerprint + attempt + base URL.

    Example:
        ```python
        from prefect_videogen.caching import submit_cache_key
        from prefect_videogen.families import VideoRequest

        request = VideoRequest(model="kling-v1", prompt="a fox", seconds=5)
        print(submit_cache_key(request, base_url="https://gateway.example.com/v1"))
        ```
    """
    normalized, _ = normalize_request(request)
    return _digest(normalized, attempt, base_url)


def normalized_cache_key(normalized: Any, credentials: Any, attempt: int = 0) -> str:
    """`submit_cache_key` of a request `normalize_request` already returned, for a call with
    these credentials (only their `base_url` counts). Saves validating the request again."""
    base_url = getattr(credentials, "base_url", None)
    return _digest(normalized, attempt, str(base_url) if base_url else "")


def _digest(normalized: Any, attempt: int, base_url: str) -> str:
    material = f"{CACHE_NAMESPACE}|{normalized.fingerprint()}|{int(attempt)}|{base_url.rstrip('/')}"
    return hashlib.sha256(material.encode()).hexdigest()


@dataclass
class SubmitCachePolicy(CachePolicy):
    """Cache key of `submit_video`: see this module's docstring.

    Reads the task inputs `request`, `attempt` and `credentials` (its `base_url` only).
    A request the family rejects gets no key, so the task runs and raises the
    validation error.

    Example:
        ```python
        from prefect import task
        from prefect_videogen.caching import SubmitCachePolicy

        @task(cache_policy=SubmitCachePolicy(), result_serializer="json")
        def my_submit(request, credentials, attempt=0): ...
        ```
    """

    def compute_key(
        self,
        task_ctx: Any,
        inputs: dict[str, Any],
        flow_parameters: dict[str, Any],
        **kwargs: Any,
    ) -> str | None:
        """The key for one call of the submit task, or None for an invalid request."""
        try:
            normalized, _ = normalize_request(inputs["request"])
            return normalized_cache_key(
                normalized, inputs.get("credentials"), int(inputs.get("attempt") or 0)
            )
        except InvalidRequestError:
            return None


class SubmitLockManager(FileSystemLockManager):
    """Prefect's `FileSystemLockManager`, made safe for a submit that must not run twice.

    Differences from the base class:

    - every lock expires after `hold_seconds`, so a lock left by a crashed process blocks
      a rerun for a while, not forever;
    - a lock file caught half-written counts as held (the base class raises on it);
    - the async acquire waits in a worker thread, so a contended lock cannot block the
      event loop that the holder needs to finish.

    Example:
        ```python
        from pathlib import Path
        from prefect_videogen.caching import SubmitCachePolicy, SubmitLockManager

        policy = SubmitCachePolicy().configure(
            isolation_level="SERIALIZABLE", lock_manager=SubmitLockManager(Path("/tmp/locks"))
        )
        ```
    """

    def __init__(self, lock_files_directory: Path, hold_seconds: float = 600.0) -> None:
        super().__init__(lock_files_directory)
        self.hold_seconds = hold_seconds

    def acquire_lock(
        self,
        key: str,
        holder: str,
        acquire_timeout: float | None = None,
        hold_timeout: float | None = None,
    ) -> bool:
        """Acquire the lock for `key`, waiting for another holder; it expires by itself."""
        return super().acquire_lock(
            key,
            holder,
            acquire_timeout,
            hold_timeout if hold_timeout is not None else self.hold_seconds,
        )

    async def aacquire_lock(
        self,
        key: str,
        holder: str,
        acquire_timeout: float | None = None,
        hold_timeout: float | None = None,
    ) -> bool:
        """Async twin of `acquire_lock` (waits in a worker thread)."""
        import anyio

        return await anyio.to_thread.run_sync(
            partial(self.acquire_lock, key, holder, acquire_timeout, hold_timeout)
        )

    def _get_lock_info(self, key: str, use_cache: bool = True) -> Any:
        try:
            return super()._get_lock_info(key, use_cache=use_cache)
        except ValueError:  # created but not yet written by its holder
            path = self._lock_path_for_key(key)
            try:
                created = datetime.fromtimestamp(path.stat().st_mtime, UTC)
            except FileNotFoundError:
                return None
            return {
                "holder": "",
                "expiration": created + timedelta(seconds=self.hold_seconds),
                "path": path,
            }


def _lock_dir() -> Path:
    settings = current_settings()
    if settings.lock_dir is not None:
        return settings.lock_dir
    from prefect.settings import get_current_settings

    return Path(get_current_settings().home) / "videogen-locks"


def _default_policy() -> SubmitCachePolicy:
    settings = current_settings()
    return SubmitCachePolicy().configure(
        isolation_level="SERIALIZABLE",
        lock_manager=SubmitLockManager(_lock_dir(), hold_seconds=settings.lock_hold_seconds),
    )


#: The policy `submit_video` / `asubmit_video` use.
SUBMIT_CACHE_POLICY: SubmitCachePolicy = _default_policy()
