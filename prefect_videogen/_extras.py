"""Optional dependencies: which extra installs what, and the error that says so.

`import prefect_videogen`, the tasks and the flows need none of the extras. The emulator
(`prefect-videogen emulator`, `prefect-videogen demo`) needs `prefect-videogen[emulator]`,
storing to a saved `S3Bucket` block needs `prefect-videogen[aws]`, and submission locks in
Redis (the `lock_manager` setting, for several machines) need `prefect-videogen[redis]`.
"""

from __future__ import annotations

import importlib

__all__ = ["EXTRAS", "MissingExtraError", "require_extra"]

#: The modules each extra provides (import names).
EXTRAS: dict[str, tuple[str, ...]] = {
    "emulator": ("numpy", "uvicorn", "starlette", "python_multipart"),
    "aws": ("prefect_aws",),
    "redis": ("prefect_redis",),
}

#: Block type slugs whose classes come with an extra.
EXTRA_BLOCK_TYPES: dict[str, str] = {
    "s3-bucket": "aws",
    "aws-credentials": "aws",
    "minio-credentials": "aws",
}


class MissingExtraError(ImportError):
    """A feature needs an optional extra that is not installed.

    Example:
        ```python
        from prefect_videogen._extras import MissingExtraError, require_extra

        try:
            require_extra("emulator", "the local emulator")
        except MissingExtraError as exc:
            print(exc)  # ... pip install 'prefect-videogen[emulator]'
        ```
    """

    def __init__(self, extra: str, feature: str, missing: list[str]) -> None:
        self.extra = extra
        self.feature = feature
        self.missing = missing
        super().__init__(
            f"{feature} needs the optional dependencies of prefect-videogen[{extra}] "
            f"({', '.join(missing)} not installed). Install them with "
            f"`pip install 'prefect-videogen[{extra}]'` "
            f"(or `uv add 'prefect-videogen[{extra}]'`).",
            name=missing[0],
        )


def require_extra(extra: str, feature: str) -> None:
    """Raise `MissingExtraError` naming `extra` unless all its modules import."""
    missing = []
    for module in EXTRAS[extra]:
        try:
            importlib.import_module(module)
        except ImportError:
            missing.append(module.replace("_", "-"))
    if missing:
        raise MissingExtraError(extra, feature, missing)
