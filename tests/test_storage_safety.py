"""Storage checked before paying, typed errors after paying, and no video overwriting another.

- `check_writable`: a local folder takes a probe file, a saved block must load, a
  `slug/name` whose slug is no block type is a typo, not a folder;
- a flow whose storage cannot be written pays for nothing;
- templates that cannot tell two jobs apart get the job id in the file name;
- a block that fails after the video was paid raises `StorageError` saying so.
"""

from __future__ import annotations

import pytest
from prefect.filesystems import LocalFileSystem, RemoteFileSystem

from prefect_videogen.credentials import VideoGenCredentials
from prefect_videogen.emulator import get_stats
from prefect_videogen.exceptions import InvalidRequestError, StorageError
from prefect_videogen.flows import text_to_video
from prefect_videogen.storage import (
    check_writable,
    open_target,
    render_path,
    resolve_storage,
    unique_template,
)

MODEL = "emu-video"


def test_a_block_shaped_typo_is_an_error_not_a_folder(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    with pytest.raises(InvalidRequestError) as info:
        resolve_storage("local-file-systen/videos")
    assert info.value.field == "storage"
    assert "'local-file-system'" in str(info.value)  # the close match
    assert "./local-file-systen/videos" in str(info.value)  # how to mean a folder
    assert not (tmp_path / "local-file-systen").exists()
    assert isinstance(resolve_storage("./local-file-systen/videos"), LocalFileSystem)


def test_the_write_probe_never_shows_in_the_folder(tmp_path, monkeypatch):
    # A run killed during the check (kill -9 of a batch) must not leave a probe file among
    # the user's videos: the probe has no name in the folder even while it is written.
    import os

    folder = tmp_path / "videos"
    seen: list[list[str]] = []
    fsync = os.fsync

    def looking(fd: int) -> None:
        seen.append(sorted(p.name for p in folder.iterdir()))
        fsync(fd)

    monkeypatch.setattr(os, "fsync", looking)
    check_writable(str(folder))
    assert seen == [[]]


def test_check_writable_probes_a_local_folder(tmp_path):
    block = check_writable(str(tmp_path / "new" / "videos"))
    assert isinstance(block, LocalFileSystem)
    assert list((tmp_path / "new" / "videos").iterdir()) == []  # the probe is gone
    (tmp_path / "a-file").write_text("not a folder")
    with pytest.raises(InvalidRequestError) as info:
        check_writable(str(tmp_path / "a-file" / "videos"))
    assert info.value.field == "storage" and "nothing was submitted" in str(info.value)
    with pytest.raises(InvalidRequestError) as info:
        check_writable(str(tmp_path), "{nope}.mp4")
    assert info.value.field == "path_template"


@pytest.mark.usefixtures("prefect_server")
def test_a_missing_saved_block_is_typed():
    with pytest.raises(InvalidRequestError) as info:
        resolve_storage("local-file-system/videogen-no-such-block")
    assert info.value.field == "storage" and "videogen-no-such-block" in str(info.value)


@pytest.mark.usefixtures("prefect_server", "fast_polling", "isolated_results")
def test_a_flow_whose_storage_cannot_be_written_pays_for_nothing(make_emulator, tmp_path):
    base_url = make_emulator()
    (tmp_path / "a-file").write_text("not a folder")
    credentials = VideoGenCredentials(base_url=base_url, api_key="sk-emulator")
    for storage in (str(tmp_path / "a-file" / "videos"), "s3-buckt/videos"):
        with pytest.raises(InvalidRequestError) as info:
            text_to_video(
                "a fox",
                model=MODEL,
                seconds=2,
                size="64x64",
                credentials=credentials,
                storage=storage,
            )
        assert info.value.field == "storage"
    assert get_stats(base_url)["requests"].get("create", 0) == 0


@pytest.mark.parametrize(
    ("template", "expected"),
    [
        ("{prompt_slug}.mp4", "{prompt_slug}-{job_id}.mp4"),
        ("{model}/{date}/{prompt_slug}.mp4", "{model}/{date}/{prompt_slug}-{job_id}.mp4"),
        ("out/latest", "out/latest-{job_id}"),
        ("{model}/{job_id}.mp4", "{model}/{job_id}.mp4"),
        ("{fingerprint}.mp4", "{fingerprint}.mp4"),
    ],
)
def test_templates_that_cannot_tell_jobs_apart_get_the_job_id(template, expected):
    assert unique_template(template) == expected


def test_two_jobs_with_one_slug_never_share_a_path():
    paths = {
        render_path("{prompt_slug}.mp4", model="m", job_id=job_id, prompt="a red fox")
        for job_id in ("video_1", "video_2")
    }
    assert paths == {"a-red-fox-video_1.mp4", "a-red-fox-video_2.mp4"}


@pytest.mark.usefixtures("prefect_server", "fast_polling", "isolated_results")
def test_two_paid_videos_with_one_slug_are_both_kept(make_emulator, tmp_path):
    base_url = make_emulator()
    credentials = VideoGenCredentials(base_url=base_url, api_key="sk-emulator")
    common = {"model": MODEL, "size": "64x64", "credentials": credentials, "probe": False}
    first = text_to_video(
        "a red fox", seconds=2, storage=str(tmp_path), path_template="{prompt_slug}.mp4", **common
    )
    second = text_to_video(
        "a red fox!", seconds=2, storage=str(tmp_path), path_template="{prompt_slug}.mp4", **common
    )
    assert first.job_id != second.job_id and first.location != second.location
    assert sorted(p.name for p in tmp_path.glob("*.mp4")) == sorted(
        [f"a-red-fox-{first.job_id}.mp4", f"a-red-fox-{second.job_id}.mp4"]
    )


def test_a_block_that_fails_after_paying_raises_storage_error():
    block = RemoteFileSystem(basepath="nosuchprotocol://bucket/videos")
    with open_target(block, "m/v.mp4") as target:
        target.local_path.write_bytes(b"\x00\x00\x00\x18ftypisom")
        with pytest.raises(StorageError) as info:
            target.store()
    assert "paid" in str(info.value) and "reuses the job" in str(info.value)
    assert info.value.path == "m/v.mp4"


@pytest.mark.usefixtures("prefect_server", "fast_polling", "isolated_results")
def test_the_batch_and_generate_video_check_storage_before_paying(make_emulator, tmp_path):
    import asyncio

    from prefect import flow

    from prefect_videogen.families import VideoRequest
    from prefect_videogen.flows import generate_batch
    from prefect_videogen.tasks import generate_video

    base_url = make_emulator()
    credentials = VideoGenCredentials(base_url=base_url, api_key="sk-emulator")
    (tmp_path / "a-file").write_text("not a folder")
    unwritable = str(tmp_path / "a-file" / "videos")

    with pytest.raises(InvalidRequestError) as info:
        asyncio.run(
            generate_batch(
                requests=[{"prompt": "a fox", "seconds": 2, "size": "64x64"}],
                model=MODEL,
                credentials=credentials,
                storage=unwritable,
            )
        )
    assert info.value.field == "storage"

    @flow
    def one() -> None:
        request = VideoRequest(model=MODEL, prompt="a fox", seconds=2, size="64x64")
        generate_video(request, credentials, storage=unwritable)

    with pytest.raises(InvalidRequestError) as info:
        one()
    assert info.value.field == "storage"
    assert get_stats(base_url)["requests"].get("create", 0) == 0
