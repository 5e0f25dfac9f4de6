"""What every model family shares: the request, the per-model spec and the family contract.

A family knows, for each of its models, what the model accepts (`ModelSpec`), checks a
`VideoRequest` against it before any paid call (`validate`), turns it into the body real
gateways accept (`encode`), and reads the server's answers (`parse_job`).
"""

from __future__ import annotations

import hashlib
import json
from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from typing import Any, ClassVar, Literal

from pydantic import BaseModel, ConfigDict, Field

from prefect_videogen.images import ImageInput
from prefect_videogen.models import VideoJob, VideoStatus

__all__ = ["EncodedRequest", "ImageTransport", "Mode", "ModelFamily", "ModelSpec", "VideoRequest"]

Mode = Literal["t2v", "i2v", "keyframe"]
ImageTransport = Literal["file", "url", "base64", "data_url"]


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
        image_transport: How images travel: uploaded file, URL, bare base64 or data URL.
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
