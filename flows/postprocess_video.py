"""Entrypoint of the `postprocess-video/on-video-completed` deployment (deployments/prefect.yaml).

The flow itself is `prefect_videogen.postprocess.postprocess_video`; import it from there.
Run this file to write the poster frame of one stored video now:

    uv run python flows/postprocess_video.py location=videos/sora-2/2026-01-01/video_1.mp4
"""

import json
import sys

from prefect_videogen.postprocess import postprocess_video

__all__ = ["postprocess_video"]


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
    print(postprocess_video(**_parameters(sys.argv[1:])))
