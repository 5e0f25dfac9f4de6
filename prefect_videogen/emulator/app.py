"""The emulator's HTTP routes (Starlette), wired to the store, the dialect and the faults.

API (base URL `http://host:port/v1`):

    POST   /v1/videos                      create (JSON or multipart; `Idempotency-Key` honoured
                                           unless `idempotency=False`)
    GET    /v1/videos                      list (`after`, `limit`, `order`)
    GET    /v1/videos/{id}                 retrieve
    DELETE /v1/videos/{id}                 delete
    POST   /v1/videos/{id}/remix           remix (`{"prompt": ...}`)
    GET    /v1/videos/{id}/content         download (`variant=video|thumbnail|spritesheet`, Range)
    GET    /files/{token}/{id}.mp4         CDN-like link of the gateway/seed dialects (no auth)

The gateway dialect has no list or delete route. Unknown paths answer 404 "Invalid URL
(METHOD /path)"; a known path asked with another method answers 405 with a complete
`Allow` header (openai, seed) or 404 like any unknown route (gateway, as gin does).

Test control (no auth): `GET /emulator/stats`, `POST /emulator/reset` (jobs, counters and
faults back to the start), `GET|POST /emulator/faults` (replace the FaultConfig),
`GET /emulator/health`, `GET /emulator/config` (without the key).

Every `/v1` route checks `Authorization: Bearer <key>` (constant-time) before anything
else, then asks the fault injector; a fault on `create` is decided before the body is
read, so a 429/5xx never creates a job; the `accepted_*` faults act after the handler,
so the job exists and only the answer is lost (a proxy's 502/504 page, a 500/503, a dropped
connection, an answer later than the client waits). With `per_key_jobs` each key (account)
sees only its own jobs. Image URLs are fetched only from loopback hosts
(127.0.0.0/8, localhost, ::1); data: URLs and base64 are decoded in place.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import contextlib
import hashlib
import hmac
import ipaddress
import json
import secrets
import time
import urllib.parse
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import anyio
import httpx
from PIL import Image
from pydantic import ValidationError
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from prefect_videogen.emulator.config import ACCEPTED_FAULTS, EmulatorConfig, FaultConfig
from prefect_videogen.emulator.decode import RawRequest, read_body
from prefect_videogen.emulator.dialects import DIALECTS, Dialect, json_response
from prefect_videogen.emulator.faults import FaultDecision, FaultInjector
from prefect_videogen.emulator.render import RenderSpec, decode_image
from prefect_videogen.emulator.responses import DroppedResponse, FileStream, install_log_filter
from prefect_videogen.emulator.store import Job, Store, new_job_id
from prefect_videogen.emulator.validation import (
    ImageRef,
    JobRequest,
    Rejection,
    decode_base64,
    finalize,
    normalize,
    parse_remix,
)

__all__ = ["Emulator", "create_app"]

_VARIANTS = {
    "video": ("video/mp4", "mp4"),
    "thumbnail": ("image/webp", "webp"),
    "spritesheet": ("image/jpeg", "jpg"),
}


def _is_loopback(host: str | None) -> bool:
    if not host:
        return False
    host = host.strip("[]").lower()
    if host == "localhost" or host.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _shorten(value: Any) -> Any:
    """Long strings (base64 images) cut down for the stats document."""
    if isinstance(value, str) and len(value) > 200:
        return f"{value[:60]}...<{len(value)} chars>"
    if isinstance(value, dict):
        return {k: _shorten(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_shorten(v) for v in value]
    return value


def _account_label(key: bytes) -> str:
    """A short, non-reversible label of an API key: how stats and jobs name an account."""
    return "acct-" + hashlib.sha256(key).hexdigest()[:8]


def _proxy_page(status: int) -> Response:
    """The HTML page a reverse proxy (nginx) answers when it loses its upstream's answer."""
    title = {502: "502 Bad Gateway", 504: "504 Gateway Time-out"}[status]
    body = (
        f"<html>\r\n<head><title>{title}</title></head>\r\n<body>\r\n"
        f"<center><h1>{title}</h1></center>\r\n<hr><center>nginx</center>\r\n"
        "</body>\r\n</html>\r\n"
    )
    return Response(body, status_code=status, media_type="text/html")


def _fingerprint(raw: RawRequest) -> str:
    doc = {
        "encoding": raw.encoding,
        "fields": raw.fields,
        "files": {
            name: [hashlib.sha256(u.data).hexdigest() for u in uploads]
            for name, uploads in raw.files.items()
        },
    }
    return hashlib.sha256(json.dumps(doc, sort_keys=True, default=str).encode()).hexdigest()


class Emulator:
    """One emulator instance: configuration, dialect, store, faults and the route handlers."""

    def __init__(self, config: EmulatorConfig) -> None:
        self.config = config
        self.dialect: Dialect = DIALECTS[config.dialect]()
        self.store = Store(config)
        self.injector = FaultInjector(config.faults)
        self._key = config.api_key.get_secret_value().encode() if config.api_key else None
        self._keys = [self._key] if self._key else []
        self._keys += [k.get_secret_value().encode() for k in config.extra_api_keys]
        self._http: httpx.AsyncClient | None = None

    # ------------------------------------------------------------------ plumbing

    def _auth(self, request: Request) -> Response | None:
        if self._key is None:
            return None
        scheme, _, token = request.headers.get("authorization", "").partition(" ")
        if scheme.lower() == "bearer" and any(
            hmac.compare_digest(token.strip().encode(), key) for key in self._keys
        ):
            return None
        return self.dialect.unauthorized()

    def _account(self, request: Request) -> str | None:
        """The account (a label of the key) a request comes from; None without auth."""
        if self._key is None:
            return None
        token = request.headers.get("authorization", "").partition(" ")[2].strip()
        return _account_label(token.encode())

    def _visible(self, request: Request, job_id: str | None) -> Job | None:
        """The job if it exists and (with `per_key_jobs`) belongs to the caller's key."""
        job = self.store.get(job_id) if job_id else None
        if job is not None and self.config.per_key_jobs and job.owner != self._account(request):
            return None
        return job

    def _idempotency_key(self, request: Request) -> str | None:
        if not self.config.idempotency:
            return None  # ignored, as most real servers do
        return request.headers.get("idempotency-key") or None

    async def _after_accept(
        self, response: Response, decision: FaultDecision, endpoint: str
    ) -> Response:
        """The answer of a request that was served, as an `accepted_*` fault spoils it."""
        kind = decision.kind
        if kind == "accepted_slow":
            await asyncio.sleep(decision.delay)
            return response
        if kind == "accepted_drop":
            return DroppedResponse(response, decision.drop_after)
        status = int(kind.removeprefix("accepted_"))
        if status in (502, 504):
            return _proxy_page(status)
        return self.dialect.fault(
            str(status), endpoint=endpoint, retry_after=self.store.faults.retry_after
        )

    async def _fault(self, endpoint: str) -> tuple[Response | None, FaultDecision]:
        decision = self.injector.decide(endpoint)
        if decision.kind != "ok":
            self.store.stats.fault(endpoint, decision.kind)
        if decision.kind == "slow":
            await asyncio.sleep(decision.delay)
        if decision.kind in ("429", "500", "503"):
            response = self.dialect.fault(
                decision.kind, endpoint=endpoint, retry_after=self.store.faults.retry_after
            )
            return response, decision
        return None, decision

    async def _serve(
        self,
        request: Request,
        endpoint: str,
        handler: Callable[[Request, FaultDecision], Awaitable[Response]],
        *,
        auth: bool = True,
        counter: str | None = None,
    ) -> Response:
        """Count, authenticate, inject the endpoint's fault, run the handler, maybe drop."""
        self.store.stats.requests[counter or endpoint] += 1
        if auth and (denied := self._auth(request)) is not None:
            return denied
        fault, decision = await self._fault(endpoint)
        if fault is not None:
            return fault
        response = await handler(request, decision)
        if decision.kind in ACCEPTED_FAULTS and not isinstance(response, FileStream):
            return await self._after_accept(response, decision, endpoint)
        if decision.kind == "drop" and not isinstance(response, FileStream):
            return DroppedResponse(response, decision.drop_after)
        return response

    @staticmethod
    def _root(request: Request) -> str:
        return str(request.base_url).rstrip("/")

    def _job_response(self, request: Request, job: Job, *, created: bool = False) -> Response:
        state = self.store.state(job, observe=not created)
        root = self._root(request)
        if created:
            body = self.dialect.created(job, state, root=root)
            status = self.dialect.create_status
        else:
            body = self.dialect.job(job, state, root=root)
            status = 200
        headers = {}
        unfinished = created or state.status in ("queued", "in_progress")
        if self.dialect.poll_header and unfinished:
            headers["openai-poll-after-ms"] = str(self.config.poll_hint_ms())
        return json_response(body, status, headers)

    # ------------------------------------------------------------------ images

    async def _image(self, ref: ImageRef) -> tuple[Image.Image, str, dict[str, Any]]:
        if ref.data is not None:
            data = ref.data
        elif ref.url is not None and ref.url[:5].lower() == "data:":
            data = self._data_url(ref)
        elif ref.url is not None:
            data = await self._fetch(ref)
        else:
            data = decode_base64(ref)
        limit = self.config.max_image_bytes
        if len(data) > limit:
            raise Rejection(
                f"{ref.field}: the image is {len(data)} bytes; the limit is {limit} bytes.",
                field=ref.field,
                code="image_too_large",
                status=413,
            )
        try:
            image = await anyio.to_thread.run_sync(decode_image, data)
        except Exception:
            raise Rejection(
                f"{ref.field}: the data is not a decodable image (JPEG, PNG, WEBP, BMP, GIF).",
                field=ref.field,
                code="invalid_image",
            ) from None
        digest = hashlib.sha256(data).hexdigest()
        info = {
            "field": ref.field,
            "source": _shorten(ref.describe()),
            "sha256": digest,
            "width": image.width,
            "height": image.height,
            "bytes": len(data),
        }
        return image, digest, info

    @staticmethod
    def _data_url(ref: ImageRef) -> bytes:
        assert ref.url is not None
        header, sep, payload = ref.url.partition(",")
        if not sep:
            raise Rejection(
                f"{ref.field}: malformed data: URL (no comma).",
                field=ref.field,
                code="invalid_image",
            )
        try:
            if ";base64" in header.lower():
                return base64.b64decode(payload, validate=False)
            return urllib.parse.unquote_to_bytes(payload)
        except (binascii.Error, ValueError):
            raise Rejection(
                f"{ref.field}: the data: URL holds invalid base64.",
                field=ref.field,
                code="invalid_image",
            ) from None

    async def _fetch(self, ref: ImageRef) -> bytes:
        assert ref.url is not None
        host = urllib.parse.urlsplit(ref.url).hostname
        if not _is_loopback(host):
            raise Rejection(
                f"{ref.field}: the emulator fetches image URLs only from loopback hosts "
                f"(127.0.0.0/8, localhost, ::1) or data: URLs; host {host!r} is not allowed. "
                "Serve the image on 127.0.0.1 or send it as a data: URL.",
                field=ref.field,
                code="image_url_not_allowed",
            )
        if self._http is None:
            self._http = httpx.AsyncClient(timeout=10.0, follow_redirects=False, trust_env=False)
        limit = self.config.max_image_bytes
        try:
            async with self._http.stream("GET", ref.url) as response:
                if response.status_code != 200:
                    raise Rejection(
                        f"{ref.field}: fetching {ref.url} answered HTTP {response.status_code}.",
                        field=ref.field,
                        code="image_fetch_failed",
                    )
                buffer = bytearray()
                async for chunk in response.aiter_bytes():
                    buffer += chunk
                    if len(buffer) > limit:
                        raise Rejection(
                            f"{ref.field}: the image at {ref.url} is larger than {limit} bytes.",
                            field=ref.field,
                            code="image_too_large",
                            status=413,
                        )
                return bytes(buffer)
        except httpx.HTTPError as exc:
            raise Rejection(
                f"{ref.field}: could not fetch {ref.url}: {type(exc).__name__}: {exc}",
                field=ref.field,
                code="image_fetch_failed",
            ) from None

    # ------------------------------------------------------------------ job creation

    def _replay(self, request: Request, key: str, fingerprint: str) -> Response | None:
        job = self._visible(request, self.store.idempotency.get(key))
        if job is None:
            return None
        if job.fingerprint != fingerprint:
            return self.dialect.rejection(
                Rejection(
                    f"Idempotency-Key {key!r} was already used with a different request "
                    "body; use a new key for a new request.",
                    field="Idempotency-Key",
                    code="idempotency_key_reused",
                )
            )
        job.replays += 1
        self.store.stats.idempotent_replays += 1
        return self._job_response(request, job, created=True)

    def _register(
        self,
        job_request: JobRequest,
        *,
        width: int,
        height: int,
        images: list[tuple[Image.Image, str, dict[str, Any]] | None],
        key: str | None,
        fingerprint: str,
        remixed_from: str | None = None,
        summary: dict[str, Any],
        owner: str | None = None,
    ) -> Job:
        failure, expiry = self.injector.plan_job()
        now = time.time()
        job = Job(
            id=new_job_id(self.dialect.name),
            model=job_request.model,
            prompt=job_request.prompt,
            seconds=job_request.seconds,
            width=width,
            height=height,
            mode=job_request.mode,
            family=job_request.family,
            created_at=now,
            started=time.monotonic(),
            latency=self.config.latency,
            render_key=None,
            file_token=secrets.token_urlsafe(18),
            request=summary,
            remixed_from=remixed_from,
            planned_failure=failure,
            planned_expiry=expiry,
            idempotency_key=key,
            fingerprint=fingerprint,
            owner=owner,
        )
        self.store.add(job)
        if failure is None:
            scale = self.config.render_scale
            spec = RenderSpec(
                prompt=job_request.prompt,
                width=max(16, round(width * scale / 2) * 2),
                height=max(16, round(height * scale / 2) * 2),
                seconds=job_request.seconds,
                fps=self.config.fps,
                pad_to=self.config.pad_content_to,
            )
            first, last = images
            self.store.plan_render(
                job,
                spec,
                (first[0] if first else None, last[0] if last else None),
                (first[1] if first else None, last[1] if last else None),
            )
        return job

    @staticmethod
    def _summary(
        raw: RawRequest,
        job_request: JobRequest,
        images: list[tuple[Image.Image, str, dict[str, Any]] | None],
        key: str | None,
    ) -> dict[str, Any]:
        return {
            "encoding": raw.encoding,
            "fields": sorted(raw.fields),
            "files": {name: len(uploads) for name, uploads in raw.files.items()},
            "model": job_request.model,
            "prompt": job_request.prompt,
            "requested_size": _shorten(raw.fields.get("size")),
            "requested_seconds": _shorten(raw.fields.get("seconds")),
            "requested_duration": _shorten(raw.fields.get("duration")),
            "family": job_request.family,
            "mode": job_request.mode,
            "images": [info for _, _, info in (i for i in images if i is not None)],
            "metadata": _shorten(job_request.metadata),
            "extra": job_request.extra,
            "idempotency_key": key,
        }

    # ------------------------------------------------------------------ routes

    async def create(self, request: Request) -> Response:
        """POST /v1/videos."""
        return await self._serve(request, "create", self._create)

    async def _create(self, request: Request, decision: FaultDecision) -> Response:
        key = self._idempotency_key(request)
        try:
            raw = await read_body(request, max_image_bytes=self.config.max_image_bytes)
            fingerprint = _fingerprint(raw)
            if key and (replay := self._replay(request, key, fingerprint)) is not None:
                return replay
            model = raw.fields.get("model")
            if isinstance(model, str) and model in self.config.unservable_models:
                refused = self.dialect.unservable(model)
                if refused is not None:
                    self.store.stats.rejected += 1
                    return refused
            job_request = normalize(
                raw, dialect=self.dialect.name, max_seconds=self.config.max_seconds
            )
            images = [
                await self._image(ref) if ref is not None else None
                for ref in (job_request.first, job_request.last)
            ]
            first = images[0]
            width, height = finalize(
                job_request,
                first[0].size if first else None,
                max_dimension=self.config.max_dimension,
            )
        except Rejection as rejection:
            self.store.stats.rejected += 1
            return self.dialect.rejection(rejection)
        if key and (replay := self._replay(request, key, fingerprint)) is not None:
            return replay  # a concurrent request with the same key won the race
        job = self._register(
            job_request,
            width=width,
            height=height,
            images=images,
            key=key,
            fingerprint=fingerprint,
            summary=self._summary(raw, job_request, images, key),
            owner=self._account(request),
        )
        return self._job_response(request, job, created=True)

    async def remix(self, request: Request) -> Response:
        """POST /v1/videos/{id}/remix."""
        return await self._serve(request, "remix", self._remix)

    async def _remix(self, request: Request, decision: FaultDecision) -> Response:
        source = self._visible(request, request.path_params["video_id"])
        if source is None:
            return self.dialect.not_found(request.path_params["video_id"], endpoint="remix")
        state = self.store.state(source, observe=True)
        if state.status != "completed" or (
            self.dialect.name == "gateway" and source.family != "sora"
        ):
            return self.dialect.bad_state(source, state, "remixed")
        key = self._idempotency_key(request)
        try:
            raw = await read_body(request, max_image_bytes=self.config.max_image_bytes)
            prompt = parse_remix(raw.fields, dialect=self.dialect.name)
        except Rejection as rejection:
            self.store.stats.rejected += 1
            return self.dialect.rejection(rejection)
        fingerprint = _fingerprint(raw) + source.id
        if key and (replay := self._replay(request, key, fingerprint)) is not None:
            return replay
        job_request = JobRequest(
            family=source.family,
            model=source.model,
            prompt=prompt,
            seconds=source.seconds,
            candidates=[(source.width, source.height)],
        )
        job = self._register(
            job_request,
            width=source.width,
            height=source.height,
            images=[None, None],
            key=key,
            fingerprint=fingerprint,
            remixed_from=source.id,
            summary={**self._summary(raw, job_request, [None, None], key), "remix_of": source.id},
            owner=self._account(request),
        )
        return self._job_response(request, job, created=True)

    async def retrieve(self, request: Request) -> Response:
        """GET /v1/videos/{id}."""
        return await self._serve(request, "retrieve", self._retrieve)

    async def _retrieve(self, request: Request, decision: FaultDecision) -> Response:
        job = self._visible(request, request.path_params["video_id"])
        if job is None:
            return self.dialect.not_found(request.path_params["video_id"], endpoint="retrieve")
        job.polls += 1
        self.store.stats.polls += 1
        return self._job_response(request, job)

    async def list_videos(self, request: Request) -> Response:
        """GET /v1/videos."""
        return await self._serve(request, "list", self._list)

    async def _list(self, request: Request, decision: FaultDecision) -> Response:
        params = request.query_params
        order = params.get("order", "desc")
        if order not in ("asc", "desc"):
            return self.dialect.error(
                400,
                f"Invalid 'order': {order!r}; use 'asc' or 'desc'.",
                param="order",
                code="invalid_value",
            )
        try:
            limit = int(params.get("limit", "20"))
            if not 0 <= limit <= 100:
                raise ValueError
        except ValueError:
            return self.dialect.error(
                400,
                f"Invalid 'limit': {params.get('limit')!r}; use an integer from 0 to 100.",
                param="limit",
                code="invalid_value",
            )
        jobs = self.store.ordered()
        if self.config.per_key_jobs:
            account = self._account(request)
            jobs = [job for job in jobs if job.owner == account]
        if order == "desc":
            jobs.reverse()
        after = params.get("after")
        start = 0
        if after:
            ids = [job.id for job in jobs]
            start = ids.index(after) + 1 if after in ids else len(jobs)
        page = jobs[start : start + limit]
        root = self._root(request)
        objects = [
            self.dialect.job(job, self.store.state(job, observe=True), root=root) for job in page
        ]
        body = self.dialect.page(objects, has_more=start + limit < len(jobs))
        return json_response(body)

    async def delete(self, request: Request) -> Response:
        """DELETE /v1/videos/{id}."""
        return await self._serve(request, "delete", self._delete)

    async def _delete(self, request: Request, decision: FaultDecision) -> Response:
        job = self._visible(request, request.path_params["video_id"])
        if job is None:
            return self.dialect.not_found(request.path_params["video_id"], endpoint="delete")
        self.store.delete(job.id)  # any status: deleting a running job cancels it
        return json_response(self.dialect.deleted(job))

    async def content(self, request: Request) -> Response:
        """GET /v1/videos/{id}/content."""
        return await self._serve(request, "content", self._content)

    async def _content(self, request: Request, decision: FaultDecision) -> Response:
        job = self._visible(request, request.path_params["video_id"])
        if job is None:
            return self.dialect.not_found(request.path_params["video_id"], endpoint="content")
        state = self.store.state(job, observe=True)
        if state.status != "completed" or state.result is None:
            return self.dialect.not_ready(job, state)
        if state.expired:
            return self.dialect.expired(job, state)
        variant = "video"
        if self.dialect.honours_variant:
            variant = request.query_params.get("variant", "video")
            if variant not in _VARIANTS:
                return self.dialect.error(
                    400,
                    f"Invalid 'variant': {variant!r}; use video, thumbnail or spritesheet.",
                    param="variant",
                    code="invalid_value",
                )
        if self.dialect.name == "gateway":
            # new-api's proxy: a bare upstream GET (no Range) under a total time limit.
            headers = {"cache-control": "public, max-age=86400"}
            return self._stream(
                request,
                job,
                state.result,
                variant,
                decision,
                headers,
                ranged=False,
                cutoff=self.config.content_timeout,
            )
        return self._stream(request, job, state.result, variant, decision, {})

    async def files(self, request: Request) -> Response:
        """GET /files/{token}/{name}: the CDN-like link (no auth; `content` faults apply)."""
        return await self._serve(request, "content", self._files, auth=False, counter="files")

    async def _files(self, request: Request, decision: FaultDecision) -> Response:
        job_id = self.store.by_token.get(request.path_params["token"])
        job = self.store.get(job_id) if job_id else None
        state = self.store.state(job, observe=True) if job else None
        if (
            job is None
            or state is None
            or request.path_params["name"] != f"{job.id}.mp4"
            or state.status != "completed"
            or state.result is None
        ):
            return _xml_error(404, "NoSuchKey", "The specified key does not exist.")
        if state.expired:
            return _xml_error(403, "AccessDenied", "Request has expired.")
        headers = {"cache-control": "public, max-age=86400"}
        return self._stream(request, job, state.result, "video", decision, headers)

    def _stream(
        self,
        request,
        job,
        result,
        variant,
        decision,
        headers,
        *,
        ranged: bool = True,
        cutoff: float | None = None,
    ) -> Response:
        media_type, extension = _VARIANTS[variant]
        path = {
            "video": result.video,
            "thumbnail": result.thumbnail,
            "spritesheet": result.spritesheet,
        }[variant]
        if request.method == "GET":
            job.downloads += 1
            self.store.stats.downloads += 1
        size = result.sizes[variant]
        drop_after = None
        if decision.kind == "drop":
            drop_after = (
                decision.drop_after
                if decision.drop_after is not None
                else min(size // 2, 64 * 1024)
            )
        return FileStream(
            path,
            media_type=media_type,
            filename=f"{job.id}.{extension}",
            etag=result.sha256[variant],
            range_header=request.headers.get("range") if ranged else None,
            if_range=request.headers.get("if-range") if ranged else None,
            headers=headers,
            drop_after=drop_after,
            rate=self.config.content_rate,
            cutoff=cutoff,
        )

    # ------------------------------------------------------------------ control

    async def stats(self, request: Request) -> Response:
        """GET /emulator/stats."""
        return json_response(self.store.snapshot())

    async def reset(self, request: Request) -> Response:
        """POST /emulator/reset: jobs, counters and faults back to the start."""
        self.store.reset()
        self.store.faults = self.config.faults
        self.injector.configure(self.config.faults)
        return json_response({"reset": True})

    async def faults(self, request: Request) -> Response:
        """GET /emulator/faults (current) or POST (replace)."""
        if request.method == "POST":
            try:
                body = await request.json() if await request.body() else {}
                faults = FaultConfig.model_validate(body)
            except (ValueError, ValidationError) as exc:
                detail = (
                    json.loads(exc.json(include_url=False))
                    if isinstance(exc, ValidationError)
                    else str(exc)
                )
                return json_response(
                    {"error": {"message": "invalid FaultConfig", "detail": detail}}, 422
                )
            self.store.faults = faults
            self.injector.configure(faults)
        return json_response(self.store.faults.model_dump(mode="json"))

    async def health(self, request: Request) -> Response:
        """GET /emulator/health."""
        return json_response({"ok": True, "dialect": self.dialect.name})

    async def show_config(self, request: Request) -> Response:
        """GET /emulator/config (the API key is not shown)."""
        doc = self.config.model_dump(mode="json", exclude={"api_key"})
        doc["auth"] = self.config.api_key is not None
        return json_response(doc)

    async def close(self) -> None:
        """Close the image fetcher and the store (idempotent)."""
        if self._http is not None:
            await self._http.aclose()
            self._http = None
        await anyio.to_thread.run_sync(self.store.close)


def _xml_error(status: int, code: str, message: str) -> Response:
    body = (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        f"<Error><Code>{code}</Code><Message>{message}</Message></Error>"
    )
    return Response(body, status_code=status, media_type="application/xml")


def create_app(config: EmulatorConfig | None = None, **overrides: Any) -> Starlette:
    """The emulator as an ASGI app (serve it with uvicorn, or use `run_emulator`).

    Args:
        config: The configuration; defaults to `EmulatorConfig()`.
        **overrides: Fields replacing those of `config`, e.g. `dialect="gateway"`.

    Returns:
        A Starlette app; `app.state.emulator` is the `Emulator` behind it. Its files are
        removed at lifespan shutdown.

    Example:
        ```python
        import uvicorn
        from prefect_videogen.emulator import create_app

        uvicorn.run(create_app(dialect="openai", latency=1.0), port=8000)
        ```
    """
    config = _merge(config, overrides)
    emulator = Emulator(config)
    install_log_filter()

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        try:
            yield
        finally:
            await emulator.close()

    dialect = emulator.dialect
    videos = {"POST": emulator.create}
    if dialect.has_list:
        videos["GET"] = emulator.list_videos
    video = {"GET": emulator.retrieve}
    if dialect.has_delete:
        video["DELETE"] = emulator.delete
    routes = [
        _route("/v1/videos", videos),
        _route("/v1/videos/{video_id}", video),
        _route("/v1/videos/{video_id}/remix", {"POST": emulator.remix}),
        _route("/v1/videos/{video_id}/content", {"GET": emulator.content}),
        _route("/files/{token}/{name}", {"GET": emulator.files}),
        _route("/emulator/stats", {"GET": emulator.stats}),
        _route("/emulator/reset", {"POST": emulator.reset}),
        _route("/emulator/faults", {"GET": emulator.faults, "POST": emulator.faults}),
        _route("/emulator/health", {"GET": emulator.health}),
        _route("/emulator/config", {"GET": emulator.show_config}),
    ]

    async def not_found(request: Request, exc: Exception) -> Response:
        return dialect.no_route(request.method, request.url.path)

    async def not_allowed(request: Request, exc: Exception) -> Response:
        allow = (getattr(exc, "headers", None) or {}).get("Allow", "")
        return dialect.method_not_allowed(request.method, request.url.path, allow)

    app = Starlette(
        routes=routes,
        lifespan=lifespan,
        exception_handlers={404: not_found, 405: not_allowed},
    )
    app.state.emulator = emulator
    return app


def _route(path: str, handlers: dict[str, Callable[[Request], Awaitable[Response]]]) -> Route:
    """One route per path, so a 405 lists every method the path serves in `Allow`."""

    async def endpoint(request: Request) -> Response:
        method = "GET" if request.method == "HEAD" else request.method
        return await handlers[method](request)

    return Route(path, endpoint, methods=list(handlers))


def _merge(config: EmulatorConfig | None, overrides: dict[str, Any]) -> EmulatorConfig:
    if not overrides:
        return config or EmulatorConfig()
    base = config.model_dump() if config is not None else {}
    if config is not None:
        base["api_key"] = config.api_key
        base["faults"] = config.faults
    return EmulatorConfig.model_validate({**base, **overrides})
