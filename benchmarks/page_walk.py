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

"""Walking every page of a listing against one full listing.

Run as root (the LVM part needs loop devices; without root only the file
part runs): ``python3 benchmarks/page_walk.py [--images 10000] [--lvs
10000] [--rbd 1000]``.  The RBD part (off unless ``--rbd``) starts a
private Ceph cluster (tests/functional/ceph_fixture.py) and needs the
system interpreter's rados/rbd modules: run it with the ``rbd-bench``
environment's Python, under the Ceph lock::

    flock /tmp/md-ceph.lock .tox/rbd-bench/bin/python \
        benchmarks/page_walk.py --images 0 --lvs 0 --rbd 1000

Backends: a directory of ``--images`` images (copied qcow2 headers and
sparse raw files, as ``file_listing.py`` makes them), and a VG of
``--lvs`` LVs plus ``--snapshots`` classic snapshots (500 by default:
the shape of issue 15; ``vgcfgrestore``, as ``lvm_listing.py`` loads
it), and a pool of ``--rbd`` RBD images (as ``rbd_listing.py`` makes
them: varied sizes, every 50th with a protected snapshot and a clone).
For each, ``--runs`` times:

- the baseline: one full listing (``limit`` None) with kept listings off
  (``manageable_listing_cache_seconds = 0``), as every call cost before;
- a walk of every page (``limit`` 50, each page's marker the last
  reference of the previous one) with kept listings on, starting cold;
- one page of a cold listing (a new driver object), one page after an
  invalidation (what a listing costs after a manage: the file driver
  reuses the headers of unchanged files), and the middle page of a kept
  listing (warm).

It prints min/median/max wall seconds of each (the machine is shared: the
ratios, measured in the same run, are what count), the walk / full
listing ratio (goal: at most 3) and the warm / cold page ratio (goal: at
most 0.1), and checks that the walk returned every entry of the full
listing once, in its order.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable
import functools
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

from manageable_driver import listing_cache  # noqa: E402
from manageable_driver import opts  # noqa: E402
from manageable_driver.drivers import lvm  # noqa: E402
from manageable_driver.drivers.file import FileDriver  # noqa: E402
from manageable_driver.drivers.file import options as file_options  # noqa
from manageable_driver.drivers.lvm import options as lvm_options  # noqa
from manageable_driver.drivers.rbd import options as rbd_options  # noqa
from tests.functional import lvm_fixtures as layout  # noqa: E402

PAGE = 50
SORT = (["size", "reference"], ["desc", "asc"])

MakeDriver = Callable[[float | None], Any]


def spread(times: list[float]) -> str:
    """min/median/max seconds."""
    return "%.4f/%.4f/%.4f s" % (min(times), statistics.median(times),
                                 max(times))


def timed(func: Callable[..., Any], *args: Any) -> tuple[float, Any]:
    start = time.perf_counter()
    result = func(*args)
    return time.perf_counter() - start, result


def walk(driver: Any) -> list[dict[str, Any]]:
    """Every page of the volume listing, joined."""
    walked: list[dict[str, Any]] = []
    marker = None
    while True:
        page = driver.get_manageable_volumes([], marker, PAGE, None, *SORT)
        if not page:
            return walked
        walked.extend(page)
        marker = page[-1]["reference"]


def configure(conf: cfg.ConfigOpts, lock_dir: str,
              seconds: float | None) -> None:
    conf.register_opts(listing_cache.cache_opts)
    conf.set_override("manageable_lock_path", lock_dir)
    if seconds is not None:
        conf.set_override(listing_cache.OPTION, seconds)


def measure(label: str, make: MakeDriver, runs: int) -> None:
    full_times, walk_times, cold_times, warm_times = [], [], [], []
    again_times: list[float] = []
    for _ in range(runs):
        took, full = timed(make(0).get_manageable_volumes, [], None, None,
                           None, *SORT)
        full_times.append(took)

        driver = make(None)
        driver.listing_cache.invalidate()
        took, walked = timed(walk, driver)
        walk_times.append(took)
        if [e["reference"] for e in walked] != [e["reference"]
                                                for e in full]:
            raise SystemExit("%s: the walk differs from the listing"
                             % label)

        took, _page = timed(make(None).get_manageable_volumes, [], None,
                            PAGE, None, *SORT)
        cold_times.append(took)
        driver.listing_cache.invalidate()
        took, _page = timed(driver.get_manageable_volumes, [], None, PAGE,
                            None, *SORT)
        again_times.append(took)
        middle = full[len(full) // 2]["reference"]
        took, _page = timed(driver.get_manageable_volumes, [], middle, PAGE,
                            None, *SORT)
        warm_times.append(took)
    pages = -(-len(full) // PAGE)
    print("%s: %d entries, %d pages of %d; min/median/max of %d runs"
          % (label, len(full), pages, PAGE, runs))
    print("  full listing, nothing kept  %s" % spread(full_times))
    print("  walk of every page, kept    %s" % spread(walk_times))
    print("  one page, cold (new driver) %s" % spread(cold_times))
    print("  one page, after invalidate  %s  (files: unchanged headers "
          "reused)" % spread(again_times))
    print("  one page, warm              %s" % spread(warm_times))
    print("  walk / full listing: %.2f (goal <= 3); warm / cold page: "
          "%.4f (goal <= 0.1)"
          % (statistics.median(walk_times) / statistics.median(full_times),
             statistics.median(warm_times)
             / statistics.median(cold_times)))


def file_driver(images: str, lock_dir: str, seconds: float | None) -> Any:
    """A file driver of directory ``images``; ``seconds`` of keeping
    (None: the default)."""
    conf = cfg.ConfigOpts()
    conf(args=[])
    conf.register_opts(opts.common_opts + file_options.file_opts)
    conf.set_override("file_volume_dirs", [images])
    configure(conf, lock_dir, seconds)
    return FileDriver(conf)


def lvm_driver(vg: layout.LVMVolumeGroup, lock_dir: str,
               seconds: float | None) -> Any:
    """An LVM driver of ``vg``; ``seconds`` of keeping (None: the
    default)."""
    conf = cfg.ConfigOpts()
    conf.register_opts(opts.common_opts + lvm_options.lvm_opts)
    conf.set_override("volume_group", vg.vg_name)
    conf.set_override("lvm_conf_file", vg.conf_file)
    configure(conf, lock_dir, seconds)
    return lvm.LVMDriver(configuration=conf)


def rbd_driver(cluster: Any, lock_dir: str, seconds: float | None) -> Any:
    """An RBD driver of ``cluster``'s pool; ``seconds`` of keeping (None:
    the default)."""
    from manageable_driver.drivers import rbd

    conf = cfg.ConfigOpts()
    conf.register_opts(opts.common_opts + rbd_options.rbd_opts)
    for key, value in dict(rbd_pool=cluster.pool,
                           rbd_ceph_conf=cluster.conf_file,
                           rbd_user=cluster.user,
                           rbd_keyring_conf=cluster.keyring).items():
        conf.set_override(key, value)
    configure(conf, lock_dir, seconds)
    return rbd.RBDDriver(configuration=conf)


def rbd_backend(count: int, runs: int) -> None:
    import rbd_listing

    from tests.functional import ceph_fixture

    reason = ceph_fixture.available()
    if reason:
        print("RBD part skipped: %s" % reason)
        return
    cluster = ceph_fixture.CephCluster()
    try:
        cluster.start()
        images = rbd_listing.populate(cluster, count)
        with tempfile.TemporaryDirectory() as lock_dir:
            measure("RBD, %d images" % images,
                    functools.partial(rbd_driver, cluster, lock_dir), runs)
    finally:
        cluster.cleanup()


def file_backend(count: int, runs: int) -> None:
    with tempfile.TemporaryDirectory() as images, \
            tempfile.TemporaryDirectory() as lock_dir:
        file_listing.make_copies(images, count)
        measure("file, %d images" % count,
                functools.partial(file_driver, images, lock_dir), runs)


def lvm_backend(count: int, snapshots: int, runs: int) -> None:
    vg = layout.LVMVolumeGroup(size_gib=128, metadata_mib=128)
    vg.setUp()
    try:
        lvs = lvm_listing.build_layout(count,
                                       max(1, -(-count // max(1, snapshots))))
        vg.restore(lvs)
        with tempfile.TemporaryDirectory() as lock_dir:
            measure("LVM, %d LVs + %d snapshots" % (count, len(lvs) - count),
                    functools.partial(lvm_driver, vg, lock_dir), runs)
    finally:
        vg.cleanUp()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--images", type=int, default=10000)
    parser.add_argument("--lvs", type=int, default=10000)
    parser.add_argument("--rbd", type=int, default=0,
                        help="RBD images (a private Ceph cluster); 0 skips")
    parser.add_argument("--snapshots", type=int, default=500,
                        help="about this many snapshots among the LVs")
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    if args.images:
        file_backend(args.images, args.runs)
    if args.lvs:
        if os.geteuid() != 0:
            print("LVM part skipped: needs root (loop devices)")
        else:
            lvm_backend(args.lvs, args.snapshots, args.runs)
    if args.rbd:
        rbd_backend(args.rbd, args.runs)


if __name__ == "__main__":
    main()
