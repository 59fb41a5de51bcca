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

"""The LVM driver against real LVM2 on a loop device.

Each test gets its own VG (unique name, sparse backing file, loop device,
all removed at cleanup even when the test fails) holding
:func:`lvm_fixtures.mixed_layout`: volumes of odd sizes, classic and thin
snapshots, a thin pool, a merging snapshot, a reserved name, a tagged LV.
"""

import fcntl
import os
import threading

import fixtures
from oslo_concurrency import processutils
from oslo_config import cfg

from manageable_driver import exception
from manageable_driver import listing
from manageable_driver import opts
from manageable_driver.drivers import lvm
from manageable_driver.drivers.lvm import commands
from manageable_driver.drivers.lvm import options
from tests import base
from tests.functional import lvm_fixtures as layout

VOLUME_ID = "11111111-2222-4333-8444-555555555555"
SNAPSHOT_ID = "66666666-7777-4888-9999-aaaaaaaaaaaa"
ALL = (None, 1000, 0, ["reference"], ["asc"])


def volume(vol_id=VOLUME_ID, name=None, provisioning=None):
    specs = {"provisioning:type": provisioning} if provisioning else {}
    return {"id": vol_id, "name": name or "volume-%s" % vol_id,
            "volume_type": {"extra_specs": specs}}


def snapshot(snap_id=SNAPSHOT_ID):
    return {"id": snap_id, "name": "snapshot-%s" % snap_id}


def refs(entries):
    return {e["reference"]["source-name"]: e for e in entries}


class LVMTestCase(base.TestCase):

    PV_COUNT = 1

    def layout(self):
        return layout.mixed_layout()

    def setUp(self):
        super().setUp()
        self.require_root()
        self.require_tools("losetup", "lvm", "lvs", "lvrename", "lvchange",
                           "vgcfgrestore", "vgcreate", "pvcreate")
        self.vg = self.useFixture(layout.LVMVolumeGroup(
            pv_count=self.PV_COUNT))
        self.vg.restore(self.layout())
        self.lock_path = self.useFixture(fixtures.TempDir()).path
        self.commands = []

    def execute(self, *cmd, **kwargs):
        # Counts subprocesses; runs them for real.
        self.commands.append(cmd)
        return processutils.execute(*cmd, **kwargs)

    def driver(self, mode="rename", execute=None):
        conf = cfg.ConfigOpts()
        conf.register_opts(opts.common_opts + options.lvm_opts)
        conf.set_override("volume_group", self.vg.vg_name)
        conf.set_override("lvm_conf_file", self.vg.conf_file)
        conf.set_override("lvm_manage_mode", mode)
        conf.set_override("manageable_lock_path", self.lock_path)
        return lvm.LVMDriver(configuration=conf,
                             execute=execute or self.execute)


class ListingTest(LVMTestCase):

    def test_volumes(self):
        cinder_volumes = [{"id": layout.CINDER_VOLUME_ID,
                           "name": "volume-%s" % layout.CINDER_VOLUME_ID}]
        entries = refs(self.driver().get_manageable_volumes(
            cinder_volumes, *ALL))
        self.assertEqual(1, len(self.commands))
        self.assertEqual("lvs", self.commands[0][0])
        self.assertEqual(
            {"plain", "odd", "tiny", "split", "origin", "morigin", "thin1",
             "pvmove_x", "tagged", "volume-%s" % layout.CINDER_VOLUME_ID},
            set(entries))
        self.assertEqual(2, entries["odd"]["size"])
        self.assertEqual(1, entries["plain"]["size"])
        self.assertTrue(entries["plain"]["safe_to_manage"])
        self.assertEqual(layout.CINDER_VOLUME_ID, entries[
            "volume-%s" % layout.CINDER_VOLUME_ID]["cinder_id"])
        self.assertEqual(layout.TAGGED_ID, entries["tagged"]["cinder_id"])
        self.assertIn("merged", entries["morigin"]["reason_not_safe"])
        self.assertIn("reserved", entries["pvmove_x"]["reason_not_safe"])
        self.assertEqual("pool", entries["thin1"]["extra_info"]["pool"])

    def test_snapshots(self):
        cinder_snapshots = [{"id": layout.CINDER_SNAPSHOT_ID,
                             "name": "snapshot-%s"
                                     % layout.CINDER_SNAPSHOT_ID}]
        entries = refs(self.driver().get_manageable_snapshots(
            cinder_snapshots, *ALL))
        self.assertEqual(1, len(self.commands))
        escaped = "_snapshot-%s" % layout.CINDER_SNAPSHOT_ID
        self.assertEqual({"snap1", "tsnap", escaped}, set(entries))
        self.assertEqual(layout.CINDER_SNAPSHOT_ID,
                         entries[escaped]["cinder_id"])
        self.assertEqual({"source-name": "thin1"},
                         entries["tsnap"]["source_reference"])
        self.assertTrue(entries["snap1"]["safe_to_manage"])

    def test_host_report_settings_do_not_change_the_listing(self):
        # A host lvm.conf printing binary fields as 0/1 and lists joined
        # with ";" must not turn every LV unsafe or hide tags.
        with open(self.vg.conf_file, "a") as f:
            f.write('report {\n binary_values_as_numeric = 1\n'
                    ' list_item_separator = ";"\n}\n')
        self.assertIn("backup;cinder",
                      self.vg.lvm("lvs", "-o", "lv_tags", self.vg.vg_name))
        entries = refs(self.driver().get_manageable_volumes([], *ALL))
        self.assertTrue(entries["plain"]["safe_to_manage"])
        self.assertIn("merged", entries["morigin"]["reason_not_safe"])
        self.assertEqual(layout.TAGGED_ID, entries["tagged"]["cinder_id"])

    def test_sizes(self):
        drv = self.driver()
        self.assertEqual(2, drv.manage_existing_get_size(
            volume(), {"source-name": "odd"}))
        self.assertEqual(1, drv.manage_existing_snapshot_get_size(
            snapshot(), {"source-name": "snap1"}))


class ManageTest(LVMTestCase):

    def test_manage_and_unmanage(self):
        drv = self.driver()
        drv.manage_existing(volume(), {"source-name": "plain"})
        names = self.vg.lv_names()
        self.assertIn("volume-%s" % VOLUME_ID, names)
        self.assertNotIn("plain", names)
        entries = refs(drv.get_manageable_volumes([volume()], *ALL))
        self.assertEqual(VOLUME_ID,
                         entries["volume-%s" % VOLUME_ID]["cinder_id"])
        drv.unmanage(volume())
        self.assertIn("volume-%s" % VOLUME_ID, self.vg.lv_names())

    def test_manage_snapshot_escapes_name(self):
        drv = self.driver()
        drv.manage_existing_snapshot(snapshot(), {"source-name": "tsnap"})
        self.assertIn("_snapshot-%s" % SNAPSHOT_ID, self.vg.lv_names())
        entries = refs(drv.get_manageable_snapshots([snapshot()], *ALL))
        self.assertEqual(SNAPSHOT_ID,
                         entries["_snapshot-%s" % SNAPSHOT_ID]["cinder_id"])

    def test_tag_mode(self):
        drv = self.driver("tag")
        drv.manage_existing(volume(), {"source-name": "odd"})
        self.assertIn("odd", self.vg.lv_names())
        self.assertEqual("cinder-volume-id=%s" % VOLUME_ID,
                         self.vg.lv_tags("odd"))
        entries = refs(drv.get_manageable_volumes([], *ALL))
        self.assertEqual(VOLUME_ID, entries["odd"]["cinder_id"])
        self.assertEqual("odd", drv.find_lv(volume()).name)
        self.assertRaises(exception.ManageExistingAlreadyManaged,
                          drv.manage_existing,
                          volume("0d1e2f3a-4b5c-4d6e-8f7a-9b0c1d2e3f4a"),
                          {"source-name": "odd"})
        drv.unmanage(volume())
        self.assertEqual("", self.vg.lv_tags("odd"))
        self.assertIn("odd", self.vg.lv_names())
        drv.manage_existing_snapshot(snapshot(), {"source-name": "snap1"})
        self.assertEqual("cinder-snapshot-id=%s" % SNAPSHOT_ID,
                         self.vg.lv_tags("snap1"))
        drv.unmanage_snapshot(snapshot())
        self.assertEqual("", self.vg.lv_tags("snap1"))

    def test_invalid_reference_runs_nothing(self):
        drv = self.driver()
        before = self.vg.lv_names()
        for ref in ({"source-name": "%s-other/plain" % self.vg.vg_name},
                    {"source-name": "pl ain"}, {"source-name": "-plain"},
                    {"source-id": "x"}, {"source-name": "x" * 128}):
            self.assertRaises(exception.ManageExistingInvalidReference,
                              drv.manage_existing, volume(), ref)
        self.assertEqual([], self.commands)
        self.assertEqual(before, self.vg.lv_names())

    def test_failed_rename_keeps_the_name(self):
        # A real LVM refusal: another LVM command holds the VG lock (a
        # shared flock here) and LVM is told not to wait for it, so lvs
        # still reads the VG and lvrename fails.
        conf_dir = os.path.join(self.vg.tmpdir, "no-wait")
        lock_dir = os.path.join(self.vg.tmpdir, "locks")
        os.mkdir(conf_dir)
        os.mkdir(lock_dir)
        with open(self.vg.conf_file) as f:
            text = f.read()
        with open(os.path.join(conf_dir, "lvm.conf"), "w") as f:
            f.write(text.replace(
                "global {", 'global {\n    wait_for_locks = 0\n'
                '    locking_dir = "%s"' % lock_dir, 1))
        holder = os.open(os.path.join(lock_dir, "V_" + self.vg.vg_name),
                         os.O_CREAT | os.O_RDWR)
        self.addCleanup(os.close, holder)
        fcntl.flock(holder, fcntl.LOCK_SH)
        drv = self.driver()
        drv.lvm = commands.LVMCommands(
            self.vg.vg_name, execute=self.execute,
            lvm_conf_file=os.path.join(conf_dir, "lvm.conf"))
        exc = self.assertRaises(exception.VolumeBackendAPIException,
                                drv.manage_existing, volume(),
                                {"source-name": "tiny"})
        self.assertIn("lvrename", str(exc))
        self.assertIn("Can't get lock", str(exc))
        self.assertIn("tiny", self.vg.lv_names())
        self.assertNotIn("volume-%s" % VOLUME_ID, self.vg.lv_names())

    def test_taken_target_name_is_refused_before_lvrename(self):
        drv = self.driver()
        drv.manage_existing(volume(), {"source-name": "plain"})
        exc = self.assertRaises(exception.ManageExistingInvalidReference,
                                drv.manage_existing, volume(),
                                {"source-name": "tiny"})
        self.assertIn("already named volume-%s" % VOLUME_ID, str(exc))
        self.assertIn("tiny", self.vg.lv_names())

    def test_volume_names_are_not_escaped(self):
        # Only snapshot names are stored as _snapshot-*: a volume named
        # like a snapshot is refused, never renamed to _snapshot-*.
        drv = self.driver()
        self.assertRaises(exception.InvalidInput, drv.manage_existing,
                          volume(name="snapshot-%s" % SNAPSHOT_ID),
                          {"source-name": "plain"})
        self.assertIn("plain", self.vg.lv_names())

    def test_non_uuid_ids_are_refused(self):
        # Otherwise a second manage would not know the LV is managed.
        for mode in ("rename", "tag"):
            with self.subTest(mode=mode):
                drv = self.driver(mode)
                self.assertRaises(exception.InvalidInput,
                                  drv.manage_existing,
                                  {"id": "a", "name": "volume-a"},
                                  {"source-name": "plain"})
                self.assertIn("plain", self.vg.lv_names())
                self.assertEqual("", self.vg.lv_tags("plain"))

    def test_get_size_refuses_what_manage_refuses(self):
        drv = self.driver()
        exc = self.assertRaises(exception.ManageExistingInvalidReference,
                                drv.manage_existing_get_size, volume(),
                                {"source-name": "morigin"})
        self.assertIn("merged", str(exc))

    def test_type_mismatch(self):
        drv = self.driver()
        self.assertRaises(exception.ManageExistingVolumeTypeMismatch,
                          drv.manage_existing, volume(provisioning="thin"),
                          {"source-name": "plain"})
        self.assertIn("plain", self.vg.lv_names())
        drv.manage_existing(volume(provisioning="thin"),
                            {"source-name": "thin1"})
        self.assertIn("volume-%s" % VOLUME_ID, self.vg.lv_names())

    def test_concurrent_manage_one_wins(self):
        results = []

        def manage(vol_id):
            try:
                self.driver().manage_existing(volume(vol_id),
                                              {"source-name": "plain"})
                results.append("ok")
            except exception.ManageableDriverException as exc:
                results.append(exc)

        threads = [threading.Thread(target=manage, args=(vol_id,))
                   for vol_id in (VOLUME_ID, SNAPSHOT_ID)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        self.assertEqual(1, results.count("ok"), results)
        failure = [r for r in results if r != "ok"][0]
        self.assertIsInstance(failure,
                              exception.ManageExistingInvalidReference)
        renamed = {"volume-%s" % VOLUME_ID,
                   "volume-%s" % SNAPSHOT_ID} & self.vg.lv_names()
        self.assertEqual(1, len(renamed))


class ManageIffSafeTest(LVMTestCase):

    def _check(self, entries, manage, make_obj):
        outcomes = {}
        for number, entry in enumerate(entries):
            obj = make_obj("00000000-0000-4000-8000-%012d" % number)
            try:
                manage(obj, entry["reference"])
                managed = True
            except (exception.ManageExistingInvalidReference,
                    exception.ManageExistingAlreadyManaged):
                managed = False
            outcomes[entry["reference"]["source-name"]] = managed
            self.assertEqual(entry["safe_to_manage"], managed, entry)
        return outcomes

    def test_rename_mode(self):
        drv = self.driver()
        # As the listing was told: Cinder manages nothing.
        drv.cinder_manages_lookup = listing.managed_lookup(())
        vols = self._check(drv.get_manageable_volumes([], *ALL),
                           drv.manage_existing, lambda i: volume(i))
        snaps = self._check(drv.get_manageable_snapshots([], *ALL),
                            drv.manage_existing_snapshot,
                            lambda i: snapshot(i))
        # Both outcomes occur, so the invariant is not vacuous.
        self.assertEqual({True, False}, set(vols.values()))
        self.assertIn(True, snaps.values())

    def test_tag_mode(self):
        drv = self.driver("tag")
        # As the listing was told: Cinder manages nothing.
        drv.cinder_manages_lookup = listing.managed_lookup(())
        vols = self._check(drv.get_manageable_volumes([], *ALL),
                           drv.manage_existing, lambda i: volume(i))
        self.assertEqual({True, False}, set(vols.values()))
        after = refs(drv.get_manageable_volumes([], *ALL))
        for name, managed in vols.items():
            if managed:
                self.assertEqual("already managed",
                                 after[name]["reason_not_safe"])


class PartialVGTest(LVMTestCase):
    """A VG with a missing PV (issue 13, section 5).

    Real LVM2 refuses ``lvrename`` in a VG with a missing PV, for every LV
    of it, and ``lvchange --addtag`` there writes the PV as MISSING into
    the VG's metadata, which then needs ``vgextend --restoremissing`` even
    once the disk is back: no LV of a partial VG is safe to manage.
    """

    PV_COUNT = 2

    def layout(self):
        return layout.partial_layout()

    def setUp(self):
        super().setUp()
        self.missing_uuid = self.vg.lvm(
            "pvs", "--noheadings", "-o", "pv_uuid",
            self.vg.devices[1]).strip()
        self.vg.lose_pv(1)
        self.seqno = self.vg_seqno()

    def vg_seqno(self):
        return self.vg.lvm("vgs", "--noheadings", "-o", "vg_seqno",
                           self.vg.vg_name).strip()

    def test_lvm_itself_refuses_and_reports_partial(self):
        # What the driver follows: the VG is partial, lvrename refuses
        # even an LV wholly on the present PV.
        out = self.vg.lvm("lvs", "--noheadings", "-o",
                          "lv_name,lv_health_status,vg_missing_pv_count",
                          self.vg.vg_name)
        health = {line.split()[0]: line.split()[1:]
                  for line in out.splitlines() if line.strip()}
        self.assertEqual(["partial", "1"], health["onb"])
        self.assertEqual(["partial", "1"], health["ona"])
        self.assertEqual(["1"], health["solo"])
        self.assertRaisesRegex(RuntimeError, "while PVs are missing",
                               self.vg.lvm, "lvrename", self.vg.vg_name,
                               "solo", "solo2")

    def test_listed_not_safe_naming_the_missing_pv(self):
        drv = self.driver()
        vols = refs(drv.get_manageable_volumes([], *ALL))
        snaps = refs(drv.get_manageable_snapshots([], *ALL))
        self.assertEqual({"solo", "ona", "onb", "span"}, set(vols))
        self.assertEqual({"cowa", "cowb"}, set(snaps))
        for name, entry in list(vols.items()) + list(snaps.items()):
            with self.subTest(name=name):
                self.assertFalse(entry["safe_to_manage"], entry)
                self.assertIn(self.missing_uuid, entry["reason_not_safe"])
        for name in ("ona", "onb", "span"):
            self.assertIn("on a missing PV", vols[name]["reason_not_safe"])
        self.assertIn("on a missing PV", snaps["cowb"]["reason_not_safe"])
        self.assertIn("volume group is missing a PV",
                      vols["solo"]["reason_not_safe"])
        # Sizes are still shown: the LVs exist, their data is in doubt.
        self.assertEqual(1, vols["solo"]["size"])

    def test_pv_back_but_marked_missing_until_restoremissing(self):
        # What a tag written in the partial VG leaves: the PV is MISSING
        # in the metadata, and stays so when its disk is back.
        self.vg.lvm("lvchange", "--addtag", "x",
                    "%s/solo" % self.vg.vg_name)
        backup = os.path.join(self.vg.tmpdir, "partial.vg")
        self.vg.lvm("vgcfgbackup", "-f", backup, self.vg.vg_name)
        self.vg.lvm("pvcreate", "--uuid", self.missing_uuid,
                    "--restorefile", backup, self.vg.devices[1])
        drv = self.driver()
        vols = refs(drv.get_manageable_volumes([], *ALL))
        self.assertFalse(any(e["safe_to_manage"] for e in vols.values()))
        self.assertIn("%s (last seen as %s)" % (self.missing_uuid,
                                               self.vg.devices[1]),
                      vols["solo"]["reason_not_safe"])
        # The advice of the reason: restore the PV, and list again (a
        # new driver: this one keeps its listing for a while).
        self.vg.lvm("vgextend", "--restoremissing", self.vg.vg_name,
                    self.vg.devices[1])
        drv = self.driver()
        vols = refs(drv.get_manageable_volumes([], *ALL))
        self.assertTrue(all(e["safe_to_manage"] for e in vols.values()),
                        vols)
        drv.manage_existing(volume(), {"source-name": "onb"})
        self.assertIn("volume-%s" % VOLUME_ID, self.vg.lv_names())

    def test_manage_and_get_size_refuse_and_change_nothing(self):
        for mode in ("rename", "tag"):
            drv = self.driver(mode)
            for name in ("solo", "ona", "onb", "span"):
                with self.subTest(mode=mode, name=name):
                    ref = {"source-name": name}
                    exc = self.assertRaises(
                        exception.ManageExistingInvalidReference,
                        drv.manage_existing_get_size, volume(), ref)
                    self.assertIn(self.missing_uuid, str(exc))
                    self.assertRaises(
                        exception.ManageExistingInvalidReference,
                        drv.manage_existing, volume(), ref)
            for name in ("cowa", "cowb"):
                with self.subTest(mode=mode, name=name):
                    ref = {"source-name": name}
                    self.assertRaises(
                        exception.ManageExistingInvalidReference,
                        drv.manage_existing_snapshot_get_size, snapshot(),
                        ref)
                    self.assertRaises(
                        exception.ManageExistingInvalidReference,
                        drv.manage_existing_snapshot, snapshot(), ref)
        # No metadata written: no rename, no tag, the PV not marked
        # MISSING.
        self.assertEqual(self.seqno, self.vg_seqno())
        self.assertEqual({"solo", "ona", "onb", "span", "cowa", "cowb"},
                         self.vg.lv_names() - {"snapshot0", "snapshot1"})
        self.assertEqual(["lvs"], sorted({cmd[0] for cmd in self.commands}))


class CachedLVTest(LVMTestCase):
    """A cached LV reports its hidden cache origin as ``origin`` and its
    cache pool as ``pool_lv``: it is still a thick volume, not a snapshot
    and not thin."""

    def layout(self):
        return [layout.LV("cpool", 8, kind="cache-pool"),
                layout.LV("cached", 257, kind="cache", pool="cpool"),
                layout.LV("vpool", 300, kind="vdo-pool"),
                layout.LV("vdo1", 1000, kind="vdo", pool="vpool")]

    def test_listed_as_a_volume(self):
        drv = self.driver()
        vols = refs(drv.get_manageable_volumes([], *ALL))
        self.assertEqual({"cached", "vdo1"}, set(vols))
        self.assertTrue(vols["cached"]["safe_to_manage"])
        self.assertEqual(2, vols["cached"]["size"])
        self.assertEqual([], drv.get_manageable_snapshots([], *ALL))
        exc = self.assertRaises(exception.ManageExistingInvalidReference,
                                drv.manage_existing_snapshot, snapshot(),
                                {"source-name": "cached"})
        self.assertIn("not a snapshot", str(exc))

    def test_managed_as_thick(self):
        drv = self.driver()
        drv.manage_existing(volume(provisioning="thick"),
                            {"source-name": "cached"})
        self.assertIn("volume-%s" % VOLUME_ID, self.vg.lv_names())
        # VDO LVs are thin provisioned (LVM lays them out sparse).
        other = "0d1e2f3a-4b5c-4d6e-8f7a-9b0c1d2e3f4a"
        self.assertRaises(exception.ManageExistingVolumeTypeMismatch,
                          drv.manage_existing,
                          volume(other, provisioning="thick"),
                          {"source-name": "vdo1"})
        drv.manage_existing(volume(other, provisioning="thin"),
                            {"source-name": "vdo1"})
        self.assertIn("volume-%s" % other, self.vg.lv_names())


class LongVGNameTest(LVMTestCase):
    """LVM bounds the VG and LV names together (len(vg) + len(lv) + 3 <
    128): in a VG of 79 characters "_snapshot-<uuid>" cannot be an LV."""

    def setUp(self):
        base.TestCase.setUp(self)
        self.require_root()
        self.require_tools("losetup", "lvm", "lvs", "lvrename", "lvchange",
                           "vgcfgrestore", "vgcreate", "pvcreate")
        self.lock_path = self.useFixture(fixtures.TempDir()).path
        self.commands = []

    def layout(self):
        return [layout.LV("origin", 10),
                layout.LV("snap1", 2, kind="snapshot", origin="origin"),
                layout.LV("r1", 3, kind="raid1", stripes=2)]

    def make_vg(self, length):
        # raid1 images on two PVs.
        self.vg = self.useFixture(layout.LVMVolumeGroup(
            name_length=length, pv_count=2))
        self.vg.restore(self.layout())

    def test_lvm_refuses_the_name(self):
        self.make_vg(79)
        self.assertRaisesRegex(RuntimeError, "length 128 is not supported",
                               self.vg.lvm, "lvrename", self.vg.vg_name,
                               "snap1", "_snapshot-%s" % SNAPSHOT_ID)

    def test_rename_mode_refuses_the_vg(self):
        self.make_vg(79)
        exc = self.assertRaises(exception.InvalidInput, self.driver)
        self.assertIn("snapshot names", str(exc))
        self.assertIn("124 characters together", str(exc))
        # Tag mode renames nothing: it lists and manages.
        drv = self.driver("tag")
        drv.manage_existing_snapshot(snapshot(), {"source-name": "snap1"})
        self.assertEqual("cinder-snapshot-id=%s" % SNAPSHOT_ID,
                         self.vg.lv_tags("snap1"))

    def test_longest_vg_that_fits(self):
        self.make_vg(78)
        drv = self.driver()
        drv.manage_existing_snapshot(snapshot(), {"source-name": "snap1"})
        self.assertIn("_snapshot-%s" % SNAPSHOT_ID, self.vg.lv_names())

    def test_sub_lvs_renamed_with_their_lv_must_fit(self):
        # lvrename renames r1_rimage_0 to volume-<id>_rimage_0: too long
        # beside a VG of 78 characters, so LVM refuses the rename.
        self.make_vg(78)
        self.assertRaisesRegex(RuntimeError, "is not supported",
                               self.vg.lvm, "lvrename", self.vg.vg_name,
                               "r1", "volume-%s" % VOLUME_ID)
        drv = self.driver()
        entry = refs(drv.get_manageable_volumes([], *ALL))["r1"]
        self.assertFalse(entry["safe_to_manage"])
        self.assertIn("sub-LVs", entry["reason_not_safe"])
        for call in (drv.manage_existing_get_size, drv.manage_existing):
            self.assertRaises(exception.ManageExistingInvalidReference,
                              call, volume(), {"source-name": "r1"})
        self.assertIn("r1", self.vg.lv_names())
        # Tag mode renames nothing.
        drv = self.driver("tag")
        drv.manage_existing(volume(), {"source-name": "r1"})
        self.assertEqual("cinder-volume-id=%s" % VOLUME_ID,
                         self.vg.lv_tags("r1"))
