"""Server-side reading and checking of create requests, family by family, as the servers do it.

This is what a new-api gateway (and OpenAI behind it) does with a `POST /v1/videos` body,
reproduced from /work/shared/spec/gateway-behaviour.md. It is deliberately separate from
`prefect_videogen.families`, the client-side checks: the emulator must reject what the real
servers reject, with their status codes and messages, so a client bug shows up in tests.

The family is picked from the model name (the real gateway picks it by channel):
`sora*` Sora/OpenAI, `wan*` Aliyun Wan (DashScope), `kling*`, `jimeng*`, `vidu*`,
`doubao-seedance*`/`seedance*`, `MiniMax-*`/`hailuo*`/`T2V-01`/`I2V-01`/`S2V-01`, `veo*`;
anything else is the lenient generic family.

What each family reads (summary; details at each function):

- Sora: `size` "WxH" from the model's list (gateway's own 400 `invalid_size`), `seconds`
  4/8/12/16/20, `input_reference` upload (or JSON `{image_url}`) that must have the exact
  output size ("Inpaint image must match the requested width and height").
- Wan: t2v models need `size` "W*H" from the 480P/720P/1080P lists (an "x" size is a 500
  `build_request_failed` "invalid size: ..., example: 1920*1080"); i2v/kf2v take a tier
  ("720P", "720p", "720") and the image from `metadata.input.img_url`, `image`, `images[0]`
  or an `input_reference` string; kf2v also `metadata.input.first_frame_url`/`last_frame_url`.
  Uploaded files are NOT read, and a top-level `metadata.img_url` is ignored (as the gateway does).
- Kling: `image` (URL or base64) and `metadata.image_tail`; `size` maps to an aspect ratio
  (anything unknown becomes 1:1); `metadata.aspect_ratio` and `metadata.mode` (std/pro) win.
- Jimeng: `input_reference` uploads (2+ = first/last frame) or `images[]`; `size` ignored,
  `metadata.aspect_ratio` (default 16:9); duration 10 gives 10 s, anything else 5 s.
- Vidu: `images[]`/`image` (URL or data URL; files ignored); `size` is the resolution
  (360p/540p/720p/1080p, default 1080p; viduq1 only 1080p and 5 s).
- Doubao Seedance, MiniMax Hailuo, Veo, generic: see their functions.

Fields a gateway does not read: in the `gateway` dialect they are dropped without a word,
as new-api does (Hailuo images sent anywhere but `metadata.first_frame_image` /
`last_frame_image`; Veo http(s) image URLs; Seedance's top-level `size`; Kling metadata keys
outside its fixed payload struct, and Kling always gets `cfg_scale` 0.5 unless metadata sets
it; Wan `metadata.parameters` keys outside `AliVideoParameters`; Vidu metadata keys outside
its payload). Each drop is recorded in the job's stats (`request.extra.dropped`), so a test
can show that a job silently became text-to-video. The `openai` and `seed` dialects refuse
those fields instead (400, naming the field and where it is read).

Types and lengths (every dialect, and remix): JSON fields of the wrong type are refused as
the official schema refuses them (`"model": [1]`, `"size": null`, an object where a string
belongs), and prompts longer than the family documents (Sora 32000, Wan 800 / 1500 for
wan2.5+, Kling 2500, Vidu 1500 / 2000 / 5000, Hailuo 2000, Veo 4000; others 32000).

Durations on a gateway: its "basic" validator (kling, jimeng, vidu, doubao, hailuo, veo) reads
the JSON `duration` (not `seconds`) and the multipart `seconds`, so the `gateway` dialect
reproduces that; the `openai` and `seed` dialects read `seconds`, then `duration`, for every
model. Durations are otherwise checked only for Sora, viduq1 and against `max_seconds`.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
import uuid
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from prefect_videogen.emulator.decode import RawRequest

__all__ = [
    "ImageRef",
    "JobRequest",
    "Rejection",
    "family_of",
    "finalize",
    "normalize",
    "parse_remix",
]


class Rejection(Exception):
    """A request the server refuses, with what each dialect needs to answer it.

    Attributes:
        message: Human-readable reason, naming the field and what is allowed.
        field: The request field at fault (`param` in OpenAI errors).
        code: Error code (OpenAI `error.code`; the gateway's `code` for its own checks).
        status: HTTP status in the openai/seed dialects.
        gateway_code: The gateway's `code` (`fail_to_fetch_task` for upstream refusals,
            `build_request_failed` for adaptor errors); defaults to `code`.
        gateway_status: HTTP status in the gateway dialect; defaults to `status`.
        upstream: The provider's own error body, which the gateway passes on as its message.
    """

    def __init__(
        self,
        message: str,
        *,
        field: str | None = None,
        code: str | None = None,
        status: int = 400,
        gateway_code: str | None = None,
        gateway_status: int | None = None,
        upstream: dict[str, Any] | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.field = field
        self.code = code
        self.status = status
        self.gateway_code = gateway_code or code or "invalid_request"
        self.gateway_status = gateway_status or status
        self.upstream = upstream

    @property
    def gateway_message(self) -> str:
        """The gateway's message: the provider's body for upstream refusals."""
        if self.upstream is not None:
            return json.dumps(self.upstream, ensure_ascii=False)
        return self.message


def _openai_upstream(message: str, *, field: str | None, code: str | None) -> Rejection:
    """An OpenAI refusal; through a gateway it becomes 400 `fail_to_fetch_task`."""
    body = {
        "error": {"message": message, "type": "invalid_request_error", "param": field, "code": code}
    }
    return Rejection(
        message, field=field, code=code, gateway_code="fail_to_fetch_task", upstream=body
    )


def _provider_upstream(
    message: str, *, field: str | None, code: str = "InvalidParameter", status: int = 400
) -> Rejection:
    """A provider refusal (DashScope, Vidu, ...); through a gateway 400 `fail_to_fetch_task`."""
    body = {"code": code, "message": message, "request_id": str(uuid.uuid4())}
    return Rejection(
        message,
        field=field,
        code="invalid_value",
        status=status,
        gateway_code="fail_to_fetch_task",
        gateway_status=status,
        upstream=body,
    )


@dataclass
class ImageRef:
    """Where an input image comes from: uploaded bytes, a URL (http or data:) or bare base64."""

    field: str
    data: bytes | None = None
    url: str | None = None
    base64: str | None = None
    filename: str | None = None

    def describe(self) -> str:
        """A short, secret-free description for stats."""
        if self.data is not None:
            return f"upload {self.filename or ''}".strip()
        if self.url is not None:
            return "data URL" if self.url.startswith("data:") else self.url
        return "base64"


@dataclass
class JobRequest:
    """A create request after the family's reading: what to render and what to echo."""

    family: str
    model: str
    prompt: str
    seconds: int
    candidates: list[tuple[int, int]]
    first: ImageRef | None = None
    last: ImageRef | None = None
    metadata: dict[str, Any] = field(default_factory=dict)
    encoding: str = "json"
    image_must_match: bool = False
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def mode(self) -> str:
        """t2v, i2v or keyframe."""
        if self.last is not None:
            return "keyframe"
        if self.first is not None:
            return "i2v"
        return "t2v"


# --------------------------------------------------------------------------- helpers

_WXH = re.compile(r"^\s*(\d{1,5})\s*[xX*\u00d7]\s*(\d{1,5})\s*$")
_RATIO = re.compile(r"^\s*(\d{1,3})\s*:\s*(\d{1,3})\s*$")
_TIERS = {
    "360p": 360,
    "480p": 480,
    "512p": 512,
    "540p": 540,
    "720p": 720,
    "768p": 768,
    "1080p": 1080,
    "2k": 1440,
    "1440p": 1440,
    "4k": 2160,
    "2160p": 2160,
}


def _even(value: float) -> int:
    return max(2, round(value / 2) * 2)


def fit(short_side: int, ratio: tuple[int, int]) -> tuple[int, int]:
    """The frame of `ratio` (w:h) whose short side is `short_side`, with even sides."""
    w, h = ratio
    if w >= h:
        return _even(short_side * w / h), _even(short_side)
    return _even(short_side), _even(short_side * h / w)


def parse_wxh(value: str) -> tuple[int, int] | None:
    """(w, h) from "WxH" / "W*H", or None."""
    match = _WXH.match(value)
    return (int(match.group(1)), int(match.group(2))) if match else None


def parse_ratio(value: str) -> tuple[int, int] | None:
    """(w, h) from "16:9", or None."""
    match = _RATIO.match(value)
    if not match or not int(match.group(1)) or not int(match.group(2)):
        return None
    return int(match.group(1)), int(match.group(2))


def _tier(value: str) -> int | None:
    text = value.strip().lower()
    if text.isdigit():
        text += "p"
    return _TIERS.get(text)


def _text(fields: dict[str, Any], name: str) -> str | None:
    value = fields.get(name)
    if isinstance(value, list):
        value = value[0] if value else None
    if value is None:
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float | str):
        text = str(value).strip()
        return text or None
    return None


def _as_list(value: Any) -> list[Any]:
    if value is None:
        return []
    if isinstance(value, list | tuple):
        return [v for v in value if v not in (None, "")]
    return [value] if value != "" else []


def _int(value: Any, field_name: str, *, dialect: str) -> int:
    try:
        if isinstance(value, bool):
            raise ValueError
        if isinstance(value, float):
            if not value.is_integer():
                raise ValueError
            return int(value)
        return int(str(value).strip())
    except (TypeError, ValueError):
        raise Rejection(
            f"{field_name}: {value!r} is not a whole number of seconds.",
            field=field_name,
            code="invalid_seconds" if dialect == "gateway" else "invalid_value",
        ) from None


def _number_or_text(value: str) -> Any:
    try:
        return int(value)
    except ValueError:
        pass
    try:
        return float(value)
    except ValueError:
        return value


def _metadata(raw: RawRequest, known: set[str], *, basic: bool) -> dict[str, Any]:
    value = raw.fields.get("metadata")
    if isinstance(value, list):
        value = value[0] if value else None
    parsed: dict[str, Any] | None = None
    if isinstance(value, dict):
        parsed = value
    elif isinstance(value, str) and value.strip():
        try:
            loaded = json.loads(value)
        except ValueError:
            raise Rejection(
                "metadata: not valid JSON; send a JSON object (or a JSON string holding one).",
                field="metadata",
                code="invalid_metadata",
            ) from None
        if not isinstance(loaded, dict):
            raise Rejection(
                "metadata: must be a JSON object.", field="metadata", code="invalid_metadata"
            )
        parsed = loaded
    elif value not in (None, ""):
        raise Rejection(
            "metadata: must be a JSON object.", field="metadata", code="invalid_metadata"
        )
    if parsed is not None:
        return dict(parsed)
    if basic and raw.encoding == "multipart":
        # The gateway's basic validator copies every unknown form field into metadata.
        return {
            k: _number_or_text(v) if isinstance(v, str) else v
            for k, v in raw.fields.items()
            if k not in known
        }
    return {}


_KNOWN_FIELDS = {
    "prompt",
    "model",
    "mode",
    "image",
    "images",
    "size",
    "duration",
    "seconds",
    "input_reference",
    "metadata",
}


def image_from_value(field_name: str, value: Any) -> ImageRef | None:
    """An ImageRef from a URL / data URL / bare base64 string, or an `{image_url}` object."""
    if value is None or value == "":
        return None
    if isinstance(value, dict):
        if value.get("file_id"):
            raise Rejection(
                f"{field_name}.file_id: the emulator has no Files API; upload the image or "
                "pass `image_url` (an http URL on a loopback host, or a data: URL).",
                field=field_name,
                code="unsupported_file_id",
            )
        url = value.get("image_url") or value.get("url")
        if isinstance(url, dict):
            url = url.get("url")
        if not url:
            raise Rejection(
                f"{field_name}: give `image_url` (or `file_id`).",
                field=field_name,
                code="invalid_value",
            )
        return image_from_value(field_name, url)
    if not isinstance(value, str):
        raise Rejection(
            f"{field_name}: expected an image URL, a data: URL or base64 text.",
            field=field_name,
            code="invalid_value",
        )
    text = value.strip()
    lowered = text[:16].lower()
    if lowered.startswith(("http://", "https://", "data:")):
        return ImageRef(field_name, url=text)
    if re.match(r"^[a-z][a-z0-9+.-]*://", lowered):
        raise Rejection(
            f"{field_name}: unsupported URL scheme in {text[:40]!r}; use http(s) or data:.",
            field=field_name,
            code="invalid_image_url",
        )
    return ImageRef(field_name, base64=text)


def decode_base64(ref: ImageRef) -> bytes:
    """The bytes of a bare-base64 image."""
    assert ref.base64 is not None
    try:
        return base64.b64decode(ref.base64, validate=True)
    except (binascii.Error, ValueError):
        raise Rejection(
            f"{ref.field}: not an http(s) URL, a data: URL or valid base64 image data.",
            field=ref.field,
            code="invalid_image",
        ) from None


def _upload(raw: RawRequest, name: str, index: int = 0) -> ImageRef | None:
    uploads = raw.files.get(name) or []
    if len(uploads) <= index:
        return None
    upload = uploads[index]
    return ImageRef(
        f"{name}" if index == 0 else f"{name}[{index}]", data=upload.data, filename=upload.filename
    )


# --------------------------------------------------------------------------- types, lengths

#: JSON fields and the types the official schema (and the gateway's Go structs) take.
_FIELD_TYPES: dict[str, tuple[type, ...]] = {
    "model": (str,),
    "prompt": (str,),
    "size": (str,),
    "seconds": (str, int),
    "duration": (int, str),
    "mode": (str,),
    "image": (str,),
    "images": (list,),
    "input_reference": (str, dict),
    "metadata": (dict, str),
}
#: Fields that may not be JSON null (the schema's string enums and the required strings).
_NOT_NULL = {"model", "prompt", "size", "seconds"}


def _json_type(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int | float):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return "an array"
    return "an object"


def _type_rejection(name: str, value: Any, expected: str) -> Rejection:
    return Rejection(
        f"Invalid type for '{name}': expected {expected}, but got {_json_type(value)} instead.",
        field=name,
        code="invalid_type",
        gateway_code="invalid_request",
    )


def check_types(raw: RawRequest, names: set[str] | None = None) -> None:
    """Refuse JSON fields of the wrong type, as the official schema does.

    Multipart fields are text by construction and are not checked here.
    """
    if raw.encoding != "json":
        return
    for name, types in _FIELD_TYPES.items():
        if names is not None and name not in names:
            continue
        if name not in raw.fields:
            continue
        value = raw.fields[name]
        if value is None:
            if name in _NOT_NULL:
                raise _type_rejection(name, value, "a string")
            continue
        if isinstance(value, bool) or not isinstance(value, types):
            words = " or ".join(
                {"str": "a string", "int": "an integer", "list": "an array", "dict": "an object"}[
                    t.__name__
                ]
                for t in types
            )
            raise _type_rejection(name, value, words)
        if name == "images":
            for index, item in enumerate(value):
                if not isinstance(item, str):
                    raise _type_rejection(f"images[{index}]", item, "a string")


def max_prompt_chars(family: str, model: str) -> int:
    """The longest prompt the family's provider documents (32000 where none is known)."""
    name = model.lower()
    if family == "wan":
        return 800 if name.startswith(("wan2.2", "wanx2.1", "wan2.1")) else 1500
    if family == "kling":
        return 2500
    if family == "vidu":
        if name in ("viduq1", "vidu2.0", "vidu1.5"):
            return 1500
        return 2000 if name.startswith("viduq2") else 5000
    if family == "hailuo":
        return 2000
    if family == "veo":
        return 4000
    return 32000


def _check_prompt_length(family: str, model: str, prompt: str, dialect: str) -> None:
    limit = max_prompt_chars(family, model)
    if len(prompt) <= limit:
        return
    message = (
        f"Invalid 'prompt': string too long. Expected a string with maximum length {limit}, "
        f"but got a string with length {len(prompt)} instead."
    )
    if family in ("sora", "generic"):
        raise _openai_upstream(message, field="prompt", code="string_above_max_length")
    raise _provider_upstream(message, field="prompt")


def _drop(dialect: str, dropped: list[str], field_name: str, reason: str) -> None:
    """A field the gateway does not read: dropped silently (gateway), else refused."""
    if dialect == "gateway":
        dropped.append(field_name)
        return
    raise Rejection(
        f"{field_name}: {reason}",
        field=field_name,
        code="unsupported_parameter",
    )


# --------------------------------------------------------------------------- families


def family_of(model: str) -> str:
    """The server-side family serving `model`, by name."""
    name = model.strip().lower()
    for prefix, family in (
        ("sora", "sora"),
        ("wan", "wan"),
        ("kling", "kling"),
        ("jimeng", "jimeng"),
        ("vidu", "vidu"),
        ("doubao-seedance", "doubao"),
        ("seedance", "doubao"),
        ("minimax", "hailuo"),
        ("hailuo", "hailuo"),
        ("t2v-01", "hailuo"),
        ("i2v-01", "hailuo"),
        ("s2v-01", "hailuo"),
        ("veo", "veo"),
    ):
        if name.startswith(prefix):
            return family
    return "generic"


#: Families that go through the gateway's "basic" validator (JSON `duration`, not `seconds`).
BASIC_FAMILIES = {"kling", "jimeng", "vidu", "doubao", "hailuo", "veo"}


def _seconds_value(raw: RawRequest, family: str, dialect: str) -> tuple[Any, str]:
    fields = raw.fields
    if dialect == "gateway" and family in BASIC_FAMILIES:
        if raw.encoding == "multipart":
            return fields.get("seconds"), "seconds"
        value = fields.get("duration")
        if value is None and family == "doubao":
            return fields.get("seconds"), "seconds"
        return value, "duration"
    if family == "sora" and dialect == "gateway":
        return fields.get("seconds"), "seconds"
    if fields.get("seconds") not in (None, ""):
        return fields.get("seconds"), "seconds"
    return fields.get("duration"), "duration"


def normalize(raw: RawRequest, *, dialect: str, max_seconds: int) -> JobRequest:
    """Read and check a create request the way the real server does.

    Args:
        raw: The decoded body.
        dialect: `openai`, `gateway` or `seed` (the gateway requires `model` and keeps
            its field quirks).
        max_seconds: The longest video the emulator renders.

    Returns:
        The request as the family understood it; image sizes are checked later by `finalize`.

    Raises:
        Rejection: with the status, code and message the server would send.
    """
    fields = raw.fields
    check_types(raw)
    model = _text(fields, "model")
    if model is None:
        if dialect == "gateway":
            raise Rejection("model field is required", field="model", code="missing_model")
        model = "sora-2"
    prompt_value = fields.get("prompt")
    prompt = prompt_value.strip() if isinstance(prompt_value, str) else ""
    if not prompt:
        if dialect == "gateway":
            raise Rejection("prompt is required", field="prompt", code="invalid_request")
        raise Rejection(
            "Missing required parameter: 'prompt'.",
            field="prompt",
            code="missing_required_parameter",
        )
    family = family_of(model)
    _check_prompt_length(family, model, prompt, dialect)
    metadata = _metadata(raw, _KNOWN_FIELDS, basic=family in BASIC_FAMILIES)

    value, seconds_field = _seconds_value(raw, family, dialect)
    seconds = None if value in (None, "") else _int(value, seconds_field, dialect=dialect)
    if seconds is not None and dialect == "gateway" and not 0 <= seconds <= 3600:
        raise Rejection(
            f"seconds must be between 0 and 3600, got {seconds}",
            field=seconds_field,
            code="invalid_seconds",
        )

    reader = _FAMILIES[family]
    request = reader(
        raw, model=model, prompt=prompt, seconds=seconds, metadata=metadata, dialect=dialect
    )
    request.encoding = raw.encoding
    if not 1 <= request.seconds <= max_seconds:
        raise Rejection(
            f"{seconds_field}: {request.seconds} s is outside what the emulator renders "
            f"(1..{max_seconds} s).",
            field=seconds_field,
            code="invalid_seconds",
        )
    return request


# Sora ------------------------------------------------------------------------------

_SORA_SIZES = ("720x1280", "1280x720")
_SORA_PRO_SIZES = (*_SORA_SIZES, "1024x1792", "1792x1024", "1920x1080", "1080x1920")
_SORA_PRO_GATEWAY_SIZES = (*_SORA_SIZES, "1792x1024", "1024x1792")
_SORA_SECONDS = (4, 8, 12, 16, 20)


def _sora(raw, *, model, prompt, seconds, metadata, dialect) -> JobRequest:
    """OpenAI's rules; a gateway checks `size` itself (older list), forwards the rest."""
    pro = model.lower().startswith("sora-2-pro")
    if len(prompt) > 32000:
        raise _openai_upstream(
            f"Invalid 'prompt': string too long. Expected a string with maximum length "
            f"32000, but got a string with length {len(prompt)} instead.",
            field="prompt",
            code="string_above_max_length",
        )
    size = _text(raw.fields, "size") or "720x1280"
    if dialect == "gateway":
        allowed = _SORA_PRO_GATEWAY_SIZES if pro else _SORA_SIZES
        if size not in allowed:
            name = "sora-2-pro" if pro else "sora-2"
            raise Rejection(f"{name} size is invalid", field="size", code="invalid_size")
    allowed = _SORA_PRO_SIZES if pro else _SORA_SIZES
    if size not in allowed:
        raise _openai_upstream(
            f"Invalid value for 'size': {size!r} is not supported by {model}. "
            f"Supported values are: {', '.join(allowed)}.",
            field="size",
            code="invalid_size",
        )
    seconds = 4 if seconds is None else seconds
    if seconds not in _SORA_SECONDS:
        raise _openai_upstream(
            f"Invalid value for 'seconds': {seconds}. Supported values are: "
            f"{', '.join(str(s) for s in _SORA_SECONDS)}.",
            field="seconds",
            code="invalid_value",
        )
    first = _upload(raw, "input_reference") or image_from_value(
        "input_reference", raw.fields.get("input_reference")
    )
    width, height = parse_wxh(size) or (720, 1280)
    return JobRequest(
        family="sora",
        model=model,
        prompt=prompt,
        seconds=seconds,
        candidates=[(width, height)],
        first=first,
        metadata=metadata,
        image_must_match=True,
    )


# Wan (DashScope) ----------------------------------------------------------------------

_WAN_SIZES = {
    "480P": ("832*480", "480*832", "624*624"),
    "720P": ("1280*720", "720*1280", "960*960", "1088*832", "832*1088"),
    "1080P": ("1920*1080", "1080*1920", "1440*1440", "1632*1248", "1248*1632"),
}
_WAN_ALL_SIZES = tuple(s for sizes in _WAN_SIZES.values() for s in sizes)


#: The keys of new-api's AliVideoParameters: other `metadata.parameters` keys are dropped.
WAN_PARAMETER_KEYS = frozenset(
    {"resolution", "size", "duration", "prompt_extend", "watermark", "audio", "seed"}
)


def _wan_default(model: str, t2v: bool) -> str:
    name = model.lower()
    if t2v:
        return "1920*1080" if name.startswith(("wan2.5", "wan2.2")) else "1280*720"
    if name.startswith(("wan2.6", "wan2.5", "wan2.2-i2v-plus")):
        return "1080P"
    return "720P"


def _wan_size_pairs(tier: str) -> list[tuple[int, int]]:
    return [parse_wxh(s) for s in _WAN_SIZES[tier]]  # type: ignore[misc]


def _wan(raw, *, model, prompt, seconds, metadata, dialect) -> JobRequest:
    """DashScope through the gateway: nested metadata, "W*H" for t2v, tiers for i2v/kf2v."""
    name = model.lower()
    t2v = "t2v" in name
    kf2v = "kf2v" in name
    params = metadata.get("parameters") if isinstance(metadata.get("parameters"), dict) else {}
    dropped: list[str] = []
    for key in sorted(set(params) - WAN_PARAMETER_KEYS):
        _drop(
            dialect,
            dropped,
            f"metadata.parameters.{key}",
            "not a field of the gateway's AliVideoParameters (resolution, size, duration, "
            "prompt_extend, watermark, audio, seed)",
        )
        params = {k: v for k, v in params.items() if k != key}
    if dialect == "seed":
        # The seed document passes Wan's images as flat metadata keys; its server reads them.
        flat = {k: metadata.get(k) for k in ("img_url", "first_frame_url", "last_frame_url")}
        flat = {k: v for k, v in flat.items() if v}
        if flat:
            nested = (
                dict(metadata.get("input") or {}) if isinstance(metadata.get("input"), dict) else {}
            )
            metadata = {**metadata, "input": {**flat, **nested}}
    if "model" in metadata and metadata["model"] != model:
        raise Rejection(
            "can't change model with metadata",
            field="metadata.model",
            code="build_request_failed",
            gateway_status=500,
        )
    size = _text(raw.fields, "size")
    seconds = seconds if seconds is not None else 5
    if params.get("duration") is not None:
        seconds = _int(params["duration"], "metadata.parameters.duration", dialect=dialect)

    if t2v:
        size = str(params.get("size") or size or _wan_default(model, True))
        if "*" not in size:
            raise Rejection(
                f"invalid size: {size}, example: 1920*1080",
                field="size",
                code="invalid_size",
                gateway_code="build_request_failed",
                gateway_status=500,
            )
        if size.replace(" ", "") not in _WAN_ALL_SIZES:
            raise Rejection(
                f"invalid size: {size}; allowed: {', '.join(_WAN_ALL_SIZES)}",
                field="size",
                code="invalid_size",
            )
        if "2.7" in name and size.replace(" ", "") in _WAN_SIZES["480P"]:
            raise _provider_upstream(
                f"The size {size!r} is invalid for {model}: it has no 480P tier.", field="size"
            )
        candidates = [parse_wxh(size)]
        first = last = None
    else:
        if params.get("size"):
            size = str(params["size"])
        resolution = params.get("resolution")
        if resolution is None and size and "*" in size:
            pair = parse_wxh(size)
            if size.replace(" ", "") not in _WAN_ALL_SIZES or pair is None:
                raise Rejection(
                    f"invalid size: {size}; allowed: {', '.join(_WAN_ALL_SIZES)}",
                    field="size",
                    code="invalid_size",
                )
            candidates = [pair]
        else:
            text = str(resolution or size or _wan_default(model, False)).upper()
            if not text.endswith("P"):
                text += "P"
            if text not in _WAN_SIZES or ("2.7" in name and text == "480P"):
                raise _provider_upstream(
                    f"The parameter resolution {text!r} is invalid; use one of 480P, 720P, "
                    "1080P (a size such as 1920x1080 is not a Wan i2v resolution).",
                    field="size",
                )
            candidates = _wan_size_pairs(text)
        inputs = metadata.get("input") if isinstance(metadata.get("input"), dict) else {}
        media = _as_list(inputs.get("media"))
        media_first = next(
            (m.get("url") for m in media if isinstance(m, dict) and m.get("type") == "first_frame"),
            None,
        )
        media_last = next(
            (m.get("url") for m in media if isinstance(m, dict) and m.get("type") == "last_frame"),
            None,
        )
        images = _as_list(raw.fields.get("images"))
        body_image = (
            _text(raw.fields, "image")
            or (images[0] if images else None)
            or (
                raw.fields.get("input_reference")
                if isinstance(raw.fields.get("input_reference"), str)
                else None
            )
        )
        if inputs.get("img_url"):
            first = image_from_value("metadata.input.img_url", inputs["img_url"])
        elif inputs.get("first_frame_url"):
            first = image_from_value("metadata.input.first_frame_url", inputs["first_frame_url"])
        elif media_first:
            first = image_from_value("metadata.input.media", media_first)
        else:
            first = image_from_value("image", body_image)
        last = None
        if inputs.get("last_frame_url"):
            last = image_from_value("metadata.input.last_frame_url", inputs["last_frame_url"])
        elif media_last:
            last = image_from_value("metadata.input.media", media_last)
        if not kf2v and last is not None and first is not None and "2.7" not in name:
            last = None  # plain i2v models have no last frame
        if first is None:
            hint = ""
            if raw.files:
                hint += " Uploaded files are not read for Wan models."
            if "img_url" in metadata:
                hint += " A top-level metadata.img_url is ignored by the gateway."
            field_name = "metadata.input.first_frame_url" if kf2v else "metadata.input.img_url"
            raise _provider_upstream(
                f"Field required: {field_name[len('metadata.') :]}. Pass the image URL in "
                f"{field_name}, `image`, `images[0]` or an `input_reference` string.{hint}",
                field=field_name,
            )
        if kf2v and last is None:
            raise _provider_upstream(
                "Field required: input.last_frame_url. Pass it in metadata.input.last_frame_url.",
                field="metadata.input.last_frame_url",
            )
    return JobRequest(
        family="wan",
        model=model,
        prompt=prompt,
        seconds=seconds,
        candidates=candidates,  # type: ignore[arg-type]
        first=first,
        last=last,
        metadata=metadata,
        extra={"dropped": dropped} if dropped else {},
    )


# Kling ---------------------------------------------------------------------------------

_KLING_RATIO_OF_SIZE = {
    "1024x1024": "1:1",
    "512x512": "1:1",
    "1280x720": "16:9",
    "1920x1080": "16:9",
    "720x1280": "9:16",
    "1080x1920": "9:16",
}
_KLING_FRAMES = {
    ("16:9", "std"): (1280, 720),
    ("16:9", "pro"): (1920, 1080),
    ("9:16", "std"): (720, 1280),
    ("9:16", "pro"): (1080, 1920),
    ("1:1", "std"): (720, 720),
    ("1:1", "pro"): (1080, 1080),
}


#: The keys of new-api's Kling payload struct: other metadata keys are dropped.
KLING_STRUCT_KEYS = frozenset(
    {"image_tail", "negative_prompt", "cfg_scale", "aspect_ratio", "mode", "camera_control"}
    | {"static_mask", "dynamic_masks", "callback_url", "external_task_id", "duration"}
    | {"prompt", "image", "model_name", "model"}
)


def _kling(raw, *, model, prompt, seconds, metadata, dialect) -> JobRequest:
    """`image` + `metadata.image_tail`; `size` -> aspect ratio (unknown -> 1:1)."""
    dropped: list[str] = []
    for key in sorted(set(metadata) - KLING_STRUCT_KEYS):
        _drop(
            dialect,
            dropped,
            f"metadata.{key}",
            "not a field of the Kling payload (image_tail, negative_prompt, cfg_scale, "
            "aspect_ratio, mode, camera_control, static_mask, dynamic_masks, callback_url, "
            "external_task_id, duration)",
        )
        metadata = {k: v for k, v in metadata.items() if k != key}
    for name in ("images", "input_reference"):
        if raw.fields.get(name) not in (None, "", []) or raw.files.get(name):
            _drop(dialect, dropped, name, "Kling reads the first frame only from `image`")
    size = (_text(raw.fields, "size") or "").replace(" ", "")
    ratio = str(metadata.get("aspect_ratio") or _KLING_RATIO_OF_SIZE.get(size, "1:1"))
    mode = str(metadata.get("mode") or _text(raw.fields, "mode") or "std")
    if (ratio, "std") not in _KLING_FRAMES:
        raise Rejection(
            f"Kling: aspect_ratio {ratio!r} is invalid; allowed: 16:9, 9:16, 1:1",
            field="metadata.aspect_ratio",
            code="invalid_value",
            gateway_code="task_failed",
        )
    if mode not in ("std", "pro"):
        raise Rejection(
            f"Kling: mode {mode!r} is invalid; allowed: std, pro",
            field="metadata.mode",
            code="invalid_value",
            gateway_code="task_failed",
        )
    seconds = seconds if seconds is not None else 5
    if metadata.get("duration") is not None:
        seconds = _int(metadata["duration"], "metadata.duration", dialect=dialect)
    first = image_from_value("image", _text(raw.fields, "image"))
    last = image_from_value("metadata.image_tail", metadata.get("image_tail"))
    return JobRequest(
        family="kling",
        model=model,
        prompt=prompt,
        seconds=seconds,
        candidates=[_KLING_FRAMES[(ratio, mode)]],
        first=first,
        last=last,
        metadata=metadata,
        extra={
            "aspect_ratio": ratio,
            "mode": mode,
            "cfg_scale": metadata.get("cfg_scale", 0.5),
            **({"dropped": dropped} if dropped else {}),
        },
    )


# Jimeng --------------------------------------------------------------------------------

_JIMENG_RATIOS = ("16:9", "9:16", "1:1", "4:3", "3:4", "21:9")
_JIMENG_MAX_FILE = int(4.7 * 1024 * 1024)


def _jimeng(raw, *, model, prompt, seconds, metadata, dialect) -> JobRequest:
    """Uploaded files (2+ = first/last) or images[]; 10 s if duration is 10, else 5 s."""
    ratio = str(metadata.get("aspect_ratio") or "16:9")
    pair = parse_ratio(ratio)
    if ratio not in _JIMENG_RATIOS or pair is None:
        raise Rejection(
            f"Jimeng: aspect_ratio {ratio!r} is invalid; allowed: {', '.join(_JIMENG_RATIOS)}",
            field="metadata.aspect_ratio",
            code="invalid_value",
            gateway_code="50400",  # a Volcengine-style numeric code (illustrative)
            gateway_status=500,
        )
    frames = metadata.get("frames")
    if frames is not None:
        effective = 10 if str(frames) == "241" else 5
    else:
        effective = 10 if seconds == 10 else 5
    refs: list[ImageRef] = []
    for index, upload in enumerate(raw.files.get("input_reference") or []):
        if len(upload.data) > _JIMENG_MAX_FILE:
            raise Rejection(
                f"input_reference[{index}]: {len(upload.data)} bytes; Jimeng takes files up to "
                "4.7 MB each.",
                field="input_reference",
                code="file_too_large",
                status=413,
            )
        refs.append(
            ImageRef(f"input_reference[{index}]", data=upload.data, filename=upload.filename)
        )
    if not refs:
        sources = (
            _as_list(metadata.get("binary_data_base64"))
            or _as_list(metadata.get("image_urls"))
            or _as_list(raw.fields.get("images"))
            or _as_list(raw.fields.get("image"))
        )
        refs = [r for i, v in enumerate(sources) if (r := image_from_value(f"images[{i}]", v))]
    return JobRequest(
        family="jimeng",
        model=model,
        prompt=prompt,
        seconds=effective,
        candidates=[fit(720, pair)],
        first=refs[0] if refs else None,
        last=refs[1] if len(refs) > 1 else None,
        metadata=metadata,
        extra={"aspect_ratio": ratio},
    )


# Vidu ----------------------------------------------------------------------------------

_VIDU_TIERS = {"360p": 360, "540p": 540, "720p": 720, "1080p": 1080}


#: The keys of new-api's Vidu payload: other metadata keys are dropped.
VIDU_STRUCT_KEYS = frozenset(
    {"seed", "resolution", "movement_amplitude", "bgm", "payload", "callback_url"}
    | {"duration", "images", "action", "model"}
)


def _vidu(raw, *, model, prompt, seconds, metadata, dialect) -> JobRequest:
    """images[]/image (files ignored); `size` IS the resolution (default 1080p)."""
    dropped: list[str] = []
    for key in sorted(set(metadata) - VIDU_STRUCT_KEYS):
        _drop(
            dialect,
            dropped,
            f"metadata.{key}",
            "not a field of the Vidu payload (Vidu has no aspect_ratio or style here)",
        )
        metadata = {k: v for k, v in metadata.items() if k != key}
    resolution = str(metadata.get("resolution") or _text(raw.fields, "size") or "1080p")
    short = _VIDU_TIERS.get(resolution.strip().lower())
    if short is None:
        raise _provider_upstream(
            f"resolution {resolution!r} is invalid; Vidu takes 360p, 540p, 720p or 1080p "
            "(pass it as `size`).",
            field="size",
        )
    seconds = seconds if seconds is not None else 5
    if metadata.get("duration") is not None:
        seconds = _int(metadata["duration"], "metadata.duration", dialect=dialect)
    if model.lower().startswith("viduq1"):
        if short != 1080:
            raise _provider_upstream(
                f"viduq1 supports resolution 1080p only, got {resolution!r}", field="size"
            )
        if seconds != 5:
            raise _provider_upstream(
                f"viduq1 supports duration 5 only, got {seconds}", field="duration"
            )
    sources = (
        _as_list(metadata.get("images"))
        or _as_list(raw.fields.get("images"))
        or _as_list(raw.fields.get("image"))
    )
    refs = [r for i, v in enumerate(sources) if (r := image_from_value(f"images[{i}]", v))]
    first = refs[0] if refs else None
    last = refs[1] if len(refs) == 2 else None
    ratios = [(16, 9)] if first is None else [(16, 9), (9, 16), (1, 1)]
    return JobRequest(
        family="vidu",
        model=model,
        prompt=prompt,
        seconds=seconds,
        candidates=[fit(short, r) for r in ratios],
        first=first,
        last=last,
        metadata=metadata,
        extra={"dropped": dropped} if dropped else {},
    )


# Doubao Seedance -------------------------------------------------------------------------

_DOUBAO_RATIOS = ("21:9", "16:9", "4:3", "1:1", "3:4", "9:16")
_DOUBAO_TIERS = {"480p": 480, "720p": 720, "1080p": 1080}


def _doubao(raw, *, model, prompt, seconds, metadata, dialect) -> JobRequest:
    """images[] or metadata.content (roles first_frame/last_frame); size ignored."""
    dropped: list[str] = []
    if _text(raw.fields, "size") is not None:
        _drop(
            dialect,
            dropped,
            "size",
            "Seedance ignores size; send metadata.ratio and metadata.resolution",
        )
    default_resolution = "1080p" if "pro" in model.lower() else "720p"
    resolution = str(metadata.get("resolution") or default_resolution).lower()
    if resolution not in _DOUBAO_TIERS:
        raise _provider_upstream(
            f"resolution {resolution!r} is invalid; allowed: 480p, 720p, 1080p",
            field="metadata.resolution",
        )
    ratio = str(metadata.get("ratio") or "16:9")
    if ratio != "adaptive" and ratio not in _DOUBAO_RATIOS:
        raise _provider_upstream(
            f"ratio {ratio!r} is invalid; allowed: {', '.join(_DOUBAO_RATIOS)}, adaptive",
            field="metadata.ratio",
        )
    seconds = seconds if seconds is not None else 5
    if metadata.get("duration") is not None:
        seconds = _int(metadata["duration"], "metadata.duration", dialect=dialect)
    lowest, highest = (4, 15) if "seedance-2" in model.lower() else (2, 12)
    if not lowest <= seconds <= highest:
        raise _provider_upstream(
            f"duration {seconds} is invalid for {model}; allowed: {lowest} to {highest}",
            field="metadata.duration",
        )
    first = last = None
    content = metadata.get("content")
    if isinstance(content, list):
        plain: list[Any] = []
        for item in content:
            if not isinstance(item, dict) or item.get("type") != "image_url":
                continue
            url = item.get("image_url")
            url = url.get("url") if isinstance(url, dict) else url
            role = item.get("role")
            if role == "last_frame":
                last = image_from_value("metadata.content", url)
            elif role in (None, "first_frame"):
                plain.append(url)
        if plain:
            first = image_from_value("metadata.content", plain[0])
    else:
        images = _as_list(raw.fields.get("images")) or _as_list(raw.fields.get("image"))
        if images:
            first = image_from_value("images[0]", images[0])
    short = _DOUBAO_TIERS[resolution]
    if ratio == "adaptive":
        candidates = [fit(short, parse_ratio(r)) for r in _DOUBAO_RATIOS]  # type: ignore[arg-type]
        if first is None:
            candidates = [fit(short, (16, 9))]
    else:
        candidates = [fit(short, parse_ratio(ratio))]  # type: ignore[arg-type]
    return JobRequest(
        family="doubao",
        model=model,
        prompt=prompt,
        seconds=seconds,
        candidates=candidates,
        first=first,
        last=last,
        metadata=metadata,
        extra={"dropped": dropped} if dropped else {},
    )


# MiniMax Hailuo --------------------------------------------------------------------------


def _hailuo(raw, *, model, prompt, seconds, metadata, dialect) -> JobRequest:
    """Images only via metadata first_frame_image/last_frame_image; size -> 1080P/768P/720P/512P."""
    size = _text(raw.fields, "size") or ""
    resolution = str(metadata.get("resolution") or "")
    if not resolution:
        for marker in ("1080", "768", "720", "512"):
            if marker in size:
                resolution = f"{marker}P"
                break
    if not resolution:
        name = model.lower()
        resolution = (
            "768P" if ("2.3" in name or "-02" in name or "t2v-01-director" in name) else "720P"
        )
    short = _tier(resolution)
    if short is None or short not in (512, 720, 768, 1080):
        raise _provider_upstream(
            f"resolution {resolution!r} is invalid; allowed: 512P, 720P, 768P, 1080P",
            field="metadata.resolution",
            code="2013",
        )
    seconds = seconds if seconds is not None else 6
    if metadata.get("duration") is not None:
        seconds = _int(metadata["duration"], "metadata.duration", dialect=dialect)
    lowered = model.lower()
    if lowered.startswith(("minimax-hailuo-2.3", "minimax-hailuo-02")):
        if seconds not in (6, 10):
            raise _provider_upstream(
                f"duration {seconds} is invalid for {model}; allowed: 6, 10",
                field="duration",
                code="2013",
            )
        if short == 1080 and seconds != 6:
            raise _provider_upstream(
                f"{model} makes 1080P video only with duration 6", field="duration", code="2013"
            )
    elif lowered.startswith(("t2v-01", "i2v-01", "s2v-01")) and seconds != 6:
        raise _provider_upstream(
            f"duration {seconds} is invalid for {model}; allowed: 6", field="duration", code="2013"
        )
    dropped: list[str] = []
    for name in ("image", "images", "input_reference"):
        if raw.fields.get(name) not in (None, "", []) or raw.files.get(name):
            _drop(
                dialect,
                dropped,
                name,
                "MiniMax Hailuo reads images only from metadata.first_frame_image and "
                "metadata.last_frame_image",
            )
    first = image_from_value("metadata.first_frame_image", metadata.get("first_frame_image"))
    last = image_from_value("metadata.last_frame_image", metadata.get("last_frame_image"))
    if first is None and lowered.startswith(("i2v-01", "minimax-hailuo-2.3-fast")):
        raise _provider_upstream(
            f"{model} needs first_frame_image (an image-to-video model)",
            field="metadata.first_frame_image",
            code="2013",
        )
    return JobRequest(
        family="hailuo",
        model=model,
        prompt=prompt,
        seconds=seconds,
        candidates=[fit(short, (16, 9))],
        first=first,
        last=last,
        metadata=metadata,
        extra={"dropped": dropped} if dropped else {},
    )


# Veo -------------------------------------------------------------------------------------


def _veo(raw, *, model, prompt, seconds, metadata, dialect) -> JobRequest:
    """Upload or data-URL/base64 image (http URLs silently ignored); "WxH" -> 720p/1080p/4k."""
    size = _text(raw.fields, "size")
    pair = parse_wxh(size) if size else None
    resolution = str(metadata.get("resolution") or "")
    aspect = str(metadata.get("aspectRatio") or "")
    if pair is not None:
        longest = max(pair)
        resolution = resolution or (
            "4k" if longest >= 3840 else "1080p" if longest >= 1920 else "720p"
        )
        aspect = aspect or ("9:16" if pair[1] > pair[0] else "16:9")
    resolution = resolution or "720p"
    aspect = aspect or "16:9"
    short = _tier(resolution)
    ratio = parse_ratio(aspect)
    if short is None or ratio is None:
        raise Rejection(
            f"Veo: resolution {resolution!r} / aspectRatio {aspect!r} invalid; use 720p, "
            "1080p or 4k and 16:9 or 9:16",
            field="metadata.resolution",
            code="invalid_value",
            gateway_code="fail_to_fetch_task",
        )
    seconds = seconds if seconds is not None else 8
    if metadata.get("durationSeconds") is not None:
        seconds = _int(metadata["durationSeconds"], "metadata.durationSeconds", dialect=dialect)
    if model.lower().startswith("veo-3") and seconds not in (4, 6, 8):
        raise Rejection(
            f"Veo: durationSeconds {seconds} is out of bounds; allowed: 4, 6, 8",
            field="metadata.durationSeconds",
            code="invalid_value",
            gateway_code="fail_to_fetch_task",
        )
    dropped: list[str] = []
    first = _upload(raw, "input_reference")
    if first is None:
        images = _as_list(raw.fields.get("images")) or _as_list(raw.fields.get("image"))
        if images and isinstance(images[0], str) and images[0].lower().startswith("http"):
            _drop(
                dialect,
                dropped,
                "images[0]",
                "Veo reads an image only as a data: URL or base64 (or an uploaded file); an "
                "http(s) URL is not fetched",
            )
        elif images and isinstance(images[0], str):
            first = image_from_value("images[0]", images[0])
    return JobRequest(
        family="veo",
        model=model,
        prompt=prompt,
        seconds=seconds,
        candidates=[fit(short, ratio)],
        first=first,
        metadata=metadata,
        extra={"dropped": dropped} if dropped else {},
    )


# Generic -----------------------------------------------------------------------------------


def _generic(raw, *, model, prompt, seconds, metadata, dialect) -> JobRequest:
    """Any other model: "WxH"/"W*H" exact, a tier ("720p", 16:9) or a ratio; any image field."""
    size = _text(raw.fields, "size")
    if size is None:
        candidates = [(1280, 720)]
    elif (pair := parse_wxh(size)) is not None:
        if pair[0] % 2 or pair[1] % 2:
            raise Rejection(
                f"size: {size!r} has an odd side; width and height must be even (yuv420p).",
                field="size",
                code="invalid_size",
            )
        candidates = [pair]
    elif (short := _tier(size)) is not None:
        candidates = [fit(short, (16, 9))]
    elif (ratio := parse_ratio(size)) is not None:
        candidates = [fit(720, ratio)]
    else:
        raise Rejection(
            f'size: {size!r} is not a size; use "WxH" (1280x720), "W*H", a tier such as '
            '"720p" or an aspect ratio such as "16:9".',
            field="size",
            code="invalid_size",
        )
    refs: list[ImageRef] = []
    for index in range(2):
        upload = _upload(raw, "input_reference", index)
        if upload is not None:
            refs.append(upload)
    if not refs:
        inputs = metadata.get("input") if isinstance(metadata.get("input"), dict) else {}
        candidates_values = [
            ("input_reference", raw.fields.get("input_reference")),
            ("image", _text(raw.fields, "image")),
            *[(f"images[{i}]", v) for i, v in enumerate(_as_list(raw.fields.get("images")))],
            ("metadata.first_frame_url", metadata.get("first_frame_url")),
            ("metadata.img_url", metadata.get("img_url")),
            ("metadata.input.img_url", inputs.get("img_url")),
            ("metadata.input.first_frame_url", inputs.get("first_frame_url")),
        ]
        seen: set[str] = set()
        for name, value in candidates_values:
            # The same URL sent in several carriers (input_reference and images[0]) is one image.
            if isinstance(value, list) or (isinstance(value, str) and value in seen):
                continue
            ref = image_from_value(name, value)
            if ref is not None:
                refs.append(ref)
                if isinstance(value, str):
                    seen.add(value)
        tail = (
            metadata.get("last_frame_url")
            or metadata.get("image_tail")
            or inputs.get("last_frame_url")
        )
        if tail:
            tail_ref = image_from_value("metadata.last_frame_url", tail)
            refs = [*refs[:1], tail_ref] if tail_ref is not None else refs
    return JobRequest(
        family="generic",
        model=model,
        prompt=prompt,
        seconds=seconds if seconds is not None else 4,
        candidates=candidates,
        first=refs[0] if refs else None,
        last=refs[1] if len(refs) > 1 else None,
        metadata=metadata,
    )


_FAMILIES = {
    "sora": _sora,
    "wan": _wan,
    "kling": _kling,
    "jimeng": _jimeng,
    "vidu": _vidu,
    "doubao": _doubao,
    "hailuo": _hailuo,
    "veo": _veo,
    "generic": _generic,
}


def finalize(
    request: JobRequest,
    first_size: tuple[int, int] | None,
    *,
    max_dimension: int,
) -> tuple[int, int]:
    """The output frame size, once the first image's size is known; checks image rules.

    Raises:
        Rejection: the Sora reference image does not have the output size, or the frame
            is larger than the emulator renders.
    """
    if request.image_must_match and first_size is not None:
        target = request.candidates[0]
        if first_size != target:
            raise _openai_upstream(
                "Inpaint image must match the requested width and height",
                field="input_reference",
                code=None,
            )
    candidates = request.candidates
    if first_size is not None and len(candidates) > 1:
        aspect = first_size[0] / first_size[1]
        width, height = min(candidates, key=lambda c: abs(c[0] / c[1] - aspect))
    else:
        width, height = candidates[0]
    if width > max_dimension or height > max_dimension or width < 16 or height < 16:
        raise Rejection(
            f"size: {width}x{height} is outside what the emulator renders (16..{max_dimension} "
            "pixels a side).",
            field="size",
            code="invalid_size",
        )
    return width, height


def parse_remix(fields: dict[str, Any], *, dialect: str) -> str:
    """The prompt of a remix request: a string of at most 32000 characters."""
    prompt = fields.get("prompt")
    if prompt is not None and not isinstance(prompt, str):
        raise _type_rejection("prompt", prompt, "a string")
    if isinstance(prompt, str) and len(prompt) > 32000:
        raise _openai_upstream(
            "Invalid 'prompt': string too long. Expected a string with maximum length 32000, "
            f"but got a string with length {len(prompt)} instead.",
            field="prompt",
            code="string_above_max_length",
        )
    if not isinstance(prompt, str) or not prompt.strip():
        if dialect == "gateway":
            raise Rejection("prompt is required", field="prompt", code="invalid_request")
        raise Rejection(
            "Missing required parameter: 'prompt'.",
            field="prompt",
            code="missing_required_parameter",
        )
    return prompt.strip()
