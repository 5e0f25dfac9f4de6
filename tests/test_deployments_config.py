"""deployments/: prefect.yaml matches the flows it points at, the manifest is valid, and
setup.py is idempotent. (tests/e2e runs the same files on a real server and worker.)"""

from __future__ import annotations

import importlib.util
import inspect
import re
import uuid
from pathlib import Path
from typing import Any

import pytest
import yaml

REPO = Path(__file__).resolve().parents[1]
DEPLOYMENTS = REPO / "deployments"
PREFECT_YAML = DEPLOYMENTS / "prefect.yaml"


def _config() -> dict[str, Any]:
    return yaml.safe_load(PREFECT_YAML.read_text())


def _deployments() -> list[dict[str, Any]]:
    return _config()["deployments"]


def _load_flow(entrypoint: str) -> Any:
    from prefect.flows import load_flow_from_entrypoint

    path, name = entrypoint.split(":")
    return load_flow_from_entrypoint(f"{REPO / path}:{name}")


def _module(path: Path) -> Any:
    spec = importlib.util.spec_from_file_location(f"_videogen_{path.stem}", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _trigger_parameters(deployment: dict[str, Any]) -> dict[str, Any]:
    merged: dict[str, Any] = {}
    for trigger in deployment.get("triggers") or []:
        merged.update(trigger.get("parameters") or {})
    return merged


def test_prefect_yaml_is_valid_for_prefect_deploy() -> None:
    from prefect.cli.deploy._models import PrefectYamlModel

    PrefectYamlModel.model_validate(_config())
    names = [(d["entrypoint"].split(":")[1], d["name"]) for d in _deployments()]
    assert len(set(names)) == len(names)


@pytest.mark.parametrize("deployment", _deployments(), ids=lambda d: d["entrypoint"])
def test_entrypoints_expose_the_library_flows(deployment: dict[str, Any]) -> None:
    import prefect_videogen.flows
    import prefect_videogen.postprocess

    flow = _load_flow(deployment["entrypoint"])
    attribute = deployment["entrypoint"].split(":")[1]
    library = getattr(prefect_videogen.flows, attribute, None) or getattr(
        prefect_videogen.postprocess, attribute
    )
    assert flow.name == library.name
    assert flow.fn.__module__ == library.fn.__module__  # defined in the library, not in flows/


@pytest.mark.parametrize("deployment", _deployments(), ids=lambda d: d["entrypoint"])
def test_parameters_are_the_flows_and_credentials_go_by_name(deployment: dict[str, Any]) -> None:
    flow = _load_flow(deployment["entrypoint"])
    signature = inspect.signature(flow.fn)
    given = {**(deployment.get("parameters") or {}), **_trigger_parameters(deployment)}
    assert set(given) <= set(signature.parameters), set(given) - set(signature.parameters)
    if deployment.get("triggers"):  # nobody is there to fill in required parameters
        required = {
            name for name, p in signature.parameters.items() if p.default is inspect.Parameter.empty
        }
        assert required <= set(given)
    if "credentials" in given:
        assert given["credentials"] == "videogen"  # a saved block's name, nothing secret
    storage = given.get("storage")
    assert storage is None or re.fullmatch(r"[a-z0-9-]+/[a-z0-9-]+|\{\{.*\}\}", storage)


def test_no_secrets_in_the_deployment_files() -> None:
    text = PREFECT_YAML.read_text().lower()
    assert "api_key" not in text and "sk-" not in text and "secret" not in text


def test_postprocess_trigger_reads_what_the_completed_event_carries(monkeypatch) -> None:
    import prefect.events

    from prefect_videogen.records import StoredVideo
    from prefect_videogen.reporting import COMPLETED_EVENT, emit_video_completed

    emitted: list[dict[str, Any]] = []
    monkeypatch.setattr(prefect.events, "emit_event", lambda **kw: emitted.append(kw))
    video = StoredVideo(
        job_id="video_1",
        model="sora-2",
        storage="s3-bucket/videos",
        path="sora-2/video_1.mp4",
        location="videos/sora-2/video_1.mp4",
        uri="s3://bucket/videos/sora-2/video_1.mp4",
        sidecar_path="sora-2/video_1.mp4.json",
        size_bytes=1,
        sha256="0" * 64,
    )
    emit_video_completed(video)
    (event,) = emitted

    (deployment,) = [d for d in _deployments() if "postprocess" in d["entrypoint"]]
    (trigger,) = deployment["triggers"]
    assert trigger["expect"] == [COMPLETED_EVENT] == [event["event"]]
    pattern = trigger["match"]["prefect.resource.id"]
    assert re.fullmatch(pattern.replace(".", r"\.").replace("*", ".*"), event["resource"][
        "prefect.resource.id"
    ])  # fmt: skip
    for template in trigger["parameters"].values():
        (key,) = re.findall(r"event\.payload\.(\w+)", template)
        assert key in event["payload"]


def test_every_scheduled_or_triggered_flow_is_covered() -> None:
    deployments = {d["entrypoint"].split(":")[1]: d for d in _deployments()}
    assert set(deployments) == {
        "text_to_video",
        "image_to_video",
        "keyframe_to_video",
        "generate_batch",
        "postprocess_video",
    }
    assert deployments["generate_batch"]["schedules"][0]["cron"] == "0 2 * * *"
    assert deployments["image_to_video"]["triggers"][0]["expect"] == [
        "prefect-videogen.image.uploaded"
    ]


def test_nightly_manifest_requests_are_valid() -> None:
    from prefect_videogen.caching import normalize_request
    from prefect_videogen.flows import load_manifest

    (nightly,) = [d for d in _deployments() if d.get("schedules")]
    entries = load_manifest(REPO / nightly["parameters"]["manifest"])
    assert entries
    for entry in entries:
        normalize_request({"model": nightly["parameters"]["model"], **entry})


@pytest.mark.parametrize("script", sorted((REPO / "flows").glob("*.py")), ids=lambda p: p.name)
def test_entrypoint_scripts_run_as_main(script: Path) -> None:
    text = script.read_text()
    assert 'if __name__ == "__main__":' in text
    module = _module(script)
    if hasattr(module, "_parameters"):
        assert module._parameters(["prompt=a fox", "seconds=4", 'params={"seed": 1}']) == {
            "prompt": "a fox",
            "seconds": "4",
            "params": {"seed": 1},
        }
        with pytest.raises(SystemExit, match="name=value"):
            module._parameters(["oops"])


# -- deployments/setup.py -------------------------------------------------------------


@pytest.fixture
def setup_script() -> Any:
    return _module(DEPLOYMENTS / "setup.py")


def test_setup_limit_syntax(setup_script) -> None:
    assert setup_script.parse_limit("videogen-sora=4") == ("videogen-sora", 4, None)
    assert setup_script.parse_limit("videogen-sora-rpm=20:0.33") == ("videogen-sora-rpm", 20, 0.33)
    for bad in ("videogen-sora", "=4", "x=0", "x=4:0", "x=four"):
        with pytest.raises(Exception, match="NAME=LIMIT"):
            setup_script.parse_limit(bad)


def test_setup_is_idempotent_and_never_prints_the_key(
    prefect_server, setup_script, tmp_path, monkeypatch, capsys
) -> None:
    from prefect.client.orchestration import get_client
    from prefect.filesystems import LocalFileSystem

    from prefect_videogen.credentials import VideoGenCredentials

    suffix = uuid.uuid4().hex[:8]
    key = f"sk-setup-{suffix}"
    args = [
        "--credentials-block", f"creds-{suffix}",
        "--base-url", "http://127.0.0.1:9/v1",
        "--storage-block", f"videos-{suffix}",
        "--storage-dir", str(tmp_path / "videos"),
        "--limit", f"sora-{suffix}=3",
        "--limit", f"sora-rpm-{suffix}=20:0.5",
        "--work-pool", f"pool-{suffix}",
    ]  # fmt: skip
    monkeypatch.setenv("VIDEOGEN_API_KEY", key)

    assert setup_script.main(args) == 0
    first = capsys.readouterr().out
    assert first.count("created") == 5, first
    assert setup_script.main(args) == 0
    second = capsys.readouterr().out
    assert second.count("unchanged") == 5, second
    assert key not in first + second

    credentials = VideoGenCredentials.load(f"creds-{suffix}")
    assert credentials.api_key.get_secret_value() == key
    assert credentials.base_url == "http://127.0.0.1:9/v1"
    assert LocalFileSystem.load(f"videos-{suffix}").basepath == str(tmp_path / "videos")
    with get_client(sync_client=True) as client:
        rate = client.read_global_concurrency_limit_by_name(f"sora-rpm-{suffix}")
        pool = client.read_work_pool(f"pool-{suffix}")
    assert (rate.limit, rate.slot_decay_per_second) == (20, 0.5)
    assert pool.type == "process" and pool.base_job_template

    # Without a key in the environment the stored key is kept; a new limit value updates.
    monkeypatch.delenv("VIDEOGEN_API_KEY")
    assert setup_script.main([*args[:4], "--limit", f"sora-{suffix}=5", "--no-work-pool"]) == 0
    third = capsys.readouterr().out
    assert f"global limit 'sora-{suffix}' (5, concurrency limit): updated" in third
    assert VideoGenCredentials.load(f"creds-{suffix}").api_key.get_secret_value() == key
