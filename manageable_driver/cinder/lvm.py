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

"""Cinder volume driver: manage, unmanage and list the LVs of one VG.

cinder.conf::

    [lvm-manage]
    volume_driver = manageable_driver.cinder.lvm.LVMManageableDriver
    volume_backend_name = lvm-manage
    volume_group = cinder-volumes
    # rename (as Cinder's LVM driver) or tag
    lvm_manage_mode = rename
    lvm_root_helper = sudo cinder-rootwrap /etc/cinder/rootwrap.conf

The options are those of :mod:`manageable_driver.drivers.lvm`; LVM commands
run through the library's runner with ``lvm_root_helper``, not through
Cinder's ``execute``. Imports Cinder: see :mod:`manageable_driver.cinder`.

``volume_group`` and ``lvm_conf_file`` are also options of Cinder's own LVM
driver, which registers them in ``[backend_defaults]`` when its module is
imported, without tolerating an earlier, differently worded definition.
This module imports Cinder's LVM driver first, so Cinder's definitions
(same meaning, same defaults) are the ones registered and any later import
of it in the process still works.
"""

from __future__ import annotations

import importlib

from manageable_driver.cinder import base
from manageable_driver.drivers import lvm

# After base, which explains a missing Cinder: Cinder's LVM driver, for its
# option registration (see above).
importlib.import_module("cinder.volume.drivers.lvm")


class LVMManageableDriver(base.ManageableVolumeDriver):
    """Adopts, lists and releases the LVs of ``volume_group``."""

    backend_class = lvm.LVMDriver
    # What Cinder's LVM driver serves its LVs over by default.
    storage_protocol = "iSCSI"
