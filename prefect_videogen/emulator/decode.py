"""Reading a create request's body: JSON or multipart, into one `RawRequest`.

JSON bodies are taken as they are. Multipart (and urlencoded) bodies become a field map of
their text parts plus the uploaded files by field name. Repeated text fields, and fields
named `images` or ending in `[]`, become lists. Nothing is interpreted here; what the
fields mean per model family is `validation.py`'s job.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any, Literal

from starlette.datastructures import UploadFile
from starlette.formparsers import MultiPartException
from starlette.requests import Request

from prefect_videogen.emulator.validation import Rejection

__all__ = ["RawRequest", "Upload", "read_body"]


@dataclass(frozen=True)
class Upload:
    """One uploaded file part."""

    field: str
    filename: str
    content_type: str | None
    data: bytes


@dataclass
class RawRequest:
    """A create request as sent: its encoding, its fields and its uploaded files."""

    encoding: Literal["json", "multipart"]
    fields: dict[str, Any]
    files: dict[str, list[Upload]] = field(default_factory=dict)


_LIST_FIELDS = {"images"}


async def read_body(request: Request, *, max_image_bytes: int) -> RawRequest:
    """Decode a JSON or multipart body.

    Raises:
        Rejection: the body is not JSON/multipart, cannot be parsed, or a file is too large.
    """
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if content_type == "application/json" or content_type.endswith("+json"):
        raw = await request.body()
        try:
            data = json.loads(raw or b"{}")
        except ValueError as exc:
            raise Rejection(
                "We could not parse the JSON body of your request: "
                f"{exc}. Send a JSON object or multipart/form-data.",
                code="invalid_json",
            ) from exc
        if not isinstance(data, dict):
            raise Rejection("The JSON body must be an object.", code="invalid_json")
        return RawRequest("json", data)
    if content_type in ("multipart/form-data", "application/x-www-form-urlencoded"):
        return await _read_form(request, max_image_bytes=max_image_bytes)
    if not await request.body():
        raise Rejection(
            "The request has no body; send JSON (Content-Type: application/json) or "
            "multipart/form-data with at least `prompt`.",
            field="prompt",
            code="missing_required_parameter",
        )
    raise Rejection(
        f"Unsupported Content-Type {content_type or '(none)'!r}; use application/json or "
        "multipart/form-data.",
        code="invalid_content_type",
    )


async def _read_form(request: Request, *, max_image_bytes: int) -> RawRequest:
    try:
        form = await request.form(
            max_files=64, max_fields=256, max_part_size=max(1024 * 1024, 2 * max_image_bytes)
        )
    except MultiPartException as exc:
        raise Rejection(
            f"Could not parse the multipart body: {exc.message}", code="invalid_body"
        ) from None
    fields: dict[str, Any] = {}
    files: dict[str, list[Upload]] = {}
    for key, value in form.multi_items():
        name = key[:-2] if key.endswith("[]") else key
        if isinstance(value, UploadFile):
            if value.size is not None and value.size > max_image_bytes:
                raise Rejection(
                    f"{name}: the uploaded file is {value.size} bytes; the limit is "
                    f"{max_image_bytes} bytes.",
                    field=name,
                    code="file_too_large",
                    status=413,
                )
            data = await value.read()
            if len(data) > max_image_bytes:
                raise Rejection(
                    f"{name}: the uploaded file is {len(data)} bytes; the limit is "
                    f"{max_image_bytes} bytes.",
                    field=name,
                    code="file_too_large",
                    status=413,
                )
            upload = Upload(name, value.filename or "upload", value.content_type, data)
            files.setdefault(name, []).append(upload)
            continue
        if name in _LIST_FIELDS or key.endswith("[]"):
            fields.setdefault(name, []).append(value)
        elif name in fields:
            previous = fields[name]
            fields[name] = [*previous, value] if isinstance(previous, list) else [previous, value]
        else:
            fields[name] = value
    await form.close()
    return RawRequest("multipart", fields, files)
