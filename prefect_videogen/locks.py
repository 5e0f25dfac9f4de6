"""Lock managers that keep two runs of the same request from both submitting it.

`SubmissionLedger` takes a lock per submission key around "look for the job, else POST and
write it down". Locks follow Prefect's `LockManager` interface
(`prefect.locking.protocol.LockManager`), so another backend can take this one's place:
`prefect_videogen._prefect.submission_lock_manager()` is the one place that picks it, by the
`lock_manager` setting: `file` (the default, `FileLockManager`) or a Redis URL
(`RedisSubmissionLockManager`, over prefect-redis: `pip install "prefect-videogen[redis]"`).

`FileLockManager` keeps one small JSON file per key in a directory (the `lock_dir`
setting, default `$PREFECT_HOME/videogen-locks`):

    {"holder": "...", "host": "build-7", "pid": 4242, "acquired_at": "...", "expiration": "..."}

- A lock whose holder process is gone (same host, pid no longer alive) is taken over at
  once: a rerun after `kill -9` does not wait for the lock to expire.
- A lock from another host is trusted until its `expiration` (`lock_hold_seconds`, 60 s by
  default). While its holder lives, one thread per process renews every lock it holds
  (every third of the hold time), so a slow create never loses its lock, and a machine that
  crashed holding one blocks the others for at most `lock_hold_seconds`.
- Waiting on a live holder logs who holds the lock and for how long, every 10 seconds.
- The async acquire waits in a worker thread, so a contended lock never blocks the event
  loop the holder may need.

`FileLockManager` is a lock for processes on one host (or on hosts sharing the directory).
Workers on several machines need `RedisSubmissionLockManager` (every worker given the same
`PREFECT_INTEGRATIONS_VIDEOGEN_LOCK_MANAGER=redis://...`) and shared result storage (an
`S3Bucket` as `PREFECT_RESULTS_DEFAULT_STORAGE_BLOCK`); see README, "Several machines".
"""

from __future__ import annotations

import contextlib
import json
import os
import socket
import threading
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from functools import partial
from pathlib import Path
from typing import Any

from prefect.locking.protocol import LockManager

from prefect_videogen.reporting import get_logger

__all__ = ["FileLockManager", "LockInfo", "RedisSubmissionLockManager", "new_holder"]

#: Seconds between two "still waiting" log lines.
WAIT_LOG_EVERY = 10.0

_POLL = 0.05


def new_holder() -> str:
    """A holder name that says where it runs: `host:pid:thread:random`.

    Example:
        ```python
        from prefect_videogen.locks import new_holder

        print(new_holder())  # e.g. build-7:4242:140213:9f1c...
        ```
    """
    return f"{socket.gethostname()}:{os.getpid()}:{threading.get_ident()}:{uuid.uuid4().hex[:8]}"


class _Renewals:
    """One daemon thread per process that keeps the locks this process holds from expiring.

    A lock manager registers a lock when it is acquired and drops it when it is released.
    Each lock is renewed a third of its hold time after it was taken (or last renewed): its
    expiry is pushed a full hold time ahead (`renew_lock`). Only locks that are due are
    renewed, so taking a lock costs the thread nothing (most are released long before they
    are due). A renewal runs under the same in-process lock as `drop`, so once `drop`
    returns no renewal of that lock is under way: a renewal can never bring back a lock
    file that its holder just removed. A process that dies stops renewing, so its locks
    expire.
    """

    def __init__(self) -> None:
        # (id(manager), key, holder) -> (manager, hold seconds, when it is due (monotonic))
        self._held: dict[tuple[int, str, str], tuple[Any, float, float]] = {}
        self._guard = threading.Lock()
        self._wake = threading.Event()
        self._next_due = float("inf")
        self._thread: threading.Thread | None = None

    def hold(self, manager: Any, key: str, holder: str, hold: float | None) -> None:
        if not hold:
            return  # a lock that never expires needs no renewal
        due = time.monotonic() + hold / 3
        with self._guard:
            self._held[(id(manager), key, holder)] = (manager, hold, due)
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(
                    target=self._run, name="videogen-lock-renewal", daemon=True
                )
                self._thread.start()
            sooner = due < self._next_due
        if sooner:
            self._wake.set()  # due before the thread's next look: re-plan it

    def drop(self, manager: Any, key: str, holder: str) -> None:
        with self._guard:
            self._held.pop((id(manager), key, holder), None)

    def _run(self) -> None:
        while True:
            with self._guard:
                now = time.monotonic()
                due = [name for name, (_, _, at) in self._held.items() if at <= now]
                self._next_due = min((at for _, _, at in self._held.values()), default=now + 60)
                pause = self._next_due - now
            for name in due:
                self._renew(name)
            if not due:
                self._wake.wait(max(pause, 0.05))
                self._wake.clear()

    def _renew(self, name: tuple[int, str, str]) -> None:
        with self._guard:  # `drop` waits for this renewal; none starts after it
            if name not in self._held:
                return  # released meanwhile
            manager, hold, _ = self._held[name]
            _, key, holder = name
            try:
                renewed, next_in = manager.renew_lock(key, holder, hold), hold / 3
            except Exception:  # a transient Redis/disk error: try again a little later
                get_logger().debug("Could not renew the submission lock %s", key[:12])
                renewed, next_in = True, min(hold, 3.0) / 3
            if renewed:
                self._held[name] = (manager, hold, time.monotonic() + next_in)
            else:
                del self._held[name]


_renewals = _Renewals()


class LockInfo(dict):  # type: ignore[type-arg]
    """What a lock file says: holder, host, pid, acquired_at, expiration (ISO or None)."""

    @property
    def expired(self) -> bool:
        """Whether the lock's `expiration` has passed."""
        expiration = self.get("expiration")
        if not expiration:
            return False
        try:
            return datetime.fromisoformat(expiration) < datetime.now(UTC)
        except ValueError:
            return True

    @property
    def holder_is_dead(self) -> bool:
        """Whether the holder ran on this host and its process is gone."""
        if self.get("host") != socket.gethostname():
            return False
        pid = self.get("pid")
        if not isinstance(pid, int) or pid <= 0:
            return False
        return not _pid_alive(pid)

    def held_for(self) -> float:
        """Seconds since the lock was taken (0 when unknown)."""
        try:
            acquired = datetime.fromisoformat(self["acquired_at"])
        except (KeyError, TypeError, ValueError):
            return 0.0
        return max(0.0, (datetime.now(UTC) - acquired).total_seconds())

    def describe(self) -> str:
        """`host pid N` of the holder, for log lines."""
        return f"{self.get('host') or '?'} pid {self.get('pid') or '?'}"


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # alive, owned by another user
        return True
    except OSError:
        return True
    # A zombie (killed, not yet reaped by its parent) holds nothing any more.
    with contextlib.suppress(OSError, IndexError):
        stat = Path(f"/proc/{pid}/stat").read_text()
        if stat.rsplit(")", 1)[1].split()[0] == "Z":
            return False
    return True


class FileLockManager(LockManager):
    """Prefect `LockManager` over lock files, with dead-holder takeover and wait logs.

    Args:
        lock_files_directory: Where the lock files go (created when needed).
        hold_seconds: When a lock expires if its holder never releases it (a holder on
            another host that crashed); None: never.

    Example:
        ```python
        from pathlib import Path
        from prefect_videogen.locks import FileLockManager, new_holder

        locks = FileLockManager(Path("/tmp/videogen-locks"))
        holder = new_holder()
        assert locks.acquire_lock("abc", holder, acquire_timeout=5)
        locks.release_lock("abc", holder)
        ```
    """

    def __init__(self, lock_files_directory: Path, hold_seconds: float | None = 60.0) -> None:
        self.lock_files_directory = Path(lock_files_directory).expanduser().resolve()
        self.hold_seconds = hold_seconds

    # -- files --------------------------------------------------------------------------

    def _path(self, key: str) -> Path:
        return self.lock_files_directory / f"{key}.lock"

    def read_info(self, key: str) -> LockInfo | None:
        """The lock file's content, or None when the key is not locked.

        A file caught half-written counts as held (by an unknown holder) for a moment.
        """
        path = self._path(key)
        try:
            text = path.read_text()
        except FileNotFoundError:
            return None
        try:
            data = json.loads(text)
            if not isinstance(data, dict):
                raise ValueError
        except ValueError:
            try:
                age = time.time() - path.stat().st_mtime
            except FileNotFoundError:
                return None
            # Written by its creator right after creating it; if it stays broken, reclaim it.
            return LockInfo(holder="", host=None, pid=None, expiration=None, broken=age > 5)
        return LockInfo(data)

    def _try_create(self, key: str, holder: str, hold_timeout: float | None) -> bool:
        now = datetime.now(UTC)
        hold = self._hold(hold_timeout)
        info = {
            "holder": holder,
            "host": socket.gethostname(),
            "pid": os.getpid(),
            "acquired_at": now.isoformat(),
            "expiration": (now + timedelta(seconds=hold)).isoformat() if hold else None,
        }
        self.lock_files_directory.mkdir(parents=True, exist_ok=True)
        try:
            fd = os.open(self._path(key), os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644)
        except FileExistsError:
            return False
        with os.fdopen(fd, "w") as handle:
            handle.write(json.dumps(info))
        return True

    @contextlib.contextmanager
    def _guard(self, key: str) -> Iterator[None]:
        """Serialises takeovers of one key between processes (so two waiters cannot both
        remove a dead holder's file, the second removing the first one's new lock)."""
        try:
            import fcntl
        except ImportError:  # pragma: no cover - not POSIX
            yield
            return
        self.lock_files_directory.mkdir(parents=True, exist_ok=True)
        with open(self.lock_files_directory / f"{key}.guard", "a") as handle:
            fcntl.flock(handle, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(handle, fcntl.LOCK_UN)

    def _take_over_if_stale(self, key: str, seen: LockInfo) -> bool:
        """Remove the lock file if it still is the stale one `seen`; True if removed."""
        with self._guard(key):
            current = self.read_info(key)
            if current is None:
                return True
            if current.get("holder") != seen.get("holder"):
                return False  # someone else took it meanwhile
            self._path(key).unlink(missing_ok=True)
        why = (
            "its holder process is gone"
            if seen.holder_is_dead
            else "it expired"
            if seen.expired
            else "its file was never written"
        )
        get_logger().warning(
            "Took over the submission lock %s held by %s: %s", key[:12], seen.describe(), why
        )
        return True

    # -- LockManager --------------------------------------------------------------------

    def acquire_lock(
        self,
        key: str,
        holder: str,
        acquire_timeout: float | None = None,
        hold_timeout: float | None = None,
    ) -> bool:
        """Take the lock for `key`, waiting for a live holder (logged every 10 s).

        Returns:
            True once held; False if `acquire_timeout` seconds passed first.
        """
        started = time.monotonic()
        next_log = started + WAIT_LOG_EVERY
        while True:
            if self._try_create(key, holder, hold_timeout):
                _renewals.hold(self, key, holder, self._hold(hold_timeout))
                return True
            info = self.read_info(key)
            if info is None:
                continue  # released between our two looks
            if info.get("holder") == holder:
                return True  # re-entrant for the same holder
            stale = info.holder_is_dead or info.expired or info.get("broken")
            if stale and self._take_over_if_stale(key, info):
                continue
            now = time.monotonic()
            if acquire_timeout is not None and now - started >= acquire_timeout:
                return False
            if now >= next_log:
                get_logger().info(
                    "Waiting for the submission lock %s: held by %s for %.0f s "
                    "(another run is submitting the same request)",
                    key[:12],
                    info.describe(),
                    info.held_for(),
                )
                next_log = now + WAIT_LOG_EVERY
            time.sleep(_POLL)

    async def aacquire_lock(
        self,
        key: str,
        holder: str,
        acquire_timeout: float | None = None,
        hold_timeout: float | None = None,
    ) -> bool:
        """Async twin of `acquire_lock` (waits in a worker thread)."""
        import anyio

        return await anyio.to_thread.run_sync(
            partial(self.acquire_lock, key, holder, acquire_timeout, hold_timeout)
        )

    def release_lock(self, key: str, holder: str) -> None:
        """Release the lock; raises ValueError if `holder` does not hold it."""
        _renewals.drop(self, key, holder)
        info = self.read_info(key)
        if info is None or info.get("holder") != holder:
            raise ValueError(f"The lock {key} is not held by {holder}")
        self._path(key).unlink(missing_ok=True)

    def _hold(self, hold_timeout: float | None) -> float | None:
        return self.hold_seconds if hold_timeout is None else hold_timeout

    def renew_lock(self, key: str, holder: str, hold_seconds: float | None = None) -> bool:
        """Move the expiry of a lock `holder` holds `hold_seconds` ahead of now.

        The lock holder's process does this on its own (see the module docstring); it is
        public for other lock users. Returns False (and changes nothing) when `holder` does
        not hold the lock any more.
        """
        hold = self._hold(hold_seconds)
        with self._guard(key):
            info = self.read_info(key)
            if info is None or info.get("holder") != holder:
                return False
            if not hold:
                return True
            renewed = {
                **info,
                "expiration": (datetime.now(UTC) + timedelta(seconds=hold)).isoformat(),
            }
            temporary = self._path(key).with_name(f".{key}.{uuid.uuid4().hex[:8]}.renew")
            temporary.write_text(json.dumps(renewed))
            os.replace(temporary, self._path(key))
        return True

    def is_locked(self, key: str, use_cache: bool = False) -> bool:
        """Whether a live (or unexpired) holder has the lock."""
        info = self.read_info(key)
        if info is None:
            return False
        return not (info.holder_is_dead or info.expired)

    def is_lock_holder(self, key: str, holder: str) -> bool:
        """Whether `holder` holds the lock."""
        info = self.read_info(key)
        return info is not None and info.get("holder") == holder

    def wait_for_lock(self, key: str, timeout: float | None = None) -> bool:
        """Wait until nobody holds the lock; False if `timeout` passed first."""
        started = time.monotonic()
        while self.is_locked(key):
            if timeout is not None and time.monotonic() - started >= timeout:
                return False
            time.sleep(_POLL)
        return True

    async def await_for_lock(self, key: str, timeout: float | None = None) -> bool:
        """Async twin of `wait_for_lock`."""
        import anyio

        return await anyio.to_thread.run_sync(partial(self.wait_for_lock, key, timeout))

    def describe(self, key: str) -> dict[str, Any] | None:
        """The lock file of `key` as a dict (None when free), for tools and tests."""
        info = self.read_info(key)
        return dict(info) if info is not None else None


# -- Redis (several machines) -------------------------------------------------------------


def redis_lock_manager_class() -> type:
    """prefect-redis's `RedisLockManager`, or a `MissingExtraError` naming the extra."""
    from prefect_videogen._extras import require_extra

    require_extra("redis", "A Redis lock manager (the lock_manager setting)")
    from prefect_redis.locking import RedisLockManager

    return RedisLockManager


def _redis_base() -> type:
    try:
        return redis_lock_manager_class()
    except ImportError:  # the class below is still importable; building one says why
        return LockManager


class RedisSubmissionLockManager(_redis_base()):  # type: ignore[misc]
    """prefect-redis's `RedisLockManager` made safe for the submission ledger.

    Differences from the base class, each needed to never pay twice across machines:

    - A lock always expires (`hold_seconds`, the `lock_hold_seconds` setting) when its
      holder never releases it (a crashed machine), instead of blocking forever; a live
      holder's process renews it (`renew_lock`) so it never expires under a slow create.
    - `release_lock` and `is_lock_holder` ask Redis (the token is the holder name), so a
      lock taken with `aacquire_lock` can be released from sync code and any instance (in
      any process) can answer; the base class keeps the lock object in the instance and
      returns an un-awaited coroutine in that case, leaving the lock held.
    - Waiting on a live holder logs who holds it (holder names say `host:pid:...`) every
      10 seconds, like `FileLockManager`.

    Args:
        url: `redis://[user:password@]host:port/db` (or `rediss://`, `redis+sentinel://`).
        hold_seconds: When a lock left by a crashed holder expires.

    Example:
        ```python
        from prefect_videogen.locks import RedisSubmissionLockManager, new_holder

        locks = RedisSubmissionLockManager("redis://127.0.0.1:6379/0")
        holder = new_holder()
        assert locks.acquire_lock("abc", holder, acquire_timeout=5)
        locks.release_lock("abc", holder)
        ```
    """

    def __init__(self, url: str, hold_seconds: float | None = 60.0) -> None:
        redis_lock_manager_class()
        self.hold_seconds = hold_seconds
        super().__init__(connection_url=url)

    def __getstate__(self) -> dict[str, Any]:
        return {**super().__getstate__(), "hold_seconds": self.hold_seconds}

    def __repr__(self) -> str:  # never the URL: it may carry a password
        host = self.client.connection_pool.connection_kwargs.get("host")
        return f"RedisSubmissionLockManager(host={host!r})"

    def _hold(self, hold_timeout: float | None) -> float | None:
        return self.hold_seconds if hold_timeout is None else hold_timeout

    def holder_of(self, key: str) -> str | None:
        """The holder name of the lock on `key` (None when free)."""
        token = self.client.get(self._lock_name_for_key(key))
        return token.decode() if isinstance(token, bytes) else token

    def _log_wait(self, key: str, waited: float) -> None:
        get_logger().info(
            "Waiting for the submission lock %s: held by %s, waited %.0f s "
            "(another run, maybe on another machine, is submitting the same request)",
            key[:12],
            self.holder_of(key) or "?",
            waited,
        )

    def acquire_lock(
        self,
        key: str,
        holder: str,
        acquire_timeout: float | None = None,
        hold_timeout: float | None = None,
    ) -> bool:
        """Take the lock for `key` in Redis, waiting for a live holder (logged every 10 s).

        Returns:
            True once held; False if `acquire_timeout` seconds passed first.
        """
        started = time.monotonic()
        while True:
            waited = time.monotonic() - started
            step = WAIT_LOG_EVERY
            if acquire_timeout is not None:
                step = max(0.0, min(step, acquire_timeout - waited))
            if super().acquire_lock(key, holder, step, self._hold(hold_timeout)):
                _renewals.hold(self, key, holder, self._hold(hold_timeout))
                return True
            waited = time.monotonic() - started
            if acquire_timeout is not None and waited >= acquire_timeout:
                return False
            self._log_wait(key, waited)

    async def aacquire_lock(
        self,
        key: str,
        holder: str,
        acquire_timeout: float | None = None,
        hold_timeout: float | None = None,
    ) -> bool:
        """Async twin of `acquire_lock`."""
        started = time.monotonic()
        while True:
            waited = time.monotonic() - started
            step = WAIT_LOG_EVERY
            if acquire_timeout is not None:
                step = max(0.0, min(step, acquire_timeout - waited))
            if await super().aacquire_lock(key, holder, step, self._hold(hold_timeout)):
                _renewals.hold(self, key, holder, self._hold(hold_timeout))
                return True
            waited = time.monotonic() - started
            if acquire_timeout is not None and waited >= acquire_timeout:
                return False
            self._log_wait(key, waited)

    def release_lock(self, key: str, holder: str) -> None:
        """Release the lock; raises ValueError if another holder has it.

        A lock that already expired (nobody holds it) releases quietly.
        """
        from redis.exceptions import LockNotOwnedError
        from redis.lock import Lock

        _renewals.drop(self, key, holder)
        name = self._lock_name_for_key(key)
        self._locks.pop(name, None)
        try:
            Lock(self.client, name, thread_local=False).do_release(holder)
        except LockNotOwnedError:
            current = self.holder_of(key)
            if current is not None and current != holder:
                raise ValueError(f"The lock {key} is held by {current}, not by {holder}") from None

    def is_lock_holder(self, key: str, holder: str) -> bool:
        """Whether `holder` holds the lock (asked of Redis)."""
        return self.holder_of(key) == holder

    def renew_lock(self, key: str, holder: str, hold_seconds: float | None = None) -> bool:
        """Reset the expiry of a lock `holder` holds to `hold_seconds` from now (atomic in
        Redis); False when `holder` does not hold it any more. Done by the holder's process
        on its own, see `prefect_videogen.locks`."""
        from redis.exceptions import LockNotOwnedError
        from redis.lock import Lock

        hold = self._hold(hold_seconds)
        lock = Lock(self.client, self._lock_name_for_key(key), timeout=hold, thread_local=False)
        lock.local.token = holder
        if hold is None:
            return self.holder_of(key) == holder
        try:
            lock.reacquire()
        except LockNotOwnedError:
            return False
        return True
