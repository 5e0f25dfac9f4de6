"""How each dialect shapes job objects, errors and status codes.

openai (the official API, SDK 3.57 / openapi.json):
    create 200; the 13-key video object (`id` "video_<48 hex>"; `status` queued,
    in_progress, completed, failed); `openai-poll-after-ms` on create and on GETs of
    unfinished jobs; errors `{"error": {"message", "type", "param", "code"}}`; unknown id
    404 `video_not_found`; list with `after`/`limit`(0..100, default 20)/`order` (default
    desc); delete `{id, object: "video.deleted", deleted: true}`; remix of completed jobs
    only (else 400 `invalid_video_state`).
gateway (new-api as its code behaves):
    create 200 `{id: "task_<32>", task_id, object, model, status: "queued", progress: 0,
    created_at}`; a new task is NOT_START until the gateway's poller first runs, and GET
    answers status `"unknown"` meanwhile (`EmulatorConfig.not_start_seconds`). GET sends
    `completed_at` always: the task's last update time, also while unknown, queued or in
    progress; `seconds`, `error` when failed and `metadata.url` when completed, and never
    `expires_at`/`size`; Sora models answer with the upstream OpenAI object instead (id
    rewritten). Task errors are `{"code", "message", "data": null}`: unknown id 400
    `task_not_exist`, validation 400/500 as in `validation.py`, a model the gateway lists
    but has no adaptor for 400 `invalid_api_platform` ("invalid api platform: N",
    `EmulatorConfig.unservable_models`). `/content` errors use `{"error": {"message",
    "type"}}`: unknown 404 "Task not found", unfinished 400 "Task is not completed yet,
    current status: X" (X the internal status NOT_START/QUEUED/IN_PROGRESS/FAILURE);
    `variant` is ignored (always the MP4) and `Range` is not forwarded (always the whole
    file, 200), as new-api's proxy does; the whole answer, streaming included, is cut after
    `EmulatorConfig.content_timeout` (new-api: 60 s). There is no list or delete route, and
    gin answers no 405: any unknown method or path is 404 `{"error": {"message": "Invalid
    URL (METHOD /path)", "type": "invalid_request_error", "param": "", "code": ""}}`.
    Remix only for Sora tasks.
seed (the seed document):
    create 201 `{id, object, model, created_at, status: "processing", progress: 0}`; GET
    status processing/succeeded/failed with `expires_at`, `size`, `seconds`,
    `quality: "standard"`, `remixed_from_video_id`, `error` and, once succeeded, a top-level
    `url`; errors `{"error": {"message", "type", "code"}}`, unknown id 404. The seed
    document has no list/delete/remix; the emulator serves them as in the openai dialect.

Choices where the documents say nothing (the same in every dialect unless stated):
    - delete works in any status; deleting a queued or running job cancels it (OpenAI's
      docs speak of deleting "a completed or failed video" without saying what happens
      to others, and flows delete their in-flight jobs when cancelled).
    - `/content` of an unfinished or failed job: openai/seed 400 `video_not_ready`.
    - an unknown path: openai/seed 404 "Invalid URL (METHOD /path)" (OpenAI's wording); a
      known path with another method: 405 with an `Allow` header listing every method
      the path serves.
    - expired content: openai/seed 410 `video_expired`; gateway 502 "Upstream service
      returned status 403" (what new-api says when the provider URL has expired); the
      `/files/` URLs answer 403 with an S3/OSS-style XML body.
    - 429 answers carry `Retry-After` (FaultConfig.retry_after); the gateway's 429 on
      create is 429 `fail_to_fetch_task` with its "upstream saturated" message.
    - `metadata.url` (gateway) and `url` (seed) point at `/files/<token>/<id>.mp4` on the
      emulator: no auth (like a CDN link), Range support, expiry as above.
"""

from __future__ import annotations

import json
import time
from typing import Any

from starlette.responses import JSONResponse, Response

from prefect_videogen.emulator.store import Job, JobState
from prefect_videogen.emulator.validation import Rejection

__all__ = ["DIALECTS", "Dialect", "GatewayDialect", "OpenAIDialect", "SeedDialect"]


class _JSON(JSONResponse):
    """Compact JSON (no spaces) like the real servers."""

    def render(self, content: Any) -> bytes:
        return json.dumps(content, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


def json_response(body: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    """A compact JSON response."""
    return _JSON(body, status_code=status, headers=headers)


class Dialect:
    """The openai dialect; the others override what differs."""

    name = "openai"
    create_status = 200
    poll_header = True
    has_list = True
    has_delete = True
    honours_variant = True

    # ------------------------------------------------------------------ objects

    def job(self, job: Job, state: JobState, *, root: str) -> dict[str, Any]:
        """The job object of GET /videos/{id} (and list entries)."""
        return _openai_object(job, state)

    def created(self, job: Job, state: JobState, *, root: str) -> dict[str, Any]:
        """The create (and remix) answer."""
        return _openai_object(job, state)

    def deleted(self, job: Job) -> dict[str, Any]:
        """The delete answer."""
        return {"id": job.id, "object": "video.deleted", "deleted": True}

    def page(self, objects: list[dict[str, Any]], *, has_more: bool) -> dict[str, Any]:
        """One list page."""
        return {
            "object": "list",
            "data": objects,
            "first_id": objects[0]["id"] if objects else None,
            "last_id": objects[-1]["id"] if objects else None,
            "has_more": has_more,
        }

    # ------------------------------------------------------------------ errors

    def error(
        self,
        status: int,
        message: str,
        *,
        type_: str = "invalid_request_error",
        param: str | None = None,
        code: str | None = None,
        headers: dict[str, str] | None = None,
        endpoint: str = "",
    ) -> Response:
        """An error in the dialect's envelope."""
        body = {"error": {"message": message, "type": type_, "param": param, "code": code}}
        return json_response(body, status, headers)

    def rejection(self, rejection: Rejection) -> Response:
        """A refused create/remix request."""
        return self.error(
            rejection.status, rejection.message, param=rejection.field, code=rejection.code
        )

    def unauthorized(self) -> Response:
        """A missing or wrong API key (the key itself is never echoed)."""
        return self.error(
            401,
            "Incorrect API key provided. Send `Authorization: Bearer <key>` with the "
            "emulator's key (EmulatorConfig.api_key).",
            code="invalid_api_key",
            headers={"www-authenticate": "Bearer"},
        )

    def not_found(self, job_id: str, *, endpoint: str) -> Response:
        """An unknown (or deleted) job id."""
        return self.error(
            404,
            f"Video with id '{job_id}' not found.",
            param="video_id",
            code="video_not_found",
        )

    def not_ready(self, job: Job, state: JobState) -> Response:
        """`/content` of a job that is not completed."""
        return self.error(
            400,
            f"Video '{job.id}' is not ready: its status is {self.internal_status(state)}. Poll "
            "GET /v1/videos/{video_id} until it is completed before downloading.",
            param="video_id",
            code="video_not_ready",
        )

    def expired(self, job: Job, state: JobState) -> Response:
        """`/content` of a job whose result has expired."""
        return self.error(
            410,
            f"The content of video '{job.id}' has expired (expires_at {state.expires_at}); "
            "create the video again.",
            param="video_id",
            code="video_expired",
        )

    def bad_state(self, job: Job, state: JobState, action: str) -> Response:
        """Remix of a job that is not completed."""
        return self.error(
            400,
            f"Video '{job.id}' is {self.internal_status(state)}; only completed videos can be "
            f"{action}.",
            param="video_id",
            code="invalid_video_state",
        )

    def fault(self, kind: str, *, endpoint: str, retry_after: float | None) -> Response:
        """An injected 429/500/503."""
        if kind == "429":
            wait = _retry_after_text(retry_after)
            return self.error(
                429,
                f"Rate limit reached for requests. Please try again in {wait or '1'}s.",
                type_="requests",
                code="rate_limit_exceeded",
                headers={"retry-after": wait} if wait else None,
            )
        if kind == "503":
            return self.error(
                503,
                "The server is overloaded or not ready yet. Please retry later.",
                type_="server_error",
                code="service_unavailable",
            )
        return self.error(
            500,
            "The server had an error while processing your request. Sorry about that! "
            "You can retry your request.",
            type_="server_error",
            code="server_error",
        )

    def no_route(self, method: str, path: str) -> Response:
        """A path (or, on the gateway, a method) this dialect does not serve."""
        return self.error(404, f"Invalid URL ({method} {path})")

    def method_not_allowed(self, method: str, path: str, allow: str) -> Response:
        """A known path asked with a method it does not serve; `allow` lists those it does."""
        return self.error(
            405,
            f"Method {method} is not allowed on {path}; allowed: {allow}.",
            code="method_not_allowed",
            headers={"allow": allow},
        )

    def unservable(self, model: str) -> Response | None:
        """A create for a model the server lists but cannot serve (gateway only)."""
        return None

    def internal_status(self, state: JobState) -> str:
        """The status word in messages."""
        return state.status


def _retry_after_text(retry_after: float | None) -> str | None:
    if retry_after is None:
        return None
    return str(int(retry_after)) if float(retry_after).is_integer() else f"{retry_after:g}"


def _openai_object(job: Job, state: JobState) -> dict[str, Any]:
    done = state.status in ("completed", "failed")
    return {
        "id": job.id,
        "object": "video",
        "model": job.model,
        "status": state.status,
        "progress": state.progress,
        "created_at": int(job.created_at),
        "completed_at": state.completed_at if done else None,
        "expires_at": state.expires_at if state.status == "completed" else None,
        "prompt": job.prompt,
        "size": job.size,
        "seconds": str(job.seconds),
        "remixed_from_video_id": job.remixed_from,
        "error": dict(state.error) if state.error else None,
    }


OpenAIDialect = Dialect

_GATEWAY_INTERNAL = {
    "queued": "QUEUED",
    "in_progress": "IN_PROGRESS",
    "completed": "SUCCESS",
    "failed": "FAILURE",
}


def _last_update(job: Job, state: JobState) -> int:
    """The gateway's `completed_at`: when the task row was last written."""
    if state.completed_at is not None:
        return state.completed_at
    if state.status == "in_progress":
        return int(time.time())
    return int(job.created_at)


def file_url(root: str, job: Job) -> str:
    """The CDN-like download link of a job's MP4."""
    return f"{root}/files/{job.file_token}/{job.id}.mp4"


class GatewayDialect(Dialect):
    """new-api's behaviour (see the module docstring)."""

    name = "gateway"
    poll_header = False
    has_list = False
    has_delete = False
    honours_variant = False

    def job(self, job: Job, state: JobState, *, root: str) -> dict[str, Any]:
        if job.family == "sora":
            return _openai_object(job, state)
        body: dict[str, Any] = {
            "id": job.id,
            "task_id": job.id,
            "object": "video",
            "model": job.model,
            "status": "unknown" if state.not_started else state.status,
            "progress": state.progress,
            "created_at": int(job.created_at),
            # new-api sends the task's last update time here, whatever the status.
            "completed_at": _last_update(job, state),
        }
        body["seconds"] = str(job.seconds)
        if state.error:
            body["error"] = {"message": state.error["message"], "code": state.error["code"]}
        if state.status == "completed":
            body["metadata"] = {"url": file_url(root, job)}
        return body

    def created(self, job: Job, state: JobState, *, root: str) -> dict[str, Any]:
        if job.family == "sora":
            return _openai_object(job, state)
        return {
            "id": job.id,
            "task_id": job.id,
            "object": "video",
            "model": job.model,
            "status": "queued",
            "progress": 0,
            "created_at": int(job.created_at),
        }

    def task_error(
        self, status: int, code: str, message: str, headers: dict[str, str] | None = None
    ) -> Response:
        """new-api's TaskError shape."""
        return json_response({"code": code, "message": message, "data": None}, status, headers)

    def proxy_error(self, status: int, message: str, type_: str) -> Response:
        """new-api's `/content` proxy error shape."""
        return json_response({"error": {"message": message, "type": type_}}, status)

    def rejection(self, rejection: Rejection) -> Response:
        return self.task_error(
            rejection.gateway_status, rejection.gateway_code, rejection.gateway_message
        )

    def unauthorized(self) -> Response:
        body = {
            "error": {
                "message": "无效的令牌 (invalid token: check the Bearer API key)",
                "type": "new_api_error",
                "code": "invalid_token",
            }
        }
        return json_response(body, 401)

    def not_found(self, job_id: str, *, endpoint: str) -> Response:
        if endpoint == "content":
            return self.proxy_error(404, "Task not found", "invalid_request_error")
        return self.task_error(400, "task_not_exist", "task_not_exist")

    def not_ready(self, job: Job, state: JobState) -> Response:
        return self.proxy_error(
            400,
            f"Task is not completed yet, current status: {self.internal_status(state)}",
            "invalid_request_error",
        )

    def expired(self, job: Job, state: JobState) -> Response:
        return self.proxy_error(502, "Upstream service returned status 403", "server_error")

    def bad_state(self, job: Job, state: JobState, action: str) -> Response:
        if job.family != "sora":
            return self.task_error(
                400, "invalid_request", "remix is only supported for Sora/OpenAI tasks"
            )
        upstream = {
            "error": {
                "message": f"Video is {state.status}; only completed videos can be {action}.",
                "type": "invalid_request_error",
                "param": None,
                "code": "invalid_video_state",
            }
        }
        return self.task_error(400, "fail_to_fetch_task", json.dumps(upstream))

    def fault(self, kind: str, *, endpoint: str, retry_after: float | None) -> Response:
        wait = _retry_after_text(retry_after)
        headers = {"retry-after": wait} if kind == "429" and wait else None
        status = int(kind)
        if endpoint == "content":
            message = f"Upstream service returned status {status}"
            response = self.proxy_error(status, message, "server_error")
            if headers:
                response.headers.update(headers)
            return response
        if kind == "429":
            message = "当前分组上游负载已饱和\uff0c请稍后再试"  # the gateway's text
        else:
            message = json.dumps(
                {"error": {"message": f"upstream error {status}", "type": "server_error"}}
            )
        code = "fail_to_fetch_task" if endpoint in ("create", "remix") else "get_task_failed"
        return self.task_error(status, code, message, headers)

    def no_route(self, method: str, path: str) -> Response:
        body = {
            "error": {
                "message": f"Invalid URL ({method} {path})",
                "type": "invalid_request_error",
                "param": "",
                "code": "",
            }
        }
        return json_response(body, 404)

    def method_not_allowed(self, method: str, path: str, allow: str) -> Response:
        return self.no_route(method, path)  # gin's HandleMethodNotAllowed is off in new-api

    def unservable(self, model: str) -> Response | None:
        # new-api picks the adaptor by channel type; 48 is the xAI channel of issue #6358.
        return self.task_error(400, "invalid_api_platform", "invalid api platform: 48")

    def internal_status(self, state: JobState) -> str:
        if state.not_started:
            return "NOT_START"
        return _GATEWAY_INTERNAL[state.status]


_SEED_STATUS = {
    "queued": "processing",
    "in_progress": "processing",
    "completed": "succeeded",
    "failed": "failed",
}


class SeedDialect(Dialect):
    """The seed document's shape (see the module docstring)."""

    name = "seed"
    create_status = 201
    poll_header = False

    def job(self, job: Job, state: JobState, *, root: str) -> dict[str, Any]:
        body: dict[str, Any] = {
            "id": job.id,
            "object": "video",
            "model": job.model,
            "created_at": int(job.created_at),
            "status": _SEED_STATUS[state.status],
            "progress": state.progress,
            "expires_at": state.expires_at if state.status == "completed" else None,
            "size": job.size,
            "seconds": str(job.seconds),
            "quality": "standard",
            "remixed_from_video_id": job.remixed_from,
            "error": dict(state.error) if state.error else None,
        }
        if state.status == "completed":
            body["url"] = file_url(root, job)
        return body

    def created(self, job: Job, state: JobState, *, root: str) -> dict[str, Any]:
        return {
            "id": job.id,
            "object": "video",
            "model": job.model,
            "created_at": int(job.created_at),
            "status": "processing",
            "progress": 0,
        }

    def error(
        self,
        status: int,
        message: str,
        *,
        type_: str = "invalid_request_error",
        param: str | None = None,
        code: str | None = None,
        headers: dict[str, str] | None = None,
        endpoint: str = "",
    ) -> Response:
        body: dict[str, Any] = {"message": message, "type": type_}
        if code is not None:
            body["code"] = code
        return json_response({"error": body}, status, headers)

    def not_found(self, job_id: str, *, endpoint: str) -> Response:
        return self.error(404, f"Video task '{job_id}' does not exist.", code="video_not_found")

    def internal_status(self, state: JobState) -> str:
        return _SEED_STATUS[state.status]


DIALECTS: dict[str, type[Dialect]] = {
    "openai": OpenAIDialect,
    "gateway": GatewayDialect,
    "seed": SeedDialect,
}
