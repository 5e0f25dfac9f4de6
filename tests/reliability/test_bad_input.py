"""Bad input: every case is a typed error that names the field, and none makes a paid call.

One table of cases across the model families, the clients and the flows. Each case runs
against two emulators shared by this module (openai and gateway dialects) and compares their
counters before and after:

- local cases (the family, the client or the flow refuses the input) send no request at
  all, so they cannot have paid for anything;
- server-side cases (wrong key, unknown id, expired content, an upload the server finds too
  large) send their one request, and the server's submission count does not move.

A second table feeds hostile job ids (`../../x`, absolute paths, NUL bytes, backslashes)
from a hostile server through `text_to_video`: each video is stored under the storage base
path, or refused, and nothing is ever written outside it.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import io
import json
import threading
import urllib.parse
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from PIL import Image
from plugins.emulator_fixtures import png_bytes
from prefect import flow
from prefect.exceptions import ParameterTypeError

from prefect_videogen.client import VideoGenClient
from prefect_videogen.credentials import VideoGenCredentials
from prefect_videogen.emulator import get_stats, run_emulator
from prefect_videogen.exceptions import (
    AuthenticationError,
    ContentExpiredError,
    InvalidRequestError,
    NotFoundError,
)
from prefect_videogen.families import VideoRequest
from prefect_videogen.flows import generate_batch, image_to_video, text_to_video
from prefect_videogen.images import ImageInput
from prefect_videogen.records import StoredVideo
from prefect_videogen.storage import open_target, render_path
from prefect_videogen.tasks import download_video

pytestmark = pytest.mark.timeout(180)  # the first Prefect case also starts the test server

KEY = "sk-emulator"
#: The emulators take uploads up to this size; the families allow far more.
SERVER_MAX_IMAGE_BYTES = 64 * 1024
URL_IMAGE = ImageInput.from_url("https://images.example.com/cat.png")


@dataclass
class Ctx:
    """What the cases can reach."""

    openai: str
    gateway: str
    expired_openai: str
    expired_gateway: str
    tmp_path: Path

    def client(self, base_url: str | None = None, api_key: str = KEY) -> VideoGenClient:
        return VideoGenClient(base_url or self.openai, api_key, max_retries=0)

    def credentials(self, **options: Any) -> VideoGenCredentials:
        return VideoGenCredentials(base_url=self.openai, api_key=KEY, **options)

    def create(self, **fields: Any) -> Any:
        with self.client() as client:
            return client.create(VideoRequest(**fields))


@dataclass(frozen=True)
class Case:
    """One bad input.

    Attributes:
        id: The test id.
        call: Makes the call that must fail.
        error: The exact exception type expected.
        field: The `InvalidRequestError.field` expected (also looked for in the message).
        names: Words the message must contain (for errors without a `field`).
        network: Whether the call may send requests (server-side cases).
        prefect: Whether the call runs a flow (needs the Prefect test server).
    """

    id: str
    call: Callable[[Ctx], Any]
    error: type[BaseException] = InvalidRequestError
    field: str | None = None
    names: tuple[str, ...] = ()
    network: bool = False
    prefect: bool = False


def _noise_png(width: int, height: int) -> bytes:
    """A PNG that does not compress: random pixels."""
    pixels = np.random.default_rng(7).integers(0, 256, (height, width, 3), dtype=np.uint8)
    buffer = io.BytesIO()
    Image.fromarray(pixels, "RGB").save(buffer, format="PNG")
    return buffer.getvalue()


def _gif(width: int, height: int) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (width, height), (10, 200, 30)).save(buffer, format="GIF")
    return buffer.getvalue()


def _t2v_flow(ctx: Ctx, **options: Any) -> Any:
    arguments = {
        "prompt": "a heron in the reeds",
        "model": "emu-video",
        "seconds": 2,
        "size": "64x64",
        "credentials": ctx.credentials(),
        "storage": str(ctx.tmp_path / "videos"),
        **options,
    }
    return text_to_video(**arguments)


def _a_file(ctx: Ctx) -> Path:
    """A regular file, where a folder is expected."""
    path = ctx.tmp_path / "a-file"
    path.write_text("not a folder")
    return path


def _batch(ctx: Ctx, **options: Any) -> Any:
    arguments = {"credentials": ctx.credentials(), "storage": str(ctx.tmp_path / "videos")}
    return asyncio.run(generate_batch(**{**arguments, **options}))


def _good_entry(n: int) -> dict[str, Any]:
    return {"prompt": f"a good entry {n}", "model": "emu-video", "seconds": 2, "size": "64x64"}


def _manifest(ctx: Ctx, text: str, name: str = "videos.csv") -> str:
    path = ctx.tmp_path / name
    path.write_text(text)
    return str(path)


def _empty_file(ctx: Ctx) -> str:
    path = ctx.tmp_path / "empty.png"
    path.write_bytes(b"")
    return str(path)


def _download(ctx: Ctx, base_url: str, job_id: str) -> Any:
    with ctx.client(base_url) as client:
        return client.download_content(job_id, ctx.tmp_path / "out" / "video.mp4")


CASES = [
    # -- model family parameters ---------------------------------------------------------
    Case(
        "sora-unknown-param",
        lambda c: c.create(model="sora-2", prompt="x", params={"watermark": True}),
        field="params.watermark",
    ),
    Case(
        "wan-unknown-param",
        lambda c: c.create(model="wan2.5-t2v-preview", prompt="x", params={"sead": 1}),
        field="params.sead",
    ),
    Case(
        "wan-zero-seed-the-gateway-would-drop",
        lambda c: c.create(model="wan2.5-t2v-preview", prompt="x", params={"seed": 0}),
        field="params.seed",
    ),
    Case(
        "kling-bad-mode",
        lambda c: c.create(model="kling-v2-master", prompt="x", params={"mode": "ultra"}),
        field="params.mode",
    ),
    Case(
        "kling-camera-zoom-out-of-range",
        lambda c: c.create(
            model="kling-v2-master",
            prompt="x",
            params={"camera_control": {"type": "simple", "config": {"zoom": 50}}},
        ),
        field="params.camera_control.config.zoom",
    ),
    Case(
        "vidu-bad-movement",
        lambda c: c.create(
            model="vidu2.0",
            prompt="x",
            first_frame=URL_IMAGE,
            params={"movement_amplitude": "huge"},
        ),
        field="params.movement_amplitude",
    ),
    Case(
        "jimeng-unknown-param",
        lambda c: c.create(model="jimeng_vgfm_t2v_l20", prompt="x", params={"sede": 1}),
        field="params.sede",
    ),
    Case(
        "generic-params-not-json",
        lambda c: c.create(model="emu-video", prompt="x", params={"when": object()}),
        field="params.when",
    ),
    # -- size / duration not allowed for the model ----------------------------------------
    Case("sora-size", lambda c: c.create(model="sora-2", prompt="x", size="640x480"), field="size"),
    Case(
        "sora-pro-only-size",
        lambda c: c.create(model="sora-2", prompt="x", size="1792x1024"),
        field="size",
    ),
    Case(
        "sora-seconds", lambda c: c.create(model="sora-2", prompt="x", seconds=5), field="seconds"
    ),
    Case(
        "wan-i2v-tier",
        lambda c: c.create(
            model="wan2.2-i2v-flash", prompt="x", first_frame=URL_IMAGE, size="1080P"
        ),
        field="size",
    ),
    Case(
        "wan-i2v-seconds",
        lambda c: c.create(model="wan2.2-i2v-flash", prompt="x", first_frame=URL_IMAGE, seconds=10),
        field="seconds",
    ),
    Case(
        "kling-ratio",
        lambda c: c.create(model="kling-v2-master", prompt="x", size="1000x700"),
        field="size",
    ),
    Case(
        "vidu-8s-needs-720p",
        lambda c: c.create(
            model="vidu2.0", prompt="x", first_frame=URL_IMAGE, seconds=8, size="1080p"
        ),
        field="size",
    ),
    Case(
        "viduq1-seconds", lambda c: c.create(model="viduq1", prompt="x", seconds=4), field="seconds"
    ),
    Case(
        "generic-zero-seconds",
        lambda c: c.create(model="emu-video", prompt="x", seconds=0),
        field="seconds",
    ),
    Case(
        "generic-size-words",
        lambda c: c.create(model="emu-video", prompt="x", size="big"),
        field="size",
    ),
    # -- modes ------------------------------------------------------------------------------
    Case(
        "i2v-model-without-image",
        lambda c: c.create(model="wan2.2-i2v-flash", prompt="x"),
        field="first_frame",
    ),
    Case(
        "last-frame-without-first",
        lambda c: c.create(model="emu-video", prompt="x", last_frame=URL_IMAGE),
        field="first_frame",
    ),
    Case(
        "sora-keyframe",
        lambda c: c.create(model="sora-2", prompt="x", first_frame=URL_IMAGE, last_frame=URL_IMAGE),
        field="last_frame",
    ),
    # -- images ---------------------------------------------------------------------------
    Case(
        "sora-image-not-the-video-size",
        lambda c: c.create(
            model="sora-2",
            prompt="x",
            size="1280x720",
            first_frame=ImageInput.from_bytes(png_bytes(640, 480)),
        ),
        field="first_frame",
    ),
    Case(
        "sora-image-by-url-cannot-upload",
        lambda c: c.create(model="sora-2", prompt="x", first_frame=URL_IMAGE),
        field="first_frame",
    ),
    Case(
        "image-not-an-image",
        lambda c: c.create(
            model="sora-2", prompt="x", first_frame=ImageInput.from_bytes(b"plain text, no image")
        ),
        field="first_frame",
    ),
    Case(
        "image-truncated-png",
        lambda c: c.create(
            model="sora-2",
            prompt="x",
            first_frame=ImageInput.from_bytes(png_bytes(1280, 720)[:64]),
        ),
        field="first_frame",
    ),
    Case(
        "image-gif-not-taken",
        lambda c: c.create(
            model="sora-2", prompt="x", first_frame=ImageInput.from_bytes(_gif(720, 1280))
        ),
        field="first_frame",
    ),
    Case(
        "image-bad-data-url",
        lambda c: c.create(
            model="sora-2",
            prompt="x",
            first_frame=ImageInput(url="data:image/png;base64,@@not-base64@@"),
        ),
        field="first_frame",
    ),
    Case(
        "image-ftp-url",
        lambda c: c.create(
            model="emu-video", prompt="x", first_frame=ImageInput(url="ftp://example.com/a.png")
        ),
        field="first_frame",
    ),
    Case(
        "kling-image-too-small",
        lambda c: c.create(
            model="kling-v2-master",
            prompt="x",
            first_frame=ImageInput.from_bytes(png_bytes(100, 100)),
        ),
        field="first_frame",
    ),
    Case(
        "jimeng-image-too-large",
        lambda c: c.create(
            model="jimeng_vgfm_i2v_l20",
            prompt="x",
            first_frame=ImageInput.from_bytes(b"\x89PNG\r\n\x1a\n" + bytes(5 * 1024 * 1024)),
        ),
        field="first_frame",
    ),
    Case(
        "image-file-missing",
        lambda c: image_to_video("x", image=str(c.tmp_path / "missing.png"), model="emu-video"),
        field="image",
        prefect=True,
    ),
    Case(
        "image-file-empty",
        lambda c: image_to_video("x", image=_empty_file(c), model="emu-video"),
        field="image",
        prefect=True,
    ),
    # -- metadata ---------------------------------------------------------------------------
    Case(
        "metadata-datetime-not-json",
        lambda c: c.create(model="emu-video", prompt="x", metadata={"when": dt.datetime.now()}),
        field="metadata.when",
    ),
    Case(
        "metadata-nan-not-json",
        lambda c: c.create(model="sora-2", prompt="x", metadata={"score": float("nan")}),
        field="metadata.score",
    ),
    Case(
        "manifest-metadata-not-json",
        lambda c: _batch(
            c,
            manifest=_manifest(c, 'prompt,model,metadata\na fox,emu-video,"{not json"\n'),
        ),
        field="manifest.metadata",
        prefect=True,
    ),
    # -- prompt and model -----------------------------------------------------------------
    Case("empty-prompt", lambda c: c.create(model="sora-2", prompt=""), field="prompt"),
    Case("blank-prompt", lambda c: c.create(model="kling-v1", prompt="   \n"), field="prompt"),
    Case(
        "prompt-too-long",
        lambda c: c.create(model="viduq2", prompt="x" * 2001),
        field="prompt",
    ),
    Case("empty-model", lambda c: c.create(model="", prompt="x"), field="model"),
    Case("model-with-blanks", lambda c: c.create(model=" sora-2", prompt="x"), field="model"),
    Case(
        "flow-empty-prompt",
        lambda c: _t2v_flow(c, prompt=""),
        field="prompt",
        prefect=True,
    ),
    # -- the client's own arguments -------------------------------------------------------
    Case(
        "key-with-a-line-break",
        lambda c: VideoGenClient(c.openai, "sk-abc\nX-Injected: 1"),
        field="api_key",
    ),
    Case(
        "base-url-not-http",
        lambda c: VideoGenClient("ftp://example.com/v1", KEY),
        field="base_url",
    ),
    Case("empty-video-id", lambda c: c.client().retrieve(""), field="video_id"),
    Case("list-limit", lambda c: c.client().list(limit=1000), field="limit"),
    Case(
        "download-variant",
        lambda c: c.client().download_content("video_1", c.tmp_path / "v.bin", variant="gif"),
        field="variant",
    ),
    Case(
        "empty-idempotency-key",
        lambda c: c.client().create(VideoRequest(model="sora-2", prompt="x"), idempotency_key=""),
        field="idempotency_key",
    ),
    Case(
        "poll-intervals-reversed",
        lambda c: c.client().wait("video_1", min_interval=5, max_interval=1),
        field="min_interval",
    ),
    # -- the flows' own arguments ---------------------------------------------------------
    Case(
        "flow-credentials-not-a-block",
        lambda c: _t2v_flow(c, credentials=12345),
        error=ParameterTypeError,  # Prefect checks the flow's parameter types first
        names=("credentials",),
        prefect=True,
    ),
    Case(
        "flow-storage-not-a-block",
        lambda c: _t2v_flow(c, storage=12345),
        field="storage",
        prefect=True,
    ),
    Case(
        "flow-storage-block-missing",
        lambda c: _t2v_flow(c, storage="local-file-system/videogen-no-such-block"),
        field="storage",
        names=("videogen-no-such-block",),
        prefect=True,
    ),
    Case(
        "flow-storage-slug-typo",
        lambda c: _t2v_flow(c, storage="s3-buckt/videos"),
        field="storage",
        names=("s3-buckt", "./s3-buckt/videos"),
        prefect=True,
    ),
    Case(
        "flow-storage-not-writable",
        lambda c: _t2v_flow(c, storage=str(_a_file(c) / "videos")),
        field="storage",
        names=("nothing was submitted",),
        prefect=True,
    ),
    Case(
        "flow-credentials-block-missing",
        lambda c: _t2v_flow(c, credentials="videogen-no-such-credentials"),
        field="credentials",
        names=("videogen-no-such-credentials",),
        prefect=True,
    ),
    Case(
        "flow-path-template-unknown-field",
        lambda c: _t2v_flow(c, path_template="{user}/{job_id}.mp4"),
        field="path_template",
        prefect=True,
    ),
    Case(
        "flow-path-template-leaves-the-block",
        lambda c: _t2v_flow(c, path_template="../../{job_id}.mp4"),
        field="path_template",
        prefect=True,
    ),
    Case(
        "batch-one-bad-entry-pays-for-none",
        lambda c: _batch(
            c,
            requests=[
                _good_entry(0),
                _good_entry(1),
                _good_entry(2),
                {**_good_entry(3), "size": "1x1x1"},
                _good_entry(4),
            ],
        ),
        field="requests[3].size",
        prefect=True,
    ),
    Case(
        "batch-unknown-key",
        lambda c: _batch(c, requests=[{**_good_entry(0), "sise": "64x64"}]),
        field="requests[0]",
        names=("sise",),
        prefect=True,
    ),
    Case(
        "batch-zero-concurrency",
        lambda c: _batch(c, requests=[_good_entry(0)], max_concurrency=0),
        field="max_concurrency",
        prefect=True,
    ),
    # -- server-side: the request goes out, no job is paid for ----------------------------
    Case(
        "wrong-key",
        lambda c: c.client(api_key="sk-wrong-key").create(
            VideoRequest(model="emu-video", prompt="x", seconds=2, size="64x64")
        ),
        error=AuthenticationError,
        names=("api_key",),
        network=True,
    ),
    Case(
        "unknown-id-openai-404",
        lambda c: c.client().retrieve("video_does_not_exist"),
        error=NotFoundError,
        names=("video_does_not_exist",),
        network=True,
    ),
    Case(
        "unknown-id-gateway-task-not-exist",
        lambda c: c.client(c.gateway).retrieve("task_doesNotExist"),
        error=NotFoundError,
        names=("task_doesNotExist",),
        network=True,
    ),
    Case(
        "expired-content-openai-410",
        lambda c: _download(c, c.openai, c.expired_openai),
        error=ContentExpiredError,
        names=("expired",),
        network=True,
    ),
    Case(
        "expired-content-gateway-502",
        lambda c: _download(c, c.gateway, c.expired_gateway),
        error=ContentExpiredError,
        names=("expired",),
        network=True,
    ),
    Case(
        "oversized-upload",
        lambda c: c.create(
            model="emu-video",
            prompt="x",
            seconds=2,
            size="256x256",
            first_frame=ImageInput.from_bytes(_noise_png(256, 256)),
        ),
        field="input_reference",
        network=True,
    ),
]


@pytest.fixture(scope="module")
def ctx_base(tmp_path_factory) -> Iterator[dict[str, str]]:
    """Two emulators for the whole table, and a finished job on each whose content expired."""
    overrides = {
        "latency": 0.2,
        "fps": 4,
        "poll_after_ms": 50,
        "max_image_bytes": SERVER_MAX_IMAGE_BYTES,
        "faults": {"expire_prompts": ["stale"]},
    }
    with run_emulator(**overrides) as openai, run_emulator(dialect="gateway", **overrides) as gw:
        expired = {}
        for base_url, model in ((openai, "emu-video"), (gw, "kling-v1")):
            with VideoGenClient(base_url, KEY) as client:
                job = client.create(VideoRequest(model=model, prompt="a stale loaf"))
                expired[base_url] = client.wait(job.id, model=model, min_interval=0.05).id
        yield {
            "openai": openai,
            "gateway": gw,
            "expired_openai": expired[openai],
            "expired_gateway": expired[gw],
        }


@pytest.mark.parametrize("case", CASES, ids=[case.id for case in CASES])
def test_bad_input_is_a_typed_error_naming_the_field(case: Case, ctx_base, tmp_path, request):
    if case.prefect:
        request.getfixturevalue("prefect_server")
        request.getfixturevalue("results_dir")
    ctx = Ctx(tmp_path=tmp_path, **ctx_base)
    urls = (ctx.openai, ctx.gateway)
    before = {url: get_stats(url) for url in urls}

    with pytest.raises(Exception) as info:
        case.call(ctx)
    error = info.value
    assert type(error) is case.error, f"expected {case.error.__name__}, got {error!r}"
    if case.field is not None:
        assert error.field == case.field, str(error)
        assert case.field in str(error)
    for word in case.names:
        assert word in str(error)

    for url in urls:
        after = get_stats(url)
        assert after["submissions"] == before[url]["submissions"], "a paid job was submitted"
        if not case.network:
            assert after["requests"] == before[url]["requests"], "a request was sent"
    assert not list((tmp_path / "videos").rglob("*")), "something was stored"


def test_the_table_is_large_enough():
    assert len(CASES) >= 30
    assert len({case.id for case in CASES}) == len(CASES)


# ------------------------------------------------------------------------------ hostile ids


class _HostileServer:
    """A video API whose job ids are hostile: it answers every create with `self.job_id`."""

    def __init__(self, video: bytes) -> None:
        self.job_id = "video_ok"
        self.paths: list[tuple[str, str]] = []
        owner = self

        class Handler(BaseHTTPRequestHandler):
            def _json(self, body: dict) -> None:
                data = json.dumps(body).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def _job(self, status: str) -> dict:
                return {
                    "id": owner.job_id,
                    "object": "video",
                    "model": "emu-video",
                    "status": status,
                    "progress": 100 if status == "completed" else 0,
                    "size": "64x64",
                    "seconds": "2",
                }

            def do_POST(self) -> None:
                self.rfile.read(int(self.headers.get("Content-Length", 0)))
                owner.paths.append(("POST", self.path))
                self._json(self._job("queued"))

            def do_GET(self) -> None:
                owner.paths.append(("GET", self.path))
                path = urllib.parse.urlsplit(self.path).path
                if path.endswith("/content") and "variant=" not in self.path:
                    self.send_response(200)
                    self.send_header("Content-Type", "video/mp4")
                    self.send_header("Content-Length", str(len(video)))
                    self.end_headers()
                    self.wfile.write(video)
                elif path.endswith("/content"):
                    self.send_error(404)
                else:
                    self._json(self._job("completed"))

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.base_url = f"http://127.0.0.1:{self.server.server_address[1]}/v1"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture(scope="module")
def hostile(ctx_base, tmp_path_factory) -> Iterator[_HostileServer]:
    """The hostile server, serving a real MP4 the emulator rendered."""
    request = VideoRequest(model="emu-video", prompt="a real mp4", seconds=2, size="64x64")
    with VideoGenClient(ctx_base["openai"], KEY) as client:
        job = client.wait(client.create(request).id, min_interval=0.05)
        video = client.download_content(job.id, tmp_path_factory.mktemp("hostile") / "v.mp4")
    server = _HostileServer(video.path.read_bytes())
    try:
        yield server
    finally:
        server.close()


HOSTILE_IDS = [
    "../../x",
    "../../../../../../tmp/escaped",
    "/etc/passwd",
    "..",
    ".",
    "a/../../b",
    "..\\..\\windows\\x",
    "C:\\Windows\\system32\\x",
    "x\x00y",
    "%2e%2e%2fx",
    "~root/.ssh/authorized_keys",
    "video_\n_newline",
]


@pytest.mark.usefixtures("prefect_server", "results_dir")
@pytest.mark.parametrize("job_id", HOSTILE_IDS, ids=lambda i: repr(i))
def test_hostile_job_ids_never_write_outside_the_storage(job_id, hostile, tmp_path, run_nonce):
    hostile.job_id = job_id
    hostile.paths.clear()
    base = tmp_path / "sandbox" / "videos"
    credentials = VideoGenCredentials(base_url=hostile.base_url, api_key=KEY)
    try:
        stored = text_to_video(
            f"hostile {run_nonce} {job_id!r}",
            model="emu-video",
            seconds=2,
            size="64x64",
            credentials=credentials,
            storage=str(base),
            probe=False,
        )
    except InvalidRequestError:
        stored = None
    if stored is not None:
        assert isinstance(stored, StoredVideo) and stored.job_id == job_id
        location = Path(stored.location).resolve()
        assert location.is_relative_to(base.resolve()) and location.is_file()
        assert "\x00" not in stored.path and ".." not in stored.path.split("/")
    written = [p for p in tmp_path.rglob("*") if p.is_file()]
    assert all(p.resolve().is_relative_to(base.resolve()) for p in written), written
    for escaped in ("/tmp/escaped", "/etc/passwd", "/b", "/x"):
        assert not any(Path(escaped).parent.glob(Path(escaped).name + ".mp4*")), escaped
    # Every request went where it should: the id travelled as one escaped path segment,
    # never collapsed by dot-segment normalization into another endpoint.
    assert hostile.paths[0] == ("POST", "/v1/videos")
    for method, target in hostile.paths[1:]:
        path = urllib.parse.urlsplit(target).path
        assert method == "GET" and path.startswith("/v1/videos/"), (method, target)
        segment = path.removeprefix("/v1/videos/").removesuffix("/content")
        assert "/" not in segment and urllib.parse.unquote(segment) == job_id, (method, target)


@pytest.mark.parametrize("job_id", HOSTILE_IDS, ids=lambda i: repr(i))
def test_rendered_paths_stay_inside_the_block(job_id, tmp_path):
    from prefect.filesystems import LocalFileSystem

    path = render_path("{model}/{date}/{job_id}.mp4", model="emu-video", job_id=job_id)
    block = LocalFileSystem(basepath=str(tmp_path / "videos"))
    with open_target(block, path) as target:
        assert target.local_path.resolve().is_relative_to((tmp_path / "videos").resolve())


@pytest.mark.parametrize("path", ["../escape.mp4", "a/../../escape.mp4", "/abs/escape.mp4"])
def test_a_path_outside_the_block_is_refused(path, tmp_path):
    from prefect.filesystems import LocalFileSystem

    block = LocalFileSystem(basepath=str(tmp_path / "videos"))
    with pytest.raises(InvalidRequestError) as info, open_target(block, path):
        pass
    assert info.value.field == "path"


def test_download_task_with_a_hostile_bare_id_stays_inside(hostile, tmp_path, request):
    request.getfixturevalue("prefect_server")
    hostile.job_id = "../../outside"
    base = tmp_path / "sandbox" / "videos"

    @flow
    def fetch() -> StoredVideo:
        credentials = VideoGenCredentials(base_url=hostile.base_url, api_key=KEY)
        return download_video("../../outside", credentials, storage=str(base), model="emu-video")

    stored = fetch()
    assert Path(stored.location).resolve().is_relative_to(base.resolve())
    assert not (tmp_path / "outside").exists() and not (tmp_path / "sandbox" / "outside").exists()
