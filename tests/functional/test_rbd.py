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

"""The RBD driver on a real Ceph cluster (tests/functional/ceph_fixture.py).

Every listing reason on real images: a watcher held by a second process,
clones of format 1 (protected snapshot) and 2, a deleted header object,
the trash, Cinder's ``*.deleted``, ``*.clone_snap`` and backup snapshots,
names of Cinder's templates; then manage and unmanage of volumes and
snapshots, watchers re-checked at manage time, the lock identity, and the
conformance checks of :mod:`manageable_driver.testing`.
"""

import uuid

from manageable_driver import exception
from manageable_driver import listing
from manageable_driver import locks
from manageable_driver import testing
from tests.functional import rbd_helpers as helpers

GiB = helpers.GiB
MiB = helpers.MiB
VOLUME_ID = "11111111-2222-4333-8444-555555555555"
SNAPSHOT_ID = "66666666-7777-4888-9999-aaaaaaaaaaaa"
InvalidRef = exception.ManageExistingInvalidReference


def volume(vol_id=VOLUME_ID):
    return {"id": vol_id, "name": "volume-%s" % vol_id}


def snapshot(image, snap_id=SNAPSHOT_ID):
    return {"id": snap_id, "name": "snapshot-%s" % snap_id,
            "volume": {"name": image}}


class ListingTest(helpers.RBDTestCase):

    def test_every_volume_reason(self):
        self.create("plain", GiB + MiB)
        self.create("empty", 0)
        self.create("watched", MiB)
        self.hold_open("watched")
        self.create("parent1", MiB)
        self.snap("parent1", "base", protect=True)
        self.clone("parent1", "base", "clone1", clone_format=1)
        self.create("parent2", MiB)
        self.snap("parent2", "base")
        self.clone("parent2", "base", "clone2", clone_format=2)
        self.create("volume-x.deleted", MiB)
        self.create("snapshot-%s" % SNAPSHOT_ID, MiB)
        self.create("headless", MiB)
        self.ioctx.remove_object("rbd_header." + self.image_id("headless"))
        self.create("trashed", MiB)
        self.rbd.RBD().trash_move(self.ioctx, "trashed")

        got = self.volumes()
        self.assertNotIn("trashed", got)
        self.assertEqual(
            ["clone1", "clone2", "empty", "headless", "parent1", "parent2",
             "plain", "snapshot-%s" % SNAPSHOT_ID, "volume-x.deleted",
             "watched"], sorted(got))
        reasons = {n: e["reason_not_safe"] for n, e in got.items()}
        self.assertTrue(got["plain"]["safe_to_manage"])
        self.assertEqual(2, got["plain"]["size"])
        self.assertIn("size is 0 bytes", reasons["empty"])
        self.assertTrue(reasons["watched"].startswith(
            "in use: 1 watcher(s): 127.0.0.1:"), reasons["watched"])
        self.assertIn("snapshots with clones share its data: base (1)",
                      reasons["parent1"])
        self.assertIn("base (1)", reasons["parent2"])
        for child, parent in (("clone1", "parent1"), ("clone2", "parent2")):
            self.assertIn("a clone of %s/%s@base" % (self.pool, parent),
                          reasons[child])
            self.assertEqual("%s/%s@base" % (self.pool, parent),
                             got[child]["extra_info"]["parent"])
        self.assertIn(".deleted", reasons["volume-x.deleted"])
        self.assertIn("name made by snapshot_name_template for Cinder "
                      "snapshot", reasons["snapshot-%s" % SNAPSHOT_ID])
        self.assertIn("does not exist", reasons["headless"])
        self.assertIsNone(got["headless"]["size"])
        self.assertIn("layering", got["plain"]["extra_info"]["features"])
        self.assertEqual("1", got["parent1"]["extra_info"]["snapshots"])

    def test_flattened_clone_is_an_ordinary_image(self):
        self.create("parent", MiB)
        self.snap("parent", "base", protect=True)
        self.clone("parent", "base", "child")
        self.assertFalse(self.volumes()["child"]["safe_to_manage"])
        with self.rbd.Image(self.ioctx, "child") as child:
            child.flatten()
        got = self.volumes()
        self.assertTrue(got["child"]["safe_to_manage"], got["child"])
        self.assertNotIn("parent", got["child"]["extra_info"])
        # The parent's snapshot is protected but has no clone any more.
        self.assertTrue(got["parent"]["safe_to_manage"], got["parent"])

    def test_every_snapshot_reason(self):
        self.create("img", GiB + 1)
        for name in ("plain", "a.clone_snap", "backup.v.snap.1",
                     "volume-%s" % VOLUME_ID, "protected"):
            self.snap("img", name, protect=(name == "protected"))
        self.clone("img", "protected", "child")
        self.create("headless", MiB)
        self.snap("headless", "lost")
        self.ioctx.remove_object("rbd_header." + self.image_id("headless"))

        got = self.snapshots()
        self.assertEqual(
            [("img", "a.clone_snap"), ("img", "backup.v.snap.1"),
             ("img", "plain"), ("img", "protected"),
             ("img", "volume-%s" % VOLUME_ID)], sorted(got))
        reasons = {k[1]: e["reason_not_safe"] for k, e in got.items()}
        plain = got[("img", "plain")]
        self.assertTrue(plain["safe_to_manage"], plain)
        self.assertEqual(2, plain["size"])
        self.assertEqual({"source-name": "plain", "source-image": "img"},
                         plain["reference"])
        self.assertIn("clone snapshot", reasons["a.clone_snap"])
        self.assertIn("backup", reasons["backup.v.snap.1"])
        self.assertIn("name made by volume_name_template for Cinder "
                      "volume", reasons["volume-%s" % VOLUME_ID])
        self.assertIn("protected with 1 clone(s)", reasons["protected"])

    def test_managed_names_and_round_trip(self):
        self.create("volume-%s" % VOLUME_ID, MiB)
        other = str(uuid.uuid4())
        self.create("volume-%s" % other, MiB)
        got = self.volumes(cinder_volumes=[volume()])
        ours = got["volume-%s" % VOLUME_ID]
        self.assertEqual(("already managed", VOLUME_ID),
                         (ours["reason_not_safe"], ours["cinder_id"]))
        # What Cinder's unmanage leaves: a volume name whose id Cinder no
        # longer manages.
        free = got["volume-%s" % other]
        self.assertTrue(free["safe_to_manage"], free)
        self.assertIn(listing.CINDER_MADE, free["extra_info"])


class ManageTest(helpers.RBDTestCase):

    def test_manage_and_unmanage_volume(self):
        self.create("plain", GiB + MiB)
        self.snap("plain", "s1")
        drv = self.driver()
        ref = {"source-name": "plain"}
        self.assertEqual(2, drv.manage_existing_get_size(volume(), ref))
        drv.manage_existing(volume(), ref)
        self.assertEqual(["volume-%s" % VOLUME_ID], self.names())
        name = "volume-%s" % VOLUME_ID
        # Not resized: the size and data stay the image's own.
        with self.rbd.Image(self.ioctx, name, read_only=True) as image:
            self.assertEqual(GiB + MiB, image.size())
        self.assertEqual(["s1"], self.snap_names(name))
        entry = self.volumes(cinder_volumes=[volume()])[name]
        self.assertEqual(VOLUME_ID, entry["cinder_id"])
        self.assertEqual(2, entry["size"])
        drv.unmanage(volume())
        self.assertEqual([name], self.names())

    def test_manage_asks_whether_cinder_still_manages_the_name(self):
        # volume-A for a new volume B while Cinder manages A would give B
        # the data of A: manage gets no managed list, so it asks.
        old_volume, old_snapshot = str(uuid.uuid4()), str(uuid.uuid4())
        self.create("volume-%s" % old_volume, MiB)
        self.create("a", MiB)
        self.snap("a", "snapshot-%s" % old_snapshot)
        drv = self.driver()
        vol_ref = {"source-name": "volume-%s" % old_volume}
        snap_ref = {"source-name": "snapshot-%s" % old_snapshot,
                    "source-image": "a"}
        before = self.state()
        for lookup, refusal, text in (
                (listing.managed_lookup([old_volume, old_snapshot]),
                 exception.ManageExistingAlreadyManaged, "already managed"),
                (None, InvalidRef,
                 "cannot tell whether Cinder still manages")):
            drv.cinder_manages_lookup = lookup
            for call, obj, ref in (
                    (drv.manage_existing_get_size, volume(), vol_ref),
                    (drv.manage_existing, volume(), vol_ref),
                    (drv.manage_existing_snapshot_get_size,
                     snapshot("a"), snap_ref),
                    (drv.manage_existing_snapshot, snapshot("a"),
                     snap_ref)):
                with self.subTest(call=call.__name__, lookup=lookup):
                    err = self.assertRaises(refusal, call, obj, ref)
                    self.assertIn(text, str(err))
        self.assertEqual(before, self.state())
        # After unmanage: Cinder's round trip manages them back.
        drv.cinder_manages_lookup = listing.managed_lookup(())
        drv.manage_existing(volume(), vol_ref)
        drv.manage_existing_snapshot(snapshot("a"), snap_ref)
        self.assertEqual(["a", "volume-%s" % VOLUME_ID], self.names())
        self.assertEqual(["snapshot-%s" % SNAPSHOT_ID], self.snap_names("a"))

    def test_watcher_rechecked_at_manage_time(self):
        self.create("plain", MiB)
        drv = self.driver()
        self.assertTrue(self.volumes(drv)["plain"]["safe_to_manage"])
        release = self.hold_open("plain")
        before = self.state()
        err = self.assertRaises(InvalidRef, drv.manage_existing, volume(),
                                {"source-name": "plain"})
        self.assertIn("in use: 1 watcher(s)", str(err))
        self.assertEqual(before, self.state())
        release()
        drv.manage_existing(volume(), {"source-name": "plain"})
        self.assertEqual(["volume-%s" % VOLUME_ID], self.names())

    def test_never_over_an_existing_name(self):
        self.create("plain", MiB)
        # An image already has the volume's name, yet Cinder does not list
        # it (another backend's, a leftover).
        self.create("volume-%s" % VOLUME_ID, 2 * MiB)
        before = self.state()
        err = self.assertRaises(InvalidRef, self.driver().manage_existing,
                                volume(), {"source-name": "plain"})
        self.assertIn("exists already", str(err))
        self.assertEqual(before, self.state())

    def test_manage_and_unmanage_snapshot(self):
        name = "volume-%s" % VOLUME_ID
        self.create(name, GiB)
        self.snap(name, "s1")
        drv = self.driver()
        ref = {"source-name": "s1"}
        self.assertEqual(1, drv.manage_existing_snapshot_get_size(
            snapshot(name), ref))
        drv.manage_existing_snapshot(snapshot(name), ref)
        self.assertEqual(["snapshot-%s" % SNAPSHOT_ID],
                         self.snap_names(name))
        entry = self.snapshots(cinder_snapshots=[snapshot(name)])[
            (name, "snapshot-%s" % SNAPSHOT_ID)]
        self.assertEqual(SNAPSHOT_ID, entry["cinder_id"])
        drv.unmanage_snapshot(snapshot(name))
        self.assertEqual(["snapshot-%s" % SNAPSHOT_ID],
                         self.snap_names(name))

    def test_snapshot_of_another_volume_is_refused(self):
        self.create("a", MiB)
        self.create("b", MiB)
        self.snap("a", "s1")
        before = self.state()
        self.assertRaises(InvalidRef, self.driver().manage_existing_snapshot,
                          snapshot("b"), {"source-name": "s1",
                                          "source-image": "a"})
        self.assertRaises(InvalidRef, self.driver().manage_existing_snapshot,
                          snapshot("b"), {"source-name": "s1"})
        self.assertEqual(before, self.state())

    def test_snapshot_name_taken_is_refused(self):
        self.create("a", MiB)
        self.snap("a", "s1")
        self.snap("a", "snapshot-%s" % SNAPSHOT_ID)
        before = self.state()
        err = self.assertRaises(InvalidRef,
                                self.driver().manage_existing_snapshot,
                                snapshot("a"), {"source-name": "s1"})
        self.assertIn("already", str(err))
        self.assertEqual(before, self.state())

    def test_lock_is_fsid_pool_and_image_id(self):
        self.create("plain", MiB)
        pool_id = self.client.pool_lookup(self.pool)
        holder = locks.LocalLockProvider(self.lock_path)
        before = self.state()
        with holder.lock("rbd:%s:%d" % (self.client.get_fsid(), pool_id),
                         self.image_id("plain")):
            self.assertRaises(exception.LockTimeout,
                              self.driver(manageable_lock_timeout=0.2)
                              .manage_existing, volume(),
                              {"source-name": "plain"})
        self.assertEqual(before, self.state())
        self.driver().manage_existing(volume(), {"source-name": "plain"})


class RBDConformanceTest(helpers.RBDTestCase,
                         testing.ManageableDriverConformanceMixin):

    def make_driver(self):
        return self.driver()

    def create_volume_object(self, name, size_bytes):
        self.create(name, size_bytes)

    def create_snapshot_object(self, name, size_bytes, volume_name):
        self.snap(volume_name, name)

    def create_unsafe_volume_objects(self):
        self.create("mdconf-open", MiB)
        self.hold_open("mdconf-open")
        self.create("mdconf-empty", 0)
        return 2

    def create_unsafe_snapshot_objects(self):
        self.create("mdconf-cloned", MiB)
        self.snap("mdconf-cloned", "mdconf-protected", protect=True)
        self.clone("mdconf-cloned", "mdconf-protected", "mdconf-clone")
        return 1

    def make_cinder_object(self, driver, kind, cinder_id, entry=None):
        obj = super().make_cinder_object(driver, kind, cinder_id, entry)
        if kind == "snapshot" and entry is not None:
            obj["volume"]["name"] = entry["source_reference"]["source-name"]
        return obj
