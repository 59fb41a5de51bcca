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

"""The RBD drop-in driver under Cinder's own VolumeManager, on a real Ceph.

``tox -e compat-rbd`` (run it under ``flock /tmp/md-ceph.lock``): Cinder
from the package index and Debian's python3-rados/rbd, on the private
single-node cluster of the functional tests (one mon, one memstore OSD,
cephx, a ``client.cinder`` user). Cinder creates, snapshots, extends and
deletes; the library lists, manages and unmanages. Without a cluster (the
plain compat env has no python3-rados) the tests skip, or fail under
MANAGEABLE_DRIVER_FUNCTIONAL=1.
"""

from __future__ import annotations

import subprocess
import sys
from typing import Any

from manageable_driver import testing
from tests.compat import backends
from tests.compat import base
from tests.compat import test_dropin_conformance

DROPIN = "manageable_driver.cinder.rbd.RBDDriver"
MiB = 1024 ** 2
GiB = 1024 ** 3
PAYLOAD = b"rbd drop-in data\n" * 256
# Another client: opens the image read-write (a watcher on its header),
# says so, and holds it until its stdin closes.
HOLDER = """\
import sys, rados, rbd
conf, user, keyring, pool, name = sys.argv[1:]
client = rados.Rados(conffile=conf, rados_id=user, conf={"keyring": keyring})
client.connect(timeout=10)
ioctx = client.open_ioctx(pool)
with rbd.Image(ioctx, name):
    print("open", flush=True)
    sys.stdin.read()
"""


class RBDCinderBackend(backends.ManagerMixin, base.CinderTestCase):
    """One cluster per class, a pool per test, the drop-in on it."""

    cluster: Any = None
    unavailable: str | None = None
    _pools = 0

    @classmethod
    def setUpClass(cls) -> None:
        super().setUpClass()
        try:
            import rados  # noqa: F401
        except ImportError as exc:
            cls.unavailable = "no python3-rados (%s): tox -e compat-rbd" % exc
            return
        from tests.functional import ceph_fixture
        cls.cluster, cls.unavailable = ceph_fixture.start_cluster()

    @classmethod
    def tearDownClass(cls) -> None:
        if cls.cluster is not None:
            cls.cluster.cleanup()
            cls.cluster = None
        super().tearDownClass()

    def setup_backend(self) -> None:
        if self.cluster is None:
            self.skip_or_fail(self.unavailable or "no Ceph cluster")
        # Cinder's RBD options are registered when its module is imported.
        import cinder.volume.drivers.rbd  # noqa: F401
        import rados
        import rbd

        from manageable_driver.drivers.rbd import options
        self.rbd = rbd
        type(self)._pools += 1
        self.pool = "p%d" % self._pools
        self.cluster.create_pool(self.pool)
        client = rados.Rados(conffile=self.cluster.conf_file,
                             rados_id=self.cluster.user,
                             conf={"keyring": self.cluster.keyring})
        client.connect(timeout=10)
        self.addCleanup(client.shutdown)
        self.ioctx = client.open_ioctx(self.pool)
        self.addCleanup(self.ioctx.close)
        backends.register_backend_options(options.rbd_opts)
        backends._common(self)
        group = backends.SHARED_GROUP
        self.override_config("volume_driver", DROPIN, group)
        self.override_config("rbd_pool", self.pool, group)
        self.override_config("rbd_ceph_conf", self.cluster.conf_file, group)
        self.override_config("rbd_user", self.cluster.user, group)
        self.override_config("rbd_keyring_conf", self.cluster.keyring, group)
        self.override_config("rados_connect_timeout", 10, group)

    def images(self) -> list[str]:
        return sorted(self.rbd.RBD().list(self.ioctx))

    def snaps(self, image: str) -> dict[str, bool]:
        with self.rbd.Image(self.ioctx, image, read_only=True) as opened:
            return {s["name"]: opened.is_protected_snap(s["name"])
                    for s in opened.list_snaps()}

    def image_size(self, image: str) -> int:
        with self.rbd.Image(self.ioctx, image, read_only=True) as opened:
            return int(opened.size())

    def write(self, image: str, data: bytes) -> None:
        with self.rbd.Image(self.ioctx, image) as opened:
            opened.write(data, 0)

    def read(self, image: str, length: int) -> bytes:
        with self.rbd.Image(self.ioctx, image, read_only=True) as opened:
            return bytes(opened.read(0, length))


class RBDDropInTest(backends.RefusalTests, RBDCinderBackend):

    def test_lifecycle(self) -> None:
        from cinder.tests.unit import utils
        volume = self.create()
        self.write(volume.name, PAYLOAD)
        # Unmanaged: the image stays, listed safe.
        self.manager.delete_volume(self.ctxt, volume, unmanage_only=True)
        entries = {e["reference"]["source-name"]: e for e in
                   self.manager.driver.get_manageable_volumes(
                       [], None, 100, 0, ["reference"], ["asc"])}
        self.assertEqual((True, 1), (entries[volume.name]["safe_to_manage"],
                                     entries[volume.name]["size"]))
        again = self.manage({"source-name": volume.name})
        self.assertEqual((1, volume.volume_type_id, volume.host),
                         (again.size, again.volume_type_id, again.host))
        self.assertEqual([again.name], self.images())
        self.assertEqual(PAYLOAD, self.read(again.name, len(PAYLOAD)))
        # Cinder's snapshot (protected), unmanaged, managed back by the
        # name Cinder gave it, as Tempest does.
        snapshot = utils.create_snapshot(self.ctxt, again.id,
                                         status="creating")
        self.manager.create_snapshot(self.ctxt, snapshot)
        self.manager.delete_snapshot(self.ctxt, snapshot, unmanage_only=True)
        listed = {e["reference"]["source-name"]: e for e in
                  self.manager.driver.get_manageable_snapshots(
                      [], None, 100, 0, ["reference"], ["asc"])}
        self.assertTrue(listed[snapshot.name]["safe_to_manage"],
                        listed[snapshot.name])
        adopted = utils.create_snapshot(self.ctxt, again.id,
                                        status="creating", volume_size=0)
        self.manager.manage_existing_snapshot(
            self.ctxt, adopted, {"source-name": snapshot.name})
        adopted.refresh()
        self.assertEqual(("available", 1),
                         (adopted.status, adopted.volume_size))
        # Protected, as Cinder's own managed snapshots are.
        self.assertEqual({adopted.name: True}, self.snaps(again.name))
        self.manager.delete_snapshot(self.ctxt, adopted)
        self.assertEqual({}, self.snaps(again.name))
        # Cinder's own extend and delete.
        self.manager.extend_volume(self.ctxt, again, 2, None)
        again.refresh()
        self.assertEqual(("available", 2), (again.status, again.size))
        self.assertEqual(2 * GiB, self.image_size(again.name))
        self.assertEqual(PAYLOAD, self.read(again.name, len(PAYLOAD)))
        self.manager.delete_volume(self.ctxt, again)
        self.assert_deleted(again)
        self.assertEqual([], self.images())


class RBDDropInConformanceTest(test_dropin_conformance.CinderObjects,
                               testing.ManageableDriverConformanceMixin,
                               RBDCinderBackend):

    def create_volume_object(self, name: str, size_bytes: int) -> None:
        self.rbd.RBD().create(self.ioctx, self.origin_name(name), size_bytes)

    def create_snapshot_object(self, name: str, size_bytes: int,
                               volume_name: str) -> None:
        with self.rbd.Image(self.ioctx,
                            self.origin_name(volume_name)) as opened:
            opened.create_snap(name)


class CinderRBDListingDefectTest(RBDCinderBackend):
    """Measured: Cinder 29's own RBD manage family on the same pool."""

    def entries(self, driver_path: str, kind: str) -> dict[str, Any]:
        self.override_config("volume_driver", driver_path,
                             backends.SHARED_GROUP)
        driver = backends.start_manager(self).driver
        listing = getattr(driver, "get_manageable_%ss" % kind)
        return {e["reference"]["source-name"]: e
                for e in listing([], None, 1000, 0, ["reference"], ["asc"])}

    def test_clone_parent_is_safe_to_cinder_not_to_the_drop_in(self) -> None:
        # "parent" has a protected snapshot "base" that "child" is a clone
        # of: adopting the parent would let Cinder delete or flatten what
        # the clone reads through.
        rbd = self.rbd.RBD()
        rbd.create(self.ioctx, "parent", 4 * MiB)
        with self.rbd.Image(self.ioctx, "parent") as opened:
            opened.create_snap("base")
            opened.protect_snap("base")
        rbd.clone(self.ioctx, "parent", "base", self.ioctx, "child")
        cinder = "cinder.volume.drivers.rbd.RBDDriver"
        theirs = self.entries(cinder, "volume")
        ours = self.entries(DROPIN, "volume")
        self.assertTrue(theirs["parent"]["safe_to_manage"], theirs["parent"])
        self.assertFalse(ours["parent"]["safe_to_manage"])
        snaps_theirs = self.entries(cinder, "snapshot")
        snaps_ours = self.entries(DROPIN, "snapshot")
        self.assertTrue(snaps_theirs["base"]["safe_to_manage"],
                        snaps_theirs["base"])
        self.assertFalse(snaps_ours["base"]["safe_to_manage"])

    def hold_open(self, image: str) -> subprocess.Popen[str]:
        """Another client process with ``image`` open until cleanup."""
        holder = subprocess.Popen(
            [sys.executable, "-c", HOLDER, self.cluster.conf_file,
             self.cluster.user, self.cluster.keyring, self.pool, image],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        self.addCleanup(holder.wait)
        self.addCleanup(holder.kill)
        assert holder.stdout is not None
        # The child exits (and stdout ends) if it cannot open the image.
        self.assertEqual("open\n", holder.stdout.readline())
        return holder

    def watchers(self, image: str) -> int:
        with self.rbd.Image(self.ioctx, image, read_only=True) as opened:
            return len(list(opened.watchers_list()))

    def test_image_another_client_has_open(self) -> None:
        from cinder import context
        from cinder import exception
        from cinder.tests.unit import utils
        self.rbd.RBD().create(self.ioctx, "busy", 4 * MiB)
        holder = self.hold_open("busy")
        self.assertEqual(1, self.watchers("busy"))
        ctxt = context.get_admin_context()
        ours = backends.start_manager(self)
        entry = {e["reference"]["source-name"]: e for e in
                 ours.driver.get_manageable_volumes(
                     [], None, 100, 0, ["reference"], ["asc"])}["busy"]
        self.assertFalse(entry["safe_to_manage"])
        self.assertIn("in use", entry["reason_not_safe"])
        volume = utils.create_volume(ctxt, volume_type_id=self.vt["id"],
                                     status="managing", size=0,
                                     host=ours.host)
        self.assertRaises(exception.ManageExistingInvalidReference,
                          ours.manage_existing, ctxt, volume,
                          {"source-name": "busy"})
        self.assertEqual(["busy"], self.images())
        cinder = "cinder.volume.drivers.rbd.RBDDriver"
        theirs = self.entries(cinder, "volume")["busy"]
        # Cinder's listing says so too; its manage does not ask.
        self.assertEqual((False, "volume in use"),
                         (theirs["safe_to_manage"],
                          theirs["reason_not_safe"]))
        self.override_config("volume_driver", cinder, backends.SHARED_GROUP)
        manager = backends.start_manager(self)
        volume = utils.create_volume(ctxt, volume_type_id=self.vt["id"],
                                     status="managing", size=0,
                                     host=manager.host)
        manager.manage_existing(ctxt, volume, {"source-name": "busy"})
        volume.refresh()
        # Renamed under the other client, which still has it open.
        self.assertEqual("available", volume.status)
        self.assertEqual([volume.name], self.images())
        self.assertEqual(1, self.watchers(volume.name))
        self.assertIsNone(holder.poll())
