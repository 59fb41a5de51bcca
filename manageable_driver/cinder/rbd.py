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

"""Cinder volume drivers for the images of an RBD pool.

:class:`RBDDriver` is Cinder's own ``RBDDriver`` with this library's
manage family (:class:`~.mixin.ManageableVolumesMixin`): create, delete,
extend, snapshots, clones, replication and exports are Cinder's, with
Cinder's options; listing, manage and unmanage are the library's. After a
manage it does what Cinder's RBD driver does after its own: a managed
volume gets the volume type's replication, multiattach and QoS settings
(Cinder's ``_setup_volume``), a managed snapshot is protected, as Cinder's
clones of it need::

    [ceph]
    volume_driver = manageable_driver.cinder.rbd.RBDDriver
    volume_backend_name = ceph
    rbd_pool = volumes
    rbd_user = cinder
    rbd_ceph_conf = /etc/ceph/ceph.conf

:class:`RBDManageableDriver` is manage-only (see :mod:`.base`)::

    [rbd-manage]
    volume_driver = manageable_driver.cinder.rbd.RBDManageableDriver
    volume_backend_name = rbd-manage
    rbd_pool = volumes
    rbd_user = cinder
    rbd_ceph_conf = /etc/ceph/ceph.conf
    # optional: a keyring other than the one ceph.conf names
    rbd_keyring_conf = /etc/ceph/ceph.client.cinder.keyring
    rados_connect_timeout = 30

The options are those of :mod:`manageable_driver.drivers.rbd`, named and
meant as Cinder's RBD driver names them, so an existing RBD backend
section works unchanged. cinder-volume must run on the system Python
that has python3-rados and python3-rbd, as Cinder's own RBD driver needs.
Imports Cinder: see :mod:`manageable_driver.cinder`.

Cinder's RBD driver registers the same options in ``[backend_defaults]``
when its module is imported; this module imports it first, so Cinder's
definitions are the ones registered, as :mod:`manageable_driver.cinder.lvm`
does for the LVM options.
"""

from __future__ import annotations

import importlib
from typing import Any

from manageable_driver.cinder import base
from manageable_driver.cinder import mixin
from manageable_driver.drivers import rbd

# After base, which explains a missing Cinder: Cinder's RBD driver, for
# its option registration (see above), and as the drop-in's base.
_cinder_rbd: Any = importlib.import_module("cinder.volume.drivers.rbd")
_cinder_exception: Any = importlib.import_module("cinder.exception")


class RBDDriver(mixin.ManageableVolumesMixin,
                _cinder_rbd.RBDDriver):  # type: ignore[misc]
    """Cinder's ``RBDDriver``; manage, unmanage and the manageable
    listings from the library's RBD backend."""

    manageable_backend_class = rbd.RBDDriver

    def manage_existing(self, volume: Any, existing_ref: Any) -> Any:
        """Adopt the image, then set it up for the volume's type as
        Cinder's RBD driver does; returns Cinder's model update.

        :raises ManageExistingVolumeTypeMismatch: the type asks for both
            replication and multiattach (Cinder refuses the pair).
        """
        if not self._is_valid_type(volume.volume_type):
            raise _cinder_exception.ManageExistingVolumeTypeMismatch(
                reason="Replication and Multiattach are mutually "
                       "exclusive; nothing was changed")
        super().manage_existing(volume, existing_ref)
        return self._setup_volume(volume)

    def manage_existing_snapshot(self, snapshot: Any,
                                 existing_ref: Any) -> Any:
        """Adopt the snapshot, then protect it as Cinder's RBD driver
        protects the snapshots it makes: its clones need that."""
        update = super().manage_existing_snapshot(snapshot, existing_ref)
        with _cinder_rbd.RBDVolumeProxy(self, snapshot.volume.name) as image:
            if not image.is_protected_snap(snapshot.name):
                image.protect_snap(snapshot.name)
        return update


class RBDManageableDriver(base.ManageableVolumeDriver):
    """Adopts, lists and releases the RBD images of ``rbd_pool``."""

    manageable_backend_class = rbd.RBDDriver
    # What Cinder's RBD driver reports.
    storage_protocol = "ceph"
