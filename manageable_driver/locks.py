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

"""Per-object locks that serialise manage and unmanage.

Both drivers take :meth:`LockProvider.lock` around every state change of a
backend object, named after the backend and the object's stable identity
(VG + LV uuid, directory + inode), so a rename cannot dodge it.

:func:`get_provider` is the single entry point and picks one of two
providers from the driver's configuration:

* :class:`LocalLockProvider` (``coordination_backend_url`` unset): an
  oslo.concurrency external lock, i.e. a thread semaphore plus a file lock in
  ``manageable_lock_path``. It serialises the processes of one host only.
* :class:`~manageable_driver.coordination.CoordinatedLockProvider`
  (``coordination_backend_url`` set): a tooz distributed lock of the same
  name, so the ``cinder-volume`` services of an active-active cluster take
  turns on an object; tooz is imported only then.

Either provider gives up after ``manageable_lock_timeout`` seconds with
:class:`~manageable_driver.exception.LockTimeout`, before the with-block
runs, so a manage that cannot lock changes nothing.
"""

from __future__ import annotations

from collections.abc import Iterator
import contextlib
import hashlib
import os
import time
from typing import Any

from oslo_concurrency import lockutils
from oslo_log import log as logging

from manageable_driver import exception

LOG = logging.getLogger(__name__)

LOCK_PREFIX = "manageable-"

DEFAULT_TIMEOUT = 60.0


def lock_name(backend: str, obj: str) -> str:
    """Return a file-name-safe lock name for object ``obj`` of ``backend``.

    Hashed, so no backend or object name can escape the lock directory or a
    coordination backend's key space. The backend name is length-prefixed
    so that no split of one string into (backend, object) hashes like
    another.

    :param backend: the backend's name (VG name, export directory).
    :param obj: the object's stable identity (LV uuid, inode number).
    """
    backend_b = backend.encode("utf-8", "surrogateescape")
    obj_b = obj.encode("utf-8", "surrogateescape")
    digest = hashlib.sha256(
        b"%d:" % len(backend_b) + backend_b + obj_b).hexdigest()
    return LOCK_PREFIX + digest[:40]


def describe(backend: str, obj: str, name: str) -> str:
    # The lock name is a hash: say which object it stands for.
    return "object %s of backend %s (lock %s)" % (obj, backend, name)


class LockProvider:
    """What the drivers use: a context manager per backend object."""

    timeout: float

    def lock(self, backend: str, obj: str
             ) -> contextlib.AbstractContextManager[None]:
        """Hold the lock of ``obj`` on ``backend`` for the with-block.

        :param backend: the backend's name.
        :param obj: the object's stable identity.
        :raises LockTimeout: when the lock is not free within ``timeout``
            seconds; the with-block has not run.
        :raises CoordinationError: when the coordination backend cannot be
            reached; the with-block has not run.
        """
        raise NotImplementedError


class LocalLockProvider(LockProvider):
    """Host-local external locks (oslo.concurrency ``lockutils``).

    The same semaphore and lock file as ``lockutils.lock(name,
    external=True, lock_path=lock_path)``, so code holding that lock excludes
    this one, but acquired with a timeout, which ``lockutils.lock`` lacks.

    :param lock_path: directory of the lock files; created when missing.
    :param timeout: seconds to wait for the lock.
    """

    def __init__(self, lock_path: str,
                 timeout: float = DEFAULT_TIMEOUT) -> None:
        self.lock_path = lock_path
        self.timeout = timeout

    @contextlib.contextmanager
    def lock(self, backend: str, obj: str) -> Iterator[None]:
        name = lock_name(backend, obj)
        try:
            os.makedirs(self.lock_path, mode=0o700, exist_ok=True)
        except OSError as exc:
            raise exception.VolumeBackendAPIException(
                data="cannot use lock directory %s: %s"
                     % (self.lock_path, exc.strerror or exc))
        deadline = time.monotonic() + self.timeout
        semaphore = lockutils.internal_lock(name)
        if not semaphore.acquire(timeout=self.timeout):
            raise exception.LockTimeout(name=describe(backend, obj, name),
                                        timeout=self.timeout)
        try:
            file_lock = lockutils.external_lock(name,
                                                lock_path=self.lock_path)
            remaining = max(0.0, deadline - time.monotonic())
            try:
                acquired = file_lock.acquire(timeout=remaining)
            except OSError as exc:
                raise exception.VolumeBackendAPIException(
                    data="cannot take the lock of %s in %s: %s"
                         % (describe(backend, obj, name), self.lock_path,
                            exc.strerror or exc))
            if not acquired:
                raise exception.LockTimeout(
                    name=describe(backend, obj, name),
                    timeout=self.timeout)
            LOG.debug("Locked %(what)s", {
                "what": describe(backend, obj, name)})
            try:
                yield
            finally:
                file_lock.release()
        finally:
            semaphore.release()


class ConfiguredLockProvider(LockProvider):
    """The provider a driver's configuration asks for, chosen per lock.

    The options are read at every :meth:`lock` call, as drivers read their
    other options, so a value set after the driver was built applies.

    :param configuration: a prepared driver configuration.
    """

    def __init__(self, configuration: Any) -> None:
        self.configuration = configuration

    def select(self) -> LockProvider:
        """Return the provider the configuration asks for right now."""
        timeout = self.configuration.safe_get("manageable_lock_timeout")
        if timeout is None:
            timeout = DEFAULT_TIMEOUT
        url = self.configuration.safe_get("coordination_backend_url")
        if url:
            # Only a cluster needs tooz.
            from manageable_driver import coordination
            return coordination.CoordinatedLockProvider(url, timeout)
        return LocalLockProvider(self.configuration.manageable_lock_path,
                                 timeout)

    @property
    def timeout(self) -> float:  # type: ignore[override]
        return self.select().timeout

    def lock(self, backend: str, obj: str
             ) -> contextlib.AbstractContextManager[None]:
        return self.select().lock(backend, obj)


def get_provider(configuration: Any) -> LockProvider:
    """Return the lock provider of a driver's configuration.

    :class:`~manageable_driver.coordination.CoordinatedLockProvider` when
    ``coordination_backend_url`` is set, :class:`LocalLockProvider` in
    ``manageable_lock_path`` otherwise; both wait
    ``manageable_lock_timeout`` seconds. Chosen at each lock call (see
    :class:`ConfiguredLockProvider`).

    :param configuration: a prepared driver configuration carrying
        ``manageable_lock_path`` and, when registered,
        ``manageable_lock_timeout`` and ``coordination_backend_url``.
    """
    return ConfiguredLockProvider(configuration)
