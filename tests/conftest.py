"""Shared test fixtures. Each area keeps its fixtures in its own module under tests/plugins/."""

pytest_plugins = [
    "plugins.emulator_fixtures",
    "plugins.postgres_fixtures",
    "plugins.prefect_fixtures",
    "plugins.redis_fixtures",
    "plugins.s3_fixtures",
]
