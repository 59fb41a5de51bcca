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

"""The vendor guide's worked Cinder driver
(:mod:`manageable_driver.examples.cinder_inventory`, included in the
guide as it is) under Cinder's own VolumeManager: the round trip Tempest
runs, Cinder's lifecycle around it, and every conformance check.
"""

from __future__ import annotations

import json
import os
from typing import Any

import fixtures

from manageable_driver import testing
from tests.compat import backends
from tests.compat import base
from tests.compat import test_dropin_conformance

DRIVER = ("manageable_driver.examples.cinder_inventory."
          "InventoryVolumeDriver")
GiB = 1024 ** 3


class InventoryCinderBackend(backends.ManagerMixin, base.CinderTestCase):
    """The example driver in cinder.conf, on an inventory in a temp dir."""

    def setup_backend(self) -> None:
        from manageable_driver.examples import inventory
        self.path = os.path.join(self.useFixture(fixtures.TempDir()).path,
                                 "inventory.json")
        self.save({"volumes": [{"name": "db1", "size": 3 * GiB // 2}],
                   "snapshots": []})
        backends.register_backend_options(inventory.OPTIONS)
        backends._common(self)
        self.override_config("volume_driver", DRIVER, backends.SHARED_GROUP)
        self.override_config("inventory_path", self.path,
                             backends.SHARED_GROUP)

    def load(self) -> Any:
        with open(self.path, encoding="utf-8") as f:
            return json.load(f)

    def save(self, data: Any) -> None:
        with open(self.path, "w", encoding="utf-8") as f:
            json.dump(data, f)

    def names(self) -> dict[str, int]:
        return {obj["name"]: obj["size"] for obj in self.load()["volumes"]}


class ExampleCinderDriverTest(backends.RefusalTests, InventoryCinderBackend):

    def test_round_trip_and_lifecycle(self) -> None:
        volume = self.create()
        self.manager.delete_volume(self.ctxt, volume, unmanage_only=True)
        self.assertIn(volume.name, self.names())
        entries = {e["reference"]["source-name"]: e for e in
                   self.manager.driver.get_manageable_volumes(
                       [], None, 100, 0, ["reference"], ["asc"])}
        self.assertTrue(entries[volume.name]["safe_to_manage"])
        again = self.manage({"source-name": volume.name})
        self.assertEqual(1, again.size)
        # The model update the example returns.
        self.assertEqual("%s#%s" % (self.path, again.name),
                         again.provider_location)
        self.manager.extend_volume(self.ctxt, again, 2, None)
        self.assertEqual(2 * GiB, self.names()[again.name])
        self.manager.delete_volume(self.ctxt, again)
        self.assert_deleted(again)
        self.assertEqual(["db1"], list(self.names()))


class ExampleCinderDriverConformanceTest(
        test_dropin_conformance.CinderObjects,
        testing.ManageableDriverConformanceMixin, InventoryCinderBackend):

    def create_volume_object(self, name: str, size_bytes: int) -> None:
        data = self.load()
        data["volumes"].append({"name": self.origin_name(name),
                                "size": size_bytes})
        self.save(data)

    def create_snapshot_object(self, name: str, size_bytes: int,
                               volume_name: str) -> None:
        data = self.load()
        data["snapshots"].append({"name": name, "size": size_bytes,
                                  "source": self.origin_name(volume_name)})
        self.save(data)
