"""MiniMax Hailuo through a new-api gateway's MiniMax channel.

What the models accept:

| model | modes | seconds | resolution (default) |
|---|---|---|---|
| MiniMax-Hailuo-2.3 | t2v, i2v | 6, 10 | 768P, 1080P (768P); 1080P only with 6 s |
| MiniMax-Hailuo-2.3-Fast | i2v | 6, 10 | 768P, 1080P (768P); 1080P only with 6 s |
| MiniMax-Hailuo-02 | t2v, i2v, keyframe | 6, 10 | 512P (images only), 768P, 1080P (768P); as 2.3 |
| T2V-01, T2V-01-Director | t2v | 6 | 720P |
| I2V-01, I2V-01-Director, I2V-01-live | i2v | 6 | 720P |
| S2V-01 | t2v with `params.subject_reference` (a face image) | 6 | 720P |

Default duration 6 s. `size` is a resolution tier: "768P" ("768p", "768" and a WxH whose
short side is the tier are also read).

Sources (read 2026-12-03): the model list and per-model durations/resolutions are new-api's
`relay/channel/task/hailuo/constants.go` and `models.go` at 823e26304 (2026-08-08; the gateway
lists them but does not enforce them); "1080P only with 6 s" and "512P only for i2v (02)" are
third-party mirrors of MiniMax's docs (toapis, myrouter, yutoai, replicate hailuo-2.3) as the
team's notes quote them (gateway-behaviour.md section 7). MiniMax's own pages were not read.

What the gateway reads (new-api `hailuo/adaptor.go`): the payload is model, prompt, duration,
resolution, plus `metadata`. Images given as `image`, `images[]` or `input_reference` are
NOT read (the job would silently become text-to-video): images travel ONLY as
`metadata.first_frame_image` / `metadata.last_frame_image` (an http(s) URL or a
`data:image/...;base64,` URL), which this family writes from `first_frame` / `last_frame`.
A caller's `metadata.first_frame_image` / `last_frame_image` are read as those images (one
request, two spellings, one fingerprint). Metadata keys outside the adaptor's list are
refused: they would be dropped silently.
"""

from __future__ import annotations

from typing import Any, ClassVar

from pydantic import BaseModel, ConfigDict, Field

from prefect_videogen.exceptions import InvalidRequestError
from prefect_videogen.families.base import (
    EncodedRequest,
    ImageRules,
    ModelSpec,
    ProviderFamily,
    VideoRequest,
    take_metadata_images,
)
from prefect_videogen.families.checks import ALL_MODES, check_size, deep_merge
from prefect_videogen.families.sizes import parse_size
from prefect_videogen.models import VideoStatus

__all__ = ["HAILUO_METADATA_KEYS", "HailuoFamily", "HailuoParams"]

_IMAGE_TYPES = ("image/jpeg", "image/png", "image/webp")
_TIERS = ("512P", "720P", "768P", "1080P")

#: Metadata keys new-api's Hailuo adaptor reads.
HAILUO_METADATA_KEYS = frozenset(
    {"first_frame_image", "last_frame_image", "subject_reference", "prompt_optimizer"}
    | {"fast_pretreatment", "aigc_watermark", "callback_url", "resolution", "duration"}
)
_IMAGE_KEYS = {"first_frame_image": "first_frame", "last_frame_image": "last_frame"}


class HailuoParams(BaseModel):
    """Extra parameters of the Hailuo models (sent in `metadata`).

    Example:
        ```python
        from prefect_videogen.families.hailuo import HailuoParams

        assert HailuoParams(prompt_optimizer=False).model_dump(exclude_none=True) == {
            "prompt_optimizer": False
        }
        ```
    """

    model_config = ConfigDict(extra="forbid")

    prompt_optimizer: bool | None = Field(
        default=None, description="Let MiniMax rewrite the prompt (its default: true)."
    )
    fast_pretreatment: bool | None = Field(
        default=None, description="Shorter prompt optimization (2.3 and 02 models)."
    )
    aigc_watermark: bool | None = Field(default=None, description="Add the AIGC watermark.")
    callback_url: str | None = Field(
        default=None, pattern=r"^https?://", description="URL MiniMax calls on status changes."
    )
    subject_reference: list[str] | None = Field(
        default=None,
        min_length=1,
        max_length=1,
        description="S2V-01 only: one face image URL (http(s) or data:) to keep in the video.",
    )


def _spec(
    model: str, modes: set[str], seconds: tuple[int, ...], tiers: tuple[str, ...], default: str
) -> ModelSpec:
    return ModelSpec(
        model=model,
        modes=frozenset(modes),
        seconds=seconds,
        sizes=tiers,
        default_seconds=6,
        default_size=default,
        image_transport="metadata",
        max_image_bytes=20 * 1024 * 1024,
    )


class HailuoFamily(ProviderFamily):
    """MiniMax Hailuo video models (`MiniMax-Hailuo-*`, the `*-01` series).

    Example:
        ```python
        from prefect_videogen.families import VideoRequest
        from prefect_videogen.families.hailuo import HailuoFamily

        family = HailuoFamily()
        request = family.validate(
            VideoRequest(
                model="MiniMax-Hailuo-2.3",
                prompt="the cat yawns",
                first_frame=ImageInput.from_url("https://example.com/cat.png"),
            )
        )
        body = family.encode(request).json
        assert body["metadata"]["first_frame_image"] == "https://example.com/cat.png"
        assert (body["duration"], body["metadata"]["resolution"]) == (6, "768P")
        ```
    """

    name = "hailuo"
    prefixes = ("minimax-hailuo", "t2v-01", "i2v-01", "s2v-01")
    specs: ClassVar[dict[str, ModelSpec]] = {
        "MiniMax-Hailuo-2.3": _spec(
            "MiniMax-Hailuo-2.3", {"t2v", "i2v"}, (6, 10), ("768P", "1080P"), "768P"
        ),
        "MiniMax-Hailuo-2.3-Fast": _spec(
            "MiniMax-Hailuo-2.3-Fast", {"i2v"}, (6, 10), ("768P", "1080P"), "768P"
        ),
        "MiniMax-Hailuo-02": _spec(
            "MiniMax-Hailuo-02", set(ALL_MODES), (6, 10), ("512P", "768P", "1080P"), "768P"
        ),
        **{
            model: _spec(model, {"t2v"}, (6,), ("720P",), "720P")
            for model in ("T2V-01", "T2V-01-Director", "S2V-01")
        },
        **{
            model: _spec(model, {"i2v"}, (6,), ("720P",), "720P")
            for model in ("I2V-01", "I2V-01-Director", "I2V-01-live")
        },
    }
    lenient = _spec("minimax", set(ALL_MODES), (), _TIERS, "768P")
    max_prompt = 2000
    params_model = HailuoParams
    image_rules = ImageRules(media_types=_IMAGE_TYPES, min_side=300, max_ratio=2.5)
    metadata_keys = HAILUO_METADATA_KEYS
    metadata_hint = "as a typed param (prompt_optimizer, fast_pretreatment, aigc_watermark, ...)"
    # MiniMax's own words, as the legacy gateway route passes them through.
    status_words: ClassVar[dict[str, VideoStatus]] = {
        "preparing": VideoStatus.QUEUED,
        "queueing": VideoStatus.QUEUED,
        "processing": VideoStatus.IN_PROGRESS,
        "success": VideoStatus.COMPLETED,
        "fail": VideoStatus.FAILED,
    }

    def normalize(self, request: VideoRequest, spec: ModelSpec) -> VideoRequest:
        """metadata.first_frame_image / last_frame_image / resolution / duration as fields."""
        metadata = dict(request.metadata)
        updates: dict[str, Any] = take_metadata_images(
            request, metadata, _IMAGE_KEYS, model=spec.model
        )
        for key, field in (("resolution", "size"), ("duration", "seconds")):
            if key not in metadata:
                continue
            value = metadata.pop(key)
            current = getattr(request, field)
            if current is not None and str(current).upper() != str(value).upper():
                raise InvalidRequestError(
                    f"metadata.{key}",
                    f"metadata.{key} and {field} disagree",
                    value=value,
                    allowed=f"one value, given once as {field}=",
                    model=spec.model,
                )
            if field == "seconds" and (isinstance(value, bool) or not isinstance(value, int)):
                raise InvalidRequestError(
                    "metadata.duration", value=value, allowed="a whole number", model=spec.model
                )
            updates[field] = current if current is not None else value
        if not updates:
            return request
        return request.model_copy(update={**updates, "metadata": metadata})

    def check_size(self, request: VideoRequest, spec: ModelSpec, seconds: int) -> str:
        """A tier ("768P"); 1080P only with 6 s, 512P only with images."""
        allowed = list(spec.sizes)
        notes = []
        if self.is_known(spec.model) and seconds != 6 and "1080P" in allowed:
            allowed.remove("1080P")
            notes.append("1080P only with 6 s")
        if request.mode == "t2v" and "512P" in allowed:
            allowed.remove("512P")
            notes.append("512P only with images")
        if request.size is None:
            return spec.default_size
        size = parse_size(request.size)
        lines = size.lines if size is not None else None
        notation = '"768p", "768" or a WxH whose short side is the tier are also read'
        if notes:
            notation += "; " + ", ".join(notes)
        return check_size(
            request.size,
            f"{lines}P" if lines else None,
            allowed,
            model=spec.model,
            notation=notation,
        )

    def check_specific(self, request, spec, *, seconds, size, params, metadata):
        """S2V-01 needs a subject_reference; only S2V-01 takes one."""
        is_s2v = spec.model.lower().startswith("s2v-01")
        if is_s2v and not params.get("subject_reference"):
            raise InvalidRequestError(
                "params.subject_reference",
                f"model {spec.model!r} needs a face image to keep in the video",
                allowed='params={"subject_reference": ["https://.../face.png"]}',
                model=spec.model,
            )
        if not is_s2v and params.get("subject_reference"):
            raise InvalidRequestError(
                "params.subject_reference",
                f"model {spec.model!r} takes no subject_reference",
                value=params["subject_reference"],
                allowed=["S2V-01"],
                model=spec.model,
            )
        return None

    def encode(self, request: VideoRequest) -> EncodedRequest:
        """JSON; resolution, duration and the images in metadata, the only place read."""
        params = dict(request.params)
        metadata: dict[str, Any] = {"resolution": request.size, "duration": request.seconds}
        if request.first_frame is not None:
            metadata["first_frame_image"] = request.first_frame.as_url()
        if request.last_frame is not None:
            metadata["last_frame_image"] = request.last_frame.as_url()
        subjects = params.pop("subject_reference", None)
        if subjects:
            metadata["subject_reference"] = [{"type": "character", "image": subjects}]
        metadata.update(params)
        body = {
            "model": request.model,
            "prompt": request.prompt,
            "seconds": str(request.seconds),
            "duration": request.seconds,
            "size": request.size,
            "metadata": deep_merge(metadata, request.metadata),
        }
        return EncodedRequest(json=body)
