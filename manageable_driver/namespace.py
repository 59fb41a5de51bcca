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

"""The one name space of Cinder's volumes and snapshots on a backend.

Cinder names what it creates from its ids: ``volume_name_template`` and
``snapshot_name_template``, the LVM driver's ``_snapshot-<id>`` (LVM
refuses names starting with ``snapshot``), and beside a volume's file the
NFS driver's ``volume-<id>.info`` (its snapshot index) and
``volume-<id>.<snapshot id>`` (a snapshot file).  :func:`owner` tells
which Cinder object such a name belongs to; the listing base uses it so
that a name Cinder made for one kind is never free in the listing of the
other kind, and a file Cinder's drivers keep beside a volume is never free
at all.  Pure: no I/O.
"""

from __future__ import annotations

import dataclasses
import re

VOLUME = "volume"
SNAPSHOT = "snapshot"

# Cinder's LVM driver stores snapshot "snapshot-<id>" as "_snapshot-<id>".
LVM_SNAPSHOT_ESCAPE = "_"
# Cinder's NFS driver keeps "<volume name>.info" beside a volume.
NFS_INFO_SUFFIX = ".info"

_UUID = re.compile(
    r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\Z",
    re.IGNORECASE)


def is_uuid(text: str) -> bool:
    """True when ``text`` is a UUID in its canonical hyphenated form."""
    return _UUID.match(text) is not None


def id_from_name(template: str, name: str) -> str | None:
    """Return the Cinder id ``name`` was made from with ``template``.

    Only a UUID counts, as Cinder's own name parsing does; None otherwise.

    :param template: a name template such as ``volume-%s``.
    :param name: a backend object name.
    """
    prefix, sep, suffix = template.partition("%s")
    if not sep or "%s" in suffix:
        return None
    if not (name.startswith(prefix) and name.endswith(suffix)):
        return None
    candidate = name[len(prefix):len(name) - len(suffix)]
    return candidate if is_uuid(candidate) else None


@dataclasses.dataclass(frozen=True)
class Owner:
    """The Cinder object a backend name was made for.

    :ivar kind: ``volume`` or ``snapshot``.
    :ivar cinder_id: the id of that object.
    :ivar how: what made the name, for people.
    :ivar own_name: the name is the object's own (a template applied to
        its id), not a file a driver keeps beside another object.
    """

    kind: str
    cinder_id: str
    how: str
    own_name: bool = True


@dataclasses.dataclass(frozen=True)
class NameSpace:
    """The two name templates of a backend, and the kind being listed.

    :ivar kind: the kind the listing or manage call is about.
    """

    volume_template: str
    snapshot_template: str
    kind: str = VOLUME

    def template(self, kind: str | None = None) -> str:
        """The name template of ``kind`` (default: this name space's)."""
        kind = kind or self.kind
        return (self.snapshot_template if kind == SNAPSHOT
                else self.volume_template)


def owner(name: str, names: NameSpace) -> Owner | None:
    """Return which Cinder object ``name`` was made for, or None.

    :param name: a backend object name (LVM names unescaped, as the
        records give them).
    :param names: the backend's name templates.
    """
    volume_id = id_from_name(names.volume_template, name)
    if volume_id is not None:
        return Owner(VOLUME, volume_id, "volume_name_template")
    snapshot_id = id_from_name(names.snapshot_template, name)
    if snapshot_id is not None:
        return Owner(SNAPSHOT, snapshot_id, "snapshot_name_template")
    if name.startswith(LVM_SNAPSHOT_ESCAPE):
        snapshot_id = id_from_name(names.snapshot_template, name[1:])
        if snapshot_id is not None:
            return Owner(SNAPSHOT, snapshot_id,
                         "Cinder's LVM driver (snapshot_name_template "
                         "stored as _snapshot-)")
    base, dot, tail = name.rpartition(".")
    if dot:
        volume_id = id_from_name(names.volume_template, base)
        if volume_id is not None:
            if "." + tail == NFS_INFO_SUFFIX:
                return Owner(VOLUME, volume_id,
                             "Cinder's NFS driver (the snapshot index of "
                             "volume %s)" % volume_id, own_name=False)
            if is_uuid(tail):
                return Owner(SNAPSHOT, tail,
                             "Cinder's NFS driver (a snapshot file of "
                             "volume %s)" % volume_id, own_name=False)
    return None


def conflict(found: Owner, kind: str) -> str | None:
    """Why a name made for ``found`` is not free as a ``kind``, or None.

    A name made for the other kind belongs to an object of that kind
    (a managed one perhaps, on another host of a cluster); a file a
    driver keeps beside a volume belongs to that volume.  Only a
    template name of the same kind is free once Cinder does not manage
    its id: that is what ``unmanage`` leaves.

    :param found: from :func:`owner`.
    :param kind: the kind being listed or managed.
    """
    if found.own_name and found.kind == kind:
        return None
    return ("name made by %s for Cinder %s %s: never free as a %s"
            % (found.how, found.kind, found.cinder_id, kind))


def cinder_made_note(found: Owner) -> str:
    """The ``extra_info`` note of a free name Cinder made."""
    return ("made by %s for Cinder %s %s, which is not in the managed list "
            "(what unmanage leaves); manage gives it a new id"
            % (found.how, found.kind, found.cinder_id))


def unknown_owner(found: Owner) -> str:
    """Why manage refuses a name made for ``found`` when nobody can tell
    whether Cinder still manages that id."""
    return ("name made by %s for Cinder %s %s; this driver cannot tell "
            "whether Cinder still manages it: tell it (cinder_manages; the "
            "command line's --managed/--managed-file)"
            % (found.how, found.kind, found.cinder_id))
