"""What the flows take in, made ready: credentials, images and the video request.

The flows accept JSON-able notations (so they work through deployments); this module turns
them into library objects and raises `InvalidRequestError` naming the parameter when it
cannot:

- credentials: a `VideoGenCredentials` block, a saved block's name, or None (the
  `credentials_block` setting);
- images: a local path, an `http(s)://` or `data:` URL, raw bytes, an `ImageInput` (or its
  dict), or `"<block-type-slug>/<block-name>:<path/in/block>"`;
- the request: a `VideoRequest` built from the flow's arguments, with URL images fetched
  when the model takes uploads: only from public addresses (loopback, private, link-local
  and metadata ranges are refused, on every redirect hop and for the address actually
  connected to) unless the `allowed_image_hosts` setting names the host; with the
  credentials' timeouts and retries and the clients' verifying TLS context.

Example:
    ```python
    from prefect_videogen.inputs import resolve_credentials, resolve_image

    credentials = resolve_credentials("my-gateway")
    image = resolve_image("frames/cat.png")
    ```
"""

# No `from __future__ import annotations`: the flows' signatures use these types at runtime.

import ipaddress
import re
import socket
import urllib.request
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import httpx
from pydantic import ValidationError

from prefect_videogen import _prefect
from prefect_videogen.credentials import VideoGenCredentials
from prefect_videogen.exceptions import (
    APIConnectionError,
    InvalidRequestError,
    RateLimitError,
    ServerError,
    VideoGenError,
)
from prefect_videogen.families import VideoRequest, family_for_model
from prefect_videogen.images import ImageInput
from prefect_videogen.settings import current_settings
from prefect_videogen.storage import is_block_type

__all__ = [
    "aresolve_credentials",
    "build_request",
    "check_image_host",
    "resolve_credentials",
    "resolve_image",
]

_IMAGE_REF = re.compile(r"^([a-z0-9][a-z0-9-]*)/([^/:]+):(.+)$")
_MAX_IMAGE_DOWNLOAD = 50 * 1024 * 1024
_MAX_IMAGE_REDIRECTS = 5

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

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
        return _prefect.call_sync(VideoGenCredentials.load, name)
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
    block = _prefect.load_block(f"{slug}/{name}")
    data = _prefect.call_block(block, "read_path", path)
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


def _resolve(host: str, port: int) -> list[IPAddress]:
    """Every address `host` resolves to."""
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return [ipaddress.ip_address(str(info[4][0]).split("%", 1)[0]) for info in infos]


def _host_rule_matches(rule: str, host: str, address: IPAddress | None) -> bool:
    rule = rule.strip().lower()
    if not rule:
        return False
    if rule == "*":
        return True
    try:
        network = ipaddress.ip_network(rule, strict=False)
    except ValueError:
        network = None
    if network is not None:
        return address is not None and address.version == network.version and address in network
    if rule.startswith("*."):
        return host.endswith(rule[1:])
    return host == rule


def _allowed(host: str, address: IPAddress | None, allowed_hosts: Sequence[str]) -> bool:
    return any(_host_rule_matches(rule, host, address) for rule in allowed_hosts)


def _why_not_public(address: IPAddress) -> str | None:
    """Why `address` is not a public internet address, or None when it is one."""
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    for reason, flagged in (
        ("loopback", address.is_loopback),
        ("link-local (cloud metadata lives there)", address.is_link_local),
        ("private", address.is_private),
        ("reserved", address.is_reserved),
        ("multicast", address.is_multicast),
        ("unspecified", address.is_unspecified),
    ):
        if flagged:
            return reason
    if not address.is_global:
        return "not globally routable (e.g. carrier-grade NAT, where some clouds keep metadata)"
    return None


def _refused(field: str, url: str, host: str, detail: str) -> InvalidRequestError:
    return InvalidRequestError(
        field,
        f"image URL {url!r} was not fetched: {host} {detail}. Image URLs are fetched only "
        "from public addresses; to allow this host, add it to the `allowed_image_hosts` "
        f"setting, e.g. PREFECT_INTEGRATIONS_VIDEOGEN_ALLOWED_IMAGE_HOSTS='[\"{host}\"]' "
        "(host names, `*.example.com`, IP addresses or networks such as 10.0.0.0/8)",
    )


def check_image_host(url: str, *, field: str = "image", allowed_hosts: Sequence[str] = ()) -> None:
    """Refuse an image URL whose host is not public, unless `allowed_hosts` names it.

    The host name is resolved and every address it has must be public: loopback,
    link-local (169.254.169.254, the cloud metadata service), private, shared (100.64/10)
    and reserved ranges are refused. Called for the URL and again for every redirect.

    Raises:
        InvalidRequestError: naming `field`, saying how to allow the host.

    Example:
        ```python
        from prefect_videogen.inputs import check_image_host

        check_image_host("http://127.0.0.1:9000/cat.png", allowed_hosts=["127.0.0.1"])  # fine
        check_image_host("http://169.254.169.254/latest/meta-data/")  # raises
        ```
    """
    parsed = httpx.URL(url)
    if parsed.scheme not in ("http", "https") or not parsed.host:
        raise InvalidRequestError(field, value=url, allowed="an http(s) URL with a host")
    host = parsed.host.lower().rstrip(".")
    try:
        literal: IPAddress | None = ipaddress.ip_address(host)
    except ValueError:
        literal = None
    if _allowed(host, literal, allowed_hosts):
        return
    if literal is not None:
        addresses = [literal]
    else:
        try:
            addresses = _resolve(host, parsed.port or 443)
        except (OSError, UnicodeError) as exc:
            raise InvalidRequestError(field, f"cannot resolve the host of {url!r}: {exc}") from None
    for address in addresses:
        if _allowed(host, address, allowed_hosts):
            continue
        reason = _why_not_public(address)
        if reason is not None:
            shown = host if literal is not None else f"{host} ({address})"
            raise _refused(field, url, shown, f"is a {reason} address")


def _check_peer(response: httpx.Response, url: str, field: str, allowed: Sequence[str]) -> None:
    """Check the address actually connected to (a DNS answer may change between looks)."""
    if urllib.request.getproxies().get(response.url.scheme):
        return  # the proxy connects; its own address says nothing about the target
    stream = response.extensions.get("network_stream")
    peer = stream.get_extra_info("server_addr") if stream is not None else None
    if not peer:
        return
    address = ipaddress.ip_address(str(peer[0]).split("%", 1)[0])
    host = (response.url.host or "").lower()
    if _allowed(host, address, allowed) or _allowed(str(address), address, allowed):
        return
    reason = _why_not_public(address)
    if reason is not None:
        raise _refused(field, url, f"{host} ({address})", f"is a {reason} address")


def _fetch_options(credentials: VideoGenCredentials | str | None) -> tuple[httpx.Timeout, int]:
    """The credentials' timeouts and retry count (the block's defaults if it cannot load)."""
    try:
        creds = resolve_credentials(credentials)
    except InvalidRequestError:  # the flow reports a missing block itself, later
        fields = VideoGenCredentials.model_fields
        default = {name: fields[name].default for name in ("timeout", "connect_timeout")}
        timeout = httpx.Timeout(default["timeout"], connect=default["connect_timeout"])
        return timeout, fields["max_retries"].default
    return httpx.Timeout(creds.timeout, connect=creds.connect_timeout), creds.max_retries


def _fetch_image(
    image: ImageInput, *, field: str, credentials: VideoGenCredentials | str | None
) -> ImageInput:
    """Download an http(s) image so its bytes can be uploaded.

    Only public hosts (see `check_image_host`), each redirect hop checked again, with the
    credentials' timeouts, retry count and the clients' verifying TLS context.
    """
    from prefect_videogen.client._base import _ssl_context
    from prefect_videogen.client._retry import Backoff, retry_call

    url = image.url or ""
    allowed = tuple(current_settings().allowed_image_hosts)
    check_image_host(url, field=field, allowed_hosts=allowed)
    timeout, max_retries = _fetch_options(credentials)

    def attempt(http: httpx.Client) -> bytes:
        target = url
        for _ in range(_MAX_IMAGE_REDIRECTS + 1):
            try:
                with http.stream("GET", target, headers={"Accept": "image/*"}) as response:
                    _check_peer(response, url, field, allowed)
                    if response.is_redirect:
                        location = response.headers.get("location", "")
                        target = str(response.url.join(location))
                        check_image_host(target, field=field, allowed_hosts=allowed)
                        continue
                    return _read_image_body(response, url, field)
            except httpx.TransportError as exc:
                raise APIConnectionError(f"fetching image {url!r}: {exc}") from exc
        raise InvalidRequestError(
            field, f"{url!r} redirected more than {_MAX_IMAGE_REDIRECTS} times"
        )

    with httpx.Client(
        timeout=timeout, verify=_ssl_context(), follow_redirects=False, trust_env=True
    ) as http:
        try:
            data = retry_call(
                lambda: attempt(http),
                max_retries=max_retries,
                backoff=Backoff(),
                what=f"GET {url}",
            )
        except InvalidRequestError:
            raise
        except VideoGenError as exc:
            raise InvalidRequestError(field, f"cannot fetch {url!r}: {exc}") from exc
    return ImageInput.from_bytes(data, filename=image.filename)


def _read_image_body(response: httpx.Response, url: str, field: str) -> bytes:
    status = response.status_code
    if status == 429 or status >= 500:
        response.read()
        error = RateLimitError if status == 429 else ServerError
        raise error(f"fetching image {url!r}: HTTP {status}", status_code=status)
    if not response.is_success:
        raise InvalidRequestError(field, f"cannot fetch {url!r}: HTTP {status}")
    chunks, size = [], 0
    try:
        for chunk in response.iter_bytes():
            size += len(chunk)
            if size > _MAX_IMAGE_DOWNLOAD:
                raise InvalidRequestError(
                    field, f"{url!r} is larger than {_MAX_IMAGE_DOWNLOAD} bytes"
                )
            chunks.append(chunk)
    except httpx.TransportError as exc:
        raise APIConnectionError(f"fetching image {url!r}: {exc}") from exc
    return b"".join(chunks)


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
    credentials: VideoGenCredentials | str | None = None,
) -> VideoRequest:
    """The `VideoRequest` for a flow's arguments; URL images are fetched for upload models.

    `credentials` (a block, a saved block's name or None for the default) gives the
    timeouts and retries of that fetch; it is loaded only when an image must be fetched.
    """
    if _needs_bytes(model):
        first_frame = _fetch_if_url(first_frame, "first_frame", credentials)
        last_frame = _fetch_if_url(last_frame, "last_frame", credentials)
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


def _fetch_if_url(
    image: ImageInput | None, field: str, credentials: VideoGenCredentials | str | None
) -> ImageInput | None:
    if image is not None and not image.has_bytes():
        return _fetch_image(image, field=field, credentials=credentials)
    return image
