"""Any other model: what every model in the OpenAI video format needs, nothing more.

The generic family never rejects a model name. It checks only what every model needs: a
prompt (at most 32000 characters), `seconds` a whole number from 1 to 3600, `size` in the
package's size grammar (`sizes.py`: "WxH", "W*H", a tier or an aspect ratio), `params` and
`metadata` plain JSON (metadata at most 64 KiB), and images readable (http(s) or data: URLs;
bytes of a JPEG, PNG, WEBP or BMP). Unset `seconds` and `size` stay unset, so the server
applies its own defaults.

Encoding: multipart when every image's bytes are here (each uploaded as an
`input_reference` file, as the OpenAI SDK does; `seconds` as a string, `metadata` as a JSON
string); JSON otherwise, with both `seconds` (string) and `duration` (int) since gateways
read one or the other, and images as URLs in `input_reference` (the first frame) and
`images[]`. `params` are merged into `metadata`, raw `request.metadata` last.
"""

from __future__ import annotations

import json
from typing import ClassVar

from pydantic import BaseModel, ConfigDict

from prefect_videogen.exceptions import InvalidRequestError
from prefect_videogen.families.base import EncodedRequest, ModelFamily, ModelSpec, VideoRequest
from prefect_videogen.families.checks import (
    ALL_MODES,
    MAX_PROMPT_CHARS,
    as_upload,
    check_image,
    check_jsonable,
    check_metadata,
    check_mode,
    check_model_name,
    check_prompt,
    check_seconds,
    deep_merge,
    images_of,
)
from prefect_videogen.families.sizes import SIZE_WORDS, parse_size
from prefect_videogen.models import VideoStatus

__all__ = ["GenericFamily", "GenericParams"]

#: The largest `metadata` the generic family sends, as compact JSON.
MAX_GENERIC_METADATA_BYTES = 64 * 1024
_IMAGE_TYPES = ("image/jpeg", "image/png", "image/webp", "image/bmp")


class GenericParams(BaseModel):
    """Any JSON-able parameters; they are sent in `metadata`.

    Example:
        ```python
        from prefect_videogen.families.generic import GenericParams

        assert GenericParams(resolution="720p").model_dump() == {"resolution": "720p"}
        ```
    """

    model_config = ConfigDict(extra="allow")


class GenericFamily(ModelFamily):
    """The fallback family for models no other family knows.

    Example:
        ```python
        from prefect_videogen.families import VideoRequest
        from prefect_videogen.families.generic import GenericFamily

        family = GenericFamily()
        request = family.validate(
            VideoRequest(model="emu-video", prompt="a lighthouse", seconds=8,
                         params={"negativePrompt": "fog"})
        )
        assert family.encode(request).json == {
            "model": "emu-video", "prompt": "a lighthouse", "seconds": "8",
            "duration": 8, "metadata": {"negativePrompt": "fog"},
        }
        ```
    """

    name = "generic"
    specs: ClassVar[dict[str, ModelSpec]] = {}
    params_model = GenericParams
    status_words: ClassVar[dict[str, VideoStatus]] = {}

    def matches(self, model: str) -> bool:
        """Every model: this is the fallback."""
        return True

    def spec(self, model: str) -> ModelSpec:
        """A spec that allows everything (the defaults shown are the OpenAI format's,
        applied by the server, not filled in here)."""
        return ModelSpec(
            model=model,
            modes=ALL_MODES,
            seconds=(),
            sizes=(),
            default_seconds=4,
            default_size="720x1280",
            image_transport="url",
            max_image_bytes=50 * 1024 * 1024,
        )

    def validate(self, request: VideoRequest) -> VideoRequest:
        """Check what every model needs; leave unset seconds and size unset."""
        check_model_name(request.model)
        spec = self.spec(request.model)
        model = spec.model
        check_prompt(request.prompt, model=model, max_chars=MAX_PROMPT_CHARS)
        check_mode(request, spec)
        seconds = None if request.seconds is None else check_seconds(request.seconds, spec)
        size = None
        if request.size is not None:
            size = request.size.strip()
            if parse_size(size) is None:
                raise InvalidRequestError(
                    "size", value=request.size, allowed=SIZE_WORDS, model=model
                )
        check_jsonable(request.params, "params", model=model)
        params = json.loads(json.dumps(request.params))
        metadata = check_metadata(
            request.metadata, model=model, max_bytes=MAX_GENERIC_METADATA_BYTES
        )
        for field, image in images_of(request):
            check_image(
                image,
                field=field,
                model=model,
                media_types=_IMAGE_TYPES,
                max_bytes=spec.max_image_bytes,
            )
        return request.model_copy(
            update={"seconds": seconds, "size": size, "params": params, "metadata": metadata}
        )

    def encode(self, request: VideoRequest) -> EncodedRequest:
        """Multipart with `input_reference` files when all images have bytes, else JSON."""
        metadata = deep_merge(request.params, request.metadata)
        images = images_of(request)
        if images and all(image.has_bytes() for _, image in images):
            data = {"model": request.model, "prompt": request.prompt}
            if request.seconds is not None:
                data["seconds"] = str(request.seconds)
            if request.size is not None:
                data["size"] = request.size
            if metadata:
                data["metadata"] = json.dumps(metadata, separators=(",", ":"))
            files = [("input_reference", as_upload(image, field)) for field, image in images]
            return EncodedRequest(data=data, files=files)
        body: dict = {"model": request.model, "prompt": request.prompt}
        if request.seconds is not None:
            body["seconds"] = str(request.seconds)
            body["duration"] = request.seconds
        if request.size is not None:
            body["size"] = request.size
        if images:
            body["input_reference"] = images[0][1].as_url()
            body["images"] = [image.as_url() for _, image in images]
        if metadata:
            body["metadata"] = metadata
        return EncodedRequest(json=body)
