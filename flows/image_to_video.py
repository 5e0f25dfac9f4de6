"""Entrypoint of the `image-to-video/on-image-uploaded` deployment (deployments/prefect.yaml).

The flow itself is `prefect_videogen.flows.image_to_video`; import it from there. Run this
file to animate one image now, parameters given as `name=value`:

    uv run python flows/image_to_video.py prompt="the cat turns its head" image=cat_1280x720.png \\
        credentials=videogen storage=local-file-system/videogen-videos seconds=4 size=1280x720
"""

import sys

from prefect_videogen.cli import flow_parameters
from prefect_videogen.flows import image_to_video

__all__ = ["image_to_video"]


if __name__ == "__main__":
    video = image_to_video(**flow_parameters(sys.argv[1:]))
    print(video.model_dump_json(indent=2))
