"""A parent flow that calls the `text-to-video/on-demand` deployment once per scene.

This is an example of triggering our deployments from your own flows with
`run_deployment`: each scene becomes a child flow run of the storyboard (`as_subflow=True`),
runs on whatever work pool the deployment uses (a process worker here, Kubernetes or ECS
elsewhere), and the storyboard waits for all of them. Each child is started with an
idempotency key made of the storyboard's flow run id and the scene's index, so a retried
storyboard picks up the same child runs instead of paying for the videos again.

Run it with a worker serving the `videogen-process` pool:

    uv run python flows/storyboard.py "a lighthouse at dusk" "waves crash on the rocks"

It prints one JSON line per scene: the child flow run's name, state and stored video. The
stored video is the child's persisted result; reading it from another machine needs a
shared result storage (`PREFECT_RESULTS_DEFAULT_STORAGE_BLOCK`, e.g. an S3 bucket).
"""

import asyncio
import json
import sys
from typing import Any

from prefect import flow, get_run_logger
from prefect.deployments import arun_deployment
from prefect.flow_runs import wait_for_flow_run
from prefect.runtime import flow_run

__all__ = ["storyboard"]


@flow(name="storyboard")
async def storyboard(
    scenes: list[str],
    deployment: str = "text-to-video/on-demand",
    seconds: int = 4,
    size: str = "1280x720",
    timeout: int = 1800,
) -> list[dict[str, Any]]:
    """Generate one video per scene through the text-to-video deployment, concurrently.

    Args:
        scenes: One prompt per scene.
        deployment: The deployment to run, as "<flow name>/<deployment name>".
        seconds: Duration of each scene.
        size: Resolution of each scene.
        timeout: Seconds to wait for each scene's run.

    Returns:
        Per scene: the child flow run's id, name and state, and the stored video as a dict.

    Example:
        ```python
        import asyncio

        from storyboard import storyboard

        scenes = asyncio.run(storyboard(["a lighthouse at dusk", "waves crash on the rocks"]))
        ```
    """
    logger = get_run_logger()
    started = [
        await arun_deployment(
            deployment,
            parameters={"prompt": scene, "seconds": seconds, "size": size},
            timeout=0,  # start it and return; we wait for all scenes below
            as_subflow=True,
            idempotency_key=f"{flow_run.id}:scene-{index}",
        )
        for index, scene in enumerate(scenes)
    ]
    logger.info("Started %d scene run(s) of %s", len(started), deployment)
    finished = await asyncio.gather(
        *(wait_for_flow_run(run.id, timeout=timeout) for run in started)
    )
    failed = [run.name for run in finished if not run.state or not run.state.is_completed()]
    if failed:
        raise RuntimeError(f"scene run(s) did not complete: {', '.join(failed)}")
    results = []
    for run in finished:
        video = await run.state.aresult()
        results.append(
            {
                "flow_run_id": str(run.id),
                "flow_run_name": run.name,
                "state": run.state.type.value,
                "video": video.model_dump(mode="json") if hasattr(video, "model_dump") else video,
            }
        )
    return results


if __name__ == "__main__":
    for scene in asyncio.run(storyboard(sys.argv[1:])):
        print(json.dumps(scene))
