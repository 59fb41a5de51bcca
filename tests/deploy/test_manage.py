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

"""Manage, list and unmanage through the operator's clients, on the
deployment of tools/deploy/run.sh: cinder-api, cinder-scheduler and
cinder-volume (as md-cinder, through sudo and cinder-rootwrap) over
RabbitMQ and MariaDB, with Keystone authentication."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import uuid

from tests.deploy import client


def checksum(path: str) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def lvm(*argv: str) -> str:
    env = dict(os.environ, LVM_SYSTEM_DIR=os.environ[
        "MD_DEPLOY_LVM_SYSTEM_DIR"], LVM_SUPPRESS_FD_WARNINGS="1")
    return subprocess.run(list(argv), env=env, capture_output=True,
                          text=True, check=True).stdout


def lv_names(vg: str) -> set[str]:
    out = lvm("lvs", "--noheadings", "-o", "lv_name", vg)
    return {line.strip() for line in out.splitlines() if line.strip()}


class ManageableListTest(client.DeployTestCase):

    def listing(self, *args: str) -> list[dict[str, str]]:
        return client.parse_table(self.cinder(
            "manageable-list", self.pool("file"), "--detailed", "True",
            *args))

    def test_detailed_listing_rounds_sizes_up(self) -> None:
        rows = {os.path.basename(client.reference(r["reference"])
                                 ["source-name"]): r
                for r in self.listing()}
        # 1025 MiB is 2 GiB, never 1; 5 MiB is 1.
        self.assertEqual("2", rows["odd.qcow2"]["size"])
        self.assertEqual("1", rows["raw5m.img"]["size"])
        self.assertEqual("True", rows["one.qcow2"]["safe_to_manage"])
        self.assertEqual(
            {"size", "reference", "safe_to_manage", "reason_not_safe",
             "cinder_id", "extra_info"}, set(rows["one.qcow2"]))

    def test_sorted(self) -> None:
        sizes = [int(r["size"]) for r in self.listing("--sort", "size:desc")]
        self.assertGreater(len(sizes), 2)
        self.assertEqual(sorted(sizes, reverse=True), sizes)
        refs = [client.reference(r["reference"])["source-name"]
                for r in self.listing("--sort", "reference:asc")]
        self.assertEqual(sorted(refs), refs)

    def test_paged_with_marker(self) -> None:
        everything = [r["reference"] for r in self.listing(
            "--sort", "reference:asc")]
        first = self.listing("--sort", "reference:asc", "--limit", "2")
        self.assertEqual(everything[:2], [r["reference"] for r in first])
        marker = json.dumps(client.reference(first[-1]["reference"]))
        rest = self.listing("--sort", "reference:asc", "--marker", marker)
        self.assertEqual(everything[2:], [r["reference"] for r in rest])

    def test_bad_sort_key_is_400(self) -> None:
        # cinderclient refuses the key itself, before any request;
        # openstackclient sends it, and Cinder's API answers 400.
        out = self.run_client(
            [os.path.join(client.BIN, "openstack"),
             "--os-volume-api-version", "3.8", "block", "storage",
             "volume", "manageable", "list", self.pool("file"), "--sort",
             "color:asc"], check=False)
        self.assertIn("400", out)
        self.assertIn("Invalid sort keys passed: color", out)
        out = self.cinder("manageable-list", self.pool("file"), "--sort",
                          "color:asc", check=False)
        self.assertIn("sort_key must be one of", out)

    def test_unknown_marker_is_400(self) -> None:
        out = self.cinder("manageable-list", self.pool("file"), "--marker",
                          json.dumps({"source-name": "/no/such/image"}),
                          check=False)
        self.assertIn("(HTTP 400)", out)
        self.assertIn("/no/such/image", out)

    def test_lvm_listing_through_rootwrap(self) -> None:
        rows = {client.reference(r["reference"])["source-name"]: r
                for r in client.parse_table(self.cinder(
                    "manageable-list", self.pool("lvm"), "--detailed",
                    "True"))}
        self.assertEqual("2", rows["odd"]["size"])
        self.assertEqual("1", rows["small"]["size"])

    def test_cinder_lvm_driver_beside_ours(self) -> None:
        # Cinder's own LVMVolumeDriver, in the same cinder-volume, through
        # the same rootwrap: it lists its VG too.
        rows = {client.reference(r["reference"])["source-name"]: r
                for r in client.parse_table(self.cinder(
                    "manageable-list", self.pool("cinder-lvm")))}
        self.assertEqual("1", rows["existing"]["size"])
        self.assertEqual("True", rows["existing"]["safe_to_manage"])

    def test_openstackclient_lists_the_same(self) -> None:
        rows = self.openstack("--os-volume-api-version", "3.8", "block",
                              "storage", "volume", "manageable", "list",
                              self.pool("file"))
        theirs = sorted(json.dumps(r["reference"], sort_keys=True)
                        for r in rows)
        ours = sorted(json.dumps(client.reference(r["reference"]),
                                 sort_keys=True) for r in self.listing())
        self.assertEqual(ours, theirs)


class ManageTest(client.DeployTestCase):

    def setUp(self) -> None:
        super().setUp()
        self.images = os.environ["MD_DEPLOY_IMAGES"]
        self.vg = os.environ["MD_DEPLOY_VG"]

    def new_image(self, name: str, size: str, fmt: str = "qcow2",
                  backing: str | None = None) -> str:
        path = os.path.join(self.images, name)
        argv = ["qemu-img", "create", "-q", "-f", fmt]
        if backing:
            argv += ["-b", backing, "-F", "qcow2"]
        subprocess.run(argv + [path] + ([size] if size else []),
                       check=True, cwd=self.images)
        os.chown(path, *self.deploy_user())
        return path

    def deploy_user(self) -> tuple[int, int]:
        import pwd
        pw = pwd.getpwnam(os.environ["MD_DEPLOY_USER"])
        return pw.pw_uid, pw.pw_gid

    def test_manage_by_source_name_show_unmanage(self) -> None:
        path = self.new_image("m-%s.qcow2" % uuid.uuid4().hex[:8], "1537M")
        digest = checksum(path)
        vol_id = self.manage("file", path, "by-name")
        shown = self.wait_volume(vol_id, ("available",))
        # 1537 MiB: 2 GiB, rounded up exactly.
        self.assertEqual("2", shown["size"])
        self.assertEqual("%s@file#file" % self.host,
                         shown["os-vol-host-attr:host"])
        managed = os.path.join(self.images, "volume-%s" % vol_id)
        self.assertFalse(os.path.exists(path))
        self.assertEqual(digest, checksum(managed))
        # openstackclient sees the same volume.
        osc = self.openstack("volume", "show", vol_id)
        self.assertEqual(("available", 2), (osc["status"], osc["size"]))
        # The listing shows it managed, with its Cinder id.
        rows = client.parse_table(self.cinder(
            "manageable-list", self.pool("file")))
        row = [r for r in rows if client.reference(r["reference"])
               ["source-name"] == managed]
        self.assertEqual("False", row[0]["safe_to_manage"])
        self.cinder("unmanage", vol_id)
        self.wait_gone(vol_id)
        self.assertEqual(digest, checksum(managed))

    def test_manage_lvm_by_source_id(self) -> None:
        name = "sid-%s" % uuid.uuid4().hex[:8]
        lvm("lvcreate", "-an", "-Zn", "-y", "-L", "1028m", "-n", name,
            self.vg)
        lv_uuid = lvm("lvs", "--noheadings", "-o", "lv_uuid",
                      "%s/%s" % (self.vg, name)).strip()
        vol_id = self.manage("lvm", lv_uuid, "by-id", id_type="source-id")
        shown = self.wait_volume(vol_id, ("available",))
        self.assertEqual("2", shown["size"])
        names = lv_names(self.vg)
        self.assertIn("volume-%s" % vol_id, names)
        self.assertNotIn(name, names)
        self.cinder("unmanage", vol_id)
        self.wait_gone(vol_id)
        self.assertIn("volume-%s" % vol_id, lv_names(self.vg))

    def test_bad_reference_errors_with_the_reason(self) -> None:
        missing = os.path.join(self.images, "no-such-%s.img"
                               % uuid.uuid4().hex[:8])
        vol_id = self.manage("file", missing, "bad-ref")
        shown = self.wait_volume(vol_id, ("error",))
        self.assertEqual("error", shown["status"])
        # Cinder 29 records no user message for a failed manage (its
        # message_field has no manage action): the reason is in the
        # cinder-volume log, in the library's words.
        log = self.log_text("cinder-volume")
        self.assertIn(missing, log)
        self.assertIn("Manage existing volume failed due to invalid "
                      "backend reference", log)
        # Deleting it succeeds (nothing of it on the backend) and deletes
        # nothing else.
        before = sorted(os.listdir(self.images))
        self.cinder("delete", vol_id)
        self.wait_gone(vol_id)
        self.assertEqual(before, sorted(os.listdir(self.images)))

    def test_delete_of_a_managed_volume_keeps_the_data(self) -> None:
        path = self.new_image("d-%s.qcow2" % uuid.uuid4().hex[:8], "1G")
        digest = checksum(path)
        vol_id = self.manage("file", path, "keep")
        self.wait_volume(vol_id, ("available",))
        self.cinder("delete", vol_id)
        shown = self.wait_volume(vol_id, ("error_deleting",))
        self.assertEqual("error_deleting", shown["status"])
        managed = os.path.join(self.images, "volume-%s" % vol_id)
        self.assertEqual(digest, checksum(managed))
        self.assertIn("never deletes data", self.log_text("cinder-volume"))

    def test_untyped_create_goes_to_cinders_lvm(self) -> None:
        # The manage-only backends sit in their own zone: an untyped
        # create lands on Cinder's LVM driver, the one backend left.
        vol_id = client.properties(self.cinder("create", "1"))["id"]
        shown = self.wait_volume(vol_id, ("available",))
        self.assertEqual(self.pool("cinder-lvm"),
                         shown["os-vol-host-attr:host"])
        self.cinder("delete", vol_id)
        self.wait_gone(vol_id)

    def test_create_on_a_manage_only_type_fails_at_once(self) -> None:
        vol_id = client.properties(self.cinder(
            "create", "--volume-type", "file", "1"))["id"]
        shown = self.wait_volume(vol_id, ("error",))
        self.assertEqual("None", shown["os-vol-host-attr:host"])
        # The scheduler records why, in the user messages API.
        messages = client.parse_table(self.cinder("message-list",
                                                  version="3.3"))
        mine = [m for m in messages if m["Resource UUID"] == vol_id]
        self.assertEqual(1, len(mine), messages)
        self.assertIn("Could not find any available weighted backend",
                      mine[0]["User Message"])
        self.cinder("delete", vol_id)
        self.wait_gone(vol_id)

    def test_snapshot_manage_and_unmanage(self) -> None:
        # A volume whose image then gets an external qcow2 snapshot: its
        # data moves to the snapshot file, and a new overlay on top takes
        # the volume's name, as qemu's external snapshots do.
        path = self.new_image("s-%s.qcow2" % uuid.uuid4().hex[:8], "1G")
        vol_id = self.manage("file", path, "with-snapshot")
        self.wait_volume(vol_id, ("available",))
        top = os.path.join(self.images, "volume-%s" % vol_id)
        snap = os.path.join(self.images, "ext-snap-%s.qcow2"
                            % uuid.uuid4().hex[:8])
        os.rename(top, snap)
        self.new_image(os.path.basename(top), "", backing=os.path.basename(
            snap))
        rows = client.parse_table(self.cinder(
            "snapshot-manageable-list", self.pool("file"), "--detailed",
            "True"))
        row = [r for r in rows if client.reference(r["reference"])
               ["source-name"] == snap]
        self.assertEqual(1, len(row), rows)
        self.assertEqual("True", row[0]["safe_to_manage"])
        out = client.properties(self.cinder(
            "snapshot-manage", "--id-type", "source-name", vol_id, snap))
        snap_id = out["id"]
        shown = self.wait_snapshot(snap_id, "available")
        self.assertEqual("1", shown["size"])
        self.assertTrue(os.path.exists(os.path.join(
            self.images, "snapshot-%s" % snap_id)))
        self.cinder("snapshot-unmanage", snap_id)
        self.wait_snapshot_gone(snap_id)
        self.assertTrue(os.path.exists(os.path.join(
            self.images, "snapshot-%s" % snap_id)))

    def wait_snapshot(self, snap_id: str, status: str) -> dict[str, str]:
        import time
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline:
            shown = client.properties(self.cinder("snapshot-show", snap_id))
            if shown["status"] == status:
                return shown
            if shown["status"].startswith("error"):
                break
            time.sleep(0.5)
        raise AssertionError("snapshot %s is %s" % (snap_id,
                                                    shown["status"]))

    def wait_snapshot_gone(self, snap_id: str) -> None:
        import time
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline:
            if "No snapshot with a name or ID" in self.cinder(
                    "snapshot-show", snap_id, check=None):
                return
            time.sleep(0.5)
        raise AssertionError("snapshot %s still exists" % snap_id)


def properties_or_empty(text: str) -> dict[str, str]:
    return client.properties(text) if "|" in text else {}
