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

"""Parse the JSON report of ``lvs`` into records; no I/O here.

The driver asks LVM once for every field it needs (see
:data:`REPORT_FIELDS`), in bytes, as a JSON report.  This module turns that
text into :class:`LogicalVolume` objects and those into the listing
records, so that the whole classification can be tested against recorded
reports.

What is what is decided from the fields LVM reports for the purpose, never
from attribute letters: an LV with an ``origin`` that ``lv_role`` calls a
``snapshot`` is one (classic snapshots and thin snapshots alike; a cached
LV reports its hidden cache origin and is a volume), an LV whose
``lv_role`` says ``private`` is LVM's own (thin, cache and VDO pools, their
data and metadata LVs, spare metadata LVs), a bracketed name is an
internal LV.  A VG with a missing PV (``vg_missing_pv_count``) is partial:
LVM refuses to rename its LVs, so none of them is safe to manage.
"""

from __future__ import annotations

from collections.abc import Iterable
import dataclasses
import json
import re
from typing import Any

from manageable_driver import exception
from manageable_driver import records

REPORT_FIELDS = (
    "lv_name", "lv_uuid", "lv_size", "origin", "origin_uuid",
    "origin_size", "pool_lv", "segtype", "lv_layout", "lv_role",
    "lv_device_open", "lv_tags", "lv_merging", "lv_health_status",
    "vg_missing_pv_count",
)

# Cinder's LVM driver stores snapshot "snapshot-<id>" as LV
# "_snapshot-<id>", because LVM refuses LV names starting with "snapshot".
ESCAPE_PREFIX = "_"
LVM_RESERVED_PREFIXES = ("snapshot", "pvmove")
# From lvm(8), VALID NAMES, LVM2 2.03.16.
LVM_RESERVED_SUBSTRINGS = (
    "_cdata", "_cmeta", "_corig", "_iorig", "_mimage", "_mlog", "_pmspare",
    "_rimage", "_rmeta", "_tdata", "_tmeta", "_vdata", "_vorigin",
    "_wcorig",
)
# LVM's NAME_LEN is 128 bytes including the terminating NUL.
NAME_LEN = 128
MAX_NAME_LENGTH = NAME_LEN - 1
# vg_validate() also wants len(vg) + len(lv) + 3 < NAME_LEN (the
# device-mapper name "vg-lv" with room for a suffix).
MAX_FULL_NAME_LENGTH = NAME_LEN - 4
_VALID_NAME = re.compile(r"[A-Za-z0-9+_.-]+\Z")
_UUID = r"[A-Za-z0-9]{6}(?:-[A-Za-z0-9]{4}){5}-[A-Za-z0-9]{6}"
LVM_UUID = re.compile(_UUID + r"\Z")
# How LVM 2.03 names a missing PV on stderr: "VG vg is missing PV <uuid>
# (last written to /dev/x)", or, once it is back but still marked
# MISSING in the metadata, "VG vg was missing PV /dev/x <uuid>".
_MISSING_PV = re.compile(r"missing PV (?:(?P<device>\S+) )?(?P<uuid>%s)"
                         r"(?: \(last written to (?P<last>[^)]+)\))?" % _UUID)

VOLUME_TAG_PREFIX = "cinder-volume-id="
SNAPSHOT_TAG_PREFIX = "cinder-snapshot-id="


def tag_prefix(kind: str) -> str:
    """The tag prefix that records a managed ``kind`` (volume, snapshot)."""
    return SNAPSHOT_TAG_PREFIX if kind == "snapshot" else VOLUME_TAG_PREFIX


def name_problem(name: str, vg_name: str = "") -> str | None:
    """Return why LVM would refuse ``name`` as a new LV name, or None.

    :param name: a candidate LV name (without a VG part).
    :param vg_name: the VG it would be in, when known: LVM bounds the two
        names together.
    """
    if not name:
        return "the name is empty"
    if len(name) > MAX_NAME_LENGTH:
        return "the name is longer than %d characters" % MAX_NAME_LENGTH
    if vg_name and len(vg_name) + len(name) > MAX_FULL_NAME_LENGTH:
        return ("with volume group %s (%d characters) the name is longer "
                "than LVM allows: VG and LV names may have %d characters "
                "together" % (vg_name, len(vg_name), MAX_FULL_NAME_LENGTH))
    if not _VALID_NAME.match(name):
        return ("the name holds characters LVM does not allow (only "
                "a-z A-Z 0-9 + _ . -)")
    if name.startswith("-"):
        return "the name starts with '-'"
    if name in (".", ".."):
        return "LVM reserves the name %r" % name
    for prefix in LVM_RESERVED_PREFIXES:
        if name.startswith(prefix):
            return "LVM reserves names starting with %r" % prefix
    for part in LVM_RESERVED_SUBSTRINGS:
        if part in name:
            return "LVM reserves names containing %r" % part
    return None


def escape_name(name: str) -> str:
    """Return the LV name Cinder's LVM driver stores ``name`` under."""
    if name.startswith(LVM_RESERVED_PREFIXES[0]):
        return ESCAPE_PREFIX + name
    return name


def unescape_name(lv_name: str) -> str:
    """Return the Cinder-side name of LV ``lv_name`` (inverse of escape)."""
    if (lv_name.startswith(ESCAPE_PREFIX)
            and lv_name[1:].startswith(LVM_RESERVED_PREFIXES[0])):
        return lv_name[1:]
    return lv_name


# Not frozen: a frozen dataclass sets each field through
# object.__setattr__, which doubles the parse time of a 10,000-LV report.
@dataclasses.dataclass(kw_only=True, slots=True)
class LogicalVolume:
    """One LV as the report describes it.

    :ivar size_bytes: None when LVM printed something that is not a size.
    :ivar origin_size_bytes: for classic snapshots, the origin's size.
    :ivar device_open: ``open``, ``""`` (closed) or ``unknown`` (LVM runs
        without device-mapper, as with ``activation = 0``).
    :ivar partial: LVM reports the LV partial: some of its data (or of a
        snapshot's, or a pool's it uses) is on a missing PV.
    :ivar vg_missing_pvs: how many PVs of the LV's VG are missing.
    :ivar missing_pvs: the missing PVs, as LVM named them on stderr.
    """

    name: str
    uuid: str
    size_bytes: int | None
    origin: str = ""
    origin_uuid: str = ""
    origin_size_bytes: int | None = None
    pool: str = ""
    segtype: str = ""
    layout: tuple[str, ...] = ()
    roles: tuple[str, ...] = ()
    device_open: str = ""
    tags: tuple[str, ...] = ()
    merging: bool = False
    partial: bool = False
    vg_missing_pvs: int = 0
    missing_pvs: tuple[str, ...] = ()

    @property
    def internal(self) -> bool:
        """LVM's own LV: hidden, or a pool or pool component."""
        return self.name.startswith("[") or "private" in self.roles

    @property
    def is_snapshot(self) -> bool:
        """A classic or thin snapshot: an LV that has an origin and that
        ``lv_role`` calls a snapshot.  A cached LV's origin is its hidden
        cache origin (``[lv_corig]``), and it is a volume."""
        return bool(self.origin) and "snapshot" in self.roles

    @property
    def is_thin(self) -> bool:
        """Thin provisioned: a thin LV, or an LV LVM lays out sparse (a
        VDO LV).  ``pool_lv`` would also name a cached LV's cache pool."""
        return self.segtype == "thin" or "sparse" in self.layout

    @property
    def is_open(self) -> bool:
        return self.device_open == "open"

    def cinder_id(self) -> str | None:
        """The Cinder id a tag of this LV records, if any."""
        for tag in self.tags:
            for prefix in (VOLUME_TAG_PREFIX, SNAPSHOT_TAG_PREFIX):
                if tag.startswith(prefix) and len(tag) > len(prefix):
                    return tag[len(prefix):]
        return None


def _int_or_none(value: Any) -> int | None:
    # isdigit() alone accepts "²" and other digits int() refuses.
    if isinstance(value, str) and value.isascii() and value.isdigit():
        return int(value)
    return None


def _split(value: Any) -> tuple[str, ...]:
    if not value or not isinstance(value, str):
        return ()
    return tuple(filter(None, value.split(",")))


def missing_pvs(stderr: str) -> tuple[str, ...]:
    """The missing PVs LVM names in its warnings, once each, in order.

    Only to name them in a reason: whether a PV is missing is read from
    the report's ``vg_missing_pv_count``.

    :param stderr: what the lvs run printed on stderr.
    """
    found: dict[str, str] = {}
    for match in _MISSING_PV.finditer(stderr):
        device = match.group("last") or match.group("device")
        if device and device != "[unknown]":
            found[match.group("uuid")] = "%s (last seen as %s)" % (
                match.group("uuid"), device)
        else:
            found.setdefault(match.group("uuid"), match.group("uuid"))
    return tuple(found.values())


def parse_report(text: str, stderr: str = "") -> list[LogicalVolume]:
    """Parse ``lvs --reportformat json`` output into LVs, one per UUID.

    ``segtype`` is a segment field, so LVM prints one row per segment of
    a multi-segment LV; the first row of each LV is kept.

    :param text: the command's stdout.
    :param stderr: its stderr, where LVM names missing PVs.
    :raises VolumeBackendAPIException: the text is not an lvs JSON report.
    """
    try:
        doc = json.loads(text)
        rows = [row for part in doc["report"] for row in part.get("lv", [])]
    except (ValueError, KeyError, TypeError, AttributeError) as exc:
        raise exception.VolumeBackendAPIException(
            data="lvs did not print a JSON report (%s): %.200r"
            % (exc, text))
    seen: set[str] = set()
    lvs: list[LogicalVolume] = []
    for row in rows:
        if not isinstance(row, dict):
            continue
        uuid = str(row.get("lv_uuid", ""))
        name = str(row.get("lv_name", ""))
        if not name or uuid in seen:
            continue
        seen.add(uuid)
        lvs.append(LogicalVolume(
            name=name, uuid=uuid,
            size_bytes=_int_or_none(row.get("lv_size")),
            origin=str(row.get("origin", "")),
            origin_uuid=str(row.get("origin_uuid", "")),
            origin_size_bytes=_int_or_none(row.get("origin_size")),
            pool=str(row.get("pool_lv", "")),
            segtype=str(row.get("segtype", "")),
            layout=_split(row.get("lv_layout")),
            roles=_split(row.get("lv_role")),
            device_open=str(row.get("lv_device_open", "")),
            tags=_split(row.get("lv_tags")),
            merging=bool(row.get("lv_merging")),
            partial=row.get("lv_health_status") == "partial",
            vg_missing_pvs=_int_or_none(row.get("vg_missing_pv_count")) or 0))
    if any(lv.vg_missing_pvs for lv in lvs):
        named = missing_pvs(stderr)
        for lv in lvs:
            lv.missing_pvs = named
    return lvs


def _common(lv: LogicalVolume) -> dict[str, Any]:
    extra = {"lv_uuid": lv.uuid, "segtype": lv.segtype,
             "tags": ",".join(lv.tags)}
    if lv.pool:
        extra["pool"] = lv.pool
    if lv.device_open == "unknown":
        # LVM runs without device-mapper (activation = 0): it cannot know
        # whether the device is open, and neither can we.
        extra["device_open"] = "unknown"
    in_use = lv.is_open
    return {
        "name": unescape_name(lv.name),
        "reference": {"source-name": lv.name},
        "in_use": in_use,
        "in_use_reason": "open (the LV's device is in use)" if in_use
        else None,
        "cinder_id": lv.cinder_id(),
        "extra_info": extra,
    }


def _size_fields(size: int | None, lv: LogicalVolume) -> dict[str, Any]:
    return {"size_bytes": size,
            "size_error": (None if size is not None
                           else "lvs reported no size for %s" % lv.name)}


def _reserved(lv: LogicalVolume) -> str | None:
    # LVs created before a reservation (or restored from metadata) can
    # carry names LVM now refuses; commands naming them are unreliable.
    problem = name_problem(lv.name)
    return "name reserved by LVM: %s" % problem if problem else None


# Segment types whose LVs have no sub-LVs lvrename renames with them
# (thin and VDO pools are skipped by lvrename; a classic snapshot's store
# is its own segment).
FLAT_SEGTYPES = frozenset(("linear", "striped", "thin", "vdo", "zero",
                           "error"))
# lvrename renames every other LV's sub-LVs to the new name plus their
# suffix: "_rimage_0", "_mlog", "_corig", and nested, as in
# "_corig_rimage_10_imeta" (22). Room for this much is asked of the VG.
SUB_LV_SUFFIX_ROOM = 24


def _no_room(lv: LogicalVolume, room: int | None) -> str | None:
    if room is None or room >= SUB_LV_SUFFIX_ROOM:
        return None
    if lv.segtype in FLAT_SEGTYPES:
        return None
    return ("lvrename renames the sub-LVs of a %s LV with it, and beside "
            "a Cinder name they would be longer than LVM allows in this "
            "volume group (its name is too long); manage it in tag mode"
            % (lv.segtype or "layered"))


def _missing(lv: LogicalVolume) -> str | None:
    # A partial VG: LVM refuses lvrename in it, for every LV, and any
    # metadata change (lvchange --addtag works) records the PV as MISSING,
    # which stays until vgextend --restoremissing, even once the disk is
    # back. Its data may be incomplete too.
    if not lv.vg_missing_pvs and not lv.partial:
        return None
    named = ("; ".join(lv.missing_pvs) if lv.missing_pvs
             else "%d PV(s) LVM did not name" % lv.vg_missing_pvs)
    if lv.partial:
        where = "on a missing PV: %s; LVM reports it partial" % named
    else:
        where = ("its volume group is missing a PV: %s; LVM refuses to "
                 "rename the LVs of a partial volume group, and a tag "
                 "written now would keep the PV marked missing" % named)
    return ("%s; bring the PV back (or vgreduce --removemissing), then "
            "list again" % where)


def volume_record(lv: LogicalVolume,
                  room: int | None = None) -> records.VolumeRecord:
    """Return the record of ``lv`` as a candidate Cinder volume.

    :param room: in rename mode, how many characters the VG leaves
        beyond the Cinder name manage gives the LV (None: no rename).
    """
    unsafe = None
    if lv.internal:
        unsafe = "internal LV of LVM (%s)" % ",".join(lv.roles or lv.layout)
    elif missing := _missing(lv):
        unsafe = missing
    elif lv.is_snapshot:
        unsafe = ("snapshot of %s; manage it as a snapshot" % lv.origin)
    elif lv.merging:
        unsafe = "a snapshot is being merged into it"
    else:
        unsafe = _reserved(lv) or _no_room(lv, room)
    return records.VolumeRecord(unsafe_reason=unsafe,
                                **_size_fields(lv.size_bytes, lv),
                                **_common(lv))


def snapshot_record(lv: LogicalVolume,
                    room: int | None = None) -> records.SnapshotRecord:
    """Return the record of ``lv`` as a candidate Cinder snapshot.

    A classic snapshot's ``lv_size`` is its copy-on-write store; the
    snapshot, as Cinder sees it, has the size of its origin.

    :param room: as for :func:`volume_record`.
    """
    common = _common(lv)
    if lv.is_snapshot and not lv.is_thin:
        size = lv.origin_size_bytes
        common["extra_info"]["cow_size"] = str(lv.size_bytes)
    else:
        size = lv.size_bytes
    unsafe = None
    if lv.internal:
        unsafe = "internal LV of LVM (%s)" % ",".join(lv.roles or lv.layout)
    elif missing := _missing(lv):
        unsafe = missing
    elif not lv.origin:
        unsafe = "not a snapshot (it has no origin)"
    elif not lv.is_snapshot:
        unsafe = ("not a snapshot (its origin %s is not one of a snapshot: "
                  "LVM calls the LV %s)" % (lv.origin, ",".join(lv.roles)))
    elif lv.merging:
        unsafe = "being merged into its origin"
    else:
        unsafe = _reserved(lv) or _no_room(lv, room)
    return records.SnapshotRecord(
        unsafe_reason=unsafe,
        source_reference={"source-name": lv.origin},
        **_size_fields(size, lv), **common)


def volume_records(lvs: Iterable[LogicalVolume],
                   room: int | None = None) -> list[records.VolumeRecord]:
    """Records of the LVs the volume listing shows.

    Visible LVs that are not snapshots and not LVM's own.

    :param room: as for :func:`volume_record`.
    """
    return [volume_record(lv, room) for lv in lvs
            if not lv.internal and not lv.is_snapshot]


def snapshot_records(lvs: Iterable[LogicalVolume],
                     room: int | None = None) -> list[records.SnapshotRecord]:
    """Records of the LVs the snapshot listing shows: visible snapshots.

    :param room: as for :func:`volume_record`.
    """
    return [snapshot_record(lv, room) for lv in lvs
            if not lv.internal and lv.is_snapshot]
