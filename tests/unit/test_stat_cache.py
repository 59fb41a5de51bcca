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

"""Headers reused by stamp: real files, changed in every way a stamp
must notice."""

import os

import fixtures

from manageable_driver import stat_cache
from manageable_driver.drivers.file import scanner
from tests import base
from tests.unit import file_data


class HeaderCacheTest(base.TestCase):

    def setUp(self):
        super().setUp()
        self.dir = self.useFixture(fixtures.TempDir()).path
        file_data.Recording("backed.qcow2").write_to(self.path("a.qcow2"))
        with open(self.path("b.raw"), "wb") as f:
            f.truncate(1 << 20)
        self.known = scanner.HeaderCache()

    def path(self, name):
        return os.path.join(self.dir, name)

    def settle(self):
        # Files of a test are seconds old at most; count them as settled
        # (a constant, not a behaviour, is replaced).
        self.useFixture(fixtures.MockPatchObject(stat_cache, "SETTLED_NS",
                                                 0))

    def listed(self):
        return {image.relpath: image for image in scanner.scan(
            [self.dir], 0, {}, known=self.known).images}

    def test_fresh_files_are_not_kept(self):
        self.listed()
        self.assertEqual(0, len(self.known))

    def test_unchanged_files_reuse_their_header(self):
        self.settle()
        first = self.listed()
        self.assertEqual(2, len(self.known))
        again = self.listed()
        self.assertIs(first["a.qcow2"].header, again["a.qcow2"].header)
        self.assertEqual(first, again)
        self.assertEqual(scanner.scan([self.dir], 0, {}).images,
                         sorted(again.values(), key=lambda i: i.relpath))

    def test_rewritten_file_is_read_again(self):
        self.settle()
        first = self.listed()
        # Same size, same inode, new contents: a raw file becomes qcow2.
        file_data.Recording("backed.qcow2").write_to(self.path("c"))
        with open(self.path("c"), "rb") as f:
            data = f.read()
        with open(self.path("b.raw"), "r+b") as f:
            f.write(data)
        st = os.stat(self.path("b.raw"))
        # Even with the old mtime put back: the ctime changed.
        os.utime(self.path("b.raw"), ns=(st.st_atime_ns,
                                         os.stat(self.path("a.qcow2"))
                                         .st_mtime_ns))
        again = self.listed()
        self.assertEqual("raw", first["b.raw"].header.format)
        self.assertEqual("qcow2", again["b.raw"].header.format)

    def test_replaced_file_is_read_again(self):
        self.settle()
        self.listed()
        os.rename(self.path("a.qcow2"), self.path("old"))
        with open(self.path("a.qcow2"), "wb") as f:
            f.truncate(4096)
        self.assertEqual("raw", self.listed()["a.qcow2"].header.format)

    def test_link_swapped_in_is_not_followed(self):
        self.settle()
        self.listed()
        os.unlink(self.path("b.raw"))
        os.symlink(self.path("a.qcow2"), self.path("b.raw"))
        self.assertEqual(["a.qcow2"],
                         sorted(self.listed()))

    def test_removed_files_are_forgotten(self):
        self.settle()
        self.listed()
        os.unlink(self.path("b.raw"))
        self.listed()
        self.assertEqual(1, len(self.known))

    def test_in_use_is_read_every_time(self):
        self.settle()
        key = self.listed()["a.qcow2"].key
        images = {image.relpath: image for image in scanner.scan(
            [self.dir], 0, {key: "locked by pid 7"},
            known=self.known).images}
        self.assertEqual("locked by pid 7", images["a.qcow2"].in_use)
