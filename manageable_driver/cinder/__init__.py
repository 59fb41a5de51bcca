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

"""Example Cinder volume drivers built on this library's backend drivers.

Point a backend section of cinder.conf at one of them::

    [lvm-manage]
    volume_driver = manageable_driver.cinder.lvm.LVMManageableDriver
    volume_group = cinder-volumes

They are the form a Cinder driver author copies: a Cinder ``VolumeDriver``
subclass that takes manage, unmanage and the manageable listings from a
:mod:`manageable_driver.drivers` backend (see :mod:`.base`).

The library never requires Cinder. This package imports nothing from it;
importing one of its driver modules (``manageable_driver.cinder.lvm``,
``manageable_driver.cinder.file``) without Cinder installed raises an
``ImportError`` that says so.
"""
