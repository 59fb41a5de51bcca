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

No name is ever removed without checking that it still is the verified
file: :func:`unlink_verified` first renames it to a private hidden name
in the same directory, checks the file there, and only then unlinks;
a file someone renamed onto the name in between is put back, untouched.
"""

from __future__ import annotations

from collections.abc import Callable
from collections.abc import Iterator
import contextlib
import ctypes
import errno
import os
import secrets
import stat
from typing import Any

from oslo_log import log as logging

from manageable_driver import exception
from manageable_driver.drivers.file import records
from manageable_driver.drivers.file import scanner

LOG = logging.getLogger(__name__)

RENAME_NOREPLACE = 1
# The private names a name is set aside under before it is removed:
# hidden, so no listing shows them.
ASIDE_PREFIX = ".manageable-unlink-"

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


def is_aside(name: str) -> bool:
    """True for a private name :func:`unlink_verified` sets a name aside
    under."""
    return name.startswith(ASIDE_PREFIX)


def _set_aside(dir_fd: int, name: str) -> str:
    """Rename ``name`` to a new private name of ``dir_fd``; return it.

    Without RENAME_NOREPLACE the rename may replace: the private name is
    128 random bits, hidden, and looked up first, so only a file made to
    collide with it on purpose, by someone who can read the directory
    while it exists, could be replaced.

    :raises OSError: the rename failed (``name`` is then unchanged).
    """
    aside = ASIDE_PREFIX + secrets.token_hex(16)
    if renameat2_noreplace(dir_fd, name, aside):
        return aside
    try:
        os.stat(aside, dir_fd=dir_fd, follow_symlinks=False)
    except FileNotFoundError:
        os.rename(name, aside, src_dir_fd=dir_fd, dst_dir_fd=dir_fd)
        return aside
    raise OSError(errno.EEXIST, os.strerror(errno.EEXIST), aside)


def unlink_verified(dir_fd: int, name: str, key: scanner.Key) -> bool:
    """Remove ``name`` from ``dir_fd`` only if it is the file ``key``.

    The name is renamed to a private name first and the file checked
    there, so a file renamed onto ``name`` after the caller's last check
    is never the one unlinked.

    :param dir_fd: the directory holding ``name``.
    :param name: the name to remove.
    :param key: (st_dev, st_ino) of the file it must be.
    :returns: True when removed; False when ``name`` is another file (or
        gone): it is left as it is.
    :raises OSError: a step failed; ``name`` is given back when it can be.
    """
    try:
        aside = _set_aside(dir_fd, name)
    except FileNotFoundError:
        return False
    try:
        ours = is_file(dir_fd, aside, key)
    except OSError:
        _give_back(dir_fd, aside, name)
        raise
    if not ours:
        _give_back(dir_fd, aside, name)
        return False
    try:
        os.unlink(aside, dir_fd=dir_fd)
    except OSError:
        _give_back(dir_fd, aside, name)
        raise
    return True


def _give_back(dir_fd: int, aside: str, name: str) -> None:
    """Rename ``aside`` back to ``name``, never replacing; a file that
    took ``name`` meanwhile keeps it and ``aside`` stays (logged)."""
    try:
        if renameat2_noreplace(dir_fd, aside, name):
            return
        os.link(aside, name, src_dir_fd=dir_fd, dst_dir_fd=dir_fd,
                follow_symlinks=False)
        os.unlink(aside, dir_fd=dir_fd)
    except OSError as exc:
        LOG.error("Could not give %(aside)s its name %(name)s back: "
                  "%(exc)s; it is kept under the hidden name",
                  {"aside": aside, "name": name, "exc": exc})


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
    if key is None:
        os.unlink(old, dir_fd=dir_fd)
    elif not unlink_verified(dir_fd, old, key):
        # ``old`` was renamed or replaced meanwhile (theirs stays). If
        # that gave the image yet another name, ours is one too many.
        st = os.stat(new, dir_fd=dir_fd, follow_symlinks=False)
        if st.st_nlink > 1 and unlink_verified(dir_fd, new, key):
            raise NotTheFile(old, "%s changed meanwhile and the image has "
                                  "another name; %s removed" % (old, new))
        LOG.warning("%(old)s changed while being renamed to %(new)s; "
                    "what has that name now is left as it is",
                    {"old": old, "new": new})
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
    ``O_NOFOLLOW``, so no symbolic link on the path is followed, and must
    be on the configured directory's mount: never another filesystem, a
    bind mount or an automount point.

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
        top = scanner.mount_of(fd)
        for part in location.parts[:-1]:
            try:
                why = scanner.other_mount(fd, part, top)
                if why is None:
                    sub = os.open(part, scanner.OPEN_DIR_FLAGS, dir_fd=fd)
            except OSError as exc:
                if exc.errno in (errno.ELOOP, errno.ENOTDIR):
                    raise invalid("%s is not a directory (symbolic "
                                  "links are not followed)" % part)
                raise invalid("cannot open directory %s: %s"
                              % (part, exc.strerror))
            if why is None:
                os.close(fd)
                fd = sub
                why = scanner.check_opened(fd, top)
            if why is not None:
                raise invalid("directory %s is on %s, outside the "
                              "configured directory" % (part, why))
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


def unlink(parent_fd: int, name: str, location: records.Location,
           key: scanner.Key) -> None:
    """Remove one of two names of an image (never its last one), only
    while it is that image (see :func:`unlink_verified`).

    A name that another file took meanwhile is left to that file: the
    image then has its other name alone, which is what removing the name
    was for.

    :param parent_fd: the image's directory.
    :param name: the name to remove.
    :param location: where the reference points, for the message.
    :param key: (st_dev, st_ino) of the image.
    :raises VolumeBackendAPIException: the name cannot be removed.
    """
    try:
        if not unlink_verified(parent_fd, name, key):
            LOG.warning("%(path)s is another file now; it is left as it "
                        "is", {"path": os.path.join(
                            os.path.dirname(location.path), name)})
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
