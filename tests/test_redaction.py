"""Server text loses the API key before it becomes a job, an error, a log line or a record.

The emulator's `echo_key_in_failures` fault makes a failed job's message quote the key, as
gateways that relay an upstream error verbatim do. The full search (Prefect server, events,
artifacts, result files) is tests/reliability/test_secrets.py; this file is the fast check.
"""

from __future__ import annotations

import asyncio
import base64
import secrets
import traceback

import pytest

from prefect_videogen.client import AsyncVideoGenClient, VideoGenClient
from prefect_videogen.client._errors import redact, redact_payload
from prefect_videogen.exceptions import VideoGenerationFailed
from prefect_videogen.families import VideoRequest


def _texts(error: BaseException) -> str:
    parts = [str(error), repr(error), "".join(traceback.format_exception(error))]
    current: BaseException | None = error
    while current is not None:
        parts += [repr(vars(current))]
        current = current.__cause__ or current.__context__
    return "\n".join(parts)


def test_redact_every_form_a_server_may_echo():
    key = "sk-SECRET-canary-0123456789abcdef"
    text = (
        f"upstream said: Authorization: Bearer {key}; key={key}; "
        f"url=https://x/?key=sk-SECRET-canary-0123456789abcdef%21; "
        f"b64={base64.b64encode(f'Bearer {key}'.encode()).decode()}; "
        "another token Bearer abcdefghijklmnop and sk-proj-ABCDEFGHIJKLMNOPQRST"
    )
    clean = redact(text, (key,))
    assert "canary" not in clean and "abcdefghijklmnop" not in clean
    assert "ABCDEFGHIJKLMNOPQRST" not in clean
    assert "Bearer ***" in clean and clean.startswith("upstream said: ")
    harmless = "a basic building, a bearer of news, a desk-lamp-with-a-long-name, video_123"
    assert redact(harmless, (key,)) == harmless
    nested = redact_payload({"error": {"message": key, "list": [key, 3]}, "id": "v"}, (key,))
    assert nested == {"error": {"message": "***", "list": ["***", 3]}, "id": "v"}


@pytest.mark.parametrize(("dialect", "model"), [("openai", "emu-video"), ("gateway", "kling-v1")])
def test_a_failed_job_that_echoes_the_key_is_redacted(make_emulator, dialect, model):
    canary = f"sk-SECRET-canary-{secrets.token_hex(12)}"
    base_url = make_emulator(
        api_key=canary,
        dialect=dialect,
        faults={"fail_prompts": {"doomed": "render_failed"}, "echo_key_in_failures": True},
    )
    request = VideoRequest(model=model, prompt="a doomed voyage")
    with VideoGenClient(base_url, canary) as client:
        job = client.create(request)
        with pytest.raises(VideoGenerationFailed) as failed:
            client.wait(job.id, model=model, timeout=30, min_interval=0.05)
        listed = client.retrieve(job.id, model=model)

    error = failed.value
    assert error.job.error is not None and "***" in (error.job.error.message or "")
    assert canary not in _texts(error)
    assert canary not in error.job.model_dump_json() + listed.model_dump_json()


def test_the_async_client_redacts_too(make_emulator):
    canary = f"sk-SECRET-canary-{secrets.token_hex(12)}"
    base_url = make_emulator(
        api_key=canary,
        faults={"fail_prompts": {"doomed": "render_failed"}, "echo_key_in_failures": True},
    )

    async def run() -> VideoGenerationFailed:
        async with AsyncVideoGenClient(base_url, canary) as client:
            job = await client.create(VideoRequest(model="emu-video", prompt="doomed"))
            with pytest.raises(VideoGenerationFailed) as failed:
                await client.wait(job.id, timeout=30, min_interval=0.05)
        return failed.value

    error = asyncio.run(run())
    assert "***" in str(error) and canary not in _texts(error)
