"""AsyncVideoGenClient against httpx.MockTransport: the async twins of test_client.py."""

from __future__ import annotations

import hashlib
import json

import av
import httpx
import pytest

from prefect_videogen.client import AsyncVideoGenClient
from prefect_videogen.client._retry import Backoff
from prefect_videogen.emulator import get_stats, run_emulator, set_faults
from prefect_videogen.exceptions import (
    APIConnectionError,
    AuthenticationError,
    ContentExpiredError,
    InvalidRequestError,
    NotFoundError,
    RateLimitError,
    ServerError,
    SubmissionUncertainError,
    VideoGenerationFailed,
    VideoTimeoutError,
)
from prefect_videogen.families import VideoRequest
from prefect_videogen.models import VideoStatus

BASE = "https://api.test/v1"
KEY = "sk-test-SECRET-0123456789abcdef"
JOB = {"id": "video_1", "object": "video", "model": "sora-2", "status": "queued", "progress": 0}
VIDEO = b"\x00\x00\x00\x18ftypisom" + (bytes(range(256)) * 40)[12:]  # 10 KiB, an MP4 head


class Server:
    """A scripted async MockTransport handler: answers in order, records requests."""

    def __init__(self, *answers):
        self.answers = list(answers)
        self.requests: list[httpx.Request] = []

    async def __call__(self, request: httpx.Request) -> httpx.Response:
        await request.aread()
        self.requests.append(request)
        answer = self.answers.pop(0) if len(self.answers) > 1 else self.answers[0]
        if callable(answer):
            answer = answer(request)
        if isinstance(answer, Exception):
            raise answer
        if isinstance(answer.stream, httpx.ByteStream):  # a fresh copy for every request
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


def job(status, progress=0, **extra):
    return {**JOB, "status": status, "progress": progress, **extra}


def t2v():
    return VideoRequest(model="sora-2", prompt="a red fox in snow", seconds=4, size="1280x720")


@pytest.fixture
def delays():
    return []


@pytest.fixture
async def make_client(delays):
    clients = []

    async def record(seconds):
        delays.append(seconds)

    def make(server, **options):
        options.setdefault("backoff", Backoff(sleep=delays.append, async_sleep=record))
        client = AsyncVideoGenClient(
            BASE, KEY, headers={"X-Org": "org-secret"}, transport=httpx.MockTransport(server),
            **options,
        )  # fmt: skip
        clients.append(client)
        return client

    yield make
    for client in clients:
        await client.close()


@pytest.mark.parametrize(
    ("answer", "error_type"),
    [
        (respond(400, {"code": "invalid_size", "message": "sora-2 size is invalid"}),
         InvalidRequestError),
        (respond(400, {"code": "task_not_exist", "message": "task_not_exist"}), NotFoundError),
        (respond(401, {"error": {"message": "bad key", "type": "invalid_request_error"}}),
         AuthenticationError),
        (respond(404, text="404 page not found"), NotFoundError),
        (respond(410, text="gone"), ContentExpiredError),
        (respond(429, text="slow", headers={"Retry-After": "3"}), RateLimitError),
        (respond(500, {"error": {"message": "boom", "type": "server_error"}}), ServerError),
        (httpx.ConnectError("refused"), APIConnectionError),
    ],
    ids=["400", "task_not_exist", "401", "404", "410", "429", "500", "connect"],
)  # fmt: skip
async def test_errors_are_typed(make_client, answer, error_type):
    server = Server(answer)
    client = make_client(server, max_retries=0)

    with pytest.raises(error_type):
        await client.retrieve("video_1")
    assert len(server.requests) == 1


async def test_retry_after_is_honoured_with_async_sleep(make_client, delays):
    limited = respond(429, text="busy", headers={"retry-after-ms": "1250"})
    server = Server(limited, limited, respond())
    client = make_client(server)

    assert (await client.retrieve("video_1")).id == "video_1"
    assert delays == [1.25, 1.25]
    assert len(server.requests) == 3


async def test_create_is_never_resent_after_an_ambiguous_failure(make_client):
    server = Server(httpx.ReadTimeout("no answer"), respond())
    client = make_client(server)

    with pytest.raises(SubmissionUncertainError) as caught:
        await client.create(t2v())

    assert len(server.requests) == 1
    assert KEY not in str(caught.value)


@pytest.mark.parametrize(
    "failure",
    [
        respond(429, text="busy"),
        httpx.ConnectError("refused"),
    ],
    ids=["429", "connect"],
)
async def test_create_is_retried_when_surely_not_accepted(make_client, failure):
    server = Server(failure, respond())
    client = make_client(server)

    job_ = await client.create(t2v(), idempotency_key="fp-1")

    assert job_.id == "video_1"
    assert len(server.requests) == 2
    assert [r.headers["Idempotency-Key"] for r in server.requests] == ["fp-1", "fp-1"]
    assert json.loads(server.requests[1].content)["model"] == "sora-2"


async def test_download_resumes_with_range_after_a_cut(make_client, tmp_path):
    cut_at = 4096

    async def cut_body():
        yield VIDEO[:cut_at]
        raise httpx.ReadError("connection reset by peer")

    def answer(request):
        if "range" not in request.headers:
            return respond(
                content=cut_body(),
                headers={"content-length": str(len(VIDEO)), "accept-ranges": "bytes"},
            )
        start = int(request.headers["range"].removeprefix("bytes=").rstrip("-"))
        return respond(
            206,
            content=VIDEO[start:],
            headers={"content-range": f"bytes {start}-{len(VIDEO) - 1}/{len(VIDEO)}"},
        )

    server = Server(answer)
    client = make_client(server)

    result = await client.download_content("video_1", tmp_path / "v.mp4")

    assert [r.headers.get("range") for r in server.requests] == [None, f"bytes={cut_at}-"]
    assert (tmp_path / "v.mp4").read_bytes() == VIDEO
    assert result.sha256 == hashlib.sha256(VIDEO).hexdigest()
    assert list(tmp_path.iterdir()) == [tmp_path / "v.mp4"]


async def test_failed_download_leaves_no_file(make_client, tmp_path):
    server = Server(respond(content=VIDEO[:10], headers={"content-length": str(len(VIDEO))}))
    client = make_client(server, max_retries=1)

    with pytest.raises(APIConnectionError):
        await client.download_content("video_1", tmp_path / "v.mp4")

    assert len(server.requests) == 2
    assert list(tmp_path.iterdir()) == []


async def test_download_from_a_foreign_url_sends_no_credentials(make_client, tmp_path):
    server = Server(respond(content=VIDEO))
    client = make_client(server)

    await client.download_content("video_1", tmp_path / "v.mp4", url="https://cdn.example.com/v")

    request = server.requests[0]
    assert request.url.host == "cdn.example.com"
    assert "authorization" not in request.headers and "x-org" not in request.headers


async def test_wait_with_hint_and_async_on_update(make_client, delays):
    hint = {"openai-poll-after-ms": "100"}
    server = Server(
        respond(body=job("queued"), headers=hint),
        respond(body=job("in_progress", 50), headers=hint),
        respond(body=job("completed", 100)),
    )
    client = make_client(server)
    updates = []

    async def on_update(update):
        updates.append(update.status)

    done = await client.wait("video_1", on_update=on_update)

    assert done.status is VideoStatus.COMPLETED
    assert delays == [0.1, 0.1]
    assert updates == [VideoStatus.QUEUED, VideoStatus.IN_PROGRESS, VideoStatus.COMPLETED]


async def test_wait_backs_off_with_a_sync_on_update(make_client, delays):
    server = Server(
        respond(body=job("queued")),
        respond(body=job("queued")),
        respond(body=job("queued")),
        respond(body=job("completed", 100)),
    )
    client = make_client(server)
    updates = []

    await client.wait("video_1", min_interval=2.0, max_interval=4.0, on_update=updates.append)

    assert delays == [2.0, 3.0, 4.0]
    assert [u.status for u in updates] == [VideoStatus.QUEUED, VideoStatus.COMPLETED]


async def test_wait_failed_and_timeout(make_client):
    failed = make_client(Server(respond(body=job("failed", error={"message": "no"}))))
    with pytest.raises(VideoGenerationFailed):
        await failed.wait("video_1")

    running = make_client(Server(respond(body=job("in_progress", 5))))
    with pytest.raises(VideoTimeoutError):
        await running.wait("video_1", timeout=0)


async def test_list_delete_remix(make_client):
    server = Server(
        respond(body={"object": "list", "data": [JOB], "has_more": False}),
        respond(body={"id": "video_1", "object": "video.deleted", "deleted": True}),
        respond(body={**JOB, "id": "video_2", "remixed_from_video_id": "video_1"}),
    )
    client = make_client(server)

    page = await client.list(limit=1)
    deleted = await client.delete("video_1")
    remixed = await client.remix("video_1", "at night")

    assert ([j.id for j in page.data], page.first_id, page.last_id) == (
        ["video_1"], "video_1", "video_1"
    )  # fmt: skip
    assert deleted.deleted
    assert remixed.remixed_from_video_id == "video_1"
    assert [(r.method, r.url.path) for r in server.requests] == [
        ("GET", "/v1/videos"),
        ("DELETE", "/v1/videos/video_1"),
        ("POST", "/v1/videos/video_1/remix"),
    ]


async def test_repr_hides_the_key(make_client):
    client = make_client(Server(respond()))
    assert KEY not in repr(client) and "org-secret" not in repr(client)


# --- over real HTTP, against the emulator ----------------------------------------------


@pytest.mark.parametrize("dialect", ["openai", "gateway", "seed"])
async def test_t2v_create_wait_download(tmp_path, dialect):
    with run_emulator(dialect=dialect, latency=0.3, fps=4) as base_url:
        async with AsyncVideoGenClient(base_url, "sk-emulator") as client:
            job_ = await client.create(t2v())
            done = await client.wait(job_.id, model="sora-2", min_interval=0.05)
            content = await client.download_content(done.id, tmp_path / "video.mp4")
        stats = get_stats(base_url)

    assert stats["submissions"] == 1
    assert content.sha256 == stats["jobs"][job_.id]["sha256"]
    with av.open(str(content.path)) as container:
        stream = container.streams.video[0]
        assert (stream.width, stream.height) == (1280, 720)
        assert sum(1 for _ in container.decode(stream)) == 16  # 4 s at 4 fps


async def test_dropped_create_answer_is_never_resubmitted():
    with run_emulator(dialect="openai", latency=0.3, fps=4) as base_url:
        set_faults(base_url, create={"script": ["drop"]})
        async with AsyncVideoGenClient(base_url, "sk-emulator") as client:
            with pytest.raises(SubmissionUncertainError):
                await client.create(t2v())
        stats = get_stats(base_url)

    assert (stats["requests"]["create"], stats["submissions"]) == (1, 1)
