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

"""The ``manageable-driver`` CLI as an operator runs it: a subprocess
against a real image directory (real qemu-img) and a real VG (real LVM2).
"""

import grp
import json
import os
import signal
import stat
import subprocess
import sys
import textwrap
import time

import fixtures
from oslo_config import cfg

from manageable_driver.drivers.file import FileDriver
from manageable_driver.drivers.lvm import LVMDriver
from manageable_driver.drivers.lvm import options as lvm_options
from tests import base
from tests.functional import lvm_fixtures
from tests.functional import test_file

VOL_ID = "3f0e8a8c-2d6b-4c1e-9a55-0c2f4f0e9b71"
SNAP_ID = "8b1f3a9e-5c7d-4e2a-b6f0-1d2c3b4a5e6f"
REPO = test_file.REPO


UNKNOWN_ID = "99999999-9999-4999-8999-999999999999"
# The console script pip installed next to this interpreter: the command
# an operator runs, with the entry points of the installed package.
COMMAND = os.path.join(os.path.dirname(sys.executable), "manageable-driver")


def run_cli(*args, cwd=None, stdin="", env=None):
    """Run the installed command; return (code, stdout, stderr)."""
    proc = subprocess.run(
        [COMMAND, *args], input=stdin, capture_output=True, text=True,
        cwd=cwd or REPO, env=dict(os.environ, **(env or {})), timeout=120,
        check=False)
    return proc.returncode, proc.stdout, proc.stderr


def _sigint_as_at_a_terminal():
    # The test runner may ignore or block SIGINT, and its children would
    # inherit that; at a terminal Ctrl-C reaches the command.
    signal.signal(signal.SIGINT, signal.SIG_DFL)
    signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGINT})


def snapshot_dir(path):
    """Names and content checksums of a directory, to prove no change."""
    return {name: test_file.checksum(os.path.join(path, name))
            for name in sorted(os.listdir(path))}


class FileCLITest(base.TestCase):

    def setUp(self):
        super().setUp()
        self.require_root()
        self.require_tools("qemu-img")
        self.dir = self.useFixture(fixtures.TempDir()).path
        self.locks = self.useFixture(fixtures.TempDir()).path
        for name, args in (
                ("raw.img", ["-f", "raw", "@", "1028M"]),
                ("base.qcow2", ["-f", "qcow2", "@", "64M"]),
                ("top.qcow2", ["-f", "qcow2", "-b", "base.qcow2", "-F",
                               "qcow2", "@"])):
            test_file.qemu_img("create", "-q", *[
                os.path.join(self.dir, name) if a == "@" else a
                for a in args], cwd=self.dir)
        self.backend = ["--dir", self.dir, "--lock-path", self.locks]

    def driver(self):
        conf = cfg.ConfigOpts()
        conf(args=[])
        driver = FileDriver(conf)
        conf.set_override("file_volume_dirs", [self.dir])
        return driver

    def test_json_equals_the_driver_return_value(self):
        for kind, method in (("volumes", "get_manageable_volumes"),
                             ("snapshots", "get_manageable_snapshots")):
            with self.subTest(kind=kind):
                code, out, err = run_cli("list", kind, "--format", "json",
                                         *self.backend)
                self.assertEqual((0, ""), (code, err))
                expected = getattr(self.driver(), method)(
                    [], None, None, None, ["reference"], ["desc"])
                self.assertEqual(expected, json.loads(out))
                self.assertTrue(expected)

    def test_paging_and_sort_options(self):
        code, out, _err = run_cli(
            "list", "volumes", "--format", "json", "--sort", "size:asc",
            "--limit", "1", "--offset", "1",
            "--marker", os.path.join(self.dir, "base.qcow2"), *self.backend)
        self.assertEqual(0, code)
        expected = self.driver().get_manageable_volumes(
            [], {"source-name": os.path.join(self.dir, "base.qcow2")}, 1, 1,
            ["size"], ["asc"])
        self.assertEqual(expected, json.loads(out))

    def test_table_shows_reasons(self):
        code, out, _err = run_cli("list", "volumes", *self.backend)
        self.assertEqual(0, code)
        self.assertIn("Safe to manage", out)
        self.assertIn("backing file present: base.qcow2", out)
        raw_line = [line for line in out.splitlines() if "raw.img" in line]
        self.assertEqual(1, len(raw_line))
        self.assertIn("| 2 ", raw_line[0])  # 1,028 MiB rounds up to 2 GiB

    def test_managed_ids_are_reported(self):
        os.rename(os.path.join(self.dir, "raw.img"),
                  os.path.join(self.dir, "volume-%s" % VOL_ID))
        code, out, _err = run_cli("list", "volumes", "--format", "json",
                                  "--managed", VOL_ID, *self.backend)
        self.assertEqual(0, code)
        managed = [e for e in json.loads(out) if e["cinder_id"]]
        self.assertEqual([(VOL_ID, "already managed")],
                         [(e["cinder_id"], e["reason_not_safe"])
                          for e in managed])

    def test_cinder_made_name_needs_the_managed_ids(self):
        # size and manage get no managed list unless given one: a name
        # Cinder made is refused while its id is managed, or unknown.
        name = "volume-%s" % UNKNOWN_ID
        os.rename(os.path.join(self.dir, "raw.img"),
                  os.path.join(self.dir, name))
        before = snapshot_dir(self.dir)
        for flags, message in (
                ([], "--managed"),
                (["--managed", UNKNOWN_ID], "already managed")):
            for command in (["size", "volume", name],
                            ["manage", "volume", name, "--id", VOL_ID,
                             "--yes"]):
                with self.subTest(flags=flags, command=command[0]):
                    code, out, err = run_cli(*command, *flags,
                                             *self.backend)
                    self.assertEqual((2, ""), (code, out))
                    self.assertIn(message, err)
                    self.assertEqual(before, snapshot_dir(self.dir))
        # What unmanage left: Cinder manages other ids only.
        code, out, err = run_cli("manage", "volume", name, "--id", VOL_ID,
                                 "--yes", "--managed", SNAP_ID,
                                 *self.backend)
        self.assertEqual(0, code, err)
        self.assertEqual(["volume-" + VOL_ID],
                         [n for n in os.listdir(self.dir)
                          if n.startswith("volume-")])

    def test_size(self):
        code, out, _err = run_cli("size", "volume", "raw.img",
                                  *self.backend)
        self.assertEqual((0, "2\n"), (code, out))

    def test_manage_and_unmanage(self):
        before = test_file.checksum(os.path.join(self.dir, "raw.img"))
        code, out, err = run_cli("manage", "volume", "raw.img", "--id",
                                 VOL_ID, "--yes", "--format", "json",
                                 *self.backend)
        self.assertEqual(0, code, err)
        target = os.path.join(self.dir, "volume-" + VOL_ID)
        self.assertEqual({"id": VOL_ID, "name": target,
                          "reference": {"source-name": target},
                          "size": 2, "model_update": None}, json.loads(out))
        self.assertFalse(os.path.exists(os.path.join(self.dir, "raw.img")))
        self.assertEqual(before, test_file.checksum(target))
        code, out, err = run_cli("unmanage", "volume", "--id", VOL_ID,
                                 "--format", "json", *self.backend)
        self.assertEqual(0, code, err)
        self.assertEqual({"id": VOL_ID, "name": target, "unmanaged": True,
                          "reference": {"source-name": target}},
                         json.loads(out))
        self.assertEqual(before, test_file.checksum(target))

    def test_text_output(self):
        code, out, err = run_cli("manage", "volume", "raw.img", "--id",
                                 VOL_ID, "--yes", *self.backend)
        self.assertEqual(0, code, err)
        target = os.path.join(self.dir, "volume-" + VOL_ID)
        self.assertEqual('Managed {"source-name": "raw.img"} as volume %s: '
                         'now %s, 2 GiB.\n' % (VOL_ID, target), out)
        code, out, err = run_cli("unmanage", "volume", "--id", VOL_ID,
                                 *self.backend)
        self.assertEqual((0, "Unmanaged volume %s (%s); its data is "
                             "untouched.\n" % (VOL_ID, target)),
                         (code, out), err)

    def test_table_fits_the_terminal(self):
        code, out, err = run_cli("list", "volumes", *self.backend,
                                 env={"COLUMNS": "80"})
        self.assertEqual(0, code, err)
        self.assertEqual({80}, {len(line) for line in out.splitlines()})
        self.assertIn("| Safe to ", out)
        code, out, err = run_cli("list", "volumes", "--wide",
                                 *self.backend, env={"COLUMNS": "80"})
        self.assertEqual(0, code, err)
        self.assertGreater(len(out.splitlines()[0]), 120)

    def test_cinder_columns(self):
        code, out, err = run_cli("list", "snapshots", "--cinder-columns",
                                 "--wide", *self.backend)
        self.assertEqual(0, code, err)
        lines = out.splitlines()
        self.assertEqual(["reference", "size", "safe_to_manage",
                          "source_reference", "reason_not_safe",
                          "cinder_id", "extra_info"],
                         [c.strip() for c in lines[1].strip("|").split("|")])
        self.assertIn("| {'source-name': '%s/base.qcow2'} |" % self.dir,
                      lines[3])

    def test_size_as_json(self):
        code, out, err = run_cli("size", "volume", "raw.img", "--format",
                                 "json", *self.backend)
        self.assertEqual(0, code, err)
        self.assertEqual({"reference": {"source-name": "raw.img"},
                          "size": 2}, json.loads(out))

    def test_size_error_says_size(self):
        code, out, err = run_cli("size", "volume", "top.qcow2",
                                 *self.backend)
        self.assertEqual((2, ""), (code, out))
        self.assertEqual('manageable-driver: error: cannot size volume '
                         '{"source-name": "top.qcow2"}: not safe to manage: '
                         'backing file present: base.qcow2\n', err)

    def test_unmanage_checks_the_id(self):
        before = snapshot_dir(self.dir)
        code, out, err = run_cli("unmanage", "volume", "--id", UNKNOWN_ID,
                                 *self.backend)
        self.assertEqual((3, ""), (code, out))
        self.assertIn("No volume on this backend carries Cinder id %s"
                      % UNKNOWN_ID, err)
        self.assertIn("nothing changed", err)
        code, out, err = run_cli("unmanage", "volume", "--id", "not-a-uuid",
                                 *self.backend)
        self.assertEqual((2, ""), (code, out))
        self.assertIn("'not-a-uuid' is not a Cinder id (a UUID)", err)
        self.assertEqual(before, snapshot_dir(self.dir))

    def test_no_implicit_store(self):
        # Run where files lie about, with no backend flag: nothing is
        # listed, managed or renamed.
        before = snapshot_dir(self.dir)
        for argv in (["list", "volumes"],
                     ["manage", "volume", "raw.img", "--id", VOL_ID,
                      "--yes"]):
            with self.subTest(argv=argv):
                code, out, err = run_cli(*argv, "--lock-path", self.locks,
                                         cwd=self.dir)
                self.assertEqual((2, ""), (code, out))
                self.assertIn("no backend given", err)
                self.assertIn("--dir DIR", err)
        self.assertEqual(before, snapshot_dir(self.dir))

    def test_unsupported_format_size_is_unknown(self):
        test_file.qemu_img("create", "-q", "-f", "vmdk",
                           os.path.join(self.dir, "old.vmdk"), "1G")
        code, out, err = run_cli("list", "volumes", "--fields",
                                 "reference,size,reason_not_safe",
                                 *self.backend)
        self.assertEqual(0, code, err)
        line = [row for row in out.splitlines() if "old.vmdk" in row][0]
        self.assertEqual(["source-name=%s/old.vmdk" % self.dir, "unknown",
                          "unsupported format: vmdk"],
                         [c.strip() for c in line.strip("|").split("|")])
        code, out, _err = run_cli("list", "volumes", "--format", "json",
                                  *self.backend)
        sizes = {os.path.basename(e["reference"]["source-name"]): e["size"]
                 for e in json.loads(out)}
        self.assertIsNone(sizes["old.vmdk"])

    def test_marker_takes_what_manage_takes(self):
        full = os.path.join(self.dir, "base.qcow2")
        pages = []
        for marker in ("base.qcow2", full,
                       json.dumps({"source-name": full})):
            code, out, err = run_cli("list", "volumes", "--format", "json",
                                     "--marker", marker, *self.backend)
            self.assertEqual(0, code, err)
            pages.append(json.loads(out))
        self.assertEqual(pages[0], pages[1])
        self.assertEqual(pages[0], pages[2])
        self.assertEqual(self.driver().get_manageable_volumes(
            [], {"source-name": full}, None, None, ["reference"], ["desc"]),
            pages[0])
        code, _out, err = run_cli("list", "volumes", "--marker", "nope.img",
                                  *self.backend)
        self.assertEqual(2, code)
        self.assertIn('no listed object is {"source-name": "nope.img"}', err)

    def test_closed_pipe_is_quiet(self):
        for _ in range(5):
            # The reader goes away before the command writes: every
            # write fails with EPIPE.
            proc = subprocess.Popen(
                [COMMAND, "list", "volumes", "--format", "json",
                 *self.backend], stdout=subprocess.PIPE,
                stderr=subprocess.PIPE, text=True)
            proc.stdout.close()
            err = proc.stderr.read()
            self.assertEqual((141, ""), (proc.wait(timeout=60), err))
        proc = subprocess.run(
            ["bash", "-c", 'set -o pipefail; "$@" | head -1', "bash",
             COMMAND, "list", "volumes", "--format", "json", *self.backend],
            capture_output=True, text=True, timeout=60, check=False)
        self.assertEqual(("[\n", ""), (proc.stdout, proc.stderr))

    def test_ctrl_c_at_the_prompt(self):
        before = snapshot_dir(self.dir)
        proc = subprocess.Popen(
            [COMMAND, "manage", "volume", "raw.img", "--id", VOL_ID,
             *self.backend], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
            stderr=subprocess.PIPE, text=True,
            preexec_fn=_sigint_as_at_a_terminal)
        prompt = proc.stdout.read(len("Manage "))
        self.assertEqual("Manage ", prompt)
        # Ctrl-C while it waits for the answer: asleep in read(2).
        for _ in range(600):
            with open("/proc/%d/stat" % proc.pid) as f:
                if f.read().rpartition(")")[2].split()[0] == "S":
                    break
            time.sleep(0.05)
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=60)
        self.assertEqual(130, proc.returncode, err)
        self.assertNotIn("Traceback", err)
        self.assertEqual("manageable-driver: interrupted; nothing changed",
                         err.strip())
        self.assertEqual(before, snapshot_dir(self.dir))

    def test_name_templates_from_default(self):
        path = os.path.join(self.locks, "cinder.conf")
        with open(path, "w") as f:
            f.write("[DEFAULT]\nvolume_name_template = vol-%%s\n"
                    "[images]\nvolume_driver = "
                    "cinder.volume.drivers.nfs.NfsDriver\n"
                    "file_volume_dirs = %s\nmanageable_lock_path = %s\n"
                    % (self.dir, self.locks))
        code, out, err = run_cli("manage", "volume", "raw.img", "--id",
                                 VOL_ID, "--yes", "--config-file", path,
                                 "--backend", "images")
        self.assertEqual(0, code, err)
        self.assertIn("vol-" + VOL_ID, os.listdir(self.dir))
        self.assertIn("now %s/vol-%s" % (self.dir, VOL_ID), out)

    def test_lock_dir_is_shared_with_cinder(self):
        cinder_locks = os.path.join(self.locks, "cinder")
        os.mkdir(cinder_locks)
        os.chown(cinder_locks, 4242, 4343)
        ours = os.path.join(self.locks, "new", "manageable")
        path = os.path.join(self.locks, "cinder.conf")
        with open(path, "w") as f:
            f.write("[oslo_concurrency]\nlock_path = %s\n[images]\n"
                    "volume_driver = cinder.volume.drivers.nfs.NfsDriver\n"
                    "file_volume_dirs = %s\nmanageable_lock_path = %s\n"
                    % (cinder_locks, self.dir, ours))
        code, _out, err = run_cli("manage", "volume", "raw.img", "--id",
                                  VOL_ID, "--yes", "--config-file", path,
                                  "--backend", "images")
        self.assertEqual(0, code, err)
        st = os.stat(ours)
        self.assertEqual((4242, 4343, 0o2770),
                         (st.st_uid, st.st_gid, stat.S_IMODE(st.st_mode)))
        # Without a cinder.conf: the group cinder when the host has one.
        fresh = os.path.join(self.locks, "fresh")
        code, _out, err = run_cli("unmanage", "volume", "--id", VOL_ID,
                                  "--dir", self.dir, "--lock-path", fresh,
                                  "--format", "json")
        self.assertEqual(0, code, err)
        st = os.stat(fresh)
        self.assertEqual(0o2770, stat.S_IMODE(st.st_mode))
        try:
            gid = grp.getgrnam("cinder").gr_gid
        except KeyError:
            gid = os.getegid()
        self.assertEqual(gid, st.st_gid)

    def test_lock_dir_error_names_path_and_option(self):
        blocker = os.path.join(self.locks, "a-file")
        open(blocker, "w").close()
        before = snapshot_dir(self.dir)
        code, out, err = run_cli("manage", "volume", "raw.img", "--id",
                                 VOL_ID, "--yes", "--dir", self.dir,
                                 "--lock-path", blocker + "/locks")
        self.assertEqual((2, ""), (code, out))
        self.assertEqual("manageable-driver: error: cannot create the lock "
                         "directory %s/locks (--lock-path): %s is not a "
                         "directory\n" % (blocker, blocker), err)
        self.assertEqual(before, snapshot_dir(self.dir))

    def test_version(self):
        # The version of the installed distribution, as read outside the
        # checkout (whose stale egg-info a test process may see first).
        installed = subprocess.run(
            [sys.executable, "-c", "from importlib import metadata; "
             "print(metadata.version('manageable-driver'))"],
            cwd="/", capture_output=True, text=True, check=True).stdout
        code, out, _err = run_cli("--version")
        self.assertEqual((0, "manageable-driver %s" % installed),
                         (code, out))
        self.assertRegex(installed, r"^\d+\.\d+\.\d+")

    def test_bash_completion(self):
        code, script, err = run_cli("completion", "bash")
        self.assertEqual(0, code, err)
        path = os.path.join(self.locks, "completion.bash")
        with open(path, "w") as f:
            f.write(script)

        def complete(line):
            words = line.split(" ")
            proc = subprocess.run(
                ["bash", "-c", textwrap.dedent("""\
                    source "$1"; shift
                    COMP_WORDS=("$@"); COMP_CWORD=$(($# - 1))
                    _manageable_driver
                    printf '%s\\n' "${COMPREPLY[@]}"
                    """), "bash", path, *words],
                capture_output=True, text=True, timeout=30, check=True)
            return sorted(proc.stdout.split())

        self.assertEqual(["--help", "--version", "completion", "list",
                          "manage", "size", "unmanage"],
                         complete("manageable-driver "))
        self.assertEqual(["snapshots", "volumes"],
                         complete("manageable-driver list "))
        self.assertEqual(["--volume-group", "--volume-id"],
                         complete("manageable-driver manage snapshot "
                                  "--dir /x --vol"))
        self.assertEqual(["json", "table"],
                         complete("manageable-driver list volumes --format "))
        # A directory flag completes directories (compgen -d).
        self.assertEqual([self.dir],
                         complete("manageable-driver list volumes --dir "
                                  + self.dir))

    def test_confirmation(self):
        before = snapshot_dir(self.dir)
        code, _out, err = run_cli("manage", "volume", "raw.img", "--id",
                                  VOL_ID, *self.backend, stdin="n\n")
        self.assertEqual(1, code)
        self.assertIn("nothing changed", err)
        self.assertEqual(before, snapshot_dir(self.dir))
        code, _out, err = run_cli("manage", "volume", "raw.img", "--id",
                                  VOL_ID, *self.backend, stdin="y\n")
        self.assertEqual(0, code, err)
        self.assertIn("volume-" + VOL_ID, os.listdir(self.dir))

    def test_refused_manage_changes_nothing(self):
        before = snapshot_dir(self.dir)
        cases = [
            (["top.qcow2"], "backing file present: base.qcow2"),
            (["../../etc/passwd"], "path component '..' is not allowed"),
            (["/etc/passwd"], "/etc/passwd"),
            (['{"source-id": "5"}'], "needs one of the keys source-name"),
            (['{"source-name": 5}'], "source-name must be a string"),
            (["missing.img"], "missing.img"),
        ]
        for ref, message in cases:
            with self.subTest(ref=ref):
                code, out, err = run_cli("manage", "volume", *ref, "--id",
                                         VOL_ID, "--yes", *self.backend)
                self.assertEqual((2, ""), (code, out))
                self.assertIn(message, err)
                self.assertNotIn("Traceback", err)
                self.assertEqual(1, len(err.splitlines()), err)
                self.assertEqual(before, snapshot_dir(self.dir))

    def test_type_mismatch_is_refused(self):
        before = snapshot_dir(self.dir)
        code, _out, err = run_cli(
            "manage", "volume", "raw.img", "--id", VOL_ID, "--yes",
            "--extra-spec", "volume_format=qcow2", *self.backend)
        self.assertEqual(2, code)
        self.assertIn("volume type mismatch", err)
        self.assertEqual(before, snapshot_dir(self.dir))

    def test_manage_snapshot(self):
        # The snapshot's volume must be one Cinder manages: refused
        # before that, as Cinder's API refuses it.
        before = snapshot_dir(self.dir)
        code, out, err = run_cli("manage", "snapshot", "base.qcow2",
                                 "--id", SNAP_ID, "--volume-id", VOL_ID,
                                 "--yes", *self.backend)
        self.assertEqual((2, ""), (code, out))
        self.assertIn("not of volume volume-" + VOL_ID, err)
        self.assertEqual(before, snapshot_dir(self.dir))
        # The overlay as Cinder names a volume it manages.
        os.rename(os.path.join(self.dir, "top.qcow2"),
                  os.path.join(self.dir, "volume-" + VOL_ID))
        code, out, err = run_cli("manage", "snapshot", "base.qcow2",
                                 "--id", SNAP_ID, "--volume-id", VOL_ID,
                                 "--yes", "--format", "json", *self.backend)
        self.assertEqual(0, code, err)
        self.assertEqual(os.path.join(self.dir, "snapshot-" + SNAP_ID),
                         json.loads(out)["name"])
        chain = test_file.info(os.path.join(self.dir, "volume-" + VOL_ID),
                               "--backing-chain")
        self.assertEqual("snapshot-" + SNAP_ID,
                         os.path.basename(chain[1]["filename"]))

    def test_config_file_backend(self):
        path = os.path.join(self.dir, "..", os.path.basename(self.dir)
                            + ".conf")
        self.addCleanup(os.unlink, path)
        with open(path, "w") as f:
            f.write("[DEFAULT]\nenabled_backends = images\n\n[images]\n"
                    "volume_driver = "
                    "manageable_driver.cinder.file.FileManageableDriver\n"
                    "file_volume_dirs = %s\nmanageable_lock_path = %s\n"
                    % (self.dir, self.locks))
        code, out, err = run_cli("list", "volumes", "--format", "json",
                                 "--config-file", path, "--backend",
                                 "images")
        self.assertEqual(0, code, err)
        self.assertEqual(3, len(json.loads(out)))


class LVMCLITest(base.TestCase):

    def setUp(self):
        super().setUp()
        self.require_root()
        self.require_tools("lvm", "losetup")
        self.vg = self.useFixture(lvm_fixtures.LVMVolumeGroup())
        self.vg.restore(lvm_fixtures.mixed_layout())
        self.locks = self.useFixture(fixtures.TempDir()).path
        self.backend = ["--volume-group", self.vg.vg_name, "--lvm-conf",
                        self.vg.conf_file, "--lock-path", self.locks]

    def driver(self):
        conf = cfg.ConfigOpts()
        conf(args=[])
        conf.register_opts(lvm_options.lvm_opts)
        conf.set_override("volume_group", self.vg.vg_name)
        conf.set_override("lvm_conf_file", self.vg.conf_file)
        return LVMDriver(conf)

    def test_json_equals_the_driver_return_value(self):
        for kind, method in (("volumes", "get_manageable_volumes"),
                             ("snapshots", "get_manageable_snapshots")):
            with self.subTest(kind=kind):
                code, out, err = run_cli("list", kind, "--format", "json",
                                         *self.backend)
                self.assertEqual(0, code, err)
                expected = getattr(self.driver(), method)(
                    [], None, None, None, ["reference"], ["desc"])
                self.assertEqual(expected, json.loads(out))
                self.assertTrue(expected)

    def test_manage_renames_the_lv(self):
        code, _out, err = run_cli("manage", "volume", "odd", "--id", VOL_ID,
                                  "--yes", *self.backend)
        self.assertEqual(0, code, err)
        names = self.vg.lv_names()
        self.assertIn("volume-" + VOL_ID, names)
        self.assertNotIn("odd", names)

    def test_refused_manage_changes_nothing(self):
        before = self.vg.lvm("lvs", "-a", "--noheadings", "-o",
                             "lv_uuid,lv_name,lv_size,lv_tags",
                             self.vg.vg_name)
        for ref, message in ((["snap1"], "snapshot"),
                             (["other-vg/plain"], "other-vg"),
                             (["-plain"], "-plain"),
                             (["nonexistent"], "nonexistent")):
            with self.subTest(ref=ref):
                # "--" lets a reference start with "-", as for any tool.
                code, out, err = run_cli("manage", "volume", "--id",
                                         VOL_ID, "--yes", *self.backend,
                                         "--", *ref)
                self.assertEqual((2, ""), (code, out))
                self.assertIn(message, err)
                self.assertNotIn("Traceback", err)
        self.assertEqual(before, self.vg.lvm(
            "lvs", "-a", "--noheadings", "-o",
            "lv_uuid,lv_name,lv_size,lv_tags", self.vg.vg_name))

    def cinder_conf(self, volume_driver, extra=""):
        """A cinder.conf with the backend [lvm-1]; its CLI arguments."""
        path = os.path.join(self.vg.tmpdir, "cinder.conf")
        with open(path, "w") as f:
            f.write("[lvm-1]\nvolume_driver = %s\n"
                    "volume_group = %s\nlvm_conf_file = %s\n"
                    "manageable_lock_path = %s\n%s"
                    % (volume_driver, self.vg.vg_name, self.vg.conf_file,
                       self.locks, extra))
        return ["--config-file", path, "--backend", "lvm-1"]

    def test_config_file_backend(self):
        backend = self.cinder_conf(
            "cinder.volume.drivers.lvm.LVMVolumeDriver")
        code, out, err = run_cli("size", "volume", "odd", *backend)
        self.assertEqual((0, "2\n"), (code, out), err)

    def test_backend_failure_exits_1(self):
        code, out, err = run_cli("list", "volumes", "--volume-group",
                                 "no-such-vg-md", "--lvm-conf",
                                 self.vg.conf_file)
        self.assertEqual((1, ""), (code, out))
        # The cause first, then which tool; LVM's warnings left out.
        self.assertTrue(err.startswith(
            'manageable-driver: error: Volume group "no-such-vg-md" not '
            'found'), err)
        self.assertIn("(lvs exited with 5; --debug shows the command line)",
                      err)
        self.assertNotIn("WARNING", err)
        self.assertLess(len(err), 200)
        self.assertNotIn("Traceback", err)

    def test_printed_name_is_the_lv_name(self):
        code, out, err = run_cli("manage", "snapshot", "snap1", "--id",
                                 SNAP_ID, "--volume-id", VOL_ID, "--yes",
                                 *self.backend)
        # snap1's origin is not volume VOL_ID: refused, nothing changed.
        self.assertEqual((2, ""), (code, out))
        self.assertIn("snap1", err)
        code, _out, err = run_cli("manage", "volume", "origin", "--id",
                                  VOL_ID, "--yes", *self.backend)
        self.assertEqual(0, code, err)
        code, out, err = run_cli("manage", "snapshot", "snap1", "--id",
                                 SNAP_ID, "--volume-id", VOL_ID, "--yes",
                                 "--format", "json", *self.backend)
        self.assertEqual(0, code, err)
        self.assertEqual("_snapshot-" + SNAP_ID, json.loads(out)["name"])
        self.assertIn("_snapshot-" + SNAP_ID, self.vg.lv_names())

    def test_marker_by_name_path_or_uuid(self):
        uuid = self.vg.lvm("lvs", "--noheadings", "-o", "lv_uuid",
                           "%s/odd" % self.vg.vg_name).strip()
        pages = []
        for marker in ("odd", "%s/odd" % self.vg.vg_name,
                       json.dumps({"source-id": uuid})):
            code, out, err = run_cli("list", "volumes", "--format", "json",
                                     "--marker", marker, *self.backend)
            self.assertEqual(0, code, err)
            pages.append(json.loads(out))
        self.assertEqual([pages[0]] * 3, pages)
        self.assertEqual(self.driver().get_manageable_volumes(
            [], {"source-name": "odd"}, None, None, ["reference"], ["desc"]),
            pages[0])

    def test_unmanage_snapshot(self):
        snapshot_id = lvm_fixtures.CINDER_SNAPSHOT_ID
        code, out, err = run_cli("unmanage", "snapshot", "--id",
                                 snapshot_id, "--format", "json",
                                 *self.backend)
        self.assertEqual(0, code, err)
        self.assertEqual("_snapshot-" + snapshot_id, json.loads(out)["name"])
        code, out, err = run_cli("unmanage", "snapshot", "--id", UNKNOWN_ID,
                                 *self.backend)
        self.assertEqual((3, ""), (code, out))
        self.assertIn("No snapshot on this backend carries Cinder id", err)

    def test_tag_mode_keeps_the_name(self):
        backend = self.cinder_conf(
            "manageable_driver.cinder.lvm.LVMVolumeDriver",
            "lvm_manage_mode = tag\n")
        code, out, err = run_cli("manage", "volume", "odd", "--id", VOL_ID,
                                 "--yes", "--format", "json", *backend)
        self.assertEqual(0, code, err)
        self.assertEqual("odd", json.loads(out)["name"])
        self.assertIn("odd", self.vg.lv_names())
        code, out, err = run_cli("unmanage", "volume", "--id", VOL_ID,
                                 *backend)
        self.assertEqual((0, "Unmanaged volume %s (odd); its data is "
                             "untouched.\n" % VOL_ID), (code, out), err)
        code, _out, err = run_cli("unmanage", "volume", "--id", VOL_ID,
                                  *backend)
        self.assertEqual(3, code, err)


class PluginCLITest(base.TestCase):
    """A vendor backend joins the command through its own package's entry
    point: here the guide's example, installed as a vendor would install
    it (a distribution's metadata on the path), the command unchanged.
    """

    def setUp(self):
        super().setUp()
        tmp = self.useFixture(fixtures.TempDir()).path
        self.inventory = os.path.join(tmp, "inventory.json")
        with open(self.inventory, "w") as f:
            json.dump({"volumes": [{"name": "db1", "size": 3 * 1024 ** 3},
                                   {"name": "busy", "size": 1024 ** 3,
                                    "in_use": True}],
                       "snapshots": []}, f)
        self.site = os.path.join(tmp, "site")
        dist_info = os.path.join(self.site,
                                 "vendor_inventory-1.0.dist-info")
        os.makedirs(dist_info)
        with open(os.path.join(dist_info, "METADATA"), "w") as f:
            f.write("Metadata-Version: 2.1\nName: vendor-inventory\n"
                    "Version: 1.0\n")
        with open(os.path.join(dist_info, "entry_points.txt"), "w") as f:
            f.write("[manageable_driver.backends]\ninventory = "
                    "manageable_driver.examples.inventory:"
                    "InventoryCLIBackend\n")
        self.env = {"PYTHONPATH": self.site}
        self.backend = ["--inventory", self.inventory, "--lock-path",
                        os.path.join(tmp, "locks")]

    def test_vendor_backend_lists_and_manages(self):
        from manageable_driver.examples import inventory
        code, out, err = run_cli("list", "volumes", "--format", "json",
                                 *self.backend, env=self.env)
        self.assertEqual(0, code, err)
        conf = cfg.ConfigOpts()
        conf(args=[])
        conf.register_opts(inventory.OPTIONS)
        conf.set_override("inventory_path", self.inventory)
        self.assertEqual(inventory.InventoryDriver(conf).get_manageable_volumes(
            [], None, None, None, ["reference"], ["desc"]), json.loads(out))
        code, out, err = run_cli("manage", "volume", "db1", "--id", VOL_ID,
                                 "--yes", "--format", "json", *self.backend,
                                 env=self.env)
        self.assertEqual(0, code, err)
        self.assertEqual(("volume-" + VOL_ID, 3),
                         (json.loads(out)["name"], json.loads(out)["size"]))
        with open(self.inventory) as f:
            self.assertEqual(VOL_ID, json.load(f)["volumes"][0]["cinder_id"])

    def test_vendor_backend_in_help_and_choices(self):
        code, out, _err = run_cli("list", "volumes", "--help", env=self.env)
        self.assertEqual(0, code)
        self.assertIn("inventory backend:", out)
        self.assertIn("--inventory FILE", out)
        code, _out, err = run_cli("list", "volumes", env=self.env)
        self.assertEqual(2, code)
        self.assertIn("--inventory FILE", err)
        # A cinder.conf naming the vendor's driver class finds it too.
        path = os.path.join(self.site, "cinder.conf")
        with open(path, "w") as f:
            f.write("[inv]\nvolume_driver = "
                    "vendor_pkg.cinder.InventoryVolumeDriver\n"
                    "inventory_path = %s\n" % self.inventory)
        code, out, err = run_cli("size", "volume", "db1", "--config-file",
                                 path, "--backend", "inv", env=self.env)
        self.assertEqual((0, "3\n"), (code, out), err)

    def test_without_the_plugin_the_flag_is_unknown(self):
        code, _out, err = run_cli("list", "volumes", *self.backend)
        self.assertEqual(2, code)
        self.assertIn("unrecognized arguments: --inventory", err)
