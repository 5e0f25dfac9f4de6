"""Optional extras: the package and its flows import without them, and what needs one says
which (`prefect-videogen[emulator]`, `prefect-videogen[aws]`) instead of a bare ImportError.

Each check runs in a fresh interpreter where the extras' modules cannot be imported.
"""

from __future__ import annotations

import subprocess
import sys
import textwrap

BLOCK = """
import sys
for name in {names!r}:
    sys.modules[name] = None  # as if not installed
"""


def _run(names: tuple[str, ...], code: str) -> subprocess.CompletedProcess[str]:
    script = BLOCK.format(names=names) + textwrap.dedent(code)
    return subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=120
    )


def test_without_extras_the_package_tasks_and_flows_import_and_extras_are_named():
    result = _run(
        ("numpy", "python_multipart", "multipart", "prefect_aws"),
        """
        import prefect_videogen, prefect_videogen.tasks, prefect_videogen.flows
        from prefect_videogen._extras import MissingExtraError
        from prefect_videogen.cli import main
        from prefect_videogen.storage import resolve_storage

        try:
            import prefect_videogen.emulator
        except MissingExtraError as exc:
            print("EMULATOR:", exc)
        try:
            resolve_storage("s3-bucket/videos")
        except MissingExtraError as exc:
            print("AWS:", exc)
        print("CLI:", main(["emulator", "--port", "1"]))
        """,
    )
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert "EMULATOR: The prefect-videogen emulator needs" in out
    assert "pip install 'prefect-videogen[emulator]'" in out
    assert "numpy, python-multipart not installed" in out
    # Before, "s3-bucket/videos" silently became a local directory of that name.
    assert "AWS: The s3-bucket block 's3-bucket/videos' needs" in out
    assert "pip install 'prefect-videogen[aws]'" in out
    assert "CLI: 1" in out
    assert "prefect-videogen emulator: The prefect-videogen emulator needs" in result.stderr


def test_with_the_extras_installed_nothing_is_refused():
    from prefect_videogen._extras import EXTRAS, require_extra

    for extra in EXTRAS:
        require_extra(extra, "this test")
