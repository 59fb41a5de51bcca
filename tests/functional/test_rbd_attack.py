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

from manageable_driver import exception
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
