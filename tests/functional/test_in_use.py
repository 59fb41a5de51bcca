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

"""What "in use" sees, and that seeing it never hangs (issue 13, §4).

Real holders: a loop device attached with losetup, a process mapping an
image writable, a process of another PID (and mount) namespace made by
unshare.  And a bindfs FUSE mount outside the store whose daemon is
stopped with SIGSTOP, as a hard NFS mount whose server went away: a
process holds a file open on it and an image of the store names a
backing file on it; listing and manage run in a child process with a
deadline, so that a hang fails the test instead of the run.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time

import fixtures

from manageable_driver import exception
from tests.functional import test_file

V1 = test_file.V1

# Prints one line once it holds the file, then waits to be killed.
HOLD_OPEN = r"""
import sys, time
f = open(sys.argv[1], "rb")
print("holding", flush=True)
time.sleep(3600)
"""

# Maps the file writable and shared, closes its descriptor (only the
# mapping holds the file), then waits.  libc's mmap: Python's mmap module
# keeps a descriptor of its own.
MAP_WRITABLE = r"""
import ctypes, mmap, os, sys, time
libc = ctypes.CDLL(None, use_errno=True)
libc.mmap.restype = ctypes.c_void_p
libc.mmap.argtypes = [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int,
                      ctypes.c_int, ctypes.c_int, ctypes.c_long]
fd = os.open(sys.argv[1], os.O_RDWR)
addr = libc.mmap(None, 4096, mmap.PROT_READ | mmap.PROT_WRITE,
                 mmap.MAP_SHARED, fd, 0)
if addr in (None, ctypes.c_void_p(-1).value):
    raise OSError(ctypes.get_errno(), "mmap")
os.close(fd)
print("holding", flush=True)
time.sleep(3600)
"""

# Lists the volumes of one directory, then manages one of them, printing
# what each returned.
LIST_AND_MANAGE = r"""
import json, sys
from oslo_config import cfg
from manageable_driver.drivers.file import FileDriver
directory, lock_dir, name, volume = sys.argv[1:5]
conf = cfg.ConfigOpts()
conf(args=[])
driver = FileDriver(conf)
conf.set_override("file_volume_dirs", [directory])
conf.set_override("manageable_lock_path", lock_dir)
entries = driver.get_manageable_volumes([], None, 100, 0, ["reference"],
                                        ["asc"])
print(json.dumps({e["reference"]["source-name"]: e["reason_not_safe"]
                  for e in entries}), flush=True)
driver.manage_existing({"name": volume}, {"source-name": name})
print(json.dumps("managed"), flush=True)
"""

# Seconds a child listing may take before it counts as hung.
DEADLINE = 60


class InUseTestCase(test_file.FileTestCase):

    def start_holder(self, script, path, wrapper=()):
        """Start ``script`` on ``path``; return it once it holds the
        file."""
        proc = subprocess.Popen([*wrapper, sys.executable, "-c", script,
                                 path], stdout=subprocess.PIPE, text=True)
        self.addCleanup(proc.wait)
        self.addCleanup(proc.kill)
        self.assertEqual("holding\n", proc.stdout.readline())
        return proc

    def reason(self, name):
        return self.volumes()[name]["reason_not_safe"]

    def assert_refused(self, name):
        self.assertRaises(exception.ManageExistingInvalidReference,
                          self.driver.manage_existing, {"name": V1},
                          {"source-name": self.path(name)})
        self.assertIn(name, os.listdir(self.dir))
        self.assertNotIn(V1, os.listdir(self.dir))


class LoopDeviceTest(InUseTestCase):
    """A loop device holds its backing file without any process having
    it open: the old scan of open files did not see it."""

    def test_attached_image_is_in_use(self):
        self.require_tools("losetup")
        self.create("attached.img", ["-f", "raw", "@", "1M"])
        self.create("free.img", ["-f", "raw", "@", "1M"])
        device = subprocess.run(
            ["losetup", "--find", "--show", self.path("attached.img")],
            check=True, capture_output=True, text=True).stdout.strip()
        self.addCleanup(subprocess.run, ["losetup", "-d", device],
                        check=False)
        # Renamed after attaching: the kernel's name follows the file.
        os.rename(self.path("attached.img"), self.path("moved.img"))
        self.assertEqual("attached to %s" % device, self.reason("moved.img"))
        self.assertIsNone(self.reason("free.img"))
        self.assert_refused("moved.img")


class MappedTest(InUseTestCase):
    """A process that mapped an image writable and closed its descriptor
    still writes it: the old scan of open files did not see it."""

    def test_mapped_writable_image_is_in_use(self):
        self.create("mapped.img", ["-f", "raw", "@", "1M"])
        holder = self.start_holder(MAP_WRITABLE, self.path("mapped.img"))
        self.assertEqual("mapped writable by pid %d" % holder.pid,
                         self.reason("mapped.img"))
        self.assert_refused("mapped.img")


class OtherNamespaceTest(InUseTestCase):
    """A process of another PID and mount namespace holding an image open
    is seen from this one (its mounts are another namespace's copies,
    with their own mount ids)."""

    def test_holder_in_another_pid_namespace(self):
        self.require_tools("unshare")
        self.create("held.img", ["-f", "raw", "@", "1M"])
        holder = self.start_holder(
            HOLD_OPEN, self.path("held.img"),
            wrapper=("unshare", "--pid", "--fork", "--mount-proc",
                     "--kill-child"))
        reason = self.reason("held.img")
        self.assertRegex(reason, r"^open by pid [0-9]+$")
        # The pid is this namespace's, not the holder's own (1 there):
        # unshare forked it.
        self.assertNotEqual("open by pid 1", reason)
        self.assertNotEqual("open by pid %d" % holder.pid, reason)
        self.assert_refused("held.img")


class StoppedMountTest(InUseTestCase):
    """A FUSE mount outside the store whose daemon is stopped answers no
    request: whoever looks at a file there waits until it is continued.
    Listing and manage of the store must not look."""

    def setUp(self):
        super().setUp()
        self.require_tools("bindfs", "mountpoint", "umount")
        export = self.useFixture(fixtures.TempDir()).path
        self.mnt = os.path.join(self.useFixture(fixtures.TempDir()).path,
                                "mnt")
        os.mkdir(self.mnt)
        daemon = subprocess.Popen(["bindfs", "-f", export, self.mnt])
        self.addCleanup(daemon.wait)
        self.addCleanup(subprocess.run, ["umount", "-l", self.mnt],
                        check=False, capture_output=True)
        for _ in range(200):
            if subprocess.run(["mountpoint", "-q", self.mnt]).returncode \
                    == 0:
                break
            time.sleep(0.05)
        else:
            self.fail("bindfs did not mount %s" % self.mnt)
        self.daemon = daemon

    def outside_image(self):
        """An image on the mount; its path."""
        os.mkdir(os.path.join(self.mnt, "sub"))
        path = os.path.join(self.mnt, "sub", "base.qcow2")
        test_file.qemu_img("create", "-q", "-f", "qcow2", path, "1M")
        return path

    def list_and_manage(self):
        """Stop the daemon; list and manage free.img in a child process.

        :returns: the listing's reasons, by path.
        """
        self.create("free.img", ["-f", "raw", "@", "1M"])
        os.kill(self.daemon.pid, signal.SIGSTOP)
        # Cleanups run last first: the daemon answers again before a
        # holder (whose exit flushes its file) is killed and the mount
        # is unmounted.
        self.addCleanup(os.kill, self.daemon.pid, signal.SIGCONT)
        # Past FUSE's attribute and name caches (1 s): looking at the
        # mount now asks the stopped daemon.
        time.sleep(1.5)
        child = subprocess.Popen(
            [sys.executable, "-c", LIST_AND_MANAGE, self.dir,
             self.lock_dir, self.path("free.img"), V1],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
            cwd=test_file.REPO)
        try:
            out, err = child.communicate(timeout=DEADLINE)
        except subprocess.TimeoutExpired:
            child.kill()
            child.communicate()
            self.fail("listing or manage hung on a stopped FUSE mount "
                      "outside the store")
        self.assertEqual(0, child.returncode, err)
        listed, managed = [json.loads(line) for line in out.splitlines()]
        self.assertEqual("managed", managed)
        self.assertIn(V1, os.listdir(self.dir))
        return listed

    def test_file_held_open_on_the_mount(self):
        self.start_holder(HOLD_OPEN, self.outside_image())
        self.create("other.img", ["-f", "raw", "@", "1M"])
        self.assertEqual({self.path("other.img"): None,
                          self.path("free.img"): None},
                         self.list_and_manage())

    def test_backing_name_on_the_mount(self):
        base = self.outside_image()
        self.create("top.qcow2", ["-f", "qcow2", "-u", "-b", base, "-F",
                                  "qcow2", "@", "1M"])
        # The same name through a link of the store.
        os.symlink(os.path.dirname(base), self.path("link"))
        self.create("linked.qcow2", ["-f", "qcow2", "-u", "-b",
                                     "link/base.qcow2", "-F", "qcow2", "@",
                                     "1M"])
        # Another mount of the store's filesystem could show this image
        # there: a suspect, decided from the name alone.
        self.create("base.qcow2", ["-f", "qcow2", "@", "1M"])
        self.assertEqual(
            {self.path("top.qcow2"): "backing file present: %s" % base,
             self.path("linked.qcow2"):
                 "backing file present: link/base.qcow2",
             self.path("base.qcow2"):
                 "may be the backing or data file of: linked.qcow2, which "
                 "names 'link/base.qcow2', outside file_volume_dirs (not "
                 "looked at); top.qcow2, which names %r, outside "
                 "file_volume_dirs (not looked at)" % base,
             self.path("free.img"): None},
            self.list_and_manage())


class RelativeToQemuTest(InUseTestCase):
    """A backing name relative to qemu's working directory may reach an
    image of any configured directory, not only of the image's own."""

    def test_suspects_in_every_directory(self):
        other = self.useFixture(fixtures.TempDir()).path
        self.driver.configuration.set_override(
            "file_volume_dirs", [self.dir, other])
        self.driver.configuration.set_override("file_volume_scan_depth", 1)
        self.create("top.qcow2", ["-f", "qcow2", "-u", "-b",
                                  "file:base.qcow2", "-F", "qcow2", "@",
                                  "1M"])
        self.create("json.qcow2", [
            "-f", "qcow2", "-u", "-b",
            'json:{"driver": "qcow2", "file": {"driver": "file", '
            '"filename": "sub/deep.qcow2"}}', "-F", "qcow2", "@", "1M"])
        for name in ("base.qcow2", "sub/deep.qcow2", "other.qcow2"):
            os.makedirs(os.path.dirname(os.path.join(other, name)),
                        exist_ok=True)
            test_file.qemu_img("create", "-q", "-f", "qcow2",
                               os.path.join(other, name), "1M")
        reasons = {e["reference"]["source-name"]: e["reason_not_safe"]
                   for e in self.driver.get_manageable_volumes(
                       [], None, 100, 0, ["reference"], ["asc"])}
        self.assertEqual(
            "may be the backing or data file of: %s, which names "
            "'file:base.qcow2' relative to qemu's working directory"
            % self.path("top.qcow2"),
            reasons[os.path.join(other, "base.qcow2")])
        self.assertIn("may be the backing or data file of: %s, which names "
                      "'json:" % self.path("json.qcow2"),
                      reasons[os.path.join(other, "sub", "deep.qcow2")])
        self.assertIsNone(reasons[os.path.join(other, "other.qcow2")])
        for name in ("base.qcow2", "sub/deep.qcow2"):
            self.assertRaises(exception.ManageExistingInvalidReference,
                              self.driver.manage_existing, {"name": V1},
                              {"source-name": os.path.join(other, name)})
        self.assertEqual(["base.qcow2", "other.qcow2", "sub"],
                         sorted(os.listdir(other)))
