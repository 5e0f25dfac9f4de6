"""Helpers shared by the bench/ scripts: machine description, medians, RSS sampling,
the emulator in its own process, a Prefect server, a moto S3 server, and RESULTS.md sections.

Not a library module: the scripts import it as `common` (they run as `uv run python
bench/bench_X.py`, so `bench/` is on `sys.path`).
"""

from __future__ import annotations

import contextlib
import json
import os
import platform
import re
import shlex
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import psutil

BENCH_DIR = Path(__file__).resolve().parent
REPO_DIR = BENCH_DIR.parent
RESULTS = BENCH_DIR / "RESULTS.md"
API_KEY = "sk-emulator"
AUTH = {"Authorization": f"Bearer {API_KEY}"}
MIB = 1 << 20

#: Our sections of RESULTS.md, in the order they appear (below the emulator's section).
OUR_SECTIONS = (
    "Fan-out",
    "Overhead per job",
    "Download",
    "Cached rerun",
    "Polling",
    "Cost per video",
)

#: A subsection of ours kept across reruns of the script (written by hand).
ANALYSIS_HEADING = "### Analysis"

RESULTS_HEADER = """# Benchmark results

Conventions for every section below:

- **Command**: the exact command that produced the figures (run from the repository root).
- **Machine**: `nproc`, CPU model, RAM, and the 1/5/15-minute load average when the
  measurement was taken. The machine is shared; a load above `nproc` means other processes
  competed for the CPUs and the figures are pessimistic.
- **Figures**: the median of >= 5 runs, with every run listed.
- **Baseline**: each figure is compared, as a ratio, to a named baseline measured in the
  same script on the same machine at the same time.
- **Target**: the target from the issue and PASS / MISS.
"""


# --------------------------------------------------------------------------- machine


def cpu_model() -> str:
    try:
        text = Path("/proc/cpuinfo").read_text()
    except OSError:
        return platform.processor() or "unknown CPU"
    match = re.search(r"^model name\s*:\s*(.+)$", text, re.M)
    return match.group(1).strip() if match else (platform.processor() or "unknown CPU")


def nproc() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - not Linux
        return os.cpu_count() or 1


def load_average() -> str:
    one, five, fifteen = os.getloadavg()
    return f"{one:.2f} / {five:.2f} / {fifteen:.2f}"


def machine() -> str:
    """One line: nproc, CPU, RAM, OS, Python, and the load average now."""
    ram = psutil.virtual_memory().total / 2**30
    return (
        f"nproc {nproc()}, {cpu_model()}, {ram:.1f} GiB RAM, Linux {platform.release()}, "
        f"Python {platform.python_version()}; load average {load_average()} (1/5/15 min)"
    )


def command_line() -> str:
    """The command that is running, as it would be typed from the repository root."""
    script = Path(sys.argv[0]).resolve()
    try:
        script_text = str(script.relative_to(REPO_DIR))
    except ValueError:
        script_text = str(script)
    return "uv run python " + shlex.join([script_text, *sys.argv[1:]])


# --------------------------------------------------------------------------- statistics


def median(values: Sequence[float]) -> float:
    return statistics.median(values)


def fmt_runs(values: Sequence[float], fmt: str = "{:.2f}") -> str:
    return ", ".join(fmt.format(v) for v in values)


def verdict(ok: bool) -> str:
    return "PASS" if ok else "MISS"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


# --------------------------------------------------------------------------- RSS


class RssSampler:
    """Samples the RSS of a process (default: this one) in a background thread.

    `baseline` is the RSS when sampling started, `peak` the highest seen, `growth` their
    difference. `children=True` adds the RSS of the process's children.

    Example:
        ```python
        with RssSampler() as rss:
            work()
        print(rss.peak / 2**20, rss.growth / 2**20)
        ```
    """

    def __init__(
        self, pid: int | None = None, *, interval: float = 0.02, children: bool = False
    ) -> None:
        self.process = psutil.Process(pid or os.getpid())
        self.interval = interval
        self.children = children
        self.baseline = 0
        self.peak = 0
        self.samples = 0
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def read(self) -> int:
        rss = self.process.memory_info().rss
        if self.children:
            for child in self.process.children(recursive=True):
                with contextlib.suppress(psutil.Error):
                    rss += child.memory_info().rss
        return rss

    def _run(self) -> None:
        while not self._stop.is_set():
            with contextlib.suppress(psutil.Error):
                self.peak = max(self.peak, self.read())
                self.samples += 1
            self._stop.wait(self.interval)

    def __enter__(self) -> RssSampler:
        self.baseline = self.peak = self.read()
        self._thread = threading.Thread(target=self._run, name="rss-sampler", daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
        with contextlib.suppress(psutil.Error):
            self.peak = max(self.peak, self.read())

    @property
    def growth(self) -> int:
        return self.peak - self.baseline


def cpu_seconds(pid: int | None = None) -> float:
    """User + system CPU seconds of a process so far."""
    times = psutil.Process(pid or os.getpid()).cpu_times()
    return times.user + times.system


# --------------------------------------------------------------------------- emulator

_EMULATOR_MAIN = """
import sys
from prefect_videogen.emulator import EmulatorConfig, serve
config = EmulatorConfig.model_validate_json(sys.argv[1])
serve(config, host="127.0.0.1", port=int(sys.argv[2]), quiet=True)
"""


@dataclass
class EmulatorProcess:
    """The emulator served by uvicorn in a child process (its CPU is not ours)."""

    base_url: str
    process: subprocess.Popen
    config: dict[str, Any] = field(default_factory=dict)

    @property
    def root(self) -> str:
        return self.base_url[: -len("/v1")]

    @property
    def pid(self) -> int:
        return self.process.pid

    def stats(self) -> dict[str, Any]:
        response = httpx.get(f"{self.root}/emulator/stats", timeout=60, trust_env=False)
        response.raise_for_status()
        return response.json()

    def reset(self) -> None:
        httpx.post(f"{self.root}/emulator/reset", timeout=60, trust_env=False).raise_for_status()

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=10)


@contextlib.contextmanager
def emulator_process(startup_timeout: float = 60.0, **config: Any) -> Iterator[EmulatorProcess]:
    """Start `prefect_videogen.emulator.serve(EmulatorConfig(**config))` in a child process.

    The child is `python -c` with the same interpreter (the uv environment), so every
    `EmulatorConfig` field is available (the CLI exposes only some of them).
    """
    from prefect_videogen.emulator import EmulatorConfig

    parsed = EmulatorConfig(**config)
    doc = parsed.model_dump(mode="json")
    doc["api_key"] = parsed.api_key.get_secret_value() if parsed.api_key else None
    document = json.dumps(doc)
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "-c", _EMULATOR_MAIN, document, str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        cwd=REPO_DIR,
    )
    emulator = EmulatorProcess(f"http://127.0.0.1:{port}/v1", process, config)
    try:
        deadline = time.monotonic() + startup_timeout
        while True:
            if process.poll() is not None:
                raise RuntimeError(
                    f"the emulator exited: {process.stderr.read().decode()[-2000:]}"  # type: ignore[union-attr]
                )
            try:
                if httpx.get(f"{emulator.root}/emulator/health", trust_env=False).is_success:
                    break
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline:
                raise TimeoutError("the emulator did not start")
            time.sleep(0.05)
        yield emulator
    finally:
        emulator.stop()


def submit_raw(
    client: httpx.Client, base_url: str, prompt: str, *, model: str = "sora-2", **fields: Any
) -> dict[str, Any]:
    """POST /videos with plain httpx (JSON body); the job object."""
    body = {"model": model, "prompt": prompt, **fields}
    response = client.post(f"{base_url}/videos", json=body, headers=AUTH)
    response.raise_for_status()
    return response.json()


# --------------------------------------------------------------------------- Prefect


@dataclass
class PrefectServer:
    """A running temporary Prefect server: how long it took to start, and its API URL."""

    start_seconds: float
    api_url: str

    def env(self) -> dict[str, str]:
        """Environment for a child process that should use this server."""
        return {"PREFECT_API_URL": self.api_url}


@contextlib.contextmanager
def prefect_server(timeout: int = 180) -> Iterator[PrefectServer]:
    """A temporary Prefect server (SQLite, its own process) while the block runs.

    Uses `prefect_test_harness`: a temporary database and an API served by a subprocess
    (`SubprocessASGIServer`), the same "ephemeral/local server" a test or a laptop run uses.
    The harness returns once the API answers its health check; that time is `start_seconds`.
    """
    from prefect.settings import PREFECT_API_URL
    from prefect.testing.utilities import prefect_test_harness

    started = time.perf_counter()
    with prefect_test_harness(server_startup_timeout=timeout):
        yield PrefectServer(time.perf_counter() - started, str(PREFECT_API_URL.value()))


def run_child(
    script: Path, args: Sequence[str], *, env: dict[str, str] | None = None, timeout: float = 900
) -> dict[str, Any]:
    """Run `python <script> <args>` and return the JSON it prints on its `RESULT ` line.

    Each measured run gets a fresh process, so its RSS is its own and imports are not
    shared between runs. `env` is added to this process's environment (e.g. PYTHONPATH
    for a patched copy of the library, PREFECT_API_URL).
    """
    child_env = {**os.environ, **(env or {})}
    completed = subprocess.run(
        [sys.executable, str(script), *args],
        env=child_env,
        capture_output=True,
        text=True,
        timeout=timeout,
        cwd=REPO_DIR,
    )
    for line in reversed(completed.stdout.splitlines()):
        if line.startswith("RESULT "):
            return json.loads(line[len("RESULT ") :])
    raise RuntimeError(
        f"{script.name} {' '.join(args)} failed (exit {completed.returncode}):\n"
        f"{completed.stdout[-3000:]}\n{completed.stderr[-5000:]}"
    )


def emit_result(figures: dict[str, Any]) -> None:
    """Print the child's figures for `run_child`."""
    print("RESULT " + json.dumps(figures, default=str), flush=True)


def server_process_pids() -> list[int]:
    """PIDs of the Prefect server processes started by this process (not the emulator's)."""
    pids = []
    for child in psutil.Process().children(recursive=True):
        with contextlib.suppress(psutil.Error):
            cmdline = " ".join(child.cmdline())
            if "prefect.server" in cmdline or "prefect server" in cmdline:
                pids.append(child.pid)
    return pids


# --------------------------------------------------------------------------- S3 (moto)


@contextlib.contextmanager
def moto_server() -> Iterator[str]:
    """A moto S3 server in a child process; yields its endpoint URL."""
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    endpoint = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            if process.poll() is not None:
                raise RuntimeError("moto server exited")
            try:
                httpx.get(endpoint, trust_env=False, timeout=5)
                break
            except httpx.TransportError:
                if time.monotonic() > deadline:
                    raise TimeoutError("moto server did not start") from None
                time.sleep(0.1)
        yield endpoint
    finally:
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def s3_client(endpoint: str) -> Any:
    import boto3

    return boto3.client(
        "s3",
        endpoint_url=endpoint,
        region_name="us-east-1",
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )


def s3_bucket_block(endpoint: str, bucket: str) -> Any:
    """A prefect-aws `S3Bucket` (unsaved) on the moto endpoint."""
    from prefect_aws import AwsCredentials, S3Bucket
    from prefect_aws.client_parameters import AwsClientParameters

    credentials = AwsCredentials(
        region_name="us-east-1",
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
        aws_client_parameters=AwsClientParameters(endpoint_url=endpoint),
    )
    return S3Bucket(bucket_name=bucket, credentials=credentials)


# --------------------------------------------------------------------------- tables


def table(headers: Sequence[str], rows: Sequence[Sequence[Any]]) -> str:
    """A GitHub markdown table."""
    lines = [
        "| " + " | ".join(headers) + " |",
        "|" + "|".join("---" for _ in headers) + "|",
    ]
    lines += ["| " + " | ".join(str(cell) for cell in row) + " |" for row in rows]
    return "\n".join(lines)


def print_table(headers: Sequence[str], rows: Sequence[Sequence[Any]]) -> None:
    widths = [
        max(len(str(h)), *(len(str(r[i])) for r in rows)) if rows else len(str(h))
        for i, h in enumerate(headers)
    ]
    print("  ".join(str(h).ljust(w) for h, w in zip(headers, widths, strict=True)))
    print("  ".join("-" * w for w in widths))
    for row in rows:
        print("  ".join(str(c).ljust(w) for c, w in zip(row, widths, strict=True)))


# --------------------------------------------------------------------------- RESULTS.md


def _split_sections(text: str) -> tuple[str, list[tuple[str, str]]]:
    """(preamble, [(title, body incl. its heading line), ...]) split at `## ` headings."""
    parts = re.split(r"(?m)^(?=## )", text)
    preamble = parts[0]
    sections = []
    for part in parts[1:]:
        title = part.split("\n", 1)[0][3:].strip()
        sections.append((title, part.rstrip() + "\n"))
    return preamble, sections


def _split_subsections(section: str) -> tuple[str, list[tuple[str, str]]]:
    """(text before the first `### `, [(heading, text incl. heading), ...]) of a section."""
    body = section.split("\n", 1)[1] if "\n" in section else ""
    parts = re.split(r"(?m)^(?=### )", body)
    subsections = [(p.split("\n", 1)[0][4:].strip(), p.rstrip() + "\n") for p in parts[1:]]
    return parts[0], subsections


def write_section(
    title: str, body: str, *, subsection: str | None = None, intro: str | None = None
) -> None:
    """Create or replace `## <title>` in bench/RESULTS.md, leaving other sections as they are.

    Sections not written by these scripts (the emulator's) come first, in their order; ours
    follow in `OUR_SECTIONS` order. A missing file is created with the conventions header.
    A hand-written `### Analysis` subsection of the section is kept across reruns.

    With `subsection`, only `### <subsection>` is created or replaced (other subsections,
    e.g. other sizes, stay), and `intro` (if given) replaces the text above the first `###`.
    """
    if title not in OUR_SECTIONS:
        raise ValueError(f"unknown section {title!r}")
    text = RESULTS.read_text() if RESULTS.exists() else RESULTS_HEADER
    preamble, sections = _split_sections(text)
    if "Conventions for every section" not in preamble:
        # A file started by another script: keep its extra text, put our header on top.
        lines = preamble.split("\n")
        rest = "\n".join(lines[1:]) if lines and lines[0].startswith("# ") else preamble
        preamble = RESULTS_HEADER + rest
    theirs = [(t, b) for t, b in sections if t not in OUR_SECTIONS]
    ours = dict((t, b) for t, b in sections if t in OUR_SECTIONS)
    old_intro, old_subsections = _split_subsections(ours.get(title, f"## {title}\n"))
    analysis = [(h, b) for h, b in old_subsections if h == ANALYSIS_HEADING[4:]]
    if subsection is None:
        parts = [body.strip() + "\n"]
    else:
        kept = [(h, b) for h, b in old_subsections if h not in (subsection, ANALYSIS_HEADING[4:])]
        parts = [(intro if intro is not None else old_intro).strip() + "\n"]
        parts += [b for _, b in kept] + [f"### {subsection}\n\n{body.strip()}\n"]
    if ANALYSIS_HEADING not in body:
        parts += [b for _, b in analysis]
    ours[title] = f"## {title}\n\n" + "\n".join(p.rstrip() + "\n" for p in parts if p.strip())
    ordered = theirs + [(t, ours[t]) for t in OUR_SECTIONS if t in ours]
    out = preamble.rstrip() + "\n\n" + "\n".join(b.rstrip() + "\n" for _, b in ordered)
    tmp = RESULTS.with_suffix(".md.tmp")
    tmp.write_text(out)
    os.replace(tmp, RESULTS)


def header_lines(*, process_note: str) -> list[str]:
    """Command and machine lines every section starts with."""
    return [
        f"Command: `{command_line()}`",
        "",
        f"Machine: {machine()}.",
        "",
        process_note,
        "",
    ]


def timed(fn: Callable[[], Any]) -> tuple[float, Any]:
    started = time.perf_counter()
    result = fn()
    return time.perf_counter() - started, result


def env_for_fast_polling(min_interval: float, max_interval: float) -> dict[str, str]:
    return {
        "PREFECT_INTEGRATIONS_VIDEOGEN_POLL_INTERVAL": str(min_interval),
        "PREFECT_INTEGRATIONS_VIDEOGEN_MAX_POLL_INTERVAL": str(max_interval),
    }


def scratch_dir(prefix: str) -> Path:
    return Path(tempfile.mkdtemp(prefix=f"videogen-bench-{prefix}-"))


def dump(obj: Any) -> str:
    return json.dumps(obj, indent=2, default=str)
