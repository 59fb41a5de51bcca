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

"""How the cost of one listing grows with the number of objects.

Run as root (the LVM part needs loop devices; without root only the file
part runs): ``python3 benchmarks/listing_scale.py [--images 1000 10000
100000] [--lvs 1000 5000 10000 20000 50000]``.

For each size, a fresh backend (images as ``file_listing.py`` makes them:
copied qcow2 headers and sparse raw files; a VG loaded by
``vgcfgrestore`` as ``lvm_listing.py`` does, one snapshot per 50 LVs, with
a 128 MiB metadata area: a size that does not fit ends the LVM part), and
``--runs`` full listings with nothing kept
(``manageable_listing_cache_seconds = 0``): min/median/max seconds and
the fastest and the median run's time per object in microseconds, each
also divided by the smallest size's, measured in the same run: a linear
listing stays near 1 or below (fixed costs, such as starting ``lvs`` or
reading ``/proc``, spread over more objects); the machine is shared, so
the fastest run is the steadiest figure.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from typing import Any

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(
    __file__))))
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import file_listing  # noqa: E402
import lvm_listing  # noqa: E402
import page_walk  # noqa: E402

from tests.functional import lvm_fixtures as layout  # noqa: E402

SORT = (["size", "reference"], ["desc", "asc"])


def list_times(driver: Any, runs: int) -> tuple[list[float], int]:
    times, count = [], 0
    for _ in range(runs):
        start = time.perf_counter()
        count = len(driver.get_manageable_volumes([], None, None, None,
                                                  *SORT))
        times.append(time.perf_counter() - start)
    return times, count


def report(label: str, size: int, times: list[float], count: int,
           first: list[float]) -> None:
    fastest = min(times) / count * 1e6
    per = statistics.median(times) / count * 1e6
    if not first:
        first.extend((fastest, per))
    print("  %-6s %7d objects  %s  us/object min %6.1f (x%.2f) "
          "median %6.1f (x%.2f)"
          % (label, count, page_walk.spread(times), fastest,
             fastest / first[0], per, per / first[1]))


def files(sizes: list[int], runs: int) -> None:
    print("file driver, full listing, min/median/max of %d runs" % runs)
    first: list[float] = []
    with tempfile.TemporaryDirectory() as lock_dir:
        for size in sizes:
            with tempfile.TemporaryDirectory() as images:
                file_listing.make_copies(images, size)
                driver = page_walk.file_driver(images, lock_dir, 0)
                times, count = list_times(driver, runs)
                report("images", size, times, count, first)


def lvs(sizes: list[int], runs: int) -> None:
    print("LVM driver, full listing, min/median/max of %d runs" % runs)
    first: list[float] = []
    with tempfile.TemporaryDirectory() as lock_dir:
        for size in sizes:
            vg = layout.LVMVolumeGroup(size_gib=1024, metadata_mib=128)
            vg.setUp()
            try:
                try:
                    vg.restore(lvm_listing.build_layout(size))
                except RuntimeError as exc:
                    print("  %d LVs do not fit: %s" % (size, str(exc)[:200]))
                    return
                driver = page_walk.lvm_driver(vg, lock_dir, 0)
                times, count = list_times(driver, runs)
                report("LVs", size, times, count, first)
            finally:
                vg.cleanUp()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--images", type=int, nargs="*",
                        default=[1000, 10000, 100000])
    parser.add_argument("--lvs", type=int, nargs="*",
                        default=[1000, 5000, 10000, 20000, 50000])
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    if args.images:
        files(args.images, args.runs)
    if args.lvs:
        if os.geteuid() != 0:
            print("LVM part skipped: needs root (loop devices)")
        else:
            lvs(args.lvs, args.runs)


if __name__ == "__main__":
    main()
