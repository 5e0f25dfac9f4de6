"""What every model family shares: the request, the per-model spec and the family contract.

A family knows, for each of its models, what the model accepts (`ModelSpec`, `ImageRules`),
checks a `VideoRequest` against it before any paid call (`validate`), turns it into the body
real gateways accept (`encode`), and reads the server's answers (`parse_job`).

`ProviderFamily.validate` is a template method, the same for every provider family:

1. the family's `normalize` (other spellings of the same request, e.g. the seed
   document's `metadata.img_url` for Wan, become the canonical fields);
2. the common checks: model name, prompt length, mode (from the images), seconds, typed
   `params`, `metadata` (plain JSON, at most `max_metadata_bytes`, and only keys that the
   provider's gateway adaptor reads: `metadata_keys`);
3. the family's `check_size` (written the way its gateway wants it) and `check_specific`;
4. the images, against the family's declared `ImageRules`;
5. one `model_copy` with the normalized fields.

So a new family declares its tables and writes only what is its own.
"""

from __future__ import annotations

import hashlib
import json
from abc import ABC, abstractmethod
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any, ClassVar, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)

from prefect_videogen.exceptions import InvalidRequestError
from prefect_videogen.families import checks
from prefect_videogen.images import ImageInput
from prefect_videogen.models import VideoJob, VideoStatus

__all__ = [
    "EncodedRequest",
    "ImageRules",
    "ImageTransport",
    "Mode",
    "ModelFamily",
    "ModelSpec",
    "ProviderFamily",
    "VideoRequest",
    "check_remix_prompt",
    "take_metadata_images",
]

Mode = Literal["t2v", "i2v", "keyframe"]
ImageTransport = Literal["file", "url", "base64", "data_url", "metadata"]


class VideoRequest(BaseModel):
    """What a caller asks for, independent of how the server wants it encoded.

    `mode` follows from the images: none is text-to-video, `first_frame` alone is
    image-to-video, both frames is keyframe video. `params` holds the family's extra
    parameters (watermark, seed, negative_prompt, ...), checked by the family against its
    typed parameter model; `metadata` is passed to the server untouched, merged last.

    Example:
        ```python
        from prefect_videogen.families import VideoRequest

        request = VideoRequest(
            model="sora-2", prompt="a red fox in snow", seconds=4, size="1280x720"
        )
        print(request.mode, request.fingerprint()[:12])
        ```
    """

    model_config = ConfigDict(frozen=True)

    model: str = Field(description='The video model to use, e.g. "wan2.5-t2v-preview".')
    prompt: str = Field(description="What the video should show.")
    seconds: int | None = Field(
        default=None, description="Duration in seconds; the model's default if unset."
    )
    size: str | None = Field(
        default=None,
        description=(
            'Resolution: "WxH" ("1280x720"), "W*H" or a tier ("720P"); the model default if unset.'
        ),
    )
    first_frame: ImageInput | None = Field(
        default=None, description="Image to start from (i2v, keyframe)."
    )
    last_frame: ImageInput | None = Field(default=None, description="Image to end on (keyframe).")
    params: dict[str, Any] = Field(default_factory=dict, description="Family-specific parameters.")
    metadata: dict[str, Any] = Field(
        default_factory=dict, description="Raw metadata passed to the server untouched."
    )

    def __init__(self, /, **data: Any) -> None:
        # Every mistake a caller can make is an InvalidRequestError naming the field, never
        # a pydantic ValidationError; an unknown field (`duration=5`) is a mistake too.
        _check_names(data)
        try:
            super().__init__(**data)
        except ValidationError as exc:
            raise _request_error(exc) from None

    @classmethod
    def model_validate(cls, obj: Any, *args: Any, **kwargs: Any) -> VideoRequest:
        """`VideoRequest(**obj)`, with the same typed errors."""
        if isinstance(obj, Mapping):
            _check_names(obj)
        try:
            return super().model_validate(obj, *args, **kwargs)
        except ValidationError as exc:
            raise _request_error(exc) from None

    @field_validator("seconds", mode="before")
    @classmethod
    def _whole_seconds(cls, value: Any) -> Any:
        if isinstance(value, bool) or (isinstance(value, float) and not value.is_integer()):
            raise InvalidRequestError(
                "seconds",
                f"{value!r} is not a whole number of seconds",
                value=value,
                allowed=_FIELD_WORDS["seconds"],
            )
        return value

    @model_validator(mode="after")
    def _clean_text(self) -> VideoRequest:
        for name in ("model", "prompt", "size"):
            value = getattr(self, name)
            if isinstance(value, str):
                _check_text(value, name)
        _check_tree(self.params, "params")
        _check_tree(self.metadata, "metadata")
        return self

    @property
    def mode(self) -> Mode:
        """t2v, i2v or keyframe, from the images given."""
        if self.last_frame is not None:
            return "keyframe"
        if self.first_frame is not None:
            return "i2v"
        return "t2v"

    def fingerprint(self) -> str:
        """A sha256 digest of the normalized request: images by content hash, no secrets.

        Two requests with the same fingerprint would produce the same paid job, so the
        submit task uses it as its cache key.
        """
        doc = self.model_dump(mode="json", exclude={"first_frame", "last_frame"})
        doc["first_frame"] = self.first_frame.fingerprint() if self.first_frame else None
        doc["last_frame"] = self.last_frame.fingerprint() if self.last_frame else None
        blob = json.dumps(doc, sort_keys=True, separators=(",", ":"), default=str)
        return hashlib.sha256(blob.encode()).hexdigest()

    def summary(self) -> dict[str, Any]:
        """A JSON-able description for logs, artifacts and sidecars (images by hash)."""
        doc = self.model_dump(mode="json", exclude={"first_frame", "last_frame"})
        doc["mode"] = self.mode
        doc["first_frame_sha256"] = self.first_frame.sha256 if self.first_frame else None
        doc["last_frame_sha256"] = self.last_frame.sha256 if self.last_frame else None
        return doc


@dataclass(frozen=True)
class ModelSpec:
    """What one model accepts.

    Attributes:
        model: The model name.
        modes: Supported modes.
        seconds: Allowed durations in seconds.
        sizes: Allowed `size` values, in the notation the model's gateway takes.
        default_seconds: Duration used when the request gives none.
        default_size: Size used when the request gives none.
        image_transport: How images travel: uploaded file, URL, bare base64, data URL, or
            URLs inside metadata (Hailuo).
        max_image_bytes: Largest accepted image.
        image_must_match_size: Whether an i2v image must have the output's exact size (Sora).
        audio: Whether the model can generate sound.
    """

    model: str
    modes: frozenset[str]
    seconds: tuple[int, ...]
    sizes: tuple[str, ...]
    default_seconds: int
    default_size: str
    image_transport: ImageTransport = "url"
    max_image_bytes: int = 10 * 1024 * 1024
    image_must_match_size: bool = False
    audio: bool = False
    size_aliases: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class EncodedRequest:
    """The wire form of a create request.

    Exactly one of `json` or `data` is set. `files` goes with `data` (multipart) only,
    as httpx takes it: a list of `(field, (filename, bytes, content_type))`.
    """

    json: dict[str, Any] | None = None
    data: dict[str, str] | None = None
    files: list[tuple[str, tuple[str, bytes, str]]] | None = None


class ModelFamily(ABC):
    """The contract each family module implements.

    Subclasses set `name`, `specs` (one `ModelSpec` per known model), `params_model` (a
    pydantic model with `extra="forbid"` holding the family's typed extra parameters) and,
    when the provider uses its own words, `status_words`.
    """

    name: ClassVar[str]
    specs: ClassVar[dict[str, ModelSpec]]
    params_model: ClassVar[type[BaseModel]]
    status_words: ClassVar[dict[str, VideoStatus]] = {}

    def matches(self, model: str) -> bool:
        """Whether this family serves `model` (exact names by default)."""
        return model in self.specs

    def spec(self, model: str) -> ModelSpec:
        """The spec of `model`."""
        return self.specs[model]

    @abstractmethod
    def validate(self, request: VideoRequest) -> VideoRequest:
        """Check `request` against the model's spec before any network call.

        Returns:
            The request with defaults filled in (seconds, size) and params normalized.

        Raises:
            InvalidRequestError: naming the field, the rejected value and what is allowed.
        """

    @abstractmethod
    def encode(self, request: VideoRequest) -> EncodedRequest:
        """The body real gateways accept for this family (call `validate` first)."""

    def parse_job(self, payload: dict[str, Any], headers: Any = None) -> VideoJob:
        """Read a job object from the server, with this family's status words."""
        return VideoJob.from_api(payload, status_words=self.status_words, headers=headers)


# --------------------------------------------------------------------------------------
# Bad input on VideoRequest: typed errors naming the field


def _text_problem(text: str) -> str | None:
    if "\x00" in text:
        return "contains a NUL byte (\\x00)"
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return "contains a lone surrogate, which is not valid UTF-8 text"
    return None


def _check_text(text: str, field: str) -> None:
    problem = _text_problem(text)
    if problem is not None:
        raise InvalidRequestError(
            field,
            f"the text {problem}; remove it",
            value=text[:40].encode("utf-8", "backslashreplace").decode(),
            allowed="text without NUL bytes or lone surrogates",
        )


def _check_tree(value: Any, field: str) -> None:
    """NUL bytes and lone surrogates in any key or string of a params/metadata tree."""
    if isinstance(value, str):
        _check_text(value, field)
    elif isinstance(value, Mapping):
        for key, item in value.items():
            if isinstance(key, str):
                _check_text(key, f"{field} key")
            _check_tree(item, f"{field}.{key}")
    elif isinstance(value, list | tuple):
        for index, item in enumerate(value):
            _check_tree(item, f"{field}[{index}]")


_FIELD_WORDS = {
    "model": 'a model name (a string), e.g. "wan2.5-t2v-preview"',
    "prompt": "a string",
    "seconds": "a whole number of seconds (an int, or a string of digits), or None",
    "size": 'a string such as "1280x720", "720P" or "16:9", or None',
    "first_frame": "an ImageInput (ImageInput.from_url / from_path / from_bytes), or None",
    "last_frame": "an ImageInput (ImageInput.from_url / from_path / from_bytes), or None",
    "params": "a dict with string keys",
    "metadata": "a dict with string keys",
}


def check_remix_prompt(prompt: Any) -> str:
    """A remix prompt is checked like a create prompt: non-empty text of at most 32000
    characters (OpenAI's limit; remix is Sora's), without NUL bytes or lone surrogates.

    Example:
        ```python
        from prefect_videogen.families.base import check_remix_prompt

        assert check_remix_prompt("the same fox, at night") == "the same fox, at night"
        ```
    """
    if not isinstance(prompt, str) or not prompt.strip():
        raise InvalidRequestError("prompt", value=prompt, allowed="a non-empty string")
    _check_text(prompt, "prompt")
    checks.check_prompt(prompt, model="remix", max_chars=checks.MAX_PROMPT_CHARS)
    return prompt


def _check_names(data: Mapping[str, Any]) -> None:
    for name in data:
        if name not in _FIELD_WORDS:
            hint = " (the duration is `seconds`)" if name in ("duration", "length") else ""
            raise InvalidRequestError(
                str(name),
                f"VideoRequest has no field {name!r}{hint}",
                value=name,
                allowed=f"the fields {', '.join(_FIELD_WORDS)}",
            )


def _request_error(exc: ValidationError) -> InvalidRequestError:
    """The first pydantic error of a VideoRequest as an InvalidRequestError naming the field."""
    error = exc.errors()[0]
    original = (error.get("ctx") or {}).get("error")
    if isinstance(original, InvalidRequestError):
        return original
    loc = [part for part in error["loc"]]
    top = str(loc[0]) if loc else None
    if error["type"] == "extra_forbidden" or top not in _FIELD_WORDS:
        names = ", ".join(_FIELD_WORDS)
        return InvalidRequestError(
            top,
            f"VideoRequest has no field {top!r}",
            value=top,
            allowed=f"the fields {names}",
        )
    value = error.get("input")
    if top in ("params", "metadata") and len(loc) > 1 and loc[-1] == "[key]":
        return InvalidRequestError(
            top,
            f"key {loc[1]!r} is not a string (it is of type {type(loc[1]).__name__})",
            value=loc[1],
            allowed="string keys (JSON object keys are strings)",
        )
    if top == "seconds" and error["type"] in ("int_parsing", "int_from_float", "int_type"):
        message = f"{value!r} is not a whole number of seconds"
    elif error["type"] == "missing":
        message = "this field is required"
    else:
        message = f"{value!r} is not valid: {error['msg']}"
    return InvalidRequestError(top, message, value=value, allowed=_FIELD_WORDS[top])


# --------------------------------------------------------------------------------------
# Image rules and the provider family template


@dataclass(frozen=True)
class ImageRules:
    """What a family accepts as an input image, declared once per family (or per model).

    Attributes:
        media_types: Accepted MIME types of image bytes.
        max_bytes: Largest image; None takes the model spec's `max_image_bytes`.
        min_side: Smallest allowed side in pixels.
        max_side: Largest allowed side in pixels.
        max_ratio: Largest long-side / short-side ratio.
        must_match_size: The image must have the output's exact "WxH" size (Sora).
        http_urls: Whether an http(s) URL reaches the provider. False: the bytes must be here
            (given directly or as a data: URL); an http URL is refused with `http_hint`.
        http_hint: What to do instead of an http URL, for the error.
        http_reason: Why an http URL cannot be taken, for the error.
        max_inline_total: Largest total of the images' data: URLs in the body (Vidu), or None.

    Example:
        ```python
        from prefect_videogen.families.base import ImageRules

        rules = ImageRules(media_types=("image/png", "image/jpeg"), min_side=300)
        ```
    """

    media_types: tuple[str, ...] = ("image/jpeg", "image/png", "image/webp")
    max_bytes: int | None = None
    min_side: int | None = None
    max_side: int | None = None
    max_ratio: float | None = None
    must_match_size: bool = False
    http_urls: bool = True
    http_hint: str = "ImageInput.from_path(), from_bytes() or a data: URL"
    http_reason: str = ""
    max_inline_total: int | None = None

    def check(
        self,
        request: VideoRequest,
        *,
        spec: ModelSpec,
        size: str | None,
    ) -> None:
        """Check every image of `request`; raise `InvalidRequestError` naming its field."""
        model = spec.model
        inline = 0
        for name, image in checks.images_of(request):
            if not self.http_urls and not image.has_bytes():
                raise InvalidRequestError(
                    name,
                    f"model {model!r} cannot take an http(s) image URL{self.http_reason}; "
                    "fetch the image yourself and pass its bytes",
                    value=image.url,
                    allowed=self.http_hint,
                    model=model,
                )
            exact = None
            if self.must_match_size and size:
                exact = checks.parse_wxh(size)
            checks.check_image(
                image,
                field=name,
                model=model,
                media_types=self.media_types,
                max_bytes=self.max_bytes or spec.max_image_bytes,
                min_side=self.min_side,
                max_side=self.max_side,
                max_ratio=self.max_ratio,
                exact_size=exact,
            )
            if self.max_inline_total is not None and image.has_bytes():
                inline += len(image.as_data_url())
                if inline > self.max_inline_total:
                    limit = self.max_inline_total / 1024 / 1024
                    raise InvalidRequestError(
                        name,
                        f"inline images make the request body over {limit:g} MB, which model "
                        f"{model!r} refuses",
                        value=inline,
                        allowed=f"images of at most {limit:g} MB in total as data: URLs, "
                        "or pass them as http(s) URLs",
                        model=model,
                    )


def take_metadata_images(
    request: VideoRequest, metadata: dict[str, Any], keys: Mapping[str, str], *, model: str
) -> dict[str, ImageInput]:
    """Read image URLs a caller put in `metadata` (a gateway spelling) as the image fields.

    `keys` maps a metadata key to `first_frame` or `last_frame`. Each key found is removed
    from `metadata` and returned as an `ImageInput` for its field, so the two spellings of
    one request normalize to the same request. An image given both ways must be the same.
    """
    updates: dict[str, ImageInput] = {}
    for key, target in keys.items():
        if key not in metadata:
            continue
        value = metadata.pop(key)
        path = f"metadata.{key}"
        if not isinstance(value, str) or not value.strip():
            raise InvalidRequestError(
                path,
                "an image URL must be a non-empty string",
                value=value,
                allowed=f"an http(s) or data: URL, or pass the image as {target}=",
                model=model,
            )
        image = ImageInput.from_url(value.strip())
        current = updates.get(target) or getattr(request, target)
        if current is not None and current.fingerprint() != image.fingerprint():
            raise InvalidRequestError(
                path,
                f"{path} and {target} name two different images",
                value=value[:60],
                allowed=f"one image, given once as {target}=",
                model=model,
            )
        updates[target] = current or image
    return updates


#: The default cap on `metadata` (serialized JSON) of the provider families.
MAX_METADATA_BYTES = 16 * 1024


class ProviderFamily(ModelFamily):
    """A family of one provider: exact model names, plus a prefix for newer models.

    A model in `specs` gets that spec's strict checks. A model that is not in `specs` but
    starts with one of `prefixes` (e.g. "wan2.8-i2v", "kling-v4") still gets this family's
    typed params and encoding (which is what the gateway's adaptor for the provider
    expects), with a lenient spec made from `lenient`: every mode the family's encoding can
    carry, any duration from 1 to 3600 s, and any size the family's notation can express.
    Anything else is not this family's model.

    `validate` is the same for every provider family (see the module docstring); a family
    declares `specs`, `lenient`, `params_model`, `image_rules`, `metadata_keys` and writes
    `check_size` (and, where it has rules of its own, `normalize` and `check_specific`).
    """

    #: Lower-case name prefixes of the family's models.
    prefixes: ClassVar[tuple[str, ...]] = ()
    #: The spec template for prefix-matched models not in `specs` (its `model` is replaced).
    lenient: ClassVar[ModelSpec]
    #: The longest prompt, per model; `max_prompt` for models not listed.
    prompt_limits: ClassVar[dict[str, int]] = {}
    max_prompt: ClassVar[int] = checks.MAX_PROMPT_CHARS
    #: What the family accepts as input images.
    image_rules: ClassVar[ImageRules] = ImageRules()
    #: The top-level metadata keys the gateway's adaptor reads; None: any key reaches the
    #: provider. A key outside this set would be dropped silently, so it is refused.
    metadata_keys: ClassVar[frozenset[str] | None] = None
    #: Where metadata keys go instead, for the refusal of an unread key.
    metadata_hint: ClassVar[str] = "params"
    #: The largest `metadata`, as compact JSON.
    max_metadata_bytes: ClassVar[int] = MAX_METADATA_BYTES

    def matches(self, model: str) -> bool:
        """Whether this family serves `model`: a known name or one of the name prefixes."""
        return model in self.specs or model.lower().startswith(self.prefixes)

    def is_known(self, model: str) -> bool:
        """Whether `model` has its own spec (strict checks) rather than the lenient one."""
        return model in self.specs

    def spec(self, model: str) -> ModelSpec:
        """The spec of `model`: its own, or the lenient one for a prefix-matched name.

        Raises:
            InvalidRequestError: `model` is not a model of this family.
        """
        if model in self.specs:
            return self.specs[model]
        if self.matches(model):
            return replace(self.lenient, model=model)
        raise InvalidRequestError(
            "model",
            f"{model!r} is not a {self.name} model",
            value=model,
            allowed=[*self.specs, *(f"{p}*" for p in self.prefixes)],
            model=model,
        )

    def max_prompt_chars(self, model: str) -> int:
        """The longest prompt `model` takes."""
        return self.prompt_limits.get(model, self.max_prompt)

    # ---------------------------------------------------------------- the template

    def validate(self, request: VideoRequest) -> VideoRequest:
        """Check `request` against the model's spec before any network call.

        Returns:
            The normalized request: defaults filled in (seconds, size), size written the
            way the gateway wants it, params with their defaults, metadata as plain JSON.
            Two spellings of one request give equal normalized requests (and fingerprints).

        Raises:
            InvalidRequestError: naming the field, the rejected value and what is allowed.
        """
        checks.check_model_name(request.model)
        spec = self.spec(request.model)
        request = self.normalize(request, spec)
        checks.check_prompt(
            request.prompt, model=spec.model, max_chars=self.max_prompt_chars(spec.model)
        )
        checks.check_mode(request, spec)
        seconds = checks.check_seconds(request.seconds, spec)
        params = checks.check_params(request.params, self.params_model, model=spec.model)
        metadata = checks.check_metadata(
            request.metadata, model=spec.model, max_bytes=self.max_metadata_bytes
        )
        self.check_metadata_keys(metadata, spec)
        size = self.check_size(request, spec, seconds)
        updates = self.check_specific(
            request, spec, seconds=seconds, size=size, params=params, metadata=metadata
        )
        self.rules_for(spec).check(request, spec=spec, size=size)
        fields = {"seconds": seconds, "size": size, "params": params, "metadata": metadata}
        return request.model_copy(update={**fields, **(updates or {})})

    # ---------------------------------------------------------------- the family's own

    def normalize(self, request: VideoRequest, spec: ModelSpec) -> VideoRequest:
        """Other spellings of the same request, rewritten to the canonical fields."""
        return request

    def check_size(self, request: VideoRequest, spec: ModelSpec, seconds: int) -> str | None:
        """The size, written the way the gateway wants it (the model default if unset)."""
        return request.size or spec.default_size or None

    def check_specific(
        self,
        request: VideoRequest,
        spec: ModelSpec,
        *,
        seconds: int,
        size: str | None,
        params: dict[str, Any],
        metadata: dict[str, Any],
    ) -> dict[str, Any] | None:
        """The family's own rules; may return more fields for the normalized request."""
        return None

    def rules_for(self, spec: ModelSpec) -> ImageRules:
        """The image rules of `spec`'s model (the family's by default)."""
        return self.image_rules

    def check_metadata_keys(self, metadata: dict[str, Any], spec: ModelSpec) -> None:
        """Refuse a metadata key the gateway's adaptor would drop without a word."""
        if self.metadata_keys is None:
            return
        for key in metadata:
            if key not in self.metadata_keys:
                raise InvalidRequestError(
                    f"metadata.{key}",
                    f"the gateway's {self.name} adaptor does not read metadata key {key!r}: "
                    f"it would be dropped silently (model {spec.model!r}); pass it "
                    f"{self.metadata_hint}",
                    value=key,
                    allowed=sorted(self.metadata_keys),
                    model=spec.model,
                )
