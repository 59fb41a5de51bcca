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

"""Contract of a driver that adopts and releases existing volumes."""

from __future__ import annotations

import abc
from typing import Any


class VolumeManagementDriver(abc.ABC):
    """A driver that can take existing backend volumes under Cinder.

    Mirrors Cinder's ``cinder.interface.volume_management_driver``: same
    method names, parameter names and order.
    """

    @abc.abstractmethod
    def manage_existing(self, volume: Any, existing_ref: Any) -> Any:
        """Adopt the backend object ``existing_ref`` names as ``volume``.

        The driver either renames the object to ``volume['name']`` (the name
        every other driver call uses to find it) or records, on the object
        or elsewhere on the backend, how to find it from the volume.

        Before changing anything the driver checks that the object exists,
        is safe to take (not in use, not already managed) and agrees with
        the volume type; on any refusal the backend is left as it was.

        :param volume: the Cinder volume (object or dict) being created;
            its ``name`` and ``id`` are read.
        :param existing_ref: the API request's reference, a dict whose keys
            (``source-name``, ``source-id``) the driver interprets.
        :returns: None, or a model update dict for the volume.
        :raises ManageExistingInvalidReference: the reference is malformed
            or names no object on this backend.
        :raises ManageExistingVolumeTypeMismatch: the object cannot be what
            the volume type asks for.
        """

    @abc.abstractmethod
    def manage_existing_get_size(self, volume: Any, existing_ref: Any) -> int:
        """Return the size, in GiB, the adopted volume will have.

        The backend's exact size rounded *up* to the next whole GiB, so the
        volume is never smaller than its data.

        :param volume: the Cinder volume being created.
        :param existing_ref: the reference, as for :meth:`manage_existing`.
        :returns: an int number of GiB.
        :raises ManageExistingInvalidReference: the reference is malformed
            or names no object on this backend.
        """

    @abc.abstractmethod
    def unmanage(self, volume: Any) -> None:
        """Release ``volume`` from Cinder, keeping the backend object.

        Never deletes or changes the data. A driver that recorded how to find
        the object (a tag, an index entry) may remove that record here.

        :param volume: the Cinder volume being released.
        """
