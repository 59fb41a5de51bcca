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

"""What was read from a file, reused while its stat says it is unchanged.

A listing of thousands of images spends its time reading and parsing
headers; a ``stat`` of each name is cheap.  :class:`StatCache` keeps each
file's parsed header under its stamp: device, inode, size, and the
modification and change times in nanoseconds.  Writing a file changes its
mtime and ctime, and setting the mtime back (``touch -d``) changes its
ctime, which nothing can set, so an unchanged stamp means unchanged
contents -- except within one tick of the filesystem's clock, where a
second write may keep the stamp of the first.  As git does for its index,
a value is therefore kept only for a file whose ctime is at least
:data:`SETTLED_NS` old when it was read (NFS takes times from the server's
clock: keep it in step, as NFS needs anyway).

Only listings use it; manage reads the file again, under its lock.
"""

from __future__ import annotations

from collections.abc import Iterable
import os
import time
from typing import Generic
from typing import TypeVar

# A file changed less than this long before it was read is not kept.
SETTLED_NS = 2 * 10 ** 9

Stamp = tuple[int, int, int, int, int]
Key = tuple[int, int]
V = TypeVar("V")


def stamp(st: os.stat_result) -> Stamp:
    """The stamp of a file: device, inode, size, mtime_ns, ctime_ns."""
    return (st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns,
            st.st_ctime_ns)


class StatCache(Generic[V]):
    """Values read from files, each valid while the file's stamp is."""

    def __init__(self) -> None:
        self._entries: dict[Key, tuple[Stamp, V]] = {}

    def get(self, st: os.stat_result) -> V | None:
        """The value kept for the file ``st`` describes, if its stamp is
        unchanged; None otherwise."""
        found = self._entries.get((st.st_dev, st.st_ino))
        if found is None or found[0] != stamp(st):
            return None
        return found[1]

    def put(self, st: os.stat_result, value: V) -> None:
        """Keep ``value``, read from the file ``st`` describes (the
        ``fstat`` of the descriptor it was read from), unless the file
        changed too recently for its stamp to tell a later change."""
        if time.time_ns() - st.st_ctime_ns < SETTLED_NS:
            return
        self._entries[(st.st_dev, st.st_ino)] = (stamp(st), value)

    def retain(self, keys: Iterable[Key]) -> None:
        """Forget every file but those of ``keys`` (the last listing's)."""
        wanted = set(keys)
        self._entries = {key: value for key, value in self._entries.items()
                         if key in wanted}

    def __len__(self) -> int:
        return len(self._entries)
