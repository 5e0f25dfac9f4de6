"""Know the bill before paying it: price table, cost estimates and budget guards.

Video models are billed per second of output, by resolution tier and sometimes by whether
sound is generated. No server tells what a job will cost before it is made, so the
estimate comes from a price table:

- the table the package ships (`prefect_videogen/prices.toml`): list prices per model,
  each row with its currency, source and date;
- yours, matched first: gateways resell at their own prices. Put rows of the same shape
  in a TOML or JSON file and point `PREFECT_INTEGRATIONS_VIDEOGEN_PRICE_TABLE` at it, or
  save a `VideoGenPriceTable` block and set the variable to its name
  (`"videogen-price-table/my-gateway"`).

`estimate_cost(request)` validates the request with its model family first (so the
estimate is of the request as it will be sent, defaults filled in) and prices it. A model,
tier or duration without a price gives an estimate that says "unknown", never zero.

Flows take `max_cost` (refuse before the first paid call when the estimate is above it)
and `daily_cap` (a running budget shared by every run using the same `budget_name`, so two
nightly batches together stay under it; see `DailyBudget`). Reruns and videos already
submitted cost nothing in either tally.

Example:
    ```python
    from prefect_videogen.costs import estimate_cost
    from prefect_videogen.families import VideoRequest

    estimate = estimate_cost(VideoRequest(model="sora-2", prompt="a fox", seconds=8))
    print(estimate)  # 0.80 USD (8 s x 0.10 USD/s, sora-2 720p)
    ```
"""

from __future__ import annotations

import fnmatch
import json
import re
import time
import tomllib
from collections.abc import Iterable, Iterator, Mapping, Sequence
from datetime import UTC, datetime
from importlib import resources
from pathlib import Path
from typing import Any

from prefect.blocks.core import Block
from prefect.filesystems import LocalFileSystem
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from prefect_videogen import _prefect
from prefect_videogen.exceptions import BudgetExceededError, InvalidRequestError

__all__ = [
    "BatchEstimate",
    "CostEstimate",
    "DailyBudget",
    "PriceRow",
    "PriceTable",
    "VideoGenPriceTable",
    "aguard_spend",
    "check_max_cost",
    "default_price_table",
    "estimate_batch",
    "estimate_cost",
    "estimate_rows",
    "format_rows",
    "format_spend",
    "guard_spend",
    "load_price_table",
    "price_request",
    "record_estimate",
    "summarize_spend",
]

#: Known tier words and the short side (in pixels) they stand for.
_TIER_SIDES = {"2k": 1440, "4k": 2160}
_WXH = re.compile(r"^\s*(\d+)\s*[xX*\u00d7]\s*(\d+)\s*$")
_TIER = re.compile(r"^\s*(\d+)\s*[pP]?\s*$")
_BLOCK_CACHE_SECONDS = 60.0


class PriceRow(BaseModel):
    """One row of a price table: what some models cost per second of output.

    Example:
        ```python
        from prefect_videogen.costs import PriceRow

        row = PriceRow(models=["my-model*"], per_second={"720p": 0.05}, default_tier="720p",
                       source="my gateway's price page", as_of="2026-12-01")
        assert row.matches("my-model-v2")
        ```
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    models: list[str] = Field(min_length=1, description="Names or glob patterns (case-blind).")
    family: str | None = Field(default=None, description="The family serving them (a note).")
    per_second: dict[str, float] = Field(
        default_factory=dict, description="Price per second of output, by tier."
    )
    audio_per_second: dict[str, float] = Field(
        default_factory=dict, description="Price per second with sound, by tier, where it differs."
    )
    per_clip: dict[str, dict[str, float]] = Field(
        default_factory=dict, description="Exact clip prices by tier, then by seconds."
    )
    audio_param: str | None = Field(
        default=None, description="The parameter that turns sound on or off."
    )
    audio_default: bool = Field(default=False, description="Sound when the request says nothing.")
    tier_param: str = Field(
        default="resolution", description="Parameter naming the tier when `size` does not."
    )
    default_tier: str | None = Field(default=None, description="Tier when nothing names one.")
    default_seconds: int | None = Field(
        default=None, description="Duration when the request leaves it to the server."
    )
    source: str | None = Field(default=None, description="Where the price was read.")
    as_of: str | None = Field(default=None, description="When it was read (YYYY-MM-DD).")
    note: str | None = Field(default=None, description="How it was derived, caveats.")

    def matches(self, model: str) -> bool:
        """Whether this row prices `model`."""
        return any(fnmatch.fnmatchcase(model.lower(), p.lower()) for p in self.models)

    def specificity(self, model: str) -> tuple[int, int]:
        """How closely the row names `model`: exact names first, then longer patterns."""
        best = (0, 0)
        for pattern in self.models:
            if pattern.lower() == model.lower():
                return (1, len(pattern))
            if fnmatch.fnmatchcase(model.lower(), pattern.lower()):
                best = max(best, (0, len(pattern)))
        return best

    @property
    def tiers(self) -> set[str]:
        """Every tier with a price."""
        return {*self.per_second, *self.audio_per_second, *self.per_clip}


class PriceTable(BaseModel):
    """Price rows in one currency, with an optional table underneath for what they miss.

    Example:
        ```python
        from prefect_videogen.costs import PriceTable, default_price_table

        mine = PriceTable.model_validate({
            "currency": "USD",
            "price": [{"models": ["sora-2"], "per_second": {"720p": 0.08},
                       "source": "my gateway", "as_of": "2026-12-01"}],
        })
        table = mine.over(default_price_table())
        ```
    """

    model_config = ConfigDict(populate_by_name=True)

    currency: str = Field(default="USD", description="Currency of every price in the table.")
    rows: list[PriceRow] = Field(default_factory=list, alias="price", description="The rows.")
    label: str = Field(default="prices", description="Where the table came from.")
    fallback: PriceTable | None = Field(
        default=None, description="The table consulted when no row here names the model."
    )

    def over(self, fallback: PriceTable) -> PriceTable:
        """This table, with `fallback` consulted for models it does not name.

        Raises:
            InvalidRequestError: when the currencies differ (a sum would mean nothing).
        """
        if fallback.currency != self.currency:
            raise InvalidRequestError(
                "price_table",
                f"{self.label} is in {self.currency} but the table under it ({fallback.label}) "
                f"is in {fallback.currency}; price every model you use in {self.currency} and "
                "set include_defaults=False (or convert your prices)",
            )
        return self.model_copy(update={"fallback": fallback})

    def row_for(self, model: str) -> tuple[PriceRow | None, str]:
        """The most specific row naming `model`, and the label of its table."""
        rows = [row for row in self.rows if row.matches(model)]
        if rows:
            return max(rows, key=lambda row: row.specificity(model)), self.label
        if self.fallback is not None:
            return self.fallback.row_for(model)
        return None, self.label


class CostEstimate(BaseModel):
    """What one video is expected to cost, or why that is not known.

    `amount` is None when the price is unknown: it is never reported as zero.

    Example:
        ```python
        from prefect_videogen.costs import CostEstimate

        estimate = CostEstimate(model="sora-2", seconds=4, tier="720p", amount=0.4,
                                unit_price=0.1, currency="USD")
        print(estimate, estimate.known)  # 0.40 USD (4 s x 0.10 USD/s, sora-2 720p) True
        ```
    """

    model_config = ConfigDict(frozen=True)

    model: str = Field(description="The model priced.")
    seconds: int | None = Field(default=None, description="Seconds of output priced.")
    tier: str | None = Field(default=None, description="The resolution tier (or mode) priced.")
    audio: bool | None = Field(default=None, description="Whether sound was priced in.")
    unit_price: float | None = Field(default=None, description="Price per second used.")
    amount: float | None = Field(default=None, description="The estimate; None when unknown.")
    currency: str = Field(default="USD", description="Currency of `amount`.")
    source: str | None = Field(default=None, description="Where the price comes from.")
    as_of: str | None = Field(default=None, description="When the price was read.")
    table: str | None = Field(default=None, description="Which price table priced it.")
    reason: str | None = Field(default=None, description="Why the amount is unknown.")

    @property
    def known(self) -> bool:
        """Whether there is an amount."""
        return self.amount is not None

    def display(self) -> str:
        """A short form for tables: "0.40 USD" or "unknown"."""
        return f"{self.amount:.2f} {self.currency}" if self.amount is not None else "unknown"

    def __str__(self) -> str:
        if self.amount is None:
            return f"unknown ({self.reason})"
        tier = f" {self.tier}" if self.tier else ""
        unit = ""
        if self.unit_price is not None:
            price = self.unit_price
            shown = f"{price:.2f}" if round(price, 2) == price else f"{price:.4g}"
            unit = f" x {shown} {self.currency}/s"
        return f"{self.display()} ({self.seconds} s{unit}, {self.model}{tier})"


class BatchEstimate(BaseModel):
    """The estimate of a batch: one `CostEstimate` per entry and what the run would pay.

    Entries that repeat an earlier one (`duplicate_of`) and entries whose job was already
    submitted by an earlier run (`already_submitted`) cost nothing in `total`.

    Example:
        ```python
        from prefect_videogen.costs import estimate_batch

        batch = estimate_batch([{"model": "sora-2", "prompt": "a fox", "seconds": 4}] * 2)
        print(batch.total, batch.unknown)  # 0.4 0
        ```
    """

    entries: list[CostEstimate] = Field(description="One estimate per entry, in order.")
    duplicate_of: list[int | None] = Field(description="The earlier entry each one repeats.")
    already_submitted: list[bool] = Field(description="Whether its job exists from a past run.")
    currency: str = Field(default="USD", description="Currency of the total.")

    @property
    def payable(self) -> list[int]:
        """Indexes of the entries this run would pay for."""
        return [
            i
            for i in range(len(self.entries))
            if self.duplicate_of[i] is None and not self.already_submitted[i]
        ]

    @property
    def total(self) -> float:
        """Sum of the known amounts this run would pay (unknown ones are counted apart)."""
        amounts = (self.entries[i].amount for i in self.payable)
        return round(sum(a for a in amounts if a is not None), 6)

    @property
    def unknown(self) -> int:
        """How many payable entries have no price."""
        return sum(self.entries[i].amount is None for i in self.payable)

    def display_total(self) -> str:
        """The total for people: "1.20 USD", "1.20 USD + 2 unknown"."""
        text = f"{self.total:.2f} {self.currency}"
        return f"{text} + {self.unknown} unknown" if self.unknown else text

    def cost_in_tally(self, index: int) -> float | None:
        """What entry `index` adds to this run's tally (0 for repeats and past jobs)."""
        if self.duplicate_of[index] is not None or self.already_submitted[index]:
            return 0.0
        return self.entries[index].amount


# --------------------------------------------------------------------------------------
# Loading tables


class VideoGenPriceTable(Block):
    """Your prices, saved as a block: a gateway's resale prices, a negotiated rate.

    Rows have the shape of `prefect_videogen/prices.toml`'s `[[price]]` rows. With
    `include_defaults` the package's table answers for models your rows do not name (it
    must then be in the same currency).

    Example:
        ```python
        from prefect_videogen.costs import VideoGenPriceTable

        VideoGenPriceTable(
            currency="USD",
            prices=[{"models": ["kling-v2-1*"], "per_second": {"std": 0.056, "pro": 0.098},
                     "tier_param": "mode", "default_tier": "std",
                     "source": "my gateway's price page", "as_of": "2026-12-01"}],
        ).save("my-gateway")
        # then: PREFECT_INTEGRATIONS_VIDEOGEN_PRICE_TABLE=videogen-price-table/my-gateway
        ```
    """

    _block_type_name = "VideoGen Price Table"
    _logo_url = "https://avatars.githubusercontent.com/u/14957082?s=200&v=4"

    currency: str = Field(default="USD", description="Currency of every price below.")
    prices: list[dict[str, Any]] = Field(
        default_factory=list, description="Price rows (see prefect_videogen/prices.toml)."
    )
    include_defaults: bool = Field(
        default=True, description="Fall back on the package's table for models not named here."
    )

    def price_table(self) -> PriceTable:
        """The table these rows make (over the package's table when `include_defaults`)."""
        name = getattr(self, "_block_document_name", None)
        table = _parse_table(
            {"currency": self.currency, "price": self.prices},
            label=f"videogen-price-table/{name}" if name else "VideoGenPriceTable",
        )
        return table.over(default_price_table()) if self.include_defaults else table


def _parse_table(doc: Mapping[str, Any], *, label: str) -> PriceTable:
    try:
        return PriceTable.model_validate({**doc, "label": label})
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in error['loc'])}: {error['msg']}" for error in exc.errors()
        )
        message = f"{label} is not a price table: {problems}"
        raise InvalidRequestError("price_table", message) from None


_default: PriceTable | None = None


def default_price_table() -> PriceTable:
    """The table shipped with the package (`prefect_videogen/prices.toml`)."""
    global _default
    if _default is None:
        text = resources.files("prefect_videogen").joinpath("prices.toml").read_text("utf-8")
        _default = _parse_table(tomllib.loads(text), label="prefect-videogen prices.toml")
    return _default


def _read_file(path: Path) -> PriceTable:
    if not path.is_file():
        raise InvalidRequestError("price_table", f"{str(path)!r} is not a file")
    try:
        if path.suffix.lower() == ".json":
            doc = json.loads(path.read_text("utf-8"))
        else:
            doc = tomllib.loads(path.read_text("utf-8"))
    except (json.JSONDecodeError, tomllib.TOMLDecodeError) as exc:
        raise InvalidRequestError("price_table", f"{path.name}: {exc}") from None
    include_defaults = bool(doc.pop("include_defaults", True))
    table = _parse_table(doc, label=str(path))
    return table.over(default_price_table()) if include_defaults else table


_loaded: dict[str, tuple[float, Any, PriceTable]] = {}


def load_price_table(source: Any = None) -> PriceTable:
    """The price table to estimate with.

    Args:
        source: A `PriceTable`, a `VideoGenPriceTable` block, a path of a `.toml` or `.json`
            table, a saved block's name (`"videogen-price-table/<name>"` or `"<name>"`), or
            None: the `price_table` setting (`PREFECT_INTEGRATIONS_VIDEOGEN_PRICE_TABLE`),
            else the package's table.

    A file is read again when it changes; a block is loaded at most once a minute.

    Example:
        ```python
        from prefect_videogen.costs import load_price_table

        table = load_price_table("gateway-prices.toml")
        ```
    """
    if isinstance(source, PriceTable):
        return source
    if isinstance(source, VideoGenPriceTable):
        return source.price_table()
    if source is None:
        from prefect_videogen.settings import current_settings

        source = current_settings().price_table
        if not source:
            return default_price_table()
    if not isinstance(source, str | Path):
        raise InvalidRequestError(
            "price_table",
            value=type(source).__name__,
            allowed="a PriceTable, a VideoGenPriceTable block, a file path or a block name",
        )
    text = str(source)
    path = Path(text).expanduser()
    if isinstance(source, Path) or path.suffix.lower() in (".toml", ".json") or path.is_file():
        stamp = path.stat().st_mtime_ns if path.is_file() else None
        cached = _loaded.get(text)
        if cached is None or cached[1] != stamp:
            cached = (time.monotonic(), stamp, _read_file(path))
            _loaded[text] = cached
        return cached[2]
    cached = _loaded.get(text)
    if cached is not None and time.monotonic() - cached[0] < _BLOCK_CACHE_SECONDS:
        return cached[2]
    name = text.split("/", 1)[1] if "/" in text else text
    try:
        block = _prefect.call_sync(VideoGenPriceTable.load, name)
    except ValueError as exc:
        raise InvalidRequestError(
            "price_table",
            f"no price table file or VideoGenPriceTable block named {text!r} ({exc})",
        ) from None
    table = block.price_table()
    _loaded[text] = (time.monotonic(), None, table)
    return table


# --------------------------------------------------------------------------------------
# Estimating


def _side_of(tier: str) -> int | None:
    tier = tier.strip().lower()
    if tier in _TIER_SIDES:
        return _TIER_SIDES[tier]
    match = _TIER.match(tier)
    return int(match.group(1)) if match else None


def _tier_from_size(size: str | None, tiers: Iterable[str]) -> str | None:
    """The priced tier closest to `size` ("1280x720", "1280*720", "720P", "4k")."""
    if not size:
        return None
    text = size.strip().lower()
    named = {t.lower(): t for t in tiers}
    if text in named:
        return named[text]
    match = _WXH.match(text)
    side = min(int(match.group(1)), int(match.group(2))) if match else _side_of(text)
    if side is None:
        return None  # an aspect ratio ("16:9"): the size names no tier
    sized = [(s, t) for t in tiers if (s := _side_of(t)) is not None]
    if not sized:
        return None
    # Nearest by short side (a tie goes to the dearer, higher tier), if within 20 %:
    # 864x496 is Seedance's 480p, 1088*832 is one of Wan's 720P sizes; 1080 is not 768p.
    near_side, near = min(sized, key=lambda item: (abs(item[0] - side), -item[0]))
    return near if max(near_side, side) <= 1.2 * min(near_side, side) else None


def _names_resolution(size: str) -> bool:
    """Whether `size` names a resolution (WxH or a tier word), not only an aspect ratio."""
    text = size.strip().lower()
    return _WXH.match(text) is not None or _side_of(text) is not None


def _param(request: Any, name: str) -> Any:
    for source in (request.params, request.metadata):
        if isinstance(source, Mapping):
            if name in source:
                return source[name]
            for nested in ("parameters", "input"):  # DashScope-style nesting (Wan)
                inner = source.get(nested)
                if isinstance(inner, Mapping) and name in inner:
                    return inner[name]
    return None


def _as_bool(value: Any) -> bool:
    if isinstance(value, str):
        return value.strip().lower() in ("1", "true", "yes", "on")
    return bool(value)


def price_request(normalized: Any, table: PriceTable) -> CostEstimate:
    """Price a request that its family has already validated (no validation here).

    Example:
        ```python
        from prefect_videogen.caching import normalize_request
        from prefect_videogen.costs import default_price_table, price_request
        from prefect_videogen.families import VideoRequest

        normalized, _ = normalize_request(VideoRequest(model="sora-2", prompt="a fox"))
        print(price_request(normalized, default_price_table()))
        ```
    """
    model = normalized.model
    row, label = table.row_for(model)
    base = {"model": model, "currency": table.currency, "table": label}
    if row is None:
        return CostEstimate(**base, reason=f"no price for model {model!r} in {label}")
    base.update(source=row.source, as_of=row.as_of)
    seconds = normalized.seconds if normalized.seconds is not None else row.default_seconds
    tier = _tier_from_size(normalized.size, row.tiers)
    if tier is None and normalized.size and _names_resolution(normalized.size):
        tier = normalized.size.strip()  # a resolution with no price: "unknown", not the default
    if tier is None:
        named = _param(normalized, row.tier_param)
        if named is not None:
            tier = _tier_from_size(str(named), row.tiers) or str(named)
    tier = tier or row.default_tier
    audio = row.audio_default
    if row.audio_param is not None and (given := _param(normalized, row.audio_param)) is not None:
        audio = _as_bool(given)
    base.update(seconds=seconds, tier=tier, audio=audio if row.audio_param else None)
    if not row.tiers:
        note = f": {row.note}" if row.note else ""
        return CostEstimate(**base, reason=f"no known price for {model!r}{note}")
    if seconds is None:
        return CostEstimate(**base, reason=f"the duration of {model!r} is not known: pass seconds")
    clips = row.per_clip.get(tier or "", {})
    if str(seconds) in clips:
        return CostEstimate(**base, amount=round(clips[str(seconds)], 6))
    prices = row.audio_per_second if audio and row.audio_per_second else row.per_second
    if tier not in prices:
        return CostEstimate(
            **base,
            reason=(
                f"no price for {model!r} at {tier or 'an unknown tier'}"
                f"{f' for {seconds} s' if clips else ''}; priced: " + ", ".join(sorted(row.tiers))
            ),
        )
    unit = prices[tier]
    return CostEstimate(**base, unit_price=unit, amount=round(unit * seconds, 6))


def estimate_cost(request: Any, prices: Any = None) -> CostEstimate:
    """What one video will cost: the request is validated by its family, then priced.

    Args:
        request: A `VideoRequest` or a dict of its fields.
        prices: A price table or where to read one (see `load_price_table`); None for the
            `price_table` setting or the package's table.

    Returns:
        A `CostEstimate`; its `amount` is None (shown "unknown") when the model, tier or
        duration has no price.

    Raises:
        InvalidRequestError: the request is not acceptable for the model (named field).

    Example:
        ```python
        from prefect_videogen.costs import estimate_cost

        print(estimate_cost({"model": "veo-3.1-fast-generate-001", "prompt": "a lighthouse",
                             "seconds": 8, "size": "1920x1080"}))
        # 0.96 USD (8 s x 0.12 USD/s, veo-3.1-fast-generate-001 1080p)
        ```
    """
    from prefect_videogen.caching import normalize_request

    normalized, _ = normalize_request(request)
    return price_request(normalized, load_price_table(prices))


def estimate_batch(
    requests: Sequence[Any],
    prices: Any = None,
    *,
    attempts: Sequence[int] | None = None,
    credentials: Any = None,
) -> BatchEstimate:
    """Estimate a batch: one estimate per entry; repeats of an entry cost nothing more.

    Args:
        requests: `VideoRequest`s or dicts of their fields.
        prices: As in `estimate_cost`.
        attempts: Each entry's attempt number (an entry repeats another only with the same
            normalized request and attempt); all 0 if None.
        credentials: The credentials the batch would use: with them, an entry whose job
            was already submitted by an earlier run (same request, attempt and `base_url`)
            costs nothing. Without them every entry counts.

    Example:
        ```python
        from prefect_videogen.costs import estimate_batch

        batch = estimate_batch([
            {"model": "sora-2", "prompt": "a fox", "seconds": 4},
            {"model": "sora-2-pro", "prompt": "a heron", "seconds": 8, "size": "1792x1024"},
        ])
        print(batch.display_total())  # 4.40 USD
        ```
    """
    from prefect_videogen.caching import normalize_request

    table = load_price_table(prices)
    entries, duplicate_of, done, seen = [], [], [], {}
    for index, request in enumerate(requests):
        normalized, _ = normalize_request(request)
        entries.append(price_request(normalized, table))
        attempt = attempts[index] if attempts else 0
        key = (normalized.fingerprint(), attempt)
        duplicate_of.append(seen.get(key))
        seen.setdefault(key, index)
        first = duplicate_of[-1] is None
        done.append(first and credentials is not None and _paid(normalized, credentials, attempt))
    return BatchEstimate(
        entries=entries,
        duplicate_of=duplicate_of,
        already_submitted=done,
        currency=table.currency,
    )


# --------------------------------------------------------------------------------------
# Guards


def _refuse_unknown(estimate: BatchEstimate, cap: str, value: float) -> None:
    unknown = [estimate.entries[i] for i in estimate.payable if not estimate.entries[i].known]
    if not unknown:
        return
    models = sorted({e.model for e in unknown})
    raise BudgetExceededError(
        estimate=None,
        cap=value,
        currency=estimate.currency,
        field=cap,
        message=(
            f"{len(unknown)} video(s) have no known price ({', '.join(models)}), so "
            f"{cap}={value:g} {estimate.currency} cannot be "
            "checked; add their prices (PREFECT_INTEGRATIONS_VIDEOGEN_PRICE_TABLE) or pass "
            "allow_unknown_prices=True to count them as nothing"
        ),
    )


def check_max_cost(
    estimate: BatchEstimate | CostEstimate,
    max_cost: float | None,
    *,
    allow_unknown_prices: bool = False,
) -> None:
    """Refuse, before any paid call, a run whose estimate is above `max_cost`.

    With unknown prices the cap cannot be checked: refused unless `allow_unknown_prices`.

    Raises:
        BudgetExceededError: naming the estimate, the cap and how to proceed.

    Example:
        ```python
        from prefect_videogen.costs import check_max_cost, estimate_cost

        estimate = estimate_cost({"model": "sora-2", "prompt": "a fox", "seconds": 12})
        check_max_cost(estimate, 1.0)  # BudgetExceededError: about 1.20 USD, above 1
        ```
    """
    if max_cost is None:
        return
    if isinstance(estimate, CostEstimate):
        estimate = BatchEstimate(
            entries=[estimate],
            duplicate_of=[None],
            already_submitted=[False],
            currency=estimate.currency,
        )
    if not allow_unknown_prices:
        _refuse_unknown(estimate, "max_cost", max_cost)
    if estimate.total > max_cost + 1e-9:
        raise BudgetExceededError(
            estimate=estimate.total,
            cap=max_cost,
            currency=estimate.currency,
            message=(
                f"this run would cost about {estimate.display_total()}, above "
                f"max_cost={max_cost:g} {estimate.currency}; raise max_cost, make fewer or "
                "shorter videos, or run with dry_run=True to see the cost of each"
            ),
        )


def guard_spend(
    estimate: BatchEstimate,
    *,
    max_cost: float | None = None,
    daily_cap: float | None = None,
    budget_name: str = "default",
    allow_unknown_prices: bool = False,
) -> None:
    """The budget checks every flow runs before its first paid call.

    `max_cost` caps this run; `daily_cap` caps the day (UTC) of every run sharing
    `budget_name` (`DailyBudget`: this run's total is reserved there when it fits). A run
    with unknown prices is refused under either cap unless `allow_unknown_prices`.

    Raises:
        BudgetExceededError: naming the estimate, the cap and how to proceed.
    """
    check_max_cost(estimate, max_cost, allow_unknown_prices=allow_unknown_prices)
    if daily_cap is not None:
        if not allow_unknown_prices:
            _refuse_unknown(estimate, "daily_cap", daily_cap)
        DailyBudget(budget_name, daily_cap, estimate.currency).reserve(estimate.total)


async def aguard_spend(
    estimate: BatchEstimate,
    *,
    max_cost: float | None = None,
    daily_cap: float | None = None,
    budget_name: str = "default",
    allow_unknown_prices: bool = False,
) -> None:
    """Async twin of `guard_spend`."""
    check_max_cost(estimate, max_cost, allow_unknown_prices=allow_unknown_prices)
    if daily_cap is not None:
        if not allow_unknown_prices:
            _refuse_unknown(estimate, "daily_cap", daily_cap)
        await DailyBudget(budget_name, daily_cap, estimate.currency).areserve(estimate.total)


def estimate_rows(
    summaries: Sequence[Mapping[str, Any]], estimate: BatchEstimate
) -> list[dict[str, Any]]:
    """The rows of a dry run's table: what each entry would make and what it would cost,
    then a total row."""
    rows: list[dict[str, Any]] = []
    for index, (summary, entry) in enumerate(zip(summaries, estimate.entries, strict=True)):
        if estimate.duplicate_of[index] is not None:
            note = f"same as #{estimate.duplicate_of[index]}: made once"
        elif estimate.already_submitted[index]:
            note = "already submitted by an earlier run: costs nothing now"
        else:
            note = entry.reason or ""
        rows.append(
            {
                "#": index,
                "model": summary.get("model"),
                "mode": summary.get("mode"),
                "seconds": entry.seconds,
                "size": summary.get("size"),
                "tier": entry.tier,
                "prompt": str(summary.get("prompt", ""))[:60],
                "estimated_cost": entry.display(),
                "in_total": _money(estimate.cost_in_tally(index), entry.currency),
                "note": note,
                "price_source": entry.source,
            }
        )
    rows.append(
        {
            "#": "total",
            "in_total": estimate.display_total(),
            "note": f"{len(estimate.payable)} new paid video(s) of {len(rows)} entries",
        }
    )
    return rows


def _money(amount: float | None, currency: str) -> str:
    return "unknown" if amount is None else f"{amount:.2f} {currency}"


def format_rows(rows: Sequence[Mapping[str, Any]], columns: Sequence[str]) -> str:
    """Rows as a plain-text table (for the terminal and logs)."""
    cells = [[str(c) for c in columns]]
    cells += [["" if row.get(c) is None else str(row.get(c)) for c in columns] for row in rows]
    widths = [max(len(line[i]) for line in cells) for i in range(len(columns))]
    lines = [
        "  ".join(cell.ljust(width) for cell, width in zip(line, widths, strict=True))
        for line in cells
    ]
    lines.insert(1, "  ".join("-" * width for width in widths))
    return "\n".join(line.rstrip() for line in lines)


def record_estimate(request: Any) -> CostEstimate | None:
    """The estimate stored with a submitted job (its sidecar, its event): the request as
    validated, priced with the current table; None if pricing fails (a paid submission
    never fails over its estimate)."""
    try:
        return price_request(request, load_price_table())
    except Exception:
        return None


def _variable_name(name: str) -> str:
    slug = re.sub(r"[^a-z0-9_-]+", "-", name.lower()).strip("-") or "default"
    return f"videogen-budget-{slug}"[:100]


class DailyBudget:
    """A spending cap per UTC day shared by every run that uses the same name.

    The day's tally is a Prefect Variable (`videogen-budget-<name>`, readable with
    `prefect variable inspect`), changed only while holding a Prefect global concurrency
    limit of one slot (`videogen-budget-<name>-lock`, created when missing), so two runs
    on any machines that use the same Prefect API never read and write it at once. A run
    reserves its whole estimate before its first paid call, and is refused if the day's
    tally plus the reservation would pass the cap. Reservations are not given back when a
    video fails: the tally errs on the side of spending less.

    Why a Variable and a lock rather than a global concurrency limit as the counter:
    Prefect 3's slots are leases that are given back when their holder ends (or its lease
    expires), and slot decay makes a rolling window that waits rather than refuses; a
    spend tally must outlive the run and say no at once.

    Example:
        ```python
        from prefect_videogen.costs import DailyBudget

        budget = DailyBudget("nightly", cap=50.0)
        budget.reserve(12.5)  # raises BudgetExceededError when today's tally would pass 50
        print(budget.spent_today())
        ```
    """

    def __init__(self, name: str, cap: float, currency: str = "USD") -> None:
        if cap < 0:
            raise InvalidRequestError("daily_cap", value=cap, allowed="0 or more")
        self.name = name
        self.cap = float(cap)
        self.currency = currency
        self.variable = _variable_name(name)
        self.lock = f"{self.variable}-lock"

    @staticmethod
    def _today() -> str:
        return datetime.now(UTC).date().isoformat()

    def _read(self, value: Any) -> float:
        if isinstance(value, str):
            try:
                value = json.loads(value)
            except json.JSONDecodeError:
                value = None
        if isinstance(value, Mapping) and value.get("date") == self._today():
            return float(value.get("spent", 0.0))
        return 0.0

    def spent_today(self) -> float:
        """The day's tally (UTC), without locking."""
        from prefect.variables import Variable

        return self._read(_prefect.call_sync(Variable.get, self.variable, default=None))

    async def aspent_today(self) -> float:
        """Async twin of `spent_today`."""
        from prefect.variables import Variable

        return self._read(await Variable.aget(self.variable, default=None))

    def _check(self, spent: float, amount: float) -> dict[str, Any]:
        if spent + amount > self.cap + 1e-9:
            raise BudgetExceededError(
                estimate=amount,
                cap=self.cap,
                currency=self.currency,
                field="daily_cap",
                message=(
                    f"this run would cost about {amount:.2f} {self.currency}, and "
                    f"{spent:.2f} of the daily cap {self.cap:g} {self.currency} of budget "
                    f"{self.name!r} is spent today (UTC); wait for tomorrow, raise daily_cap, "
                    "or make fewer videos"
                ),
            )
        return {
            "date": self._today(),
            "spent": round(spent + amount, 6),
            "cap": self.cap,
            "currency": self.currency,
        }

    async def _ensure_lock(self) -> None:
        from prefect.client.orchestration import get_client
        from prefect.exceptions import ObjectNotFound

        async with get_client() as client:
            try:
                await client.read_global_concurrency_limit_by_name(self.lock)
                return
            except ObjectNotFound:
                pass
            try:
                await client.upsert_global_concurrency_limit_by_name(self.lock, 1)
            except Exception:  # another run created it at the same moment
                await client.read_global_concurrency_limit_by_name(self.lock)

    async def areserve(self, amount: float) -> float:
        """Add `amount` to the day's tally, or refuse; returns the new tally.

        Raises:
            BudgetExceededError: the tally would pass the cap (nothing is added).
        """
        from prefect.concurrency.asyncio import concurrency
        from prefect.variables import Variable

        if amount <= 0:
            return await self.aspent_today()
        await self._ensure_lock()
        async with concurrency(self.lock, occupy=1, strict=True, timeout_seconds=60):
            spent = self._read(await Variable.aget(self.variable, default=None))
            value = self._check(spent, amount)
            await Variable.aset(self.variable, value, overwrite=True)
        return value["spent"]

    def reserve(self, amount: float) -> float:
        """Sync twin of `areserve`."""
        from prefect.utilities.asyncutils import run_coro_as_sync

        return run_coro_as_sync(self.areserve(amount))


def _paid(normalized: Any, credentials: Any, attempt: int) -> bool:
    """Whether a job for this request exists from an earlier run (so it costs nothing now).

    The one place costs asks "was this paid for already?": the submission ledger's job
    record for this request, attempt and account. Best effort: any error
    reading the store answers False (the estimate then counts the video, erring high).
    """
    try:
        from prefect_videogen.ledger import SubmissionLedger

        return SubmissionLedger(credentials).lookup(normalized, attempt) is not None
    except Exception:
        return False


# --------------------------------------------------------------------------------------
# Spend records


def _sidecars(where: Any) -> Iterator[bytes]:
    """The bytes of every `.json` file under a folder or in a storage block."""
    block = where if isinstance(where, Block) else None
    if block is None:
        path = Path(str(where)).expanduser()
        if path.is_dir():
            yield from (p.read_bytes() for p in sorted(path.rglob("*.json")) if p.is_file())
            return
        text = str(where)
        if not re.fullmatch(r"[a-z0-9][a-z0-9-]*/[^/]+", text) or path.exists():
            raise InvalidRequestError("path", f"{text!r} is not a folder")
        try:
            block = _prefect.load_block(text)
        except Exception as exc:
            raise InvalidRequestError(
                "path", f"{text!r} is neither a folder nor a saved storage block ({exc})"
            ) from None
    if isinstance(block, LocalFileSystem):  # an S3Bucket's `basepath` is its bucket folder
        yield from _sidecars(Path(str(block.basepath or ".")))
        return
    if hasattr(block, "list_objects") and hasattr(block, "read_path"):  # prefect-aws S3Bucket
        from prefect_videogen.storage import call_block

        folder = str(getattr(block, "bucket_folder", "") or "").strip("/")
        for item in call_block(block, "list_objects"):
            key = str(item.get("Key", ""))
            if key.endswith(".json"):
                relative = (
                    key[len(folder) + 1 :] if folder and key.startswith(folder + "/") else key
                )
                yield call_block(block, "read_path", relative)
        return
    raise InvalidRequestError(
        "path",
        f"cannot list the files of a {type(block).__name__} block; sum a local folder, a "
        "local-file-system block or an S3 bucket block (or copy the *.json sidecars locally)",
    )


def summarize_spend(where: str | Path) -> list[dict[str, Any]]:
    """Sum the estimated cost in the sidecars under a storage folder, by day and model.

    Every `<video>.json` sidecar written by `download_video` holds the `StoredVideo`,
    with the `estimated_cost` of its job. A job stored twice (a rerun that downloaded it
    again) counts once; other JSON files are skipped.

    Args:
        where: A local folder, a storage block, or a saved one by name
            (`"local-file-system/x"`, `"s3-bucket/videos"`): local-file-system blocks and
            prefect-aws S3 buckets can be listed.

    Returns:
        One row per (day, model, currency): `videos`, `estimated_cost` (the known part),
        `unknown` (videos without a price), sorted by day then model. The day is the UTC
        date the job was submitted (else stored).

    Example:
        ```python
        from prefect_videogen.costs import summarize_spend

        for row in summarize_spend("videos"):
            print(row["day"], row["model"], row["videos"], row["estimated_cost"])
        ```
    """
    from prefect_videogen.records import StoredVideo

    seen: dict[tuple[str, str], StoredVideo] = {}
    for data in _sidecars(where):
        try:
            video = StoredVideo.model_validate_json(data)
        except (ValidationError, ValueError):
            continue
        key = (video.job_id, video.model)
        earlier = seen.get(key)
        if earlier is None or (_when(video) or "") < (_when(earlier) or ""):
            seen[key] = video
    groups: dict[tuple[str, str, str], dict[str, Any]] = {}
    for video in seen.values():
        cost = video.estimated_cost
        currency = cost.currency if cost else "USD"
        day = _when(video) or "unknown"
        row = groups.setdefault(
            (day, video.model, currency),
            {
                "day": day,
                "model": video.model,
                "videos": 0,
                "estimated_cost": 0.0,
                "unknown": 0,
                "currency": currency,
            },
        )
        row["videos"] += 1
        if cost is not None and cost.amount is not None:
            row["estimated_cost"] = round(row["estimated_cost"] + cost.amount, 6)
        else:
            row["unknown"] += 1
    return [groups[key] for key in sorted(groups)]


def _when(video: Any) -> str | None:
    moment = video.timings.submitted_at or video.timings.stored_at
    return moment.astimezone(UTC).date().isoformat() if moment else None


def format_spend(rows: Sequence[Mapping[str, Any]]) -> str:
    """`summarize_spend`'s rows as a terminal table with a total line per currency."""
    shown = [
        {**row, "estimated_cost": _money(row["estimated_cost"], row["currency"])} for row in rows
    ]
    totals: dict[str, list[float]] = {}
    for row in rows:
        total = totals.setdefault(row["currency"], [0, 0.0, 0])
        total[0] += row["videos"]
        total[1] += row["estimated_cost"]
        total[2] += row["unknown"]
    for currency, (videos, amount, unknown) in sorted(totals.items()):
        shown.append(
            {
                "day": "total",
                "videos": videos,
                "estimated_cost": _money(amount, currency),
                "unknown": unknown,
            }
        )
    return format_rows(shown, ("day", "model", "videos", "estimated_cost", "unknown"))
