"""OpenAI Sora: `sora-2` and `sora-2-pro` (and their dated snapshots).

What the models accept (OpenAI API spec and SDK enums; new-api gateways enforce the same
sizes):

| model | seconds | sizes | modes |
|---|---|---|---|
| sora-2 (sora-2-2025-10-06, sora-2-2025-12-08) | 4, 8, 12 | 720x1280, 1280x720 | t2v, i2v |
| sora-2-pro (sora-2-pro-2025-10-06) | 4, 8, 12 | also 1024x1792, 1792x1024 | t2v, i2v |

Defaults are 4 s and 720x1280. The image is the video's first frame: an uploaded
JPEG/PNG/WEBP file (`input_reference`) of exactly the requested size. Its bytes must be
here, so a size mismatch is caught before the paid call; an http(s) URL cannot be uploaded
and is refused. Sora has no extra parameters.

Encoding: multipart (like the OpenAI SDK) when an image is uploaded; JSON otherwise (an
`application/x-www-form-urlencoded` body, which httpx would send for form fields without a
file, is accepted by neither OpenAI nor the gateways). `seconds` travels as a string, raw
`metadata` as a JSON string form field (multipart) or an object (JSON).
"""

from __future__ import annotations

import json
from dataclasses import replace
from typing import ClassVar

from pydantic import BaseModel, ConfigDict

from prefect_videogen.families.base import (
    EncodedRequest,
    ImageRules,
    ModelSpec,
    ProviderFamily,
    VideoRequest,
)
from prefect_videogen.families.checks import as_upload, check_size
from prefect_videogen.families.sizes import parse_wxh
from prefect_videogen.models import VideoStatus

__all__ = ["SoraFamily", "SoraParams"]

_IMAGE_TYPES = ("image/jpeg", "image/png", "image/webp")
# The JSON form of `input_reference.image_url` takes at most 20,971,520 characters.
_MAX_IMAGE_BYTES = 20 * 1024 * 1024


class SoraParams(BaseModel):
    """Sora takes no extra parameters; any key in `params` is an error.

    Example:
        ```python
        from prefect_videogen.families.sora import SoraParams

        assert SoraParams().model_dump() == {}
        ```
    """

    model_config = ConfigDict(extra="forbid")


_SORA_2 = ModelSpec(
    model="sora-2",
    modes=frozenset({"t2v", "i2v"}),
    seconds=(4, 8, 12),
    sizes=("720x1280", "1280x720"),
    default_seconds=4,
    default_size="720x1280",
    image_transport="file",
    max_image_bytes=_MAX_IMAGE_BYTES,
    image_must_match_size=True,
)
_SORA_2_PRO = replace(
    _SORA_2, model="sora-2-pro", sizes=("720x1280", "1280x720", "1024x1792", "1792x1024")
)


class SoraFamily(ProviderFamily):
    """OpenAI Sora (`sora-2`, `sora-2-pro`), directly or through a gateway's Sora channel.

    Example:
        ```python
        from prefect_videogen.families import VideoRequest
        from prefect_videogen.families.sora import SoraFamily

        family = SoraFamily()
        request = family.validate(VideoRequest(model="sora-2", prompt="a fox", size="1280*720"))
        assert (request.seconds, request.size) == (4, "1280x720")
        assert family.encode(request).json == {
            "model": "sora-2", "prompt": "a fox", "seconds": "4", "size": "1280x720"
        }
        ```
    """

    name = "sora"
    prefixes = ("sora",)
    specs: ClassVar[dict[str, ModelSpec]] = {
        "sora-2": _SORA_2,
        "sora-2-pro": _SORA_2_PRO,
        "sora-2-2025-10-06": replace(_SORA_2, model="sora-2-2025-10-06"),
        "sora-2-2025-12-08": replace(_SORA_2, model="sora-2-2025-12-08"),
        "sora-2-pro-2025-10-06": replace(_SORA_2_PRO, model="sora-2-pro-2025-10-06"),
    }
    # Newer snapshots: the guide's 1080p sizes and any duration are let through.
    lenient = replace(
        _SORA_2_PRO,
        model="sora",
        seconds=(),
        sizes=(*_SORA_2_PRO.sizes, "1920x1080", "1080x1920"),
    )
    params_model = SoraParams
    status_words: ClassVar[dict[str, VideoStatus]] = {}

    image_rules = ImageRules(
        media_types=_IMAGE_TYPES,
        must_match_size=True,
        http_urls=False,
        http_hint="ImageInput.from_path(), from_bytes() or a data: URL",
        http_reason=": it takes the image as an uploaded file, so its bytes must be here",
    )

    def check_size(self, request: VideoRequest, spec: ModelSpec, seconds: int) -> str:
        """ "WxH" from the model's list ("W*H" is also read); 720x1280 if unset."""
        if request.size is None:
            return spec.default_size
        dims = parse_wxh(request.size)
        return check_size(
            request.size,
            f"{dims[0]}x{dims[1]}" if dims else None,
            spec.sizes,
            model=spec.model,
            notation='"WxH"; "W*H" is also read',
        )

    def encode(self, request: VideoRequest) -> EncodedRequest:
        """Multipart with the `input_reference` file for i2v, else JSON."""
        fields = {
            "model": request.model,
            "prompt": request.prompt,
            "seconds": str(request.seconds),
            "size": str(request.size),
        }
        image = request.first_frame
        if image is None:
            body: dict = dict(fields)
            if request.metadata:
                body["metadata"] = request.metadata
            return EncodedRequest(json=body)
        if request.metadata:
            fields["metadata"] = json.dumps(request.metadata, separators=(",", ":"))
        return EncodedRequest(
            data=fields, files=[("input_reference", as_upload(image, "first_frame"))]
        )
