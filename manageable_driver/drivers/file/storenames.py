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

"""Resolving a file name without leaving the configured directories.

A backing file name, or the path the kernel prints for a loop device's
backing file, may point anywhere on the host.  Asking the kernel
(``stat``) would walk every directory it names, and a name below a dead
hard NFS mount or a stopped FUSE daemon hangs the caller, so every
listing and manage of the host.  :class:`StoreNames` resolves a name one
component at a time, as the kernel would, but looks at a component only
when it is below a configured directory and on its filesystem; the
directories above a configured directory are known from its real path
and are not looked at again.  A name that leaves the store is answered
:class:`Outside` from its text alone.
"""

from __future__ import annotations

import dataclasses
import os
import stat

# The kernel's limit on symbolic links in one resolution (MAXSYMLINKS).
MAX_LINKS = 40


@dataclasses.dataclass(frozen=True)
class Found:
    """A name resolved below (or to) a configured directory.

    :ivar path: its real path: no symbolic link, ``.`` or ``..`` in it.
    :ivar st: its status (not following a link: it is none).
    """

    path: str
    st: os.stat_result

    @property
    def key(self) -> tuple[int, int]:
        return (self.st.st_dev, self.st.st_ino)


@dataclasses.dataclass(frozen=True)
class Outside:
    """A name that leaves the configured directories; not looked at.

    :ivar rest: the part of the name from where it left them, as
        written (``/mnt/nova/sub/img``, ``other/img``).
    """

    rest: str


Resolved = Found | Outside | None
"""None: the name names nothing (a missing component, a file used as a
directory, a loop of links)."""


class StoreNames:
    """The configured directories, by the names that reach them.

    :param directories: the configured image directories; one that
        cannot be looked at is left out (its listing fails on its own).
    """

    def __init__(self, directories: list[str]) -> None:
        # Real path of each directory to its device, and each configured
        # name (which may go through a link) to the real path.
        self.roots: dict[str, int] = {}
        self.aliases: dict[str, str] = {}
        for directory in directories:
            real = os.path.realpath(directory)
            try:
                self.roots[real] = os.stat(real).st_dev
            except OSError:
                continue
            configured = os.path.normpath(os.path.abspath(directory))
            if configured != real:
                self.aliases[configured] = real

    def real_dir(self, directory: str) -> str:
        """The real path of configured directory ``directory``."""
        configured = os.path.normpath(os.path.abspath(directory))
        return self.aliases.get(configured, configured)

    def _root_of(self, path: str) -> str | None:
        """The configured directory ``path`` is strictly below, or None."""
        for root in self.roots:
            if path.startswith(root.rstrip("/") + "/"):
                return root
        return None

    def _above(self, path: str) -> bool:
        """True when ``path`` is a configured directory (by either name)
        or a directory above one: known without looking."""
        for name in (*self.roots, *self.aliases):
            if name == path or name.startswith(path.rstrip("/") + "/"):
                return True
        return False

    def resolve(self, path: str) -> Resolved:
        """Resolve absolute name ``path`` as the kernel would, looking
        only below the configured directories.

        A component on another filesystem than its configured directory
        (a mount point inside it) counts as outside.

        :raises: nothing; an error looking at a component names nothing.
        """
        if not path.startswith("/"):
            return None
        pending = path.split("/")[::-1]
        done: list[str] = []
        links = 0
        while pending:
            part = pending.pop()
            if part in ("", "."):
                continue
            if part == "..":
                if done:
                    done.pop()
                continue
            here = "/" + "/".join([*done, part])
            if here in self.aliases:
                done = self.aliases[here].strip("/").split("/")
                continue
            if self._above(here):
                done.append(part)
                continue
            root = self._root_of(here)
            if root is None:
                return Outside("/".join([part, *pending[::-1]]))
            try:
                st = os.lstat(here)
            except (OSError, ValueError):
                return None
            if st.st_dev != self.roots[root]:
                return Outside("/".join([part, *pending[::-1]]))
            if stat.S_ISLNK(st.st_mode):
                links += 1
                try:
                    target = os.readlink(here)
                except OSError:
                    return None
                if links > MAX_LINKS:
                    return None
                if target.startswith("/"):
                    done = []
                pending.extend(target.split("/")[::-1])
                continue
            if pending and not stat.S_ISDIR(st.st_mode):
                # A file used as a directory: ENOTDIR.
                return None
            done.append(part)
        final = "/" + "/".join(done)
        if final not in self.roots and self._root_of(final) is None:
            # A directory above a configured one, or the root.
            return Outside(final)
        try:
            st = os.lstat(final)
        except (OSError, ValueError):
            return None
        return Found(final, st)
