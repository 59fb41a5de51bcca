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

For LVs two more rows split the cost, in CPU time (which other
processes on a shared machine do not inflate): ``lvs``, the driver's
report command run alone in the same run (LVM reading its metadata and
printing the JSON report, the CPU time of the child process), and
``ours``, the CPU time each listing took in this process (parsing the
report, records, verdicts).  Growth per LV in the ``lvs`` row is LVM's
own.  ``--parsed`` sizes (no root needed) time our part alone up to
sizes no loop device's metadata area holds: the driver is given a
synthetic ``lvs`` report (copies of the plain LV recorded in
``tests/unit/data/lvm/mixed.json``) instead of running LVM.
"""

from __future__ import annotations

import argparse
import functools
import json
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
from oslo_config import cfg  # noqa: E402
import page_walk  # noqa: E402

from manageable_driver import opts  # noqa: E402
from manageable_driver.drivers import lvm  # noqa: E402
from manageable_driver.drivers.lvm import commands  # noqa: E402
from manageable_driver.drivers.lvm import options as lvm_options  # noqa
from tests.functional import lvm_fixtures as layout  # noqa: E402

SORT = (["size", "reference"], ["desc", "asc"])


def cpu_times(func: Any) -> tuple[float, float, Any]:
    """CPU seconds ``func()`` took in this process and in its children
    (the commands it ran and waited for), and what it returned: unlike
    wall time, neither counts the time other processes of a shared
    machine take."""
    before = os.times()
    value = func()
    after = os.times()
    own = after.user - before.user + after.system - before.system
    children = (after.children_user - before.children_user
                + after.children_system - before.children_system)
    return own, children, value


def list_times(driver: Any, runs: int) -> tuple[list[float], int,
                                                 list[float]]:
    """Wall times of ``runs`` full listings, the object count, and the
    CPU time each listing took in this process."""
    times, own, count = [], [], 0
    for _ in range(runs):
        start = time.perf_counter()
        cpu, _children, result = cpu_times(functools.partial(
            driver.get_manageable_volumes, [], None, None, None, *SORT))
        times.append(time.perf_counter() - start)
        own.append(cpu)
        count = len(result)
    return times, count, own


def lvs_times(driver: Any, runs: int) -> list[float]:
    """CPU times of the driver's ``lvs`` report command run alone: what
    LVM itself costs (reading its metadata, printing the report)."""
    run = functools.partial(driver.lvm.runner.run,
                            *commands.REPORT_COMMAND, driver.vg_name)
    return [cpu_times(run)[1] for _ in range(runs)]


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
                times, count, _own = list_times(driver, runs)
                report("images", size, times, count, first)


def lvs(sizes: list[int], runs: int) -> None:
    print("LVM driver, full listing, min/median/max of %d runs" % runs)
    first: list[float] = []
    first_lvs: list[float] = []
    first_ours: list[float] = []
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
                times, count, own = list_times(driver, runs)
                report("LVs", size, times, count, first)
                report_times = lvs_times(driver, runs)
                report("lvs", size, report_times, count, first_lvs)
                report("ours", size, own, count, first_ours)
            finally:
                vg.cleanUp()


RECORDED = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(
    __file__))), "tests", "unit", "data", "lvm", "mixed.json")


def synthetic_report(count: int) -> str:
    """An ``lvs`` JSON report of ``count`` plain LVs, each a copy of the
    recorded plain LV of ``mixed.json`` under its own name."""
    with open(RECORDED, encoding="utf-8") as recorded:
        found = json.load(recorded)["report"][0]["lv"]
    plain = next(lv for lv in found
                 if not lv["origin"] and lv["lv_role"] == "public")
    return json.dumps({"report": [{"lv": [
        dict(plain, lv_name="lv-%06d" % i, lv_uuid="u%037d" % i,
             lv_size=str((1 + i % 3) << 30)) for i in range(count)]}]})


def replay(report_text: str, *argv: str, **kwargs: Any) -> tuple[str, str]:
    """processutils.execute for the driver: ``lvs`` prints the report."""
    return (report_text if "lvs" in argv else ""), ""


def parsed(sizes: list[int], runs: int) -> None:
    """Our part of an LVM listing without LVM: the driver given a
    synthetic report instead of running ``lvs``, CPU time."""
    print("LVM driver fed a synthetic lvs report (ours alone, no LVM), "
          "CPU s, min/median/max of %d runs" % runs)
    first: list[float] = []
    with tempfile.TemporaryDirectory() as lock_dir:
        for size in sizes:
            execute = functools.partial(replay, synthetic_report(size))
            conf = cfg.ConfigOpts()
            conf.register_opts(opts.common_opts + lvm_options.lvm_opts)
            conf.set_override("volume_group", "synthetic")
            page_walk.configure(conf, lock_dir, 0)
            driver = lvm.LVMDriver(configuration=conf, execute=execute)
            own, count = [], 0
            for _ in range(runs):
                cpu, _children, result = cpu_times(functools.partial(
                    driver.get_manageable_volumes, [], None, None, None,
                    *SORT))
                own.append(cpu)
                count = len(result)
            report("ours", size, own, count, first)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--images", type=int, nargs="*",
                        default=[1000, 10000, 100000])
    parser.add_argument("--lvs", type=int, nargs="*",
                        default=[1000, 5000, 10000, 20000, 50000])
    parser.add_argument("--parsed", type=int, nargs="*",
                        default=[5000, 10000, 50000, 100000],
                        help="LVs of a synthetic report for the driver "
                        "alone, without LVM")
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    if args.images:
        files(args.images, args.runs)
    if args.parsed:
        parsed(args.parsed, args.runs)
    if args.lvs:
        if os.geteuid() != 0:
            print("LVM part skipped: needs root (loop devices)")
        else:
            lvs(args.lvs, args.runs)


if __name__ == "__main__":
    main()
