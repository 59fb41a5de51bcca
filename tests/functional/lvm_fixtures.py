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
    filter = [ "a|^%(dev)s$|", "r|.*|" ]
    global_filter = [ "a|^%(dev)s$|", "r|.*|" ]
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

    ``kind``: ``linear``, ``snapshot`` (classic; ``origin``, ``extents`` is
    the COW size, ``merging`` marks a merge in progress), ``thin-pool``
    (``extents`` of data), ``thin`` (``pool``, ``extents`` of virtual size,
    optional ``origin`` for a thin snapshot), ``split`` (a linear LV in two
    segments on non-adjacent extents).
    """

    name: str
    extents: int = 1
    kind: str = "linear"
    origin: str | None = None
    pool: str | None = None
    merging: bool = False
    tags: tuple[str, ...] = ()
    lv_id: str = dataclasses.field(default_factory=lvm_uuid)


class _Allocator:
    def __init__(self) -> None:
        self.next_pe = 0

    def take(self, count: int) -> int:
        start = self.next_pe
        self.next_pe += count
        return start


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


def _striped(extents: int, start_pe: int, start_extent: int = 0,
             number: int = 1) -> str:
    return ("segment%d {\nstart_extent = %d\nextent_count = %d\n"
            "type = \"striped\"\nstripe_count = 1\n"
            "stripes = [\"pv0\", %d]\n}\n"
            % (number, start_extent, extents, start_pe))


def render_lvs(lvs: list[LV]) -> str:
    """Return the ``logical_volumes`` section for ``lvs``."""
    alloc = _Allocator()
    by_name = {lv.name: lv for lv in lvs}
    blocks: list[str] = []
    thin_ids: dict[str, int] = {}
    snap_no = 0
    rw_visible = ["READ", "WRITE", "VISIBLE"]
    for lv in lvs:
        if lv.kind == "linear":
            blocks.append(_lv_block(lv.name, lv.lv_id, rw_visible,
                                    _striped(lv.extents,
                                             alloc.take(lv.extents)),
                                    tags=lv.tags))
        elif lv.kind == "split":
            # Two segments on non-adjacent extents: one LV, two segments.
            half = max(1, lv.extents // 2)
            first = _striped(half, alloc.take(half))
            alloc.take(1)
            second = _striped(lv.extents - half, alloc.take(lv.extents - half),
                              start_extent=half, number=2)
            blocks.append(_lv_block(lv.name, lv.lv_id, rw_visible,
                                    first + second, tags=lv.tags, count=2))
        elif lv.kind == "snapshot":
            assert lv.origin is not None
            origin = by_name[lv.origin]
            blocks.append(_lv_block(lv.name, lv.lv_id, rw_visible,
                                    _striped(lv.extents,
                                             alloc.take(lv.extents)),
                                    tags=lv.tags))
            store = "merging_store" if lv.merging else "cow_store"
            seg = ("segment1 {\nstart_extent = 0\nextent_count = %d\n"
                   "type = \"snapshot\"\nchunk_size = 8\norigin = \"%s\"\n"
                   "%s = \"%s\"\n}\n"
                   % (origin.extents, origin.name, store, lv.name))
            blocks.append(_lv_block("snapshot%d" % snap_no, lvm_uuid(),
                                    ["READ"], seg))
            snap_no += 1
        elif lv.kind == "thin-pool":
            meta, data = lv.name + "_tmeta", lv.name + "_tdata"
            seg = ("segment1 {\nstart_extent = 0\nextent_count = %d\n"
                   "type = \"thin-pool\"\nmetadata = \"%s\"\n"
                   "pool = \"%s\"\ntransaction_id = %d\nchunk_size = 128\n"
                   "discards = \"passdown\"\nzero_new_blocks = 1\n}\n"
                   % (lv.extents, meta, data,
                      sum(1 for x in lvs
                          if x.kind == "thin" and x.pool == lv.name)))
            blocks.append(_lv_block(lv.name, lv.lv_id, rw_visible, seg,
                                    tags=lv.tags))
            blocks.append(_lv_block(meta, lvm_uuid(), ["READ", "WRITE"],
                                    _striped(1, alloc.take(1))))
            blocks.append(_lv_block(data, lvm_uuid(), ["READ", "WRITE"],
                                    _striped(lv.extents,
                                             alloc.take(lv.extents))))
        elif lv.kind == "thin":
            assert lv.pool is not None
            thin_ids.setdefault(lv.pool, 0)
            thin_ids[lv.pool] += 1
            device_id = thin_ids[lv.pool]
            origin_line = ('origin = "%s"\n' % lv.origin) if lv.origin else ""
            seg = ("segment1 {\nstart_extent = 0\nextent_count = %d\n"
                   "type = \"thin\"\nthin_pool = \"%s\"\n"
                   "transaction_id = %d\ndevice_id = %d\n%s}\n"
                   % (lv.extents, lv.pool, device_id - 1, device_id,
                      origin_line))
            blocks.append(_lv_block(
                lv.name, lv.lv_id, rw_visible, seg, tags=lv.tags,
                flags=("ACTIVATION_SKIP",) if lv.origin else ()))
        else:
            raise ValueError("unknown LV kind %r" % lv.kind)
    if any(lv.kind == "thin-pool" for lv in lvs):
        # LVM keeps a spare metadata LV for thin pool repair.
        blocks.append(_lv_block("lvol0_pmspare", lvm_uuid(),
                                ["READ", "WRITE"],
                                _striped(1, alloc.take(1))))
    return "logical_volumes {\n%s}\n" % "".join(blocks)


class LVMVolumeGroup(fixtures.Fixture):
    """A fresh VG on a sparse file behind a loop device, removed at cleanup.

    :param size_gib: apparent size of the sparse backing file.
    :param metadata_mib: PV metadata area; 10,000 LVs need tens of MiB.
    """

    def __init__(self, size_gib: int = 64, metadata_mib: int = 8) -> None:
        super().__init__()
        self.size_gib = size_gib
        self.metadata_mib = metadata_mib
        self.vg_name = "mdtest-%s" % uuid.uuid4().hex[:12]
        self.device = ""

    def _setUp(self) -> None:
        self.tmpdir = tempfile.mkdtemp(prefix="md-lvm-")
        self.addCleanup(shutil.rmtree, self.tmpdir, ignore_errors=True)
        backing = os.path.join(self.tmpdir, "backing.img")
        with open(backing, "wb") as f:
            f.truncate(self.size_gib * 1024 ** 3)
        self.device = subprocess.run(
            ["losetup", "--find", "--show", backing], check=True,
            capture_output=True, text=True).stdout.strip()
        self.addCleanup(subprocess.run, ["losetup", "-d", self.device],
                        capture_output=True)
        self.conf_dir = os.path.join(self.tmpdir, "lvm")
        os.mkdir(self.conf_dir)
        self.conf_file = os.path.join(self.conf_dir, "lvm.conf")
        with open(self.conf_file, "w") as f:
            f.write(_LVM_CONF % {"dev": re.escape(self.device)})
        self.env = dict(os.environ, LVM_SYSTEM_DIR=self.conf_dir,
                        LVM_SUPPRESS_FD_WARNINGS="1", LC_ALL="C")
        self.lvm("pvcreate", "-y", "--metadatasize",
                 "%dm" % self.metadata_mib, self.device)
        self.addCleanup(self.lvm_unchecked, "pvremove", "-ff", "-y",
                        self.device)
        self.lvm("vgcreate", "-y", self.vg_name, self.device)
        self.addCleanup(self.lvm_unchecked, "vgremove", "-ff", "-y",
                        self.vg_name)

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
        text = text[:start] + render_lvs(lvs) + text[end:]
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

    result = testtools.TestResult()
    Recorder("test_record").run(result)
    if result.errors or result.failures:
        raise SystemExit(str(result.errors + result.failures))


if __name__ == "__main__":  # pragma: no cover
    import sys
    record_unit_data(sys.argv[1])
