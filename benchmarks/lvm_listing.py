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

"""Listing time of the LVM driver on real VGs of 1,000 and 10,000 LVs.

Run as root: ``python3 benchmarks/lvm_listing.py [--sizes 1000 10000]``.

For each size a fresh VG (sparse file, loop device, LVM with
``activation = 0``) is loaded through ``vgcfgrestore`` with N linear LVs
plus one classic snapshot per 50 LVs.  Printed per size:

- the time of ``get_manageable_volumes`` for one page of 50 (median of
  5 runs) and the number of subprocesses it started, counted by wrapping
  ``execute``;
- a baseline measured in the same run on the same VG: Cinder's own
  ``LVMVolumeDriver.get_manageable_volumes`` when ``import cinder`` works
  (only up to ``--cinder-max`` LVs: it takes minutes), otherwise -- and
  beyond that size -- a reproduction of Cinder's approach (one lvs, then
  two ``lvdisplay`` per LV), timed on a sample of LVs and extrapolated,
  labelled as such;
- the ratio baseline / ours.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time

import fixtures
import testtools

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(
    __file__))))

from oslo_concurrency import processutils  # noqa: E402
from oslo_config import cfg  # noqa: E402

from manageable_driver import listing_cache  # noqa: E402
from manageable_driver import opts  # noqa: E402
from manageable_driver.drivers import lvm  # noqa: E402
from manageable_driver.drivers.lvm import options  # noqa: E402
from tests.functional import lvm_fixtures as layout  # noqa: E402

PAGE = 50
RUNS = 5
SNAPSHOT_EVERY = 50


def build_layout(count: int,
                 every: int = SNAPSHOT_EVERY) -> list[layout.LV]:
    """``count`` LVs and a classic snapshot of every ``every``-th one."""
    lvs = []
    for i in range(count):
        lvs.append(layout.LV("lv-%05d" % i, 1 + i % 3))
        if i % every == 0:
            lvs.append(layout.LV("snap-%05d" % i, 1, kind="snapshot",
                                 origin="lv-%05d" % i))
    return lvs


class Counter:
    """processutils.execute, counting the subprocesses it starts."""

    def __init__(self) -> None:
        self.count = 0

    def __call__(self, *cmd: str, **kwargs: object) -> tuple[str, str]:
        self.count += 1
        return processutils.execute(*cmd, **kwargs)  # type: ignore[no-any-return]


def our_listing(vg: layout.LVMVolumeGroup,
                lock_path: str) -> tuple[float, int, int]:
    """Median seconds for one page, subprocesses per listing, entries."""
    conf = cfg.ConfigOpts()
    conf.register_opts(opts.common_opts + options.lvm_opts
                       + listing_cache.cache_opts)
    conf.set_override("volume_group", vg.vg_name)
    conf.set_override("lvm_conf_file", vg.conf_file)
    conf.set_override("manageable_lock_path", lock_path)
    # Every run lists the VG: no kept listing.
    conf.set_override(listing_cache.OPTION, 0)
    counter = Counter()
    driver = lvm.LVMDriver(configuration=conf, execute=counter)
    times = []
    page: list[dict[str, object]] = []
    for _ in range(RUNS):
        counter.count = 0
        start = time.perf_counter()
        page = driver.get_manageable_volumes([], None, PAGE, 0, ["size"],
                                             ["desc"])
        times.append(time.perf_counter() - start)
    assert len(page) == PAGE, len(page)
    return statistics.median(times), counter.count, len(page)


def reproduced_cinder(vg: layout.LVMVolumeGroup, count: int,
                      sample: int) -> float:
    """Cinder's per-LV approach, timed on ``sample`` LVs, extrapolated.

    Cinder runs one ``lvs`` and then, per LV, ``lvdisplay -o Attr`` for
    lv_is_snapshot and again for lv_is_open.
    """
    def run(*argv: str) -> None:
        subprocess.run(list(argv), env=vg.env, check=True,
                       capture_output=True)

    start = time.perf_counter()
    run("lvs", "--noheadings", "--unit=g", "-o", "vg_name,name,size",
        "--nosuffix", vg.vg_name)
    lvs_time = time.perf_counter() - start
    start = time.perf_counter()
    step = max(1, count // sample)
    names = ["lv-%05d" % i for i in range(0, count, step)][:sample]
    for name in names:
        for _ in range(2):
            run("lvdisplay", "--noheading", "-C", "-o", "Attr",
                "%s/%s" % (vg.vg_name, name))
    per_lv = (time.perf_counter() - start) / len(names)
    return lvs_time + per_lv * count


def real_cinder(vg: layout.LVMVolumeGroup) -> tuple[float, int] | None:
    """Seconds and subprocesses of Cinder's own get_manageable_volumes.

    None when Cinder cannot be imported.
    """
    try:
        from cinder import objects as cinder_objects
        cinder_objects.register_all()
        from cinder.brick.local_dev import lvm as brick_lvm
        from cinder.volume import configuration as cinder_conf
        from cinder.volume import driver as cinder_driver
        from cinder.volume.drivers import lvm as cinder_lvm
    except ImportError:
        return None
    # Cinder runs LVM as root through its root helper; we already are
    # root, so "env" (a prefix that changes nothing) stands in for sudo.
    os.environ["LVM_SUPPRESS_FD_WARNINGS"] = "1"
    counter = Counter()
    vg_obj = brick_lvm.LVM(vg.vg_name, "env", executor=counter,
                           lvm_conf=vg.conf_file)
    conf = cinder_conf.Configuration(cinder_driver.volume_opts,
                                     config_group="bench")
    driver = cinder_lvm.LVMVolumeDriver(vg_obj=vg_obj, configuration=conf)
    counter.count = 0
    start = time.perf_counter()
    page = driver.get_manageable_volumes([], None, PAGE, 0, ["size"],
                                         ["desc"])
    elapsed = time.perf_counter() - start
    assert len(page) == PAGE, len(page)
    return elapsed, counter.count


def bench(count: int, args: argparse.Namespace) -> None:
    result = testtools.TestResult()

    class Run(testtools.TestCase):
        def test_run(self) -> None:
            vg = self.useFixture(layout.LVMVolumeGroup(
                size_gib=128, metadata_mib=128))
            lvs = build_layout(count)
            start = time.perf_counter()
            vg.restore(lvs)
            print("%6d LVs + %d snapshots loaded by vgcfgrestore in "
                  "%.2f s" % (count, len(lvs) - count,
                              time.perf_counter() - start))
            lock_path = self.useFixture(
                fixtures.TempDir()).path
            ours, procs, _ = our_listing(vg, lock_path)
            print("  ours: page of %d in %.3f s (median of %d), "
                  "%d subprocess(es) per listing"
                  % (PAGE, ours, RUNS, procs))
            cinder = None
            if count <= args.cinder_max:
                cinder = real_cinder(vg)
            if cinder is not None:
                print("  Cinder LVMVolumeDriver.get_manageable_volumes "
                      "(measured, same VG): %.1f s, %d subprocesses -> "
                      "ours is %.0fx faster"
                      % (cinder[0], cinder[1], cinder[0] / ours))
            else:
                estimate = reproduced_cinder(vg, count, args.sample)
                print("  baseline (NOT Cinder itself: its approach, 1 lvs + "
                      "2 lvdisplay per LV, timed on %d LVs and "
                      "extrapolated to %d): %.1f s -> ours is %.0fx faster"
                      % (args.sample, count, estimate, estimate / ours))

    Run("test_run").run(result)
    for _test, trace in result.errors + result.failures:
        print(trace, file=sys.stderr)
        raise SystemExit(1)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+",
                        default=[1000, 10000])
    parser.add_argument("--sample", type=int, default=50,
                        help="LVs the reproduced baseline is timed on")
    parser.add_argument("--cinder-max", type=int, default=1000,
                        help="largest VG to run Cinder's own listing on")
    args = parser.parse_args()
    if os.geteuid() != 0:
        raise SystemExit("needs root (loop devices, LVM)")
    for count in args.sizes:
        bench(count, args)


if __name__ == "__main__":
    main()
