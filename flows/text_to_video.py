"""Entrypoint of the `text-to-video/on-demand` deployment (deployments/prefect.yaml).

The flow itself is `prefect_videogen.flows.text_to_video`; import it from there. Run this
file to generate one video now, parameters given as `name=value`:

    uv run python flows/text_to_video.py prompt="a red fox in fresh snow" \\
        credentials=videogen storage=local-file-system/videogen-videos seconds=4 size=1280x720
"""

import sys

from prefect_videogen.cli import flow_parameters
from prefect_videogen.flows import text_to_video

__all__ = ["text_to_video"]


if __name__ == "__main__":
    video = text_to_video(**flow_parameters(sys.argv[1:]))
    print(video.model_dump_json(indent=2))
