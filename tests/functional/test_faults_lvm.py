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

"""A failure at every step of an LVM driver manage call loses nothing.

The steps of a manage call are: ``lvs`` to find the LV, ``lvs`` again
under the lock, then ``lvrename`` (rename mode) or ``lvchange --addtag``
(tag mode).  Each command in turn is replaced by a real process that exits
non-zero, outlives the runner's timeout or prints garbage (see
:mod:`.fault_injection`); the process is also SIGKILLed before, during and
after the changing command.  Afterwards the VG has the same LV UUIDs with
the same sizes and segment types, the LV is there once under its old or
new name, nothing else changed, the VG's metadata sequence number moved
only if the LV did, and a second manage call finishes.
"""

import itertools
import json
import os
import textwrap
import time

from manageable_driver import exception
from tests.functional import fault_injection as fi
from tests.functional import test_lvm as lvm_tests

# kind: (existing LV, Cinder object, name it gets in rename mode, its tag)
TARGETS = {
    "volume": ("plain", lvm_tests.volume(),
               "volume-%s" % lvm_tests.VOLUME_ID,
               "cinder-volume-id=%s" % lvm_tests.VOLUME_ID),
    "snapshot": ("snap1", lvm_tests.snapshot(),
                 "_snapshot-%s" % lvm_tests.SNAPSHOT_ID,
                 "cinder-snapshot-id=%s" % lvm_tests.SNAPSHOT_ID),
}
STEPS = ("lvs-find", "lvs-recheck", "change")


def manage(drv, kind):
    old, obj, _new, _tag = TARGETS[kind]
    if kind == "volume":
        drv.manage_existing(obj, {"source-name": old})
    else:
        drv.manage_existing_snapshot(obj, {"source-name": old})


class LVMFaultTestCase(lvm_tests.LVMTestCase):

    def faulty_driver(self, mode, execute):
        drv = self.driver(mode, execute)
        # No option sets the LVM command timeout (120 s); the runner's
        # attribute is shortened so a hung command is cut in a second.
        drv.lvm.runner.timeout = fi.TIMEOUT
        return drv

    def state(self):
        """Every LV (hidden ones too) by UUID, and the VG's seqno."""
        out = self.vg.lvm(
            "lvs", "-a", "--reportformat", "json", "--units", "b",
            "--nosuffix", "-o", "lv_uuid,lv_name,lv_size,segtype,lv_tags,"
            "origin", self.vg.vg_name)
        lvs = {lv["lv_uuid"]: lv
               for lv in json.loads(out)["report"][0]["lv"]}
        seqno = int(self.vg.lvm("vgs", "--noheadings", "-o", "vg_seqno",
                                self.vg.vg_name))
        return lvs, seqno

    def assert_intact(self, before, mode, kind):
        """The VG after a failed or killed manage: same LVs, the target
        under its old or its new name (or tag), nothing else changed.

        :returns: whether the target was changed.
        """
        (lvs0, seqno0), (lvs1, seqno1) = before, self.state()
        old, _obj, new, tag = TARGETS[kind]
        self.assertEqual(set(lvs0), set(lvs1), "LV UUIDs changed")
        changed = False
        for uuid, lv0 in lvs0.items():
            lv1 = lvs1[uuid]
            for field in ("lv_size", "segtype", "origin"):
                self.assertEqual(lv0[field], lv1[field], (field, lv0))
            if lv0["lv_name"] != old:
                self.assertEqual(lv0, lv1)
                continue
            if mode == "rename":
                self.assertIn(lv1["lv_name"], (old, new))
                self.assertEqual(lv0["lv_tags"], lv1["lv_tags"])
                changed = lv1["lv_name"] == new
            else:
                self.assertEqual(old, lv1["lv_name"])
                self.assertIn(lv1["lv_tags"], (lv0["lv_tags"], tag))
                changed = lv1["lv_tags"] == tag
        names = [lv["lv_name"] for lv in lvs1.values()]
        self.assertEqual(len(names), len(set(names)))
        # LVM commits metadata only for a change.
        self.assertEqual(seqno0 + (1 if changed else 0), seqno1)
        return changed

    def finish(self, mode, kind):
        """Manage again without faults; check the result; undo it."""
        old, _obj, new, tag = TARGETS[kind]
        drv = self.faulty_driver(mode, fi.FaultyExecute())
        names = {lv["lv_name"]: lv for lv in self.state()[0].values()}
        if mode == "rename":
            if old in names:
                manage(drv, kind)
            names = {lv["lv_name"] for lv in self.state()[0].values()}
            self.assertIn(new, names)
            self.assertNotIn(old, names)
            self.vg.lvm("lvrename", self.vg.vg_name, new, old)
        else:
            if names[old]["lv_tags"] != tag:
                manage(drv, kind)
            self.assertEqual(tag, self.vg.lv_tags(old))
            self.vg.lvm("lvchange", "--deltag", tag,
                        "%s/%s" % (self.vg.vg_name, old))


class CommandFaultTest(LVMFaultTestCase):

    def test_each_command_fails(self):
        count = 0
        for mode, kind, step, fault in itertools.product(
                ("rename", "tag"), TARGETS, STEPS, fi.COMMAND_FAULTS):
            with self.subTest(mode=mode, kind=kind, step=step, fault=fault):
                before = self.state()
                if step == "change":
                    match = fi.command_is(
                        "lvrename" if mode == "rename" else "lvchange")
                else:
                    match = fi.nth_command("lvs", STEPS.index(step) + 1)
                execute = fi.FaultyExecute(match, fault)
                drv = self.faulty_driver(mode, execute)
                try:
                    manage(drv, kind)
                    outcome = None
                except exception.ManageableDriverException as exc:
                    outcome = exc
                self.assertEqual(1, execute.injected)
                changed = self.assert_intact(before, mode, kind)
                if step != "change" or fault != "garbage":
                    self.assertIsInstance(
                        outcome, exception.ManageableDriverException)
                # else the changing command "succeeded" (exit 0) without
                # changing anything; the driver (today) does not read the
                # result back and returns: nothing is lost either way, and
                # the retry below finishes.
                self.assertFalse(changed)
                self.finish(mode, kind)
                count += 1
        self.assertEqual(36, count)


# One manage call in a child that prints a marker before, while or after
# LVM changes the VG, and then waits to be killed.
STOP_AT = textwrap.dedent("""
    import sys, time
    from oslo_concurrency import processutils
    from oslo_config import cfg
    from manageable_driver import opts
    from manageable_driver.drivers import lvm
    from manageable_driver.drivers.lvm import options
    from tests.functional import test_faults_lvm as t
    vg, conf_file, lock_path, mode, kind, stop = sys.argv[1:7]
    def execute(*cmd, **kwargs):
        changing = cmd[0] in ("lvrename", "lvchange")
        if changing and stop in ("before", "during"):
            print(stop, flush=True)
            if stop == "before":
                time.sleep(600)
        out = processutils.execute(*cmd, **kwargs)
        if changing and stop == "after":
            print(stop, flush=True)
            time.sleep(600)
        return out
    conf = cfg.ConfigOpts()
    conf.register_opts(opts.common_opts + options.lvm_opts)
    conf.set_override("volume_group", vg)
    conf.set_override("lvm_conf_file", conf_file)
    conf.set_override("lvm_manage_mode", mode)
    conf.set_override("manageable_lock_path", lock_path)
    t.manage(lvm.LVMDriver(configuration=conf, execute=execute), kind)
    print("done", flush=True)
""")


class KillTest(LVMFaultTestCase):

    def test_killed_around_the_change(self):
        count = 0
        for mode, kind, stop in itertools.product(
                ("rename", "tag"), TARGETS, ("before", "after")):
            with self.subTest(mode=mode, kind=kind, stop=stop):
                before = self.state()
                child = fi.spawn(STOP_AT, self.vg.vg_name,
                                 self.vg.conf_file, self.lock_path, mode,
                                 kind, stop)
                fi.kill_when(self, child, stop)
                changed = self.assert_intact(before, mode, kind)
                self.assertEqual(stop == "after", changed)
                self.finish(mode, kind)
                count += 1
        self.assertEqual(8, count)

    def test_lvm_killed_while_it_writes(self):
        # SIGKILL to the process group, LVM command included, at several
        # moments while it runs: whatever the moment, the VG is whole.
        outcomes = set()
        for mode, delay in itertools.product(
                ("rename", "tag"), (0.0, 0.01, 0.02, 0.03, 0.05)):
            with self.subTest(mode=mode, delay=delay):
                before = self.state()
                child = fi.spawn(STOP_AT, self.vg.vg_name,
                                 self.vg.conf_file, self.lock_path, mode,
                                 "volume", "during", new_session=True)
                self.addCleanup(
                    lambda c=child: c.poll() is None and c.kill())
                self.assertEqual("during", child.stdout.readline().strip())
                time.sleep(delay)
                try:
                    os.killpg(child.pid, 9)
                except ProcessLookupError:
                    pass
                child.wait(30)
                changed = self.assert_intact(before, mode, "volume")
                outcomes.add(changed)
                self.finish(mode, "volume")
        # Recorded, not asserted: which moments land before the commit
        # depends on the machine's speed.
        self.addDetailUniqueName("outcomes", _text(sorted(outcomes)))


def _text(value):
    from testtools import content
    return content.text_content(repr(value))
