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

"""Renaming an image without ever replacing another file or losing it.

``os.rename`` silently replaces an existing target.  We rename with
``renameat2(RENAME_NOREPLACE)``: one atomic step that fails with
``EEXIST`` when the target exists, so a crash leaves the image under its
old or its new name and never both.  Filesystems that do not implement the
flag (NFS and CIFS clients among them) answer ``EINVAL``; there we fall
back to ``link`` then ``unlink``: ``link`` also refuses an existing target,
and a crash between the two leaves the image under both names (a hard
link), which the listing reports as not safe and a repeated manage call
finishes.  Where neither works the rename is refused: a check followed by
``rename`` could replace a file created in between.

Both calls act on a name, not on the file checked before: whoever can
write the directory may swap the name for a symbolic link in between.
Given the file's key, the new name is checked after the step, and a
step that moved anything else is undone (see :class:`NotTheFile`).
"""

from __future__ import annotations

from collections.abc import Callable
from collections.abc import Iterator
import contextlib
import ctypes
import errno
import os
import stat
from typing import Any

from manageable_driver import exception
from manageable_driver.drivers.file import records
from manageable_driver.drivers.file import scanner

RENAME_NOREPLACE = 1

StepHook = Callable[[str], None]


class NotTheFile(Exception):
    """The name no longer held the checked file when it was renamed or
    linked; the step was undone as far as ``undone`` says."""

    def __init__(self, name: str, undone: str) -> None:
        super().__init__(name, undone)
        self.name = name
        self.undone = undone

# The C library, loaded once for the calls os does not offer.
libc = ctypes.CDLL(None, use_errno=True)
_renameat2 = getattr(libc, "renameat2", None)
if _renameat2 is not None:
    _renameat2.argtypes = [ctypes.c_int, ctypes.c_char_p, ctypes.c_int,
                           ctypes.c_char_p, ctypes.c_uint]
    _renameat2.restype = ctypes.c_int

# Answers of a kernel or filesystem that lacks RENAME_NOREPLACE.
_NO_RENAMEAT2 = (errno.EINVAL, errno.ENOSYS, errno.EOPNOTSUPP)
# Answers of a filesystem without hard links.
_NO_LINKS = (errno.EPERM, errno.EOPNOTSUPP, errno.EMLINK)


def renameat2_noreplace(dir_fd: int, old: str, new: str) -> bool:
    """Rename ``old`` to ``new`` in ``dir_fd`` unless ``new`` exists.

    :param dir_fd: the directory holding both names.
    :param old: the name to rename.
    :param new: the name it gets.
    :returns: False when this kernel or filesystem lacks the call.
    :raises OSError: ``EEXIST`` when ``new`` exists, or any other failure.
    """
    if _renameat2 is None:
        return False
    if _renameat2(dir_fd, os.fsencode(old), dir_fd, os.fsencode(new),
                  RENAME_NOREPLACE) == 0:
        return True
    err = ctypes.get_errno()
    if err in _NO_RENAMEAT2:
        return False
    raise OSError(err, os.strerror(err), new)


def is_file(dir_fd: int, name: str, key: scanner.Key) -> bool:
    """True when ``name`` is the regular file ``key``, not through a
    symbolic link.

    :param dir_fd: the directory holding ``name``.
    :param name: a name in it.
    :param key: (st_dev, st_ino) of the file expected.
    :raises OSError: ``name`` exists but cannot be looked at (``EIO``,
        ``ESTALE``, ``EACCES``); absent is False, not an error.
    """
    try:
        st = os.stat(name, dir_fd=dir_fd, follow_symlinks=False)
    except FileNotFoundError:
        return False
    return stat.S_ISREG(st.st_mode) and (st.st_dev, st.st_ino) == key


def _check_moved(dir_fd: int, old: str, new: str,
                 key: scanner.Key | None) -> None:
    """Undo a rename or link of ``old`` to ``new`` that moved anything
    but the file ``key``, or that cannot be checked.

    :raises NotTheFile: it was undone.
    """
    if key is None:
        return
    try:
        if is_file(dir_fd, new, key):
            return
        what = ""
    except OSError as exc:
        # What cannot be checked is treated as what is wrong.
        what = "cannot check %s: %s; " % (new, exc.strerror)
    raise NotTheFile(old, what + _undo(dir_fd, old, new))


def _undo(dir_fd: int, old: str, new: str) -> str:
    """Give back ``old`` what a rename or link to ``new`` took from it.

    :returns: what was done, for the error message.
    """
    try:
        if renameat2_noreplace(dir_fd, new, old):
            return "renamed back to %s" % old
    except OSError:
        pass  # old exists again (or is the same file, after a link)
    try:
        st = os.stat(new, dir_fd=dir_fd, follow_symlinks=False)
        # A symbolic link holds no data; a second hard link is a name we
        # made: removing either loses nothing.
        if stat.S_ISLNK(st.st_mode) or st.st_nlink > 1:
            os.unlink(new, dir_fd=dir_fd)
            return "%s removed" % new
    except OSError as exc:
        return "left as %s (%s)" % (new, exc.strerror)
    return "left as %s" % new


def link(dir_fd: int, old: str, new: str,
         key: scanner.Key | None = None) -> None:
    """Give ``old`` the second name ``new`` in ``dir_fd``.

    :param key: when given, ``new`` must turn out to be this regular
        file; otherwise the link is removed.
    :raises OSError: ``EEXIST`` when ``new`` exists; ``EOPNOTSUPP`` when
        the filesystem has no hard links.
    :raises NotTheFile: ``old`` was not the file ``key`` any more.
    """
    try:
        os.link(old, new, src_dir_fd=dir_fd, dst_dir_fd=dir_fd,
                follow_symlinks=False)
    except OSError as exc:
        if exc.errno in _NO_LINKS and exc.errno != errno.EEXIST:
            raise OSError(errno.EOPNOTSUPP,
                          "the filesystem supports neither "
                          "renameat2(RENAME_NOREPLACE) nor hard links (%s)"
                          % exc.strerror, new)
        raise
    _check_moved(dir_fd, old, new, key)


def rename_noreplace(dir_fd: int, old: str, new: str,
                     hook: StepHook | None = None,
                     use_renameat2: bool = True,
                     key: scanner.Key | None = None) -> None:
    """Rename ``old`` to ``new`` in directory ``dir_fd``, never replacing.

    :param hook: called with the name of each step once it is done
        (tests stop a process there to check crash safety).
    :param use_renameat2: False to go straight to link and unlink.
    :param key: when given, what was renamed must be this regular file;
        otherwise the rename is undone.
    :raises OSError: ``EEXIST`` when ``new`` exists (nothing changed), or
        the failure of a step.
    :raises NotTheFile: ``old`` was not the file ``key`` any more.
    """
    if use_renameat2 and renameat2_noreplace(dir_fd, old, new):
        _check_moved(dir_fd, old, new, key)
        if hook:
            hook("renamed")
        return
    link(dir_fd, old, new, key)
    if hook:
        hook("linked")
    os.unlink(old, dir_fd=dir_fd)
    if hook:
        hook("unlinked")


# -- descriptor-relative steps of a manage call ------------------------------


def changed(existing_ref: Any, image: scanner.ImageFile,
            what: str | None) -> exception.ManageableDriverException:
    """Return the error of an image replaced or moved while managed.

    :param existing_ref: the caller's reference, for the message.
    :param image: the image as it was scanned.
    :param what: what was found instead, or what was undone.
    """
    return exception.ManageExistingInvalidReference(
        existing_ref=existing_ref,
        reason="%s changed while being managed (%s); nothing was "
               "changed, try again" % (image.path, what))


@contextlib.contextmanager
def open_parent(location: records.Location,
                existing_ref: Any) -> Iterator[int]:
    """Yield a descriptor of the directory holding ``location``.

    Every directory below the configured one is opened with
    ``O_NOFOLLOW``, so no symbolic link on the path is followed.

    :param location: where the reference points.
    :param existing_ref: the caller's reference, for the message.
    :raises VolumeBackendAPIException: the configured directory cannot be
        opened.
    :raises ManageExistingInvalidReference: a directory on the path is
        not one or cannot be opened.
    """
    def invalid(reason: str) -> exception.ManageableDriverException:
        return exception.ManageExistingInvalidReference(
            existing_ref=existing_ref, reason=reason)

    try:
        fd = os.open(location.directory, scanner.OPEN_TOP_FLAGS)
    except OSError as exc:
        raise exception.VolumeBackendAPIException(
            data="cannot open image directory %s: %s"
                 % (location.directory, exc.strerror))
    try:
        for part in location.parts[:-1]:
            try:
                sub = os.open(part, scanner.OPEN_DIR_FLAGS, dir_fd=fd)
            except OSError as exc:
                if exc.errno in (errno.ELOOP, errno.ENOTDIR):
                    raise invalid("%s is not a directory (symbolic "
                                  "links are not followed)" % part)
                raise invalid("cannot open directory %s: %s"
                              % (part, exc.strerror))
            os.close(fd)
            fd = sub
        yield fd
    finally:
        os.close(fd)


def stat_image(parent_fd: int, name: str,
               existing_ref: Any) -> scanner.Key:
    """Return the key of regular file ``name`` of ``parent_fd``.

    :param parent_fd: its directory.
    :param name: its name there.
    :param existing_ref: the caller's reference, for the message.
    :raises ManageExistingInvalidReference: a symbolic link, not a
        regular file, missing, or it cannot be opened.
    """
    try:
        fd, st = scanner.open_image(name, parent_fd)
    except OSError as exc:
        reasons = {errno.ELOOP: "is a symbolic link",
                   errno.EINVAL: "is not a regular file",
                   errno.ENXIO: "is not a regular file",
                   errno.ENOENT: "does not exist"}
        raise exception.ManageExistingInvalidReference(
            existing_ref=existing_ref,
            reason="%s %s" % (name, reasons.get(
                exc.errno or 0, "cannot be opened: %s" % exc.strerror)))
    os.close(fd)
    return (st.st_dev, st.st_ino)


@contextlib.contextmanager
def open_checked(image: scanner.ImageFile,
                 existing_ref: Any) -> Iterator[int]:
    """Yield a read-only descriptor of ``image``, reached without
    following any symbolic link and checked to be the file scanned.

    :param image: the image as it was scanned.
    :param existing_ref: the caller's reference, for the message.
    :raises ManageExistingInvalidReference: it changed since.
    """
    location = records.Location(image.directory, image.relpath)
    with open_parent(location, existing_ref) as parent_fd:
        try:
            fd, st = scanner.open_image(image.name, parent_fd)
        except OSError as exc:
            raise changed(existing_ref, image, exc.strerror)
    try:
        if (st.st_dev, st.st_ino) != image.key:
            raise changed(existing_ref, image, "another file")
        yield fd
    finally:
        os.close(fd)


def still(image: scanner.ImageFile, existing_ref: Any) -> None:
    """Check that ``image``'s name is still the scanned file.

    :param image: the image as it was scanned.
    :param existing_ref: the caller's reference, for the message.
    :raises ManageExistingInvalidReference: it is not.
    :raises VolumeBackendAPIException: it cannot be looked at.
    """
    location = records.Location(image.directory, image.relpath)
    with open_parent(location, existing_ref) as parent_fd:
        try:
            same = is_file(parent_fd, image.name, image.key)
        except OSError as exc:
            raise exception.VolumeBackendAPIException(
                data="cannot check %s: %s" % (image.path, exc.strerror))
        if not same:
            raise changed(existing_ref, image, "another file")


def unlink(parent_fd: int, name: str, location: records.Location) -> None:
    """Remove one of two names of an image (never its last one).

    :param parent_fd: the image's directory.
    :param name: the name to remove.
    :param location: where the reference points, for the message.
    :raises VolumeBackendAPIException: the name cannot be removed.
    """
    try:
        os.unlink(name, dir_fd=parent_fd)
    except OSError as exc:
        raise exception.VolumeBackendAPIException(
            data="cannot remove the name %s of %s: %s; the image keeps "
                 "both names until manage is called again"
                 % (name, os.path.join(location.directory, name),
                    exc.strerror))


def find_all(directory: str, name: str,
             depth: int) -> Iterator[tuple[str, os.stat_result]]:
    """Yield every regular file ``name`` of ``directory`` and ``depth``
    levels of subdirectories below it, following no symbolic link.

    :param directory: a configured image directory.
    :param name: a file name.
    :param depth: subdirectory levels to search.
    :returns: for each, its path below ``directory`` and its status.
    :raises OSError: a directory cannot be opened or listed.
    """
    if "/" in name or name.startswith("."):
        return  # never listed, so never a name a manage call gave
    for dir_fd, prefix, files in scanner.iter_dirs(directory, depth):
        if name not in files:
            continue
        try:
            st = os.stat(name, dir_fd=dir_fd, follow_symlinks=False)
        except FileNotFoundError:
            continue  # gone since listed
        if stat.S_ISREG(st.st_mode):
            yield prefix + name, st


def find(directory: str, name: str,
         depth: int) -> tuple[str, os.stat_result] | None:
    """Find regular file ``name`` in ``directory`` or ``depth`` levels of
    subdirectories below it, following no symbolic link.

    :param directory: a configured image directory.
    :param name: a file name, as a manage call gave it.
    :param depth: subdirectory levels to search.
    :returns: its path below ``directory`` and its status, or None when
        it is not found or ``directory`` cannot be read.
    """
    try:
        for found in find_all(directory, name, depth):
            return found
    except OSError:
        pass  # that directory cannot be read: not found there
    return None
