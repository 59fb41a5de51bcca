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

"""The file backend in the layout of Cinder's NFS driver.

Cinder's NFS driver (its RemoteFS snapshot code) keeps volume ``V`` in
the file ``volume-V`` at the top of a share. Taking snapshot ``S`` adds a
qcow2 overlay ``volume-V.S`` backed by the file that was active, and
records both in ``volume-V.info``, a JSON object: ``"active"`` names the
file the volume reads and writes now, and each snapshot id names the
overlay made when that snapshot was taken (the snapshot's data is what
lies below that overlay). Snapshot, clone, extend and delete all go by
that record, so a snapshot is adopted by its record, never by renaming
files:

- the snapshot listing is the ``.info`` records: one entry per
  recorded snapshot id, referenced ``{"source-id": <id>}`` (what Tempest
  can express: the id the ``.info`` file records it under);
- managing snapshot ``S`` as Cinder snapshot ``N`` of volume ``V``
  rewrites ``volume-V.info`` with ``N`` in place of ``S``, naming the same
  file: Cinder's own delete then merges it as one of its own. The file is
  replaced whole (a new file renamed over it), so a crash leaves the old
  record or the new one, never half of one; only a process that cannot
  give the new file the record's owner (cinder-volume unprivileged, the
  record made as root) rewrites it in place, as Cinder does;
- unmanaging a snapshot changes nothing: the record keeps its id, which
  is the reference to manage it back by;
- a volume with an ``.info`` file that records snapshots is not managed
  (its files are in Cinder's snapshot chain); one whose ``.info`` only
  says the volume's own file is active is renamed with it.

The volume listing, manage and unmanage are the file backend's
(:mod:`manageable_driver.drivers.file.driver`): a file is renamed to the
volume's name in its directory, and the names Cinder's NFS driver keeps
beside a volume
(``volume-V.info``, ``volume-V.S``) are never free
(:mod:`manageable_driver.namespace`).
"""

from __future__ import annotations

from collections.abc import Iterator
import contextlib
import dataclasses
import errno
import json
import os
import stat
from typing import Any

from oslo_log import log as logging

from manageable_driver import exception
from manageable_driver import namespace
from manageable_driver import records
from manageable_driver import references
from manageable_driver.drivers.file import driver
from manageable_driver.drivers.file import fsops
from manageable_driver.drivers.file import records as file_records
from manageable_driver.drivers.file import scanner

LOG = logging.getLogger(__name__)

ACTIVE = "active"
INFO_SUFFIX = namespace.NFS_INFO_SUFFIX
# Cinder's records hold a few names; anything larger is not one.
MAX_INFO_BYTES = 1024 * 1024


@dataclasses.dataclass(frozen=True)
class InfoFile:
    """One volume's ``.info`` file, as read.

    :ivar location: where it is.
    :ivar volume_name: the volume file it records (its name less
        ``.info``).
    :ivar snapshots: snapshot id to the file recorded for it, in the
        file's order.
    :ivar active: the file the volume reads and writes now.
    :ivar raw: the whole JSON object, ``active`` included.
    """

    location: file_records.Location
    volume_name: str
    snapshots: dict[str, str]
    active: str
    raw: dict[str, str]


def parse_info(text: str, where: str) -> tuple[dict[str, str], str]:
    """Return (snapshot id to file, active file) of an ``.info`` text.

    :param text: the file's content.
    :param where: its path, for the message.
    :raises ValueError: not a JSON object of strings with ``active``, or
        a file name that is not a plain name in the volume's directory.
    """
    data = json.loads(text)
    if not isinstance(data, dict) or not all(
            isinstance(k, str) and isinstance(v, str)
            for k, v in data.items()):
        raise ValueError("%s is not a JSON object of strings" % where)
    if ACTIVE not in data:
        raise ValueError("%s has no %r entry" % (where, ACTIVE))
    for value in data.values():
        if (not value or "/" in value or value.startswith(".")
                or "\0" in value):
            raise ValueError("%s names %r, not a file beside it"
                             % (where, value))
    return ({k: v for k, v in data.items() if k != ACTIVE}, data[ACTIVE])


def image_format(path: str) -> str:
    """The format an image's header says (``raw``, ``qcow2``): what
    Cinder's NFS driver records in a volume's admin metadata.

    :raises OSError: it cannot be opened or read (a symbolic link is
        not followed).
    """
    dir_fd = os.open(os.path.dirname(path) or ".", scanner.OPEN_TOP_FLAGS)
    try:
        fd, st = scanner.open_image(os.path.basename(path), dir_fd)
    finally:
        os.close(dir_fd)
    try:
        return scanner.read_image(fd, st).format
    finally:
        os.close(fd)


def _replace(path: str, text: str, st: os.stat_result) -> None:
    """Replace ``path`` by a new file holding ``text``, with the mode and
    owner of ``st``; the old file is left on any failure."""
    tmp = os.path.join(os.path.dirname(path),
                       ".%s.md-%d" % (os.path.basename(path), os.getpid()))
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW,
                 st.st_mode & 0o7777)
    try:
        os.write(fd, text.encode())
        os.fchmod(fd, st.st_mode & 0o7777)
        if (st.st_uid, st.st_gid) != (os.geteuid(), os.getegid()):
            os.fchown(fd, st.st_uid, st.st_gid)
        os.fsync(fd)
        os.close(fd)
        fd = -1
        os.replace(tmp, path)
    except BaseException:
        if fd >= 0:
            os.close(fd)
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


def _rewrite(path: str, text: str) -> None:
    """Write ``text`` over regular file ``path``, in place."""
    fd = os.open(path, os.O_WRONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
    try:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            raise OSError(errno.EINVAL, "not a regular file", path)
        os.ftruncate(fd, 0)
        os.pwrite(fd, text.encode(), 0)
        os.fsync(fd)
    finally:
        os.close(fd)


class NfsLayoutDriver(driver.FileDriver):
    """The file backend, with snapshots as Cinder's NFS driver records
    them (see the module's docstring)."""

    # -- .info files -------------------------------------------------------

    def _info_volume(self, name: str) -> str | None:
        """The volume file name an ``.info`` file name records, or None."""
        if not name.endswith(INFO_SUFFIX):
            return None
        base = name[:-len(INFO_SUFFIX)]
        found = namespace.owner(base, self.name_space("volume"))
        if found is None or found.kind != namespace.VOLUME:
            return None
        return base

    def _read_info(self, location: file_records.Location,
                   volume_name: str) -> InfoFile:
        """Read and check one ``.info`` file.

        :raises ValueError: it is not what Cinder writes.
        :raises OSError: it cannot be read.
        """
        # Never a symbolic link, and never blocking on a fifo.
        fd = os.open(location.path,
                     os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
        with os.fdopen(fd, "rb") as f:
            if not stat.S_ISREG(os.fstat(f.fileno()).st_mode):
                raise ValueError("%s is not a regular file" % location.path)
            text = f.read(MAX_INFO_BYTES + 1)
        if len(text) > MAX_INFO_BYTES:
            raise ValueError("%s is larger than %d bytes"
                             % (location.path, MAX_INFO_BYTES))
        snapshots, active = parse_info(text.decode("utf-8", "replace"),
                                       location.path)
        raw = dict(snapshots, **{ACTIVE: active})
        return InfoFile(location, volume_name, snapshots, active, raw)

    def _info_files(self, inventory: scanner.Inventory
                    ) -> Iterator[tuple[scanner.ImageFile, InfoFile | str]]:
        """Yield each ``.info`` file of the directories, read, or the
        reason it cannot be."""
        for image in inventory.images:
            volume_name = self._info_volume(image.name)
            if volume_name is None:
                continue
            location = file_records.Location(image.directory, image.relpath)
            try:
                yield image, self._read_info(location, volume_name)
            except (OSError, ValueError) as exc:
                yield image, "unreadable snapshot record %s: %s" % (
                    location.path, exc)

    def find_info(self, volume_name: str) -> file_records.Location | None:
        """Where ``<volume_name>.info`` is in the directories, or None."""
        for directory in self.directories:
            found = fsops.find(directory, volume_name + INFO_SUFFIX,
                               self.configuration.file_volume_scan_depth)
            if found is not None:
                return file_records.Location(directory, found[0])
        return None

    def _snapshot_record(self, info: InfoFile, snap_id: str,
                         images: dict[str, scanner.ImageFile],
                         inventory: scanner.Inventory
                         ) -> records.SnapshotRecord:
        directory = os.path.dirname(info.location.path)
        filename = info.snapshots[snap_id]
        image = images.get(os.path.join(directory, filename))
        size: int | None = None
        size_error: str | None = None
        unsafe: str | None = None
        in_use = None
        if image is None:
            unsafe = "%s records it as %s, which is not there" % (
                info.location.path, filename)
        else:
            overlay = file_records.volume_record(image, inventory)
            # The overlay has the size of the volume when the snapshot
            # was taken: Cinder's snapshot size.
            size, size_error = overlay.size_bytes, overlay.size_error
            in_use = image.in_use
        if not namespace.is_uuid(snap_id):
            unsafe = unsafe or "snapshot id %r is not a Cinder id" % snap_id
            name = snap_id
        else:
            name = self.name_space("snapshot").template() % snap_id
        return records.SnapshotRecord(
            name=name,
            reference={references.SOURCE_ID: snap_id},
            size_bytes=size, size_error=size_error,
            in_use=in_use is not None, in_use_reason=in_use,
            unsafe_reason=unsafe,
            source_reference={references.SOURCE_NAME: os.path.join(
                directory, info.volume_name)},
            extra_info={"snapshot_record": info.location.path,
                        "snapshot_file": filename})

    def _info_snapshot_records(self, inventory: scanner.Inventory
                               ) -> Iterator[records.SnapshotRecord]:
        images = {image.path: image for image in inventory.images}
        for image, info in self._info_files(inventory):
            if isinstance(info, str):
                LOG.warning("Snapshots of %(path)s not listed: %(why)s",
                            {"path": image.path, "why": info})
                continue
            for snap_id in info.snapshots:
                yield self._snapshot_record(info, snap_id, images,
                                            inventory)

    def list_snapshot_records(self) -> Iterator[records.SnapshotRecord]:
        """Yield one record per snapshot an ``.info`` file records.

        :raises VolumeBackendAPIException: no directory is configured,
            or one cannot be listed.
        """
        inventory = self._scan(self.directories, known=self.header_cache)
        yield from self._info_snapshot_records(inventory)

    # -- snapshots ---------------------------------------------------------

    def _snapshot_info(self, snapshot: Any, existing_ref: Any
                       ) -> tuple[tuple[str, str], file_records.Location]:
        """Return the reference's (key, value) and the ``.info`` file of
        the snapshot's volume; checks the reference only.

        :raises ManageExistingInvalidReference: bad reference, or the
            volume has no ``.info`` file.
        """
        key, value = references.parse_reference(
            existing_ref, keys=(references.SOURCE_ID, references.SOURCE_NAME))
        volume_name = references.object_name(
            references.field(snapshot, "volume"), "snapshot's volume")
        location = self.find_info(volume_name)
        if location is None:
            raise exception.ManageExistingInvalidReference(
                existing_ref=existing_ref,
                reason="%s%s is in none of %s: Cinder's NFS driver has "
                       "recorded no snapshot of volume %s"
                       % (volume_name, INFO_SUFFIX,
                          ", ".join(self.directories), volume_name))
        return (key, value), location

    def _recorded(self, info: InfoFile, key_value: tuple[str, str],
                  existing_ref: Any) -> str:
        """The snapshot id of ``info`` the reference names.

        :raises ManageExistingInvalidReference: none, or ``active``.
        """
        key, value = key_value
        if key == references.SOURCE_ID:
            if value in info.snapshots:
                return value
        else:
            wanted = os.path.basename(value)
            for snap_id, filename in info.snapshots.items():
                if filename == wanted:
                    return snap_id
        raise exception.ManageExistingInvalidReference(
            existing_ref=existing_ref,
            reason="%s records no snapshot %s %s (it records %s)"
                   % (info.location.path, key, value,
                      ", ".join(sorted(info.snapshots)) or "none"))

    def _load(self, location: file_records.Location,
              existing_ref: Any) -> InfoFile:
        volume_name = location.parts[-1][:-len(INFO_SUFFIX)]
        try:
            return self._read_info(location, volume_name)
        except (OSError, ValueError) as exc:
            raise exception.ManageExistingInvalidReference(
                existing_ref=existing_ref,
                reason="cannot read the snapshot record %s: %s"
                       % (location.path, exc))

    @contextlib.contextmanager
    def _info_locked(self, location: file_records.Location) -> Iterator[None]:
        # By name: rewriting replaces the file, so its inode changes.
        with self.locks.lock(self._backend_id(location),
                             "info:%s" % location.relpath):
            yield

    def _checked_snapshot(self, snapshot: Any, existing_ref: Any,
                          info: InfoFile, snap_id: str
                          ) -> records.SnapshotRecord:
        inventory = self._scan(self.directories, steady=True)
        images = {image.path: image for image in inventory.images}
        record = self._snapshot_record(info, snap_id, images, inventory)
        self.ensure_safe(record, existing_ref, "snapshot", snapshot)
        return record

    def manage_existing_snapshot(self, snapshot: Any,
                                 existing_ref: Any) -> None:
        """Record the snapshot ``existing_ref`` names under
        ``snapshot``'s id in its volume's ``.info`` file.

        ``{"source-id": <id>}`` names the id the file records it under;
        ``{"source-name": <file>}`` the file recorded for it.

        :raises ManageExistingInvalidReference: bad reference, not
            recorded for the snapshot's volume, or not safe as the listing
            reports (Cinder still manages that id, the file is missing).
        :raises VolumeBackendAPIException: the record already has the new
            id, or cannot be written (the old record is left).
        """
        new_id = self.cinder_id(snapshot, "snapshot")
        key_value, location = self._snapshot_info(snapshot, existing_ref)
        with self._info_locked(location):
            info = self._load(location, existing_ref)
            try:
                snap_id = self._recorded(info, key_value, existing_ref)
            except exception.ManageExistingInvalidReference:
                if self._done(info, key_value, new_id):
                    return None
                raise
            if snap_id == new_id:
                return None
            self._checked_snapshot(snapshot, existing_ref, info, snap_id)
            if new_id in info.raw:
                raise exception.VolumeBackendAPIException(
                    data="%s already records snapshot %s; nothing was "
                         "changed" % (location.path, new_id))
            raw = {(new_id if k == snap_id else k): v
                   for k, v in info.raw.items()}
            self._write_info(location, raw)
        LOG.info("Managed snapshot %(old)s of %(path)s as %(new)s",
                 {"old": snap_id, "path": location.path, "new": new_id})
        return None

    @staticmethod
    def _done(info: InfoFile, key_value: tuple[str, str],
              new_id: str) -> bool:
        """A previous call already recorded the file under ``new_id``."""
        key, value = key_value
        if new_id not in info.snapshots:
            return False
        return (key == references.SOURCE_NAME
                and info.snapshots[new_id] == os.path.basename(value))

    def _write_info(self, location: file_records.Location,
                    raw: dict[str, str]) -> None:
        """Write ``raw`` as the ``.info`` file.

        Replaced whole (a new file beside it, with its mode and owner,
        renamed over it: a crash leaves the old record or the new one)
        when this process can give the new file the old one's owner.
        Otherwise, as when cinder-volume runs unprivileged and Cinder made
        the record as root through its root helper, rewritten in place,
        as Cinder's NFS driver itself writes it.

        :raises VolumeBackendAPIException: it cannot be written.
        """
        path = location.path
        text = json.dumps(raw)
        try:
            st = os.stat(path, follow_symlinks=False)
            if os.geteuid() in (0, st.st_uid):
                _replace(path, text, st)
            else:
                _rewrite(path, text)
        except OSError as exc:
            raise exception.VolumeBackendAPIException(
                data="cannot rewrite the snapshot record %s: %s"
                     % (path, exc.strerror))

    def manage_existing_snapshot_get_size(self, snapshot: Any,
                                          existing_ref: Any) -> int:
        """The snapshot's size in GiB, rounded up: the volume's size when
        it was taken.

        :raises ManageExistingInvalidReference: as
            :meth:`manage_existing_snapshot`.
        """
        key_value, location = self._snapshot_info(snapshot, existing_ref)
        info = self._load(location, existing_ref)
        snap_id = self._recorded(info, key_value, existing_ref)
        inventory = self._scan(self.directories)
        images = {image.path: image for image in inventory.images}
        record = self._snapshot_record(info, snap_id, images, inventory)
        return self.manageable_size(record, existing_ref, "snapshot")

    def unmanage_snapshot(self, snapshot: Any) -> None:
        """Release ``snapshot``; its record and files stay as they are.

        The ``.info`` file keeps recording it under its id, the reference
        to manage it back by.
        """
        LOG.info("Unmanaged snapshot %(id)s; its record and file are kept",
                 {"id": references.field(snapshot, "id")})

    # -- volumes -----------------------------------------------------------

    def manage_existing(self, volume: Any, existing_ref: Any) -> None:
        """Rename the image to the volume's name, with an ``.info`` file
        that records no snapshot (see the module's docstring).

        :raises ManageExistingInvalidReference: as the file backend's, or
            an ``.info`` file records snapshots of the image.
        """
        location = self.locate(existing_ref)
        info_location = file_records.Location(
            location.directory, location.relpath + INFO_SUFFIX)
        new_name = references.object_name(volume)
        # One lock from the check of the record to its rename: a snapshot
        # recorded meanwhile (another host, a retried call) is not lost.
        with self._info_locked(info_location):
            info = None
            if os.path.lexists(info_location.path):
                info = self._load(info_location, existing_ref)
                if info.snapshots or info.active != location.parts[-1]:
                    raise exception.ManageExistingInvalidReference(
                        existing_ref=existing_ref,
                        reason="not safe to manage: %s records snapshots "
                               "of it (%s; active file %s): its files are "
                               "in Cinder's snapshot chain" % (
                                   info_location.path,
                                   ", ".join(info.snapshots) or "none",
                                   info.active))
            super().manage_existing(volume, existing_ref)
            if info is None:
                return None
            self._write_info(info_location, {ACTIVE: new_name})
            old_info = os.path.basename(info_location.relpath)
            new_info = new_name + INFO_SUFFIX
            with fsops.open_parent(info_location, existing_ref) as parent_fd:
                try:
                    # Never over a record someone else keeps there.
                    fsops.rename_noreplace(parent_fd, old_info, new_info)
                except OSError as exc:
                    raise exception.VolumeBackendAPIException(
                        data="managed %s as %s, but cannot rename %s to %s "
                             "in %s: %s" % (
                                 location.path, new_name, old_info, new_info,
                                 os.path.dirname(info_location.path),
                                 exc.strerror))
        return None

