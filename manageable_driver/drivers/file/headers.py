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

"""Reading disk image headers natively, without running qemu-img.

Pure: :func:`parse` is handed a bounded read function and the file size,
never a path, so it cannot follow anything on the host.  It recognises
qcow2 (v2 and v3) in detail, and every other format qemu's probe
recognises (vmdk, vhd, vhdx, vdi, qed, LUKS, parallels, bochs, cloop,
dmg, qcow version 1) by its magic, at least as widely as qemu 7.2's
probes do; anything else is raw, as qemu's probe treats it.  A file read
as raw is never one qemu would open as anything else (which could make
it read other files, a vmdk descriptor's extents for one).

Every length and offset field is bounded before it is used: the parser
reads at most :data:`MAX_READ` bytes in total whatever the header says.
"""

from __future__ import annotations

from collections.abc import Callable
import dataclasses
import re
import struct

ReadAt = Callable[[int, int], bytes]
"""``read(offset, length)``: at most ``length`` bytes at ``offset``."""

RAW = "raw"
QCOW2 = "qcow2"

QCOW2_MAGIC = b"QFI\xfb"
QED_MAGIC = b"QED\0"
LUKS_MAGIC = b"LUKS\xba\xbe"
VMDK_SPARSE_MAGIC = b"KDMV"
VMDK_COWD_MAGIC = b"COWD"
VMDK_DESCRIPTOR = b"# Disk DescriptorFile"
VHDX_MAGIC = b"vhdxfile"
VHD_MAGIC = b"conectix"
VDI_SIGNATURE = 0xbeda107f
VDI_SIGNATURE_OFFSET = 64
VHD_FOOTER_SIZE = 512
PARALLELS_MAGICS = (b"WithoutFreeSpace", b"WithouFreSpacExt")
BOCHS_MAGIC = b"Bochs Virtual HD Image"
# qemu's cloop probe looks for this script header.  A file holding only
# the start of it is taken as cloop too, which only refuses more.
CLOOP_MAGIC = (b"#!/bin/sh\n#V2.0 Format\n"
               b"modprobe cloop file=$0 && mount -r -t iso9660 /dev/cloop "
               b"$1\n")
# A dmg image ends with a 512-byte trailer starting "koly" (qemu itself
# probes dmg by a ".dmg" file name).
DMG_TRAILER_MAGIC = b"koly"
# qemu's vmdk probe takes a text file whose first line that is neither a
# comment nor blank is one of these as a descriptor.
VMDK_VERSION_LINES = tuple(b"version=%d%s" % (v, end) for v in (1, 2, 3)
                           for end in (b"\n", b"\r\n"))

# How much of the start of a file the probe reads: as much as qemu's
# probe reads (BLOCK_PROBE_BUF_SIZE), which the vmdk text probe can use
# all of; the whole fixed qcow2 v3 header fits in it.
PROBE_SIZE = 2048

# qemu refuses cluster sizes outside 512 B .. 2 MiB.
MIN_CLUSTER_BITS = 9
MAX_CLUSTER_BITS = 21
# qemu refuses a longer backing file name.
MAX_BACKING_NAME = 1023
# Header extensions are read up to this many bytes past the fixed header;
# qemu writes them right after it, so more means a hostile or broken image
# and the image is refused rather than read further.
MAX_EXTENSIONS_SIZE = 64 * 1024
# Extensions are read in chunks of this size, up to their end marker.
EXT_CHUNK = 4096
# Longest external data file name accepted (qemu bounds it by the cluster).
MAX_DATA_FILE_NAME = 4096
V2_HEADER_LENGTH = 72
V3_MIN_HEADER_LENGTH = 104

# A vmdk text descriptor is read this far to find its extent files.
MAX_DESCRIPTOR_SIZE = 64 * 1024

MAX_READ = PROBE_SIZE + MAX_EXTENSIONS_SIZE + MAX_BACKING_NAME \
    + VHD_FOOTER_SIZE
"""Upper bound of the bytes :func:`parse` reads from one file."""

EXT_END = 0
EXT_BACKING_FORMAT = 0xe2792aca
EXT_FEATURE_NAMES = 0x6803f857
EXT_CRYPTO_HEADER = 0x0537be77
EXT_BITMAPS = 0x23852875
EXT_DATA_FILE = 0x44415441

INCOMPAT_DIRTY = 1 << 0
INCOMPAT_CORRUPT = 1 << 1
INCOMPAT_DATA_FILE = 1 << 2
INCOMPAT_COMPRESSION = 1 << 3
INCOMPAT_EXTL2 = 1 << 4
KNOWN_INCOMPAT = (INCOMPAT_DIRTY | INCOMPAT_CORRUPT | INCOMPAT_DATA_FILE
                  | INCOMPAT_COMPRESSION | INCOMPAT_EXTL2)
AUTOCLEAR_DATA_FILE_RAW = 1 << 1

# Layout of the qcow2 fixed header, big-endian (docs/interop/qcow2.txt).
_QCOW2_V2 = struct.Struct(">4sIQIIQIIQQIIQ")

# qemu counts a disk in 512-byte sectors: it rounds a raw file's size up
# to a whole sector and a qcow2 header's size down (qcow2 total_sectors).
SECTOR = 512
# qemu refuses an active L1 table over 32 MiB ("Active L1 table too
# large") and a virtual size whose L1 index passes INT_MAX ("Image is too
# big").
QCOW_MAX_L1_BYTES = 32 * 1024 * 1024
L1_ENTRY_BYTES = 8
INT_MAX = 2 ** 31 - 1


def qemu_virtual_size(header: ImageHeader) -> int | None:
    """The virtual size ``qemu-img info`` reports for ``header``: a raw
    file's size rounded up to a whole sector."""
    if header.format == RAW and header.virtual_size is not None:
        return -(-header.virtual_size // SECTOR) * SECTOR
    return header.virtual_size


def qcow2_size_problem(size: int, cluster_bits: int,
                       l1_size: int) -> str | None:
    """Why qemu refuses to open a qcow2 image of this geometry, or None.

    :param size: the header's virtual size.
    :param cluster_bits: the header's cluster bits (already checked).
    :param l1_size: the header's L1 table entry count.
    """
    if l1_size > QCOW_MAX_L1_BYTES // L1_ENTRY_BYTES:
        return "qemu cannot open it: active L1 table too large"
    # One L1 entry maps one L2 table of cluster_size / 8 clusters.
    shift = 2 * cluster_bits - 3
    l1_needed = (size + (1 << shift) - 1) >> shift
    if l1_needed > INT_MAX:
        return ("qemu cannot open it: virtual size %d is too big for "
                "clusters of %d bytes" % (size, 1 << cluster_bits))
    if l1_size < l1_needed:
        return ("qemu cannot open it: L1 table of %d entries is too small "
                "for virtual size %d" % (l1_size, size))
    return None
_QCOW2_V3_TAIL = struct.Struct(">QQQII")
_EXT_HEADER = struct.Struct(">II")
# An extent line of a vmdk descriptor: access, sectors, type, "file".
_VMDK_EXTENT = re.compile(
    rb'^\s*(?:RW|RDONLY|NOACCESS)\s+\d+\s+\w+\s+"([^"\r\n]+)"', re.M)


@dataclasses.dataclass(frozen=True)
class ImageHeader:
    """What an image's header says.

    :ivar format: qemu's name of the format (``raw``, ``qcow2``, ``vmdk``,
        ``vpc``, ``vhdx``, ``vdi``, ``qed``, ``luks``).
    :ivar virtual_size: the disk size the guest sees, in bytes (qcow2:
        whole sectors, as qemu counts it); for raw the file's size, which
        qemu rounds up to a whole sector (:func:`qemu_virtual_size`);
        None when the header could not be read.
    :ivar error: why the header cannot be trusted (truncated, corrupt);
        None when it was read completely.
    :ivar version: the qcow2 version.
    :ivar backing_file: the backing file name as stored in the image.
    :ivar backing_format: the backing file format header extension.
    :ivar data_file: the external data file name extension.
    :ivar encrypted: the image's data is encrypted.
    :ivar snapshots: number of qcow2 internal snapshots.
    :ivar incompatible_features: the qcow2 v3 incompatible feature bits.
    :ivar autoclear_features: the qcow2 v3 autoclear feature bits.
    :ivar extents: files a vmdk descriptor keeps the data in.
    """

    format: str
    virtual_size: int | None
    error: str | None = None
    version: int | None = None
    backing_file: str | None = None
    backing_format: str | None = None
    data_file: str | None = None
    encrypted: bool = False
    snapshots: int = 0
    incompatible_features: int = 0
    autoclear_features: int = 0
    extents: tuple[str, ...] = ()

    @property
    def has_data_file(self) -> bool:
        return (self.data_file is not None
                or bool(self.incompatible_features & INCOMPAT_DATA_FILE))


def unsafe_reason(header: ImageHeader) -> str | None:
    """Return why adopting an image with ``header`` could lose or leak data.

    The first reason found, most severe first; None when it is safe.
    """
    if header.error is not None:
        return header.error
    if header.format not in (RAW, QCOW2):
        return "unsupported format: %s" % header.format
    if header.encrypted:
        return "encrypted image"
    if header.has_data_file:
        return "external data file present: %s" % (
            header.data_file if header.data_file is not None
            else "(name missing)")
    if header.backing_file is not None:
        return "backing file present: %s" % header.backing_file
    unknown = header.incompatible_features & ~KNOWN_INCOMPAT
    if unknown:
        return "unknown qcow2 incompatible features: 0x%x" % unknown
    if header.incompatible_features & INCOMPAT_DIRTY:
        # qemu sets the dirty bit while it has the image open with lazy
        # refcounts; otherwise the image needs "qemu-img check -r".
        return "qcow2 dirty bit set: in use, or needs qemu-img check"
    return None


class _Bounded:
    """Reads through ``read`` and refuses to pass ``limit`` bytes in all."""

    def __init__(self, read: ReadAt, limit: int) -> None:
        self._read = read
        self.remaining = limit

    def __call__(self, offset: int, length: int) -> bytes:
        length = max(0, min(length, self.remaining))
        if length == 0:
            return b""
        data = self._read(offset, length)[:length]
        self.remaining -= len(data)
        return data


def _decode(raw: bytes) -> str:
    # Names are bytes on disk; keep undecodable bytes reversible.
    return raw.decode("utf-8", "surrogateescape")


def parse(read: ReadAt, file_size: int) -> ImageHeader:
    """Return what the header of an image says.

    Never raises on any content: a header that cannot be read is returned
    with ``error`` set.

    :param read: ``read(offset, length)`` returning at most ``length``
        bytes of the file at ``offset`` (fewer at its end).
    :param file_size: the file's size in bytes; no offset past it is read.
    """
    bounded = _Bounded(read, MAX_READ)
    head = bounded(0, min(PROBE_SIZE, file_size))
    if head.startswith(QCOW2_MAGIC):
        return _parse_qcow2(bounded, head, file_size)
    if head.startswith(VMDK_DESCRIPTOR) or _vmdk_text(head):
        return _parse_vmdk_descriptor(bounded, head, file_size)
    magic_formats = (
        (QED_MAGIC, "qed"), (LUKS_MAGIC, "luks"),
        (VMDK_SPARSE_MAGIC, "vmdk"), (VMDK_COWD_MAGIC, "vmdk"),
        (VHDX_MAGIC, "vhdx"),
        (VHD_MAGIC, "vpc"), (BOCHS_MAGIC, "bochs"),
        (PARALLELS_MAGICS[0], "parallels"),
        (PARALLELS_MAGICS[1], "parallels"))
    for magic, fmt in magic_formats:
        if head.startswith(magic):
            return ImageHeader(format=fmt, virtual_size=None)
    if head and CLOOP_MAGIC.startswith(head[:len(CLOOP_MAGIC)]):
        return ImageHeader(format="cloop", virtual_size=None)
    if len(head) >= VDI_SIGNATURE_OFFSET + 4:
        (signature,) = struct.unpack_from("<I", head, VDI_SIGNATURE_OFFSET)
        if signature == VDI_SIGNATURE:
            return ImageHeader(format="vdi", virtual_size=None)
    if file_size >= VHD_FOOTER_SIZE:
        # A fixed VHD has its only footer at the end of the file.
        footer = bounded(file_size - VHD_FOOTER_SIZE, len(VHD_MAGIC))
        if footer == VHD_MAGIC:
            return ImageHeader(format="vpc", virtual_size=None)
        if footer.startswith(DMG_TRAILER_MAGIC):
            return ImageHeader(format="dmg", virtual_size=None)
    return ImageHeader(format=RAW, virtual_size=file_size)


def _vmdk_text(head: bytes) -> bool:
    """True when qemu's vmdk probe takes ``head`` for a text descriptor:
    comment lines and blank lines, then a ``version=N`` line."""
    pos = 0
    while pos < len(head):
        if head[pos:pos + 1] == b"#":
            end = head.find(b"\n", pos)
            if end < 0:
                return False
            pos = end + 1
            continue
        if head[pos:pos + 1] == b" ":
            while head[pos:pos + 1] == b" ":
                pos += 1
            if head[pos:pos + 1] == b"\r":
                pos += 1
            if head[pos:pos + 1] != b"\n":
                return False
            pos += 1
            continue
        return head.startswith(VMDK_VERSION_LINES, pos)
    return False


def _parse_vmdk_descriptor(read: _Bounded, head: bytes,
                           file_size: int) -> ImageHeader:
    # Its extents are other files of the directory (a flat extent is a
    # raw file): they must be known so as not to adopt them on their own.
    size = min(file_size, MAX_DESCRIPTOR_SIZE)
    text = head + read(len(head), size - len(head))
    extents = tuple(_decode(name) for name in _VMDK_EXTENT.findall(text))
    return ImageHeader(format="vmdk", virtual_size=None, extents=extents)


def _broken(reason: str, version: int | None = None) -> ImageHeader:
    return ImageHeader(format=QCOW2, virtual_size=None, version=version,
                       error=reason)


def _parse_qcow2(read: _Bounded, head: bytes, file_size: int) -> ImageHeader:
    if len(head) < 8:
        return _broken("truncated qcow2 header")
    (version,) = struct.unpack_from(">I", head, 4)
    if version == 1:
        return ImageHeader(format="qcow", virtual_size=None, version=1)
    if version not in (2, 3):
        return _broken("unsupported qcow2 version %d" % version, version)
    if len(head) < _QCOW2_V2.size:
        return _broken("truncated qcow2 header", version)
    (_magic, _version, backing_offset, backing_size, cluster_bits, size,
     crypt_method, l1_size, _l1_offset, _refcount_offset,
     _refcount_clusters, nb_snapshots,
     _snapshots_offset) = _QCOW2_V2.unpack_from(head)
    if not MIN_CLUSTER_BITS <= cluster_bits <= MAX_CLUSTER_BITS:
        return _broken("corrupt qcow2 header: cluster_bits %d"
                       % cluster_bits, version)
    cluster_size = 1 << cluster_bits
    problem = qcow2_size_problem(size, cluster_bits, l1_size)
    if problem is not None:
        return _broken(problem, version)
    incompatible = autoclear = 0
    header_length = V2_HEADER_LENGTH
    if version == 3:
        if len(head) < V3_MIN_HEADER_LENGTH:
            return _broken("truncated qcow2 header", version)
        (incompatible, _compatible, autoclear, _refcount_order,
         header_length) = _QCOW2_V3_TAIL.unpack_from(head, V2_HEADER_LENGTH)
        if not V3_MIN_HEADER_LENGTH <= header_length <= cluster_size:
            return _broken("corrupt qcow2 header: header_length %d"
                           % header_length, version)
    if incompatible & INCOMPAT_CORRUPT:
        return _broken("qcow2 image is marked corrupt", version)

    backing_file = None
    if backing_offset:
        if backing_size > MAX_BACKING_NAME:
            return _broken("corrupt qcow2 header: backing file name of %d "
                           "bytes" % backing_size, version)
        if (backing_offset > cluster_size
                or backing_offset + backing_size > file_size
                or backing_offset < header_length):
            return _broken("corrupt qcow2 header: backing file name at "
                           "offset %d" % backing_offset, version)
        raw = read(backing_offset, backing_size)
        if len(raw) != backing_size:
            return _broken("truncated qcow2 backing file name", version)
        backing_file = _decode(raw)

    # Extensions run from the end of the fixed header to the backing file
    # name, or to the end of the first cluster.
    ext_end = backing_offset if backing_offset else cluster_size
    ext_end = min(ext_end, file_size)
    extensions = _read_extensions(read, head, header_length, ext_end)
    if isinstance(extensions, str):
        return _broken(extensions, version)
    backing_format = data_file = None
    for ext_type, data in extensions:
        if ext_type == EXT_BACKING_FORMAT:
            backing_format = _decode(data)
        elif ext_type == EXT_DATA_FILE:
            if len(data) > MAX_DATA_FILE_NAME:
                return _broken("corrupt qcow2 header: data file name of "
                               "%d bytes" % len(data), version)
            data_file = _decode(data)
    return ImageHeader(
        format=QCOW2, virtual_size=size // SECTOR * SECTOR, version=version,
        backing_file=backing_file, backing_format=backing_format,
        data_file=data_file, encrypted=crypt_method != 0,
        snapshots=nb_snapshots, incompatible_features=incompatible,
        autoclear_features=autoclear)


def _read_extensions(read: _Bounded, head: bytes, start: int,
                     end: int) -> list[tuple[int, bytes]] | str:
    """Return the (type, data) header extensions, or what is wrong.

    Reads in small chunks as far as the end marker only: over NFS, a whole
    first cluster per image would cost 64 KiB of reads per file.
    """
    limited = end - start > MAX_EXTENSIONS_SIZE
    if limited:
        end = start + MAX_EXTENSIONS_SIZE
    if start >= end:
        # Nothing fits between header and backing name: no extensions.
        return []
    area = bytearray(head[start:end])
    loaded = start + len(area)

    def need(count: int) -> bool:
        """Make ``count`` bytes of the area available; False past end."""
        nonlocal loaded
        while len(area) < count and loaded < end:
            chunk = read(loaded, min(max(count - len(area), EXT_CHUNK),
                                     end - loaded))
            if not chunk:
                break
            area.extend(chunk)
            loaded += len(chunk)
        return len(area) >= count

    found: list[tuple[int, bytes]] = []
    pos = 0
    while True:
        if not need(pos + _EXT_HEADER.size):
            if limited:
                return ("qcow2 header extensions exceed %d bytes"
                        % MAX_EXTENSIONS_SIZE)
            if loaded < end:
                return "truncated qcow2 header extensions"
            # qemu stops silently at the end of the area too.
            return found
        ext_type, length = _EXT_HEADER.unpack_from(area, pos)
        pos += _EXT_HEADER.size
        if ext_type == EXT_END:
            return found
        if length > end - start - pos or not need(pos + length):
            return "corrupt qcow2 header extension 0x%08x" % ext_type
        found.append((ext_type, bytes(area[pos:pos + length])))
        pos += (length + 7) & ~7
