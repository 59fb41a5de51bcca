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

"""Hostile input to every public method of the RBD driver changes nothing.

The tables of :mod:`tests.functional.test_hostile_input`, plus references
aimed at the RBD name space: another pool, a snapshot spec, a namespace,
an image id, a canary image in a second pool the test creates. After every
call, every object of both pools and its omap is compared with the state
before.
"""

from manageable_driver import exception
from tests.functional import rbd_helpers as helpers
from tests.functional import test_hostile_input as hostile

InvalidRef = exception.ManageExistingInvalidReference
InvalidInput = exception.InvalidInput


class RBDHostileTest(hostile.Hostile, helpers.RBDTestCase):

    def setUp(self):
        super().setUp()
        self.create("plain", helpers.MiB)
        self.snap("plain", "snap1")
        # A canary in another pool the hostile references aim at.
        self.other = self.pool + "-canary"
        self.ceph.create_pool(self.other)
        self.other_ioctx = self.client.open_ioctx(self.other)
        self.addCleanup(self.other_ioctx.close)
        self.create("canary", helpers.MiB, ioctx=self.other_ioctx)

    def backend_state(self):
        state = self.state()
        with self.rados.ReadOpCtx() as op:
            values, _ret = self.other_ioctx.get_omap_vals(op, "", "", 1000)
            self.other_ioctx.operate_read_op(op, "rbd_directory")
            state["canary pool"] = dict(values)
        return state

    def test_tables(self):
        plain_id = self.image_id("plain")
        refs = hostile.common_refs() + [
            ("source-id", {"source-id": plain_id}),
            ("other pool", {"source-name": "%s/canary" % self.other}),
            ("canary by name", {"source-name": "canary"}),
            ("snapshot spec", {"source-name": "plain@snap1"}),
            ("namespace", {"source-name": "ns/plain"}),
            ("image id", {"source-name": plain_id}),
            ("header object", {"source-name": "rbd_header." + plain_id}),
            ("space", {"source-name": "pl ain"}),
            ("glob", {"source-name": "pl*"}),
            ("tab", {"source-name": "plain\t"}),
            ("96 bytes", {"source-name": "p" * 96}),
            ("missing", {"source-name": "nope"}),
        ]
        snapshots = hostile.bad_objects("snapshot") + [
            ("other volume", {"id": hostile.UUID,
                              "name": "snapshot-%s" % hostile.UUID,
                              "volume": {"name": "canary"}}, InvalidRef),
        ]
        count = self.run_tables(
            self.driver(), refs, hostile.bad_objects("volume"), snapshots,
            [("None", None, InvalidInput), ("no name", {}, InvalidInput),
             ("name of another pool's image", {"name": "canary"}, None)],
            {"source-name": "plain"},
            {"source-name": "snap1", "source-image": "plain"})
        self.assertEqual(4 * len(refs) + len(hostile.bad_objects("volume"))
                         + len(snapshots) + 2 * len(hostile.PAGINATION)
                         + 6, count)
        self.assertEqual(["plain"], self.names())
