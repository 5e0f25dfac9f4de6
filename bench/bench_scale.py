"""Cost per video and scale: Prefect's CPU per video, and a batch of up to 10,000 entries.

Run:
    uv run python bench/bench_scale.py --jobs 500 --latency 10 --runs 3 \\
        --videos-per-task 1 --videos-per-task 50 --library /tmp/before
    uv run python bench/bench_scale.py --jobs 10000 --latency 5 --max-concurrency 500 \\
        --videos-per-task 50 --runs 1

What is measured, per run (each run in a fresh child process, after a 2-job warm-up flow):
  - wall time of `generate_batch(requests=<N entries>, max_concurrency=C, probe=True,
    videos_per_task=K)` to a LocalFileSystem, from the call to its return;
  - peak RSS of that process (sampled every 50 ms) and its growth over the run;
  - CPU seconds of that process and of the Prefect server process(es) during the run
    (the server's CPU is read 3 s after the flow returns, so the events it was sent are
    counted), per video;
  - the emulator's counters: each job submitted exactly once.
Baseline ("bare httpx"): the same N jobs with `asyncio.gather` under a semaphore of C, one
`httpx.AsyncClient` per job (POST, poll honouring `openai-poll-after-ms`, stream the content
to a file), no Prefect. Ratio = flow / baseline.

`--videos-per-task K` (repeatable) measures the flow with that `videos_per_task`;
`--library DIR` (repeatable) also measures a copy of `prefect_videogen/` under DIR (e.g. the
code before a change, `git archive HEAD prefect_videogen | tar -x -C /tmp/before`), called
without `videos_per_task`; `--library DIR@K` calls it with `videos_per_task=K`.

Targets (issue 12, item 5): Prefect's CPU per video, flow process + server, <= 25 ms on the
500-job fan-out; for 10,000 entries (5 s latency, `max_concurrency` 500) peak RSS <= 600 MiB
and flat in the number of entries.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import secrets
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent))

import common

CPU_TARGET_MS = 25.0
RSS_TARGET_MIB = 600.0
SCRIPT = Path(__file__).resolve()
SECTION = "Cost per video"


# --------------------------------------------------------------------------- child


async def bare(base_url: str, jobs: int, concurrency: int, prompt: str, out: Path) -> int:
    """N jobs, at most `concurrency` at once, one `httpx.AsyncClient` each."""
    tls = httpx.create_ssl_context()
    gate = asyncio.Semaphore(concurrency)

    async def get(client: httpx.AsyncClient, url: str) -> httpx.Response:
        for attempt in range(3):  # a GET is safe to repeat; 500 sockets at once can drop one
            try:
                response = await client.get(url)
                response.raise_for_status()
                return response
            except httpx.TransportError:
                if attempt == 2:
                    raise
                await asyncio.sleep(0.5)
        raise AssertionError("unreachable")

    async def one(index: int) -> int:
        async with (
            gate,
            httpx.AsyncClient(
                timeout=120, headers=common.AUTH, trust_env=False, verify=tls
            ) as client,
        ):
            response = await client.post(
                f"{base_url}/videos",
                json={
                    "model": "sora-2",
                    "prompt": prompt,
                    "seconds": "4",
                    "size": "1280x720",
                    "metadata": {"i": str(index)},
                },
            )
            response.raise_for_status()
            job = response.json()
            while job["status"] not in ("completed", "failed"):
                hint = response.headers.get("openai-poll-after-ms")
                await asyncio.sleep(int(hint) / 1000 if hint else 1.0)
                response = await get(client, f"{base_url}/videos/{job['id']}")
                job = response.json()
            for attempt in range(3):  # as for `get`: a dropped keep-alive connection
                size = 0
                try:
                    async with client.stream(
                        "GET", f"{base_url}/videos/{job['id']}/content"
                    ) as body:
                        body.raise_for_status()
                        with open(out / f"{job['id']}.mp4", "wb") as handle:
                            async for chunk in body.aiter_bytes(1 << 20):
                                handle.write(chunk)
                                size += len(chunk)
                    break
                except httpx.TransportError:
                    if attempt == 2:
                        raise
                    await asyncio.sleep(0.5)
            (out / f"{job['id']}.mp4").unlink()  # 10,000 videos would fill the disk
            return size

    sizes = await asyncio.gather(*(one(i) for i in range(jobs)))
    return len(sizes)


def run_flow(
    base_url: str,
    jobs: int,
    concurrency: int,
    per_task: int | None,
    prompt: str,
    out: Path,
    manifest: bool = False,
) -> int:
    from prefect.filesystems import LocalFileSystem

    from prefect_videogen.credentials import VideoGenCredentials
    from prefect_videogen.flows import generate_batch

    credentials = VideoGenCredentials(base_url=base_url, api_key=common.API_KEY)
    entries = [
        {"prompt": prompt, "seconds": 4, "size": "1280x720", "metadata": {"i": str(i)}}
        for i in range(jobs)
    ]
    options: dict = {} if per_task is None else {"videos_per_task": per_task}
    if manifest:
        # A flow run's parameters are capped by the server (PREFECT_SERVER_API_MAX_PARAMETER_
        # SIZE, 512 KiB): 10,000 entries passed as `requests=` are refused with a 422.
        out.mkdir(parents=True, exist_ok=True)
        path = out / "manifest.jsonl"
        path.write_text("".join(json.dumps(entry) + "\n" for entry in entries))
        options["manifest"] = str(path)
    else:
        options["requests"] = entries
    results = asyncio.run(
        generate_batch(
            model="sora-2",
            credentials=credentials,
            storage=LocalFileSystem(basepath=str(out)),
            max_concurrency=concurrency,
            probe=True,
            **options,
        )
    )
    return sum(1 for r in results if r is not None)


def child(args: argparse.Namespace) -> None:
    root = args.base_url[: -len("/v1")]
    out = Path(tempfile.mkdtemp(prefix="videogen-bench-scale-"))
    per_task = None if args.per_task == 0 else args.per_task
    try:
        warm = f"warm-up {secrets.token_hex(4)}"
        if args.child == "flow":
            run_flow(args.base_url, 2, 2, per_task, warm, out / "warm-up")
        else:
            asyncio.run(bare(args.base_url, 2, 2, warm, out))
        httpx.post(f"{root}/emulator/reset", trust_env=False, timeout=60).raise_for_status()
        prompt = f"scale {args.child} {secrets.token_hex(4)}"
        server_pids = [int(p) for p in args.server_pids.split(",") if p]
        server_cpu = sum(common.cpu_seconds(pid) for pid in server_pids)
        gc.collect()
        cpu = common.cpu_seconds()
        load = common.load_average()
        with common.RssSampler(interval=0.05) as rss:
            started = time.perf_counter()
            if args.child == "flow":
                count = run_flow(
                    args.base_url,
                    args.jobs,
                    args.concurrency,
                    per_task,
                    prompt,
                    out / "run",
                    args.manifest,
                )
            else:
                count = asyncio.run(bare(args.base_url, args.jobs, args.concurrency, prompt, out))
            wall = time.perf_counter() - started
        cpu = common.cpu_seconds() - cpu
        time.sleep(3)  # the server works through the events and logs it was sent
        server_cpu = sum(common.cpu_seconds(pid) for pid in server_pids) - server_cpu
        stats = httpx.get(f"{root}/emulator/stats", trust_env=False, timeout=60).json()
        common.emit_result(
            {
                "wall": wall,
                "peak_rss_mib": rss.peak / common.MIB,
                "rss_growth_mib": rss.growth / common.MIB,
                "cpu_s": cpu,
                "server_cpu_s": server_cpu if args.child == "flow" else 0.0,
                "cpu_ms": 1000 * cpu / args.jobs,
                "server_cpu_ms": (1000 * server_cpu / args.jobs) if args.child == "flow" else 0.0,
                "stored": count,
                "submissions": stats["submissions"],
                "downloads": stats["downloads"],
                "load": load,
            }
        )
    finally:
        shutil.rmtree(out, ignore_errors=True)


# --------------------------------------------------------------------------- parent


def measure(
    kind: str,
    per_task: int,
    library: str | None,
    args: argparse.Namespace,
    emulator: common.EmulatorProcess,
    server: common.PrefectServer,
    tmp: Path,
) -> dict:
    env = {
        **server.env(),
        "PREFECT_RESULTS_LOCAL_STORAGE_PATH": str(tmp / "results"),
        "PREFECT_INTEGRATIONS_VIDEOGEN_LOCK_DIR": str(tmp / "locks"),
        "PREFECT_LOGGING_LEVEL": "INFO",
        "PREFECT_LOGGING_TO_API_BATCH_INTERVAL": "2",
    }
    if library:
        env["PYTHONPATH"] = library
    server_pids = ",".join(str(pid) for pid in common.server_process_pids())
    emulator_cpu = common.cpu_seconds(emulator.pid)
    load = common.load_average()
    try:
        figures = common.run_child(
            SCRIPT,
            [
                *("--child", kind, "--jobs", str(args.jobs)),
                *("--concurrency", str(args.max_concurrency or args.jobs)),
                *("--per-task", str(per_task), "--base-url", emulator.base_url),
                *("--server-pids", server_pids),
                *(["--manifest"] if args.manifest else []),
            ],
            env=env,
            timeout=args.run_timeout,
        )
        figures["emulator_cpu_s"] = common.cpu_seconds(emulator.pid) - emulator_cpu
        return figures
    except subprocess.TimeoutExpired:
        return {"timeout": True, "wall": args.run_timeout, "load": load}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3, help="runs of each kind")
    parser.add_argument("--jobs", type=int, default=500, help="entries per batch")
    parser.add_argument("--latency", type=float, default=10.0, help="emulated seconds per job")
    parser.add_argument(
        "--max-concurrency", type=int, default=0, help="max_concurrency (default: --jobs)"
    )
    parser.add_argument(
        "--videos-per-task",
        type=int,
        action="append",
        default=[],
        metavar="K",
        help="measure generate_batch(videos_per_task=K) (repeatable; default 1)",
    )
    parser.add_argument(
        "--library",
        action="append",
        default=[],
        metavar="DIR[@K]",
        help="also measure a copy of prefect_videogen/ in DIR (repeatable); with @K, called "
        "with videos_per_task=K, else without it",
    )
    parser.add_argument(
        "--manifest",
        action="store_true",
        help="give the flow a JSONL manifest instead of requests= (needed past ~3,000 entries)",
    )
    parser.add_argument("--run-timeout", type=float, default=1800)
    parser.add_argument("--no-write", action="store_true", help="do not update RESULTS.md")
    parser.add_argument("--child", choices=("flow", "baseline"), help=argparse.SUPPRESS)
    parser.add_argument("--base-url", help=argparse.SUPPRESS)
    parser.add_argument("--server-pids", default="", help=argparse.SUPPRESS)
    parser.add_argument("--concurrency", type=int, default=0, help=argparse.SUPPRESS)
    parser.add_argument("--per-task", type=int, default=0, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args)
        return

    # label -> (videos_per_task (0: not passed), PYTHONPATH or None)
    kinds: dict[str, tuple[int, str | None]] = {"baseline": (0, None)}
    for spec in args.library:
        library, _, per_task = spec.partition("@")
        label = f"before ({library}{f', videos_per_task={per_task}' if per_task else ''})"
        kinds[label] = (int(per_task or 0), library)
    for per_task in args.videos_per_task or [1]:
        kinds[f"videos_per_task={per_task}"] = (per_task, None)
    tmp = Path(tempfile.mkdtemp(prefix="videogen-bench-scale-"))
    rows: dict[str, list[dict]] = {kind: [] for kind in kinds}
    with (
        common.emulator_process(latency=args.latency, fps=4, startup_timeout=300) as emulator,
        common.prefect_server() as server,
    ):
        print(f"Prefect server started in {server.start_seconds:.2f} s", flush=True)
        for run in range(args.runs):
            for kind, (per_task, library) in kinds.items():
                child_kind = "baseline" if kind == "baseline" else "flow"
                figures = measure(child_kind, per_task, library, args, emulator, server, tmp)
                rows[kind].append(figures)
                print(f"run {run + 1} {kind}: {common.dump(figures)}", flush=True)
    shutil.rmtree(tmp, ignore_errors=True)
    report(args, rows, server)


def _median(runs: list[dict], key: str) -> float:
    values = [r[key] for r in runs if not r.get("timeout")]
    return common.median(values) if values else float("nan")


def _runs(runs: list[dict], key: str, fmt: str) -> str:
    return ", ".join("killed" if r.get("timeout") else fmt.format(r[key]) for r in runs)


def report(args: argparse.Namespace, rows: dict[str, list[dict]], server) -> None:
    base = rows["baseline"]
    base_cpu = _median(base, "cpu_ms")
    headers = ["kind", "figure", "median", "runs", "baseline median", "ratio", "target", "result"]
    table = []
    for kind, runs in rows.items():
        if kind == "baseline":
            continue
        done = [r for r in runs if not r.get("timeout")]
        for r in done:
            r["total_ms"] = r["cpu_ms"] + r["server_cpu_ms"]
            r["prefect_ms"] = r["total_ms"] - base_cpu
        figures = [
            ("wall (s)", "wall", "{:.1f}", _median(base, "wall"), "", None),
            (
                "peak RSS (MiB)",
                "peak_rss_mib",
                "{:.0f}",
                _median(base, "peak_rss_mib"),
                f"<= {RSS_TARGET_MIB:g} MiB",
                lambda v: v <= RSS_TARGET_MIB,
            ),
            ("CPU per video, flow process (ms)", "cpu_ms", "{:.1f}", base_cpu, "", None),
            ("CPU per video, Prefect server (ms)", "server_cpu_ms", "{:.1f}", 0.0, "", None),
            (
                "CPU per video, flow + server (ms)",
                "total_ms",
                "{:.1f}",
                base_cpu,
                f"<= {CPU_TARGET_MS:g} ms (all of it)",
                lambda v: v <= CPU_TARGET_MS,
            ),
            (
                "Prefect's CPU per video: flow + server - bare httpx (ms)",
                "prefect_ms",
                "{:.1f}",
                None,
                f"<= {CPU_TARGET_MS:g} ms (above httpx)",
                lambda v: v <= CPU_TARGET_MS,
            ),
        ]
        for label, key, fmt, base_value, target, check in figures:
            value = _median(done, key) if done else float("nan")
            ratio = f"{value / base_value:.2f}" if base_value else ""
            table.append(
                [
                    kind,
                    label,
                    fmt.format(value),
                    _runs(runs, key, fmt),
                    "" if base_value is None else fmt.format(base_value),
                    ratio,
                    target,
                    common.verdict(check(value)) if check else "",
                ]
            )
    common.print_table(headers, table)
    details = []
    for kind, runs in rows.items():
        for index, r in enumerate(runs):
            if r.get("timeout"):
                details.append(f"| {kind} | {index + 1} | killed | | | | | | {r['load']} |")
                continue
            details.append(
                f"| {kind} | {index + 1} | {r['wall']:.1f} | {r['stored']} | {r['submissions']} "
                f"| {r['downloads']} | {r['peak_rss_mib']:.0f} | {r['rss_growth_mib']:.0f} "
                f"| {r['load']} |"
            )
    concurrency = args.max_concurrency or args.jobs
    body = "\n".join(
        [
            *common.header_lines(
                process_note=(
                    f"Latency {args.latency:g} s, {args.jobs} entries, `max_concurrency="
                    f"{concurrency}`, `probe=True`, {args.runs} run(s) of each kind, taking "
                    f"turns. The Prefect server (`prefect_test_harness`, SQLite) started in "
                    f"**{server.start_seconds:.1f} s** (not included). `PREFECT_LOGGING_LEVEL"
                    "=INFO` (the default), so log lines sent to the API are counted."
                )
            ),
            common.table(headers, table),
            "",
            "Baseline (bare httpx) runs: wall s "
            + _runs(base, "wall", "{:.1f}")
            + "; CPU ms per video "
            + _runs(base, "cpu_ms", "{:.1f}")
            + "; peak RSS MiB "
            + _runs(base, "peak_rss_mib", "{:.0f}")
            + ".",
            "",
            "Per run (emulator counters; peak RSS and its growth over the run; load when the "
            "run started):",
            "",
            "| kind | run | wall | stored | submissions | downloads | peak RSS MiB "
            "| RSS growth MiB | load (1/5/15) |",
            "|---|---|---|---|---|---|---|---|---|",
            *details,
        ]
    )
    intro = (
        "`generate_batch` with N distinct requests (sora-2, 4 s, 1280x720; one shared render "
        "in the emulator), `probe=True`, LocalFileSystem storage, in ONE flow run; per kind "
        "the `videos_per_task` it was given (`before`: the code before this section's "
        "changes). Every run is a fresh child process after a 2-job warm-up; the emulator "
        "and the Prefect server (`prefect_test_harness`, SQLite) run in their own processes. "
        "CPU per video = CPU seconds of the process during the run / N. Baseline **bare "
        "httpx**: the same jobs with `asyncio.gather` under the same concurrency, one "
        "`httpx.AsyncClient` per job, no Prefect, no probe, no sidecar. Targets (issue 12, "
        "item 5): Prefect's CPU per video (flow + server, above bare httpx) <= 25 ms on the "
        "500-job fan-out; peak RSS <= 600 MiB for 10,000 entries and flat in N."
    )
    if not args.no_write:
        common.write_section(
            SECTION,
            body,
            subsection=f"{args.jobs} entries, {args.latency:g} s latency, max_concurrency "
            f"{concurrency}",
            intro=intro,
        )


if __name__ == "__main__":
    main()
