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

"""The RBD driver when the cluster stops answering in the middle of a call.

A daemon is frozen with SIGSTOP (its sockets stay open, nothing answers:
a hung or partitioned OSD or mon), the call must fail within
``rados_connect_timeout`` with the library's exception, and, once the
daemon runs again, nothing was renamed. The OSD is frozen rather than
killed because its memstore would lose the pool on a restart.
"""

import time

from manageable_driver import exception
from tests.functional import rbd_helpers as helpers
from tests.functional import test_rbd

TIMEOUT = 3
# librados may retry once after the op timeout: generous, but bounded.
BOUND = 6 * TIMEOUT


class FaultTest(helpers.RBDTestCase):

    timeout = TIMEOUT

    def frozen(self, daemon, func, *args):
        """Run ``func`` with ``daemon`` frozen; return what it raised."""
        self.ceph.pause(daemon)
        try:
            began = time.monotonic()
            err = self.assertRaises(exception.VolumeBackendAPIException,
                                    func, *args)
            self.assertLess(time.monotonic() - began, BOUND)
        finally:
            self.ceph.resume(daemon)
        return err

    def test_listing_with_the_osd_frozen(self):
        self.create("plain", helpers.MiB)
        drv = self.driver()
        err = self.frozen("osd", drv.get_manageable_volumes, [],
                          *helpers.ALL)
        self.assertIn("rbd_directory", str(err))
        self.assertTrue(self.volumes()["plain"]["safe_to_manage"])

    def test_listing_with_the_osd_frozen_after_the_directory(self):
        self.create("plain", helpers.MiB)
        drv = self.driver()
        real_read = drv.cluster._read_headers

        def freeze_then_read(*args):
            # After rbd_directory was read, before the headers are.
            self.ceph.pause("osd")
            try:
                return real_read(*args)
            finally:
                self.ceph.resume("osd")

        drv.cluster._read_headers = freeze_then_read
        err = self.assertRaises(exception.VolumeBackendAPIException,
                                drv.get_manageable_volumes, [], *helpers.ALL)
        self.assertIn("timed out", str(err))
        self.assertTrue(self.volumes()["plain"]["safe_to_manage"])

    def test_listing_with_the_mon_frozen(self):
        self.create("plain", helpers.MiB)
        err = self.frozen("mon.a", self.driver().get_manageable_snapshots,
                          [], *helpers.ALL)
        self.assertIn("connecting to pool", str(err))

    def test_manage_with_the_osd_frozen_before_the_rename(self):
        self.create("plain", helpers.MiB)
        self.snap("plain", "s1")
        before = self.state()
        drv = self.driver()
        # The checks pass; the OSD stops answering as the rename starts.
        real_rename = drv.cluster.rename_image
        real_rename_snap = drv.cluster.rename_snapshot

        def freeze_then(real):
            def call(*args):
                self.ceph.pause("osd")
                try:
                    return real(*args)
                finally:
                    self.ceph.resume("osd")
            return call

        drv.cluster.rename_image = freeze_then(real_rename)
        drv.cluster.rename_snapshot = freeze_then(real_rename_snap)
        self.assertRaises(exception.VolumeBackendAPIException,
                          drv.manage_existing, test_rbd.volume(),
                          {"source-name": "plain"})
        self.assertRaises(exception.VolumeBackendAPIException,
                          drv.manage_existing_snapshot,
                          test_rbd.snapshot("plain"), {"source-name": "s1"})
        self.assertEqual(["plain"], self.names())
        self.assertEqual(["s1"], self.snap_names("plain"))
        after = self.state()
        for oid in before:
            # An interrupted open may leave only timestamps behind.
            self.assertEqual(
                {k: v for k, v in before[oid].items()
                 if not k.endswith("timestamp")},
                {k: v for k, v in after[oid].items()
                 if not k.endswith("timestamp")}, oid)
