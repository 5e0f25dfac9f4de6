"""Fan-out: many jobs with a long emulated latency in ONE flow run (`generate_batch`).

Run:
    uv run python bench/bench_fanout.py                        # 500 jobs, 10 s latency, 5 runs
    uv run python bench/bench_fanout.py --jobs 100             # fewer jobs
    uv run python bench/bench_fanout.py --library /tmp/patched # also measure a patched copy

What is measured, per run (each run in a fresh child process, whose RSS is its own):
  - wall time of `generate_batch(requests=<N entries>, max_concurrency=N, probe=True)`
    (submit task + wait task + download task per job, to a LocalFileSystem), from the call
    to its return. The child first runs a 2-job warm-up flow (imports, first connections;
    not timed). The Prefect server is already up; its start is timed separately;
  - peak RSS of that process, sampled every 20 ms, and its growth over the run;
  - CPU seconds of that process and of the Prefect server process during the run;
  - when each job was submitted / finished / stored (from the `StoredVideo` timings);
  - the emulator's counters (submissions, polls, downloads): each job submitted once.
Baseline ("bare httpx fan-out"): the same N jobs with `asyncio.gather`, one
`httpx.AsyncClient` per job (POST, poll honouring `openai-poll-after-ms`, stream the
content to a file), no Prefect, in a child process the same way. Ratio = flow / baseline.
(One client shared by all jobs is 2-3x slower at 500 jobs: httpx's pool rescans every
queued request whenever a connection frees up.)

The emulator runs in its own process (`prefect_videogen.emulator.serve` in a child
`python -c`), so its CPU is not counted as the client's; the jobs of one run share one
prompt (so one render in the emulator: its render cost is not what is measured) and
differ by `metadata`, which makes them distinct requests for the flow.

`--library DIR` (repeatable) measures the flow runs again with `PYTHONPATH=DIR` (a directory
holding a patched `prefect_videogen/`), e.g. to measure a proposed fix before it is applied;
`--no-installed` leaves the installed library out. A run over `--run-timeout` seconds is
killed and reported as "> limit".

Target (issue 6.1, 2-core machine): wall <= 25 s and peak RSS <= 400 MiB for 500 jobs at
10 s latency.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import secrets
import shutil
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent))

import common

WALL_TARGET = 25.0
RSS_TARGET_MIB = 400.0
SCRIPT = Path(__file__).resolve()


# --------------------------------------------------------------------------- child: baseline


async def bare_fanout(base_url: str, jobs: int, prompt: str, out: Path) -> int:
    """N jobs, one `httpx.AsyncClient` each (sharing one TLS context): submit, poll (server
    hint), stream the content to disk. One client per job, as our tasks do: a single
    client shared by hundreds of concurrent requests is much slower in httpx (its pool
    rescans every queued request whenever a connection frees up)."""
    tls = httpx.create_ssl_context()

    async def one(index: int) -> int:
        async with httpx.AsyncClient(
            timeout=120, headers=common.AUTH, trust_env=False, verify=tls
        ) as client:
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
    return len(sizes)


# --------------------------------------------------------------------------- child: flow


def run_flow(base_url: str, jobs: int, prompt: str, out: Path) -> list:
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
            max_concurrency=jobs,
            probe=True,
        )
    )


def _quantiles(values: list[float]) -> dict[str, float]:
    ordered = sorted(values)
    return {
        "min": ordered[0],
        "p50": ordered[len(ordered) // 2],
        "max": ordered[-1],
    }


def child(args: argparse.Namespace) -> None:
    root = args.base_url[: -len("/v1")]
    out = Path(tempfile.mkdtemp(prefix=f"videogen-bench-fanout-{args.child}-"))
    try:
        if args.child == "flow":
            run_flow(args.base_url, 2, f"warm-up {secrets.token_hex(4)}", out / "warm-up")
        else:
            asyncio.run(bare_fanout(args.base_url, 2, f"warm-up {secrets.token_hex(4)}", out))
        httpx.post(f"{root}/emulator/reset", trust_env=False, timeout=60).raise_for_status()
        prompt = f"fan-out {args.child} {secrets.token_hex(4)}"
        server_pids = [int(p) for p in args.server_pids.split(",") if p]
        server_cpu = sum(common.cpu_seconds(pid) for pid in server_pids)
        gc.collect()
        cpu = common.cpu_seconds()
        load = common.load_average()
        t0 = datetime.now(UTC)
        phases: dict[str, dict[str, float]] = {}
        with common.RssSampler() as rss:
            started = time.perf_counter()
            if args.child == "flow":
                results = run_flow(args.base_url, args.jobs, prompt, out / "run")
                wall = time.perf_counter() - started
                stored = [r for r in results if r is not None]
                for phase in ("submitted_at", "finished_at", "stored_at"):
                    phases[phase] = _quantiles(
                        [(getattr(r.timings, phase) - t0).total_seconds() for r in stored]
                    )
                count = len(stored)
            else:
                count = asyncio.run(bare_fanout(args.base_url, args.jobs, prompt, out))
                wall = time.perf_counter() - started
        stats = httpx.get(f"{root}/emulator/stats", trust_env=False, timeout=60).json()
        common.emit_result(
            {
                "wall": wall,
                "peak_rss_mib": rss.peak / common.MIB,
                "rss_growth_mib": rss.growth / common.MIB,
                "cpu_s": common.cpu_seconds() - cpu,
                "server_cpu_s": sum(common.cpu_seconds(pid) for pid in server_pids) - server_cpu,
                "stored": count,
                "submissions": stats["submissions"],
                "polls": stats["polls"],
                "downloads": stats["downloads"],
                "load": load,
                "phases": phases,
            }
        )
    finally:
        shutil.rmtree(out, ignore_errors=True)


# --------------------------------------------------------------------------- parent


def measure(
    kind: str,
    args: argparse.Namespace,
    emulator: common.EmulatorProcess,
    server: common.PrefectServer,
    tmp: Path,
    library: str | None,
) -> dict:
    env = {
        **server.env(),
        "PREFECT_RESULTS_LOCAL_STORAGE_PATH": str(tmp / "results"),
        "PREFECT_INTEGRATIONS_VIDEOGEN_LOCK_DIR": str(tmp / "locks"),
        "PREFECT_LOGGING_LEVEL": "WARNING",
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
                "--child",
                kind,
                "--jobs",
                str(args.jobs),
                "--base-url",
                emulator.base_url,
                "--server-pids",
                server_pids,
            ],
            env=env,
            timeout=args.run_timeout,
        )
        figures["emulator_cpu_s"] = common.cpu_seconds(emulator.pid) - emulator_cpu
        return figures
    except subprocess.TimeoutExpired:
        # Over the time limit: recorded as "> limit" (the child is killed).
        return {"timeout": True, "wall": args.run_timeout, "load": load}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5, help="runs of each kind (>= 5)")
    parser.add_argument("--jobs", type=int, default=500, help="jobs per flow run")
    parser.add_argument("--latency", type=float, default=10.0, help="emulated seconds per job")
    parser.add_argument(
        "--library",
        action="append",
        default=[],
        metavar="DIR",
        help="also measure the flow with PYTHONPATH=DIR (a patched copy; repeatable)",
    )
    parser.add_argument(
        "--no-installed", action="store_true", help="measure only the --library copies"
    )
    parser.add_argument(
        "--run-timeout",
        type=float,
        default=420,
        help="seconds a child run may take; a longer one is killed and shown as '> limit'",
    )
    parser.add_argument("--no-write", action="store_true", help="do not update RESULTS.md")
    parser.add_argument("--child", choices=("flow", "baseline"), help=argparse.SUPPRESS)
    parser.add_argument("--base-url", help=argparse.SUPPRESS)
    parser.add_argument("--server-pids", default="", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args)
        return

    tmp = Path(tempfile.mkdtemp(prefix="videogen-bench-fanout-"))
    # label -> PYTHONPATH (None: the installed library); "baseline" is the bare httpx run.
    kinds: dict[str, str | None] = {"baseline": None}
    if not args.no_installed:
        kinds["installed"] = None
    for library in args.library:
        kinds[f"patched: {library}"] = library
    rows: dict[str, list[dict]] = {kind: [] for kind in kinds}
    with (
        common.emulator_process(latency=args.latency, fps=4) as emulator,
        common.prefect_server() as server,
    ):
        print(f"Prefect server started in {server.start_seconds:.2f} s", flush=True)
        for run in range(args.runs):
            for kind, library in kinds.items():
                child_kind = "baseline" if kind == "baseline" else "flow"
                figures = measure(child_kind, args, emulator, server, tmp, library)
                rows[kind].append(figures)
                print(f"run {run + 1} {kind}: {common.dump(figures)}", flush=True)
    shutil.rmtree(tmp, ignore_errors=True)
    report(args, rows, server)


def _fmt(run: dict, key: str, fmt: str) -> str:
    if run.get("timeout"):
        return f"> {run['wall']:.0f}" if key == "wall" else "n/a"
    return fmt.format(run[key])


def _row(label: str, runs: list[dict], base: list[dict], key: str, fmt: str) -> list[str]:
    values = [r[key] for r in runs if not r.get("timeout")]
    timeouts = sum(1 for r in runs if r.get("timeout"))
    base_value = common.median([r[key] for r in base])
    if key == "wall" and timeouts:  # a killed run counts as its limit (a lower bound)
        values += [r["wall"] for r in runs if r.get("timeout")]
    value = common.median(values) if values else float("nan")
    prefix = ">= " if key == "wall" and timeouts * 2 >= len(runs) else ""
    return [
        label,
        prefix + fmt.format(value),
        ", ".join(_fmt(r, key, fmt) for r in runs),
        fmt.format(base_value),
        f"{prefix}{value / base_value:.2f}" if base_value and values else "",
    ]


def report(args: argparse.Namespace, rows: dict[str, list[dict]], server) -> None:
    base = rows["baseline"]
    headers = [
        "library",
        "figure",
        "median",
        "runs",
        "baseline median",
        "ratio",
        "target",
        "result",
    ]
    table_rows = []
    for kind in [k for k in rows if k != "baseline"]:
        runs = rows[kind]
        done = [r for r in runs if not r.get("timeout")]
        walls = [r["wall"] for r in runs]
        wall = common.median(walls)
        rss = common.median([r["peak_rss_mib"] for r in done]) if done else float("nan")
        table_rows.append(
            [
                kind,
                *_row("wall (s)", runs, base, "wall", "{:.1f}"),
                f"<= {WALL_TARGET:g} s",
                common.verdict(wall <= WALL_TARGET and len(done) == len(runs)),
            ]
        )
        if done:
            table_rows += [
                [
                    kind,
                    *_row("peak RSS (MiB)", done, base, "peak_rss_mib", "{:.0f}"),
                    f"<= {RSS_TARGET_MIB:g} MiB",
                    common.verdict(rss <= RSS_TARGET_MIB),
                ],
                [kind, *_row("CPU, flow process (s)", done, base, "cpu_s", "{:.1f}"), "", ""],
                [
                    kind,
                    *_row("CPU, Prefect server (s)", done, base, "server_cpu_s", "{:.1f}"),
                    "",
                    "",
                ],
                [
                    kind,
                    *_row("CPU, emulator (s)", done, base, "emulator_cpu_s", "{:.1f}"),
                    "",
                    "",
                ],
            ]
    common.print_table(headers, table_rows)
    details = []
    for kind in [k for k in rows if k != "baseline"]:
        for index, r in enumerate(rows[kind]):
            if r.get("timeout"):
                details.append(
                    f"| {kind} | {index + 1} | > {r['wall']:.0f} (killed) | | | | | | | "
                    f"| {r['load']} |"
                )
                continue
            p = r["phases"]
            details.append(
                f"| {kind} | {index + 1} | {r['wall']:.1f} | {r['stored']} | {r['submissions']} "
                f"| {r['polls']} | {r['downloads']} "
                f"| {p['submitted_at']['min']:.1f} / {p['submitted_at']['max']:.1f} "
                f"| {p['finished_at']['p50']:.1f} / {p['finished_at']['max']:.1f} "
                f"| {p['stored_at']['p50']:.1f} / {p['stored_at']['max']:.1f} | {r['load']} |"
            )
    body = "\n".join(
        [
            *common.header_lines(
                process_note=(
                    f"Latency {args.latency:g} s, {args.jobs} jobs per flow run, "
                    f"`max_concurrency={args.jobs}`, {args.runs} run(s) of each kind, taking "
                    f"turns; a run over {args.run_timeout:g} s is killed and shown as "
                    f"'> {args.run_timeout:g}'. The Prefect server started in "
                    f"**{server.start_seconds:.1f} s** (not included)."
                )
            ),
            common.table(headers, table_rows),
            "",
            "Baseline (bare httpx fan-out) runs, wall s: "
            + common.fmt_runs([r["wall"] for r in base], "{:.1f}")
            + "; peak RSS MiB: "
            + common.fmt_runs([r["peak_rss_mib"] for r in base], "{:.0f}")
            + ".",
            "",
            "Per run (seconds from the flow call: first/last submission, median/last job "
            "finished, median/last stored; emulator counters; load when the run started):",
            "",
            "| library | run | wall | stored | submissions | polls | downloads | submitted "
            "first/last | finished p50/last | stored p50/last | load (1/5/15) |",
            "|---|---|---|---|---|---|---|---|---|---|---|",
            *details,
        ]
    )
    intro = (
        "`generate_batch` with N distinct requests (sora-2, 4 s, 1280x720; one shared render "
        "in the emulator), `max_concurrency=N`, `probe=True`, LocalFileSystem storage, in ONE "
        "flow run. The emulator runs in its own process (`serve()` in a child `python -c`, "
        "fps 4); every measured run is a fresh child process (`--child`) after a 2-job "
        "warm-up flow, so peak RSS is that process's own. The Prefect server is "
        "`prefect_test_harness` (SQLite, its own subprocess), started once per invocation "
        "(its start time is given, not included). Baseline **bare httpx fan-out**: the same "
        "jobs with `asyncio.gather` and one `httpx.AsyncClient` per job, no Prefect. "
        "CPU of the emulator is given to show it was not the bottleneck. 'patched' rows "
        "use `--library DIR` (a copy of `prefect_videogen/` with a proposed fix applied, "
        "see the analysis). Target (500 jobs, 10 s latency): wall <= 25 s, peak RSS <= "
        "400 MiB."
    )
    if not args.no_write:
        common.write_section(
            "Fan-out",
            body,
            subsection=f"{args.jobs} jobs, {args.latency:g} s latency: "
            + ", ".join(k.replace("patched: /tmp/", "patched ") for k in rows if k != "baseline"),
            intro=intro,
        )


if __name__ == "__main__":
    main()
