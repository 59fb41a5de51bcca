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

"""The life of a volume on each drop-in driver, through the operator's
client on the deployment of tools/deploy/run.sh: created by Cinder,
unmanaged, listed safe to manage, managed back, extended and deleted by
Cinder's own driver code, its data where it must be at every step.

The data is a marker the test writes into the backing object itself (the
LV's first extent on the loop device, the share's image file, the RBD
image), read back from the object that holds the managed volume.
"""

from __future__ import annotations

import os
import subprocess
import uuid

from oslo_utils import units

from tests.deploy import client

MARKER_SIZE = 64


def lvm(*argv: str) -> str:
    env = dict(os.environ, LVM_SYSTEM_DIR=os.environ[
        "MD_DEPLOY_LVM_SYSTEM_DIR"], LVM_SUPPRESS_FD_WARNINGS="1")
    return subprocess.run(list(argv), env=env, capture_output=True,
                          text=True, check=True).stdout.strip()


class LifecycleMixin:
    """The checks, for a DeployTestCase that says where a volume's data
    lives (not a test case itself: it has no backend)."""

    backend = ""

    def object_exists(self, volume_id: str) -> bool:
        raise NotImplementedError

    def object_size(self, volume_id: str) -> int:
        """Size in bytes of the backing object of the volume."""
        raise NotImplementedError

    def write(self, volume_id: str, data: bytes) -> None:
        """Write ``data`` at the start of the volume's backing object."""
        raise NotImplementedError

    def read(self, volume_id: str, size: int) -> bytes:
        raise NotImplementedError

    def listed(self, host: str, name: str) -> dict[str, str]:
        """The manageable-list row whose reference names ``name``."""
        rows = client.parse_table(self.cinder(
            "manageable-list", host, "--detailed", "True"))
        for row in rows:
            ref = client.reference(row["reference"])
            if os.path.basename(ref.get("source-name", "")) == name:
                return row
        raise AssertionError("%s not listed on %s: %s" % (name, host, rows))

    def test_create_unmanage_manage_extend_delete(self) -> None:
        created = client.properties(self.cinder(
            "create", "--volume-type", self.backend, "--availability-zone",
            "drop-in", "--name", "life-%s" % uuid.uuid4().hex[:8], "1"))
        old_id = created["id"]
        original = self.wait_volume(old_id, ("available",))
        host = original["os-vol-host-attr:host"]
        self.assertTrue(host.startswith("%s@%s#" % (self.host, self.backend)),
                        host)
        self.assertTrue(self.object_exists(old_id))
        self.assertEqual(units.Gi, self.object_size(old_id))
        marker = os.urandom(MARKER_SIZE)
        self.write(old_id, marker)

        # While Cinder manages it, the listing says so.
        row = self.listed(host, "volume-%s" % old_id)
        self.assertEqual("False", row["safe_to_manage"])
        self.assertEqual(old_id, row["cinder_id"])

        self.cinder("unmanage", old_id)
        self.wait_gone(old_id)
        self.assertTrue(self.object_exists(old_id))
        row = self.listed(host, "volume-%s" % old_id)
        self.assertEqual("True", row["safe_to_manage"])
        self.assertEqual("1", row["size"])

        managed = client.properties(self.cinder(
            "manage", "--id-type", "source-name", "--name", "managed",
            "--volume-type", self.backend, "--availability-zone", "drop-in",
            host, "volume-%s" % old_id))
        new_id = managed["id"]
        shown = self.wait_volume(new_id, ("available",))
        for key in ("size", "volume_type", "os-vol-host-attr:host",
                    "availability_zone"):
            self.assertEqual(original[key], shown[key], key)
        # Renamed to Cinder's name for the new volume, data and all.
        self.assertFalse(self.object_exists(old_id))
        self.assertEqual(marker, self.read(new_id, MARKER_SIZE))

        # Extend and delete: Cinder's own driver code on the adopted object.
        self.cinder("extend", new_id, "2")
        shown = self.wait_volume(new_id, ("available",))
        self.assertEqual("2", shown["size"])
        self.assertEqual(2 * units.Gi, self.object_size(new_id))
        self.assertEqual(marker, self.read(new_id, MARKER_SIZE))
        self.cinder("delete", new_id)
        self.wait_gone(new_id)
        self.assertFalse(self.object_exists(new_id))


class DropInLVMLifecycleTest(LifecycleMixin, client.DeployTestCase):
    """manageable_driver.cinder.lvm.LVMVolumeDriver. Without device-mapper
    no LV has a device node: the marker goes to the LV's first extent on
    its physical volume (a loop device), found from LVM's own report."""

    backend = "md-lvm"

    def lv(self, volume_id: str) -> str:
        return "%s/volume-%s" % (os.environ["MD_DEPLOY_DROPIN_VG"],
                                 volume_id)

    def object_exists(self, volume_id: str) -> bool:
        names = lvm("lvs", "--noheadings", "-o", "lv_name",
                    os.environ["MD_DEPLOY_DROPIN_VG"]).split()
        return "volume-%s" % volume_id in names

    def object_size(self, volume_id: str) -> int:
        return int(lvm("lvs", "--noheadings", "--units", "b", "--nosuffix",
                       "-o", "lv_size", self.lv(volume_id)))

    def _where(self, volume_id: str) -> tuple[str, int]:
        """The device and byte offset of the LV's first extent."""
        ranges = lvm("lvs", "--noheadings", "--segments", "-o",
                     "seg_pe_ranges", self.lv(volume_id)).split()
        device, _, extents = ranges[0].partition(":")
        first = int(extents.split("-")[0])
        pe_start = int(lvm("pvs", "--noheadings", "--units", "b",
                           "--nosuffix", "-o", "pe_start", device))
        extent = int(lvm("vgs", "--noheadings", "--units", "b", "--nosuffix",
                         "-o", "vg_extent_size",
                         os.environ["MD_DEPLOY_DROPIN_VG"]))
        return device, pe_start + first * extent

    def write(self, volume_id: str, data: bytes) -> None:
        device, offset = self._where(volume_id)
        fd = os.open(device, os.O_WRONLY)
        try:
            os.pwrite(fd, data, offset)
            os.fsync(fd)
        finally:
            os.close(fd)

    def read(self, volume_id: str, size: int) -> bytes:
        device, offset = self._where(volume_id)
        fd = os.open(device, os.O_RDONLY)
        try:
            return os.pread(fd, size, offset)
        finally:
            os.close(fd)


class DropInNFSLifecycleTest(LifecycleMixin, client.DeployTestCase):
    """manageable_driver.cinder.nfs.NfsDriver: the image files of the
    share (its export directory, bind-mounted where Cinder mounts it)."""

    backend = "md-nfs"

    def path(self, volume_id: str) -> str:
        return os.path.join(os.environ["MD_DEPLOY_NFS_EXPORT"],
                            "volume-%s" % volume_id)

    def object_exists(self, volume_id: str) -> bool:
        return os.path.exists(self.path(volume_id))

    def object_size(self, volume_id: str) -> int:
        # Raw (Cinder's default for NFS): the file's size is the volume's.
        return os.stat(self.path(volume_id)).st_size

    def write(self, volume_id: str, data: bytes) -> None:
        with open(self.path(volume_id), "r+b") as f:
            f.write(data)

    def read(self, volume_id: str, size: int) -> bytes:
        with open(self.path(volume_id), "rb") as f:
            return f.read(size)


class DropInRBDLifecycleTest(LifecycleMixin, client.DeployTestCase):
    """manageable_driver.cinder.rbd.RBDDriver: the images of the
    ``volumes`` pool of the deployment's Ceph, read and written as
    client.admin with python-rbd."""

    backend = "md-rbd"

    def setUp(self) -> None:
        super().setUp()
        import rados
        self.rados = rados.Rados(conffile=os.environ["MD_DEPLOY_CEPH_CONF"],
                                 name="client.admin")
        self.rados.connect(timeout=30)
        self.addCleanup(self.rados.shutdown)
        self.ioctx = self.rados.open_ioctx("volumes")
        self.addCleanup(self.ioctx.close)

    def image(self, volume_id: str):  # type: ignore[no-untyped-def]
        import rbd
        return rbd.Image(self.ioctx, "volume-%s" % volume_id)

    def object_exists(self, volume_id: str) -> bool:
        import rbd
        return "volume-%s" % volume_id in rbd.RBD().list(self.ioctx)

    def object_size(self, volume_id: str) -> int:
        with self.image(volume_id) as image:
            return int(image.size())

    def write(self, volume_id: str, data: bytes) -> None:
        with self.image(volume_id) as image:
            image.write(data, 0)
            image.flush()

    def read(self, volume_id: str, size: int) -> bytes:
        with self.image(volume_id) as image:
            return bytes(image.read(0, size))
