"""Shared test fixtures. Each area keeps its fixtures in its own module under tests/plugins/."""

pytest_plugins = [
    "plugins.emulator_fixtures",
    "plugins.postgres_fixtures",
    "plugins.prefect_fixtures",
    "plugins.redis_fixtures",
    "plugins.s3_fixtures",
]

#: Modules that take minutes, slowest first. They are collected first, so that under
#: pytest-xdist (`--dist loadfile`, see pyproject.toml) they start at once on the two
#: workers and the quick modules fill the gaps, instead of one of them finishing last alone.
SLOW_MODULES = (
    "e2e/test_e2e_sharding.py",
    "test_wheel.py",
    "e2e/test_e2e_deployments.py",
    "reliability/test_batch_resume.py",
    "reliability/test_crash_resume.py",
    "reliability/test_ledger_crash.py",
    "reliability/test_cancellation.py",
)


def pytest_collection_modifyitems(items):
    def rank(item) -> int:
        path = item.path.as_posix()
        return next(
            (n for n, suffix in enumerate(SLOW_MODULES) if path.endswith("tests/" + suffix)),
            len(SLOW_MODULES),
        )

    items.sort(key=rank)  # stable: every module keeps its own order, the rest theirs
