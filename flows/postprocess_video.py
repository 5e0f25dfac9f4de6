"""Entrypoint of the `postprocess-video/on-video-completed` deployment (deployments/prefect.yaml).

The flow itself is `prefect_videogen.postprocess.postprocess_video`; import it from there.
Run this file to write the poster frame of one stored video now:

    uv run python flows/postprocess_video.py location=videos/veo-3.1-fast/2026-01-01/video_1.mp4
"""

import sys

from prefect_videogen.cli import flow_parameters
from prefect_videogen.postprocess import postprocess_video

__all__ = ["postprocess_video"]


if __name__ == "__main__":
    print(postprocess_video(**flow_parameters(sys.argv[1:])))
