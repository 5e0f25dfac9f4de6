"""The submission ledger: the only place that decides whether to send a paid create.

Most servers ignore `Idempotency-Key`, so "never pay twice" cannot rest on the server. The
ledger writes down what it is about to do before doing it, in Prefect's result storage:

1. under a lock per submission (see `prefect_videogen.locks`), look for the **job record**
   of this submission: found means already paid, reuse it;
2. else look for an **intent record** without a job: a create was sent and its answer never
   recorded (a crash, a lost answer). A job may exist. Reconcile through the server's list
   route where it has one (a job with the same model and prompt created around the time the
   intent was written is adopted); where it has none, or the match is ambiguous, raise
   `SubmissionUncertainError` saying what happened and how to pay again deliberately;
3. else write the intent, POST, and write the job record.

A create that surely made no job (connection refused, 429, 400, 401...) marks its intent
`not_created`, so a rerun submits again. One that may have made one (a 5xx, a read timeout,
a dropped connection: `SubmissionUncertainError` from the client) leaves its intent open.

A submission is keyed by the normalized request's fingerprint + `attempt` + `base_url` +
the account (`VideoGenCredentials.account_scope()`: the `account` label, else a
non-reversible fingerprint of the key). So two accounts on one base URL never share a job,
and with an `account` label a rotated key still finds its earlier jobs. Pass `attempt=N+1`
to pay for a new job on purpose.

Records are JSON (`JobRecord`, and the intent below); for runs on several machines point
`PREFECT_RESULTS_DEFAULT_STORAGE_BLOCK` at shared storage.
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import os
import socket
from collections.abc import Iterable
from datetime import datetime
from typing import Any, Literal, NamedTuple

from anyio import to_thread
from pydantic import BaseModel, Field

from prefect_videogen import _prefect
from prefect_videogen.exceptions import (
    APIError,
    NotFoundError,
    SubmissionUncertainError,
    VideoGenError,
)
from prefect_videogen.locks import new_holder
from prefect_videogen.records import JobRecord, utcnow
from prefect_videogen.reporting import get_logger

__all__ = ["SubmissionIntent", "SubmissionLedger", "submission_key"]

#: Bump when the meaning of a ledger record changes.
LEDGER_NAMESPACE = "prefect-videogen/submit/v2"
#: The submit task's cache before the ledger: no account in the key. Its records are still
#: read (never written), so upgrading does not pay again for jobs submitted before.
LEGACY_NAMESPACE = "prefect-videogen/submit/v1"

#: How far around the intent's time a listed job may have been created to match it.
RECONCILE_BEFORE_SECONDS = 30.0
RECONCILE_AFTER_SECONDS = 900.0
#: Pages of `GET /videos` read at most while reconciling (newest first).
RECONCILE_MAX_PAGES = 5


def submission_key(fingerprint: str, attempt: int, base_url: str, account: str) -> str:
    """The ledger key of one submission (hex sha256; no secret goes in).

    Example:
        ```python
        from prefect_videogen.ledger import submission_key

        print(submission_key("ab12...", 0, "https://api.openai.com/v1", "account:team-a"))
        ```
    """
    material = f"{LEDGER_NAMESPACE}|{fingerprint}|{int(attempt)}|{base_url.rstrip('/')}|{account}"
    return hashlib.sha256(material.encode()).hexdigest()


class SubmissionIntent(BaseModel):
    """What the ledger writes before sending a create: enough to find the job later."""

    state: Literal["sending", "not_created"] = Field(
        default="sending", description="`sending` until the outcome is known to make no job."
    )
    fingerprint: str = Field(description="The normalized request's fingerprint.")
    attempt: int = Field(description="Which submission of the request this is.")
    base_url: str = Field(description="The API the create goes to.")
    account: str = Field(description="The account scope (label or key fingerprint).")
    model: str = Field(description="The model asked for.")
    prompt: str = Field(default="", description="The prompt, to match listed jobs.")
    sent_at: datetime = Field(default_factory=utcnow, description="When the create was sent.")
    host: str = Field(default_factory=socket.gethostname, description="Host that sent it.")
    pid: int = Field(default_factory=os.getpid, description="Process that sent it.")
    outcome: str | None = Field(default=None, description="Why it made no job, when known.")


class _Looked(NamedTuple):
    """What `SubmissionLedger._prepare` found under the lock: one of the three is set."""

    job: JobRecord | None = None  # recorded: reuse it
    open: SubmissionIntent | None = None  # an earlier create with no recorded answer
    intent: SubmissionIntent | None = None  # nothing recorded: this new intent is written


class SubmissionLedger:
    """Decides, per submission, between reusing a job, reconciling, and paying once.

    Args:
        credentials: The `VideoGenCredentials` the submission is made with (their
            `base_url` and account scope are part of the key; the key itself never is).
        store: A Prefect `ResultStore` with a lock manager (default: the run's result
            storage, JSON, `prefect_videogen.locks.FileLockManager`).
        detailed: Log each submission and reuse at INFO level (else DEBUG: a batch of
            thousands reports its videos together, not one line each). Warnings
            (reconciled or uncertain submissions) are logged either way.

    Example:
        ```python
        from prefect_videogen.caching import normalize_request
        from prefect_videogen.credentials import VideoGenCredentials
        from prefect_videogen.families import VideoRequest
        from prefect_videogen.ledger import SubmissionLedger

        credentials = VideoGenCredentials.load("default")
        normalized, family = normalize_request(VideoRequest(model="wan2.6-t2v", prompt="a fox"))
        with credentials.get_client() as client:
            job = SubmissionLedger(credentials).submit(client, normalized, family, attempt=0)
        ```
    """

    def __init__(self, credentials: Any, *, store: Any = None, detailed: bool = True) -> None:
        self.credentials = credentials
        self._store = store
        self.level = logging.INFO if detailed else logging.DEBUG
        base_url = getattr(credentials, "base_url", None)
        self.base_url = str(base_url).rstrip("/") if base_url else ""
        scope = getattr(credentials, "account_scope", None)
        self.account = scope() if callable(scope) else "anonymous"

    # -- keys and records ---------------------------------------------------------------

    def key(self, normalized: Any, attempt: int) -> str:
        """The ledger key of `normalized` at `attempt` with these credentials."""
        return submission_key(normalized.fingerprint(), attempt, self.base_url, self.account)

    def legacy_key(self, normalized: Any, attempt: int) -> str:
        """Where the submit task's cache (before the ledger) kept this submission's job."""
        material = f"{LEGACY_NAMESPACE}|{normalized.fingerprint()}|{int(attempt)}|{self.base_url}"
        return hashlib.sha256(material.encode()).hexdigest()

    @staticmethod
    def intent_key(key: str) -> str:
        """Where the intent of submission `key` is stored."""
        return f"{key}-intent"

    @staticmethod
    def idempotency_key(key: str) -> str:
        """The `Idempotency-Key` sent with the create (for servers that honour it)."""
        return "prefect-videogen-" + key[:40]

    def _new_intent(self, normalized: Any, attempt: int) -> SubmissionIntent:
        return SubmissionIntent(
            fingerprint=normalized.fingerprint(),
            attempt=attempt,
            base_url=self.base_url,
            account=self.account,
            model=normalized.model,
            prompt=normalized.prompt or "",
        )

    def _store_now(self) -> Any:
        if self._store is None:
            self._store = _prefect.ledger_store()
        return self._store

    async def _astore_now(self) -> Any:
        if self._store is None:
            self._store = await _prefect.aledger_store()
        return self._store

    @staticmethod
    def _job_from(record: Any) -> JobRecord:
        result = record.result
        return result if isinstance(result, JobRecord) else JobRecord.model_validate(result)

    @staticmethod
    def _intent_from(record: Any) -> SubmissionIntent:
        return SubmissionIntent.model_validate(record.result)

    # -- storage steps, shared by submit and asubmit (blocking: asubmit runs them in a
    #    worker thread) ------------------------------------------------------------------

    def _prepare(self, store: Any, key: str, normalized: Any, attempt: int, holder: str) -> _Looked:
        """Take the submission's lock and look at what is recorded: the job (reused, or
        moved over from the pre-ledger cache), else an open intent of an earlier create
        (to reconcile), else a new intent, written before anything is sent."""
        store.acquire_lock(key, holder=holder)
        try:
            if store.exists(key):
                return _Looked(job=self._reused(self._job_from(store.read(key, holder=holder))))
            legacy = self.legacy_key(normalized, attempt)
            if store.exists(legacy):
                record = self._legacy(self._job_from(store.read(legacy, holder=holder)))
                return _Looked(job=self._record(store, key, holder, record))
            intent_key = self.intent_key(key)
            if store.exists(intent_key):
                intent = self._intent_from(store.read(intent_key, holder=holder))
                if intent.state == "sending":
                    return _Looked(open=intent)
            return _Looked(intent=self._intend(store, key, normalized, attempt, holder))
        except BaseException:
            store.release_lock(key, holder=holder)
            raise

    def _intend(
        self, store: Any, key: str, normalized: Any, attempt: int, holder: str
    ) -> SubmissionIntent:
        intent = self._new_intent(normalized, attempt)
        store.write(intent.model_dump(mode="json"), key=self.intent_key(key), holder=holder)
        return intent

    def _close(
        self, store: Any, key: str, holder: str, intent: SubmissionIntent, exc: Exception
    ) -> None:
        """Mark the intent `not_created`: the create surely made no job."""
        closed = intent.model_copy(update={"state": "not_created", "outcome": str(exc)})
        store.write(closed.model_dump(mode="json"), key=self.intent_key(key), holder=holder)

    @staticmethod
    def _record(store: Any, key: str, holder: str, record: JobRecord) -> JobRecord:
        store.write(record.model_dump(mode="json"), key=key, holder=holder)
        return record

    # -- sync ---------------------------------------------------------------------------

    def lookup(self, normalized: Any, attempt: int) -> JobRecord | None:
        """The job already recorded for this submission, if any (no lock, no network)."""
        store = self._store_now()
        key = self.key(normalized, attempt)
        return self._job_from(store.read(key)) if store.exists(key) else None

    def submit(self, client: Any, normalized: Any, family: Any, attempt: int) -> JobRecord:
        """The job of this submission: recorded, reconciled, or created now (paid once).

        Args:
            client: An open `VideoGenClient` made from the ledger's credentials.
            normalized: The request as its family validated it (`normalize_request`).
            family: Its model family.
            attempt: 0 for the first submission; N+1 to pay again on purpose.

        Raises:
            SubmissionUncertainError: A create of this submission may have made a job that
                cannot be found; nothing is sent. The message says how to pay again.
        """
        store = self._store_now()
        key = self.key(normalized, attempt)
        holder = new_holder()
        looked = self._prepare(store, key, normalized, attempt, holder)
        try:
            if looked.job is not None:
                return looked.job
            intent = looked.intent
            if intent is None:  # an earlier create's answer was never recorded
                found = self._reconcile(looked.open, self._list_jobs(client, looked.open))
                if found is not None:
                    return self._record(
                        store, key, holder, self._adopted(found, normalized, family, attempt)
                    )
                intent = self._intend(store, key, normalized, attempt, holder)
            try:
                job = client.create(normalized, idempotency_key=self.idempotency_key(key))
            except SubmissionUncertainError as exc:
                raise self._uncertain_now(exc, intent) from exc
            except VideoGenError as exc:  # the server surely made no job
                self._close(store, key, holder, intent, exc)
                raise
            record = self._record(
                store, key, holder, JobRecord.submitted(job, normalized, family, attempt)
            )
            self._log_submitted(record)
            return record
        finally:
            store.release_lock(key, holder=holder)

    def _list_jobs(self, client: Any, intent: SubmissionIntent) -> list[Any] | VideoGenError:
        jobs: list[Any] = []
        after = None
        try:
            for _ in range(RECONCILE_MAX_PAGES):
                page = client.list(after=after, limit=100, order="desc")
                jobs += page.data
                if not page.has_more or not page.data or _older_than_window(page.data, intent):
                    break
                after = page.last_id
        except VideoGenError as exc:
            return exc
        return jobs

    # -- async --------------------------------------------------------------------------

    async def alookup(self, normalized: Any, attempt: int) -> JobRecord | None:
        """Async twin of `lookup`."""
        store = await self._astore_now()
        key = self.key(normalized, attempt)
        return self._job_from(await store.aread(key)) if await store.aexists(key) else None

    async def asubmit(self, client: Any, normalized: Any, family: Any, attempt: int) -> JobRecord:
        """Async twin of `submit` (with an `AsyncVideoGenClient`)."""
        store = await self._astore_now()
        key = self.key(normalized, attempt)
        holder = new_holder()
        # The storage and lock work before and after the create each run in ONE worker
        # thread (a dozen hand-offs of the async store API cost more than the I/O itself).
        try:
            looked = await to_thread.run_sync(
                self._prepare, store, key, normalized, attempt, holder
            )
        except BaseException:  # cancelled while the thread ran on: it may hold the lock now
            with contextlib.suppress(Exception):
                if store.is_lock_holder(key, holder):
                    store.release_lock(key, holder=holder)
            raise
        try:
            if looked.job is not None:
                return looked.job
            intent = looked.intent
            if intent is None:  # an earlier create's answer was never recorded
                listed = await self._alist_jobs(client, looked.open)
                found = self._reconcile(looked.open, listed)
                if found is not None:
                    record = self._adopted(found, normalized, family, attempt)
                    return await to_thread.run_sync(self._record, store, key, holder, record)
                intent = await to_thread.run_sync(
                    self._intend, store, key, normalized, attempt, holder
                )
            try:
                job = await client.create(normalized, idempotency_key=self.idempotency_key(key))
            except SubmissionUncertainError as exc:
                raise self._uncertain_now(exc, intent) from exc
            except VideoGenError as exc:
                await to_thread.run_sync(self._close, store, key, holder, intent, exc)
                raise
            record = JobRecord.submitted(job, normalized, family, attempt)
            await to_thread.run_sync(self._record, store, key, holder, record)
            self._log_submitted(record)
            return record
        finally:
            store.release_lock(key, holder=holder)

    async def _alist_jobs(self, client: Any, intent: SubmissionIntent) -> list[Any] | VideoGenError:
        jobs: list[Any] = []
        after = None
        try:
            for _ in range(RECONCILE_MAX_PAGES):
                page = await client.list(after=after, limit=100, order="desc")
                jobs += page.data
                if not page.has_more or not page.data or _older_than_window(page.data, intent):
                    break
                after = page.last_id
        except VideoGenError as exc:
            return exc
        return jobs

    # -- shared decisions (no I/O) ------------------------------------------------------

    def _reconcile(self, intent: SubmissionIntent, listed: list[Any] | VideoGenError) -> Any | None:
        """The listed job that is this intent's, None when the list proves there is none.

        Raises:
            SubmissionUncertainError: The server cannot list jobs, or several match.
        """
        if isinstance(listed, VideoGenError):
            unsupported = isinstance(listed, NotFoundError) or (
                isinstance(listed, APIError) and listed.status_code in (404, 405, 501)
            )
            why = (
                "this server has no list route to look for it"
                if unsupported
                else f"looking for it failed ({listed})"
            )
            raise SubmissionUncertainError(self._open_intent_message(intent, why))
        matches = [job for job in listed if _matches(job, intent)]
        if len(matches) > 1:
            ids = ", ".join(job.id for job in matches)
            raise SubmissionUncertainError(
                self._open_intent_message(
                    intent, f"{len(matches)} listed jobs match it ({ids}); pick one by hand"
                )
            )
        if matches:
            get_logger().warning(
                "Reconciled video submission (%s, attempt %d, sent %s by %s pid %d): "
                "adopting job %s found with GET /videos; nothing was submitted again",
                intent.model,
                intent.attempt,
                intent.sent_at.isoformat(timespec="seconds"),
                intent.host,
                intent.pid,
                matches[0].id,
            )
            return matches[0]
        get_logger().warning(
            "A video submission (%s, attempt %d) sent %s had no recorded answer and the "
            "server lists no job for it: it made no job, submitting it now",
            intent.model,
            intent.attempt,
            intent.sent_at.isoformat(timespec="seconds"),
        )
        return None

    def _open_intent_message(self, intent: SubmissionIntent, why: str) -> str:
        prompt = intent.prompt if len(intent.prompt) <= 60 else intent.prompt[:57] + "..."
        return (
            f"A {intent.model} video submission ({prompt!r}, attempt {intent.attempt}) was "
            f"sent to {intent.base_url} at {intent.sent_at.isoformat(timespec='seconds')} by "
            f"{intent.host} pid {intent.pid}, and its answer was never recorded (the run "
            f"crashed or the answer was lost), so a paid job may exist; {why}. Nothing was "
            "sent now. Look for the job in the provider's console; to pay for a new job "
            f"deliberately, run again with attempt={intent.attempt + 1}."
        )

    def _uncertain_now(
        self, exc: SubmissionUncertainError, intent: SubmissionIntent
    ) -> SubmissionUncertainError:
        error = SubmissionUncertainError(
            f"{exc} The submission stays recorded as open: a rerun will not pay again (it "
            "looks for the job with the server's list route where there is one). To pay for "
            f"a new job deliberately, pass attempt={intent.attempt + 1}.",
            status_code=exc.status_code,
        )
        return error

    def _adopted(self, job: Any, normalized: Any, family: Any, attempt: int) -> JobRecord:
        return JobRecord.submitted(job, normalized, family, attempt)

    def _legacy(self, record: JobRecord) -> JobRecord:
        get_logger().log(
            self.level,
            "Reusing video job %s, recorded by an earlier prefect-videogen (same request and "
            "base_url, already paid); it is now in the submission ledger",
            record.job_id,
        )
        return record

    def _reused(self, record: JobRecord) -> JobRecord:
        get_logger().log(
            self.level, "Reusing video job %s (same request, already paid)", record.job_id
        )
        return record

    def _log_submitted(self, record: JobRecord) -> None:
        get_logger().log(
            self.level,
            "Submitted %s %s video job %s (attempt %d)",
            record.model,
            record.mode,
            record.job_id,
            record.attempt,
        )


def _window(intent: SubmissionIntent) -> tuple[float, float]:
    sent = intent.sent_at.timestamp()
    return sent - RECONCILE_BEFORE_SECONDS, sent + RECONCILE_AFTER_SECONDS


def _older_than_window(jobs: Iterable[Any], intent: SubmissionIntent) -> bool:
    start, _ = _window(intent)
    return any(job.created_at is not None and job.created_at < start for job in jobs)


def _matches(job: Any, intent: SubmissionIntent) -> bool:
    """Same model, same prompt (when the server echoes it), created around the intent."""
    if job.model and job.model != intent.model:
        return False
    if job.prompt is not None and job.prompt != intent.prompt:
        return False
    if job.created_at is None:
        return False
    start, end = _window(intent)
    return start <= job.created_at <= end
