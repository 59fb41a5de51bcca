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

"""Backends of the ``manageable-driver`` command, as plugins.

The command knows no backend by name. It loads every entry point of the
group ``manageable_driver.backends``; each names a :class:`Backend`
subclass (an *adapter*), which says:

* ``name``: the value of ``--driver`` (the entry point's name);
* ``driver``: the driver class, as ``"package.module:Class"``, built as
  ``Class(configuration=conf)`` like a Cinder driver, and imported only
  when that backend is chosen;
* ``options``: the driver's oslo.config options, as
  ``"package.module:ATTRIBUTE"``, registered before the command line
  overrides them (the driver registers them again: same options);
* ``volume_drivers``: the ``volume_driver`` values of cinder.conf that
  mean this backend, matched exactly;
* ``arguments``: its command-line flags, each bound to one option;
  naming a ``selects=True`` flag chooses the backend.

A vendor package adds its backend to the command with one entry point and
one adapter class, and no change here::

    [entry_points]
    manageable_driver.backends =
        inventory = vendor_pkg.cli:InventoryBackend
"""

from __future__ import annotations

import argparse
from collections.abc import Callable
import dataclasses
import importlib
from importlib import metadata
from typing import Any

from oslo_config import cfg
from oslo_log import log as logging

from manageable_driver import exception

LOG = logging.getLogger(__name__)

ENTRY_POINT_GROUP = "manageable_driver.backends"


class UsageError(Exception):
    """Bad command-line input or configuration; one line, exit 2."""


@dataclasses.dataclass(frozen=True)
class Argument:
    """A command-line flag that sets one option of the backend.

    :ivar flag: the flag, ``--volume-group``.
    :ivar option: the oslo.config option it sets, ``volume_group``.
    :ivar help: its help text.
    :ivar metavar: what the help shows as its value.
    :ivar repeat: may be given several times (a ``ListOpt``).
    :ivar selects: giving it chooses this backend.
    """

    flag: str
    option: str
    help: str
    metavar: str | None = None
    repeat: bool = False
    selects: bool = False


def _load(path: str) -> Any:
    module, _sep, attribute = path.partition(":")
    return getattr(importlib.import_module(module), attribute)


class Backend:
    """A backend of the command: what to ask for and how to build it.

    Subclasses set the class attributes described in the module docstring;
    the methods below have defaults that fit a driver constructed like a
    Cinder driver.
    """

    name = ""
    description = ""
    driver = ""
    options = ""
    volume_drivers: tuple[str, ...] = ()
    arguments: tuple[Argument, ...] = ()

    def driver_options(self) -> list[cfg.Opt]:
        """The options the driver reads, to register and override."""
        return list(_load(self.options)) if self.options else []

    def create_driver(self, configuration: Any) -> Any:
        """Build the driver on ``configuration`` (a backend group).

        :param configuration: a
            :class:`manageable_driver.configuration.Configuration`.
        """
        return _load(self.driver)(configuration=configuration)

    def check(self, driver: Any) -> None:
        """Refuse a configuration the driver would only fail on later.

        :param driver: the driver :meth:`create_driver` returned.
        :raises UsageError: the configuration cannot work.
        """

    def same_object(self, entry: dict[str, Any],
                    given: dict[str, Any]) -> bool:
        """Whether the reference ``given`` names the listed ``entry``.

        Lets ``--marker`` take every form of reference manage takes: the
        listed reference itself, or a ``source-name`` that is the listed
        name, its last path components, or a path ending in it.

        :param entry: a listed entry (its ``reference`` and
            ``extra_info``).
        :param given: the reference the user gave.
        """
        listed = entry["reference"]
        if listed == given:
            return True
        mine, theirs = listed.get("source-name"), given.get("source-name")
        if set(given) != {"source-name"} or not isinstance(mine, str) or (
                not isinstance(theirs, str)) or not theirs:
            return False
        return (mine == theirs or mine.endswith("/" + theirs.lstrip("/"))
                or theirs.endswith("/" + mine))

    # -- used by the command ------------------------------------------------

    def dest(self, argument: Argument) -> str:
        """The attribute of the parsed arguments that holds ``argument``."""
        return "backend_%s_%s" % (self.name.replace("-", "_"),
                                  argument.option)

    def add_arguments(self, parser: argparse.ArgumentParser) -> None:
        """Add this backend's flags, in a group of their own."""
        group = parser.add_argument_group(
            "%s backend" % self.name, self.description or None)
        for argument in self.arguments:
            group.add_argument(
                argument.flag, dest=self.dest(argument),
                metavar=argument.metavar,
                action="append" if argument.repeat else "store",
                help="%s (option %s%s)" % (
                    argument.help, argument.option,
                    "; repeatable" if argument.repeat else ""))

    def given(self, args: argparse.Namespace,
              selecting: bool = False) -> list[Argument]:
        """The flags of this backend on the command line."""
        return [a for a in self.arguments
                if getattr(args, self.dest(a), None) is not None
                and (a.selects or not selecting)]

    def overrides(self, args: argparse.Namespace) -> dict[str, Any]:
        """The options the command line sets, by option name."""
        return {a.option: getattr(args, self.dest(a))
                for a in self.given(args)}


class LVMBackend(Backend):
    """An LVM volume group."""

    name = "lvm"
    description = "an LVM volume group (manageable_driver.drivers.lvm)"
    driver = "manageable_driver.drivers.lvm:LVMDriver"
    options = "manageable_driver.drivers.lvm:OPTIONS"
    volume_drivers = (
        "cinder.volume.drivers.lvm.LVMVolumeDriver",
        "manageable_driver.cinder.lvm.LVMManageableDriver",
        "manageable_driver.cinder.lvm.LVMVolumeDriver",
    )
    arguments = (
        Argument("--volume-group", "volume_group", "the volume group",
                 metavar="VG", selects=True),
        Argument("--lvm-conf", "lvm_conf_file",
                 "the lvm.conf LVM runs with", metavar="FILE"),
    )

    def same_object(self, entry: dict[str, Any],
                    given: dict[str, Any]) -> bool:
        """Also ``{"source-id": LV UUID}``, as manage takes it."""
        if set(given) == {"source-id"}:
            return bool(given["source-id"]) and given["source-id"] == (
                entry.get("extra_info") or {}).get("lv_uuid")
        return super().same_object(entry, given)


class FileBackend(Backend):
    """Directories of image files (an NFS export's mount point, say)."""

    name = "file"
    description = ("directories of image files, e.g. an NFS export's "
                   "mount point (manageable_driver.drivers.file)")
    driver = "manageable_driver.drivers.file:FileDriver"
    options = "manageable_driver.drivers.file:OPTIONS"
    volume_drivers = (
        "cinder.volume.drivers.nfs.NfsDriver",
        "manageable_driver.cinder.file.FileManageableDriver",
        "manageable_driver.cinder.nfs.NfsDriver",
    )
    arguments = (
        Argument("--dir", "file_volume_dirs", "an image directory",
                 metavar="DIR", repeat=True, selects=True),
    )

    def check(self, driver: Any) -> None:
        """Refuse no directory, or overlapping ones, as bad usage.

        :raises UsageError: what the driver would refuse on first use.
        """
        try:
            _dirs = driver.directories  # the property checks them
        except exception.VolumeBackendAPIException as exc:
            raise UsageError("%s (--dir or file_volume_dirs)"
                             % exc.kwargs.get("data", exc))


class RBDBackend(Backend):
    """A Ceph RBD pool, through librados/librbd (python3-rados, python3-rbd:
    run the command on the interpreter they are built for)."""

    name = "rbd"
    description = "a Ceph RBD pool (manageable_driver.drivers.rbd)"
    driver = "manageable_driver.drivers.rbd:RBDDriver"
    options = "manageable_driver.drivers.rbd:OPTIONS"
    volume_drivers = (
        "cinder.volume.drivers.rbd.RBDDriver",
        "manageable_driver.cinder.rbd.RBDManageableDriver",
        "manageable_driver.cinder.rbd.RBDDriver",
    )
    arguments = (
        Argument("--rbd-pool", "rbd_pool", "the pool", metavar="POOL",
                 selects=True),
        Argument("--rbd-ceph-conf", "rbd_ceph_conf",
                 "the ceph.conf to read", metavar="FILE"),
        Argument("--rbd-user", "rbd_user",
                 "the Ceph user, without 'client.'", metavar="NAME"),
        Argument("--rbd-keyring-conf", "rbd_keyring_conf",
                 "the user's keyring file", metavar="FILE"),
        Argument("--rados-connect-timeout", "rados_connect_timeout",
                 "seconds to wait for the cluster (-1: librados' default)",
                 metavar="SECONDS"),
    )


def load() -> dict[str, Backend]:
    """Every backend of the entry-point group, by name.

    A plugin that cannot be imported is left out with a warning, so one
    broken vendor package does not take the others' backends away.
    """
    found: dict[str, Backend] = {}
    for entry in metadata.entry_points(group=ENTRY_POINT_GROUP):
        if entry.name in found:
            continue
        try:
            factory: Callable[[], Backend] = entry.load()
        except (ImportError, AttributeError) as exc:
            LOG.warning("Backend plugin %(name)s (%(value)s) not loaded: "
                        "%(exc)s", {"name": entry.name,
                                    "value": entry.value, "exc": exc})
            continue
        backend = factory()
        backend.name = entry.name
        found[entry.name] = backend
    return found


def by_volume_driver(backends: dict[str, Backend],
                     volume_driver: str) -> Backend | None:
    """The backend whose ``volume_drivers`` lists ``volume_driver``."""
    for backend in backends.values():
        if volume_driver in backend.volume_drivers:
            return backend
    return None
