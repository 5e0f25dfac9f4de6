"""Shared test fixtures. Each area keeps its fixtures in its own module under tests/plugins/."""

import os
import sys
from pathlib import Path

# Bytecode: the suite starts dozens of Python processes (xdist workers, Prefect servers,
# workers and flow runs, crash children, CLI runs). Where PYTHONDONTWRITEBYTECODE is set (as
# in CI's image) none of them may write a .pyc, so each compiles the ~1,300 modules it
# imports from source again: about 2 s of CPU per process (a crash child: 6 s, 4 s with
# bytecode; the Prefect test server's start: 43 s, 30 s). Here bytecode is written once, to
# a cache folder inside the environment (PYTHONPYCACHEPREFIX, so no __pycache__ appears
# next to any source), and every later process of this run, and of the next runs, reads it.
# Set before xdist starts its workers, so they and every process they start inherit it.
if sys.dont_write_bytecode:
    os.environ.pop("PYTHONDONTWRITEBYTECODE", None)
    os.environ.setdefault("PYTHONPYCACHEPREFIX", str(Path(sys.prefix) / ".pycache"))
    sys.pycache_prefix = os.environ["PYTHONPYCACHEPREFIX"]
    sys.dont_write_bytecode = False

pytest_plugins = [
    "plugins.emulator_fixtures",
    "plugins.postgres_fixtures",
    "plugins.prefect_fixtures",
    "plugins.redis_fixtures",
    "plugins.s3_fixtures",
]

#: The test groups (`pytest.mark.xdist_group`) that take minutes, slowest first. Under
#: pytest-xdist's `--dist loadgroup` (see pyproject.toml) a group runs on one worker (its
#: module fixtures, such as the e2e stack, are set up once) and every other test is handed
#: out on its own, which keeps the two workers busy to the end; these groups go first so
#: that none of them is left to run alone at the end.
SLOW_GROUPS = ("e2e-sharding", "wheel", "e2e-deployments", "docs")


def pytest_xdist_make_scheduler(config, log):
    """`--dist loadgroup`, with the groups of `SLOW_GROUPS` handed out first."""
    if config.getvalue("dist") != "loadgroup":
        return None
    from xdist.scheduler import LoadGroupScheduling

    class SlowGroupsFirst(LoadGroupScheduling):
        def _assign_work_unit(self, node):
            for group in reversed(SLOW_GROUPS):
                if group in self.workqueue:
                    self.workqueue.move_to_end(group, last=False)
            super()._assign_work_unit(node)

    return SlowGroupsFirst(config, log)
