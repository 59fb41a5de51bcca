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
"""

from __future__ import annotations

from collections.abc import Iterator
import contextlib
import hashlib
import os
from typing import Any

from oslo_concurrency import lockutils


def lock_name(backend: str, obj: str) -> str:
    """Return a file-name-safe lock name for object ``obj`` of ``backend``.

    Hashed, so no backend or object name can escape the lock directory.
    """
    digest = hashlib.sha256(
        backend.encode("utf-8", "surrogateescape") + b"\0"
        + obj.encode("utf-8", "surrogateescape")).hexdigest()
    return "manageable-%s" % digest[:40]


class LockProvider:
    """Host-local external locks (oslo.concurrency ``lockutils``).

    :param lock_path: directory of the lock files; created when missing.
    """

    def __init__(self, lock_path: str) -> None:
        self.lock_path = lock_path

    @contextlib.contextmanager
    def lock(self, backend: str, obj: str) -> Iterator[None]:
        """Hold the lock of ``obj`` on ``backend`` for the with-block."""
        os.makedirs(self.lock_path, mode=0o700, exist_ok=True)
        with lockutils.lock(lock_name(backend, obj), external=True,
                            lock_path=self.lock_path):
            yield


def get_provider(configuration: Any) -> LockProvider:
    """Return the lock provider the driver's configuration asks for.

    :param configuration: a prepared driver configuration carrying
        ``manageable_lock_path``.
    """
    return LockProvider(configuration.manageable_lock_path)
