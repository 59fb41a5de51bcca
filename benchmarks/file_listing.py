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

"""Listing time of the file driver on directories of 200 and 10,000 images.

Run: ``python3 benchmarks/file_listing.py [--sizes 200 10000]``; run it
with a Python that has Cinder installed (``.tox/compat/bin/python``) to
compare with Cinder's own listing.

The 200-image directory is made by the real qemu-img (half qcow2, half
raw, every tenth qcow2 with a backing file).  Larger directories copy the
first KiB (header and extensions) of one real qemu-img qcow2 into sparse
files of its size, and add sparse raw files, so they cost no disk space.

Printed per size: the time of ``get_manageable_volumes`` over the whole
directory (median of 5 runs) and the subprocesses it started (counted by
wrapping ``subprocess.Popen``).  Then a baseline measured in the same run
on the 200 images: Cinder's ``RemoteFSManageableVolumesMixin`` listing when
``import cinder`` works, otherwise -- labelled as such -- a reproduction of
its approach: two ``qemu-img info`` runs per file.  And the ratio.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(
    __file__))))

from oslo_config import cfg  # noqa: E402

from manageable_driver import listing_cache  # noqa: E402
from manageable_driver.drivers.file import FileDriver  # noqa: E402

RUNS = 5
HEADER_BYTES = 1024


class PopenCounter:
    """Counts every subprocess started while installed."""

    def __init__(self):
        self.count = 0
        self._real = subprocess.Popen

    def __enter__(self):
        counter = self
        real = self._real

        class Counting(real):
            def __init__(self, *args, **kwargs):
                counter.count += 1
                super().__init__(*args, **kwargs)

        subprocess.Popen = Counting
        return self

    def __exit__(self, *exc):
        subprocess.Popen = self._real


def qemu_img(*args):
    subprocess.run(["qemu-img", *args], check=True, capture_output=True)


def make_real(directory, count):
    """``count`` images made by qemu-img, a tenth with a backing file."""
    for i in range(count):
        path = os.path.join(directory, "img-%05d" % i)
        if i % 2:
            qemu_img("create", "-q", "-f", "raw", path, "1G")
        elif i % 20 == 0 and i:
            qemu_img("create", "-q", "-f", "qcow2", "-b", "img-00000",
                     "-F", "qcow2", path)
        else:
            qemu_img("create", "-q", "-f", "qcow2", path, "%dM" % (i + 1))


def make_copies(directory, count):
    """``count`` images: copies of one real qcow2 header, and raw files."""
    template = os.path.join(directory, ".template.qcow2")
    qemu_img("create", "-q", "-f", "qcow2", template, "10G")
    size = os.path.getsize(template)
    with open(template, "rb") as f:
        header = f.read(HEADER_BYTES)
    os.unlink(template)
    for i in range(count):
        with open(os.path.join(directory, "img-%05d" % i), "wb") as f:
            if i % 2 == 0:
                f.write(header)
                f.truncate(size)
            else:
                f.truncate(1 << 30)


def driver_for(directory, lock_dir):
    conf = cfg.ConfigOpts()
    conf(args=[])
    driver = FileDriver(conf)
    conf.set_override("file_volume_dirs", [directory])
    conf.set_override("manageable_lock_path", lock_dir)
    # Every run lists the directory: no kept listing.
    conf.register_opts(listing_cache.cache_opts)
    conf.set_override(listing_cache.OPTION, 0)
    return driver


def time_ours(directory, lock_dir):
    driver = driver_for(directory, lock_dir)
    times = []
    with PopenCounter() as counter:
        for _ in range(RUNS):
            start = time.perf_counter()
            entries = driver.get_manageable_volumes(
                [], None, None, 0, ["reference"], ["asc"])
            times.append(time.perf_counter() - start)
    return statistics.median(times), counter.count / RUNS, len(entries)


def time_cinder(directory):
    """Cinder's own listing on ``directory``; None without Cinder."""
    try:
        from cinder.image import image_utils
        import cinder.privsep
        from cinder.volume.drivers import remotefs
    except ImportError:
        return None
    # Cinder checks each image's format in a privsep daemon it starts with
    # sudo; the benchmark runs as root, so the check runs in this process
    # instead (privsep's own switch for that). Without it every check fails
    # at once and Cinder lists each file as "Failed to open image.".
    cinder.privsep.sys_admin_pctxt.set_client_mode(False)

    class Listing(remotefs.RemoteFSManageableVolumesMixin):
        _mounted_shares = ["bench:/export"]
        _execute_as_root = False

        def _get_mount_point_for_share(self, share):
            return directory

        def _qemu_img_info(self, path, volume_name):
            # What RemoteFSDriver._qemu_img_info_base runs.
            return image_utils.qemu_img_info(path, force_share=True,
                                             run_as_root=False)

    with PopenCounter() as counter:
        start = time.perf_counter()
        entries = Listing().get_manageable_volumes(
            [], None, 1000000, 0, ["reference"], ["asc"])
        elapsed = time.perf_counter() - start
    # Only the images with a backing file (a tenth) fail Cinder's safety
    # check; more would mean Cinder did not really list.
    failed = [e for e in entries if e["size"] is None]
    if len(failed) > len(entries) // 10:
        raise RuntimeError("Cinder could not read %d of %d images (%s): "
                           "its time would not be a listing's"
                           % (len(failed), len(entries),
                              failed[0]["reason_not_safe"]))
    return elapsed, counter.count, len(entries)


def time_reproduction(directory):
    """Cinder's approach without Cinder: two qemu-img info per file."""
    with PopenCounter() as counter:
        start = time.perf_counter()
        for name in sorted(os.listdir(directory)):
            path = os.path.join(directory, name)
            for _ in range(2):
                subprocess.run(["qemu-img", "info", "--output=json", "-U",
                                path], capture_output=True, check=False)
        elapsed = time.perf_counter() - start
    return elapsed, counter.count


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sizes", type=int, nargs="+",
                        default=[200, 10000])
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as lock_dir:
        baseline_dir = None
        ours_at_baseline = None
        tmpdirs = []
        try:
            for size in args.sizes:
                tmp = tempfile.TemporaryDirectory()
                tmpdirs.append(tmp)
                start = time.perf_counter()
                if size <= 1000:
                    make_real(tmp.name, size)
                    how = "made by qemu-img"
                else:
                    make_copies(tmp.name, size)
                    how = "copied qcow2 headers + sparse raw"
                setup = time.perf_counter() - start
                elapsed, procs, listed = time_ours(tmp.name, lock_dir)
                print("%6d images (%s, set up in %.1f s): listing %.3f s "
                      "(median of %d), %g subprocesses per listing, %d "
                      "entries" % (size, how, setup, elapsed, RUNS, procs,
                                   listed))
                if size <= 1000 and baseline_dir is None:
                    baseline_dir, ours_at_baseline = tmp.name, elapsed
            if baseline_dir is None:
                return
            count = len(os.listdir(baseline_dir))
            cinder = time_cinder(baseline_dir)
            if cinder is not None:
                elapsed, procs, listed = cinder
                label = "Cinder %s RemoteFSManageableVolumesMixin" % (
                    _cinder_version())
            else:
                elapsed, procs = time_reproduction(baseline_dir)
                label = ("REPRODUCTION of Cinder's approach (Cinder not "
                         "installed): 2 x qemu-img info per file")
            print("baseline on %d images: %s: %.2f s, %d subprocesses"
                  % (count, label, elapsed, procs))
            print("ratio baseline / ours at %d images: %.0fx"
                  % (count, elapsed / ours_at_baseline))
        finally:
            for tmp in tmpdirs:
                tmp.cleanup()


def _cinder_version():
    try:
        from importlib import metadata
        return metadata.version("cinder")
    except Exception:  # noqa: BLE001 - only a label
        return "?"


if __name__ == "__main__":
    main()
