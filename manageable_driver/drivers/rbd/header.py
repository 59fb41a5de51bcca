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

"""Decoding RBD format 2 metadata, as librbd stores it in RADOS objects.

Pure functions over bytes, no I/O (:mod:`.cluster` reads the objects), so
the unit tests replay values recorded from a real cluster:

- ``rbd_directory``: omap ``name_<image name>`` -> encoded image id, read
  through cls_rbd's ``dir_list`` (python3-rados decodes omap keys as
  UTF-8 and fails on any other name);
- ``rbd_header.<id>``: omap ``size``, ``order``, ``features``,
  ``op_features``, ``parent`` (a clone's parent), ``snapshot_<id>`` (one
  per snapshot), ``snap_children_<id>`` (the clones of a snapshot, clone
  format 2).

Integers are little-endian; a string is a 32-bit length and its bytes; a
versioned struct starts with a version byte, a compat byte and a 32-bit
length, so fields a later version appends are skipped by that length.
"""

from __future__ import annotations

import dataclasses
import struct

from manageable_driver import exception

NAME_PREFIX = "name_"
SNAPSHOT_PREFIX = "snapshot_"
SNAP_CHILDREN_PREFIX = "snap_children_"
# A parent pool id of -1 means no parent (a flattened clone may keep the
# key).
NO_POOL = -1

# librbd's feature bits (include/rbd/features.h), named as ``rbd info``.
FEATURES = (
    (1, "layering"), (2, "striping"), (4, "exclusive-lock"),
    (8, "object-map"), (16, "fast-diff"), (32, "deep-flatten"),
    (64, "journaling"), (128, "data-pool"), (256, "operations"),
    (512, "migrating"), (1024, "non-primary"),
)
FEATURE_MIGRATING = 512
FEATURE_NON_PRIMARY = 1024

# Snapshot namespaces (cls::rbd::SnapshotNamespaceType).
NAMESPACE_USER = 0
NAMESPACES = {0: "user", 1: "group", 2: "trash", 3: "mirror"}
# Protection status of a snapshot (RBD_PROTECTION_STATUS_*).
PROTECTION = {0: "unprotected", 1: "unprotecting", 2: "protected"}


class DecodeError(exception.ManageableDriverException):
    message = "cannot decode %(what)s: %(reason)s"


class Reader:
    """Reads Ceph's encoding from ``data``; every read checks the length.

    :param data: the encoded bytes.
    :param what: what is decoded, for the error.
    """

    def __init__(self, data: bytes, what: str) -> None:
        self.data = data
        self.what = what
        self.pos = 0

    def take(self, count: int) -> bytes:
        """Return the next ``count`` bytes.

        :raises DecodeError: fewer are left.
        """
        end = self.pos + count
        if count < 0 or end > len(self.data):
            raise DecodeError(what=self.what,
                              reason="%d bytes wanted at offset %d of %d"
                                     % (count, self.pos, len(self.data)))
        chunk = self.data[self.pos:end]
        self.pos = end
        return chunk

    def u8(self) -> int:
        return int(self.take(1)[0])

    def u32(self) -> int:
        return int(struct.unpack("<I", self.take(4))[0])

    def u64(self) -> int:
        return int(struct.unpack("<Q", self.take(8))[0])

    def s64(self) -> int:
        return int(struct.unpack("<q", self.take(8))[0])

    def string(self) -> str:
        raw = self.take(self.u32())
        try:
            return raw.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise DecodeError(what=self.what, reason="not UTF-8: %s" % exc)

    def struct_start(self) -> tuple[int, int, int]:
        """Read a versioned struct's header: (version, compat, end)."""
        version = self.u8()
        compat = self.u8()
        length = self.u32()
        end = self.pos + length
        if end > len(self.data):
            raise DecodeError(what=self.what,
                              reason="struct of %d bytes at offset %d of %d"
                                     % (length, self.pos, len(self.data)))
        return version, compat, end


def decode_string(value: bytes, what: str) -> str:
    """Decode one encoded string (an image id, an object prefix).

    :raises DecodeError: truncated or not UTF-8.
    """
    return Reader(value, what).string()


def decode_u64(value: bytes, what: str) -> int:
    """Decode one little-endian 64-bit integer.

    :raises DecodeError: not 8 bytes.
    """
    if len(value) != 8:
        raise DecodeError(what=what, reason="%d bytes, not 8" % len(value))
    return int(struct.unpack("<Q", value)[0])


def dir_list_request(after: str, count: int) -> bytes:
    """Encode the input of cls_rbd's ``dir_list``: the names after
    ``after`` (a name :func:`dir_list` returned), at most ``count``."""
    raw = after.encode("utf-8", "surrogateescape")
    return struct.pack("<I", len(raw)) + raw + struct.pack("<Q", count)


def dir_list(data: bytes) -> dict[str, str]:
    """Decode the reply of cls_rbd's ``dir_list``: image name -> id.

    librbd takes any bytes as an image name. A name that is not UTF-8
    keeps its bytes as surrogate escapes, so the image is still listed
    (and refused by the name rules) instead of failing the whole listing.

    :raises DecodeError: the reply or an id cannot be decoded.
    """
    reader = Reader(data, "rbd_directory dir_list")
    found = {}
    for _ in range(reader.u32()):
        name = reader.take(reader.u32()).decode("utf-8", "surrogateescape")
        found[name] = reader.string()
    return found


@dataclasses.dataclass(frozen=True)
class Parent:
    """Where a clone's data comes from (cls_rbd_parent)."""

    pool_id: int
    namespace: str
    image_id: str
    snap_id: int
    overlap: int | None


@dataclasses.dataclass(frozen=True)
class Snapshot:
    """One snapshot of an image (cls_rbd_snap)."""

    snap_id: int
    name: str
    size: int
    protection: int
    namespace_type: int
    child_count: int

    @property
    def protected(self) -> bool:
        return self.protection != 0


@dataclasses.dataclass(frozen=True)
class Header:
    """What ``rbd_header.<id>`` says of an image, its snapshots aside
    (:func:`parse_snapshots`)."""

    image_id: str
    size: int
    order: int
    features: int
    op_features: int
    parent: Parent | None
    # Clone format 2: snapshot id -> number of clones recorded there.
    snap_children: dict[int, int]

    def feature_names(self) -> str:
        return ",".join(name for bit, name in FEATURES
                        if self.features & bit)


def parse_parent(value: bytes, what: str) -> Parent | None:
    """Decode a ``parent`` omap value; None when it names no parent.

    :raises DecodeError: malformed.
    """
    reader = Reader(value, what)
    version, _compat, end = reader.struct_start()
    pool_id = reader.s64()
    namespace = reader.string() if version >= 2 else ""
    image_id = reader.string()
    snap_id = reader.u64()
    overlap: int | None
    if version >= 2:
        overlap = reader.u64() if reader.u8() else None
    else:
        overlap = reader.u64()
    reader.pos = end
    if pool_id == NO_POOL:
        return None
    return Parent(pool_id, namespace, image_id, snap_id, overlap)


def parse_snapshot(value: bytes, what: str) -> Snapshot:
    """Decode a ``snapshot_<id>`` omap value.

    :raises DecodeError: malformed.
    """
    reader = Reader(value, what)
    version, compat, end = reader.struct_start()
    snap_id = reader.u64()
    name = reader.string()
    size = reader.u64()
    if compat < 8:
        reader.u64()  # unused features field of old encodings
        if version >= 2:
            _v, _c, parent_end = reader.struct_start()
            reader.pos = parent_end
    protection = reader.u8() if version >= 3 else 0
    if version >= 4:
        reader.u64()  # flags
    namespace_type = NAMESPACE_USER
    if version >= 5:
        _v, _c, ns_end = reader.struct_start()
        namespace_type = reader.u32()
        reader.pos = ns_end
    if version >= 6:
        reader.take(8)  # timestamp
    child_count = reader.u32() if version >= 7 else 0
    if reader.pos > end:
        raise DecodeError(what=what, reason="fields run past the struct")
    return Snapshot(snap_id, name, size, protection, namespace_type,
                    child_count)


def parse_header(image_id: str, omap: dict[str, bytes]) -> Header:
    """Decode the omap of ``rbd_header.<image_id>``.

    :raises DecodeError: a key librbd always writes is missing, or a value
        is malformed.
    """
    what = "rbd_header.%s" % image_id

    def required(key: str) -> bytes:
        if key not in omap:
            raise DecodeError(what=what, reason="no %r key" % key)
        return omap[key]

    size = decode_u64(required("size"), what + " size")
    order_raw = required("order")
    if len(order_raw) != 1:
        raise DecodeError(what=what, reason="order is %d bytes"
                                            % len(order_raw))
    features = decode_u64(required("features"), what + " features")
    op_features = (decode_u64(omap["op_features"], what + " op_features")
                   if "op_features" in omap else 0)
    parent = (parse_parent(omap["parent"], what + " parent")
              if "parent" in omap else None)
    children: dict[int, int] = {}
    for key in sorted(omap):
        if key.startswith(SNAP_CHILDREN_PREFIX):
            try:
                snap_id = int(key[len(SNAP_CHILDREN_PREFIX):], 16)
            except ValueError:
                raise DecodeError(what=what, reason="bad key %r" % key)
            children[snap_id] = Reader(omap[key], what + " " + key).u32()
    return Header(image_id, size, order_raw[0], features, op_features,
                  parent, children)


def parse_snapshots(image_id: str, omap: dict[str, bytes]
                    ) -> list[Snapshot | DecodeError]:
    """Decode each ``snapshot_<id>`` value of an image header's omap.

    One malformed snapshot does not hide the others: its place holds the
    error.

    :param image_id: the image's id, for the errors.
    :param omap: the header's omap.
    """
    found: list[Snapshot | DecodeError] = []
    for key in sorted(omap):
        if key.startswith(SNAPSHOT_PREFIX):
            try:
                found.append(parse_snapshot(
                    omap[key], "rbd_header.%s %s" % (image_id, key)))
            except DecodeError as exc:
                found.append(exc)
    return found
