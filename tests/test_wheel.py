"""The wheel as a user gets it: `uv build`, a clean venv, `pip install 'dist/*.whl[emulator]'`,
then `prefect-videogen demo` makes three videos and `deployments init` writes the project.

Slow (a minute or two: most of it Prefect's temporary server starting on a busy machine);
the install itself comes from uv's cache when the project was synced. It runs in CI.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent

pytestmark = [pytest.mark.slow, pytest.mark.timeout(900), pytest.mark.xdist_group("wheel")]


def _uv() -> str:
    uv = shutil.which("uv")
    if uv is None:  # pragma: no cover - CI installs uv first
        pytest.skip("uv is not installed")
    return uv


def _run(args: list[str], *, cwd: Path, env: dict[str, str] | None = None, timeout: float = 600):
    result = subprocess.run(
        args, cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout, check=False
    )
    assert result.returncode == 0, f"{args} failed:\n{result.stdout}\n{result.stderr}"
    return result


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> Path:
    dist = tmp_path_factory.mktemp("dist")
    # The build backend runs in a throwaway environment: its bytecode stays with it.
    env = {**os.environ, "PYTHONPYCACHEPREFIX": str(tmp_path_factory.mktemp("pycache"))}
    _run([_uv(), "build", "--wheel", "--out-dir", str(dist), str(REPO)], cwd=REPO, env=env)
    [built] = dist.glob("prefect_videogen-*.whl")
    return built


def test_the_wheel_ships_types_license_metadata_and_the_deployment_project(wheel):
    with zipfile.ZipFile(wheel) as archive:
        names = set(archive.namelist())
        [metadata] = [n for n in names if n.endswith(".dist-info/METADATA")]
        text = archive.read(metadata).decode()
    assert "prefect_videogen/py.typed" in names
    assert any(n.endswith(".dist-info/licenses/LICENSE") for n in names)
    assert "prefect_videogen/_project/deployments/prefect.yaml" in names
    assert "prefect_videogen/_project/flows/text_to_video.py" in names
    assert "License-Expression: Apache-2.0" in text
    assert "Classifier: Typing :: Typed" in text
    assert "Provides-Extra: emulator" in text and "Provides-Extra: aws" in text
    assert "Project-URL: Documentation," in text
    # The emulator stack and prefect-aws are extras, not dependencies of every install.
    requires = [line for line in text.splitlines() if line.startswith("Requires-Dist:")]
    for name in ("numpy", "python-multipart", "prefect-aws"):
        [line] = [r for r in requires if r.startswith(f"Requires-Dist: {name}")]
        assert "extra ==" in line, line
    assert not wheel.name.startswith("prefect_videogen-0.0.0")


def test_a_clean_venv_with_the_emulator_extra_runs_the_demo(wheel, tmp_path):
    uv = _uv()
    venv = tmp_path / "venv"
    _run([uv, "venv", "--quiet", "--python", sys.executable, str(venv)], cwd=tmp_path)
    python = venv / "bin" / "python"
    _run(
        [uv, "pip", "install", "--quiet", "--python", str(python), f"{wheel}[emulator]"],
        cwd=tmp_path,
    )

    env = {k: v for k, v in os.environ.items() if not k.startswith(("PREFECT_", "VIRTUAL_ENV"))}
    env.update(
        PREFECT_HOME=str(tmp_path / "prefect-home"),
        PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS="300",
        PREFECT_INTEGRATIONS_VIDEOGEN_POLL_INTERVAL="0.1",
        # The venv's bytecode, written by its first process and read by the next ones (the
        # demo's server, `deployments init`), in a cache of its own (see tests/conftest.py).
        PYTHONPYCACHEPREFIX=str(tmp_path / "pycache"),
    )
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    cli = str(venv / "bin" / "prefect-videogen")
    version = _run([cli, "--version"], cwd=tmp_path, env=env).stdout
    assert version.startswith("prefect-videogen ") and " 0.0.0 " not in version

    demo = _run([cli, "demo", "--output-dir", "out"], cwd=tmp_path, env=env)
    videos = sorted((tmp_path / "out").rglob("*.mp4"))
    assert len(videos) == 3, demo.stdout + demo.stderr
    assert "Starting Prefect's temporary local server" in demo.stdout
    assert "Wrote 3 videos" in demo.stdout
    assert "telemetry" not in (demo.stdout + demo.stderr).lower()

    _run([cli, "deployments", "init", "project"], cwd=tmp_path, env=env)
    shipped = tmp_path / "project" / "deployments" / "prefect.yaml"
    assert shipped.read_bytes() == (REPO / "deployments" / "prefect.yaml").read_bytes()
