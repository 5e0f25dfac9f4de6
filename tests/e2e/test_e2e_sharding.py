"""End to end: one batch split into shards over two process workers standing for two machines.

A real `prefect server start` (the module's own stack, see conftest.py), a second work pool
with two process workers that share nothing but what several machines would share: a real
`redis-server` for the submission locks and an S3 bucket (moto server) as the default
result storage. Each worker has its own PREFECT_HOME and lock directory.

The same sharded batch is started twice at once (two parents, 2 shards each, so 4 child
flow runs on 2 workers): every entry is stored, identical requests share one job, and the
emulator sees exactly one create per distinct request.

Resume: a sharded batch of 8 is killed half way (kill -9 of the parent and of one worker
with its flow run), that worker is started again and the batch rerun: no request is paid
twice, no video stored before the rerun is downloaded again, every video is stored.
"""

from __future__ import annotations

import json
import subprocess
import textwrap

import pytest
from plugins.postgres_fixtures import PostgresCluster

from prefect_videogen.emulator import get_stats

from .conftest import REPO, Stack

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(600), pytest.mark.xdist_group("e2e-sharding")]

POOL = "videogen-shards"
SHARD = "generate-video-batch/shard"
RESULTS_BLOCK = "shard-results"

ENTRIES = [
    {"prompt": f"sharded scene {n}", "model": "emu-video", "seconds": 2, "size": "96x64"}
    for n in range(4)
]
ENTRIES.append(dict(ENTRIES[1]))  # a duplicate: must share a job with entry 1


def _script(body: str) -> str:
    return textwrap.dedent(body).strip()


def start_shard_worker(stack: Stack, machine: str, env: dict[str, str]) -> subprocess.Popen:
    """A process worker of the shard pool standing for `machine`: its own home and lock dir.

    The log is `shard-worker-<machine>[-<n>].log` (a restarted worker gets a new one).
    """
    home = stack.log_dir.parent / f"machine-{machine}"
    home.mkdir(exist_ok=True)
    name = f"shard-worker-{machine}"
    restarts = sum(1 for p in stack._processes if f"machine-{machine}" in p.args)
    if restarts:
        name += f"-{restarts}"
    return stack.start(
        name,
        "-m", "prefect", "worker", "start", "--pool", POOL, "--type", "process",
        "--name", f"machine-{machine}",
        extra_env={
            **env,
            "PREFECT_HOME": str(home),
            "PREFECT_INTEGRATIONS_VIDEOGEN_LOCK_DIR": str(home / "locks"),
        },
    )  # fmt: skip


@pytest.fixture(scope="module")
def shard_setup(stack: Stack, redis_url: str, s3_endpoint: str) -> dict[str, str]:
    """Results bucket block, the shard deployment on its own pool, two workers."""
    import uuid

    import boto3

    bucket = f"shard-results-{uuid.uuid4().hex[:8]}"
    boto3.client(
        "s3", endpoint_url=s3_endpoint, region_name="us-east-1",
        aws_access_key_id="testing", aws_secret_access_key="testing",
    ).create_bucket(Bucket=bucket)  # fmt: skip
    stack.run(
        "shard-setup",
        "-c",
        _script(f"""
            from prefect.client.orchestration import get_client
            from prefect.client.schemas.actions import WorkPoolCreate
            from prefect.workers.process import ProcessWorker
            from prefect_aws import AwsCredentials, S3Bucket
            from prefect_aws.client_parameters import AwsClientParameters

            S3Bucket(
                bucket_name={bucket!r},
                bucket_folder="results",
                credentials=AwsCredentials(
                    region_name="us-east-1",
                    aws_access_key_id="testing",
                    aws_secret_access_key="testing",
                    aws_client_parameters=AwsClientParameters(endpoint_url={s3_endpoint!r}),
                ),
            ).save({RESULTS_BLOCK!r}, overwrite=True)
            with get_client(sync_client=True) as client:
                client.create_work_pool(WorkPoolCreate(
                    name={POOL!r}, type="process",
                    base_job_template=ProcessWorker.get_default_base_job_template(),
                ))
            from prefect_videogen.flows import generate_batch
            generate_batch.from_source(
                source={str(REPO)!r}, entrypoint="flows/generate_batch.py:generate_batch"
            ).deploy(name="shard", work_pool_name={POOL!r})
        """),
    )
    shared = {
        "PREFECT_INTEGRATIONS_VIDEOGEN_LOCK_MANAGER": redis_url,
        "PREFECT_RESULTS_DEFAULT_STORAGE_BLOCK": f"s3-bucket/{RESULTS_BLOCK}",
        "PREFECT_INTEGRATIONS_VIDEOGEN_POLL_INTERVAL": "0.1",
        # A short lock hold: a submit lock a kill -9 leaves in Redis (the resume test)
        # expires in 20 s, not 60. Live holders renew theirs every third of it.
        "PREFECT_INTEGRATIONS_VIDEOGEN_LOCK_HOLD_SECONDS": "20",
    }
    for machine in ("a", "b"):
        start_shard_worker(stack, machine, shared)

    def both_online() -> bool:
        with stack.client() as client:
            workers = client.read_workers_for_work_pool(POOL)
            return sum(w.status.value == "ONLINE" for w in workers) == 2

    stack.wait_for("two shard workers to come online", both_online)
    return {**shared, "bucket": bucket}


def test_a_batch_started_twice_at_once_over_two_workers_pays_once_per_request(
    postgres: PostgresCluster, stack: Stack, shard_setup: dict[str, str]
) -> None:
    env = {k: v for k, v in shard_setup.items() if k != "bucket"}
    parameters = {"credentials": "videogen", "storage": "local-file-system/videogen-videos"}
    script = _script(f"""
        import asyncio, json
        from prefect_videogen.flows import generate_batch_sharded

        videos = asyncio.run(generate_batch_sharded(
            requests={ENTRIES!r},
            shards=2,
            deployment={SHARD!r},
            parameters={parameters!r},
        ))
        print("RESULT " + json.dumps([v.model_dump(mode="json") for v in videos]))
    """)
    creates_before = get_stats(stack.emulator_url)["requests"].get("create", 0)
    parents = [stack.start(f"sharded-{n}", "-c", script, extra_env=env) for n in (1, 2)]
    outputs = [stack.finish(f"sharded-{n}", p) for n, p in zip((1, 2), parents, strict=True)]

    batches = []
    for output in outputs:
        line = next(x for x in output.splitlines() if x.startswith("RESULT "))
        batches.append(json.loads(line.removeprefix("RESULT ")))
    for videos in batches:
        assert len(videos) == len(ENTRIES)
        assert videos[1]["job_id"] == videos[4]["job_id"]
        assert len({v["job_id"] for v in videos}) == 4
    # Both parents got the same jobs: the second batch paid for nothing.
    assert [v["job_id"] for v in batches[0]] == [v["job_id"] for v in batches[1]]
    creates = get_stats(stack.emulator_url)["requests"].get("create", 0) - creates_before
    assert creates == 4, stack.logs()

    # 2 parents x 2 shards ran as child flow runs of the shard deployment.
    shard_runs = stack.flow_runs(SHARD)
    assert len(shard_runs) == 4
    assert all(run.state.is_completed() for run in shard_runs)
    assert all(run.parent_task_run_id is not None for run in shard_runs)  # as subflows
    names = sorted(run.name for run in shard_runs)
    assert names == ["batch-of-5-shard-1-of-2"] * 2 + ["batch-of-5-shard-2-of-2"] * 2

    # The server keeps its state in PostgreSQL (requesting `postgres` skips this test where it
    # is not installed): the shard runs are rows in its database.
    assert stack.database == "postgresql"
    rows = postgres.query(
        stack.database_name, "SELECT name FROM flow_run WHERE name LIKE 'batch-of-5-shard-%'"
    )
    assert sorted(rows) == names


RESUME_ENTRIES = [
    {"prompt": f"resumed scene {n}", "model": "emu-video", "seconds": 2, "size": "96x64"}
    for n in range(8)
]


def _resume_sidecars(video_dir) -> dict[str, dict]:
    """Sidecars of this test's videos (the storage folder is shared by the module), by job."""
    found = {}
    for path in video_dir.rglob("*.mp4.json"):
        record = json.loads(path.read_text())
        if record["request"].get("prompt", "").startswith("resumed scene"):
            found[record["job_id"]] = record
    return found


def _kill_group(process) -> None:
    """SIGKILL a process started by `Stack.start`, its process group and its descendants."""
    import contextlib
    import os
    import signal

    import psutil

    try:
        descendants = psutil.Process(process.pid).children(recursive=True)
    except psutil.Error:
        descendants = []
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGKILL)
    for child in descendants:
        with contextlib.suppress(psutil.Error):
            child.kill()
    process.wait(timeout=30)


def test_a_sharded_batch_killed_half_way_resumes_without_paying_or_fetching_twice(
    stack: Stack, shard_setup: dict[str, str]
) -> None:
    """kill -9 the parent and one worker (with its flow runs) half way, restart, rerun."""
    import hashlib
    import time
    from pathlib import Path

    import psutil

    from prefect_videogen.emulator import set_faults

    env = {k: v for k, v in shard_setup.items() if k != "bucket"}
    parameters = {
        "credentials": "videogen",
        "storage": "local-file-system/videogen-videos",
        "max_concurrency": 1,  # one video at a time per shard: a kill lands half way
    }
    script = _script(f"""
        import asyncio, json
        from prefect_videogen.flows import generate_batch_sharded

        videos = asyncio.run(generate_batch_sharded(
            requests={RESUME_ENTRIES!r}, shards=2, deployment={SHARD!r},
            parameters={parameters!r},
        ))
        print("RESULT " + json.dumps([v.model_dump(mode="json") for v in videos]))
    """)

    # The module's two workers (shard_setup) are online; their locks last 20 s.
    workers = {
        machine: next(p for p in stack._processes if f"machine-{machine}" in p.args)
        for machine in ("a", "b")
    }
    # Every video download takes 2 s more, so a shard of 4 videos lasts long enough to be
    # killed half way (the module's emulator has a fixed 0.5 s latency).
    set_faults(stack.emulator_url, content={"rate_slow": 1.0, "slow_seconds": 2.0})
    try:
        parent = stack.start("resume-parent-1", "-c", script, extra_env=env)
        stack.wait_for(
            "about half the videos to be stored",
            lambda: len(_resume_sidecars(stack.video_dir)) >= len(RESUME_ENTRIES) // 2 - 1,
        )
        # The victim: a worker whose shard flow run is running (it has a child process).
        busy = [m for m, w in workers.items() if psutil.Process(w.pid).children(recursive=True)]
        assert busy, "no shard was running on any worker at the kill"
        _kill_group(parent)
        _kill_group(workers[busy[0]])
        time.sleep(1.0)  # let a download cut by the kill settle in the emulator's counters
    finally:
        set_faults(stack.emulator_url)
    # Not waited for: the rerun's shards wait in the pool for a worker.
    start_shard_worker(stack, busy[0], env)
    stored_before = _resume_sidecars(stack.video_dir)  # first: their downloads are done
    before = get_stats(stack.emulator_url)["jobs"]
    assert 0 < len(stored_before) < len(RESUME_ENTRIES), "killed too late or too early"

    output = stack.run("resume-parent-2", "-c", script, extra_env=env)
    line = next(x for x in output.splitlines() if x.startswith("RESULT "))
    videos = json.loads(line.removeprefix("RESULT "))

    after = get_stats(stack.emulator_url)["jobs"]
    ours = {
        job_id: job
        for job_id, job in after.items()
        if job["request"]["prompt"].startswith("resumed scene")
    }
    assert len(ours) == len(RESUME_ENTRIES), "a request was paid twice"
    assert sorted(v["job_id"] for v in videos) == sorted(ours)
    for job_id in stored_before:  # stored before the rerun: not fetched again
        assert ours[job_id]["downloads"] == before[job_id]["downloads"], job_id
    stored = _resume_sidecars(stack.video_dir)
    assert sorted(stored) == sorted(ours)
    for video in videos:
        data = Path(video["location"]).read_bytes()
        assert (
            hashlib.sha256(data).hexdigest() == video["sha256"] == ours[video["job_id"]]["sha256"]
        )
