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

"""Directory walk and in-use detection, on real files in a temp dir."""

import ast
import fcntl
import os
import socket
import threading

import fixtures

from manageable_driver.drivers.file import holders
from manageable_driver.drivers.file import scanner
from tests import base
from tests.unit import file_data

DATA = file_data.DATA


class ProcLocksTest(base.TestCase):

    def test_recorded_proc_locks(self):
        # Recorded on this machine: qemu-io holding base.qcow2 (OFD locks,
        # device fe:00, inode 2146430) and a process of pid 11217 holding
        # a POSIX lock on inode 2146418.
        with open(os.path.join(DATA, "proc-locks.txt")) as f:
            held = holders.parse_proc_locks(f.read())
        dev = os.makedev(0xfe, 0)
        self.assertEqual({(dev, 2146430): "locked (OFD lock)",
                          (dev, 2146418): "locked by pid 11217"}, held)

    def test_ignores_garbage(self):
        self.assertEqual({}, holders.parse_proc_locks("x\n\n1: POSIX\n"))


class WalkTest(base.TestCase):

    def setUp(self):
        super().setUp()
        self.dir = self.useFixture(fixtures.TempDir()).path
        file_data.Recording("v3.qcow2").write_to(self.path("base.qcow2"))

    def path(self, *names):
        return os.path.join(self.dir, *names)

    def listed(self, depth=0, in_use=None):
        return {image.relpath: image for image in scanner.walk(
            self.dir, depth, in_use or {})}

    def test_only_regular_files_are_listed(self):
        os.symlink("base.qcow2", self.path("inside-link"))
        os.symlink("/etc/passwd", self.path("outside-link"))
        os.mkfifo(self.path("fifo"))
        sock = socket.socket(socket.AF_UNIX)
        self.addCleanup(sock.close)
        sock.bind(self.path("sock"))
        os.mkdir(self.path("sub"))
        with open(self.path("sub", "deep.img"), "wb") as f:
            f.write(b"x" * 10)
        with open(self.path(".hidden"), "wb") as f:
            f.write(b"x")
        if os.geteuid() == 0:
            os.mknod(self.path("null"), 0o600 | 0o020000,
                     os.makedev(1, 3))
        # A fifo nobody writes to would block a plain open() forever: the
        # walk must return, so it runs in a thread with a deadline.
        result = {}
        walker = threading.Thread(target=lambda: result.update(
            self.listed()), daemon=True)
        walker.start()
        walker.join(10)
        self.assertFalse(walker.is_alive(), "the walk hung on a fifo")
        self.assertEqual(["base.qcow2"], sorted(result))
        self.assertEqual(["base.qcow2", "sub/deep.img"],
                         sorted(self.listed(depth=1)))

    def test_symlinked_subdir_is_not_followed(self):
        os.mkdir(self.path("real"))
        with open(self.path("real", "a.img"), "wb") as f:
            f.write(b"a")
        os.symlink("real", self.path("linked"))
        self.assertEqual(["base.qcow2", "real/a.img"],
                         sorted(self.listed(depth=3)))

    def test_unreadable_file_is_listed_with_the_error(self):
        with open(self.path("secret.img"), "wb") as f:
            f.write(b"x")
        os.chmod(self.path("secret.img"), 0)
        if os.geteuid() == 0:
            # Root reads any file whatever its mode: list as nobody, who
            # must be able to reach the test's (nested, 0700) temp dirs.
            # Only mkdtemp's own private dirs are opened up.
            path = self.dir
            while (os.path.basename(path).startswith("tmp")
                   and os.stat(path).st_mode & 0o7777 == 0o700):
                os.chmod(path, 0o755)  # noqa: S103 - test-made dir
                path = os.path.dirname(path)
            no_header, read_error = self.as_nobody(
                lambda: self.listed()["secret.img"])
        else:
            image = self.listed()["secret.img"]
            no_header, read_error = image.header is None, image.read_error
        self.assertIn("unreadable", read_error)
        self.assertTrue(no_header)

    @staticmethod
    def as_nobody(func):
        """Run ``func`` in a child that dropped root; return its
        ``(header is None, read_error)``."""
        reader, writer = os.pipe()
        pid = os.fork()
        if pid == 0:  # pragma: no cover - the child
            try:
                os.close(reader)
                os.setgroups([])
                os.setgid(65534)
                os.setuid(65534)
                image = func()
                os.write(writer, repr(
                    (image.header is None, image.read_error)).encode())
            except BaseException as exc:
                os.write(writer, repr((None, repr(exc))).encode())
            finally:
                os._exit(0)
        os.close(writer)
        with os.fdopen(reader) as f:
            text = f.read()
        os.waitpid(pid, 0)
        return ast.literal_eval(text)

    def test_in_use_by_this_process(self):
        images = self.listed()
        key = images["base.qcow2"].key
        with open(self.path("base.qcow2"), "rb"):
            in_use = holders.read_in_use([self.dir])
        self.assertEqual("open by pid %d" % os.getpid(), in_use.get(key))
        with open(self.path("base.qcow2"), "r+b") as f:
            fcntl.lockf(f, fcntl.LOCK_EX)
            in_use = holders.read_in_use([self.dir])
        self.assertEqual("locked by pid %d" % os.getpid(), in_use.get(key))
        self.assertEqual("locked by pid %d" % os.getpid(),
                         self.listed(in_use=in_use)["base.qcow2"].in_use)
        self.assertNotIn(key, holders.read_in_use([self.dir]))

    def test_relations(self):
        file_data.Recording("backed.qcow2").write_to(self.path("top.qcow2"))
        # backed.qcow2 was made over "v3.qcow2": give it that name.
        os.link(self.path("base.qcow2"), self.path("v3.qcow2"))
        file_data.Recording("datafile.qcow2").write_to(
            self.path("datafile.qcow2"))
        with open(self.path("datafile.raw"), "wb") as f:
            f.truncate(1024)
        inventory = scanner.scan([self.dir], 0, {})
        by_name = {i.relpath: i for i in inventory.images}
        self.assertEqual(
            ["top.qcow2"],
            [i.relpath for i in inventory.backing_of[by_name["v3.qcow2"]
                                                     .key]])
        self.assertEqual(
            ["datafile.qcow2"],
            [i.relpath for i in inventory.data_file_of[
                by_name["datafile.raw"].key]])
        self.assertEqual(2, by_name["base.qcow2"].nlink)

    def test_backing_fifo_is_not_opened(self):
        file_data.Recording("backed.qcow2").write_to(self.path("top.qcow2"))
        os.mkfifo(self.path("v3.qcow2"))
        inventory = scanner.scan([self.dir], 0, {})
        self.assertEqual({}, inventory.backing_of)

    def test_missing_directory_raises(self):
        self.assertRaises(OSError, scanner.scan, [self.path("nope")], 0, {})


class SteadyScanTest(base.TestCase):
    """A manage counts as in use only a holder still there a moment later:
    another process's scan opens each image for microseconds."""

    def setUp(self):
        super().setUp()
        self.dir = self.useFixture(fixtures.TempDir()).path
        for name in ("held.img", "glimpsed.img"):
            with open(os.path.join(self.dir, name), "wb") as f:
                f.write(b"x" * 512)

    def test_only_steady_holders_count(self):
        held = open(os.path.join(self.dir, "held.img"), "rb")
        self.addCleanup(held.close)
        glimpsed = open(os.path.join(self.dir, "glimpsed.img"), "rb")
        self.addCleanup(glimpsed.close)

        def pause(seconds):
            # Between the two real /proc readings, the brief holder (as a
            # listing in another process would) lets go.
            self.assertEqual(scanner.STEADY_PAUSE, seconds)
            glimpsed.close()

        self.useFixture(fixtures.MonkeyPatch(
            "manageable_driver.drivers.file.scanner.time.sleep", pause))
        images = {i.relpath: i.in_use for i in scanner.scan(
            [self.dir], 0, steady=True).images}
        self.assertEqual({"held.img": "open by pid %d" % os.getpid(),
                          "glimpsed.img": None}, images)

    def test_listing_reads_once(self):
        glimpsed = open(os.path.join(self.dir, "glimpsed.img"), "rb")
        self.addCleanup(glimpsed.close)
        images = {i.relpath: i.in_use
                  for i in scanner.scan([self.dir], 0).images}
        self.assertEqual("open by pid %d" % os.getpid(),
                         images["glimpsed.img"])
