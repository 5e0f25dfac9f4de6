"""Jimeng (Volcengine visual API) through a new-api gateway's Jimeng channel.

What the models accept (Volcengine docs via third-party mirrors, and the gateway code):

| model | modes | seconds | size |
|---|---|---|---|
| jimeng_vgfm_t2v_l20 | t2v | 5, 10 (121 / 241 frames) | 16:9, 9:16, 1:1, 4:3, 3:4, 21:9 |
| jimeng_vgfm_i2v_l20 | i2v, keyframe (two images) | 5, 10 | the same |
| jimeng_v30 (720p), jimeng_v30_1080p | t2v, i2v, keyframe | 5, 10 | the same |
| jimeng_v30_pro (1080p) | t2v, i2v | 5, 10 | the same |
| jimeng_t2v_v30, jimeng_t2v_v30_1080p | t2v | 5, 10 | the same |
| jimeng_i2v_first_v30, jimeng_i2v_first_v30_1080 | i2v | 5, 10 | the same |
| jimeng_i2v_first_tail_v30, jimeng_i2v_first_tail_v30_1080 | keyframe | 5, 10 | the same |
| jimeng_ti2v_v30_pro | t2v, i2v | 5, 10 | the same |

Jimeng v3.0 (sources, read 2026-12-03): new-api's Jimeng adaptor rewrites a `jimeng_v30*`
name by image count (none: `jimeng_t2v_v30`, one: `jimeng_i2v_first_v30`, two:
`jimeng_i2v_first_tail_v30`, `jimeng_v30_pro`: `jimeng_ti2v_v30_pro`; the `_1080p` alias
gives the 1080p keys) and passes any other name through as `req_key` (gateway code in
the team's notes, gateway-behaviour.md section 3, and a new-api fork's `jimeng` client);
the req_key list and the 5 s / 10 s (121 / 241 frames) limit are Volcengine's "Jimeng
video 3.0" keys as quoted by several client projects. Not verified against Volcengine's
own page. The gateway always polls with `req_key=jimeng_vgfm_t2v_l20` (live-servers note,
L11): whether Volcengine answers other keys' tasks that way is unverified.

The gateway ignores `size`; the aspect ratio travels as `metadata.aspect_ratio`. `size` may
be the ratio itself ("16:9") or a "WxH" / "W*H" size whose ratio is within 2 % of one of the
six; the request keeps the ratio. Default 16:9.

Images: uploaded files (multipart `input_reference`, each at most 4.7 MB, JPEG/PNG) when
their bytes are here, or http(s) URLs in `images[]`. Both frames must travel the same way,
since the gateway decides by the first one.

Encoding: JSON (`seconds` string and `duration` int, `images[]` of URLs, `metadata`
object) unless images are uploaded. Multipart carries `seconds` and the `metadata` JSON
string; the gateway parses that string only since 2026-04 (new-api b713e277c), older
deployments copy unknown TOP-LEVEL form fields into the metadata instead. So the multipart
form carries `aspect_ratio`, `seed` and `frames` both ways: as top-level fields (read by
older gateways) and inside the `metadata` string (read by newer ones, which then ignore the
top-level copies). Raw `request.metadata` goes only in the `metadata` string.
"""

from __future__ import annotations

import json
from typing import ClassVar

from pydantic import BaseModel, ConfigDict, Field

from prefect_videogen.exceptions import InvalidRequestError
from prefect_videogen.families.base import (
    EncodedRequest,
    ImageRules,
    ModelSpec,
    ProviderFamily,
    VideoRequest,
)
from prefect_videogen.families.checks import (
    ALL_MODES,
    as_upload,
    check_ratio_size,
    deep_merge,
    images_of,
)
from prefect_videogen.models import VideoStatus

__all__ = ["JimengFamily", "JimengParams"]

_RATIOS = ("16:9", "9:16", "1:1", "4:3", "3:4", "21:9")
_IMAGE_TYPES = ("image/jpeg", "image/png")
_MAX_IMAGE_BYTES = int(4.7 * 1024 * 1024)


class JimengParams(BaseModel):
    """Extra parameters of the Jimeng models.

    Example:
        ```python
        from prefect_videogen.families.jimeng import JimengParams

        assert JimengParams().seed == -1
        ```
    """

    model_config = ConfigDict(extra="forbid")

    seed: int = Field(
        default=-1, ge=-1, le=2147483647, description="Random seed; -1 picks a random one."
    )


def _spec(model: str, modes: set[str]) -> ModelSpec:
    return ModelSpec(
        model=model,
        modes=frozenset(modes),
        seconds=(5, 10),
        sizes=_RATIOS,
        default_seconds=5,
        default_size="16:9",
        image_transport="file",
        max_image_bytes=_MAX_IMAGE_BYTES,
    )


def frames_for(seconds: int) -> int:
    """Frames Jimeng makes for `seconds` at 24 fps: 5 s is 121, 10 s is 241."""
    return 24 * seconds + 1


class JimengFamily(ProviderFamily):
    """Jimeng video models (`jimeng_vgfm_t2v_l20`, `jimeng_vgfm_i2v_l20`, newer `jimeng_*`).

    Example:
        ```python
        from prefect_videogen.families import VideoRequest
        from prefect_videogen.families.jimeng import JimengFamily

        family = JimengFamily()
        request = family.validate(
            VideoRequest(model="jimeng_vgfm_t2v_l20", prompt="rain", seconds=10, size="1080x1920")
        )
        assert family.encode(request).json["metadata"] == {
            "aspect_ratio": "9:16", "seed": -1, "frames": 241
        }
        ```
    """

    name = "jimeng"
    prefixes = ("jimeng",)
    specs: ClassVar[dict[str, ModelSpec]] = {
        model: _spec(model, modes)
        for model, modes in {
            "jimeng_vgfm_t2v_l20": {"t2v"},
            "jimeng_vgfm_i2v_l20": {"i2v", "keyframe"},
            "jimeng_v30": set(ALL_MODES),
            "jimeng_v30_1080p": set(ALL_MODES),
            "jimeng_v30_pro": {"t2v", "i2v"},
            "jimeng_t2v_v30": {"t2v"},
            "jimeng_t2v_v30_1080p": {"t2v"},
            "jimeng_i2v_first_v30": {"i2v"},
            "jimeng_i2v_first_v30_1080": {"i2v"},
            "jimeng_i2v_first_tail_v30": {"keyframe"},
            "jimeng_i2v_first_tail_v30_1080": {"keyframe"},
            "jimeng_ti2v_v30_pro": {"t2v", "i2v"},
        }.items()
    }
    lenient = ModelSpec(
        model="jimeng",
        modes=ALL_MODES,
        seconds=(),
        sizes=_RATIOS,
        default_seconds=5,
        default_size="16:9",
        image_transport="file",
        max_image_bytes=_MAX_IMAGE_BYTES,
    )
    params_model = JimengParams
    # Volcengine's own words, as the legacy gateway route passes them through.
    status_words: ClassVar[dict[str, VideoStatus]] = {
        "in_queue": VideoStatus.QUEUED,
        "generating": VideoStatus.IN_PROGRESS,
        "done": VideoStatus.COMPLETED,
    }

    image_rules = ImageRules(media_types=_IMAGE_TYPES)

    def check_size(self, request: VideoRequest, spec: ModelSpec, seconds: int) -> str:
        """The aspect ratio ("16:9"), from a ratio or a WxH size; 16:9 if unset."""
        return check_ratio_size(request.size, spec, _RATIOS, examples="1280x720")

    def check_specific(self, request, spec, *, seconds, size, params, metadata):
        """Both frames must travel the same way (the gateway decides by the first)."""
        images = images_of(request)
        if len({image.has_bytes() for _, image in images}) > 1:
            raise InvalidRequestError(
                "last_frame",
                f"model {spec.model!r} takes both frames the same way: the gateway reads "
                "them all as files or all as URLs",
                allowed="both frames with bytes (uploaded) or both as http(s) URLs",
                model=spec.model,
            )
        return None

    def encode(self, request: VideoRequest) -> EncodedRequest:
        """Multipart with `input_reference` files when images have bytes, else JSON."""
        seconds = request.seconds or self.spec(request.model).default_seconds
        extra = {
            "aspect_ratio": request.size,
            "seed": request.params.get("seed", -1),
            "frames": frames_for(seconds),
        }
        metadata = deep_merge(extra, request.metadata)
        images = images_of(request)
        if images and all(image.has_bytes() for _, image in images):
            data = {
                "model": request.model,
                "prompt": request.prompt,
                "seconds": str(seconds),
                **{key: str(value) for key, value in extra.items()},
                "metadata": json.dumps(metadata, separators=(",", ":")),
            }
            files = [("input_reference", as_upload(image, field)) for field, image in images]
            return EncodedRequest(data=data, files=files)
        body: dict = {
            "model": request.model,
            "prompt": request.prompt,
            "seconds": str(seconds),
            "duration": seconds,
        }
        if images:
            body["images"] = [image.as_url() for _, image in images]
        body["metadata"] = metadata
        return EncodedRequest(json=body)
