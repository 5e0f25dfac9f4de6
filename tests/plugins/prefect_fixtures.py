"""Fixtures: a real temporary Prefect server for the whole session."""

import pytest


@pytest.fixture(scope="session")
def prefect_server():
    """A temporary Prefect API (SQLite, ephemeral server) shared by the session's tests."""
    from prefect.testing.utilities import prefect_test_harness

    with prefect_test_harness(server_startup_timeout=180):
        yield
