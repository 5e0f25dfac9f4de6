"""Overhead per job of submit + wait + download: our flow and client vs the openai SDK and httpx.

Run:
    uv run python bench/bench_overhead.py                 # 10 jobs per path per run, 5 runs
    uv run python bench/bench_overhead.py --latency 2     # with an emulated latency

One job = submit, wait until completed, download the MP4 to a local file; jobs run one
after the other, `--jobs` per path per run, paths taking turns in each run. Per-job time =
the run's total / jobs (for the flow paths, measured around each job, see below).
With the default `--latency 0` the emulator completes a job as soon as it is first polled
(every job shares one pre-rendered video), so the time per job is the overhead itself:
one POST, one or two GETs, one ~20 KB download, and whatever each stack adds.

Paths:
- **bare httpx loop**: one `httpx.Client`; POST /videos, GET until completed (sleeping
  the `openai-poll-after-ms` hint between GETs), stream /content to a file;
- baseline **openai SDK**: one `OpenAI` client; `videos.create_and_poll(...)` then
  `videos.download_content(id).write_to_file(path)`;
- our library: one `VideoGenClient`; `create`, `wait`, `download_content` (which also
  hashes, fsyncs and renames);
- our tasks in one flow: `submit_video`, `wait_for_video`, `download_video` (LocalFileSystem,
  task defaults: thumbnail on, probe off) called in a loop inside ONE flow run; each job is
  timed inside the flow, and the flow run's own cost (start and finish) is reported apart;
- `generate_video` in one flow: the one-task-per-video form `generate_batch` uses
  (`artifacts=False`), in a loop inside ONE flow run, timed the same way;
- our flow: one `text_to_video` flow run per job (defaults: probe on, thumbnail on).

The emulator runs in its own process (`serve()` in a child `python -c`); the clients run in
this process, one after the other. The Prefect server (`prefect_test_harness`, SQLite, its
own process) is started before and its start time reported apart; its CPU during the flow
paths is reported too. Every path does one warm-up job first (not timed).

Target (issue 6.2): per-job time through our flow <= 1.5 x the openai SDK's (and the bare
httpx loop's), Prefect server start excluded.
"""

from __future__ import annotations

import argparse
import os
import secrets
import shutil
import sys
import tempfile
import time
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent))

import common

RATIO_TARGET = 1.5
PATHS = (
    "bare httpx loop",
    "openai SDK",
    "VideoGenClient",
    "tasks in one flow",
    "generate_video in one flow",
    "text_to_video flow",
)
BASELINE = "openai SDK"
BODY = {"model": "sora-2", "seconds": "4", "size": "1280x720"}


class Paths:
    """The five ways of doing one job, sharing clients across jobs like a real loop would."""

    def __init__(self, base_url: str, out: Path, prompt: str) -> None:
        from openai import OpenAI
        from prefect.filesystems import LocalFileSystem

        from prefect_videogen.client import VideoGenClient
        from prefect_videogen.credentials import VideoGenCredentials

        self.base_url = base_url
        self.out = out
        self.prompt = prompt
        self.http = httpx.Client(timeout=60, trust_env=False, headers=common.AUTH)
        self.sdk = OpenAI(base_url=base_url, api_key=common.API_KEY)
        self.ours = VideoGenClient(base_url, common.API_KEY)
        self.credentials = VideoGenCredentials(base_url=base_url, api_key=common.API_KEY)
        self.storage = LocalFileSystem(basepath=str(out / "flows"))
        self.counter = 0

    def close(self) -> None:
        self.http.close()
        self.sdk.close()
        self.ours.close()

    def _name(self) -> str:
        self.counter += 1
        return f"job-{self.counter}"

    def bare_httpx(self) -> None:
        response = self.http.post(f"{self.base_url}/videos", json={**BODY, "prompt": self.prompt})
        response.raise_for_status()
        job = response.json()
        while True:
            response = self.http.get(f"{self.base_url}/videos/{job['id']}")
            response.raise_for_status()
            job = response.json()
            if job["status"] in ("completed", "failed"):
                break
            time.sleep(int(response.headers.get("openai-poll-after-ms", "1000")) / 1000)
        with (
            self.http.stream("GET", f"{self.base_url}/videos/{job['id']}/content") as body,
            open(self.out / f"{self._name()}.mp4", "wb") as handle,
        ):
            body.raise_for_status()
            for chunk in body.iter_bytes():
                handle.write(chunk)

    def openai_sdk(self) -> None:
        video = self.sdk.videos.create_and_poll(
            model="sora-2", prompt=self.prompt, seconds="4", size="1280x720"
        )
        assert video.status == "completed", video
        self.sdk.videos.download_content(video.id).write_to_file(self.out / f"{self._name()}.mp4")

    def library(self) -> None:
        from prefect_videogen.families import VideoRequest

        request = VideoRequest(model="sora-2", prompt=self.prompt, seconds=4, size="1280x720")
        job = self.ours.create(request)
        job = self.ours.wait(job.id, model="sora-2")
        self.ours.download_content(job.id, self.out / f"{self._name()}.mp4")

    def tasks_in_flow(self, jobs: int, *, one_task: bool) -> tuple[list[float], float]:
        """`jobs` jobs inside one flow run; (per-job s, flow wall).

        `one_task=False`: the three tasks with their defaults; `one_task=True`:
        `generate_video` as `generate_batch` runs it (one task run, no per-video artifacts).
        """
        from prefect import flow

        from prefect_videogen.families import VideoRequest
        from prefect_videogen.tasks import (
            download_video,
            generate_video,
            submit_video,
            wait_for_video,
        )

        nonce = secrets.token_hex(4)

        @flow(name="bench-overhead-tasks")
        def many(count: int) -> list[float]:
            times = []
            for index in range(count):
                started = time.perf_counter()
                request = VideoRequest(
                    model="sora-2",
                    prompt=self.prompt,
                    seconds=4,
                    size="1280x720",
                    metadata={"job": f"{nonce}-{index}"},  # a new request: no cache hit
                )
                if one_task:
                    generate_video(request, self.credentials, storage=self.storage, artifacts=False)
                else:
                    job = submit_video(request, self.credentials)
                    done = wait_for_video(job, self.credentials)
                    download_video(done, self.credentials, storage=self.storage)
                times.append(time.perf_counter() - started)
            return times

        started = time.perf_counter()
        times = many(jobs)
        return times, time.perf_counter() - started

    def flow_per_job(self) -> None:
        from prefect_videogen.flows import text_to_video

        text_to_video(
            self.prompt,
            model="sora-2",
            seconds=4,
            size="1280x720",
            credentials=self.credentials,
            storage=self.storage,
            metadata={"job": secrets.token_hex(6)},  # a new request each time: no cache hit
        )


def run_path(paths: Paths, name: str, jobs: int) -> dict:
    cpu = common.cpu_seconds()
    server_pids = common.server_process_pids()
    server_cpu = sum(common.cpu_seconds(pid) for pid in server_pids)
    load = common.load_average()
    flow_extra = None
    if name in ("tasks in one flow", "generate_video in one flow"):
        times, wall = paths.tasks_in_flow(jobs, one_task=name.startswith("generate_video"))
        flow_extra = wall - sum(times)
    else:
        step = {
            "bare httpx loop": paths.bare_httpx,
            "openai SDK": paths.openai_sdk,
            "VideoGenClient": paths.library,
            "text_to_video flow": paths.flow_per_job,
        }[name]
        times = []
        for _ in range(jobs):
            started = time.perf_counter()
            step()
            times.append(time.perf_counter() - started)
    return {
        "per_job": sum(times) / len(times),
        "times": times,
        "cpu_per_job": (common.cpu_seconds() - cpu) / jobs,
        "server_cpu_per_job": (sum(common.cpu_seconds(pid) for pid in server_pids) - server_cpu)
        / jobs,
        "flow_run_overhead": flow_extra,
        "load": load,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5, help="runs (>= 5)")
    parser.add_argument("--jobs", type=int, default=10, help="jobs per path per run")
    parser.add_argument("--latency", type=float, default=0.0, help="emulated seconds per job")
    parser.add_argument("--no-write", action="store_true", help="do not update RESULTS.md")
    args = parser.parse_args()

    out = Path(tempfile.mkdtemp(prefix="videogen-bench-overhead-"))
    os.environ.setdefault("PREFECT_RESULTS_LOCAL_STORAGE_PATH", str(out / "results"))
    os.environ.setdefault("PREFECT_INTEGRATIONS_VIDEOGEN_LOCK_DIR", str(out / "locks"))
    os.environ.setdefault("PREFECT_LOGGING_LEVEL", "WARNING")
    figures: dict[str, list[dict]] = {name: [] for name in PATHS}
    prompt = f"overhead {secrets.token_hex(4)}"
    try:
        with (
            common.emulator_process(latency=args.latency, fps=4) as emulator,
            common.prefect_server() as server,
        ):
            print(f"Prefect server started in {server.start_seconds:.2f} s", flush=True)
            paths = Paths(emulator.base_url, out, prompt)
            try:
                for name in PATHS:  # warm-up: imports, connections, the shared render
                    run_path(paths, name, 1)
                emulator.reset()
                for run in range(args.runs):
                    for name in PATHS:
                        figure = run_path(paths, name, args.jobs)
                        figures[name].append(figure)
                        print(
                            f"run {run + 1} {name}: {figure['per_job'] * 1000:.0f} ms/job "
                            f"(load {figure['load']})",
                            flush=True,
                        )
                stats = emulator.stats()
            finally:
                paths.close()
    finally:
        shutil.rmtree(out, ignore_errors=True)
    report(args, figures, server, stats)


def report(args, figures: dict[str, list[dict]], server, stats: dict) -> None:
    def med(name: str, key: str = "per_job") -> float:
        return common.median([f[key] for f in figures[name]])

    sdk, bare = med(BASELINE), med("bare httpx loop")
    headers = [
        "path",
        "per job median (ms)",
        "runs (ms)",
        "x openai SDK",
        "x bare httpx",
        "CPU/job, this process (ms)",
        "CPU/job, Prefect server (ms)",
        "target",
        "result",
    ]
    rows = []
    verdicts = []
    for name in PATHS:
        value = med(name)
        target, result = "", ""
        if name in (
            "VideoGenClient",
            "tasks in one flow",
            "generate_video in one flow",
            "text_to_video flow",
        ):
            target = f"<= {RATIO_TARGET:g} x SDK"
            result = common.verdict(value / sdk <= RATIO_TARGET)
            verdicts.append(
                f"{name}: {value / sdk:.2f} x SDK, {value / bare:.2f} x httpx -> {result}"
            )
        rows.append(
            [
                name,
                f"{value * 1000:.0f}",
                common.fmt_runs([f["per_job"] * 1000 for f in figures[name]], "{:.0f}"),
                f"{value / sdk:.2f}",
                f"{value / bare:.2f}",
                f"{med(name, 'cpu_per_job') * 1000:.0f}",
                f"{med(name, 'server_cpu_per_job') * 1000:.0f}",
                target,
                result,
            ]
        )
    common.print_table(headers, rows)
    flow_overhead = common.median([f["flow_run_overhead"] for f in figures["tasks in one flow"]])
    loads = sorted({f["load"] for runs in figures.values() for f in runs})
    body = "\n".join(
        [
            *common.header_lines(
                process_note=(
                    "The emulator ran in its own process (`serve()` in a child `python -c`, "
                    f"latency {args.latency:g} s, fps 4, one shared pre-rendered video); "
                    "the clients ran in this process one after the other; the Prefect server "
                    f"(`prefect_test_harness`, its own process) started in "
                    f"**{server.start_seconds:.1f} s** (excluded from every figure). "
                    f"{args.jobs} jobs per path per run, {args.runs} runs, paths taking turns. "
                    "Per job: submit + wait + download to a local file. Baseline: **openai "
                    "SDK** (`create_and_poll` + `download_content().write_to_file()`)."
                )
            ),
            common.table(headers, rows),
            "",
            f"The one flow run around the task loop cost {flow_overhead * 1000:.0f} ms "
            f"(median; start and finish, spread over {args.jobs} jobs it is not in the "
            "per-job figure above).",
            "",
            "Results: " + "; ".join(verdicts) + ".",
            "",
            f"Emulator counters after the runs: {stats['submissions']} submissions, "
            f"{stats['polls']} polls, {stats['downloads']} downloads.",
            "",
            "Load averages seen at the start of each path's run: " + ", ".join(loads) + ".",
        ]
    )
    if not args.no_write:
        common.write_section("Overhead per job", body)


if __name__ == "__main__":
    main()
