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

"""The LVM drop-in driver under Cinder's own VolumeManager.

``manageable_driver.cinder.lvm.LVMVolumeDriver`` on a real VG on a loop
device. This machine has no device-mapper, so the VG runs with LVM's
``activation = 0`` (the functional tests' fixture): Cinder's create,
extend and delete run (they change LVM metadata only, with
``volume_clear = none`` and ``lvm_type = default``); what needs an
active LV does not: Cinder's snapshots, clones and attachments.
"""

from __future__ import annotations

from typing import Any

from tests.compat import backends
from tests.compat import base
from tests.functional import lvm_fixtures

DROPIN = "manageable_driver.cinder.lvm.LVMVolumeDriver"
MiB = 1024 ** 2
GiB = 1024 ** 3


def lvm_dropin_backend(test: base.CinderTestCase
                       ) -> lvm_fixtures.LVMVolumeGroup:
    """The VG of :data:`backends.LVM_LAYOUT` behind the drop-in driver."""
    # Room for Cinder's creates and extends beside the layout.
    vg = backends.lvm_backend(test, size_gib=8)
    test.override_config("volume_driver", DROPIN, backends.SHARED_GROUP)
    # Cinder's delete would otherwise write zeros to /dev/<vg>/<lv>,
    # which an LV that cannot be activated does not have.
    test.override_config("volume_clear", "none", backends.SHARED_GROUP)
    # "auto" makes a thin pool when the VG has room, which needs
    # device-mapper.
    test.override_config("lvm_type", "default", backends.SHARED_GROUP)
    return vg


class LVMDropInTest(backends.RefusalTests, base.CinderTestCase):

    def setup_backend(self) -> None:
        self.vg = lvm_dropin_backend(self)

    def lv_bytes(self) -> dict[str, int]:
        out = self.vg.lvm("lvs", "--noheadings", "--units", "b",
                          "--nosuffix", "--separator", ",", "-o",
                          "lv_name,lv_size", self.vg.vg_name)
        return {name: int(size) for name, size in
                (line.strip().split(",") for line in out.splitlines()
                 if line.strip())}

    def listed(self) -> dict[str, dict[str, Any]]:
        return {e["reference"]["source-name"]: e
                for e in self.manager.driver.get_manageable_volumes(
                    [], None, 1000, 0, ["reference"], ["asc"])}

    def test_is_cinders_lvm_driver(self) -> None:
        from cinder.volume.drivers import lvm as cinder_lvm

        from manageable_driver.cinder import mixin
        driver = self.manager.driver
        self.assertIsInstance(driver, cinder_lvm.LVMVolumeDriver)
        self.assertIsInstance(driver, mixin.ManageableVolumesMixin)
        # Cinder's own setup ran: its VG object answers.
        self.assertEqual(self.vg.vg_name, driver.vg.vg_name)
        stats = driver.get_volume_stats(refresh=True)
        # Cinder's stats (pools), not the manage-only ones.
        self.assertNotIn("manage_only", stats)
        self.assertEqual(cinder_lvm.LVMVolumeDriver.VERSION,
                         stats["driver_version"])
        self.assertEqual(1, len(stats["pools"]))
        self.assertEqual(8, round(stats["pools"][0]["total_capacity_gb"]))

    def test_lifecycle_manage_extend_unmanage_manage_delete(self) -> None:
        from cinder import exception
        before = self.lv_bytes()
        # "odd": 257 extents of 4 MiB, 1,028 MiB: 2 GiB rounded up.
        volume = self.manage({"source-name": "odd"})
        self.assertEqual(2, volume.size)
        self.assertEqual(before["odd"], self.lv_bytes()[volume.name])
        # Cinder's own extend (lvextend) on the adopted LV, to the size
        # Cinder recorded: the LV grows to what Cinder says it holds.
        self.manager.extend_volume(self.ctxt, volume, 2, None)
        volume.refresh()
        self.assertEqual(("available", 2), (volume.status, volume.size))
        self.assertEqual(2 * GiB, self.lv_bytes()[volume.name])
        # Unmanage keeps the LV; it is listed safe, as the name
        # unmanage left.
        self.manager.delete_volume(self.ctxt, volume, unmanage_only=True)
        self.assertRaises(exception.VolumeNotFound, volume.refresh)
        entry = self.listed()[volume.name]
        self.assertTrue(entry["safe_to_manage"], entry)
        self.assertEqual(2, entry["size"])
        # Managed back by that name, as Tempest does: same size.
        again = self.manage({"source-name": volume.name})
        self.assertEqual(2, again.size)
        self.assertIn(again.name, self.lv_bytes())
        self.assertNotIn(volume.name, self.lv_bytes())
        # Cinder's own delete (lvremove) removes the adopted LV.
        self.manager.delete_volume(self.ctxt, again)
        self.assert_deleted(again)
        self.assertNotIn(again.name, self.lv_bytes())
        self.assertEqual(set(before) - {"odd"}, set(self.lv_bytes()))

    def lv_uuid(self, name: str) -> str:
        return self.vg.lvm("lvs", "--noheadings", "-o", "lv_uuid",
                           "%s/%s" % (self.vg.vg_name, name)).strip()

    def test_create_unmanage_manage_back_extend_delete(self) -> None:
        # Tempest's round trip, then Cinder's own extend and delete.
        from cinder import exception
        volume = self.create()
        self.assertEqual(GiB, self.lv_bytes()[volume.name])
        uuid = self.lv_uuid(volume.name)
        self.manager.delete_volume(self.ctxt, volume, unmanage_only=True)
        self.assertRaises(exception.VolumeNotFound, volume.refresh)
        entry = self.listed()[volume.name]
        self.assertEqual((True, None, 1), (entry["safe_to_manage"],
                                           entry["cinder_id"],
                                           entry["size"]))
        again = self.manage({"source-name": volume.name})
        self.assertEqual((1, volume.volume_type_id, volume.host),
                         (again.size, again.volume_type_id, again.host))
        # The same LV, renamed to the new volume's name.
        self.assertEqual(uuid, self.lv_uuid(again.name))
        self.manager.extend_volume(self.ctxt, again, 2, None)
        again.refresh()
        self.assertEqual(("available", 2), (again.status, again.size))
        self.assertEqual(2 * GiB, self.lv_bytes()[again.name])
        self.manager.delete_volume(self.ctxt, again)
        self.assert_deleted(again)
        self.assertNotIn(again.name, self.lv_bytes())

    def test_managed_name_is_refused_while_cinder_manages_it(self) -> None:
        from cinder import exception
        volume = self.manage({"source-name": "plain"})
        other = self.new_volume()
        exc = self.assertRaises(exception.ManageExistingAlreadyManaged,
                                self.manager.manage_existing, self.ctxt,
                                other, {"source-name": volume.name})
        self.assertIn(volume.name, str(exc))
        other.refresh()
        self.assertEqual("error_managing", other.status)
        self.assertIn(volume.name, self.lv_bytes())

    def test_snapshot_listing_and_manage(self) -> None:
        from cinder.tests.unit import utils
        origin = self.manage({"source-name": "origin"})
        entries = {e["reference"]["source-name"]: e for e in
                   self.manager.driver.get_manageable_snapshots(
                       [], None, 1000, 0, ["reference"], ["asc"])}
        self.assertTrue(entries["snap1"]["safe_to_manage"], entries)
        self.assertEqual({"source-name": origin.name},
                         entries["snap1"]["source_reference"])
        snapshot = utils.create_snapshot(self.ctxt, origin.id,
                                         status="creating", volume_size=0)
        self.manager.manage_existing_snapshot(self.ctxt, snapshot,
                                              {"source-name": "snap1"})
        snapshot.refresh()
        self.assertEqual("available", snapshot.status)
        # Cinder's LVM name for it.
        self.assertIn("_" + snapshot.name, self.lv_bytes())


class CinderLVMListingDefectTest(base.CinderTestCase):
    """Measured: Cinder 29's own LVM listing on the same VG."""

    def setUp(self) -> None:
        super().setUp()
        self.vg = lvm_dropin_backend(self)

    def sizes(self, driver_path: str) -> dict[str, int]:
        self.override_config("volume_driver", driver_path,
                             backends.SHARED_GROUP)
        manager = backends.start_manager(self)
        return {e["reference"]["source-name"]: e["size"]
                for e in manager.driver.get_manageable_volumes(
                    [], None, 1000, 0, ["reference"], ["asc"])}

    def test_1028_mib_lv_is_1_gib_to_cinder_2_to_the_drop_in(self) -> None:
        theirs = self.sizes("cinder.volume.drivers.lvm.LVMVolumeDriver")
        ours = self.sizes(DROPIN)
        # 257 extents of 4 MiB = 1,028 MiB: Cinder reports less than the
        # data; the drop-in rounds up.
        self.assertEqual((1, 2), (theirs["odd"], ours["odd"]))
        self.assertEqual((1, 1), (theirs["plain"], ours["plain"]))
