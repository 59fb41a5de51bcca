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

"""Processes racing on one backend, for both drivers.

Every racer is its own Python process with its own driver, sharing only
``manageable_lock_path``, as several Cinder volume services on one host
would.  They start together: each builds its driver, says "ready" and
waits for one "go" line, sent to all once every one is ready.
"""

import json
import os
import subprocess
import sys
import textwrap

from manageable_driver import exception
from tests.functional import fault_injection as fi
from tests.functional import test_file as file_tests
from tests.functional import test_lvm as lvm_tests

N = 8

RACER = textwrap.dedent("""
    import json, sys, time
    from oslo_config import cfg
    from manageable_driver import exception
    from manageable_driver import opts
    spec = json.loads(sys.argv[1])
    conf = cfg.ConfigOpts()
    conf(args=[])
    if spec["driver"] == "file":
        from manageable_driver.drivers.file import FileDriver as Driver
        from manageable_driver.drivers.file import options
        conf.register_opts(opts.common_opts + options.file_opts)
    else:
        from manageable_driver.drivers.lvm import LVMDriver as Driver
        from manageable_driver.drivers.lvm import options
        conf.register_opts(opts.common_opts + options.lvm_opts)
    for key, value in spec["conf"].items():
        conf.set_override(key, value)
    driver = Driver(conf)
    print("ready", flush=True)
    sys.stdin.readline()
    if spec["action"] == "list":
        out = {"listings": 0, "errors": [], "twice": []}
        deadline = time.monotonic() + spec["seconds"]
        while time.monotonic() < deadline:
            try:
                entries = driver.get_manageable_volumes(
                    [], None, 1000, 0, ["reference"], ["asc"])
            except Exception as exc:
                out["errors"].append(repr(exc))
                continue
            out["listings"] += 1
            names = [e["reference"]["source-name"].rsplit("/", 1)[-1]
                     for e in entries]
            if len(names) != len(set(names)):
                out["twice"].append(names)
            for group in spec["groups"]:
                if sum(name in group for name in names) > 1:
                    out["twice"].append(group)
        print(json.dumps(out))
    else:
        try:
            getattr(driver, spec["action"])(spec["obj"], spec["ref"])
            print(json.dumps(["ok", ""]))
        except exception.ManageableDriverException as exc:
            print(json.dumps([type(exc).__name__, str(exc)]))
""")


def uuid(number):
    return "00000000-0000-4000-8000-%012d" % number


def race(test, specs, timeout=120):
    """Run one racer per spec, all released at once; return their JSON
    answers in order."""
    children = []
    for spec in specs:
        child = subprocess.Popen(
            [sys.executable, "-c", RACER, json.dumps(spec)], cwd=fi.REPO,
            stdin=subprocess.PIPE, stdout=subprocess.PIPE,
            stderr=subprocess.PIPE, text=True)
        test.addCleanup(lambda c=child: c.poll() is None and c.kill())
        children.append(child)
    for child in children:
        test.assertEqual("ready", child.stdout.readline().strip(),
                         child.stderr.read() if child.poll() else "")
    for child in children:
        child.stdin.write("go\n")
        child.stdin.flush()
    answers = []
    for child in children:
        out, err = child.communicate(timeout=timeout)
        test.assertEqual(0, child.returncode, err)
        answers.append(json.loads(out))
    return answers


def assert_one_winner(test, answers, loser_exceptions):
    """Exactly one "ok"; the others name a clear library exception."""
    kinds = [name for name, _msg in answers]
    test.assertEqual(1, kinds.count("ok"), answers)
    for name, message in answers:
        if name != "ok":
            test.assertIn(name, loser_exceptions, message)
            test.assertTrue(message)
    return kinds.index("ok")


class FileRaceTest(file_tests.FileTestCase):

    def spec(self, action, obj=None, ref=None, **extra):
        spec = {"driver": "file", "action": action, "obj": obj, "ref": ref,
                "conf": {"file_volume_dirs": [self.dir],
                         "manageable_lock_path": self.lock_dir}}
        spec.update(extra)
        return spec

    def test_same_image_one_winner(self):
        self.create("raw.img", file_tests.IMAGES["raw.img"][0])
        digest = file_tests.checksum(self.path("raw.img"))
        answers = race(self, [
            self.spec("manage_existing", {"name": "volume-%s" % uuid(i)},
                      {"source-name": "raw.img"}) for i in range(N)])
        winner = assert_one_winner(
            self, answers, ("ManageExistingInvalidReference",))
        self.assertEqual(["volume-%s" % uuid(winner)],
                         os.listdir(self.dir))
        self.assertEqual(digest, file_tests.checksum(
            self.path("volume-%s" % uuid(winner))))

    def test_same_snapshot_one_winner(self):
        self.create("base.qcow2", file_tests.IMAGES["base.qcow2"][0])
        self.create(file_tests.V1, ["-f", "qcow2", "-b", "base.qcow2", "-F",
                                 "qcow2", "@"])
        answers = race(self, [
            self.spec("manage_existing_snapshot",
                      {"name": "snapshot-%s" % uuid(i),
                       "volume": {"name": file_tests.V1}},
                      {"source-name": "base.qcow2"}) for i in range(N)])
        winner = assert_one_winner(
            self, answers, ("ManageExistingInvalidReference",))
        name = "snapshot-%s" % uuid(winner)
        self.assertEqual([name, file_tests.V1], sorted(os.listdir(self.dir)))
        chain = file_tests.info(self.path(file_tests.V1), "--backing-chain")
        self.assertEqual(name, os.path.basename(chain[1]["filename"]))

    def test_different_images_all_succeed(self):
        for i in range(N):
            self.create("raw%d.img" % i, file_tests.IMAGES["raw.img"][0])
        answers = race(self, [
            self.spec("manage_existing", {"name": "volume-%s" % uuid(i)},
                      {"source-name": "raw%d.img" % i}) for i in range(N)])
        self.assertEqual([["ok", ""]] * N, answers)
        self.assertEqual(sorted("volume-%s" % uuid(i) for i in range(N)),
                         sorted(os.listdir(self.dir)))

    def test_listing_while_managing(self):
        for i in range(N):
            self.create("raw%d.img" % i, file_tests.IMAGES["raw.img"][0])
        groups = [["raw%d.img" % i, "volume-%s" % uuid(i)]
                  for i in range(N)]
        answers = race(self, [
            self.spec("list", groups=groups, seconds=3)] + [
            self.spec("manage_existing", {"name": "volume-%s" % uuid(i)},
                      {"source-name": "raw%d.img" % i}) for i in range(N)])
        listing = answers[0]
        self.assertEqual([], listing["errors"])
        self.assertEqual([], listing["twice"])
        self.assertGreater(listing["listings"], 0)
        self.assertEqual([["ok", ""]] * N, answers[1:])


class LVMRaceTest(lvm_tests.LVMTestCase):

    def spec(self, action, obj=None, ref=None, mode="rename", **extra):
        spec = {"driver": "lvm", "action": action, "obj": obj, "ref": ref,
                "conf": {"volume_group": self.vg.vg_name,
                         "lvm_conf_file": self.vg.conf_file,
                         "lvm_manage_mode": mode,
                         "manageable_lock_path": self.lock_path}}
        spec.update(extra)
        return spec

    def test_same_lv_one_winner(self):
        for mode, lv, losers in (
                ("rename", "odd", ("ManageExistingInvalidReference",)),
                ("tag", "tiny", ("ManageExistingAlreadyManaged",))):
            with self.subTest(mode=mode):
                before = {n for n in self.vg.lv_names()}
                answers = race(self, [
                    self.spec("manage_existing", lvm_tests.volume(uuid(i)),
                              {"source-name": lv}, mode=mode)
                    for i in range(N)])
                winner = assert_one_winner(self, answers, losers)
                after = self.vg.lv_names()
                if mode == "rename":
                    self.assertEqual(
                        before - {lv} | {"volume-%s" % uuid(winner)},
                        after)
                else:
                    self.assertEqual(before, after)
                    self.assertEqual("cinder-volume-id=%s" % uuid(winner),
                                     self.vg.lv_tags(lv))

    def test_same_snapshot_one_winner(self):
        answers = race(self, [
            self.spec("manage_existing_snapshot", lvm_tests.snapshot(uuid(i)),
                      {"source-name": "snap1"}) for i in range(N)])
        winner = assert_one_winner(
            self, answers, ("ManageExistingInvalidReference",))
        names = self.vg.lv_names()
        self.assertIn("_snapshot-%s" % uuid(winner), names)
        self.assertNotIn("snap1", names)

    def test_different_lvs_all_succeed(self):
        lvs = ["plain", "odd", "tiny", "split", "origin", "thin1"]
        answers = race(self, [
            self.spec("manage_existing", lvm_tests.volume(uuid(i)),
                      {"source-name": name}) for i, name in enumerate(lvs)])
        self.assertEqual([["ok", ""]] * len(lvs), answers)
        names = self.vg.lv_names()
        for i, name in enumerate(lvs):
            self.assertIn("volume-%s" % uuid(i), names)
            self.assertNotIn(name, names)

    def test_listing_while_managing(self):
        lvs = ["plain", "odd", "tiny", "split", "origin", "thin1"]
        groups = [[name, "volume-%s" % uuid(i)] for i, name in
                  enumerate(lvs)]
        answers = race(self, [
            self.spec("list", groups=groups, seconds=3)] + [
            self.spec("manage_existing", lvm_tests.volume(uuid(i)),
                      {"source-name": name}) for i, name in enumerate(lvs)])
        listing = answers[0]
        self.assertEqual([], listing["errors"])
        self.assertEqual([], listing["twice"])
        self.assertGreater(listing["listings"], 0)
        self.assertEqual([["ok", ""]] * len(lvs), answers[1:])


# The exceptions racers may name, checked to exist so a rename of one
# cannot make the assertions above vacuous.
for _name in ("ManageExistingInvalidReference",
              "ManageExistingAlreadyManaged"):
    assert issubclass(getattr(exception, _name),
                      exception.ManageableDriverException)
