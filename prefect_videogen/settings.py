"""Defaults for prefect-videogen tasks and flows, read from `PREFECT_INTEGRATIONS_VIDEOGEN_*`.

Like `prefect_aws.settings`, these are not part of Prefect's root `Settings`: build a
`VideoGenSettings()` to read them (environment, `.env`, `prefect.toml` table
`[integrations.videogen]`, or `pyproject.toml` table `[tool.prefect.integrations.videogen]`).

Example:
    ```python
    import os

    from prefect_videogen.settings import VideoGenSettings

    os.environ["PREFECT_INTEGRATIONS_VIDEOGEN_OUTPUT_DIR"] = "/data/videos"
    print(VideoGenSettings().output_dir)  # /data/videos
    ```
"""

from __future__ import annotations

import os
from pathlib import Path

from prefect.settings.base import PrefectBaseSettings, build_settings_config
from pydantic import Field, field_validator

__all__ = ["VideoGenSettings", "current_settings"]

_REDIS_SCHEMES = ("redis://", "rediss://", "redis+sentinel://", "unix://")


class VideoGenSettings(PrefectBaseSettings):
    """Defaults used when a flow or task is not told otherwise."""

    model_config = build_settings_config(("integrations", "videogen"))

    credentials_block: str = Field(
        default="default",
        description=(
            "Name of the saved VideoGenCredentials block that flows load when no credentials "
            "are passed."
        ),
    )
    output_dir: Path = Field(
        default=Path("videos"),
        description="Local directory videos are written to when no storage block is given.",
    )
    path_template: str = Field(
        default="{model}/{date}/{job_id}.mp4",
        description=(
            "Where a video goes inside the storage block; fields: model, family, mode, date, "
            "job_id, fingerprint, prompt_slug."
        ),
    )
    poll_interval: float = Field(
        default=1.0, description="Shortest wait between two status polls, in seconds."
    )
    max_poll_interval: float = Field(
        default=15.0, description="Longest wait between two status polls, in seconds."
    )
    max_wait_seconds: float = Field(
        default=1800.0,
        description="How long wait_for_video waits for a job to finish before giving up.",
    )
    lock_dir: Path | None = Field(
        default=None,
        description=(
            "Directory of the lock files that keep two runs of the same request from both "
            "submitting; defaults to `$PREFECT_HOME/videogen-locks`."
        ),
    )
    lock_manager: str = Field(
        default="file",
        description=(
            "Which lock keeps two runs of the same request from both submitting: `file` (lock "
            "files under `lock_dir`, one host) or a Redis URL `redis://[:password@]host:port/db` "
            "(RedisLockManager from prefect-redis, shared by every machine given the same URL; "
            "install `prefect-videogen[redis]`)."
        ),
    )
    lock_hold_seconds: float = Field(
        default=60.0,
        description=(
            "How long a submit lock lasts without renewal: a live holder renews it every "
            "third of this, so it expires this long after its holder's machine crashed. A "
            "lock whose holder process on this host is gone is taken over at once."
        ),
    )
    price_table: str | None = Field(
        default=None,
        description=(
            "Your prices, matched before the package's: a .toml/.json price table file or a "
            'saved VideoGenPriceTable block ("videogen-price-table/<name>"); see '
            "prefect_videogen.costs."
        ),
    )
    allowed_image_hosts: list[str] = Field(
        default_factory=list,
        description=(
            "Hosts that image URLs may be fetched from although they are not public "
            "addresses (loopback, private, link-local): host names, `*.example.com`, IP "
            "addresses or networks such as `10.0.0.0/8`; `*` allows every host. Set as JSON, "
            "e.g. PREFECT_INTEGRATIONS_VIDEOGEN_ALLOWED_IMAGE_HOSTS='[\"127.0.0.1\"]'."
        ),
    )

    @field_validator("lock_manager")
    @classmethod
    def _known_lock_manager(cls, value: str) -> str:
        value = value.strip()
        if value.lower() == "file" or value.startswith(_REDIS_SCHEMES):
            return value
        raise ValueError(
            "lock_manager must be `file` or a Redis URL such as redis://host:6379/0 "
            f"(schemes: {', '.join(_REDIS_SCHEMES)})"
        )

    thumbnail_max_px: int = Field(
        default=320,
        description="Longest side of the thumbnail embedded in the video's markdown artifact.",
    )


_ENV_PREFIX = "PREFECT_INTEGRATIONS_VIDEOGEN_"
_cached: tuple[tuple[object, ...], VideoGenSettings] | None = None


def current_settings() -> VideoGenSettings:
    """`VideoGenSettings()`, built again only when its environment variables or the working
    directory changed (building one reads the environment and up to three files, about
    5 ms; a batch of hundreds of videos asks many times). A change to `.env`,
    `prefect.toml` or `pyproject.toml` made while the process runs is not seen; build
    `VideoGenSettings()` yourself for that.

    Example:
        ```python
        from prefect_videogen.settings import current_settings

        print(current_settings().path_template)
        ```
    """
    global _cached
    key = (os.getcwd(), *sorted(i for i in os.environ.items() if i[0].startswith(_ENV_PREFIX)))
    if _cached is None or _cached[0] != key:
        _cached = (key, VideoGenSettings())
    return _cached[1]
