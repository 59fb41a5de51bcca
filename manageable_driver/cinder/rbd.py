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

"""Cinder volume driver: manage, unmanage and list the images of an RBD pool.

cinder.conf::

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

from manageable_driver.cinder import base
from manageable_driver.drivers import rbd

# After base, which explains a missing Cinder: Cinder's RBD driver, for
# its option registration (see above).
importlib.import_module("cinder.volume.drivers.rbd")


class RBDManageableDriver(base.ManageableVolumeDriver):
    """Adopts, lists and releases the RBD images of ``rbd_pool``."""

    backend_class = rbd.RBDDriver
    # What Cinder's RBD driver reports.
    storage_protocol = "ceph"
