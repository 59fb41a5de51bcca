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

"""A Cinder volume driver that manages through a backend of this library.

:class:`ManageableVolumeDriver` is a Cinder ``VolumeDriver`` holding one
backend driver of :mod:`manageable_driver.drivers` (``self.backend``) and
handing it, unchanged, every call of Cinder's three manage interfaces.
Around that it does the minimum Cinder's volume manager and scheduler need
of a driver: setup, the setup check, capability stats, and export calls
(there is nothing to export: these drivers adopt, list and release storage;
a production driver adds its data path, as Cinder's LVM driver has one).

These backends are manage-only:

- keep Cinder's scheduler from placing new volumes on them with
  ``backend_availability_zone`` set to a zone of their own in the backend
  section: an untyped create asks for the default zone, so Cinder's
  AvailabilityZoneFilter refuses the backend, while a manage request takes
  the zone of the service it names and a snapshot manage names none.
  Zero capacity would not do: Cinder's CapacityFilter lets a volume manage
  through (size 0) but refuses a snapshot manage (the volume's size) as it
  refuses a create. The stats say ``manage_only``, and
  :meth:`ManageableVolumeDriver.do_setup` warns when the backend shares
  the default zone;
- ``create_volume`` and ``create_snapshot`` are refused at once, with the
  reason: a create placed here anyway is rescheduled by Cinder to another
  backend (its RetryFilter skips this one);
- ``delete_volume`` / ``delete_snapshot`` succeed for an object that is not
  on the backend (a manage that failed leaves the Cinder record only:
  missing means already deleted, as for Cinder's LVM driver), and refuse,
  deleting nothing, when the backend holds an object of that volume.

The manage family itself (Cinder's exceptions, Cinder's name templates,
the backend built from the driver's configuration) is
:class:`~manageable_driver.cinder.mixin.ManageableVolumesMixin`, first in
the bases, as in the drop-in drivers that keep Cinder's whole lifecycle
(:mod:`manageable_driver.cinder.lvm`, :mod:`.nfs`, :mod:`.rbd`).
"""

from __future__ import annotations

from typing import Any

from oslo_config import cfg
from oslo_log import log as logging

from manageable_driver import listing
from manageable_driver import opts
from manageable_driver import references
from manageable_driver.cinder import mixin

try:
    from cinder import exception as cinder_exception
    from cinder.volume import driver as cinder_driver
except ImportError as exc:  # pragma: no cover - depends on the install
    raise ImportError(
        "%s is a Cinder volume driver: it runs inside cinder-volume and "
        "needs Cinder installed (%s)" % (__name__, exc)) from exc

LOG = logging.getLogger(__name__)

# Kept importable from here, where they were first defined.
cinder_manages = mixin.cinder_manages
cinder_errors = mixin.cinder_errors
to_cinder_exception = mixin.to_cinder_exception
CinderConfiguration = mixin.CinderConfiguration


class ManageableVolumeDriver(mixin.ManageableVolumesMixin,
                             cinder_driver.VolumeDriver):  # type: ignore[misc]
    """Cinder driver whose manage calls go to a library backend driver.

    Subclasses set :attr:`manageable_backend_class` (a class of
    :mod:`manageable_driver.drivers`) and :attr:`storage_protocol`, and may
    report capacity with :meth:`capacity_gb`.
    """

    VERSION = "1.0.0"
    storage_protocol = "unknown"
    #: The backend's storage can be shared by several hosts (an export),
    #: so the driver may serve a Cinder cluster (``cluster =``,
    #: active-active) when ``coordination_backend_url`` makes its locks
    #: cluster-wide.
    shared_storage = False

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # Cinder reads this right after building the driver, before
        # do_setup: a cluster is refused unless every host of it locks
        # through the coordination backend.
        if self.configuration is not None:
            self.configuration.append_config_values(opts.common_opts)
        self.SUPPORTS_ACTIVE_ACTIVE = bool(
            self.shared_storage and self.configuration is not None
            and self.configuration.safe_get("coordination_backend_url"))

    # Cinder's driver lifecycle -------------------------------------------

    @property
    def backend(self) -> Any:
        """The library backend (the mixin's ``manageable_backend``)."""
        return self.manageable_backend

    @cinder_errors
    def do_setup(self, context: Any) -> None:
        """Build the backend driver from this backend's configuration.

        Here, not at the first manage call: a bad option then leaves the
        driver uninitialized and reported so.
        """
        self.manageable_backend  # noqa: B018 - builds it
        zone = self.configuration.safe_get("backend_availability_zone")
        if not zone or zone == getattr(cfg.CONF, "storage_availability_zone",
                                       "nova"):
            LOG.warning(
                "%(backend)s is manage-only but in the default availability "
                "zone: the scheduler may place new volumes on it, which "
                "this driver refuses (Cinder then reschedules them). Set "
                "backend_availability_zone to a zone of its own.",
                {"backend": self._backend_name()})

    @cinder_errors
    def check_for_setup_error(self) -> None:
        """List the backend once: proves its tools and storage answer.

        :raises VolumeBackendAPIException: the listing failed.
        """
        records = list(self.backend.list_volume_records())
        LOG.info("%(driver)s ready: %(count)d objects on the backend",
                 {"driver": type(self).__name__, "count": len(records)})

    def capacity_gb(self) -> tuple[Any, Any]:
        """Total and free capacity in GiB, or ``'unknown'`` for either.

        The scheduler's capacity filter lets ``'unknown'`` pass.
        """
        return "unknown", "unknown"

    def _update_volume_stats(self) -> None:
        total, free = self.capacity_gb()
        self._stats = {
            "volume_backend_name": (
                self.configuration.safe_get("volume_backend_name")
                or type(self).__name__),
            "vendor_name": "Open Source",
            "driver_version": self.VERSION,
            "storage_protocol": self.storage_protocol,
            "total_capacity_gb": total,
            "free_capacity_gb": free,
            "manage_only": True,
            "reserved_percentage": (
                self.configuration.safe_get("reserved_percentage") or 0),
            "QoS_support": False,
            "multiattach": False,
            "thin_provisioning_support": False,
            "thick_provisioning_support": True,
        }

    # Exports: nothing is exported, so there is nothing to set up or
    # remove. remove_export must succeed: Cinder calls it before unmanage.

    def create_export(self, context: Any, volume: Any,
                      connector: Any) -> None:
        """Nothing to export."""

    def ensure_export(self, context: Any, volume: Any) -> None:
        """Nothing to export."""

    def remove_export(self, context: Any, volume: Any) -> None:
        """Nothing to remove; runs before every unmanage."""

    def create_volume(self, volume: Any) -> None:
        """Refused: this driver only adopts existing storage.

        :raises VolumeDriverException: always, naming the backend.
        """
        raise cinder_exception.VolumeDriverException(
            message="%s (backend %s) only manages existing storage: it "
                    "cannot create volume %s; use a volume type of "
                    "another backend, or cinder manage"
                    % (type(self).__name__, self._backend_name(),
                       getattr(volume, "id", None)))

    def create_snapshot(self, snapshot: Any) -> None:
        """Refused: this driver only adopts existing snapshots.

        :raises VolumeDriverException: always, naming the backend.
        """
        raise cinder_exception.VolumeDriverException(
            message="%s (backend %s) only manages existing storage: it "
                    "cannot create snapshot %s; use cinder snapshot-manage"
                    % (type(self).__name__, self._backend_name(),
                       getattr(snapshot, "id", None)))

    @cinder_errors
    def delete_volume(self, volume: Any) -> None:
        """Forget a volume the backend holds nothing of; never delete data.

        A volume whose manage failed has a Cinder record and no backend
        object of its own: as for Cinder's LVM driver, a missing object
        counts as deleted, and the record goes.

        :raises VolumeDriverException: the backend holds an object of
            this volume (by its name, or recorded with its id): nothing is
            deleted; unmanage it instead.
        :raises VolumeBackendAPIException: the backend could not be listed,
            so whether it holds one is unknown.
        """
        self._refuse_if_held(volume, "volume")

    @cinder_errors
    def delete_snapshot(self, snapshot: Any) -> None:
        """Forget a snapshot the backend holds nothing of; never delete
        data. See :meth:`delete_volume`.

        :raises VolumeDriverException: the backend holds an object of
            this snapshot; nothing is deleted.
        :raises VolumeBackendAPIException: the backend could not be listed.
        """
        self._refuse_if_held(snapshot, "snapshot")

    def _backend_name(self) -> str:
        return str(self.configuration.safe_get("volume_backend_name")
                   or type(self).__name__)

    def _refuse_if_held(self, obj: Any, kind: str) -> None:
        template = str(getattr(self.backend.configuration,
                               "%s_name_template" % kind))
        names = listing.managed_names([obj], template)
        obj_id = str(references.field(obj, "id"))
        # Volumes and snapshots both: an object bearing this name in
        # either role is data this driver must not throw away.
        held = [rec for records in (self.backend.list_volume_records(),
                                    self.backend.list_snapshot_records())
                for rec in records
                if rec.name in names or rec.cinder_id == obj_id]
        if held:
            raise cinder_exception.VolumeDriverException(
                message="%s never deletes data: the backend holds %s of "
                        "%s %s; unmanage it instead"
                        % (type(self).__name__,
                           ", ".join(sorted({str(rec.reference)
                                             for rec in held})),
                           kind, obj_id))
        LOG.info("%(kind)s %(id)s has no object on the backend (a manage "
                 "that failed leaves none): deleted, nothing to remove",
                 {"kind": kind.capitalize(), "id": obj_id})
