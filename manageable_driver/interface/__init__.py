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

"""Abstract interfaces mirroring Cinder's manage/unmanage driver interfaces.

Subclass them to get ``TypeError`` on instantiation when a method is
missing; run :func:`check_conformance` on any class, ours or not, to see
every missing method and every signature that differs from Cinder's.
"""

from manageable_driver.interface.conformance import check_conformance
from manageable_driver.interface.conformance import conforms
from manageable_driver.interface.snapshot_management import (
    VolumeSnapshotManagementDriver,
)
from manageable_driver.interface.volume_list_manageable import (
    VolumeListManageableDriver,
)
from manageable_driver.interface.volume_management import (
    VolumeManagementDriver,
)

ALL_INTERFACES = (VolumeManagementDriver, VolumeListManageableDriver,
                  VolumeSnapshotManagementDriver)

__all__ = [
    "ALL_INTERFACES",
    "VolumeListManageableDriver",
    "VolumeManagementDriver",
    "VolumeSnapshotManagementDriver",
    "check_conformance",
    "conforms",
]
