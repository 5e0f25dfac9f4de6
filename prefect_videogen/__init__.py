"""prefect-videogen: video generation APIs in the OpenAI video format, as Prefect building blocks.

The package root holds the block, the clients, the request and job models and the errors.
Tasks live in `prefect_videogen.tasks`, flows in `prefect_videogen.flows`, the local emulator
in `prefect_videogen.emulator`.

Example:
    ```python
    from prefect_videogen import VideoGenCredentials, VideoRequest

    credentials = VideoGenCredentials(base_url="http://127.0.0.1:8000/v1", api_key="sk-emulator")
    with credentials.get_client() as client:
        job = client.create(VideoRequest(model="wan2.5-t2v-preview", prompt="a red fox in snow"))
        client.wait(job.id, model=job.model)
        client.download_content(job.id, "fox.mp4")
    ```
"""

from importlib.metadata import PackageNotFoundError, version

from prefect_videogen.client import AsyncVideoGenClient, DownloadedContent, VideoGenClient
from prefect_videogen.costs import VideoGenPriceTable, estimate_cost
from prefect_videogen.credentials import VideoGenCredentials
from prefect_videogen.exceptions import (
    APIConnectionError,
    APIError,
    AuthenticationError,
    BudgetExceededError,
    ContentExpiredError,
    ContentNotReadyError,
    InvalidRequestError,
    ModelRetiredError,
    ModelUnavailableError,
    NotFoundError,
    RateLimitError,
    ServerError,
    StorageError,
    SubmissionUncertainError,
    UnexpectedContentError,
    UnsupportedOperationError,
    VideoGenerationFailed,
    VideoGenError,
    VideoMismatchError,
    VideoStatusUnknownError,
    VideoTimeoutError,
)
from prefect_videogen.families import VideoRequest, family_for_model
from prefect_videogen.images import ImageInput
from prefect_videogen.models import ContentVariant, VideoJob, VideoStatus

try:
    __version__ = version("prefect-videogen")
except PackageNotFoundError:  # pragma: no cover - running from a source tree
    __version__ = "0.0.0"

__all__ = [
    "APIConnectionError",
    "APIError",
    "AsyncVideoGenClient",
    "AuthenticationError",
    "BudgetExceededError",
    "ContentExpiredError",
    "ContentNotReadyError",
    "ContentVariant",
    "DownloadedContent",
    "ImageInput",
    "InvalidRequestError",
    "ModelRetiredError",
    "ModelUnavailableError",
    "NotFoundError",
    "RateLimitError",
    "ServerError",
    "StorageError",
    "SubmissionUncertainError",
    "UnexpectedContentError",
    "UnsupportedOperationError",
    "VideoGenClient",
    "VideoGenCredentials",
    "VideoGenError",
    "VideoGenPriceTable",
    "VideoGenerationFailed",
    "VideoJob",
    "VideoMismatchError",
    "VideoRequest",
    "VideoStatus",
    "VideoStatusUnknownError",
    "VideoTimeoutError",
    "estimate_cost",
    "family_for_model",
]
