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

"""Cinder's VolumeManager, in-process, on the example drivers.

Cinder's own manager code lists, manages and unmanages real LVs and real
image files through :mod:`manageable_driver.cinder`: what Cinder's REST
API would ask it to do once the scheduler picked the backend.
"""

from __future__ import annotations

import os
from typing import Any

from tests.compat import backends
from tests.compat import base


class ManagerTestMixin(backends.ManagerMixin):
    """The test body shared by both backends."""

    kind: str

    def new_volume(self, **kwargs: Any) -> Any:
        from cinder.tests.unit import utils
        return utils.create_volume(self.ctxt, host=self.manager.host,
                                   status="managing", size=0,
                                   volume_type_id=self.vt["id"], **kwargs)

    def list_volumes(self) -> Any:
        return self.manager.get_manageable_volumes(
            self.ctxt, None, 1000, 0, ["reference"], ["asc"],
            want_objects=True)

    def list_snapshots(self) -> Any:
        return self.manager.get_manageable_snapshots(
            self.ctxt, None, 1000, 0, ["reference"], ["asc"],
            want_objects=True)

    def test_listing_through_the_manager(self) -> None:
        from cinder import objects
        volumes = self.list_volumes()
        # from_primitives returns a plain list of objects.
        for volume in volumes:
            self.assertIsInstance(volume, objects.ManageableVolume)
        # The manager turns an AttributeError into "not supported" (an
        # empty list), so compare with the driver called directly.
        direct = self.manager.driver.get_manageable_volumes(
            [], None, 1000, 0, ["reference"], ["asc"])
        self.assertNotEqual([], direct)
        self.assertEqual([e["reference"] for e in direct],
                         [v.reference for v in volumes])
        self.assertEqual([e["size"] for e in direct],
                         [v.size for v in volumes])
        snapshots = self.list_snapshots()
        self.assertNotEqual([], snapshots)
        for snapshot in snapshots:
            self.assertIsInstance(snapshot, objects.ManageableSnapshot)
        direct = self.manager.driver.get_manageable_snapshots(
            [], None, 1000, 0, ["reference"], ["asc"])
        self.assertEqual([e["reference"] for e in direct],
                         [s.reference for s in snapshots])
        self.assertEqual([e["source_reference"] for e in direct],
                         [s.source_reference for s in snapshots])

    def test_manage_then_unmanage(self) -> None:
        ref, size = self.manageable_object()
        volume = self.new_volume()
        self.manager.manage_existing(self.ctxt, volume, ref)
        volume.refresh()
        self.assertEqual("available", volume.status)
        self.assertEqual(size, volume.size)
        self.assert_managed(volume, ref)
        # The manager lists it as already managed, with the Cinder id.
        managed = [v for v in self.list_volumes()
                   if v.cinder_id == volume.id]
        self.assertEqual(1, len(managed))
        self.assertFalse(managed[0].safe_to_manage)

        self.manager.delete_volume(self.ctxt, volume, unmanage_only=True)
        from cinder import exception
        self.assertRaises(exception.VolumeNotFound, volume.refresh)
        self.assert_data_kept(volume, ref)

    def test_manage_snapshot_then_unmanage(self) -> None:
        # The first safe snapshot the driver lists, and its volume.
        from cinder.tests.unit import utils
        entries = self.manager.driver.get_manageable_snapshots(
            [], None, 1000, 0, ["reference"], ["asc"])
        entry = next(e for e in entries if e["safe_to_manage"])
        volume = self.snapshot_volume(entry["source_reference"])
        snapshot = utils.create_snapshot(self.ctxt, volume.id,
                                         status="creating", volume_size=0)
        self.manager.manage_existing_snapshot(self.ctxt, snapshot,
                                              entry["reference"])
        snapshot.refresh()
        self.assertEqual("available", snapshot.status)
        self.assertEqual(entry["size"], snapshot.volume_size)
        # Listed as managed now, with the snapshot's id.
        listed = [s for s in self.list_snapshots()
                  if s.cinder_id == snapshot.id]
        self.assertEqual(1, len(listed))

        self.manager.delete_snapshot(self.ctxt, snapshot,
                                     unmanage_only=True)
        snapshot.refresh()
        self.assertEqual("deleted", snapshot.status)
        # Still on the backend: listed again, no longer managed.
        self.assertEqual(len(entries), len(self.list_snapshots()))

    def test_driver_asks_cinders_database_whether_it_manages_a_name(
            self) -> None:
        # Manage gets no managed list: the backend's hook is Cinder's own
        # database check, true while the volume or snapshot exists.
        from cinder.tests.unit import utils

        from manageable_driver.cinder import base as cinder_base
        lookup = self.manager.driver.backend.cinder_manages_lookup
        self.assertIs(cinder_base.cinder_manages, lookup)
        volume = self.new_volume()
        snapshot = utils.create_snapshot(self.ctxt, volume.id,
                                         status="available")
        self.assertEqual((True, True), (lookup("volume", volume.id),
                                        lookup("snapshot", snapshot.id)))
        self.assertEqual((False, False), (lookup("volume", snapshot.id),
                                          lookup("snapshot", volume.id)))
        snapshot.destroy()
        volume.destroy()
        self.assertEqual((False, False), (lookup("volume", volume.id),
                                          lookup("snapshot", snapshot.id)))

    def test_bad_reference_ends_in_error_managing(self) -> None:
        from cinder import exception
        volume = self.new_volume()
        ref = {"source-name": "no-such-object"}
        exc = self.assertRaises(exception.ManageExistingInvalidReference,
                                self.manager.manage_existing,
                                self.ctxt, volume, ref)
        self.assertIn("no-such-object", str(exc))
        volume.refresh()
        self.assertEqual("error_managing", volume.status)

    def manageable_object(self) -> tuple[dict[str, str], int]:
        raise NotImplementedError

    def snapshot_volume(self, source_reference: dict[str, str]) -> Any:
        """The Cinder volume, on the backend, of a snapshot to manage."""
        volume = self.new_volume()
        self.manager.manage_existing(self.ctxt, volume, source_reference)
        volume.refresh()
        self.assertEqual("available", volume.status)
        return volume

    def assert_managed(self, volume: Any, ref: dict[str, str]) -> None:
        raise NotImplementedError

    def assert_data_kept(self, volume: Any, ref: dict[str, str]) -> None:
        raise NotImplementedError


class LVMManagerTest(ManagerTestMixin, base.CinderTestCase):

    def setup_backend(self) -> None:
        self.vg = backends.lvm_backend(self)

    def manageable_object(self) -> tuple[dict[str, str], int]:
        self.uuid_before = self.lv_uuids()["odd"]
        return {"source-name": "odd"}, 2

    def lv_uuids(self) -> dict[str, str]:
        out = self.vg.lvm("lvs", "--noheadings", "--separator", ",",
                          "-o", "lv_name,lv_uuid", self.vg.vg_name)
        return dict(line.strip().split(",") for line in out.splitlines()
                    if line.strip())

    def assert_managed(self, volume: Any, ref: dict[str, str]) -> None:
        # Rename mode, as Cinder's LVM driver: the LV takes the name.
        self.assertEqual(self.uuid_before, self.lv_uuids()[volume.name])

    def assert_data_kept(self, volume: Any, ref: dict[str, str]) -> None:
        # Same LV (UUID), same size, still there after unmanage.
        self.assertEqual(self.uuid_before, self.lv_uuids()[volume.name])
        size = self.vg.lvm("lvs", "--noheadings", "--units", "b",
                           "--nosuffix", "-o", "lv_size",
                           "%s/%s" % (self.vg.vg_name, volume.name))
        self.assertEqual(257 * 4 * 1024 ** 2, int(size.strip()))


class FileManagerTest(ManagerTestMixin, base.CinderTestCase):

    def setup_backend(self) -> None:
        self.directory = backends.file_backend(self)

    def manageable_object(self) -> tuple[dict[str, str], int]:
        path = os.path.join(self.directory, "raw1g.img")
        self.payload = b"compat test data\n" * 64
        with open(path, "r+b") as f:
            f.write(self.payload)
        self.inode = os.stat(path).st_ino
        return {"source-name": "raw1g.img"}, 1

    def find(self) -> str:
        for name in os.listdir(self.directory):
            path = os.path.join(self.directory, name)
            if os.stat(path).st_ino == self.inode:
                return path
        self.fail("the managed image is gone from %s" % self.directory)

    def assert_managed(self, volume: Any, ref: dict[str, str]) -> None:
        self.assertIn(volume.name, os.path.basename(self.find()))

    def snapshot_volume(self, source_reference: dict[str, str]) -> Any:
        # An image with a backing file is not safe to manage as a volume
        # (the file driver's rule): the snapshot belongs to a volume Cinder
        # already has, whose image is the top of the chain, as a snapshot
        # taken outside Cinder would.
        from cinder.tests.unit import utils
        volume = utils.create_volume(self.ctxt, host=self.manager.host,
                                     status="available", size=1,
                                     volume_type_id=self.vt["id"])
        top = source_reference["source-name"]
        os.rename(top, os.path.join(os.path.dirname(top), volume.name))
        return volume

    def assert_data_kept(self, volume: Any, ref: dict[str, str]) -> None:
        with open(self.find(), "rb") as f:
            self.assertEqual(self.payload, f.read(len(self.payload)))
