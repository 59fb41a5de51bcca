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

"""From what the cluster says of a pool to the library's records.

Pure: :mod:`.cluster` reads the pool once into a :class:`PoolScan`; the
functions here decide, per image and per snapshot, everything the listing
and manage need (size, in use, why not safe, extra_info). Rules of this
backend beyond the listing base (which already refuses a name Cinder
makes for the other kind):

- ``*.deleted`` images (the parents Cinder's RBD driver keeps after
  deleting a volume that still has clones), ``*.clone_snap`` snapshots
  (Cinder's clone sources) and ``backup.*.snap.*`` snapshots (Cinder's
  Ceph backup driver) belong to Cinder;
- a clone shares its parent's data and an image whose snapshots have
  clones shares its data with them: not safe; so is an image with a
  snapshot that cannot be decoded (librbd takes any bytes as a snapshot
  name), whose clones are unknown. A protected snapshot with no clone in
  the scan may have format 1 clones in other pools, seen only by librbd:
  it is asked for those (:meth:`Pool.unseen_clones`). A clone flattened
  later has no parent any more and is an ordinary image;
- a name manage would refuse (longer than librbd's limit, with '/',
  '@', a control character, not UTF-8) is not safe;
- a 0-byte image or snapshot is not safe (Cinder has no 0 GiB volume);
- watchers on the image header are clients with the image open: in use;
  watchers that cannot be read count as in use.
"""

from __future__ import annotations

import dataclasses
import re

from manageable_driver import records
from manageable_driver.drivers.rbd import header

DELETED_SUFFIX = ".deleted"
CLONE_SNAP_SUFFIX = ".clone_snap"
SOURCE_IMAGE = "source-image"

# librbd limits an image name to this many bytes (RBD_MAX_IMAGE_NAME_SIZE
# less its NUL); a snapshot name likewise.
MAX_NAME = 95
# Names librbd and the rbd tool read as something else: a path, a
# snapshot spec, a namespace, or control characters.
_BAD_NAME = re.compile(r"[/@\x00-\x1f\x7f]")


def name_problem(name: str) -> str | None:
    """Return why ``name`` cannot be an RBD image or snapshot name."""
    if len(name.encode("utf-8", "surrogateescape")) > MAX_NAME:
        return "longer than %d bytes" % MAX_NAME
    if name in (".", ".."):
        return "a relative path"
    if name.startswith("-"):
        return "starts with '-'"
    if _BAD_NAME.search(name):
        return "contains '/', '@' or a control character"
    try:
        name.encode("utf-8")
    except UnicodeEncodeError:
        return "not valid UTF-8"
    return None


@dataclasses.dataclass(frozen=True)
class ScannedImage:
    """One image of the pool as read from the cluster.

    :ivar name: its name in ``rbd_directory``.
    :ivar image_id: its id.
    :ivar omap: its header's omap; None when it could not be read.
    :ivar error: why the header could not be read.
    :ivar watchers: the addresses of the header's watchers; None when
        they could not be read.
    :ivar watchers_error: why not.
    """

    name: str
    image_id: str
    omap: dict[str, bytes] | None
    error: str | None = None
    watchers: tuple[str, ...] | None = ()
    watchers_error: str | None = None


@dataclasses.dataclass(frozen=True)
class PoolScan:
    """Every image of one pool, read in one pass."""

    pool_id: int
    pool_name: str
    images: tuple[ScannedImage, ...]


@dataclasses.dataclass(frozen=True)
class Image:
    """An image decoded: header (or why not) and snapshots."""

    scanned: ScannedImage
    head: header.Header | None
    error: str | None
    snapshots: tuple[header.Snapshot | header.DecodeError, ...]


def decode(scanned: ScannedImage) -> Image:
    """Decode one scanned image; a bad header is kept as an error."""
    if scanned.omap is None:
        return Image(scanned, None, scanned.error or "header unreadable",
                     ())
    snapshots = tuple(header.parse_snapshots(scanned.image_id,
                                             scanned.omap))
    try:
        parsed = header.parse_header(scanned.image_id, scanned.omap)
    except header.DecodeError as exc:
        return Image(scanned, None, str(exc), snapshots)
    return Image(scanned, parsed, None, snapshots)


class Pool:
    """A decoded pool scan, with the clone relations between its images.

    :param scan: what :mod:`.cluster` read.
    """

    def __init__(self, scan: PoolScan,
                 elsewhere: dict[tuple[str, int], int | str] | None = None
                 ) -> None:
        self.scan = scan
        # (image id, snapshot id) -> clones librbd found in every pool,
        # or why it could not (:meth:`unseen_clones`).
        self.elsewhere = elsewhere or {}
        self.images = [decode(s) for s in scan.images]
        self.names = {i.scanned.image_id: i.scanned.name
                      for i in self.images}
        # (parent image id, snapshot id) -> names of its clones here.
        self.clones: dict[tuple[str, int], list[str]] = {}
        for image in self.images:
            parent = image.head.parent if image.head else None
            if (parent is not None and parent.pool_id == scan.pool_id
                    and not parent.namespace):
                self.clones.setdefault(
                    (parent.image_id, parent.snap_id), []).append(
                        image.scanned.name)

    def by_name(self, name: str) -> Image | None:
        for image in self.images:
            if image.scanned.name == name:
                return image
        return None

    # Clone relations -----------------------------------------------------

    def clone_count(self, image: Image, snap: header.Snapshot) -> int:
        """How many clones ``snap`` has: the most any record says.

        Clone format 1 is seen only through the clones' ``parent`` keys
        in this pool; format 2 also counts clones in other pools.
        """
        key = (image.scanned.image_id, snap.snap_id)
        here = len(self.clones.get(key, ()))
        recorded = (image.head.snap_children.get(snap.snap_id, 0)
                    if image.head else 0)
        found = self.elsewhere.get(key, 0)
        return max(here, recorded, snap.child_count,
                   found if isinstance(found, int) else 0)

    def unseen_clones(self) -> list[tuple[str, int]]:
        """(image id, snapshot id) of each protected snapshot with no
        clone seen here.

        A clone of format 1 in another pool is recorded only in that
        pool's ``rbd_children``: such a snapshot may have clones this
        scan cannot see, and librbd must be asked (a few, rare).
        """
        return [(image.scanned.image_id, snap.snap_id)
                for image in self.images if image.head is not None
                for snap in image.snapshots
                if isinstance(snap, header.Snapshot) and snap.protected
                and not self.clone_count(image, snap)]

    def _clones_unknown(self, image: Image, snap: header.Snapshot
                        ) -> str | None:
        found = self.elsewhere.get((image.scanned.image_id, snap.snap_id))
        return found if isinstance(found, str) else None

    def parent_text(self, parent: header.Parent) -> str:
        if parent.pool_id == self.scan.pool_id and not parent.namespace:
            image_name = self.names.get(parent.image_id)
            image = self.by_name(image_name) if image_name else None
            snap_name = next(
                (s.name for s in (image.snapshots if image else ())
                 if isinstance(s, header.Snapshot)
                 and s.snap_id == parent.snap_id), None)
            if image_name and snap_name:
                return "%s/%s@%s" % (self.scan.pool_name, image_name,
                                     snap_name)
        return ("pool id %d%s, image id %s, snapshot id %d"
                % (parent.pool_id,
                   ", namespace %s" % parent.namespace
                   if parent.namespace else "",
                   parent.image_id, parent.snap_id))

    # Volumes -------------------------------------------------------------

    def _volume_reason(self, image: Image) -> str | None:
        name = image.scanned.name
        problem = name_problem(name)
        if problem:
            # librbd took it; manage could not rename it.
            return "not a name this driver can manage: %s" % problem
        if name.endswith(DELETED_SUFFIX):
            return ("a volume Cinder deleted whose clones still need it "
                    "(%s)" % DELETED_SUFFIX)
        head = image.head
        if head is None:
            return None
        if head.features & header.FEATURE_MIGRATING:
            return "being migrated (rbd migration)"
        if head.features & header.FEATURE_NON_PRIMARY:
            return "a non-primary mirror image"
        if head.parent is not None:
            return ("a clone of %s: its data is shared with the parent; "
                    "flatten it to manage it"
                    % self.parent_text(head.parent))
        undecoded = [snap for snap in image.snapshots
                     if isinstance(snap, header.DecodeError)]
        if undecoded:
            # Its clones and protection are unknown: it may share data.
            return ("%d snapshot(s) cannot be decoded, so whether they "
                    "have clones is unknown: %s"
                    % (len(undecoded), undecoded[0]))
        unknown = [(snap.name, why) for snap in image.snapshots
                   if isinstance(snap, header.Snapshot)
                   and (why := self._clones_unknown(image, snap))]
        if unknown:
            return ("the clones of protected snapshot %s are unknown: %s"
                    % unknown[0])
        shared = ["%s (%d)" % (snap.name, self.clone_count(image, snap))
                  for snap in image.snapshots
                  if isinstance(snap, header.Snapshot)
                  and self.clone_count(image, snap)]
        if shared:
            return ("snapshots with clones share its data: %s"
                    % ", ".join(shared))
        if head.size == 0:
            return "size is 0 bytes: Cinder has no 0 GiB volume"
        return None

    def _in_use(self, image: Image) -> str | None:
        watchers = image.scanned.watchers
        if watchers is None:
            return ("watchers unreadable: %s"
                    % (image.scanned.watchers_error or "unknown"))
        if watchers:
            return "in use: %d watcher(s): %s" % (len(watchers),
                                                  ", ".join(watchers))
        return None

    def _extra(self, image: Image) -> dict[str, str]:
        extra = {"image_id": image.scanned.image_id,
                 "snapshots": str(len(image.snapshots))}
        head = image.head
        if head is not None:
            extra["features"] = head.feature_names()
            if head.parent is not None:
                extra["parent"] = self.parent_text(head.parent)
        else:
            extra["error"] = image.error or "unknown"
        return extra

    def volume_record(self, image: Image) -> records.VolumeRecord:
        """The record of one image."""
        in_use = self._in_use(image)
        return records.VolumeRecord(
            name=image.scanned.name,
            reference={"source-name": image.scanned.name},
            size_bytes=image.head.size if image.head else None,
            size_error=("header unreadable: %s" % image.error
                        if image.head is None else None),
            in_use=in_use is not None,
            in_use_reason=in_use,
            unsafe_reason=self._volume_reason(image),
            extra_info=self._extra(image))

    def volume_records(self) -> list[records.VolumeRecord]:
        """One record per image of the pool."""
        return [self.volume_record(image) for image in self.images]

    # Snapshots -----------------------------------------------------------

    def _snapshot_reason(self, image: Image,
                         snap: header.Snapshot) -> str | None:
        name = snap.name
        problem = name_problem(name)
        if problem:
            return "not a name this driver can manage: %s" % problem
        if snap.namespace_type != header.NAMESPACE_USER:
            return "a %s snapshot, kept by librbd" % header.NAMESPACES.get(
                snap.namespace_type, "non-user")
        if name.endswith(CLONE_SNAP_SUFFIX):
            return ("Cinder's clone snapshot (%s) of a volume cloned from "
                    "it" % CLONE_SNAP_SUFFIX)
        if name.startswith("backup.") and ".snap." in name:
            return "a snapshot of Cinder's Ceph backup driver"
        unknown = self._clones_unknown(image, snap)
        if unknown:
            return "protected, its clones are unknown: %s" % unknown
        clones = self.clone_count(image, snap)
        if clones:
            return ("%s with %d clone(s): its data is shared"
                    % (header.PROTECTION.get(snap.protection, "?"), clones))
        if image.head is None:
            return "its image's header is unreadable: %s" % image.error
        if snap.size == 0:
            return "size is 0 bytes: Cinder has no 0 GiB snapshot"
        return None

    def snapshot_records(self) -> list[records.SnapshotRecord]:
        """One record per snapshot of every image; a snapshot that cannot
        be decoded is not listed (it has no name to list it by)."""
        found = []
        for image in self.images:
            for snap in image.snapshots:
                if isinstance(snap, header.Snapshot):
                    found.append(self.snapshot_record(image, snap))
        return found

    def snapshot_record(self, image: Image,
                        snap: header.Snapshot) -> records.SnapshotRecord:
        """The record of one snapshot of ``image``."""
        return records.SnapshotRecord(
            name=snap.name,
            reference={"source-name": snap.name,
                       SOURCE_IMAGE: image.scanned.name},
            source_reference={"source-name": image.scanned.name},
            size_bytes=snap.size,
            unsafe_reason=self._snapshot_reason(image, snap),
            extra_info={"snap_id": str(snap.snap_id),
                        "protection": header.PROTECTION.get(
                            snap.protection, str(snap.protection)),
                        "namespace": header.NAMESPACES.get(
                            snap.namespace_type,
                            str(snap.namespace_type))})

    def find_snapshot(self, image: Image,
                      name: str) -> header.Snapshot | None:
        for snap in image.snapshots:
            if isinstance(snap, header.Snapshot) and snap.name == name:
                return snap
        return None

