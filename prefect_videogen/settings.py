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

from pathlib import Path

from prefect.settings.base import PrefectBaseSettings, build_settings_config
from pydantic import Field

__all__ = ["VideoGenSettings"]


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
    lock_hold_seconds: float = Field(
        default=600.0,
        description=(
            "How long a submit lock left by a crashed process blocks others before it expires."
        ),
    )
    thumbnail_max_px: int = Field(
        default=320,
        description="Longest side of the thumbnail embedded in the video's markdown artifact.",
    )
