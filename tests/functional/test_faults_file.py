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

"""A failure at every step of a file driver manage call loses nothing.

Each case makes one step fail, then checks the directory: the image is
there under its old or its new name (both names of one inode after an
interrupted link and unlink), its bytes are unchanged, the volume that
uses a snapshot still reads the same data through its chain, nothing else
appeared or changed, and calling manage again finishes the job.

Failures of qemu-img are real processes (see :mod:`.fault_injection`).
ENOSPC, EACCES and EEXIST are caused for real where the kernel can be made
to answer them on demand (a tmpfs out of inodes, a process without write
permission, an existing target); the same errors and EXDEV and EIO at every
filesystem call are also injected by replacing that one call, since no
filesystem here answers each of them on demand.  SIGKILL at each step of a
rename is in :mod:`tests.functional.test_file` (``CrashTest``); here the
process is also killed while qemu-img runs.
"""

import errno
import json
import os
import shutil
import subprocess
import tempfile
import textwrap

import fixtures
from oslo_config import cfg

from manageable_driver import exception
from manageable_driver import opts
from manageable_driver.drivers.file import FileDriver
from manageable_driver.drivers.file import fsops
from manageable_driver.drivers.file import options
from tests.functional import fault_injection as fi
from tests.functional import test_file as file_tests

V1 = file_tests.V1
S1 = file_tests.S1
VOLUME = {"name": V1}
SNAPSHOT = {"name": S1, "volume": {"name": V1}}
IMAGE_REF = {"source-name": "raw.img"}
BASE_REF = {"source-name": "base.qcow2"}


def failing(real, err, when):
    """Wrap ``real`` so that it raises ``err`` for arguments ``when``
    accepts."""
    def call(*args, **kwargs):
        if when(args):
            raise fi.os_error(err, args[0])
        return real(*args, **kwargs)
    return call


class FileFaultTestCase(file_tests.FileTestCase):

    def faulty_driver(self, execute=None, directory=None):
        conf = cfg.ConfigOpts()
        conf(args=[])
        conf.register_opts(opts.common_opts + options.file_opts)
        conf.set_override("file_volume_dirs", [directory or self.dir])
        conf.set_override("manageable_lock_path", self.lock_dir)
        conf.set_override("file_command_timeout", fi.TIMEOUT)
        return FileDriver(conf, execute=execute)

    def reset(self):
        for name in os.listdir(self.dir):
            os.unlink(self.path(name))

    def make_volume(self):
        """A raw image with random content; return (inode, checksum)."""
        self.create("raw.img", file_tests.IMAGES["raw.img"][0])
        with open(self.path("raw.img"), "r+b") as f:
            f.write(os.urandom(65536))
        return (os.stat(self.path("raw.img")).st_ino,
                file_tests.checksum(self.path("raw.img")))

    def make_chain(self):
        """base.qcow2 with data, used by volume-1; return (base inode,
        base checksum, checksum of what volume-1 reads)."""
        self.create("base.qcow2", ["-f", "qcow2", "@", "8M"])
        subprocess.run(["qemu-io", "-c", "write -P 0xab 0 1M",
                        self.path("base.qcow2")], check=True,
                       capture_output=True)
        self.create(V1, ["-f", "qcow2", "-b", "base.qcow2", "-F",
                                 "qcow2", "@"])
        return (os.stat(self.path("base.qcow2")).st_ino,
                file_tests.checksum(self.path("base.qcow2")),
                self.guest_view(V1))

    def guest_view(self, name):
        """Checksum of the data a VM reads from image ``name``."""
        out = os.path.join(self.lock_dir, "guest.raw")
        file_tests.qemu_img("convert", "-O", "raw", self.path(name), out)
        try:
            return file_tests.checksum(out)
        finally:
            os.unlink(out)

    def holders(self, ino):
        return {name for name in os.listdir(self.dir)
                if os.stat(self.path(name)).st_ino == ino}

    def assert_volume_intact(self, ino, digest):
        """The image is in the directory once (one inode), under raw.img,
        volume-1 or both, unchanged, and a fresh driver lists it."""
        names = self.holders(ino)
        self.assertTrue(names, "the image is gone")
        self.assertLessEqual(names, {"raw.img", V1})
        self.assertEqual(names, set(os.listdir(self.dir)))
        for name in names:
            self.assertEqual(digest, file_tests.checksum(self.path(name)))
        self.assertEqual(names, set(self.volumes(self.new_driver())))
        return names

    def finish_volume(self, ino, digest):
        """Manage again without faults: the image ends as volume-1."""
        if "raw.img" in self.holders(ino):
            self.new_driver().manage_existing(VOLUME, IMAGE_REF)
        self.assertEqual([V1], os.listdir(self.dir))
        self.assertEqual(digest, file_tests.checksum(self.path(V1)))

    def assert_chain_intact(self, ino, digest, guest):
        """The snapshot is one inode under base.qcow2, snapshot-1 or both,
        unchanged; volume-1 resolves its chain to it and reads the same
        data."""
        names = self.holders(ino)
        self.assertTrue(names, "the snapshot image is gone")
        self.assertLessEqual(names, {"base.qcow2", S1})
        self.assertEqual(names | {V1}, set(os.listdir(self.dir)))
        for name in names:
            self.assertEqual(digest, file_tests.checksum(self.path(name)))
        chain = file_tests.info(self.path(V1), "--backing-chain")
        self.assertEqual(2, len(chain))
        self.assertIn(os.path.basename(chain[1]["filename"]), names)
        self.assertEqual(guest, self.guest_view(V1))
        listed = self.new_driver().get_manageable_snapshots(
            [], None, 100, 0, ["reference"], ["asc"])
        self.assertLessEqual(
            {os.path.basename(s["reference"]["source-name"])
             for s in listed}, names)
        return names

    def finish_snapshot(self, ino, digest, guest):
        if "base.qcow2" in self.holders(ino):
            self.new_driver().manage_existing_snapshot(SNAPSHOT, BASE_REF)
        self.assertEqual([S1, V1],
                         sorted(os.listdir(self.dir)))
        chain = file_tests.info(self.path(V1), "--backing-chain")
        self.assertEqual(S1,
                         os.path.basename(chain[1]["filename"]))
        self.assertEqual(digest,
                         file_tests.checksum(self.path(S1)))
        self.assertEqual(guest, self.guest_view(V1))


class CommandFaultTest(FileFaultTestCase):
    """qemu-img exits non-zero, times out or prints garbage."""

    def test_volume_manage(self):
        for fault in fi.COMMAND_FAULTS:
            with self.subTest(fault=fault):
                self.reset()
                ino, digest = self.make_volume()
                execute = fi.FaultyExecute(fi.command_is("qemu-img", "info"),
                                           fault)
                self.assertRaises(exception.ManageableDriverException,
                                  self.faulty_driver(execute).manage_existing,
                                  VOLUME, IMAGE_REF)
                self.assertEqual(1, execute.injected)
                self.assertEqual({"raw.img"},
                                 self.assert_volume_intact(ino, digest))
                self.finish_volume(ino, digest)

    def test_snapshot_manage(self):
        for step in ("info", "rebase"):
            for fault in fi.COMMAND_FAULTS:
                with self.subTest(step=step, fault=fault):
                    self.reset()
                    ino, digest, guest = self.make_chain()
                    execute = fi.FaultyExecute(
                        fi.command_is("qemu-img", step), fault)
                    drv = self.faulty_driver(execute)
                    self.assertRaises(exception.ManageableDriverException,
                                      drv.manage_existing_snapshot,
                                      SNAPSHOT, BASE_REF)
                    self.assertEqual(1, execute.injected)
                    # A failed step is undone: the old name only.
                    self.assertEqual(
                        {"base.qcow2"},
                        self.assert_chain_intact(ino, digest, guest))
                    self.finish_snapshot(ino, digest, guest)


class OSErrorTest(FileFaultTestCase):
    """An OSError at each filesystem call of a manage.

    Mocked: no filesystem here answers ENOSPC, EACCES, EXDEV, EEXIST and
    EIO on demand at one chosen call; the real ones we can cause are in
    :class:`RealOSErrorTest`.
    """

    # A name is removed by setting it aside under a private name and
    # unlinking that (fsops.unlink_verified): the "unlink" faults hit both.

    def volume_patches(self, step, err):
        if step == "renameat2":
            return fixtures.MonkeyPatch(
                "manageable_driver.drivers.file.fsops.renameat2_noreplace",
                failing(fsops.renameat2_noreplace, err, lambda a: True))
        if step == "link":
            return fixtures.MonkeyPatch(
                "os.link", failing(os.link, err, lambda a: True))
        if step == "unlink":
            return fixtures.MonkeyPatch(
                "os.unlink", failing(os.unlink, err,
                                     lambda a: a[0] == "raw.img"
                                     or fsops.is_aside(a[0])))
        # Every header read fails.
        return fixtures.MonkeyPatch(
            "os.pread", failing(os.pread, err, lambda a: True))

    def test_volume_manage(self):
        count = 0
        for step in ("read", "renameat2", "link", "unlink"):
            for err in fi.OS_ERRORS:
                with self.subTest(step=step, err=errno.errorcode[err]):
                    self.reset()
                    ino, digest = self.make_volume()
                    drv = self.faulty_driver()
                    drv.use_renameat2 = step != "link" and step != "unlink"
                    with self.volume_patches(step, err):
                        self.assertRaises(
                            exception.ManageableDriverException,
                            drv.manage_existing, VOLUME, IMAGE_REF)
                    names = self.assert_volume_intact(ino, digest)
                    if step != "unlink":
                        self.assertEqual({"raw.img"}, names)
                    self.finish_volume(ino, digest)
                    count += 1
        self.assertEqual(20, count)

    def snapshot_patches(self, step, err):
        if step == "link":
            return fixtures.MonkeyPatch(
                "os.link", failing(os.link, err, lambda a: True))
        if step == "unlink":
            return fixtures.MonkeyPatch(
                "os.unlink", failing(os.unlink, err,
                                     lambda a: a[0] == "base.qcow2"
                                     or fsops.is_aside(a[0])))
        if step == "undo":
            # The rebase fails (a real failing command, below) and so does
            # removing the link made for it.
            return fixtures.MonkeyPatch(
                "os.unlink", failing(os.unlink, err, lambda a: a[0] == S1
                                     or fsops.is_aside(a[0])))
        return fixtures.MonkeyPatch(
            "os.pread", failing(os.pread, err, lambda a: True))

    def test_snapshot_manage(self):
        count = 0
        for step in ("read", "link", "unlink", "undo"):
            for err in fi.OS_ERRORS:
                with self.subTest(step=step, err=errno.errorcode[err]):
                    self.reset()
                    ino, digest, guest = self.make_chain()
                    execute = (fi.FaultyExecute(
                        fi.command_is("qemu-img", "rebase"), "exit")
                        if step == "undo" else None)
                    drv = self.faulty_driver(execute)
                    with self.snapshot_patches(step, err):
                        self.assertRaises(
                            exception.ManageableDriverException,
                            drv.manage_existing_snapshot, SNAPSHOT,
                            BASE_REF)
                    names = self.assert_chain_intact(ino, digest, guest)
                    if step in ("read", "link"):
                        self.assertEqual({"base.qcow2"}, names)
                    self.finish_snapshot(ino, digest, guest)
                    count += 1
        self.assertEqual(20, count)


# Runs a manage call as uid/gid 65534 (after importing as root: the
# interpreter's own files may be unreadable to that user); prints the
# exception's class and message as JSON.
AS_NOBODY = textwrap.dedent("""
    V1 = "volume-6e0b5a62-0000-4000-8000-000000000001"
    S1 = "snapshot-6e0b5a62-0000-4000-8000-000000000001"
    import encodings.ascii, json, os, sys
    from oslo_config import cfg
    from oslo_concurrency import processutils
    from manageable_driver import exception
    from manageable_driver.drivers.file import FileDriver
    directory, lock_dir, action = sys.argv[1:4]
    conf = cfg.ConfigOpts()
    conf(args=[])
    driver = FileDriver(conf)
    conf.set_override("file_volume_dirs", [directory])
    conf.set_override("manageable_lock_path", lock_dir)
    os.setgroups([])
    os.setgid(65534)
    os.setuid(65534)
    try:
        if action == "volume":
            driver.manage_existing({"name": V1},
                                   {"source-name": "raw.img"})
        else:
            driver.manage_existing_snapshot(
                {"name": S1, "volume": {"name": V1}},
                {"source-name": "base.qcow2"})
    except exception.ManageableDriverException as exc:
        print(json.dumps([type(exc).__name__, str(exc)]))
        sys.exit(3)
    print(json.dumps(["ok", ""]))
""")


class RealOSErrorTest(FileFaultTestCase):
    """The kernel answers ENOSPC, EACCES and EEXIST for real."""

    def test_enospc_tmpfs_out_of_inodes(self):
        self.require_tools("mount", "umount")
        # tmpfs counts a hard link against nr_inodes: a full one refuses
        # the link step with ENOSPC.
        for kind, inodes in (("volume", 2), ("snapshot", 3)):
            with self.subTest(kind=kind):
                mnt = self.useFixture(fixtures.TempDir()).path
                subprocess.run(["mount", "-t", "tmpfs", "-o",
                                "size=32m,nr_inodes=%d" % inodes, "tmpfs",
                                mnt], check=True)
                self.addCleanup(subprocess.run, ["umount", "-l", mnt],
                                check=False)
                self.dir = mnt
                drv = self.faulty_driver()
                drv.use_renameat2 = False
                if kind == "volume":
                    ino, digest = self.make_volume()
                    exc = self.assertRaises(
                        exception.VolumeBackendAPIException,
                        drv.manage_existing, VOLUME, IMAGE_REF)
                    self.assertEqual({"raw.img"},
                                     self.assert_volume_intact(ino, digest))
                else:
                    ino, digest, guest = self.make_chain()
                    exc = self.assertRaises(
                        exception.VolumeBackendAPIException,
                        drv.manage_existing_snapshot, SNAPSHOT, BASE_REF)
                    self.assertEqual(
                        {"base.qcow2"},
                        self.assert_chain_intact(ino, digest, guest))
                self.assertIn("No space left on device", str(exc))
                # Space is freed: the retry finishes.
                subprocess.run(["mount", "-o", "remount,nr_inodes=100",
                                mnt], check=True)
                if kind == "volume":
                    self.finish_volume(ino, digest)
                else:
                    self.finish_snapshot(ino, digest, guest)

    def as_nobody(self, action):
        # Lock files the root test process made are the service user's
        # too (an unwritable lock file is an error of its own).
        for entry in [""] + os.listdir(self.lock_dir):
            os.chown(os.path.join(self.lock_dir, entry), 65534, 65534)
        child = fi.spawn(AS_NOBODY, self.dir, self.lock_dir, action)
        out, err = child.communicate(timeout=60)
        self.assertIn(child.returncode, (0, 3), err)
        return json.loads(out)

    def test_eacces_for_an_unprivileged_process(self):
        # Out of the per-test temporary directory, which is 0700: the
        # unprivileged process must be able to reach the image directory.
        for attr in ("dir", "lock_dir"):
            path = tempfile.mkdtemp(dir="/tmp")
            self.addCleanup(shutil.rmtree, path, ignore_errors=True)
            setattr(self, attr, path)
        # (what is denied, kind, exception, words of its message)
        cases = (
            ("dir-write", "volume", "VolumeBackendAPIException",
             "Permission denied"),
            ("dir-write", "snapshot", "VolumeBackendAPIException",
             "Permission denied"),
            ("image-read", "volume", "ManageExistingInvalidReference",
             "cannot be opened: Permission denied"),
            ("dir-read", "volume", "VolumeBackendAPIException",
             "cannot open image directory"),
            # fs.protected_hardlinks: no link to another user's file
            # (EPERM); fsops words it as a filesystem without hard links.
            ("foreign-owner", "snapshot", "VolumeBackendAPIException",
             "Operation not permitted"),
        )
        for denied, kind, exc_name, words in cases:
            with self.subTest(denied=denied, kind=kind):
                self.reset()
                os.chmod(self.dir, 0o700 if denied == "dir-read" else 0o755)
                if kind == "volume":
                    ino, digest = self.make_volume()
                    if denied == "image-read":
                        os.chmod(self.path("raw.img"), 0o600)
                else:
                    ino, digest, guest = self.make_chain()
                if denied == "dir-write":
                    # The images belong to the service user, as they do
                    # under Cinder; only the directory is not writable.
                    for entry in os.listdir(self.dir):
                        os.chown(self.path(entry), 65534, 65534)
                name, message = self.as_nobody(kind)
                self.assertEqual(exc_name, name, message)
                self.assertIn(words, message)
                if kind == "volume":
                    self.assertEqual({"raw.img"},
                                     self.assert_volume_intact(ino, digest))
                    self.finish_volume(ino, digest)
                else:
                    self.assertEqual(
                        {"base.qcow2"},
                        self.assert_chain_intact(ino, digest, guest))
                    self.finish_snapshot(ino, digest, guest)

    def test_eexist_target_taken(self):
        for kind, renameat2 in (("volume", True), ("volume", False),
                                ("snapshot", True)):
            with self.subTest(kind=kind, renameat2=renameat2):
                self.reset()
                drv = self.faulty_driver()
                drv.use_renameat2 = renameat2
                target = V1 if kind == "volume" else S1
                if kind == "volume":
                    ino, digest = self.make_volume()
                    call = (drv.manage_existing, VOLUME, IMAGE_REF)
                else:
                    ino, digest, guest = self.make_chain()
                    call = (drv.manage_existing_snapshot, SNAPSHOT,
                            BASE_REF)
                # The canary exists after the checks, just before the
                # rename, as another writer would make it.
                real_info = drv.qemu_img.info

                def info_then_canary(path, image_format,
                                     real_info=real_info, target=target):
                    result = real_info(path, image_format)
                    with open(self.path(target), "wb") as f:
                        f.write(b"canary")
                    return result
                drv.qemu_img.info = info_then_canary
                exc = self.assertRaises(exception.VolumeBackendAPIException,
                                        *call)
                self.assertIn("already exists", str(exc))
                with open(self.path(target), "rb") as f:
                    self.assertEqual(b"canary", f.read())
                os.unlink(self.path(target))
                if kind == "volume":
                    self.assertEqual({"raw.img"},
                                     self.assert_volume_intact(ino, digest))
                    self.finish_volume(ino, digest)
                else:
                    self.assertEqual(
                        {"base.qcow2"},
                        self.assert_chain_intact(ino, digest, guest))
                    self.finish_snapshot(ino, digest, guest)


# One manage call in a child that stops before a qemu-img command (prints
# the marker, then waits to be killed).
STOP_BEFORE_COMMAND = textwrap.dedent("""
    V1 = "volume-6e0b5a62-0000-4000-8000-000000000001"
    S1 = "snapshot-6e0b5a62-0000-4000-8000-000000000001"
    import sys, time
    from oslo_concurrency import processutils
    from oslo_config import cfg
    from manageable_driver.drivers.file import FileDriver
    directory, lock_dir, action, stop = sys.argv[1:5]
    def execute(*cmd, **kwargs):
        if cmd[:2] == ("qemu-img", stop):
            print("before-" + stop, flush=True)
            time.sleep(600)
        return processutils.execute(*cmd, **kwargs)
    conf = cfg.ConfigOpts()
    conf(args=[])
    driver = FileDriver(conf, execute=execute)
    conf.set_override("file_volume_dirs", [directory])
    conf.set_override("manageable_lock_path", lock_dir)
    if action == "volume":
        driver.manage_existing({"name": V1},
                               {"source-name": "raw.img"})
    else:
        driver.manage_existing_snapshot(
            {"name": S1, "volume": {"name": V1}},
            {"source-name": "base.qcow2"})
""")


class KillTest(FileFaultTestCase):
    """SIGKILL with the lock held, before qemu-img runs (the steps after
    each rename step are in test_file.CrashTest)."""

    def test_killed_before_each_command(self):
        for kind, stop in (("volume", "info"), ("snapshot", "info"),
                           ("snapshot", "rebase")):
            with self.subTest(kind=kind, stop=stop):
                self.reset()
                if kind == "volume":
                    ino, digest = self.make_volume()
                else:
                    ino, digest, guest = self.make_chain()
                child = fi.spawn(STOP_BEFORE_COMMAND, self.dir,
                                 self.lock_dir, kind, stop)
                fi.kill_when(self, child, "before-" + stop)
                # The killed process's lock is gone with it: a fresh
                # driver lists and finishes without waiting.
                if kind == "volume":
                    self.assertEqual({"raw.img"},
                                     self.assert_volume_intact(ino, digest))
                    self.finish_volume(ino, digest)
                else:
                    names = self.assert_chain_intact(ino, digest, guest)
                    self.assertIn("base.qcow2", names)
                    self.finish_snapshot(ino, digest, guest)
