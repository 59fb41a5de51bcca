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

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # Built in do_setup: a bad option then leaves the driver
        # uninitialized and reported so, instead of stopping the service.
        self.backend: Any = None

    # Cinder's driver lifecycle -------------------------------------------

    @cinder_errors
    def do_setup(self, context: Any) -> None:
        """Build the backend driver from this backend's configuration."""
        self.backend = self.backend_class(
            configuration=CinderConfiguration(self.configuration))
        self.backend.cinder_manages_lookup = cinder_manages

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
        """Not offered: this driver only adopts existing storage."""
        raise NotImplementedError(
            "%s only manages existing storage" % type(self).__name__)

    def delete_volume(self, volume: Any) -> None:
        """Not offered: this driver never deletes data; unmanage instead."""
        raise NotImplementedError(
            "%s never deletes data: unmanage the volume instead"
            % type(self).__name__)

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
