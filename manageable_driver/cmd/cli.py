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

The exit codes are in :data:`EXIT_CODES` and the ``--help`` text.
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from importlib import metadata
import json
import logging as std_logging
import os
import shutil
import sys
from typing import Any

from oslo_config import cfg
from oslo_log import log as logging
from oslo_utils import uuidutils

from manageable_driver import configuration
from manageable_driver import exception
from manageable_driver import listing
from manageable_driver import opts
from manageable_driver.cmd import backends as backends_mod
from manageable_driver.cmd import completion
from manageable_driver.cmd import lockdir
from manageable_driver.cmd import output
from manageable_driver.cmd.backends import UsageError

LOG = logging.getLogger(__name__)

PROG = "manageable-driver"
CLI_GROUP = "manageable-driver"
EXIT_BACKEND = 1
EXIT_USAGE = 2
EXIT_NOT_FOUND = 3
EXIT_INTERRUPTED = 130
EXIT_PIPE = 141
EXIT_CODES = (
    (0, "done"),
    (EXIT_BACKEND, "the backend failed, or the confirmation was declined"),
    (EXIT_USAGE, "bad usage or configuration, a bad reference, or an "
                 "object that is not safe to manage; nothing was changed"),
    (EXIT_NOT_FOUND, "unmanage: no object on the backend carries that "
                     "Cinder id; nothing was changed"),
    (EXIT_INTERRUPTED, "interrupted (Ctrl-C)"),
    (EXIT_PIPE, "the output pipe was closed (e.g. by head); quietly"),
)
EXAMPLES = """\
examples:
  manageable-driver list volumes --dir /srv/images
  manageable-driver list snapshots --volume-group cinder-volumes --format json
  manageable-driver list volumes --config-file /etc/cinder/cinder.conf \\
      --backend lvm-1 --managed-file ids.txt --fields reference,size
  manageable-driver size volume web01.raw --dir /srv/images
  manageable-driver manage volume lv_data --volume-group cinder-volumes \\
      --id 6c3e5f2a-4b8d-4e7f-9a1c-2d3e4f5a6b7c
  manageable-driver manage snapshot _snap1 --volume-group cinder-volumes \\
      --id SNAPSHOT_ID --volume-id VOLUME_ID
  manageable-driver unmanage volume --volume-group cinder-volumes --id ID
"""
COMMANDS = (
    ("list", "list what could be managed, and whether it is safe to",
     ("volumes", "snapshots")),
    ("size", "the size in GiB an object would get, refused as manage "
             "would refuse it", ("volume", "snapshot")),
    ("manage", "adopt an object for a Cinder id (asks first)",
     ("volume", "snapshot")),
    ("unmanage", "release the object that carries a Cinder id, keeping "
                 "its data", ("volume", "snapshot")),
)


class NoBackend(UsageError):
    """No backend named: the message lists the ways to name one."""


def _epilog() -> str:
    codes = "\n".join("  %-3d  %s" % item for item in EXIT_CODES)
    return "exit codes:\n%s\n\n%s" % (codes, EXAMPLES)


def version() -> str:
    """The installed version of the package."""
    try:
        return metadata.version("manageable-driver")
    except metadata.PackageNotFoundError:
        return "unknown (not installed)"


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
    """A reference given as JSON (``{"source-id": ...}``) or a plain name.

    :raises UsageError: JSON that is not an object.
    """
    if text.lstrip().startswith("{"):
        try:
            ref = json.loads(text)
        except ValueError as exc:
            raise UsageError("reference is not valid JSON: %s" % exc)
        if not isinstance(ref, dict):
            raise UsageError("reference JSON must be an object")
        return ref
    return {"source-name": text}


def _uuid(text: str) -> str:
    if not uuidutils.is_uuid_like(text):
        raise argparse.ArgumentTypeError(
            "%r is not a Cinder id (a UUID)" % text)
    return text


def _fields(text: str) -> list[str]:
    fields = [f.strip() for f in text.split(",") if f.strip()]
    unknown = [f for f in fields if f not in output.TITLES]
    if unknown or not fields:
        raise argparse.ArgumentTypeError(
            "unknown field %s; fields: %s" % (", ".join(unknown) or "''",
                                              ", ".join(output.TITLES)))
    return fields


def _managed(args: argparse.Namespace) -> list[str]:
    ids = list(args.managed or [])
    if args.managed_file:
        try:
            with open(args.managed_file, encoding="utf-8") as f:
                ids += [line.strip() for line in f
                        if line.strip() and not line.startswith("#")]
        except (OSError, UnicodeDecodeError) as exc:
            raise UsageError("--managed-file: %s" % exc)
    return ids


def _backend_parser(plugins: dict[str, backends_mod.Backend]
                    ) -> argparse.ArgumentParser:
    parent = argparse.ArgumentParser(add_help=False, allow_abbrev=False)
    group = parent.add_argument_group(
        "backend (name one: a backend flag, or --config-file and "
        "--backend)")
    group.add_argument("--config-file", metavar="FILE",
                       help="read the backend's options from this "
                            "cinder.conf, as cinder-volume does; backend "
                            "flags then override them")
    group.add_argument("--backend", metavar="NAME",
                       help="the backend section of --config-file, e.g. "
                            "lvm-1 (one of enabled_backends)")
    group.add_argument("--driver", choices=sorted(plugins),
                       help="the backend kind, when --config-file's "
                            "volume_driver is not one this command knows")
    group.add_argument("--lock-path", metavar="DIR",
                       help="directory of the per-object manage locks, "
                            "shared with cinder-volume (option "
                            "manageable_lock_path)")
    group.add_argument("--debug", action="store_true",
                       help="log debug messages (every command run, every "
                            "lock taken) to stderr")
    for plugin in plugins.values():
        plugin.add_arguments(parent)
    return parent


def build_parser(plugins: dict[str, backends_mod.Backend] | None = None
                 ) -> tuple[argparse.ArgumentParser,
                            dict[tuple[str, str], argparse.ArgumentParser]]:
    """Return the parser of ``manageable-driver`` and its leaf parsers.

    :param plugins: the backends; those of the entry-point group when
        None.
    """
    plugins = backends_mod.load() if plugins is None else plugins
    parent = _backend_parser(plugins)
    raw = argparse.RawDescriptionHelpFormatter
    parser = argparse.ArgumentParser(
        prog=PROG, formatter_class=raw, allow_abbrev=False,
        description="List, size, manage and unmanage existing backend "
                    "storage for Cinder, on the storage host, with the "
                    "driver calls Cinder makes.",
        epilog=_epilog())
    parser.add_argument("--version", action="version",
                        version="%s %s" % (PROG, version()))
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")
    leaves = {}
    for command, helptext, kinds in COMMANDS:
        sub = commands.add_parser(command, help=helptext,
                                  description=helptext, allow_abbrev=False)
        sub_kinds = sub.add_subparsers(dest="kind", metavar="KIND",
                                       required=True)
        for kind in kinds:
            leaf = sub_kinds.add_parser(
                kind, parents=[parent], formatter_class=raw,
                allow_abbrev=False, help="%s %s" % (command, kind),
                description="%s: %s." % (command, helptext),
                epilog=_epilog())
            _add_command_arguments(command, kind, leaf)
            leaves[(command, kind)] = leaf
    sub = commands.add_parser(
        "completion", help="print a shell completion script",
        description="Print the bash completion script; install it with "
                    "'manageable-driver completion bash | sudo tee "
                    "/etc/bash_completion.d/manageable-driver'.")
    sub.add_subparsers(dest="kind", metavar="SHELL", required=True
                       ).add_parser("bash", help="bash completion")
    return parser, leaves


def _add_command_arguments(command: str, kind: str,
                           leaf: argparse.ArgumentParser) -> None:
    fmt = leaf.add_argument_group("output")
    if command in ("list", "size", "manage"):
        leaf.add_argument("--managed", action="append", metavar="ID",
                          help="id of a %s Cinder already manages "
                               "(repeatable); size and manage need these "
                               "ids to accept a name Cinder made" % kind)
        leaf.add_argument("--managed-file", metavar="FILE",
                          help="file of managed ids, one a line")
    if command == "list":
        leaf.add_argument("--marker", metavar="REF",
                          help="start after this object: any reference "
                               "manage accepts (name, path, JSON)")
        leaf.add_argument("--limit", type=int, metavar="N",
                          help="at most N entries")
        leaf.add_argument("--offset", type=int, metavar="N",
                          help="skip N entries after the marker")
        leaf.add_argument("--sort", metavar="KEY[:DIR][,...]",
                          help="sort keys reference, size; directions "
                               "asc, desc (default reference:desc, as "
                               "cinder manageable-list)")
        fmt.add_argument("--format", choices=("table", "json"),
                         default="table",
                         help="table (default), or JSON: exactly the "
                              "driver's return value")
        fmt.add_argument("--fields", type=_fields, metavar="F1,F2",
                         help="table columns, by entry key: %s"
                              % ", ".join(output.TITLES))
        fmt.add_argument("--cinder-columns", action="store_true",
                         help="columns and cells as cinderclient's "
                              "manageable-list prints them")
        fmt.add_argument("--wide", action="store_true",
                         help="never wrap the table to the terminal width")
        return
    fmt.add_argument("--format", choices=("text", "json"), default="text",
                     help="text (default) or JSON")
    if command in ("size", "manage"):
        leaf.add_argument("reference",
                          help="a source-name, or a JSON reference such as "
                               "'{\"source-id\": \"...\"}'; put -- before "
                               "one that starts with -")
    if command != "size":
        leaf.add_argument("--id", dest="cinder_id", required=True,
                          type=_uuid, metavar="ID",
                          help="the Cinder id of the %s" % kind)
    if command == "manage" and kind == "snapshot":
        leaf.add_argument("--volume-id", required=True, type=_uuid,
                          metavar="ID",
                          help="the Cinder id of the managed volume the "
                               "snapshot belongs to (Cinder's API needs "
                               "it too); the backend checks the snapshot "
                               "is one of that volume's")
    if command == "manage":
        leaf.add_argument("--extra-spec", action="append", default=[],
                          metavar="KEY=VALUE",
                          help="volume type extra spec, for the driver's "
                               "type check (repeatable)")
        leaf.add_argument("--yes", action="store_true",
                          help="do not ask for confirmation")


def _no_backend(plugins: dict[str, backends_mod.Backend]) -> NoBackend:
    lines = ["no backend given, so nothing was read or changed; name the "
             "storage to work on with one of:"]
    for plugin in plugins.values():
        for argument in plugin.arguments:
            if argument.selects:
                lines.append("  %-36s %s: %s" % (
                    "%s %s" % (argument.flag, argument.metavar or ""),
                    plugin.name, plugin.description or plugin.name))
    lines.append("  %-36s %s" % ("--config-file FILE --backend NAME",
                                 "a backend section of cinder.conf"))
    return NoBackend("\n".join(lines))


def _choose(args: argparse.Namespace,
            plugins: dict[str, backends_mod.Backend],
            conf: cfg.ConfigOpts, group: str) -> backends_mod.Backend:
    selected = [p for p in plugins.values() if p.given(args, True)]
    if args.driver:
        chosen = plugins[args.driver]
    elif args.config_file:
        volume_driver = getattr(conf, group).volume_driver
        if not volume_driver:
            raise UsageError("[%s] of %s sets no volume_driver; pass "
                             "--driver" % (group, args.config_file))
        found = backends_mod.by_volume_driver(plugins, volume_driver)
        if found is None:
            raise UsageError(
                "volume_driver = %s in [%s] is not a driver this command "
                "knows; pass --driver (%s)"
                % (volume_driver, group, ", ".join(sorted(plugins))))
        chosen = found
    elif len(selected) == 1:
        chosen = selected[0]
    elif selected:
        raise UsageError("%s name different backends; give one" % " and ".join(
            p.given(args, True)[0].flag for p in selected))
    else:
        raise _no_backend(plugins)
    for plugin in plugins.values():
        if plugin is not chosen and plugin.given(args):
            raise UsageError("%s is a flag of the %s backend, not of %s"
                             % (plugin.given(args)[0].flag, plugin.name,
                                chosen.name))
    needed = [a.flag for a in chosen.arguments if a.selects]
    if not args.config_file and needed and not chosen.given(args, True):
        raise UsageError("the %s backend needs %s"
                         % (chosen.name, " or ".join(needed)))
    return chosen


def _configure(args: argparse.Namespace,
               plugins: dict[str, backends_mod.Backend]
               ) -> tuple[backends_mod.Backend, Any, str | None]:
    conf = cfg.ConfigOpts()
    # Cinder reads the name templates from [DEFAULT], never from a
    # backend section: so does this command.
    conf.register_opts(opts.name_template_opts)
    like = None
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
        conf.register_opt(cfg.StrOpt("lock_path"), group="oslo_concurrency")
        if group not in conf.list_all_sections():
            raise UsageError("--backend: no section [%s] in %s"
                             % (group, args.config_file))
        like = conf.oslo_concurrency.lock_path
    else:
        if args.backend:
            raise UsageError("--backend needs --config-file FILE")
        conf(args=[])
        group = CLI_GROUP
    lvm_conf = getattr(args, "backend_lvm_lvm_conf_file", None)
    if lvm_conf is not None and not os.path.isfile(lvm_conf):
        # LVM would silently read /etc/lvm instead.
        raise UsageError("--lvm-conf: no such file: %s" % lvm_conf)
    plugin = _choose(args, plugins, conf, group)
    backend = configuration.Configuration(conf, group)
    backend.append_config_values(opts.common_opts
                                 + plugin.driver_options())
    for opt in opts.name_template_opts:
        in_default = conf[opt.dest]
        if backend.safe_get(opt.dest) not in (opt.default, in_default):
            LOG.warning("%(name)s in [%(group)s] is ignored: Cinder reads "
                        "it from [DEFAULT] only", {"name": opt.dest,
                                                   "group": group})
        conf.set_override(opt.dest, in_default, group=group)
    overrides = plugin.overrides(args)
    if args.lock_path is not None:
        overrides["manageable_lock_path"] = args.lock_path
    for name, value in overrides.items():
        conf.set_override(name, value, group=group)
    return plugin, backend, like


def _lock_source(args: argparse.Namespace) -> str:
    if args.lock_path is not None:
        return "--lock-path"
    if args.config_file:
        return "manageable_lock_path in [%s] of %s" % (args.backend,
                                                       args.config_file)
    return "--lock-path (manageable_lock_path)"


def build_driver(args: argparse.Namespace,
                 plugins: dict[str, backends_mod.Backend]
                 ) -> tuple[backends_mod.Backend, Any]:
    """Construct the driver the backend arguments describe.

    :raises UsageError: no backend, or a configuration that cannot work.
    """
    plugin, backend, like = _configure(args, plugins)
    if args.command in ("manage", "unmanage") and not backend.safe_get(
            "coordination_backend_url"):
        lockdir.prepare(backend.manageable_lock_path, _lock_source(args),
                        like)
    driver = plugin.create_driver(backend)
    plugin.check(driver)
    return plugin, driver


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
        obj["volume_id"] = volume_id
    return obj


def _confirm(question: str) -> bool:
    try:
        answer = input("%s [y/N] " % question)
    except EOFError:
        return False
    return answer.strip().lower() in ("y", "yes")


def _listing(driver: Any, kind: str) -> Any:
    return (driver.get_manageable_volumes if kind.startswith("volume")
            else driver.get_manageable_snapshots)


def _marker(plugin: backends_mod.Backend, method: Any, managed: Any,
            text: str, keys: list[str], dirs: list[str]) -> Any:
    given = parse_reference(text)
    matches = [e["reference"] for e in method(managed, None, None, None,
                                              keys, dirs)
               if plugin.same_object(e, given)]
    if len(matches) > 1:
        raise UsageError("--marker %s names %d listed objects; give its "
                         "full reference" % (text, len(matches)))
    if not matches:
        raise UsageError("--marker %s: no listed object is %s"
                         % (text, json.dumps(given)))
    return matches[0]


def _carrier(driver: Any, kind: str, obj: dict[str, Any]
             ) -> dict[str, Any] | None:
    """The listed entry of the object that carries ``obj``'s id."""
    for entry in _listing(driver, kind)([obj], None, None, None,
                                        ["reference"], ["asc"]):
        if entry["cinder_id"] == obj["id"]:
            found: dict[str, Any] = entry
            return found
    return None


def _name(entry: dict[str, Any] | None) -> Any:
    return None if entry is None else entry["reference"].get(
        "source-name", entry["reference"])


def _table_width(args: argparse.Namespace) -> int | None:
    if args.wide:
        return None
    if os.environ.get("COLUMNS", "").isdigit():
        return int(os.environ["COLUMNS"])
    if sys.stdout.isatty():
        return shutil.get_terminal_size().columns
    return None


def run_list(args: argparse.Namespace, plugin: backends_mod.Backend,
             driver: Any) -> int:
    """``list volumes|snapshots``."""
    keys, dirs = parse_sort(args.sort)
    method = _listing(driver, args.kind)
    managed = [{"id": i} for i in _managed(args)]
    marker = (_marker(plugin, method, managed, args.marker, keys, dirs)
              if args.marker else None)
    entries = method(managed, marker, args.limit, args.offset, keys, dirs)
    if args.format == "json":
        print(output.as_json(entries))
        return 0
    fields = args.fields or (output.CINDER_FIELDS[args.kind]
                             if args.cinder_columns
                             else output.default_fields(args.kind))
    print(output.table(entries, fields, _table_width(args),
                       args.cinder_columns))
    return 0


def run(args: argparse.Namespace,
        plugins: dict[str, backends_mod.Backend],
        parser: argparse.ArgumentParser) -> int:
    """Carry out the parsed command; return the exit code."""
    if args.command == "completion":
        print(completion.bash(parser), end="")
        return 0
    plugin, driver = build_driver(args, plugins)
    if args.command == "list":
        return run_list(args, plugin, driver)
    kind = args.kind
    suffix = "" if kind == "volume" else "_snapshot"
    if args.command in ("size", "manage") and (args.managed
                                                or args.managed_file):
        # Without them the driver cannot tell, and refuses a name
        # Cinder made.
        driver.cinder_manages_lookup = listing.managed_lookup(
            _managed(args))
    if args.command == "unmanage":
        obj = _cinder_object(driver, kind, args.cinder_id)
        entry = _carrier(driver, kind, obj)
        if entry is None:
            LOG.warning("No %(kind)s on this backend carries Cinder id "
                        "%(id)s (none is named %(name)s or tagged with it);"
                        " nothing to unmanage, nothing changed",
                        {"kind": kind, "id": args.cinder_id,
                         "name": obj["name"]})
            return EXIT_NOT_FOUND
        args.changing = True
        getattr(driver, "unmanage%s" % suffix)(obj)
        _print(args, "Unmanaged %s %s (%s); its data is untouched."
               % (kind, args.cinder_id, _name(entry)),
               {"id": args.cinder_id, "name": _name(entry),
                "reference": entry["reference"], "unmanaged": True})
        return 0
    ref = parse_reference(args.reference)
    obj = _cinder_object(driver, kind, getattr(args, "cinder_id", None)
                         or uuidutils.generate_uuid(),
                         getattr(args, "extra_spec", ()),
                         getattr(args, "volume_id", None))
    size = getattr(driver, "manage_existing%s_get_size" % suffix)(obj, ref)
    if args.command == "size":
        _print(args, str(size), {"reference": ref, "size": size})
        return 0
    if not args.yes and not _confirm(
            "Manage %s as %s %s (%d GiB)?" % (json.dumps(ref), kind,
                                             args.cinder_id, size)):
        print("Not confirmed; nothing changed.", file=sys.stderr)
        return EXIT_BACKEND
    args.changing = True
    update = getattr(driver, "manage_existing%s" % suffix)(obj, ref)
    entry = _carrier(driver, kind, obj)
    result = {"id": args.cinder_id, "name": _name(entry), "size": size,
              "reference": None if entry is None else entry["reference"],
              "model_update": update}
    _print(args, "Managed %s as %s %s: now %s, %d GiB."
           % (json.dumps(ref), kind, args.cinder_id, _name(entry), size),
           result)
    return 0


def _print(args: argparse.Namespace, text: str, value: Any) -> None:
    print(output.as_json(value) if args.format == "json" else text)


def _setup_logging(debug: bool) -> None:
    log_conf = cfg.ConfigOpts()
    logging.register_options(log_conf)
    log_conf(args=[])
    log_conf.set_override("debug", debug)
    # stdout carries the results (JSON for scripts); logs go to stderr,
    # and only warnings unless --debug.
    log_conf.set_override("use_stderr", True)
    log_conf.set_override("logging_default_format_string",
                          "%(levelname)s %(message)s")
    logging.setup(log_conf, PROG)
    if not debug:
        std_logging.getLogger("manageable_driver").setLevel(
            std_logging.WARNING)


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``manageable-driver`` console script."""
    argv = sys.argv[1:] if argv is None else list(argv)
    try:
        return _main(argv)
    except BrokenPipeError:
        # The reader went away (| head): say nothing more, and keep the
        # interpreter from complaining when it flushes stdout at exit.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return EXIT_PIPE


def _main(argv: list[str]) -> int:
    plugins = backends_mod.load()
    parser, leaves = build_parser(plugins)
    if not argv:
        parser.print_help(sys.stderr)
        return EXIT_USAGE
    args, extra = parser.parse_known_args(argv)
    if extra:
        # Report a misspelt flag against the usage of the command it was
        # given to, not the top-level one.
        leaf = leaves.get((args.command, getattr(args, "kind", "")), parser)
        leaf.error("unrecognized arguments: %s" % " ".join(extra))
    if args.command is None:
        parser.error("a command is required: %s"
                     % ", ".join(c for c, _h, _k in COMMANDS))
    args.changing = False
    _setup_logging(getattr(args, "debug", False))
    try:
        code = run(args, plugins, parser)
        sys.stdout.flush()
        return code
    except NoBackend as exc:
        print("%s: error: %s" % (PROG, exc), file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        print("\n%s: interrupted; %s" % (PROG, (
            "the %s may be half done: run the same command again to "
            "finish it" % args.command) if args.changing
            else "nothing changed"), file=sys.stderr)
        return EXIT_INTERRUPTED
    except (UsageError, cfg.Error) + exception.REFUSALS as exc:
        return _fail(_describe(exc, args), EXIT_USAGE)
    except exception.ManageableDriverException as exc:
        return _fail(_describe(exc, args), EXIT_BACKEND)
    except BrokenPipeError:
        raise  # main() ends quietly
    except (OSError, ValueError, TypeError, LookupError,
            AttributeError) as exc:
        # A fault in a driver or plugin that is not one of the library's
        # exceptions: still one line at 3 a.m.; --debug keeps the trace.
        LOG.debug("Unexpected error", exc_info=True)
        return _fail("unexpected %s: %s (--debug shows where)"
                     % (type(exc).__name__, exc), EXIT_BACKEND)


def _describe(exc: Exception, args: argparse.Namespace) -> str:
    """The error as the operator needs it: the cause first."""
    kwargs = getattr(exc, "kwargs", {})
    if isinstance(exc, exception.CommandFailed):
        cause = [line.strip() for line in exc.stderr.splitlines()
                 if line.strip() and not line.strip().startswith("WARNING")]
        return "%s (%s exited with %s; --debug shows the command line)" % (
            " ".join(cause) or "no error message",
            _program(exc.cmd), exc.exit_code)
    if isinstance(exc, exception.ManageExistingInvalidReference) and (
            "reason" in kwargs):
        return "cannot %s %s %s: %s" % (
            args.command, args.kind, json.dumps(kwargs.get("existing_ref"),
                                                default=str),
            kwargs["reason"])
    if isinstance(exc, exception.ManageExistingVolumeTypeMismatch) and (
            "reason" in kwargs):
        return "cannot %s %s: volume type mismatch: %s" % (
            args.command, args.kind, kwargs["reason"])
    return str(exc)


def _program(cmd: str) -> str:
    # The tool, past "sudo", "env" and its NAME=VALUE arguments.
    for word in cmd.split():
        if "=" not in word and os.path.basename(word) not in ("sudo", "env"):
            return os.path.basename(word)
    return "a command"


def _fail(message: str, code: int) -> int:
    # One line, whatever the backend printed (LVM's stderr spans several).
    print("%s: error: %s" % (PROG, " ".join(message.split())),
          file=sys.stderr)
    return code


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
