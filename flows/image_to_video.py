"""Entrypoint of the `image-to-video/on-image-uploaded` deployment (deployments/prefect.yaml).

The flow itself is `prefect_videogen.flows.image_to_video`; import it from there. Run this
file to animate one image now, parameters given as `name=value`:

    uv run python flows/image_to_video.py prompt="the cat turns its head" image=cat_1280x720.png \\
        credentials=videogen storage=local-file-system/videogen-videos seconds=4 size=1280x720
"""

import json
import sys

from prefect_videogen.flows import image_to_video

__all__ = ["image_to_video"]


def _parameters(args: list[str]) -> dict[str, object]:
    """`name=value` arguments as flow parameters (values starting with { or [ are JSON)."""
    parameters: dict[str, object] = {}
    for arg in args:
        name, sep, value = arg.partition("=")
        if not sep:
            raise SystemExit(f"expected name=value, got {arg!r}")
        parameters[name] = json.loads(value) if value[:1] in "{[" else value
    return parameters


if __name__ == "__main__":
    video = image_to_video(**_parameters(sys.argv[1:]))
    print(video.model_dump_json(indent=2))
