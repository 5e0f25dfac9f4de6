"""Polling: requests per job and completion-detection delay, ours vs the openai SDK.

Run:
    uv run python bench/bench_polling.py                       # latencies 2 5 10 30 60 s, 5 jobs
    uv run python bench/bench_polling.py --latencies 2 10 --runs 5

For each emulated latency L an emulator runs in its own process (`serve()` in a child
`python -c`, openai dialect, which sends `openai-poll-after-ms` = L*100 ms within
50..2000 ms while a job is unfinished). Before measuring, one job with the same prompt and
size is rendered, so every measured job shares that finished render and completes exactly
L seconds after the emulator created it (`Store.state`: completed at
`max(created_at + latency, render finished)`).

Each measured job is created with one plain httpx POST; `created_at` (the emulator's
`time.time()`) lies between the POST being sent and its answer (a few ms on 127.0.0.1;
the job JSON only has whole seconds), so the exact completion time is taken as the middle
of that interval + L. Then, after a random pause of U(0, 1) s (the same seeded draws for
every poller, so that the completion falls at a random phase of the polling interval, as
it would with real, uneven latencies), one poller waits for it:

- baseline **SDK fixed 1 s**: `OpenAI(...).videos.poll(id, poll_interval_ms=1000)`;
- SDK default: `videos.poll(id)` (takes the first `openai-poll-after-ms`, then keeps it);
- ours with the hint: `VideoGenClient.wait(id)` (defaults: min 1 s, x1.5, max 15 s; the
  server's hint, capped at max_interval, replaces the backoff when present);
- ours without the hint: the same, through an httpx transport that strips
  `openai-poll-after-ms` from every answer (as on new-api gateways, which send none).

Detection delay = when the poller returned - exact completion time. Requests per job = the
emulator's per-job poll counter (GET /videos/{id}; the create is not counted). All pollers
of one latency run at the same time in threads of this process (`--runs` jobs each).
No numeric target in the issue: figures are compared to the SDK's fixed 1 s interval.
"""

from __future__ import annotations

import argparse
import random
import secrets
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent))

import common

BASELINE = "SDK fixed 1 s"
VARIANTS = (BASELINE, "SDK default (hint once)", "ours, hint", "ours, no hint")


class StripPollHint(httpx.HTTPTransport):
    """An httpx transport that removes `openai-poll-after-ms` from every answer."""

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        response = super().handle_request(request)
        if "openai-poll-after-ms" in response.headers:
            del response.headers["openai-poll-after-ms"]
        return response


def make_pollers(base_url: str) -> dict[str, Callable[[str], object]]:
    from openai import OpenAI

    from prefect_videogen.client import VideoGenClient

    sdk = OpenAI(base_url=base_url, api_key=common.API_KEY, max_retries=0)
    ours = VideoGenClient(base_url, common.API_KEY)
    ours_plain = VideoGenClient(base_url, common.API_KEY, transport=StripPollHint())
    return {
        BASELINE: lambda job_id: sdk.videos.poll(job_id, poll_interval_ms=1000),
        "SDK default (hint once)": lambda job_id: sdk.videos.poll(job_id),
        "ours, hint": lambda job_id: ours.wait(job_id, model="sora-2", timeout=600),
        "ours, no hint": lambda job_id: ours_plain.wait(job_id, model="sora-2", timeout=600),
    }


def one_latency(latency: float, runs: int) -> dict[str, list[dict]]:
    results: dict[str, list[dict]] = {variant: [] for variant in VARIANTS}
    prompt = f"polling {secrets.token_hex(4)}"
    with common.emulator_process(latency=latency, fps=4) as emulator:
        base_url = emulator.base_url
        with httpx.Client(timeout=60, trust_env=False, headers=common.AUTH) as client:
            warm = common.submit_raw(client, base_url, prompt, seconds="4", size="1280x720")
            while client.get(f"{base_url}/videos/{warm['id']}").json()["status"] != "completed":
                time.sleep(0.1)
        emulator.reset()
        pollers = make_pollers(base_url)
        lock = threading.Lock()
        # Create every job first, one at a time, so each create is answered quickly and
        # brackets the emulator's created_at tightly; then start all pollers at once.
        planned: list[tuple[str, dict]] = []
        hint = None
        offsets = random.Random(int(latency * 1000))
        draws = [offsets.uniform(0, 1) for _ in range(runs)]
        with httpx.Client(timeout=60, trust_env=False, headers=common.AUTH) as client:
            for run_index in range(runs):
                for variant in VARIANTS:
                    sent = time.time()
                    response = client.post(
                        f"{base_url}/videos",
                        json={
                            "model": "sora-2",
                            "prompt": prompt,
                            "seconds": "4",
                            "size": "1280x720",
                        },
                    )
                    answered = time.time()
                    response.raise_for_status()
                    hint = response.headers.get("openai-poll-after-ms", hint)
                    figure = {
                        "id": response.json()["id"],
                        "completes": (sent + answered) / 2 + latency,
                        "uncertainty": (answered - sent) / 2,
                        "offset": draws[run_index],
                    }
                    planned.append((variant, figure))

        def run(variant: str, figure: dict) -> None:
            # Start polling at a random phase (same draws for every poller, seeded): with the
            # emulator's exact latencies, pollers started at creation would meet completion
            # at one fixed phase of their interval, and every run would show the same delay.
            time.sleep(figure["offset"])
            pollers[variant](figure["id"])
            seen = time.time()
            figure["delay"] = seen - figure["completes"]
            with lock:
                results[variant].append(figure)

        threads = [
            threading.Thread(target=run, args=planned_job, name=f"{planned_job[0]}-{n}")
            for n, planned_job in enumerate(planned)
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        stats = emulator.stats()
        for variant in VARIANTS:
            for figure in results[variant]:
                figure["polls"] = stats["jobs"][figure["id"]]["polls"]
                figure["hint_ms"] = hint
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5, help="jobs per poller and latency (>= 5)")
    parser.add_argument(
        "--latencies", type=float, nargs="+", default=[2, 5, 10, 30, 60], help="seconds"
    )
    parser.add_argument("--no-write", action="store_true", help="do not update RESULTS.md")
    args = parser.parse_args()

    table_rows = []
    loads = []
    for latency in args.latencies:
        loads.append(f"L={latency:g}: {common.load_average()}")
        results = one_latency(latency, args.runs)
        base_polls = common.median([r["polls"] for r in results[BASELINE]])
        base_delay = common.median([r["delay"] for r in results[BASELINE]])
        for variant in VARIANTS:
            runs = results[variant]
            polls = common.median([r["polls"] for r in runs])
            delay = common.median([r["delay"] for r in runs])
            table_rows.append(
                [
                    f"{latency:g} s",
                    runs[0]["hint_ms"] or "",
                    variant,
                    f"{polls:g}",
                    common.fmt_runs([r["polls"] for r in runs], "{:g}"),
                    f"{polls / base_polls:.2f}",
                    f"{delay:.3f}",
                    common.fmt_runs([r["delay"] for r in runs], "{:.2f}"),
                    f"{delay / base_delay:.2f}" if base_delay > 0 else "",
                    f"{max(r['uncertainty'] for r in runs) * 1000:.0f}",
                ]
            )
        print(f"latency {latency:g} s done", flush=True)
    headers = [
        "latency",
        "hint (ms)",
        "poller",
        "polls/job median",
        "polls, runs",
        "polls vs SDK fixed",
        "delay median (s)",
        "delay, runs (s)",
        "delay vs SDK fixed",
        "+/- ms",
    ]
    common.print_table(headers, table_rows)
    body = "\n".join(
        [
            *common.header_lines(
                process_note=(
                    "One emulator per latency, each in its own process (`serve()` in a child "
                    "`python -c`, openai dialect, hint = latency*100 ms within 50..2000 ms); "
                    "the pollers ran concurrently in threads of this process "
                    f"({args.runs} jobs per poller and latency). Baseline: **SDK fixed 1 s** "
                    "(`videos.poll(id, poll_interval_ms=1000)`). Delay = when the poller "
                    "returned - (mid-point of the create request + latency); `+/-` is the "
                    "largest half-width of the create request, the error bound of that "
                    "completion time. All jobs are created first, one at a time; each poller "
                    "then starts after a seeded random pause of U(0, 1) s (run k of every "
                    "poller gets the same pause) so completion falls at a random phase of "
                    "the polling interval. Polls = the emulator's per-job GET counter."
                )
            ),
            common.table(headers, table_rows),
            "",
            "Load averages when each latency started: " + "; ".join(loads) + ".",
            "",
            "Target: none numeric in the issue; compared to the SDK's fixed 1 s interval.",
        ]
    )
    if not args.no_write:
        common.write_section("Polling", body)


if __name__ == "__main__":
    main()
