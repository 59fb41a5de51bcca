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

"""The RBD driver: list, manage and unmanage the images of one pool.

Listing reads the pool in one pass (:meth:`.cluster.Cluster.scan`) and
:mod:`.images` turns it into records. Manage renames, as Cinder's RBD
driver does: an image to the volume's name, a snapshot to the snapshot's
name. It refuses exactly what the listing marks not safe, under the lock
of the image (cluster fsid + pool id + image id, the same on every host),
after reading the image again, watchers included: a client that opened
the image since the listing stops the manage. Unmanage leaves name and
data alone.

The image is not resized: Cinder records the size rounded up to whole
GiB, and an image smaller than that (say 1.5 GiB, recorded as 2 GiB)
grows when Cinder extends the volume, as for Cinder's own RBD driver,
whose manage does not resize either. The data is never changed by
manage.
"""

from __future__ import annotations

from collections.abc import Iterator
import contextlib
import os
from typing import Any

from oslo_log import log as logging

from manageable_driver import configuration as config
from manageable_driver import exception
from manageable_driver import interface
from manageable_driver import listing
from manageable_driver import locks
from manageable_driver import opts
from manageable_driver import records
from manageable_driver import references
from manageable_driver.drivers.rbd import cluster
from manageable_driver.drivers.rbd import images
from manageable_driver.drivers.rbd import options

LOG = logging.getLogger(__name__)

MAX_NAME = images.MAX_NAME
name_problem = images.name_problem


class RBDDriver(listing.ManageableListingMixin,
                interface.VolumeListManageableDriver,
                interface.VolumeSnapshotManagementDriver):
    """Manage/unmanage and manageable listing for one RBD pool.

    :param configuration: a Cinder backend ``Configuration``, an
        oslo.config ``ConfigOpts``, a
        :class:`manageable_driver.configuration.Configuration`, or None
        for the option defaults.
    :raises InvalidInput: ``rbd_pool`` is empty.

    Every call that reaches the cluster raises
    :class:`~manageable_driver.exception.VolumeBackendAPIException` when
    python3-rados/rbd cannot be imported.
    """

    def __init__(self, configuration: Any = None, *args: Any,
                 **kwargs: Any) -> None:
        self.configuration = config.prepare(
            configuration, opts.common_opts + options.rbd_opts)
        pool = self.configuration.rbd_pool
        if not pool:
            raise exception.InvalidInput(reason="rbd_pool is empty")
        self.settings = cluster.Settings(
            pool=str(pool),
            conf_file=str(self.configuration.rbd_ceph_conf or ""),
            user=self.configuration.rbd_user or None,
            keyring=str(self.configuration.safe_get("rbd_keyring_conf")
                        or ""),
            timeout=int(self.configuration.rados_connect_timeout))
        self.cluster = cluster.Cluster(self.settings)
        self.locks = locks.get_provider(self.configuration)

    def _pool(self, scan: images.PoolScan) -> images.Pool:
        pool = images.Pool(scan)
        unseen = pool.unseen_clones()
        if not unseen:
            return pool
        return images.Pool(scan,
                           self.cluster.children(unseen))

    # Listing -------------------------------------------------------------

    def listing_scope(self) -> str:
        """Names the backend for kept listings (see listing_cache): the
        pool of the cluster the Ceph configuration file names, so that
        every backend section on that pool sees a manage at once."""
        conf_file = self.settings.conf_file
        if conf_file:
            conf_file = os.path.normpath(os.path.abspath(conf_file))
        return "rbd:%s:%s" % (conf_file, self.settings.pool)

    def list_volume_records(self) -> list[records.VolumeRecord]:
        """Records of the pool's images, from one scan."""
        return self._pool(self.cluster.scan()).volume_records()

    def list_snapshot_records(self) -> list[records.SnapshotRecord]:
        """Records of the snapshots of every image, from one scan."""
        return self._pool(self.cluster.scan()).snapshot_records()

    # References ----------------------------------------------------------

    @staticmethod
    def _invalid(existing_ref: Any,
                 reason: str) -> exception.ManageExistingInvalidReference:
        return exception.ManageExistingInvalidReference(
            existing_ref=existing_ref, reason=reason)

    def parse_image_reference(self, existing_ref: Any) -> str:
        """Return the image name ``existing_ref`` names. Runs nothing.

        :raises ManageExistingInvalidReference: malformed, or a name
            librbd would not read as one image name.
        """
        _key, name = references.parse_reference(
            existing_ref, (references.SOURCE_NAME,), max_length=MAX_NAME)
        problem = name_problem(name)
        if problem:
            raise self._invalid(existing_ref,
                                "not an RBD image name: %s" % problem)
        return name

    def parse_snapshot_reference(self, snapshot: Any,
                                 existing_ref: Any) -> tuple[str, str]:
        """Return (image name, snapshot name) of ``existing_ref``.

        The image is the reference's ``source-image`` (as listed) or, as
        in Cinder's RBD driver, the image of the snapshot's volume; when
        both are known they must agree. Runs nothing.

        :raises ManageExistingInvalidReference: malformed, no image, or
            the image is not the snapshot's volume's.
        """
        _key, snap = references.parse_reference(
            existing_ref, (references.SOURCE_NAME,), max_length=MAX_NAME)
        problem = name_problem(snap)
        if problem:
            raise self._invalid(existing_ref,
                                "not an RBD snapshot name: %s" % problem)
        listed = existing_ref.get(images.SOURCE_IMAGE)
        volume = self._snapshot_volume(snapshot)
        if listed is None and volume is None:
            raise self._invalid(existing_ref,
                                "no %s, and the snapshot has no volume"
                                % images.SOURCE_IMAGE)
        if listed is not None:
            if not isinstance(listed, str) or name_problem(listed):
                raise self._invalid(existing_ref, "%s is not an RBD image "
                                    "name" % images.SOURCE_IMAGE)
            if volume is not None and listed != volume:
                raise self._invalid(
                    existing_ref, "the snapshot is of image %s, not of "
                    "the snapshot's volume %s" % (listed, volume))
        image = listed if listed is not None else volume
        assert image is not None  # noqa: S101 - checked above
        return image, snap

    @staticmethod
    def _snapshot_volume(snapshot: Any) -> str | None:
        volume = references.field(snapshot, "volume")
        name = references.field(volume, "name") if volume is not None else None
        if name is None:
            name = references.field(snapshot, "volume_name")
        return str(name) if name else None

    # Reading one image ---------------------------------------------------

    def _read(self, ioctx: Any, name: str, existing_ref: Any
              ) -> tuple[images.Pool, images.Image]:
        scanned = self._found(self.cluster.image(ioctx, name), name,
                              existing_ref)
        # Clone relations need the whole pool: read it, with this image
        # as just read.
        scan = self.cluster.scan()
        others = tuple(i for i in scan.images if i.name != name)
        pool = self._pool(images.PoolScan(scan.pool_id, scan.pool_name,
                                          others + (scanned,)))
        image = pool.by_name(name)
        assert image is not None  # noqa: S101 - added just above
        return pool, image

    def _found(self, scanned: images.ScannedImage | None, name: str,
               existing_ref: Any) -> images.ScannedImage:
        if scanned is None:
            raise self._invalid(existing_ref, "no image %s in pool %s"
                                % (name, self.settings.pool))
        return scanned

    def _snapshot(self, pool: images.Pool, image: images.Image, snap: str,
                  existing_ref: Any) -> records.SnapshotRecord:
        found = pool.find_snapshot(image, snap)
        if found is None:
            raise self._invalid(existing_ref, "image %s has no snapshot %s"
                                % (image.scanned.name, snap))
        return pool.snapshot_record(image, found)

    # Sizes ---------------------------------------------------------------

    def manage_existing_get_size(self, volume: Any, existing_ref: Any) -> int:
        """Size in GiB, rounded up, of the image ``existing_ref`` names.

        :raises ManageExistingInvalidReference: bad reference, no such
            image, or not safe to manage.
        :raises ManageExistingAlreadyManaged: Cinder manages it.
        :raises VolumeBackendAPIException: the cluster failed.
        """
        name = self.parse_image_reference(existing_ref)
        with self.cluster.connect() as (_client, ioctx):
            pool, image = self._read(ioctx, name, existing_ref)
        return self.manageable_size(pool.volume_record(image), existing_ref)

    def manage_existing_snapshot_get_size(self, snapshot: Any,
                                          existing_ref: Any) -> int:
        """Size in GiB, rounded up, of the snapshot ``existing_ref`` names.

        :raises ManageExistingInvalidReference: bad reference, no such
            snapshot, or not safe to manage.
        :raises VolumeBackendAPIException: the cluster failed.
        """
        image_name, snap = self.parse_snapshot_reference(snapshot,
                                                         existing_ref)
        with self.cluster.connect() as (_client, ioctx):
            pool, image = self._read(ioctx, image_name, existing_ref)
        return self.manageable_size(
            self._snapshot(pool, image, snap, existing_ref), existing_ref,
            "snapshot")

    # Manage --------------------------------------------------------------

    def _target(self, obj: Any, kind: str) -> str:
        name = self.cinder_name(obj, kind)
        self.cinder_id(obj, kind)
        problem = name_problem(name)
        if problem:
            raise exception.InvalidInput(
                reason="the %s name %r cannot be an RBD name: %s"
                       % (kind, name[:200], problem))
        return name

    def _lock(self, client: Any, ioctx: Any, image_id: str) -> Any:
        fsid, pool_id = self.cluster.identity(client, ioctx)
        return self.locks.lock("rbd:%s:%d" % (fsid, pool_id), image_id)

    @contextlib.contextmanager
    def _locked(self, name: str, existing_ref: Any
                ) -> Iterator[tuple[Any, images.Pool, images.Image]]:
        """Image ``name`` under its lock, read again: (ioctx, pool, image)
        for the with-block, which decides and changes."""
        with self.cluster.connect() as (client, ioctx):
            first = self._found(self.cluster.image(ioctx, name), name,
                                existing_ref)
            with self._lock(client, ioctx, first.image_id):
                # Decide on what the cluster says now, watchers included.
                pool, image = self._read(ioctx, name, existing_ref)
                if image.scanned.image_id != first.image_id:
                    raise self._invalid(existing_ref, "image %s was "
                                        "replaced meanwhile" % name)
                yield ioctx, pool, image

    def manage_existing(self, volume: Any, existing_ref: Any) -> None:
        """Adopt the image ``existing_ref`` names as ``volume``: rename it
        to ``volume['name']``. Its size and data are not changed.

        :raises ManageExistingInvalidReference: bad reference, no such
            image, not safe to manage (the listing's reason, or a client
            opened it since), or the volume's name is taken.
        :raises ManageExistingAlreadyManaged: Cinder manages it.
        :raises InvalidInput: the volume's name or id is not Cinder's.
        :raises VolumeBackendAPIException: the cluster failed; nothing
            was renamed.
        """
        name = self.parse_image_reference(existing_ref)
        target = self._target(volume, "volume")
        with self._locked(name, existing_ref) as (ioctx, pool, image):
            self.ensure_safe(pool.volume_record(image), existing_ref)
            if pool.by_name(target) is not None:
                raise self._invalid(existing_ref, "an image named %s "
                                    "exists already" % target)
            self.cluster.rename_image(ioctx, name, target)
            self._renamed_as_checked(ioctx, name, target,
                                     image.scanned.image_id, existing_ref)

    def _renamed_as_checked(self, ioctx: Any, name: str, target: str,
                            image_id: str, existing_ref: Any) -> None:
        # librbd renames by name only: another client (which does not
        # take this lock) may have put an unchecked image under ``name``
        # between the check and the rename. Undo the rename of that one.
        renamed = self.cluster.image_id(ioctx, target)
        if renamed == image_id:
            return
        LOG.error("RBD image %(name)s was replaced (id %(old)s, now "
                  "%(new)s) just before it was renamed to %(target)s; "
                  "renaming it back", {"name": name, "old": image_id,
                                       "new": renamed, "target": target})
        self.cluster.rename_image(ioctx, target, name)
        raise self._invalid(existing_ref, "image %s was replaced by another "
                            "image just before the rename; renamed back, "
                            "nothing managed" % name)

    def manage_existing_snapshot(self, snapshot: Any,
                                 existing_ref: Any) -> None:
        """Adopt the snapshot ``existing_ref`` names as ``snapshot``:
        rename it to ``snapshot['name']``.

        :raises ManageExistingInvalidReference: bad reference, no such
            snapshot, not of the snapshot's volume, not safe to manage, or
            the name is taken.
        :raises InvalidInput: the snapshot's name or id is not Cinder's.
        :raises VolumeBackendAPIException: the cluster failed; nothing
            was renamed.
        """
        image_name, snap = self.parse_snapshot_reference(snapshot,
                                                         existing_ref)
        target = self._target(snapshot, "snapshot")
        with self._locked(image_name, existing_ref) as (ioctx, pool, image):
            record = self._snapshot(pool, image, snap, existing_ref)
            self.ensure_safe(record, existing_ref, "snapshot")
            if pool.find_snapshot(image, target) is not None:
                raise self._invalid(
                    existing_ref, "image %s has a snapshot named %s "
                    "already" % (image_name, target))
            self.cluster.rename_snapshot(ioctx, image_name,
                                         image.scanned.image_id, snap, target)

    # Unmanage ------------------------------------------------------------

    def unmanage(self, volume: Any) -> None:
        """Release ``volume``; the image keeps its name and data.

        :raises InvalidInput: ``volume`` has no name.
        """
        LOG.info("Unmanaged volume %(name)s; RBD image left as it is",
                 {"name": references.object_name(volume)})

    def unmanage_snapshot(self, snapshot: Any) -> None:
        """Release ``snapshot``; the snapshot keeps its name and data.

        :raises InvalidInput: ``snapshot`` has no name.
        """
        LOG.info("Unmanaged snapshot %(name)s; RBD snapshot left as it is",
                 {"name": references.object_name(snapshot, "snapshot")})



