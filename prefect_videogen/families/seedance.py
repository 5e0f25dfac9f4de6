"""Doubao Seedance (Volcengine Ark) through a new-api gateway's DoubaoVideo/VolcEngine channel.

What the models accept:

| model | modes | seconds | resolution (default) | sound |
|---|---|---|---|---|
| doubao-seedance-1-0-pro-250528 | t2v, i2v | 2 to 12 | 480p, 720p, 1080p (1080p) | no |
| doubao-seedance-1-0-lite-t2v | t2v | 2 to 12 | 480p, 720p, 1080p (720p) | no |
| doubao-seedance-1-0-lite-i2v | i2v, keyframe | 2 to 12 | 480p, 720p, 1080p (720p) | no |
| doubao-seedance-1-5-pro-251215 | t2v, i2v, keyframe | 2 to 12 | 480p, 720p, 1080p (1080p) | yes |
| doubao-seedance-2-0-260128 | t2v, i2v, keyframe | 4 to 15 | 480p, 720p, 1080p (1080p) | yes |
| doubao-seedance-2-0-fast-260128 | t2v, i2v, keyframe | 4 to 15 | 480p, 720p, 1080p (720p) | yes |

Default duration 5 s. Aspect ratio: 21:9, 16:9, 4:3, 1:1, 3:4, 9:16, or `adaptive` (image
and keyframe video: the image's own shape); default 16:9 for text, adaptive with images.

Sources (read 2026-12-03): the model list is new-api's `relay/channel/task/doubao/
constants.go` at 823e26304 (2026-08-08); the limits are third-party mirrors of Volcengine's
Seedance pages (senseaudio, uniall, globalaiopc docs) as the team's notes quote them
(gateway-behaviour.md section 6, live-servers-2026-12.md section 4). Volcengine's own
pages were not read: the durations and the 4k tier of 2.0 are unverified (4k is not offered).

`size` is written in the package's size grammar and read as ratio and resolution: "16:9"
(ratio), "720p" (resolution), or "1280x720" (both: its ratio must be one of the six within
2 %, its short side a resolution). The normalized request keeps the ratio in `size`
("16:9", "adaptive") and the resolution in `params.resolution`, so every spelling of one
request has one fingerprint.

What the gateway reads (new-api `doubao/adaptor.go`): top-level `size` is IGNORED, so ratio,
resolution and duration travel in `metadata` (merged over the Ark payload). Images: `images[]`
are sent without a role, so a last frame can only travel as `metadata.content` items with
`role: first_frame / last_frame`; this family builds that list (with the prompt as its text
item) and refuses a caller's own `metadata.content`. Other metadata keys outside the
adaptor's list are refused as well: they would be dropped silently.
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
from prefect_videogen.families.checks import ALL_MODES, deep_merge
from prefect_videogen.families.sizes import nearest_ratio, parse_size
from prefect_videogen.models import VideoStatus

__all__ = ["SEEDANCE_METADATA_KEYS", "SeedanceFamily", "SeedanceParams"]

RATIOS = ("21:9", "16:9", "4:3", "1:1", "3:4", "9:16")
RESOLUTIONS = ("480p", "720p", "1080p")
_IMAGE_TYPES = ("image/jpeg", "image/png", "image/webp", "image/bmp")

#: Metadata keys new-api's Doubao adaptor merges over the Ark payload.
SEEDANCE_METADATA_KEYS = frozenset(
    {"resolution", "ratio", "duration", "frames", "seed", "camera_fixed", "watermark"}
    | {"generate_audio", "draft", "return_last_frame", "service_tier", "callback_url"}
    | {"execution_expires_after", "tools", "safety_identifier", "priority"}
)


class SeedanceParams(BaseModel):
    """Extra parameters of the Seedance models (sent in `metadata`).

    Example:
        ```python
        from prefect_videogen.families.seedance import SeedanceParams

        params = SeedanceParams(resolution="720p", seed=7, camera_fixed=True)
        assert params.model_dump(exclude_none=True) == {
            "resolution": "720p", "seed": 7, "camera_fixed": True
        }
        ```
    """

    model_config = ConfigDict(extra="forbid")

    resolution: Literal["480p", "720p", "1080p"] | None = Field(
        default=None, description="Output resolution; the model's default if unset."
    )
    seed: int | None = Field(
        default=None, ge=-1, le=4294967295, description="Random seed; -1 or unset is random."
    )
    camera_fixed: bool | None = Field(default=None, description="Keep the camera still.")
    watermark: bool | None = Field(default=None, description="Add the AI-generated watermark.")
    generate_audio: bool | None = Field(
        default=None, description="Make sound (1.5 pro and 2.0 models only)."
    )
    return_last_frame: bool | None = Field(
        default=None, description="Also return the video's last frame as an image."
    )
    service_tier: Literal["default", "flex"] | None = Field(
        default=None, description="flex: cheaper, slower offline processing."
    )
    callback_url: str | None = Field(
        default=None, pattern=r"^https?://", description="URL Ark calls when the task ends."
    )


def _spec(
    model: str, modes: set[str], seconds: range, default_resolution: str, audio: bool
) -> ModelSpec:
    return ModelSpec(
        model=model,
        modes=frozenset(modes),
        seconds=tuple(seconds),
        sizes=(*RATIOS, "adaptive"),
        default_seconds=5,
        default_size=default_resolution,  # the default resolution; the ratio follows the mode
        image_transport="url",
        max_image_bytes=30 * 1024 * 1024,
        audio=audio,
    )


class SeedanceFamily(ProviderFamily):
    """Doubao Seedance video models (`doubao-seedance-*`).

    Example:
        ```python
        from prefect_videogen.families import VideoRequest
        from prefect_videogen.families.seedance import SeedanceFamily

        family = SeedanceFamily()
        request = family.validate(
            VideoRequest(model="doubao-seedance-1-0-pro-250528", prompt="a kite", size="1280x720")
        )
        assert (request.size, request.params["resolution"]) == ("16:9", "720p")
        body = family.encode(request).json
        assert body["metadata"] == {"ratio": "16:9", "resolution": "720p", "duration": 5}
        ```
    """

    name = "seedance"
    prefixes = ("doubao-seedance", "seedance")
    specs: ClassVar[dict[str, ModelSpec]] = {
        "doubao-seedance-1-0-pro-250528": _spec(
            "doubao-seedance-1-0-pro-250528", {"t2v", "i2v"}, range(2, 13), "1080p", False
        ),
        "doubao-seedance-1-0-lite-t2v": _spec(
            "doubao-seedance-1-0-lite-t2v", {"t2v"}, range(2, 13), "720p", False
        ),
        "doubao-seedance-1-0-lite-i2v": _spec(
            "doubao-seedance-1-0-lite-i2v", {"i2v", "keyframe"}, range(2, 13), "720p", False
        ),
        "doubao-seedance-1-5-pro-251215": _spec(
            "doubao-seedance-1-5-pro-251215", set(ALL_MODES), range(2, 13), "1080p", True
        ),
        "doubao-seedance-2-0-260128": _spec(
            "doubao-seedance-2-0-260128", set(ALL_MODES), range(4, 16), "1080p", True
        ),
        "doubao-seedance-2-0-fast-260128": _spec(
            "doubao-seedance-2-0-fast-260128", set(ALL_MODES), range(4, 16), "720p", True
        ),
    }
    lenient = ModelSpec(
        model="seedance",
        modes=ALL_MODES,
        seconds=(),
        sizes=(*RATIOS, "adaptive"),
        default_seconds=5,
        default_size="720p",
        image_transport="url",
        max_image_bytes=30 * 1024 * 1024,
        audio=True,
    )
    params_model = SeedanceParams
    image_rules = ImageRules(media_types=_IMAGE_TYPES, min_side=300, max_side=6000, max_ratio=2.5)
    metadata_keys = SEEDANCE_METADATA_KEYS
    metadata_hint = "as a typed param (resolution, seed, camera_fixed, watermark, ...)"
    # Ark's own words, as the legacy gateway route passes them through.
    status_words: ClassVar[dict[str, VideoStatus]] = {
        "pending": VideoStatus.QUEUED,
        "running": VideoStatus.IN_PROGRESS,
        "succeeded": VideoStatus.COMPLETED,
        "failed": VideoStatus.FAILED,
    }

    def normalize(self, request: VideoRequest, spec: ModelSpec) -> VideoRequest:
        """metadata.ratio / resolution / duration are the size, params.resolution, seconds."""
        metadata = dict(request.metadata)
        params = dict(request.params)
        size, seconds = request.size, request.seconds
        if "ratio" in metadata:
            # metadata.ratio is the shape; a size given beside it may only be a tier.
            ratio = metadata.pop("ratio")
            given = parse_size(size) if size is not None else None
            if not isinstance(ratio, str) or (size is not None and given is None):
                raise InvalidRequestError(
                    "metadata.ratio", value=ratio, allowed=[*RATIOS, "adaptive"], model=spec.model
                )
            if given is not None and given.kind != "tier":
                raise InvalidRequestError(
                    "metadata.ratio",
                    "metadata.ratio and size both give the shape",
                    value=ratio,
                    allowed='one of them: size="16:9" (or "1280x720")',
                    model=spec.model,
                )
            if given is not None:
                params.setdefault("resolution", f"{given.lines}p")
            size = ratio
        if "resolution" in metadata:
            value = metadata.pop("resolution")
            if params.get("resolution", value) != value:
                raise InvalidRequestError(
                    "metadata.resolution",
                    "metadata.resolution and params.resolution disagree",
                    value=value,
                    allowed="one value, given once as params.resolution",
                    model=spec.model,
                )
            params["resolution"] = value
        if "duration" in metadata:
            value = metadata.pop("duration")
            if (
                isinstance(value, bool)
                or not isinstance(value, int)
                or seconds not in (None, value)
            ):
                raise InvalidRequestError(
                    "metadata.duration",
                    "metadata.duration and seconds disagree (or it is not a whole number)",
                    value=value,
                    allowed="one duration, given once as seconds=",
                    model=spec.model,
                )
            seconds = value
        return request.model_copy(
            update={"metadata": metadata, "params": params, "size": size, "seconds": seconds}
        )

    def check_metadata_keys(self, metadata: dict[str, Any], spec: ModelSpec) -> None:
        """A caller's metadata.content is refused: the family builds it from the images."""
        if "content" in metadata:
            raise InvalidRequestError(
                "metadata.content",
                f"metadata.content replaces the whole Ark content list for model "
                f"{spec.model!r}; this family builds it from the prompt and the images",
                value="content",
                allowed="first_frame= and last_frame= (sent as content items with roles)",
                model=spec.model,
            )
        super().check_metadata_keys(metadata, spec)

    def check_size(self, request: VideoRequest, spec: ModelSpec, seconds: int) -> str:
        """The ratio ("16:9", "adaptive"); a tier or a WxH also sets params.resolution."""
        ratio, _ = self._ratio_and_resolution(request, spec)
        return ratio

    def check_specific(self, request, spec, *, seconds, size, params, metadata):
        """The resolution from size or params; sound only on models that make it."""
        _, resolution = self._ratio_and_resolution(request, spec)
        given = params.get("resolution")
        if given is not None and resolution is not None and given != resolution:
            raise InvalidRequestError(
                "params.resolution",
                f"params.resolution {given!r} and size {request.size!r} disagree",
                value=given,
                allowed=f"one of them ({resolution!r} from size)",
                model=spec.model,
            )
        resolution = given or resolution or spec.default_size
        if resolution not in RESOLUTIONS:
            raise InvalidRequestError(
                "size", value=resolution, allowed=list(RESOLUTIONS), model=spec.model
            )
        if params.get("generate_audio") and not spec.audio:
            raise InvalidRequestError(
                "params.generate_audio",
                f"model {spec.model!r} makes silent video",
                value=True,
                allowed=[m for m, s in self.specs.items() if s.audio],
                model=spec.model,
            )
        return {"params": {**params, "resolution": resolution}}

    def _ratio_and_resolution(
        self, request: VideoRequest, spec: ModelSpec
    ) -> tuple[str, str | None]:
        default_ratio = "16:9" if request.mode == "t2v" else "adaptive"
        words = (
            'a ratio ("16:9", "adaptive" with images), a resolution ("720p") or a WxH of one '
            f"of the ratios {', '.join(RATIOS)} with a short side of 480, 720 or 1080"
        )
        if request.size is None:
            return default_ratio, None
        text = request.size.strip()
        if text == "adaptive":
            if request.mode == "t2v":
                raise InvalidRequestError(
                    "size",
                    f"adaptive takes the shape of the image, and this request has none "
                    f"(model {spec.model!r})",
                    value=text,
                    allowed=list(RATIOS),
                    model=spec.model,
                )
            return text, None
        size = parse_size(text)
        if size is None:
            raise InvalidRequestError("size", value=request.size, allowed=words, model=spec.model)
        if size.kind == "ratio":
            if text.replace(" ", "") not in RATIOS:
                raise InvalidRequestError(
                    "size", value=request.size, allowed=words, model=spec.model
                )
            return text.replace(" ", ""), None
        resolution = f"{size.lines}p"
        if resolution not in RESOLUTIONS:
            raise InvalidRequestError("size", value=request.size, allowed=words, model=spec.model)
        if size.kind == "tier":
            return default_ratio, resolution
        ratio = nearest_ratio(size.width, size.height, RATIOS)  # type: ignore[arg-type]
        if ratio is None:
            raise InvalidRequestError("size", value=request.size, allowed=words, model=spec.model)
        return ratio, resolution

    def encode(self, request: VideoRequest) -> EncodedRequest:
        """JSON; ratio, resolution, duration and the images (as content roles) in metadata."""
        params = dict(request.params)
        metadata: dict[str, Any] = {
            "ratio": request.size,
            "resolution": params.pop("resolution"),
            "duration": request.seconds,
            **params,
        }
        content: list[dict[str, Any]] = []
        for role, image in (
            ("first_frame", request.first_frame),
            ("last_frame", request.last_frame),
        ):
            if image is not None:
                item = {"type": "image_url", "image_url": {"url": image.as_url()}, "role": role}
                content.append(item)
        if content:
            metadata["content"] = [*content, {"type": "text", "text": request.prompt}]
        body = {
            "model": request.model,
            "prompt": request.prompt,
            "seconds": str(request.seconds),
            "duration": request.seconds,
            "metadata": deep_merge(metadata, request.metadata),
        }
        return EncodedRequest(json=body)
