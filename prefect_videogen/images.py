"""Image inputs for image-to-video and keyframe requests.

An `ImageInput` holds either the image bytes or a URL. Families decide how it travels:
an uploaded file (Sora, Jimeng), a URL, a data URL or bare base64 (Wan, Kling, Vidu).
"""

from __future__ import annotations

import base64
import hashlib
import io
import mimetypes
from functools import cached_property
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, model_validator

from prefect_videogen.exceptions import InvalidRequestError

__all__ = ["ImageInput"]

_MAGIC = {
    b"\x89PNG": "image/png",
    b"\xff\xd8\xff": "image/jpeg",
    b"RIFF": "image/webp",
    b"BM": "image/bmp",
}


def _sniff(data: bytes) -> str | None:
    for magic, media_type in _MAGIC.items():
        if data.startswith(magic):
            return media_type
    return None


class ImageInput(BaseModel):
    """An image given to a video model: its bytes, or a URL the provider can fetch.

    Example:
        ```python
        from prefect_videogen.images import ImageInput

        image = ImageInput.from_url("https://example.com/cat.png")
        print(image.sha256)
        ```
    """

    model_config = ConfigDict(frozen=True, arbitrary_types_allowed=True)

    data: bytes | None = Field(default=None, description="The image bytes.", repr=False)
    url: str | None = Field(default=None, description="An http(s) or data: URL of the image.")
    filename: str = Field(default="image.png", description="Name used when uploaded as a file.")
    media_type: str | None = Field(default=None, description="MIME type, e.g. image/png.")

    @model_validator(mode="after")
    def _one_source(self) -> ImageInput:
        if (self.data is None) == (self.url is None):
            raise InvalidRequestError("image", "give exactly one of `data` or `url`")
        if self.data is not None and not self.data:
            raise InvalidRequestError("image", "the image is empty (0 bytes)")
        return self

    @classmethod
    def from_path(cls, path: str | Path) -> ImageInput:
        """Read an image file from disk."""
        path = Path(path)
        try:
            data = path.read_bytes()
        except OSError as exc:
            raise InvalidRequestError(
                "image", f"cannot read {str(path)!r}: {exc.strerror}"
            ) from exc
        if not data:
            raise InvalidRequestError("image", f"{str(path)!r} is empty (0 bytes)")
        media_type = _sniff(data) or mimetypes.guess_type(path.name)[0]
        return cls(data=data, filename=path.name, media_type=media_type)

    @classmethod
    def from_bytes(cls, data: bytes, filename: str = "image.png") -> ImageInput:
        """Wrap image bytes held in memory."""
        if not data:
            raise InvalidRequestError("image", f"{filename!r} is empty (0 bytes)")
        return cls(data=data, filename=filename, media_type=_sniff(data))

    @classmethod
    def from_url(cls, url: str) -> ImageInput:
        """Refer to an image by an http(s) or data: URL (the provider fetches it)."""
        if not url.startswith(("http://", "https://", "data:")):
            raise InvalidRequestError(
                "image", value=url, allowed="an http://, https:// or data: URL"
            )
        return cls(url=url, filename=Path(url.split("?")[0]).name or "image")

    @classmethod
    def from_block(cls, block: Any, path: str) -> ImageInput:
        """Read an image from a Prefect filesystem block (LocalFileSystem, S3Bucket, ...)."""
        data = block.read_path(path)
        return cls.from_bytes(data, filename=Path(path).name)

    @classmethod
    def coerce(cls, value: Any) -> ImageInput:
        """Build from what a flow parameter holds: an ImageInput, bytes, a URL or a path."""
        if isinstance(value, ImageInput):
            return value
        if isinstance(value, bytes | bytearray):
            return cls.from_bytes(bytes(value))
        if isinstance(value, dict):
            return cls.model_validate(value)
        if isinstance(value, str) and value.startswith(("http://", "https://", "data:")):
            return cls.from_url(value)
        if isinstance(value, str | Path):
            return cls.from_path(value)
        raise InvalidRequestError(
            "image", value=type(value).__name__, allowed="bytes, a path, a URL or an ImageInput"
        )

    @cached_property
    def sha256(self) -> str:
        """Content hash of the bytes (or of the URL when only a URL is known)."""
        source = self.data if self.data is not None else self.url.encode()  # type: ignore[union-attr]
        return hashlib.sha256(source).hexdigest()

    def read(self) -> bytes:
        """The image bytes; a data: URL is decoded, an http(s) URL has no bytes here."""
        if self.data is not None:
            return self.data
        if self.url and self.url.startswith("data:"):
            return base64.b64decode(self.url.split(",", 1)[1])
        raise InvalidRequestError("image", "the image is only known by URL; its bytes are not here")

    def has_bytes(self) -> bool:
        """Whether the bytes are available locally (given directly or as a data: URL)."""
        return self.data is not None or bool(self.url and self.url.startswith("data:"))

    def dimensions(self) -> tuple[int, int]:
        """(width, height) of the image; raises InvalidRequestError if it cannot be decoded."""
        from PIL import Image, UnidentifiedImageError

        try:
            with Image.open(io.BytesIO(self.read())) as img:
                return img.size
        except (UnidentifiedImageError, OSError) as exc:
            raise InvalidRequestError(
                "image", f"{self.filename!r} is not a readable image (JPEG, PNG, WEBP or BMP)"
            ) from exc

    def content_type(self) -> str:
        """The MIME type, sniffed from the bytes when not given."""
        if self.media_type:
            return self.media_type
        if self.has_bytes():
            return _sniff(self.read()) or "application/octet-stream"
        return mimetypes.guess_type(self.filename)[0] or "application/octet-stream"

    def as_base64(self) -> str:
        """Bare base64 of the bytes (no `data:` prefix), as Kling and Jimeng take it."""
        return base64.b64encode(self.read()).decode()

    def as_data_url(self) -> str:
        """A `data:<type>;base64,...` URL, as Vidu and Wan take it."""
        if self.url and self.url.startswith("data:"):
            return self.url
        return f"data:{self.content_type()};base64,{self.as_base64()}"

    def as_url(self) -> str:
        """The URL if one was given, else a data URL of the bytes."""
        if self.url is not None:
            return self.url
        return self.as_data_url()

    def fingerprint(self) -> dict[str, str]:
        """What identifies the image in a cache key: its content hash, never its bytes."""
        return {"sha256": self.sha256}
