"""Aliyun Wanxiang (Wan) through a new-api gateway's Ali channel (DashScope behind it).

What the models accept (Model Studio API reference):

| model | modes | seconds | size |
|---|---|---|---|
| wan2.5-t2v-preview | t2v | 5, 10 | "W*H" from the 480P/720P/1080P lists (default 1920*1080) |
| wan2.5-i2v-preview | i2v | 5, 10 | 480P, 720P, 1080P (default 1080P) |
| wan2.2-i2v-flash | i2v | 5 | 480P, 720P (default 720P) |
| wan2.2-i2v-plus | i2v | 5 | 480P, 1080P (default 1080P) |
| wanx2.1-i2v-plus | i2v | 5 | 720P |
| wanx2.1-i2v-turbo | i2v | 3, 4, 5 | 480P, 720P (default 720P) |
| wan2.2-kf2v-flash | keyframe | 5 | 480P, 720P, 1080P (default 720P) |
| wan2.6-t2v | t2v | 5, 10, 15 | "W*H" from the 720P/1080P lists (default 1280*720) |
| wan2.6-i2v | i2v | 5, 10, 15 | 720P, 1080P (default 1080P) |
| wan2.7-t2v | t2v | 2 to 15 | "W*H" from the 720P/1080P lists (default 1280*720) |
| wan2.7-i2v | i2v, keyframe | 2 to 15 | 720P, 1080P (default 720P) |

Sources (read 2026-12-03): Model Studio API references as quoted in the team's notes
(gateway-behaviour.md section 5, read 2026-11-24); wan2.6/wan2.7 from new-api's Ali adaptor
at 823e26304 (2026-08-08: `wan2.7-i2v`/`wan2.7-t2v` listed, billing knows `wan2.6-i2v`, the
defaults are the gateway's) and LiteLLM 1.110.2's cost map ("No 480P tier" for wan2.7-t2v
and wan2.7-i2v). The wan2.6 and wan2.7 durations come from third-party mirrors of Model
Studio and are not verified against Alibaba's own page: a table edit when they are.

The wan2.5, wan2.6 and wan2.7 models make sound (`audio`, `audio_url`). Text-to-video takes
`size` as
"W*H" (a "WxH" from the caller is rewritten); image and keyframe video take a resolution
tier, written "720P" ("720p", "720" and a "WxH" of that tier are rewritten). Images travel
as URLs: an http(s) URL, or a data: URL of the bytes. Image bytes, when here, must be
JPEG/PNG/BMP/WEBP, at most 10 MB, sides 360 to 2000 px.

Encoding: JSON. The gateway JSON-merges `metadata` onto the whole DashScope body, so images
and parameters go NESTED, under `metadata.input` and `metadata.parameters`; flat keys such as
`metadata.img_url` are silently dropped by the gateway. Raw `request.metadata` is
deep-merged last.

The seed document's spellings are read as what they mean: `metadata={"img_url": URL}` is the
first frame, `metadata.first_frame_url` / `last_frame_url` the keyframes, flat `watermark`,
`prompt_extend`, `seed`, `audio`, `negative_prompt`, `audio_url` are params and a flat
`resolution` is the size; the same holds for their nested forms (`metadata.input.img_url`,
`metadata.parameters.watermark`, ...). One request written either way validates to the same
normalized request, so it has one fingerprint. A metadata key the gateway would drop
(a flat key not listed here, a `parameters` key outside new-api's `AliVideoParameters`, e.g.
`ratio`, or an `input` key DashScope does not take) is refused, naming where it goes.

Gateway limitation: `prompt_extend`, `watermark` and `seed` are plain fields with
`omitempty` in the gateway, so `prompt_extend=false` and `seed=0` never reach DashScope
(its defaults apply instead). Both are refused here rather than silently changed.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any, ClassVar

from pydantic import BaseModel, ConfigDict, Field

from prefect_videogen.exceptions import InvalidRequestError
from prefect_videogen.families.base import (
    EncodedRequest,
    ImageRules,
    ModelSpec,
    ProviderFamily,
    VideoRequest,
)
from prefect_videogen.families.checks import ALL_MODES, check_size, deep_merge
from prefect_videogen.families.sizes import parse_tier, parse_wxh
from prefect_videogen.images import ImageInput
from prefect_videogen.models import VideoStatus

__all__ = ["WAN_SIZES", "WanFamily", "WanParams"]

#: Text-to-video sizes ("W*H") of each resolution tier.
WAN_SIZES: dict[str, tuple[str, ...]] = {
    "480P": ("832*480", "480*832", "624*624"),
    "720P": ("1280*720", "720*1280", "960*960", "1088*832", "832*1088"),
    "1080P": ("1920*1080", "1080*1920", "1440*1440", "1632*1248", "1248*1632"),
}
_TIER_OF_SIZE = {size: tier for tier, sizes in WAN_SIZES.items() for size in sizes}
_ALL_SIZES = tuple(_TIER_OF_SIZE)
_NO_480P = (*WAN_SIZES["720P"], *WAN_SIZES["1080P"])
#: Keys of `metadata.parameters` that new-api's `AliVideoParameters` keeps.
WAN_PARAMETER_KEYS = frozenset(
    {"resolution", "size", "duration", "prompt_extend", "watermark", "audio", "seed"}
)
#: Keys of `metadata.input` that DashScope reads.
WAN_INPUT_KEYS = frozenset(
    {"img_url", "first_frame_url", "last_frame_url", "audio_url", "negative_prompt"}
    | {"template", "media", "prompt"}
)
_IMAGE_KEYS = {
    "img_url": "first_frame",
    "first_frame_url": "first_frame",
    "last_frame_url": "last_frame",
}
_PARAM_KEYS = ("watermark", "prompt_extend", "seed", "audio", "negative_prompt", "audio_url")
_IMAGE_TYPES = ("image/jpeg", "image/png", "image/bmp", "image/webp")
_SEED_MAX = 2147483647


class WanParams(BaseModel):
    """Extra parameters of the Wan models (DashScope `parameters` and `input`).

    Example:
        ```python
        from prefect_videogen.families.wan import WanParams

        params = WanParams(watermark=True, seed=42)
        assert params.model_dump(exclude_none=True) == {
            "watermark": True, "prompt_extend": True, "seed": 42
        }
        ```
    """

    model_config = ConfigDict(extra="forbid")

    watermark: bool = Field(default=False, description='Add the "AI generated" watermark.')
    prompt_extend: bool = Field(
        default=True,
        description="Let the model rewrite the prompt. false cannot pass new-api gateways.",
    )
    audio: bool | None = Field(
        default=None,
        description="Generate sound (wan2.5 only); unset lets the model decide.",
    )
    seed: int | None = Field(
        default=None,
        ge=0,
        le=_SEED_MAX,
        description="Random seed, 1..2147483647 (0 cannot pass new-api gateways); unset is random.",
    )
    negative_prompt: str | None = Field(
        default=None, max_length=500, description="What the video should not show."
    )
    audio_url: str | None = Field(
        default=None,
        pattern=r"^https?://",
        description="URL of a WAV/MP3 soundtrack, 3-30 s, at most 15 MB (wan2.5 only).",
    )


def _spec(
    model: str, modes: set[str], seconds: tuple[int, ...], sizes: tuple[str, ...], default: str
) -> ModelSpec:
    return ModelSpec(
        model=model,
        modes=frozenset(modes),
        seconds=seconds,
        sizes=sizes,
        default_seconds=5,
        default_size=default,
        image_transport="url",
        audio=model.startswith(("wan2.5", "wan2.6", "wan2.7")),
    )


class WanFamily(ProviderFamily):
    """Aliyun Wanxiang video models (`wan2.5-*`, `wan2.2-*`, `wanx2.1-*`).

    Example:
        ```python
        from prefect_videogen.families import VideoRequest
        from prefect_videogen.families.wan import WanFamily
        from prefect_videogen.images import ImageInput

        family = WanFamily()
        request = family.validate(
            VideoRequest(
                model="wan2.5-i2v-preview",
                prompt="the cat stretches",
                size="720p",
                first_frame=ImageInput.from_url("https://example.com/cat.png"),
            )
        )
        body = family.encode(request).json
        assert body["metadata"]["input"]["img_url"] == "https://example.com/cat.png"
        assert body["metadata"]["parameters"]["resolution"] == "720P"
        ```
    """

    name = "wan"
    prefixes = ("wan",)
    specs: ClassVar[dict[str, ModelSpec]] = {
        "wan2.5-t2v-preview": _spec(
            "wan2.5-t2v-preview", {"t2v"}, (5, 10), _ALL_SIZES, "1920*1080"
        ),
        "wan2.5-i2v-preview": _spec(
            "wan2.5-i2v-preview", {"i2v"}, (5, 10), ("480P", "720P", "1080P"), "1080P"
        ),
        "wan2.2-i2v-flash": _spec("wan2.2-i2v-flash", {"i2v"}, (5,), ("480P", "720P"), "720P"),
        "wan2.2-i2v-plus": _spec("wan2.2-i2v-plus", {"i2v"}, (5,), ("480P", "1080P"), "1080P"),
        "wanx2.1-i2v-plus": _spec("wanx2.1-i2v-plus", {"i2v"}, (5,), ("720P",), "720P"),
        "wanx2.1-i2v-turbo": _spec(
            "wanx2.1-i2v-turbo", {"i2v"}, (3, 4, 5), ("480P", "720P"), "720P"
        ),
        "wan2.2-kf2v-flash": _spec(
            "wan2.2-kf2v-flash", {"keyframe"}, (5,), ("480P", "720P", "1080P"), "720P"
        ),
        "wan2.6-t2v": _spec("wan2.6-t2v", {"t2v"}, (5, 10, 15), _NO_480P, "1280*720"),
        "wan2.6-i2v": _spec("wan2.6-i2v", {"i2v"}, (5, 10, 15), ("720P", "1080P"), "1080P"),
        "wan2.7-t2v": _spec("wan2.7-t2v", {"t2v"}, tuple(range(2, 16)), _NO_480P, "1280*720"),
        "wan2.7-i2v": _spec(
            "wan2.7-i2v", {"i2v", "keyframe"}, tuple(range(2, 16)), ("720P", "1080P"), "720P"
        ),
    }
    # Newer Wan models: any mode, any duration, every size; no default size (the gateway
    # picks one per model), audio allowed.
    lenient = replace(_spec("wan", set(ALL_MODES), (), (*_ALL_SIZES, *WAN_SIZES), ""), audio=True)
    prompt_limits: ClassVar[dict[str, int]] = {
        model: 1500
        for model in (
            *("wan2.5-t2v-preview", "wan2.5-i2v-preview", "wan2.6-t2v", "wan2.6-i2v"),
            *("wan2.7-t2v", "wan2.7-i2v"),
        )
    }
    max_prompt = 800
    params_model = WanParams
    # DashScope's own words, as the legacy gateway route passes them through.
    status_words: ClassVar[dict[str, VideoStatus]] = {
        "pending": VideoStatus.QUEUED,
        "running": VideoStatus.IN_PROGRESS,
        "succeeded": VideoStatus.COMPLETED,
        "failed": VideoStatus.FAILED,
        "canceled": VideoStatus.FAILED,
        # "unknown" is not here: through new-api it is a task not started yet (NOT_START),
        # and DashScope's UNKNOWN (an expired id) is bounded by wait(unknown_timeout=...).
    }

    def max_prompt_chars(self, model: str) -> int:
        """1500 for wan2.5 models, 800 for the others (newer wan2.5+ names get 1500)."""
        if not self.is_known(model):
            return 1500
        return self.prompt_limits.get(model, self.max_prompt)

    image_rules = ImageRules(media_types=_IMAGE_TYPES, min_side=360, max_side=2000)
    metadata_keys = frozenset({"input", "parameters"})
    metadata_hint = (
        "nested, as metadata.input.<key> or metadata.parameters.<key> (the gateway merges "
        "metadata onto the DashScope body and drops flat keys), or as a typed param"
    )

    def normalize(self, request: VideoRequest, spec: ModelSpec) -> VideoRequest:
        """Read the seed document's spellings (flat or nested metadata) as the fields they are."""
        metadata = dict(request.metadata)
        if not metadata:
            return request
        inputs = metadata.get("input")
        inputs = dict(inputs) if isinstance(inputs, dict) else None
        parameters = metadata.get("parameters")
        parameters = dict(parameters) if isinstance(parameters, dict) else None
        updates: dict[str, Any] = {}
        params = dict(request.params)

        def take(where: dict[str, Any] | None, key: str) -> tuple[bool, Any]:
            if where is None or key not in where:
                return False, None
            return True, where.pop(key)

        for key, target in _IMAGE_KEYS.items():
            for where, path in ((metadata, f"metadata.{key}"), (inputs, f"metadata.input.{key}")):
                found, value = take(where, key)
                if not found:
                    continue
                if not isinstance(value, str) or not value.strip():
                    raise InvalidRequestError(
                        path,
                        "an image URL must be a non-empty string",
                        value=value,
                        allowed=f"an http(s) or data: URL, or pass the image as {target}=",
                        model=spec.model,
                    )
                image = ImageInput.from_url(value.strip())
                current = updates.get(target, getattr(request, target))
                if current is not None and current.fingerprint() != image.fingerprint():
                    raise InvalidRequestError(
                        path,
                        f"{path} and {target} name two different images",
                        value=value[:60],
                        allowed=f"one image, given once: {target}=ImageInput.from_url(...)",
                        model=spec.model,
                    )
                updates[target] = current or image
        for key in _PARAM_KEYS:
            for where, path in (
                (metadata, f"metadata.{key}"),
                (parameters, f"metadata.parameters.{key}"),
                (inputs, f"metadata.input.{key}"),
            ):
                found, value = take(where, key)
                if not found:
                    continue
                if key in params and params[key] != value:
                    raise InvalidRequestError(
                        path,
                        f"{path} and params.{key} disagree",
                        value=value,
                        allowed=f"one value, given once as params.{key}",
                        model=spec.model,
                    )
                params[key] = value
        size = request.size
        for key, where, path in (
            ("resolution", metadata, "metadata.resolution"),
            ("resolution", parameters, "metadata.parameters.resolution"),
            ("size", parameters, "metadata.parameters.size"),
        ):
            found, value = take(where, key)
            if not found:
                continue
            if not isinstance(value, str) or (size is not None and size != value):
                raise InvalidRequestError(
                    path,
                    f"{path} and size disagree" if isinstance(value, str) else "not a string",
                    value=value,
                    allowed='one size, given once as size= ("720P", "1280*720")',
                    model=spec.model,
                )
            size = value
        seconds = request.seconds
        found, value = take(parameters, "duration")
        if found:
            if (
                isinstance(value, bool)
                or not isinstance(value, int)
                or (seconds is not None and seconds != value)
            ):
                raise InvalidRequestError(
                    "metadata.parameters.duration",
                    "metadata.parameters.duration and seconds disagree (or it is not a whole "
                    "number)",
                    value=value,
                    allowed="one duration, given once as seconds=",
                    model=spec.model,
                )
            seconds = value
        for name, where in (("input", inputs), ("parameters", parameters)):
            if where is None:
                continue
            if where:
                metadata[name] = where
            else:
                metadata.pop(name, None)
        return request.model_copy(
            update={
                **updates,
                "params": params,
                "metadata": metadata,
                "size": size,
                "seconds": seconds,
            }
        )

    def check_size(self, request: VideoRequest, spec: ModelSpec, seconds: int) -> str | None:
        """ "W*H" for text-to-video, a tier ("720P") for image and keyframe video."""
        return self._size(request, spec)

    def check_metadata_keys(self, metadata: dict[str, Any], spec: ModelSpec) -> None:
        """Only `input` and `parameters` reach DashScope, each with its own keys."""
        super().check_metadata_keys(metadata, spec)
        for name, keys in (("input", WAN_INPUT_KEYS), ("parameters", WAN_PARAMETER_KEYS)):
            part = metadata.get(name)
            if name in metadata and not isinstance(part, dict):
                raise InvalidRequestError(
                    f"metadata.{name}",
                    f"metadata.{name} must be an object",
                    value=part,
                    allowed=f"an object with keys: {', '.join(sorted(keys))}",
                    model=spec.model,
                )
            for key in part or {}:
                if key not in keys:
                    raise InvalidRequestError(
                        f"metadata.{name}.{key}",
                        f"the gateway does not pass metadata.{name}.{key} to DashScope: it "
                        f"would be dropped silently (model {spec.model!r})",
                        value=key,
                        allowed=sorted(keys),
                        model=spec.model,
                    )

    def check_specific(self, request, spec, *, seconds, size, params, metadata):
        """Audio only on models that make sound; seed 0 and prompt_extend=false refused."""
        model = spec.model
        if not spec.audio:
            for name in ("audio", "audio_url"):
                if name in params:
                    raise InvalidRequestError(
                        f"params.{name}",
                        f"model {model!r} makes silent video and takes no {name}",
                        value=params[name],
                        allowed=[m for m, s in self.specs.items() if s.audio],
                        model=model,
                    )
        if params.get("seed") == 0:
            raise InvalidRequestError(
                "params.seed",
                f"seed 0 cannot be sent for model {model!r}: new-api gateways drop a zero "
                "seed, so DashScope would pick a random one",
                value=0,
                allowed=f"1 to {_SEED_MAX}, or unset for a random seed",
                model=model,
            )
        if params.get("prompt_extend") is False:
            raise InvalidRequestError(
                "params.prompt_extend",
                f"prompt_extend=false cannot be sent for model {model!r}: new-api gateways "
                "drop false, so DashScope's default (true) would apply",
                value=False,
                allowed="true (the default)",
                model=model,
            )
        return None

    def _size(self, request: VideoRequest, spec: ModelSpec) -> str | None:
        """ "W*H" for text-to-video, a tier ("720P") for image and keyframe video."""
        text_to_video = request.mode == "t2v"
        allowed = [s for s in spec.sizes if (s in _TIER_OF_SIZE) == text_to_video]
        if request.size is None:
            return spec.default_size or None
        dims = parse_wxh(request.size)
        star = f"{dims[0]}*{dims[1]}" if dims else None
        if text_to_video:
            notation = '"W*H"; "WxH" is also read'
            return check_size(request.size, star, allowed, model=spec.model, notation=notation)
        tier = _TIER_OF_SIZE.get(star) if star else None
        lines = parse_tier(request.size)
        if tier is None and lines is not None:
            tier = f"{lines}P"
        notation = '"720p", "720" or a WxH size of the tier are also read'
        return check_size(request.size, tier, allowed, model=spec.model, notation=notation)

    def encode(self, request: VideoRequest) -> EncodedRequest:
        """JSON with the nested `metadata.input` / `metadata.parameters` the gateway honours."""
        params = request.params
        text_to_video = request.mode == "t2v"
        body: dict = {
            "model": request.model,
            "prompt": request.prompt,
            "seconds": str(request.seconds),
            "duration": request.seconds,
        }
        if text_to_video and request.size:
            body["size"] = request.size

        inputs: dict = {}
        if request.first_frame is not None and request.last_frame is not None:
            inputs["first_frame_url"] = request.first_frame.as_url()
            inputs["last_frame_url"] = request.last_frame.as_url()
        elif request.first_frame is not None:
            inputs["img_url"] = request.first_frame.as_url()
        for name in ("negative_prompt", "audio_url"):
            if params.get(name) is not None:
                inputs[name] = params[name]

        parameters: dict = {}
        if request.size:
            parameters["size" if text_to_video else "resolution"] = request.size
        parameters["duration"] = request.seconds
        for name in ("prompt_extend", "watermark", "audio", "seed"):
            if params.get(name) is not None:
                parameters[name] = params[name]

        metadata: dict = {"parameters": parameters}
        if inputs:
            metadata = {"input": inputs, **metadata}
        body["metadata"] = deep_merge(metadata, request.metadata)
        return EncodedRequest(json=body)
