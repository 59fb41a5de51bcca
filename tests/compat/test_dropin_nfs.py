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

"""The NFS drop-in driver under Cinder's own VolumeManager.

This kernel has no NFS client. A local directory stands in for the
export: it is bind-mounted where Cinder's NFS driver mounts the share
(``realpath(nfs_mount_point_base)/md5(share)``) before the driver starts,
so os-brick finds the share mounted and never runs ``mount``; the
``mount.nfs`` Cinder's setup runs to check for an NFS client is a stub on
PATH. Everything above the mount point is Cinder's and the library's code,
unmodified: Cinder creates, snapshots (qcow2 overlays and ``.info``
records), extends and deletes; the library lists, manages and unmanages.
"""

from __future__ import annotations

from collections.abc import Callable
import hashlib
import json
import os
import signal
import stat
import subprocess
import tempfile
from typing import Any

import fixtures

from tests.compat import backends
from tests.compat import base

DROPIN = "manageable_driver.cinder.nfs.NfsDriver"
GiB = 1024 ** 3
PAYLOAD = b"nfs drop-in data\n" * 256
# How long a listing of a handful of files may take before it is called
# hung: one takes well under a second here.
LISTING_DEADLINE = 20.0


class NfsShare(fixtures.Fixture):
    """A directory mounted where Cinder's NFS driver mounts ``share``."""

    def __init__(self, test: base.CinderTestCase) -> None:
        super().__init__()
        self.test = test

    def _setUp(self) -> None:
        self.share = "127.0.0.1:/md-export-%s" % os.urandom(4).hex()
        self.base = os.path.realpath(
            self.useFixture(fixtures.TempDir()).path)
        self.export = self.useFixture(fixtures.TempDir()).path
        self.mount_point = os.path.join(
            self.base, hashlib.md5(self.share.encode(),
                                   usedforsecurity=False).hexdigest())
        os.mkdir(self.mount_point)
        subprocess.run(["mount", "--bind", self.export, self.mount_point],
                       check=True)
        self.addCleanup(subprocess.run, ["umount", self.mount_point],
                        check=True)
        stubs = self.useFixture(fixtures.TempDir()).path
        stub = os.path.join(stubs, "mount.nfs")
        with open(stub, "w") as f:
            f.write("#!/bin/sh\n# Stands in for the NFS client's helper: "
                    "Cinder's setup only checks that it runs.\nexit 0\n")
        os.chmod(stub, 0o700)
        self.useFixture(fixtures.EnvironmentVariable(
            "PATH", stubs + os.pathsep + os.environ["PATH"]))
        self.shares_config = os.path.join(
            self.useFixture(fixtures.TempDir()).path, "nfs_shares")
        with open(self.shares_config, "w") as f:
            f.write(self.share + "\n")
        # Cinder's privsep calls (its image format check) run in this
        # process, which is root, as its privsep daemon would run them:
        # Cinder's test base refuses to start the daemon.
        import cinder.privsep
        context = cinder.privsep.sys_admin_pctxt
        context.set_client_mode(False)
        self.addCleanup(context.set_client_mode, True)

    def path(self, name: str) -> str:
        return os.path.join(self.mount_point, name)

    def names(self) -> list[str]:
        return sorted(os.listdir(self.mount_point))


def nfs_dropin_backend(test: base.CinderTestCase,
                       driver: str = DROPIN) -> NfsShare:
    """An NFS share (see :class:`NfsShare`) behind ``driver``."""
    test.require_root()
    test.require_tools("mount", "umount", "qemu-img")
    # Cinder's NFS options are registered in [backend_defaults] when its
    # module is imported.
    import cinder.volume.drivers.nfs  # noqa: F401

    from manageable_driver.drivers.file import options
    share = test.useFixture(NfsShare(test))
    backends.register_backend_options(options.file_opts)
    backends._common(test)
    group = backends.SHARED_GROUP
    test.override_config("volume_driver", driver, group)
    test.override_config("nfs_shares_config", share.shares_config, group)
    test.override_config("nfs_mount_point_base", share.base, group)
    test.override_config("nfs_snapshot_support", True, group)
    # "auto" on a fresh database turns both on, and then Cinder refuses
    # snapshots.
    test.override_config("nas_secure_file_operations", "false", group)
    test.override_config("nas_secure_file_permissions", "false", group)
    return share


class NfsDropInTest(backends.ManagerMixin, base.CinderTestCase):

    def setup_backend(self) -> None:
        self.share = nfs_dropin_backend(self)

    def create_snapshot(self, volume: Any) -> Any:
        from cinder.tests.unit import utils
        snapshot = utils.create_snapshot(self.ctxt, volume.id,
                                         status="creating")
        self.manager.create_snapshot(self.ctxt, snapshot)
        snapshot.refresh()
        self.assertEqual("available", snapshot.status)
        return snapshot

    def info(self, volume: Any) -> dict[str, str]:
        with open(self.share.path(volume.name + ".info")) as f:
            data: dict[str, str] = json.load(f)
        return data

    def volumes(self) -> dict[str, dict[str, Any]]:
        return {os.path.basename(e["reference"]["source-name"]): e
                for e in self.manager.driver.get_manageable_volumes(
                    [], None, 1000, 0, ["reference"], ["asc"])}

    def snapshots(self) -> dict[str, dict[str, Any]]:
        return {e["reference"]["source-id"]: e
                for e in self.manager.driver.get_manageable_snapshots(
                    [], None, 1000, 0, ["reference"], ["asc"])}

    def head(self, name: str) -> bytes:
        with open(self.share.path(name), "rb") as f:
            return f.read(len(PAYLOAD))

    def test_is_cinders_nfs_driver(self) -> None:
        from cinder.volume.drivers import nfs as cinder_nfs
        driver = self.manager.driver
        self.assertIsInstance(driver, cinder_nfs.NfsDriver)
        self.assertEqual([self.share.share], driver._mounted_shares)
        self.assertEqual([self.share.mount_point],
                         driver.manageable_backend.directories)

    def test_lifecycle(self) -> None:
        from cinder import exception
        from cinder.tests.unit import utils
        # Created by Cinder; data written where a VM would.
        volume = self.create()
        self.assertEqual(self.share.share, volume.provider_location)
        with open(self.share.path(volume.name), "r+b") as f:
            f.write(PAYLOAD)
        # Unmanaged: the file stays, listed safe.
        self.manager.delete_volume(self.ctxt, volume, unmanage_only=True)
        self.assertRaises(exception.VolumeNotFound, volume.refresh)
        entry = self.volumes()[volume.name]
        self.assertEqual((True, None, 1), (entry["safe_to_manage"],
                                           entry["cinder_id"],
                                           entry["size"]))
        # Managed back by name, as Tempest does: same size, type, host,
        # the share recorded where Cinder's driver looks for it.
        again = self.manage({"source-name": volume.name})
        self.assertEqual(
            (1, volume.volume_type_id, volume.host, self.share.share),
            (again.size, again.volume_type_id, again.host,
             again.provider_location))
        self.assertEqual(PAYLOAD, self.head(again.name))
        self.assertNotIn(volume.name, self.share.names())
        # Cinder's own snapshot: an overlay and an .info record.
        snapshot = self.create_snapshot(again)
        overlay = "%s.%s" % (again.name, snapshot.id)
        self.assertEqual({"active": overlay, snapshot.id: overlay},
                         self.info(again))
        # Unmanaged: the record stays, and lists the snapshot as safe by
        # the id it records.
        self.manager.delete_snapshot(self.ctxt, snapshot,
                                     unmanage_only=True)
        self.assertEqual({"active": overlay, snapshot.id: overlay},
                         self.info(again))
        entry = self.snapshots()[snapshot.id]
        self.assertEqual((True, 1), (entry["safe_to_manage"],
                                     entry["size"]))
        self.assertEqual({"source-name": self.share.path(again.name)},
                         entry["source_reference"])
        # Managed back by source-id, as Tempest's snapshot test is
        # configured to: the record now names the new snapshot.
        adopted = utils.create_snapshot(self.ctxt, again.id,
                                        status="creating", volume_size=0)
        self.manager.manage_existing_snapshot(
            self.ctxt, adopted, {"source-id": snapshot.id})
        adopted.refresh()
        self.assertEqual(("available", 1),
                         (adopted.status, adopted.volume_size))
        self.assertEqual({"active": overlay, adopted.id: overlay},
                         self.info(again))
        # Cinder's own snapshot delete merges it as one of its own.
        self.manager.delete_snapshot(self.ctxt, adopted)
        self.assertEqual({"active": again.name}, self.info(again))
        self.assertNotIn(overlay, self.share.names())
        self.assertEqual(PAYLOAD, self.head(again.name))
        # Cinder's own extend and delete.
        self.manager.extend_volume(self.ctxt, again, 2, None)
        again.refresh()
        self.assertEqual(("available", 2), (again.status, again.size))
        self.assertEqual(2 * GiB,
                         os.stat(self.share.path(again.name)).st_size)
        self.assertEqual(PAYLOAD, self.head(again.name))
        self.manager.delete_volume(self.ctxt, again)
        self.assert_deleted(again)
        self.assertEqual([], self.share.names())

    def test_volume_with_snapshots_is_not_managed(self) -> None:
        from cinder import exception
        volume = self.create()
        self.create_snapshot(volume)
        self.manager.delete_volume(self.ctxt, volume, unmanage_only=True)
        before = self.share.names()
        listed = self.volumes()
        # The volume's first file backs the overlay; the overlay and the
        # record are Cinder's files of that volume.
        for name in before:
            self.assertFalse(listed[name]["safe_to_manage"], listed[name])
        other = self.new_volume()
        self.assertRaises(exception.ManageExistingInvalidReference,
                          self.manager.manage_existing, self.ctxt, other,
                          {"source-name": volume.name})
        self.assertEqual(before, self.share.names())

    def test_record_of_no_snapshot_moves_with_the_volume(self) -> None:
        # Once its last snapshot is deleted, Cinder keeps volume-V.info
        # saying volume-V is active: managed back, the record follows the
        # new name, and Cinder's own code reads it.
        volume = self.create()
        self.manager.delete_snapshot(self.ctxt, self.create_snapshot(volume))
        self.assertEqual({"active": volume.name}, self.info(volume))
        self.manager.delete_volume(self.ctxt, volume, unmanage_only=True)
        again = self.manage({"source-name": volume.name})
        self.assertEqual([again.name, again.name + ".info"],
                         self.share.names())
        self.assertEqual({"active": again.name}, self.info(again))
        snapshot = self.create_snapshot(again)
        self.manager.delete_snapshot(self.ctxt, snapshot)
        self.manager.delete_volume(self.ctxt, again)
        self.assert_deleted(again)
        self.assertEqual([], self.share.names())

    def test_snapshot_of_another_volume_is_refused(self) -> None:
        from cinder import exception
        from cinder.tests.unit import utils
        first = self.create()
        second = self.create()
        snapshot = self.create_snapshot(first)
        self.manager.delete_snapshot(self.ctxt, snapshot,
                                     unmanage_only=True)
        adopted = utils.create_snapshot(self.ctxt, second.id,
                                        status="creating", volume_size=0)
        self.assertRaises(exception.ManageExistingInvalidReference,
                          self.manager.manage_existing_snapshot,
                          self.ctxt, adopted, {"source-id": snapshot.id})
        overlay = "%s.%s" % (first.name, snapshot.id)
        self.assertEqual({"active": overlay, snapshot.id: overlay},
                         self.info(first))

    def test_managed_snapshot_id_is_refused(self) -> None:
        # While Cinder manages the snapshot, its record is not free.
        from cinder import exception
        from cinder.tests.unit import utils
        volume = self.create()
        snapshot = self.create_snapshot(volume)
        entry = self.manager.driver.get_manageable_snapshots(
            [snapshot], None, 1000, 0, ["reference"], ["asc"])[0]
        self.assertEqual((False, snapshot.id),
                         (entry["safe_to_manage"], entry["cinder_id"]))
        adopted = utils.create_snapshot(self.ctxt, volume.id,
                                        status="creating", volume_size=0)
        self.assertRaises(exception.ManageExistingAlreadyManaged,
                          self.manager.manage_existing_snapshot,
                          self.ctxt, adopted, {"source-id": snapshot.id})
        overlay = "%s.%s" % (volume.name, snapshot.id)
        self.assertEqual({"active": overlay, snapshot.id: overlay},
                         self.info(volume))

if base.CINDER_MISSING is None:
    from cinder.volume.drivers import nfs as cinder_nfs
    from cinder.volume.drivers import remotefs as cinder_remotefs

    class CinderManageNfsDriver(  # type: ignore[no-redef]
            cinder_remotefs.RemoteFSManageableVolumesMixin,
            cinder_nfs.NfsDriver):
        """Cinder's own NFS driver with Cinder's own RemoteFS manage
        mixin, which no in-tree driver uses in Cinder 29."""


class CinderRemoteFSListingDefectTest(base.CinderTestCase):
    """Measured: Cinder 29's RemoteFS manage listing on the same share."""

    def test_cinders_nfs_driver_has_no_manage_code(self) -> None:
        from cinder.volume.drivers import nfs

        from manageable_driver.cinder import nfs as dropin
        # The base class's stubs (they use no state: any self will do),
        # and no listing at all.
        self.assertEqual("BaseVD.manage_existing",
                         nfs.NfsDriver.manage_existing.__qualname__)
        self.assertRaises(NotImplementedError, nfs.NfsDriver.manage_existing,
                          object(), None, {"source-name": "volume-x"})
        self.assertRaises(NotImplementedError, nfs.NfsDriver.unmanage,
                          object(), None)
        self.assertFalse(hasattr(nfs.NfsDriver, "get_manageable_volumes"))
        self.assertFalse(hasattr(nfs.NfsDriver, "get_manageable_snapshots"))
        self.assertTrue(hasattr(dropin.NfsDriver, "get_manageable_volumes"))

    def listing(self, driver: str) -> dict[str, dict[str, Any]]:
        self.override_config("volume_driver", driver,
                             backends.SHARED_GROUP)
        manager = backends.start_manager(self)
        return {os.path.basename(e["reference"]["source-name"]): e
                for e in manager.driver.get_manageable_volumes(
                    [], None, 1000, 0, ["reference"], ["asc"])}

    def test_backing_file_of_another_image_is_safe_to_cinder(self) -> None:
        share = nfs_dropin_backend(self)
        subprocess.run(["qemu-img", "create", "-q", "-f", "qcow2",
                        share.path("base.qcow2"), "64M"], check=True)
        subprocess.run(["qemu-img", "create", "-q", "-f", "qcow2", "-F",
                        "qcow2", "-b", "base.qcow2", share.path("top.qcow2")],
                       check=True, cwd=share.mount_point)
        theirs = self.listing(__name__ + ".CinderManageNfsDriver")
        ours = self.listing(DROPIN)
        # Managing base.qcow2 would let Cinder write into the file
        # top.qcow2 reads through.
        self.assertTrue(theirs["base.qcow2"]["safe_to_manage"])
        self.assertFalse(ours["base.qcow2"]["safe_to_manage"])
        self.assertIn("backing file of", ours["base.qcow2"]["reason_not_safe"])


    def test_fifo_hangs_cinders_listing_not_the_drop_ins(self) -> None:
        share = nfs_dropin_backend(self)
        subprocess.run(["qemu-img", "create", "-q", "-f", "raw",
                        share.path("plain.raw"), "64M"], check=True)
        cinder = __name__ + ".CinderManageNfsDriver"
        # The same child, without the fifo, finishes.
        self.assertEqual({"plain.raw": True}, self.listing_in_child(cinder))
        fifo = share.path("stuck.raw")
        os.mkfifo(fifo)
        # Removed before the mount goes, whatever happens to the listing.
        self.addCleanup(os.unlink, fifo)
        theirs = self.listing_in_child(cinder)
        # Cinder's format check (its format inspector, a privsep call run
        # on every file before qemu-img) opens the fifo for reading and
        # waits for a writer that never comes; nothing bounds its time.
        self.assertIsNone(theirs, "Cinder's listing finished: %s" % theirs)
        ours = self.listing_in_child(DROPIN)
        self.assertIsNotNone(ours, "the drop-in's listing hung")
        assert ours is not None
        # Skipped by its directory entry type: never opened, never listed.
        self.assertEqual(["plain.raw"], sorted(ours))
        self.assertTrue(ours["plain.raw"])
        self.assertTrue(stat.S_ISFIFO(os.lstat(fifo).st_mode))

    def listing_in_child(self, driver: str) -> dict[str, bool] | None:
        """Which names ``driver`` lists as safe, or None if the listing
        has not finished after LISTING_DEADLINE seconds.
        """
        self.override_config("volume_driver", driver,
                             backends.SHARED_GROUP)
        listing = backends.start_manager(self).driver.get_manageable_volumes

        def safe() -> dict[str, bool]:
            return {os.path.basename(e["reference"]["source-name"]):
                    e["safe_to_manage"]
                    for e in listing([], None, 1000, 0, ["reference"],
                                     ["asc"])}
        result = call_with_deadline(self, safe, LISTING_DEADLINE)
        return result if result is None else json.loads(result)


def call_with_deadline(test: base.CinderTestCase, call: Callable[[], Any],
                       seconds: float) -> str | None:
    """Run ``call`` in a forked child; its result as JSON, or None if it
    has not returned after ``seconds``.

    The child leads a process group of its own, so the test's cleanup
    kills whatever it started too (qemu-img waiting on a fifo), and the
    run never hangs. The waiting uses the original, unpatched ``time``
    and ``os``: the child shares the parent's eventlet hub descriptors.
    """
    import eventlet.patcher
    real_os = eventlet.patcher.original("os")
    real_time = eventlet.patcher.original("time")
    out = test.useFixture(fixtures.TempDir()).path
    result = os.path.join(out, "result.json")
    pid = real_os.fork()
    if pid == 0:
        status = 1
        try:
            real_os.setpgid(0, 0)
            data = json.dumps(call())
            with tempfile.NamedTemporaryFile("w", dir=out,
                                             delete=False) as f:
                f.write(data)
            real_os.rename(f.name, result)
            status = 0
        finally:
            real_os._exit(status)
    try:
        # Here too, so that the group exists before the parent may kill it.
        real_os.setpgid(pid, pid)
    except OSError:
        pass  # the child got there first, or has exec'd nothing: its own

    def kill_group() -> None:
        try:
            real_os.killpg(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        try:
            real_os.waitpid(pid, 0)
        except ChildProcessError:
            pass  # reaped below
    test.addCleanup(kill_group)
    end = real_time.monotonic() + seconds
    while real_time.monotonic() < end:
        done, status = real_os.waitpid(pid, real_os.WNOHANG)
        if done:
            test.assertEqual(0, status, "the child failed")
            with open(result) as f:
                return f.read()
        real_time.sleep(0.1)
    return None
