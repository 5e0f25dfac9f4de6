"""The credentials block for video APIs in the OpenAI video format."""

from __future__ import annotations

import hashlib
from typing import Any

import httpx
from prefect.blocks.abstract import CredentialsBlock
from prefect.types import SecretDict
from pydantic import Field, SecretStr

from prefect_videogen.client import EXAMPLE_BASE_URL, AsyncVideoGenClient, VideoGenClient

__all__ = ["VideoGenCredentials"]


class VideoGenCredentials(CredentialsBlock):
    """Where a video API lives and how to authenticate to it: a new-api gateway, a
    self-hosted server or the local emulator (`base_url` is required).

    The API key and extra headers are stored as secrets and sent only to `base_url`'s
    origin, never to a provider's CDN.

    Example:
        Load stored credentials and submit a job:
        ```python
        from prefect_videogen.credentials import VideoGenCredentials
        from prefect_videogen.families import VideoRequest

        credentials = VideoGenCredentials.load("BLOCK_NAME")
        with credentials.get_client() as client:
            job = client.create(
                VideoRequest(model="wan2.5-t2v-preview", prompt="a red fox in snow")
            )
        ```
    """

    _block_type_name = "VideoGen Credentials"
    # The package's own logo (prefect_videogen/logo.svg, published with the docs site) and
    # the docs page for this block. Prefect's client only accepts http(s) URLs here.
    _logo_url = "https://prefect-videogen.github.io/prefect-videogen/assets/logo.svg"
    _documentation_url = "https://prefect-videogen.github.io/prefect-videogen/credentials/"

    base_url: str = Field(
        title="Base URL",
        description=(
            f"Required. The API root including its version prefix: your new-api gateway, "
            f"e.g. {EXAMPLE_BASE_URL}, or the local emulator, http://127.0.0.1:8000/v1. "
            "OpenAI's own Videos API shut down on 2026-09-24."
        ),
        examples=[EXAMPLE_BASE_URL, "http://127.0.0.1:8000/v1"],
    )
    api_key: SecretStr | None = Field(
        default=None,
        title="API Key",
        description="The API key, sent as a Bearer token to the base URL's host only.",
    )
    extra_headers: SecretDict | None = Field(
        default=None,
        title="Extra Headers",
        description=(
            "Extra HTTP headers for every API request (e.g. OpenAI-Organization); "
            "stored as secrets and sent to the base URL's host only."
        ),
    )
    timeout: float = Field(
        default=60.0,
        gt=0,
        description="Seconds to wait for each read or write on the network.",
    )
    connect_timeout: float = Field(
        default=10.0,
        gt=0,
        description="Seconds to wait for a connection to open.",
    )
    max_retries: int = Field(
        default=3,
        ge=0,
        description=(
            "Retries after the first attempt for rate limits, server errors and "
            "connection failures; a submission is retried only if surely not received."
        ),
    )

    account: str | None = Field(
        default=None,
        title="Account",
        description=(
            "A label of the account the key belongs to (e.g. team-a). Submissions are "
            "remembered per account: with a label, rotating the key reuses earlier jobs; "
            "without one, a non-reversible fingerprint of the key names the account."
        ),
    )
    idempotent_retries: bool = Field(
        default=False,
        title="Idempotent Retries",
        description=(
            "The server honours Idempotency-Key, so a submission whose answer was lost "
            "(5xx, timeout, dropped connection) may be resent with the same key. Most "
            "gateways ignore the header: leave False unless the provider documents it."
        ),
    )

    def account_scope(self) -> str:
        """Which account submissions are remembered under: the `account` label, or a
        non-reversible fingerprint of the API key (`key-` + 16 hex digits).

        Example:
            ```python
            from prefect_videogen.credentials import VideoGenCredentials

            print(VideoGenCredentials(api_key="sk-one", account="team-a").account_scope())
            ```
        """
        if self.account:
            return f"account:{self.account.strip()}"
        if self.api_key is None or not self.api_key.get_secret_value().strip():
            return "anonymous"
        material = (
            b"prefect-videogen/account-scope|" + self.api_key.get_secret_value().strip().encode()
        )
        return "key-" + hashlib.sha256(material).hexdigest()[:16]

    def _client_options(self) -> dict[str, Any]:
        headers = self.extra_headers.get_secret_value() if self.extra_headers else None
        return {
            "base_url": self.base_url,
            "api_key": self.api_key,
            "headers": {str(k): str(v) for k, v in headers.items()} if headers else None,
            "timeout": httpx.Timeout(self.timeout, connect=self.connect_timeout),
            "max_retries": self.max_retries,
            "idempotent_retries": self.idempotent_retries,
        }

    def get_client(self) -> VideoGenClient:
        """A synchronous client for the API; close it (or use `with`) when done.

        Example:
            ```python
            from prefect_videogen.credentials import VideoGenCredentials

            credentials = VideoGenCredentials(
                base_url="http://127.0.0.1:8000/v1", api_key="sk-emulator"
            )
            with credentials.get_client() as client:
                print(client.retrieve("video_123").status)
            ```
        """
        return VideoGenClient(**self._client_options())

    def get_async_client(self) -> AsyncVideoGenClient:
        """An async client for the API; close it (or use `async with`) when done.

        Example:
            ```python
            from prefect_videogen.credentials import VideoGenCredentials

            async def status(credentials: VideoGenCredentials) -> str:
                async with credentials.get_async_client() as client:
                    return (await client.retrieve("video_123")).status.value
            ```
        """
        return AsyncVideoGenClient(**self._client_options())
