"""Download of a large result (default 1 GiB): our client and tasks vs curl, and to S3 vs boto3.

Run:
    uv run python bench/bench_download.py                      # 1 GiB, 5 runs
    uv run python bench/bench_download.py --size-mib 256       # smaller
    uv run python bench/bench_download.py --s3-size-mib 1024   # S3 at 1 GiB too (slow: moto)

The emulator runs in its own process (`serve()` in a child `python -c`) with
`pad_content_to=<size>`: the MP4 gets a trailing `free` box (sparse on disk) and is
streamed from disk by the emulator's `FileStream`. One job is made and downloaded again
and again. Every download goes to a file in the same temporary directory, removed after
each run. Variants, run in turn in each round (median of `--runs` rounds):

- baseline **curl**: `/usr/bin/curl -sf -H 'Authorization: ...' -o FILE URL` (a child process;
  its start is included, a few ms);
- reference: httpx `client.stream()` to a file, no hashing, no fsync (what the raw
  transport gives in Python);
- library: `VideoGenClient.download_content(id, FILE)` (streams to `.part`, sha256 while
  writing, fsync, rename) with this process's RSS sampled every 20 ms: growth = peak - RSS
  before the call;
- with `--library DIR`, "library, patched": the same call from a patched copy of the
  library (`PYTHONPATH=DIR`), in a child process (its start is not timed);
- task, LocalFileSystem: the `download_video` task (probe off, thumbnail on: its default)
  called inside a flow, timed around the task call;
- task, S3Bucket on a moto server (moto in its own process, objects in memory): the same
  task with a prefect-aws `S3Bucket` block; and the upload step alone (`open_target` +
  `StorageTarget.store()`, i.e. `S3Bucket.upload_from_path`) on an already downloaded file;
- baseline for S3: boto3 `upload_file` of the same file to the same moto server.

Targets (issue 6.3): download >= 80 % of curl's throughput with RSS growth < 64 MiB; to
S3Bucket on moto >= 80 % of boto3 upload_file.
"""

from __future__ import annotations

import argparse
import contextlib
import gc
import os
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

CURL = "/usr/bin/curl"
SCRIPT = Path(__file__).resolve()
THROUGHPUT_TARGET = 0.8
RSS_TARGET_MIB = 64.0


def make_job(base_url: str) -> str:
    with httpx.Client(timeout=600, trust_env=False, headers=common.AUTH) as client:
        job = common.submit_raw(
            client, base_url, f"big download {secrets.token_hex(4)}", seconds="4", size="1280x720"
        )
        while job["status"] not in ("completed", "failed"):
            time.sleep(0.2)
            job = client.get(f"{base_url}/videos/{job['id']}").json()
        if job["status"] != "completed":
            raise RuntimeError(f"the emulator job failed: {job}")
        return job["id"]


def timed_rss(fn, *args) -> tuple[float, float, object]:
    """(seconds, RSS growth in MiB, what fn returned) of `fn(*args)`."""
    gc.collect()
    with common.RssSampler() as rss:
        started = time.perf_counter()
        value = fn(*args)
        elapsed = time.perf_counter() - started
    return elapsed, rss.growth / common.MIB, value


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5, help="rounds (>= 5)")
    parser.add_argument("--size-mib", type=int, default=1024, help="size of the result")
    parser.add_argument(
        "--s3-size-mib",
        type=int,
        default=256,
        help="size for the S3 part (moto keeps objects in memory and takes ~40 s per GiB)",
    )
    parser.add_argument("--no-s3", action="store_true", help="skip the S3 part")
    parser.add_argument(
        "--library",
        default=None,
        metavar="DIR",
        help="also time VideoGenClient.download_content from a patched copy (PYTHONPATH=DIR)",
    )
    parser.add_argument("--no-write", action="store_true", help="do not update RESULTS.md")
    parser.add_argument("--child-download", nargs=3, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child_download:
        child_download(*args.child_download)
        return
    if not Path(CURL).exists():
        raise SystemExit(f"{CURL} not found")
    size = args.size_mib * common.MIB
    s3_size = args.s3_size_mib * common.MIB

    tmp = Path(tempfile.mkdtemp(prefix="videogen-bench-download-"))
    os.environ.setdefault("PREFECT_RESULTS_LOCAL_STORAGE_PATH", str(tmp / "results"))
    os.environ.setdefault("PREFECT_LOGGING_LEVEL", "WARNING")
    figures: dict[str, list[dict]] = {}
    notes: dict[str, object] = {}

    def add(name: str, seconds: float, nbytes: int, rss_mib: float | None = None) -> None:
        figures.setdefault(name, []).append(
            {
                "seconds": seconds,
                "mib_s": nbytes / common.MIB / seconds,
                "rss_growth_mib": rss_mib,
                "load": common.load_average(),
            }
        )
        rss = f", RSS growth {rss_mib:.1f} MiB" if rss_mib is not None else ""
        print(f"  {name}: {seconds:.2f} s, {nbytes / common.MIB / seconds:.0f} MiB/s{rss}")

    try:
        with common.prefect_server() as server:
            notes["prefect_start"] = server.start_seconds
            with common.emulator_process(latency=0, fps=4, pad_content_to=size) as emulator:
                started = time.perf_counter()
                job_id = make_job(emulator.base_url)
                notes["emulator_prepare_s"] = time.perf_counter() - started
                local_rounds(args, emulator, job_id, size, tmp, add)
            if not args.no_s3:
                with (
                    common.emulator_process(latency=0, fps=4, pad_content_to=s3_size) as emulator,
                    common.moto_server() as endpoint,
                ):
                    job_id = make_job(emulator.base_url)
                    notes["moto_peak_rss_mib"] = s3_rounds(
                        args, emulator, job_id, s3_size, endpoint, tmp, add
                    )
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    report(args, figures, notes, size, s3_size)


def _flow_download(credentials, job_id: str, storage, path: str) -> float:
    """Run `download_video` inside a flow; seconds spent in the task call."""
    from prefect import flow

    from prefect_videogen.records import JobRecord
    from prefect_videogen.tasks import download_video

    @flow(name="bench-download", persist_result=False)
    def bench_download_flow() -> float:
        record = JobRecord(job_id=job_id, model="sora-2")
        started = time.perf_counter()
        download_video(record, credentials, storage=storage, path_template=path)
        return time.perf_counter() - started

    return bench_download_flow()


def local_rounds(args, emulator, job_id: str, size: int, tmp: Path, add) -> None:
    from prefect.filesystems import LocalFileSystem

    from prefect_videogen.client import VideoGenClient
    from prefect_videogen.credentials import VideoGenCredentials

    url = f"{emulator.base_url}/videos/{job_id}/content"
    credentials = VideoGenCredentials(base_url=emulator.base_url, api_key=common.API_KEY)
    out = tmp / "out"
    out.mkdir()
    # Warm-up: the page cache of the padded file, imports, the flow machinery.
    subprocess.run(
        [
            CURL,
            "-sf",
            "-H",
            f"Authorization: Bearer {common.API_KEY}",
            "-o",
            str(out / "warm"),
            url,
        ],
        check=True,
    )
    _flow_download(credentials, job_id, LocalFileSystem(basepath=str(out)), "warm.mp4")
    shutil.rmtree(out)
    out.mkdir()
    for run in range(args.runs):
        print(f"round {run + 1} (load {common.load_average()})", flush=True)
        target = out / "curl.mp4"
        elapsed, _, _ = timed_rss(curl_download, url, target)
        assert target.stat().st_size == size
        add("curl", elapsed, size)
        target.unlink()
        settle()

        target = out / "httpx.mp4"
        elapsed, growth, _ = timed_rss(httpx_download, url, target)
        assert target.stat().st_size == size
        add("httpx stream", elapsed, size, growth)
        target.unlink()
        settle()

        target = out / "lib.mp4"
        with VideoGenClient(emulator.base_url, common.API_KEY) as client:
            elapsed, growth, _ = timed_rss(client.download_content, job_id, target)
        assert target.stat().st_size == size
        add("library", elapsed, size, growth)
        target.unlink()
        settle()

        if args.library:
            figures = common.run_child(
                SCRIPT,
                ["--child-download", emulator.base_url, job_id, str(target)],
                env={"PYTHONPATH": args.library},
            )
            assert figures["size"] == size
            add("library, patched", figures["seconds"], size, figures["rss_growth_mib"])
            target.unlink()
            settle()

        block = LocalFileSystem(basepath=str(out))
        _, growth, inner = timed_rss(_flow_download, credentials, job_id, block, f"task-{run}.mp4")
        add("task LocalFileSystem", inner, size, growth)
        shutil.rmtree(out)
        out.mkdir()
        settle()


def settle() -> None:
    """Write back dirty pages (untimed), so no run pays for the previous run's writeback."""
    os.sync()
    time.sleep(0.5)


def child_download(base_url: str, job_id: str, target: str) -> None:
    """`--child-download`: time `download_content` of the library found on PYTHONPATH."""
    import prefect_videogen.client

    client = prefect_videogen.client.VideoGenClient(base_url, common.API_KEY)
    elapsed, growth, content = timed_rss(client.download_content, job_id, Path(target))
    common.emit_result(
        {
            "seconds": elapsed,
            "rss_growth_mib": growth,
            "size": content.size,
            "module": prefect_videogen.client.__file__,
        }
    )


def curl_download(url: str, target: Path) -> None:
    subprocess.run(
        [CURL, "-sf", "-H", f"Authorization: Bearer {common.API_KEY}", "-o", str(target), url],
        check=True,
    )


def httpx_download(url: str, target: Path) -> None:
    with (
        httpx.Client(timeout=600, trust_env=False) as client,
        client.stream("GET", url, headers=common.AUTH) as response,
        open(target, "wb") as handle,
    ):
        response.raise_for_status()
        for chunk in response.iter_bytes(1 << 20):
            handle.write(chunk)


def store_only(block, source: Path, path: str) -> float:
    """Our upload step alone: `open_target` + `StorageTarget.store()`; seconds in store()."""
    from prefect_videogen.storage import open_target

    with open_target(block, path) as target:
        os.link(source, target.local_path)  # the file is "downloaded" already
        started = time.perf_counter()
        target.store()
        return time.perf_counter() - started


def s3_rounds(args, emulator, job_id: str, size: int, endpoint: str, tmp: Path, add) -> float:
    import psutil

    from prefect_videogen.client import VideoGenClient
    from prefect_videogen.credentials import VideoGenCredentials

    bucket = f"bench-{secrets.token_hex(4)}"
    s3 = common.s3_client(endpoint)
    s3.create_bucket(Bucket=bucket)
    block = common.s3_bucket_block(endpoint, bucket)
    credentials = VideoGenCredentials(base_url=emulator.base_url, api_key=common.API_KEY)
    source = tmp / "source.mp4"
    with VideoGenClient(emulator.base_url, common.API_KEY) as client:
        client.download_content(job_id, source)
    moto = [
        p
        for p in psutil.process_iter(["cmdline"])
        if "moto.server" in " ".join(p.info["cmdline"] or [])
    ]
    moto_peak = 0.0

    def clear() -> None:
        nonlocal moto_peak
        for proc in moto:
            with contextlib.suppress(psutil.Error):
                moto_peak = max(moto_peak, proc.memory_info().rss / common.MIB)
        listed = s3.list_objects_v2(Bucket=bucket).get("Contents", [])
        for item in listed:
            s3.delete_object(Bucket=bucket, Key=item["Key"])

    # Warm-up (imports, first connection, moto's first big object).
    s3.upload_file(str(source), bucket, "warm.mp4")
    _flow_download(credentials, job_id, block, "warm-task.mp4")
    clear()
    for run in range(args.runs):
        print(f"S3 round {run + 1} (load {common.load_average()})", flush=True)
        elapsed, growth, _ = timed_rss(s3.upload_file, str(source), bucket, f"boto3-{run}.mp4")
        add("boto3 upload_file", elapsed, size, growth)
        clear()
        _, growth, inner = timed_rss(store_only, block, source, f"store-{run}.mp4")
        add("upload step (StorageTarget.store)", inner, size, growth)
        clear()
        _, growth, inner = timed_rss(_flow_download, credentials, job_id, block, f"task-{run}.mp4")
        add("task S3Bucket (download + upload)", inner, size, growth)
        clear()
    return moto_peak


def report(args, figures: dict[str, list[dict]], notes: dict, size: int, s3_size: int) -> None:
    def med(name: str, key: str = "mib_s") -> float:
        return common.median([f[key] for f in figures[name]])

    def rss_cell(runs: list[dict]) -> str:
        if runs[0]["rss_growth_mib"] is None:
            return ""
        values = [f["rss_growth_mib"] for f in runs]
        return f"{common.median(values):.1f} (max {max(values):.1f})"

    curl = med("curl")
    headers = [
        "path",
        "median MiB/s",
        "runs (MiB/s)",
        "median s",
        "RSS growth MiB: median (max)",
        "ratio",
        "target",
        "result",
    ]
    rows = []
    verdicts = []
    names = ["curl", "httpx stream", "library", "library, patched", "task LocalFileSystem"]
    for name in [n for n in names if n in figures]:
        runs = figures[name]
        ratio = med(name) / curl
        target, result = "", ""
        if name in ("library", "library, patched", "task LocalFileSystem"):
            target = f">= {THROUGHPUT_TARGET:.0%} of curl, RSS growth < {RSS_TARGET_MIB:g} MiB"
            max_rss = max(f["rss_growth_mib"] for f in runs)
            result = common.verdict(ratio >= THROUGHPUT_TARGET and max_rss < RSS_TARGET_MIB)
            if name != "library, patched":
                verdicts.append(f"{name}: {result}")
        rows.append(
            [
                name,
                f"{med(name):.0f}",
                common.fmt_runs([f["mib_s"] for f in runs], "{:.0f}"),
                f"{med(name, 'seconds'):.2f}",
                rss_cell(runs),
                f"{ratio:.2f} x curl",
                target,
                result,
            ]
        )
    s3_lines: list[str] = []
    if "boto3 upload_file" in figures:
        boto = med("boto3 upload_file")
        suffix = f" [{s3_size // common.MIB} MiB]" if s3_size != size else ""
        for name in (
            "boto3 upload_file",
            "upload step (StorageTarget.store)",
            "task S3Bucket (download + upload)",
        ):
            runs = figures[name]
            ratio = med(name) / boto
            target, result = "", ""
            if name == "upload step (StorageTarget.store)":
                target = f">= {THROUGHPUT_TARGET:.0%} of boto3 upload_file"
                result = common.verdict(ratio >= THROUGHPUT_TARGET)
                verdicts.append(f"S3 upload step: {result}")
            rows.append(
                [
                    name + suffix,
                    f"{med(name):.0f}",
                    common.fmt_runs([f["mib_s"] for f in runs], "{:.0f}"),
                    f"{med(name, 'seconds'):.2f}",
                    rss_cell(runs),
                    f"{ratio:.2f} x boto3",
                    target,
                    result,
                ]
            )
        if s3_size == size:
            tools = med("curl", "seconds") + med("boto3 upload_file", "seconds")
            ours = med("task S3Bucket (download + upload)", "seconds")
            e2e = tools / ours
            result = common.verdict(e2e >= THROUGHPUT_TARGET)
            verdicts.append(f"S3 end to end: {result}")
            s3_lines = [
                "",
                f"End to end to S3: curl's download then boto3's upload take {tools:.2f} s "
                f"(sum of the medians); the `download_video` task to S3Bucket takes {ours:.2f} s: "
                f"{e2e:.2f} x the tools' throughput (target >= {THROUGHPUT_TARGET:.0%}): "
                f"**{result}**.",
            ]
        s3_lines += [
            "",
            f"moto server RSS seen after uploads: up to {notes.get('moto_peak_rss_mib', 0):.0f} "
            "MiB (it keeps objects in memory; each object is deleted after its run).",
        ]
    common.print_table(headers, rows)
    loads = sorted({f["load"] for runs in figures.values() for f in runs})
    body = "\n".join(
        [
            *common.header_lines(
                process_note=(
                    f"The emulator ran in its own process (`serve()` in a child `python -c`, "
                    f"`pad_content_to={size}`: the MP4 plus a sparse `free` box, streamed from "
                    "disk by its FileStream); preparing the job (render, padding, hashing) took "
                    f"{notes.get('emulator_prepare_s', 0):.1f} s. moto ran as `python -m "
                    "moto.server` in its own process. The clients ran in this process, one "
                    "after the other, each round in the same order; files went to one temporary "
                    "directory on the same disk, removed after each download and followed by "
                    "an untimed `sync` (so no download pays for the previous one's writeback). "
                    "The Prefect server (`prefect_test_harness`, "
                    f"for the task rows) started in {notes.get('prefect_start', 0):.1f} s "
                    "(not included). Baselines: **curl** for downloads, **boto3 upload_file** "
                    "for S3."
                    + (
                        f" 'library, patched' = `download_content` from `{args.library}` "
                        "(see the analysis), in a child process."
                        if args.library
                        else ""
                    )
                )
            ),
            common.table(headers, rows),
            *s3_lines,
            "",
            "Results: " + "; ".join(verdicts) + ".",
            "",
            "Load averages seen during the rounds: " + ", ".join(loads) + ".",
        ]
    )
    if not args.no_write:
        common.write_section("Download", body)


if __name__ == "__main__":
    main()
