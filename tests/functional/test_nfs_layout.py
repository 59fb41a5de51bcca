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

"""The file backend in Cinder's NFS layout, on real files and qemu-img.

A volume ``volume-V`` with a snapshot ``S`` as Cinder's NFS driver lays it
out: the qcow2 overlay ``volume-V.S`` and ``volume-V.info`` recording it.
Cinder's own code on that layout is ``tests/compat/test_dropin_nfs.py``.
"""

import json
import os
import shutil
import subprocess
import sys
import tempfile
import uuid

import fixtures
from oslo_config import cfg

from manageable_driver import exception
from manageable_driver import listing
from manageable_driver import opts
from manageable_driver import testing
from manageable_driver.drivers.file import nfs_layout
from manageable_driver.drivers.file import options
from tests import base

VOLUME_ID = str(uuid.uuid4())
VOLUME = "volume-%s" % VOLUME_ID


class NfsLayoutTest(base.TestCase):

    def setUp(self):
        super().setUp()
        self.require_tools("qemu-img")
        self.dir = self.useFixture(fixtures.TempDir()).path
        self.lock_path = self.useFixture(fixtures.TempDir()).path
        self.make_layout()

    def make_layout(self):
        self.snapshot_id = str(uuid.uuid4())
        self.overlay = "%s.%s" % (VOLUME, self.snapshot_id)
        with open(self.path(VOLUME), "wb") as f:
            f.truncate(1024 ** 3)
        subprocess.run(["qemu-img", "create", "-q", "-f", "qcow2", "-F",
                        "raw", "-b", VOLUME, self.overlay, "1G"],
                       check=True, cwd=self.dir)
        self.record = {"active": self.overlay,
                       self.snapshot_id: self.overlay}
        self.write_info(self.record)

    def path(self, name):
        return os.path.join(self.dir, name)

    def write_info(self, data):
        with open(self.path(VOLUME + ".info"), "w") as f:
            json.dump(data, f)

    def info(self):
        with open(self.path(VOLUME + ".info")) as f:
            return json.load(f)

    def driver(self):
        conf = cfg.ConfigOpts()
        conf.register_opts(opts.common_opts + options.file_opts)
        conf.set_override("file_volume_dirs", [self.dir])
        conf.set_override("manageable_lock_path", self.lock_path)
        driver = nfs_layout.NfsLayoutDriver(conf)
        driver.cinder_manages_lookup = listing.managed_lookup(())
        return driver

    def snapshot(self, snapshot_id=None):
        snapshot_id = snapshot_id or str(uuid.uuid4())
        return testing.CinderObject(
            id=snapshot_id, name="snapshot-%s" % snapshot_id,
            volume=testing.CinderObject(id=VOLUME_ID, name=VOLUME))

    def test_listed_by_the_id_the_record_holds(self):
        entries = self.driver().get_manageable_snapshots(
            [], None, 100, 0, ["reference"], ["asc"])
        self.assertEqual(
            [({"source-id": self.snapshot_id}, True, 1,
              {"source-name": self.path(VOLUME)})],
            [(e["reference"], e["safe_to_manage"], e["size"],
              e["source_reference"]) for e in entries])

    def test_manage_rekeys_the_record_and_keeps_its_mode(self):
        os.chmod(self.path(VOLUME + ".info"), 0o660)
        snapshot = self.snapshot()
        self.driver().manage_existing_snapshot(
            snapshot, {"source-id": self.snapshot_id})
        self.assertEqual({"active": self.overlay,
                          snapshot["id"]: self.overlay}, self.info())
        self.assertEqual(0o660, os.stat(self.path(VOLUME + ".info")).st_mode
                         & 0o777)
        # No temporary file left beside it.
        self.assertEqual(sorted([VOLUME, VOLUME + ".info", self.overlay]),
                         sorted(os.listdir(self.dir)))

    def test_manage_by_the_file_recorded(self):
        snapshot = self.snapshot()
        driver = self.driver()
        driver.manage_existing_snapshot(snapshot,
                                        {"source-name": self.overlay})
        # Asked again (a retry): done already, nothing changes.
        driver.manage_existing_snapshot(snapshot,
                                        {"source-name": self.overlay})
        self.assertEqual({"active": self.overlay,
                          snapshot["id"]: self.overlay}, self.info())

    def test_refusals_change_nothing(self):
        driver = self.driver()
        cases = [
            ({"source-id": "active"}, self.snapshot()),
            ({"source-id": str(uuid.uuid4())}, self.snapshot()),
            ({"source-name": "volume-x"}, self.snapshot()),
        ]
        other = self.snapshot()
        other["volume"] = testing.CinderObject(id="x", name="volume-other")
        cases.append(({"source-id": self.snapshot_id}, other))
        for ref, snapshot in cases:
            with self.subTest(ref=ref):
                self.assertRaises(exception.ManageExistingInvalidReference,
                                  driver.manage_existing_snapshot,
                                  snapshot, ref)
        # Cinder still manages the recorded id: already managed.
        driver.cinder_manages_lookup = listing.managed_lookup(
            [self.snapshot_id])
        self.assertRaises(exception.ManageExistingAlreadyManaged,
                          driver.manage_existing_snapshot, self.snapshot(),
                          {"source-id": self.snapshot_id})
        self.assertEqual(self.record, self.info())

    def test_unmanage_changes_nothing(self):
        before = {name: os.stat(self.path(name)).st_mtime_ns
                  for name in os.listdir(self.dir)}
        self.driver().unmanage_snapshot(self.snapshot(self.snapshot_id))
        self.assertEqual(before, {name: os.stat(self.path(name)).st_mtime_ns
                                  for name in os.listdir(self.dir)})

    def test_volume_with_snapshots_is_refused(self):
        volume = testing.CinderObject(id=str(uuid.uuid4()), volume_type=None)
        volume["name"] = "volume-%s" % volume["id"]
        exc = self.assertRaises(exception.ManageExistingInvalidReference,
                                self.driver().manage_existing, volume,
                                {"source-name": VOLUME})
        self.assertIn(self.snapshot_id, str(exc))
        self.assertEqual(sorted([VOLUME, VOLUME + ".info", self.overlay]),
                         sorted(os.listdir(self.dir)))

    def user_dir(self, user):
        path = tempfile.mkdtemp(prefix="md-user-", dir="/tmp")  # noqa: S108
        self.addCleanup(shutil.rmtree, path, ignore_errors=True)
        os.chmod(path, 0o755)  # noqa: S103 - the user works here
        os.chown(path, user.pw_uid, user.pw_gid)
        return path

    def test_unprivileged_rewrites_a_root_record_in_place(self):
        # cinder-volume runs unprivileged; Cinder made the record as root
        # through its root helper, mode 0666 (nas_secure_file_permissions
        # false). A new file could not get root as its owner: the record
        # is rewritten in place, keeping its owner.
        self.require_root()
        from tests.functional import unprivileged
        user = unprivileged.ensure_user()
        # Directories of the user's own, in /tmp: the test's TMPDIR is
        # private to root.
        self.dir, self.lock_path = (self.user_dir(user) for _ in range(2))
        self.make_layout()
        # What Cinder sets on the record it made (a canary of the test).
        os.chmod(self.path(VOLUME + ".info"), 0o666)  # noqa: S103
        snapshot_id = str(uuid.uuid4())
        # Imported as root, then the user for good, as a daemon started
        # by root (the user cannot read this checkout's environment).
        child = """
import encodings.ascii, encodings.latin_1, encodings.utf_8, json, os, sys
from oslo_config import cfg
from manageable_driver import listing, opts, testing
from manageable_driver.drivers.file import nfs_layout, options
os.setgroups([])
os.setgid(%(gid)d)
os.setuid(%(uid)d)
conf = cfg.ConfigOpts()
conf.register_opts(opts.common_opts + options.file_opts)
conf.set_override("file_volume_dirs", [%(dir)r])
conf.set_override("manageable_lock_path", %(locks)r)
driver = nfs_layout.NfsLayoutDriver(conf)
driver.cinder_manages_lookup = listing.managed_lookup(())
snapshot = testing.CinderObject(
    id=%(new)r, name="snapshot-" + %(new)r,
    volume=testing.CinderObject(id=%(vid)r, name=%(volume)r))
driver.manage_existing_snapshot(snapshot, {"source-id": %(old)r})
""" % {"gid": user.pw_gid, "uid": user.pw_uid, "dir": self.dir,
       "locks": self.lock_path, "new": snapshot_id, "vid": VOLUME_ID,
       "volume": VOLUME, "old": self.snapshot_id}
        result = subprocess.run([sys.executable, "-c", child],
                                capture_output=True, text=True)
        self.assertEqual(0, result.returncode, result.stderr)
        self.assertEqual({"active": self.overlay, snapshot_id: self.overlay},
                         self.info())
        st = os.stat(self.path(VOLUME + ".info"))
        self.assertEqual((0, 0o666), (st.st_uid, st.st_mode & 0o777))
