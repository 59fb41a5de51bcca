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

"""What telling that a VG changed costs, against listing it.

Run as root: ``python3 benchmarks/lvm_validator.py [--lvs 10000]``.

A kept LVM listing could be checked instead of expiring if something
cheaper than the full ``lvs`` report told exactly whether the VG changed.
LVM writes a new metadata text with a higher ``seqno`` on every change.
On a VG of ``--lvs`` LVs (one snapshot per 50, loaded by ``vgcfgrestore``)
this prints min/median/max wall seconds of 5 runs of:

- the driver's report (what a listing runs);
- ``vgs -o vg_seqno`` and ``pvs``: LVM reads and parses the whole
  metadata for these too;
- reading the seqno from the PV's on-disk metadata area directly (label,
  PV header, metadata area header, then the first bytes of the current
  metadata text), in-process: it needs read access to the block device,
  i.e. root.

The ratio of each to the report is printed (the machine is shared: the
ratios, measured in the same run, are what count).
"""

from __future__ import annotations

import argparse
from collections.abc import Callable
import os
import re
import statistics
import struct
import sys
import tempfile
import time
from typing import Any

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(
    __file__))))
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import lvm_listing  # noqa: E402
import page_walk  # noqa: E402

from tests.functional import lvm_fixtures as layout  # noqa: E402

SECTOR = 512
_SEQNO = re.compile(rb"\bseqno = ([0-9]+)")


def mda_seqno(device: str) -> int:
    """The seqno of the current metadata in the first metadata area of
    PV ``device``, read from disk (LVM2's text format, version 1)."""
    with open(device, "rb") as dev:
        fd = dev.fileno()
        for sector in range(4):
            label = os.pread(fd, SECTOR, sector * SECTOR)
            if label[:8] == b"LABELONE":
                break
        else:
            raise ValueError("no LVM label on %s" % device)
        (offset,) = struct.unpack_from("<I", label, 20)
        pvh = label[offset:]
        # pv_header: uuid (32), device size (8), then two lists of
        # (offset, size) disk locations ended by a zero entry: data areas,
        # then metadata areas.
        pos, lists = 40, []
        for _ in range(2):
            areas = []
            while True:
                area_off, area_size = struct.unpack_from("<QQ", pvh, pos)
                pos += 16
                if area_off == 0:
                    break
                areas.append((area_off, area_size))
            lists.append(areas)
        mda_start = lists[1][0][0]
        header = os.pread(fd, SECTOR, mda_start)
        # mda_header: checksum, magic (16), version, start, size, then
        # raw_locn {offset, size, checksum, flags}: the current text.
        text_off, text_size = struct.unpack_from("<QQ", header, 40)
        text = os.pread(fd, min(text_size, 4096), mda_start + text_off)
        found = _SEQNO.search(text)
        if found is None:
            raise ValueError("no seqno in the metadata of %s" % device)
        return int(found.group(1))


def spread(times: list[float]) -> str:
    return "%.4f/%.4f/%.4f s" % (min(times), statistics.median(times),
                                 max(times))


def runs(func: Callable[[], Any], count: int) -> list[float]:
    times = []
    for _ in range(count):
        start = time.perf_counter()
        func()
        times.append(time.perf_counter() - start)
    return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lvs", type=int, default=10000)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    if os.geteuid() != 0:
        raise SystemExit("needs root (loop devices, reading the PV)")
    vg = layout.LVMVolumeGroup(size_gib=128, metadata_mib=128)
    vg.setUp()
    try:
        lvs = lvm_listing.build_layout(args.lvs)
        vg.restore(lvs)
        with tempfile.TemporaryDirectory() as lock_dir:
            driver = page_walk.lvm_driver(vg, lock_dir, 0)
            before = mda_seqno(vg.device)
            seqno = vg.lvm("vgs", "--noheadings", "-o", "vg_seqno",
                           vg.vg_name).strip()
            if int(seqno) != before:
                raise SystemExit("on-disk seqno %d, vgs says %s"
                                 % (before, seqno))
            vg.lvm("lvrename", vg.vg_name, "lv-00000", "renamed")
            if mda_seqno(vg.device) != before + 1:
                raise SystemExit("the on-disk seqno did not follow a "
                                 "rename")
            report = runs(driver.lvm.report, args.runs)
            measured = {
                "lvs report (listing)": report,
                "vgs -o vg_seqno": runs(lambda: vg.lvm(
                    "vgs", "--noheadings", "-o", "vg_seqno", vg.vg_name),
                    args.runs),
                "pvs": runs(lambda: vg.lvm("pvs", "--noheadings"),
                            args.runs),
                "on-disk mda seqno (root)": runs(
                    lambda: mda_seqno(vg.device), args.runs),
            }
        print("%d LVs + %d snapshots, min/median/max of %d runs"
              % (args.lvs, len(lvs) - args.lvs, args.runs))
        for label, times in measured.items():
            print("  %-26s %s  x%.4f of the report"
                  % (label, spread(times),
                     statistics.median(times) / statistics.median(report)))
    finally:
        vg.cleanUp()


if __name__ == "__main__":
    main()
