"""Model families: what each video model accepts and how its requests and answers look.

Use `family_for_model(model)` to get the family serving a model; unknown models get the
generic family, which validates only what every model needs.

Example:
    ```python
    from prefect_videogen.families import VideoRequest, family_for_model

    request = VideoRequest(model="sora-2", prompt="a red fox in snow", seconds=4, size="1280x720")
    family = family_for_model(request.model)
    body = family.encode(family.validate(request))
    ```
"""

from prefect_videogen.families.base import (
    EncodedRequest,
    ModelFamily,
    ModelSpec,
    VideoRequest,
)

__all__ = ["EncodedRequest", "ModelFamily", "ModelSpec", "VideoRequest", "family_for_model"]
