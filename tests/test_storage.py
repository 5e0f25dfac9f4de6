"""Storage: path templates that cannot escape, and writes to local disk, S3 (moto) and fsspec."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest
from prefect.filesystems import LocalFileSystem, RemoteFileSystem

from prefect_videogen.exceptions import InvalidRequestError
from prefect_videogen.storage import (
    aresolve_storage,
    open_target,
    render_path,
    resolve_storage,
    safe_component,
    storage_label,
    storage_uri,
)

HOSTILE_IDS = [
    "../../x",
    "../../../etc/passwd",
    "..",
    ".",
    "/etc/passwd",
    "a/../../b",
    "..\\..\\windows\\system32",
    "C:\\temp\\x",
    "~/x",
    "%2e%2e%2fx",
    "video\x00.mp4",
    "",
    " ",
]

WHEN = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


def test_default_template_renders_model_date_and_id():
    template = "{model}/{date}/{job_id}.mp4"
    path = render_path(template, model="sora-2", job_id="video_68d2", date=WHEN)
    assert path == "sora-2/2026-03-01/video_68d2.mp4"


def test_all_template_fields():
    path = render_path(
        "{family}/{mode}/{fingerprint}-{prompt_slug}/{job_id}.mp4",
        model="wan2.5-i2v-preview",
        family="wan",
        mode="i2v",
        fingerprint="0123456789abcdef" * 4,
        prompt="A Red Fox, running through SNOW!",
        job_id="task_abc",
        date=WHEN,
    )
    assert path == "wan/i2v/0123456789ab-a-red-fox-running-through-snow/task_abc.mp4"


@pytest.mark.parametrize("job_id", HOSTILE_IDS)
def test_hostile_job_ids_stay_inside_the_base_path(tmp_path, job_id):
    base = tmp_path / "base"
    path = render_path("{model}/{date}/{job_id}.mp4", model="m", job_id=job_id, date=WHEN)
    assert not Path(path).is_absolute()
    assert ".." not in Path(path).parts
    resolved = (base / path).resolve()
    assert base.resolve() in resolved.parents
    assert resolved.parent == (base / "m" / "2026-03-01").resolve()


@pytest.mark.parametrize("model", ["../..", "/abs", "a/b"])
def test_hostile_model_names_stay_inside_too(tmp_path, model):
    path = render_path("{model}/{job_id}.mp4", model=model, job_id="j")
    assert len(Path(path).parts) == 2 and ".." not in Path(path).parts


def test_ids_that_sanitize_alike_stay_distinct():
    paths = {render_path("{job_id}", model="m", job_id=job_id) for job_id in ("a/b", "a-b", "a:b")}
    assert len(paths) == 3


def test_safe_component_keeps_ordinary_ids():
    assert safe_component("video_68d2f1e0a1b8819", unique=True) == "video_68d2f1e0a1b8819"
    assert safe_component("task_01JABCDEF-xyz.1", unique=True) == "task_01JABCDEF-xyz.1"


@pytest.mark.parametrize(
    ("template", "field"),
    [("{model}/{user}.mp4", "user"), ("{}.mp4", "{}")],
)
def test_unknown_template_fields_are_rejected(template, field):
    with pytest.raises(InvalidRequestError) as info:
        render_path(template, model="m", job_id="j")
    assert info.value.field == "path_template"
    assert "{job_id}" in str(info.value)


@pytest.mark.parametrize("template", ["../{job_id}.mp4", "/abs/{job_id}.mp4", "a//{job_id}"])
def test_templates_that_leave_the_block_are_rejected(template):
    with pytest.raises(InvalidRequestError, match="not a relative path inside"):
        render_path(template, model="m", job_id="j")


def test_local_target_writes_in_place_with_sidecar(tmp_path):
    block = LocalFileSystem(basepath=str(tmp_path))
    with open_target(block, "m/d/video.mp4") as target:
        assert target.kind == "local"
        assert target.local_path == tmp_path / "m" / "d" / "video.mp4"
        target.local_path.write_bytes(b"video")  # what the client does (via .part + rename)
        assert target.store() == str(tmp_path / "m" / "d" / "video.mp4")
        sidecar = target.write_sidecar(b'{"ok": true}')
    assert Path(sidecar) == tmp_path / "m" / "d" / "video.mp4.json"
    assert sorted(p.name for p in (tmp_path / "m" / "d").iterdir()) == [
        "video.mp4",
        "video.mp4.json",
    ]
    assert storage_uri(block, target.location) == (tmp_path / "m/d/video.mp4").as_uri()


def test_local_target_refuses_paths_outside_the_base(tmp_path):
    block = LocalFileSystem(basepath=str(tmp_path / "base"))
    with (
        pytest.raises(InvalidRequestError, match="outside the storage base path"),
        open_target(block, "../escaped.mp4"),
    ):
        pass
    assert not (tmp_path / "escaped.mp4").exists()


def test_s3_target_streams_a_temp_file_to_moto(s3_bucket, s3_client):
    with open_target(s3_bucket, "sora-2/2026-03-01/v1.mp4") as target:
        assert target.kind == "upload"
        target.local_path.write_bytes(b"\x00" * 300_000)
        key = target.store()
        target.write_sidecar(b'{"job_id": "v1"}')
        tmpdir = target.local_path.parent
    assert not tmpdir.exists()  # the local copy is gone
    assert key == "videos/sora-2/2026-03-01/v1.mp4"
    body = s3_client.get_object(Bucket=s3_bucket.bucket_name, Key=key)["Body"].read()
    assert body == b"\x00" * 300_000
    sidecar = s3_client.get_object(Bucket=s3_bucket.bucket_name, Key=key + ".json")["Body"]
    assert sidecar.read() == b'{"job_id": "v1"}'
    assert storage_uri(s3_bucket, key) == f"s3://{s3_bucket.bucket_name}/{key}"


async def test_s3_target_async(s3_bucket, s3_client):
    with open_target(s3_bucket, "a/v2.mp4") as target:
        target.local_path.write_bytes(b"abc")
        key = await target.astore()
        await target.awrite_sidecar(b"{}")
    assert s3_client.get_object(Bucket=s3_bucket.bucket_name, Key=key)["Body"].read() == b"abc"


def test_other_filesystems_use_write_path():
    block = RemoteFileSystem(basepath="memory://videogen-test")
    with open_target(block, "m/v.mp4") as target:
        assert target.kind == "write_path"
        target.local_path.write_bytes(b"frames")
        location = target.store()
        target.write_sidecar(b"{}")
    assert block.read_path("m/v.mp4") == b"frames"
    assert block.read_path("m/v.mp4.json") == b"{}"
    assert storage_uri(block, location) == location


def test_resolve_storage_defaults_to_the_output_dir_setting(tmp_path, monkeypatch):
    monkeypatch.setenv("PREFECT_INTEGRATIONS_VIDEOGEN_OUTPUT_DIR", str(tmp_path / "out"))
    block = resolve_storage(None)
    assert isinstance(block, LocalFileSystem)
    assert Path(block.basepath) == tmp_path / "out"


@pytest.mark.parametrize("value", ["./videos", "videos", "./videos/out", "/tmp/x/videos", "a/b/c"])
def test_strings_that_are_not_block_references_are_directories(value):
    block = resolve_storage(value)
    assert isinstance(block, LocalFileSystem)
    assert Path(block.basepath) == Path(value).expanduser().resolve()


def test_objects_that_cannot_store_are_rejected():
    with pytest.raises(InvalidRequestError) as info:
        resolve_storage(42)
    assert info.value.field == "storage"


async def test_saved_blocks_resolve_by_slug_and_name(prefect_server, s3_bucket):
    await s3_bucket.asave("videogen-storage-test", overwrite=True)
    block = resolve_storage("s3-bucket/videogen-storage-test")
    assert block.bucket_name == s3_bucket.bucket_name
    assert storage_label(block) == "s3-bucket/videogen-storage-test"
    block = await aresolve_storage("s3-bucket/videogen-storage-test")
    assert block.bucket_name == s3_bucket.bucket_name
    assert storage_label(LocalFileSystem(basepath="x")) == "local-file-system"
