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

"""The file driver on real files in a temp dir, qemu-img replayed from
recordings (tests/unit/data/file/*.info.json)."""

import errno
import hashlib
import logging
import os
import struct

import fixtures
from oslo_config import cfg

from manageable_driver import exception
from manageable_driver import interface
from manageable_driver.drivers.file import FileDriver
from manageable_driver.drivers.file import fsops
from manageable_driver.drivers.file import records as file_records
from tests import base
from tests.unit import file_data

UUID = "0a1b2c3d-0000-4000-8000-00000000000%d"
VOL = "volume-" + UUID % 1
VOL2 = "volume-" + UUID % 2
SNAP = "snapshot-" + UUID % 1


def real_path(path):
    """The file a /proc/PID/fd/N name the driver hands qemu-img is."""
    return os.readlink(path) if path.startswith("/proc/") else path


def checksum(path):
    with open(path, "rb") as f:
        return hashlib.sha256(f.read()).hexdigest()


class ReplayQemuImg:
    """processutils.execute that prints what qemu-img printed for the
    recorded image a file was made from, and keeps every argv."""

    def __init__(self):
        self.origin = {}
        self.calls = []
        self.kwargs = []

    def __call__(self, *cmd, **kwargs):
        self.calls.append(cmd)
        self.kwargs.append(kwargs)
        # Through a root helper: "<helper> env LC_ALL=C qemu-img ...".
        cmd = cmd[cmd.index("qemu-img"):]
        if cmd[1] == "info":
            rec = file_data.Recording(
                self.origin[os.path.basename(real_path(cmd[-1]))])
            return rec.info_text, ""
        if cmd[1] == "rebase":
            # The driver reads the header back after a rebase: write the
            # new name where qcow2 keeps it, as qemu-img rebase -u does.
            name = cmd[cmd.index("-b") + 1].encode()
            with open(cmd[-1], "r+b") as f:
                offset = struct.unpack(">Q", f.read(16)[8:])[0]
                f.seek(offset)
                f.write(name)
                f.seek(16)
                f.write(struct.pack(">I", len(name)))
        return "", ""


class DriverTestCase(base.TestCase):

    def setUp(self):
        super().setUp()
        self.dir = self.useFixture(fixtures.TempDir()).path
        locks = self.useFixture(fixtures.TempDir()).path
        self.conf = cfg.ConfigOpts()
        self.conf(args=[])
        self.execute = ReplayQemuImg()
        self.driver = FileDriver(self.conf, execute=self.execute)
        self.conf.set_override("file_volume_dirs", [self.dir])
        self.conf.set_override("manageable_lock_path", locks)

    def path(self, *names):
        return os.path.join(self.dir, *names)

    def make(self, recording, name=None):
        name = name or recording
        file_data.Recording(recording).write_to(self.path(name))
        self.execute.origin[name] = recording
        return {"source-name": self.path(name)}

    def volumes(self, managed=()):
        return {e["reference"]["source-name"][len(self.dir) + 1:]: e
                for e in self.driver.get_manageable_volumes(
                    list(managed), None, 1000, 0, ["reference"], ["asc"])}

    def snapshots(self):
        return {e["reference"]["source-name"][len(self.dir) + 1:]: e
                for e in self.driver.get_manageable_snapshots(
                    [], None, 1000, 0, ["reference"], ["asc"])}


class ConformanceTest(base.TestCase):

    def test_implements_all_interfaces(self):
        self.assertEqual([], interface.check_conformance(
            FileDriver, *interface.ALL_INTERFACES))


class ListingTest(DriverTestCase):

    def test_listing(self):
        for name in file_data.names():
            self.make(name)
        self.make("v3.qcow2", "raw-named.img")
        with open(self.path("small.raw"), "wb") as f:
            f.truncate(1024 ** 3 + 1)
        entries = self.volumes()
        self.assertEqual(
            {"raw.img": (1, True, None),
             "small.raw": (2, True, None),
             "v2.qcow2": (2, True, None),
             "odd-size.qcow2": (2, True, None),
             "raw-named.img": (1, True, None),
             "v3.qcow2": (1, False, "backing file of: backed-v2.qcow2, "
                                    "backed.qcow2"),
             "backed.qcow2": (1, False, "backing file present: v3.qcow2"),
             "aes.qcow2": (1, False, "encrypted image"),
             # Its size on disk is not its size: unknown, never a number.
             "a.vhd": (None, False, "unsupported format: vpc")},
            {name: (entries[name]["size"], entries[name]["safe_to_manage"],
                    entries[name]["reason_not_safe"])
             for name in ("raw.img", "small.raw", "v2.qcow2",
                          "odd-size.qcow2", "raw-named.img", "v3.qcow2",
                          "backed.qcow2", "aes.qcow2", "a.vhd")})
        self.assertEqual(len(file_data.names()) + 2, len(entries))
        self.assertEqual({"format": "qcow2", "virtual_size": "1073741824",
                          "file_size": "196624",
                          "backing_file": "v3.qcow2"},
                         entries["backed.qcow2"]["extra_info"])
        # No subprocess while listing.
        self.assertEqual([], self.execute.calls)

    def test_already_managed_and_template_names(self):
        self.make("v2.qcow2", "volume-" + UUID % 1)
        self.make("v2.qcow2", "snapshot-" + UUID % 2)
        self.make("v2.qcow2", "volume-" + UUID % 3)
        entries = self.volumes([{"id": UUID % 1,
                                 "name": "volume-" + UUID % 1}])
        self.assertEqual(UUID % 1, entries["volume-" + UUID % 1]
                         ["cinder_id"])
        # A snapshot's name is never free as a volume ...
        self.assertFalse(entries["snapshot-" + UUID % 2]["safe_to_manage"])
        # ... a volume's, whose id Cinder does not manage, is (unmanage
        # left it), and said to be Cinder's.
        self.assertTrue(entries["volume-" + UUID % 3]["safe_to_manage"])
        self.assertIn(UUID % 3, entries["volume-" + UUID % 3]["extra_info"]
                      ["cinder_made_name"])

    def test_hard_links_are_not_safe(self):
        self.make("raw.img")
        os.link(self.path("raw.img"), self.path("other.img"))
        self.assertIn("2 hard links",
                      self.volumes()["raw.img"]["reason_not_safe"])

    def test_snapshot_listing(self):
        self.make("v3.qcow2")
        self.make("backed.qcow2")
        snaps = self.snapshots()
        self.assertEqual(["v3.qcow2"], list(snaps))
        snap = snaps["v3.qcow2"]
        self.assertTrue(snap["safe_to_manage"])
        self.assertEqual({"source-name": self.path("backed.qcow2")},
                         snap["source_reference"])
        self.assertEqual("qcow2", snap["extra_info"]["format"])
        self.assertEqual("1073741824", snap["extra_info"]["virtual_size"])

    def test_branching_backing_file_is_not_safe_snapshot(self):
        self.make("v3.qcow2")
        self.make("backed.qcow2")
        self.make("backed-v2.qcow2")
        self.assertIn("several images",
                      self.snapshots()["v3.qcow2"]["reason_not_safe"])

    def test_no_directory_configured(self):
        self.conf.set_override("file_volume_dirs", [])
        self.assertRaises(exception.VolumeBackendAPIException,
                          self.volumes)


class ReferenceTest(DriverTestCase):

    def assert_invalid(self, ref, reason):
        before = sorted(os.listdir(self.dir))
        exc = self.assertRaises(
            exception.ManageExistingInvalidReference,
            self.driver.manage_existing, {"name": VOL}, ref)
        self.assertIn(reason, str(exc))
        self.assertEqual(before, sorted(os.listdir(self.dir)))

    def test_round_trip(self):
        self.make("raw.img")
        ref = self.volumes()["raw.img"]["reference"]
        self.assertEqual(1, self.driver.manage_existing_get_size(
            {"name": "v"}, ref))

    def test_rejected(self):
        self.make("raw.img")
        outside = self.useFixture(fixtures.TempDir()).path
        with open(os.path.join(outside, "canary"), "wb") as f:
            f.write(b"canary")
        os.symlink(os.path.join(outside, "canary"), self.path("link"))
        os.symlink(outside, self.path("linkdir"))
        os.mkfifo(self.path("fifo"))
        os.mkdir(self.path("sub"))
        self.conf.set_override("file_volume_scan_depth", 1)
        cases = [
            ({"source-name": os.path.join(outside, "canary")},
             "not inside any of file_volume_dirs"),
            ({"source-name": self.path("..", os.path.basename(outside),
                                       "canary")}, "'..' is not allowed"),
            ({"source-name": "../x"}, "'..' is not allowed"),
            ({"source-name": "raw.img\0"}, "NUL"),
            ({"source-name": self.path("link")}, "symbolic link"),
            ({"source-name": self.path("linkdir", "canary")},
             "not a directory"),
            ({"source-name": self.path("fifo")}, "not a regular file"),
            ({"source-name": self.path("sub")}, "not a regular file"),
            ({"source-name": self.path("missing")}, "does not exist"),
            ({"source-name": self.path(".hidden")}, "hidden"),
            ({"source-name": self.path("sub", "sub", "x")},
             "more than file_volume_scan_depth"),
            ({"source-name": self.dir + "//raw.img"}, "'' is not"),
            ({"source-id": "raw.img"}, "source-name"),
            ("raw.img", "must be a dict"),
        ]
        for ref, reason in cases:
            with self.subTest(ref=ref):
                self.assert_invalid(ref, reason)
        with open(os.path.join(outside, "canary"), "rb") as f:
            self.assertEqual(b"canary", f.read())

    def test_relative_name_needs_one_directory(self):
        self.make("raw.img")
        self.assertEqual(1, self.driver.manage_existing_get_size(
            {"name": "v"}, {"source-name": "raw.img"}))
        other = self.useFixture(fixtures.TempDir()).path
        self.conf.set_override("file_volume_dirs", [self.dir, other])
        self.assert_invalid({"source-name": "raw.img"}, "ambiguous")


class ManageTest(DriverTestCase):

    def test_manage_renames(self):
        ref = self.make("v2.qcow2")
        digest = checksum(self.path("v2.qcow2"))
        self.assertEqual(2, self.driver.manage_existing_get_size(
            {"name": VOL}, ref))
        self.assertIsNone(self.driver.manage_existing(
            {"name": VOL}, ref))
        self.assertEqual([VOL], os.listdir(self.dir))
        self.assertEqual(digest, checksum(self.path(VOL)))
        self.assertEqual(1, len(self.execute.calls))
        # Told the format, and handed the checked file, not its name.
        self.assertEqual(("qemu-img", "info", "--output=json", "-f",
                          "qcow2"), self.execute.calls[0][:5])
        self.assertTrue(self.execute.calls[0][5].startswith(
            "/proc/%d/fd/" % os.getpid()))

    def test_link_fallback(self):
        ref = self.make("raw.img")
        steps = []
        self.driver.step_hook = steps.append
        self.driver.use_renameat2 = False
        self.driver.manage_existing({"name": VOL}, ref)
        self.assertEqual(["linked", "unlinked"], steps)
        self.assertEqual([VOL], os.listdir(self.dir))
        self.assertEqual(1, os.stat(self.path(VOL)).st_nlink)

    def test_renameat2(self):
        ref = self.make("raw.img")
        steps = []
        self.driver.step_hook = steps.append
        self.driver.manage_existing({"name": VOL}, ref)
        self.assertEqual(["renamed"], steps)

    def test_never_overwrites(self):
        for use_renameat2 in (True, False):
            with self.subTest(renameat2=use_renameat2):
                self.driver.use_renameat2 = use_renameat2
                ref = self.make("raw.img")
                with open(self.path(VOL), "wb") as f:
                    f.write(b"precious")
                digest = checksum(self.path("raw.img"))
                exc = self.assertRaises(
                    exception.VolumeBackendAPIException,
                    self.driver.manage_existing, {"name": VOL}, ref)
                self.assertIn("already exists", str(exc))
                with open(self.path(VOL), "rb") as f:
                    self.assertEqual(b"precious", f.read())
                self.assertEqual(digest, checksum(self.path("raw.img")))
                self.assertEqual(1, os.stat(self.path("raw.img")).st_nlink)

    def test_finishes_an_interrupted_link_rename(self):
        ref = self.make("raw.img")
        os.link(self.path("raw.img"), self.path(VOL))
        self.assertIn("hard links",
                      self.volumes()["raw.img"]["reason_not_safe"])
        self.driver.manage_existing({"name": VOL}, ref)
        self.assertEqual([VOL], os.listdir(self.dir))

    def test_refuses_what_the_listing_refuses(self):
        for name in file_data.names():
            self.make(name)
        entries = self.volumes()
        for name, entry in entries.items():
            if entry["safe_to_manage"]:
                continue
            with self.subTest(image=name):
                exc = self.assertRaises(
                    exception.ManageExistingInvalidReference,
                    self.driver.manage_existing, {"name": VOL},
                    entry["reference"])
                self.assertIn(entry["reason_not_safe"], str(exc))
        self.assertEqual(sorted(entries), sorted(os.listdir(self.dir)))
        self.assertEqual([], self.execute.calls)

    def test_type_mismatch(self):
        ref = self.make("v2.qcow2")
        volume = {"name": VOL, "volume_type": {
            "extra_specs": {"volume_format": "raw"}}}
        self.assertRaises(exception.ManageExistingVolumeTypeMismatch,
                          self.driver.manage_existing, volume, ref)
        volume["volume_type"]["extra_specs"]["volume_format"] = "qcow2"
        self.driver.manage_existing(volume, ref)
        self.assertEqual([VOL], os.listdir(self.dir))

    def test_qemu_img_disagreeing_stops_manage(self):
        ref = self.make("raw.img")
        self.execute.origin["raw.img"] = "v3.qcow2"
        exc = self.assertRaises(exception.ManageExistingInvalidReference,
                                self.driver.manage_existing,
                                {"name": VOL}, ref)
        self.assertIn("qemu-img reports", str(exc))
        self.assertEqual(["raw.img"], os.listdir(self.dir))

    def test_bad_target_names(self):
        ref = self.make("raw.img")
        for name in ("a/b", ".x", "", "x" * 256):
            with self.subTest(name=name):
                self.assertRaises(exception.InvalidInput,
                                  self.driver.manage_existing,
                                  {"name": name}, ref)

    def test_unmanage_keeps_the_file(self):
        self.make("raw.img", VOL)
        digest = checksum(self.path(VOL))
        self.driver.unmanage({"name": VOL})
        self.driver.unmanage({"name": "volume-gone"})
        self.assertEqual(digest, checksum(self.path(VOL)))


class SnapshotManageTest(DriverTestCase):

    def test_manage_snapshot(self):
        ref = self.make("v3.qcow2")
        self.make("backed.qcow2", VOL)
        snapshot = {"name": SNAP, "volume": {"name": VOL}}
        self.assertEqual(1, self.driver.manage_existing_snapshot_get_size(
            snapshot, ref))
        steps = []
        self.driver.step_hook = steps.append
        self.driver.manage_existing_snapshot(snapshot, ref)
        self.assertEqual(["linked", "rebased", "unlinked"], steps)
        self.assertEqual([SNAP, VOL],
                         sorted(os.listdir(self.dir)))
        self.assertEqual(("qemu-img", "rebase", "-u", "-f", "qcow2", "-b",
                          SNAP, "-F", "qcow2"), self.execute.calls[-1][:9])
        self.assertTrue(self.execute.calls[-1][9].startswith(
            "/proc/%d/fd/" % os.getpid()))

    def test_snapshot_manage_scans_once_when_keys_allow(self):
        # Both creation orders, so that both lock paths run on a
        # filesystem that numbers inodes in creation order.
        for first in ("image", "user"):
            with self.subTest(first=first):
                for name in os.listdir(self.dir):
                    os.unlink(self.path(name))
                if first == "image":
                    ref = self.make("v3.qcow2")
                    self.make("backed.qcow2", VOL)
                else:
                    self.make("backed.qcow2", VOL)
                    ref = self.make("v3.qcow2")
                image_st = os.stat(self.path("v3.qcow2"))
                user_st = os.stat(self.path(VOL))
                scans = []
                real_scan = self.driver._scan

                def counting(dirs, scans=scans, real_scan=real_scan,
                             **kwargs):
                    scans.append(dirs)
                    return real_scan(dirs, **kwargs)

                # A spy, not a fake: the real scan runs.
                with fixtures.MonkeyPatch(
                        "manageable_driver.drivers.file.driver.FileDriver"
                        "._scan",
                        lambda _self, dirs, **kw: counting(dirs, **kw)):
                    self.driver.manage_existing_snapshot(
                        {"name": SNAP, "volume": {"name": VOL}}, ref)
                self.assertEqual([SNAP, VOL], sorted(os.listdir(self.dir)))
                # The lock of the greater key is taken second.
                once = ((user_st.st_dev, user_st.st_ino)
                        > (image_st.st_dev, image_st.st_ino))
                self.assertEqual(1 if once else 2, len(scans))

    def test_unreadable_user_after_rebase_keeps_both_names(self):
        ref = self.make("v3.qcow2")
        self.make("backed.qcow2", VOL)
        snapshot = {"name": SNAP, "volume": {"name": VOL}}
        real_is_file = fsops.is_file

        def stale(dir_fd, name, key):
            # Only the check of the volume after its rebase.
            if name == VOL:
                raise OSError(errno.ESTALE, os.strerror(errno.ESTALE), name)
            return real_is_file(dir_fd, name, key)

        # No filesystem here answers ESTALE on demand: mocked.
        with fixtures.MonkeyPatch(
                "manageable_driver.drivers.file.fsops.is_file", stale):
            exc = self.assertRaises(exception.VolumeBackendAPIException,
                                    self.driver.manage_existing_snapshot,
                                    snapshot, ref)
        self.assertIn("keeps both names", str(exc))
        self.assertEqual(sorted([SNAP, VOL, "v3.qcow2"]),
                         sorted(os.listdir(self.dir)))
        # Calling again finishes.
        self.driver.manage_existing_snapshot(snapshot, ref)
        self.assertEqual([SNAP, VOL], sorted(os.listdir(self.dir)))

    def test_wrong_volume(self):
        ref = self.make("v3.qcow2")
        self.make("backed.qcow2", VOL)
        exc = self.assertRaises(
            exception.ManageExistingInvalidReference,
            self.driver.manage_existing_snapshot,
            {"name": SNAP, "volume": {"name": VOL2}}, ref)
        self.assertIn("not of volume " + VOL2, str(exc))
        self.assertEqual(["v3.qcow2", VOL],
                         sorted(os.listdir(self.dir)))

    def test_not_a_backing_file(self):
        ref = self.make("v2.qcow2")
        for call in (self.driver.manage_existing_snapshot,
                     self.driver.manage_existing_snapshot_get_size):
            exc = self.assertRaises(exception.ManageExistingInvalidReference,
                                    call, {"name": SNAP}, ref)
            self.assertIn("not the backing file of any image", str(exc))

    def test_unmanage_snapshot_keeps_the_file(self):
        self.make("v3.qcow2", SNAP)
        digest = checksum(self.path(SNAP))
        self.driver.unmanage_snapshot({"name": SNAP})
        self.assertEqual(digest, checksum(self.path(SNAP)))


class ReviewFindingsTest(DriverTestCase):

    def test_new_name_checks(self):
        # Finding 7: qemu reads a backing name "a:b" as protocol "a";
        # 11b: a lone surrogate is no file name (InvalidInput, not a
        # UnicodeEncodeError).
        for name in ("snap:1", "volume-\ud800"):
            with self.subTest(name=name):
                self.assertRaises(exception.InvalidInput,
                                  file_records.check_new_name, name,
                                  "snapshot")
        self.assertEqual(SNAP, file_records.check_new_name(SNAP, "x"))

    def test_name_without_uuid_is_refused(self):
        ref = self.make("raw.img")
        self.assertRaises(exception.InvalidInput,
                          self.driver.manage_existing,
                          {"id": "abc", "name": "volume-abc"}, ref)
        self.assertEqual(["raw.img"], os.listdir(self.dir))

    def test_finishing_refuses_a_third_link(self):
        # Finding 8: a third name elsewhere is another user of the file.
        ref = self.make("raw.img")
        os.link(self.path("raw.img"), self.path(VOL))
        outside = self.useFixture(fixtures.TempDir()).path
        try:
            os.link(self.path("raw.img"), os.path.join(outside, "other"))
        except OSError:
            self.skipTest("the temp dirs are on different filesystems")
        exc = self.assertRaises(exception.ManageExistingInvalidReference,
                                self.driver.manage_existing, {"name": VOL},
                                ref)
        self.assertIn("3 hard links", str(exc))
        self.assertEqual(sorted(["raw.img", VOL]),
                         sorted(os.listdir(self.dir)))

    def test_nested_directories_are_refused(self):
        # Finding 9: an image below both would be listed twice.
        os.mkdir(self.path("sub"))
        for dirs in ([self.dir, self.path("sub")],
                     [self.dir, self.dir + "/"]):
            with self.subTest(dirs=dirs):
                self.conf.set_override("file_volume_dirs", dirs)
                exc = self.assertRaises(exception.VolumeBackendAPIException,
                                        self.volumes)
                self.assertIn("one is inside the other", str(exc))

    def test_unmanage_finds_a_volume_in_a_subdirectory(self):
        # Finding 10: the volume stays beside its source image.
        os.mkdir(self.path("sub"))
        self.conf.set_override("file_volume_scan_depth", 1)
        ref = self.make("raw.img", "sub/raw.img")
        self.execute.origin["raw.img"] = "raw.img"
        self.driver.manage_existing({"name": VOL}, ref)
        self.assertEqual([VOL], os.listdir(self.path("sub")))
        logger = self.useFixture(fixtures.FakeLogger(
            name="manageable_driver.drivers.file.driver",
            level=logging.INFO))
        self.driver.unmanage({"name": VOL})
        self.assertIn("Unmanaged volume %s" % self.path("sub", VOL),
                      logger.output)
        self.assertNotIn("none of", logger.output)

    def test_root_helper_comes_from_the_configuration(self):
        self.conf.set_override("file_root_helper", "sudo -n")
        driver = FileDriver(self.conf, execute=self.execute)
        driver.manage_existing({"name": VOL}, self.make("v2.qcow2"))
        self.assertEqual([VOL], os.listdir(self.dir))
        (argv,) = self.execute.calls
        self.assertEqual(("sudo", "-n", "env", "LC_ALL=C", "qemu-img",
                          "info"), argv[:6])
