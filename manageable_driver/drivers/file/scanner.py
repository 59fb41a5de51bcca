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

"""Walking the image directories and telling which images are in use.

One listing reads who holds the store's files once
(:func:`.holders.read_in_use`), then opens each regular file once to read
its header natively (:func:`scan`): no subprocess, however many images.
Backing and data file names are resolved without leaving the configured
directories (:mod:`.storenames`).

Nothing but regular files is ever opened: symbolic links, fifos, sockets
and devices are skipped by their directory entry type, and files are
opened relative to their directory's descriptor with ``O_NOFOLLOW |
O_NONBLOCK`` and checked with ``fstat`` after opening, so an entry swapped
for a fifo or a link between the two steps neither hangs nor escapes.
Hidden names (a leading dot) are skipped: they are temporary files, this
driver's own and NFS's ``.nfsXXXX`` silly-renamed files among them.
"""

from __future__ import annotations

from collections.abc import Iterable
from collections.abc import Iterator
import dataclasses
import errno
import json
import os
import stat
import time

from oslo_log import log as logging

from manageable_driver import stat_cache
from manageable_driver.drivers.file import headers
from manageable_driver.drivers.file import holders
from manageable_driver.drivers.file import storenames

LOG = logging.getLogger(__name__)

Key = tuple[int, int]
"""(st_dev, st_ino): an image's identity, stable across renames."""

OPEN_FILE_FLAGS = (os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK
                   | os.O_CLOEXEC | os.O_NOCTTY)
# A configured directory may itself be reached through a symbolic link;
# nothing below it is.
OPEN_TOP_FLAGS = os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC
OPEN_DIR_FLAGS = OPEN_TOP_FLAGS | os.O_NOFOLLOW

@dataclasses.dataclass(frozen=True)
class ImageFile:
    """One regular file found in an image directory.

    :ivar directory: the configured directory it was found in.
    :ivar relpath: its path below ``directory`` (``a.qcow2``,
        ``sub/b.qcow2``).
    :ivar header: what its header says; None when it could not be read.
    :ivar read_error: why it could not be opened or read.
    :ivar in_use: who uses it ("locked by pid 42", "open by pid 7").
    """

    directory: str
    relpath: str
    dev: int
    ino: int
    nlink: int
    file_size: int
    header: headers.ImageHeader | None
    read_error: str | None = None
    in_use: str | None = None

    @property
    def key(self) -> Key:
        return (self.dev, self.ino)

    @property
    def path(self) -> str:
        return os.path.join(self.directory, self.relpath)

    @property
    def name(self) -> str:
        return os.path.basename(self.relpath)


@dataclasses.dataclass
class Inventory:
    """Every image of the scanned directories and how they refer to
    each other.

    :ivar images: the images, in directory order.
    :ivar backing_of: image key to the images whose backing file it is.
    :ivar data_file_of: image key to the images whose external data file
        (qcow2) or extent (vmdk) it is.
    :ivar unresolved: configured directory to the images of it naming a
        backing or data file this scan cannot tell (a protocol, a name
        relative to qemu's working directory): any image of that
        directory may be the one named.
    :ivar indirect: image key to the images that name it as their
        backing file through another name (a symbolic link, another
        directory's name for it): a snapshot manage could not rewrite
        that name.
    :ivar loose: last name component to the names that may reach an
        image so named through a directory not looked at (see
        :class:`Loose`).
    """

    images: list[ImageFile]
    backing_of: dict[Key, list[ImageFile]]
    data_file_of: dict[Key, list[ImageFile]]
    unresolved: dict[str, list[ImageFile]] = dataclasses.field(
        default_factory=dict)
    indirect: dict[Key, list[ImageFile]] = dataclasses.field(
        default_factory=dict)
    loose: dict[str, list[Loose]] = dataclasses.field(default_factory=dict)

    def suspects(self, image: ImageFile) -> list[Loose]:
        """The names that may reach ``image`` through a directory not
        looked at."""
        if not self.loose:
            return []
        return [name for name in self.loose.get(image.name, ())
                if name.may_name(image)]


HeaderCache = stat_cache.StatCache[headers.ImageHeader]
"""Headers of earlier listings, by file stamp."""

# Seconds between the two readings of a steady scan.
STEADY_PAUSE = 0.2


def read_image(fd: int, st: os.stat_result) -> headers.ImageHeader:
    """Parse the header of the open regular file ``fd``."""
    def read(offset: int, length: int) -> bytes:
        return os.pread(fd, length, offset)

    return headers.parse(read, st.st_size)


def open_image(name: str, dir_fd: int,
               lstat_first: bool = True) -> tuple[int, os.stat_result]:
    """Open regular file ``name`` of directory ``dir_fd`` for reading.

    :param lstat_first: look at the entry before opening it, so that a
        device or fifo is never opened (opening some devices, even
        ``O_NONBLOCK``, has effects).  The listing, which already has the
        entry's type from the directory, passes False.
    :raises OSError: ``ELOOP`` for a symbolic link, ``EINVAL`` for
        anything but a regular file, or the error of opening it.
    """
    if lstat_first:
        lst = os.stat(name, dir_fd=dir_fd, follow_symlinks=False)
        if stat.S_ISLNK(lst.st_mode):
            raise OSError(errno.ELOOP, "a symbolic link", name)
        if not stat.S_ISREG(lst.st_mode):
            raise OSError(errno.EINVAL, "not a regular file", name)
    fd = os.open(name, OPEN_FILE_FLAGS, dir_fd=dir_fd)
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            raise OSError(errno.EINVAL, "not a regular file", name)
    except BaseException:
        os.close(fd)
        raise
    return fd, st


def inspect(directory: str, relpath: str, name: str, dir_fd: int,
            in_use: dict[Key, str],
            known: HeaderCache | None = None) -> ImageFile | None:
    """Read one directory entry; None when it is not a regular file.

    A regular file that cannot be opened or read is returned with a
    ``read_error``, so the listing shows it as not safe.

    :param directory: the configured directory it was found in.
    :param relpath: its path below ``directory``.
    :param name: its name in ``dir_fd``.
    :param dir_fd: the directory holding it.
    :param in_use: from :func:`.holders.read_in_use`.
    :param known: headers of earlier listings; a file whose stamp is
        unchanged is not opened, and what is read is kept.
    :raises: nothing; every failure of the file is in the result.
    """
    if known is not None:
        try:
            lst = os.stat(name, dir_fd=dir_fd, follow_symlinks=False)
        except OSError:
            lst = None
        header = (known.get(lst) if lst is not None
                  and stat.S_ISREG(lst.st_mode) else None)
        if lst is not None and header is not None:
            return ImageFile(directory, relpath, lst.st_dev, lst.st_ino,
                             lst.st_nlink, lst.st_size, header,
                             in_use=in_use.get((lst.st_dev, lst.st_ino)))
    try:
        fd, st = open_image(name, dir_fd, lstat_first=False)
    except OSError as exc:
        if exc.errno in (errno.ELOOP, errno.EINVAL, errno.ENOENT,
                         errno.ENXIO):
            # Changed into a link, fifo or socket, or gone, since listed.
            return None
        # Unreadable files are listed, not safe, so the operator sees them.
        try:
            lst = os.stat(name, dir_fd=dir_fd, follow_symlinks=False)
        except OSError:
            return None
        if not stat.S_ISREG(lst.st_mode):
            return None
        return ImageFile(directory, relpath, lst.st_dev, lst.st_ino,
                         lst.st_nlink, lst.st_size, None,
                         read_error="unreadable: %s" % exc.strerror,
                         in_use=in_use.get((lst.st_dev, lst.st_ino)))
    try:
        try:
            header = read_image(fd, st)
            read_error = None
            if known is not None:
                known.put(st, header)
        except OSError as exc:
            header, read_error = None, "unreadable: %s" % exc.strerror
    finally:
        os.close(fd)
    return ImageFile(directory, relpath, st.st_dev, st.st_ino, st.st_nlink,
                     st.st_size, header, read_error,
                     in_use.get((st.st_dev, st.st_ino)))


def iter_dirs(directory: str,
              depth: int) -> Iterator[tuple[int, str, list[str]]]:
    """Yield ``directory`` and its subdirectories ``depth`` levels down.

    Hidden entries are skipped and no symbolic link is followed; a
    subdirectory that cannot be opened is logged and passed over.

    :param directory: a configured image directory.
    :param depth: subdirectory levels to descend; 0 for the top only.
    :returns: for each directory, a descriptor of it (open until the next
        item is asked for), its path below ``directory`` (``""``,
        ``"sub/"``) and the names of its regular files, sorted.
    :raises OSError: ``directory`` itself cannot be opened, or a
        directory cannot be listed.
    """
    top = os.open(directory, OPEN_TOP_FLAGS)
    try:
        yield from _iter_dirs(directory, top, "", depth, mount_of(top))
    finally:
        os.close(top)


Mount = tuple[int, int | None]
"""(st_dev, mount id) of a directory: what must not change below it."""


def mount_of(fd: int) -> Mount:
    """The :data:`Mount` of open directory ``fd``."""
    return os.fstat(fd).st_dev, holders.mount_id(fd)


def other_mount(dir_fd: int, name: str, top: Mount) -> str | None:
    """Why subdirectory ``name`` of ``dir_fd`` is not on ``top``'s mount,
    or None; looked at without opening it (which would trigger an
    automount, or hang on a dead server).

    :raises OSError: it cannot be looked at.
    """
    st = os.stat(name, dir_fd=dir_fd, follow_symlinks=False)
    if st.st_dev != top[0]:
        return "another filesystem (or an automount point)"
    return None


def check_opened(fd: int, top: Mount) -> str | None:
    """Why opened directory ``fd`` is not on ``top``'s mount (a bind
    mount of the same filesystem has its own mount id), or None."""
    here = mount_of(fd)
    if here[0] != top[0]:
        return "another filesystem"
    if None not in (here[1], top[1]) and here[1] != top[1]:
        return "a mount point"
    return None


def _iter_dirs(directory: str, dir_fd: int, prefix: str, depth: int,
               top: Mount) -> Iterator[tuple[int, str, list[str]]]:
    with os.scandir(dir_fd) as entries:
        listed = sorted(entries, key=lambda e: e.name)
    files: list[str] = []
    subdirs: list[str] = []
    for entry in listed:
        if entry.name.startswith("."):
            continue
        try:
            if entry.is_symlink():
                continue
            if entry.is_dir(follow_symlinks=False):
                if depth > 0:
                    subdirs.append(entry.name)
            elif entry.is_file(follow_symlinks=False):
                files.append(entry.name)
        except OSError:
            continue
    yield dir_fd, prefix, files
    for name in subdirs:
        # Never leave the store: a directory of another filesystem or a
        # mount point inside it holds files that live elsewhere.
        try:
            why = other_mount(dir_fd, name, top)
            sub = -1 if why else os.open(name, OPEN_DIR_FLAGS, dir_fd=dir_fd)
        except OSError as exc:
            LOG.warning("Not listing %(dir)s: %(exc)s",
                        {"dir": os.path.join(directory, prefix + name),
                         "exc": exc})
            continue
        try:
            why = why or check_opened(sub, top)
            if why:
                LOG.warning("Not listing %(dir)s: %(why)s",
                            {"dir": os.path.join(directory, prefix + name),
                             "why": why})
                continue
            yield from _iter_dirs(directory, sub, prefix + name + "/",
                                  depth - 1, top)
        finally:
            if sub >= 0:
                os.close(sub)


def walk(directory: str, depth: int, in_use: dict[Key, str],
         known: HeaderCache | None = None) -> Iterator[ImageFile]:
    """Yield the regular files of ``directory`` and ``depth`` levels below.

    :param directory: a configured image directory.
    :param depth: subdirectory levels to descend; 0 for the top only.
    :param in_use: from :func:`.holders.read_in_use`.
    :param known: see :func:`inspect`.
    :raises OSError: ``directory`` itself cannot be opened.
    """
    for dir_fd, prefix, files in iter_dirs(directory, depth):
        for name in files:
            image = inspect(directory, prefix + name, name, dir_fd, in_use,
                            known)
            if image is not None:
                yield image


def _json_filenames(value: object) -> list[str]:
    """Every string a ``json:`` file name gives as a ``filename``, at any
    depth, nested (``{"file": {"filename": ..}}``) or flattened
    (``{"file.filename": ..}``)."""
    found: list[str] = []
    if isinstance(value, dict):
        for key, item in value.items():
            if (key == "filename" or str(key).endswith(".filename")) \
                    and isinstance(item, str):
                found.append(item)
            else:
                found.extend(_json_filenames(item))
    elif isinstance(value, list):
        for item in value:
            found.extend(_json_filenames(item))
    return found


@dataclasses.dataclass(frozen=True)
class LocalNames:
    """The local file names qemu opens for one backing or data file name.

    :ivar names: absolute, or relative to the image's directory.
    :ivar from_cwd: relative to qemu's working directory, which this scan
        cannot know: a ``file:`` or ``json:`` name that is relative.
    """

    names: list[str]
    from_cwd: list[str]


def _local_names(target: str) -> LocalNames | None:
    """Return the local file names qemu opens for backing or data file
    name ``target``, as qemu reads it.

    :returns: the names; None when qemu would open something this scan
        cannot tell: another protocol, or an unparseable ``json:``.
    """
    # qemu reads the name as a C string: it ends at the first NUL.
    target = target.split("\0", 1)[0]
    if not target:
        return LocalNames([], [])
    # qemu's path_has_protocol: a ':' before the first '/'.
    if ":" not in target.split("/", 1)[0]:
        return LocalNames([target], [])
    protocol, rest = target.split(":", 1)
    if protocol == "file":
        names = [rest]
    elif protocol == "json":
        try:
            names = _json_filenames(json.loads(rest))
        except ValueError:
            return None
        if not names:
            return None
    else:
        return None
    # A protocol name is not combined with the image's directory: a
    # relative one is relative to wherever qemu runs.
    return LocalNames([name for name in names if os.path.isabs(name)],
                      [name for name in names if not os.path.isabs(name)])


@dataclasses.dataclass(frozen=True)
class Loose:
    """A backing or data file name that may reach an image of any
    configured directory, through a directory this scan does not know.

    :ivar user: the image that names it.
    :ivar tail: the name's last components (no ``.`` or ``..``): an image
        whose path below its configured directory ends alike, or is the
        end of it, may be the one named.
    :ivar how: how it names it, for the operator.
    :ivar from_cwd: relative to qemu's working directory.
    """

    user: ImageFile
    tail: tuple[str, ...]
    how: str
    from_cwd: bool = False

    def may_name(self, image: ImageFile) -> bool:
        """True when ``image`` may be the file this name reaches."""
        parts = tuple(image.relpath.split("/"))
        common = min(len(parts), len(self.tail))
        return (image.key != self.user.key
                and parts[len(parts) - common:]
                == self.tail[len(self.tail) - common:])


def _tail(name: str) -> tuple[str, ...]:
    """The components of ``name`` after the last ``..`` (before which it
    may go anywhere)."""
    parts: list[str] = []
    for part in name.split("/"):
        if part == "..":
            parts = []
        elif part not in ("", "."):
            parts.append(part)
    return tuple(parts)


def real_parent(image: ImageFile, names: storenames.StoreNames) -> str:
    """The real path of the directory holding ``image``."""
    return os.path.normpath(os.path.join(names.real_dir(image.directory),
                                         os.path.dirname(image.relpath)))


def _resolve(image: ImageFile, target: str, names: storenames.StoreNames
             ) -> tuple[list[Key], list[Loose]] | None:
    """Return the keys of the files of the configured directories
    ``target`` names, relative as qemu, and the names that may reach one
    through a directory not looked at (outside the configured
    directories, or relative to qemu's working directory); None when it
    cannot be told (see :func:`_local_names`)."""
    local = _local_names(target)
    if local is None:
        return None
    keys = []
    loose = [Loose(image, _tail(name), "names %r relative to qemu's "
                   "working directory" % target, from_cwd=True)
             for name in local.from_cwd]
    for name in local.names:
        found = names.resolve(os.path.join(real_parent(image, names),
                                           name))
        if isinstance(found, storenames.Outside):
            # Another mount of the store's filesystem may show an image
            # there (another host's mount path of an NFS export): it is
            # not looked at, a hung mount would hang the listing.
            loose.append(Loose(image, _tail(found.rest),
                               "names %r, outside file_volume_dirs (not "
                               "looked at)" % target))
        elif found is not None and stat.S_ISREG(found.st.st_mode):
            keys.append(found.key)
    return list(dict.fromkeys(keys)), loose


def backing_dir(user: ImageFile, name: str,
                names: storenames.StoreNames) -> storenames.Resolved:
    """Resolve the directory part of backing file name ``name`` of
    ``user``, as qemu would, not leaving the configured directories."""
    return names.resolve(os.path.join(real_parent(user, names),
                                      os.path.dirname(name) or "."))


def _names_directly(user: ImageFile, name: str, target: ImageFile,
                    names: storenames.StoreNames) -> bool:
    """True when backing file name ``name`` of ``user`` is ``target``'s
    own name in ``target``'s own directory (the directory part may be
    spelt any way), which a snapshot manage can rewrite."""
    if os.path.basename(name) != target.name:
        return False
    found = backing_dir(user, name, names)
    return (isinstance(found, storenames.Found)
            and found.path == real_parent(target, names))


def relate(images: Iterable[ImageFile],
           names: storenames.StoreNames | None = None) -> Inventory:
    """Find which listed images are backing or data files of others.

    Names are resolved as qemu resolves them (see :func:`_local_names`)
    without leaving the configured directories; an image naming one this
    cannot tell makes every image of its directory a suspect
    (``Inventory.unresolved``), and one naming a file through a
    directory not looked at makes a suspect of every image of every
    directory its name may reach (``Inventory.loose``).

    :param images: the images of every configured directory: a backing
        file in one may be used by an image of another.
    :param names: the configured directories; those of ``images`` when
        None.
    :raises: nothing; a name that does not resolve relates nothing.
    """
    listed = list(images)
    if names is None:
        names = storenames.StoreNames(
            sorted({image.directory for image in listed}))
    listed_keys = {image.key for image in listed}
    inventory = Inventory(listed, {}, {})

    def unresolved(image: ImageFile) -> None:
        users = inventory.unresolved.setdefault(image.directory, [])
        if image not in users:
            users.append(image)

    def resolve(image: ImageFile, target: str) -> list[Key]:
        found = _resolve(image, target, names)
        if found is None:
            unresolved(image)
            return []
        keys, loose = found
        for name in loose:
            if name.from_cwd:
                # qemu's working directory may be the image's own, where
                # a link may lead to any of its images.
                unresolved(image)
            if name.tail:
                inventory.loose.setdefault(name.tail[-1], []).append(name)
        return keys

    by_key: dict[Key, list[ImageFile]] = {}
    for image in listed:
        by_key.setdefault(image.key, []).append(image)
    for image in listed:
        header = image.header
        if header is None:
            continue
        if header.backing_file is not None:
            for key in resolve(image, header.backing_file):
                if key in listed_keys:
                    inventory.backing_of.setdefault(key, []).append(image)
                    if not any(_names_directly(image, header.backing_file,
                                               target, names)
                               for target in by_key[key]):
                        inventory.indirect.setdefault(key, []).append(
                            image)
        data_files = list(header.extents)
        if header.data_file is not None:
            data_files.append(header.data_file)
        for data_file in data_files:
            for key in resolve(image, data_file):
                if key in listed_keys and key != image.key:
                    inventory.data_file_of.setdefault(key, []).append(
                        image)
    return inventory


def scan(directories: Iterable[str], depth: int,
         in_use: dict[Key, str] | None = None,
         steady: bool = False,
         known: HeaderCache | None = None) -> Inventory:
    """List every image of ``directories`` with its relations.

    :param directories: the configured image directories.
    :param depth: subdirectory levels to descend.
    :param in_use: a table from :func:`.holders.read_in_use`; read here
        when None.
    :param steady: count as in use only what is still held a moment
        later (see :data:`STEADY_PAUSE`); for manage, not for listings.
    :param known: headers of earlier listings, for listings only (see
        :func:`inspect`); left holding this scan's files only.
    :raises OSError: a configured directory cannot be opened.
    """
    directories = list(directories)
    if in_use is None:
        in_use = holders.read_in_use(directories)
    images: list[ImageFile] = []
    for directory in directories:
        images.extend(walk(directory, depth, in_use, known))
    if known is not None:
        known.retain(image.key for image in images)
    names = storenames.StoreNames(directories)
    if steady and any(image.in_use for image in images):
        # Another process's listing or manage holds each file open for
        # the microseconds its header takes to read; a VM, or a copy,
        # holds it much longer. Only a holder seen twice counts, or
        # parallel manages of different images refuse each other.
        time.sleep(STEADY_PAUSE)
        again = holders.read_in_use(directories)
        images = [dataclasses.replace(image, in_use=again.get(image.key))
                  if image.in_use else image for image in images]
    return relate(images, names)
