"""The `prefect-videogen` command: --version, --help, generate (dry run and real), deployments
init, the progress display; and `name=value` arguments of the flows/ entrypoint scripts."""

import json
import logging
import os
from pathlib import Path

import pytest

from prefect_videogen import __version__
from prefect_videogen.cli import flow_parameters, main, project_files


def test_values_are_strings_unless_json_objects_or_lists():
    parameters = flow_parameters(["prompt=a=b", 'params={"seed": 7}', "frames=[1, 2]", "seconds=4"])
    assert parameters == {"prompt": "a=b", "params": {"seed": 7}, "frames": [1, 2], "seconds": "4"}


def test_an_argument_without_equals_is_refused():
    with pytest.raises(SystemExit, match="expected name=value"):
        flow_parameters(["prompt"])


# -- the prefect-videogen command -----------------------------------------------------

REPO = Path(__file__).resolve().parent.parent


def test_version(capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(["--version"])
    assert exit_info.value.code == 0
    out = capsys.readouterr().out
    assert out.startswith(f"prefect-videogen {__version__} (prefect 3.")


@pytest.mark.parametrize(
    ("argv", "expected"),
    [
        (["--help"], "generate"),
        (["demo", "--help"], "Start the local API emulator"),
        (["generate", "--help"], "VIDEOGEN_API_KEY"),
        (["emulator", "--help"], "--dialect"),
        (["deployments", "init", "--help"], "prefect.yaml"),
    ],
)
def test_every_command_explains_itself(capsys, argv, expected):
    with pytest.raises(SystemExit):
        main(argv)
    assert expected in capsys.readouterr().out


def test_dry_run_checks_a_manifest_and_submits_nothing(tmp_path, capsys):
    manifest = tmp_path / "videos.jsonl"
    manifest.write_text(
        '{"prompt": "a fox in snow", "model": "wan2.2-t2v-plus"}\n'
        '{"prompt": "a cat", "model": "wan2.2-t2v-plus", "seconds": 5}\n'
    )
    # No credentials, no Prefect API, no emulator: a dry run needs none of them.
    assert main(["generate", "--manifest", str(manifest), "--dry-run"]) == 0
    out = capsys.readouterr().out
    assert "2 video(s) checked, nothing submitted" in out
    assert "a fox in snow" in out


def test_dry_run_names_the_bad_field(tmp_path, capsys):
    manifest = tmp_path / "videos.jsonl"
    manifest.write_text('{"prompt": "a fox", "model": "wan2.2-t2v-plus"}\n{"model": "x"}\n')
    assert main(["generate", "--manifest", str(manifest), "--dry-run"]) == 2
    err = capsys.readouterr().err
    assert "requests[1].prompt" in err and "nothing submitted" in err


def test_generate_needs_a_prompt_or_a_manifest():
    with pytest.raises(SystemExit, match="PROMPT or --manifest"):
        main(["generate", "--dry-run"])


def test_a_base_url_without_a_key_is_refused_before_anything_runs(monkeypatch):
    monkeypatch.delenv("VIDEOGEN_API_KEY", raising=False)
    with pytest.raises(SystemExit, match="VIDEOGEN_API_KEY is not"):
        main(["generate", "a fox", "--model", "wan2.2-t2v-plus", "--base-url", "http://x/v1"])


@pytest.mark.usefixtures("prefect_server", "fast_polling", "isolated_results")
def test_generate_stores_a_video_from_the_terminal(make_emulator, tmp_path, monkeypatch, capsys):
    from prefect_videogen.emulator import get_stats

    base_url = make_emulator()
    monkeypatch.setenv("VIDEOGEN_API_KEY", "sk-emulator")
    argv = ["generate", "a fox in snow", "--model", "wan2.2-t2v-plus", "--base-url", base_url]
    argv += ["--storage", str(tmp_path / "videos"), "--json", "--no-progress"]
    assert main(argv) == 0
    [video] = json.loads(capsys.readouterr().out)
    assert Path(video["location"]).is_file()
    assert get_stats(base_url)["submissions"] == 1
    assert "sk-emulator" not in json.dumps(video)


def test_run_display_follows_the_run_log_lines():
    from rich.console import Console

    from prefect_videogen._console import RunDisplay

    display = RunDisplay(Console(file=open("/dev/null", "w")), live=False)  # noqa: SIM115
    logger = logging.getLogger("prefect.task_runs")

    def log(message: str) -> None:
        display.handle(logging.makeLogRecord({"name": logger.name, "msg": message}))

    with display:
        assert display in logger.handlers
        log("Submitted wan2.2-t2v-plus t2v video job video_abc123 (attempt 0)")
        log("Video job video_abc123 is in_progress (40%), waiting 12s")
        [row] = display.progress.tasks
        assert (row.completed, row.fields["status"]) == (40, "in_progress")
        log("Stored video video_abc123 (10 bytes, sha256 abc) at file:///x.mp4")
        assert (row.completed, row.fields["status"]) == (100, "stored")
    assert display not in logger.handlers


def test_run_display_shows_a_batch_as_one_row():
    from rich.console import Console

    from prefect_videogen._console import RunDisplay

    display = RunDisplay(Console(file=open("/dev/null", "w")), live=False)  # noqa: SIM115

    def log(message: str) -> None:
        display.handle(logging.makeLogRecord({"name": "prefect.flow_runs", "msg": message}))

    with display:
        log("Batch of 4 request(s), 3 distinct; up to 4 at once")
        log("Submitted wan2.2-t2v-plus t2v video job video_abc123 (attempt 0)")
        log("Batch: 1 of 3 stored, 1 failed, 1 generating; oldest waiting 1m00s")
        [batch] = display.progress.tasks
        assert (batch.completed, batch.total) == (2, 3)
        assert batch.fields["status"] == "1 stored, 1 failed"


def test_deployments_init_writes_the_project(tmp_path, capsys):
    target = tmp_path / "project"
    assert main(["deployments", "init", str(target)]) == 0
    for name in ("deployments/prefect.yaml", "deployments/setup.py", "flows/text_to_video.py"):
        assert (target / name).read_bytes() == (REPO / name).read_bytes()
    assert "prefect --no-prompt deploy --all" in capsys.readouterr().out
    # A second run does not overwrite what the user may have edited...
    (target / "deployments/prefect.yaml").write_text("# mine\n")
    assert main(["deployments", "init", str(target)]) == 1
    assert (target / "deployments/prefect.yaml").read_text() == "# mine\n"
    # ... unless told to.
    assert main(["deployments", "init", str(target), "--force"]) == 0
    assert (target / "deployments/prefect.yaml").read_bytes() == (
        REPO / "deployments/prefect.yaml"
    ).read_bytes()


def test_the_project_comes_from_the_checkout_in_a_source_tree():
    assert project_files() == REPO


def test_starting_prefects_server_is_never_silent(monkeypatch):
    """Without PREFECT_API_URL, a line says the server starts, more while it does, one when ready.

    The server is a stand-in that takes 0.35 s to start (the real one takes 10 to 40 s).
    """
    import time

    from prefect.settings import PREFECT_API_URL, temporary_settings

    from prefect_videogen import _console

    class SlowServer:
        running = False
        api_url = "http://127.0.0.1:1/api"

        def start(self, timeout: int | None = None) -> None:
            time.sleep(0.35)
            self.running = True

    monkeypatch.setattr("prefect.server.api.server.SubprocessASGIServer", SlowServer)
    for name in ("PREFECT_SERVER_ANALYTICS_ENABLED", "DO_NOT_TRACK"):  # restored afterwards
        monkeypatch.setenv(name, "")
        monkeypatch.delenv(name)
    lines: list[str] = []
    with temporary_settings({PREFECT_API_URL: None}):
        assert _console.start_prefect_api(lines.append, progress_every=0.1) == SlowServer.api_url
    assert lines[0].startswith("Starting Prefect's temporary local server")
    assert any("still starting" in line for line in lines[1:-1])
    assert lines[-1].startswith("Prefect server ready at http://127.0.0.1:1/api")
    assert os.environ["PREFECT_SERVER_ANALYTICS_ENABLED"] == "false"  # no telemetry errors
