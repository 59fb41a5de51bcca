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

Two things a Cinder driver must do that the library cannot do for it:

- raise Cinder's exceptions: ours carry Cinder's names and keyword
  arguments, and :func:`to_cinder_exception` turns each into the Cinder
  exception of the same name (or its nearest base), message unchanged, so
  the REST API answers 400 for a bad sort key and Cinder's manage flow
  records our reason;
- name objects as Cinder does: ``volume_name_template`` and
  ``snapshot_name_template`` are Cinder's ``[DEFAULT]`` options, so the
  backend reads them from there (:class:`CinderConfiguration`).
"""

from __future__ import annotations

from collections.abc import Callable
from collections.abc import Iterable
import functools
from typing import Any
from typing import TypeVar
from typing import cast

from oslo_config import cfg
from oslo_log import log as logging

from manageable_driver import configuration as md_configuration
from manageable_driver import exception
from manageable_driver import listing
from manageable_driver import opts
from manageable_driver import references

try:
    from cinder import exception as cinder_exception
    from cinder.volume import driver as cinder_driver
except ImportError as exc:  # pragma: no cover - depends on the install
    raise ImportError(
        "%s is a Cinder volume driver: it runs inside cinder-volume and "
        "needs Cinder installed (%s)" % (__name__, exc)) from exc

LOG = logging.getLogger(__name__)

# Cinder's own [DEFAULT] options, which name every volume and snapshot.
CINDER_NAME_OPTIONS = ("volume_name_template", "snapshot_name_template")

_F = TypeVar("_F", bound=Callable[..., Any])


def cinder_manages(kind: str, cinder_id: str) -> bool:
    """Whether Cinder's database holds the (not deleted) volume or
    snapshot ``cinder_id``: the backend's ``cinder_manages`` answer.

    Manage gets no managed list, so like Cinder's LVM driver this asks
    the database: a name Cinder's template made for a managed object is
    refused, one ``unmanage`` left is free.

    :param kind: ``volume`` or ``snapshot``.
    :param cinder_id: the id the name was made from (a UUID).
    """
    # Imported here: cinder.objects registers every object class.
    from cinder import context as cinder_context
    from cinder import objects
    from cinder.volume import volume_utils

    if kind == "volume":
        return bool(volume_utils.check_already_managed_volume(cinder_id))
    return bool(objects.Snapshot.exists(cinder_context.get_admin_context(),
                                        cinder_id))


def to_cinder_exception(exc: exception.ManageableDriverException
                        ) -> Exception:
    """Return the Cinder exception that means what ``exc`` means.

    The first class of ``exc``'s hierarchy whose name Cinder also defines
    (``CommandFailed`` becomes ``VolumeBackendAPIException``); the message
    and keyword arguments are kept.

    :param exc: an exception of :mod:`manageable_driver.exception`.
    """
    for klass in type(exc).__mro__:
        cinder_cls = getattr(cinder_exception, klass.__name__, None)
        if (isinstance(cinder_cls, type)
                and issubclass(cinder_cls, cinder_exception.CinderException)):
            break
    else:
        cinder_cls = cinder_exception.VolumeDriverException
    kwargs = {k: v for k, v in exc.kwargs.items()
              if k not in ("message", "code")}
    return cast(Exception, cinder_cls(message=str(exc), **kwargs))


def cinder_errors(func: _F) -> _F:
    """Make ``func`` raise Cinder's exceptions instead of ours."""
    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return func(*args, **kwargs)
        except exception.ManageableDriverException as exc:
            raise to_cinder_exception(exc) from exc
    return cast(_F, wrapper)


class CinderConfiguration(md_configuration.Configuration):
    """A backend's Cinder configuration, as the backend driver reads it.

    Options come from the backend's section of cinder.conf (Cinder's
    ``Configuration``), except the name templates, which come from
    ``[DEFAULT]`` where Cinder reads them.

    :param configuration: the ``Configuration`` Cinder gave the driver.
    :param conf: the ``ConfigOpts`` holding Cinder's ``[DEFAULT]``.
    """

    def __init__(self, configuration: Any,
                 conf: cfg.ConfigOpts | None = None) -> None:
        super().__init__(conf if conf is not None else cfg.CONF)
        self._configuration = configuration

    def append_config_values(self, volume_opts: Iterable[cfg.Opt]) -> None:
        """Register ``volume_opts`` in the backend's section."""
        self._configuration.append_config_values(list(volume_opts))

    def __getattr__(self, name: str) -> Any:
        if name.startswith("_"):
            raise AttributeError(name)
        if name in CINDER_NAME_OPTIONS:
            return getattr(self._conf, name)
        return getattr(self._configuration, name)


class ManageableVolumeDriver(cinder_driver.VolumeDriver):  # type: ignore[misc]
    """Cinder driver whose manage calls go to a library backend driver.

    Subclasses set :attr:`backend_class` (a class of
    :mod:`manageable_driver.drivers`) and :attr:`storage_protocol`, and may
    report capacity with :meth:`capacity_gb`.
    """

    VERSION = "1.0.0"
    backend_class: type[Any]
    storage_protocol = "unknown"
    #: The backend's storage can be shared by several hosts (an export),
    #: so the driver may serve a Cinder cluster (``cluster =``,
    #: active-active) when ``coordination_backend_url`` makes its locks
    #: cluster-wide.
    shared_storage = False

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # Built in do_setup: a bad option then leaves the driver
        # uninitialized and reported so, instead of stopping the service.
        self.backend: Any = None
        # Cinder reads this right after building the driver, before
        # do_setup: a cluster is refused unless every host of it locks
        # through the coordination backend.
        if self.configuration is not None:
            self.configuration.append_config_values(opts.common_opts)
        self.SUPPORTS_ACTIVE_ACTIVE = bool(
            self.shared_storage and self.configuration is not None
            and self.configuration.safe_get("coordination_backend_url"))

    # Cinder's driver lifecycle -------------------------------------------

    @cinder_errors
    def do_setup(self, context: Any) -> None:
        """Build the backend driver from this backend's configuration."""
        self.backend = self.backend_class(
            configuration=CinderConfiguration(self.configuration))
        self.backend.cinder_manages_lookup = cinder_manages
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

    # Cinder's manage interfaces, handed to the backend -------------------

    @cinder_errors
    def manage_existing(self, volume: Any, existing_ref: Any) -> Any:
        """See :meth:`VolumeManagementDriver.manage_existing`."""
        return self.backend.manage_existing(volume, existing_ref)

    @cinder_errors
    def manage_existing_get_size(self, volume: Any, existing_ref: Any) -> int:
        """See :meth:`VolumeManagementDriver.manage_existing_get_size`."""
        return int(self.backend.manage_existing_get_size(volume,
                                                         existing_ref))

    @cinder_errors
    def unmanage(self, volume: Any) -> None:
        """See :meth:`VolumeManagementDriver.unmanage`."""
        self.backend.unmanage(volume)

    @cinder_errors
    def get_manageable_volumes(self, cinder_volumes: Any, marker: Any,
                               limit: Any, offset: Any, sort_keys: Any,
                               sort_dirs: Any) -> list[dict[str, Any]]:
        """See :meth:`VolumeListManageableDriver.get_manageable_volumes`."""
        return cast(list[dict[str, Any]], self.backend.get_manageable_volumes(
            cinder_volumes, marker, limit, offset, sort_keys, sort_dirs))

    @cinder_errors
    def get_manageable_snapshots(self, cinder_snapshots: Any, marker: Any,
                                 limit: Any, offset: Any, sort_keys: Any,
                                 sort_dirs: Any) -> list[dict[str, Any]]:
        """See :meth:`VolumeListManageableDriver.get_manageable_snapshots`."""
        return cast(list[dict[str, Any]],
                    self.backend.get_manageable_snapshots(
                        cinder_snapshots, marker, limit, offset, sort_keys,
                        sort_dirs))

    @cinder_errors
    def manage_existing_snapshot(self, snapshot: Any,
                                 existing_ref: Any) -> Any:
        """See :meth:`VolumeSnapshotManagementDriver.manage_existing_snapshot`.
        """
        return self.backend.manage_existing_snapshot(snapshot, existing_ref)

    @cinder_errors
    def manage_existing_snapshot_get_size(self, snapshot: Any,
                                          existing_ref: Any) -> int:
        """The size in GiB of the snapshot to adopt; see the interface."""
        return int(self.backend.manage_existing_snapshot_get_size(
            snapshot, existing_ref))

    @cinder_errors
    def unmanage_snapshot(self, snapshot: Any) -> None:
        """See :meth:`VolumeSnapshotManagementDriver.unmanage_snapshot`."""
        self.backend.unmanage_snapshot(snapshot)
