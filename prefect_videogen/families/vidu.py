"""Vidu through a new-api gateway's Vidu channel.

What the models accept (platform.vidu.com docs and their mirrors):

| model | modes | seconds | size |
|---|---|---|---|
| viduq1 | t2v, i2v, keyframe | 5 | 1080p |
| viduq2 | t2v, i2v, keyframe | 1 to 10 (default 5) | 540p, 720p, 1080p (default 720p) |
| vidu2.0 | i2v, keyframe | 4 (360p, 720p, 1080p) or 8 (720p only) | default 4 s, 720p |
| vidu1.5 | t2v, i2v, keyframe | 4 (360p, 720p, 1080p) or 8 (720p only) | default 4 s, 720p |
| viduq2-pro, viduq2-turbo | i2v, keyframe | 1 to 8 (default 5) | 540p, 720p, 1080p (def. 720p) |
| viduq3-pro, viduq3-turbo | t2v, i2v, keyframe | 1 to 16 (def. 5) | 540p, 720p, 1080p (def. 720p) |

Sources (read 2026-12-03): platform.vidu.com text-to-video / image-to-video pages as the
team's notes quote them (gateway-behaviour.md section 4); viduq2-pro/-turbo and viduq3 from
third-party mirrors of Vidu's docs and LiteLLM's peers list (live-servers-2026-12.md
section 4), not from Vidu itself: a table edit when Vidu's page says otherwise. viduq3
makes sound natively; new-api's Vidu payload has no audio field, so none is offered.

The gateway unmarshals `metadata` into a fixed struct (seed, resolution,
movement_amplitude, bgm, payload, callback_url, duration, images, action): any other
key (`aspect_ratio`, `style`, ...) would be dropped silently, so it is refused.

`size` is a resolution tier written "1080p"; "1080P", "1080" and a "WxH" whose short side
is the tier ("1920x1080") are rewritten. The gateway has no `aspect_ratio` field, so
text-to-video is always 16:9: a WxH of another shape is refused for it (the image sets the
shape in image and keyframe video).

Images: `images[]`, each an http(s) URL or a data: URL WITH its `data:image/...;base64,`
prefix; PNG/JPEG/WEBP, at most 50 MB, aspect ratio within 1:4 to 4:1, and inline images
must keep the request body under 20 MB.

Encoding: JSON with `duration` (int), `seconds` (string), `size` (the tier, which the
gateway sends as Vidu's `resolution`), `images[]`, and the Vidu fields in `metadata`.
"""

from __future__ import annotations

from typing import ClassVar, Literal

from pydantic import BaseModel, ConfigDict, Field

from prefect_videogen.exceptions import InvalidRequestError
from prefect_videogen.families.base import (
    EncodedRequest,
    ImageRules,
    ModelSpec,
    ProviderFamily,
    VideoRequest,
)
from prefect_videogen.families.checks import ALL_MODES, check_size, deep_merge, images_of
from prefect_videogen.families.sizes import nearest_ratio, parse_tier, parse_wxh
from prefect_videogen.models import VideoStatus

__all__ = ["ViduFamily", "ViduParams"]

_TIERS = ("360p", "540p", "720p", "1080p")
_IMAGE_TYPES = ("image/png", "image/jpeg", "image/webp")
_MAX_BODY_BYTES = 20 * 1024 * 1024


class ViduParams(BaseModel):
    """Extra parameters of the Vidu models.

    Example:
        ```python
        from prefect_videogen.families.vidu import ViduParams

        params = ViduParams(seed=7, movement_amplitude="large")
        assert params.model_dump(exclude_none=True) == {
            "seed": 7, "movement_amplitude": "large", "bgm": False
        }
        ```
    """

    model_config = ConfigDict(extra="forbid")

    seed: int | None = Field(
        default=None, ge=0, le=2147483647, description="Random seed; unset (or 0) is random."
    )
    movement_amplitude: Literal["auto", "small", "medium", "large"] = Field(
        default="auto", description="How much things move in the frame."
    )
    bgm: bool = Field(default=False, description="Add background music.")
    callback_url: str | None = Field(
        default=None, pattern=r"^https?://", description="URL Vidu calls when the task ends."
    )


def _spec(
    model: str, modes: set[str], seconds: tuple[int, ...], sizes: tuple[str, ...], defaults: tuple
) -> ModelSpec:
    return ModelSpec(
        model=model,
        modes=frozenset(modes),
        seconds=seconds,
        sizes=sizes,
        default_seconds=defaults[0],
        default_size=defaults[1],
        image_transport="data_url",
        max_image_bytes=50 * 1024 * 1024,
    )


class ViduFamily(ProviderFamily):
    """Vidu video models (`viduq1`, `viduq2`, `vidu2.0`, `vidu1.5`, newer `vidu*`).

    Example:
        ```python
        from prefect_videogen.families import VideoRequest
        from prefect_videogen.families.vidu import ViduFamily

        family = ViduFamily()
        request = family.validate(VideoRequest(model="viduq1", prompt="waves", size="1920x1080"))
        body = family.encode(request).json
        assert (body["size"], body["duration"], body["seconds"]) == ("1080p", 5, "5")
        ```
    """

    name = "vidu"
    prefixes = ("vidu",)
    specs: ClassVar[dict[str, ModelSpec]] = {
        "viduq1": _spec("viduq1", set(ALL_MODES), (5,), ("1080p",), (5, "1080p")),
        "viduq2": _spec(
            "viduq2", set(ALL_MODES), tuple(range(1, 11)), ("540p", "720p", "1080p"), (5, "720p")
        ),
        "vidu2.0": _spec(
            "vidu2.0", {"i2v", "keyframe"}, (4, 8), ("360p", "720p", "1080p"), (4, "720p")
        ),
        "vidu1.5": _spec("vidu1.5", set(ALL_MODES), (4, 8), ("360p", "720p", "1080p"), (4, "720p")),
        **{
            model: _spec(model, modes, seconds, ("540p", "720p", "1080p"), (5, "720p"))
            for model, modes, seconds in (
                ("viduq2-pro", {"i2v", "keyframe"}, tuple(range(1, 9))),
                ("viduq2-turbo", {"i2v", "keyframe"}, tuple(range(1, 9))),
                ("viduq3-pro", set(ALL_MODES), tuple(range(1, 17))),
                ("viduq3-turbo", set(ALL_MODES), tuple(range(1, 17))),
            )
        },
    }
    #: Sizes allowed for a duration, where the model narrows them.
    sizes_for_seconds: ClassVar[dict[str, dict[int, tuple[str, ...]]]] = {
        "vidu2.0": {8: ("720p",)},
        "vidu1.5": {8: ("720p",)},
    }
    # Newer Vidu models: the gateway's defaults (5 s, 1080p).
    lenient = _spec("vidu", set(ALL_MODES), (), _TIERS, (5, "1080p"))
    prompt_limits: ClassVar[dict[str, int]] = {
        "viduq2": 2000,
        "viduq2-pro": 2000,
        "viduq2-turbo": 2000,
        "viduq3-pro": 5000,
        "viduq3-turbo": 5000,
    }
    max_prompt = 1500
    params_model = ViduParams
    # Vidu's own words, as the legacy gateway route passes them through.
    status_words: ClassVar[dict[str, VideoStatus]] = {
        "created": VideoStatus.QUEUED,
        "queueing": VideoStatus.QUEUED,
        "processing": VideoStatus.IN_PROGRESS,
        "success": VideoStatus.COMPLETED,
        "failed": VideoStatus.FAILED,
    }

    def max_prompt_chars(self, model: str) -> int:
        """1500 (viduq1, vidu2.0, vidu1.5), 2000 (viduq2), 5000 for newer models."""
        if not self.is_known(model):
            return 5000
        return self.prompt_limits.get(model, self.max_prompt)

    image_rules = ImageRules(
        media_types=_IMAGE_TYPES, max_ratio=4, max_inline_total=_MAX_BODY_BYTES
    )
    metadata_keys = frozenset(
        {"seed", "resolution", "movement_amplitude", "bgm", "payload", "callback_url"}
        | {"duration", "images", "action"}
    )
    metadata_hint = (
        "as a typed param (seed, movement_amplitude, bgm, callback_url); the gateway's Vidu "
        "payload has no aspect_ratio or style field at all"
    )

    def check_size(self, request: VideoRequest, spec: ModelSpec, seconds: int) -> str:
        """A tier ("1080p"); text-to-video WxH sizes must be 16:9 (no aspect_ratio field)."""
        model = spec.model
        allowed = self.sizes_for_seconds.get(model, {}).get(seconds, spec.sizes)
        size = spec.default_size if spec.default_size in allowed else allowed[0]
        if request.size is None:
            return size
        dims = parse_wxh(request.size)
        lines = min(dims) if dims else parse_tier(request.size)
        notation = '"1080P", "1080" or a WxH whose short side is the tier are also read'
        if seconds in self.sizes_for_seconds.get(model, {}):
            notation += f"; {seconds} s allows only these"
        size = check_size(
            request.size,
            f"{lines}p" if lines else None,
            allowed,
            model=model,
            notation=notation,
        )
        if dims is not None and request.mode == "t2v" and nearest_ratio(*dims, ["16:9"]) is None:
            raise InvalidRequestError(
                "size",
                f"{request.size!r} is not 16:9, and model {model!r} makes 16:9 video from "
                "text: the gateway has no aspect_ratio field for Vidu",
                value=request.size,
                allowed=f"a tier ({', '.join(allowed)}) or a 16:9 WxH size such as 1920x1080",
                model=model,
            )
        return size

    def encode(self, request: VideoRequest) -> EncodedRequest:
        """JSON: `images[]` as URLs or data: URLs with prefix, Vidu fields in metadata."""
        body: dict = {
            "model": request.model,
            "prompt": request.prompt,
            "duration": request.seconds,
            "seconds": str(request.seconds),
            "size": request.size,
        }
        images = images_of(request)
        if images:
            body["images"] = [image.as_url() for _, image in images]
        body["metadata"] = deep_merge(dict(request.params), request.metadata)
        return EncodedRequest(json=body)
