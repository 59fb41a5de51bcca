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

"""The LVM listing, get-size and manage agree, for every LV (issue 13, §5).

A property over generated volume groups on real LVM2: VGs of two PVs and
extent sizes of 1, 4 and 32 MiB, loaded with ``vgcfgrestore`` with every
LV kind it can describe here (linear, split, striped, raid1, mirror, thin
pools with thin LVs and thin snapshots, classic snapshots, merging ones,
cache pools and cached LVs, VDO pools and VDO LVs), tagged or not, named
at and near LVM's length limit, by Cinder's templates or with names LVM
reserves, of sizes around every GiB boundary; and a VG whose second PV is
then lost. For every listed volume and snapshot:

- the listings hold every LV LVM calls public, a snapshot exactly when
  ``lv_role`` says so, with the size (GiB, rounded up) of its data;
- ``safe_to_manage`` is True iff manage then succeeds, and get-size then
  equals the listed size;
- what is not safe is refused by get-size and by manage, with the
  library's exceptions, and no LVM command but ``lvs`` runs for it.

MANAGEABLE_DRIVER_CORPUS sets the number of LVs (160 by default, in
``tox -e functional``; ``tox -e fuzz`` runs 800).
"""

import json
import os
import random
import uuid

import fixtures
from oslo_concurrency import processutils
from oslo_config import cfg

from manageable_driver import exception
from manageable_driver import listing
from manageable_driver import opts
from manageable_driver import sizes
from manageable_driver.drivers import lvm
from manageable_driver.drivers.lvm import options
from tests import base
from tests.functional import lvm_fixtures as layout

CORPUS_ENV = "MANAGEABLE_DRIVER_CORPUS"
ALL = (None, 100000, 0, ["reference"], ["asc"])
MIB = 1 << 20
# LVM's NAME_LEN (128, with the NUL) bounds the VG and LV names together:
# vg_validate() wants len(vg) + len(lv) + 3 < 128.
NAME_LEN = 128


def new_object(kind):
    obj_id = str(uuid.uuid4())
    return {"id": obj_id, "name": "%s-%s" % (kind, obj_id)}


class LayoutMaker:
    """Random LVs of every kind, for a VG of extents of ``extent_mib``.

    Seeded: a failing corpus is made again by the same count.
    """

    def __init__(self, rng, extent_mib, vg_name):
        self.rng = rng
        self.extent_mib = extent_mib
        self.longest = NAME_LEN - 4 - len(vg_name)
        self.names = set()
        self.serial = 0

    def extents(self):
        """Sizes around GiB boundaries: 1,023, 1,024, 1,025, 1,028 MiB
        and the like, as whole extents."""
        per_gib = max(1, 1024 // self.extent_mib)
        mib = self.rng.choice((1, 1023, 1024, 1025, 1028, 2047, 2049,
                               3 * 1024 + 4, self.rng.randint(1, 4096)))
        choice = max(1, -(-mib // self.extent_mib))
        return self.rng.choice((choice, per_gib, per_gib + 1,
                                max(1, per_gib - 1)))

    def virtual_extents(self):
        """Thin and VDO sizes: none taken from the PVs, some huge."""
        return self.rng.choice((self.extents(), self.extents(),
                                (1 << 40) // (self.extent_mib * MIB) + 1,
                                (1 << 32) - 1))

    def name(self, derived=False):
        """A new LV name; ``derived``: LVM names sub-LVs after it, so it
        must leave room for their suffixes."""
        self.serial += 1
        n = self.serial
        # Sub-LV names add up to 9 characters ("_rimage_0").
        longest = self.longest - (9 if derived else 0)
        prefix = "long%d-" % n
        choices = ["lv%d" % n, "a+b.c_d-%d" % n, "_x%d" % n,
                   "volume-%s" % uuid.UUID(int=n),
                   "_snapshot-%s" % uuid.UUID(int=n), "pvmove_%d" % n,
                   prefix + "x" * (longest - len(prefix)),
                   prefix + "x" * (longest - 1 - len(prefix))]
        name = self.rng.choice([c for c in choices if len(c) <= longest])
        self.names.add(name)
        return name

    def tags(self, kind="volume"):
        roll = self.rng.random()
        if roll < 0.7:
            return ()
        if roll < 0.8:
            return ("backup",)
        if roll < 0.9:
            return ("cinder-%s-id=%s" % (kind, uuid.uuid4()),)
        return ("cinder-volume-id=",)

    def pv(self):
        return self.rng.randrange(2)

    # One group of related LVs each --------------------------------------

    def linear(self):
        return [layout.LV(self.name(), self.extents(), pv=self.pv(),
                          tags=self.tags())]

    def split(self):
        return [layout.LV(self.name(), max(2, self.extents()),
                          kind="split", pv=self.pv(), tags=self.tags())]

    def striped(self):
        return [layout.LV(self.name(), 2 * self.extents(), kind="striped",
                          stripes=2, tags=self.tags())]

    def raid1(self):
        return [layout.LV(self.name(derived=True), self.extents(),
                          kind="raid1", stripes=2, tags=self.tags())]

    def mirror(self):
        return [layout.LV(self.name(derived=True), self.extents(),
                          kind="mirror", stripes=2, tags=self.tags())]

    def classic_snapshots(self):
        origin = layout.LV(self.name(), self.extents(), pv=self.pv(),
                           tags=self.tags())
        lvs = [origin]
        for _ in range(self.rng.randint(1, 2)):
            lvs.append(layout.LV(
                self.name(), self.rng.randint(1, 4), kind="snapshot",
                origin=origin.name, pv=self.pv(),
                merging=self.rng.random() < 0.15,
                tags=self.tags("snapshot")))
        return lvs

    def thin(self):
        pool = layout.LV(self.name(derived=True), self.extents(),
                         kind="thin-pool", pv=self.pv())
        lvs = [pool]
        thins = []
        for _ in range(self.rng.randint(1, 3)):
            thin = layout.LV(self.name(), self.virtual_extents(),
                             kind="thin", pool=pool.name, tags=self.tags())
            thins.append(thin)
            lvs.append(thin)
        for _ in range(self.rng.randint(0, 3)):
            # A thin snapshot, of a thin LV or of another snapshot;
            # Cinder's thin clones are such LVs with a volume name.
            origin = self.rng.choice(thins)
            snap = layout.LV(self.name(), origin.extents, kind="thin",
                             pool=pool.name, origin=origin.name,
                             tags=self.tags("snapshot"))
            thins.append(snap)
            lvs.append(snap)
        return lvs

    def cache(self):
        pool = layout.LV(self.name(derived=True), self.extents(),
                         kind="cache-pool", pv=self.pv())
        lvs = [pool]
        if self.rng.random() < 0.8:
            lvs.append(layout.LV(self.name(derived=True), self.extents(),
                                 kind="cache", pool=pool.name,
                                 pv=self.pv(), tags=self.tags()))
        return lvs

    def vdo(self):
        # A VDO pool needs a few GiB of data in real life; the metadata
        # does not check.
        pool = layout.LV(self.name(derived=True), self.extents(),
                         kind="vdo-pool", pv=self.pv())
        return [pool, layout.LV(self.name(), self.virtual_extents(),
                                kind="vdo", pool=pool.name,
                                tags=self.tags())]

    GROUPS = ("linear", "split", "striped", "raid1", "mirror",
              "classic_snapshots", "thin", "cache", "vdo")

    def make(self, count):
        """At least ``count`` LVs (pools and sub-LVs not counted), every
        group at least once."""
        lvs = []
        number = listed = 0
        while number < len(self.GROUPS) or listed < count:
            group = (self.GROUPS[number] if number < len(self.GROUPS)
                     else self.rng.choice(self.GROUPS))
            made = getattr(self, group)()
            lvs += made
            listed += sum(1 for lv in made if not lv.kind.endswith("pool"))
            number += 1
        return lvs


class LVMCorpusPropertyTest(base.TestCase):
    """For every listed LV of generated VGs: safe_to_manage iff manage
    succeeds, and get-size equals the listed size."""

    ROUND = 160
    # (extent size in MiB, manage mode, whether PV 1 is then lost, length
    # of the VG name: LVM bounds VG and LV names together; 78 is the
    # longest that leaves room for "_snapshot-<uuid>")
    VGS = ((1, "rename", False, 78), (4, "tag", False, 100),
           (32, "rename", False, 0), (4, "rename", True, 0))

    def setUp(self):
        super().setUp()
        self.require_root()
        self.require_tools("losetup", "lvm", "lvs", "lvrename", "lvchange",
                           "vgcfgrestore", "vgcreate", "pvcreate", "dd")
        self.lock_path = self.useFixture(fixtures.TempDir()).path
        self.commands = []

    def execute(self, *cmd, **kwargs):
        self.commands.append(cmd)
        return processutils.execute(*cmd, **kwargs)

    def driver(self, vg, mode):
        conf = cfg.ConfigOpts()
        conf.register_opts(opts.common_opts + options.lvm_opts)
        conf.set_override("volume_group", vg.vg_name)
        conf.set_override("lvm_conf_file", vg.conf_file)
        conf.set_override("lvm_manage_mode", mode)
        conf.set_override("manageable_lock_path", self.lock_path)
        drv = lvm.LVMDriver(configuration=conf, execute=self.execute)
        # As the listing is told: Cinder manages none of these ids.
        drv.cinder_manages_lookup = listing.managed_lookup(())
        return drv

    def lvm_view(self, vg):
        """What LVM itself says of each public LV: (is a snapshot, bytes
        of its data)."""
        out = vg.lvm("lvs", "--reportformat", "json", "--units", "b",
                     "--nosuffix", "-o",
                     "lv_name,lv_role,lv_size,origin_size", vg.vg_name)
        view = {}
        for row in json.loads(out)["report"][0]["lv"]:
            roles = row["lv_role"].split(",")
            if "public" not in roles:
                continue
            snapshot = "snapshot" in roles
            # A classic snapshot holds its origin's data.
            size = int(row["origin_size"] if snapshot and row["origin_size"]
                       else row["lv_size"])
            view[row["lv_name"]] = (snapshot, size)
        return view

    def assert_listed_as_lvm_says(self, vg, volumes, snapshots):
        view = self.lvm_view(vg)
        self.assertEqual({n for n, (snap, _s) in view.items() if not snap},
                         set(volumes))
        self.assertEqual({n for n, (snap, _s) in view.items() if snap},
                         set(snapshots))
        for name, entry in list(volumes.items()) + list(snapshots.items()):
            self.assertEqual(sizes.bytes_to_gib_ceil(view[name][1]),
                             entry["size"], entry)

    def assert_agree(self, drv, entry, kind):
        """get-size and manage do what ``entry`` says; return whether
        manage succeeded."""
        ref = entry["reference"]
        obj = new_object(kind)
        if kind == "volume":
            get_size = drv.manage_existing_get_size
            manage = drv.manage_existing
        else:
            get_size = drv.manage_existing_snapshot_get_size
            manage = drv.manage_existing_snapshot
        if entry["safe_to_manage"]:
            self.assertEqual(entry["size"], get_size(obj, ref), entry)
            manage(obj, ref)
            return True
        before = len(self.commands)
        self.assertRaises(exception.REFUSALS, get_size, obj, ref)
        self.assertRaises(exception.REFUSALS, manage, obj, ref)
        # Refused before any command (a name LVM reserves) or after lvs.
        self.assertLessEqual({cmd[0] for cmd in self.commands[before:]},
                             {"lvs"}, entry)
        return False

    def check_vg(self, rng, count, extent_mib, mode, lose_pv, name_length,
                 outcomes):
        # Removed as soon as it is checked: a large corpus runs many VGs.
        with layout.LVMVolumeGroup(size_gib=1024, pv_count=2,
                                   extent_mib=extent_mib,
                                   name_length=name_length) as vg:
            vg.restore(LayoutMaker(rng, extent_mib, vg.vg_name).make(count))
            if lose_pv:
                vg.lose_pv(1)
            return self.check_listings(vg, mode, outcomes)

    def check_listings(self, vg, mode, outcomes):
        drv = self.driver(vg, mode)
        volumes = {e["reference"]["source-name"]: e
                   for e in drv.get_manageable_volumes([], *ALL)}
        snapshots = {e["reference"]["source-name"]: e
                     for e in drv.get_manageable_snapshots([], *ALL)}
        self.assert_listed_as_lvm_says(vg, volumes, snapshots)
        # Snapshots first: managing a volume renames it, and a snapshot
        # entry names its origin.
        for kind, entries in (("snapshot", snapshots), ("volume", volumes)):
            for name, entry in sorted(entries.items()):
                with self.subTest(vg=vg.vg_name, mode=mode, kind=kind,
                                  name=name):
                    managed = self.assert_agree(drv, entry, kind)
                    outcomes[kind][managed] += 1
        return len(volumes) + len(snapshots)

    def test_safe_iff_manage_succeeds(self):
        count = int(os.environ.get(CORPUS_ENV, "160"))
        # Reproducible, not secret: a seeded generator.
        rng = random.Random(count)  # noqa: S311
        outcomes = {"volume": [0, 0], "snapshot": [0, 0]}
        listed = 0
        # Every lvs reads the whole VG: a large corpus is spread over
        # rounds of VGs of about ROUND LVs in all, not put in larger VGs.
        rounds = -(-count // self.ROUND)
        for _round in range(rounds):
            for extent_mib, mode, lose_pv, name_length in self.VGS:
                share = count // rounds // (10 if lose_pv else 3)
                listed += self.check_vg(rng, max(1, share), extent_mib,
                                        mode, lose_pv, name_length,
                                        outcomes)
        self.assertGreaterEqual(listed, count)
        # Both verdicts occur, so neither side of "iff" is vacuous.
        self.assertTrue(all(outcomes["volume"]), outcomes)
        self.assertTrue(all(outcomes["snapshot"]), outcomes)
