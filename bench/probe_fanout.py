"""What Prefect does per video in a `generate_batch` fan-out: API calls, events, log lines,
result writes, and the CPU of the flow process and of the server.

Run:
    uv run python bench/probe_fanout.py --jobs 100               # counts + CPU
    uv run python bench/probe_fanout.py --jobs 100 --profile out.prof   # + cProfile of the flow

One flow run of `generate_batch` (N distinct requests, `max_concurrency=N`, `probe=True`) in
this process against the emulator (its own process) and `prefect_test_harness` (SQLite, its
own process), after a 2-job warm-up. It counts, while the measured flow runs:

- requests this process sends to the Prefect API, by method and route;
- events it emits, by event name (task-run state changes, `video.completed`, ...);
- log records it hands to the API log handler (the lines the server stores);
- writes and reads of the submission ledger's result store.

and prints them per video, next to the CPU seconds of this process and of the server.
No timed figure from here goes to RESULTS.md; `bench_fanout.py` is the benchmark.
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import cProfile
import gc
import json
import os
import re
import secrets
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import common

_ID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")


class Counters:
    """What this process sends to Prefect while `active`."""

    def __init__(self) -> None:
        self.active = False
        self.api: collections.Counter[str] = collections.Counter()
        self.events: collections.Counter[str] = collections.Counter()
        self.event_bytes = 0
        self.logs: collections.Counter[str] = collections.Counter()
        self.store: collections.Counter[str] = collections.Counter()

    def install(self) -> None:
        import httpx
        from prefect.events.worker import EventsWorker
        from prefect.logging.handlers import APILogHandler
        from prefect.results import ResultStore

        counters = self
        send = httpx.AsyncClient.send
        sync_send = httpx.Client.send

        def route(request: httpx.Request) -> str | None:
            url = str(request.url)
            if "/api/" not in url:
                return None
            path = _ID.sub("{id}", request.url.path.split("/api", 1)[1])
            return f"{request.method} {path}"

        async def counted_send(client, request, *args, **kwargs):
            name = route(request)
            if counters.active and name:
                counters.api[name] += 1
            return await send(client, request, *args, **kwargs)

        def counted_sync_send(client, request, *args, **kwargs):
            name = route(request)
            if counters.active and name:
                counters.api[name] += 1
            return sync_send(client, request, *args, **kwargs)

        httpx.AsyncClient.send = counted_send  # type: ignore[method-assign]
        httpx.Client.send = counted_sync_send  # type: ignore[method-assign]

        handle = EventsWorker._handle

        async def counted_handle(worker, event):
            if counters.active:
                counters.events[event.event.split(".")[0] + "." + event.event.split(".")[-1]] += 1
                counters.event_bytes += len(event.model_dump_json())
            return await handle(worker, event)

        EventsWorker._handle = counted_handle  # type: ignore[method-assign]

        emit = APILogHandler.emit

        def counted_emit(handler, record):
            if counters.active and record.levelno >= handler.level:
                counters.logs[f"{record.levelname} {record.name}: {record.msg[:50]}"] += 1
            return emit(handler, record)

        APILogHandler.emit = counted_emit  # type: ignore[method-assign]

        for name in ("awrite", "aread", "aexists", "write", "read", "exists"):
            original = getattr(ResultStore, name)

            def wrap(original=original, name=name):
                if name.startswith("a"):

                    async def counted(store, *args, **kwargs):
                        if counters.active:
                            counters.store[name] += 1
                        return await original(store, *args, **kwargs)
                else:

                    def counted(store, *args, **kwargs):
                        if counters.active:
                            counters.store[name] += 1
                        return original(store, *args, **kwargs)

                return counted

            setattr(ResultStore, name, wrap())


def run_flow(
    base_url: str, jobs: int, prompt: str, out: Path, per_task: int = 1, concurrency: int = 0
) -> list:
    from prefect.filesystems import LocalFileSystem

    from prefect_videogen.credentials import VideoGenCredentials
    from prefect_videogen.flows import generate_batch

    credentials = VideoGenCredentials(base_url=base_url, api_key=common.API_KEY)
    requests = [
        {"prompt": prompt, "seconds": 4, "size": "1280x720", "metadata": {"i": str(i)}}
        for i in range(jobs)
    ]
    return asyncio.run(
        generate_batch(
            requests=requests,
            model="sora-2",
            credentials=credentials,
            storage=LocalFileSystem(basepath=str(out)),
            max_concurrency=concurrency or jobs,
            probe=True,
            videos_per_task=per_task,
        )
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--jobs", type=int, default=100)
    parser.add_argument("--latency", type=float, default=2.0)
    parser.add_argument("--videos-per-task", type=int, default=1)
    parser.add_argument("--max-concurrency", type=int, default=0, help="default: --jobs")
    parser.add_argument("--profile", help="write a cProfile of the measured flow here")
    parser.add_argument("--log-level", default="INFO", help="PREFECT_LOGGING_LEVEL")
    args = parser.parse_args()

    tmp = Path(tempfile.mkdtemp(prefix="videogen-probe-"))
    os.environ["PREFECT_RESULTS_LOCAL_STORAGE_PATH"] = str(tmp / "results")
    os.environ["PREFECT_INTEGRATIONS_VIDEOGEN_LOCK_DIR"] = str(tmp / "locks")
    os.environ["PREFECT_LOGGING_LEVEL"] = args.log_level
    counters = Counters()
    with (
        common.emulator_process(latency=args.latency, fps=4) as emulator,
        common.prefect_server() as server,
    ):
        counters.install()
        run_flow(emulator.base_url, 2, f"warm-up {secrets.token_hex(4)}", tmp / "warm-up")
        time.sleep(1)
        pids = common.server_process_pids()
        server_cpu = sum(common.cpu_seconds(pid) for pid in pids)
        gc.collect()
        cpu = common.cpu_seconds()
        load = common.load_average()
        profiler = cProfile.Profile() if args.profile else None
        counters.active = True
        started = time.perf_counter()
        if profiler:
            profiler.enable()
        run_flow(
            emulator.base_url,
            args.jobs,
            f"probe {secrets.token_hex(4)}",
            tmp / "run",
            args.videos_per_task,
            args.max_concurrency,
        )
        if profiler:
            profiler.disable()
        wall = time.perf_counter() - started
        cpu = common.cpu_seconds() - cpu
        time.sleep(3)  # let the server finish what was sent
        counters.active = False
        server_cpu = sum(common.cpu_seconds(pid) for pid in pids) - server_cpu
        if profiler:
            profiler.dump_stats(args.profile)
        print(f"server started in {server.start_seconds:.1f} s; load at start {load}")
    n = args.jobs
    per = {
        "jobs": n,
        "wall_s": round(wall, 2),
        "flow_cpu_ms_per_video": round(1000 * cpu / n, 1),
        "server_cpu_ms_per_video": round(1000 * server_cpu / n, 1),
        "api_calls_per_video": round(sum(counters.api.values()) / n, 2),
        "events_per_video": round(sum(counters.events.values()) / n, 2),
        "event_bytes_per_video": round(counters.event_bytes / n),
        "log_lines_per_video": round(sum(counters.logs.values()) / n, 2),
        "store_writes_per_video": round(
            (counters.store["awrite"] + counters.store["write"]) / n, 2
        ),
        "store_reads_per_video": round(
            sum(v for k, v in counters.store.items() if "write" not in k) / n, 2
        ),
    }
    print(json.dumps(per, indent=2))
    print("API calls:", json.dumps(counters.api.most_common(), indent=1))
    print("events:", json.dumps(counters.events.most_common(), indent=1))
    print("logs:", json.dumps(counters.logs.most_common(15), indent=1))
    print("store:", dict(counters.store))


if __name__ == "__main__":
    main()
