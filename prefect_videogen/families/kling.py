"""Kling through a new-api gateway's Kling channel.

What the models accept (Kling API docs, via third-party mirrors):

| model | modes | seconds | size |
|---|---|---|---|
| kling-v1, kling-v1-6, kling-v2-master | t2v, i2v, keyframe | 5, 10 | 16:9, 9:16, 1:1 |
| kling-v2-1-master | t2v, i2v | 5, 10 | 16:9, 9:16, 1:1 |
| kling-v2-5-turbo | t2v, i2v, keyframe | 5, 10 | 16:9, 9:16, 1:1 |
| kling-v2-6 (makes sound) | t2v, i2v | 5, 10 | 16:9, 9:16, 1:1 |
| kling-v3 (makes sound) | t2v, i2v, keyframe | 3 to 15 | 16:9, 9:16, 1:1 |

Sources (read 2026-12-03): the official Kling model enum (`kling-v2-1-master`,
`kling-v2-5-turbo`, `kling-v2-6`, `kling-v3`) as ComfyUI-KLingAI-API PR #22 (2026-08-14)
cites it from app.klingai.com; durations 5/10 s (3-15 s for v3) and audio on v2.6/v3 from
third-party API mirrors (AceDataCloud, ArcReel #835), quoted in live-servers-2026-12.md
sections 2 and 4. new-api's Kling adaptor at 823e26304 (2026-08-08) lists only the three old
names but passes any name through as `model_name`.

What the gateway does with a Kling request (new-api `relay/channel/task/kling/adaptor.go`):
it unmarshals `metadata` into a FIXED struct (image_tail, negative_prompt, cfg_scale,
aspect_ratio, mode, camera_control, static_mask, dynamic_masks, callback_url,
external_task_id, duration, prompt, image, model_name). Any other metadata key (`sound`,
`image_list`, `multi_shot`, ...) would be dropped silently, so it is refused here, and the
audio of v2.6/v3 cannot be asked for through the gateway (`params.sound` is refused with
that reason). The gateway also sends `cfg_scale: 0.5` in every payload, also to v2 models,
which take none; only kling-v1 models may set `params.cfg_scale`.

Kling takes an aspect ratio, not a resolution. `size` may be the ratio itself ("16:9") or a
"WxH" / "W*H" size whose ratio is within 2 % of one of the three (1280x720 and 1920x1080 are
16:9, 720x1280 and 1080x1920 are 9:16, 1024x1024 and 512x512 are 1:1); the request keeps
the ratio. Any other size is refused: the gateway would silently make it 1:1.

Images: the first frame goes in the `image` field and the last frame in
`metadata.image_tail`, each as an http(s) URL or BARE base64 (no `data:` prefix). Image
bytes, when here, must be JPEG/PNG, at most 10 MB, sides at least 300 px, aspect ratio
between 1:2.5 and 2.5:1.

Encoding: JSON with `duration` (int) and `seconds` (string), a representative `size` of the
ratio, and the Kling fields in `metadata`, merged by the gateway over its Kling payload;
`metadata.duration` must be a string there ("5") or the gateway fails to read it.
"""

from __future__ import annotations

from typing import ClassVar, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from prefect_videogen.exceptions import InvalidRequestError
from prefect_videogen.families.base import (
    EncodedRequest,
    ImageRules,
    ModelSpec,
    ProviderFamily,
    VideoRequest,
    take_metadata_images,
)
from prefect_videogen.families.checks import ALL_MODES, check_ratio_size, deep_merge
from prefect_videogen.images import ImageInput
from prefect_videogen.models import VideoStatus

__all__ = ["KlingCameraConfig", "KlingCameraControl", "KlingFamily", "KlingParams"]

_RATIOS = ("16:9", "9:16", "1:1")
#: The size sent for each ratio (the gateway maps it back to the same ratio).
_SIZE_OF_RATIO = {"16:9": "1280x720", "9:16": "720x1280", "1:1": "1024x1024"}
_IMAGE_TYPES = ("image/jpeg", "image/png")


class KlingCameraConfig(BaseModel):
    """One camera move for `type="simple"`: exactly one of the six values is non-zero."""

    model_config = ConfigDict(extra="forbid")

    horizontal: float = Field(default=0, ge=-10, le=10, description="Move along x (-10..10).")
    vertical: float = Field(default=0, ge=-10, le=10, description="Move along y (-10..10).")
    pan: float = Field(default=0, ge=-10, le=10, description="Rotate around y (-10..10).")
    tilt: float = Field(default=0, ge=-10, le=10, description="Rotate around x (-10..10).")
    roll: float = Field(default=0, ge=-10, le=10, description="Rotate around z (-10..10).")
    zoom: float = Field(default=0, ge=-10, le=10, description="Zoom in or out (-10..10).")


class KlingCameraControl(BaseModel):
    """Kling camera movement: a preset `type`, or `simple` with one move in `config`.

    Example:
        ```python
        from prefect_videogen.families.kling import KlingCameraControl

        KlingCameraControl(type="simple", config={"zoom": 5})
        KlingCameraControl(type="forward_up")
        ```
    """

    model_config = ConfigDict(extra="forbid")

    type: Literal[
        "simple", "down_back", "forward_up", "right_turn_forward", "left_turn_forward"
    ] = Field(description="The camera movement; `simple` takes its move from `config`.")
    config: KlingCameraConfig | None = Field(
        default=None, description="The move for `type=simple` (exactly one value non-zero)."
    )

    @model_validator(mode="after")
    def _config_matches_type(self) -> KlingCameraControl:
        if self.type == "simple":
            moves = self.config.model_dump() if self.config else {}
            if sum(1 for v in moves.values() if v) != 1:
                raise ValueError(
                    "type 'simple' needs a config with exactly one non-zero value among "
                    "horizontal, vertical, pan, tilt, roll, zoom"
                )
        elif self.config is not None:
            raise ValueError(f"type {self.type!r} takes no config (only 'simple' does)")
        return self


class KlingParams(BaseModel):
    """Extra parameters of the Kling models.

    Example:
        ```python
        from prefect_videogen.families.kling import KlingParams

        params = KlingParams(mode="pro", negative_prompt="blur", cfg_scale=0.7)
        assert params.model_dump(exclude_none=True) == {
            "mode": "pro", "negative_prompt": "blur", "cfg_scale": 0.7
        }
        ```
    """

    model_config = ConfigDict(extra="forbid")

    mode: Literal["std", "pro"] = Field(
        default="std", description="std (faster, cheaper) or pro (higher quality)."
    )
    negative_prompt: str | None = Field(
        default=None, max_length=2500, description="What the video should not show."
    )
    cfg_scale: float | None = Field(
        default=None,
        ge=0,
        le=1,
        description="How closely to follow the prompt, 0..1 (kling-v1 models only).",
    )
    camera_control: KlingCameraControl | None = Field(
        default=None, description="Camera movement; not with a last_frame."
    )
    callback_url: str | None = Field(
        default=None, pattern=r"^https?://", description="URL Kling calls when the task ends."
    )
    external_task_id: str | None = Field(
        default=None, description="Your own id for the task, unique per account."
    )
    sound: Literal["on", "off"] | None = Field(
        default=None,
        description=(
            "Kling's native audio switch (v2.6, v3). new-api's Kling adaptor has no field for "
            "it, so it is refused: the gateway would drop it silently."
        ),
    )


def _spec(
    model: str,
    modes: frozenset[str] = ALL_MODES,
    seconds: tuple[int, ...] = (5, 10),
    audio: bool = False,
) -> ModelSpec:
    return ModelSpec(
        model=model,
        modes=modes,
        seconds=seconds,
        sizes=_RATIOS,
        default_seconds=5,
        default_size="16:9",
        image_transport="base64",
        audio=audio,
    )


_NO_KEYFRAME = frozenset({"t2v", "i2v"})
#: The keys of new-api's Kling payload struct: the only metadata keys that reach Kling.
KLING_METADATA_KEYS = frozenset(
    {"image_tail", "negative_prompt", "cfg_scale", "aspect_ratio", "mode", "camera_control"}
    | {"static_mask", "dynamic_masks", "callback_url", "external_task_id", "duration"}
    | {"prompt", "image", "model_name"}
)


def _wire_image(image: ImageInput) -> str:
    """An http(s) URL as is, else bare base64 (Kling refuses a data: prefix)."""
    if image.data is None and image.url and image.url.startswith(("http://", "https://")):
        return image.url
    return image.as_base64()


class KlingFamily(ProviderFamily):
    """Kling video models (`kling-v1`, `kling-v1-6`, `kling-v2-master`, newer `kling-*`).

    Example:
        ```python
        from prefect_videogen.families import VideoRequest
        from prefect_videogen.families.kling import KlingFamily

        family = KlingFamily()
        request = family.validate(VideoRequest(model="kling-v1", prompt="a kite", size="1920x1080"))
        assert request.size == "16:9"
        body = family.encode(request).json
        assert body["metadata"]["aspect_ratio"] == "16:9" and body["metadata"]["duration"] == "5"
        ```
    """

    name = "kling"
    prefixes = ("kling",)
    specs: ClassVar[dict[str, ModelSpec]] = {
        **{model: _spec(model) for model in ("kling-v1", "kling-v1-6", "kling-v2-master")},
        "kling-v2-1-master": _spec("kling-v2-1-master", _NO_KEYFRAME),
        "kling-v2-5-turbo": _spec("kling-v2-5-turbo"),
        "kling-v2-6": _spec("kling-v2-6", _NO_KEYFRAME, audio=True),
        "kling-v3": _spec("kling-v3", seconds=tuple(range(3, 16)), audio=True),
    }
    lenient = ModelSpec(
        model="kling",
        modes=ALL_MODES,
        seconds=(),
        sizes=_RATIOS,
        default_seconds=5,
        default_size="16:9",
        image_transport="base64",
    )
    max_prompt = 2500
    params_model = KlingParams
    # Kling's own words, as the legacy gateway route passes them through.
    status_words: ClassVar[dict[str, VideoStatus]] = {
        "submitted": VideoStatus.QUEUED,
        "processing": VideoStatus.IN_PROGRESS,
        "succeed": VideoStatus.COMPLETED,
        "failed": VideoStatus.FAILED,
    }

    image_rules = ImageRules(media_types=_IMAGE_TYPES, min_side=300, max_ratio=2.5)
    metadata_keys = KLING_METADATA_KEYS
    metadata_hint = "as a typed param, or not at all: the gateway's Kling payload is a fixed struct"

    def normalize(self, request: VideoRequest, spec: ModelSpec) -> VideoRequest:
        """metadata.image / metadata.image_tail (the gateway's spelling) are the frames."""
        metadata = dict(request.metadata)
        keys = {"image": "first_frame", "image_tail": "last_frame"}
        updates = take_metadata_images(request, metadata, keys, model=spec.model)
        if not updates:
            return request
        return request.model_copy(update={**updates, "metadata": metadata})

    def check_size(self, request: VideoRequest, spec: ModelSpec, seconds: int) -> str:
        """The aspect ratio ("16:9"), from a ratio or a WxH size; 16:9 if unset."""
        return check_ratio_size(
            request.size, spec, _RATIOS, examples="1280x720, 720x1280, 1024x1024"
        )

    def check_specific(self, request, spec, *, seconds, size, params, metadata):
        """cfg_scale only on v1, camera_control without last_frame, sound refused."""
        model = spec.model
        if "sound" in params:
            reason = (
                "new-api's Kling adaptor has no sound field, so the gateway would drop it "
                "and the video would come without the sound asked for"
                if spec.audio or not self.is_known(model)
                else f"model {model!r} makes silent video"
            )
            raise InvalidRequestError(
                "params.sound",
                f"sound cannot be asked for model {model!r}: {reason}",
                value=params["sound"],
                allowed="leave it unset",
                model=model,
            )
        if "cfg_scale" in params and model.startswith("kling-v2"):
            raise InvalidRequestError(
                "params.cfg_scale",
                f"model {model!r} takes no cfg_scale",
                value=params["cfg_scale"],
                allowed="only kling-v1 and kling-v1-6 take cfg_scale",
                model=model,
            )
        if "camera_control" in params and request.last_frame is not None:
            raise InvalidRequestError(
                "params.camera_control",
                f"model {model!r} takes camera_control or a last_frame, not both",
                value=params["camera_control"],
                allowed="camera_control without last_frame",
                model=model,
            )
        duration = metadata.get("duration")
        if duration is not None and not isinstance(duration, str):
            raise InvalidRequestError(
                "metadata.duration",
                f"the gateway reads metadata.duration for model {model!r} only as a string",
                value=duration,
                allowed='a string such as "5" (or leave it out: seconds sets it)',
                model=model,
            )
        return None

    def encode(self, request: VideoRequest) -> EncodedRequest:
        """JSON: `image` and `metadata.image_tail` as URL or bare base64, the rest in metadata."""
        ratio = str(request.size)
        body: dict = {
            "model": request.model,
            "prompt": request.prompt,
            "duration": request.seconds,
            "seconds": str(request.seconds),
            "size": _SIZE_OF_RATIO[ratio],
        }
        if request.first_frame is not None:
            body["image"] = _wire_image(request.first_frame)
        metadata: dict = {
            "aspect_ratio": ratio,
            "duration": str(request.seconds),
            **request.params,
        }
        if request.last_frame is not None:
            metadata["image_tail"] = _wire_image(request.last_frame)
        body["metadata"] = deep_merge(metadata, request.metadata)
        return EncodedRequest(json=body)
