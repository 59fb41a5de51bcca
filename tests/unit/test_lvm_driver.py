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

"""The LVM driver, replaying lvs reports recorded from real LVM2.

The injected ``execute`` (processutils' signature, as Cinder passes its
drivers) answers ``lvs`` with a recording from data/lvm/ and records every
command, so each test asserts exactly which LVM commands ran.
"""

import json
import os

import ddt
import fixtures
from oslo_concurrency import processutils
from oslo_config import cfg

from manageable_driver import configuration
from manageable_driver import exception
from manageable_driver import interface
from manageable_driver import listing
from manageable_driver import opts
from manageable_driver.drivers import lvm
from manageable_driver.drivers.lvm import commands
from manageable_driver.drivers.lvm import options
from manageable_driver.drivers.lvm import report
from tests import base
from tests.functional import lvm_fixtures as layout
from tests.unit.test_lvm_report import recorded

VG = "cinder-volumes"
VOLUME_ID = "11111111-2222-4333-8444-555555555555"
SNAPSHOT_ID = "66666666-7777-4888-9999-aaaaaaaaaaaa"


class Replay:
    """Answers lvs with a recording; other LVM commands succeed, or fail
    with recorded stderr when listed in ``failing``."""

    def __init__(self, report_file="mixed.json", failing=(), stderr=None):
        self.report = recorded(report_file)
        self.stderr = recorded(stderr) if stderr else ""
        self.failing = dict(failing)
        self.calls = []
        self.envs = []

    def __call__(self, *cmd, **kwargs):
        self.calls.append(cmd)
        self.envs.append(kwargs.get("env_variables", {}))
        if cmd[0] in self.failing:
            # lvrename's stderr and exit code as recorded for a target name
            # that exists (data/lvm/lvrename_exists.stderr).
            raise processutils.ProcessExecutionError(
                exit_code=5, stderr=recorded(self.failing[cmd[0]]),
                cmd=" ".join(cmd))
        if cmd[0] == "lvs":
            return self.report, self.stderr
        self.apply(cmd)
        return "", ""

    def apply(self, cmd):
        """Make the next recorded report show what the real command does,
        so the driver's read-back after a change sees it."""
        doc = json.loads(self.report)
        rows = [row for part in doc["report"] for row in part["lv"]]
        if cmd[0] == "lvrename":
            for row in rows:
                if row["lv_name"] == cmd[2]:
                    row["lv_name"] = cmd[3]
        elif cmd[0] == "lvchange" and cmd[3] == "--select":
            uuid = cmd[4].partition("=")[2]
            for row in rows:
                if row["lv_uuid"] == uuid:
                    tags = [t for t in row["lv_tags"].split(",") if t]
                    if cmd[1] == "--addtag":
                        tags.append(cmd[2])
                    else:
                        tags.remove(cmd[2])
                    row["lv_tags"] = ",".join(tags)
        self.report = json.dumps(doc)

    def programs(self):
        return [cmd[0] for cmd in self.calls]

    def changes(self):
        return [cmd for cmd in self.calls if cmd[0] != "lvs"]


def volume(vol_id=VOLUME_ID, provisioning=None):
    vol = {"id": vol_id, "name": "volume-%s" % vol_id, "volume_type": None}
    if provisioning:
        vol["volume_type"] = {"extra_specs": {
            "provisioning:type": provisioning}}
    return vol


def snapshot(snap_id=SNAPSHOT_ID, vol=None):
    snap = {"id": snap_id, "name": "snapshot-%s" % snap_id}
    if vol is not None:
        snap["volume"] = vol
    return snap


class DriverTestCase(base.TestCase):

    def driver(self, replay=None, mode="rename", conf_file=None):
        self.replay = replay or Replay()
        conf = cfg.ConfigOpts()
        conf.register_opts(opts.common_opts + options.lvm_opts)
        conf.set_override("manageable_lock_path",
                          self.useFixture(fixtures.TempDir()).path)
        conf.set_override("lvm_manage_mode", mode)
        conf.set_override("lvm_conf_file",
                          conf_file or "/nonexistent/lvm.conf")
        return lvm.LVMDriver(configuration=conf, execute=self.replay)


    @staticmethod
    def uuid_of(name, report_file="mixed.json"):
        return [lv.uuid for lv in report.parse_report(recorded(report_file))
                if lv.name == name][0]


class ConstructionTest(DriverTestCase):

    def test_conforms_to_all_three_interfaces(self):
        self.assertEqual([], interface.check_conformance(lvm.LVMDriver))

    def test_defaults(self):
        drv = lvm.LVMDriver()
        self.assertEqual("cinder-volumes", drv.vg_name)
        self.assertEqual("rename", drv.manage_mode)

    def test_cinder_style_configuration(self):
        conf = cfg.ConfigOpts()
        backend = configuration.Configuration(conf, "lvm-1")
        drv = lvm.LVMDriver(configuration=backend, execute=Replay())
        conf.set_override("volume_group", "vg-a", group="lvm-1")
        self.assertEqual("vg-a", backend.volume_group)
        self.assertEqual("cinder-volumes", drv.vg_name)

    def test_invalid_vg_name(self):
        conf = cfg.ConfigOpts()
        conf.register_opts(options.lvm_opts)
        for bad in ("-vg", "a/b", "", "..", "vg name"):
            conf.set_override("volume_group", bad)
            self.assertRaises(exception.InvalidInput, lvm.LVMDriver,
                              configuration=conf)

    def test_vg_name_leaving_no_room_for_cinder_names(self):
        # LVM refuses "vg/lv" beyond 124 characters: "_snapshot-<uuid>"
        # (46) fits beside a VG of 78, not 79. Tag mode renames nothing.
        conf = cfg.ConfigOpts()
        conf.register_opts(opts.common_opts + options.lvm_opts)
        conf.set_override("volume_group", "v" * 78)
        self.assertEqual("v" * 78, lvm.LVMDriver(configuration=conf).vg_name)
        conf.set_override("volume_group", "v" * 79)
        exc = self.assertRaises(exception.InvalidInput, lvm.LVMDriver,
                                configuration=conf)
        self.assertIn("_snapshot-00000000-0000-0000-0000-000000000000",
                      str(exc))
        conf.set_override("lvm_manage_mode", "tag")
        self.assertEqual("v" * 79, lvm.LVMDriver(configuration=conf).vg_name)

    def test_environment(self):
        tmp = self.useFixture(fixtures.TempDir()).path
        conf_file = os.path.join(tmp, "lvm.conf")
        with open(conf_file, "w") as f:
            f.write("global { activation = 0 }\n")
        drv = self.driver(conf_file=conf_file)
        drv.get_manageable_volumes([], None, 10, 0, ["reference"], ["asc"])
        env = self.replay.envs[0]
        self.assertEqual(tmp, env["LVM_SYSTEM_DIR"])
        self.assertEqual("1", env["LVM_SUPPRESS_FD_WARNINGS"])
        self.assertEqual("C", env["LC_ALL"])
        drv = self.driver()  # lvm_conf_file does not exist
        drv.get_manageable_volumes([], None, 10, 0, ["reference"], ["asc"])
        self.assertNotIn("LVM_SYSTEM_DIR",
                         set(self.replay.envs[0]) - set(os.environ))


class ListingTest(DriverTestCase):

    def test_volumes_one_lvs_call(self):
        drv = self.driver()
        cinder_volumes = [{"id": layout.CINDER_VOLUME_ID,
                           "name": "volume-%s" % layout.CINDER_VOLUME_ID}]
        entries = drv.get_manageable_volumes(cinder_volumes, None, 1000, 0,
                                             ["reference"], ["asc"])
        self.assertEqual([commands.REPORT_COMMAND + (VG,)],
                         self.replay.calls)
        by_ref = {e["reference"]["source-name"]: e for e in entries}
        self.assertEqual(10, len(entries))
        self.assertEqual(2, by_ref["odd"]["size"])
        self.assertTrue(by_ref["odd"]["safe_to_manage"])
        managed = by_ref["volume-%s" % layout.CINDER_VOLUME_ID]
        self.assertEqual(layout.CINDER_VOLUME_ID, managed["cinder_id"])
        self.assertEqual("already managed", managed["reason_not_safe"])
        self.assertEqual(layout.TAGGED_ID, by_ref["tagged"]["cinder_id"])
        self.assertFalse(by_ref["pvmove_x"]["safe_to_manage"])
        self.assertFalse(by_ref["morigin"]["safe_to_manage"])

    def test_page_of_volumes(self):
        drv = self.driver()
        entries = drv.get_manageable_volumes([], None, 3, 1, ["size"],
                                             ["desc"])
        self.assertEqual(3, len(entries))
        self.assertEqual(1, len(self.replay.calls))

    def test_snapshots(self):
        drv = self.driver()
        cinder_snapshots = [{"id": layout.CINDER_SNAPSHOT_ID,
                             "name": "snapshot-%s"
                                     % layout.CINDER_SNAPSHOT_ID}]
        entries = drv.get_manageable_snapshots(
            cinder_snapshots, None, 1000, 0, ["reference"], ["asc"])
        self.assertEqual(["lvs"], self.replay.programs())
        by_ref = {e["reference"]["source-name"]: e for e in entries}
        self.assertEqual({"snap1", "tsnap",
                          "_snapshot-%s" % layout.CINDER_SNAPSHOT_ID},
                         set(by_ref))
        escaped = by_ref["_snapshot-%s" % layout.CINDER_SNAPSHOT_ID]
        self.assertEqual(layout.CINDER_SNAPSHOT_ID, escaped["cinder_id"])
        self.assertEqual({"source-name": "thin1"},
                         by_ref["tsnap"]["source_reference"])
        self.assertTrue(by_ref["tsnap"]["safe_to_manage"])

    def test_no_such_vg(self):
        replay = Replay(failing={"lvs": "no_such_vg.stderr"})
        drv = self.driver(replay)
        exc = self.assertRaises(exception.VolumeBackendAPIException,
                                drv.get_manageable_volumes, [], None, 10, 0,
                                ["reference"], ["asc"])
        self.assertIn("not found", str(exc))


@ddt.ddt
class ReferenceTest(DriverTestCase):

    @ddt.data(None, "plain", ["plain"], {}, {"name": "plain"},
              {"source-name": ""}, {"source-name": 7},
              {"source-name": "a b"}, {"source-name": "-plain"},
              {"source-name": "x" * 128}, {"source-name": "pvmove0"},
              {"source-name": "other-vg/plain"},
              {"source-name": "cinder-volumes/a/b"},
              {"source-name": "../../etc/passwd"},
              {"source-name": "a_tmeta"}, {"source-id": "not-a-uuid"},
              {"source-id": "plain"})
    def test_invalid_runs_nothing(self, ref):
        drv = self.driver()
        for call in (drv.manage_existing, drv.manage_existing_get_size):
            exc = self.assertRaises(
                exception.ManageExistingInvalidReference, call, volume(),
                ref)
            self.assertIn("reference", str(exc))
        self.assertRaises(exception.ManageExistingInvalidReference,
                          drv.manage_existing_snapshot, snapshot(), ref)
        self.assertEqual([], self.replay.calls)

    def test_path_in_own_vg_is_accepted(self):
        drv = self.driver()
        self.assertEqual(
            2, drv.manage_existing_get_size(volume(),
                                            {"source-name": VG + "/odd"}))

    def test_missing_lv(self):
        drv = self.driver()
        exc = self.assertRaises(exception.ManageExistingInvalidReference,
                                drv.manage_existing, volume(),
                                {"source-name": "absent"})
        self.assertIn("no LV with name absent", str(exc))
        self.assertEqual(["lvs"], self.replay.programs())


class SizeTest(DriverTestCase):

    def test_sizes_round_up(self):
        drv = self.driver()
        self.assertEqual(2, drv.manage_existing_get_size(
            volume(), {"source-name": "odd"}))
        self.assertEqual(1, drv.manage_existing_get_size(
            volume(), {"source-name": "plain"}))
        self.assertEqual(1, drv.manage_existing_get_size(
            volume(), {"source-name": "tiny"}))
        self.assertEqual(1, drv.manage_existing_snapshot_get_size(
            snapshot(), {"source-name": "snap1"}))
        # A thin snapshot has its own (virtual) size: 400 MiB.
        self.assertEqual(1, drv.manage_existing_snapshot_get_size(
            snapshot(), {"source-name": "tsnap"}))

    def test_by_uuid(self):
        drv = self.driver()
        odd = [lv for lv in report.parse_report(recorded("mixed.json"))
               if lv.name == "odd"][0]
        self.assertEqual(2, drv.manage_existing_get_size(
            volume(), {"source-id": odd.uuid}))

    def test_kind_mismatch(self):
        drv = self.driver()
        self.assertRaises(exception.ManageExistingInvalidReference,
                          drv.manage_existing_get_size, volume(),
                          {"source-name": "snap1"})
        self.assertRaises(exception.ManageExistingInvalidReference,
                          drv.manage_existing_snapshot_get_size, snapshot(),
                          {"source-name": "plain"})


class ManageRenameTest(DriverTestCase):

    def test_manage_renames(self):
        drv = self.driver()
        self.assertIsNone(drv.manage_existing(volume(),
                                              {"source-name": "plain"}))
        # The rename is read back (issue 13: lvrename takes a name).
        self.assertEqual(["lvs", "lvs", "lvrename", "lvs"],
                         self.replay.programs())
        self.assertEqual([("lvrename", VG, "plain", "volume-" + VOLUME_ID)],
                         self.replay.changes())

    def test_manage_by_uuid(self):
        drv = self.driver()
        thin = [lv for lv in report.parse_report(recorded("mixed.json"))
                if lv.name == "thin1"][0]
        drv.manage_existing(volume(provisioning="thin"),
                            {"source-id": thin.uuid})
        self.assertEqual([("lvrename", VG, "thin1", "volume-" + VOLUME_ID)],
                         self.replay.changes())

    def test_refusals_change_nothing(self):
        cases = [
            ("snap1", exception.ManageExistingInvalidReference, "snapshot"),
            ("tsnap", exception.ManageExistingInvalidReference, "snapshot"),
            ("tagged", exception.ManageExistingAlreadyManaged, "already"),
            ("morigin", exception.ManageExistingInvalidReference, "merged"),
            ("pool", exception.ManageExistingInvalidReference, "internal"),
            # One name space: a Cinder snapshot's LV is never a volume.
            ("_snapshot-%s" % layout.CINDER_SNAPSHOT_ID,
             exception.ManageExistingInvalidReference,
             "Cinder snapshot %s" % layout.CINDER_SNAPSHOT_ID),
        ]
        for name, exc_class, why in cases:
            drv = self.driver()
            exc = self.assertRaises(exc_class, drv.manage_existing,
                                    volume(), {"source-name": name})
            self.assertIn(why, str(exc), name)
            self.assertEqual([], self.replay.changes(), name)

    def test_type_mismatch(self):
        drv = self.driver()
        exc = self.assertRaises(exception.ManageExistingVolumeTypeMismatch,
                                drv.manage_existing,
                                volume(provisioning="thin"),
                                {"source-name": "plain"})
        self.assertIn("asks for thin provisioning but LV plain is thick",
                      str(exc))
        self.assertRaises(exception.ManageExistingVolumeTypeMismatch,
                          drv.manage_existing, volume(provisioning="thick"),
                          {"source-name": "thin1"})
        self.assertEqual([], self.replay.changes())
        drv.manage_existing(volume(provisioning="thick"),
                            {"source-name": "plain"})
        self.assertEqual(1, len(self.replay.changes()))

    def test_lvrename_failure(self):
        drv = self.driver(Replay(failing={
            "lvrename": "lvrename_exists.stderr"}))
        exc = self.assertRaises(exception.VolumeBackendAPIException,
                                drv.manage_existing, volume(),
                                {"source-name": "odd"})
        self.assertIn("already exists in volume group", str(exc))

    def test_manage_snapshot_escapes_name(self):
        drv = self.driver()
        drv.manage_existing_snapshot(snapshot(), {"source-name": "snap1"})
        self.assertEqual([("lvrename", VG, "snap1",
                           "_snapshot-" + SNAPSHOT_ID)],
                         self.replay.changes())

    def test_manage_snapshot_by_cinder_name(self):
        # "snapshot-<id>" names the LV Cinder's LVM driver stores it as.
        # It is found and, as what unmanage left, managed back (issue 13:
        # Cinder's unmanage -> manage round trip).
        drv = self.driver()
        drv.cinder_manages_lookup = listing.managed_lookup(())
        drv.manage_existing_snapshot(
            snapshot(),
            {"source-name": "snapshot-%s" % layout.CINDER_SNAPSHOT_ID})
        self.assertEqual([("lvrename", VG,
                           "_snapshot-%s" % layout.CINDER_SNAPSHOT_ID,
                           "_snapshot-" + SNAPSHOT_ID)],
                         self.replay.changes())

    def test_manage_back_what_unmanage_left(self):
        drv = self.driver()
        drv.cinder_manages_lookup = listing.managed_lookup(())
        drv.manage_existing(volume(), {"source-name": "volume-%s"
                                       % layout.CINDER_VOLUME_ID})
        self.assertEqual([("lvrename", VG,
                           "volume-%s" % layout.CINDER_VOLUME_ID,
                           "volume-" + VOLUME_ID)],
                         self.replay.changes())

    def test_manage_snapshot_checks_its_volume(self):
        drv = self.driver()
        exc = self.assertRaises(
            exception.ManageExistingInvalidReference,
            drv.manage_existing_snapshot,
            snapshot(vol={"id": VOLUME_ID, "name": "odd"}),
            {"source-name": "snap1"})
        self.assertIn("snapshot of origin", str(exc))
        drv.manage_existing_snapshot(
            snapshot(vol={"id": VOLUME_ID, "name": "origin"}),
            {"source-name": "snap1"})
        self.assertEqual(1, len(self.replay.changes()))

    def test_volume_as_snapshot_refused(self):
        drv = self.driver()
        exc = self.assertRaises(exception.ManageExistingInvalidReference,
                                drv.manage_existing_snapshot, snapshot(),
                                {"source-name": "plain"})
        self.assertIn("not a snapshot", str(exc))
        self.assertEqual([], self.replay.changes())

    def test_unmanage_runs_nothing(self):
        drv = self.driver()
        drv.unmanage(volume())
        drv.unmanage_snapshot(snapshot())
        self.assertEqual([], self.replay.calls)

    def test_manage_iff_safe_over_the_recorded_listing(self):
        drv = self.driver()
        entries = drv.get_manageable_volumes([], None, 1000, 0,
                                             ["reference"], ["asc"])
        for entry in entries:
            drv = self.driver()
            # What the listing was given: Cinder manages nothing.
            drv.cinder_manages_lookup = listing.managed_lookup(())
            try:
                drv.manage_existing(volume(), entry["reference"])
                managed = True
            except (exception.ManageExistingInvalidReference,
                    exception.ManageExistingAlreadyManaged):
                managed = False
            self.assertEqual(entry["safe_to_manage"], managed, entry)
            self.assertEqual(1 if managed else 0,
                             len(self.replay.changes()))


class TagModeTest(DriverTestCase):

    def test_manage_adds_tag_and_keeps_name(self):
        drv = self.driver(mode="tag")
        drv.manage_existing(volume(), {"source-name": "plain"})
        # By uuid: a concurrent rename cannot redirect it.
        self.assertEqual([("lvchange", "--addtag",
                           "cinder-volume-id=" + VOLUME_ID, "--select",
                           "lv_uuid=" + self.uuid_of("plain"), VG)],
                         self.replay.changes())
        drv = self.driver(mode="tag")
        drv.manage_existing_snapshot(snapshot(), {"source-name": "tsnap"})
        self.assertEqual([("lvchange", "--addtag",
                           "cinder-snapshot-id=" + SNAPSHOT_ID, "--select",
                           "lv_uuid=" + self.uuid_of("tsnap"), VG)],
                         self.replay.changes())

    def test_tagged_lv_is_managed(self):
        # tagged.json: "plain" tagged by the real lvchange --addtag.
        drv = self.driver(Replay("tagged.json"), mode="tag")
        entries = drv.get_manageable_volumes([], None, 1000, 0,
                                             ["reference"], ["asc"])
        plain = [e for e in entries
                 if e["reference"] == {"source-name": "plain"}][0]
        self.assertEqual(layout.CINDER_VOLUME_ID, plain["cinder_id"])
        self.assertRaises(exception.ManageExistingAlreadyManaged,
                          drv.manage_existing, volume(),
                          {"source-name": "plain"})

    def test_find_and_unmanage_by_tag(self):
        drv = self.driver(Replay("tagged.json"), mode="tag")
        managed = volume(layout.CINDER_VOLUME_ID)
        self.assertEqual("plain", drv.find_lv(managed).name)
        drv.unmanage(managed)
        self.assertEqual([("lvchange", "--deltag",
                           "cinder-volume-id=" + layout.CINDER_VOLUME_ID,
                           "--select",
                           "lv_uuid=" + self.uuid_of("plain", "tagged.json"),
                           VG)], self.replay.changes())

    def test_unmanage_unknown_volume_changes_nothing(self):
        drv = self.driver(mode="tag")
        drv.unmanage(volume())
        self.assertEqual(["lvs"], self.replay.programs())

    def test_id_that_cannot_be_a_tag(self):
        drv = self.driver(mode="tag")
        self.assertRaises(exception.InvalidInput, drv.manage_existing,
                          volume("a b"), {"source-name": "plain"})
        self.assertEqual([], self.replay.calls)


@ddt.ddt
class PartialVGTest(DriverTestCase):
    """Replays the recorded report of a VG with a wiped PV: nothing of it
    is managed, in either mode, and no LVM command but lvs runs."""

    @ddt.data("rename", "tag")
    def test_nothing_is_managed(self, mode):
        drv = self.driver(Replay("partial.json", stderr="partial.stderr"),
                          mode=mode)
        entries = (drv.get_manageable_volumes([], None, 1000, 0,
                                              ["reference"], ["asc"])
                   + drv.get_manageable_snapshots([], None, 1000, 0,
                                                  ["reference"], ["asc"]))
        self.assertEqual(6, len(entries))
        self.assertFalse(any(e["safe_to_manage"] for e in entries))
        for name in ("solo", "ona", "onb", "span"):
            ref = {"source-name": name}
            self.assertRaises(exception.ManageExistingInvalidReference,
                              drv.manage_existing_get_size, volume(), ref)
            self.assertRaises(exception.ManageExistingInvalidReference,
                              drv.manage_existing, volume(), ref)
        for name in ("cowa", "cowb"):
            self.assertRaises(exception.ManageExistingInvalidReference,
                              drv.manage_existing_snapshot, snapshot(),
                              {"source-name": name})
        self.assertEqual({"lvs"}, set(self.replay.programs()))
