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

"""The exact command lines the drivers run through a root helper, and the
shipped rootwrap filters against them (oslo.rootwrap's own matcher)."""

import os
import sys

import ddt
import fixtures
from oslo_rootwrap import wrapper

from manageable_driver import exception
from manageable_driver import runner
from manageable_driver.drivers.file import qemu_img
from manageable_driver.drivers.lvm import commands
from tests import base
from tests.unit.test_lvm_report import recorded

FILTERS_DIR = os.path.join(
    os.path.dirname(os.path.dirname(os.path.dirname(
        os.path.abspath(__file__)))),
    "etc", "manageable-driver", "rootwrap.d")

ROOTWRAP = "sudo cinder-rootwrap /etc/cinder/rootwrap.conf"
ROOTWRAP_ARGV = ["sudo", "cinder-rootwrap", "/etc/cinder/rootwrap.conf"]

# Where cinder-rootwrap looks for programs (Cinder's rootwrap.conf).
EXEC_DIRS = ["/sbin", "/usr/sbin", "/bin", "/usr/bin", "/usr/local/bin",
             "/usr/local/sbin"]

VG = "cinder-volumes"
LVS = list(commands.REPORT_COMMAND)


def program_and_args(argv):
    """The part of a rootwrap command line after ``env NAME=VALUE ...``."""
    rest = argv[argv.index("env") + 1:]
    while "=" in rest[0]:
        rest.pop(0)
    return rest


class Recorder:
    """An execute that keeps every argv and answers lvs with a recorded
    report."""

    def __init__(self):
        self.calls = []

    def __call__(self, *cmd, **kwargs):
        self.calls.append(list(cmd))
        if "lvs" in cmd:
            return recorded("mixed.json"), ""
        return "", ""


def run_lvm(root_helper, conf_file):
    rec = Recorder()
    lvm = commands.LVMCommands(VG, execute=rec, root_helper=root_helper,
                               lvm_conf_file=conf_file)
    lvm.report()
    lvm.rename("old", "new")
    lvm.add_tag("new", "md_tag")
    lvm.remove_tag("new", "md_tag")
    return rec.calls


def run_qemu_img(root_helper):
    rec = Recorder()
    img = qemu_img.QemuImg(execute=rec, root_helper=root_helper)
    try:
        img.info("/proc/7/fd/3", "qcow2")
    except exception.VolumeBackendAPIException:
        pass  # the recorder prints no qemu-img JSON: only argv matters
    img.rebase_unsafe("/proc/7/fd/4", "snap-1", "raw")
    return rec.calls


class LVMArgvTest(base.TestCase):

    def setUp(self):
        super().setUp()
        self.tmp = self.useFixture(fixtures.TempDir()).path
        self.conf = os.path.join(self.tmp, "lvm.conf")
        with open(self.conf, "w") as f:
            f.write("global { activation = 0 }\n")

    def expected(self, prefix, env):
        return [prefix + env + LVS + [VG],
                prefix + env + ["lvrename", VG, "old", "new"],
                prefix + env + ["lvchange", "--addtag", "md_tag",
                                VG + "/new"],
                prefix + env + ["lvchange", "--deltag", "md_tag",
                                VG + "/new"]]

    def test_no_root_helper_runs_the_command_itself(self):
        self.assertEqual(self.expected([], []), run_lvm(None, self.conf))

    def test_rootwrap_gets_env_as_arguments(self):
        env = ["env", "LC_ALL=C", "LVM_SUPPRESS_FD_WARNINGS=1",
               "LVM_SYSTEM_DIR=" + self.tmp]
        self.assertEqual(self.expected(ROOTWRAP_ARGV, env),
                         run_lvm(ROOTWRAP, self.conf))

    def test_plain_helper_gets_env_as_arguments(self):
        env = ["env", "LC_ALL=C", "LVM_SUPPRESS_FD_WARNINGS=1",
               "LVM_SYSTEM_DIR=" + self.tmp]
        self.assertEqual(self.expected(["sudo"], env),
                         run_lvm("sudo", self.conf))

    def test_missing_lvm_conf_passes_no_system_dir(self):
        env = ["env", "LC_ALL=C", "LVM_SUPPRESS_FD_WARNINGS=1"]
        self.assertEqual(
            self.expected(ROOTWRAP_ARGV, env),
            run_lvm(ROOTWRAP, os.path.join(self.tmp, "missing.conf")))


class QemuImgArgvTest(base.TestCase):

    INFO = ["qemu-img", "info", "--output=json", "-f", "qcow2",
            "/proc/7/fd/3"]
    REBASE = ["qemu-img", "rebase", "-u", "-f", "qcow2", "-b", "snap-1",
              "-F", "raw", "/proc/7/fd/4"]

    def test_no_root_helper(self):
        self.assertEqual([self.INFO, self.REBASE], run_qemu_img(None))

    def test_rootwrap(self):
        prefix = ROOTWRAP_ARGV + ["env", "LC_ALL=C"]
        self.assertEqual([prefix + self.INFO, prefix + self.REBASE],
                         run_qemu_img(ROOTWRAP))

    def test_plain_helper(self):
        prefix = ["sudo", "-n", "env", "LC_ALL=C"]
        self.assertEqual([prefix + self.INFO, prefix + self.REBASE],
                         run_qemu_img("sudo -n"))


class HelperResetsEnvironmentTest(base.TestCase):
    """A real helper that, like sudo, starts the command with an empty
    environment: the variables still reach it."""

    def test_env_survives_a_reset(self):
        result = runner.CommandRunner(
            root_helper="env -i", env={"LVM_SYSTEM_DIR": "/x y"}).run(
            sys.executable, "-c",
            "import os; print(sorted(os.environ.items()))")
        self.assertEqual(
            "[('LC_ALL', 'C'), ('LVM_SYSTEM_DIR', '/x y')]\n",
            result.stdout)

    def test_bad_helper_is_invalid_input(self):
        exc = self.assertRaises(exception.InvalidInput,
                                runner.CommandRunner, root_helper="sudo '")
        self.assertIn("root helper", str(exc))


@ddt.ddt
class ShippedFiltersTest(base.TestCase):
    """Every command line the drivers build through cinder-rootwrap is
    allowed by the shipped filters, and runs the intended program with the
    intended environment; nothing else is allowed."""

    def setUp(self):
        super().setUp()
        self.filters = wrapper.load_filters([FILTERS_DIR])
        tmp = self.useFixture(fixtures.TempDir()).path
        self.conf = os.path.join(tmp, "lvm.conf")
        with open(self.conf, "w") as f:
            f.write("global { activation = 0 }\n")
        self.system_dir = tmp

    def match(self, argv):
        userargs = argv[len(ROOTWRAP_ARGV):]
        flt = wrapper.match_filter(self.filters, list(userargs),
                                   exec_dirs=EXEC_DIRS)
        return (flt.get_command(list(userargs), exec_dirs=EXEC_DIRS),
                flt.get_environment(list(userargs)))

    @ddt.data(True, False)
    def test_every_lvm_command_is_allowed(self, with_conf):
        conf = self.conf if with_conf else self.conf + ".missing"
        for argv in run_lvm(ROOTWRAP, conf):
            command, env = self.match(argv)
            self.assertEqual(program_and_args(argv),
                             [os.path.basename(command[0])] + command[1:])
            self.assertEqual("C", env["LC_ALL"])
            self.assertEqual("1", env["LVM_SUPPRESS_FD_WARNINGS"])
            self.assertEqual(self.system_dir if with_conf else None,
                             env.get("LVM_SYSTEM_DIR"))

    def test_every_qemu_img_command_is_allowed(self):
        for argv in run_qemu_img(ROOTWRAP):
            command, env = self.match(argv)
            self.assertEqual(program_and_args(argv),
                             [os.path.basename(command[0])] + command[1:])
            self.assertEqual("C", env["LC_ALL"])

    @ddt.data(["lvs", VG],  # environment only in the process: refused
              ["env", "LC_ALL=C", "LVM_SUPPRESS_FD_WARNINGS=1", "lvremove",
               "-f", VG],
              ["env", "LC_ALL=C", "LVM_SUPPRESS_FD_WARNINGS=1",
               "LD_PRELOAD=/tmp/x.so", "lvs"],
              ["env", "LC_ALL=C", "dd", "if=/dev/zero"])
    def test_other_commands_are_refused(self, userargs):
        self.assertRaises(wrapper.NoFilterMatched, wrapper.match_filter,
                          self.filters, userargs, exec_dirs=EXEC_DIRS)
