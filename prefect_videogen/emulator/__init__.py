"""A local server that behaves like the OpenAI video API and new-api gateways, rendering real MP4s.

It lets the demo, the tests and users' own flows run offline. Three wire dialects are
chosen at start: `openai` (the official API), `gateway` (new-api as its code behaves) and
`seed` (the seed document's shape). Jobs progress over `latency` seconds; results are
H.264 MP4s of the requested size and duration, with WEBP thumbnails and JPEG spritesheets.
Faults (429, 5xx, dropped connections, slow answers, failed generations, expired content)
can be injected reproducibly, and `GET /emulator/stats` counts submissions, polls and
downloads so tests can prove nothing was submitted twice.

Example:
    ```python
    from openai import OpenAI
    from prefect_videogen.emulator import get_stats, run_emulator

    with run_emulator(latency=0.5, fps=4) as base_url:
        client = OpenAI(base_url=base_url, api_key="sk-emulator")
        video = client.videos.create_and_poll(prompt="a red fox in snow", size="1280x720")
        client.videos.download_content(video.id).write_to_file("fox.mp4")
        assert get_stats(base_url)["submissions"] == 1
    ```

Command line: `prefect-videogen emulator --port 8000 --dialect gateway --latency 5`.
"""

from prefect_videogen._extras import require_extra

require_extra("emulator", "The prefect-videogen emulator")

from prefect_videogen.emulator.app import create_app
from prefect_videogen.emulator.config import EmulatorConfig, EndpointFaults, FaultConfig
from prefect_videogen.emulator.server import get_stats, reset, run_emulator, serve, set_faults

__all__ = [
    "EmulatorConfig",
    "EndpointFaults",
    "FaultConfig",
    "create_app",
    "get_stats",
    "reset",
    "run_emulator",
    "serve",
    "set_faults",
]
