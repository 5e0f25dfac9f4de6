"""CPU of the submission ledger alone: per new submission and per reuse, no HTTP.

Run:
    uv run python bench/bench_ledger.py                       # this checkout
    uv run python bench/bench_ledger.py --library /tmp/before # and an older copy

`SubmissionLedger.submit` (sync) for N distinct requests with a client whose `create`
returns a job at once, on local result storage and the file lock manager (the defaults),
after a warm-up of 30 submissions; then the same N again (each one reused). Every round is
a fresh child process; a `--library DIR` round runs with `PYTHONPATH=DIR`, so a copy of
`prefect_videogen/` made with `git archive REV prefect_videogen | tar -x -C DIR` is measured
the same way. Prints the median CPU milliseconds per submission of each kind; nothing is
written to RESULTS.md (the figures go in by hand, with this command).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time


def child(n: int) -> None:
    tmp = tempfile.mkdtemp(prefix="videogen-bench-ledger-")
    os.environ["PREFECT_RESULTS_LOCAL_STORAGE_PATH"] = f"{tmp}/results"
    os.environ["PREFECT_INTEGRATIONS_VIDEOGEN_LOCK_DIR"] = f"{tmp}/locks"
    from prefect.filesystems import LocalFileSystem

    from prefect_videogen._prefect import _store_with
    from prefect_videogen.caching import normalize_request
    from prefect_videogen.credentials import VideoGenCredentials
    from prefect_videogen.families import VideoRequest
    from prefect_videogen.ledger import SubmissionLedger
    from prefect_videogen.models import VideoJob

    class InstantClient:
        made = 0

        def create(self, normalized, idempotency_key=None):
            InstantClient.made += 1
            return VideoJob.model_validate(
                {"id": f"video_{InstantClient.made}", "status": "queued", "model": "sora-2"}
            )

    credentials = VideoGenCredentials(base_url="http://127.0.0.1:9/v1", api_key="sk-bench")
    # The run's result storage as the ledger makes it (no Prefect server is needed).
    store = _store_with(LocalFileSystem(basepath=f"{tmp}/results"))
    ledger = SubmissionLedger(credentials, store=store, detailed=False)
    client = InstantClient()

    def requests(tag: str, count: int) -> list:
        return [
            normalize_request(
                VideoRequest(model="sora-2", prompt=f"{tag} {i}", seconds=4, size="1280x720")
            )
            for i in range(count)
        ]

    for normalized, family in requests(f"warm-up {time.time()}", 30):
        ledger.submit(client, normalized, family, 0)
    measured = requests(f"measured {time.time()}", n)
    figures = {}
    for kind in ("new", "reuse"):
        started = time.process_time()
        for normalized, family in measured:
            ledger.submit(client, normalized, family, 0)
        figures[kind] = 1000 * (time.process_time() - started) / n
    assert InstantClient.made == 30 + n, "a reuse created a job"
    print(json.dumps(figures))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--submissions", type=int, default=400)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--library", action="append", default=[], metavar="DIR")
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args.submissions)
        return
    kinds = {"this checkout": None, **{f"library {d}": d for d in args.library}}
    results: dict[str, list[dict]] = {kind: [] for kind in kinds}
    for _ in range(args.rounds):
        for kind, library in kinds.items():
            env = dict(os.environ, PREFECT_SERVER_ANALYTICS_ENABLED="false")
            if library:
                env["PYTHONPATH"] = library
            out = subprocess.run(
                [sys.executable, __file__, "--child", "--submissions", str(args.submissions)],
                env=env,
                capture_output=True,
                text=True,
                check=True,
            ).stdout
            results[kind].append(json.loads(out.strip().splitlines()[-1]))
    print(f"{args.submissions} submissions, {args.rounds} rounds; CPU ms per submission")
    for kind, runs in results.items():
        for figure in ("new", "reuse"):
            values = [run[figure] for run in runs]
            listed = ", ".join(f"{v:.2f}" for v in values)
            print(f"{kind:40s} {figure:5s} median {statistics.median(values):.2f}  ({listed})")


if __name__ == "__main__":
    main()
