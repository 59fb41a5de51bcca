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

"""A real LVM2 volume group on a loop device, for tests and benchmarks.

The kernel of the test machines has no device-mapper, so LVM runs with an
lvm.conf (pointed to by ``LVM_SYSTEM_DIR``) holding
``global { activation = 0 }``: metadata commands (lvs, lvcreate -an -Zn,
lvrename, lvchange --addtag, lvremove) work, activation does not.  Layouts
LVM would need device-mapper to create (snapshots, thin pools) are written
as LVM2 text metadata and loaded with ``vgcfgrestore``, which only writes
metadata.  Device scanning is restricted to the fixture's own loop device,
so no command can touch another volume group of the host.
"""

from __future__ import annotations

import dataclasses
import os
import re
import secrets
import shutil
import subprocess
import tempfile
import uuid

import fixtures

# Safe extent size for generated layouts: 4 MiB, LVM's default.
EXTENT_SECTORS = 8192
EXTENT_BYTES = EXTENT_SECTORS * 512

_LVM_CONF = """\
devices {
    filter = [ %(accept)s"r|.*|" ]
    global_filter = [ %(accept)s"r|.*|" ]
    use_devicesfile = 0
    obtain_device_list_from_udev = 0
    external_device_info_source = "none"
    scan_lvs = 0
}
global {
    activation = 0
    use_lvmlockd = 0
    event_activation = 0
}
activation {
    udev_sync = 0
    udev_rules = 0
    monitoring = 0
}
backup {
    backup = 0
    archive = 0
}
"""


def lvm_uuid() -> str:
    """Return a random id in LVM's 6-4-4-4-4-4-6 format."""
    alphabet = ("abcdefghijklmnopqrstuvwxyz"
                "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789")
    text = "".join(secrets.choice(alphabet) for _ in range(32))
    parts = [6, 4, 4, 4, 4, 4, 6]
    out, pos = [], 0
    for width in parts:
        out.append(text[pos:pos + width])
        pos += width
    return "-".join(out)


@dataclasses.dataclass
class LV:
    """One LV of a generated layout (see :meth:`LVMVolumeGroup.restore`).

    ``kind``: ``linear`` (on PV ``pv``), ``split`` (a linear LV in two
    segments on non-adjacent extents), ``striped`` (``stripes`` stripes on
    as many PVs), ``snapshot`` (classic; ``origin``, ``extents`` is the
    COW size, ``merging`` marks a merge in progress), ``thin-pool``
    (``extents`` of data), ``thin`` (``pool``, ``extents`` of virtual
    size, optional ``origin`` for a thin snapshot), ``raid1`` and
    ``mirror`` (``stripes`` images of ``extents`` each), ``cache-pool``,
    ``cache`` (an LV cached by the cache pool ``pool``), ``vdo-pool``
    (``extents`` of data) and ``vdo`` (``pool``, ``extents`` of virtual
    size).  Sub-LVs are named from the LV as LVM names them.
    """

    name: str
    extents: int = 1
    kind: str = "linear"
    origin: str | None = None
    pool: str | None = None
    merging: bool = False
    tags: tuple[str, ...] = ()
    lv_id: str = dataclasses.field(default_factory=lvm_uuid)
    pv: int = 0
    stripes: int = 1


def _quote_list(values: tuple[str, ...] | list[str]) -> str:
    return "[" + ", ".join('"%s"' % v for v in values) + "]"


def _lv_block(name: str, lv_id: str, status: list[str], segments: str,
              flags: tuple[str, ...] = (), tags: tuple[str, ...] = (),
              count: int = 1) -> str:
    tag_line = "tags = %s\n" % _quote_list(tags) if tags else ""
    return ("%s {\nid = \"%s\"\nstatus = %s\nflags = %s\n%s"
            "creation_time = 1700000000\ncreation_host = \"test\"\n"
            "segment_count = %d\n%s}\n"
            % (name, lv_id, _quote_list(status), _quote_list(flags),
               tag_line, count, segments))


def _segment(number: int, start_extent: int, extents: int,
             body: str) -> str:
    return ("segment%d {\nstart_extent = %d\nextent_count = %d\n%s}\n"
            % (number, start_extent, extents, body))


def _striped(extents: int, areas: list[tuple[int, int]],
             start_extent: int = 0, number: int = 1) -> str:
    """A striped segment over ``areas``, (PV index, first extent) each."""
    stripes = ", ".join('"pv%d", %d' % area for area in areas)
    size = "stripe_size = 128\n" if len(areas) > 1 else ""
    return _segment(number, start_extent, extents,
                    "type = \"striped\"\nstripe_count = %d\n%s"
                    "stripes = [%s]\n" % (len(areas), size, stripes))


RW = ["READ", "WRITE"]
RW_VISIBLE = ["READ", "WRITE", "VISIBLE"]


class _Renderer:
    """Writes the metadata of a layout, allocating extents PV by PV."""

    def __init__(self, lvs: list[LV], pv_count: int) -> None:
        self.lvs = lvs
        self.pv_count = pv_count
        self.next_pe = [0] * pv_count
        self.blocks: list[str] = []
        self.thin_ids: dict[str, int] = {}
        self.snap_no = 0
        self.used_pools = {lv.pool for lv in lvs if lv.pool}

    def take(self, count: int, pv: int = 0) -> tuple[int, int]:
        pv %= self.pv_count
        start = self.next_pe[pv]
        self.next_pe[pv] += count
        return pv, start

    def hidden(self, name: str, extents: int, pv: int = 0) -> None:
        self.blocks.append(_lv_block(name, lvm_uuid(), RW, _striped(
            extents, [self.take(extents, pv)])))

    def add(self, lv: LV) -> None:
        method = getattr(self, "_" + lv.kind.replace("-", "_"), None)
        if method is None:
            raise ValueError("unknown LV kind %r" % lv.kind)
        method(lv)

    def visible(self, lv: LV, segments: str, count: int = 1,
                flags: tuple[str, ...] = ()) -> None:
        self.blocks.append(_lv_block(lv.name, lv.lv_id, RW_VISIBLE,
                                     segments, tags=lv.tags, count=count,
                                     flags=flags))

    def _linear(self, lv: LV) -> None:
        self.visible(lv, _striped(lv.extents, [self.take(lv.extents,
                                                         lv.pv)]))

    def _split(self, lv: LV) -> None:
        # Two segments on non-adjacent extents: one LV, two segments.
        half = max(1, lv.extents // 2)
        first = _striped(half, [self.take(half, lv.pv)])
        self.take(1, lv.pv)
        second = _striped(lv.extents - half,
                          [self.take(lv.extents - half, lv.pv)],
                          start_extent=half, number=2)
        self.visible(lv, first + second, count=2)

    def _striped(self, lv: LV) -> None:
        per = lv.extents // lv.stripes
        areas = [self.take(per, lv.pv + i) for i in range(lv.stripes)]
        self.visible(lv, _striped(per * lv.stripes, areas))

    def _snapshot(self, lv: LV) -> None:
        assert lv.origin is not None
        origin = next(x for x in self.lvs if x.name == lv.origin)
        self._linear(lv)
        store = "merging_store" if lv.merging else "cow_store"
        seg = _segment(1, 0, origin.extents,
                       "type = \"snapshot\"\nchunk_size = 8\n"
                       "origin = \"%s\"\n%s = \"%s\"\n"
                       % (origin.name, store, lv.name))
        self.blocks.append(_lv_block("snapshot%d" % self.snap_no,
                                     lvm_uuid(), ["READ"], seg))
        self.snap_no += 1

    def _thin_pool(self, lv: LV) -> None:
        meta, data = lv.name + "_tmeta", lv.name + "_tdata"
        users = sum(1 for x in self.lvs
                    if x.kind == "thin" and x.pool == lv.name)
        self.visible(lv, _segment(
            1, 0, lv.extents,
            "type = \"thin-pool\"\nmetadata = \"%s\"\npool = \"%s\"\n"
            "transaction_id = %d\nchunk_size = 128\n"
            "discards = \"passdown\"\nzero_new_blocks = 1\n"
            % (meta, data, users)))
        self.hidden(meta, 1, lv.pv)
        self.hidden(data, lv.extents, lv.pv)

    def _thin(self, lv: LV) -> None:
        assert lv.pool is not None
        device_id = self.thin_ids[lv.pool] = self.thin_ids.get(lv.pool,
                                                               0) + 1
        origin_line = ('origin = "%s"\n' % lv.origin) if lv.origin else ""
        self.visible(lv, _segment(
            1, 0, lv.extents,
            "type = \"thin\"\nthin_pool = \"%s\"\ntransaction_id = %d\n"
            "device_id = %d\n%s" % (lv.pool, device_id - 1, device_id,
                                     origin_line)),
            flags=("ACTIVATION_SKIP",) if lv.origin else ())

    def _raid1(self, lv: LV) -> None:
        names = []
        for i in range(lv.stripes):
            meta = "%s_rmeta_%d" % (lv.name, i)
            image = "%s_rimage_%d" % (lv.name, i)
            self.hidden(meta, 1, lv.pv + i)
            self.hidden(image, lv.extents, lv.pv + i)
            names += [meta, image]
        self.visible(lv, _segment(
            1, 0, lv.extents,
            "type = \"raid1\"\ndevice_count = %d\nregion_size = 1024\n"
            "raids = %s\n" % (lv.stripes, _quote_list(names))))

    def _mirror(self, lv: LV) -> None:
        # A core log: no log LV.
        areas = []
        for i in range(lv.stripes):
            image = "%s_mimage_%d" % (lv.name, i)
            self.hidden(image, lv.extents, lv.pv + i)
            areas.append('"%s", 0' % image)
        self.visible(lv, _segment(
            1, 0, lv.extents,
            "type = \"mirror\"\nmirror_count = %d\nregion_size = 1024\n"
            "mirrors = [%s]\n" % (lv.stripes, ", ".join(areas))))

    def _cache_pool(self, lv: LV) -> None:
        data, meta = lv.name + "_cdata", lv.name + "_cmeta"
        status = RW if lv.name in self.used_pools else RW_VISIBLE
        seg = _segment(1, 0, lv.extents,
                       "type = \"cache-pool\"\ndata = \"%s\"\n"
                       "metadata = \"%s\"\nchunk_size = 128\n"
                       "metadata_format = 2\n"
                       "cache_mode = \"writethrough\"\n"
                       "policy = \"smq\"\n" % (data, meta))
        self.blocks.append(_lv_block(lv.name, lv.lv_id, status, seg,
                                     tags=lv.tags))
        self.hidden(data, lv.extents, lv.pv)
        self.hidden(meta, 1, lv.pv)

    def _cache(self, lv: LV) -> None:
        assert lv.pool is not None
        corig = lv.name + "_corig"
        self.hidden(corig, lv.extents, lv.pv)
        self.visible(lv, _segment(
            1, 0, lv.extents,
            "type = \"cache\"\ncache_pool = \"%s\"\norigin = \"%s\"\n"
            % (lv.pool, corig)))

    def _vdo_pool(self, lv: LV) -> None:
        data = lv.name + "_vdata"
        virtual = sum(x.extents for x in self.lvs
                      if x.kind == "vdo" and x.pool == lv.name)
        params = "".join("%s = %d\n" % item for item in (
            ("header_size", 512), ("virtual_extents", virtual),
            ("use_compression", 1), ("use_deduplication", 1),
            ("use_metadata_hints", 1), ("minimum_io_size", 4096),
            ("block_map_cache_size_mb", 128), ("block_map_era_length", 16380),
            ("use_sparse_index", 0), ("index_memory_size_mb", 256),
            ("max_discard", 1), ("slab_size_mb", 128), ("ack_threads", 1),
            ("bio_threads", 1), ("bio_rotation", 64), ("cpu_threads", 2),
            ("hash_zone_threads", 1), ("logical_threads", 1),
            ("physical_threads", 1)))
        seg = _segment(1, 0, lv.extents,
                       "type = \"vdo-pool\"\ndata = \"%s\"\n%s"
                       % (data, params))
        self.blocks.append(_lv_block(lv.name, lv.lv_id, RW_VISIBLE, seg,
                                     tags=lv.tags))
        self.hidden(data, lv.extents, lv.pv)

    def _vdo(self, lv: LV) -> None:
        assert lv.pool is not None
        self.visible(lv, _segment(
            1, 0, lv.extents,
            "type = \"vdo\"\nvdo_pool = \"%s\"\nvdo_offset = 0\n"
            % lv.pool))

    def render(self) -> str:
        for lv in self.lvs:
            self.add(lv)
        if any(lv.kind in ("thin-pool", "cache-pool") for lv in self.lvs):
            # LVM keeps a spare metadata LV for pool repair.
            self.hidden("lvol0_pmspare", 1)
        return "logical_volumes {\n%s}\n" % "".join(self.blocks)


def render_lvs(lvs: list[LV], pv_count: int = 1) -> str:
    """Return the ``logical_volumes`` section for ``lvs``."""
    return _Renderer(lvs, pv_count).render()


class LVMVolumeGroup(fixtures.Fixture):
    """A fresh VG on sparse files behind loop devices, removed at cleanup.

    :param size_gib: apparent size of each sparse backing file.
    :param metadata_mib: PV metadata area; 10,000 LVs need tens of MiB.
    :param pv_count: how many PVs (loop devices) the VG has.
    :param extent_mib: the VG's extent size.
    :param name_length: pad the VG's unique name to this many characters.
    """

    def __init__(self, size_gib: int = 64, metadata_mib: int = 8,
                 pv_count: int = 1, extent_mib: int = 4,
                 name_length: int = 0) -> None:
        super().__init__()
        self.size_gib = size_gib
        self.metadata_mib = metadata_mib
        self.pv_count = pv_count
        self.extent_mib = extent_mib
        self.vg_name = "mdtest-%s" % uuid.uuid4().hex[:12]
        self.vg_name += "-" * (name_length - len(self.vg_name))
        self.devices: list[str] = []

    @property
    def device(self) -> str:
        """The first PV's loop device."""
        return self.devices[0]

    def _setUp(self) -> None:
        self.tmpdir = tempfile.mkdtemp(prefix="md-lvm-")
        self.addCleanup(shutil.rmtree, self.tmpdir, ignore_errors=True)
        for number in range(self.pv_count):
            backing = os.path.join(self.tmpdir, "backing%d.img" % number)
            with open(backing, "wb") as f:
                f.truncate(self.size_gib * 1024 ** 3)
            device = subprocess.run(
                ["losetup", "--find", "--show", backing], check=True,
                capture_output=True, text=True).stdout.strip()
            self.addCleanup(subprocess.run, ["losetup", "-d", device],
                            capture_output=True)
            self.devices.append(device)
        self.conf_dir = os.path.join(self.tmpdir, "lvm")
        os.mkdir(self.conf_dir)
        self.conf_file = os.path.join(self.conf_dir, "lvm.conf")
        accept = "".join('"a|^%s$|", ' % re.escape(device)
                         for device in self.devices)
        with open(self.conf_file, "w") as f:
            f.write(_LVM_CONF % {"accept": accept})
        self.env = dict(os.environ, LVM_SYSTEM_DIR=self.conf_dir,
                        LVM_SUPPRESS_FD_WARNINGS="1", LC_ALL="C")
        self.lvm("pvcreate", "-y", "--metadatasize",
                 "%dm" % self.metadata_mib, *self.devices)
        self.addCleanup(self.lvm_unchecked, "pvremove", "-ff", "-y",
                        *self.devices)
        self.lvm("vgcreate", "-y", "-s", "%dm" % self.extent_mib,
                 self.vg_name, *self.devices)
        self.addCleanup(self.lvm_unchecked, "vgremove", "-ff", "-y",
                        self.vg_name)

    def lose_pv(self, number: int) -> None:
        """Make PV ``number`` missing for real: wipe its label and
        metadata area, as a failed or replaced disk would read.

        The loop device stays attached (and in the device filter), so no
        other test's device can take its name meanwhile.
        """
        subprocess.run(["dd", "if=/dev/zero", "of=%s" % self.devices[number],
                        "bs=1M", "count=%d" % (self.metadata_mib + 1),
                        "oflag=direct", "conv=notrunc"], check=True,
                       capture_output=True)

    def lvm(self, *argv: str) -> str:
        """Run an LVM command with the fixture's config; return stdout."""
        proc = subprocess.run(list(argv), env=self.env, capture_output=True,
                              text=True)
        if proc.returncode != 0:
            raise RuntimeError("%s failed (%d): %s"
                               % (" ".join(argv), proc.returncode,
                                  proc.stderr))
        return proc.stdout

    def lvm_unchecked(self, *argv: str) -> None:
        subprocess.run(list(argv), env=self.env, capture_output=True)

    def lv_names(self) -> set[str]:
        """Names of every LV of the VG, hidden ones included."""
        out = self.lvm("lvs", "-a", "--noheadings", "-o", "lv_name",
                       self.vg_name)
        return {line.strip().strip("[]") for line in out.splitlines()
                if line.strip()}

    def lv_tags(self, name: str) -> str:
        return self.lvm("lvs", "--noheadings", "-o", "lv_tags",
                        "%s/%s" % (self.vg_name, name)).strip()

    def restore(self, lvs: list[LV]) -> None:
        """Replace the VG's LVs with ``lvs`` by writing text metadata.

        Keeps the VG and PV ids of the current metadata; nothing is written
        to the LVs' data (vgcfgrestore writes metadata only).
        """
        backup = os.path.join(self.tmpdir, "current.vg")
        self.lvm("vgcfgbackup", "-f", backup, self.vg_name)
        with open(backup) as f:
            text = f.read()
        seqno = int(re.search(r"seqno = (\d+)", text).group(1))
        text = re.sub(r"seqno = \d+", "seqno = %d" % (seqno + 1), text,
                      count=1)
        start = text.find("\tlogical_volumes {")
        if start == -1:
            # A VG without LVs has no section yet: insert before the VG's
            # closing brace.
            start = text.rstrip().rfind("}")
            end = start
        else:
            end = _section_end(text, start)
        text = text[:start] + render_lvs(lvs, self.pv_count) + text[end:]
        restore_file = os.path.join(self.tmpdir, "restore.vg")
        with open(restore_file, "w") as f:
            f.write(text)
        self.lvm("vgcfgrestore", "--force", "-f", restore_file,
                 self.vg_name)


def _section_end(text: str, start: int) -> int:
    depth = 0
    for pos in range(text.index("{", start), len(text)):
        if text[pos] == "{":
            depth += 1
        elif text[pos] == "}":
            depth -= 1
            if depth == 0:
                return pos + 1
    raise ValueError("unbalanced metadata text")


def partial_layout() -> list[LV]:
    """LVs of a two-PV VG whose PV 1 is then lost (see lose_pv)."""
    return [
        LV("solo", 1, pv=0),                   # wholly on the present PV
        LV("ona", 2, pv=0),
        LV("onb", 2, pv=1),                    # wholly on the lost PV
        LV("span", 4, kind="striped", stripes=2),
        # Snapshots of ona, one with its COW store on the lost PV (LVM
        # then calls ona partial too).
        LV("cowb", 1, kind="snapshot", origin="ona", pv=1),
        LV("cowa", 1, kind="snapshot", origin="ona", pv=0),
    ]


# Ids used by the recorded layout, so unit tests can name them.
CINDER_VOLUME_ID = "7c2b9f6e-1d1a-4c55-9a3e-2f4f1c0b8a01"
CINDER_SNAPSHOT_ID = "0b4c2f4e-8ec0-4a8e-9ad1-5d1b7f6d2e11"
TAGGED_ID = "5e0a3c2d-6b7f-4e19-8d2c-9a1b3c4d5e6f"


def mixed_layout() -> list[LV]:
    """Every kind of LV the driver must tell apart, with odd sizes."""
    cinder_volume = "volume-%s" % CINDER_VOLUME_ID
    return [
        LV("plain", 256),                      # exactly 1 GiB
        LV("odd", 257),                        # 1,028 MiB: 2 GiB, not 1
        LV("tiny", 1),                         # 4 MiB
        LV("split", 4, kind="split"),          # two segments
        LV("origin", 10),
        LV("snap1", 2, kind="snapshot", origin="origin"),
        LV(cinder_volume, 5),
        LV("_snapshot-%s" % CINDER_SNAPSHOT_ID, 2, kind="snapshot",
           origin=cinder_volume),
        LV("morigin", 10),
        LV("msnap", 2, kind="snapshot", origin="morigin", merging=True),
        LV("pool", 64, kind="thin-pool"),
        LV("thin1", 100, kind="thin", pool="pool"),
        LV("tsnap", 100, kind="thin", pool="pool", origin="thin1"),
        LV("pvmove_x", 1),                     # a name LVM now reserves
        LV("tagged", 3,
           tags=("cinder-volume-id=%s" % TAGGED_ID, "backup")),
    ]


def record_unit_data(outdir: str) -> None:  # pragma: no cover - a tool
    """Record the lvs reports the unit tests replay (run as root).

    Runs exactly the driver's report command on real LVM2 layouts.
    """
    import testtools

    from manageable_driver.drivers.lvm import commands

    def lvs(vg: LVMVolumeGroup) -> str:
        return vg.lvm(*commands.REPORT_COMMAND, vg.vg_name)

    def save(name: str, text: str) -> None:
        with open(os.path.join(outdir, name), "w") as f:
            f.write(text)

    class Recorder(testtools.TestCase):
        def test_record(self) -> None:
            vg = self.useFixture(LVMVolumeGroup())
            save("empty_vg.json", lvs(vg))
            vg.restore(mixed_layout())
            save("mixed.json", lvs(vg))
            # A tag added by the real lvchange, as tag mode does.
            vg.lvm("lvchange", "--addtag",
                   "cinder-volume-id=%s" % CINDER_VOLUME_ID,
                   "%s/plain" % vg.vg_name)
            save("tagged.json", lvs(vg))
            proc = subprocess.run(
                ["lvs", "--reportformat", "json", "%s-missing" % vg.vg_name],
                env=vg.env, capture_output=True, text=True)
            save("no_such_vg.stderr", proc.stderr)
            proc = subprocess.run(
                ["lvrename", vg.vg_name, "odd", "tiny"],
                env=vg.env, capture_output=True, text=True)
            save("lvrename_exists.stderr", proc.stderr)
            partial = self.useFixture(LVMVolumeGroup(pv_count=2))
            partial.restore(partial_layout())
            partial.lose_pv(1)
            proc = subprocess.run(
                [*commands.REPORT_COMMAND, partial.vg_name],
                env=partial.env, capture_output=True, text=True, check=True)
            save("partial.json", proc.stdout)
            save("partial.stderr", proc.stderr)
            # The PV back, but marked MISSING by a tag written meanwhile.
            missing = proc.stderr.split("missing PV ")[1].split()[0]
            partial.lvm("lvchange", "--addtag", "x",
                        "%s/solo" % partial.vg_name)
            backup = os.path.join(partial.tmpdir, "partial.vg")
            partial.lvm("vgcfgbackup", "-f", backup, partial.vg_name)
            partial.lvm("pvcreate", "--uuid", missing, "--restorefile",
                        backup, partial.devices[1])
            proc = subprocess.run(
                [*commands.REPORT_COMMAND, partial.vg_name],
                env=partial.env, capture_output=True, text=True, check=True)
            save("partial_back.stderr", proc.stderr)

    result = testtools.TestResult()
    Recorder("test_record").run(result)
    if result.errors or result.failures:
        raise SystemExit(str(result.errors + result.failures))


if __name__ == "__main__":  # pragma: no cover
    import sys
    record_unit_data(sys.argv[1])
