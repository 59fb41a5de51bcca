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

Entries look like a driver's (random sizes, references such as
``{'source-name': 'lv-000123'}``, in random order).  For one page of 50,
with and without a marker (the reference of the entry in the middle of
the sorted order), and for Cinder's API default sort (``reference desc``)
and the two-key sort of Cinder's examples (``size desc, reference asc``),
it prints the best of ``--repeat`` runs of:

- the baseline, measured in the same run on the same entries: Cinder's
  own ``paginate_entries_list`` when ``import cinder`` works, otherwise
  Cinder's algorithm re-implemented from its documented behaviour (a
  comparator sort of the whole list, then a slice); the label says which;
- ours, and the ratio baseline / ours.

Both pages are compared; a difference is an error.  Then ours alone on
``--large`` entries.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable
import functools
import json
import os
import random
import sys
import time
from typing import Any

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(
    __file__))))

from manageable_driver import pagination  # noqa: E402

PAGE = 50
SORTS = ((["reference"], ["desc"]),
         (["size", "reference"], ["desc", "asc"]))


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


def make_entries(count: int, seed: int = 42) -> list[dict[str, Any]]:
    rng = random.Random(seed)  # noqa: S311 (test data, not secrets)
    numbers = list(range(count))
    rng.shuffle(numbers)
    return [{"reference": {"source-name": "lv-%06d" % n},
             "size": rng.randint(1, 1024),
             "safe_to_manage": True, "reason_not_safe": None,
             "cinder_id": None, "extra_info": None}
            for n in numbers]


def best(repeat: int, func: Callable[..., Any], *args: Any) -> tuple[
        float, Any]:
    times, result = [], None
    for _ in range(repeat):
        start = time.perf_counter()
        result = func(*args)
        times.append(time.perf_counter() - start)
    return min(times), result


def middle_marker(entries: list[dict[str, Any]], keys: list[str],
                  dirs: list[str]) -> dict[str, Any]:
    full = pagination.paginate(entries, None, None, None, keys, dirs)
    return dict(full[len(full) // 2]["reference"])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--entries", type=int, default=100000)
    parser.add_argument("--large", type=int, default=1000000,
                        help="entries for the ours-only run; 0 to skip")
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()

    theirs, label = baseline()
    entries = make_entries(args.entries)
    print("%d entries, page of %d, best of %d; baseline: %s"
          % (args.entries, PAGE, args.repeat, label))
    for keys, dirs in SORTS:
        sort = ", ".join("%s %s" % pair for pair in zip(keys, dirs,
                                                          strict=True))
        for marker in (None, middle_marker(entries, keys, dirs)):
            slow, want = best(args.repeat, theirs, entries, marker, PAGE,
                              None, keys, dirs)
            fast, got = best(args.repeat, pagination.paginate, entries,
                             marker, PAGE, None, keys, dirs)
            if [id(e) for e in got] != [id(e) for e in want]:
                sys.exit("pages differ for %s, marker %s" % (sort, marker))
            print("  %-26s %-14s baseline %8.1f ms  ours %7.1f ms  "
                  "ratio %5.1fx"
                  % (sort, "with marker" if marker else "no marker",
                     slow * 1000, fast * 1000, slow / fast))

    if args.large:
        large = make_entries(args.large)
        print("%d entries, ours only, best of %d" % (args.large, args.repeat))
        for keys, dirs in SORTS:
            sort = ", ".join("%s %s" % pair for pair in zip(keys, dirs,
                                                              strict=True))
            for marker in (None, middle_marker(large, keys, dirs)):
                took, _page = best(args.repeat, pagination.paginate, large,
                                   marker, PAGE, None, keys, dirs)
                print("  %-26s %-14s ours %7.1f ms"
                      % (sort, "with marker" if marker else "no marker",
                         took * 1000))


if __name__ == "__main__":
    main()
