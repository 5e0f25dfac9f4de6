"""Create what deployments/prefect.yaml needs on a Prefect server; safe to run again.

- a `VideoGenCredentials` block (the API key is read from the `VIDEOGEN_API_KEY` environment
  variable, never from the command line, where `ps` and shell history would show it);
- a `LocalFileSystem` storage block for the videos (optional: skip it to keep your own,
  e.g. an `S3Bucket` saved under the name prefect.yaml uses);
- global concurrency limits, one or more per provider (`NAME=LIMIT` for a concurrency limit,
  `NAME=LIMIT:DECAY` for a rate limit whose slots drain at DECAY per second);
- the process work pool.

Every step creates what is missing and updates what differs, so running it twice changes
nothing the second time. Run it against the server `PREFECT_API_URL` points at:

    VIDEOGEN_API_KEY=sk-... uv run python deployments/setup.py \\
        --base-url https://gateway.example.com/v1 --storage-dir ./videos \\
        --limit videogen-gateway=4
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path
from typing import Any

from prefect.client.orchestration import get_client
from prefect.exceptions import ObjectNotFound
from prefect.filesystems import LocalFileSystem
from pydantic import SecretStr

from prefect_videogen.credentials import VideoGenCredentials

API_KEY_ENV = "VIDEOGEN_API_KEY"

#: Created when no --limit is given: the limit the nightly batch in prefect.yaml occupies.
DEFAULT_LIMITS = ("videogen-gateway=4",)


def parse_limit(text: str) -> tuple[str, int, float | None]:
    """`NAME=LIMIT` or `NAME=LIMIT:DECAY` as (name, limit, slot decay per second or None)."""
    name, sep, rest = text.partition("=")
    limit_text, _, decay_text = rest.partition(":")
    try:
        if not name or not sep:
            raise ValueError
        limit = int(limit_text)
        decay = float(decay_text) if decay_text else None
        if limit < 1 or (decay is not None and decay <= 0):
            raise ValueError
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"{text!r}: expected NAME=LIMIT or NAME=LIMIT:DECAY, e.g. videogen-gateway=4 or "
            "videogen-gateway-rpm=20:0.33 (LIMIT a whole number >= 1, DECAY > 0)"
        ) from None
    return name, limit, decay


def save_credentials(name: str, base_url: str | None, api_key: str | None) -> str:
    """Save or update the credentials block; without a new key an existing key is kept."""
    try:
        block = VideoGenCredentials.load(name, _sync=True)
        existed = True
    except ValueError:
        if api_key is None:
            raise SystemExit(
                f"No VideoGenCredentials block named {name!r} yet: set {API_KEY_ENV} to its API "
                "key (or to an empty string for a server without authentication)."
            ) from None
        if base_url is None:
            raise SystemExit(
                f"No VideoGenCredentials block named {name!r} yet: pass --base-url with your "
                "gateway's API root (e.g. https://gateway.example.com/v1) or the emulator's."
            ) from None
        block, existed = VideoGenCredentials(base_url=base_url), False
    changed = not existed
    if base_url is not None and block.base_url != base_url:
        block.base_url, changed = base_url, True
    if api_key is not None:
        current = block.api_key.get_secret_value() if block.api_key else ""
        if current != api_key:
            block.api_key, changed = (SecretStr(api_key) if api_key else None), True
    if changed:
        block.save(name, overwrite=True, _sync=True)
        return f"credentials block {name!r}: {'updated' if existed else 'created'}"
    return f"credentials block {name!r}: unchanged"


def save_storage(name: str, directory: str) -> str:
    """Save or update a LocalFileSystem block for `directory` (made absolute)."""
    basepath = str(Path(directory).expanduser().resolve())
    Path(basepath).mkdir(parents=True, exist_ok=True)
    try:
        existing = LocalFileSystem.load(name, _sync=True)
    except ValueError:
        existing = None
    if existing is not None and existing.basepath == basepath:
        return f"storage block local-file-system/{name}: unchanged ({basepath})"
    LocalFileSystem(basepath=basepath).save(name, overwrite=True, _sync=True)
    action = "updated" if existing is not None else "created"
    return f"storage block local-file-system/{name}: {action} ({basepath})"


def ensure_limits(client: Any, limits: list[tuple[str, int, float | None]]) -> list[str]:
    """Create or update global concurrency limits."""
    messages = []
    for name, limit, decay in limits:
        try:
            before = client.read_global_concurrency_limit_by_name(name)
        except ObjectNotFound:
            before = None
        client.upsert_global_concurrency_limit_by_name(name, limit, slot_decay_per_second=decay)
        kind = f"rate limit, {decay:g} slot(s)/s decay" if decay else "concurrency limit"
        if before is None:
            state = "created"
        elif before.limit == limit and (decay is None or before.slot_decay_per_second == decay):
            state = "unchanged"
        else:
            state = "updated"
        messages.append(f"global limit {name!r} ({limit}, {kind}): {state}")
    return messages


def ensure_process_pool(client: Any, name: str) -> str:
    """Create the process work pool with Prefect's default job template if it is missing."""
    from prefect.client.schemas.actions import WorkPoolCreate
    from prefect.workers.process import ProcessWorker

    try:
        pool = client.read_work_pool(name)
    except ObjectNotFound:
        client.create_work_pool(
            WorkPoolCreate(
                name=name,
                type="process",
                base_job_template=ProcessWorker.get_default_base_job_template(),
            )
        )
        return f"work pool {name!r} (process): created"
    if pool.type != "process":
        return f"work pool {name!r}: exists with type {pool.type!r}, left alone"
    return f"work pool {name!r} (process): unchanged"


def main(argv: list[str] | None = None) -> int:
    """Run the setup; returns the exit code."""
    parser = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0],
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog=f"The API key is read from ${API_KEY_ENV}.",
    )
    parser.add_argument("--credentials-block", default="videogen", help="credentials block name")
    parser.add_argument("--base-url", help="API base URL incl. /v1 (kept if omitted)")
    parser.add_argument(
        "--storage-block", default="videogen-videos", help="LocalFileSystem block name"
    )
    parser.add_argument(
        "--storage-dir", help="directory for the LocalFileSystem block (omit to skip the block)"
    )
    parser.add_argument(
        "--limit",
        action="append",
        type=parse_limit,
        metavar="NAME=LIMIT[:DECAY]",
        help=f"global concurrency/rate limit (repeatable; default {' '.join(DEFAULT_LIMITS)})",
    )
    parser.add_argument("--work-pool", default="videogen-process", help="process work pool name")
    parser.add_argument("--no-work-pool", action="store_true", help="do not create the pool")
    args = parser.parse_args(argv)

    limits = args.limit or [parse_limit(text) for text in DEFAULT_LIMITS]
    messages = [save_credentials(args.credentials_block, args.base_url, os.getenv(API_KEY_ENV))]
    if args.storage_dir:
        messages.append(save_storage(args.storage_block, args.storage_dir))
    with get_client(sync_client=True) as client:
        messages += ensure_limits(client, limits)
        if not args.no_work_pool:
            messages.append(ensure_process_pool(client, args.work_pool))
    for message in messages:
        print(message)
    return 0


if __name__ == "__main__":
    sys.exit(main())
