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

"""One name space across kinds, directories and hosts (issue 13, §1).

Real images made by qemu-img and real LVM2 metadata: a name Cinder made
for one kind is never free in the listing of the other, what unmanage
leaves is managed back, and one Cinder id never names two objects.
"""

import os

from manageable_driver import exception
from manageable_driver import listing
from manageable_driver.drivers.lvm import options
from tests.functional import lvm_fixtures as layout
from tests.functional import test_file
from tests.functional import test_lvm

U = "3f5e2c1a-0000-4000-8000-%012d"
VOL = "volume-" + U % 1
SNAP = "snapshot-" + U % 2
OTHER_VOL = "volume-" + U % 3


def qcow2(*args):
    return ["-f", "qcow2", *args]


class FileNameSpaceTest(test_file.FileTestCase):

    def snapshots(self, cinder_snapshots=()):
        return {os.path.basename(e["reference"]["source-name"]): e
                for e in self.driver.get_manageable_snapshots(
                    list(cinder_snapshots), None, 1000, 0, ["reference"],
                    ["asc"])}

    def test_volume_name_is_never_a_free_snapshot(self):
        # A Cinder volume's image that another image uses as its backing
        # file: managing it as a snapshot would rename a volume's data.
        self.create(VOL, qcow2("@", "64M"))
        self.create("top.qcow2", qcow2("-b", VOL, "-F", "qcow2", "@"))
        entry = self.snapshots()[VOL]
        self.assertFalse(entry["safe_to_manage"])
        self.assertIn("Cinder volume %s: never free as a snapshot"
                      % (U % 1), entry["reason_not_safe"])
        exc = self.assertRaises(
            exception.ManageExistingInvalidReference,
            self.driver.manage_existing_snapshot,
            {"id": U % 9, "name": "snapshot-" + U % 9},
            {"source-name": self.path(VOL)})
        self.assertIn("never free as a snapshot", str(exc))
        self.assertEqual(sorted([VOL, "top.qcow2"]),
                         sorted(os.listdir(self.dir)))

    def test_snapshot_and_nfs_names_are_never_free_volumes(self):
        names = {
            SNAP: "Cinder snapshot %s" % (U % 2),
            "_" + SNAP: "Cinder snapshot %s" % (U % 2),
            VOL + ".info": "snapshot index of volume %s" % (U % 1),
            "%s.%s" % (VOL, U % 4): "Cinder snapshot %s" % (U % 4),
        }
        for name in names:
            self.create(name, ["-f", "raw", "@", "1M"])
        entries = self.volumes()
        for name, why in names.items():
            with self.subTest(name=name):
                self.assertFalse(entries[name]["safe_to_manage"])
                self.assertIn(why, entries[name]["reason_not_safe"])
                self.assertIn("never free as a volume",
                              entries[name]["reason_not_safe"])
                self.assertRaises(
                    exception.ManageExistingInvalidReference,
                    self.driver.manage_existing,
                    {"id": U % 9, "name": "volume-" + U % 9},
                    {"source-name": self.path(name)})
                self.assertRaises(
                    exception.ManageExistingInvalidReference,
                    self.driver.manage_existing_get_size,
                    {"id": U % 9, "name": "volume-" + U % 9},
                    {"source-name": self.path(name)})
        self.assertEqual(sorted(names), sorted(os.listdir(self.dir)))

    def test_unmanage_manage_round_trip(self):
        # Tempest's test_unmanage_manage_volume: create, unmanage, manage
        # back by "volume-%s" as a new volume.
        self.create(VOL, ["-f", "raw", "@", "1G"])
        entry = self.volumes()[VOL]
        self.assertTrue(entry["safe_to_manage"])
        self.assertIn(U % 1, entry["extra_info"]["cinder_made_name"])
        new = {"id": U % 5, "name": "volume-" + U % 5}
        # Cinder's driver asks Cinder's database; here Cinder manages
        # nothing, as the listing above was told.
        self.driver.cinder_manages_lookup = listing.managed_lookup(())
        self.assertEqual(1, self.driver.manage_existing_get_size(
            new, {"source-name": VOL}))
        self.driver.manage_existing(new, {"source-name": VOL})
        self.assertEqual(["volume-" + U % 5], os.listdir(self.dir))

    def test_manage_asks_whether_cinder_still_manages_the_name(self):
        # volume-A for a new volume B while Cinder manages A would give B
        # the data of A: manage gets no managed list, so it asks.
        self.create(VOL, ["-f", "raw", "@", "1G"])
        self.create(SNAP, qcow2("-b", VOL, "-F", "raw", "@"))
        new = {"id": U % 5, "name": "volume-" + U % 5}
        snapshot = {"id": U % 6, "name": "snapshot-" + U % 6,
                    "volume": {"id": U % 7, "name": "volume-" + U % 7}}
        before = sorted(os.listdir(self.dir))
        for lookup, refusal, text in (
                (listing.managed_lookup([U % 1, U % 2]),
                 exception.ManageExistingAlreadyManaged, "already managed"),
                (None, exception.ManageExistingInvalidReference,
                 "cannot tell whether Cinder still manages")):
            self.driver.cinder_manages_lookup = lookup
            for call, obj, name in (
                    (self.driver.manage_existing_get_size, new, VOL),
                    (self.driver.manage_existing, new, VOL),
                    (self.driver.manage_existing_snapshot, snapshot, SNAP)):
                with self.subTest(call=call.__name__, lookup=lookup):
                    exc = self.assertRaises(refusal, call, obj,
                                            {"source-name": self.path(name)})
                    self.assertIn(text, str(exc))
        self.assertEqual(before, sorted(os.listdir(self.dir)))

    def test_one_id_one_image_across_directories(self):
        second = self.useFixture(test_file.fixtures.TempDir()).path
        self.driver.configuration.set_override(
            "file_volume_dirs", [self.dir, second])
        self.create("a.img", ["-f", "raw", "@", "1M"])
        test_file.qemu_img("create", "-q", "-f", "raw",
                           os.path.join(second, "b.img"), "1M")
        volume = {"id": U % 1, "name": VOL}
        self.driver.manage_existing(volume, {"source-name": self.path(
            "a.img")})
        exc = self.assertRaises(
            exception.VolumeBackendAPIException,
            self.driver.manage_existing, volume,
            {"source-name": os.path.join(second, "b.img")})
        self.assertIn("one Cinder id names one image", str(exc))
        self.assertEqual([VOL], os.listdir(self.dir))
        self.assertEqual(["b.img"], os.listdir(second))

    def test_one_id_one_image_across_subdirectories(self):
        self.driver.configuration.set_override("file_volume_scan_depth", 1)
        for sub in ("x", "y"):
            os.mkdir(self.path(sub))
            self.create(os.path.join(sub, "a.img"), ["-f", "raw", "@", "1M"])
        snapshot = {"id": U % 2, "name": SNAP}
        self.create(os.path.join("x", "base.qcow2"), qcow2("@", "1M"))
        self.create(os.path.join("x", "top.qcow2"),
                    qcow2("-b", "base.qcow2", "-F", "qcow2", "@"))
        self.create(os.path.join("y", SNAP), ["-f", "raw", "@", "1M"])
        volume = {"id": U % 1, "name": VOL}
        self.driver.manage_existing(volume, {"source-name": self.path(
            "x", "a.img")})
        self.assertRaises(exception.VolumeBackendAPIException,
                          self.driver.manage_existing, volume,
                          {"source-name": self.path("y", "a.img")})
        self.assertRaises(exception.VolumeBackendAPIException,
                          self.driver.manage_existing_snapshot, snapshot,
                          {"source-name": self.path("x", "base.qcow2")})
        self.assertEqual(["a.img", SNAP], sorted(os.listdir(self.path("y"))))
        self.assertEqual(sorted([VOL, "base.qcow2", "top.qcow2"]),
                         sorted(os.listdir(self.path("x"))))


class LVMNameSpaceTest(test_lvm.LVMTestCase):

    def setUp(self):
        super().setUp()
        self.vg.restore(layout.mixed_layout() + [
            # Cinder's LVM thin clone: a volume that has an origin.
            layout.LV(OTHER_VOL, 100, kind="thin", pool="pool",
                      origin="thin1"),
            # A snapshot's LV name on an LV that is not a snapshot.
            layout.LV("_" + SNAP, 1),
        ])

    def test_thin_clone_is_not_a_safe_snapshot(self):
        drv = self.driver()
        entry = test_lvm.refs(drv.get_manageable_snapshots(
            [], *test_lvm.ALL))[OTHER_VOL]
        self.assertFalse(entry["safe_to_manage"])
        self.assertIn("Cinder volume %s" % (U % 3), entry["reason_not_safe"])
        self.assertRaises(exception.ManageExistingInvalidReference,
                          drv.manage_existing_snapshot, test_lvm.snapshot(),
                          {"source-name": OTHER_VOL})
        self.assertIn(OTHER_VOL, self.vg.lv_names())

    def test_snapshot_name_is_never_a_free_volume(self):
        drv = self.driver()
        entry = test_lvm.refs(drv.get_manageable_volumes(
            [], *test_lvm.ALL))["_" + SNAP]
        self.assertFalse(entry["safe_to_manage"])
        self.assertIn("never free as a volume", entry["reason_not_safe"])
        self.assertRaises(exception.ManageExistingInvalidReference,
                          drv.manage_existing, test_lvm.volume(),
                          {"source-name": "_" + SNAP})
        self.assertIn("_" + SNAP, self.vg.lv_names())

    def test_unmanage_manage_round_trip(self):
        drv = self.driver()
        cinder_volume = "volume-%s" % layout.CINDER_VOLUME_ID
        entry = test_lvm.refs(drv.get_manageable_volumes(
            [], *test_lvm.ALL))[cinder_volume]
        self.assertTrue(entry["safe_to_manage"])
        self.assertIn("cinder_made_name", entry["extra_info"])
        drv.cinder_manages_lookup = listing.managed_lookup(())
        drv.manage_existing(test_lvm.volume(),
                            {"source-name": cinder_volume})
        names = self.vg.lv_names()
        self.assertIn("volume-%s" % test_lvm.VOLUME_ID, names)
        self.assertNotIn(cinder_volume, names)

    def test_manage_asks_whether_cinder_still_manages_the_name(self):
        cinder_volume = "volume-%s" % layout.CINDER_VOLUME_ID
        cinder_snapshot = "_snapshot-%s" % layout.CINDER_SNAPSHOT_ID
        before = sorted(self.vg.lv_names())
        for mode in (options.MODE_RENAME, options.MODE_TAG):
            drv = self.driver(mode)
            for lookup, refusal, text in (
                    (listing.managed_lookup([layout.CINDER_VOLUME_ID,
                                             layout.CINDER_SNAPSHOT_ID]),
                     exception.ManageExistingAlreadyManaged,
                     "already managed"),
                    (None, exception.ManageExistingInvalidReference,
                     "cannot tell whether Cinder still manages")):
                drv.cinder_manages_lookup = lookup
                for call, obj, name in (
                        (drv.manage_existing_get_size, test_lvm.volume(),
                         cinder_volume),
                        (drv.manage_existing, test_lvm.volume(),
                         cinder_volume),
                        (drv.manage_existing_snapshot, test_lvm.snapshot(),
                         cinder_snapshot)):
                    with self.subTest(mode=mode, call=call.__name__,
                                      lookup=lookup):
                        exc = self.assertRaises(refusal, call, obj,
                                                {"source-name": name})
                        self.assertIn(text, str(exc))
        self.assertEqual(before, sorted(self.vg.lv_names()))
        self.assertEqual(("", ""), (self.vg.lv_tags(cinder_volume),
                                    self.vg.lv_tags(cinder_snapshot)))

    def test_one_id_one_lv_in_tag_mode(self):
        drv = self.driver(options.MODE_TAG)
        drv.manage_existing(test_lvm.volume(), {"source-name": "plain"})
        exc = self.assertRaises(exception.ManageExistingInvalidReference,
                                drv.manage_existing, test_lvm.volume(),
                                {"source-name": "odd"})
        self.assertIn("one Cinder id names one LV", str(exc))
        self.assertEqual("", self.vg.lv_tags("odd"))
