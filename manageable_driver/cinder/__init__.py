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

"""Cinder volume drivers built on this library's backend drivers.

:mod:`.mixin` gives any Cinder driver the library's manage family
(``class MyDriver(ManageableVolumesMixin, SomeCinderDriver)``). The
drop-ins are Cinder's own drivers with it, every other behaviour and
option Cinder's: point a backend section of cinder.conf at one of them::

    [lvm]
    volume_driver = manageable_driver.cinder.lvm.LVMVolumeDriver
    volume_group = cinder-volumes

(``manageable_driver.cinder.nfs.NfsDriver``,
``manageable_driver.cinder.rbd.RBDDriver`` likewise). The manage-only
drivers of :mod:`.base` (``LVMManageableDriver``, ``FileManageableDriver``,
``RBDManageableDriver``) adopt, list and release storage and create none.

The library never requires Cinder. This package imports nothing from it;
importing one of its driver modules (``manageable_driver.cinder.lvm``,
``.nfs``, ``.mixin`` ...) without Cinder installed raises an
``ImportError`` that says so.
"""
