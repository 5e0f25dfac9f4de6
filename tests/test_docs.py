"""The documentation site builds with `mkdocs build --strict` (a broken link, a missing page
or a docstring mkdocstrings cannot render fails), and the block's UI links point into it."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from prefect_videogen.credentials import VideoGenCredentials

REPO = Path(__file__).resolve().parent.parent

pytestmark = [pytest.mark.slow, pytest.mark.timeout(600), pytest.mark.xdist_group("docs")]


@pytest.fixture(scope="module")
def site(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("site")
    env = {**os.environ, "NO_MKDOCS_2_WARNING": "1"}
    result = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "--site-dir", str(out)],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=540,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    return out


def _site_url() -> str:
    with (REPO / "mkdocs.yml").open() as handle:
        config = yaml.load(handle, Loader=yaml.BaseLoader)  # mkdocs.yml has !! tags: no types
    return config["site_url"]


def test_the_site_builds_strict_with_a_page_per_guide_family_and_module(site):
    for page in (
        "getting-started",
        "credentials",
        "tasks-and-flows",
        "storage",
        "deployments",
        "reliability",
        "emulator",
        "troubleshooting",
        "families/wan",
        "api/tasks",
    ):
        assert (site / page / "index.html").is_file(), page
    # Family pages come from the family modules' docstrings: the Wan table is there.
    assert "wan2.2-kf2v-flash" in (site / "families/wan/index.html").read_text()
    # The API reference is generated from the docstrings.
    assert "submit_video" in (site / "api/tasks/index.html").read_text()


def test_the_block_links_to_its_page_and_its_own_logo(site):
    base = _site_url()
    assert VideoGenCredentials._documentation_url.startswith(base)
    page = VideoGenCredentials._documentation_url.removeprefix(base)
    assert (site / page / "index.html").is_file()
    logo = VideoGenCredentials._logo_url.removeprefix(base)
    assert (site / logo).read_bytes() == (REPO / "prefect_videogen" / "logo.svg").read_bytes()


def test_readme_links_are_absolute():
    """PyPI shows the README without the repository's files: relative links break there."""
    import re

    links = re.findall(r"\]\(([^)]+)\)", (REPO / "README.md").read_text())
    assert links
    assert [link for link in links if not link.startswith("https://")] == []
