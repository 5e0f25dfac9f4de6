"""Secrets: run the flows with a recognizable API key, then look for it everywhere.

A canary key `sk-SECRET-canary-<random>` is the emulator's key. With it the test runs a
successful `text_to_video`, a job that fails on the server with a message that quotes the
key (the emulator's `echo_key_in_failures` fault), a batch, and (with a second
canary the server refuses) a bad-key run. Then it searches, for both canaries and for their
base64 forms (at every byte alignment, standard and URL-safe alphabets):

- every log record of every logger at DEBUG, with exception texts (captured in-process);
- the Prefect server: logs, artifacts, events, flow runs (parameters, states), task runs;
- the Prefect server's database file itself (whatever the API does not show);
- persisted task results, the storage directory (videos, sidecar JSON files);
- the exceptions raised: `str`, `repr`, formatted tracebacks with their causes, attributes.
"""

from __future__ import annotations

import asyncio
import base64
import logging
import secrets
import time
import traceback
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from prefect.client.orchestration import get_client

from prefect_videogen.credentials import VideoGenCredentials
from prefect_videogen.exceptions import AuthenticationError, VideoGenerationFailed
from prefect_videogen.flows import generate_batch, text_to_video

pytestmark = [pytest.mark.usefixtures("prefect_server"), pytest.mark.timeout(240)]

MODEL = "emu-video"


def needles(secret: str) -> dict[str, str]:
    """The secret and its base64 forms: the characters that depend only on its bytes."""
    found = {"plain": secret}
    raw = secret.encode()
    for offset in range(3):
        for name, encode in (("b64", base64.b64encode), ("b64url", base64.urlsafe_b64encode)):
            encoded = encode(b"\0" * offset + raw).decode()
            first = -(-8 * offset // 6)  # the first character made only of secret bits
            last = 8 * (offset + len(raw)) // 6
            found[f"{name}@{offset}"] = encoded[first:last]
    found["bearer-b64"] = base64.b64encode(f"Bearer {secret}".encode()).decode()
    return found


class _Everything(logging.Handler):
    """Keeps the formatted text (with tracebacks) of every record it sees."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.setFormatter(logging.Formatter("%(name)s %(levelname)s %(message)s"))
        self.texts: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        try:
            text = self.format(record)
        except Exception as exc:  # a record that cannot even be formatted
            text = f"{record.msg!r} {record.args!r} ({exc})"
        self.texts.append(f"{text} {record.__dict__!r}")


@pytest.fixture
def every_log_record() -> Iterator[_Everything]:
    """Every record of every logger, at DEBUG, while the test runs."""
    handler = _Everything()
    manager = logging.Logger.manager
    loggers = [logging.getLogger()] + [
        logging.getLogger(name)
        for name in list(manager.loggerDict)
        if isinstance(manager.loggerDict[name], logging.Logger)
    ]
    names = ("prefect_videogen", "httpx", "httpcore", "prefect", "uvicorn", "starlette")
    loggers += [logging.getLogger(name) for name in names]
    levels = {logger: logger.level for logger in loggers}
    for logger in loggers:
        logger.addHandler(handler)
    for name in names:
        logging.getLogger(name).setLevel(logging.DEBUG)
    logging.getLogger().setLevel(logging.DEBUG)
    try:
        yield handler
    finally:
        for logger, level in levels.items():
            logger.removeHandler(handler)
            logger.setLevel(level)


def _exception_texts(error: BaseException) -> str:
    parts = [str(error), repr(error), "".join(traceback.format_exception(error))]
    seen: set[int] = set()
    current: BaseException | None = error
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        parts += [str(current), repr(current), repr(vars(current))]
        current = current.__cause__ or current.__context__
    return "\n".join(parts)


def _all_pages(read: Any) -> list[Any]:
    items: list[Any] = []
    while True:
        page = read(offset=len(items))
        if not page:
            return items
        items += page


def _server_side(wait_for: tuple[str, ...]) -> dict[str, str]:
    """Logs, artifacts, events, flow runs and task runs as the Prefect API returns them."""
    from prefect.events.worker import EventsWorker
    from prefect.logging.handlers import APILogHandler

    APILogHandler().flush()  # drains the log worker (blocks up to 5 s)
    EventsWorker.instance().wait_until_empty()
    places: dict[str, str] = {}
    with get_client(sync_client=True) as client:
        logs = _all_pages(lambda offset: client.read_logs(limit=200, offset=offset))
        places["server logs"] = "\n".join(log.model_dump_json() for log in logs)
        artifacts = _all_pages(lambda offset: client.read_artifacts(limit=200, offset=offset))
        places["artifacts"] = "\n".join(a.model_dump_json() for a in artifacts)
        flow_runs = _all_pages(lambda offset: client.read_flow_runs(limit=200, offset=offset))
        places["flow runs"] = "\n".join(run.model_dump_json() for run in flow_runs)
        places["flow run states"] = "\n".join(
            state.model_dump_json()
            for run in flow_runs
            for state in client.read_flow_run_states(run.id)
        )
        task_runs = _all_pages(lambda offset: client.read_task_runs(limit=200, offset=offset))
        places["task runs"] = "\n".join(run.model_dump_json() for run in task_runs)
        # Events are stored asynchronously: wait until the last run's events are in.
        for _ in range(100):
            page = client.read_events(limit=50)
            events = list(page.events)
            while page.next_page:
                page = client.read_events_page(page.next_page)
                events += page.events
            places["events"] = "\n".join(event.model_dump_json() for event in events)
            if all(word in places["events"] for word in wait_for):
                break
            time.sleep(0.2)
    assert events and logs and artifacts and flow_runs and task_runs
    return places


def _database_bytes() -> bytes:
    """The Prefect test server's SQLite database, with its WAL (what the API may not show)."""
    from prefect.settings import PREFECT_SERVER_DATABASE_CONNECTION_URL

    url = PREFECT_SERVER_DATABASE_CONNECTION_URL.value()
    path = Path(url.split("///", 1)[1])
    blobs = [p.read_bytes() for p in (path, Path(f"{path}-wal")) if p.exists()]
    assert blobs, f"no database at {path}"
    return b"".join(blobs)


def test_the_api_key_appears_nowhere(
    make_emulator, every_log_record, results_dir, tmp_path, run_nonce
):
    canary = f"sk-SECRET-canary-{secrets.token_hex(12)}"
    refused = f"sk-SECRET-canary-refused-{secrets.token_hex(12)}"
    # The failed job's message quotes the key, as gateways relaying upstream errors do.
    faults = {"fail_prompts": {"doomed": "render_failed"}, "echo_key_in_failures": True}
    base_url = make_emulator(api_key=canary, faults=faults)
    credentials = VideoGenCredentials(base_url=base_url, api_key=canary)
    storage = tmp_path / "videos"
    common = {"model": MODEL, "seconds": 2, "size": "64x64", "storage": str(storage)}
    places: dict[str, str] = {}

    stored = text_to_video(f"secret {run_nonce}: a quiet harbor", credentials=credentials, **common)
    places["returned record"] = stored.model_dump_json() + repr(stored)
    places["credentials repr"] = repr(credentials) + str(credentials)
    with credentials.get_client() as client:
        places["client repr"] = repr(client) + str(client)

    with pytest.raises(VideoGenerationFailed) as failed:
        text_to_video(f"secret {run_nonce}: a doomed voyage", credentials=credentials, **common)
    places["failed job error"] = _exception_texts(failed.value)

    with pytest.raises(AuthenticationError) as denied:
        text_to_video(
            f"secret {run_nonce}: a locked door",
            credentials=VideoGenCredentials(base_url=base_url, api_key=refused),
            **common,
        )
    places["bad key error"] = _exception_texts(denied.value)

    batch = asyncio.run(
        generate_batch(
            requests=[
                {"prompt": f"secret {run_nonce}: batch {n}", "seconds": 2, "size": "64x64"}
                for n in range(2)
            ],
            model=MODEL,
            credentials=credentials,
            storage=str(storage),
        )
    )
    assert all(batch)

    places["storage"] = "\n".join(
        p.read_text(errors="replace") for p in storage.rglob("*") if p.suffix == ".json"
    )
    places["storage bytes"] = b"".join(
        p.read_bytes() for p in storage.rglob("*") if p.is_file()
    ).decode("latin-1")
    places["persisted results"] = "\n".join(
        p.read_bytes().decode("latin-1") for p in results_dir.rglob("*") if p.is_file()
    )
    places.update(_server_side(wait_for=(stored.job_id, *(v.job_id for v in batch))))
    places["database"] = _database_bytes().decode("latin-1")
    places["log records"] = "\n".join(every_log_record.texts)

    # The search can find things: the runs left their traces where we look.
    assert stored.job_id in places["server logs"] and stored.job_id in places["events"]
    assert stored.job_id in places["artifacts"] and stored.job_id in places["database"]
    assert "render_failed" in places["failed job error"]
    assert "Authorization: Bearer ***" in places["failed job error"]  # echoed, then redacted
    assert "api_key" in places["bad key error"]
    assert any("prefect_videogen" in text for text in every_log_record.texts)

    leaks = [
        f"{secret_name} ({form}) in {where}"
        for secret_name, secret in (("canary", canary), ("refused canary", refused))
        for form, needle in needles(secret).items()
        for where, text in places.items()
        if needle in text
    ]
    assert not leaks, leaks
