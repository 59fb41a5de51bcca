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

"""The LVM driver: list, manage and unmanage the LVs of one volume group.

Listing runs one ``lvs`` JSON report per call (:mod:`.report` parses it);
every other command goes through :class:`.commands.LVMCommands`.  Manage
refuses exactly what the listing marks not safe
(:meth:`~manageable_driver.listing.ManageableListingMixin.ensure_safe`),
under a per-LV lock, after reading the LV again.
"""

from __future__ import annotations

import re
from typing import Any
import uuid

from oslo_log import log as logging

from manageable_driver import configuration as config
from manageable_driver import exception
from manageable_driver import interface
from manageable_driver import listing
from manageable_driver import locks
from manageable_driver import opts
from manageable_driver import records
from manageable_driver import references
from manageable_driver.drivers.lvm import commands
from manageable_driver.drivers.lvm import options
from manageable_driver.drivers.lvm import report

LOG = logging.getLogger(__name__)

BY_NAME = "name"
BY_UUID = "uuid"

# Characters lvm(8) accepts in tags (TAGS section).
_VALID_VG = re.compile(r"[A-Za-z0-9+_.][A-Za-z0-9+_.-]{0,126}\Z")


class LVMDriver(listing.ManageableListingMixin,
                interface.VolumeListManageableDriver,
                interface.VolumeSnapshotManagementDriver):
    """Manage/unmanage and manageable listing for one LVM volume group.

    :param configuration: a Cinder backend ``Configuration``, an
        oslo.config ``ConfigOpts``, a
        :class:`manageable_driver.configuration.Configuration`, or None
        for the option defaults.
    :param execute: processutils-compatible callable that runs commands
        (Cinder passes its drivers one); ``processutils.execute`` when None.
    :raises InvalidInput: ``volume_group`` is not a valid VG name, or in
        rename mode leaves no room for Cinder's names.
    """

    def __init__(self, configuration: Any = None, execute: Any = None,
                 *args: Any, **kwargs: Any) -> None:
        self.configuration = config.prepare(
            configuration, opts.common_opts + options.lvm_opts)
        self.vg_name = str(self.configuration.volume_group)
        if not _VALID_VG.match(self.vg_name) or self.vg_name in (".", ".."):
            raise exception.InvalidInput(
                reason="volume_group %r is not a valid LVM volume group "
                       "name" % self.vg_name)
        self.manage_mode = self.configuration.lvm_manage_mode
        # Characters left beside each kind's Cinder name (rename mode).
        self.rename_room: dict[str, int | None] = {"volume": None,
                                                   "snapshot": None}
        if self.manage_mode == options.MODE_RENAME:
            self._check_names_fit()
        self.lvm = commands.LVMCommands(
            self.vg_name, execute=execute,
            root_helper=self.configuration.lvm_root_helper,
            lvm_conf_file=self.configuration.lvm_conf_file)
        self.locks = locks.get_provider(self.configuration)

    def _check_names_fit(self) -> None:
        """Refuse a VG whose name leaves no room for Cinder's names, and
        keep the room left (sub-LVs are renamed with their LV).

        LVM bounds the VG and LV names together: every rename would fail
        at lvrename while the listing called the LVs safe.  All Cinder ids
        are UUIDs, so one sample id measures every name.

        :raises InvalidInput: a volume or snapshot name would not fit.
        """
        sample = str(uuid.UUID(int=0))
        for kind in ("volume", "snapshot"):
            try:
                name = self._stored_name(self._template(kind) % sample, kind)
            except (TypeError, ValueError):
                continue  # no "%s": cinder_name refuses it at manage
            problem = report.name_problem(name, self.vg_name)
            if problem:
                raise exception.InvalidInput(
                    reason="lvm_manage_mode rename cannot store Cinder's %s "
                           "names such as %s: %s" % (kind, name, problem))
            self.rename_room[kind] = (report.MAX_FULL_NAME_LENGTH
                                      - len(self.vg_name) - len(name))

    # Listing -------------------------------------------------------------

    def listing_scope(self) -> str:
        """Names the backend for kept listings (see listing_cache)."""
        return "lvm:%s" % self.vg_name

    def list_volume_records(self) -> list[records.VolumeRecord]:
        """Records of the VG's volumes, from one lvs report."""
        return report.volume_records(self.lvm.report(),
                                     self.rename_room["volume"])

    def list_snapshot_records(self) -> list[records.SnapshotRecord]:
        """Records of the VG's snapshots, from one lvs report."""
        return report.snapshot_records(self.lvm.report(),
                                       self.rename_room["snapshot"])

    # References ----------------------------------------------------------

    def parse_lv_reference(self, existing_ref: Any) -> tuple[str, str]:
        """Return how ``existing_ref`` names an LV: (BY_NAME, lv name) or
        (BY_UUID, LV UUID). Runs nothing.

        ``source-name`` may be ``lv`` or ``<this VG>/lv``; a Cinder
        snapshot name (``snapshot-<id>``) stands for the LV Cinder's LVM
        driver stores it as (``_snapshot-<id>``).

        :raises ManageExistingInvalidReference: malformed, a name LVM
            forbids, a path into another VG, or not an LVM UUID.
        """
        key, value = references.parse_reference(existing_ref)

        def invalid(reason: str) -> exception.ManageExistingInvalidReference:
            return exception.ManageExistingInvalidReference(
                existing_ref=existing_ref, reason=reason)

        if key == references.SOURCE_ID:
            if not report.LVM_UUID.match(value):
                raise invalid("source-id %r is not an LVM UUID "
                              "(xxxxxx-xxxx-xxxx-xxxx-xxxx-xxxx-xxxxxx)"
                              % value[:80])
            return BY_UUID, value
        name = value
        if "/" in name:
            vg_name, _sep, name = name.partition("/")
            if vg_name != self.vg_name or "/" in name:
                raise invalid("%r is not an LV of volume group %s"
                              % (value[:300], self.vg_name))
        name = report.escape_name(name)
        problem = report.name_problem(name)
        if problem:
            raise invalid("not a valid LV name: %s" % problem)
        return BY_NAME, name

    @staticmethod
    def _find(lvs: list[report.LogicalVolume], how: str,
              value: str) -> report.LogicalVolume | None:
        for lv in lvs:
            if (lv.uuid if how == BY_UUID else lv.name) == value:
                return lv
        return None

    def _resolve(self, existing_ref: Any,
                 parsed: tuple[str, str] | None = None
                 ) -> report.LogicalVolume:
        how, value = parsed or self.parse_lv_reference(existing_ref)
        lv = self._find(self.lvm.report(), how, value)
        if lv is None:
            raise exception.ManageExistingInvalidReference(
                existing_ref=existing_ref,
                reason="no LV with %s %s in volume group %s"
                       % (how, value, self.vg_name))
        return lv

    def _record(self, lv: report.LogicalVolume,
                kind: str) -> records.VolumeRecord:
        if kind == "snapshot":
            return report.snapshot_record(lv, self.rename_room[kind])
        return report.volume_record(lv, self.rename_room[kind])

    # Sizes ---------------------------------------------------------------

    def _get_size(self, existing_ref: Any, kind: str) -> int:
        # The record's verdict covers a snapshot asked for as a volume and
        # the reverse, as the listing and manage do.
        lv = self._resolve(existing_ref)
        return self.manageable_size(self._record(lv, kind), existing_ref,
                                    kind)

    def manage_existing_get_size(self, volume: Any, existing_ref: Any) -> int:
        """Size in GiB, rounded up, of the LV ``existing_ref`` names.

        :raises ManageExistingInvalidReference: bad reference, no such LV,
            or the LV is a snapshot.
        """
        return self._get_size(existing_ref, "volume")

    def manage_existing_snapshot_get_size(self, snapshot: Any,
                                          existing_ref: Any) -> int:
        """Size in GiB, rounded up, of the snapshot ``existing_ref`` names.

        A classic snapshot has the size of its origin.

        :raises ManageExistingInvalidReference: bad reference, no such LV,
            or the LV is not a snapshot.
        """
        return self._get_size(existing_ref, "snapshot")

    # Manage --------------------------------------------------------------

    def _tag(self, obj: Any, kind: str) -> str:
        return "%s%s" % (report.tag_prefix(kind), self.cinder_id(obj, kind))

    @staticmethod
    def _stored_name(name: str, kind: str) -> str:
        if kind == "snapshot":
            # Stored as Cinder's LVM driver stores it: LVM refuses names
            # starting with "snapshot".
            return report.escape_name(name)
        return name

    def _target_name(self, obj: Any, kind: str) -> str:
        name = self._stored_name(self.cinder_name(obj, kind), kind)
        problem = report.name_problem(name, self.vg_name)
        if problem:
            raise exception.InvalidInput(
                reason="the %s name %r cannot be an LV name: %s"
                       % (kind, name, problem))
        return name

    def _check_type(self, volume: Any, lv: report.LogicalVolume) -> None:
        wanted = references.requested(volume, "provisioning:type")
        if wanted not in ("thin", "thick"):
            return
        actual = "thin" if lv.is_thin else "thick"
        if wanted != actual:
            raise exception.ManageExistingVolumeTypeMismatch(
                reason="the volume type asks for %s provisioning but LV "
                       "%s is %s" % (wanted, lv.name, actual))

    def _check_origin(self, snapshot: Any, lv: report.LogicalVolume,
                      lvs: list[report.LogicalVolume],
                      existing_ref: Any) -> None:
        volume = references.field(snapshot, "volume")
        if volume is None:
            return
        origin = self._find(lvs, BY_NAME, lv.origin)
        name = references.field(volume, "name")
        expected = {report.escape_name(str(name))} if name else set()
        volume_id = references.field(volume, "id")
        if origin is not None and origin.name in expected:
            return
        if (origin is not None and volume_id is not None
                and origin.cinder_id() == str(volume_id)):
            return
        raise exception.ManageExistingInvalidReference(
            existing_ref=existing_ref,
            reason="LV %s is a snapshot of %s, which is not the LV of the "
                   "snapshot's volume %s" % (lv.name, lv.origin, volume_id))

    def _manage(self, obj: Any, existing_ref: Any, kind: str) -> None:
        how, value = self.parse_lv_reference(existing_ref)
        cinder_id = self.cinder_id(obj, kind)
        tag = target = ""
        if self.manage_mode == options.MODE_TAG:
            tag = self._tag(obj, kind)
        else:
            target = self._target_name(obj, kind)
        # The lock is per LV uuid, stable across renames: a name must be
        # resolved to it first.
        uuid = (value if how == BY_UUID
                else self._resolve(existing_ref, (how, value)).uuid)
        # One Cinder id, one LV: the id's lock (taken first and alone, so
        # no two calls wait for each other) makes the check below and the
        # change one step for every manage call of that id.
        with self.locks.lock(self.vg_name, "%s-id:%s" % (kind, cinder_id)), \
                self.locks.lock(self.vg_name, uuid):
            # Another manage may have renamed or tagged the LV while this
            # one waited: decide on what LVM says now.
            lvs = self.lvm.report()
            lv = self._find(lvs, BY_UUID, uuid)
            if lv is None and how == BY_UUID:
                raise exception.ManageExistingInvalidReference(
                    existing_ref=existing_ref,
                    reason="no LV with uuid %s in volume group %s"
                           % (uuid, self.vg_name))
            if lv is None or (how == BY_NAME and lv.name != value):
                raise exception.ManageExistingInvalidReference(
                    existing_ref=existing_ref,
                    reason="the LV was renamed or removed meanwhile "
                           "(now %s)" % (lv.name if lv else "gone"))
            self.ensure_safe(self._record(lv, kind), existing_ref, kind,
                             obj)
            if target and lv.name == target:
                return
            self._check_id_free(lvs, lv, target, tag, existing_ref)
            if kind == "volume":
                self._check_type(obj, lv)
            else:
                self._check_origin(obj, lv, lvs, existing_ref)
            if self.manage_mode == options.MODE_TAG:
                self.lvm.add_tag(lv.name, tag, uuid=lv.uuid)
                self._check_tagged(lv, tag, existing_ref)
                LOG.info("Managed LV %(vg)s/%(lv)s as %(kind)s %(tag)s",
                         {"vg": self.vg_name, "lv": lv.name, "kind": kind,
                          "tag": tag})
            else:
                self.lvm.rename(lv.name, target)
                self._check_renamed(lv, target, existing_ref)

    def _check_tagged(self, lv: report.LogicalVolume, tag: str,
                      existing_ref: Any) -> None:
        """Read the tag back: on the verified LV, and on no other.

        :raises VolumeBackendAPIException: it is not; a tag put elsewhere
            is removed again.
        """
        lvs = self.lvm.report()
        tagged = [other for other in lvs if tag in other.tags]
        if [other.uuid for other in tagged] == [lv.uuid]:
            return
        for other in tagged:
            if other.uuid != lv.uuid:
                self.lvm.remove_tag(other.name, tag, uuid=other.uuid)
        raise exception.VolumeBackendAPIException(
            data="tag %s is not on LV %s (uuid %s) alone after lvchange "
                 "(on: %s); removed from any other LV, try again"
                 % (tag, lv.name, lv.uuid,
                    ", ".join(other.name for other in tagged) or "none"))

    def _check_renamed(self, lv: report.LogicalVolume, target: str,
                       existing_ref: Any) -> None:
        """Read the rename back: lvrename takes a name, not a uuid, so an
        admin renaming LVs meanwhile could have made it rename another
        LV; that one gets its name back.

        :raises ManageExistingInvalidReference: another LV was renamed
            (and renamed back).
        """
        lvs = self.lvm.report()
        now = self._find(lvs, BY_UUID, lv.uuid)
        if now is not None and now.name == target:
            return
        renamed = self._find(lvs, BY_NAME, target)
        undone = "nothing to undo"
        if renamed is not None and renamed.uuid != lv.uuid:
            self.lvm.rename(target, lv.name)
            undone = ("LV %s (uuid %s) was renamed back to %s"
                      % (target, renamed.uuid, lv.name))
        raise exception.ManageExistingInvalidReference(
            existing_ref=existing_ref,
            reason="LV %s changed while being managed (it is %s now); %s"
                   % (lv.uuid, now.name if now else "gone", undone))

    def _check_id_free(self, lvs: list[report.LogicalVolume],
                       lv: report.LogicalVolume, target: str, tag: str,
                       existing_ref: Any) -> None:
        """Refuse a target name or tag another LV of the VG has.

        :raises ManageExistingInvalidReference: another LV has it.
        """
        for other in lvs:
            if other.uuid == lv.uuid:
                continue
            if target and other.name == target:
                raise exception.ManageExistingInvalidReference(
                    existing_ref=existing_ref,
                    reason="another LV of volume group %s is already "
                           "named %s" % (self.vg_name, target))
            if tag and tag in other.tags:
                raise exception.ManageExistingInvalidReference(
                    existing_ref=existing_ref,
                    reason="LV %s of volume group %s already carries tag "
                           "%s: one Cinder id names one LV"
                           % (other.name, self.vg_name, tag))

    def manage_existing(self, volume: Any, existing_ref: Any) -> None:
        """Adopt the LV ``existing_ref`` names as ``volume``.

        Rename mode renames it to ``volume['name']``; tag mode adds the
        tag ``cinder-volume-id=<id>`` and keeps the name.

        :raises ManageExistingInvalidReference: bad reference, no such LV,
            or the LV is not safe to manage (the listing's reason).
        :raises ManageExistingAlreadyManaged: a tag records a Cinder id.
        :raises ManageExistingVolumeTypeMismatch: thin/thick mismatch.
        :raises VolumeBackendAPIException: LVM refused; nothing changed.
        """
        self._manage(volume, existing_ref, "volume")

    def manage_existing_snapshot(self, snapshot: Any,
                                 existing_ref: Any) -> None:
        """Adopt the snapshot LV ``existing_ref`` names as ``snapshot``.

        Rename mode renames it to the snapshot's name, escaped as Cinder's
        LVM driver does (``_snapshot-<id>``); tag mode adds
        ``cinder-snapshot-id=<id>``.

        :raises ManageExistingInvalidReference: bad reference, no such LV,
            not a snapshot (of the snapshot's volume), or not safe.
        :raises ManageExistingAlreadyManaged: a tag records a Cinder id.
        :raises VolumeBackendAPIException: LVM refused; nothing changed.
        """
        self._manage(snapshot, existing_ref, "snapshot")

    # Unmanage ------------------------------------------------------------

    def find_lv(self, obj: Any,
                kind: str = "volume") -> report.LogicalVolume | None:
        """Return the LV of a managed Cinder volume or snapshot, or None.

        Found by its tag (tag mode) or by its name (rename mode), from one
        lvs report.
        """
        lvs = self.lvm.report()
        obj_id = references.field(obj, "id")
        if obj_id is not None:
            tag = "%s%s" % (report.tag_prefix(kind), obj_id)
            for lv in lvs:
                if tag in lv.tags:
                    return lv
        name = references.field(obj, "name")
        if not name:
            return None
        return self._find(lvs, BY_NAME, report.escape_name(str(name)))

    def _unmanage(self, obj: Any, kind: str) -> None:
        if self.manage_mode != options.MODE_TAG:
            # As Cinder's LVM driver: the LV keeps its name and data.
            LOG.info("Unmanaged %(kind)s %(name)s; LV left as it is",
                     {"kind": kind, "name": references.field(obj, "name")})
            return
        tag = self._tag(obj, kind)
        lv = self.find_lv(obj, kind)
        if lv is None or tag not in lv.tags:
            LOG.warning("No LV of volume group %(vg)s carries tag %(tag)s; "
                        "nothing to unmanage", {"vg": self.vg_name,
                                                "tag": tag})
            return
        with self.locks.lock(self.vg_name, lv.uuid):
            current = self._find(self.lvm.report(), BY_UUID, lv.uuid)
            if current is not None and tag in current.tags:
                self.lvm.remove_tag(current.name, tag, uuid=current.uuid)

    def unmanage(self, volume: Any) -> None:
        """Release ``volume``; the LV and its data stay as they are.

        Tag mode removes the volume's tag; rename mode runs nothing.

        :raises VolumeBackendAPIException: LVM refused to remove the tag.
        """
        self._unmanage(volume, "volume")

    def unmanage_snapshot(self, snapshot: Any) -> None:
        """Release ``snapshot``; the LV and its data stay as they are.

        :raises VolumeBackendAPIException: LVM refused to remove the tag.
        """
        self._unmanage(snapshot, "snapshot")
