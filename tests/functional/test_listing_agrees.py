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

"""The listing, get-size and manage agree, for every object (issue 13, §5).

Cinder reserves quota from get-size before it calls manage, and operators
pick from the listing: an entry listed safe must manage, with the listed
size, and one listed not safe must be refused by both. Checked on the
cases a review found, and as a property over a generated corpus of real
images made by qemu-img (raw and qcow2 of sizes around every sector and
GiB boundary, headers qemu-img would not write, backing chains): the
corpus has MANAGEABLE_DRIVER_CORPUS objects (240 by default, about 30 s;
tox -e fuzz runs 800; each manage scans the whole directory, so the time
grows with the square of the count).
"""

import os
import random
import struct
import uuid

from manageable_driver import exception
from tests.functional import test_file

CORPUS_ENV = "MANAGEABLE_DRIVER_CORPUS"
GIB = 1 << 30
# qcow2 header: the virtual size is the big-endian u64 at offset 24.
QCOW2_SIZE_OFFSET = 24


def new_volume():
    vol_id = str(uuid.uuid4())
    return {"id": vol_id, "name": "volume-" + vol_id}


def new_snapshot():
    snap_id = str(uuid.uuid4())
    return {"id": snap_id, "name": "snapshot-" + snap_id}


class AgreeTestCase(test_file.FileTestCase):

    def raw(self, name, size):
        with open(self.path(name), "wb") as f:
            f.truncate(size)
            if size:
                f.write(b"d")

    def qcow2(self, name, size, *options):
        args = ["-f", "qcow2"]
        if options:
            args += ["-o", ",".join(options)]
        test_file.qemu_img("create", "-q", *args, self.path(name), str(size))

    def crafted_qcow2(self, name, header_size):
        """A qcow2 made by qemu-img whose header then says
        ``header_size`` (qemu-img would not write it)."""
        self.qcow2(name, 1 << 20)
        with open(self.path(name), "r+b") as f:
            f.seek(QCOW2_SIZE_OFFSET)
            f.write(struct.pack(">Q", header_size))

    def snapshot_entries(self):
        return {os.path.basename(e["reference"]["source-name"]): e
                for e in self.driver.get_manageable_snapshots(
                    [], None, 100000, 0, ["reference"], ["asc"])}

    def assert_agree(self, entry, kind):
        """get-size and manage do what ``entry`` says; return whether
        manage succeeded."""
        ref = entry["reference"]
        if kind == "volume":
            obj = new_volume()
            get_size = self.driver.manage_existing_get_size
            manage = self.driver.manage_existing
        else:
            obj = new_snapshot()
            get_size = self.driver.manage_existing_snapshot_get_size
            manage = self.driver.manage_existing_snapshot
        if entry["safe_to_manage"]:
            self.assertEqual(entry["size"], get_size(obj, ref), entry)
            manage(obj, ref)
            return True
        self.assertRaises(exception.REFUSALS, get_size, obj, ref)
        self.assertRaises(exception.REFUSALS, manage, obj, ref)
        return False


class ReviewCasesTest(AgreeTestCase):

    def test_raw_sizes_off_the_sector(self):
        for size in (1, 511, 513, 1000, GIB + 1):
            self.raw("r%d.img" % size, size)
        for name, entry in self.volumes().items():
            with self.subTest(name=name):
                self.assertTrue(entry["safe_to_manage"], entry)
                self.assertTrue(self.assert_agree(entry, "volume"))

    def test_qcow2_sizes_qemu_counts_otherwise(self):
        # Virtual size 1000: qemu sees 512 bytes; 100: nothing (0 GiB).
        self.crafted_qcow2("q1000.qcow2", 1000)
        self.crafted_qcow2("q100.qcow2", 100)
        # Larger than qemu can open (and more than the L1 table maps).
        for exp in (62, 63):
            self.crafted_qcow2("q2e%d.qcow2" % exp, 1 << exp)
        self.crafted_qcow2("qmax.qcow2", (1 << 64) - 1)
        entries = self.volumes()
        self.assertTrue(entries["q1000.qcow2"]["safe_to_manage"])
        self.assertIn("0 GiB", entries["q100.qcow2"]["reason_not_safe"])
        for name in ("q2e62.qcow2", "q2e63.qcow2", "qmax.qcow2"):
            self.assertIn("qemu cannot open it",
                          entries[name]["reason_not_safe"])
        for name, entry in entries.items():
            with self.subTest(name=name):
                self.assert_agree(entry, "volume")

    def test_zero_byte_images_are_refused(self):
        self.raw("empty.img", 0)
        entry = self.volumes()["empty.img"]
        self.assertFalse(entry["safe_to_manage"])
        self.assertIn("0 GiB", entry["reason_not_safe"])
        self.assertFalse(self.assert_agree(entry, "volume"))

    def test_snapshot_whose_user_is_open(self):
        self.qcow2("base.qcow2", 1 << 20)
        self.create(test_file.V1, ["-f", "qcow2", "-b", "base.qcow2", "-F",
                                   "qcow2", "@"])
        # Open for reading by a process (this one), as a copy would be:
        # the user is in use, its backing file is not.
        held = open(self.path(test_file.V1), "rb")
        self.addCleanup(held.close)
        entry = self.snapshot_entries()["base.qcow2"]
        self.assertIn("is in use", entry["reason_not_safe"])
        self.assertFalse(entry["safe_to_manage"])
        self.assertFalse(self.assert_agree(entry, "snapshot"))

    def test_snapshot_through_a_symlinked_name(self):
        self.qcow2("base.qcow2", 1 << 20)
        os.symlink("base.qcow2", self.path("alias.qcow2"))
        self.create(test_file.V1, ["-f", "qcow2", "-b", "alias.qcow2", "-F",
                                   "qcow2", "@"])
        entry = self.snapshot_entries()["base.qcow2"]
        self.assertFalse(entry["safe_to_manage"])
        self.assertIn("a name manage does not rewrite",
                      entry["reason_not_safe"])
        self.assertFalse(self.assert_agree(entry, "snapshot"))


class CorpusPropertyTest(AgreeTestCase):
    """For every listed entry of a generated corpus: safe_to_manage iff
    manage succeeds, and get-size equals the listed size."""

    RAW_SIZES = (0, 1, 511, 512, 513, 1000, 4095, 4096, 65537,
                 GIB - 1, GIB, GIB + 1, GIB + 511, 3 * GIB + 7)
    QCOW2_SIZES = (512, 1024, 65536, GIB - 512, GIB, GIB + 512,
                   5 * GIB, 1 << 40)
    HEADER_SIZES = (0, 1, 100, 511, 512, 513, 1000, 4096,
                    (1 << 20) - 1, 1 << 20, (1 << 29) - 1, 1 << 29,
                    (1 << 29) + 1, 1 << 40, 1 << 61, 1 << 62, 1 << 63,
                    (1 << 64) - 1)
    CLUSTERS = ("cluster_size=512", "cluster_size=65536",
                "cluster_size=2M", "compat=0.10")

    def some_qcow2(self, name, size, option):
        """A qcow2 with ``option``, or without it where qemu-img refuses
        the pair (2^40 bytes of 512-byte clusters)."""
        try:
            self.qcow2(name, size, option)
        except AssertionError:
            self.qcow2(name, size)

    def make_corpus(self, count, rng):
        makers = []
        for size in self.RAW_SIZES:
            makers.append(lambda n, s=size: self.raw("raw-%d.img" % n, s))
        for size in self.QCOW2_SIZES:
            for opt in self.CLUSTERS:
                makers.append(lambda n, s=size, o=opt: self.some_qcow2(
                    "q-%d.qcow2" % n, s, o))
        for size in self.HEADER_SIZES:
            makers.append(lambda n, s=size: self.crafted_qcow2(
                "h-%d.qcow2" % n, s))

        def chain(n):
            self.qcow2("base-%d.qcow2" % n, rng.choice(self.QCOW2_SIZES))
            self.create("top-%d.qcow2" % n, [
                "-f", "qcow2", "-b", "base-%d.qcow2" % n, "-F", "qcow2",
                "@"])
        def branch(n):
            # Two images on one backing file: which is its volume is
            # ambiguous, so it is no safe snapshot.
            chain(n)
            self.create("other-%d.qcow2" % n, [
                "-f", "qcow2", "-b", "base-%d.qcow2" % n, "-F", "qcow2",
                "@"])

        def cinder_volume_base(n):
            # A Cinder volume's name is never a free snapshot.
            base = "volume-%s" % uuid.UUID(int=n)
            self.qcow2(base, 1 << 20)
            self.create("top-%d.qcow2" % n, [
                "-f", "qcow2", "-b", base, "-F", "qcow2", "@"])

        makers += [chain, branch, cinder_volume_base]
        for n in range(count):
            # Every kind once, then random ones.
            maker = makers[n] if n < len(makers) else rng.choice(makers)
            maker(n)

    def test_safe_iff_manage_succeeds(self):
        count = int(os.environ.get(CORPUS_ENV, "240"))
        # Reproducible, not secret: a seeded generator.
        self.make_corpus(count, random.Random(count))  # noqa: S311
        volumes = self.volumes()
        snapshots = self.snapshot_entries()
        self.assertGreaterEqual(len(volumes), count)
        outcomes = {"volume": [0, 0], "snapshot": [0, 0]}
        # Snapshots first: a volume manage renames its image, which would
        # move a chain's top from under the snapshot entry.
        for kind, entries in (("snapshot", snapshots), ("volume", volumes)):
            for name, entry in sorted(entries.items()):
                if kind == "volume" and name in snapshots:
                    continue  # managed (renamed) as a snapshot above
                with self.subTest(kind=kind, name=name):
                    managed = self.assert_agree(entry, kind)
                    outcomes[kind][managed] += 1
        # Both verdicts occur, so neither side of "iff" is vacuous.
        self.assertTrue(all(outcomes["volume"]), outcomes)
        self.assertTrue(all(outcomes["snapshot"]), outcomes)
