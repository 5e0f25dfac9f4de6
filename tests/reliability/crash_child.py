"""Child process of the crash tests: run one flow once and print the stored record.

Usage: `python crash_child.py <base_url> <storage_dir> <prompt> [text_to_video|generate_batch]`.
`generate_batch` runs a batch of that one video (its `generate-video-async` task path).
`python crash_child.py <base_url> <storage_dir> <prompt> batch <count> <max_concurrency>` runs
one batch of `count` distinct videos (`<prompt> #<i>`) and prints the list of records.
Prefect settings come from the environment the test gives (API URL of the test server,
result storage and home directories shared between the crashed run and its rerun). The
last line printed is the `StoredVideo` as JSON.
"""

from __future__ import annotations

import asyncio
import json
import sys

from prefect_videogen.credentials import VideoGenCredentials
from prefect_videogen.flows import generate_batch, text_to_video

MODEL = "emu-video"
SIZE = "64x64"
SECONDS = 2


def main(
    base_url: str, storage: str, prompt: str, flow: str = "text_to_video", *options: str
) -> None:
    credentials = VideoGenCredentials(base_url=base_url, api_key="sk-emulator")
    print(f"child: running {flow}", flush=True)
    if flow == "batch":
        count, concurrency = (int(option) for option in options)
        videos = asyncio.run(
            generate_batch(
                requests=[
                    {"prompt": f"{prompt} #{i}", "seconds": 1, "size": "32x32"}
                    for i in range(count)
                ],
                model=MODEL,
                credentials=credentials,
                storage=storage,
                max_concurrency=concurrency,
                timeout=120,
            )
        )
        print(json.dumps([video.model_dump(mode="json") for video in videos]), flush=True)
        return
    if flow == "generate_batch":
        (stored,) = asyncio.run(
            generate_batch(
                requests=[{"prompt": prompt, "seconds": SECONDS, "size": SIZE}],
                model=MODEL,
                credentials=credentials,
                storage=storage,
                timeout=120,
            )
        )
        print(stored.model_dump_json(), flush=True)
        return
    stored = text_to_video(
        prompt,
        model=MODEL,
        seconds=SECONDS,
        size=SIZE,
        credentials=credentials,
        storage=storage,
        timeout=120,
    )
    print(stored.model_dump_json(), flush=True)


if __name__ == "__main__":
    main(*sys.argv[1:])
