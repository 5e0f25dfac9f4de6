"""Model families: what each video model accepts and how its requests and answers look.

Use `family_for_model(model)` to get the family serving a model. The rule, in order:

1. an exact known name (or dated alias, e.g. "sora-2-2025-10-06") gets its family and that
   model's strict spec;
2. a name starting with a family's prefix ("sora", "wan" (also "wanx"), "kling", "jimeng",
   "vidu", "doubao-seedance", "minimax-hailuo" and the "*-01" series, "veo-") gets that
   family: its typed params and its encoding (which is what the gateway's adaptor for that
   provider expects), with a lenient spec, since the model's own limits
   are not known here (any mode the encoding can carry, any duration from 1 to 3600 s, any
   size the family's notation can express);
3. anything else gets the generic family, which validates only what every model needs and
   never rejects a model name.

Bad input is an `InvalidRequestError` naming the field, before any network call: unknown
`VideoRequest` fields, a `seconds` that is not a whole number, non-string keys, NUL bytes and
lone surrogates in any text, and `metadata` over its cap (16 KiB of JSON for the provider
families, `base.MAX_METADATA_BYTES`; 64 KiB for the generic family).

Example:
    ```python
    from prefect_videogen.families import VideoRequest, family_for_model

    request = VideoRequest(model="sora-2", prompt="a red fox in snow", seconds=4, size="1280x720")
    family = family_for_model(request.model)
    body = family.encode(family.validate(request))
    ```
"""

from __future__ import annotations

from prefect_videogen.families.base import (
    EncodedRequest,
    ImageRules,
    ModelFamily,
    ModelSpec,
    ProviderFamily,
    VideoRequest,
)
from prefect_videogen.families.generic import GenericFamily
from prefect_videogen.families.hailuo import HailuoFamily
from prefect_videogen.families.jimeng import JimengFamily
from prefect_videogen.families.kling import KlingFamily
from prefect_videogen.families.seedance import SeedanceFamily
from prefect_videogen.families.sora import SoraFamily
from prefect_videogen.families.veo import VeoFamily
from prefect_videogen.families.vidu import ViduFamily
from prefect_videogen.families.wan import WanFamily

__all__ = [
    "FAMILIES",
    "EncodedRequest",
    "GenericFamily",
    "HailuoFamily",
    "ImageRules",
    "JimengFamily",
    "KlingFamily",
    "ModelFamily",
    "ModelSpec",
    "ProviderFamily",
    "SeedanceFamily",
    "SoraFamily",
    "VeoFamily",
    "VideoRequest",
    "ViduFamily",
    "WanFamily",
    "all_models",
    "family_for_model",
]

#: Every family by name; "generic" is the fallback and comes last.
FAMILIES: dict[str, ModelFamily] = {
    family.name: family
    for family in (
        SoraFamily(),
        WanFamily(),
        KlingFamily(),
        JimengFamily(),
        ViduFamily(),
        SeedanceFamily(),
        HailuoFamily(),
        VeoFamily(),
        GenericFamily(),
    )
}


def family_for_model(model: str) -> ModelFamily:
    """The family serving `model`: exact names first, then name prefixes, else generic.

    Example:
        ```python
        from prefect_videogen.families import family_for_model

        assert family_for_model("wan2.2-i2v-flash").name == "wan"
        assert family_for_model("kling-v4").name == "kling"  # prefix: lenient spec
        assert family_for_model("veo-3.0-generate-001").name == "veo"
        assert family_for_model("emu-video").name == "generic"
        ```
    """
    for family in FAMILIES.values():
        if model in family.specs:
            return family
    for family in FAMILIES.values():
        if family.name != "generic" and family.matches(model):
            return family
    return FAMILIES["generic"]


def all_models() -> list[str]:
    """Every model name with its own spec, family by family (dated aliases included)."""
    return [model for family in FAMILIES.values() for model in family.specs]
