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

"""Every destructive step acts on the verified object only (issue 13, §2).

A writer replaces the object between two steps of a manage call (through
the file driver's step hook, or by renaming LVs with the real lvrename
right before the driver's command runs): what it put there is never
unlinked, renamed or tagged.
"""

import os

from oslo_concurrency import processutils

from manageable_driver import exception
from manageable_driver.drivers.file import fsops
from manageable_driver.drivers.lvm import options
from tests.functional import test_file
from tests.functional import test_lvm

INTRUDER = b"someone else's file, written after the checks\n" * 64


class FileWriterTest(test_file.FileTestCase):

    def replace(self, name):
        """Rename a new file onto ``name``, as a concurrent writer."""
        tmp = self.path("intruder.tmp")
        with open(tmp, "wb") as f:
            f.write(INTRUDER)
        os.rename(tmp, self.path(name))

    def assert_intruder(self, name):
        with open(self.path(name), "rb") as f:
            self.assertEqual(INTRUDER, f.read())

    def test_link_fallback_never_unlinks_a_replaced_name(self):
        self.create("raw.img", test_file.IMAGES["raw.img"][0])
        with open(self.path("raw.img"), "r+b") as f:
            f.write(b"the image's data")
        digest = test_file.checksum(self.path("raw.img"))
        self.driver.use_renameat2 = False

        def hook(step):
            if step == "linked":
                self.replace("raw.img")
        self.driver.step_hook = hook
        self.driver.manage_existing({"id": test_file.V1[7:],
                                     "name": test_file.V1},
                                    {"source-name": self.path("raw.img")})
        self.assert_intruder("raw.img")
        self.assertEqual(digest, test_file.checksum(self.path(test_file.V1)))
        self.assertEqual(sorted(["raw.img", test_file.V1]),
                         sorted(os.listdir(self.dir)))

    def test_snapshot_manage_never_unlinks_a_replaced_name(self):
        for step in ("linked", "rebased"):
            with self.subTest(step=step):
                for name in os.listdir(self.dir):
                    os.unlink(self.path(name))
                self.create("base.qcow2", ["-f", "qcow2", "@", "8M"])
                self.create(test_file.V1, ["-f", "qcow2", "-b", "base.qcow2",
                                           "-F", "qcow2", "@"])
                digest = test_file.checksum(self.path("base.qcow2"))

                def hook(done, step=step):
                    if done == step:
                        self.replace("base.qcow2")
                self.driver.step_hook = hook
                self.driver.manage_existing_snapshot(
                    {"id": test_file.S1[9:], "name": test_file.S1,
                     "volume": {"name": test_file.V1}},
                    {"source-name": self.path("base.qcow2")})
                self.assert_intruder("base.qcow2")
                self.assertEqual(digest,
                                 test_file.checksum(self.path(test_file.S1)))
                chain = test_file.info(self.path(test_file.V1),
                                       "--backing-chain")
                self.assertEqual(test_file.S1,
                                 os.path.basename(chain[1]["filename"]))

    def test_unlink_verified_puts_another_file_back(self):
        self.create("raw.img", test_file.IMAGES["raw.img"][0])
        key = os.stat(self.path("raw.img"))
        self.replace("raw.img")
        fd = os.open(self.dir, os.O_RDONLY | os.O_DIRECTORY)
        self.addCleanup(os.close, fd)
        self.assertFalse(fsops.unlink_verified(
            fd, "raw.img", (key.st_dev, key.st_ino)))
        self.assert_intruder("raw.img")
        self.assertEqual(["raw.img"], os.listdir(self.dir))


class LVMWriterTest(test_lvm.LVMTestCase):
    """An admin renames LVs right before the driver's change runs."""

    def swapping_execute(self, command):
        """Run commands for real; right before the first ``command``,
        rename "plain" away and "odd" to "plain"."""
        swapped = []

        def execute(*cmd, **kwargs):
            if cmd[0] == command and not swapped:
                swapped.append(cmd)
                self.vg.lvm("lvrename", self.vg.vg_name, "plain", "moved")
                self.vg.lvm("lvrename", self.vg.vg_name, "odd", "plain")
            return processutils.execute(*cmd, **kwargs)
        return execute

    def test_rename_of_another_lv_is_undone(self):
        drv = self.driver(execute=self.swapping_execute("lvrename"))
        exc = self.assertRaises(exception.ManageExistingInvalidReference,
                                drv.manage_existing, test_lvm.volume(),
                                {"source-name": "plain"})
        self.assertIn("renamed back", str(exc))
        names = self.vg.lv_names()
        # The LV that took the name has it again; nothing is volume-*.
        self.assertIn("plain", names)
        self.assertIn("moved", names)
        self.assertNotIn("volume-%s" % test_lvm.VOLUME_ID, names)

    def test_tag_goes_to_the_verified_lv(self):
        drv = self.driver(options.MODE_TAG,
                          execute=self.swapping_execute("lvchange"))
        drv.manage_existing(test_lvm.volume(), {"source-name": "plain"})
        # By uuid: the verified LV (now "moved") carries the tag, the LV
        # renamed to "plain" does not.
        self.assertEqual("cinder-volume-id=%s" % test_lvm.VOLUME_ID,
                         self.vg.lv_tags("moved"))
        self.assertEqual("", self.vg.lv_tags("plain"))
