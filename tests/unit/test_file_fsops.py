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

"""Renaming without replacing, on real files in a temp dir."""

import ctypes
import errno
import os

import fixtures

from manageable_driver.drivers.file import fsops
from tests import base


def failing_renameat2(err):
    """A renameat2 answering ``err``, as a kernel or filesystem without
    RENAME_NOREPLACE does; this machine's filesystems all support it, so
    that answer cannot be caused for real here."""
    def call(*args):
        ctypes.set_errno(err)
        return -1
    return call


class RenameTest(base.TestCase):

    def setUp(self):
        super().setUp()
        self.dir = self.useFixture(fixtures.TempDir()).path
        self.fd = os.open(self.dir, os.O_RDONLY | os.O_DIRECTORY)
        self.addCleanup(os.close, self.fd)
        self.write("old", b"image")

    def write(self, name, data):
        with open(os.path.join(self.dir, name), "wb") as f:
            f.write(data)

    def read(self, name):
        with open(os.path.join(self.dir, name), "rb") as f:
            return f.read()

    def test_renames_atomically(self):
        steps = []
        fsops.rename_noreplace(self.fd, "old", "new", hook=steps.append)
        self.assertEqual(["renamed"], steps)
        self.assertEqual(["new"], os.listdir(self.dir))
        self.assertEqual(b"image", self.read("new"))

    def test_a_step_that_cannot_be_checked_is_undone(self):
        st = os.stat(os.path.join(self.dir, "old"))
        key = (st.st_dev, st.st_ino)
        real_stat = os.stat
        failures = []

        def stale(name, *args, **kwargs):
            # The first look at the new name fails; the undo's succeed.
            if name == "new" and not failures:
                failures.append(name)
                raise OSError(errno.ESTALE, os.strerror(errno.ESTALE), name)
            return real_stat(name, *args, **kwargs)

        for use_renameat2 in (True, False):
            with self.subTest(renameat2=use_renameat2):
                # No filesystem here answers ESTALE on demand: mocked.
                with fixtures.MonkeyPatch("os.stat", stale):
                    failures.clear()
                    self.assertRaises(OSError, fsops.is_file, self.fd,
                                      "new", key)
                    failures.clear()
                    exc = self.assertRaises(
                        fsops.NotTheFile, fsops.rename_noreplace, self.fd,
                        "old", "new", use_renameat2=use_renameat2, key=key)
                self.assertIn("cannot check new", exc.undone)
                self.assertEqual(["old"], os.listdir(self.dir))
                self.assertEqual(b"image", self.read("old"))

    def test_never_replaces(self):
        self.write("new", b"precious")
        for use_renameat2 in (True, False):
            with self.subTest(renameat2=use_renameat2):
                exc = self.assertRaises(
                    OSError, fsops.rename_noreplace, self.fd, "old", "new",
                    use_renameat2=use_renameat2)
                self.assertEqual(errno.EEXIST, exc.errno)
                self.assertEqual(b"precious", self.read("new"))
                self.assertEqual(b"image", self.read("old"))
                self.assertEqual(
                    1, os.stat(os.path.join(self.dir, "old")).st_nlink)

    def test_falls_back_to_link_without_renameat2(self):
        for err in (errno.EINVAL, errno.ENOSYS, errno.EOPNOTSUPP):
            with self.subTest(errno=err):
                self.useFixture(fixtures.MonkeyPatch(
                    "manageable_driver.drivers.file.fsops._renameat2",
                    failing_renameat2(err)))
                steps = []
                fsops.rename_noreplace(self.fd, "old", "new",
                                       hook=steps.append)
                self.assertEqual(["linked", "unlinked"], steps)
                self.assertEqual(["new"], os.listdir(self.dir))
                os.rename(os.path.join(self.dir, "new"),
                          os.path.join(self.dir, "old"))

    def test_other_renameat2_errors_are_raised(self):
        self.useFixture(fixtures.MonkeyPatch(
            "manageable_driver.drivers.file.fsops._renameat2",
            failing_renameat2(errno.EACCES)))
        exc = self.assertRaises(OSError, fsops.rename_noreplace, self.fd,
                                "old", "new")
        self.assertEqual(errno.EACCES, exc.errno)
        self.assertEqual(["old"], os.listdir(self.dir))

    def test_missing_source(self):
        exc = self.assertRaises(OSError, fsops.rename_noreplace, self.fd,
                                "gone", "new")
        self.assertEqual(errno.ENOENT, exc.errno)
        self.assertEqual(["old"], os.listdir(self.dir))
