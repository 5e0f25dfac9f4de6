"""VideoGenClient against httpx.MockTransport: error shapes, retries, downloads, polling.

MockTransport is used here for answers a real server cannot easily be made to send (cut
connections at exact byte offsets, every error body shape, Retry-After dates); the
emulator tests at the end of the file run the client over real HTTP.
"""

from __future__ import annotations

import asyncio
import hashlib
import io
import json
import logging
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

import av
import httpx
import pytest
from PIL import Image

import prefect_videogen.client as client_module
from prefect_videogen.client import AsyncVideoGenClient, DownloadedContent, VideoGenClient
from prefect_videogen.client import _download as client_download
from prefect_videogen.client._retry import Backoff
from prefect_videogen.emulator import get_stats, run_emulator, set_faults
from prefect_videogen.exceptions import (
    APIConnectionError,
    APIError,
    AuthenticationError,
    ContentExpiredError,
    InvalidRequestError,
    NotFoundError,
    RateLimitError,
    ServerError,
    SubmissionUncertainError,
    UnsupportedOperationError,
    VideoGenerationFailed,
    VideoTimeoutError,
)
from prefect_videogen.families import VideoRequest, family_for_model
from prefect_videogen.images import ImageInput
from prefect_videogen.models import VideoStatus

BASE = "https://api.test/v1"
KEY = "sk-test-SECRET-0123456789abcdef"
ORG_HEADER = "org-secret-header-value"
JOB = {"id": "video_1", "object": "video", "model": "sora-2", "status": "queued", "progress": 0}
VIDEO = b"\x00\x00\x00\x18ftypisom" + (bytes(range(256)) * 40)[12:]  # 10 KiB, an MP4 head


class Server:
    """A scripted MockTransport: answers in order and records every request."""

    def __init__(self, *answers):
        self.answers = list(answers)
        self.requests: list[httpx.Request] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        request.read()
        self.requests.append(request)
        answer = self.answers.pop(0) if len(self.answers) > 1 else self.answers[0]
        if callable(answer):
            answer = answer(request)
        if isinstance(answer, Exception):
            raise answer
        if answer.is_stream_consumed or isinstance(answer.stream, httpx.ByteStream):
            # A fresh copy, so one scripted answer can be sent many times.
            return httpx.Response(
                answer.status_code, headers=answer.headers, content=answer.content
            )
        return answer


def respond(status=200, body=None, *, text=None, headers=None, content=None):
    if content is not None:
        return httpx.Response(status, content=content, headers=headers)
    if text is not None:
        return httpx.Response(status, text=text, headers=headers)
    return httpx.Response(status, json=body if body is not None else JOB, headers=headers)


@pytest.fixture
def delays():
    return []


@pytest.fixture
def make_client(delays):
    clients = []

    def make(server, **options):
        options.setdefault("backoff", Backoff(sleep=delays.append))
        client = VideoGenClient(
            BASE,
            KEY,
            headers={"OpenAI-Organization": ORG_HEADER},
            transport=httpx.MockTransport(server),
            **options,
        )
        clients.append(client)
        return client

    yield make
    for client in clients:
        client.close()


def t2v():
    return VideoRequest(model="sora-2", prompt="a red fox in snow", seconds=4, size="1280x720")


# --- error mapping ------------------------------------------------------------------


ERROR_CASES = [
    pytest.param(
        respond(400, {"error": {"message": "Invalid size 1x1", "type": "invalid_request_error",
                                "param": "size", "code": "invalid_value"}}),
        InvalidRequestError, {"field": "size", "status_code": 400, "code": "invalid_value"},
        id="openai-400-param",
    ),
    pytest.param(
        respond(400, {"code": "invalid_size", "message": "sora-2 size is invalid", "data": None}),
        InvalidRequestError, {"field": "size", "status_code": 400, "code": "invalid_size"},
        id="gateway-invalid_size",
    ),
    pytest.param(
        respond(400, {"code": "missing_model", "message": "model field is required", "data": None}),
        InvalidRequestError, {"field": "model", "code": "missing_model"},
        id="gateway-missing_model",
    ),
    pytest.param(
        respond(400, {"code": "invalid_request", "message": "prompt is required", "data": None}),
        InvalidRequestError, {"field": "prompt", "code": "invalid_request"},
        id="gateway-invalid_request",
    ),
    pytest.param(
        respond(400, {"code": "task_not_exist", "message": "task_not_exist", "data": None}),
        NotFoundError, {"status_code": 400, "code": "task_not_exist"},
        id="gateway-task_not_exist",
    ),
    pytest.param(
        respond(422, {"error": {"message": "seconds must be one of 4, 8, 12", "type": "x"}}),
        InvalidRequestError, {"field": "seconds", "status_code": 422},
        id="openai-422",
    ),
    pytest.param(
        respond(401, {"error": {"message": "Incorrect API key provided", "param": None,
                                "type": "invalid_request_error", "code": "invalid_api_key"}}),
        AuthenticationError, {"status_code": 401, "code": "invalid_api_key"},
        id="openai-401",
    ),
    pytest.param(
        respond(403, {"code": "quota_not_enough", "message": "quota not enough", "data": None}),
        AuthenticationError, {"status_code": 403, "code": "quota_not_enough"},
        id="gateway-403",
    ),
    pytest.param(
        respond(404, text="404 page not found"),
        NotFoundError, {"status_code": 404, "message": "GET /videos/video_1: 404 page not found"},
        id="plain-text-404",
    ),
    pytest.param(
        respond(410, {"error": {"message": "Video content has expired"}}),
        ContentExpiredError, {"status_code": 410}, id="410",
    ),
    pytest.param(
        respond(429, {"error": {"message": "Rate limit reached", "type": "requests"}},
                headers={"Retry-After": "7"}),
        RateLimitError, {"retry_after": 7.0, "status_code": 429}, id="429-seconds",
    ),
    pytest.param(
        respond(429, {"code": "rate_limit", "message": "当前分组上游负载已饱和"},
                headers={"retry-after-ms": "1500", "Retry-After": "9"}),
        RateLimitError, {"retry_after": 1.5, "code": "rate_limit"}, id="429-ms-first",
    ),
    pytest.param(
        respond(429, text="slow down"),
        RateLimitError, {"retry_after": None}, id="429-no-hint",
    ),
    pytest.param(
        respond(500, {"error": {"message": "The server had an error", "type": "server_error"}}),
        ServerError, {"status_code": 500}, id="openai-500",
    ),
    pytest.param(
        respond(503, text="<html><body><h1>503 Service Unavailable</h1></body></html>",
                headers={"content-type": "text/html"}),
        ServerError, {"status_code": 503, "retry_after": None}, id="html-503",
    ),
    pytest.param(
        respond(503, text="overloaded", headers={"Retry-After": "5"}),
        ServerError, {"status_code": 503, "retry_after": 5.0}, id="503-retry-after",
    ),
    pytest.param(
        respond(501, {"code": "not_implemented", "message": "not implemented", "data": None}),
        APIError, {"status_code": 501, "code": "not_implemented"}, id="501-not-transient",
    ),
    pytest.param(
        respond(200, {"code": "task_not_exist", "message": "task_not_exist", "data": None}),
        NotFoundError, {"code": "task_not_exist"}, id="gateway-200-envelope",
    ),
]  # fmt: skip


@pytest.mark.parametrize(("answer", "error_type", "attributes"), ERROR_CASES)
def test_error_bodies_map_to_typed_errors(make_client, answer, error_type, attributes):
    server = Server(answer)
    client = make_client(server, max_retries=0)

    with pytest.raises(error_type) as caught:
        client.retrieve("video_1")

    assert type(caught.value) is error_type
    for name, expected in attributes.items():
        assert getattr(caught.value, name) == expected, name
    assert len(server.requests) == 1


def test_rate_limit_reads_an_http_date(make_client):
    when = format_datetime(datetime.now(UTC) + timedelta(seconds=120), usegmt=True)
    client = make_client(Server(respond(429, text="busy", headers={"Retry-After": when})),
                         max_retries=0)  # fmt: skip

    with pytest.raises(RateLimitError) as caught:
        client.retrieve("video_1")

    assert 60 < caught.value.retry_after <= 120


def test_request_id_is_kept(make_client):
    answer = respond(500, {"error": {"message": "boom"}}, headers={"x-request-id": "req_abc"})
    client = make_client(Server(answer), max_retries=0)

    with pytest.raises(ServerError) as caught:
        client.retrieve("video_1")

    assert caught.value.request_id == "req_abc"
    assert "req_abc" in str(caught.value)


@pytest.mark.parametrize(
    ("message", "error_type"),
    [
        ("Upstream service returned status 403", ContentExpiredError),
        ("Upstream service returned status 404", ContentExpiredError),
        ("Upstream service returned status 410", ContentExpiredError),
        ("Upstream service returned status 500", ServerError),
    ],
)
def test_content_502_from_an_expired_upstream(make_client, tmp_path, message, error_type):
    answer = respond(502, {"error": {"message": message, "type": "server_error"}})
    client = make_client(Server(answer), max_retries=0)

    with pytest.raises(error_type):
        client.download_content("video_1", tmp_path / "v.mp4")
    with pytest.raises(ServerError):  # the same answer to a job GET is a plain server error
        client.retrieve("video_1")


def test_connection_errors_are_typed_and_retried(make_client):
    server = Server(httpx.ConnectError("refused"))
    client = make_client(server, max_retries=2)

    with pytest.raises(APIConnectionError):
        client.retrieve("video_1")

    assert len(server.requests) == 3


def test_read_timeout_on_a_get_is_retried(make_client):
    server = Server(httpx.ReadTimeout("slow"), respond(body={**JOB, "status": "in_progress"}))
    client = make_client(server)

    assert client.retrieve("video_1").status is VideoStatus.IN_PROGRESS
    assert len(server.requests) == 2


def test_non_json_success_names_base_url(make_client):
    client = make_client(Server(respond(text="<html>login</html>")), max_retries=0)

    with pytest.raises(APIError, match="base_url"):
        client.retrieve("video_1")


# --- retries ------------------------------------------------------------------------


def test_retry_after_is_honoured(make_client, delays):
    limited = respond(429, text="busy", headers={"Retry-After": "2"})
    server = Server(limited, limited, respond())
    client = make_client(server)

    assert client.retrieve("video_1").id == "video_1"
    assert delays == [2.0, 2.0]
    assert len(server.requests) == 3


def test_retry_after_of_a_503_is_honoured(make_client, delays):
    server = Server(respond(503, text="overloaded", headers={"Retry-After": "3"}), respond())
    client = make_client(server)

    assert client.retrieve("video_1").id == "video_1"
    assert delays == [3.0]


def test_retry_after_is_capped(make_client, delays):
    server = Server(respond(429, text="busy", headers={"Retry-After": "3600"}), respond())
    client = make_client(server, backoff=Backoff(sleep=delays.append, max_retry_after=60))

    client.retrieve("video_1")

    assert delays == [60.0]


def test_backoff_grows_with_jitter(make_client, delays):
    server = Server(respond(503, text="busy"))
    client = make_client(server, max_retries=3)

    with pytest.raises(ServerError):
        client.retrieve("video_1")

    assert len(server.requests) == 4  # the first attempt and max_retries retries
    assert len(delays) == 3
    for retry, delay in enumerate(delays):
        assert 0.5 * 2**retry * 0.75 <= delay <= 0.5 * 2**retry


def test_client_errors_are_not_retried(make_client):
    server = Server(respond(404, {"error": {"message": "no such video"}}))
    client = make_client(server)

    with pytest.raises(NotFoundError):
        client.retrieve("video_1")
    assert len(server.requests) == 1


# --- create -------------------------------------------------------------------------


@pytest.mark.parametrize(
    "failure",
    [
        httpx.ReadTimeout("no answer"),
        httpx.ReadError("connection reset"),
        httpx.RemoteProtocolError("Server disconnected without sending a response."),
        httpx.WriteError("broken pipe"),
    ],
    ids=lambda e: type(e).__name__,
)
def test_create_is_never_resent_after_an_ambiguous_failure(make_client, failure):
    server = Server(failure, respond())
    client = make_client(server, max_retries=3)

    with pytest.raises(SubmissionUncertainError) as caught:
        client.create(t2v())

    assert len(server.requests) == 1
    assert "before submitting again" in str(caught.value)


@pytest.mark.parametrize(
    "failure",
    [
        respond(429, {"error": {"message": "Rate limit"}}, headers={"Retry-After": "1"}),
        httpx.ConnectError("connection refused"),
        httpx.ConnectTimeout("connect timed out"),
        httpx.PoolTimeout("pool exhausted"),
    ],
    ids=["429", "ConnectError", "ConnectTimeout", "PoolTimeout"],
)
def test_create_is_retried_when_surely_not_accepted(make_client, failure):
    server = Server(failure, respond())
    client = make_client(server)

    job = client.create(t2v())

    assert job.id == "video_1"
    assert len(server.requests) == 2


NGINX_502 = "<html><head><title>502 Bad Gateway</title></head><body>nginx</body></html>"


@pytest.mark.parametrize(
    "failure",
    [
        respond(500, {"error": {"message": "server_error", "type": "server_error"}}),
        respond(502, text=NGINX_502, headers={"content-type": "text/html"}),
        respond(503, {"error": {"message": "overloaded", "type": "server_error"}}),
        respond(500, {"code": "fail_to_fetch_task", "message": "upstream 500", "data": None}),
        httpx.ReadTimeout("read timed out"),
        httpx.RemoteProtocolError("peer closed connection"),
    ],
    ids=["500", "502-html", "503", "gateway-500", "ReadTimeout", "dropped"],
)
def test_create_is_not_resent_when_the_server_may_have_accepted_it(make_client, failure):
    # Any failure after the body was sent may follow the job's creation: never resent.
    server = Server(failure, respond())
    client = make_client(server, max_retries=3)

    with pytest.raises(SubmissionUncertainError) as caught:
        client.create(t2v(), idempotency_key="k-1")

    assert len(server.requests) == 1
    assert "job may have been created" in str(caught.value)


def test_create_is_resent_with_its_key_when_the_server_honours_idempotency(make_client):
    server = Server(respond(503, {"error": {"message": "overloaded"}}), respond())
    client = make_client(server, idempotent_retries=True)

    assert client.create(t2v(), idempotency_key="k-1").id == "video_1"
    assert [r.headers["Idempotency-Key"] for r in server.requests] == ["k-1", "k-1"]
    # Without a key there is nothing for the server to deduplicate on: not resent.
    server = Server(respond(503, {"error": {"message": "overloaded"}}), respond())
    with pytest.raises(SubmissionUncertainError):
        make_client(server, idempotent_retries=True).create(t2v())
    assert len(server.requests) == 1


def test_create_is_not_resent_after_a_gateway_timeout(make_client):
    # 504: the gateway gave up waiting for the provider, which may have accepted the job.
    server = Server(respond(504, {"error": {"message": "upstream timed out"}}), respond())
    client = make_client(server, max_retries=3)

    with pytest.raises(SubmissionUncertainError) as caught:
        client.create(t2v())

    assert len(server.requests) == 1
    assert "upstream timed out" in str(caught.value)


def test_create_sends_json_and_idempotency_key(make_client):
    server = Server(respond(201, JOB))
    client = make_client(server)

    job = client.create(t2v(), idempotency_key="fp-123")

    request = server.requests[0]
    assert (request.method, request.url.path) == ("POST", "/v1/videos")
    assert request.headers["Idempotency-Key"] == "fp-123"
    assert request.headers["Authorization"] == f"Bearer {KEY}"
    assert json.loads(request.content) == {
        "model": "sora-2", "prompt": "a red fox in snow", "seconds": "4", "size": "1280x720"
    }  # fmt: skip
    assert job.status is VideoStatus.QUEUED


def test_create_image_to_video_is_multipart(make_client):
    buffer = io.BytesIO()
    Image.new("RGB", (1280, 720), "red").save(buffer, format="PNG")
    request = VideoRequest(
        model="sora-2", prompt="fox", size="1280x720",
        first_frame=ImageInput.from_bytes(buffer.getvalue(), "fox.png"),
    )  # fmt: skip
    server = Server(respond())
    client = make_client(server)

    client.create(request)

    sent = server.requests[0]
    assert sent.headers["content-type"].startswith("multipart/form-data")
    assert b'name="input_reference"; filename="fox.png"' in sent.content
    assert b'name="prompt"\r\n\r\nfox' in sent.content


def test_oversized_upload_names_the_image_field(make_client):
    server = Server(respond(413, text="Request Entity Too Large"))
    client = make_client(server)

    with pytest.raises(InvalidRequestError) as caught:
        client.create(t2v())

    assert caught.value.field == "input_reference"
    assert caught.value.status_code == 413
    assert len(server.requests) == 1


@pytest.mark.parametrize("video_id", [".", ".."])
def test_dot_ids_travel_as_one_escaped_segment(make_client, video_id):
    server = Server(respond(body=job("completed", 100)))
    client = make_client(server)

    client.retrieve(video_id)

    assert server.requests[0].url.raw_path == f"/v1/videos/{'%2E' * len(video_id)}".encode()


def test_invalid_request_is_rejected_before_any_call(make_client):
    server = Server(respond())
    client = make_client(server)

    with pytest.raises(InvalidRequestError) as caught:
        client.create(VideoRequest(model="sora-2", prompt="fox", size="1x1"))

    assert caught.value.field == "size"
    assert server.requests == []


def test_create_with_an_unreadable_success_is_uncertain(make_client):
    server = Server(respond(200, text="OK"))
    client = make_client(server)

    with pytest.raises(SubmissionUncertainError):
        client.create(t2v())
    assert len(server.requests) == 1


def test_create_rejected_by_the_server_names_the_field(make_client):
    server = Server(respond(400, {"code": "invalid_size", "message": "sora-2 size is invalid"}))
    client = make_client(server)

    with pytest.raises(InvalidRequestError) as caught:
        client.create(t2v())

    assert (caught.value.field, caught.value.model) == ("size", "sora-2")
    assert len(server.requests) == 1


def test_remix_posts_the_prompt_and_is_never_resent(make_client):
    server = Server(httpx.ReadTimeout("no answer"), respond())
    client = make_client(server)

    with pytest.raises(SubmissionUncertainError):
        client.remix("video_1", "at night")

    assert len(server.requests) == 1
    assert server.requests[0].url.path == "/v1/videos/video_1/remix"
    assert json.loads(server.requests[0].content) == {"prompt": "at night"}


# --- secrets ------------------------------------------------------------------------


def test_the_key_never_shows(make_client, caplog):
    caplog.set_level(logging.DEBUG)
    echo = respond(401, {"error": {"message": f"Incorrect API key provided: {KEY}",
                                   "type": "invalid_request_error"}})  # fmt: skip
    client = make_client(Server(echo))
    errors = []
    for call in (lambda: client.retrieve("video_1"), lambda: client.create(t2v())):
        with pytest.raises(AuthenticationError) as caught:
            call()
        errors.append(caught.value)
    uncertain = make_client(Server(httpx.ReadTimeout(f"key {KEY}")))
    with pytest.raises(SubmissionUncertainError) as caught:
        uncertain.create(t2v())
    errors.append(caught.value)

    for error in errors:
        assert KEY not in str(error) and KEY not in repr(error)
    for secret in (KEY, ORG_HEADER):
        assert secret not in repr(client)
        assert secret not in caplog.text
    assert "***" in str(errors[0])


@pytest.mark.parametrize("bad_key", [f"{KEY[:12]}\n{KEY[12:]}", f"{KEY}ключ"])
def test_a_key_that_cannot_be_a_header_is_refused_without_echo(bad_key):
    with pytest.raises(InvalidRequestError) as caught:
        VideoGenClient(BASE, bad_key)
    assert caught.value.field == "api_key"
    assert KEY[:12] not in str(caught.value) and KEY[12:] not in str(caught.value)


# --- downloads ----------------------------------------------------------------------


def streamed(*chunks, cut=False, seen=None, dest=None):
    """A body that yields chunks, records whether a .part/destination existed, maybe cuts."""

    def body():
        for chunk in chunks:
            yield chunk
            if seen is not None:
                parts = list(dest.parent.glob(dest.name + ".*.part"))
                seen.append((len(parts) == 1, dest.exists()))
        if cut:
            raise httpx.ReadError("connection reset by peer")

    return body()


def test_download_writes_part_then_replaces(make_client, tmp_path):
    dest = tmp_path / "out" / "video.mp4"
    seen = []
    half = len(VIDEO) // 2
    server = Server(
        lambda request: respond(
            content=streamed(VIDEO[:half], VIDEO[half:], seen=seen, dest=dest),
            headers={"content-type": "video/mp4", "content-length": str(len(VIDEO))},
        )
    )
    client = make_client(server)

    result = client.download_content("video_1", dest, chunk_size=1024)

    assert seen and all(s == (True, False) for s in seen)  # only .part while streaming
    assert result == DownloadedContent(
        path=dest, size=len(VIDEO), sha256=hashlib.sha256(VIDEO).hexdigest(),
        content_type="video/mp4",
    )  # fmt: skip
    assert dest.read_bytes() == VIDEO and not list(dest.parent.glob("*.part"))
    request = server.requests[0]
    assert request.url.path == "/v1/videos/video_1/content"
    assert request.headers["Authorization"] == f"Bearer {KEY}"


def test_download_removes_parts_of_dead_processes_only(make_client, tmp_path):
    dest = tmp_path / "video.mp4"
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    orphan = tmp_path / f"video.mp4.{dead.pid}-0.part"
    alive = tmp_path / "video.mp4.1-0.part"  # pid 1 runs as long as the machine does
    other = tmp_path / f"other.mp4.{dead.pid}-0.part"
    for path in (orphan, alive, other):
        path.write_bytes(b"half a video")
    server = Server(lambda request: respond(content=VIDEO, headers={"content-type": "video/mp4"}))

    make_client(server).download_content("video_1", dest)

    assert dest.read_bytes() == VIDEO
    assert not orphan.exists() and alive.exists() and other.exists()


def test_download_resumes_with_range_after_a_cut(make_client, tmp_path):
    cut_at = 3000

    def answer(request):
        if "range" not in request.headers:
            return respond(
                content=streamed(VIDEO[:cut_at], cut=True),
                headers={"content-length": str(len(VIDEO)), "accept-ranges": "bytes",
                         "content-type": "video/mp4"},
            )  # fmt: skip
        start = int(request.headers["range"].removeprefix("bytes=").rstrip("-"))
        return respond(
            206,
            content=VIDEO[start:],
            headers={"content-range": f"bytes {start}-{len(VIDEO) - 1}/{len(VIDEO)}",
                     "content-length": str(len(VIDEO) - start)},
        )  # fmt: skip

    server = Server(answer)
    client = make_client(server)

    result = client.download_content("video_1", tmp_path / "v.mp4")

    assert [r.headers.get("range") for r in server.requests] == [None, f"bytes={cut_at}-"]
    assert (tmp_path / "v.mp4").read_bytes() == VIDEO
    assert result.sha256 == hashlib.sha256(VIDEO).hexdigest()
    assert result.content_type == "video/mp4"


@pytest.mark.parametrize(
    ("first_headers", "second", "ranges"),
    [
        pytest.param(  # the server ignores the Range header and sends everything again
            {"accept-ranges": "bytes"}, respond(content=VIDEO), [None, "bytes=1000-"],
            id="range-ignored",
        ),
        pytest.param(  # a 206 for the wrong range: start over without Range
            {"accept-ranges": "bytes"},
            respond(206, content=VIDEO[:10], headers={"content-range": f"bytes 0-9/{len(VIDEO)}"}),
            [None, "bytes=1000-", None], id="wrong-content-range",
        ),
        pytest.param(  # no Accept-Ranges: start over from byte 0
            {}, respond(content=VIDEO), [None, None], id="no-accept-ranges",
        ),
    ],
)  # fmt: skip
@pytest.mark.parametrize("writer", ["inline", "thread"])
def test_download_restarts_when_resuming_is_not_possible(
    make_client, tmp_path, monkeypatch, first_headers, second, ranges, writer
):
    if writer == "thread":  # hand writing and hashing to the writer thread from byte 0
        monkeypatch.setattr(client_download, "_INLINE_WRITE_BYTES", 0)
    headers = {"content-length": str(len(VIDEO)), **first_headers}
    server = Server(
        lambda request: respond(content=streamed(VIDEO[:1000], cut=True), headers=headers),
        second,
        respond(content=VIDEO),
    )
    client = make_client(server)

    result = client.download_content("video_1", tmp_path / "v.mp4")

    assert [r.headers.get("range") for r in server.requests] == ranges
    assert (tmp_path / "v.mp4").read_bytes() == VIDEO
    assert result.size == len(VIDEO)


def test_short_body_is_retried_then_nothing_is_left(make_client, tmp_path):
    short = respond(content=VIDEO[:100], headers={"content-length": str(len(VIDEO))})
    server = Server(short)
    client = make_client(server, max_retries=2)

    with pytest.raises(APIConnectionError, match="100 of 10240 bytes"):
        client.download_content("video_1", tmp_path / "v.mp4")

    assert len(server.requests) == 3
    assert list(tmp_path.iterdir()) == []


def test_failed_download_leaves_no_file(make_client, tmp_path):
    server = Server(respond(400, {"error": {"message": "Invalid 'variant': 'x'"}}))
    client = make_client(server)

    with pytest.raises(InvalidRequestError):
        client.download_content("video_1", tmp_path / "v.mp4")

    assert list(tmp_path.iterdir()) == []


def test_download_from_a_foreign_url_sends_no_credentials(make_client, tmp_path):
    server = Server(respond(content=VIDEO))
    client = make_client(server)

    client.download_content("video_1", tmp_path / "v.mp4",
                            url="https://cdn.example.com/v.mp4?sig=abc")  # fmt: skip

    request = server.requests[0]
    assert str(request.url) == "https://cdn.example.com/v.mp4?sig=abc"
    assert "authorization" not in request.headers
    assert "openai-organization" not in request.headers


def test_download_from_the_api_host_sends_the_key(make_client, tmp_path):
    server = Server(respond(content=VIDEO))
    client = make_client(server)

    client.download_content("video_1", tmp_path / "v.mp4", url=f"{BASE}/videos/video_1/content")

    assert server.requests[0].headers["Authorization"] == f"Bearer {KEY}"


def test_redirect_to_a_cdn_drops_credentials(make_client, tmp_path):
    server = Server(
        respond(302, text="", headers={"location": "https://cdn.example.com/x.mp4"}),
        respond(content=VIDEO),
    )
    client = make_client(server)

    client.download_content("video_1", tmp_path / "v.mp4")

    first, second = server.requests
    assert first.headers["Authorization"] == f"Bearer {KEY}"
    assert second.url.host == "cdn.example.com"
    assert "authorization" not in second.headers
    assert "openai-organization" not in second.headers


def test_expired_cdn_url_is_content_expired(make_client, tmp_path):
    server = Server(
        respond(403, text="<Error><Code>AccessDenied</Code>Request has expired</Error>")
    )
    client = make_client(server)

    with pytest.raises(ContentExpiredError):
        client.download_content("video_1", tmp_path / "v.mp4", url="https://oss.example.com/v.mp4")


def test_thumbnail_variant_and_bad_variant(make_client, tmp_path):
    server = Server(respond(content=b"RIFF....WEBP", headers={"content-type": "image/webp"}))
    client = make_client(server)

    result = client.download_content("video_1", tmp_path / "t.webp", variant="thumbnail")
    assert server.requests[0].url.params["variant"] == "thumbnail"
    assert result.content_type == "image/webp"

    with pytest.raises(InvalidRequestError) as caught:
        client.download_content("video_1", tmp_path / "x", variant="poster")
    assert caught.value.field == "variant"
    assert len(server.requests) == 1


# --- wait ---------------------------------------------------------------------------


def job(status, progress=0, **extra):
    return {**JOB, "status": status, "progress": progress, **extra}


def test_wait_follows_the_server_hint(make_client, delays):
    hint = {"openai-poll-after-ms": "250"}
    server = Server(
        respond(body=job("queued"), headers=hint),
        respond(body=job("in_progress", 40), headers=hint),
        respond(body=job("completed", 100)),
    )
    client = make_client(server)
    updates = []

    done = client.wait("video_1", on_update=updates.append)

    assert done.status is VideoStatus.COMPLETED
    assert delays == [0.25, 0.25]
    assert [(u.status.value, u.progress) for u in updates] == [
        ("queued", 0), ("in_progress", 40), ("completed", 100)
    ]  # fmt: skip


def test_wait_backs_off_and_reports_only_changes(make_client, delays):
    server = Server(
        respond(body=job("queued")),
        respond(body=job("queued")),
        respond(body=job("in_progress", 10)),
        respond(body=job("in_progress", 10)),
        respond(body=job("in_progress", 10)),
        respond(body=job("completed", 100)),
    )
    client = make_client(server)
    updates = []

    client.wait("video_1", min_interval=1.0, max_interval=3.0, on_update=updates.append)

    assert delays == [1.0, 1.5, 2.25, 3.0, 3.0]
    assert [u.status.value for u in updates] == ["queued", "in_progress", "completed"]


def test_wait_raises_on_failed_jobs(make_client):
    failed = job("failed", error={"code": "moderation_blocked", "message": "blocked"})
    client = make_client(Server(respond(body=failed)))

    with pytest.raises(VideoGenerationFailed) as caught:
        client.wait("video_1")

    assert caught.value.code == "moderation_blocked"


def test_wait_polls_through_transient_errors(make_client):
    server = Server(respond(503, text="busy"), respond(body=job("completed", 100)))
    client = make_client(server, max_retries=0)

    assert client.wait("video_1").status is VideoStatus.COMPLETED
    assert len(server.requests) == 2


def test_wait_stops_on_permanent_errors(make_client):
    server = Server(respond(401, {"error": {"message": "bad key"}}))
    client = make_client(server)

    with pytest.raises(AuthenticationError):
        client.wait("video_1")
    assert len(server.requests) == 1


def test_wait_times_out(make_client):
    client = make_client(Server(respond(body=job("in_progress", 50))))

    with pytest.raises(VideoTimeoutError) as caught:
        client.wait("video_1", timeout=0)

    assert (caught.value.job_id, caught.value.last_status) == ("video_1", "in_progress")


def test_model_picks_the_family_status_words(make_client, monkeypatch):
    kling = family_for_model("kling-v1")
    words = {**kling.status_words, "weird": VideoStatus.COMPLETED}
    stub = type("StubFamily", (type(kling),), {"status_words": words})()
    monkeypatch.setattr(client_module, "family_for_model", lambda model: stub)
    client = make_client(Server(respond(body={"id": "t1", "status": "weird"})))

    assert client.retrieve("t1").status is VideoStatus.IN_PROGRESS  # generic: unknown word
    assert client.wait("t1", model="kling-v1").status is VideoStatus.COMPLETED


# --- list, delete, retrieve -----------------------------------------------------------


def test_list_sends_the_cursor_and_reads_the_page(make_client):
    page = {"object": "list", "data": [JOB, {**JOB, "id": "video_2"}], "first_id": "video_1",
            "last_id": "video_2", "has_more": True}  # fmt: skip
    server = Server(respond(body=page))
    client = make_client(server)

    result = client.list(after="video_0", limit=2, order="asc")

    assert dict(server.requests[0].url.params) == {"after": "video_0", "limit": "2", "order": "asc"}
    assert [j.id for j in result.data] == ["video_1", "video_2"]
    assert (result.last_id, result.has_more) == ("video_2", True)


def test_list_on_a_gateway_without_listing(make_client):
    client = make_client(Server(respond(404, text="404 page not found")))

    with pytest.raises(UnsupportedOperationError, match="does not list videos"):
        client.list()
    with pytest.raises(InvalidRequestError):
        client.list(limit=1000)


@pytest.mark.parametrize(
    ("answer", "deleted"),
    [
        (respond(body={"id": "video_1", "object": "video.deleted", "deleted": True}), True),
        (respond(body={"id": "video_1", "object": "video.deleted", "deleted": False}), False),
        (respond(body=job("completed", 100)), True),
        (httpx.Response(204), True),
    ],
    ids=["openai", "not-deleted", "gateway-job-object", "no-content"],
)
def test_delete(make_client, answer, deleted):
    server = Server(answer)
    client = make_client(server)

    result = client.delete("video_1")

    assert (result.id, result.deleted) == ("video_1", deleted)
    assert server.requests[0].method == "DELETE"


def test_retrieve_reads_the_gateway_envelope_and_quotes_ids(make_client):
    envelope = {"code": "success", "data": {"task_id": "a/b", "status": "IN_PROGRESS",
                                            "progress": "30%"}}  # fmt: skip
    server = Server(respond(body=envelope))
    client = make_client(server)

    result = client.retrieve("a/b")

    assert server.requests[0].url.raw_path == b"/v1/videos/a%2Fb"
    assert (result.id, result.status, result.progress) == ("a/b", VideoStatus.IN_PROGRESS, 30)
    with pytest.raises(InvalidRequestError):
        client.retrieve("")


# --- over real HTTP, against the emulator ----------------------------------------------

E2E_CASES = [
    pytest.param("openai", "sora-2", "1280x720", 4, id="openai-sora"),
    pytest.param("gateway", "wan2.5-t2v-preview", "1280*720", 5, id="gateway-wan"),
    pytest.param("seed", "sora-2", "1280x720", 4, id="seed-sora"),
]


@pytest.mark.parametrize(("dialect", "model", "size", "seconds"), E2E_CASES)
def test_t2v_create_wait_download(tmp_path, dialect, model, size, seconds):
    request = VideoRequest(model=model, prompt="a red fox in snow", seconds=seconds, size=size)
    updates = []
    with run_emulator(dialect=dialect, latency=0.3, fps=4) as base_url:
        with VideoGenClient(base_url, "sk-emulator") as client:
            job = client.create(request, idempotency_key=request.fingerprint())
            done = client.wait(job.id, model=model, min_interval=0.05, on_update=updates.append)
            content = client.download_content(done.id, tmp_path / "video.mp4")
            from_url = (
                client.download_content(done.id, tmp_path / "from-url.mp4", url=done.url)
                if done.url
                else None
            )
        stats = get_stats(base_url)

    assert updates[-1].status is VideoStatus.COMPLETED
    assert stats["submissions"] == 1
    assert content.sha256 == stats["jobs"][job.id]["sha256"]
    assert content.content_type == "video/mp4"
    if dialect != "openai":  # gateway (non-Sora) and seed answers carry the result URL
        assert from_url is not None and from_url.sha256 == content.sha256
    with av.open(str(content.path)) as container:
        stream = container.streams.video[0]
        frames = sum(1 for _ in container.decode(stream))
        assert (stream.codec_context.name, stream.width, stream.height) == ("h264", 1280, 720)
    assert frames == seconds * 4


def test_dropped_create_answer_is_never_resubmitted():
    with run_emulator(dialect="gateway", latency=0.3, fps=4) as base_url:
        set_faults(base_url, create={"script": ["drop"]})
        client = VideoGenClient(base_url, "sk-emulator", backoff=Backoff(sleep=lambda s: None))
        with client, pytest.raises(SubmissionUncertainError):
            client.create(t2v())
        stats = get_stats(base_url)

    assert stats["requests"]["create"] == 1
    assert stats["submissions"] == 1  # the job exists: resending would have paid twice


def test_create_retried_after_429s_makes_one_job(delays):
    # 429 is the only answer that proves no job was made (a 5xx may follow its creation).
    with run_emulator(dialect="openai", latency=0.3, fps=4) as base_url:
        set_faults(base_url, create={"script": ["429", "429"]}, retry_after=1.0)
        with VideoGenClient(base_url, "sk-emulator", backoff=Backoff(sleep=delays.append)) as c:
            job = c.create(t2v())
        stats = get_stats(base_url)

    assert stats["requests"]["create"] == 3
    assert stats["submissions"] == 1 and list(stats["jobs"]) == [job.id]
    assert delays[1] == 1.0  # the emulator's Retry-After


class RecordingTransport(httpx.HTTPTransport):
    """Real HTTP, with the request headers kept for assertions."""

    def __init__(self):
        super().__init__()
        self.sent: list[httpx.Request] = []

    def handle_request(self, request):
        self.sent.append(request)
        return super().handle_request(request)


def test_download_resumes_after_a_dropped_connection(tmp_path):
    transport = RecordingTransport()
    with run_emulator(dialect="openai", latency=0.3, fps=4) as base_url:
        with VideoGenClient(base_url, "sk-emulator", transport=transport) as client:
            job = client.wait(client.create(t2v()).id, min_interval=0.05)
            set_faults(base_url, content={"script": ["drop"], "drop_after_bytes": 5000})
            content = client.download_content(job.id, tmp_path / "v.mp4", chunk_size=4096)
        stats = get_stats(base_url)

    assert stats["faults"]["content"]["drop"] == 1
    assert stats["requests"]["content"] == 2
    ranges = [r.headers.get("range") for r in transport.sent if r.url.path.endswith("/content")]
    assert ranges == [None, "bytes=5000-"]
    assert content.sha256 == stats["jobs"][job.id]["sha256"]
    assert list(tmp_path.iterdir()) == [tmp_path / "v.mp4"]


@pytest.mark.parametrize("mode", ["sync", "async"])
def test_a_large_download_resumes_through_the_writer_thread(tmp_path, mode):
    size = 12 << 20  # past the inline part: chunks go to the writer thread
    with run_emulator(dialect="openai", latency=0.3, fps=4, pad_content_to=size) as base_url:
        with VideoGenClient(base_url, "sk-emulator") as client:
            job = client.wait(client.create(t2v()).id, min_interval=0.05)
        set_faults(base_url, content={"script": ["drop"], "drop_after_bytes": 7 << 20})
        destination = tmp_path / "v.mp4"
        if mode == "sync":
            with VideoGenClient(base_url, "sk-emulator") as client:
                content = client.download_content(job.id, destination)
        else:

            async def download():
                async with AsyncVideoGenClient(base_url, "sk-emulator") as client:
                    return await client.download_content(job.id, destination)

            content = asyncio.run(download())
        stats = get_stats(base_url)

    assert stats["faults"]["content"]["drop"] == 1 and stats["requests"]["content"] == 2
    assert content.size == destination.stat().st_size == size
    assert content.sha256 == stats["jobs"][job.id]["sha256"]
    assert hashlib.sha256(destination.read_bytes()).hexdigest() == content.sha256
    assert list(tmp_path.iterdir()) == [destination]


def test_gateway_errors_over_http():
    with run_emulator(dialect="gateway", latency=0.3, fps=4) as base_url:
        with VideoGenClient(base_url, "sk-emulator") as client:
            with pytest.raises(NotFoundError):
                client.retrieve("task_unknown")
            with pytest.raises(UnsupportedOperationError, match="does not list videos"):
                client.list()
        with VideoGenClient(base_url, "sk-wrong-key") as client:
            with pytest.raises(AuthenticationError) as caught:
                client.retrieve("task_unknown")
            assert "sk-wrong-key" not in str(caught.value)


def test_a_folder_is_listed_for_orphaned_parts_once_per_process(make_client, tmp_path, monkeypatch):
    # A batch stores thousands of videos in one folder; listing it at every download made
    # the batch's CPU grow with the square of its size.
    from prefect_videogen.client import _download

    listed = []
    real_scandir = _download.os.scandir
    monkeypatch.setattr(
        _download.os, "scandir", lambda path: listed.append(path) or real_scandir(path)
    )
    server = Server(lambda request: respond(content=VIDEO, headers={"content-type": "video/mp4"}))
    client = make_client(server)
    for name in ("a.mp4", "b.mp4", "c.mp4"):
        client.download_content("video_1", tmp_path / name)
    assert listed == [tmp_path]
    assert [p.name for p in tmp_path.iterdir()] and not list(tmp_path.glob("*.part"))
