"""Entrypoint of the `generate-video-batch/nightly` deployment (deployments/prefect.yaml).

The flow itself is `prefect_videogen.flows.generate_batch`; import it from there. Run this
file to generate a manifest's videos now, parameters given as `name=value`:

    uv run python flows/generate_batch.py manifest=deployments/manifests/nightly.jsonl \\
        credentials=videogen storage=local-file-system/videogen-videos \\
        concurrency_limit=videogen-sora max_concurrency=2
"""

import asyncio
import json
import sys

from prefect_videogen.flows import generate_batch

__all__ = ["generate_batch"]


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
    videos = asyncio.run(generate_batch(**_parameters(sys.argv[1:])))
    for video in videos:
        print(video.uri if video is not None else "failed")
