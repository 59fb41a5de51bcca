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

"""What the file driver says of each image: the records the listing
shows, and the verdict manage shares with it.

The file driver's counterpart of :mod:`..lvm.report`: pure functions of
a :class:`.scanner.Inventory`, no filesystem access beyond it.
"""

from __future__ import annotations

from collections.abc import Iterable
import dataclasses
import os

from manageable_driver import exception
from manageable_driver import records
from manageable_driver import references
from manageable_driver.drivers.file import headers
from manageable_driver.drivers.file import scanner

MAX_NAME_BYTES = 255


@dataclasses.dataclass(frozen=True)
class Location:
    """Where a reference points: a path below a configured directory."""

    directory: str
    relpath: str

    @property
    def parts(self) -> list[str]:
        return self.relpath.split("/")

    @property
    def path(self) -> str:
        return os.path.join(self.directory, self.relpath)


def _extra_info(image: scanner.ImageFile) -> dict[str, str]:
    info = {"file_size": str(image.file_size)}
    header = image.header
    if header is not None:
        info["format"] = header.format
        if header.virtual_size is not None:
            info["virtual_size"] = str(header.virtual_size)
        if header.backing_file is not None:
            info["backing_file"] = header.backing_file
        if header.data_file is not None:
            info["data_file"] = header.data_file
        if header.snapshots:
            info["internal_snapshots"] = str(header.snapshots)
    return info


def _size(image: scanner.ImageFile) -> tuple[int | None, str | None]:
    header = image.header
    if header is None:
        return None, image.read_error or "header unreadable"
    if header.error is not None:
        return None, header.error
    if header.virtual_size is not None:
        # What qemu (and so manage's cross-check and the guest) sees.
        return headers.qemu_virtual_size(header), None
    # A format whose header we do not read has no size we know: its size
    # on disk is neither the guest's size nor Cinder's (shown "unknown").
    return None, "size of a %s image not read" % header.format


def _names(images: Iterable[scanner.ImageFile],
           near: scanner.ImageFile) -> str:
    """Name ``images`` relative to ``near``'s configured directory, or by
    their full path when they are in another one."""
    return ", ".join(sorted(
        image.relpath if image.directory == near.directory else image.path
        for image in images))


def image_problem(image: scanner.ImageFile, inventory: scanner.Inventory,
                  allow_links: bool = False) -> str | None:
    """Return why ``image`` must not be adopted as it is, or None.

    :param allow_links: do not count a second hard link (a manage call
        finishing an interrupted rename made it); a third still counts.
    """
    if image.read_error is not None:
        return image.read_error
    if image.header is not None:
        reason = headers.unsafe_reason(image.header)
        if reason is not None:
            return reason
    users = inventory.data_file_of.get(image.key)
    if users:
        return "external data file of: %s" % _names(users, image)
    suspects = [user for user in inventory.unresolved.get(image.directory,
                                                          ())
                if user.key != image.key]
    if suspects:
        return ("may be the backing or data file of: %s, which names one "
                "that cannot be resolved here" % _names(suspects, image))
    loose = inventory.suspects(image)
    if loose:
        return ("may be the backing or data file of: %s"
                % "; ".join(sorted("%s, which %s" % (_names([name.user],
                                                            image),
                                                     name.how)
                                   for name in loose)))
    if image.nlink > (2 if allow_links else 1):
        return ("has %d hard links: another name may be in use"
                % image.nlink)
    return None


def volume_record(image: scanner.ImageFile, inventory: scanner.Inventory,
                  allow_links: bool = False) -> records.VolumeRecord:
    """Return the listing record of ``image`` as a volume."""
    size, size_error = _size(image)
    reason = image_problem(image, inventory, allow_links)
    children = inventory.backing_of.get(image.key)
    if reason is None and children:
        reason = "backing file of: %s" % _names(children, image)
    return records.VolumeRecord(
        name=image.name,
        reference={references.SOURCE_NAME: image.path},
        size_bytes=size, size_error=size_error,
        in_use=image.in_use is not None, in_use_reason=image.in_use,
        unsafe_reason=reason, extra_info=_extra_info(image))


def chain_top(image: scanner.ImageFile,
              inventory: scanner.Inventory) -> tuple[scanner.ImageFile,
                                                     str | None]:
    """Return the image at the top of ``image``'s chain (its volume).

    :returns: the top, and why it is ambiguous (a branch, a loop) or None.
    """
    seen = {image.key}
    current = image
    while True:
        children = inventory.backing_of.get(current.key) or []
        if not children:
            return current, None
        if len(children) > 1:
            return current, ("backing file of several images: %s"
                             % _names(children, image))
        current = children[0]
        if current.key in seen:
            return current, "backing file chain loops"
        seen.add(current.key)


def snapshot_record(image: scanner.ImageFile, inventory: scanner.Inventory,
                    allow_links: bool = False) -> records.SnapshotRecord:
    """Return the listing record of ``image`` as a snapshot: unsafe
    unless it is the backing file of an image of the directories."""
    size, size_error = _size(image)
    top, ambiguous = chain_top(image, inventory)
    users = inventory.backing_of.get(image.key) or []
    if not users:
        reason: str | None = ("not the backing file of any image in "
                              "file_volume_dirs")
    else:
        reason = ambiguous or image_problem(image, inventory, allow_links)
    indirect = inventory.indirect.get(image.key) or []
    for user in users:
        stored = user.header.backing_file if user.header else None
        if reason is None and stored is not None and (
                ":" in stored.split("/", 1)[0] or "\0" in stored
                or user in indirect):
            # Manage rewrites only a plain name of the image itself in its
            # own directory (see _new_backing_name).
            reason = ("%s names it %r, a name manage does not rewrite"
                      % (user.path, stored))

    info = _extra_info(image)
    info["volume"] = top.relpath
    in_use = image.in_use
    for user in users:
        if in_use is None and user.in_use is not None:
            # Manage rewrites the user's header: a running qemu must not
            # hold it.
            in_use = ("%s, whose backing file it is, is in use: %s"
                      % (user.path, user.in_use))
    return records.SnapshotRecord(
        name=image.name,
        reference={references.SOURCE_NAME: image.path},
        source_reference={references.SOURCE_NAME: top.path},
        size_bytes=size, size_error=size_error,
        in_use=in_use is not None, in_use_reason=in_use,
        unsafe_reason=reason, extra_info=info)


def check_new_name(name: str, what: str) -> str:
    """Return ``name`` if it is a plain file name a rename may create.

    :raises InvalidInput: a path, hidden, too long, with a NUL, with a
        ``:`` (qemu would read a backing file name ``a:b`` as protocol
        ``a``) or not encodable as a file name.
    """
    try:
        encoded = os.fsencode(name)
    except UnicodeEncodeError:
        encoded = b""
    if (not encoded or "/" in name or "\0" in name or ":" in name
            or name.startswith(".") or len(encoded) > MAX_NAME_BYTES):
        raise exception.InvalidInput(
            reason="the %s name %r cannot be a file name in an image "
                   "directory" % (what, name))
    return name
