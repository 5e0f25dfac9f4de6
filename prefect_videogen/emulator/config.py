"""Settings of the emulator: `EmulatorConfig` (how the server behaves) and `FaultConfig`.

`EmulatorConfig` is fixed when the server starts. `FaultConfig` can be given at start and
replaced while the server runs (`POST /emulator/faults`, or `set_faults(base_url, ...)`).
Every fault decision draws from a random generator seeded with `FaultConfig.seed`, one
generator per endpoint, so a run that sends the same requests in the same order sees the
same faults.
"""

from __future__ import annotations

import builtins
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, SecretStr, model_validator

__all__ = [
    "ACCEPTED_FAULTS",
    "ENDPOINTS",
    "Dialect",
    "EmulatorConfig",
    "Endpoint",
    "EndpointFaults",
    "FaultConfig",
    "FaultKind",
]

Dialect = Literal["openai", "gateway", "seed"]
Endpoint = Literal["create", "retrieve", "list", "delete", "remix", "content"]
FaultKind = Literal[
    "ok",
    "429",
    "500",
    "503",
    "slow",
    "drop",
    "accepted_500",
    "accepted_502",
    "accepted_503",
    "accepted_504",
    "accepted_drop",
    "accepted_slow",
]

#: Faults that happen AFTER the request was served (on `create`: after the job exists).
ACCEPTED_FAULTS: tuple[str, ...] = (
    "accepted_500",
    "accepted_502",
    "accepted_503",
    "accepted_504",
    "accepted_drop",
    "accepted_slow",
)

#: The endpoints faults can be injected on. `content` also covers the gateway/seed `/files/` URLs.
ENDPOINTS: tuple[str, ...] = ("create", "retrieve", "list", "delete", "remix", "content")


class EndpointFaults(BaseModel):
    """Faults injected on one endpoint.

    Each request first takes the next entry of `script` (deterministic, consumed in order);
    when the script is empty, one random draw picks 429, 500, 503, drop or slow with the
    given rates (their sum must not exceed 1), otherwise the request is served normally.

    `drop` sends the status line, the headers and part of the body, then closes the
    connection. On `create` the job IS created before the connection is dropped (the
    "answer lost" case a client must never resubmit blindly); 429/500/503 on `create` are
    always decided before any job exists.

    The `accepted_*` kinds (script only) serve the request first, so on `create` the job
    exists and is billed, and then lose the answer: `accepted_500`/`accepted_503` answer
    the dialect's 5xx error, `accepted_502`/`accepted_504` a reverse proxy's HTML page,
    `accepted_drop` drops the connection mid-answer, and `accepted_slow` answers only after
    `slow_seconds` (set it past the client's read timeout).

    Example:
        ```python
        from prefect_videogen.emulator import EndpointFaults

        faults = EndpointFaults(script=["503", "429"])  # the next two requests fail, then ok
        ```
    """

    model_config = ConfigDict(extra="forbid")

    rate_429: float = Field(default=0.0, ge=0, le=1, description="Share of requests answered 429.")
    rate_500: float = Field(default=0.0, ge=0, le=1, description="Share answered 500.")
    rate_503: float = Field(default=0.0, ge=0, le=1, description="Share answered 503.")
    rate_drop: float = Field(
        default=0.0, ge=0, le=1, description="Share whose connection drops mid-response."
    )
    rate_slow: float = Field(
        default=0.0, ge=0, le=1, description="Share delayed by `slow_seconds`, then served."
    )
    slow_seconds: float = Field(default=0.5, ge=0, description="Delay of a slow response.")
    drop_after_bytes: int | None = Field(
        default=None,
        ge=0,
        description="Body bytes sent before a drop; default half the body (at most 64 KiB).",
    )
    script: list[FaultKind] = Field(
        default_factory=list,
        description=(
            "Faults of the next requests, in order: 429, 500, 503, drop, slow, ok, or one "
            "of the after-acceptance kinds accepted_500/502/503/504/drop/slow."
        ),
    )

    @model_validator(mode="after")
    def _rates_fit(self) -> EndpointFaults:
        total = self.rate_429 + self.rate_500 + self.rate_503 + self.rate_drop + self.rate_slow
        if total > 1.0 + 1e-9:
            raise ValueError(f"the fault rates add up to {total:.3f}; their sum must be at most 1")
        return self


class FaultConfig(BaseModel):
    """All faults the emulator injects.

    Example:
        ```python
        from prefect_videogen.emulator import FaultConfig, run_emulator

        faults = FaultConfig(
            seed=7, create={"rate_429": 0.5}, fail_prompts={"boom": "moderation_blocked"}
        )
        with run_emulator(faults=faults, latency=0.1, fps=4) as base_url:
            print(base_url)
        ```
    """

    model_config = ConfigDict(extra="forbid")

    seed: int = Field(default=0, description="Seed of the per-endpoint random generators.")
    retry_after: float | None = Field(
        default=1.0, ge=0, description="`Retry-After` seconds sent with a 429 (None: no header)."
    )
    create: EndpointFaults = Field(default_factory=EndpointFaults)
    retrieve: EndpointFaults = Field(default_factory=EndpointFaults)
    list: EndpointFaults = Field(default_factory=EndpointFaults)
    delete: EndpointFaults = Field(default_factory=EndpointFaults)
    remix: EndpointFaults = Field(default_factory=EndpointFaults)
    content: EndpointFaults = Field(default_factory=EndpointFaults)
    failure_rate: float = Field(
        default=0.0, ge=0, le=1, description="Share of new jobs that end `failed`."
    )
    failure_code: str = Field(
        default="generation_failed", description="Error code of a failed job."
    )
    failure_message: str | None = Field(
        default=None, description="Error message of a failed job (default: one per code)."
    )
    echo_key_in_failures: bool = Field(
        default=False,
        description="Failed jobs' messages quote the API key, as gateways that relay an "
        "upstream error verbatim do (for testing redaction).",
    )
    fail_prompts: dict[str, str] = Field(
        default_factory=dict,
        description="Prompt substring -> error code of jobs that end failed (list: failure_code).",
    )
    fail_ids: builtins.list[str] = Field(
        default_factory=builtins.list, description="Job ids that end failed (if not finished yet)."
    )
    expire_rate: float = Field(
        default=0.0, ge=0, le=1, description="Share of new jobs whose content is expired at once."
    )
    expire_prompts: builtins.list[str] = Field(
        default_factory=builtins.list,
        description="Prompt substrings whose jobs' content is expired.",
    )
    expire_ids: builtins.list[str] = Field(
        default_factory=builtins.list, description="Job ids whose content is expired."
    )

    @model_validator(mode="before")
    @classmethod
    def _prompts_as_mapping(cls, data: Any) -> Any:
        if isinstance(data, dict) and isinstance(data.get("fail_prompts"), builtins.list | tuple):
            code = data.get("failure_code", "generation_failed")
            data = {**data, "fail_prompts": dict.fromkeys(data["fail_prompts"], code)}
        return data

    def for_endpoint(self, endpoint: str) -> EndpointFaults:
        """The faults of one endpoint."""
        return getattr(self, endpoint)


class EmulatorConfig(BaseModel):
    """How the emulator behaves; fixed when the server starts.

    Example:
        ```python
        from prefect_videogen.emulator import EmulatorConfig, run_emulator

        config = EmulatorConfig(dialect="gateway", latency=0.2, fps=4)
        with run_emulator(config) as base_url:
            print(base_url)  # http://127.0.0.1:<port>/v1
        ```
    """

    model_config = ConfigDict(extra="forbid")

    dialect: Dialect = Field(
        default="openai",
        description="Wire dialect: `openai` (official API), `gateway` (new-api) or `seed`.",
    )
    api_key: SecretStr | None = Field(
        default=SecretStr("sk-emulator"),
        description="The Bearer key clients must send; None turns authentication off.",
    )
    latency: float = Field(
        default=2.0,
        ge=0,
        description="Seconds from submit to completed (at least the render time).",
    )
    queued_fraction: float = Field(
        default=0.2, ge=0, le=1, description="Share of `latency` a job spends `queued`."
    )
    poll_after_ms: int | None = Field(
        default=None,
        ge=1,
        description="`openai-poll-after-ms` hint; default latency/10 within 50..2000 ms.",
    )
    fps: int = Field(default=24, ge=1, le=60, description="Frames per second of rendered videos.")
    render_scale: float = Field(
        default=1.0,
        gt=0,
        le=1,
        description="Frame-size multiplier; below 1 the MP4 is smaller than asked (fast tests).",
    )
    render_workers: int | None = Field(
        default=None, ge=1, description="Render threads; default min(4, CPU count)."
    )
    content_ttl: float = Field(
        default=3600.0, gt=0, description="Seconds a result stays downloadable after completion."
    )
    pad_content_to: int | None = Field(
        default=None,
        ge=0,
        description="Pad each MP4 with a trailing `free` box to this many bytes (benchmarks).",
    )
    max_image_bytes: int = Field(
        default=10 * 1024 * 1024, ge=1, description="Largest accepted input image."
    )
    max_seconds: int = Field(default=60, ge=1, description="Longest video the emulator renders.")
    max_dimension: int = Field(default=4096, ge=16, description="Largest frame side rendered.")
    content_dir: str | None = Field(
        default=None,
        description="Directory for rendered files; default a temporary one removed on close.",
    )
    not_start_seconds: float | None = Field(
        default=None,
        ge=0,
        description=(
            "gateway only: seconds after submit during which GET answers status `unknown` "
            "(new-api's NOT_START, until its poller first runs); default half the queued "
            "phase, 0 turns it off."
        ),
    )
    content_timeout: float = Field(
        default=60.0,
        gt=0,
        description=(
            "gateway only: total seconds of a proxied `/content` answer, streaming included; "
            "the connection is cut after that (new-api's 60 s proxy limit)."
        ),
    )
    content_rate: int | None = Field(
        default=None,
        ge=1,
        description="Bytes per second of every download (a slow link); default unthrottled.",
    )
    unservable_models: builtins.list[str] = Field(
        default_factory=lambda: ["grok-imagine-video"],
        description=(
            "gateway only: models the gateway advertises but has no task adaptor for; a "
            "create answers 400 `invalid_api_platform` (new-api issue #6358)."
        ),
    )
    idempotency: bool = Field(
        default=True,
        description=(
            "Honour `Idempotency-Key` (replay the first answer); False ignores the header, "
            "as most real servers do."
        ),
    )
    extra_api_keys: builtins.list[SecretStr] = Field(
        default_factory=list,
        description="More accepted Bearer keys, each another account (with `api_key`).",
    )
    per_key_jobs: bool = Field(
        default=False,
        description=(
            "A job is visible only to the key that created it (as on OpenAI); others get 404."
        ),
    )
    faults: FaultConfig = Field(default_factory=FaultConfig, description="Injected faults.")

    def not_start_window(self) -> float:
        """Seconds a new gateway job answers `unknown` (0 in other dialects)."""
        if self.dialect != "gateway":
            return 0.0
        if self.not_start_seconds is not None:
            return self.not_start_seconds
        return self.latency * self.queued_fraction / 2

    def poll_hint_ms(self) -> int:
        """The `openai-poll-after-ms` value sent for unfinished jobs."""
        if self.poll_after_ms is not None:
            return self.poll_after_ms
        return int(min(2000, max(50, self.latency * 100)))
