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

"""Listing time of the RBD driver against Cinder's RBDDriver, same pool.

Run: ``tox -e rbd-bench [-- --images 1000 --runs 5]`` (the system Python,
for python3-rados/rbd, with Cinder from the package index).

A private cluster (tests/functional/ceph_fixture.py) gets N images of
varied sizes; one in 50 has a protected snapshot with a clone (so the
listing has clone relations to find) and ten are held open by a second
process (watchers). Printed: min/median/max of ``get_manageable_volumes``
over the whole pool for ours and for Cinder's RBDDriver (one ``rbd
status`` subprocess and one image open per image), the subprocesses
each started, the entries each listed, and the ratio of the medians.
Ours, with the parallel watcher op and with the open-each-image
fallback, are both timed.
"""

from __future__ import annotations

import argparse
import concurrent.futures
import os
import statistics
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(
    __file__))))

from oslo_config import cfg  # noqa: E402

from benchmarks.file_listing import PopenCounter  # noqa: E402
from benchmarks.file_listing import _cinder_version  # noqa: E402
from manageable_driver import listing_cache  # noqa: E402
from manageable_driver import opts  # noqa: E402
from manageable_driver.drivers import rbd as rbd_driver  # noqa: E402
from manageable_driver.drivers.rbd import options  # noqa: E402
from tests.functional import ceph_fixture  # noqa: E402
from tests.functional import rbd_helpers  # noqa: E402

MiB = 1024 ** 2
ALL = (None, None, 0, ["reference"], ["asc"])
HELD_OPEN = 10


def populate(cluster, count):
    import rados
    import rbd
    client = rados.Rados(conffile=cluster.conf_file, rados_id=cluster.user,
                         conf={"keyring": cluster.keyring})
    client.connect()
    ioctx = client.open_ioctx(cluster.pool)

    def make(i):
        name = "bench-%05d" % i
        rbd.RBD().create(ioctx, name, (1 + i % 7) * 512 * MiB + i * MiB)
        if i % 50 == 0 and i + 1 < count:
            with rbd.Image(ioctx, name) as image:
                image.create_snap("base")
                image.protect_snap("base")
        return name

    with concurrent.futures.ThreadPoolExecutor(8) as pool:
        names = list(pool.map(make, range(count - count // 50)))
    clones = [rbd.RBD().clone(ioctx, "bench-%05d" % i, "base", ioctx,
                              "bench-clone-%05d" % i)
              for i in range(0, len(names), 50)]
    ioctx.close()
    client.shutdown()
    return len(names) + len(clones)


def hold_open(cluster, names):
    script = rbd_helpers.HOLDER.replace(
        "image = rbd.Image(ioctx, sys.argv[5])",
        "images = [rbd.Image(ioctx, n) for n in sys.argv[5:]]").replace(
        "image.close()", "[i.close() for i in images]")
    proc = subprocess.Popen(
        [sys.executable, "-c", script, cluster.conf_file, cluster.user,
         cluster.keyring, cluster.pool] + names,
        stdin=subprocess.PIPE, stdout=subprocess.PIPE)
    assert proc.stdout.readline() == b"open\n"  # noqa: S101
    return proc


def ours(cluster, lock_dir, fast=True):
    conf = cfg.ConfigOpts()
    conf.register_opts(opts.common_opts + options.rbd_opts
                       + listing_cache.cache_opts)
    # Each run lists the pool: a kept listing would time the cache, not
    # the listing Cinder's is compared with.
    for key, value in dict(rbd_pool=cluster.pool,
                           rbd_ceph_conf=cluster.conf_file,
                           rbd_user=cluster.user,
                           rbd_keyring_conf=cluster.keyring,
                           manageable_lock_path=lock_dir,
                           **{listing_cache.OPTION: 0}).items():
        conf.set_override(key, value)
    drv = rbd_driver.RBDDriver(configuration=conf)
    drv.cluster.fast_watchers = fast
    return lambda: drv.get_manageable_volumes([], *ALL)


def cinder(cluster):
    try:
        from cinder.volume import configuration
        from cinder.volume.drivers import rbd as cinder_rbd
    except ImportError as exc:
        sys.exit("Cinder is not installed here (%s): run tox -e rbd-bench"
                 % exc)
    group = "rbd-bench"
    cfg.CONF.register_opts(cinder_rbd.RBD_OPTS, group=group)
    for key, value in dict(rbd_pool=cluster.pool,
                           rbd_ceph_conf=cluster.conf_file,
                           rbd_user=cluster.user).items():
        cfg.CONF.set_override(key, value, group=group)
    conf = configuration.Configuration(cinder_rbd.RBD_OPTS,
                                       config_group=group)
    drv = cinder_rbd.RBDDriver(configuration=conf)
    drv.do_setup(None)
    return lambda: drv.get_manageable_volumes(
        [], None, 100000, 0, ["reference"], ["asc"])


def timed(label, call, runs):
    times, procs, listed = [], set(), set()
    for _ in range(runs):
        with PopenCounter() as counter:
            began = time.perf_counter()
            entries = call()
            times.append(time.perf_counter() - began)
        procs.add(counter.count)
        listed.add(len(entries))
    in_use = sum(1 for e in entries
                 if (e["reason_not_safe"] or "").startswith(("in use",
                                                             "volume in")))
    print("%-34s min %8.3f s  median %8.3f s  max %8.3f s  "
          "subprocesses %s  entries %s  in use %d"
          % (label, min(times), statistics.median(times), max(times),
             sorted(procs), sorted(listed), in_use), flush=True)
    return statistics.median(times)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--images", type=int, default=1000)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--cinder-runs", type=int, default=5)
    args = parser.parse_args()
    reason = ceph_fixture.available()
    if reason:
        sys.exit(reason)
    cluster = ceph_fixture.CephCluster()
    holder = None
    try:
        cluster.start()
        began = time.perf_counter()
        count = populate(cluster, args.images)
        print("cluster up in %.1f s; %d images (every 50th with a "
              "protected snapshot and a clone) in %.1f s"
              % (cluster.started_in, count, time.perf_counter() - began))
        holder = hold_open(cluster, ["bench-%05d" % i
                                     for i in range(1, 1 + HELD_OPEN)])
        with tempfile.TemporaryDirectory() as lock_dir:
            mine = timed("ours (parallel reads)", ours(cluster, lock_dir),
                         args.runs)
            timed("ours, watchers by opening images",
                  ours(cluster, lock_dir, fast=False), args.runs)
        theirs = timed("Cinder %s RBDDriver" % _cinder_version(),
                       cinder(cluster), args.cinder_runs)
        print("ratio Cinder / ours (medians) at %d images: %.0fx"
              % (count, theirs / mine))
    finally:
        if holder is not None:
            holder.stdin.close()
            holder.wait()
        cluster.cleanup()


if __name__ == "__main__":
    main()
