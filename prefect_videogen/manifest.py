"""Batch manifests: one `BatchEntry` per video, read from a list, a `.jsonl` or a `.csv` file.

Entry keys: `prompt` (required), `model`, `seconds`, `size`, `image` (or `first_frame`),
`last_frame`, `params`, `metadata`, `attempt`. In CSV, `params` and `metadata` cells hold
JSON and empty cells mean "not given". Relative image paths are read from the manifest's
directory. Every error names the entry and the key (`requests[3].size`).

Example:
    ```python
    from prefect_videogen.manifest import BatchEntry, load_manifest

    rows = load_manifest("videos.csv")
    entries = [BatchEntry.parse(row, index) for index, row in enumerate(rows)]
    print(entries[0].prompt)
    ```
"""

# No `from __future__ import annotations`: pydantic reads these annotations.

import csv
import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, ValidationError

from prefect_videogen.caching import normalize_request
from prefect_videogen.credentials import VideoGenCredentials
from prefect_videogen.exceptions import InvalidRequestError
from prefect_videogen.families import VideoRequest
from prefect_videogen.inputs import build_request, resolve_image

__all__ = ["BATCH_KEYS", "BatchEntry", "load_manifest"]

#: Keys a batch entry may have.
BATCH_KEYS = (
    "model",
    "prompt",
    "seconds",
    "size",
    "image",
    "first_frame",
    "last_frame",
    "params",
    "metadata",
    "attempt",
)


class BatchEntry(BaseModel):
    """One video of a batch, as written in a manifest or in `generate_batch(requests=...)`.

    Images stay in their notation (path, URL, `"<slug>/<name>:<path>"`, ...) until
    `to_request` reads them. `model` and `attempt` fall back to the batch's own.

    Example:
        ```python
        from prefect_videogen.manifest import BatchEntry

        entry = BatchEntry.parse({"prompt": "a fox in snow", "seconds": "4"}, 0)
        request = entry.to_request(default_model="sora-2")
        ```
    """

    model_config = ConfigDict(extra="forbid", frozen=True, coerce_numbers_to_str=True)

    prompt: str
    model: str | None = None
    seconds: int | None = None
    size: str | None = None
    image: Any = None
    first_frame: Any = None
    last_frame: Any = None
    params: dict[str, Any] | None = None
    metadata: dict[str, Any] | None = None
    attempt: int | None = None

    @classmethod
    def parse(cls, entry: Mapping[str, Any], index: int) -> "BatchEntry":
        """Check one raw entry; errors name `requests[<index>]` and the key."""
        if not isinstance(entry, Mapping):
            raise InvalidRequestError(f"requests[{index}]", "an entry must be an object (a dict)")
        unknown = sorted(str(key) for key in set(entry) - set(BATCH_KEYS))
        if unknown:
            raise InvalidRequestError(
                f"requests[{index}]", f"unknown key(s) {', '.join(unknown)}", allowed=BATCH_KEYS
            )
        if not entry.get("prompt"):
            raise InvalidRequestError(f"requests[{index}].prompt", "a prompt is required")
        # "" means "not given" (an empty CSV cell, a blank JSON value).
        given = {key: value for key, value in entry.items() if value != ""}
        try:
            return cls.model_validate(given)
        except ValidationError as exc:
            error = exc.errors()[0]
            where = ".".join(str(part) for part in error["loc"][:1])
            field = f"requests[{index}].{where}" if where else f"requests[{index}]"
            raise InvalidRequestError(field, error["msg"], value=error.get("input")) from None

    def to_request(
        self,
        *,
        default_model: str,
        base_dir: Path | None = None,
        index: int = 0,
        credentials: VideoGenCredentials | str | None = None,
    ) -> VideoRequest:
        """The entry's `VideoRequest` (images read, URL images fetched for upload models).

        `credentials` gives the timeouts and retries of such a fetch (see `build_request`).

        Raises:
            InvalidRequestError: naming `requests[<index>].<field>`.
        """
        try:
            first = "image" if self.image is not None else "first_frame"
            return build_request(
                model=self.model or default_model,
                prompt=self.prompt,
                seconds=self.seconds,
                size=self.size,
                first_frame=resolve_image(
                    self.image if self.image is not None else self.first_frame,
                    base_dir=base_dir,
                    field=first,
                ),
                last_frame=resolve_image(self.last_frame, base_dir=base_dir, field="last_frame"),
                params=self.params,
                metadata=self.metadata,
                credentials=credentials,
            )
        except InvalidRequestError as exc:
            field = f"requests[{index}].{exc.field}" if exc.field else f"requests[{index}]"
            raise InvalidRequestError(field, str(exc)) from exc
        except (TypeError, ValueError) as exc:
            raise InvalidRequestError(f"requests[{index}]", str(exc)) from exc


def plan_entry(
    entry: Mapping[str, Any],
    index: int,
    *,
    default_model: str,
    default_attempt: int,
    base_dir: Path | None,
    credentials: VideoGenCredentials | str | None = None,
) -> tuple[VideoRequest, int, str]:
    """The entry's request, its attempt, and its normalized fingerprint (for deduplication)."""
    parsed = BatchEntry.parse(entry, index)
    request = parsed.to_request(
        default_model=default_model, base_dir=base_dir, index=index, credentials=credentials
    )
    try:
        fingerprint = normalize_request(request)[0].fingerprint()
    except InvalidRequestError as exc:
        field = f"requests[{index}].{exc.field}" if exc.field else f"requests[{index}]"
        raise InvalidRequestError(field, str(exc)) from exc
    attempt = parsed.attempt if parsed.attempt is not None else default_attempt
    return request, attempt, fingerprint


def _cell(value: str | None) -> Any:
    return None if value is None or value.strip() == "" else value.strip()


def _csv_entry(row: dict[str, str | None], line: int, path: Path) -> dict[str, Any]:
    entry: dict[str, Any] = {}
    for key, raw in row.items():
        if key is None:
            raise InvalidRequestError(
                "manifest", f"{path.name} line {line}: more cells than header columns"
            )
        value = _cell(raw)
        if value is None:
            continue
        if key in ("params", "metadata"):
            try:
                value = json.loads(value)
            except json.JSONDecodeError as exc:
                raise InvalidRequestError(
                    f"manifest.{key}", f"{path.name} line {line}: not JSON ({exc.msg})"
                ) from None
        entry[key.strip()] = value
    return entry


def load_manifest(path: str | Path) -> list[dict[str, Any]]:
    """Read batch entries from a `.jsonl` (one JSON object a line) or `.csv` manifest.

    Entry keys: `prompt` (required), `model`, `seconds`, `size`, `image` (or
    `first_frame`), `last_frame`, `params`, `metadata`, `attempt`. In CSV, `params` and
    `metadata` cells hold JSON and empty cells mean "not given". Relative image paths are
    read from the manifest's directory. `BatchEntry.parse` checks each entry.

    Example:
        ```python
        from prefect_videogen.flows import load_manifest

        # videos.csv:
        # prompt,model,seconds,size,image
        # a fox in snow,sora-2,4,1280x720,
        # the cat turns,sora-2,4,1280x720,cat.png
        print(load_manifest("videos.csv"))
        ```
    """
    path = Path(path).expanduser()
    if not path.is_file():
        raise InvalidRequestError("manifest", f"{str(path)!r} is not a file")
    suffix = path.suffix.lower()
    entries: list[dict[str, Any]] = []
    if suffix in (".jsonl", ".ndjson"):
        with path.open(encoding="utf-8") as handle:
            for line_number, line in enumerate(handle, start=1):
                if not line.strip():
                    continue
                try:
                    entry = json.loads(line)
                except json.JSONDecodeError as exc:
                    raise InvalidRequestError(
                        "manifest", f"{path.name} line {line_number}: not JSON ({exc.msg})"
                    ) from None
                if not isinstance(entry, dict):
                    raise InvalidRequestError(
                        "manifest", f"{path.name} line {line_number}: not a JSON object"
                    )
                entries.append(entry)
    elif suffix == ".csv":
        with path.open(encoding="utf-8", newline="") as handle:
            for line_number, row in enumerate(csv.DictReader(handle), start=2):
                entries.append(_csv_entry(row, line_number, path))
    else:
        raise InvalidRequestError("manifest", value=path.name, allowed=[".jsonl", ".csv"])
    return entries
