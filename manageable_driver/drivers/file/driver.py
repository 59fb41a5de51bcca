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

"""The file-backed driver: image files in directories (NFS, CIFS mounts).

Listing reads every image's header natively (see :mod:`.scanner`): no
subprocess however many images.  Manage renames the image, in its own
directory, to the Cinder name, never replacing a file (see :mod:`.fsops`);
qemu-img runs once per manage call, to confirm what the header said.
Every step acts on the file that was checked: qemu-img is handed an open
descriptor of it, and a rename or link that turns out to have moved
anything else (a symbolic link swapped in for the name) is undone.

Snapshots are the images that are the backing file of another image of
the configured directories: the image using one is the volume the
snapshot belongs to (the top of its chain).  Such an image is also listed as a
volume, not safe ("backing file of: NAME"), since adopting it as a volume
would let Cinder write to a file another image reads through.  Managing a
snapshot renames it and rewrites the volume's backing file pointer with
``qemu-img rebase -u``, holding the old and new names as hard links of one
file until the pointer is rewritten, so the chain resolves at every
instant.
"""

from __future__ import annotations

from collections.abc import Iterable
from collections.abc import Iterator
import contextlib
import errno
import os
from typing import Any

from oslo_log import log as logging

from manageable_driver import configuration as configuration_mod
from manageable_driver import exception
from manageable_driver import interface
from manageable_driver import listing
from manageable_driver import locks
from manageable_driver import opts
from manageable_driver import records
from manageable_driver import references
from manageable_driver.drivers.file import fsops
from manageable_driver.drivers.file import headers
from manageable_driver.drivers.file import options
from manageable_driver.drivers.file import qemu_img
from manageable_driver.drivers.file import records as file_records
from manageable_driver.drivers.file import scanner
from manageable_driver.drivers.file import storenames

LOG = logging.getLogger(__name__)


def lock_id(key: scanner.Key) -> int:
    """The part of an image's key its lock is named by: the inode
    number, which every NFS client of an export sees alike.

    Not the device number, which each client mount numbers its own way,
    and not the inode generation: NFS and FUSE clients cannot read it
    (FS_IOC_GETVERSION), so a host that could would name another lock
    than a host that cannot.
    """
    return key[1]


class FileDriver(listing.ManageableListingMixin,
                 interface.VolumeListManageableDriver,
                 interface.VolumeSnapshotManagementDriver):
    """Manage and list image files of the directories ``file_volume_dirs``.

    :param configuration: a Cinder backend configuration, a
        :class:`manageable_driver.configuration.Configuration`, an
        oslo.config ``ConfigOpts`` or None (defaults).
    :param execute: processutils-compatible callable for qemu-img.
    """

    def __init__(self, configuration: Any = None,
                 execute: Any = None) -> None:
        self.configuration = configuration_mod.prepare(
            configuration, opts.common_opts + options.file_opts)
        conf = self.configuration
        self.qemu_img = qemu_img.QemuImg(
            execute=execute, root_helper=conf.file_root_helper,
            qemu_img=conf.file_qemu_img, timeout=conf.file_command_timeout)
        self.locks = locks.get_provider(conf)
        # Test seams: called after each step of a rename, and a switch to
        # exercise the link-and-unlink path on filesystems that have
        # renameat2.
        self.step_hook: fsops.StepHook | None = None
        self.use_renameat2 = True
        # Headers of the last listing, reused for unchanged files by the
        # next listing (never by manage).
        self.header_cache = scanner.HeaderCache()

    # -- configuration -----------------------------------------------------

    @property
    def directories(self) -> list[str]:
        """The configured image directories, absolute and normalised.

        :raises VolumeBackendAPIException: none is configured, or one is
            inside another.
        """
        dirs = [os.path.normpath(os.path.abspath(d))
                for d in self.configuration.file_volume_dirs or []]
        if not dirs:
            raise exception.VolumeBackendAPIException(
                data="file_volume_dirs is empty: no image directory is "
                     "configured")
        # An image below two of them would be listed twice, with
        # contradictory verdicts, and located in the first only.
        real = [os.path.join(os.path.realpath(d), "") for d in dirs]
        for i, outer in enumerate(real):
            for j, inner in enumerate(real):
                if i != j and inner.startswith(outer):
                    raise exception.VolumeBackendAPIException(
                        data="file_volume_dirs %s and %s are the same "
                             "directory or one is inside the other; "
                             "configure each directory once"
                             % (dirs[i], dirs[j]))
        return dirs

    def _scan(self, dirs: list[str], steady: bool = False,
              known: scanner.HeaderCache | None = None) -> scanner.Inventory:
        try:
            return scanner.scan(dirs,
                                self.configuration.file_volume_scan_depth,
                                steady=steady, known=known)
        except OSError as exc:
            raise exception.VolumeBackendAPIException(
                data="cannot list image directory %s: %s"
                     % (exc.filename, exc.strerror))

    # -- listing -----------------------------------------------------------

    def listing_scope(self) -> str:
        """Names the backend for kept listings (see listing_cache)."""
        return "file:%s" % sorted(
            os.path.normpath(os.path.abspath(d))
            for d in self.configuration.file_volume_dirs or [])

    def list_volume_records(self) -> Iterator[records.VolumeRecord]:
        """Yield every regular file of the image directories.

        :raises VolumeBackendAPIException: no directory is configured,
            or one cannot be listed.
        """
        inventory = self._scan(self.directories, known=self.header_cache)
        for image in inventory.images:
            yield file_records.volume_record(image, inventory)

    def list_snapshot_records(self) -> Iterator[records.SnapshotRecord]:
        """Yield every image that is the backing file of another.

        :raises VolumeBackendAPIException: no directory is configured,
            or one cannot be listed.
        """
        inventory = self._scan(self.directories, known=self.header_cache)
        for image in inventory.images:
            if image.key in inventory.backing_of:
                yield file_records.snapshot_record(image, inventory)

    # -- references --------------------------------------------------------

    def locate(self, existing_ref: Any) -> file_records.Location:
        """Return where ``existing_ref`` points, checking only its text.

        :raises ManageExistingInvalidReference: outside the configured
            directories, ``..``, ``.``, hidden, empty components, deeper
            than file_volume_scan_depth, or ambiguous.
        """
        _key, value = references.parse_reference(
            existing_ref, keys=(references.SOURCE_NAME,))

        def invalid(reason: str) -> exception.ManageableDriverException:
            return exception.ManageExistingInvalidReference(
                existing_ref=existing_ref, reason=reason)

        dirs = self.directories
        if os.path.isabs(value):
            for directory in dirs:
                prefix = directory.rstrip("/") + "/"
                if value.startswith(prefix):
                    location = file_records.Location(
                        directory, value[len(prefix):])
                    break
            else:
                raise invalid("not inside any of file_volume_dirs (%s)"
                              % ", ".join(dirs))
        elif len(dirs) == 1:
            location = file_records.Location(dirs[0], value)
        else:
            raise invalid("a relative name is ambiguous with several "
                          "file_volume_dirs; give the absolute path")
        for part in location.parts:
            if part in ("", ".", ".."):
                raise invalid("path component %r is not allowed" % part)
            if part.startswith("."):
                raise invalid("hidden files are never managed")
        depth = len(location.parts) - 1
        if depth > self.configuration.file_volume_scan_depth:
            raise invalid("%d directory levels deep, more than "
                          "file_volume_scan_depth=%d" % (
                              depth,
                              self.configuration.file_volume_scan_depth))
        return location

    def _examine(self, location: file_records.Location, parent_fd: int,
                 existing_ref: Any) -> tuple[scanner.ImageFile,
                                             scanner.Inventory]:
        """Stat the image and list every directory, as the listing does
        (an image of one may use an image of another); return both
        views."""
        key = fsops.stat_image(parent_fd, location.parts[-1], existing_ref)
        inventory = self._scan(self.directories, steady=True)
        for image in inventory.images:
            if (image.directory == location.directory
                    and image.relpath == location.relpath
                    and image.key == key):
                return image, inventory
        raise exception.ManageExistingInvalidReference(
            existing_ref=existing_ref,
            reason="the file changed while it was being read; try again")

    def _backend_id(self, location: file_records.Location) -> str:
        """The lock backend of the images of ``location``'s directory.

        What every host sees alike: the configured identity, or the
        directory's path; never a device number, which differs between
        the NFS clients (and FUSE mounts) of one export.
        """
        return (self.configuration.file_backend_id
                or os.path.realpath(location.directory))

    def _names_id(self) -> str:
        """The lock backend of Cinder names: every directory at once,
        since one Cinder id must name one image of all of them."""
        return "names:" + (self.configuration.file_backend_id
                           or "\0".join(map(os.path.realpath,
                                             self.directories)))

    @contextlib.contextmanager
    def _name_locked(self, new_name: str) -> Iterator[None]:
        # Taken before any image lock and alone, so no two calls wait for
        # each other.
        with self.locks.lock(self._names_id(), new_name):
            yield

    def _check_name_free(self, new_name: str,
                         image: scanner.ImageFile) -> None:
        """Refuse ``new_name`` when any file of any configured directory
        has it, other than ``image`` itself under that name next to it
        (a previous call linked it).

        :raises VolumeBackendAPIException: another file has it, or a
            directory cannot be read, so the name cannot be known free;
            nothing was changed.
        """
        own_dir = os.path.dirname(image.relpath)
        for directory in self.directories:
            try:
                found = list(fsops.find_all(
                    directory, new_name,
                    self.configuration.file_volume_scan_depth))
            except OSError as exc:
                raise exception.VolumeBackendAPIException(
                    data="cannot tell whether %s is free: cannot read %s: "
                         "%s" % (new_name, exc.filename or directory,
                                 exc.strerror))
            for relpath, st in found:
                if (directory == image.directory
                        and os.path.dirname(relpath) == own_dir
                        and (st.st_dev, st.st_ino) == image.key):
                    continue
                raise exception.VolumeBackendAPIException(
                    data="%s already exists: one Cinder id names one "
                         "image of file_volume_dirs; nothing was changed"
                         % os.path.join(directory, relpath))

    @contextlib.contextmanager
    def _locked(self, location: file_records.Location,
                keys: Iterable[scanner.Key]) -> Iterator[None]:
        with contextlib.ExitStack() as stack:
            # By inode number alone (st_dev differs between hosts), once
            # each and sorted, so two calls locking the same pair cannot
            # deadlock.
            for ino in sorted({lock_id(key) for key in keys}):
                stack.enter_context(self.locks.lock(
                    self._backend_id(location), "ino:%d" % ino))
            yield

    def _confirm(self, image: scanner.ImageFile, existing_ref: Any) -> None:
        """Check with qemu-img what the header parser read."""
        header = image.header
        assert header is not None  # image_problem refused it otherwise
        try:
            with fsops.open_checked(image, existing_ref) as fd:
                info = self.qemu_img.info(
                    self.qemu_img.fd_arg(fd) or image.path, header.format)
            # Without an fd qemu-img could open, it had the name: check
            # that the name still is the file.
            fsops.still(image, existing_ref)
        except exception.CommandFailed as exc:
            raise exception.ManageExistingInvalidReference(
                existing_ref=existing_ref,
                reason="qemu-img cannot open it (in use?): %s"
                       % exc.stderr.strip())
        ours = (header.format, headers.qemu_virtual_size(header), None,
                None, False)
        theirs = (info.format, info.virtual_size, info.backing_file,
                  info.data_file, info.encrypted)
        if ours != theirs:
            raise exception.ManageExistingInvalidReference(
                existing_ref=existing_ref,
                reason="qemu-img reports (format, size, backing file, data "
                       "file, encrypted) %r where the header read %r"
                       % (theirs, ours))

    def _check_type(self, volume: Any, image: scanner.ImageFile) -> None:
        wanted = references.requested(volume, "volume_format")
        have = image.header.format if image.header else None
        if wanted is not None and wanted != have:
            raise exception.ManageExistingVolumeTypeMismatch(
                reason="the volume type asks for volume_format %s but the "
                       "image is %s" % (wanted, have))

    @contextlib.contextmanager
    def _renaming(self, existing_ref: Any, image: scanner.ImageFile,
                  location: file_records.Location,
                  new: str) -> Iterator[None]:
        """Translate the errors of renaming or linking ``image`` to
        ``new``."""
        try:
            yield
        except fsops.NotTheFile as exc:
            raise fsops.changed(existing_ref, image, exc.undone)
        except OSError as exc:
            if exc.errno == errno.EEXIST:
                raise exception.VolumeBackendAPIException(
                    data="%s already exists next to %s; nothing was "
                         "changed" % (new, location.path))
            raise exception.VolumeBackendAPIException(
                data="cannot rename %s to %s: %s"
                     % (location.path, new, exc.strerror))

    def _read_backing(self, user: scanner.ImageFile,
                      existing_ref: Any) -> str | None:
        """Read the backing file name ``user``'s header holds now.

        :raises VolumeBackendAPIException: it cannot be read.
        :raises ManageExistingInvalidReference: ``user`` changed.
        """
        with fsops.open_checked(user, existing_ref) as fd:
            try:
                return scanner.read_image(fd, os.fstat(fd)).backing_file
            except OSError as exc:
                raise exception.VolumeBackendAPIException(
                    data="cannot read %s back after qemu-img rebase: %s"
                         % (user.path, exc.strerror))

    def _check_rebased(self, user: scanner.ImageFile, backing: str,
                       existing_ref: Any) -> None:
        """Read ``user``'s header back: the old name is dropped only once
        it names ``backing`` (qemu-img exiting 0 is not proof enough)."""
        found = self._read_backing(user, existing_ref)
        if found != backing:
            raise exception.VolumeBackendAPIException(
                data="qemu-img rebase exited 0 but %s names backing file "
                     "%r, not %r" % (user.path, found, backing))

    @staticmethod
    def _finishing(parent_fd: int, image: scanner.ImageFile,
                   new_name: str) -> bool:
        """True when a previous call linked ``new_name`` to ``image`` and
        stopped before removing the old name.

        :raises VolumeBackendAPIException: ``new_name`` cannot be looked
            at.
        """
        try:
            return (new_name != image.name
                    and fsops.is_file(parent_fd, new_name, image.key))
        except OSError as exc:
            raise exception.VolumeBackendAPIException(
                data="cannot check %s: %s"
                     % (os.path.join(os.path.dirname(image.path), new_name),
                        exc.strerror))

    # -- volumes -----------------------------------------------------------

    def _checked_volume(self, volume: Any, existing_ref: Any,
                        location: file_records.Location, parent_fd: int,
                        new_name: str) -> tuple[scanner.ImageFile, bool]:
        image, inventory = self._examine(location, parent_fd, existing_ref)
        finishing = self._finishing(parent_fd, image, new_name)
        record = file_records.volume_record(image, inventory,
                                            allow_links=finishing)
        self.ensure_safe(record, existing_ref, "volume", volume)
        self._check_type(volume, image)
        return image, finishing

    def manage_existing(self, volume: Any, existing_ref: Any) -> None:
        """Rename the image ``existing_ref`` names to ``volume['name']``.

        See the interface.  The image stays in its directory.

        :raises ManageExistingInvalidReference: bad reference, or an image
            the listing reports not safe.
        :raises ManageExistingVolumeTypeMismatch: the type's
            ``volume_format`` differs from the image's.
        :raises VolumeBackendAPIException: the new name exists (nothing
            changed) or the rename failed.
        """
        location = self.locate(existing_ref)
        new_name = file_records.check_new_name(
            self.cinder_name(volume, "volume"), "volume")
        with fsops.open_parent(location, existing_ref) as parent_fd, \
                self._name_locked(new_name):
            key = fsops.stat_image(parent_fd, location.parts[-1],
                                   existing_ref)
            with self._locked(location, [key]):
                image, finishing = self._checked_volume(
                    volume, existing_ref, location, parent_fd, new_name)
                if image.key != key:
                    # Replaced before the lock: the lock is not its own.
                    raise fsops.changed(existing_ref, image, "another file")
                if image.name == new_name:
                    return None
                self._check_name_free(new_name, image)
                if finishing:
                    # A previous call linked the new name and stopped.
                    fsops.unlink(parent_fd, image.name, location,
                                 image.key)
                    self._step("unlinked")
                else:
                    self._confirm(image, existing_ref)
                    with self._renaming(existing_ref, image, location,
                                        new_name):
                        fsops.rename_noreplace(
                            parent_fd, image.name, new_name,
                            hook=self.step_hook,
                            use_renameat2=self.use_renameat2,
                            key=image.key)
        LOG.info("Managed %(old)s as %(new)s",
                 {"old": location.path, "new": new_name})
        return None

    def manage_existing_get_size(self, volume: Any,
                                 existing_ref: Any) -> int:
        """Return the image's size in GiB, rounded up; see the interface.

        qcow2 images report their virtual size, others their file size.

        :raises ManageExistingInvalidReference: bad reference, or an image
            the listing reports not safe.
        """
        return self._get_size(existing_ref, "volume")

    def _get_size(self, existing_ref: Any, kind: str) -> int:
        location = self.locate(existing_ref)
        with fsops.open_parent(location, existing_ref) as parent_fd:
            image, inventory = self._examine(location, parent_fd,
                                             existing_ref)
        record = (file_records.snapshot_record if kind == "snapshot"
                  else file_records.volume_record)(image, inventory)
        return self.manageable_size(record, existing_ref, kind)

    def _release(self, obj: Any, what: str) -> None:
        name = references.object_name(obj, what)
        dirs = self.directories
        for directory in dirs:
            # A volume stays where its image was: below the directory
            # when that was in a subdirectory.
            found = fsops.find(directory, name,
                               self.configuration.file_volume_scan_depth)
            if found is None:
                continue
            relpath, st = found
            location = file_records.Location(directory, relpath)
            with self._locked(location, [(st.st_dev, st.st_ino)]):
                LOG.info("Unmanaged %(what)s %(path)s; the file is kept "
                         "as it is", {"what": what, "path": location.path})
            return
        LOG.warning("Unmanaged %(what)s %(name)s, which is in none of "
                    "%(dirs)s", {"what": what, "name": name, "dirs": dirs})

    def unmanage(self, volume: Any) -> None:
        """Release ``volume``; the image file is neither moved nor changed.
        """
        self._release(volume, "volume")

    # -- snapshots ---------------------------------------------------------

    def _step(self, name: str) -> None:
        if self.step_hook is not None:
            self.step_hook(name)

    def _snapshot_parts(self, snapshot: Any, existing_ref: Any,
                        location: file_records.Location, parent_fd: int,
                        new_name: str) -> tuple[
                            scanner.ImageFile, scanner.ImageFile, bool]:
        """Check the snapshot image; return it, its direct user, and
        whether a previous call was interrupted after linking."""
        image, inventory = self._examine(location, parent_fd, existing_ref)
        finishing = self._finishing(parent_fd, image, new_name)
        record = file_records.snapshot_record(image, inventory,
                                              allow_links=finishing)
        self.ensure_safe(record, existing_ref, "snapshot", snapshot)
        # ensure_safe refused an image that backs nothing.
        users = inventory.backing_of[image.key]
        top, _ambiguous = file_records.chain_top(image, inventory)
        if users[0].in_use is not None:
            # Its header is rewritten: a running qemu must not hold it.
            raise exception.ManageExistingInvalidReference(
                existing_ref=existing_ref,
                reason="not safe to manage: %s, whose backing file it is, "
                       "is in use: %s" % (users[0].path, users[0].in_use))
        volume_name = references.field(
            references.field(snapshot, "volume"), "name")
        if volume_name and volume_name != top.name:
            raise exception.ManageExistingInvalidReference(
                existing_ref=existing_ref,
                reason="it is a snapshot of %s, not of volume %s"
                       % (top.path, volume_name))
        return image, users[0], finishing

    def _new_backing_name(self, user: scanner.ImageFile,
                          image: scanner.ImageFile, parent_fd: int,
                          new_name: str, existing_ref: Any) -> str:
        """The backing file name ``user`` gets: the stored one, with only
        its last component changed, so relative stays relative."""
        assert user.header is not None and user.header.backing_file
        stored = user.header.backing_file
        stored_dir = os.path.dirname(stored)
        # Resolved without leaving file_volume_dirs: a name through
        # another mount is not rewritten (nor looked at).
        found = scanner.backing_dir(user, stored,
                                    storenames.StoreNames(self.directories))
        here = os.fstat(parent_fd)
        # After an interrupted call the user may already name the new one.
        if (os.path.basename(stored) not in (image.name, new_name)
                or not isinstance(found, storenames.Found)
                or found.key != (here.st_dev, here.st_ino)):
            raise exception.ManageExistingInvalidReference(
                existing_ref=existing_ref,
                reason="%s reaches it through another name (%s); not "
                       "rewriting that" % (user.path, stored))
        return os.path.join(stored_dir, new_name)

    @contextlib.contextmanager
    def _locked_snapshot(self, snapshot: Any, existing_ref: Any,
                         location: file_records.Location, parent_fd: int,
                         new_name: str) -> Iterator[tuple[
                             scanner.ImageFile, scanner.ImageFile, bool]]:
        """Lock the snapshot image and its user; yield what
        :meth:`_snapshot_parts` found, checked under both locks.

        Every caller takes locks in ascending inode order, so no two calls
        wait for each other.  The image's lock comes first and the
        directories are scanned once under it; the user's lock is then
        taken when its inode is the greater, and only the user is checked
        again.  Otherwise the image's lock is released and both are
        taken in order, and the scan repeated.

        :raises ManageExistingInvalidReference: as _snapshot_parts, or an
            image changed before its lock was taken.
        """
        key = fsops.stat_image(parent_fd, location.parts[-1], existing_ref)
        with self._locked(location, [key]):
            image, user, finishing = self._snapshot_parts(
                snapshot, existing_ref, location, parent_fd, new_name)
            if image.key != key:
                # Replaced before the lock: the lock is not its own.
                raise fsops.changed(existing_ref, image, "another file")
            if lock_id(user.key) >= lock_id(key):
                # An equal inode number (another filesystem) is one lock,
                # held already.
                with self._locked(location, [user.key]
                                  if lock_id(user.key) > lock_id(key)
                                  else []):
                    # The user's name and backing file name are what the
                    # scan read (read_backing checks its key).
                    now = self._read_backing(user, existing_ref)
                    if user.header is None or \
                            now != user.header.backing_file:
                        raise fsops.changed(existing_ref, user,
                                            "backing file %r" % now)
                    yield image, user, finishing
                return
        keys = (key, user.key)
        with self._locked(location, keys):
            image, user, finishing = self._snapshot_parts(
                snapshot, existing_ref, location, parent_fd, new_name)
            if (image.key, user.key) != keys:
                # Replaced before the locks: they are not theirs.
                raise fsops.changed(existing_ref, image, "another file")
            yield image, user, finishing

    def manage_existing_snapshot(self, snapshot: Any,
                                 existing_ref: Any) -> None:
        """Rename the backing file ``existing_ref`` names to
        ``snapshot['name']`` and repoint the image that uses it.

        Steps: hard link the new name, ``qemu-img rebase -u`` the user
        image to it, unlink the old name.  A crash at any point leaves the
        chain resolvable, and calling again with the same arguments
        finishes the job.

        :raises ManageExistingInvalidReference: bad reference, not a
            backing file here, or not safe as the listing reports.
        :raises VolumeBackendAPIException: the new name exists, or a step
            failed (the image is left reachable under a name that works).
        """
        location = self.locate(existing_ref)
        new_name = file_records.check_new_name(
            self.cinder_name(snapshot, "snapshot"), "snapshot")
        with fsops.open_parent(location, existing_ref) as parent_fd, \
                self._name_locked(new_name):
            with self._locked_snapshot(snapshot, existing_ref, location,
                                       parent_fd, new_name) as parts:
                image, user, finishing = parts
                if image.name == new_name:
                    return None
                self._check_name_free(new_name, image)
                backing = self._new_backing_name(
                    user, image, parent_fd, new_name, existing_ref)
                if not finishing:
                    self._confirm(image, existing_ref)
                    with self._renaming(existing_ref, image, location,
                                        new_name):
                        fsops.link(parent_fd, image.name, new_name,
                                   key=image.key)
                    self._step("linked")
                self._rebase(user, image, backing, finishing, parent_fd,
                             location, new_name, existing_ref)
                self._step("rebased")
                fsops.unlink(parent_fd, image.name, location, image.key)
                self._step("unlinked")
        LOG.info("Managed snapshot %(old)s as %(new)s, used by %(user)s",
                 {"old": location.path, "new": new_name,
                  "user": user.path})
        return None

    def _rebase(self, user: scanner.ImageFile, image: scanner.ImageFile,
                backing: str, finishing: bool, parent_fd: int,
                location: file_records.Location, new_name: str,
                existing_ref: Any) -> None:
        """Point ``user`` at ``backing`` (the new name of ``image``);
        on failure drop the new name only while ``user`` still names the
        old one."""
        assert image.header is not None and user.header is not None
        started = False
        try:
            with fsops.open_checked(user, existing_ref) as fd:
                started = True
                self.qemu_img.rebase_unsafe(
                    self.qemu_img.fd_arg(fd) or user.path, backing,
                    image.header.format)
            fsops.still(user, existing_ref)
            self._check_rebased(user, backing, existing_ref)
        except exception.ManageableDriverException as exc:
            if finishing:
                raise
            # qemu-img may have failed after writing the header (killed
            # at its timeout, an error flushing it): then the new name is
            # the one in use.
            now: str | None = user.header.backing_file
            if started:
                try:
                    now = self._read_backing(user, existing_ref)
                except exception.ManageableDriverException:
                    now = None
            if now is not None and now == user.header.backing_file:
                # Undo our link: the old name still works.
                fsops.unlink(parent_fd, new_name, location, image.key)
                raise
            # What is left comes first: the cause may be long, and a
            # message shows a bounded part of its argument.
            raise exception.VolumeBackendAPIException(
                data="%s keeps both names %s and %s: calling manage again "
                     "finishes; %s names backing file %r now (%s)"
                     % (image.path, image.name, new_name, user.path, now,
                        exc)) from exc

    def manage_existing_snapshot_get_size(self, snapshot: Any,
                                          existing_ref: Any) -> int:
        """Return the snapshot image's size in GiB, rounded up.

        :raises ManageExistingInvalidReference: bad reference, not a
            backing file here, or not safe as the listing reports.
        """
        return self._get_size(existing_ref, "snapshot")

    def unmanage_snapshot(self, snapshot: Any) -> None:
        """Release ``snapshot``; its image is neither moved nor changed."""
        self._release(snapshot, "snapshot")
