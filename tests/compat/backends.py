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

"""Real backends for the compat tests, configured as cinder.conf would.

An LVM volume group on a loop device (the functional tests' fixture) and a
directory of real qemu-img images, each behind the example Cinder driver
of :mod:`manageable_driver.cinder`, in Cinder's ``[backend_defaults]``.
"""

from __future__ import annotations

import os
import subprocess
from typing import Any

import fixtures

from manageable_driver import opts
from tests.compat import base
from tests.functional import lvm_fixtures

LVM_DRIVER = "manageable_driver.cinder.lvm.LVMManageableDriver"
FILE_DRIVER = "manageable_driver.cinder.file.FileManageableDriver"
SHARED_GROUP = "backend_defaults"

# LVs of the test VG: 1 GiB exactly, 1,028 MiB (2 GiB rounded up), and a
# classic snapshot of a 40 MiB origin.
LVM_LAYOUT = [
    lvm_fixtures.LV("plain", 256),
    lvm_fixtures.LV("odd", 257),
    lvm_fixtures.LV("origin", 10),
    lvm_fixtures.LV("snap1", 2, kind="snapshot", origin="origin"),
    # Recorded as managed by its own tag: listed with cinder_id and a
    # reason_not_safe.
    lvm_fixtures.LV("tagged", 3, tags=(
        "cinder-volume-id=%s" % lvm_fixtures.TAGGED_ID,)),
]

# Images of the test directory: name -> (format, virtual size, backing
# file). base.qcow2, the backing file of top.qcow2, lists as a snapshot.
IMAGES = {
    "raw1g.img": ("raw", "1G", None),
    "odd.qcow2": ("qcow2", "1028M", None),
    "base.qcow2": ("qcow2", "64M", None),
    "top.qcow2": ("qcow2", "64M", "base.qcow2"),
}


def register_backend_options(backend_opts: list[Any]) -> None:
    """Register the driver's options in Cinder's ``[backend_defaults]``.

    Through Cinder's own Configuration, which ignores an option already
    registered (Cinder's LVM driver registers ``volume_group`` and
    ``lvm_conf_file`` there too), so the test can set them before the
    volume service builds the driver.
    """
    from cinder.volume import configuration
    configuration.Configuration(opts.common_opts + backend_opts,
                                config_group=SHARED_GROUP)


def lvm_backend(test: base.CinderTestCase,
                size_gib: int = 4) -> lvm_fixtures.LVMVolumeGroup:
    """A VG with :data:`LVM_LAYOUT`, set as the LVM example's backend.

    :param size_gib: the VG's size (a sparse file).
    """
    test.require_root()
    test.require_tools("losetup", "lvs", "vgcfgrestore")
    # The example driver module first: it lets Cinder's LVM driver
    # register the option names both define (see its docstring).
    import manageable_driver.cinder.lvm  # noqa: F401
    from manageable_driver.drivers.lvm import options
    vg = test.useFixture(lvm_fixtures.LVMVolumeGroup(size_gib=size_gib))
    vg.restore(LVM_LAYOUT)
    register_backend_options(options.lvm_opts)
    _common(test)
    test.override_config("volume_driver", LVM_DRIVER, SHARED_GROUP)
    test.override_config("volume_group", vg.vg_name, SHARED_GROUP)
    test.override_config("lvm_conf_file", vg.conf_file, SHARED_GROUP)
    return vg


def file_backend(test: base.CinderTestCase) -> str:
    """A directory of :data:`IMAGES`, set as the file example's backend."""
    test.require_tools("qemu-img")
    from manageable_driver.drivers.file import options
    directory = test.useFixture(fixtures.TempDir()).path
    for name, (fmt, size, backing) in IMAGES.items():
        argv = ["qemu-img", "create", "-q", "-f", fmt]
        if backing:
            argv += ["-F", IMAGES[backing][0], "-b", backing]
        subprocess.run(argv + [os.path.join(directory, name), size],
                       check=True)
    register_backend_options(options.file_opts)
    _common(test)
    test.override_config("volume_driver", FILE_DRIVER, SHARED_GROUP)
    test.override_config("file_volume_dirs", [directory], SHARED_GROUP)
    return directory


def _common(test: base.CinderTestCase) -> None:
    locks = test.useFixture(fixtures.TempDir()).path
    test.override_config("manageable_lock_path", locks, SHARED_GROUP)


def start_manager(test: base.CinderTestCase) -> Any:
    """Cinder's VolumeManager on the backend the test configured, set up
    as cinder-volume sets it up (do_setup, check_for_setup_error, stats).
    """
    from cinder.volume import manager
    volume_manager = manager.VolumeManager()
    volume_manager.init_host(added_to_cluster=False, service_id=None)
    test.assertTrue(volume_manager.driver.initialized,
                    "the driver failed do_setup or check_for_setup_error")
    return volume_manager


class ManagerMixin:
    """Sets up the backend a subclass names, and Cinder's VolumeManager on
    it, as ``self.manager``, with an admin context as ``self.ctxt``."""

    def setUp(self) -> None:
        super().setUp()  # type: ignore[misc]
        from cinder import context
        self.setup_backend()
        self.ctxt = context.get_admin_context()
        self.manager = start_manager(self)  # type: ignore[arg-type]

    def setup_backend(self) -> None:
        raise NotImplementedError

    def new_volume(self, **kwargs: Any) -> Any:
        """A volume of Cinder's database on the backend, by default as
        the API makes it for a manage request."""
        from cinder.tests.unit import utils
        values = {"status": "managing", "size": 0,
                  "host": self.manager.host}
        values.update(kwargs)
        test: Any = self
        return utils.create_volume(self.ctxt, volume_type_id=test.vt["id"],
                                   **values)

    def manage(self, ref: dict[str, str]) -> Any:
        """Manage ``ref`` through Cinder's manager as a new volume, which
        must end ``available``."""
        volume = self.new_volume()
        self.manager.manage_existing(self.ctxt, volume, ref)
        volume.refresh()
        test: Any = self
        test.assertEqual("available", volume.status)
        return volume

    def create(self, size: int = 1) -> Any:
        """A volume Cinder's manager creates on the backend."""
        volume = self.new_volume(status="creating", size=size)
        self.manager.create_volume(self.ctxt, volume)
        volume.refresh()
        test: Any = self
        test.assertEqual("available", volume.status)
        return volume

    def assert_deleted(self, volume: Any) -> None:
        """Cinder's database no longer holds ``volume``."""
        from cinder import context
        from cinder import exception
        from cinder import objects
        test: Any = self
        test.assertRaises(exception.VolumeNotFound, objects.Volume.get_by_id,
                          context.get_admin_context(read_deleted="no"),
                          volume.id)


class RefusalTests(ManagerMixin):
    """The API's 400s: what the manage family raises is Cinder's."""

    def test_refusals_are_cinders(self) -> None:
        from cinder import exception
        test: Any = self
        volume = self.new_volume()
        test.assertRaises(exception.ManageExistingInvalidReference,
                          self.manager.manage_existing, self.ctxt, volume,
                          {"source-name": "no-such-object"})
        volume.refresh()
        test.assertEqual("error_managing", volume.status)
        test.assertRaises(exception.InvalidInput,
                          self.manager.driver.get_manageable_volumes,
                          [], None, 10, 0, ["nonsense"], ["asc"])
