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

"""Who holds a file of the configured directories, from /proc and /sys.

An image is in use when a process of this host has it open or mapped
or holds a lock on it, or a loop device is attached to it.  One
listing reads each of these once for the whole host
(:func:`read_in_use`).

Nothing outside the configured directories is looked at.  A process's
open files are known by what ``/proc/PID/fdinfo/N`` prints (the mount id
and the inode number), the mounts by ``/proc/PID/mountinfo``; following
``/proc/PID/fd/N`` would ``stat`` the file, and a file on a hard NFS
mount whose server went away, or on a stopped FUSE daemon, would hang
the listing.  ``/proc/PID/maps`` and ``/proc/locks`` print the device and
inode; a loop device's backing file is known by the path sysfs prints,
resolved only inside the store (:mod:`.storenames`).

Every number is that of a filesystem (its superblock's device, as
``/proc`` prints it), so a holder is seen through any mount of the
store's filesystem, a bind mount or another mount namespace's copy.
Processes of other PID namespaces are seen as long as this process's
``/proc`` shows them (it does from the host's namespaces).
"""

from __future__ import annotations

from collections.abc import Iterable
import dataclasses
import os
import re

from oslo_log import log as logging

from manageable_driver.drivers.file import storenames

LOG = logging.getLogger(__name__)

Key = tuple[int, int]
"""(st_dev, st_ino) of a file of a configured directory."""

OPEN_PATH_FLAGS = os.O_PATH | os.O_DIRECTORY | os.O_CLOEXEC

# "MAJOR:MINOR:INODE" of /proc/locks, major and minor in hex.
_LOCK_DEVICE = re.compile(r"([0-9a-f]+):([0-9a-f]+):([0-9]+)\Z")


def parse_proc_locks(text: str) -> dict[Key, str]:
    """Map each (device, inode) ``/proc/locks`` lists to who holds it.

    :param text: the contents of ``/proc/locks``.
    """
    held: dict[Key, str] = {}
    for line in text.splitlines():
        fields = line.split()
        for pos, value in enumerate(fields):
            match = _LOCK_DEVICE.match(value)
            if match is None:
                continue
            dev = os.makedev(int(match.group(1), 16),
                             int(match.group(2), 16))
            key = (dev, int(match.group(3)))
            pid = fields[pos - 1] if pos else "-1"
            # OFD locks (qemu's image locks) belong to no process: -1.
            held.setdefault(key, "locked by pid %s" % pid
                            if pid.isdigit() else "locked (OFD lock)")
            break
    return held


def parse_mountinfo(text: str) -> dict[int, int]:
    """Map each mount id of a ``mountinfo`` to its filesystem's device.

    :param text: the contents of ``/proc/PID/mountinfo``.
    """
    mounts: dict[int, int] = {}
    for line in text.splitlines():
        fields = line.split(" ", 3)
        try:
            major, minor = fields[2].split(":")
            mounts[int(fields[0])] = os.makedev(int(major), int(minor))
        except (IndexError, ValueError):
            continue
    return mounts


def parse_fdinfo(text: bytes) -> tuple[int | None, int | None]:
    """Return the mount id and inode number an fdinfo prints (None for
    what it does not: ``ino`` is printed since Linux 5.14)."""
    values: list[int | None] = []
    for name in (b"\nmnt_id:", b"\nino:"):
        start = text.find(name)
        if start < 0:
            values.append(None)
            continue
        start += len(name)
        end = text.find(b"\n", start)
        values.append(int(text[start:end if end >= 0 else len(text)]))
    return values[0], values[1]


def parse_maps(text: bytes, devices: Iterable[int]) -> dict[Key, bool]:
    """Return (device, inode) of every file of one of ``devices`` that
    ``maps`` lists, and whether one of its mappings writes it (writable
    and shared).

    :param text: the contents of ``/proc/PID/maps``.
    :param devices: filesystem devices, as :func:`parse_mountinfo`.
    """
    found: dict[Key, bool] = {}
    for device in set(devices):
        spelt = b"%02x:%02x" % (os.major(device), os.minor(device))
        # Found by its text (a C search), then checked in its line:
        # most lines are of other filesystems, and are not split.
        token = b" " + spelt + b" "
        pos = text.find(token)
        while pos >= 0:
            start = text.rfind(b"\n", 0, pos) + 1
            # address perms offset dev inode [path]: the token must be
            # the fourth field (a path may hold its text too).
            fields = text[start:pos].split(b" ")
            end = text.find(b" ", pos + len(token))
            newline = text.find(b"\n", pos + len(token))
            if end < 0 or 0 <= newline < end:
                end = len(text) if newline < 0 else newline
            ino = text[pos + len(token):end]
            if len(fields) == 3 and ino.isdigit() and ino != b"0":
                key = (device, int(ino))
                perms = fields[1]
                found[key] = found.get(key, False) or (
                    perms[1:2] == b"w" and perms[3:4] == b"s")
            pos = text.find(token, end)
    return found


def _read(path: str, dir_fd: int | None = None) -> bytes:
    fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC, dir_fd=dir_fd)
    try:
        chunks: list[bytes] = []
        while True:
            chunk = os.read(fd, 65536)
            if not chunk:
                return b"".join(chunks)
            chunks.append(chunk)
    finally:
        os.close(fd)


def _read_head(name: str, dir_fd: int) -> bytes:
    """The first 4 KiB of ``name``: the lines an fdinfo begins with
    (``pos``, ``flags``, ``mnt_id``, ``ino``) in one read."""
    fd = os.open(name, os.O_RDONLY | os.O_CLOEXEC, dir_fd=dir_fd)
    try:
        return os.read(fd, 4096)
    finally:
        os.close(fd)


def mount_id(fd: int, proc: str = "/proc") -> int | None:
    """The mount id of this process's open file ``fd``, None where the
    kernel does not say."""
    try:
        return parse_fdinfo(_read("%s/self/fdinfo/%d" % (proc, fd)))[0]
    except (OSError, ValueError):
        return None


@dataclasses.dataclass(frozen=True)
class Store:
    """The filesystems of the configured directories.

    :ivar devices: filesystem device, as ``/proc`` prints it, to the
        ``st_dev`` of the configured directories on it (the same but on
        btrfs subvolumes).
    :ivar names: the configured directories' names.
    """

    devices: dict[int, set[int]]
    names: storenames.StoreNames

    def keys(self, device: int, ino: int) -> list[Key]:
        """The keys of inode ``ino`` of filesystem ``device`` in the
        configured directories; none when it is another filesystem."""
        return [(dev, ino) for dev in self.devices.get(device, ())]


def store_of(directories: list[str], proc: str = "/proc",
             mounts: _Mounts | None = None) -> Store:
    """Find the filesystems of ``directories``.

    Each is opened ``O_PATH``: its mount id (fdinfo) names its line of
    this process's mountinfo, which gives the filesystem's device.  One
    that cannot be opened is left out (the walk reports it).

    :param mounts: the mount table already read, if any.
    """
    table = (mounts or _Mounts(proc)).table
    devices: dict[int, set[int]] = {}
    for directory in directories:
        try:
            fd = os.open(directory, OPEN_PATH_FLAGS)
        except OSError:
            continue
        try:
            st_dev = os.fstat(fd).st_dev
            mnt = mount_id(fd, proc)
        finally:
            os.close(fd)
        device = table.get(mnt, st_dev) if mnt is not None else st_dev
        devices.setdefault(device, set()).add(st_dev)
    return Store(devices, storenames.StoreNames(directories))


class _Mounts:
    """Mount ids of every mount namespace seen, to filesystem devices.

    Mount ids are unique across namespaces, so one table serves all;
    another namespace's mountinfo is read the first time one of its
    processes holds a file on a mount not known yet.
    """

    def __init__(self, proc: str) -> None:
        self.proc = proc
        self.table: dict[int, int] = {}
        self.namespaces: set[str] = set()
        self.read: set[str] = set()
        self._add("self")

    def _add(self, pid: str) -> None:
        if pid in self.read:
            return
        self.read.add(pid)
        try:
            namespace = os.readlink("%s/%s/ns/mnt" % (self.proc, pid))
        except OSError:
            namespace = None
        if namespace is not None and namespace in self.namespaces:
            return
        try:
            text = _read("%s/%s/mountinfo" % (self.proc, pid))
        except OSError:
            return
        if namespace is not None:
            self.namespaces.add(namespace)
        self.table.update(parse_mountinfo(text.decode("utf-8", "replace")))

    def device(self, pid: str, mnt_id: int) -> int | None:
        """The device of mount ``mnt_id`` of process ``pid``; None for a
        kernel-internal mount (sockets, pipes)."""
        device = self.table.get(mnt_id)
        if device is None:
            self._add(pid)
            device = self.table.get(mnt_id)
        return device


OPEN_DIR_FLAGS = os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC


def _open_files(store: Store, pid: str, pid_fd: int,
                mounts: _Mounts, found: dict[Key, str]) -> None:
    # Relative to the process's directories: a path from / for each of a
    # host's descriptors costs more than reading them.
    links = os.open("fd", OPEN_DIR_FLAGS, dir_fd=pid_fd)
    try:
        infos = os.open("fdinfo", OPEN_DIR_FLAGS, dir_fd=pid_fd)
        try:
            for fd in os.listdir(links):
                try:
                    # The link's text is kept by the kernel (reading it
                    # does not look at the file): sockets, pipes and
                    # anonymous inodes, most descriptors of a host, are
                    # passed over without reading their fdinfo.
                    if not os.readlink(fd, dir_fd=links).startswith("/"):
                        continue
                    mnt_id, ino = parse_fdinfo(_read_head(fd, infos))
                except (OSError, ValueError):
                    continue
                if mnt_id is None:
                    continue
                device = mounts.device(pid, mnt_id)
                if device is None or device not in store.devices:
                    continue
                if ino is None:
                    # A kernel before 5.14: the file is on the store's
                    # filesystem, so following the link cannot leave it.
                    try:
                        st = os.stat(fd, dir_fd=links)
                    except OSError:
                        continue
                    keys = [(st.st_dev, st.st_ino)]
                else:
                    keys = store.keys(device, ino)
                for key in keys:
                    found.setdefault(key, "open by pid %s" % pid)
        finally:
            os.close(infos)
    finally:
        os.close(links)


def _mapped(store: Store, pid: str, pid_fd: int,
            found: dict[Key, str]) -> None:
    text = _read("maps", dir_fd=pid_fd)
    # A mapping holds the file as a descriptor does, after it is closed.
    for (device, ino), writes in parse_maps(text, store.devices).items():
        for key in store.keys(device, ino):
            found.setdefault(key, "mapped %sby pid %s"
                             % ("writable " if writes else "", pid))


def read_processes(store: Store, proc: str = "/proc",
                   mounts: _Mounts | None = None) -> dict[Key, str]:
    """Map each file of ``store`` some process has open or maps writable
    to one such process.

    Processes that end or deny access while being read are passed over.

    :param mounts: the mount table already read, if any.
    """
    found: dict[Key, str] = {}
    if not store.devices:
        return found
    try:
        pids = [name for name in os.listdir(proc) if name.isdigit()]
    except OSError as exc:
        LOG.warning("Cannot list %(proc)s: %(exc)s; open files are not "
                    "detected", {"proc": proc, "exc": exc})
        return found
    if mounts is None:
        mounts = _Mounts(proc)
    for pid in pids:
        try:
            pid_fd = os.open("%s/%s" % (proc, pid), OPEN_DIR_FLAGS)
        except OSError:
            continue
        try:
            _open_files(store, pid, pid_fd, mounts, found)
            _mapped(store, pid, pid_fd, found)
        except OSError:
            continue
        finally:
            os.close(pid_fd)
    return found


def read_loops(store: Store, sys_block: str = "/sys/block") -> dict[Key, str]:
    """Map each file of ``store`` a loop device is attached to to it.

    The backing file is known by the path sysfs prints (the kernel keeps
    it current across renames; a deleted file's ends with ``(deleted)``
    and names nothing); it is looked at only inside the store.
    """
    found: dict[Key, str] = {}
    try:
        names = sorted(name for name in os.listdir(sys_block)
                       if name.startswith("loop"))
    except OSError:
        return found
    for name in names:
        try:
            path = _read("%s/%s/loop/backing_file" % (sys_block, name))
        except OSError:
            # Not attached.
            continue
        resolved = store.names.resolve(
            os.fsdecode(path.rstrip(b"\n")))
        if isinstance(resolved, storenames.Found):
            found.setdefault(resolved.key, "attached to /dev/%s" % name)
    return found


def read_in_use(directories: list[str], proc: str = "/proc",
                sys_block: str = "/sys/block") -> dict[Key, str]:
    """Return every file of ``directories`` in use on this host, once.

    Only this host's holders are seen: a lock or open file on another NFS
    client is not in ``/proc``.

    :param directories: the configured image directories.
    :param proc: where procfs is mounted.
    :param sys_block: where sysfs lists block devices.
    """
    # This process's mountinfo, read once for both.
    mounts = _Mounts(proc)
    store = store_of(directories, proc, mounts)
    in_use = read_processes(store, proc, mounts)
    for key, why in read_loops(store, sys_block).items():
        in_use.setdefault(key, why)
    try:
        with open(os.path.join(proc, "locks"), encoding="ascii",
                  errors="replace") as f:
            locks = parse_proc_locks(f.read())
    except OSError as exc:
        LOG.warning("Cannot read %(proc)s/locks: %(exc)s; locked files are "
                    "not detected", {"proc": proc, "exc": exc})
        locks = {}
    for (device, ino), why in locks.items():
        # A lock says more than an open file: it wins.
        for key in store.keys(device, ino):
            in_use[key] = why
    return in_use
