"""Entrypoint of the `generate-video-batch/nightly` deployment (deployments/prefect.yaml).

The flow itself is `prefect_videogen.flows.generate_batch`; import it from there. Run this
file to generate a manifest's videos now, parameters given as `name=value`:

    uv run python flows/generate_batch.py manifest=deployments/manifests/nightly.jsonl \\
        credentials=videogen storage=local-file-system/videogen-videos \\
        concurrency_limit=videogen-gateway max_concurrency=2
"""

import asyncio
import sys

from prefect_videogen.cli import flow_parameters
from prefect_videogen.flows import generate_batch

__all__ = ["generate_batch"]


if __name__ == "__main__":
    videos = asyncio.run(generate_batch(**flow_parameters(sys.argv[1:])))
    for video in videos:
        print(video.uri if video is not None else "failed")
