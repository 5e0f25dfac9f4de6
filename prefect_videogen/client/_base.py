"""Configuration, request building and response reading shared by both clients (no I/O)."""

from __future__ import annotations

import functools
import logging
import ssl
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any
from urllib.parse import quote

import httpx
from pydantic import SecretStr, ValidationError

from prefect_videogen.client._download import _PartFile
from prefect_videogen.client._errors import (
    _MAX_MESSAGE_CHARS,
    _check_header_value,
    _connection_error,
    _error_from_response,
    _Kind,
    redact,
    redact_payload,
)
from prefect_videogen.client._retry import Backoff
from prefect_videogen.exceptions import (
    APIConnectionError,
    APIError,
    InvalidRequestError,
    ModelRetiredError,
    SubmissionUncertainError,
    UnsupportedOperationError,
    VideoGenError,
    is_transient,
)
from prefect_videogen.families import ModelFamily, VideoRequest, family_for_model
from prefect_videogen.families.base import check_remix_prompt
from prefect_videogen.families.checks import check_prompt
from prefect_videogen.models import (
    ContentVariant,
    DeletedVideo,
    VideoJob,
    VideoList,
)

_MAX_REDIRECTS = 5

#: The documented shape of a gateway base URL (the API root with its version prefix).
EXAMPLE_BASE_URL = "https://gateway.example.com/v1"

#: When and why Sora stopped, and what serves the same API today.
SORA_SHUTDOWN = (
    "OpenAI shut down its Videos API and every Sora 2 model on 2026-09-24, with no replacement API"
)
LIVE_ALTERNATIVES = (
    "Wan (wan2.5-t2v-preview, wan2.5-i2v-preview, wan2.2-kf2v-flash), Kling "
    "(kling-v2-master), Seedance (doubao-seedance-1-0-pro-250528) or Veo "
    "(veo-3.0-generate-001) through a new-api gateway, with base_url set to the gateway "
    f"(e.g. {EXAMPLE_BASE_URL})"
)

try:
    _USER_AGENT = f"prefect-videogen/{version('prefect-videogen')}"
except PackageNotFoundError:  # pragma: no cover - running from a source tree
    _USER_AGENT = "prefect-videogen"

logger = logging.getLogger("prefect_videogen.client")


@functools.cache
def _ssl_context() -> ssl.SSLContext:
    """One verifying TLS context for every client: loading the CA store costs ~0.1 s of CPU."""
    return httpx.create_ssl_context()


@dataclass(frozen=True)
class _Call:
    """One API call, described once and built anew for every attempt."""

    method: str
    path: str
    kind: _Kind = "api"
    params: Mapping[str, Any] | None = None
    json: Any = None
    files: list[tuple[str, tuple[Any, ...]]] | None = None
    headers: Mapping[str, str] | None = None
    model: str | None = None

    @property
    def what(self) -> str:
        return f"{self.method} {self.path}"


def _job_id(payload: Mapping[str, Any]) -> Any:
    found = payload.get("id") or payload.get("task_id")
    data = payload.get("data")
    if not found and isinstance(data, Mapping):
        found = data.get("id") or data.get("task_id")
    return found


class _BaseVideoGenClient:
    """Configuration, request building and response reading shared by both clients."""

    _http: httpx.Client | httpx.AsyncClient

    def __init__(
        self,
        base_url: str,
        api_key: str | SecretStr | None,
        *,
        headers: Mapping[str, str] | None,
        timeout: float | httpx.Timeout,
        max_retries: int,
        backoff: Backoff | None,
        idempotent_retries: bool = False,
    ) -> None:
        if not isinstance(base_url, str) or not base_url.startswith(("http://", "https://")):
            raise InvalidRequestError(
                "base_url",
                value=base_url,
                allowed=(
                    f"an http(s) URL with the version prefix, e.g. {EXAMPLE_BASE_URL} (a "
                    "gateway) or http://127.0.0.1:8000/v1 (the local emulator)"
                ),
            )
        if max_retries < 0:
            raise InvalidRequestError("max_retries", value=max_retries, allowed="0 or more")
        self.base_url = base_url.rstrip("/")
        self._origin = httpx.URL(self.base_url)
        key = api_key.get_secret_value() if isinstance(api_key, SecretStr) else api_key
        key = (key or "").strip()
        _check_header_value("api_key", key)
        self._api_key = SecretStr(key) if key else None
        self._extra_headers: dict[str, str] = {}
        for name, value in (headers or {}).items():
            _check_header_value(f"headers.{name}", str(name))
            _check_header_value(f"headers.{name}", str(value))
            self._extra_headers[str(name)] = str(value)
        self.max_retries = max_retries
        self.idempotent_retries = idempotent_retries
        self._backoff = backoff or Backoff()
        self._timeout = timeout if isinstance(timeout, httpx.Timeout) else httpx.Timeout(timeout)

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}(base_url={self.base_url!r}, "
            f"api_key={'set' if self._api_key else 'unset'}, max_retries={self.max_retries})"
        )

    # -- headers ------------------------------------------------------------------------

    def _secrets(self) -> tuple[str, ...]:
        values = [v for v in self._extra_headers.values() if len(v) >= 6]
        if self._api_key:
            values.insert(0, self._api_key.get_secret_value())
        return tuple(values)

    def _api_headers(self) -> dict[str, str]:
        """Headers for the API origin only: the key and the caller's extra headers."""
        headers = dict(self._extra_headers)
        if self._api_key:
            headers["Authorization"] = f"Bearer {self._api_key.get_secret_value()}"
        return headers

    def _same_origin(self, url: httpx.URL) -> bool:
        return (url.scheme, url.host, url.port) == (
            self._origin.scheme,
            self._origin.host,
            self._origin.port,
        )

    # -- building calls -----------------------------------------------------------------

    @staticmethod
    def _video_path(video_id: str, suffix: str = "") -> str:
        if not isinstance(video_id, str) or not video_id.strip():
            raise InvalidRequestError("video_id", value=video_id, allowed="a non-empty job id")
        segment = quote(video_id, safe="")
        if segment in (".", ".."):  # a bare dot segment would be collapsed into another path
            segment = segment.replace(".", "%2E")
        return f"/videos/{segment}{suffix}"

    def _on_openai(self) -> bool:
        host = (self._origin.host or "").lower()
        return host == "openai.com" or host.endswith(".openai.com")

    def _refuse_retired(self, family: ModelFamily, model: str, what: str) -> None:
        """Sora on OpenAI's own API cannot work any more: say so before any network call."""
        if family.name == "sora" and self._on_openai():
            raise ModelRetiredError(
                "model",
                f"{SORA_SHUTDOWN}, so {what} cannot succeed at {self._origin.host}. Use a live "
                f"model instead: {LIVE_ALTERNATIVES}. Sora models still work on servers that "
                "speak them (self-hosted, the local emulator)",
                value=model,
                model=model,
            )

    def _create_call(
        self, request: VideoRequest, idempotency_key: str | None
    ) -> tuple[ModelFamily, _Call]:
        family = family_for_model(request.model)
        self._refuse_retired(family, request.model, f"model {request.model!r}")
        encoded = family.encode(family.validate(request))
        headers = {}
        if idempotency_key is not None:
            if not idempotency_key:
                raise InvalidRequestError("idempotency_key", "must not be empty")
            _check_header_value("idempotency_key", idempotency_key)
            headers["Idempotency-Key"] = idempotency_key
        if encoded.json is not None:
            return family, _Call(
                "POST",
                "/videos",
                kind="submit",
                json=encoded.json,
                headers=headers,
                model=request.model,
            )
        # Multipart, always (plain form fields become parts) as the OpenAI SDK sends it.
        parts: list[tuple[str, tuple[Any, ...]]] = [
            (name, (None, str(value))) for name, value in (encoded.data or {}).items()
        ]
        parts += list(encoded.files or [])
        if not parts:
            raise InvalidRequestError("request", f"family {family.name!r} encoded an empty body")
        return family, _Call(
            "POST", "/videos", kind="submit", files=parts, headers=headers, model=request.model
        )

    def _remix_call(self, video_id: str, prompt: str, model: str | None) -> _Call:
        """A remix: its prompt checked as create checks one (the model's limit if known)."""
        check_remix_prompt(prompt)  # like create: non-empty, length, NUL bytes, lone surrogates
        family = family_for_model(model or "sora-2")  # remix is Sora's operation
        self._refuse_retired(family, model or "sora-2", "a remix (Sora only)")
        if model:
            check_prompt(prompt, model=model, max_chars=family.max_prompt_chars(model))
        path = self._video_path(video_id, "/remix")
        return _Call("POST", path, kind="submit", json={"prompt": prompt}, model=model)

    @staticmethod
    def _list_call(after: str | None, limit: int | None, order: str | None) -> _Call:
        if limit is not None and not 0 <= limit <= 100:
            raise InvalidRequestError("limit", value=limit, allowed="0 to 100")
        if order is not None and order not in ("asc", "desc"):
            raise InvalidRequestError("order", value=order, allowed=["asc", "desc"])
        given = {"after": after, "limit": limit, "order": order}
        params = {name: value for name, value in given.items() if value is not None}
        return _Call("GET", "/videos", kind="list", params=params)

    def _content_target(
        self, video_id: str, variant: str, url: str | None
    ) -> tuple[httpx.URL, dict[str, str]]:
        """The first URL of a download and its query parameters."""
        if url is not None:
            target = httpx.URL(self.base_url + "/").join(url)
            if target.scheme not in ("http", "https"):
                raise InvalidRequestError("url", value=url, allowed="an http(s) URL")
            return target, {}
        try:
            ContentVariant(variant)
        except ValueError:
            raise InvalidRequestError(
                "variant", value=variant, allowed=[v.value for v in ContentVariant]
            ) from None
        params = {} if variant == ContentVariant.VIDEO.value else {"variant": variant}
        return httpx.URL(self.base_url + self._video_path(video_id, "/content")), params

    @staticmethod
    def _open_part(destination: str | Path, chunk_size: int, variant: str = "video") -> _PartFile:
        path = Path(destination)
        if path.is_dir():
            raise InvalidRequestError(
                "destination", f"{str(path)!r} is a directory; give a file path"
            )
        if chunk_size < 1:
            raise InvalidRequestError("chunk_size", value=chunk_size, allowed="1 or more")
        return _PartFile(path, chunk_size, variant)

    def _download_call(self, target: httpx.URL) -> _Call:
        """Describes a download in messages: the path on the API, else host and path."""
        if self._same_origin(target):
            return _Call("GET", target.path, kind="content")
        return _Call("GET", f"{target.scheme}://{target.host}{target.path}", kind="cdn")

    @staticmethod
    def _check_variant(response: httpx.Response, variant: str, call: _Call) -> None:
        """A thumbnail or spritesheet that arrives as a video: the server ignored `variant`."""
        if variant == ContentVariant.VIDEO.value:
            return
        media = response.headers.get("content-type", "").split(";")[0].strip().lower()
        if media.startswith("video/"):
            raise UnsupportedOperationError(
                f"{call.what}?variant={variant}: the server sent {media}, not a {variant} "
                "image: it ignores `variant` (new-api gateways always send the video). "
                "Download the video and take a frame from it instead "
                "(prefect_videogen.reporting.frame_thumbnail)",
                status_code=response.status_code,
            )

    def _fallback_url(self, job: VideoJob, target: httpx.URL) -> httpx.URL | None:
        """The job's direct result URL, when a `/content` download could not be finished."""
        if not job.url:
            return None
        fallback = httpx.URL(self.base_url + "/").join(job.url)
        if fallback.scheme not in ("http", "https") or fallback == target:
            return None
        logger.warning(
            "Downloading video %s from its result URL: the connection to %s kept breaking "
            "(new-api gateways cut /content after 60 s and do not forward Range)",
            job.id,
            target.path,
        )
        return fallback

    def _download_error(
        self, response: httpx.Response, call: _Call, kind: _Kind, part: _PartFile
    ) -> VideoGenError:
        if response.status_code == 416 and part.size:  # the range no longer fits: start over
            part.resumable = False
            return APIConnectionError(f"{call.what}: the server refused to resume; restarting")
        return self._error(response, call, kind)

    def _retryable(self, call: _Call) -> Callable[[BaseException], bool]:
        """Which failures of `call` may be sent again.

        A paid POST whose outcome is unknown (`SubmissionUncertainError`: a 5xx, a read
        timeout, a dropped connection after sending) is resent only to a server that the
        credentials say honours `Idempotency-Key` (`idempotent_retries`), and only with a key.
        """
        if (
            call.kind == "submit"
            and self.idempotent_retries
            and "Idempotency-Key" in (call.headers or {})
        ):
            return lambda exc: is_transient(exc) or isinstance(exc, SubmissionUncertainError)
        return is_transient

    def _build_request(self, call: _Call) -> httpx.Request:
        return self._http.build_request(
            call.method,
            self.base_url + call.path,
            params=call.params,
            json=call.json,
            files=call.files,
            headers={**self._api_headers(), **(call.headers or {})},
        )

    def _content_request(
        self, url: httpx.URL, params: Mapping[str, str], part: _PartFile
    ) -> tuple[httpx.Request, _Kind]:
        headers = part.request_headers()
        same_origin = self._same_origin(url)
        if same_origin:  # never send the key or extra headers to a third-party host
            headers.update(self._api_headers())
        if params:
            url = url.copy_merge_params(params)
        request = self._http.build_request("GET", url, headers=headers)
        return request, ("content" if same_origin else "cdn")

    # -- reading answers ----------------------------------------------------------------

    def _error(
        self, response: httpx.Response, call: _Call, kind: _Kind | None = None
    ) -> VideoGenError:
        return _error_from_response(
            response,
            what=call.what,
            kind=kind or call.kind,
            secrets=self._secrets(),
            model=call.model,
        )

    def _connection_error(
        self, exc: httpx.TransportError, call: _Call, kind: _Kind | None = None
    ) -> VideoGenError:
        return _connection_error(
            exc, what=call.what, kind=kind or call.kind, secrets=self._secrets()
        )

    def _check(self, response: httpx.Response, call: _Call) -> httpx.Response:
        if not response.is_success:
            raise self._error(response, call)
        return response

    @staticmethod
    def _json_object(response: httpx.Response, call: _Call) -> Mapping[str, Any]:
        try:
            payload = response.json()
        except ValueError:
            payload = None
        if not isinstance(payload, Mapping):
            raise APIError(
                f"{call.what}: expected a JSON object, got "
                f"{response.headers.get('content-type')!r}; check that base_url points at the "
                "API (with its /v1 prefix)",
                status_code=response.status_code,
                request_id=response.headers.get("x-request-id"),
            )
        return payload

    def _read_job(
        self, response: httpx.Response, call: _Call, family: ModelFamily | None
    ) -> VideoJob:
        # Everything the server wrote (error messages, failure reasons) loses our secrets
        # before it becomes a job that is logged, raised, stored or sent as an event.
        payload = redact_payload(self._json_object(response, call), self._secrets())
        if not _job_id(payload):  # a gateway error envelope sent with HTTP 200
            raise self._error(response, call)
        try:
            if family is not None:
                return family.parse_job(dict(payload), response.headers)
            return VideoJob.from_api(payload, headers=response.headers)
        except (ValidationError, ValueError, TypeError) as exc:
            detail = redact(str(exc), self._secrets())[:_MAX_MESSAGE_CHARS]
            raise APIError(
                f"{call.what}: cannot read the job object: {detail}",
                status_code=response.status_code,
            ) from exc

    def _read_submitted_job(
        self, response: httpx.Response, call: _Call, family: ModelFamily | None
    ) -> VideoJob:
        """Read a create/remix answer; an unreadable 2xx means a job may exist."""
        try:
            return self._read_job(response, call, family)
        except VideoGenError as exc:
            raise SubmissionUncertainError(
                f"{call.what} answered HTTP {response.status_code} without a readable job "
                f"({exc}); a job may have been created, look for it before submitting again"
            ) from exc

    def _read_list(self, response: httpx.Response, call: _Call) -> VideoList:
        payload = redact_payload(self._json_object(response, call), self._secrets())
        items = payload.get("data")
        if not isinstance(items, list):
            raise APIError(
                f"{call.what}: the answer has no list of videos; the server may not support "
                "listing jobs",
                status_code=response.status_code,
            )
        jobs = [VideoJob.from_api(item) for item in items if isinstance(item, Mapping)]
        return VideoList(
            data=jobs,
            first_id=payload.get("first_id") or (jobs[0].id if jobs else None),
            last_id=payload.get("last_id") or (jobs[-1].id if jobs else None),
            has_more=bool(payload.get("has_more", False)),
        )

    def _read_deleted(self, response: httpx.Response, video_id: str) -> DeletedVideo:
        try:
            payload = response.json() if response.content else {}
        except ValueError:
            payload = {}
        if not isinstance(payload, Mapping):
            payload = {}
        payload = redact_payload(payload, self._secrets())
        if isinstance(payload.get("data"), Mapping):
            payload = payload["data"]
        return DeletedVideo(
            id=str(payload.get("id") or video_id),
            deleted=bool(payload.get("deleted", True)),  # gateways answer with the job object
        )
