"""Entrypoint of the `keyframe-to-video/on-demand` deployment (deployments/prefect.yaml).

The flow itself is `prefect_videogen.flows.keyframe_to_video`; import it from there. Run this
file to generate one video between two frames now, parameters given as `name=value`:

    uv run python flows/keyframe_to_video.py prompt="the flower opens" \\
        first_frame=bud.png last_frame=bloom.png model=wan2.2-kf2v-flash \\
        credentials=videogen storage=local-file-system/videogen-videos
"""

import sys

from prefect_videogen.cli import flow_parameters
from prefect_videogen.flows import keyframe_to_video

__all__ = ["keyframe_to_video"]


if __name__ == "__main__":
    video = keyframe_to_video(**flow_parameters(sys.argv[1:]))
    print(video.model_dump_json(indent=2))
