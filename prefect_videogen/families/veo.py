"""Google Veo through a new-api gateway's Gemini or Vertex AI channel.

What the models accept:

| model | modes | seconds | size (default 1280x720) |
|---|---|---|---|
| veo-3.0-generate-001, veo-3.0-fast-generate-001 | t2v, i2v | 4, 6, 8 | 1280x720, 720x1280, |
| | | | 1920x1080, 1080x1920 |
| veo-3.1-generate-preview, veo-3.1-fast-generate-preview | t2v, i2v | 4, 6, 8 | the same |

Default duration 8 s (the gateway's billing default). Veo 3 always makes sound;
`params.generate_audio` is passed on where a channel reads it. `size` may be "WxH" / "W*H",
a tier ("720p", "1080p": 16:9) or a ratio ("16:9", "9:16": 720p); the request keeps "WxH".

Sources (read 2026-12-03): the model list is new-api's `relay/channel/task/gemini/adaptor.go`
and `vertex/adaptor.go` at 823e26304 (2026-08-08); durations 4/6/8 and the 16:9 / 9:16 aspect
ratios are that adaptor's code comments; the size reading (long side >= 1920: 1080p, else
720p; h > w: 9:16) is the adaptor's code (gateway-behaviour.md section 8,
live-servers-2026-12.md L5). Google's own Veo limits were not read: a table edit when they
are (e.g. 1080p only with 8 s on 3.1, 4k).

What the gateway reads: an image ONLY as an uploaded file or `images[0]` holding a `data:`
URL or raw base64 (`gemini/image.go` ParseImageInput); an http(s) URL is dropped without a
word and the job becomes text-to-video. So an http URL is refused here: fetch the image
and pass its bytes (`ImageInput.from_path`, `from_bytes` or a data: URL); it travels as a
data: URL in `images[0]`. No last frame is read. Metadata keys outside the adaptor's list
(aspectRatio, durationSeconds, negativePrompt, personGeneration, resolution, seed,
generateAudio, storageUri, compressionQuality, resizeMode, sampleCount) are refused.
"""

from __future__ import annotations

from typing import Any, ClassVar, Literal

from pydantic import BaseModel, ConfigDict, Field

from prefect_videogen.exceptions import InvalidRequestError
from prefect_videogen.families.base import (
    EncodedRequest,
    ImageRules,
    ModelSpec,
    ProviderFamily,
    VideoRequest,
)
from prefect_videogen.families.checks import check_size, deep_merge
from prefect_videogen.families.sizes import parse_size
from prefect_videogen.models import VideoStatus

__all__ = ["VEO_METADATA_KEYS", "VeoFamily", "VeoParams"]

_IMAGE_TYPES = ("image/jpeg", "image/png", "image/webp")
_SIZES = ("1280x720", "720x1280", "1920x1080", "1080x1920")
_RATIO_SIZE = {"16:9": "1280x720", "9:16": "720x1280"}
_TIER_SIZE = {720: "1280x720", 1080: "1920x1080"}

#: Metadata keys new-api's Gemini/Vertex task adaptors read.
VEO_METADATA_KEYS = frozenset(
    {"aspectRatio", "durationSeconds", "negativePrompt", "personGeneration", "resolution"}
    | {"seed", "generateAudio", "storageUri", "compressionQuality", "resizeMode", "sampleCount"}
)
#: Param name -> the Veo parameter the gateway passes on.
_WIRE_NAMES = {
    "negative_prompt": "negativePrompt",
    "person_generation": "personGeneration",
    "seed": "seed",
    "generate_audio": "generateAudio",
}


class VeoParams(BaseModel):
    """Extra parameters of the Veo models (sent in `metadata`, camelCase).

    Example:
        ```python
        from prefect_videogen.families.veo import VeoParams

        params = VeoParams(negative_prompt="fog", seed=3)
        assert params.model_dump(exclude_none=True) == {"negative_prompt": "fog", "seed": 3}
        ```
    """

    model_config = ConfigDict(extra="forbid")

    negative_prompt: str | None = Field(default=None, description="What not to show.")
    person_generation: Literal["allow_all", "allow_adult", "dont_allow"] | None = Field(
        default=None, description="Whether people may appear."
    )
    seed: int | None = Field(default=None, ge=0, le=4294967295, description="Random seed.")
    generate_audio: bool | None = Field(default=None, description="Make sound (Veo 3).")


def _spec(model: str) -> ModelSpec:
    return ModelSpec(
        model=model,
        modes=frozenset({"t2v", "i2v"}),
        seconds=(4, 6, 8),
        sizes=_SIZES,
        default_seconds=8,
        default_size="1280x720",
        image_transport="data_url",
        max_image_bytes=20 * 1024 * 1024,
        audio=True,
    )


class VeoFamily(ProviderFamily):
    """Google Veo video models (`veo-*`).

    Example:
        ```python
        from prefect_videogen.families import VideoRequest
        from prefect_videogen.families.veo import VeoFamily

        family = VeoFamily()
        request = family.validate(
            VideoRequest(model="veo-3.0-generate-001", prompt="a lighthouse", size="9:16")
        )
        assert (request.size, request.seconds) == ("720x1280", 8)
        body = family.encode(request).json
        assert body["metadata"] == {
            "aspectRatio": "9:16", "resolution": "720p", "durationSeconds": 8
        }
        ```
    """

    name = "veo"
    prefixes = ("veo-", "veo3", "veo2")
    specs: ClassVar[dict[str, ModelSpec]] = {
        model: _spec(model)
        for model in (
            "veo-3.0-generate-001",
            "veo-3.0-fast-generate-001",
            "veo-3.1-generate-preview",
            "veo-3.1-fast-generate-preview",
        )
    }
    lenient = ModelSpec(
        model="veo",
        modes=frozenset({"t2v", "i2v"}),
        seconds=(),
        sizes=(*_SIZES, "3840x2160", "2160x3840"),
        default_seconds=8,
        default_size="1280x720",
        image_transport="data_url",
        max_image_bytes=20 * 1024 * 1024,
        audio=True,
    )
    max_prompt = 4000
    params_model = VeoParams
    image_rules = ImageRules(
        media_types=_IMAGE_TYPES,
        http_urls=False,
        http_reason=(
            ": new-api's Veo adaptor reads only data: URLs or base64 and drops an http URL "
            "without a word, so the job would become text-to-video"
        ),
    )
    metadata_keys = VEO_METADATA_KEYS
    metadata_hint = "as a typed param (negative_prompt, person_generation, seed, generate_audio)"
    status_words: ClassVar[dict[str, VideoStatus]] = {}

    def check_size(self, request: VideoRequest, spec: ModelSpec, seconds: int) -> str:
        """ "WxH" from the list; a tier is 16:9, a ratio is 720p."""
        if request.size is None:
            return spec.default_size
        size = parse_size(request.size)
        normalized = None
        if size is not None and size.kind == "wxh":
            normalized = f"{size.width}x{size.height}"
        elif size is not None and size.kind == "tier":
            normalized = _TIER_SIZE.get(size.lines or 0)
        elif size is not None and size.kind == "ratio":
            normalized = _RATIO_SIZE.get(request.size.replace(" ", ""))
        notation = '"W*H", a tier ("720p", "1080p": 16:9) or a ratio ("16:9", "9:16": 720p)'
        return check_size(request.size, normalized, spec.sizes, model=spec.model, notation=notation)

    def check_specific(self, request, spec, *, seconds, size, params, metadata):
        """No last frame reaches Veo through the gateway."""
        if request.last_frame is not None:  # the modes already refuse it; kept for lenient specs
            raise InvalidRequestError(
                "last_frame",
                f"the gateway's Veo adaptor reads one image only (model {spec.model!r})",
                allowed="first_frame only",
                model=spec.model,
            )
        return None

    def encode(self, request: VideoRequest) -> EncodedRequest:
        """JSON: `size` "WxH", the image as a data: URL in images[0], Veo fields in metadata."""
        width, height = (int(n) for n in str(request.size).split("x"))
        lines = min(width, height)
        metadata: dict[str, Any] = {
            "aspectRatio": "9:16" if height > width else "16:9",
            "resolution": "4k" if lines >= 2160 else f"{lines}p",
            "durationSeconds": request.seconds,
        }
        for name, value in request.params.items():
            metadata[_WIRE_NAMES[name]] = value
        body: dict[str, Any] = {
            "model": request.model,
            "prompt": request.prompt,
            "seconds": str(request.seconds),
            "duration": request.seconds,
            "size": request.size,
        }
        if request.first_frame is not None:
            body["images"] = [request.first_frame.as_data_url()]
        body["metadata"] = deep_merge(metadata, request.metadata)
        return EncodedRequest(json=body)
