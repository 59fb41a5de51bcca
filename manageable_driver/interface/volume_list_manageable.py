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

"""Contract of a driver that lists what could be adopted."""

from __future__ import annotations

import abc
from typing import Any

from manageable_driver.interface.volume_management import (
    VolumeManagementDriver,
)


class VolumeListManageableDriver(VolumeManagementDriver):
    """A volume-management driver that also lists manageable objects.

    Mirrors Cinder's ``cinder.interface.volume_manageable_driver``.

    Both listing methods return a list of dicts with exactly these keys:

    - ``reference`` (dict of str): what to pass back to the manage call;
    - ``size`` (int or None): the backend size rounded up to whole GiB;
      None only when the backend could not read it;
    - ``safe_to_manage`` (bool): whether adopting it now is safe;
    - ``reason_not_safe`` (str or None): why not, when not safe;
    - ``cinder_id`` (str or None): the Cinder id, when already managed;
    - ``extra_info`` (dict of str, or None): backend details for people.
      Cinder's documentation calls this a string, but its
      ``ManageableVolume`` object only accepts a dict;
    - ``source_reference`` (dict of str, snapshots only): the reference of
      the volume the snapshot was taken from.

    Results are sorted and paged exactly as Cinder's
    ``paginate_entries_list`` does; see :mod:`manageable_driver.pagination`.
    """

    @abc.abstractmethod
    def get_manageable_volumes(self, cinder_volumes: Any, marker: Any,
                               limit: Any, offset: Any, sort_keys: Any,
                               sort_dirs: Any) -> list[dict[str, Any]]:
        """Return one page of the volumes this backend could adopt.

        :param cinder_volumes: the volumes Cinder already manages on this
            host; a listed object that is one of them is reported not safe,
            with its ``cinder_id``.
        :param marker: the reference of the last entry of the previous page;
            the page starts after it, in sorted order.
        :param limit: the most entries to return.
        :param offset: how many entries to skip after the marker.
        :param sort_keys: keys to sort by, ``reference`` (alias
            ``identifier``) and ``size``.
        :param sort_dirs: ``asc`` or ``desc`` for each sort key.
        :raises InvalidInput: a sort key, direction, marker, limit or offset
            is not valid.
        """

    @abc.abstractmethod
    def get_manageable_snapshots(self, cinder_snapshots: Any, marker: Any,
                                 limit: Any, offset: Any, sort_keys: Any,
                                 sort_dirs: Any) -> list[dict[str, Any]]:
        """Return one page of the snapshots this backend could adopt.

        Parameters and result as :meth:`get_manageable_volumes`, with
        ``cinder_snapshots`` the snapshots Cinder already manages and each
        entry carrying ``source_reference``.

        :raises InvalidInput: a paging argument is not valid.
        """
