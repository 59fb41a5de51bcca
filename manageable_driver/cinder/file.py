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

"""Cinder volume driver: manage, unmanage and list image files.

cinder.conf::

    [nfs-manage]
    volume_driver = manageable_driver.cinder.file.FileManageableDriver
    volume_backend_name = nfs-manage
    file_volume_dirs = /var/lib/cinder/mnt/export1

The options are those of :mod:`manageable_driver.drivers.file`. Imports
Cinder: see :mod:`manageable_driver.cinder`.

With ``coordination_backend_url`` set, the backend may be served by a Cinder
cluster (``cluster = ...`` in ``[DEFAULT]``, several cinder-volume on one
export): manage and unmanage then lock each image cluster-wide.
"""

from __future__ import annotations

import os
from typing import Any

from oslo_utils import units

from manageable_driver import exception
from manageable_driver.cinder import base
from manageable_driver.drivers import file


class FileManageableDriver(base.ManageableVolumeDriver):
    """Adopts, lists and releases the image files of ``file_volume_dirs``."""

    manageable_backend_class = file.FileDriver
    # Image directories are usually NFS exports, as for Cinder's NFS driver.
    storage_protocol = "NFS"
    shared_storage = True

    def capacity_gb(self) -> tuple[Any, Any]:
        """Total and free GiB of the filesystems holding the directories.

        A filesystem holding several of the directories counts once.
        """
        try:
            directories = self.backend.directories
        except exception.ManageableDriverException:
            # Not configured right: do_setup said so already.
            return "unknown", "unknown"
        seen = set()
        total = free = 0
        for directory in directories:
            try:
                st = os.statvfs(directory)
                dev = os.stat(directory).st_dev
            except OSError:
                return "unknown", "unknown"
            if dev in seen:
                continue
            seen.add(dev)
            total += st.f_blocks * st.f_frsize
            free += st.f_bavail * st.f_frsize
        return (round(total / units.Gi, 2), round(free / units.Gi, 2))
