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

"""The example backend's conformance tests: what a vendor writes.

It needs only what a vendor has, ``unittest`` and the installed library,
and runs from an installed package::

    python -m unittest manageable_driver.examples.test_inventory

The first class gives the conformance mixin its hooks; the second is all
it takes to get every check of :mod:`manageable_driver.testing`.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from typing import Any
import unittest
import uuid

from oslo_config import cfg
from oslo_utils import units

from manageable_driver import opts
from manageable_driver import testing
from manageable_driver.examples import inventory


class InventoryBackend(unittest.TestCase):
    """A JSON inventory in a temp dir, and the conformance mixin's hooks."""

    def setUp(self) -> None:
        super().setUp()
        tmp = tempfile.mkdtemp()
        self.addCleanup(shutil.rmtree, tmp)
        self.path = os.path.join(tmp, "inventory.json")
        self.lock_path = os.path.join(tmp, "locks")
        self.save({"volumes": [], "snapshots": []})

    def load(self) -> Any:
        with open(self.path, encoding="utf-8") as f:
            return json.load(f)

    def save(self, data: Any) -> None:
        with open(self.path, "w", encoding="utf-8") as f:
            json.dump(data, f)

    def add(self, kind: str, **obj: Any) -> None:
        data = self.load()
        data[kind].append(obj)
        self.save(data)

    # The hooks of the conformance mixin.

    def make_driver(self) -> inventory.InventoryDriver:
        conf = cfg.ConfigOpts()
        conf.register_opts(opts.common_opts + inventory.OPTIONS)
        conf.set_override("inventory_path", self.path)
        conf.set_override("manageable_lock_path", self.lock_path)
        return inventory.InventoryDriver(conf)

    def create_volume_object(self, name: str, size_bytes: int) -> None:
        self.add("volumes", name=name, size=size_bytes)

    def create_snapshot_object(self, name: str, size_bytes: int,
                               volume_name: str) -> None:
        self.add("snapshots", name=name, size=size_bytes, source=volume_name)

    def create_unsafe_volume_objects(self) -> int:
        self.add("volumes", name="busy", size=units.Gi, in_use=True)
        self.add("volumes", name="unsized", size=None)
        self.add("volumes", name="adopted", size=units.Gi,
                 cinder_id=str(uuid.uuid4()))
        # A snapshot's name is never free as a volume (one name space).
        self.add("volumes", name="snapshot-%s" % uuid.uuid4(),
                 size=units.Gi)
        return 4

    def create_unsafe_snapshot_objects(self) -> int:
        self.add("snapshots", name="busy-snap", size=units.Gi, in_use=True,
                 source="busy")
        self.add("snapshots", name="volume-%s" % uuid.uuid4(),
                 size=units.Gi, source="busy")
        return 2


class InventoryConformanceTest(InventoryBackend,
                               testing.ManageableDriverConformanceMixin):
    """Every conformance check of the library, for free."""


if __name__ == "__main__":
    unittest.main()
