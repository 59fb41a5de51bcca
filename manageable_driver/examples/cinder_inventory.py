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

"""A vendor's Cinder driver, with the library's manage family.

:class:`InventoryStorageDriver` stands for the Cinder driver a vendor
already has: it creates, extends and deletes the volumes of its storage
(here the JSON inventory of :mod:`.inventory`).
:class:`InventoryVolumeDriver` is the whole change that gives it manage,
unmanage and the manageable listings: the mixin first in its bases, the
backend class, and the model update its data path needs. A backend
section of cinder.conf names it in ``volume_driver``, as
``manageable_driver.examples.cinder_inventory.InventoryVolumeDriver``,
beside ``inventory_path``.

Imports Cinder; ``tests/compat/test_example_cinder_driver.py`` runs it
under Cinder's own VolumeManager.
"""

from __future__ import annotations

import importlib
from typing import Any

from oslo_utils import units

from manageable_driver import opts
from manageable_driver.cinder import mixin
from manageable_driver.examples import inventory

_cinder_driver: Any = importlib.import_module("cinder.volume.driver")


class InventoryStorageDriver(_cinder_driver.VolumeDriver):  # type: ignore[misc]
    """The vendor's Cinder driver: its volumes are the inventory's."""

    VERSION = "1.0.0"

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.configuration.append_config_values(opts.common_opts
                                                 + inventory.OPTIONS)
        self.array: inventory.InventoryDriver | None = None

    def do_setup(self, context: Any) -> None:
        # The vendor's client of its storage.
        self.array = inventory.InventoryDriver(self.configuration)

    def check_for_setup_error(self) -> None:
        self._array().list_volume_records()

    def _array(self) -> inventory.InventoryDriver:
        assert self.array is not None, "do_setup has not run"  # noqa: S101
        return self.array

    def location(self, volume: Any) -> str:
        """Where the data path finds ``volume``: Cinder keeps it as the
        volume's ``provider_location``."""
        return "%s#%s" % (self._array().path, volume.name)

    def create_volume(self, volume: Any) -> dict[str, Any]:
        with self._array().changing() as storage:
            storage["volumes"].append({"name": volume.name,
                                       "size": volume.size * units.Gi})
        return {"provider_location": self.location(volume)}

    def extend_volume(self, volume: Any, new_size: int) -> None:
        with self._array().changing() as storage:
            for obj in storage["volumes"]:
                if obj["name"] == volume.name:
                    obj["size"] = new_size * units.Gi

    def delete_volume(self, volume: Any) -> None:
        # Missing counts as deleted, as for Cinder's own drivers.
        with self._array().changing() as storage:
            storage["volumes"] = [obj for obj in storage["volumes"]
                                  if obj["name"] != volume.name]

    def create_export(self, context: Any, volume: Any,
                      connector: Any) -> None:
        pass

    def ensure_export(self, context: Any, volume: Any) -> None:
        pass

    def remove_export(self, context: Any, volume: Any) -> None:
        pass

    def _update_volume_stats(self) -> None:
        self._stats = {
            "volume_backend_name": (
                self.configuration.safe_get("volume_backend_name")
                or "inventory"),
            "vendor_name": "Example", "driver_version": self.VERSION,
            "storage_protocol": "unknown", "total_capacity_gb": "unknown",
            "free_capacity_gb": "unknown", "reserved_percentage": 0,
        }


class InventoryVolumeDriver(mixin.ManageableVolumesMixin,
                            InventoryStorageDriver):
    """The vendor's driver with manage, unmanage and the listings."""

    manageable_backend_class = inventory.InventoryDriver

    def manage_existing(self, volume: Any, existing_ref: Any) -> Any:
        # The backend renamed the object; Cinder records what the data
        # path needs, as after a create.
        super().manage_existing(volume, existing_ref)
        return {"provider_location": self.location(volume)}
