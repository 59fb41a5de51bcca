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

import json
import os
import subprocess
import sys

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


def run_cli(*args, cwd=None, stdin=""):
    """Run the CLI in a new interpreter; return (code, stdout, stderr)."""
    proc = subprocess.run(
        [sys.executable, "-m", "manageable_driver.cmd.cli", *args],
        input=stdin, capture_output=True, text=True, cwd=cwd or REPO,
        env=dict(os.environ, PYTHONPATH=REPO), timeout=120, check=False)
    return proc.returncode, proc.stdout, proc.stderr


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

    def test_size(self):
        code, out, _err = run_cli("size", "volume", "raw.img",
                                  *self.backend)
        self.assertEqual((0, "2\n"), (code, out))

    def test_manage_and_unmanage(self):
        before = test_file.checksum(os.path.join(self.dir, "raw.img"))
        code, out, err = run_cli("manage", "volume", "raw.img", "--id",
                                 VOL_ID, "--yes", *self.backend)
        self.assertEqual(0, code, err)
        self.assertEqual({"id": VOL_ID, "name": "volume-" + VOL_ID,
                          "size": 2, "model_update": None}, json.loads(out))
        target = os.path.join(self.dir, "volume-" + VOL_ID)
        self.assertFalse(os.path.exists(os.path.join(self.dir, "raw.img")))
        self.assertEqual(before, test_file.checksum(target))
        code, _out, err = run_cli("unmanage", "volume", "--id", VOL_ID,
                                  *self.backend)
        self.assertEqual(0, code, err)
        self.assertEqual(before, test_file.checksum(target))

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
        code, _out, err = run_cli("manage", "snapshot", "base.qcow2",
                                  "--id", SNAP_ID, "--yes", *self.backend)
        self.assertEqual(0, code, err)
        chain = test_file.info(os.path.join(self.dir, "top.qcow2"),
                               "--backing-chain")
        self.assertEqual("snapshot-" + SNAP_ID,
                         os.path.basename(chain[1]["filename"]))

    def test_default_backend_is_the_current_directory(self):
        code, out, err = run_cli("list", "volumes", "--format", "json",
                                 "--lock-path", self.locks, cwd=self.dir)
        self.assertEqual(0, code, err)
        self.assertEqual(
            {"raw.img", "base.qcow2", "top.qcow2"},
            {os.path.basename(e["reference"]["source-name"])
             for e in json.loads(out)})

    def test_config_file_backend(self):
        path = os.path.join(self.dir, "..", os.path.basename(self.dir)
                            + ".conf")
        self.addCleanup(os.unlink, path)
        with open(path, "w") as f:
            f.write("[DEFAULT]\nenabled_backends = images\n\n[images]\n"
                    "volume_driver = manageable_driver.cinder.file.Driver\n"
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

    def test_config_file_backend(self):
        path = os.path.join(self.vg.tmpdir, "cinder.conf")
        with open(path, "w") as f:
            f.write("[lvm-1]\nvolume_driver = "
                    "cinder.volume.drivers.lvm.LVMVolumeDriver\n"
                    "volume_group = %s\nlvm_conf_file = %s\n"
                    "manageable_lock_path = %s\n"
                    % (self.vg.vg_name, self.vg.conf_file, self.locks))
        code, out, err = run_cli("size", "volume", "odd", "--config-file",
                                 path, "--backend", "lvm-1")
        self.assertEqual((0, "2\n"), (code, out), err)

    def test_backend_failure_exits_1(self):
        code, out, err = run_cli("list", "volumes", "--volume-group",
                                 "no-such-vg-md", "--lvm-conf",
                                 self.vg.conf_file)
        self.assertEqual((1, ""), (code, out))
        self.assertIn("no-such-vg-md", err)
        self.assertNotIn("Traceback", err)
