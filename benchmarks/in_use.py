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

"""Time of reading who holds the store's files, on a busy host.

Run as root: ``python3 benchmarks/in_use.py [--processes 200]
[--files 50]``.

Starts ``--processes`` children, each holding ``--files`` files of a
temp directory open (on the store's filesystem) plus as many sockets and
pipes, and mapping one of them: ``processes * files * 3`` more
descriptors than the host had.  Then, ``--runs`` times each, in
alternation: the driver's :func:`.holders.read_in_use` (fdinfo,
mountinfo, maps, loop devices, ``/proc/locks``) and the baseline
measured in the same run, a REPRODUCTION of the scan before it (a
``stat`` of every ``/proc/PID/fd/N``, which follows the link into the
file's filesystem, and ``/proc/locks``).  Prints min/median/max seconds
of each, wall and CPU (this process's user and system time: the kernel
writing the ``/proc`` text counts, other processes of a shared machine
do not), and the ratios of the medians.  ``--store`` puts the store on a
given filesystem (by default a temp dir: the filesystem of the
children's libraries, so every line of their maps is the store's).
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

from manageable_driver.drivers.file import holders  # noqa: E402

CHILD = r"""
import mmap, os, socket, sys, time
directory, count = sys.argv[1], int(sys.argv[2])
held = []
for i in range(count):
    held.append(open(os.path.join(directory, "f%d" % (i % 1000)), "rb"))
    held.append(socket.socket())
    held.extend(os.pipe())
mapped = mmap.mmap(held[0].fileno(), 4096, prot=mmap.PROT_READ)
print("ready", flush=True)
sys.stdin.read()
"""


def reproduction(proc: str = "/proc") -> dict[tuple[int, int], str]:
    """The scan before fdinfo: stat every descriptor's target."""
    opened: dict[tuple[int, int], str] = {}
    for pid in [name for name in os.listdir(proc) if name.isdigit()]:
        try:
            with os.scandir(os.path.join(proc, pid, "fd")) as fds:
                for fd in fds:
                    try:
                        st = fd.stat()
                    except OSError:
                        continue
                    opened.setdefault((st.st_dev, st.st_ino),
                                      "open by pid %s" % pid)
        except OSError:
            continue
    with open(os.path.join(proc, "locks"), encoding="ascii",
              errors="replace") as f:
        opened.update(holders.parse_proc_locks(f.read()))
    return opened


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--processes", type=int, default=200)
    parser.add_argument("--files", type=int, default=50)
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--store", default=None,
                        help="where the (empty) store directory is made")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(dir=args.store) as store, \
            tempfile.TemporaryDirectory() as held:
        for i in range(min(args.files, 1000)):
            with open(os.path.join(held, "f%d" % i), "wb") as f:
                f.truncate(4096)
        children = []
        try:
            for _ in range(args.processes):
                children.append(subprocess.Popen(
                    [sys.executable, "-c", CHILD, held, str(args.files)],
                    stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                    text=True))
            for child in children:
                child.stdout.readline()
            pids = [pid for pid in os.listdir("/proc") if pid.isdigit()]
            fds = 0
            for pid in pids:
                try:
                    fds += len(os.listdir("/proc/%s/fd" % pid))
                except OSError:
                    continue
            ours: list[tuple[float, float]] = []
            baseline: list[tuple[float, float]] = []
            for _ in range(args.runs):
                for times, func in ((ours, lambda: holders.read_in_use(
                        [store])), (baseline, reproduction)):
                    start = time.perf_counter(), time.process_time()
                    func()
                    times.append((time.perf_counter() - start[0],
                                  time.process_time() - start[1]))
        finally:
            for child in children:
                child.stdin.close()
            for child in children:
                child.wait()
    print("host: %d processes, %d descriptors" % (len(pids), fds))
    for label, times in (("ours: fdinfo + mountinfo + maps + loops + "
                          "locks", ours),
                         ("baseline, REPRODUCTION of the scan before: "
                          "stat of every /proc/PID/fd/N + locks",
                          baseline)):
        for what, column in (("wall", 0), ("CPU", 1)):
            values = [run[column] for run in times]
            print("%s, %s: min %.4f s, median %.4f s, max %.4f s (%d runs)"
                  % (label, what, min(values), statistics.median(values),
                     max(values), len(values)))
    for what, column in (("wall", 0), ("CPU", 1)):
        print("ratio ours / baseline (%s, medians): %.2f" % (
            what, statistics.median(run[column] for run in ours)
            / statistics.median(run[column] for run in baseline)))


if __name__ == "__main__":
    main()
