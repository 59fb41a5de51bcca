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

from oslo_utils import units

from manageable_driver import sizes
from tests import base


class BytesToGibTest(base.TestCase):

    def test_round_up(self):
        cases = [(0, 0), (1, 1), (units.Gi - 1, 1), (units.Gi, 1),
                 (units.Gi + 1, 2), (1028 * units.Mi, 2),
                 (10 * units.Ti, 10240), (2 ** 70 + 1, 2 ** 40 + 1)]
        for size, gib in cases:
            with self.subTest(size=size):
                self.assertEqual(gib, sizes.bytes_to_gib_ceil(size))

    def test_rejects_non_integers(self):
        for bad in (1.5, "1", None, True, -1):
            with self.subTest(bad=bad):
                self.assertRaises(ValueError, sizes.bytes_to_gib_ceil, bad)
