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

"""Hostile input to every public method of both drivers changes nothing.

Each row of the tables names an input and the library exception it must
raise; after every call the backend is compared with a snapshot taken
before it (every file's type and checksum, in the image directory and in
a canary directory outside it; the full ``lvs -a`` report and the VG's
metadata sequence number).  The hostile references aim at files the test
makes: a canary image outside the image directory, a symbolic link to it,
a fifo, a character device node (1:3, the null device) and a directory.
Every call runs in a thread with a deadline, so a call that blocks on the
fifo or device fails the test instead of hanging it.
"""

import json
import os
import stat
import threading

import fixtures

from manageable_driver import exception
from tests.functional import test_file as file_tests
from tests.functional import test_lvm as lvm_tests

InvalidRef = exception.ManageExistingInvalidReference
InvalidInput = exception.InvalidInput
UUID = "11111111-2222-4333-8444-555555555555"
DEADLINE = 30

# Listing arguments: (label, (cinder objects, marker, limit, offset, sort
# keys, sort directions)); every one is refused with InvalidInput.
PAGINATION = [
    ("marker not JSON", ([], "{nope", 10, 0, ["reference"], ["asc"])),
    ("marker an int", ([], 5, 10, 0, ["reference"], ["asc"])),
    ("marker not listed", ([], {"source-name": "nope"}, 10, 0,
                           ["reference"], ["asc"])),
    ("limit negative", ([], None, -1, 0, ["reference"], ["asc"])),
    ("limit a string", ([], None, "10", 0, ["reference"], ["asc"])),
    ("limit a float", ([], None, 1.5, 0, ["reference"], ["asc"])),
    ("offset negative", ([], None, 10, -1, ["reference"], ["asc"])),
    ("offset huge string", ([], None, 10, "9" * 5000, ["reference"],
                            ["asc"])),
    ("sort key unknown", ([], None, 10, 0, ["nope"], ["asc"])),
    ("sort keys a string", ([], None, 10, 0, "reference", ["asc"])),
    ("sort key an int", ([], None, 10, 0, [5], ["asc"])),
    ("sort dir unknown", ([], None, 10, 0, ["reference"], ["sideways"])),
    ("more dirs than keys", ([], None, 10, 0, ["reference"],
                             ["asc", "desc"])),
    ("sort key dunder", ([], None, 10, 0, ["__class__"], ["asc"])),
]


def common_refs():
    """References every driver must refuse, whatever its backend."""
    return [
        ("None", None),
        ("a string", "raw.img"),
        ("a list", ["raw.img"]),
        ("an int", 42),
        ("empty dict", {}),
        ("unknown key", {"name": "raw.img"}),
        ("empty name", {"source-name": ""}),
        ("name None", {"source-name": None}),
        ("name an int", {"source-name": 5}),
        ("name a dict", {"source-name": {"source-name": "raw.img"}}),
        ("huge name", {"source-name": "a" * 100000}),
        ("long name", {"source-name": "a" * 300}),
        ("NUL", {"source-name": "raw.img\0"}),
        ("newline", {"source-name": "raw.img\n"}),
        ("unicode", {"source-name": "r\u00e4w\u202e.img"}),
        ("surrogate", {"source-name": "raw\udcff.img"}),
        ("dot", {"source-name": "."}),
        ("dotdot", {"source-name": ".."}),
        ("flag", {"source-name": "-f"}),
        ("long flag", {"source-name": "--help"}),
        ("shell", {"source-name": "$(touch pwned)"}),
    ]


class Hostile:
    """Runs the tables against one driver and one backend snapshot."""

    def call(self, func, *args):
        """Call with a deadline; return the exception raised, or None."""
        result = {}

        def run():
            try:
                func(*args)
                result["exc"] = None
            except BaseException as exc:  # reported, not swallowed
                result["exc"] = exc
        worker = threading.Thread(target=run, daemon=True)
        worker.start()
        worker.join(DEADLINE)
        self.assertFalse(worker.is_alive(), "%s hung" % func.__name__)
        return result["exc"]

    def unchanged(self, label):
        # The state after one case is the state before the next.
        after = self.backend_state()
        self.assertEqual(self.before, after, label)

    def expect(self, label, expected, func, *args):
        exc = self.call(func, *args)
        self.assertIsInstance(exc, expected, "%s: %s(%r) raised %r" % (
            label, func.__name__, args, exc))
        self.unchanged(label)
        self.cases += 1

    def run_tables(self, drv, refs, volumes, snapshots, unmanage_objs,
                   good_ref, good_snap_ref):
        self.cases = 0
        self.before = self.backend_state()
        for label, ref in refs:
            with self.subTest(ref=label):
                self.expect(label, InvalidRef, drv.manage_existing,
                            {"id": UUID, "name": "volume-%s" % UUID}, ref)
                self.expect(label, InvalidRef, drv.manage_existing_get_size,
                            {"id": UUID, "name": "volume-%s" % UUID}, ref)
                snap = {"id": UUID, "name": "snapshot-%s" % UUID}
                self.expect(label, InvalidRef, drv.manage_existing_snapshot,
                            snap, ref)
                self.expect(label, InvalidRef,
                            drv.manage_existing_snapshot_get_size, snap, ref)
        for label, obj, expected in volumes:
            with self.subTest(volume=label):
                self.expect(label, expected, drv.manage_existing, obj,
                            good_ref)
        for label, obj, expected in snapshots:
            with self.subTest(snapshot=label):
                self.expect(label, expected, drv.manage_existing_snapshot,
                            obj, good_snap_ref)
        for label, args in PAGINATION:
            with self.subTest(pagination=label):
                self.expect(label, InvalidInput, drv.get_manageable_volumes,
                            *args)
                self.expect(label, InvalidInput,
                            drv.get_manageable_snapshots, *args)
        for label, obj, expected in unmanage_objs:
            with self.subTest(unmanage=label):
                for method in (drv.unmanage, drv.unmanage_snapshot):
                    exc = self.call(method, obj)
                    if expected is None:
                        self.assertIsNone(exc, label)
                    else:
                        self.assertIsInstance(exc, expected, label)
                    self.unchanged(label)
                    self.cases += 1
        return self.cases


def bad_objects(kind, hidden=True):
    """Cinder objects with missing or hostile fields: (label, object,
    exception).

    :param hidden: include a name with a leading dot (a valid LV name,
        but never an image file name).
    """
    prefix = "volume" if kind == "volume" else "snapshot"
    rows = [
        ("None", None, InvalidInput),
        ("empty", {}, InvalidInput),
        ("no name", {"id": UUID}, InvalidInput),
        ("name empty", {"id": UUID, "name": ""}, InvalidInput),
        ("name an int", {"id": UUID, "name": 5}, InvalidInput),
        ("name a path", {"id": UUID, "name": "../%s-x" % prefix},
         InvalidInput),
        ("name with NUL", {"id": UUID, "name": "%s-\0" % prefix},
         InvalidInput),
        ("name too long", {"id": UUID, "name": "v" * 5000}, InvalidInput),
        ("id not a UUID", {"id": "abc", "name": "%s-abc" % prefix},
         InvalidInput),
    ]
    if hidden:
        rows.append(("name hidden", {"id": UUID, "name": ".%s-x" % prefix},
                     InvalidInput))
    return rows


class FileHostileTest(Hostile, file_tests.FileTestCase):

    def setUp(self):
        super().setUp()
        self.outside = self.useFixture(fixtures.TempDir()).path
        canary = os.path.join(self.outside, "canary.img")
        with open(canary, "wb") as f:
            f.write(b"canary" * 1000)
        self.create("raw.img", file_tests.IMAGES["raw.img"][0])
        self.create("base.qcow2", file_tests.IMAGES["base.qcow2"][0])
        self.create("volume-1", ["-f", "qcow2", "-b", "base.qcow2", "-F",
                                 "qcow2", "@"])
        os.symlink(canary, self.path("link.img"))
        os.symlink(self.outside, self.path("linkdir"))
        os.mkfifo(self.path("fifo"))
        os.mknod(self.path("dev"), stat.S_IFCHR | 0o600, os.makedev(1, 3))
        os.mkdir(self.path("sub"))
        self.create("sub/inner.img", file_tests.IMAGES["raw.img"][0])
        self.create(".hidden.img", file_tests.IMAGES["raw.img"][0])

    def backend_state(self):
        state = {}
        for top in (self.dir, self.outside):
            for root, dirs, files in os.walk(top):
                for name in dirs + files:
                    path = os.path.join(root, name)
                    st = os.lstat(path)
                    if stat.S_ISREG(st.st_mode):
                        digest = file_tests.checksum(path)
                    elif stat.S_ISLNK(st.st_mode):
                        digest = os.readlink(path)
                    else:
                        digest = None
                    state[path] = (stat.S_IFMT(st.st_mode), st.st_ino,
                                   st.st_mode, digest)
        return state

    def test_tables(self):
        canary = os.path.join(self.outside, "canary.img")
        refs = common_refs() + [
            ("source-id", {"source-id": "raw.img"}),
            ("outside absolute", {"source-name": canary}),
            ("prefix of dir", {"source-name": self.dir + "x/raw.img"}),
            ("dotdot escape", {"source-name": "../" + os.path.basename(
                self.outside) + "/canary.img"}),
            ("dotdot inside", {"source-name": "sub/../raw.img"}),
            ("symlink to canary", {"source-name": "link.img"}),
            ("through symlinked dir", {"source-name": "linkdir/canary.img"}),
            ("fifo", {"source-name": "fifo"}),
            ("device", {"source-name": "dev"}),
            ("directory", {"source-name": "sub"}),
            ("too deep", {"source-name": "sub/inner.img"}),
            ("hidden", {"source-name": ".hidden.img"}),
            ("double slash", {"source-name": self.dir + "//raw.img"}),
            ("trailing slash", {"source-name": "raw.img/"}),
            ("missing", {"source-name": "nope.img"}),
            ("proc", {"source-name": "/proc/self/mem"}),
        ]
        count = self.run_tables(
            self.driver, refs, bad_objects("volume"),
            bad_objects("snapshot"),
            [("None", None, InvalidInput), ("no name", {}, InvalidInput),
             ("name a path", {"name": "../canary.img"}, None),
             ("name of a fifo", {"name": "fifo"}, None)],
            {"source-name": "raw.img"}, {"source-name": "base.qcow2"})
        self.assertEqual(4 * len(refs) + len(bad_objects("volume"))
                         + len(bad_objects("snapshot"))
                         + 2 * len(PAGINATION) + 8, count)
        # The fifo is skipped by the listing, which does not hang on it.
        names = set(self.volumes())
        self.assertNotIn("fifo", names)
        self.assertNotIn("dev", names)
        self.assertNotIn("link.img", names)


class LVMHostileTest(Hostile, lvm_tests.LVMTestCase):

    def backend_state(self):
        # Every LV field and the VG's metadata sequence number, from one
        # command.
        return json.loads(self.vg.lvm(
            "lvs", "-a", "--reportformat", "json", "-o", "lv_all,vg_seqno",
            self.vg.vg_name))

    def check_mode(self, mode):
        drv = self.driver(mode)
        vg = self.vg.vg_name
        refs = common_refs() + [
            ("source-id not a uuid", {"source-id": "plain"}),
            ("source-id unknown", {"source-id":
                                   "aaaaaa-bbbb-cccc-dddd-eeee-ffff-gggggg"}),
            ("other VG", {"source-name": "%s-other/plain" % vg}),
            ("VG path escape", {"source-name": "%s/../plain" % vg}),
            ("dev path", {"source-name": "/dev/%s/plain" % vg}),
            ("mapper path", {"source-name": "/dev/mapper/%s-plain" % vg}),
            ("hidden internal LV", {"source-name": "snapshot0"}),
            ("thin pool data", {"source-name": "pool_tdata"}),
            ("space", {"source-name": "pl ain"}),
            ("glob", {"source-name": "pl*"}),
            ("missing", {"source-name": "nope"}),
        ]
        volumes = bad_objects("volume", hidden=False)
        if mode == "tag":
            # The id goes into an LVM tag: anything LVM would refuse or
            # misread is refused first.
            volumes = [
                ("id None", {"name": "volume-x"}, InvalidInput),
                ("id with space", {"id": "a b", "name": "volume-x"},
                 InvalidInput),
                ("id with comma", {"id": "a,b", "name": "volume-x"},
                 InvalidInput),
                ("id shell", {"id": "$(reboot)", "name": "volume-x"},
                 InvalidInput),
                ("id huge", {"id": "a" * 2000, "name": "volume-x"},
                 InvalidInput),
                ("id unicode", {"id": "\u00e9", "name": "volume-x"},
                 InvalidInput),
                ("id not a UUID", {"id": "abc", "name": "volume-abc"},
                 InvalidInput),
            ]
        snapshots = (bad_objects("snapshot", hidden=False)
                     if mode == "rename" else [])
        unmanage = [("None", None, None if mode == "rename"
                     else InvalidInput),
                    ("no id", {"name": "plain"}, None if mode == "rename"
                     else InvalidInput)]
        count = self.run_tables(drv, refs, volumes, snapshots, unmanage,
                                {"source-name": "plain"},
                                {"source-name": "snap1"})
        self.assertEqual(4 * len(refs) + len(volumes) + len(snapshots)
                         + 2 * len(PAGINATION) + 2 * len(unmanage), count)

    def test_rename_mode(self):
        self.check_mode("rename")

    def test_tag_mode(self):
        self.check_mode("tag")
