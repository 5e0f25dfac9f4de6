"""Cached rerun of a 10-video batch flow: no new submissions, and how long the rerun takes.

Run:
    uv run python bench/bench_cached_rerun.py                  # 10 videos, 5 s latency, 5 reruns
    uv run python bench/bench_cached_rerun.py --videos 20 --latency 2

`generate_batch` with `--videos` distinct requests (sora-2, 4 s, 1280x720, LocalFileSystem,
its defaults otherwise) runs once, then `--runs` more times with the same parameters and the
same result storage. Every run is a fresh child process (`--child`), as a rerun after a crash
or a retry from the UI would be; its wall time is measured around the flow call (imports
and process start excluded, reported apart as "process"). Each video is one
`generate_video` task run whose submission goes through `submit_video`'s cache (the
normalized request + attempt + base URL, the record persisted as JSON), so a rerun should
find every job id and submit nothing: the emulator's submission counter is read after each
run. Waiting and downloading are not cached by design (a rerun checks the job and fetches
the video again), so their requests are counted too.

Baseline: the first, uncached run of the same flow (ratio = rerun / first run).
The emulator runs in its own process (`serve()` in a child `python -c`); the Prefect server
(`prefect_test_harness`, its own process) starts first, its start time reported apart.

Target (issue 6.4): 0 submissions on the rerun; wall reported.
"""

from __future__ import annotations

import argparse
import asyncio
import secrets
import shutil
import sys
import tempfile
import time
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent))

import common

SCRIPT = Path(__file__).resolve()


def child(args: argparse.Namespace) -> None:
    started_process = time.perf_counter()
    from prefect.filesystems import LocalFileSystem

    from prefect_videogen.credentials import VideoGenCredentials
    from prefect_videogen.flows import generate_batch

    imported = time.perf_counter() - started_process
    root = args.base_url[: -len("/v1")]
    before = httpx.get(f"{root}/emulator/stats", trust_env=False, timeout=60).json()
    requests = [
        {"prompt": args.prompt, "seconds": 4, "size": "1280x720", "metadata": {"i": str(i)}}
        for i in range(args.videos)
    ]
    credentials = VideoGenCredentials(base_url=args.base_url, api_key=common.API_KEY)
    load = common.load_average()
    started = time.perf_counter()
    results = asyncio.run(
        generate_batch(
            requests=requests,
            model="sora-2",
            credentials=credentials,
            storage=LocalFileSystem(basepath=args.out),
            max_concurrency=args.videos,
        )
    )
    wall = time.perf_counter() - started
    after = httpx.get(f"{root}/emulator/stats", trust_env=False, timeout=60).json()
    common.emit_result(
        {
            "wall": wall,
            "imports": imported,
            "stored": sum(1 for r in results if r is not None),
            "job_ids": sorted(r.job_id for r in results if r is not None),
            "submissions": after["submissions"] - before["submissions"],
            "polls": after["polls"] - before["polls"],
            "downloads": after["downloads"] - before["downloads"],
            "load": load,
        }
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5, help="reruns (>= 5)")
    parser.add_argument("--videos", type=int, default=10, help="videos in the batch")
    parser.add_argument("--latency", type=float, default=5.0, help="emulated seconds per job")
    parser.add_argument("--no-write", action="store_true", help="do not update RESULTS.md")
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--base-url", help=argparse.SUPPRESS)
    parser.add_argument("--prompt", help=argparse.SUPPRESS)
    parser.add_argument("--out", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args)
        return

    tmp = Path(tempfile.mkdtemp(prefix="videogen-bench-rerun-"))
    prompt = f"cached rerun {secrets.token_hex(4)}"
    runs: list[dict] = []
    try:
        with (
            common.emulator_process(latency=args.latency, fps=4) as emulator,
            common.prefect_server() as server,
        ):
            print(f"Prefect server started in {server.start_seconds:.2f} s", flush=True)
            env = {
                **server.env(),
                "PREFECT_RESULTS_LOCAL_STORAGE_PATH": str(tmp / "results"),
                "PREFECT_INTEGRATIONS_VIDEOGEN_LOCK_DIR": str(tmp / "locks"),
                "PREFECT_LOGGING_LEVEL": "WARNING",
            }
            for run in range(args.runs + 1):
                started = time.perf_counter()
                figures = common.run_child(
                    SCRIPT,
                    [
                        "--child",
                        "--base-url",
                        emulator.base_url,
                        "--prompt",
                        prompt,
                        "--out",
                        str(tmp / "videos"),
                        "--videos",
                        str(args.videos),
                    ],
                    env=env,
                    timeout=600,
                )
                figures["process"] = time.perf_counter() - started
                runs.append(figures)
                kind = "first run" if run == 0 else f"rerun {run}"
                print(
                    f"{kind}: wall {figures['wall']:.2f} s, submissions "
                    f"{figures['submissions']}, polls {figures['polls']}, downloads "
                    f"{figures['downloads']} (load {figures['load']})",
                    flush=True,
                )
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    report(args, runs, server)


def report(args, runs: list[dict], server) -> None:
    first, reruns = runs[0], runs[1:]
    wall = common.median([r["wall"] for r in reruns])
    same_jobs = all(r["job_ids"] == first["job_ids"] for r in reruns)
    submissions = [r["submissions"] for r in reruns]
    ok = all(s == 0 for s in submissions) and same_jobs
    headers = [
        "run",
        "wall (s)",
        "process incl. start (s)",
        "submissions",
        "polls",
        "downloads",
        "stored",
        "load (1/5/15)",
    ]
    rows = [
        [
            "first (baseline)" if index == 0 else f"rerun {index}",
            f"{r['wall']:.2f}",
            f"{r['process']:.1f}",
            r["submissions"],
            r["polls"],
            r["downloads"],
            r["stored"],
            r["load"],
        ]
        for index, r in enumerate(runs)
    ]
    common.print_table(headers, rows)
    summary = [
        ["rerun wall, median (s)", f"{wall:.2f}", common.fmt_runs([r["wall"] for r in reruns])],
        ["first run wall (s)", f"{first['wall']:.2f}", ""],
        ["ratio rerun / first", f"{wall / first['wall']:.2f}", ""],
        ["submissions on reruns", f"{sum(submissions)}", ", ".join(map(str, submissions))],
        ["same job ids as the first run", "yes" if same_jobs else "NO", ""],
    ]
    body = "\n".join(
        [
            *common.header_lines(
                process_note=(
                    "The emulator ran in its own process (`serve()` in a child `python -c`, "
                    f"latency {args.latency:g} s, fps 4); every flow run is a fresh child "
                    "process sharing one result storage and lock directory. The Prefect "
                    "server (`prefect_test_harness`, its own process) started in "
                    f"**{server.start_seconds:.1f} s** (not included). Flow: `generate_batch` "
                    f"with {args.videos} distinct requests (sora-2, 4 s, 1280x720), "
                    "LocalFileSystem, defaults otherwise (probe on, per-video artifacts and "
                    "thumbnails off). Baseline: "
                    "**the first, uncached run**. Wall = the flow call; 'process' adds the "
                    "child's start and imports."
                )
            ),
            common.table(["figure", "value", "runs"], summary),
            "",
            common.table(headers, rows),
            "",
            f"Target: 0 submissions on the rerun, wall reported: **{common.verdict(ok)}** "
            f"(rerun wall {wall:.2f} s median, {wall / first['wall']:.2f} x the first run).",
            "",
            "The rerun still polls each job once and downloads each video again (the wait "
            "and download tasks are not cached, by design), so its wall is not zero: see the "
            "polls and downloads columns.",
        ]
    )
    if not args.no_write:
        common.write_section("Cached rerun", body)


if __name__ == "__main__":
    main()
