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

"""A complete backend in a page: objects listed in a JSON inventory.

The inventory is one JSON file; sizes are in bytes (null when unknown)::

    {"volumes": [{"name": "db1", "size": 1073741824, "in_use": false}],
     "snapshots": [{"name": "db1-snap", "size": 1073741824,
                    "source": "db1"}]}

Managing an object renames it in the inventory to the Cinder name and
records the Cinder id on it; unmanaging removes that record and keeps the
object. Every change rewrites the inventory atomically (temporary file,
fsync, rename) under the backend's lock: a crash leaves the old or the new
inventory, never a mix, and of two concurrent manages of one object exactly
one wins.
"""

from __future__ import annotations

from collections.abc import Iterator
import contextlib
import json
import os
import tempfile
from typing import Any

from oslo_config import cfg

from manageable_driver import configuration as config
from manageable_driver import exception
from manageable_driver import interface
from manageable_driver import listing
from manageable_driver import locks
from manageable_driver import opts
from manageable_driver import records
from manageable_driver import references
from manageable_driver.cmd import backends

OPTIONS = [
    # Not required=True: a Cinder driver's options are registered in
    # [backend_defaults], where a required one would fail every backend
    # section of cinder.conf that does not set it. The driver refuses an
    # unset path itself.
    cfg.StrOpt("inventory_path",
               help="The JSON inventory file of the backend."),
]
_KINDS = {"volume": "volumes", "snapshot": "snapshots"}


class InventoryDriver(listing.ManageableListingMixin,
                      interface.VolumeListManageableDriver,
                      interface.VolumeSnapshotManagementDriver):
    """Cinder's manage, unmanage and listing calls over a JSON inventory.

    :param configuration: see :func:`manageable_driver.configuration.prepare`.
    """

    def __init__(self, configuration: Any = None) -> None:
        self.configuration = config.prepare(configuration,
                                            opts.common_opts + OPTIONS)
        if not self.configuration.inventory_path:
            raise exception.InvalidInput(reason="inventory_path is not set")
        self.path = os.path.abspath(self.configuration.inventory_path)
        self._locks = locks.get_provider(self.configuration)

    # What the backend has: all the listing code a backend writes.
    def list_volume_records(self) -> list[records.VolumeRecord]:
        """One record per volume of the inventory.

        :raises VolumeBackendAPIException: the inventory is unreadable
            or malformed.
        """
        return [records.VolumeRecord(**_fields(obj))
                for obj in self._load()["volumes"]]

    def list_snapshot_records(self) -> list[records.SnapshotRecord]:
        """One record per snapshot of the inventory.

        :raises VolumeBackendAPIException: the inventory is unreadable
            or malformed.
        """
        return [records.SnapshotRecord(
                    source_reference={"source-name": obj["source"]},
                    **_fields(obj))
                for obj in self._load()["snapshots"]]

    # Cinder's calls, for volumes and snapshots alike.
    def manage_existing(self, volume: Any, existing_ref: Any) -> None:
        """Rename the volume ``existing_ref`` names to ``volume``'s name
        and record its id.

        :param volume: the Cinder volume.
        :param existing_ref: ``{"source-name": NAME}``.
        :raises InvalidInput: ``volume``'s name or id is not a Cinder one.
        :raises ManageExistingInvalidReference: no such volume, not safe,
            or the new name exists.
        :raises ManageExistingAlreadyManaged: Cinder manages it already.
        :raises VolumeBackendAPIException: the inventory cannot be read
            or written.
        """
        self._manage("volume", volume, existing_ref)

    def manage_existing_get_size(self, volume: Any, existing_ref: Any) -> int:
        """Return the volume's size in GiB, rounded up.

        :param volume: the Cinder volume.
        :param existing_ref: ``{"source-name": NAME}``.
        :raises ManageExistingInvalidReference: no such volume, or not
            safe to manage.
        :raises ManageExistingAlreadyManaged: Cinder manages it already.
        :raises VolumeBackendAPIException: the inventory cannot be read.
        """
        return self._size("volume", existing_ref)

    def unmanage(self, volume: Any) -> None:
        """Drop the Cinder id recorded on ``volume``; it stays listed.

        :param volume: the Cinder volume.
        :raises VolumeBackendAPIException: the inventory cannot be read
            or written.
        """
        self._unmanage("volume", volume)

    def manage_existing_snapshot(self, snapshot: Any,
                                 existing_ref: Any) -> None:
        """Rename the snapshot ``existing_ref`` names to ``snapshot``'s
        name and record its id.

        :param snapshot: the Cinder snapshot.
        :param existing_ref: ``{"source-name": NAME}``.
        :raises InvalidInput: ``snapshot``'s name or id is not a Cinder
            one.
        :raises ManageExistingInvalidReference: no such snapshot, not
            safe, or the new name exists.
        :raises ManageExistingAlreadyManaged: Cinder manages it already.
        :raises VolumeBackendAPIException: the inventory cannot be read
            or written.
        """
        self._manage("snapshot", snapshot, existing_ref)

    def manage_existing_snapshot_get_size(self, snapshot: Any,
                                          existing_ref: Any) -> int:
        """Return the snapshot's size in GiB, rounded up.

        :param snapshot: the Cinder snapshot.
        :param existing_ref: ``{"source-name": NAME}``.
        :raises ManageExistingInvalidReference: no such snapshot, or not
            safe to manage.
        :raises ManageExistingAlreadyManaged: Cinder manages it already.
        :raises VolumeBackendAPIException: the inventory cannot be read.
        """
        return self._size("snapshot", existing_ref)

    def unmanage_snapshot(self, snapshot: Any) -> None:
        """Drop the Cinder id recorded on ``snapshot``; it stays listed.

        :param snapshot: the Cinder snapshot.
        :raises VolumeBackendAPIException: the inventory cannot be read
            or written.
        """
        self._unmanage("snapshot", snapshot)

    @contextlib.contextmanager
    def changing(self) -> Iterator[dict[str, Any]]:
        """Yield the inventory, under the backend's lock; write it back
        (crash-safe) when the block ends without an exception.

        The one way the inventory changes: manage and unmanage here, and
        the vendor's own Cinder driver (its create, extend, delete), so
        the two never overwrite each other's change.

        :raises VolumeBackendAPIException: the inventory cannot be read
            or written.
        """
        # One lock for the whole file: every change rewrites all of it.
        with self._locks.lock(self.path, "inventory"):
            inventory = self._load()
            yield inventory
            self._save(inventory)

    def _find(self, inventory: dict[str, Any], kind: str,
              existing_ref: Any) -> dict[str, Any]:
        _key, name = references.parse_reference(
            existing_ref, keys=(references.SOURCE_NAME,))
        objs: list[dict[str, Any]] = inventory[_KINDS[kind]]
        for obj in objs:
            if obj["name"] == name:
                return obj
        raise exception.ManageExistingInvalidReference(
            existing_ref=existing_ref,
            reason="no %s named %s in %s" % (kind, name, self.path))

    def _size(self, kind: str, existing_ref: Any) -> int:
        # Refuses what manage refuses, before Cinder reserves quota.
        obj = self._find(self._load(), kind, existing_ref)
        return self.manageable_size(records.VolumeRecord(**_fields(obj)),
                                    existing_ref, kind)

    def _manage(self, kind: str, cinder_obj: Any, existing_ref: Any) -> None:
        new_name = self.cinder_name(cinder_obj, kind)
        cinder_id = self.cinder_id(cinder_obj, kind)
        with self.changing() as inventory:
            obj = self._find(inventory, kind, existing_ref)
            self.ensure_safe(records.VolumeRecord(**_fields(obj)),
                             existing_ref, kind)
            if any(o["name"] == new_name for o in inventory[_KINDS[kind]]):
                raise exception.ManageExistingInvalidReference(
                    existing_ref=existing_ref,
                    reason="%s already exists; not overwritten" % new_name)
            old_name = obj["name"]
            obj.update(name=new_name, cinder_id=cinder_id)
            for snap in inventory["snapshots"] if kind == "volume" else ():
                if snap["source"] == old_name:
                    snap["source"] = new_name

    def _unmanage(self, kind: str, cinder_obj: Any) -> None:
        name = references.object_name(cinder_obj, kind)
        with self.changing() as inventory:
            for obj in inventory[_KINDS[kind]]:
                # Tag removal only: the object and its data stay.
                if obj["name"] == name:
                    obj.pop("cinder_id", None)

    def _load(self) -> dict[str, Any]:
        try:
            with open(self.path, encoding="utf-8") as f:
                inventory: dict[str, Any] = json.load(f)
        except (OSError, ValueError) as exc:
            raise exception.VolumeBackendAPIException(
                data="cannot read inventory %s: %s" % (self.path, exc))
        for kind in _KINDS.values():
            objs = (inventory.setdefault(kind, [])
                    if isinstance(inventory, dict) else None)
            if not _valid(objs, kind):
                raise exception.VolumeBackendAPIException(
                    data="inventory %s: malformed %s" % (self.path, kind))
        return inventory

    def _save(self, inventory: dict[str, Any]) -> None:
        try:
            self._write(inventory)
        except OSError as exc:
            raise exception.VolumeBackendAPIException(
                data="cannot write inventory %s: %s" % (self.path, exc))

    def _write(self, inventory: dict[str, Any]) -> None:
        # Crash-safe: the new inventory is complete on disk before it
        # replaces the old one, and the rename is made durable.
        directory = os.path.dirname(self.path)
        fd, tmp = tempfile.mkstemp(dir=directory, prefix=".inventory-")
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as f:
                json.dump(inventory, f, indent=1)
                f.flush()
                os.fsync(f.fileno())
            os.replace(tmp, self.path)
        finally:
            if os.path.exists(tmp):
                os.unlink(tmp)
        dir_fd = os.open(directory, os.O_RDONLY)
        try:
            os.fsync(dir_fd)
        finally:
            os.close(dir_fd)


class InventoryCLIBackend(backends.Backend):
    """The example as a backend of the ``manageable-driver`` command.

    Registered by the vendor's package, not by the command::

        [entry_points]
        manageable_driver.backends =
            inventory = vendor_pkg.inventory:InventoryCLIBackend
    """

    description = "a JSON inventory (the driver-author guide's example)"
    driver = "manageable_driver.examples.inventory:InventoryDriver"
    options = "manageable_driver.examples.inventory:OPTIONS"
    volume_drivers = ("vendor_pkg.cinder.InventoryVolumeDriver",)
    arguments = (
        backends.Argument("--inventory", "inventory_path",
                          "the JSON inventory file", metavar="FILE",
                          selects=True),
    )


def _valid(objs: Any, kind: str) -> bool:
    # Unique names, so that a reference names one object.
    if not isinstance(objs, list) or not all(
            isinstance(o, dict) and isinstance(o.get("name"), str)
            and o["name"] for o in objs):
        return False
    return (len({o["name"] for o in objs}) == len(objs)
            and all(_size_ok(o.get("size")) for o in objs)
            and (kind == "volumes"
                 or all(isinstance(o.get("source"), str) for o in objs)))


def _size_ok(size: Any) -> bool:
    return size is None or (type(size) is int and size >= 0)


def _fields(obj: dict[str, Any]) -> dict[str, Any]:
    return {"name": obj["name"], "reference": {"source-name": obj["name"]},
            "size_bytes": obj.get("size"),
            "size_error": (None if obj.get("size") is not None
                           else "size not in the inventory"),
            "in_use": bool(obj.get("in_use")),
            "cinder_id": obj.get("cinder_id")}
