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

"""Never leave the store (issue 13, §4, first part).

A bind mount of a directory outside the store (same filesystem, its own
mount) and a tmpfs (another filesystem) inside a configured directory:
their files are not listed and a reference into them is refused, so no
manage renames a file that lives outside the store.
"""

import os
import subprocess

import fixtures

from manageable_driver import exception
from tests.functional import test_file


class StoreBoundaryTest(test_file.FileTestCase):

    def setUp(self):
        super().setUp()
        self.require_tools("mount", "umount")
        self.driver.configuration.set_override("file_volume_scan_depth", 1)
        self.outside = self.useFixture(fixtures.TempDir()).path
        test_file.qemu_img("create", "-q", "-f", "raw",
                           os.path.join(self.outside, "canary.img"), "1M")
        self.create("inside.img", ["-f", "raw", "@", "1M"])

    def mount(self, *args):
        target = args[-1]
        os.mkdir(target)
        subprocess.run(["mount", *args], check=True, capture_output=True)
        self.addCleanup(subprocess.run, ["umount", "-l", target],
                        capture_output=True)

    def check_not_left(self, sub, name):
        listed = set(self.volumes())
        self.assertIn("inside.img", listed)
        self.assertNotIn(name, listed)
        exc = self.assertRaises(
            exception.ManageExistingInvalidReference,
            self.driver.manage_existing, {"id": test_file.V1[7:],
                                          "name": test_file.V1},
            {"source-name": self.path(sub, name)})
        self.assertIn("outside the configured directory", str(exc))

    def test_bind_mount_inside_the_store(self):
        self.mount("--bind", self.outside, self.path("bound"))
        self.check_not_left("bound", "canary.img")
        self.assertEqual(["canary.img"], os.listdir(self.outside))

    def test_other_filesystem_inside_the_store(self):
        self.mount("-t", "tmpfs", "tmpfs", self.path("tmp"))
        test_file.qemu_img("create", "-q", "-f", "raw",
                           self.path("tmp", "elsewhere.img"), "1M")
        self.check_not_left("tmp", "elsewhere.img")
        self.assertEqual(["elsewhere.img"], os.listdir(self.path("tmp")))
