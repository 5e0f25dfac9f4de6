"""Fan-out: many jobs with a long emulated latency in ONE flow run (`generate_batch`).

Run:
    uv run python bench/bench_fanout.py                      # 500 jobs, 10 s latency, 5 runs
    uv run python bench/bench_fanout.py --jobs 100 --runs 5  # smaller

What is measured, per run:
  - wall time of `generate_batch(requests=<N entries>, max_concurrency=N, probe=True)`
    (submit task + wait task + download task per job, to a LocalFileSystem), from the call
    to its return; the Prefect server is already up (its start is timed separately);
  - peak RSS of this process (the flow run's process) sampled every 20 ms, and its growth;
  - CPU seconds of this process and of the Prefect server process during the run;
  - the emulator's counters (submissions, polls, downloads) to show nothing ran twice.
Baseline (named "bare httpx fan-out"): the same N jobs, with a plain `httpx.AsyncClient`
and asyncio.gather (POST, poll honouring `openai-poll-after-ms`, stream the content to a
file) in the same process, no Prefect. Ratio = flow wall / baseline wall.

The emulator runs in its own process (`prefect_videogen.emulator.serve` in a child
`python -c`), so its CPU is not counted as ours; jobs of one run share one prompt (and so
one render in the emulator: the emulator's render cost is not what is measured) and differ
by `metadata`, which makes them distinct requests for the flow.

Target (issue 6.1, 2-core machine): wall <= 25 s and peak RSS <= 400 MiB for 500 jobs at
10 s latency.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import os
import secrets
import sys
import tempfile
import time
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent))

import common  # noqa: E402

WALL_TARGET = 25.0
RSS_TARGET_MIB = 400.0


# --------------------------------------------------------------------------- baseline


async def bare_fanout(base_url: str, jobs: int, prompt: str, out: Path) -> dict[str, float]:
    """N jobs with one httpx.AsyncClient: submit, poll (server hint), stream content to disk."""
    limits = httpx.Limits(max_connections=100, max_keepalive_connections=100)
    async with httpx.AsyncClient(
        timeout=120, limits=limits, headers=common.AUTH, trust_env=False
    ) as client:

        async def one(index: int) -> int:
            response = await client.post(
                f"{base_url}/videos",
                json={
                    "model": "sora-2",
                    "prompt": prompt,
                    "seconds": "4",
                    "size": "1280x720",
                    "metadata": {"i": index},
                },
            )
            response.raise_for_status()
            job = response.json()
            delay = 1.0
            while job["status"] not in ("completed", "failed"):
                hint = response.headers.get("openai-poll-after-ms")
                await asyncio.sleep(int(hint) / 1000 if hint else delay)
                response = await client.get(f"{base_url}/videos/{job['id']}")
                response.raise_for_status()
                job = response.json()
            size = 0
            async with client.stream("GET", f"{base_url}/videos/{job['id']}/content") as body:
                body.raise_for_status()
                with open(out / f"{job['id']}.mp4", "wb") as handle:
                    async for chunk in body.aiter_bytes(1 << 20):
                        handle.write(chunk)
                        size += len(chunk)
            return size

        sizes = await asyncio.gather(*(one(i) for i in range(jobs)))
    return {"bytes": float(sum(sizes))}


# --------------------------------------------------------------------------- the flow


def run_flow(base_url: str, jobs: int, prompt: str, out: Path) -> list:
    from prefect.filesystems import LocalFileSystem

    from prefect_videogen.credentials import VideoGenCredentials
    from prefect_videogen.flows import generate_batch

    credentials = VideoGenCredentials(base_url=base_url, api_key=common.API_KEY)
    requests = [
        {"prompt": prompt, "seconds": 4, "size": "1280x720", "metadata": {"i": i}}
        for i in range(jobs)
    ]
    return asyncio.run(
        generate_batch(
            requests=requests,
            model="sora-2",
            credentials=credentials,
            storage=LocalFileSystem(basepath=str(out)),
            max_concurrency=jobs,
            probe=True,
        )
    )


def measure(kind: str, base_url: str, jobs: int, emulator: common.EmulatorProcess) -> dict:
    prompt = f"fan-out {kind} {secrets.token_hex(4)}"
    out = Path(tempfile.mkdtemp(prefix=f"videogen-bench-fanout-{kind}-"))
    emulator.reset()
    server_pids = common.server_process_pids()
    server_cpu = sum(common.cpu_seconds(pid) for pid in server_pids)
    gc.collect()
    cpu = common.cpu_seconds()
    load = common.load_average()
    with common.RssSampler() as rss:
        started = time.perf_counter()
        if kind == "flow":
            results = run_flow(base_url, jobs, prompt, out)
            stored = sum(1 for r in results if r is not None)
        else:
            asyncio.run(bare_fanout(base_url, jobs, prompt, out))
            stored = len(list(out.glob("*.mp4")))
        wall = time.perf_counter() - started
    stats = emulator.stats()
    figures = {
        "wall": wall,
        "peak_rss_mib": rss.peak / common.MIB,
        "rss_growth_mib": rss.growth / common.MIB,
        "cpu_s": common.cpu_seconds() - cpu,
        "server_cpu_s": sum(common.cpu_seconds(pid) for pid in server_pids) - server_cpu,
        "stored": stored,
        "submissions": stats["submissions"],
        "polls": stats["polls"],
        "downloads": stats["downloads"],
        "load": load,
    }
    import shutil

    shutil.rmtree(out, ignore_errors=True)
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5, help="runs of each kind (>= 5)")
    parser.add_argument("--jobs", type=int, default=500, help="jobs per flow run")
    parser.add_argument("--latency", type=float, default=10.0, help="emulated seconds per job")
    parser.add_argument("--no-write", action="store_true", help="do not update RESULTS.md")
    args = parser.parse_args()

    tmp = Path(tempfile.mkdtemp(prefix="videogen-bench-fanout-"))
    os.environ.setdefault("PREFECT_RESULTS_LOCAL_STORAGE_PATH", str(tmp / "results"))
    os.environ.setdefault("PREFECT_INTEGRATIONS_VIDEOGEN_LOCK_DIR", str(tmp / "locks"))
    os.environ.setdefault("PREFECT_LOGGING_LEVEL", "WARNING")

    rows: dict[str, list[dict]] = {"baseline": [], "flow": []}
    with common.emulator_process(latency=args.latency, fps=4) as emulator:
        with common.prefect_server() as server_start:
            print(f"Prefect server started in {server_start:.2f} s", flush=True)
            # Warm-up (imports, first connections, first render); not counted.
            measure("flow", emulator.base_url, 2, emulator)
            for run in range(args.runs):
                for kind in ("baseline", "flow"):
                    figures = measure(kind, emulator.base_url, args.jobs, emulator)
                    rows[kind].append(figures)
                    print(f"run {run + 1} {kind}: {figures}", flush=True)
    report(args, rows, server_start)


def report(args: argparse.Namespace, rows: dict[str, list[dict]], server_start: float) -> None:
    flow, base = rows["flow"], rows["baseline"]
    wall = common.median([r["wall"] for r in flow])
    base_wall = common.median([r["wall"] for r in base])
    rss = common.median([r["peak_rss_mib"] for r in flow])
    base_rss = common.median([r["peak_rss_mib"] for r in base])
    headers = ["", "median", "runs", "baseline median", "ratio", "target", "result"]
    table_rows = [
        [
            "wall (s)",
            f"{wall:.2f}",
            common.fmt_runs([r["wall"] for r in flow]),
            f"{base_wall:.2f}",
            f"{wall / base_wall:.2f}",
            f"<= {WALL_TARGET:g} s",
            common.verdict(wall <= WALL_TARGET),
        ],
        [
            "peak RSS (MiB)",
            f"{rss:.0f}",
            common.fmt_runs([r["peak_rss_mib"] for r in flow], "{:.0f}"),
            f"{base_rss:.0f}",
            f"{rss / base_rss:.2f}",
            f"<= {RSS_TARGET_MIB:g} MiB",
            common.verdict(rss <= RSS_TARGET_MIB),
        ],
        [
            "CPU of this process (s)",
            f"{common.median([r['cpu_s'] for r in flow]):.1f}",
            common.fmt_runs([r["cpu_s"] for r in flow], "{:.1f}"),
            f"{common.median([r['cpu_s'] for r in base]):.1f}",
            "",
            "",
            "",
        ],
        [
            "CPU of the Prefect server (s)",
            f"{common.median([r['server_cpu_s'] for r in flow]):.1f}",
            common.fmt_runs([r["server_cpu_s"] for r in flow], "{:.1f}"),
            "",
            "",
            "",
            "",
        ],
    ]
    common.print_table(headers, table_rows)
    counts = [
        f"run {i + 1}: stored {r['stored']}, submissions {r['submissions']}, polls {r['polls']}, "
        f"downloads {r['downloads']}, load {r['load']}"
        for i, r in enumerate(flow)
    ]
    body = "\n".join(
        [
            *common.header_lines(
                process_note=(
                    "The emulator ran in its own process (`serve()` in a child `python -c`, "
                    f"latency {args.latency:g} s, fps 4); the Prefect server is "
                    "`prefect_test_harness` (SQLite, its own subprocess), started once before "
                    f"the runs in **{server_start:.2f} s** (not included below). Each run: "
                    f"`generate_batch` with {args.jobs} distinct requests (sora-2, 4 s, "
                    f"1280x720, one shared render), `max_concurrency={args.jobs}`, "
                    "`probe=True`, LocalFileSystem storage. Baseline **bare httpx fan-out**: "
                    "the same jobs with one `httpx.AsyncClient` and `asyncio.gather` in this "
                    "process, no Prefect."
                )
            ),
            common.table(headers, table_rows),
            "",
            "Emulator counters per flow run (each job submitted once): " + "; ".join(counts) + ".",
            "",
            "Baseline runs (wall s): " + common.fmt_runs([r["wall"] for r in base]) + ".",
        ]
    )
    if not args.no_write:
        common.write_section("Fan-out", body + "\n" + getattr(args, "extra", ""))


if __name__ == "__main__":
    main()
