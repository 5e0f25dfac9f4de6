"""Deciding which requests get a fault, reproducibly.

One `random.Random` per endpoint, seeded from `FaultConfig.seed` and the endpoint name,
so the faults seen on `create` do not depend on how many polls happened in between. A
scripted fault (`EndpointFaults.script`) is taken before any random draw. Job-level faults
(generation failures, expired content) draw from their own generator at submission.
"""

from __future__ import annotations

import random
from collections import deque
from dataclasses import dataclass

from prefect_videogen.emulator.config import ENDPOINTS, FaultConfig
from prefect_videogen.emulator.store import FAILURE_MESSAGES

__all__ = ["FaultDecision", "FaultInjector", "InjectedDisconnect"]


class InjectedDisconnect(Exception):
    """Raised inside a response on purpose so the server drops the connection."""


@dataclass(frozen=True)
class FaultDecision:
    """What to do with one request."""

    kind: str  # ok | 429 | 500 | 503 | slow | drop | accepted_* (see EndpointFaults)
    delay: float = 0.0
    drop_after: int | None = None


class FaultInjector:
    """Per-endpoint fault decisions for one `FaultConfig` (replace it with `configure`)."""

    def __init__(self, config: FaultConfig) -> None:
        self.configure(config)

    def configure(self, config: FaultConfig) -> None:
        """Use new faults; generators are re-seeded and scripts restart."""
        self.config = config
        self._rngs = {e: random.Random(f"{config.seed}:{e}") for e in ENDPOINTS}
        self._scripts = {e: deque(config.for_endpoint(e).script) for e in ENDPOINTS}
        self._jobs = random.Random(f"{config.seed}:jobs")

    def decide(self, endpoint: str) -> FaultDecision:
        """The fault (or "ok") for the next request to `endpoint`."""
        faults = self.config.for_endpoint(endpoint)
        script = self._scripts[endpoint]
        if script:
            kind = script.popleft()
        else:
            draw = self._rngs[endpoint].random()
            kind = "ok"
            edge = 0.0
            for candidate, rate in (
                ("429", faults.rate_429),
                ("500", faults.rate_500),
                ("503", faults.rate_503),
                ("drop", faults.rate_drop),
                ("slow", faults.rate_slow),
            ):
                edge += rate
                if draw < edge:
                    kind = candidate
                    break
        return FaultDecision(
            kind,
            delay=faults.slow_seconds if kind in ("slow", "accepted_slow") else 0.0,
            drop_after=faults.drop_after_bytes,
        )

    def plan_job(self) -> tuple[tuple[str, str] | None, bool]:
        """(failure code and message, or None; whether the content is expired) for a new job."""
        failure = None
        if self._jobs.random() < self.config.failure_rate:
            code = self.config.failure_code
            message = self.config.failure_message or FAILURE_MESSAGES.get(
                code, f"Video generation failed ({code})."
            )
            failure = (code, message)
        expired = self._jobs.random() < self.config.expire_rate
        return failure, expired
