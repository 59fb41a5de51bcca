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

"""The listing base every backend plugs into.

A backend says what objects it has, as :mod:`manageable_driver.records`;
:class:`ManageableListingMixin` implements Cinder's
``get_manageable_volumes`` and ``get_manageable_snapshots`` from them once:
it matches Cinder's managed objects by name in O(1) a record, decides
whether each object is safe to manage and why not, rounds sizes up to GiB
and pages the result with :func:`manageable_driver.pagination.paginate`.

Names follow one name space (:mod:`manageable_driver.namespace`): a
name Cinder made for a volume is never free as a snapshot, and the
reverse.  The same verdict guards manage:
:meth:`ManageableListingMixin.ensure_safe` refuses what the listing marks
not safe and, having no managed list, asks
:meth:`ManageableListingMixin.cinder_manages` about a name Cinder made
for the kind being managed.
"""

from __future__ import annotations

import abc
from collections.abc import Callable
from collections.abc import Iterable
from collections.abc import Mapping
import dataclasses
import threading
from typing import Any

from manageable_driver import exception
from manageable_driver import listing_cache
from manageable_driver import namespace
from manageable_driver import pagination
from manageable_driver import records
from manageable_driver import references
from manageable_driver import sizes

ALREADY_MANAGED = "already managed"
# What a listing sorts by, as Cinder's API allows ("identifier" is the
# alias the interface documents).
SORT_KEYS = ("reference", "size")

# Kept here for the callers that import it from the listing base.
id_from_name = namespace.id_from_name
# Cinder has no volume of 0 GiB.
EMPTY = "size is 0 bytes: Cinder has no 0 GiB volume"
CINDER_MADE = "cinder_made_name"


def managed_names(cinder_objects: Iterable[Any] | None,
                  template: str) -> dict[str, str]:
    """Map each backend name Cinder uses for ``cinder_objects`` to its id.

    Both the object's ``name`` (which follows ``name_id`` after a
    migration) and the template applied to its ``id`` are mapped.
    """
    managed: dict[str, str] = {}
    for obj in cinder_objects or ():
        obj_id = references.field(obj, "id")
        if obj_id is None:
            continue
        obj_id = str(obj_id)
        managed[template % obj_id] = obj_id
        name = references.field(obj, "name")
        if name:
            managed[str(name)] = obj_id
    return managed


def managed_lookup(cinder_ids: Iterable[str]) -> Callable[[str, str], bool]:
    """A ``cinder_manages_lookup`` answering from the ids Cinder manages.

    For a caller that knows them (the command line's ``--managed``, a
    test): an id in ``cinder_ids`` is managed, any other is not.

    :param cinder_ids: the ids of the kind being managed.
    """
    ids = frozenset(cinder_ids)
    return lambda _kind, cinder_id: cinder_id in ids


@dataclasses.dataclass(frozen=True)
class Verdict:
    """Whether a record is safe to manage, and if not, why.

    :ivar note: a remark for the entry's ``extra_info`` (a free name
        Cinder made).
    """

    safe: bool
    reason: str | None = None
    cinder_id: str | None = None
    note: str | None = None

    @property
    def already_managed(self) -> bool:
        return self.cinder_id is not None


def assess(record: records.VolumeRecord, managed: Mapping[str, str],
           names: namespace.NameSpace | str) -> Verdict:
    """Decide whether ``record`` is safe to manage.

    Precedence: already managed (Cinder lists it, or the backend records
    it), then a name Cinder made for an object of the other kind (or a
    file a Cinder driver keeps beside a volume), then the backend's own
    reason, then an unreadable or zero size, then in use.  A name Cinder's
    template made for this kind, whose id Cinder does not manage, is what
    ``unmanage`` leaves: it is free, with a note.

    :param record: what the backend says of the object.
    :param managed: backend name to Cinder id, from :func:`managed_names`.
    :param names: the name space of the kind being listed; a bare
        template stands for a volume name space with Cinder's default
        snapshot template.
    """
    if isinstance(names, str):
        names = namespace.NameSpace(names, "snapshot-%s")
    cinder_id = managed.get(record.name) or record.cinder_id
    if cinder_id:
        return Verdict(False, ALREADY_MANAGED, cinder_id)
    note = None
    found = namespace.owner(record.name, names)
    if found is not None:
        if found.kind == names.kind and found.cinder_id in managed.values():
            # A derived name (NFS snapshot file) of a managed object.
            return Verdict(False, ALREADY_MANAGED, found.cinder_id)
        conflict = namespace.conflict(found, names.kind)
        if conflict is not None:
            return Verdict(False, conflict)
        note = namespace.cinder_made_note(found)
    if record.unsafe_reason:
        return Verdict(False, record.unsafe_reason, note=note)
    if record.size_bytes is None:
        return Verdict(False, "size unreadable: %s"
                       % (record.size_error or "unknown"), note=note)
    if record.size_bytes == 0:
        return Verdict(False, EMPTY, note=note)
    if record.in_use:
        return Verdict(False, record.in_use_reason or "in use", note=note)
    return Verdict(True, note=note)


def gib_size(record: records.VolumeRecord) -> int | None:
    """The size Cinder shows for ``record``: GiB rounded up, or None."""
    if record.size_bytes is None:
        return None
    return sizes.bytes_to_gib_ceil(record.size_bytes)


def sort_entry(record: records.VolumeRecord) -> dict[str, Any]:
    """What a listing sorts and pages ``record`` by."""
    return {"reference": record.reference, "size": gib_size(record)}


def build_entry(record: records.VolumeRecord,
                verdict: Verdict) -> dict[str, Any]:
    """Return Cinder's manageable-list entry for ``record``."""
    entry: dict[str, Any] = {
        "reference": dict(record.reference),
        "size": gib_size(record),
        "safe_to_manage": verdict.safe,
        "reason_not_safe": verdict.reason,
        "cinder_id": verdict.cinder_id,
        "extra_info": (dict(record.extra_info)
                       if record.extra_info is not None else None),
    }
    if verdict.note is not None:
        entry["extra_info"] = dict(entry["extra_info"] or {},
                                   **{CINDER_MADE: verdict.note})
    if isinstance(record, records.SnapshotRecord):
        entry["source_reference"] = dict(record.source_reference)
    return entry


class ManageableListingMixin(abc.ABC):
    """Cinder's two listing methods, for any backend that yields records.

    Subclasses implement :meth:`list_volume_records` (and
    :meth:`list_snapshot_records` when they have snapshots) and provide
    ``self.configuration`` with ``volume_name_template`` and
    ``snapshot_name_template`` (see :mod:`manageable_driver.opts`).
    """

    configuration: Any
    _listing_cache: listing_cache.ListingCache | None = None
    _listing_cache_lock = threading.Lock()

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        # A backend's own manage and unmanage show in its next listing at
        # once, without it doing anything for it.
        for name in listing_cache.CHANGING_METHODS:
            method = cls.__dict__.get(name)
            if callable(method):
                setattr(cls, name, listing_cache.invalidating(method))

    @property
    def listing_cache(self) -> listing_cache.ListingCache:
        """The kept listings of this driver object (see
        :mod:`manageable_driver.listing_cache`)."""
        with self._listing_cache_lock:
            if self._listing_cache is None:
                conf = self.configuration
                lock_path = getattr(conf, "safe_get", lambda name: None)(
                    "manageable_lock_path")
                self._listing_cache = listing_cache.ListingCache(
                    lambda: listing_cache.seconds_of(conf),
                    listing_cache.Generation(
                        lock_path, listing_cache.scope_of(self)),
                    sort_entry)
            return self._listing_cache

    @abc.abstractmethod
    def list_volume_records(self) -> Iterable[records.VolumeRecord]:
        """Yield one record per object that could be a Cinder volume."""

    def list_snapshot_records(self) -> Iterable[records.SnapshotRecord]:
        """Yield one record per object that could be a Cinder snapshot."""
        return ()

    def _template(self, kind: str) -> str:
        return str(getattr(self.configuration, "%s_name_template" % kind))

    def name_space(self, kind: str = "volume") -> namespace.NameSpace:
        """The backend's name templates, for a listing or manage of
        ``kind``."""
        return namespace.NameSpace(self._template("volume"),
                                   self._template("snapshot"), kind)

    def _page(self, list_records: Callable[[], Iterable[records.VolumeRecord]],
              cinder_objects: Any, kind: str, marker: Any, limit: Any,
              offset: Any, sort_keys: Any,
              sort_dirs: Any) -> list[dict[str, Any]]:
        # Refuse bad arguments before the backend is asked anything.
        pagination.check_arguments(marker, limit, offset, sort_keys,
                                   sort_dirs, SORT_KEYS)
        # Sorting and the marker need only the reference and the size, so
        # the verdict and the full entry are built for the page alone, not
        # for each of thousands of objects; and from this call's managed
        # list, whether the records are kept or not.
        page = self.listing_cache.snapshot(kind, list_records).page(
            marker, limit, offset, sort_keys, sort_dirs)
        names = self.name_space(kind)
        managed = managed_names(cinder_objects, names.template())
        return [build_entry(rec, assess(rec, managed, names))
                for rec in page]

    def get_manageable_volumes(self, cinder_volumes: Any, marker: Any,
                               limit: Any, offset: Any, sort_keys: Any,
                               sort_dirs: Any) -> list[dict[str, Any]]:
        """One page of the backend's volumes; see the interface."""
        return self._page(self.list_volume_records, cinder_volumes,
                          "volume", marker, limit, offset, sort_keys,
                          sort_dirs)

    def get_manageable_snapshots(self, cinder_snapshots: Any, marker: Any,
                                 limit: Any, offset: Any, sort_keys: Any,
                                 sort_dirs: Any) -> list[dict[str, Any]]:
        """One page of the backend's snapshots; see the interface."""
        return self._page(self.list_snapshot_records, cinder_snapshots,
                          "snapshot", marker, limit, offset, sort_keys,
                          sort_dirs)

    def cinder_name(self, obj: Any, kind: str = "volume") -> str:
        """Return the backend name ``obj`` gets when it is managed.

        The name must follow the kind's name template with a UUID: that is
        how the listing, and every later manage, know the object is
        managed. A name they would not recognise would let a second manage
        take the object away from the first.

        :param obj: the Cinder volume or snapshot (object or dict).
        :param kind: ``volume`` or ``snapshot``.
        :raises InvalidInput: no name, or not the template applied to a
            UUID.
        """
        name = references.object_name(obj, kind)
        template = self._template(kind)
        if id_from_name(template, name) is None:
            raise exception.InvalidInput(
                reason="the %s name %r does not follow %s_name_template %r "
                       "with a UUID, so the object would not be known as "
                       "managed afterwards" % (kind, name[:200], kind,
                                               template))
        return name

    @staticmethod
    def cinder_id(obj: Any, kind: str = "volume") -> str:
        """Return the id of a Cinder volume or snapshot, which must be a
        UUID, as Cinder's ids are.

        :raises InvalidInput: no id, or not a UUID.
        """
        obj_id = references.field(obj, "id")
        if not isinstance(obj_id, str) or not namespace.is_uuid(obj_id):
            raise exception.InvalidInput(
                reason="the %s id %.200r is not a UUID" % (kind, obj_id))
        return obj_id

    def manageable_size(self, record: records.VolumeRecord,
                        existing_ref: Any, kind: str = "volume") -> int:
        """Return the size, in GiB rounded up, manage would give ``record``.

        What the listing shows, for an object manage would accept: get-size
        refuses what manage refuses, so Cinder learns it before it reserves
        quota.

        :param record: the backend's record of the object.
        :param existing_ref: the caller's reference, for the message.
        :param kind: ``volume`` or ``snapshot``.
        :raises ManageExistingAlreadyManaged: Cinder already manages it.
        :raises ManageExistingInvalidReference: it is not safe to manage
            (an unreadable size included).
        """
        self.ensure_safe(record, existing_ref, kind)
        size = gib_size(record)
        assert size is not None  # noqa: S101 - assess refuses a None size
        return size

    # Answers cinder_manages without a subclass (tests, the CLI, a
    # vendor's driver): called as ``lookup(kind, cinder_id)``.
    cinder_manages_lookup: Callable[[str, str], bool | None] | None = None

    def cinder_manages(self, kind: str, cinder_id: str) -> bool | None:
        """Whether Cinder still manages its ``kind`` ``cinder_id``.

        Manage does not get Cinder's managed list, yet a name Cinder's
        template made for the kind being managed is free only once Cinder
        no longer manages that id (what ``unmanage`` leaves); while it
        does, managing the name for another object would give that
        object the managed one's data.  This default asks
        :attr:`cinder_manages_lookup` when it is set and otherwise cannot
        tell; a Cinder driver overrides it with Cinder's own database
        check.

        :param kind: ``volume`` or ``snapshot``.
        :param cinder_id: the id the name was made from.
        :returns: True (managed), False (not managed) or None (cannot
            tell: manage refuses the name).
        """
        if self.cinder_manages_lookup is None:
            return None
        return self.cinder_manages_lookup(kind, cinder_id)

    def ensure_safe(self, record: records.VolumeRecord, existing_ref: Any,
                    kind: str = "volume", managing: Any = None) -> None:
        """Refuse to manage what the listing would mark not safe.

        Manage does not get Cinder's managed list, so "already managed" is
        known from the backend's own record (a tag, an index), from the
        name templates (a name Cinder made for the other kind is refused)
        and, for a name Cinder's template made for this kind, from
        :meth:`cinder_manages`: free only when Cinder says it no longer
        manages that id.

        :param record: the backend's record of the object about to change.
        :param existing_ref: the caller's reference, for the message.
        :param kind: ``volume`` or ``snapshot``.
        :param managing: the Cinder object being managed, when the driver
            finishes a manage whose object already has its name (a retry):
            that name is its own, not another object's.
        :raises ManageExistingAlreadyManaged: Cinder already manages it.
        :raises ManageExistingInvalidReference: it is not safe to manage,
            or its name is Cinder's and nobody can tell whether Cinder
            still manages it.
        """
        names = self.name_space(kind)
        verdict = assess(record, {}, names)
        if verdict.already_managed:
            raise exception.ManageExistingAlreadyManaged(
                volume_ref=existing_ref)
        found = namespace.owner(record.name, names)
        own_id = references.field(managing, "id")
        if (found is not None and found.own_name and found.kind == kind
                and found.cinder_id != own_id):
            manages = self.cinder_manages(kind, found.cinder_id)
            if manages:
                raise exception.ManageExistingAlreadyManaged(
                    volume_ref=existing_ref)
            if manages is None:
                raise exception.ManageExistingInvalidReference(
                    existing_ref=existing_ref,
                    reason=namespace.unknown_owner(found))
        if not verdict.safe:
            raise exception.ManageExistingInvalidReference(
                existing_ref=existing_ref,
                reason="not safe to manage: %s" % verdict.reason)
