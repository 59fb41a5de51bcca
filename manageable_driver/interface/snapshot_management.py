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

"""Contract of a driver that adopts and releases existing snapshots."""

from __future__ import annotations

import abc
from typing import Any


class VolumeSnapshotManagementDriver(abc.ABC):
    """A driver that can take existing backend snapshots under Cinder.

    Mirrors Cinder's ``cinder.interface.volume_snapshotmanagement_driver``.
    """

    @abc.abstractmethod
    def manage_existing_snapshot(self, snapshot: Any,
                                 existing_ref: Any) -> Any:
        """Adopt the backend snapshot ``existing_ref`` names as ``snapshot``.

        As :meth:`VolumeManagementDriver.manage_existing`, for a snapshot:
        the object must be a snapshot of a volume of this backend; it is
        renamed to ``snapshot['name']`` or recorded so it can be found.

        :param snapshot: the Cinder snapshot (object or dict) being created.
        :param existing_ref: a dict with ``source-name`` or ``source-id``.
        :returns: None, or a model update dict for the snapshot.
        :raises ManageExistingInvalidReference: the reference is malformed
            or names no snapshot on this backend.
        """

    @abc.abstractmethod
    def manage_existing_snapshot_get_size(self, snapshot: Any,
                                          existing_ref: Any) -> int:
        """Return the size, in GiB rounded up, of the snapshot to adopt.

        :param snapshot: the Cinder snapshot being created.
        :param existing_ref: the reference, as for
            :meth:`manage_existing_snapshot`.
        :raises ManageExistingInvalidReference: the reference is malformed
            or names no snapshot on this backend.
        """

    @abc.abstractmethod
    def unmanage_snapshot(self, snapshot: Any) -> None:
        """Release ``snapshot`` from Cinder; never deletes its data.

        :param snapshot: the Cinder snapshot being released.
        """
