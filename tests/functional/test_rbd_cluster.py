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

"""The private Ceph cluster the RBD tests run on is what they assume."""

import json

from tests.functional import ceph_fixture


class ClusterTest(ceph_fixture.ClusterTestCase):

    def test_cinder_user_creates_images_in_its_pool(self):
        import rbd
        rbd.RBD().create(self.ioctx, "probe", 4 * 1024 * 1024)
        self.assertEqual(["probe"], rbd.RBD().list(self.ioctx))
        with rbd.Image(self.ioctx, "probe") as image:
            image.write(b"data", 0)
            self.assertEqual(b"data", image.read(0, 4))

    def test_single_node_on_loopback(self):
        osds = self.ceph.mon_command("osd dump")
        pool, = [p for p in osds["pools"] if p["pool_name"] == self.pool]
        self.assertEqual(1, pool["size"])
        self.assertEqual(1, len(osds["osds"]))
        monmap = self.ceph.mon_command("mon dump")
        self.assertEqual(self.ceph.fsid, monmap["fsid"])
        addrs = json.dumps(monmap["mons"])
        self.assertIn("127.0.0.1:%d" % self.ceph.port, addrs)
        self.assertTrue(self.ceph.mon_command("mgr stat")["available"])
        auth = self.ceph.mon_command("auth get",
                                     entity="client.%s" % self.ceph.user)
        self.assertEqual("profile rbd", auth[0]["caps"]["osd"])
        self.assertLess(self.ceph.started_in, 60)
