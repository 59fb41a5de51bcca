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
"""

from __future__ import annotations

from collections.abc import Callable
import ctypes
import errno
import os

RENAME_NOREPLACE = 1

StepHook = Callable[[str], None]

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


def link(dir_fd: int, old: str, new: str) -> None:
    """Give ``old`` the second name ``new`` in ``dir_fd``.

    :raises OSError: ``EEXIST`` when ``new`` exists; ``EOPNOTSUPP`` when
        the filesystem has no hard links.
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


def rename_noreplace(dir_fd: int, old: str, new: str,
                     hook: StepHook | None = None,
                     use_renameat2: bool = True) -> None:
    """Rename ``old`` to ``new`` in directory ``dir_fd``, never replacing.

    :param hook: called with the name of each step once it is done
        (tests stop a process there to check crash safety).
    :param use_renameat2: False to go straight to link and unlink.
    :raises OSError: ``EEXIST`` when ``new`` exists (nothing changed), or
        the failure of a step.
    """
    if use_renameat2 and renameat2_noreplace(dir_fd, old, new):
        if hook:
            hook("renamed")
        return
    link(dir_fd, old, new)
    if hook:
        hook("linked")
    os.unlink(old, dir_fd=dir_fd)
    if hook:
        hook("unlinked")
