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

"""Cinder's NFS driver, with this library's manage family.

:class:`NfsDriver` is Cinder's own ``NfsDriver``: shares, mounting,
create, delete, extend, snapshots (qcow2 overlays recorded in
``volume-<id>.info``), clones and attachments are Cinder's, with Cinder's
options. Cinder's NFS driver has no manage code of its own (its
``manage_existing`` and ``unmanage`` are the base-class stubs); here the
manage family is the library's file backend in Cinder's NFS layout
(:mod:`manageable_driver.drivers.file.nfs_layout`), on the mount points
of the driver's mounted shares, so Cinder's own code works on what was
adopted::

    [nfs]
    volume_driver = manageable_driver.cinder.nfs.NfsDriver
    volume_backend_name = nfs
    nfs_shares_config = /etc/cinder/nfs_shares
    nfs_snapshot_support = true
    nas_secure_file_operations = false
    nas_secure_file_permissions = false

- a volume is managed by its file at the top of a share,
  ``{"source-name": "volume-<old id>"}`` (or the file's path under the
  mount point): it is renamed ``volume-<id>`` in place, and the model
  update sets ``provider_location`` to its share, where Cinder's driver
  looks for it;
- a snapshot is managed by the id its volume's ``.info`` file records it
  under, ``{"source-id": "<old snapshot id>"}``, or by the file recorded
  for it, ``{"source-name": "volume-<volume id>.<old snapshot id>"}``;
- unmanage changes nothing on the share.

Manage calls take the lock Cinder's NFS driver takes for every snapshot
operation on the volume, so a manage and Cinder's own snapshot code never
rewrite one ``.info`` file at once.
"""

from __future__ import annotations

from collections.abc import Callable
import functools
import importlib
import os
from typing import Any
from typing import TypeVar

from manageable_driver.cinder import mixin
from manageable_driver.drivers.file import nfs_layout

_cinder_nfs: Any = importlib.import_module("cinder.volume.drivers.nfs")
_remotefs: Any = importlib.import_module("cinder.volume.drivers.remotefs")
_cinder_exception: Any = importlib.import_module("cinder.exception")

_F = TypeVar("_F", bound=Callable[..., Any])


def _volume_locked(func: _F) -> _F:
    """Take the lock Cinder's NFS driver takes for the volume (of the
    volume, or of the snapshot), keeping ``func``'s signature."""
    locked = _remotefs.locked_volume_id_operation(func)

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        return locked(*args, **kwargs)
    return wrapper  # type: ignore[return-value]


class NfsDriver(mixin.ManageableVolumesMixin,
                _cinder_nfs.NfsDriver):  # type: ignore[misc]
    """Cinder's ``NfsDriver``; manage, unmanage and the manageable
    listings from the library's file backend in Cinder's NFS layout."""

    manageable_backend_class = nfs_layout.NfsLayoutDriver

    def _manageable_overrides(self) -> dict[str, Any]:
        # The image directories are the mounted shares, as mounted now.
        return {"file_volume_dirs": self._manageable_mount_points}

    def _manageable_root_helper(self) -> str | None:
        # qemu-img runs as root exactly when Cinder's NFS driver runs its
        # own commands as root (nas_secure_file_operations off).
        if not getattr(self, "_execute_as_root", True):
            return None
        return super()._manageable_root_helper()

    def _manageable_mount_points(self) -> list[str]:
        if not self._mounted_shares:
            self._ensure_shares_mounted()
        return [self._get_mount_point_for_share(share)
                for share in self._mounted_shares]

    def _manageable_share_of(self, volume: Any) -> tuple[str, str]:
        """The mounted share whose mount point holds ``volume``'s file,
        and the file's path.

        :raises VolumeBackendAPIException: none does.
        """
        for share in self._mounted_shares:
            path = os.path.join(self._get_mount_point_for_share(share),
                                volume.name)
            if os.path.isfile(path):
                return str(share), path
        raise _cinder_exception.VolumeBackendAPIException(
            data="managed volume %s is in none of the mounted shares %s"
                 % (volume.name, ", ".join(self._mounted_shares)))

    @staticmethod
    def _manageable_record_format(volume: Any, path: str) -> None:
        """Record the image's format in the volume's admin metadata, as
        Cinder's NFS create does: its snapshot code reads it there."""
        try:
            fmt = nfs_layout.image_format(path)
        except OSError as exc:
            raise _cinder_exception.VolumeBackendAPIException(
                data="managed volume %s, but cannot read its format: %s"
                     % (path, exc.strerror))
        if not hasattr(volume, "obj_as_admin"):
            return  # not a Cinder object: nothing to record it in
        with volume.obj_as_admin():
            volume.admin_metadata["format"] = fmt
            volume.save()

    @_volume_locked
    def manage_existing(self, volume: Any, existing_ref: Any) -> Any:
        """Adopt the file and return ``provider_location``: its share.

        Cinder's NFS driver finds a volume's file by its share
        (``provider_location``) and name; a file below the share's top
        is refused by Cinder's layout (file_volume_scan_depth 0).
        """
        update = super().manage_existing(volume, existing_ref) or {}
        share, path = self._manageable_share_of(volume)
        self._manageable_record_format(volume, path)
        update["provider_location"] = share
        return update

    @_volume_locked
    def manage_existing_snapshot(self, snapshot: Any,
                                 existing_ref: Any) -> Any:
        """Record the snapshot under its new id; see the module."""
        return super().manage_existing_snapshot(snapshot, existing_ref)
