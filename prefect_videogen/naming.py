"""Names that make a batch of thousands readable in the Prefect UI.

- `batch_run_name`: a batch flow run is named after its manifest (`batch-nightly`), or its
  size (`batch-of-500`), not a random pair of words; a shard keeps the name its parent gave
  it (`batch-nightly-shard-2-of-4`).
- `video_task_run_name`: a per-video task run is named by model and prompt slug
  (`sora-2-a-red-fox-runs-through-snow`).
- `slug`: the lowercase, dash-separated form both use.

Example:
    ```python
    from prefect_videogen.naming import slug

    print(slug("A red fox, running!"))  # a-red-fox-running
    ```
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

__all__ = [
    "batch_run_name",
    "batch_stem",
    "slug",
    "video_group_task_run_name",
    "video_task_run_name",
]

SHARD_MARK = "-shard-"


def slug(text: Any, max_length: int = 40) -> str:
    """Lowercase letters, digits and single dashes, cut at a word boundary if possible."""
    value = re.sub(r"[^a-z0-9]+", "-", str(text or "").lower()).strip("-")
    if len(value) > max_length:
        cut = value[:max_length]
        value = cut.rsplit("-", 1)[0] if "-" in cut[max_length // 2 :] else cut
    return value.strip("-")


def batch_stem(manifest: Any = None, requests: Any = None) -> str:
    """`batch-<manifest stem>` or `batch-of-<N>` (both when both are given)."""
    parts = ["batch"]
    if manifest:
        parts.append(slug(Path(str(manifest)).stem, 40) or "manifest")
    if requests:
        parts.append(f"{'plus' if manifest else 'of'}-{len(requests)}")
    return "-".join(parts)


def batch_run_name() -> str:
    """Flow run name of `generate_batch` (a `flow_run_name` callable).

    A run created with a shard name (by `generate_batch_sharded`) keeps it.
    """
    from prefect.runtime import flow_run

    current = flow_run.name or ""
    if SHARD_MARK in current:
        return current
    parameters = flow_run.parameters or {}
    return batch_stem(parameters.get("manifest"), parameters.get("requests"))


def sharded_run_name() -> str:
    """Flow run name of `generate_batch_sharded`: `batch-<stem>-x<shards>`."""
    from prefect.runtime import flow_run

    parameters = flow_run.parameters or {}
    stem = batch_stem(parameters.get("manifest"), parameters.get("requests"))
    return f"{stem}-x{parameters.get('shards', 2)}"


def video_task_run_name() -> str:
    """Task run name of a per-video task: `<model>-<prompt slug>` (a `task_run_name` callable)."""
    from prefect.runtime import task_run

    request = (task_run.parameters or {}).get("request")
    get = request.get if isinstance(request, dict) else lambda k: getattr(request, k, None)
    model = slug(get("model"), 30) or "video"
    prompt = slug(get("prompt"), 40)
    return f"{model}-{prompt}" if prompt else model


def video_group_task_run_name() -> str:
    """Task run name of `agenerate_videos`: `<model>-<first prompt slug>-and-<N-1>-more`."""
    from prefect.runtime import task_run

    requests = (task_run.parameters or {}).get("requests") or []
    if not requests:
        return "videos"
    first = requests[0]
    get = first.get if isinstance(first, dict) else lambda k: getattr(first, k, None)
    model = slug(get("model"), 30) or "video"
    prompt = slug(get("prompt"), 30)
    name = f"{model}-{prompt}" if prompt else model
    return f"{name}-and-{len(requests) - 1}-more" if len(requests) > 1 else name
