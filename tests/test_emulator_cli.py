"""The `prefect-videogen` command: `emulator` serves the API, `demo` is wired lazily."""

from __future__ import annotations

import socket
import subprocess
import sys
import time
import types

import httpx
import pytest

from prefect_videogen.cli import main


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_emulator_command_serves_until_stopped_and_never_prints_the_key():
    port = _free_port()
    secret = "sk-cli-secret-7f3a"
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "prefect_videogen.cli",
            "emulator",
            "--port",
            str(port),
            "--dialect",
            "gateway",
            "--latency",
            "0.1",
            "--fps",
            "4",
            "--api-key",
            secret,
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    root = f"http://127.0.0.1:{port}"
    try:
        with httpx.Client(timeout=10, trust_env=False) as http:
            deadline = time.monotonic() + 60
            while True:
                try:
                    if http.get(f"{root}/emulator/health").status_code == 200:
                        break
                except httpx.TransportError:
                    pass
                assert process.poll() is None, process.stdout.read()
                assert time.monotonic() < deadline, "the emulator did not start"
                time.sleep(0.1)
            assert http.get(f"{root}/emulator/health").json()["dialect"] == "gateway"
            denied = http.post(
                f"{root}/v1/videos",
                json={"model": "kling-v1", "prompt": "x"},
                headers={"Authorization": "Bearer wrong"},
            )
            accepted = http.post(
                f"{root}/v1/videos",
                json={"model": "kling-v1", "prompt": "x"},
                headers={"Authorization": f"Bearer {secret}"},
            )
            assert (denied.status_code, accepted.status_code) == (401, 200)
            assert accepted.json()["id"].startswith("task_")
    finally:
        process.terminate()
        output, _ = process.communicate(timeout=30)
    assert "gateway dialect" in output
    assert secret not in output


def test_invalid_emulator_settings_exit_2(capsys):
    assert main(["emulator", "--latency", "-1"]) == 2
    assert "invalid settings" in capsys.readouterr().err
    assert main(["emulator", "--faults", '{"create": {"rate_429": 5}}']) == 2


def test_gateway_flags_reach_the_config(monkeypatch):
    served = []
    monkeypatch.setattr(
        "prefect_videogen.emulator.serve", lambda config, **kwargs: served.append(config)
    )
    args = ["emulator", "--dialect", "gateway", "--not-start-seconds", "3"]
    assert main([*args, "--content-timeout", "5"]) == 0

    config = served[0]
    assert (config.not_start_seconds, config.content_timeout) == (3.0, 5.0)
    assert config.not_start_window() == 3.0
    assert main(["emulator", "--content-timeout", "0"]) == 2  # must be > 0


def test_demo_runs_run_demo_with_the_output_dir(monkeypatch):
    calls = []
    fake = types.ModuleType("prefect_videogen.demo")
    fake.run_demo = lambda output_dir="videos": calls.append(output_dir)
    monkeypatch.setitem(sys.modules, "prefect_videogen.demo", fake)

    assert main(["demo", "--output-dir", "out"]) == 0
    assert main(["demo"]) == 0
    assert calls == ["out", "videos"]


def test_demo_without_the_demo_module_says_so(monkeypatch, capsys):
    monkeypatch.setitem(sys.modules, "prefect_videogen.demo", None)

    assert main(["demo"]) == 1
    assert "prefect_videogen.demo could not be imported" in capsys.readouterr().err


def test_a_command_is_required():
    with pytest.raises(SystemExit):
        main([])
