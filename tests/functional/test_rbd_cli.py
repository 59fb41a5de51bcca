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

"""The installed ``manageable-driver`` command on an RBD pool of the real
test cluster: the ``rbd`` backend plugin from the package's entry points,
its flags, and the same output rules as the other backends."""

import json

from tests.functional import rbd_helpers as helpers
from tests.functional import test_cli

GiB = helpers.GiB
MiB = helpers.MiB
VOLUME_ID = "0b5d9c1e-3f4a-4b6c-8d7e-9f0a1b2c3d4e"


class RBDCLITest(helpers.RBDTestCase):

    def rbd_cli(self, *args, stdin=""):
        return test_cli.run_cli(
            *args, "--rbd-pool", self.pool,
            "--rbd-ceph-conf", self.ceph.conf_file,
            "--rbd-user", self.ceph.user,
            "--rbd-keyring-conf", self.ceph.keyring,
            "--rados-connect-timeout", "10",
            "--lock-path", self.lock_path, stdin=stdin)

    def test_list_manage_unmanage(self):
        self.create("data1", GiB + MiB)
        self.create("empty", 0)

        code, out, err = self.rbd_cli("list", "volumes", "--format", "json")
        self.assertEqual((0, ""), (code, err))
        entries = {e["reference"]["source-name"]: e for e in json.loads(out)}
        self.assertEqual(["data1", "empty"], sorted(entries))
        self.assertEqual((2, True), (entries["data1"]["size"],
                                     entries["data1"]["safe_to_manage"]))
        self.assertFalse(entries["empty"]["safe_to_manage"])

        before = self.state()
        code, out, err = self.rbd_cli("manage", "volume", "empty",
                                      "--id", VOLUME_ID, "--yes")
        self.assertEqual(2, code, err)
        self.assertIn("size is 0 bytes", err)
        self.assertEqual(before, self.state())

        code, out, err = self.rbd_cli("manage", "volume", "data1",
                                      "--id", VOLUME_ID, "--yes",
                                      "--format", "json")
        self.assertEqual((0, ""), (code, err))
        self.assertEqual({"id": VOLUME_ID, "size": 2,
                          "name": "volume-%s" % VOLUME_ID},
                         {k: json.loads(out)[k]
                          for k in ("id", "size", "name")})
        self.assertEqual(["empty", "volume-%s" % VOLUME_ID], self.names())

        code, out, err = self.rbd_cli("unmanage", "volume", "--id",
                                      VOLUME_ID)
        self.assertEqual(0, code, err)
        self.assertEqual(["empty", "volume-%s" % VOLUME_ID], self.names())
