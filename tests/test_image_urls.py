"""Image URLs the library fetches itself (for models that take uploads): public hosts only.

Loopback, link-local (cloud metadata), private and shared ranges are refused unless the
`allowed_image_hosts` setting names them; every redirect hop and the address actually
connected to are checked again. The fetch retries like the client (503 then 200 works).
"""

from __future__ import annotations

import http.server
import ipaddress
import threading
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from plugins.emulator_fixtures import png_bytes

import prefect_videogen.inputs as inputs
from prefect_videogen.credentials import VideoGenCredentials
from prefect_videogen.emulator import get_stats
from prefect_videogen.exceptions import InvalidRequestError
from prefect_videogen.flows import image_to_video
from prefect_videogen.inputs import check_image_host

ALLOW_ENV = "PREFECT_INTEGRATIONS_VIDEOGEN_ALLOWED_IMAGE_HOSTS"
CAT = png_bytes(1280, 720)


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1/x.png",
        "http://[::1]/x.png",
        "http://[::ffff:127.0.0.1]/x.png",
        "http://169.254.169.254/latest/meta-data/",
        "http://[fd00:ec2::254]/latest/meta-data/",
        "http://100.100.100.200/latest/meta-data/",  # Alibaba's metadata, in 100.64/10
        "http://10.1.2.3/x.png",
        "http://192.168.0.10/x.png",
        "http://0.0.0.0/x.png",
        "http://localhost/x.png",
    ],
)
def test_non_public_hosts_are_refused(url):
    with pytest.raises(InvalidRequestError) as info:
        check_image_host(url, field="first_frame")
    assert info.value.field == "first_frame"
    assert "allowed_image_hosts" in str(info.value)


def test_public_and_allowed_hosts_pass(monkeypatch):
    check_image_host("https://8.8.8.8/cat.png")
    monkeypatch.setattr(inputs, "_resolve", lambda host, port: [ipaddress.ip_address("10.0.0.7")])
    with pytest.raises(InvalidRequestError, match=r"images\.corp\.example \(10\.0\.0\.7\)"):
        check_image_host("https://images.corp.example/cat.png")
    for allowed in (["10.0.0.0/8"], ["images.corp.example"], ["*.corp.example"], ["*"]):
        check_image_host("https://images.corp.example/cat.png", allowed_hosts=allowed)
    with pytest.raises(InvalidRequestError):
        check_image_host("https://images.corp.example/x", allowed_hosts=["other.example"])
    with pytest.raises(InvalidRequestError):
        check_image_host("file:///etc/passwd")


@pytest.fixture
def scripted_server() -> Iterator[Callable[[dict[str, list[Any]]], int]]:
    """A loopback server answering each path from a script: bytes, ("redirect", url) or int."""
    servers: list[http.server.ThreadingHTTPServer] = []

    def start(script: dict[str, list[Any]]) -> int:
        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                answers = script.get(self.path)
                answer = (answers.pop(0) if len(answers) > 1 else answers[0]) if answers else 404
                if isinstance(answer, tuple):
                    self.send_response(302)
                    self.send_header("Location", answer[1])
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                elif isinstance(answer, int):
                    self.send_error(answer)
                else:
                    self.send_response(200)
                    self.send_header("Content-Type", "image/png")
                    self.send_header("Content-Length", str(len(answer)))
                    self.end_headers()
                    self.wfile.write(answer)

            def log_message(self, format: str, *args: Any) -> None:
                pass

        server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        servers.append(server)
        return server.server_address[1]

    yield start
    for server in servers:
        server.shutdown()
        server.server_close()


def _sora_i2v(emulator: str, image: str, tmp_path) -> Any:
    return image_to_video(
        "the cat turns its head",
        image=image,
        model="sora-2",  # takes uploads: the library fetches the URL
        seconds=4,
        size="1280x720",
        credentials=VideoGenCredentials(base_url=emulator, api_key="sk-emulator", max_retries=2),
        storage=str(tmp_path),
        probe=False,
    )


def _creates(emulator: str) -> int:
    return get_stats(emulator)["requests"].get("create", 0)


@pytest.mark.usefixtures("prefect_server", "fast_polling", "isolated_results")
def test_flow_refuses_a_loopback_image_url_before_paying(emulator, scripted_server, tmp_path):
    port = scripted_server({"/cat.png": [CAT]})
    before = _creates(emulator)
    with pytest.raises(InvalidRequestError) as info:
        _sora_i2v(emulator, f"http://127.0.0.1:{port}/cat.png", tmp_path)
    assert info.value.field == "first_frame" and "loopback" in str(info.value)
    assert _creates(emulator) == before


@pytest.mark.usefixtures("prefect_server", "fast_polling", "isolated_results")
def test_each_redirect_hop_is_checked(emulator, scripted_server, tmp_path, monkeypatch):
    script: dict[str, list[Any]] = {"/cat.png": [CAT]}
    port = scripted_server(script)
    script["/go"] = [("redirect", f"http://127.0.0.1:{port}/cat.png")]
    # localhost is allowed by name; the redirect goes on to a host that is not allowed.
    monkeypatch.setenv(ALLOW_ENV, '["localhost"]')
    before = _creates(emulator)
    with pytest.raises(InvalidRequestError) as info:
        _sora_i2v(emulator, f"http://localhost:{port}/go", tmp_path)
    assert "http://127.0.0.1" in str(info.value) and "loopback" in str(info.value)
    assert _creates(emulator) == before


@pytest.mark.usefixtures("prefect_server", "fast_polling", "isolated_results")
def test_a_host_that_resolves_public_but_connects_to_loopback_is_refused(
    emulator, scripted_server, tmp_path, monkeypatch
):
    """DNS rebinding: the first look says public, the connection lands on loopback."""
    port = scripted_server({"/cat.png": [CAT]})
    monkeypatch.setattr(inputs, "_resolve", lambda host, p: [ipaddress.ip_address("8.8.8.8")])
    before = _creates(emulator)
    with pytest.raises(InvalidRequestError, match=r"localhost \(127\.0\.0\.1\)"):
        _sora_i2v(emulator, f"http://localhost:{port}/cat.png", tmp_path)
    assert _creates(emulator) == before


@pytest.mark.usefixtures("prefect_server", "fast_polling", "isolated_results")
def test_allowed_host_is_fetched_with_retries_and_redirects(
    emulator, scripted_server, tmp_path, monkeypatch
):
    port = scripted_server({"/start.png": [503, ("redirect", "/cat.png")], "/cat.png": [CAT]})
    monkeypatch.setenv(ALLOW_ENV, '["127.0.0.1"]')
    stored = _sora_i2v(emulator, f"http://127.0.0.1:{port}/start.png", tmp_path)
    assert get_stats(emulator)["jobs"][stored.job_id]["mode"] == "i2v"
