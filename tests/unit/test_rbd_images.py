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

"""The RBD metadata decoder and rules, on a pool recorded from Ceph 16.2.

``data/rbd_pool.json`` holds what :meth:`Cluster.scan` read from a real
pool (omap values in hex): clone format 1 (``base`` protected ``s1``,
``child``) and 2 (``base2``/``child2``; ``base3`` whose snapshot was
removed under its clone ``child3``, so it went to the trash namespace), a
0-byte image, an image whose header object was deleted (``headless``),
one held open by another client (``odd``, 1 GiB + 4 KiB) and an image
named like a Cinder snapshot with snapshots named like Cinder's.
"""

import json
import os

from manageable_driver import listing
from manageable_driver import namespace
from manageable_driver.drivers.rbd import header
from manageable_driver.drivers.rbd import images
from tests import base

DATA = os.path.join(os.path.dirname(__file__), "data", "rbd_pool.json")
UUID = "11111111-2222-4333-8444-555555555555"


def recorded_scan():
    with open(DATA) as f:
        raw = json.load(f)
    scanned = tuple(
        images.ScannedImage(
            i["name"], i["image_id"],
            None if i["omap"] is None else {
                k: bytes.fromhex(v) for k, v in i["omap"].items()},
            error=i["error"],
            watchers=(None if i["watchers"] is None
                      else tuple(i["watchers"])))
        for i in raw["images"])
    return images.PoolScan(raw["pool_id"], raw["pool_name"], scanned)


# Cinder's default templates, as the driver reads them, listing snapshots.
SNAPSHOTS = namespace.NameSpace("volume-%s", "snapshot-%s",
                                namespace.SNAPSHOT)


def entries(recs, template):
    return {rec.reference["source-name"]: listing.build_entry(
        rec, listing.assess(rec, {}, template)) for rec in recs}


class RecordedPoolTest(base.TestCase):

    def setUp(self):
        super().setUp()
        self.pool = images.Pool(recorded_scan())

    def test_volume_entries(self):
        got = entries(self.pool.volume_records(), "volume-%s")
        self.assertEqual(10, len(got))
        reasons = {name: e["reason_not_safe"] for name, e in got.items()}
        self.assertIn("snapshots with clones share its data: s1 (1)",
                      reasons["base"])
        self.assertIn("s2 (1)", reasons["base2"])
        self.assertIn("a clone of volumes/base@s1", reasons["child"])
        self.assertEqual("volumes/base@s1", got["child"]["extra_info"][
            "parent"])
        self.assertIn("a clone of volumes/base2@s2", reasons["child2"])
        # The parent snapshot was removed: librbd keeps it in the trash
        # namespace under a generated name.
        self.assertIn("a clone of volumes/base3@", reasons["child3"])
        self.assertIn("size is 0 bytes", reasons["empty"])
        self.assertIn("does not exist", reasons["headless"])
        self.assertIsNone(got["headless"]["size"])
        self.assertIn("does not exist",
                      got["headless"]["extra_info"]["error"])
        self.assertTrue(reasons["odd"].startswith("in use: 1 watcher(s):"))
        self.assertEqual(2, got["odd"]["size"])
        self.assertIn("name made by snapshot_name_template for Cinder "
                      "snapshot", reasons["snapshot-%s" % UUID])
        # base3's only snapshot is in the trash with a clone.
        self.assertIn("snapshots with clones", reasons["base3"])
        self.assertEqual(
            "layering,exclusive-lock,object-map,fast-diff,deep-flatten",
            got["odd"]["extra_info"]["features"])
        self.assertEqual("1", got["base"]["extra_info"]["snapshots"])

    def test_sizes_are_exact_bytes(self):
        sizes = {r.name: r.size_bytes for r in self.pool.volume_records()}
        self.assertEqual(1024 ** 3 + 4096, sizes["odd"])
        self.assertEqual(3 * 1024 ** 2, sizes["base"])
        self.assertEqual(0, sizes["empty"])
        self.assertIsNone(sizes["headless"])

    def test_snapshot_entries(self):
        recs = self.pool.snapshot_records()
        got = {(r.source_reference["source-name"], r.name): listing.
               build_entry(r, listing.assess(r, {}, SNAPSHOTS))
               for r in recs}
        self.assertEqual(7, len(got))
        img = "snapshot-%s" % UUID
        reasons = {k: e["reason_not_safe"] for k, e in got.items()}
        self.assertIn("protected with 1 clone", reasons[("base", "s1")])
        self.assertIn("unprotected with 1 clone", reasons[("base2", "s2")])
        trash, = [k for k in got if k[0] == "base3"]
        self.assertIn("a trash snapshot", reasons[trash])
        self.assertIn("name made by volume_name_template for Cinder volume",
                      reasons[(img, "volume-%s" % UUID)])
        self.assertIn("clone snapshot", reasons[(img, "a.clone_snap")])
        self.assertIn("backup", reasons[(img, "backup.x.snap.1")])
        plain = got[(img, "plain")]
        self.assertTrue(plain["safe_to_manage"], plain)
        self.assertEqual({"source-name": "plain", "source-image": img},
                         plain["reference"])
        self.assertEqual({"source-name": img}, plain["source_reference"])
        self.assertEqual(1, plain["size"])


class DecoderTest(base.TestCase):

    def setUp(self):
        super().setUp()
        self.scan = recorded_scan()
        self.omaps = {i.name: i.omap for i in self.scan.images}

    def test_snapshot_fields(self):
        snap, = header.parse_snapshots("x", self.omaps["base"])
        self.assertEqual(("s1", 3 * 1024 ** 2, 2, 0),
                         (snap.name, snap.size, snap.protection,
                          snap.namespace_type))
        snap2, = header.parse_snapshots("x", self.omaps["base2"])
        self.assertEqual(1, snap2.child_count)

    def test_parent(self):
        head = header.parse_header("x", self.omaps["child2"])
        self.assertEqual(self.scan.pool_id, head.parent.pool_id)
        self.assertEqual(1024 ** 2, head.parent.overlap)
        self.assertEqual(256, head.features & 256)

    def test_every_truncation_is_a_decode_error(self):
        value = self.omaps["base"]["snapshot_0000000000000004"]
        for cut in range(len(value) - 1):
            with self.subTest(cut=cut):
                self.assertRaises(header.DecodeError, header.parse_snapshot,
                                  value[:cut], "snap")
        parent = self.omaps["child"]["parent"]
        for cut in range(len(parent) - 1):
            with self.subTest(parent_cut=cut):
                self.assertRaises(header.DecodeError, header.parse_parent,
                                  parent[:cut], "parent")

    def test_bad_header_is_listed_with_its_error(self):
        omap = dict(self.omaps["odd"], size=b"\x01\x02")
        scan = images.PoolScan(1, "volumes", (images.ScannedImage(
            "odd", "abc", omap),))
        rec, = images.Pool(scan).volume_records()
        self.assertIsNone(rec.size_bytes)
        self.assertIn("2 bytes, not 8", rec.size_error)

    def test_unreadable_watchers_count_as_in_use(self):
        scan = images.PoolScan(1, "volumes", (images.ScannedImage(
            "odd", "abc", self.omaps["odd"], watchers=None,
            watchers_error="error 110"),))
        rec, = images.Pool(scan).volume_records()
        self.assertTrue(rec.in_use)
        self.assertEqual("watchers unreadable: error 110", rec.in_use_reason)

    def test_dir_list(self):
        # A dir_list reply: two names, one of them not UTF-8.
        reply = (b"\x02\x00\x00\x00" b"\x01\x00\x00\x00a"
                 b"\x04\x00\x00\x0010ab" b"\x02\x00\x00\x00b\xff"
                 b"\x04\x00\x00\x0010cd")
        self.assertEqual({"a": "10ab", "b\udcff": "10cd"},
                         header.dir_list(reply))
        self.assertEqual(b"\x02\x00\x00\x00b\xff" + bytes([5]) + bytes(7),
                         header.dir_list_request("b\udcff", 5))
        self.assertRaises(header.DecodeError, header.dir_list,
                          reply[:-1])

    def test_clones_only_librbd_sees(self):
        # Without its clone in the pool, base's protected s1 may have
        # format 1 clones in other pools: librbd is asked.
        scan = recorded_scan()
        scan = images.PoolScan(scan.pool_id, scan.pool_name, tuple(
            i for i in scan.images if i.name in ("base", "odd")))
        base_id = next(i.image_id for i in scan.images if i.name == "base")
        unseen = images.Pool(scan).unseen_clones()
        self.assertEqual([base_id], [image_id for image_id, _s in unseen])
        for found, why in ((2, "snapshots with clones share its data: "
                                "s1 (2)"),
                           ("listing its clones failed: boom",
                            "the clones of protected snapshot s1 are "
                            "unknown: listing its clones failed: boom")):
            pool = images.Pool(scan, {unseen[0]: found})
            rec = pool.volume_records()[0]
            self.assertEqual(("base", why), (rec.name, rec.unsafe_reason))
        self.assertIsNone(images.Pool(scan, {unseen[0]: 0})
                          .volume_records()[0].unsafe_reason)
