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

"""The RBD driver against what other clients can do to a pool: names
librbd accepts but this driver cannot use, snapshots it cannot decode,
images moved to the trash or replaced just before a manage."""

import fixtures

from manageable_driver import exception
from manageable_driver.drivers.rbd import driver as driver_module
from manageable_driver.drivers.rbd import header
from tests.functional import rbd_helpers as helpers
from tests.functional import test_rbd

MiB = helpers.MiB
InvalidRef = exception.ManageExistingInvalidReference


class RBDAttackTest(helpers.RBDTestCase):

    def test_undecodable_snapshot_makes_its_image_unsafe(self):
        # librbd takes any bytes as a snapshot name; one that is not UTF-8
        # cannot be decoded, so neither its clones nor its protection are
        # known: the image may share its data.
        self.create("img", MiB)
        self.snap("img", b"bad\xff", protect=True)
        self.clone("img", b"bad\xff", "child")
        got = self.volumes()
        self.assertFalse(got["img"]["safe_to_manage"], got["img"])
        self.assertIn("cannot be decoded", got["img"]["reason_not_safe"])
        before = self.state()
        self.assertRaises(InvalidRef, self.driver().manage_existing,
                          test_rbd.volume(), {"source-name": "img"})
        self.assertEqual(before, self.state())

    def test_name_not_utf8_does_not_break_the_listing(self):
        self.create("plain", MiB)
        self.create(b"bad\xffname", MiB)
        self.create("long" * 60, MiB)
        self.create("zz", MiB)
        # Pages of two names in a reply too small for the long one: the
        # directory is read across the names that are not UTF-8 and the
        # reply grows for a long name.
        self.useFixture(fixtures.MockPatch(
            "manageable_driver.drivers.rbd.cluster.OMAP_PAGE", 2))
        self.useFixture(fixtures.MockPatch(
            "manageable_driver.drivers.rbd.cluster.DIR_LIST_REPLY", 64))
        got = self.volumes()
        self.assertEqual(["bad\udcffname", "long" * 60, "plain", "zz"],
                         sorted(got))
        self.assertTrue(got["plain"]["safe_to_manage"], got["plain"])
        self.assertTrue(got["zz"]["safe_to_manage"], got["zz"])
        for name in ("bad\udcffname", "long" * 60):
            self.assertIn("not a name this driver can manage",
                          got[name]["reason_not_safe"])
        # state() decodes object names as UTF-8: compare the directory.
        before = self.directory()
        self.assertRaises(InvalidRef, self.driver().manage_existing,
                          test_rbd.volume(), {"source-name": "bad\udcffname"})
        self.assertEqual(before, self.directory())

    def directory(self):
        return self.ioctx.execute("rbd_directory", "rbd", "dir_list",
                                  header.dir_list_request("", 100), 1 << 20)

    def test_names_manage_refuses_are_not_safe(self):
        # librbd takes them; the rbd tool or manage would not.
        names = ("a@b", "-dash", "x" * 96, "tab\there")
        for name in names:
            self.create(name, MiB)
        self.snap("a@b", "s@1")
        got = self.volumes()
        for name in names:
            self.assertIn("not a name this driver can manage",
                          got[name]["reason_not_safe"])
        snap = self.snapshots()[("a@b", "s@1")]
        self.assertIn("not a name this driver can manage",
                      snap["reason_not_safe"])

    def test_trashed_just_before_manage(self):
        self.create("plain", MiB)
        drv = self.driver()
        self.assertTrue(self.volumes(drv)["plain"]["safe_to_manage"])
        self.rbd.RBD().trash_move(self.ioctx, "plain")
        before = self.state()
        self.assertRaises(InvalidRef, drv.manage_existing,
                          test_rbd.volume(), {"source-name": "plain"})
        self.assertRaises(InvalidRef, drv.manage_existing_get_size,
                          test_rbd.volume(), {"source-name": "plain"})
        self.assertEqual(before, self.state())

    def test_clone_in_another_pool_shares_the_data(self):
        # A format 1 clone is recorded only in its own pool's
        # rbd_children: the scan of the parent's pool cannot see it.
        other = self.pool + "-kids"
        self.ceph.create_pool(other)
        client = self.rados.Rados(
            conffile=self.ceph.conf_file, rados_id=self.ceph.user,
            conf={"keyring": self.ceph.keyring,
                  "rbd_default_clone_format": "1"})
        client.connect(timeout=10)
        self.addCleanup(client.shutdown)
        self.create("parent", MiB)
        self.snap("parent", "base", protect=True)
        with client.open_ioctx(self.pool) as here, \
                client.open_ioctx(other) as kids:
            self.rbd.RBD().clone(here, "parent", "base", kids, "kid")
        got = self.volumes()
        self.assertIn("base (1)", got["parent"]["reason_not_safe"])
        snap = self.snapshots()[("parent", "base")]
        self.assertIn("protected with 1 clone(s)", snap["reason_not_safe"])
        before = self.state()
        self.assertRaises(InvalidRef, self.driver().manage_existing,
                          test_rbd.volume(), {"source-name": "parent"})
        self.assertEqual(before, self.state())

    def swap_after_check(self, name, make):
        """Just after manage has checked ``name`` (ensure_safe), put
        another image under that name, as a client that does not take
        the driver's lock could: real cluster calls at that point."""
        original = driver_module.RBDDriver.ensure_safe

        def ensure_safe(drv, *args, **kwargs):
            result = original(drv, *args, **kwargs)
            self.rbd.RBD().rename(self.ioctx, name, name + "-checked")
            make()
            return result
        self.useFixture(fixtures.MockPatchObject(
            driver_module.RBDDriver, "ensure_safe", ensure_safe))

    def test_image_replaced_just_before_the_rename(self):
        self.create("plain", MiB)

        def impostor():
            self.create("plain", 2 * MiB)
            self.hold_open("plain")
        self.swap_after_check("plain", impostor)
        err = self.assertRaises(InvalidRef, self.driver().manage_existing,
                                test_rbd.volume(), {"source-name": "plain"})
        self.assertIn("replaced", str(err))
        # The open impostor keeps its name; nothing is managed.
        self.assertEqual(["plain", "plain-checked"], self.names())

    def test_snapshot_image_replaced_just_before_the_rename(self):
        self.create("img", MiB)
        self.snap("img", "s1")

        def impostor():
            self.create("img", MiB)
            self.snap("img", "s1")
        self.swap_after_check("img", impostor)
        self.driver().manage_existing_snapshot(test_rbd.snapshot("img"),
                                               {"source-name": "s1"})
        # The snapshot checked is renamed, the impostor's is not.
        self.assertEqual(["snapshot-%s" % test_rbd.SNAPSHOT_ID],
                         self.snap_names("img-checked"))
        self.assertEqual(["s1"], self.snap_names("img"))
