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

"""The lock directory the command shares with cinder-volume.

The command often runs as root (``sudo``) on a host where cinder-volume
runs as ``cinder``; both must take their locks in the same directory. A
directory the command creates as ``drwx------ root`` would lock the service
out, so it is created group-writable and set-group-id (every lock file
inherits the group), owned like Cinder's own ``[oslo_concurrency]
lock_path`` when a cinder.conf names one, else by the group ``cinder`` when
the host has it.
"""

from __future__ import annotations

import grp
import os
import stat

from manageable_driver.cmd.backends import UsageError

# rwxrws---: owner and group lock, the group sticks to new lock files.
MODE = stat.S_ISGID | stat.S_IRWXU | stat.S_IRWXG
SERVICE_GROUP = "cinder"


def _owner(like: str | None) -> tuple[int, int]:
    if like:
        try:
            st = os.stat(like)
        except OSError:
            pass
        else:
            return st.st_uid, st.st_gid
    try:
        return -1, grp.getgrnam(SERVICE_GROUP).gr_gid
    except KeyError:
        return -1, -1


def _create(path: str, like: str | None) -> None:
    try:
        os.mkdir(path, 0o700)
    except FileExistsError:
        return  # another process created it first: checked by the caller
    uid, gid = _owner(like)
    try:
        os.chown(path, uid if os.geteuid() == 0 else -1, gid)
    except PermissionError:
        pass  # not root, not in that group: keep our own group
    os.chmod(path, MODE)


def prepare(path: str, source: str, like: str | None = None) -> None:
    """Make sure ``path`` exists and this process may lock in it.

    :param path: the lock directory (``manageable_lock_path``).
    :param source: where the value came from, for the error message.
    :param like: Cinder's ``[oslo_concurrency] lock_path``, whose owner
        and group a new directory gets; None without a cinder.conf.
    :raises UsageError: it cannot be created or written.
    """
    if not os.path.isdir(path):
        parent = os.path.dirname(os.path.abspath(path))
        try:
            os.makedirs(parent, exist_ok=True)
            _create(path, like)
        except FileExistsError:
            raise UsageError("cannot create the lock directory %s (%s): %s "
                             "is not a directory" % (path, source, parent))
        except OSError as exc:
            raise UsageError("cannot create the lock directory %s (%s): %s"
                             % (path, source, exc.strerror or exc))
    if not os.access(path, os.W_OK | os.X_OK):
        raise UsageError("cannot create lock files in %s (%s): permission "
                         "denied; give this user write access to it, or "
                         "set %s to a directory it may write"
                         % (path, source, source))
