"""Rendering real MP4s (H.264, yuv420p) plus the thumbnail (WEBP) and spritesheet (JPEG).

What the videos show:

- t2v: an animation derived from the prompt's hash: a two-colour gradient with scrolling
  bands, a moving block, a caption box with the prompt, and a progress bar along the bottom.
- i2v: the image is the first frame exactly; the camera then pans over a mirrored border.
- keyframe: the first image cross-fades into the last (first and last frames are exact up
  to the YUV conversion). With no first image (Kling `image_tail` alone), the t2v opening
  frame is the start.

How it stays fast: frames are written straight into one preallocated yuv420p buffer (no
RGB frames, no per-frame colour conversion): t2v copies a slice of a precomputed, wider
luma canvas and paints two small rectangles; i2v copies a window of the padded image; the
keyframe blend is one int16 multiply-shift-add. libx264 runs with `preset=ultrafast` and
its own threads. Duration is exact: `seconds * fps` frames with pts 0..n-1 in a 1/fps
time base.

`pad_to` appends a top-level MP4 `free` box (sparse on disk) so the file has exactly the
asked length and stays a valid MP4.
"""

from __future__ import annotations

import hashlib
import io
import os
import struct
import textwrap
import time
from dataclasses import dataclass
from pathlib import Path

import av
import numpy as np
from PIL import Image, ImageDraw, ImageFont

__all__ = ["RenderResult", "RenderSpec", "pad_mp4", "render"]

_CHUNK = 1 << 20


@dataclass(frozen=True)
class RenderSpec:
    """What to render.

    Attributes:
        prompt: The prompt; t2v colours and motion derive from it.
        width: Frame width (even).
        height: Frame height (even).
        seconds: Duration.
        fps: Frames per second.
        pad_to: Pad the MP4 to this many bytes with a `free` box (None: no padding).
    """

    prompt: str
    width: int
    height: int
    seconds: int
    fps: int
    pad_to: int | None = None


@dataclass(frozen=True)
class RenderResult:
    """The files of one render and their digests."""

    video: Path
    thumbnail: Path
    spritesheet: Path
    sha256: dict[str, str]
    sizes: dict[str, int]
    frames: int
    seconds_taken: float
    finished_at: float


# --------------------------------------------------------------------------- colour


def _rgb_to_yuv(rgb: np.ndarray) -> np.ndarray:
    """BT.601 limited range, the matrix x264 assumes by default; shape (..., 3) float."""
    rgb = np.asarray(rgb, dtype=np.float32) / 255.0
    r, g, b = rgb[..., 0], rgb[..., 1], rgb[..., 2]
    y = 16 + 65.481 * r + 128.553 * g + 24.966 * b
    u = 128 - 37.797 * r - 74.203 * g + 112.0 * b
    v = 128 + 112.0 * r - 93.786 * g - 18.214 * b
    return np.stack([y, u, v], axis=-1)


def image_to_yuv(image: Image.Image, width: int, height: int) -> np.ndarray:
    """An RGB image scaled to cover `width x height` (centre crop), as a yuv420p buffer."""
    image = image.convert("RGB")
    scale = max(width / image.width, height / image.height)
    if image.size != (width, height):
        new = (max(width, round(image.width * scale)), max(height, round(image.height * scale)))
        image = image.resize(new, Image.Resampling.BILINEAR)
        left = (image.width - width) // 2
        top = (image.height - height) // 2
        image = image.crop((left, top, left + width, top + height))
    frame = av.VideoFrame.from_image(image).reformat(format="yuv420p")
    return np.ascontiguousarray(frame.to_ndarray())


class _Planes:
    """Views of the Y, U and V planes inside one (h*3/2, w) yuv420p buffer."""

    def __init__(self, buffer: np.ndarray, width: int, height: int) -> None:
        flat = buffer.reshape(-1)
        luma = width * height
        self.buffer = buffer
        self.y = flat[:luma].reshape(height, width)
        self.u = flat[luma : luma + luma // 4].reshape(height // 2, width // 2)
        self.v = flat[luma + luma // 4 :].reshape(height // 2, width // 2)

    def fill_rect(self, x: int, y: int, w: int, h: int, yuv: tuple[int, int, int]) -> None:
        """Paint an even-aligned rectangle."""
        x, y, w, h = x & ~1, y & ~1, w & ~1, h & ~1
        if w <= 0 or h <= 0:
            return
        self.y[y : y + h, x : x + w] = yuv[0]
        self.u[y // 2 : (y + h) // 2, x // 2 : (x + w) // 2] = yuv[1]
        self.v[y // 2 : (y + h) // 2, x // 2 : (x + w) // 2] = yuv[2]


# --------------------------------------------------------------------------- frame sources


class _T2V:
    """Prompt-derived animation; each frame is a slice copy plus two small rectangles."""

    def __init__(self, prompt: str, width: int, height: int, frames: int) -> None:
        digest = hashlib.sha256(prompt.encode("utf-8")).digest()
        rng = np.random.default_rng(int.from_bytes(digest[:8], "big"))
        self.width, self.height, self.frames = width, height, frames
        top, bottom, accent = rng.integers(30, 226, size=(3, 3))
        yuv_top, yuv_bottom = _rgb_to_yuv(top), _rgb_to_yuv(bottom)
        self.accent = tuple(int(c) for c in _rgb_to_yuv(255 - (255 - accent) // 3).round())
        self.period = max(16, (width // 4) & ~1)
        self.speed = 2 * int(rng.integers(1, 4)) * max(1, width // 640)
        rows = np.linspace(yuv_top[0], yuv_bottom[0], height, dtype=np.float32)[:, None]
        cols = np.arange(width + self.period, dtype=np.float32)
        bands = 18.0 * np.sin(cols * (2 * np.pi / self.period))[None, :]
        self.canvas = np.clip(rows + bands, 16, 235).astype(np.uint8)
        chroma_rows = np.linspace(0, 1, height // 2, dtype=np.float32)[:, None]
        self.u = np.ascontiguousarray(
            np.broadcast_to(
                (yuv_top[1] + (yuv_bottom[1] - yuv_top[1]) * chroma_rows).astype(np.uint8),
                (height // 2, width // 2),
            )
        )
        self.v = np.ascontiguousarray(
            np.broadcast_to(
                (yuv_top[2] + (yuv_bottom[2] - yuv_top[2]) * chroma_rows).astype(np.uint8),
                (height // 2, width // 2),
            )
        )
        self.block = max(4, (min(width, height) // 6) & ~1)
        self.phase = float(rng.uniform(0, 2 * np.pi))
        self.caption = _caption(prompt, width, height)

    def fill(self, planes: _Planes, index: int) -> None:
        offset = (index * self.speed) % self.period & ~1
        planes.y[:] = self.canvas[:, offset : offset + self.width]
        planes.u[:] = self.u
        planes.v[:] = self.v
        t = index / max(1, self.frames - 1)
        angle = self.phase + 2 * np.pi * t
        span_x, span_y = self.width - self.block, self.height - self.block
        x = int(span_x * (0.5 + 0.45 * np.cos(angle)))
        y = int(span_y * (0.5 + 0.45 * np.sin(2 * angle)))
        planes.fill_rect(x, y, self.block, self.block, self.accent)  # type: ignore[arg-type]
        if self.caption is not None:
            cy, cu, cv = self.caption
            h, w = cy.shape
            planes.y[2 : 2 + h, 2 : 2 + w] = cy
            planes.u[1 : 1 + h // 2, 1 : 1 + w // 2] = cu
            planes.v[1 : 1 + h // 2, 1 : 1 + w // 2] = cv
        _progress_bar(planes, index, self.frames)


def _caption(prompt: str, width: int, height: int) -> tuple[np.ndarray, ...] | None:
    """The prompt in a dark box, as small Y/U/V patches (drawn once per render)."""
    if width < 96 or height < 64:
        return None
    size = max(10, min(32, height // 24))
    try:
        font: ImageFont.ImageFont | ImageFont.FreeTypeFont = ImageFont.load_default(size=size)
    except (TypeError, OSError):  # pragma: no cover - Pillow without FreeType
        font = ImageFont.load_default()
    chars = max(8, int(width * 0.6 / (size * 0.55)))
    lines = textwrap.wrap(prompt, chars)[:2] or [""]
    box_w = min(width - 4, int(max(len(line) for line in lines) * size * 0.6) + 16) & ~1
    box_h = (len(lines) * (size + 4) + 10) & ~1
    if box_w < 16 or box_h > height // 2:
        return None
    image = Image.new("RGB", (box_w, box_h), (16, 16, 16))
    draw = ImageDraw.Draw(image)
    for number, line in enumerate(lines):
        draw.text((8, 5 + number * (size + 4)), line, fill=(235, 235, 235), font=font)
    buffer = av.VideoFrame.from_image(image).reformat(format="yuv420p").to_ndarray()
    planes = _Planes(np.ascontiguousarray(buffer), box_w, box_h)
    return planes.y.copy(), planes.u.copy(), planes.v.copy()


def _progress_bar(planes: _Planes, index: int, frames: int) -> None:
    height, width = planes.y.shape
    bar = max(2, (height // 60) & ~1)
    length = int(width * (index + 1) / frames) & ~1
    planes.fill_rect(0, height - bar, length, bar, (200, 128, 128))


class _I2V:
    """The image as frame 0, then a pan over a mirrored border."""

    def __init__(self, first: np.ndarray, prompt: str, width: int, height: int, frames: int):
        self.width, self.height, self.frames = width, height, frames
        source = _Planes(first, width, height)
        self.pad = max(2, (min(width, height) // 10) & ~1)
        half = self.pad // 2
        self.y = np.pad(source.y, self.pad, mode="reflect")
        self.u = np.pad(source.u, half, mode="reflect")
        self.v = np.pad(source.v, half, mode="reflect")
        digest = hashlib.sha256(prompt.encode("utf-8")).digest()
        self.dx = (1, -1, 0, 1)[digest[0] % 4]
        self.dy = (0, 1, -1, -1)[digest[0] % 4]

    def fill(self, planes: _Planes, index: int) -> None:
        t = index / max(1, self.frames - 1)
        x = (self.pad + round(self.pad * t * self.dx)) & ~1
        y = (self.pad + round(self.pad * t * self.dy)) & ~1
        planes.y[:] = self.y[y : y + self.height, x : x + self.width]
        planes.u[:] = self.u[y // 2 : y // 2 + self.height // 2, x // 2 : x // 2 + self.width // 2]
        planes.v[:] = self.v[y // 2 : y // 2 + self.height // 2, x // 2 : x // 2 + self.width // 2]


class _Keyframe:
    """A cross-fade from the first to the last image: one int16 blend per frame."""

    def __init__(self, first: np.ndarray, last: np.ndarray, frames: int) -> None:
        self.frames = frames
        self.first = first.astype(np.int16)
        self.delta = last.astype(np.int16) - self.first
        self.scratch = np.empty_like(self.first)

    def fill(self, planes: _Planes, index: int) -> None:
        weight = round(128 * index / max(1, self.frames - 1))
        np.multiply(self.delta, weight, out=self.scratch)
        np.right_shift(self.scratch, 7, out=self.scratch)
        np.add(self.scratch, self.first, out=self.scratch)
        planes.buffer[:] = self.scratch


# --------------------------------------------------------------------------- render


def render(
    spec: RenderSpec,
    directory: Path,
    name: str,
    *,
    first: Image.Image | None = None,
    last: Image.Image | None = None,
) -> RenderResult:
    """Render the MP4, thumbnail and spritesheet of one job into `directory`.

    Args:
        spec: Size, duration, frame rate, prompt and padding.
        directory: Where the files go (`<name>.mp4`, `<name>.webp`, `<name>.jpg`).
        name: File stem.
        first: First frame image (i2v, keyframe).
        last: Last frame image (keyframe).

    Returns:
        The files, their sha256 digests and sizes.
    """
    started = time.perf_counter()
    width, height, frames = spec.width, spec.height, spec.seconds * spec.fps
    if width % 2 or height % 2:
        raise ValueError(f"frame size {width}x{height} must have even sides (yuv420p)")
    buffer = np.zeros((height * 3 // 2, width), dtype=np.uint8)
    planes = _Planes(buffer, width, height)
    if last is not None:
        if first is not None:
            start = image_to_yuv(first, width, height)
        else:
            opening = _Planes(np.zeros_like(buffer), width, height)
            _T2V(spec.prompt, width, height, frames).fill(opening, 0)
            start = opening.buffer
        source: _T2V | _I2V | _Keyframe = _Keyframe(
            start, image_to_yuv(last, width, height), frames
        )
    elif first is not None:
        source = _I2V(image_to_yuv(first, width, height), spec.prompt, width, height, frames)
    else:
        source = _T2V(spec.prompt, width, height, frames)

    sprite_count = min(frames, 10)
    sprite_at = {round(i * (frames - 1) / max(1, sprite_count - 1)) for i in range(sprite_count)}
    thumb_at = frames // 2
    samples: dict[int, np.ndarray] = {}

    directory.mkdir(parents=True, exist_ok=True)
    video = directory / f"{name}.mp4"
    partial = directory / f"{name}.mp4.part"
    container = av.open(str(partial), mode="w", format="mp4")
    try:
        stream = container.add_stream("libx264", rate=spec.fps)
        stream.width = width
        stream.height = height
        stream.pix_fmt = "yuv420p"
        stream.options = {"preset": "ultrafast", "crf": "30"}
        stream.codec_context.thread_count = 0
        for index in range(frames):
            source.fill(planes, index)
            if index in sprite_at or index == thumb_at:
                samples[index] = buffer.copy()
            frame = av.VideoFrame.from_numpy_buffer(buffer, format="yuv420p")
            frame.pts = index
            for packet in stream.encode(frame):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)
    finally:
        container.close()
    if spec.pad_to is not None:
        pad_mp4(partial, spec.pad_to)
    os.replace(partial, video)

    thumbnail = directory / f"{name}.webp"
    _to_image(samples[thumb_at], width, height).save(thumbnail, format="WEBP", quality=80, method=0)
    spritesheet = directory / f"{name}.jpg"
    _spritesheet([samples[i] for i in sorted(sprite_at)], width, height).save(
        spritesheet, format="JPEG", quality=80
    )
    paths = {"video": video, "thumbnail": thumbnail, "spritesheet": spritesheet}
    return RenderResult(
        video=video,
        thumbnail=thumbnail,
        spritesheet=spritesheet,
        sha256={variant: file_sha256(path) for variant, path in paths.items()},
        sizes={variant: path.stat().st_size for variant, path in paths.items()},
        frames=frames,
        seconds_taken=time.perf_counter() - started,
        finished_at=time.time(),
    )


def _to_image(buffer: np.ndarray, width: int, height: int, scale_to: int | None = None):
    frame = av.VideoFrame.from_ndarray(buffer, format="yuv420p")
    if scale_to is not None and scale_to < width:
        target_h = max(2, round(height * scale_to / width) & ~1)
        return frame.to_image(width=scale_to, height=target_h)
    return frame.to_image()


def _spritesheet(buffers: list[np.ndarray], width: int, height: int) -> Image.Image:
    """Up to 10 frames, 160 px wide tiles, 5 per row."""
    tile_w = min(160, width)
    tiles = [_to_image(b, width, height, scale_to=tile_w) for b in buffers]
    tile_h = tiles[0].height
    columns = min(5, len(tiles))
    rows = -(-len(tiles) // columns)
    sheet = Image.new("RGB", (columns * tiles[0].width, rows * tile_h), (0, 0, 0))
    for number, tile in enumerate(tiles):
        sheet.paste(tile, ((number % columns) * tiles[0].width, (number // columns) * tile_h))
    return sheet


def pad_mp4(path: Path, total_bytes: int) -> None:
    """Grow an MP4 to `total_bytes` with a trailing top-level `free` box, without RAM.

    The box header is written and the file extended with `truncate` (sparse zeros). A
    target smaller than the file plus 8 bytes leaves the file as it is.
    """
    size = path.stat().st_size
    extra = total_bytes - size
    if extra < 8:
        return
    with path.open("r+b") as handle:
        handle.seek(size)
        if extra < 2**32:
            handle.write(struct.pack(">I4s", extra, b"free"))
        elif extra >= 16:
            handle.write(struct.pack(">I4sQ", 1, b"free", extra))
        handle.truncate(total_bytes)


def file_sha256(path: Path) -> str:
    """sha256 of a file, read in 1 MiB chunks."""
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while chunk := handle.read(_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def decode_image(data: bytes) -> Image.Image:
    """Open image bytes as RGB (raises `OSError`/`ValueError` when undecodable)."""
    image = Image.open(io.BytesIO(data))
    image.load()
    return image.convert("RGB")
