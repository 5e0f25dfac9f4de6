"""The report of a batch in the UI: a short table artifact, the full table as a CSV.

A batch of 10,000 videos cannot be read as a 10,000-row table artifact. `areport_batch`
writes every row (see `prefect_videogen.reporting.batch_table`) as a CSV into the batch's
video storage, under `batches/<run name>-<run id>.csv`, and creates one table artifact
(key `batch-<run name>`) with a summary row (counts and the CSV's URI) followed by the
failed entries, at most `MAX_FAILURE_ROWS` of them.

Example:
    ```python
    from prefect_videogen.batch_report import areport_batch

    await areport_batch(rows, storage_block)  # inside a flow run
    ```
"""

from __future__ import annotations

import csv
import io
from typing import Any

from prefect_videogen.reporting import artifact_key, get_logger

__all__ = [
    "MAX_FAILURE_ROWS",
    "areport_batch",
    "batch_progress_key",
    "batch_run_label",
    "rows_to_csv",
]

#: Failed entries listed in the table artifact (all of them are in the CSV).
MAX_FAILURE_ROWS = 50


def rows_to_csv(rows: list[dict[str, Any]]) -> bytes:
    """The rows as UTF-8 CSV with a header line."""
    buffer = io.StringIO()
    if rows:
        writer = csv.DictWriter(buffer, fieldnames=list(rows[0]), extrasaction="ignore")
        writer.writeheader()
        writer.writerows(rows)
    return buffer.getvalue().encode()


def batch_run_label() -> tuple[str, str]:
    """(run name, short run id) of the current flow run ("batch", "local" outside one)."""
    from prefect.runtime import flow_run

    run_id = str(flow_run.id or "")[:8] or "local"
    return str(flow_run.name or "batch"), run_id


def batch_progress_key() -> str:
    """Key of the batch's progress artifact: `batch-<run name>-progress`."""
    return artifact_key("batch", batch_run_label()[0], "progress")


async def areport_batch(rows: list[dict[str, Any]], storage: Any) -> str | None:
    """Write the CSV of `rows` to `storage`, create the short table artifact; the CSV's URI.

    Never raises: a report that cannot be written is logged as a warning (the videos are
    stored either way); the table then lists the failures without the link.
    """
    from prefect.artifacts import acreate_table_artifact

    from prefect_videogen._prefect import acall_block
    from prefect_videogen.storage import storage_uri

    name, run_id = batch_run_label()
    logger = get_logger()
    uri = None
    path = f"batches/{artifact_key(name, run_id)}.csv"
    try:
        written = await acall_block(storage, "write_path", path, rows_to_csv(rows))
        uri = storage_uri(storage, written if isinstance(written, str) else path)
    except Exception:
        logger.warning("Could not write the batch table CSV %s", path, exc_info=True)

    failures = [row for row in rows if row.get("status") != "stored"]
    stored = len(rows) - len(failures)
    summary = {key: None for key in (rows[0] if rows else {"#": None})}
    summary.update(
        {
            "#": "all",
            "status": f"{stored} stored, {len(failures)} failed, of {len(rows)}",
            "uri": uri,
        }
    )
    shown = failures[:MAX_FAILURE_ROWS]
    more = len(failures) - len(shown)
    link = f"[full table, {len(rows)} rows (CSV)]({uri})" if uri else "full table: not written"
    description = f"Batch `{name}`: {stored} stored, {len(failures)} failed. {link}" + (
        f"; {more} more failures in the CSV" if more > 0 else ""
    )
    try:
        await acreate_table_artifact(
            table=[summary, *shown], key=artifact_key("batch", name), description=description
        )
    except Exception:
        logger.warning("Could not create the batch table artifact", exc_info=True)
    return uri
