"""Pure checks shared by the model families (`ProviderFamily.validate` in base.py runs them).

Every check raises `InvalidRequestError` naming the request field (`prompt`, `seconds`,
`size`, `first_frame`, `last_frame`, `params.<name>`, `metadata`), the model and what would
have been accepted, so a bad request is stopped before any paid call. The size grammar
(`parse_wxh`, `parse_tier`, `nearest_ratio`) lives in `sizes.py` and is re-exported here.
"""

from __future__ import annotations

import io
import json
import math
import mimetypes
import types
from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any, Literal, Union, get_args, get_origin

import annotated_types
from pydantic import BaseModel, ValidationError
from pydantic.fields import FieldInfo

from prefect_videogen.exceptions import InvalidRequestError
from prefect_videogen.families.sizes import nearest_ratio, parse_tier, parse_wxh
from prefect_videogen.images import ImageInput

if TYPE_CHECKING:
    from prefect_videogen.families.base import ModelSpec, VideoRequest

__all__ = [
    "ALL_MODES",
    "MAX_PROMPT_CHARS",
    "MAX_SECONDS",
    "as_upload",
    "check_image",
    "check_jsonable",
    "check_metadata",
    "check_mode",
    "check_model_name",
    "check_params",
    "check_prompt",
    "check_seconds",
    "check_size",
    "deep_merge",
    "describe_modes",
    "images_of",
    "nearest_ratio",
    "parse_tier",
    "parse_wxh",
]

#: Every mode a request can have.
ALL_MODES: frozenset[str] = frozenset({"t2v", "i2v", "keyframe"})

#: The longest prompt the OpenAI video format accepts (Sora's documented limit).
MAX_PROMPT_CHARS = 32000

#: The longest duration new-api gateways accept (they reject `seconds` above 3600).
MAX_SECONDS = 3600

_MODE_WORDS = {
    "t2v": "t2v (prompt only)",
    "i2v": "i2v (first_frame)",
    "keyframe": "keyframe (first_frame + last_frame)",
}


def describe_modes(modes: Iterable[str]) -> list[str]:
    """Human words for modes, in the order t2v, i2v, keyframe."""
    return [_MODE_WORDS[m] for m in ("t2v", "i2v", "keyframe") if m in modes]


def images_of(request: VideoRequest) -> list[tuple[str, ImageInput]]:
    """The request's images with their field names, first frame first."""
    pairs = (("first_frame", request.first_frame), ("last_frame", request.last_frame))
    return [(field, image) for field, image in pairs if image is not None]


def as_upload(image: ImageInput, field: str) -> tuple[str, bytes, str]:
    """`(filename, bytes, content_type)` for a multipart file part, as httpx takes it.

    An image given as a data: URL has no real file name; it is named after the field.
    """
    data = image.read()
    content_type = image.media_type or ImageInput.from_bytes(data).media_type
    content_type = content_type or "application/octet-stream"
    if image.data is not None:
        filename = image.filename
    else:
        filename = field + (mimetypes.guess_extension(content_type) or "")
    return filename, data, content_type


def deep_merge(base: Mapping[str, Any], override: Mapping[str, Any]) -> dict[str, Any]:
    """A new dict: `override` merged into `base`, nested dicts merged key by key.

    Example:
        ```python
        from prefect_videogen.families.checks import deep_merge

        merged = deep_merge({"input": {"a": 1}, "x": 1}, {"input": {"b": 2}, "x": 2})
        assert merged == {"input": {"a": 1, "b": 2}, "x": 2}
        ```
    """
    merged: dict[str, Any] = dict(base)
    for key, value in override.items():
        current = merged.get(key)
        if isinstance(current, Mapping) and isinstance(value, Mapping):
            merged[key] = deep_merge(current, value)
        else:
            merged[key] = value
    return merged


# --------------------------------------------------------------------------------------
# Field checks


def check_model_name(model: str) -> None:
    """The model name must be a non-empty string without surrounding blanks."""
    if not isinstance(model, str) or not model.strip():
        raise InvalidRequestError(
            "model", "a model name is required", value=model, allowed='a model name, e.g. "sora-2"'
        )
    if model != model.strip():
        raise InvalidRequestError(
            "model",
            f"model {model!r} has leading or trailing blanks",
            value=model,
            allowed=repr(model.strip()),
        )


def check_prompt(prompt: str, *, model: str, max_chars: int) -> None:
    """The prompt must have text and at most `max_chars` characters."""
    if not prompt or not prompt.strip():
        raise InvalidRequestError(
            "prompt",
            f"a prompt is required for model {model!r}",
            value=prompt,
            allowed=f"a non-empty text of at most {max_chars} characters",
            model=model,
        )
    if len(prompt) > max_chars:
        raise InvalidRequestError(
            "prompt",
            f"the prompt has {len(prompt)} characters, too many for model {model!r}",
            value=f"{prompt[:40]}...",
            allowed=f"at most {max_chars} characters",
            model=model,
        )


def check_mode(request: VideoRequest, spec: ModelSpec) -> None:
    """The images given must make a mode (t2v, i2v, keyframe) the model supports."""
    model = spec.model
    supported = describe_modes(spec.modes)
    if request.last_frame is not None and request.first_frame is None:
        raise InvalidRequestError(
            "first_frame",
            f"a last_frame needs a first_frame too (model {model!r})",
            allowed=supported,
            model=model,
        )
    mode = request.mode
    if mode in spec.modes:
        return
    if mode == "t2v":
        needs = (
            "a first_frame image" if "i2v" in spec.modes else "first_frame and last_frame images"
        )
        field, message = "first_frame", f"model {model!r} needs {needs}"
    elif mode == "i2v" and "keyframe" in spec.modes:
        field, message = "last_frame", f"model {model!r} needs a last_frame too"
    elif mode == "keyframe" and "i2v" in spec.modes:
        field, message = "last_frame", f"model {model!r} does not take a last_frame"
    else:
        field, message = "first_frame", f"model {model!r} does not take images"
    raise InvalidRequestError(field, message, allowed=supported, model=model)


def check_seconds(seconds: int | None, spec: ModelSpec) -> int:
    """The duration, the spec's default when unset.

    An empty `spec.seconds` (a lenient spec) allows any whole number from 1 to
    `MAX_SECONDS`.
    """
    model = spec.model
    if seconds is None:
        return spec.default_seconds
    allowed: Any = list(spec.seconds) if spec.seconds else f"a whole number from 1 to {MAX_SECONDS}"
    if isinstance(seconds, bool) or not isinstance(seconds, int):
        raise InvalidRequestError("seconds", value=seconds, allowed=allowed, model=model)
    if spec.seconds:
        if seconds not in spec.seconds:
            raise InvalidRequestError("seconds", value=seconds, allowed=allowed, model=model)
    elif not 1 <= seconds <= MAX_SECONDS:
        raise InvalidRequestError("seconds", value=seconds, allowed=allowed, model=model)
    return seconds


def check_size(
    given: str,
    normalized: str | None,
    allowed: Iterable[str],
    *,
    model: str,
    notation: str | None = None,
) -> str:
    """`normalized` if it is one of `allowed`, else an error about `given`.

    Args:
        given: The size as the caller wrote it (shown in the error).
        normalized: The size in the family's notation, or None if it could not be read.
        allowed: The sizes the model accepts, in the family's notation.
        model: The model name, for the error.
        notation: Other ways the caller may write a size, added to the error.
    """
    allowed = list(allowed)
    if normalized is not None and normalized in allowed:
        return normalized
    text = ", ".join(allowed)
    if notation:
        text += f" ({notation})"
    raise InvalidRequestError("size", value=given, allowed=text, model=model)


def check_ratio_size(
    given: str | None, spec: ModelSpec, ratios: Iterable[str], *, examples: str
) -> str:
    """The aspect ratio a size names, for families that take ratios ("16:9").

    `given` may be one of `ratios` or a "WxH" size, read as its nearest ratio; None gives
    the model's default size. Anything else is an `InvalidRequestError` naming the ratios
    and `examples` of WxH sizes.
    """
    if given is None:
        return spec.default_size
    text = given.strip()
    ratio = text if text in ratios else None
    dims = parse_wxh(text)
    if dims is not None:
        ratio = nearest_ratio(*dims, tuple(ratios))
    return check_size(
        given,
        ratio,
        spec.sizes,
        model=spec.model,
        notation=f"or a WxH size of one of these ratios, e.g. {examples}",
    )


def check_params(params: Mapping[str, Any], params_model: type[BaseModel], *, model: str) -> dict:
    """Validate `params` against the family's typed model; return them with defaults applied.

    Unset optional parameters are left out, so equal intents give equal params.

    Raises:
        InvalidRequestError: field `params.<name>`; for an unknown name the allowed names,
            for a bad value the allowed values or type.
    """
    try:
        parsed = params_model.model_validate(dict(params))
    except ValidationError as exc:
        raise _params_error(exc, params_model, model) from exc
    return parsed.model_dump(mode="json", exclude_none=True)


def check_jsonable(value: Any, field: str, *, model: str | None = None) -> None:
    """`value` must be plain JSON: str, int, float (finite), bool, None, lists, str-keyed dicts."""
    problem = None
    if value is None or isinstance(value, str | bool | int):
        return
    if isinstance(value, float):
        if math.isfinite(value):
            return
        problem = f"{value!r} is not a finite number"
    elif isinstance(value, list | tuple):
        for index, item in enumerate(value):
            check_jsonable(item, f"{field}[{index}]", model=model)
        return
    elif isinstance(value, Mapping):
        for key, item in value.items():
            if not isinstance(key, str):
                problem, value = f"key {key!r} is not a string", key
                break
            check_jsonable(item, f"{field}.{key}", model=model)
        else:
            return
    else:
        problem, value = f"a {type(value).__name__} is not JSON-serializable", type(value).__name__
    if model:
        problem += f" (model {model!r})"
    raise InvalidRequestError(field, problem, value=value, allowed=_JSON_VALUES, model=model)


_JSON_VALUES = "JSON values (str, int, float, bool, null, lists, objects with string keys)"


def check_metadata(
    metadata: Mapping[str, Any], *, model: str, max_bytes: int | None = None
) -> dict[str, Any]:
    """Raw metadata must be a dict of JSON values, at most `max_bytes` as compact JSON.

    Returns a plain copy.
    """
    if not isinstance(metadata, Mapping):
        raise InvalidRequestError(
            "metadata", value=type(metadata).__name__, allowed="a dict of JSON values", model=model
        )
    check_jsonable(metadata, "metadata", model=model)
    text = json.dumps(metadata, separators=(",", ":"), ensure_ascii=False)
    if max_bytes is not None and len(text.encode()) > max_bytes:
        raise InvalidRequestError(
            "metadata",
            f"metadata is {len(text.encode())} bytes as JSON, more than model {model!r} takes",
            value=f"{len(text.encode())} bytes",
            allowed=f"at most {max_bytes} bytes of JSON (images go in first_frame/last_frame)",
            model=model,
        )
    return json.loads(text)


def check_image(
    image: ImageInput,
    *,
    field: str,
    model: str,
    media_types: Iterable[str],
    max_bytes: int,
    min_side: int | None = None,
    max_side: int | None = None,
    max_ratio: float | None = None,
    exact_size: tuple[int, int] | None = None,
) -> None:
    """Check an image given as `field` (`first_frame` or `last_frame`).

    A URL must be http(s) or data:. The bytes (when here: given directly or as a data:
    URL) must be one of `media_types`, at most `max_bytes`, and fit the size rules: both
    sides within `min_side`..`max_side`, long side / short side at most `max_ratio`, or
    exactly `exact_size` (width, height). An image known only by http(s) URL cannot be
    checked here; the provider checks it.
    """
    media_types = list(media_types)
    if image.data is None and not (image.url or "").startswith(("http://", "https://", "data:")):
        raise InvalidRequestError(
            field, value=image.url, allowed="an http://, https:// or data: URL", model=model
        )
    if not image.has_bytes():
        return
    try:
        data = image.read()
    except (ValueError, IndexError) as exc:
        raise InvalidRequestError(
            field,
            f"the data: URL does not hold base64 image bytes (model {model!r})",
            allowed="data:<type>;base64,<bytes>",
            model=model,
        ) from exc
    probe = ImageInput.from_bytes(data, filename=image.filename)
    media_type = probe.media_type or _pil_media_type(data) or image.content_type()
    if media_type not in media_types:
        raise InvalidRequestError(
            field,
            f"{image.filename!r} is {media_type}, which model {model!r} does not take",
            value=media_type,
            allowed=media_types,
            model=model,
        )
    if len(data) > max_bytes:
        raise InvalidRequestError(
            field,
            f"{image.filename!r} has {len(data)} bytes, too large for model {model!r}",
            value=len(data),
            allowed=f"at most {max_bytes} bytes ({max_bytes / 1024 / 1024:.1f} MB)",
            model=model,
        )
    try:
        width, height = probe.dimensions()
    except InvalidRequestError as exc:
        raise InvalidRequestError(
            field,
            f"{str(exc).removeprefix('image: ')} (model {model!r})",
            allowed=media_types,
            model=model,
        ) from exc
    if exact_size is not None and (width, height) != exact_size:
        want = f"{exact_size[0]}x{exact_size[1]}"
        raise InvalidRequestError(
            field,
            f"the image is {width}x{height} but model {model!r} needs it to match the "
            f"requested size exactly; resize it to {want}",
            value=f"{width}x{height}",
            allowed=want,
            model=model,
        )
    if min_side is not None and min(width, height) < min_side:
        raise InvalidRequestError(
            field,
            f"the image is {width}x{height}, too small for model {model!r}",
            value=f"{width}x{height}",
            allowed=f"both sides at least {min_side} px"
            + (f" and at most {max_side} px" if max_side else ""),
            model=model,
        )
    if max_side is not None and max(width, height) > max_side:
        raise InvalidRequestError(
            field,
            f"the image is {width}x{height}, too large for model {model!r}",
            value=f"{width}x{height}",
            allowed=f"both sides at most {max_side} px"
            + (f" and at least {min_side} px" if min_side else ""),
            model=model,
        )
    if max_ratio is not None and max(width, height) / min(width, height) > max_ratio:
        raise InvalidRequestError(
            field,
            f"the image is {width}x{height}, too elongated for model {model!r}",
            value=f"{width}x{height}",
            allowed=f"an aspect ratio between 1:{max_ratio:g} and {max_ratio:g}:1",
            model=model,
        )


def _pil_media_type(data: bytes) -> str | None:
    """The MIME type Pillow recognizes in `data` (GIF, TIFF, ...), for a precise error."""
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(io.BytesIO(data)) as img:
            return Image.MIME.get(img.format or "")
    except (UnidentifiedImageError, OSError):
        return None


# --------------------------------------------------------------------------------------
# Turning pydantic errors into InvalidRequestError


def _params_error(exc: ValidationError, params_model: type[BaseModel], model: str):
    errors = exc.errors()
    # An unknown name is the likeliest mistake (a typo); report it first.
    error = next((e for e in errors if e["type"] == "extra_forbidden"), errors[0])
    loc = [str(part) for part in error["loc"] if not isinstance(part, int)]
    field = ".".join(["params", *loc])
    if error["type"] == "extra_forbidden":
        parent = _model_at(params_model, loc[:-1])
        names = list(parent.model_fields)
        what = "parameter" if len(loc) == 1 else "key"
        return InvalidRequestError(
            field,
            f"unknown {what} {loc[-1]!r} for model {model!r}",
            value=loc[-1],
            allowed=names or "no extra parameters",
            model=model,
        )
    info = _field_at(params_model, loc)
    message = error["msg"].removeprefix("Value error, ")
    value = error.get("input")
    if info is None or error["type"] == "value_error":
        # A model validator's message (or an unknown field) says itself what is needed.
        return InvalidRequestError(field, f"{message} (model {model!r})", value=value, model=model)
    return InvalidRequestError(
        field,
        f"{value!r} is not valid for model {model!r}: {message}",
        value=value,
        allowed=_describe(info),
        model=model,
    )


def _unwrap_optional(annotation: Any) -> Any:
    if get_origin(annotation) in (Union, types.UnionType):
        args = [a for a in get_args(annotation) if a is not type(None)]
        if len(args) == 1:
            return args[0]
    return annotation


def _model_at(params_model: type[BaseModel], loc: list[str]) -> type[BaseModel]:
    current = params_model
    for part in loc:
        info = current.model_fields.get(part)
        if info is None:
            break
        annotation = _unwrap_optional(info.annotation)
        if isinstance(annotation, type) and issubclass(annotation, BaseModel):
            current = annotation
    return current


def _field_at(params_model: type[BaseModel], loc: list[str]) -> FieldInfo | None:
    current: type[BaseModel] | None = params_model
    info: FieldInfo | None = None
    for part in loc:
        if current is None:
            return info
        info = current.model_fields.get(part)
        if info is None:
            return None
        annotation = _unwrap_optional(info.annotation)
        is_model = isinstance(annotation, type) and issubclass(annotation, BaseModel)
        current = annotation if is_model else None
    return info


def _describe(info: FieldInfo) -> str:
    """What a params field accepts, in words: "one of: std, pro", "a whole number from 0 to 9"."""
    annotation = _unwrap_optional(info.annotation)
    bounds = {type(m): m for m in info.metadata}
    low = bounds.get(annotated_types.Ge)
    high = bounds.get(annotated_types.Le)
    max_len = bounds.get(annotated_types.MaxLen)
    patterns = [getattr(m, "pattern", None) for m in info.metadata]
    pattern = next((p for p in patterns if p), None)
    if get_origin(annotation) is Literal:
        text = "one of: " + ", ".join(_json_word(a) for a in get_args(annotation))
    elif annotation is bool:
        text = "true or false"
    elif annotation in (int, float):
        text = "a whole number" if annotation is int else "a number"
        if low is not None and high is not None:
            text += f" from {low.ge} to {high.le}"
        elif low is not None:
            text += f" of at least {low.ge}"
        elif high is not None:
            text += f" of at most {high.le}"
    elif annotation is str:
        text = "a string"
        if max_len is not None:
            text += f" of at most {max_len.max_length} characters"
        if pattern == r"^https?://":
            text = "an http(s) URL"
    elif isinstance(annotation, type) and issubclass(annotation, BaseModel):
        text = "an object with keys: " + ", ".join(annotation.model_fields)
    else:
        text = str(annotation)
    if not info.is_required() and info.default is None:
        text += ", or unset"
    return text


def _json_word(value: Any) -> str:
    return json.dumps(value) if isinstance(value, bool) or value is None else str(value)
