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

"""The one place the LVM driver runs LVM commands.

Every command names the configured volume group explicitly, so the driver
never reads or changes another VG, and runs through one
:class:`manageable_driver.runner.CommandRunner`.
"""

from __future__ import annotations

import os
import stat

from oslo_log import log as logging

from manageable_driver import exception
from manageable_driver import runner
from manageable_driver.drivers.lvm import report

LOG = logging.getLogger(__name__)

# The host's lvm.conf may print binary fields as 0/1 and join lists with
# another separator; the parser reads LVM's defaults, so ask for them.
REPORT_CONFIG = ('report { binary_values_as_numeric = 0 '
                 'list_item_separator = "," }')

REPORT_COMMAND = ("lvs", "--config", REPORT_CONFIG, "--reportformat", "json",
                  "--units", "b", "--nosuffix", "-o",
                  ",".join(report.REPORT_FIELDS))


def lvm_environment(lvm_conf_file: str | None) -> dict[str, str]:
    """Return the environment every LVM command of the driver runs with.

    LVM warns on stderr about every inherited file descriptor; the
    warning is noise for a library, so it is switched off.  As in Cinder,
    an existing ``lvm_conf_file`` makes LVM read its directory instead of
    /etc/lvm.

    :param lvm_conf_file: path of an lvm.conf, or None.
    :raises InvalidInput: ``lvm_conf_file`` may exist but this user cannot
        see it (an unprivileged cinder-volume): LVM would silently read
        /etc/lvm, and its device filter, instead.
    """
    env = {"LVM_SUPPRESS_FD_WARNINGS": "1"}
    if not lvm_conf_file:
        return env
    try:
        is_file = stat.S_ISREG(os.stat(lvm_conf_file).st_mode)
    except (FileNotFoundError, NotADirectoryError):
        return env
    except OSError as exc:
        raise exception.InvalidInput(
            reason="lvm_conf_file %s cannot be checked by this user "
                   "(uid %d): %s" % (lvm_conf_file, os.geteuid(),
                                     exc.strerror))
    if is_file:
        env["LVM_SYSTEM_DIR"] = os.path.dirname(
            os.path.abspath(lvm_conf_file))
    return env


class LVMCommands:
    """LVM commands against one volume group.

    :param vg_name: the volume group every command is scoped to.
    :param execute: processutils-compatible callable (tests inject one).
    :param root_helper: prefix to run the commands as root.
    :param lvm_conf_file: lvm.conf to use when it exists.
    """

    def __init__(self, vg_name: str, execute: runner.Execute | None = None,
                 root_helper: str | None = None,
                 lvm_conf_file: str | None = None) -> None:
        self.vg_name = vg_name
        self.runner = runner.CommandRunner(
            execute=execute, root_helper=root_helper,
            env=lvm_environment(lvm_conf_file))

    def _lv_path(self, lv_name: str) -> str:
        return "%s/%s" % (self.vg_name, lv_name)

    def report(self) -> list[report.LogicalVolume]:
        """Return every visible LV of the VG, from one ``lvs`` run.

        Hidden LVs are not asked for (no ``-a``): they are never listed,
        and what the driver needs to know of them (a snapshot merging into
        its origin) is reported on the visible LV.

        :raises CommandFailed: lvs failed (for example, no such VG).
        :raises VolumeBackendAPIException: lvs printed no JSON report.
        """
        result = self.runner.run(*REPORT_COMMAND, self.vg_name)
        return report.parse_report(result.stdout, result.stderr)

    def rename(self, old: str, new: str) -> None:
        """Rename LV ``old`` to ``new`` within the VG.

        :raises CommandFailed: lvrename failed; LVM left the name as is.
        """
        self.runner.run("lvrename", self.vg_name, old, new)
        LOG.info("Renamed LV %(vg)s/%(old)s to %(new)s",
                 {"vg": self.vg_name, "old": old, "new": new})

    def _target(self, lv_name: str, uuid: str | None) -> tuple[str, ...]:
        # By uuid, an admin renaming LVs meanwhile cannot make the command
        # change another LV; a selection that matches nothing changes
        # nothing (the caller reads the result back).
        if uuid is not None:
            return ("--select", "lv_uuid=%s" % uuid, self.vg_name)
        return (self._lv_path(lv_name),)

    def add_tag(self, lv_name: str, tag: str,
                uuid: str | None = None) -> None:
        """Add LVM tag ``tag`` to LV ``lv_name``, or to the LV ``uuid``.

        :raises CommandFailed: lvchange failed.
        """
        self.runner.run("lvchange", "--addtag", tag,
                        *self._target(lv_name, uuid))

    def remove_tag(self, lv_name: str, tag: str,
                   uuid: str | None = None) -> None:
        """Remove LVM tag ``tag`` from LV ``lv_name``, or from LV ``uuid``.

        :raises CommandFailed: lvchange failed.
        """
        self.runner.run("lvchange", "--deltag", tag,
                        *self._target(lv_name, uuid))
