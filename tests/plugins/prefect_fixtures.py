"""Fixtures: a temporary Prefect server for the session; fast polling; per-test results."""

import pytest


@pytest.fixture(scope="session")
def prefect_server():
    """A temporary Prefect API (SQLite, ephemeral server) shared by the session's tests."""
    from prefect.testing.utilities import prefect_test_harness

    with prefect_test_harness(server_startup_timeout=180):
        yield


@pytest.fixture
def fast_polling(monkeypatch):
    """Poll every 50 ms at first (the emulator's jobs take a fraction of a second)."""
    monkeypatch.setenv("PREFECT_INTEGRATIONS_VIDEOGEN_POLL_INTERVAL", "0.05")
    monkeypatch.setenv("PREFECT_INTEGRATIONS_VIDEOGEN_MAX_POLL_INTERVAL", "0.5")


@pytest.fixture
def isolated_results(tmp_path_factory):
    """Each test gets its own result storage, so cached submissions never leak between tests."""
    from prefect.settings import PREFECT_RESULTS_LOCAL_STORAGE_PATH, temporary_settings

    path = tmp_path_factory.mktemp("results")
    with temporary_settings({PREFECT_RESULTS_LOCAL_STORAGE_PATH: path}):
        yield path
