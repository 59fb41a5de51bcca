# Licensed under the Apache License, Version 2.0 (the "License"); you may
# not use this file except in compliance with the License. You may obtain
# a copy of the License at
#
#      http://www.apache.org/licenses/LICENSE-2.0
#
# Unless required by applicable law or agreed to in writing, software
# distributed under the License is distributed on an "AS IS" BASIS, WITHOUT
# WARRANTIES OR CONDITIONS OF ANY KIND, either express or implied. See the
# License for the specific language governing permissions and limitations
# under the License.

"""Cluster-wide locks through a tooz coordination backend.

The provider :func:`manageable_driver.locks.get_provider` picks when
``coordination_backend_url`` is set: a tooz distributed lock named as the
host-local one, so the ``cinder-volume`` services of an active-active
cluster take turns on an object. tooz is imported only here, only then
(``pip install manageable-driver[cluster]``). Every tooz call is bounded in
time: a lost coordinator fails a manage in about its lock timeout.
"""

from __future__ import annotations

import atexit
from collections.abc import Callable
from collections.abc import Iterator
import contextlib
import os
import socket
import sys
import threading
import time
from typing import Any
import urllib.parse
import uuid

from oslo_log import log as logging

from manageable_driver import exception
from manageable_driver.locks import DEFAULT_TIMEOUT
from manageable_driver.locks import LockProvider
from manageable_driver.locks import describe
from manageable_driver.locks import lock_name

LOG = logging.getLogger(__name__)


def redact_url(url: str) -> str:
    """Return ``url`` with any password replaced by ``***``.

    :param url: a coordination backend URL, as configured.
    """
    parts = urllib.parse.urlsplit(url)
    if parts.password is None:
        return url
    netloc = "%s:***@%s" % (parts.username or "",
                            parts.netloc.rpartition("@")[2])
    return urllib.parse.urlunsplit(parts._replace(netloc=netloc))


# Seconds a coordination backend may take to answer, on top of the lock
# wait: tooz and redis-py retry a refused connection for minutes (measured:
# 59 s for tooz's start() alone against a closed port), and a stopped
# coordinator must fail a manage in about its lock timeout, not in minutes.
COORDINATOR_GRACE = 5.0


class _Late(Exception):
    """A bounded call did not return in time (it goes on in its thread)."""


def _bounded(call: Callable[[], Any], seconds: float,
             undo: Callable[[Any], object] | None = None) -> Any:
    """Return ``call()``, run in a thread, or raise _Late after ``seconds``.

    The thread of a late call is left to finish; when it then returns a
    result, ``undo(result)`` runs there (e.g. release a late lock), so that
    nothing a failed manage asked for stays behind.
    """
    box: dict[str, Any] = {}
    guard = threading.Lock()
    done = threading.Event()

    def run() -> None:
        try:
            value = call()
        except BaseException as exc:  # handed to the caller
            with guard:
                box["error"] = exc
        else:
            with guard:
                box["value"] = value
                late = box.get("late", False)
            if late and undo is not None:
                try:
                    undo(value)
                except Exception:  # nobody is left to tell but the log
                    LOG.exception("Could not undo a late coordinator call")
        done.set()

    threading.Thread(target=run, daemon=True,
                     name="manageable-coordinator-call").start()
    done.wait(seconds)
    with guard:
        if "error" in box:
            raise box["error"]
        if "value" not in box:
            box["late"] = True
            raise _Late()
        return box["value"]


class _Coordinator:
    """One tooz coordinator per backend URL and process, started lazily.

    Its member id names host and process, so every ``cinder-volume`` (and
    every worker process) is its own member. The heartbeat thread keeps the
    tooz session, and with it every lock held, alive; when the process dies
    the locks expire after the backend's lock lifetime.
    """

    def __init__(self, url: str) -> None:
        self.url = url
        self.member_id = ("manageable-driver-%s-%d-%s" % (
            socket.gethostname(), os.getpid(),
            uuid.uuid4().hex[:8])).encode("utf-8")
        self._driver: Any = None
        self._guard = threading.Lock()

    def error(self, what: str, reason: object
              ) -> exception.CoordinationError:
        """Return the error that reports ``reason`` while locking ``what``."""
        return exception.CoordinationError(url=redact_url(self.url),
                                           name=what, reason=reason)

    def get_lock(self, name: str, what: str, seconds: float) -> Any:
        """Return tooz's lock ``name``, starting the coordinator if needed.

        :param name: the lock name.
        :param what: the locked object, for error messages.
        :param seconds: how long starting the coordinator may take.
        :raises CoordinationError: tooz missing, or backend unreachable.
        """
        if not self._guard.acquire(timeout=seconds):
            raise self.error(what, "another thread is still starting the "
                             "coordinator after %s s" % seconds)
        try:
            if self._driver is None:
                self._driver = self._start(what, seconds)
            driver = self._driver
        finally:
            self._guard.release()
        try:
            return driver.get_lock(name.encode("ascii"))
        except Exception as exc:
            if not _is_tooz_error(exc):
                raise
            raise self.error(what, exc)

    def _start(self, what: str, seconds: float) -> Any:
        try:
            # Imported here: tooz is an optional dependency (the extra
            # 'cluster'), needed only when a coordination URL is set.
            from tooz import coordination
        except ImportError as exc:
            raise self.error(
                what, "tooz is not installed (%s); install "
                "manageable-driver[cluster]" % exc)
        try:
            driver = coordination.get_coordinator(self.url, self.member_id)
            _bounded(lambda: driver.start(start_heart=True), seconds,
                     undo=lambda _result: _stop_driver(driver))
        except _Late:
            raise self.error(what, "no answer within %s s" % seconds)
        except Exception as exc:
            # stevedore reports an unknown URL scheme as a RuntimeError, a
            # driver whose client library is missing as an ImportError.
            if not (_is_tooz_error(exc)
                    or isinstance(exc, (ImportError, RuntimeError))):
                raise
            raise self.error(what, exc)
        LOG.debug("Started coordinator %(member)s on %(url)s", {
            "member": self.member_id, "url": redact_url(self.url)})
        return driver

    def stop(self) -> None:
        """Stop the coordinator: release its locks and end its session."""
        with self._guard:
            driver, self._driver = self._driver, None
        if driver is None:
            return
        try:
            _bounded(lambda: _stop_driver(driver), COORDINATOR_GRACE)
        except _Late:
            # tooz waits for its heartbeat thread, which retries a lost
            # backend for ever; the session expires there on its own.
            LOG.warning("Coordinator %(member)s did not stop within "
                        "%(sec)s s", {"member": self.member_id,
                                      "sec": COORDINATOR_GRACE})


def _stop_driver(driver: Any) -> None:
    try:
        driver.stop()
    except Exception as exc:
        if not _is_tooz_error(exc):
            raise
        # The backend is gone: the session expires there on its own.
        LOG.warning("Could not stop a coordinator: %(exc)s", {"exc": exc})


def _is_tooz_error(exc: BaseException) -> bool:
    # tooz is optional, so its base class is looked up, not imported.
    tooz = sys.modules.get("tooz")
    return tooz is not None and isinstance(exc, tooz.ToozError)


class CoordinatedLockProvider(LockProvider):
    """Cluster-wide locks through a tooz coordination backend.

    A lock call returns or fails within ``timeout`` plus
    :data:`COORDINATOR_GRACE` seconds, however the backend behaves.

    :param url: the tooz backend URL (``coordination_backend_url``).
    :param timeout: seconds to wait for the lock.
    """

    def __init__(self, url: str, timeout: float = DEFAULT_TIMEOUT) -> None:
        self.url = url
        self.timeout = timeout
        self._coordinator = _coordinator(url)

    @contextlib.contextmanager
    def lock(self, backend: str, obj: str) -> Iterator[None]:
        name = lock_name(backend, obj)
        what = describe(backend, obj, name)
        deadline = time.monotonic() + self.timeout + COORDINATOR_GRACE
        tooz_lock = self._coordinator.get_lock(
            name, what, self.timeout + COORDINATOR_GRACE)
        remaining = max(0.0, deadline - time.monotonic())

        def release_late(acquired: bool) -> None:
            if acquired:
                self._release(tooz_lock, what)

        try:
            # A float 'blocking' is tooz's wait limit in seconds.
            acquired = _bounded(
                lambda: tooz_lock.acquire(blocking=float(self.timeout)),
                remaining, undo=release_late)
        except _Late:
            raise self._coordinator.error(
                what, "no answer within %.1f s" % remaining)
        except Exception as exc:
            if not _is_tooz_error(exc):
                raise
            raise self._coordinator.error(what, exc)
        if not acquired:
            raise exception.LockTimeout(name=what, timeout=self.timeout)
        LOG.debug("Locked %(what)s through %(url)s", {
            "what": what, "url": redact_url(self.url)})
        try:
            yield
        finally:
            self._release(tooz_lock, what)

    def _release(self, tooz_lock: Any, what: str) -> None:
        # The with-block's change is made by now; a failed release must not
        # turn it into an error, nor hang. The lock expires on the backend.
        try:
            released = _bounded(tooz_lock.release, COORDINATOR_GRACE)
        except _Late:
            LOG.error("Could not release %(what)s through %(url)s within "
                      "%(sec)s s; it expires on the coordination backend",
                      {"what": what, "url": redact_url(self.url),
                       "sec": COORDINATOR_GRACE})
            return
        except Exception as exc:
            if not _is_tooz_error(exc):
                raise
            LOG.error("Could not release %(what)s through %(url)s; it "
                      "expires on the coordination backend: %(exc)s",
                      {"what": what, "url": redact_url(self.url),
                       "exc": exc})
            return
        if not released:
            # The lock had expired while held (heartbeats failed): another
            # host may have locked the object meanwhile.
            LOG.error("Lock of %(what)s had expired on %(url)s before it "
                      "was released; exclusive access was not guaranteed",
                      {"what": what, "url": redact_url(self.url)})


_coordinators: dict[str, _Coordinator] = {}
_coordinators_guard = threading.Lock()


def _coordinator(url: str) -> _Coordinator:
    # Drivers call get_provider() around every manage: share one
    # coordinator (one connection, one heartbeat thread) per URL.
    with _coordinators_guard:
        coordinator = _coordinators.get(url)
        if coordinator is None:
            coordinator = _coordinators[url] = _Coordinator(url)
        return coordinator


def _forget_coordinators() -> None:
    # A forked child has the parent's connections but not its heartbeat
    # thread: it must start its own coordinator, under its own member id.
    global _coordinators_guard
    _coordinators.clear()
    _coordinators_guard = threading.Lock()


def stop_coordinators() -> None:
    """Stop every coordinator this process started (also run at exit)."""
    with _coordinators_guard:
        coordinators = list(_coordinators.values())
        _coordinators.clear()
    for coordinator in coordinators:
        coordinator.stop()


os.register_at_fork(after_in_child=_forget_coordinators)
atexit.register(stop_coordinators)
