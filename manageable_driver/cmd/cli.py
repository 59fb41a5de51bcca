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

"""``manageable-driver``: see what a backend holds that Cinder could adopt,
then adopt it, on the storage host itself.

Exit codes: 0 success, 1 backend failure or a declined confirmation, 2 bad
usage, a bad reference, or an object that is not safe to manage.
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence
import importlib
import json
import logging as std_logging
import os
import sys
from typing import Any

from oslo_config import cfg
from oslo_log import log as logging

from manageable_driver import configuration
from manageable_driver import exception
from manageable_driver import opts
from manageable_driver.cmd import output

LOG = logging.getLogger(__name__)

# name: (package, driver class); each package also exports OPTIONS.
DRIVERS = {
    "lvm": ("manageable_driver.drivers.lvm", "LVMDriver"),
    "file": ("manageable_driver.drivers.file", "FileDriver"),
}
CLI_GROUP = "manageable-driver"
EXIT_BACKEND = 1
EXIT_USAGE = 2


class UsageError(Exception):
    """Bad command-line input; printed as one line, exit 2."""


def parse_sort(text: str | None) -> tuple[list[str], list[str]]:
    """Split ``key[:dir][,key[:dir]]`` as Cinder's API splits ``--sort``.

    As in Cinder's ``get_sort_params``, a key without a direction is
    sorted ``desc``, and no ``--sort`` at all means ``reference:desc``,
    so the CLI lists in the order ``cinder manageable-list`` does.

    :raises UsageError: an empty key.
    """
    if not text:
        return ["reference"], ["desc"]
    keys, dirs = [], []
    for item in text.split(","):
        key, _sep, direction = item.partition(":")
        if not key.strip():
            raise UsageError("--sort: empty sort key in %r" % text)
        keys.append(key.strip())
        dirs.append(direction.strip() or "desc")
    return keys, dirs


def parse_reference(text: str) -> dict[str, Any]:
    """A reference given as JSON (``{"source-id": ...}``) or a plain name."""
    if text.lstrip().startswith("{"):
        try:
            ref = json.loads(text)
        except ValueError as exc:
            raise UsageError("reference is not valid JSON: %s" % exc)
        if not isinstance(ref, dict):
            raise UsageError("reference JSON must be an object")
        return ref
    return {"source-name": text}


def _managed(args: argparse.Namespace) -> list[dict[str, str]]:
    ids = list(args.managed or [])
    if args.managed_file:
        try:
            with open(args.managed_file, encoding="utf-8") as f:
                ids += [line.strip() for line in f
                        if line.strip() and not line.startswith("#")]
        except (OSError, UnicodeDecodeError) as exc:
            raise UsageError("--managed-file: %s" % exc)
    return [{"id": i} for i in ids]


def _backend_parser() -> argparse.ArgumentParser:
    backend = argparse.ArgumentParser(add_help=False)
    group = backend.add_argument_group("backend")
    group.add_argument("--driver", choices=sorted(DRIVERS),
                       help="backend kind (default: file, or lvm with "
                            "--volume-group, or read from --config-file)")
    group.add_argument("--volume-group", metavar="VG",
                       help="LVM volume group (lvm driver)")
    group.add_argument("--lvm-conf", metavar="FILE",
                       help="lvm.conf to run LVM with (lvm_conf_file)")
    group.add_argument("--dir", action="append", metavar="DIR",
                       help="image directory (file driver; repeatable; "
                            "default: the current directory)")
    group.add_argument("--config-file", metavar="FILE",
                       help="read the backend's options from this "
                            "cinder.conf, as Cinder would")
    group.add_argument("--backend", metavar="NAME",
                       help="backend section of --config-file")
    group.add_argument("--lock-path", metavar="DIR",
                       help="directory of the per-object manage locks "
                            "(manageable_lock_path)")
    group.add_argument("--debug", action="store_true",
                       help="log debug messages to stderr")
    return backend


def build_parser() -> argparse.ArgumentParser:
    """Return the argument parser of ``manageable-driver``."""
    backend = _backend_parser()
    parser = argparse.ArgumentParser(
        prog="manageable-driver",
        description="List, size, manage and unmanage existing backend "
                    "storage for Cinder, on the storage host.")
    commands = parser.add_subparsers(dest="command", required=True)
    for command, helptext in (
            ("list", "list what could be managed"),
            ("size", "size in GiB a managed object would get"),
            ("manage", "adopt an object for a Cinder id"),
            ("unmanage", "release a Cinder object, keeping its data")):
        sub = commands.add_parser(command, help=helptext)
        kinds = sub.add_subparsers(dest="kind", required=True)
        for kind in ("volumes", "snapshots") if command == "list" else (
                "volume", "snapshot"):
            leaf = kinds.add_parser(kind, parents=[backend])
            _add_command_arguments(command, leaf)
    return parser


def _add_command_arguments(command: str,
                           leaf: argparse.ArgumentParser) -> None:
    if command == "list":
        leaf.add_argument("--marker", help="reference (name or JSON) of "
                                           "the last entry already seen")
        leaf.add_argument("--limit", type=int)
        leaf.add_argument("--offset", type=int)
        leaf.add_argument("--sort", metavar="KEY[:DIR][,...]",
                          help="sort keys reference, size; dirs asc, desc")
        leaf.add_argument("--managed", action="append", metavar="ID",
                          help="id of an object Cinder already manages "
                               "(repeatable)")
        leaf.add_argument("--managed-file", metavar="FILE",
                          help="file of managed ids, one a line")
        leaf.add_argument("--format", choices=("table", "json"),
                          default="table")
        return
    if command in ("size", "manage"):
        leaf.add_argument("reference",
                          help="source-name, or a JSON reference")
    leaf.add_argument("--id", dest="cinder_id", required=command != "size",
                      help="the Cinder id of the volume or snapshot")
    if command == "manage" and leaf.prog.endswith(" snapshot"):
        leaf.add_argument("--volume-id",
                          help="Cinder id of the snapshot's volume; when "
                               "given, the backend checks the snapshot "
                               "belongs to that volume")
    if command == "manage":
        leaf.add_argument("--extra-spec", action="append", default=[],
                          metavar="KEY=VALUE",
                          help="volume type extra spec, for the type check")
        leaf.add_argument("--yes", action="store_true",
                          help="do not ask for confirmation")


def _backend_configuration(args: argparse.Namespace) -> tuple[str, Any]:
    conf = cfg.ConfigOpts()
    if args.config_file:
        if not args.backend:
            raise UsageError("--config-file needs --backend NAME")
        if not os.path.isfile(args.config_file):
            raise UsageError("--config-file: no such file: %s"
                             % args.config_file)
        try:
            conf(args=[], project="cinder", validate_default_values=True,
                 default_config_files=[args.config_file])
        except UnicodeDecodeError as exc:
            raise UsageError("--config-file %s: %s" % (args.config_file,
                                                       exc))
        group = args.backend
        conf.register_opt(cfg.StrOpt("volume_driver"), group=group)
        if args.backend not in conf.list_all_sections():
            raise UsageError("--backend: no section [%s] in %s"
                             % (group, args.config_file))
    else:
        conf(args=[])
        group = CLI_GROUP
    if args.lvm_conf is not None and not os.path.isfile(args.lvm_conf):
        # LVM would silently read /etc/lvm instead.
        raise UsageError("--lvm-conf: no such file: %s" % args.lvm_conf)
    kind = args.driver or _infer_kind(args, conf, group)
    module = importlib.import_module(DRIVERS[kind][0])
    backend = configuration.Configuration(conf, group)
    backend.append_config_values(opts.common_opts + list(module.OPTIONS))
    overrides = {"volume_group": args.volume_group,
                 "lvm_conf_file": args.lvm_conf,
                 "file_volume_dirs": args.dir,
                 "manageable_lock_path": args.lock_path}
    if kind == "file" and not args.dir and not args.config_file:
        overrides["file_volume_dirs"] = [os.getcwd()]
    for name, value in overrides.items():
        if value is not None and backend.safe_get(name) is not None:
            conf.set_override(name, value, group=group)
        elif value is not None:
            raise UsageError("option for %s does not apply to the %s driver"
                             % (name, kind))
    return kind, backend


def _infer_kind(args: argparse.Namespace, conf: cfg.ConfigOpts,
                group: str) -> str:
    if args.config_file:
        volume_driver = (getattr(conf, group).volume_driver or "").lower()
        for kind in DRIVERS:
            if kind in volume_driver:
                return kind
        raise UsageError("cannot tell the driver from volume_driver=%r in "
                         "[%s]; pass --driver" % (volume_driver, group))
    return "lvm" if args.volume_group else "file"


def build_driver(args: argparse.Namespace) -> Any:
    """Construct the driver the backend arguments describe."""
    kind, backend = _backend_configuration(args)
    module_name, class_name = DRIVERS[kind]
    driver_cls = getattr(importlib.import_module(module_name), class_name)
    return driver_cls(configuration=backend)


def _cinder_object(driver: Any, kind: str, cinder_id: str,
                   extra_specs: Sequence[str] = (),
                   volume_id: str | None = None) -> dict[str, Any]:
    template = getattr(driver.configuration, "%s_name_template" % kind)
    obj: dict[str, Any] = {"id": cinder_id, "name": template % cinder_id}
    specs = {}
    for item in extra_specs:
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise UsageError("--extra-spec needs KEY=VALUE, got %r" % item)
        specs[key] = value
    obj["volume_type"] = {"extra_specs": specs} if specs else None
    if volume_id:
        obj["volume"] = _cinder_object(driver, "volume", volume_id)
    return obj


def _confirm(question: str) -> bool:
    try:
        answer = input("%s [y/N] " % question)
    except EOFError:
        return False
    return answer.strip().lower() in ("y", "yes")


def run(args: argparse.Namespace) -> int:
    """Carry out the parsed command; return the exit code."""
    driver = build_driver(args)
    if args.command == "list":
        keys, dirs = parse_sort(args.sort)
        marker = parse_reference(args.marker) if args.marker else None
        method = (driver.get_manageable_volumes if args.kind == "volumes"
                  else driver.get_manageable_snapshots)
        entries = method(_managed(args), marker, args.limit, args.offset,
                         keys, dirs)
        print(output.as_json(entries) if args.format == "json"
              else output.table(entries))
        return 0
    kind = args.kind
    suffix = "" if kind == "volume" else "_snapshot"
    if args.command == "unmanage":
        obj = _cinder_object(driver, kind, args.cinder_id)
        getattr(driver, "unmanage%s" % suffix)(obj)
        print("Unmanaged %s %s; its data is untouched."
              % (kind, args.cinder_id))
        return 0
    ref = parse_reference(args.reference)
    obj = _cinder_object(driver, kind, args.cinder_id or "size-only",
                         getattr(args, "extra_spec", ()),
                         getattr(args, "volume_id", None))
    size = getattr(driver, "manage_existing%s_get_size" % suffix)(obj, ref)
    if args.command == "size":
        print(size)
        return 0
    if not args.yes and not _confirm(
            "Manage %s as %s %s (%d GiB)?" % (json.dumps(ref), kind,
                                             obj["name"], size)):
        print("Not confirmed; nothing changed.", file=sys.stderr)
        return EXIT_BACKEND
    update = getattr(driver, "manage_existing%s" % suffix)(obj, ref)
    print(output.as_json({"id": args.cinder_id, "name": obj["name"],
                          "size": size, "model_update": update}))
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``manageable-driver`` console script."""
    parser = build_parser()
    args = parser.parse_args(argv)
    log_conf = cfg.ConfigOpts()
    logging.register_options(log_conf)
    log_conf(args=[])
    log_conf.set_override("debug", args.debug)
    # stdout carries the results (JSON for scripts); logs go to stderr,
    # and only warnings unless --debug.
    log_conf.set_override("use_stderr", True)
    logging.setup(log_conf, "manageable-driver")
    if not args.debug:
        std_logging.getLogger("manageable_driver").setLevel(
            std_logging.WARNING)
    try:
        return run(args)
    except (UsageError, cfg.Error) + exception.REFUSALS as exc:
        return _fail(exc, EXIT_USAGE)
    except exception.ManageableDriverException as exc:
        return _fail(exc, EXIT_BACKEND)


def _fail(exc: Exception, code: int) -> int:
    # One line, whatever the backend printed (LVM's stderr spans several).
    print("manageable-driver: error: %s" % " ".join(str(exc).split()),
          file=sys.stderr)
    return code


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
