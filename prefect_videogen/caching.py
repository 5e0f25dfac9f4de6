"""Request normalization and submission keys; the submission ledger builds on them.

Since the submission ledger (`prefect_videogen.ledger`) decides alone whether to POST, the
tasks use no Prefect cache policy any more. What stays here:

- `normalize_request`: validate a request with its model family (typed errors naming the
  field, before any network call) and return it normalized;
- `submit_cache_key` / `normalized_cache_key`: the ledger key of a submission: the
  normalized request's fingerprint + `attempt` + `base_url` + the account scope (the
  credentials' `account` label, else a non-reversible fingerprint of the key);
- `SubmitCachePolicy`: the same key as a Prefect cache policy, for your own tasks;
- `SubmitLockManager`: the file lock manager of `prefect_videogen.locks` (dead-holder
  takeover, wait logs), under its former name.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from prefect.cache_policies import CachePolicy

from prefect_videogen.exceptions import InvalidRequestError
from prefect_videogen.ledger import submission_key
from prefect_videogen.locks import FileLockManager

__all__ = [
    "SUBMIT_CACHE_POLICY",
    "SubmitCachePolicy",
    "SubmitLockManager",
    "normalize_request",
    "normalized_cache_key",
    "submit_cache_key",
]


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


def submit_cache_key(
    request: Any, *, attempt: int = 0, base_url: str = "", account: str = "anonymous"
) -> str:
    """The ledger key of a submission: fingerprint + attempt + base URL + account scope.

    Example:
        ```python
        from prefect_videogen.caching import submit_cache_key
        from prefect_videogen.families import VideoRequest

        request = VideoRequest(model="kling-v1", prompt="a fox", seconds=5)
        print(submit_cache_key(request, base_url="https://gateway.example.com/v1"))
        ```
    """
    normalized, _ = normalize_request(request)
    return submission_key(normalized.fingerprint(), attempt, base_url, account)


def normalized_cache_key(normalized: Any, credentials: Any, attempt: int = 0) -> str:
    """`submit_cache_key` of a request `normalize_request` already returned, for a call with
    these credentials (their `base_url` and account scope; never the key itself)."""
    base_url = getattr(credentials, "base_url", None)
    scope = getattr(credentials, "account_scope", None)
    account = scope() if callable(scope) else "anonymous"
    return submission_key(
        normalized.fingerprint(), attempt, str(base_url) if base_url else "", account
    )


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


class SubmitLockManager(FileLockManager):
    """The submission lock manager under its former name: see `prefect_videogen.locks`.

    Example:
        ```python
        from pathlib import Path
        from prefect_videogen.caching import SubmitCachePolicy, SubmitLockManager

        policy = SubmitCachePolicy().configure(
            isolation_level="SERIALIZABLE", lock_manager=SubmitLockManager(Path("/tmp/locks"))
        )
        ```
    """


def _default_policy() -> SubmitCachePolicy:
    from prefect_videogen._prefect import submission_lock_manager

    return SubmitCachePolicy().configure(
        isolation_level="SERIALIZABLE", lock_manager=submission_lock_manager()
    )


#: A `SubmitCachePolicy` with the submission lock manager, for your own submit tasks.
SUBMIT_CACHE_POLICY: SubmitCachePolicy = _default_policy()
