"""VideoGenCredentials: Prefect block standards, registration, save/load, and its clients."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import httpx
import pytest
from prefect.testing.standard_test_suites import BlockStandardTestSuite

from prefect_videogen.client import AsyncVideoGenClient, VideoGenClient
from prefect_videogen.credentials import VideoGenCredentials

KEY = "sk-credentials-SECRET-42"


class TestBlockStandards(BlockStandardTestSuite):
    @pytest.fixture
    def block(self):
        return VideoGenCredentials

    @pytest.mark.skip(reason="downloads the logo from the internet; the test runs have no network")
    def test_has_a_valid_image(self, block):
        """Replaced by test_logo_url_is_https below."""


def test_logo_url_is_https():
    assert VideoGenCredentials._logo_url.startswith("https://")


@pytest.fixture
def recording_server():
    """A real HTTP server on 127.0.0.1 that answers a job and records request headers."""
    seen: list[dict[str, str]] = []

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self):
            seen.append({k.lower(): v for k, v in self.headers.items()})
            body = json.dumps({"id": "video_1", "status": "in_progress", "progress": 7}).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}/v1", seen
    server.shutdown()
    server.server_close()


def make_credentials(base_url: str) -> VideoGenCredentials:
    return VideoGenCredentials(
        base_url=base_url,
        api_key=KEY,
        extra_headers={"OpenAI-Organization": "org-SECRET-7"},
        timeout=5,
        connect_timeout=2,
        max_retries=1,
    )


def test_get_client_sends_the_key_and_extra_headers(recording_server):
    base_url, seen = recording_server
    credentials = make_credentials(base_url)

    with credentials.get_client() as client:
        job = client.retrieve("video_1")

    assert isinstance(client, VideoGenClient)
    assert (job.id, job.progress) == ("video_1", 7)
    assert seen[0]["authorization"] == f"Bearer {KEY}"
    assert seen[0]["openai-organization"] == "org-SECRET-7"
    assert client.max_retries == 1
    assert client._http.timeout == httpx.Timeout(5, connect=2)


async def test_get_async_client(recording_server):
    base_url, seen = recording_server

    async with make_credentials(base_url).get_async_client() as client:
        job = await client.retrieve("video_1")

    assert isinstance(client, AsyncVideoGenClient)
    assert job.id == "video_1"
    assert seen[0]["authorization"] == f"Bearer {KEY}"


def test_secrets_do_not_show():
    credentials = make_credentials("http://127.0.0.1:1/v1")
    for text in (repr(credentials), str(credentials), repr(credentials.get_client())):
        assert KEY not in text and "org-SECRET-7" not in text


def test_save_and_load_keeps_secrets_masked_on_the_server(prefect_server):
    from prefect.client.orchestration import get_client

    make_credentials("https://gateway.example.com/v1").save("videogen-test", overwrite=True)

    loaded = VideoGenCredentials.load("videogen-test")
    assert loaded.api_key.get_secret_value() == KEY
    assert loaded.extra_headers.get_secret_value() == {"OpenAI-Organization": "org-SECRET-7"}
    assert (loaded.base_url, loaded.timeout, loaded.max_retries) == (
        "https://gateway.example.com/v1", 5, 1
    )  # fmt: skip
    with get_client(sync_client=True) as client:
        document = client.read_block_document_by_name(
            "videogen-test", "videogen-credentials", include_secrets=False
        )
    assert KEY not in json.dumps(document.data, default=str)


def test_register_type_and_schema(prefect_server):
    from prefect.client.orchestration import get_client

    VideoGenCredentials.register_type_and_schema()

    with get_client(sync_client=True) as client:
        block_type = client.read_block_type_by_slug("videogen-credentials")
    assert block_type.name == "VideoGen Credentials"
    assert str(block_type.documentation_url) == VideoGenCredentials._documentation_url


def test_prefect_cli_registers_the_block(prefect_server):
    from prefect.settings import PREFECT_API_URL

    env = {**os.environ, "PREFECT_API_URL": PREFECT_API_URL.value()}
    prefect = Path(sys.executable).with_name("prefect")

    result = subprocess.run(
        [str(prefect), "block", "register", "-m", "prefect_videogen.credentials"],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )

    assert result.returncode == 0, result.stdout + result.stderr
    assert "VideoGen Credentials" in result.stdout
