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

"""The drivers run as an unprivileged user, reaching root only through
real ``sudo`` and oslo.rootwrap with the shipped filters, as cinder-volume
runs them (see doc/source/admin/deployment.rst)."""

import os
import subprocess

import fixtures

from tests import base
from tests.functional import lvm_fixtures as layout
from tests.functional import test_file
from tests.functional import unprivileged

VOLUME_ID = "11111111-2222-4333-8444-555555555555"
VOL = {"id": VOLUME_ID, "name": "volume-%s" % VOLUME_ID,
       "volume_type": {"extra_specs": {}}}
LIST = ["get_manageable_volumes", [], None, 1000, 0, ["reference"], ["asc"]]
LIST_SNAPSHOTS = ["get_manageable_snapshots", [], None, 1000, 0,
                  ["reference"], ["asc"]]

# LVM reads no device with this conf: a VG is found only when the conf
# is ignored.
_BLIND_CONF = """\
devices {
    global_filter = [ "r|.*|" ]
    use_devicesfile = 0
    obtain_device_list_from_udev = 0
}
global {
    activation = 0
}
"""


def names(entries):
    return sorted(e["reference"]["source-name"] for e in entries)


class UnprivilegedTestCase(base.TestCase):

    def setUp(self):
        super().setUp()
        self.require_root()
        self.require_tools("sudo", "visudo", "useradd")
        self.rootwrap = self.useFixture(unprivileged.RootwrapFixture())
        self.lock_path = self.rootwrap.user_dir()

    def assert_unauthorized(self, result, error="CommandFailed"):
        # cinder-rootwrap's refusal, as the library reports it.
        self.assertEqual(error, result.get("error"), result)
        self.assertIn("Unauthorized command", result["message"])


class LVMTest(UnprivilegedTestCase):

    def setUp(self):
        super().setUp()
        self.require_tools("losetup", "lvm", "vgcfgrestore")
        self.vg = self.useFixture(layout.LVMVolumeGroup())
        self.vg.restore(layout.mixed_layout())
        # The user must see that lvm_conf_file exists (as cinder-volume
        # must see /etc/cinder/lvm.conf): open the fixture's directory and
        # the test's private TMPDIR holding it for traversal.
        for path in (self.vg.tmpdir, os.path.dirname(self.vg.tmpdir)):
            os.chmod(path, 0o711)  # noqa: S103 - traversal only

    def options(self, **extra):
        options = {"volume_group": self.vg.vg_name,
                   "lvm_conf_file": self.vg.conf_file,
                   "lvm_root_helper": self.rootwrap.root_helper,
                   "manageable_lock_path": self.lock_path}
        options.update(extra)
        return options

    def test_list_manage_unmanage(self):
        whoami, listed, snaps, managed, after, unmanaged = (
            unprivileged.run_as_user("lvm", self.options(), [
                ["whoami"], LIST, LIST_SNAPSHOTS,
                ["manage_existing", VOL, {"source-name": "plain"}],
                LIST, ["unmanage", VOL]]))
        self.assertEqual(unprivileged.ensure_user().pw_uid,
                         whoami["result"])
        self.assertEqual(
            ["morigin", "odd", "origin", "plain", "pvmove_x", "split",
             "tagged", "thin1", "tiny",
             "volume-%s" % layout.CINDER_VOLUME_ID],
            names(listed["result"]))
        self.assertIn("result", snaps)
        self.assertNotIn("error", managed)
        self.assertIn("volume-%s" % VOLUME_ID, names(after["result"]))
        self.assertNotIn("error", unmanaged)
        lv_names = self.vg.lv_names()
        self.assertIn("volume-%s" % VOLUME_ID, lv_names)
        self.assertNotIn("plain", lv_names)

    def test_tag_mode_runs_lvchange_through_rootwrap(self):
        managed, = unprivileged.run_as_user(
            "lvm", self.options(lvm_manage_mode="tag"),
            [["manage_existing", VOL, {"source-name": "odd"}]])
        self.assertNotIn("error", managed)
        self.assertEqual("cinder-volume-id=%s" % VOLUME_ID,
                         self.vg.lv_tags("odd"))

    def test_lvm_conf_file_is_honoured_through_sudo(self):
        blind = os.path.join(self.rootwrap.user_dir(), "lvm.conf")
        with open(blind, "w") as f:
            f.write(_BLIND_CONF)
        listed, = unprivileged.run_as_user(
            "lvm", self.options(lvm_conf_file=blind), [LIST])
        self.assertEqual("CommandFailed", listed.get("error"), listed)
        self.assertIn(self.vg.vg_name, listed["message"])
        self.assertIn("not found", listed["message"])

    def test_hidden_lvm_conf_file_is_refused(self):
        # A conf the user cannot even stat must not quietly become
        # /etc/lvm (which may see other VGs).
        hidden = self.useFixture(fixtures.TempDir()).path
        os.chmod(hidden, 0o700)
        conf = os.path.join(hidden, "lvm.conf")
        with open(conf, "w") as f:
            f.write(_BLIND_CONF)
        listed, = unprivileged.run_as_user(
            "lvm", self.options(lvm_conf_file=conf), [LIST])
        self.assertEqual("InvalidInput", listed.get("error"), listed)
        self.assertIn("lvm_conf_file %s cannot be checked" % conf,
                      listed["message"])

    def test_without_the_filters_rootwrap_refuses(self):
        empty = self.rootwrap.user_dir()
        other = self.useFixture(unprivileged.RootwrapFixture(empty))
        listed, = unprivileged.run_as_user(
            "lvm", self.options(lvm_root_helper=other.root_helper), [LIST])
        self.assert_unauthorized(listed)

    def test_environment_only_in_the_process_is_refused(self):
        # What the runner did before it passed env arguments: Cinder's
        # filters and ours refuse it.
        argv = (["runuser", "-u", unprivileged.USER, "--"]
                + self.rootwrap.root_helper.split()
                + ["lvs", self.vg.vg_name])
        proc = subprocess.run(argv, capture_output=True, text=True,
                              env=dict(os.environ,
                                       LVM_SYSTEM_DIR=self.vg.conf_dir))
        self.assertEqual(99, proc.returncode, proc.stderr)
        self.assertIn("Unauthorized command", proc.stderr)


class FileTest(UnprivilegedTestCase):

    def setUp(self):
        super().setUp()
        self.require_tools("qemu-img", "qemu-io")
        self.dir = self.rootwrap.user_dir()
        self.user = unprivileged.ensure_user()

    def create(self, name, args):
        test_file.qemu_img("create", "-q", *[
            os.path.join(self.dir, name) if a == "@" else a for a in args],
            cwd=self.dir)
        os.chown(os.path.join(self.dir, name), self.user.pw_uid,
                 self.user.pw_gid)
        return {"source-name": os.path.join(self.dir, name)}

    def options(self, **extra):
        options = {"file_volume_dirs": [self.dir],
                   "file_root_helper": self.rootwrap.root_helper,
                   "manageable_lock_path": self.lock_path}
        options.update(extra)
        return options

    def test_list_manage_unmanage(self):
        ref = self.create("v2.qcow2", test_file.IMAGES["v2.qcow2"][0])
        digest = test_file.checksum(ref["source-name"])
        volume = {"name": test_file.V1, "volume_type": {
            "extra_specs": {"volume_format": "qcow2"}}}
        listed, size, managed, unmanaged = unprivileged.run_as_user(
            "file", self.options(), [
                LIST, ["manage_existing_get_size", volume, ref],
                ["manage_existing", volume, ref], ["unmanage", volume]])
        self.assertEqual([ref["source-name"]], names(listed["result"]))
        self.assertEqual({"result": 3}, size)
        self.assertNotIn("error", managed)
        self.assertNotIn("error", unmanaged)
        self.assertEqual([test_file.V1], os.listdir(self.dir))
        self.assertEqual(digest, test_file.checksum(
            os.path.join(self.dir, test_file.V1)))

    def test_snapshot_manage_rebases_through_rootwrap(self):
        self.create("base.qcow2", test_file.IMAGES["base.qcow2"][0])
        self.create(test_file.V1, ["-f", "qcow2", "-b", "base.qcow2", "-F",
                                   "qcow2", "@"])
        snapshot = {"name": test_file.S1,
                    "volume": {"name": test_file.V1}}
        ref = {"source-name": os.path.join(self.dir, "base.qcow2")}
        managed, unmanaged = unprivileged.run_as_user(
            "file", self.options(), [
                ["manage_existing_snapshot", snapshot, ref],
                ["unmanage_snapshot", snapshot]])
        self.assertNotIn("error", managed)
        chain = test_file.info(os.path.join(self.dir, test_file.V1),
                               "--backing-chain")
        self.assertEqual([test_file.V1, test_file.S1],
                         [os.path.basename(i["filename"]) for i in chain])

    def test_without_the_filters_rootwrap_refuses(self):
        ref = self.create("v2.qcow2", test_file.IMAGES["v2.qcow2"][0])
        empty = self.rootwrap.user_dir()
        other = self.useFixture(unprivileged.RootwrapFixture(empty))
        volume = {"name": test_file.V1, "volume_type": None}
        managed, = unprivileged.run_as_user(
            "file", self.options(file_root_helper=other.root_helper),
            [["manage_existing", volume, ref]])
        # The file driver reports what qemu-img said as the reason the
        # reference cannot be managed.
        self.assert_unauthorized(managed, "ManageExistingInvalidReference")
        self.assertEqual(["v2.qcow2"], os.listdir(self.dir))
