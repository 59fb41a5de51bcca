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

"""Our interfaces and conformance check against Cinder's, in Cinder's code.

The ABCs claim to mirror Cinder's interface classes and the check claims to
tell real drivers from pretenders: both are tried on the Cinder release
tox -e compat installs, so a drift on either side fails here.
"""

from __future__ import annotations

import importlib
import inspect
from typing import Any

from manageable_driver import interface
from tests.compat import base

# Our interface -> (Cinder module, class) it mirrors.
MIRRORS = {
    interface.VolumeManagementDriver:
        ("cinder.interface.volume_manageable_driver",
         "VolumeManagementDriver"),
    interface.VolumeListManageableDriver:
        ("cinder.interface.volume_manageable_driver",
         "VolumeListManageableDriver"),
    interface.VolumeSnapshotManagementDriver:
        ("cinder.interface.volume_snapshotmanagement_driver",
         "VolumeSnapshotManagementDriver"),
}


def _cinder_class(module: str, name: str) -> Any:
    return getattr(importlib.import_module(module), name)


def _cinder_methods(cls: type) -> dict[str, list[str]]:
    """Public methods Cinder's interface class declares, with parameters."""
    import cinder.interface.base as cinder_base
    methods = {}
    for klass in cls.__mro__:
        if klass in (cinder_base.CinderInterface, object):
            continue
        for name, func in vars(klass).items():
            if name.startswith("_") or not inspect.isfunction(func):
                continue
            params = list(inspect.signature(func).parameters)
            methods.setdefault(name, params[1:])
    return methods


def _our_methods(cls: type) -> dict[str, list[str]]:
    return {name: list(inspect.signature(getattr(cls, name)).parameters)[1:]
            for name in cls.__abstractmethods__}


class InterfaceMirrorTest(base.NeedsCinder):
    """Same method names, same parameter names in the same order."""

    def test_interfaces_match_cinder(self) -> None:
        for ours, (module, name) in MIRRORS.items():
            theirs = _cinder_methods(_cinder_class(module, name))
            self.assertTrue(theirs, "%s.%s declares no method: the "
                            "comparison would prove nothing" % (module, name))
            self.assertEqual(theirs, _our_methods(ours),
                             "%s drifted from %s.%s"
                             % (ours.__name__, module, name))


class InTreeDriverConformanceTest(base.NeedsCinder):
    """check_conformance agrees with what Cinder's own drivers implement."""

    def test_lvm_driver_conforms(self) -> None:
        from cinder.volume.drivers import lvm
        self.assertEqual(
            [], interface.check_conformance(lvm.LVMVolumeDriver,
                                            *interface.ALL_INTERFACES))
        self.assertTrue(interface.conforms(lvm.LVMVolumeDriver))

    def test_driver_without_get_size_is_reported(self) -> None:
        # Cinder 29's Fungible driver implements manage_existing but not
        # manage_existing_get_size, which Cinder's manager calls first.
        from cinder.volume.drivers.fungible import driver as fungible
        cls = fungible.FungibleDriver
        self.assertIsNotNone(inspect.getattr_static(cls, "manage_existing"))
        self.assertIsNone(inspect.getattr_static(
            cls, "manage_existing_get_size", None))
        self.assertIn("missing method manage_existing_get_size (from "
                      "VolumeManagementDriver)",
                      interface.check_conformance(
                          cls, interface.VolumeManagementDriver))

    def test_driver_without_snapshot_management_is_reported(self) -> None:
        from cinder.volume.drivers.ibm import gpfs
        problems = interface.check_conformance(
            gpfs.GPFSDriver, interface.VolumeSnapshotManagementDriver)
        self.assertEqual(
            ["missing method %s (from VolumeSnapshotManagementDriver)" % m
             for m in ("manage_existing_snapshot",
                       "manage_existing_snapshot_get_size",
                       "unmanage_snapshot")],
            problems)

    def test_base_driver_stubs_are_not_enough(self) -> None:
        from cinder.volume import driver
        problems = interface.check_conformance(driver.BaseVD)
        self.assertIn("missing method get_manageable_volumes (from "
                      "VolumeListManageableDriver)", problems)


class CinderVacuousCheckTest(base.NeedsCinder):
    """Cinder's __subclasshook__ accepts anything; ours does not."""

    def test_int_is_a_driver_to_cinder_but_not_to_us(self) -> None:
        for ours, (module, name) in MIRRORS.items():
            theirs = _cinder_class(module, name)
            self.assertTrue(issubclass(int, theirs),
                            "Cinder's %s now rejects int: its check was "
                            "fixed, update this test and the README" % name)
            self.assertFalse(interface.conforms(int, ours))
            self.assertEqual(
                sorted("missing method %s (from %s)"
                       % (m, _declaring(ours, m)) for m in
                       ours.__abstractmethods__),
                sorted(interface.check_conformance(int, ours)))

    def test_incomplete_driver_passes_cinder_check(self) -> None:
        from cinder.interface import volume_manageable_driver as vmd
        from cinder.volume.drivers.fungible import driver as fungible
        self.assertTrue(issubclass(fungible.FungibleDriver,
                                   vmd.VolumeManagementDriver))
        self.assertFalse(interface.conforms(
            fungible.FungibleDriver, interface.VolumeManagementDriver))


def _declaring(iface: type, method: str) -> str:
    # check_conformance names the interface it was checking; with a single
    # interface that is ``iface`` itself.
    return iface.__name__


class ExampleDriverConformanceTest(base.NeedsCinder):
    """The example Cinder drivers implement all three interfaces."""

    def test_examples_conform(self) -> None:
        from manageable_driver.cinder import file
        from manageable_driver.cinder import lvm
        for cls in (lvm.LVMManageableDriver, file.FileManageableDriver):
            self.assertEqual([], interface.check_conformance(cls), cls)
            # The exception-mapping wrapper keeps what Cinder checks.
            self.assertEqual(
                ["self", "volume", "existing_ref"],
                list(inspect.signature(cls.manage_existing).parameters))
