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

"""Cinder volume drivers for the LVs of one VG.

:class:`LVMVolumeDriver` is Cinder's own ``LVMVolumeDriver`` with this
library's manage family (:class:`~.mixin.ManageableVolumesMixin`): create,
delete, extend, snapshots, clones and exports are Cinder's, with Cinder's
options; listing, manage and unmanage are the library's, and follow
Cinder's LVM names (a managed LV is renamed ``volume-<id>``, a managed
snapshot ``_snapshot-<id>``), so Cinder's own code works on an adopted
LV::

    [lvm]
    volume_driver = manageable_driver.cinder.lvm.LVMVolumeDriver
    volume_backend_name = lvm
    volume_group = cinder-volumes
    target_helper = tgtadm

:class:`LVMManageableDriver` is manage-only: it adopts, lists and releases
LVs and refuses to create any (see :mod:`.base`)::

    [lvm-manage]
    volume_driver = manageable_driver.cinder.lvm.LVMManageableDriver
    volume_backend_name = lvm-manage
    volume_group = cinder-volumes
    # rename (as Cinder's LVM driver) or tag
    lvm_manage_mode = rename
    lvm_root_helper = sudo cinder-rootwrap /etc/cinder/rootwrap.conf

The library's LVM options (:mod:`manageable_driver.drivers.lvm`) apply to
both; its LVM commands run through the library's runner with the driver's
``execute``, and through ``lvm_root_helper`` or, unset, Cinder's root
helper. Imports Cinder: see :mod:`manageable_driver.cinder`.

``volume_group`` and ``lvm_conf_file`` are also options of Cinder's own LVM
driver, which registers them in ``[backend_defaults]`` when its module is
imported, without tolerating an earlier, differently worded definition.
This module imports Cinder's LVM driver first, so Cinder's definitions
(same meaning, same defaults) are the ones registered and any later import
of it in the process still works.
"""

from __future__ import annotations

import importlib
from typing import Any

from manageable_driver.cinder import base
from manageable_driver.cinder import mixin
from manageable_driver.drivers import lvm

# After base, which explains a missing Cinder: Cinder's LVM driver, for its
# option registration (see above), and as the drop-in's base.
_CinderLVMVolumeDriver: Any = importlib.import_module(
    "cinder.volume.drivers.lvm").LVMVolumeDriver


class LVMVolumeDriver(mixin.ManageableVolumesMixin,
                      _CinderLVMVolumeDriver):  # type: ignore[misc]
    """Cinder's ``LVMVolumeDriver``; manage, unmanage and the manageable
    listings from the library's LVM backend."""

    manageable_backend_class = lvm.LVMDriver


class LVMManageableDriver(base.ManageableVolumeDriver):
    """Adopts, lists and releases the LVs of ``volume_group``."""

    manageable_backend_class = lvm.LVMDriver
    # What Cinder's LVM driver serves its LVs over by default.
    storage_protocol = "iSCSI"
