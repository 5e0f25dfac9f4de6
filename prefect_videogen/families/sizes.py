"""One size grammar for the whole package: what a `size` string may say and how it reads.

A size is written one of four ways, and every family (and `probe.py`) reads it here:

| kind | examples | reads as |
|---|---|---|
| WxH | "1280x720", "1280*720", "1280X720", "1280\u00d7720" | width and height |
| tier | "720P", "720p", "720", "4k", "2k" | the short side (4k is 2160, 2k 1440) |
| ratio | "16:9", "9:16", "21:9" | an aspect ratio |

A family then writes the size the way its gateway wants it ("1280*720" for Wan text-to-video,
"720P" for Wan image-to-video, "16:9" for Kling, "1080p" for Vidu, ...).

Example:
    ```python
    from prefect_videogen.families.sizes import parse_size

    size = parse_size("1920*1080")
    assert (size.kind, size.width, size.height, size.short_side) == ("wxh", 1920, 1080, 1080)
    assert parse_size("720p").short_side == 720
    assert parse_size("9:16").ratio == (9, 16)
    assert parse_size("big") is None
    ```
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Literal

__all__ = [
    "SIZE_WORDS",
    "Size",
    "nearest_ratio",
    "parse_ratio",
    "parse_size",
    "parse_tier",
    "parse_wxh",
]

#: How to write a size, for error messages.
SIZE_WORDS = (
    'WxH ("1280x720"), W*H ("1280*720"), a tier ("720P", "1080p", "4k") or a ratio ("16:9")'
)

_WXH = re.compile(r"^\s*(\d{1,5})\s*[xX*\u00d7]\s*(\d{1,5})\s*$")
_TIER = re.compile(r"^\s*(\d{1,5})\s*[pP]?\s*$")
_K_TIER = re.compile(r"^\s*([248])\s*[kK]\s*$")
_RATIO = re.compile(r"^\s*(\d{1,3})\s*:\s*(\d{1,3})\s*$")
_K_LINES = {"2": 1440, "4": 2160, "8": 4320}


@dataclass(frozen=True)
class Size:
    """A size as read: its kind and what it says.

    Attributes:
        kind: "wxh", "tier" or "ratio".
        width: The width (WxH only).
        height: The height (WxH only).
        lines: The short side (WxH and tier).
        ratio: (w, h) of a ratio (ratio only).
    """

    kind: Literal["wxh", "tier", "ratio"]
    width: int | None = None
    height: int | None = None
    lines: int | None = None
    ratio: tuple[int, int] | None = None

    @property
    def short_side(self) -> int | None:
        """The short side in pixels (WxH and tier), else None."""
        return self.lines

    @property
    def dims(self) -> tuple[int, int] | None:
        """(width, height) of a WxH size, else None."""
        if self.width is None or self.height is None:
            return None
        return self.width, self.height


def parse_wxh(value: str) -> tuple[int, int] | None:
    """(width, height) from "1280x720", "1280*720", "1280X720" or "1280\u00d7720"; else None."""
    match = _WXH.match(value) if isinstance(value, str) else None
    if match is None:
        return None
    return int(match.group(1)), int(match.group(2))


def parse_tier(value: str) -> int | None:
    """The short side of a tier: "720P", "720p" and "720" give 720, "4k" 2160; else None."""
    if not isinstance(value, str):
        return None
    match = _TIER.match(value)
    if match:
        return int(match.group(1))
    match = _K_TIER.match(value)
    return _K_LINES[match.group(1)] if match else None


def parse_ratio(value: str) -> tuple[int, int] | None:
    """(w, h) from "16:9"; None for anything else (or a zero side)."""
    match = _RATIO.match(value) if isinstance(value, str) else None
    if match is None or not int(match.group(1)) or not int(match.group(2)):
        return None
    return int(match.group(1)), int(match.group(2))


def parse_size(value: str) -> Size | None:
    """Read a size written any of the four ways; None if it is none of them."""
    dims = parse_wxh(value)
    if dims is not None:
        return Size("wxh", width=dims[0], height=dims[1], lines=min(dims))
    lines = parse_tier(value)
    if lines is not None:
        return Size("tier", lines=lines)
    ratio = parse_ratio(value)
    if ratio is not None:
        return Size("ratio", ratio=ratio)
    return None


def nearest_ratio(
    width: int, height: int, ratios: Iterable[str], tolerance: float = 0.02
) -> str | None:
    """The aspect ratio ("16:9") within `tolerance` (relative) of width/height, or None.

    Example:
        ```python
        from prefect_videogen.families.sizes import nearest_ratio

        assert nearest_ratio(1920, 1080, ["16:9", "9:16", "1:1"]) == "16:9"
        assert nearest_ratio(1000, 700, ["16:9", "9:16", "1:1"]) is None
        ```
    """
    if width <= 0 or height <= 0:
        return None
    actual = width / height
    best: tuple[float, str] | None = None
    for ratio in ratios:
        w, h = (int(part) for part in ratio.split(":"))
        error = abs(actual / (w / h) - 1)
        if error <= tolerance and (best is None or error < best[0]):
            best = (error, ratio)
    return best[1] if best else None
