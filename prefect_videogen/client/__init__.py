"""HTTP clients for the OpenAI video format API: submit, poll, list, delete and download.

`VideoGenClient` (sync) and `AsyncVideoGenClient` (async) speak to new-api gateways (Wan,
Kling, Jimeng, Vidu, Seedance, Hailuo, Veo), to self-hosted servers and to the local
emulator. `base_url` is required: OpenAI's own Videos API shut down on 2026-09-24. Both
share the request building and response reading in `_BaseVideoGenClient`; only the
sending, sleeping and streaming differ.

Safety rules they keep:

- A create (or remix) POST is retried only when the server surely did not accept it: the
  connection could not be opened, or the server answered 429. When the request may have
  reached the server and no usable answer came back (a 5xx, a read timeout, a dropped
  connection), `SubmissionUncertainError` is raised and nothing is resent, so a paid job is
  never submitted twice by accident. Only with `idempotent_retries=True` (a server known to
  honour `Idempotency-Key`) are those resent, with the same key.
- The API key and extra headers go only to the API's own origin, never to a CDN URL, and
  never appear in exception messages, reprs or logs.
- Downloads stream to `<destination>.part`, are hashed while writing, fsynced and then
  moved into place; a failed download leaves no file behind.
"""

from __future__ import annotations

import inspect
from collections.abc import Awaitable, Callable, Mapping
from pathlib import Path

import anyio
import httpx
from pydantic import SecretStr

from prefect_videogen.client._base import (
    _MAX_REDIRECTS,
    _USER_AGENT,
    EXAMPLE_BASE_URL,
    _BaseVideoGenClient,
    _Call,
    _ssl_context,
    logger,
)
from prefect_videogen.client._download import DownloadedContent, _PartFile
from prefect_videogen.client._polling import UNKNOWN_TIMEOUT, _Poller
from prefect_videogen.client._retry import Backoff, aretry_call, retry_call
from prefect_videogen.exceptions import (
    APIConnectionError,
    APIError,
    ContentNotReadyError,
    VideoGenError,
)
from prefect_videogen.families import VideoRequest, family_for_model
from prefect_videogen.models import DeletedVideo, VideoJob, VideoList

__all__ = [
    "EXAMPLE_BASE_URL",
    "UNKNOWN_TIMEOUT",
    "AsyncVideoGenClient",
    "DownloadedContent",
    "VideoGenClient",
]


def __getattr__(name: str) -> object:
    if name == "DEFAULT_BASE_URL":  # an ImportError, so `from ... import` shows the reason
        raise ImportError(
            "prefect_videogen.client.DEFAULT_BASE_URL was removed: it pointed at OpenAI's "
            "Videos API, which shut down on 2026-09-24. Pass base_url explicitly: your "
            f"gateway (e.g. {EXAMPLE_BASE_URL}) or the local emulator "
            "(http://127.0.0.1:8000/v1)."
        )
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


class VideoGenClient(_BaseVideoGenClient):
    """A synchronous client for the OpenAI video format API (OpenAI and new-api gateways).

    Args:
        base_url: The API root including its version prefix, e.g.
            `https://gateway.example.com/v1` (a new-api gateway) or
            `http://127.0.0.1:8000/v1` (the local emulator).
        api_key: Sent as `Authorization: Bearer <key>` to `base_url`'s origin only.
        headers: Extra headers for the API (e.g. `OpenAI-Organization`); like the key, they
            are sent to `base_url`'s origin only.
        timeout: Seconds per network operation, or an `httpx.Timeout`.
        max_retries: Retries after the first attempt for transient failures.
        transport: An httpx transport, e.g. `httpx.MockTransport` in tests.
        backoff: Retry delays and the sleep function (tests pass a recorder).
        idempotent_retries: The server honours `Idempotency-Key`, so a create whose answer
            was lost (5xx, timeout, dropped connection) may be resent with the same key.
            Leave False unless the provider documents it: most gateways ignore the header.

    Example:
        ```python
        from prefect_videogen.client import VideoGenClient
        from prefect_videogen.families import VideoRequest

        with VideoGenClient("http://127.0.0.1:8000/v1", "sk-emulator") as client:
            job = client.create(
                VideoRequest(model="wan2.5-t2v-preview", prompt="a red fox in snow")
            )
            job = client.wait(job.id, model=job.model)
            client.download_content(job.id, "fox.mp4")
        ```
    """

    def __init__(
        self,
        base_url: str,
        api_key: str | SecretStr | None = None,
        *,
        headers: Mapping[str, str] | None = None,
        timeout: float | httpx.Timeout = 60.0,
        max_retries: int = 3,
        transport: httpx.BaseTransport | None = None,
        backoff: Backoff | None = None,
        idempotent_retries: bool = False,
    ) -> None:
        super().__init__(
            base_url,
            api_key,
            headers=headers,
            timeout=timeout,
            max_retries=max_retries,
            backoff=backoff,
            idempotent_retries=idempotent_retries,
        )
        self._http = httpx.Client(
            timeout=self._timeout,
            transport=transport,
            headers={"User-Agent": _USER_AGENT},
            verify=_ssl_context(),
        )

    def __enter__(self) -> VideoGenClient:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def close(self) -> None:
        """Close the connection pool."""
        self._http.close()

    def _send(self, call: _Call) -> httpx.Response:
        def attempt() -> httpx.Response:
            request = self._build_request(call)
            try:
                response = self._http.send(request)
            except httpx.TransportError as exc:
                raise self._connection_error(exc, call) from exc
            return self._check(response, call)

        return retry_call(
            attempt,
            max_retries=self.max_retries,
            backoff=self._backoff,
            what=call.what,
            retryable=self._retryable(call),
        )

    def create(self, request: VideoRequest, *, idempotency_key: str | None = None) -> VideoJob:
        """Submit a video job (paid). The request is validated by its model family first.

        Args:
            request: What to generate.
            idempotency_key: Sent as `Idempotency-Key` for servers that honour it.

        Returns:
            The new job, usually `queued`.

        Raises:
            InvalidRequestError: The request is not valid for the model (no network call made).
            ModelRetiredError: A Sora model sent to api.openai.com (shut down 2026-09-24).
            ModelUnavailableError: The gateway lists the model but has no channel for it.
            SubmissionUncertainError: The request was sent but no answer came back.

        Example:
            ```python
            job = client.create(VideoRequest(model="kling-v1", prompt="waves", seconds=5))
            ```
        """
        family, call = self._create_call(request, idempotency_key)
        return self._read_submitted_job(self._send(call), call, family)

    def retrieve(self, video_id: str, *, model: str | None = None) -> VideoJob:
        """Get a job's current state; `model` picks the family's status words.

        Example:
            ```python
            job = client.retrieve("task_123", model="kling-v1")
            print(job.status, job.progress)
            ```
        """
        call = _Call("GET", self._video_path(video_id))
        family = family_for_model(model) if model else None
        return self._read_job(self._send(call), call, family)

    def list(
        self, *, after: str | None = None, limit: int | None = None, order: str | None = None
    ) -> VideoList:
        """One page of jobs (OpenAI-style servers and the emulator's openai/seed dialects).

        Raises:
            UnsupportedOperationError: The server cannot list jobs (new-api gateways).

        Example:
            ```python
            page = client.list(limit=10, order="desc")
            print([job.id for job in page.data], page.has_more)
            ```
        """
        call = self._list_call(after, limit, order)
        return self._read_list(self._send(call), call)

    def delete(self, video_id: str) -> DeletedVideo:
        """Delete a finished job and its files.

        Raises:
            UnsupportedOperationError: The server cannot delete (new-api gateways have no
                DELETE route).
            NotFoundError: The job does not exist (any more).

        Example:
            ```python
            assert client.delete("video_123").deleted
            ```
        """
        call = _Call("DELETE", self._video_path(video_id), kind="delete")
        return self._read_deleted(self._send(call), video_id)

    def remix(self, video_id: str, prompt: str, *, model: str | None = None) -> VideoJob:
        """Make a new job (paid) from a completed one with a changed prompt (Sora only).

        The prompt is checked as `create` checks one, against `model`'s limit when given,
        before any network call.

        Example:
            ```python
            job = client.remix("video_123", "the same fox, at night", model="sora-2")
            ```
        """
        call = self._remix_call(video_id, prompt, model)
        return self._read_submitted_job(self._send(call), call, None)

    def wait(
        self,
        video_id: str,
        *,
        model: str | None = None,
        timeout: float | None = 900,
        min_interval: float = 1.0,
        max_interval: float = 15.0,
        on_update: Callable[[VideoJob], None] | None = None,
        unknown_timeout: float | None = UNKNOWN_TIMEOUT,
        on_tick: Callable[[VideoJob | None], None] | None = None,
    ) -> VideoJob:
        """Poll until the job completes.

        The pause between polls is the server's `openai-poll-after-ms` hint when it sends
        one (capped at `max_interval`), else `min_interval` growing x1.5 per poll up to
        `max_interval`. Transient errors while polling do not end the wait.

        Args:
            video_id: The job to wait for.
            model: The job's model, for its family's status words.
            timeout: Seconds to wait at most; None waits forever.
            min_interval: The first pause between polls, in seconds.
            max_interval: The longest pause between polls, in seconds.
            on_update: Called with the job whenever its status or progress changes.
            unknown_timeout: Seconds the job may keep answering status `unknown`; None
                for no limit. A new-api gateway says `unknown` for a task its poller has
                not started yet (a queued job), and DashScope for an id it does not know.
            on_tick: Called after every poll, changed or not, with the last job seen (None
                before the first answer): for a heartbeat log line while nothing changes.

        Returns:
            The completed job.

        Raises:
            VideoGenerationFailed: The job ended in `failed`.
            VideoTimeoutError: `timeout` passed first; the job goes on, wait again later.
            VideoStatusUnknownError: The job said `unknown` for `unknown_timeout` seconds.

        Example:
            ```python
            job = client.wait("video_123", on_update=lambda j: print(j.status, j.progress))
            ```
        """
        poller = _Poller(
            video_id,
            timeout=timeout,
            min_interval=min_interval,
            max_interval=max_interval,
            unknown_timeout=unknown_timeout,
            on_tick=on_tick,
        )
        while True:
            try:
                job = self.retrieve(video_id, model=model)
            except VideoGenError as exc:
                poller.poll_failed(exc)
            else:
                if poller.observe(job) and on_update is not None:
                    on_update(job)
                if poller.finished(job):
                    return job
            self._backoff.sleep(poller.next_delay())

    def download_content(
        self,
        video_id: str,
        destination: str | Path,
        *,
        variant: str = "video",
        url: str | None = None,
        chunk_size: int = 1 << 20,
        ready_timeout: float | None = 900,
    ) -> DownloadedContent:
        """Stream a job's video (or thumbnail/spritesheet) to a file, safely.

        Writes `<destination>.part`, hashing as it goes, resumes with a `Range` request
        when the connection drops and the server accepts ranges, then fsyncs and moves
        the file into place. On failure no file is left at `destination` or `.part`.

        When `/content` answers that the job has not completed yet, the job is polled
        until it has (at most `ready_timeout` seconds), then downloaded. When `/content`
        keeps breaking off (new-api gateways cut it after 60 s and do not forward
        `Range`), the video is fetched from the job's own result URL when it has one.

        Args:
            video_id: The completed job.
            destination: The file to write; parent directories are created.
            variant: `video`, `thumbnail` or `spritesheet` (for `/content` only).
            url: Fetch this URL (e.g. `job.url` from a gateway) instead of `/content`;
                the API key is sent only if it is on `base_url`'s origin.
            chunk_size: Bytes buffered per write to disk.
            ready_timeout: Seconds to wait for an unfinished job before downloading it.

        Returns:
            The written file's path, size, sha256 and content type.

        Raises:
            VideoGenerationFailed: The job, polled because it was not ready, failed.
            UnsupportedOperationError: A thumbnail or spritesheet was asked for and the
                server sent the video (gateways ignore `variant`).

        Example:
            ```python
            content = client.download_content("video_123", "out/fox.mp4")
            print(content.sha256)
            ```
        """
        target, params = self._content_target(video_id, variant, url)
        part = self._open_part(destination, chunk_size, variant)

        def download(source: httpx.URL, query: Mapping[str, str]) -> None:
            call = self._download_call(source)
            retry_call(
                lambda: self._download_once(call, source, query, part, variant),
                max_retries=self.max_retries,
                backoff=self._backoff,
                what=f"download {call.path}",
            )

        def when_ready() -> None:
            try:
                download(target, params)
            except ContentNotReadyError:
                if url is not None:
                    raise
                logger.info("Video %s is not ready to download yet; polling it", video_id)
                self.wait(video_id, timeout=ready_timeout)
                download(target, params)

        try:
            try:
                when_ready()
            except APIConnectionError:
                fallback = None
                if url is None and variant == "video" and part.range_ignored:
                    try:
                        fallback = self._fallback_url(self.retrieve(video_id), target)
                    except VideoGenError:
                        fallback = None
                if fallback is None:
                    raise
                part.resumable = False  # another source: start over
                download(fallback, {})
            return part.commit()
        except BaseException:
            part.discard()
            raise

    def _download_once(
        self,
        call: _Call,
        url: httpx.URL,
        params: Mapping[str, str],
        part: _PartFile,
        variant: str = "video",
    ) -> None:
        for _ in range(_MAX_REDIRECTS + 1):
            request, kind = self._content_request(url, params, part)
            try:
                response = self._http.send(request, stream=True)
            except httpx.TransportError as exc:
                raise self._connection_error(exc, call, kind) from exc
            try:
                if response.is_redirect:
                    url, params = response.next_request.url, {}  # type: ignore[union-attr]
                    continue
                if not response.is_success:
                    response.read()
                    raise self._download_error(response, call, kind, part)
                self._check_variant(response, variant, call)
                part.begin(response)
                for chunk in response.iter_bytes():
                    part.write(chunk)
                part.end(response.status_code)
                return
            except httpx.TransportError as exc:
                raise self._connection_error(exc, call, kind) from exc
            finally:
                response.close()
        raise APIError(f"{call.what}: more than {_MAX_REDIRECTS} redirects", status_code=302)


class AsyncVideoGenClient(_BaseVideoGenClient):
    """The async twin of `VideoGenClient`: the same methods, as coroutines.

    `wait(on_update=...)` accepts a plain function or a coroutine function.

    Example:
        ```python
        import asyncio

        from prefect_videogen.client import AsyncVideoGenClient
        from prefect_videogen.families import VideoRequest

        async def main():
            async with AsyncVideoGenClient("http://127.0.0.1:8000/v1", "sk-emulator") as client:
                request = VideoRequest(model="wan2.5-t2v-preview", prompt="a red fox")
                job = await client.create(request)
                job = await client.wait(job.id, model=job.model)
                await client.download_content(job.id, "fox.mp4")

        asyncio.run(main())
        ```
    """

    def __init__(
        self,
        base_url: str,
        api_key: str | SecretStr | None = None,
        *,
        headers: Mapping[str, str] | None = None,
        timeout: float | httpx.Timeout = 60.0,
        max_retries: int = 3,
        transport: httpx.AsyncBaseTransport | None = None,
        backoff: Backoff | None = None,
        idempotent_retries: bool = False,
    ) -> None:
        super().__init__(
            base_url,
            api_key,
            headers=headers,
            timeout=timeout,
            max_retries=max_retries,
            backoff=backoff,
            idempotent_retries=idempotent_retries,
        )
        self._http = httpx.AsyncClient(
            timeout=self._timeout,
            transport=transport,
            headers={"User-Agent": _USER_AGENT},
            verify=_ssl_context(),
        )

    async def __aenter__(self) -> AsyncVideoGenClient:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.close()

    async def close(self) -> None:
        """Close the connection pool."""
        await self._http.aclose()

    async def _send(self, call: _Call) -> httpx.Response:
        async def attempt() -> httpx.Response:
            request = self._build_request(call)
            try:
                response = await self._http.send(request)
            except httpx.TransportError as exc:
                raise self._connection_error(exc, call) from exc
            return self._check(response, call)

        return await aretry_call(
            attempt,
            max_retries=self.max_retries,
            backoff=self._backoff,
            what=call.what,
            retryable=self._retryable(call),
        )

    async def create(
        self, request: VideoRequest, *, idempotency_key: str | None = None
    ) -> VideoJob:
        """Submit a video job (paid); see `VideoGenClient.create`.

        Example:
            ```python
            job = await client.create(VideoRequest(model="kling-v1", prompt="waves"))
            ```
        """
        family, call = self._create_call(request, idempotency_key)
        return self._read_submitted_job(await self._send(call), call, family)

    async def retrieve(self, video_id: str, *, model: str | None = None) -> VideoJob:
        """Get a job's current state; see `VideoGenClient.retrieve`.

        Example:
            ```python
            job = await client.retrieve("video_123")
            ```
        """
        call = _Call("GET", self._video_path(video_id))
        family = family_for_model(model) if model else None
        return self._read_job(await self._send(call), call, family)

    async def list(
        self, *, after: str | None = None, limit: int | None = None, order: str | None = None
    ) -> VideoList:
        """One page of jobs; see `VideoGenClient.list`.

        Example:
            ```python
            page = await client.list(limit=10)
            ```
        """
        call = self._list_call(after, limit, order)
        return self._read_list(await self._send(call), call)

    async def delete(self, video_id: str) -> DeletedVideo:
        """Delete a finished job; see `VideoGenClient.delete`.

        Example:
            ```python
            await client.delete("video_123")
            ```
        """
        call = _Call("DELETE", self._video_path(video_id), kind="delete")
        return self._read_deleted(await self._send(call), video_id)

    async def remix(self, video_id: str, prompt: str, *, model: str | None = None) -> VideoJob:
        """Make a new job (paid) from a completed one; see `VideoGenClient.remix`.

        Example:
            ```python
            job = await client.remix("video_123", "at night")
            ```
        """
        call = self._remix_call(video_id, prompt, model)
        return self._read_submitted_job(await self._send(call), call, None)

    async def wait(
        self,
        video_id: str,
        *,
        model: str | None = None,
        timeout: float | None = 900,
        min_interval: float = 1.0,
        max_interval: float = 15.0,
        on_update: Callable[[VideoJob], Awaitable[None] | None] | None = None,
        unknown_timeout: float | None = UNKNOWN_TIMEOUT,
        on_tick: Callable[[VideoJob | None], None] | None = None,
    ) -> VideoJob:
        """Poll until the job completes; see `VideoGenClient.wait`.

        Example:
            ```python
            job = await client.wait("video_123", timeout=600)
            ```
        """
        poller = _Poller(
            video_id,
            timeout=timeout,
            min_interval=min_interval,
            max_interval=max_interval,
            unknown_timeout=unknown_timeout,
            on_tick=on_tick,
        )
        while True:
            try:
                job = await self.retrieve(video_id, model=model)
            except VideoGenError as exc:
                poller.poll_failed(exc)
            else:
                if poller.observe(job) and on_update is not None:
                    result = on_update(job)
                    if inspect.isawaitable(result):
                        await result
                if poller.finished(job):
                    return job
            await self._backoff.async_sleep(poller.next_delay())

    async def download_content(
        self,
        video_id: str,
        destination: str | Path,
        *,
        variant: str = "video",
        url: str | None = None,
        chunk_size: int = 1 << 20,
        ready_timeout: float | None = 900,
    ) -> DownloadedContent:
        """Stream a job's content to a file, safely; see `VideoGenClient.download_content`.

        Example:
            ```python
            content = await client.download_content("video_123", "fox.mp4")
            ```
        """
        target, params = self._content_target(video_id, variant, url)
        # File work (open, write, fsync, rename) runs in worker threads, off the event loop.
        part = await anyio.to_thread.run_sync(self._open_part, destination, chunk_size, variant)

        async def download(source: httpx.URL, query: Mapping[str, str]) -> None:
            call = self._download_call(source)
            await aretry_call(
                lambda: self._download_once(call, source, query, part, variant),
                max_retries=self.max_retries,
                backoff=self._backoff,
                what=f"download {call.path}",
            )

        async def when_ready() -> None:
            try:
                await download(target, params)
            except ContentNotReadyError:
                if url is not None:
                    raise
                logger.info("Video %s is not ready to download yet; polling it", video_id)
                await self.wait(video_id, timeout=ready_timeout)
                await download(target, params)

        try:
            try:
                await when_ready()
            except APIConnectionError:
                fallback = None
                if url is None and variant == "video" and part.range_ignored:
                    try:
                        fallback = self._fallback_url(await self.retrieve(video_id), target)
                    except VideoGenError:
                        fallback = None
                if fallback is None:
                    raise
                part.resumable = False  # another source: start over
                await download(fallback, {})
            return await anyio.to_thread.run_sync(part.commit)
        except BaseException:
            part.discard()  # inline: a cancelled task cannot await a thread any more
            raise

    async def _download_once(
        self,
        call: _Call,
        url: httpx.URL,
        params: Mapping[str, str],
        part: _PartFile,
        variant: str = "video",
    ) -> None:
        for _ in range(_MAX_REDIRECTS + 1):
            request, kind = self._content_request(url, params, part)
            try:
                response = await self._http.send(request, stream=True)
            except httpx.TransportError as exc:
                raise self._connection_error(exc, call, kind) from exc
            try:
                if response.is_redirect:
                    url, params = response.next_request.url, {}  # type: ignore[union-attr]
                    continue
                if not response.is_success:
                    await response.aread()
                    raise self._download_error(response, call, kind, part)
                self._check_variant(response, variant, call)
                await anyio.to_thread.run_sync(part.begin, response)
                async for chunk in response.aiter_bytes():
                    await anyio.to_thread.run_sync(part.write, chunk)
                part.end(response.status_code)
                return
            except httpx.TransportError as exc:
                raise self._connection_error(exc, call, kind) from exc
            finally:
                await response.aclose()
        raise APIError(f"{call.what}: more than {_MAX_REDIRECTS} redirects", status_code=302)
