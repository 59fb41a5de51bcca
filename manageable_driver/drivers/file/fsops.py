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
import ctypes
import errno
import os
import stat

RENAME_NOREPLACE = 1

StepHook = Callable[[str], None]
Key = tuple[int, int]


class NotTheFile(Exception):
    """The name no longer held the checked file when it was renamed or
    linked; the step was undone as far as ``undone`` says."""

    def __init__(self, name: str, undone: str) -> None:
        super().__init__(name, undone)
        self.name = name
        self.undone = undone

_libc = ctypes.CDLL(None, use_errno=True)
_renameat2 = getattr(_libc, "renameat2", None)
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


def is_file(dir_fd: int, name: str, key: Key) -> bool:
    """True when ``name`` is the regular file ``key``, not through a
    symbolic link."""
    try:
        st = os.stat(name, dir_fd=dir_fd, follow_symlinks=False)
    except FileNotFoundError:
        return False
    return stat.S_ISREG(st.st_mode) and (st.st_dev, st.st_ino) == key


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


def link(dir_fd: int, old: str, new: str, key: Key | None = None) -> None:
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
    if key is not None and not is_file(dir_fd, new, key):
        raise NotTheFile(old, _undo(dir_fd, old, new))


def rename_noreplace(dir_fd: int, old: str, new: str,
                     hook: StepHook | None = None,
                     use_renameat2: bool = True,
                     key: Key | None = None) -> None:
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
        if key is not None and not is_file(dir_fd, new, key):
            raise NotTheFile(old, _undo(dir_fd, old, new))
        if hook:
            hook("renamed")
        return
    link(dir_fd, old, new, key)
    if hook:
        hook("linked")
    os.unlink(old, dir_fd=dir_fd)
    if hook:
        hook("unlinked")
