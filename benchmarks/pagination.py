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

"""Time of :func:`manageable_driver.pagination.paginate` against Cinder's.

Run: ``python3 benchmarks/pagination.py [--entries 100000] [--large
1000000]``; with ``.tox/compat/bin/python`` (where ``import cinder``
works) the baseline is Cinder's own function.

Entries look like a driver's (references such as ``{'source-name':
'lv-000123'}``, in random order), in three shapes, each paged with and
without a marker (the reference of the entry in the middle of the sorted
order), one page of 50:

- ``distinct``: every size different, sorted ``size desc, reference
  asc``: the size alone decides;
- ``ties``: sizes drawn from eight values (1, 2, 5, 10, 20, 50, 100,
  200 GiB), so thousands of entries tie on the size and the reference
  decides among them;
- ``reference``: sorted by ``reference desc`` alone (Cinder's API
  default).

Times are the process's CPU time (``time.process_time``), not wall
time: the machine is shared, and both functions are single-threaded pure
Python, so CPU time is what they cost.  For each shape it prints
min/median/max of ``--repeat`` runs of the baseline,
measured in the same run on the same entries (Cinder's own
``paginate_entries_list`` when ``import cinder`` works, otherwise
Cinder's algorithm re-implemented from its documented behaviour: a
comparator sort of the whole list, then a slice; the label says which),
of ours, and the ratio of the medians.  Both pages are compared; a
difference is an error.  Then ours alone on ``--large`` entries.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable
import functools
import json
import os
import random
import statistics
import sys
import time
from typing import Any

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(
    __file__))))

from manageable_driver import pagination  # noqa: E402

PAGE = 50
BY_SIZE = (["size", "reference"], ["desc", "asc"])
BY_REFERENCE = (["reference"], ["desc"])
# name: (sizes, sort keys and directions)
SHAPES = {"distinct": ("distinct", BY_SIZE),
          "ties": ("ties", BY_SIZE),
          "reference": ("distinct", BY_REFERENCE)}
TIED_SIZES = (1, 2, 5, 10, 20, 50, 100, 200)


def cinder_like(entries: list[dict[str, Any]], marker: Any, limit: int,
                offset: int | None, sort_keys: list[str],
                sort_dirs: list[str]) -> list[dict[str, Any]]:
    """Cinder's algorithm as its behaviour is documented: sort all, slice.

    A comparator over (key, direction) pairs, a dict value standing for
    its smallest value, ``functools.cmp_to_key`` over the whole list; the
    marker found by a scan of the sorted list.
    """
    def value(entry: dict[str, Any], key: str) -> Any:
        found = entry[key]
        return sorted(found.values())[0] if isinstance(found, dict) else found

    def compare(left: dict[str, Any], right: dict[str, Any]) -> int:
        for key, direction in zip(sort_keys, sort_dirs, strict=False):
            lval, rval = value(left, key), value(right, key)
            if lval == rval:
                continue
            if direction == "asc":
                return -1 if lval < rval else 1
            return -1 if lval > rval else 1
        return 0

    ordered = sorted(entries, key=functools.cmp_to_key(compare))
    start = 0
    if marker:
        wanted = json.loads(marker) if isinstance(marker, str) else marker
        start = next(i for i, e in enumerate(ordered)
                     if e["reference"] == wanted) + 1
    start += offset or 0
    return ordered[start:start + limit]


def baseline() -> tuple[Callable[..., list[dict[str, Any]]], str]:
    try:
        from cinder.volume import volume_utils
    except ImportError:
        return cinder_like, "Cinder's algorithm (re-implemented)"
    return volume_utils.paginate_entries_list, "Cinder's own function"


def make_entries(count: int, sizes: str,
                 seed: int = 42) -> list[dict[str, Any]]:
    rng = random.Random(seed)  # noqa: S311 (test data, not secrets)
    numbers = list(range(count))
    rng.shuffle(numbers)
    if sizes == "distinct":
        values = rng.sample(range(1, 100 * count), count)
    else:
        values = [rng.choice(TIED_SIZES) for _ in range(count)]
    return [{"reference": {"source-name": "lv-%07d" % n},
             "size": size,
             "safe_to_manage": True, "reason_not_safe": None,
             "cinder_id": None, "extra_info": None}
            for n, size in zip(numbers, values, strict=True)]


def timed(repeat: int, func: Callable[..., Any], *args: Any) -> tuple[
        list[float], Any]:
    times, result = [], None
    for _ in range(repeat):
        start = time.process_time()
        result = func(*args)
        times.append(time.process_time() - start)
    return times, result


def spread(times: list[float]) -> str:
    """min/median/max in milliseconds."""
    return "%7.1f/%7.1f/%7.1f" % (min(times) * 1000,
                                  statistics.median(times) * 1000,
                                  max(times) * 1000)


def middle_marker(entries: list[dict[str, Any]], keys: list[str],
                  dirs: list[str]) -> dict[str, Any]:
    full = pagination.paginate(entries, None, None, None, keys, dirs)
    return dict(full[len(full) // 2]["reference"])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--entries", type=int, default=100000)
    parser.add_argument("--large", type=int, default=1000000,
                        help="entries for the ours-only run; 0 to skip")
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()

    theirs, label = baseline()
    print("%d entries, page of %d, min/median/max CPU ms of %d runs; "
          "baseline: %s" % (args.entries, PAGE, args.repeat, label))
    for name, (sizes, (keys, dirs)) in SHAPES.items():
        entries = make_entries(args.entries, sizes)
        sort = ", ".join("%s %s" % pair for pair in zip(keys, dirs,
                                                          strict=True))
        for marker in (None, middle_marker(entries, keys, dirs)):
            slow, want = timed(args.repeat, theirs, entries, marker, PAGE,
                               None, keys, dirs)
            fast, got = timed(args.repeat, pagination.paginate, entries,
                              marker, PAGE, None, keys, dirs)
            if [id(e) for e in got] != [id(e) for e in want]:
                sys.exit("pages differ for %s, marker %s" % (sort, marker))
            print("  %-9s %-24s %-6s baseline %s  ours %s  ratio %5.1fx"
                  % (name, sort, "marker" if marker else "none",
                     spread(slow), spread(fast),
                     statistics.median(slow) / statistics.median(fast)))

    if args.large:
        print("%d entries, ours only, min/median/max CPU ms of %d runs"
              % (args.large, args.repeat))
        for name, (sizes, (keys, dirs)) in SHAPES.items():
            large = make_entries(args.large, sizes)
            sort = ", ".join("%s %s" % pair for pair in zip(keys, dirs,
                                                              strict=True))
            for marker in (None, middle_marker(large, keys, dirs)):
                took, _page = timed(args.repeat, pagination.paginate,
                                    large, marker, PAGE, None, keys, dirs)
                print("  %-9s %-24s %-6s ours %s"
                      % (name, sort, "marker" if marker else "none",
                         spread(took)))


if __name__ == "__main__":
    main()
