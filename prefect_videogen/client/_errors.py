"""Reading error answers and transport failures into the typed error tree, with secrets redacted."""

from __future__ import annotations

import base64
import json
import re
from collections.abc import Mapping
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any, Literal
from urllib.parse import quote, quote_plus

import httpx

from prefect_videogen.exceptions import (
    APIConnectionError,
    APIError,
    AuthenticationError,
    ContentExpiredError,
    ContentNotReadyError,
    InvalidRequestError,
    ModelUnavailableError,
    NotFoundError,
    RateLimitError,
    ServerError,
    SubmissionUncertainError,
    UnsupportedOperationError,
    VideoGenError,
)

_MAX_MESSAGE_CHARS = 500

# Failures that happen before any byte of the request left: resending cannot duplicate a job.
_NOT_SENT = (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout)

# Gateway error codes that name the request field at fault.
_FIELD_BY_CODE = {
    "invalid_size": "size",
    "missing_model": "model",
    "invalid_seconds": "seconds",
    "invalid_duration": "seconds",
    "invalid_prompt": "prompt",
}
# Field names looked for in a 400 message when the server names no field.
_KNOWN_FIELDS = (
    "prompt",
    "seconds",
    "size",
    "duration",
    "input_reference",
    "image",
    "metadata",
    "model",
)

# What kind of call a request is; decides how errors and transport failures read.
#   api: an idempotent call to the API (GET); delete: DELETE /videos/{id}; submit: a paid
#   POST (create, remix); list: GET /videos; content: a download from the API origin; cdn: a
#   download from elsewhere.
_Kind = Literal["api", "delete", "submit", "list", "content", "cdn"]


# --------------------------------------------------------------------------------------
# Reading errors


# Credentials a server may quote back whatever key they belong to: a bearer token, or an
# OpenAI-style key (sk-..., sk-proj-...).
_TOKEN_PATTERNS = (
    re.compile(r"(?i)\b(bearer|basic)\s+[A-Za-z0-9._~+/=-]{16,}"),  # not "a basic building"
    re.compile(r"(?<![A-Za-z0-9])sk-[A-Za-z0-9_-]{16,}"),
)


def _secret_forms(secret: str) -> list[str]:
    """The secret as a server could echo it: as is, URL-encoded, base64 (alone or in a header)."""
    forms = {secret, quote(secret, safe=""), quote_plus(secret)}
    for raw in (secret, f"Bearer {secret}"):
        encoded = raw.encode()
        forms.add(base64.b64encode(encoded).decode().rstrip("="))
        forms.add(base64.urlsafe_b64encode(encoded).decode().rstrip("="))
    return sorted(forms, key=len, reverse=True)


def redact(text: str, secrets: tuple[str, ...]) -> str:
    """`text` with every secret (and any bearer token or sk- key) replaced by `***`.

    Every text that comes from a server (error bodies, job error messages, failure reasons)
    goes through this before it reaches an exception, a log line, a record or an event.

    Example:
        ```python
        from prefect_videogen.client._errors import redact

        print(redact("bad key sk-abc123456789", ("sk-abc123456789",)))  # bad key ***
        ```
    """
    return _redact_forms(text, _all_forms(secrets))


def redact_payload(payload: Any, secrets: tuple[str, ...]) -> Any:
    """A JSON value with `redact` applied to every string in it (keys included)."""
    forms = _all_forms(secrets)  # once per payload, not once per string in it

    def walk(value: Any) -> Any:
        if isinstance(value, str):
            return _redact_forms(value, forms)
        if isinstance(value, Mapping):
            return {_redact_forms(str(k), forms): walk(v) for k, v in value.items()}
        if isinstance(value, list | tuple):
            return [walk(item) for item in value]
        return value

    return walk(payload)


def _all_forms(secrets: tuple[str, ...]) -> list[str]:
    return [form for secret in secrets if secret for form in _secret_forms(secret)]


def _redact_forms(text: str, forms: list[str]) -> str:
    for form in forms:
        text = text.replace(form, "***")
    for pattern in _TOKEN_PATTERNS:
        text = pattern.sub(lambda m: f"{m.group(1)} ***" if m.lastindex else "***", text)
    return text


def _check_header_value(field: str, value: str) -> None:
    """Reject values httpx would refuse later with the value quoted in the error."""
    if not value.isascii() or any(ch in value for ch in "\r\n\0"):
        raise InvalidRequestError(
            field, "contains characters not allowed in an HTTP header (non-ASCII or a line break)"
        )


def _retry_after(headers: httpx.Headers) -> float | None:
    """The server's hint in seconds: `retry-after-ms`, `Retry-After` seconds or HTTP date."""
    millis = headers.get("retry-after-ms")
    if millis:
        try:
            return max(0.0, float(millis) / 1000)
        except ValueError:
            pass
    value = headers.get("retry-after")
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - datetime.now(UTC)).total_seconds())


def _error_fields(response: httpx.Response) -> tuple[str, str | None, str | None]:
    """(message, code, param) from any error body: OpenAI, new-api gateway or plain text."""
    text = response.text
    try:
        body = json.loads(text) if text else None
    except ValueError:
        body = None
    message: Any = None
    code: Any = None
    param: Any = None
    if isinstance(body, Mapping):
        error = body.get("error")
        if isinstance(error, Mapping):  # OpenAI: {"error": {"message", "type", "param", "code"}}
            message, code, param = error.get("message"), error.get("code"), error.get("param")
        elif isinstance(error, str) and error:
            message = error
        if not message:  # gateway: {"code", "message", "data"}
            message = next(
                (body[k] for k in ("message", "msg", "detail") if isinstance(body.get(k), str)),
                None,
            )
        if code in (None, "") and body.get("code") not in (None, "", 0, "0", "success"):
            code = body["code"]
        if param is None:
            param = body.get("param")
    if not message:
        message = " ".join(text.split()) or response.reason_phrase or "no message"
    message = str(message)
    if len(message) > _MAX_MESSAGE_CHARS:
        message = message[:_MAX_MESSAGE_CHARS] + "..."
    return (
        message,
        str(code) if code not in (None, "") else None,
        str(param) if param not in (None, "") else None,
    )


def _infer_field(param: str | None, code: str | None, message: str) -> str | None:
    if param:
        return param
    if code in _FIELD_BY_CODE:
        return _FIELD_BY_CODE[code]
    lowered = message.lower()
    return next((f for f in _KNOWN_FIELDS if re.search(rf"\b{f}\b", lowered)), None)


def _no_such_route(status: int, message: str) -> bool:
    """Whether an error answer says the route itself does not exist (not the job).

    new-api (and OpenAI) answer an unknown route with 404 "Invalid URL (METHOD /path)";
    a bare gin router answers "404 page not found"; other servers 405 or 501.
    """
    if status in (405, 501):
        return True
    return status == 404 and (
        message.startswith("Invalid URL (") or message.strip() == "404 page not found"
    )


def _not_ready(code: str | None, message: str) -> bool:
    """A `/content` 400 saying the job has not completed (gateway or OpenAI wording)."""
    return code == "video_not_ready" or "not completed yet" in message.lower()


def _error_from_response(
    response: httpx.Response,
    *,
    what: str,
    kind: _Kind,
    secrets: tuple[str, ...],
    model: str | None = None,
) -> VideoGenError:
    """The typed error for an error answer (the body must have been read)."""
    status = response.status_code
    raw_message, code, param = _error_fields(response)
    raw_message = redact(raw_message, secrets)
    request_id = response.headers.get("x-request-id")
    suffix = f" [request id {request_id}]" if request_id else ""
    message = f"{what}: {raw_message}{suffix}"
    details: dict[str, Any] = {"status_code": status, "code": code, "request_id": request_id}

    if code == "task_not_exist" or raw_message == "task_not_exist":
        return NotFoundError(message, **details)
    if code == "invalid_api_platform":
        return ModelUnavailableError(
            "model",
            f"this gateway advertises {model or 'the model'} but has no channel for it "
            f"({raw_message}). No job was created. Pick another model the gateway serves "
            "(its /v1/models list), or ask its operator to add a channel for this one" + suffix,
            value=model,
            model=model,
            status_code=status,
            code=code,
        )
    if kind == "list" and _no_such_route(status, raw_message):
        return UnsupportedOperationError(
            f"{what}: this server does not list videos ({raw_message}). new-api gateways do "
            f"not implement GET /videos; keep the job ids that create() returns.{suffix}",
            **details,
        )
    if kind == "delete" and _no_such_route(status, raw_message):
        return UnsupportedOperationError(
            f"{what}: this server cannot delete videos ({raw_message}). new-api gateways have "
            "no DELETE route: the job runs to its end and its result expires with the "
            f"provider; there is nothing to delete.{suffix}",
            **details,
        )
    if kind == "content" and status == 400 and _not_ready(code, raw_message):
        return ContentNotReadyError(
            f"{message}; the job has not completed yet: poll it until it has, then download",
            **details,
        )
    if kind == "cdn" and status in (401, 403, 404, 410):
        return ContentExpiredError(
            f"{what}: the provider URL no longer serves the video ({raw_message}); "
            f"it has probably expired, download from /content or submit again{suffix}",
            **details,
        )
    if status in (400, 422):
        return InvalidRequestError(
            _infer_field(param, code, raw_message),
            raw_message + suffix,
            model=model,
            status_code=status,
            code=code,
        )
    if status == 413:
        return InvalidRequestError(
            _infer_field(param, code, raw_message) or "input_reference",
            f"the request is too large for the server ({raw_message}); send a smaller image"
            + suffix,
            model=model,
            status_code=status,
            code=code,
        )
    if status in (401, 403):
        return AuthenticationError(
            f"{message}; check api_key and base_url on the VideoGenCredentials block", **details
        )
    if status == 404:
        return NotFoundError(message, **details)
    if status == 410:
        return ContentExpiredError(message, **details)
    if status == 429:
        return RateLimitError(message, retry_after=_retry_after(response.headers), **details)
    if kind == "content" and status == 502 and re.search(r"\b(403|404|410)\b", raw_message):
        return ContentExpiredError(
            f"{message}; the provider's copy of the video has expired, submit the job again",
            **details,
        )
    if kind == "submit" and status >= 500 and status != 501:
        # A 5xx after the body was sent says nothing about the job: the server (or the
        # provider behind a gateway or proxy) may have created it before failing.
        return SubmissionUncertainError(
            f"{message}. The server failed after receiving the request, so a job may have "
            "been created and billed; it was not sent again. Look for it before submitting "
            "again.",
            status_code=status,
        )
    if status >= 500 and status != 501:  # 501 Not Implemented will not change on retry
        return ServerError(message, retry_after=_retry_after(response.headers), **details)
    return APIError(message, **details)


def _connection_error(
    exc: httpx.TransportError, *, what: str, kind: _Kind, secrets: tuple[str, ...]
) -> VideoGenError:
    """The typed error for a transport failure; decides whether a create may be resent."""
    detail = redact(f"{type(exc).__name__}: {exc}".rstrip(": "), secrets)
    if isinstance(exc, httpx.UnsupportedProtocol):
        return InvalidRequestError(
            "base_url", f"{what}: {detail}", allowed="an http:// or https:// URL"
        )
    if isinstance(exc, _NOT_SENT):
        return APIConnectionError(
            f"{what}: could not connect ({detail}); check base_url and the network"
        )
    if kind == "submit":
        return SubmissionUncertainError(
            f"{what}: the request was sent but no answer came back ({detail}). A job may have "
            "been created and billed; look for it (client.list() on OpenAI, else the "
            "gateway's or provider's console) before submitting again."
        )
    return APIConnectionError(f"{what}: the connection failed ({detail})")


# --------------------------------------------------------------------------------------
# Requests, downloads and polling state shared by both clients
