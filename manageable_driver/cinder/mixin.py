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

"""The manage family of any Cinder volume driver, from a library backend.

:class:`ManageableVolumesMixin` goes first in the bases of a Cinder
driver::

    class MyDriver(ManageableVolumesMixin, SomeCinderDriver):
        manageable_backend_class = lvm.LVMDriver

and supplies Cinder's whole manage family: ``get_manageable_volumes``,
``get_manageable_snapshots``, ``manage_existing``,
``manage_existing_get_size``, ``manage_existing_snapshot``,
``manage_existing_snapshot_get_size``, ``unmanage`` and
``unmanage_snapshot``. Everything else (create, delete, extend, export,
stats, options) stays the Cinder driver's.

What a Cinder driver must do that the backend alone cannot, the mixin
does:

- raise Cinder's exceptions: ours carry Cinder's names and keyword
  arguments, and :func:`to_cinder_exception` turns each into the Cinder
  exception of the same name (or its nearest base), message unchanged, so
  the REST API answers 400 for a bad sort key and Cinder's manage flow
  records our reason;
- name objects as Cinder does: ``volume_name_template`` and
  ``snapshot_name_template`` are Cinder's ``[DEFAULT]`` options, so the
  backend reads them from there (:class:`CinderConfiguration`), never from
  the backend section;
- build the backend from what the Cinder driver was given: its
  configuration object (the backend section), its ``execute`` (when the
  backend class takes one), and
  Cinder's root helper (``sudo cinder-rootwrap <rootwrap_config>``) when
  the backend's own root-helper option is unset;
- ask Cinder's database whether it still manages a name Cinder made
  (:func:`cinder_manages`).
"""

from __future__ import annotations

from collections.abc import Callable
from collections.abc import Iterable
from collections.abc import Mapping
import functools
import inspect
import os
import threading
from typing import Any
from typing import TypeVar
from typing import cast

from oslo_config import cfg

from manageable_driver import configuration as md_configuration
from manageable_driver import exception
from manageable_driver import runner

try:
    from cinder import exception as cinder_exception
    from cinder import utils as cinder_utils
except ImportError as exc:  # pragma: no cover - depends on the install
    raise ImportError(
        "%s is a Cinder volume driver mixin: it runs inside cinder-volume "
        "and needs Cinder installed (%s)" % (__name__, exc)) from exc

# Cinder's own [DEFAULT] options, which name every volume and snapshot.
CINDER_NAME_OPTIONS = ("volume_name_template", "snapshot_name_template")

# The backends' root-helper options: unset, the Cinder driver's root
# helper applies.
ROOT_HELPER_OPTIONS = ("lvm_root_helper", "file_root_helper")

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
    :param overrides: option name to a value, or to a callable giving it
        at each read, that the Cinder driver decides (the NFS driver's
        mounted shares stand for ``file_volume_dirs``).
    :param fallbacks: option name to a callable giving the value used
        when the option is unset (None or empty).
    """

    def __init__(self, configuration: Any,
                 conf: cfg.ConfigOpts | None = None,
                 overrides: Mapping[str, Any] | None = None,
                 fallbacks: Mapping[str, Callable[[], Any]] | None = None
                 ) -> None:
        super().__init__(conf if conf is not None else cfg.CONF)
        self._configuration = configuration
        self._overrides = dict(overrides or {})
        self._fallbacks = dict(fallbacks or {})

    def append_config_values(self, volume_opts: Iterable[cfg.Opt]) -> None:
        """Register ``volume_opts`` in the backend's section."""
        self._configuration.append_config_values(list(volume_opts))

    def __getattr__(self, name: str) -> Any:
        if name.startswith("_"):
            raise AttributeError(name)
        if name in self._overrides:
            value = self._overrides[name]
            return value() if callable(value) else value
        if name in CINDER_NAME_OPTIONS:
            return getattr(self._conf, name)
        value = getattr(self._configuration, name)
        if value in (None, "") and name in self._fallbacks:
            return self._fallbacks[name]()
        return value


def cinder_root_helper() -> str | None:
    """Cinder's root helper, or None when this process is root.

    As ``processutils.execute`` does for Cinder's own commands: a process
    running as root runs them directly.
    """
    if os.geteuid() == 0:
        return None
    return str(cinder_utils.get_root_helper())


def _takes(cls: type[Any], name: str) -> bool:
    """Whether ``cls`` is built with keyword ``name`` (a backend that runs
    no command, such as an API client, takes no ``execute``)."""
    params = inspect.signature(cls).parameters.values()
    return any(p.name == name or p.kind is p.VAR_KEYWORD for p in params)


class ManageableVolumesMixin:
    """Cinder's manage family, handed to a backend of this library.

    Put it first in the bases of a Cinder volume driver and set
    :attr:`manageable_backend_class`. The backend is built on the first
    manage call, from the driver's configuration and ``execute``, after
    ``do_setup`` made the driver ready (the NFS driver mounts its shares
    there).
    """

    #: A backend class of :mod:`manageable_driver.drivers`; set by the
    #: driver.
    manageable_backend_class: type[Any]

    # What the Cinder driver provides.
    configuration: Any
    _execute: Any

    _manageable_build_lock = threading.Lock()

    @property
    def manageable_backend(self) -> Any:
        """The library backend the manage calls go to, built once."""
        backend = self.__dict__.get("_manageable_backend")
        if backend is None:
            with self._manageable_build_lock:
                backend = self.__dict__.get("_manageable_backend")
                if backend is None:
                    backend = self._manageable_build()
                    self.__dict__["_manageable_backend"] = backend
        return backend

    def _manageable_build(self) -> Any:
        conf = CinderConfiguration(
            self.configuration,
            overrides=self._manageable_overrides(),
            fallbacks={name: self._manageable_root_helper
                       for name in ROOT_HELPER_OPTIONS})
        kwargs: dict[str, Any] = {}
        execute = getattr(self, "_execute", None)
        if execute is not None and _takes(self.manageable_backend_class,
                                          "execute"):
            # The driver's execute, killing what outlives its timeout as
            # the library's own does (Cinder's is processutils').
            kwargs["execute"] = runner.kill_on_timeout(execute)
        backend = self.manageable_backend_class(configuration=conf,
                                                **kwargs)
        backend.cinder_manages_lookup = cinder_manages
        return backend

    def _manageable_overrides(self) -> dict[str, Any]:
        """Backend options the Cinder driver decides (none here)."""
        return {}

    def _manageable_root_helper(self) -> str | None:
        """The root helper of a backend whose own option is unset."""
        return cinder_root_helper()

    # Cinder's manage interfaces, handed to the backend -------------------

    @cinder_errors
    def manage_existing(self, volume: Any, existing_ref: Any) -> Any:
        """See :meth:`VolumeManagementDriver.manage_existing`."""
        return self.manageable_backend.manage_existing(volume, existing_ref)

    @cinder_errors
    def manage_existing_get_size(self, volume: Any, existing_ref: Any) -> int:
        """See :meth:`VolumeManagementDriver.manage_existing_get_size`."""
        return int(self.manageable_backend.manage_existing_get_size(
            volume, existing_ref))

    @cinder_errors
    def unmanage(self, volume: Any) -> None:
        """See :meth:`VolumeManagementDriver.unmanage`."""
        self.manageable_backend.unmanage(volume)

    @cinder_errors
    def get_manageable_volumes(self, cinder_volumes: Any, marker: Any,
                               limit: Any, offset: Any, sort_keys: Any,
                               sort_dirs: Any) -> list[dict[str, Any]]:
        """See :meth:`VolumeListManageableDriver.get_manageable_volumes`."""
        return cast(list[dict[str, Any]],
                    self.manageable_backend.get_manageable_volumes(
                        cinder_volumes, marker, limit, offset, sort_keys,
                        sort_dirs))

    @cinder_errors
    def get_manageable_snapshots(self, cinder_snapshots: Any, marker: Any,
                                 limit: Any, offset: Any, sort_keys: Any,
                                 sort_dirs: Any) -> list[dict[str, Any]]:
        """See :meth:`VolumeListManageableDriver.get_manageable_snapshots`."""
        return cast(list[dict[str, Any]],
                    self.manageable_backend.get_manageable_snapshots(
                        cinder_snapshots, marker, limit, offset, sort_keys,
                        sort_dirs))

    @cinder_errors
    def manage_existing_snapshot(self, snapshot: Any,
                                 existing_ref: Any) -> Any:
        """See :meth:`VolumeSnapshotManagementDriver.manage_existing_snapshot`.
        """
        return self.manageable_backend.manage_existing_snapshot(
            snapshot, existing_ref)

    @cinder_errors
    def manage_existing_snapshot_get_size(self, snapshot: Any,
                                          existing_ref: Any) -> int:
        """The size in GiB of the snapshot to adopt; see the interface."""
        return int(self.manageable_backend.manage_existing_snapshot_get_size(
            snapshot, existing_ref))

    @cinder_errors
    def unmanage_snapshot(self, snapshot: Any) -> None:
        """See :meth:`VolumeSnapshotManagementDriver.unmanage_snapshot`."""
        self.manageable_backend.unmanage_snapshot(snapshot)
