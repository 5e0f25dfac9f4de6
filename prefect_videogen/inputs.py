"""What the flows take in, made ready: credentials, images and the video request.

The flows accept JSON-able notations (so they work through deployments); this module turns
them into library objects and raises `InvalidRequestError` naming the parameter when it
cannot:

- credentials: a `VideoGenCredentials` block, a saved block's name, or None (the
  `credentials_block` setting);
- images: a local path, an `http(s)://` or `data:` URL, raw bytes, an `ImageInput` (or its
  dict), or `"<block-type-slug>/<block-name>:<path/in/block>"`;
- the request: a `VideoRequest` built from the flow's arguments, with URL images fetched
  when the model takes uploads.

Example:
    ```python
    from prefect_videogen.inputs import resolve_credentials, resolve_image

    credentials = resolve_credentials("my-gateway")
    image = resolve_image("frames/cat.png")
    ```
"""

# No `from __future__ import annotations`: the flows' signatures use these types at runtime.

import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import httpx
from prefect.blocks.core import Block
from pydantic import ValidationError

from prefect_videogen.credentials import VideoGenCredentials
from prefect_videogen.exceptions import InvalidRequestError
from prefect_videogen.families import VideoRequest, family_for_model
from prefect_videogen.images import ImageInput
from prefect_videogen.settings import current_settings
from prefect_videogen.storage import is_block_type

__all__ = [
    "aresolve_credentials",
    "build_request",
    "resolve_credentials",
    "resolve_image",
]

_IMAGE_REF = re.compile(r"^([a-z0-9][a-z0-9-]*)/([^/:]+):(.+)$")
_MAX_IMAGE_DOWNLOAD = 50 * 1024 * 1024

# --------------------------------------------------------------------------------------
# Credentials


def _credentials_name(credentials: str | None) -> str:
    name = credentials if credentials is not None else current_settings().credentials_block
    # Accept the "<block-type-slug>/<name>" form as well.
    slug = VideoGenCredentials.get_block_type_slug()
    return name.split("/", 1)[1] if name.startswith(f"{slug}/") else name


def _missing_credentials(name: str, exc: Exception) -> InvalidRequestError:
    return InvalidRequestError(
        "credentials",
        f"no VideoGenCredentials block named {name!r} ({exc}); save one with "
        f'VideoGenCredentials(base_url=..., api_key=...).save("{name}"), pass its name, '
        "or set PREFECT_INTEGRATIONS_VIDEOGEN_CREDENTIALS_BLOCK",
    )


def resolve_credentials(credentials: VideoGenCredentials | str | None) -> VideoGenCredentials:
    """A credentials block from a block, a saved block's name, or None (the default name).

    Example:
        ```python
        from prefect_videogen.inputs import resolve_credentials

        credentials = resolve_credentials("my-gateway")  # VideoGenCredentials.load("my-gateway")
        ```
    """
    if isinstance(credentials, VideoGenCredentials):
        return credentials
    if credentials is not None and not isinstance(credentials, str):
        raise InvalidRequestError(
            "credentials",
            value=type(credentials).__name__,
            allowed="a VideoGenCredentials block, a saved block's name, or None",
        )
    name = _credentials_name(credentials)
    try:
        return VideoGenCredentials.load(name, _sync=True)
    except ValueError as exc:
        raise _missing_credentials(name, exc) from None


async def aresolve_credentials(
    credentials: VideoGenCredentials | str | None,
) -> VideoGenCredentials:
    """Async twin of `resolve_credentials`."""
    if credentials is None or isinstance(credentials, str):
        name = _credentials_name(credentials)
        try:
            return await VideoGenCredentials.aload(name)
        except ValueError as exc:
            raise _missing_credentials(name, exc) from None
    return resolve_credentials(credentials)


# --------------------------------------------------------------------------------------
# Images


def _block_image_ref(value: str) -> tuple[str, str, str] | None:
    match = _IMAGE_REF.match(value)
    if match is None or not is_block_type(match.group(1)):
        return None
    return match.group(1), match.group(2), match.group(3)


def _read_block_image(slug: str, name: str, path: str) -> ImageInput:
    block = Block.load(f"{slug}/{name}", _sync=True)
    reader = block.read_path
    data = reader(path, _sync=True) if hasattr(reader, "aio") else reader(path)
    return ImageInput.from_bytes(data, filename=Path(path).name)


def resolve_image(
    value: Any, *, base_dir: Path | None = None, field: str = "image"
) -> ImageInput | None:
    """An `ImageInput` from any of the accepted image notations (see this module's docstring).

    Args:
        value: A path, URL, bytes, ImageInput/dict, `"<block-type-slug>/<name>:<path>"`, or None.
        base_dir: Directory relative paths are read from (a manifest's directory).
        field: The parameter's name, for errors.

    Raises:
        InvalidRequestError: naming `field`, when the image cannot be read or is not one.

    Example:
        ```python
        from prefect_videogen.inputs import resolve_image

        image = resolve_image("s3-bucket/assets:frames/cat.png")
        ```
    """
    if value is None or value == "":
        return None
    try:
        if isinstance(value, str) and not value.startswith(("http://", "https://", "data:")):
            if (ref := _block_image_ref(value)) is not None:
                return _read_block_image(*ref)
            path = Path(value).expanduser()
            if base_dir is not None and not path.is_absolute():
                path = base_dir / path
            return ImageInput.from_path(path)
        return ImageInput.coerce(value)
    except InvalidRequestError as exc:
        raise InvalidRequestError(field, _without_field(exc)) from exc
    except ValidationError as exc:  # ImageInput's own checks, wrapped by pydantic
        message = "; ".join(error["msg"].removeprefix("Value error, ") for error in exc.errors())
        raise InvalidRequestError(field, _without_field(message)) from None


def _without_field(error: Any) -> str:
    """An error's message without its leading "<field>: "."""
    text = str(error)
    return text.split(": ", 1)[1] if re.match(r"^[\w.\[\]]+: ", text) else text


def _needs_bytes(model: str) -> bool:
    """Whether the model needs the image bytes (uploaded files, or no http URLs: Sora, Veo),
    so a URL must be fetched here."""
    family = family_for_model(model)
    try:
        spec = family.spec(model)
    except KeyError:
        return family.name == "sora"
    rules_for = getattr(family, "rules_for", None)
    return spec.image_transport == "file" or (
        rules_for is not None and not rules_for(spec).http_urls
    )


def _fetch_image(image: ImageInput) -> ImageInput:
    """Download an http(s) image so its bytes can be uploaded."""
    url = image.url or ""
    try:
        with httpx.stream("GET", url, follow_redirects=True, timeout=30.0) as response:
            response.raise_for_status()
            chunks, size = [], 0
            for chunk in response.iter_bytes():
                size += len(chunk)
                if size > _MAX_IMAGE_DOWNLOAD:
                    raise InvalidRequestError(
                        "image", f"{url!r} is larger than {_MAX_IMAGE_DOWNLOAD} bytes"
                    )
                chunks.append(chunk)
    except httpx.HTTPError as exc:
        raise InvalidRequestError("image", f"cannot fetch {url!r}: {exc}") from exc
    return ImageInput.from_bytes(b"".join(chunks), filename=image.filename)


def build_request(
    *,
    model: str,
    prompt: str,
    seconds: int | None,
    size: str | None,
    first_frame: ImageInput | None = None,
    last_frame: ImageInput | None = None,
    params: Mapping[str, Any] | None = None,
    metadata: Mapping[str, Any] | None = None,
) -> VideoRequest:
    """The `VideoRequest` for a flow's arguments; URL images are fetched for upload models."""
    if _needs_bytes(model):
        first_frame = _fetch_if_url(first_frame)
        last_frame = _fetch_if_url(last_frame)
    return VideoRequest(
        model=model,
        prompt=prompt,
        seconds=seconds,
        size=size,
        first_frame=first_frame,
        last_frame=last_frame,
        params=dict(params or {}),
        metadata=dict(metadata or {}),
    )


def _fetch_if_url(image: ImageInput | None) -> ImageInput | None:
    if image is not None and not image.has_bytes():
        return _fetch_image(image)
    return image
