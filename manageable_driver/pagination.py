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

"""Sorting and paging of manageable-object listings.

:func:`paginate` returns the same page as Cinder's
``cinder.volume.volume_utils.paginate_entries_list`` for every input Cinder
handles, and a clear :class:`~manageable_driver.exception.InvalidInput`
where Cinder crashes or silently does something else.

Cinder sorts the whole list with a Python comparator and then slices it.
Here the first sort key alone first narrows the entries down to those
that can be on the page (:func:`_narrow`): with distinct sizes that is
about ``offset + limit`` of them, so the later keys (the reference,
whose value needs a dict unpacked) are computed for those alone.  When
sizes tie, the groups of tied sizes at the page's bounds are narrowed by
the later keys in turn, the marker's group first, and the next group
only when the page goes on past it.  At a million entries the cost is
the number of passes over the entries, and how often each pass misses
the CPU cache: columns are read a chunk at a time (types, lengths and
unpacked references checked while the chunk is in the cache), the
marker's references are looked for as they are read, and when the first
key is the reference the marker's own value bounds the page before any
search.  A last sort key (the only one, or the one that orders a tied
group) over many times the page is first bounded by a sorted sample of
its values, so that one pass finds both the nearest values after the
marker and the entries holding them; a sample that leaves too few is not
trusted.  Then each sort key becomes a column of plain values that
compare in C (numbers negated for a reversed direction), one linear
pass finds the marker, and a bounded heap picks only the ``offset +
limit`` entries the page needs.  Values whose order C comparisons cannot
reproduce (mixed types, NaN, objects with a partial order) take a
comparator path that gives Cinder's answer where Cinder has one and
never raises.
"""

from __future__ import annotations

import bisect
from collections.abc import Callable
from collections.abc import Iterable
from collections.abc import Sequence
import decimal
import functools
import heapq
import itertools
import json
import numbers
import operator
from typing import Any

from manageable_driver import exception

ASC = "asc"
DESC = "desc"
DIRECTIONS = (ASC, DESC)
# The seed interface documents ``identifier``; Cinder's REST API sends
# ``reference``.  Both name the same field of an entry.
KEY_ALIASES = {"identifier": "reference"}
MARKER_KEY = "reference"


class _Missing:
    """A value that is not there: ``None``, or an empty reference dict.

    It sorts after every value in ``asc`` and before every value in
    ``desc``, and equals only itself.
    """

    _instance: _Missing | None = None

    def __new__(cls) -> _Missing:
        if cls._instance is None:
            cls._instance = super().__new__(cls)
        return cls._instance

    def __repr__(self) -> str:
        return "<missing>"


MISSING = _Missing()


def _invalid(reason: str) -> exception.InvalidInput:
    return exception.InvalidInput(reason=reason)


def _type_rank(value: Any) -> tuple[int, str]:
    # Real numbers (and Decimal, which compares with them) form one group
    # so that 1 < 2.5 keeps Python's meaning; every other type is a group
    # of its own, ordered by name.
    if isinstance(value, (numbers.Real, decimal.Decimal)):
        return (0, "")
    kind = type(value)
    return (1, "%s.%s" % (kind.__module__, kind.__qualname__))


def _safe_less(left: Any, right: Any) -> bool:
    """``left < right`` where Python can tell, a fixed total order if not."""
    try:
        return bool(left < right)
    except TypeError:
        pass
    left_rank, right_rank = _type_rank(left), _type_rank(right)
    if left_rank != right_rank:
        return left_rank < right_rank
    return repr(left) < repr(right)


def _safe_cmp(left: Any, right: Any) -> int:
    if left is right:
        return 0
    try:
        if left == right:
            return 0
    except TypeError:
        pass
    if _safe_less(left, right):
        return -1
    return 1 if _safe_less(right, left) else 0


def _reduce(value: Any) -> Any:
    """A dict compares by its smallest value, as in Cinder.

    Cinder takes ``sorted(values)[0]``; that same expression is used so
    that even a partial order (NaN, sets) gives Cinder's pick.  Where
    Cinder would raise (mixed types, empty dict) a defined value is used.
    """
    if not isinstance(value, dict):
        return MISSING if value is None else value
    if len(value) == 1:
        for only in value.values():
            return MISSING if only is None else only
    if not value:
        return MISSING
    try:
        smallest = sorted(value.values())[0]
    except TypeError:
        smallest = min(value.values(), key=functools.cmp_to_key(_safe_cmp))
    return MISSING if smallest is None else smallest


def _check_sort(sort_keys: Any,
                sort_dirs: Any) -> list[tuple[str, bool]]:
    """Return ``(key, descending)`` pairs, or raise InvalidInput."""
    if sort_keys is None:
        sort_keys = []
    if sort_dirs is None:
        sort_dirs = []
    for name, value in (("sort_keys", sort_keys), ("sort_dirs", sort_dirs)):
        if isinstance(value, (str, bytes)) or not isinstance(
                value, Sequence):
            raise _invalid("%s must be a list of strings, not %r"
                           % (name, value))
        for item in value:
            if not isinstance(item, str):
                raise _invalid("%s must be a list of strings, got %r in it"
                               % (name, item))
    if len(sort_dirs) > len(sort_keys):
        raise _invalid("more sort directions than sort keys: %s for %s"
                       % (list(sort_dirs), list(sort_keys)))
    pairs = []
    for index, raw_key in enumerate(sort_keys):
        # Cinder strips the keys (not the directions).
        key = raw_key.strip()
        direction = sort_dirs[index] if index < len(sort_dirs) else ASC
        if direction not in DIRECTIONS:
            raise _invalid("invalid sort direction %r for sort key %r: "
                           "use 'asc' or 'desc'" % (direction, key))
        pairs.append((key, direction == DESC))
    return pairs


def _check_count(name: str, value: Any) -> int | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int):
        raise _invalid("%s must be a non-negative integer or None, not %r"
                       % (name, value))
    if value < 0:
        raise _invalid("%s must not be negative, got %d" % (name, value))
    return value


def _check_marker(marker: Any) -> tuple[bool, Any]:
    """Return (whether a marker was given, the reference it names)."""
    if marker is None:
        return False, None
    if isinstance(marker, str):
        if not marker:
            return False, None
        try:
            return True, json.loads(marker)
        except ValueError as exc:
            raise _invalid("marker %r is not valid JSON: %s" % (marker, exc))
    if isinstance(marker, dict):
        # An empty dict is no marker, as in Cinder.
        return bool(marker), marker
    raise _invalid("marker must be a reference dict or its JSON text, "
                   "not %s %r" % (type(marker).__name__, marker))


def parse_marker(marker: Any) -> tuple[bool, Any]:
    """Return whether a marker was given, and the reference it names.

    :param marker: as for :func:`paginate`.
    :raises InvalidInput: not valid JSON, or neither a dict nor a str.
    """
    return _check_marker(marker)


def check_arguments(marker: Any, limit: Any, offset: Any, sort_keys: Any,
                    sort_dirs: Any,
                    keys: Sequence[str] | None = None) -> None:
    """Check paging arguments before any entry exists.

    :func:`paginate` runs the same checks; a listing calls this first so
    that bad arguments are refused before the backend is asked anything.

    :param keys: the fields every entry has; a sort key outside them is
        refused. None accepts any key.
    :raises InvalidInput: as :func:`paginate`, for everything but a marker
        that no entry has.
    """
    pairs = _check_sort(sort_keys, sort_dirs)
    _check_count("limit", limit)
    _check_count("offset", offset)
    _check_marker(marker)
    if keys is not None:
        known = set(keys) | {alias for alias, key in KEY_ALIASES.items()
                             if key in keys}
        for key, _desc in pairs:
            if key not in known:
                raise _invalid("unknown sort key %r: sort by %s"
                               % (key, ", ".join(sorted(known))))


def _values(entries: Sequence[dict[str, Any]], key: str) -> list[Any]:
    """The raw value of ``key`` in every entry, or InvalidInput."""
    return _field_values(entries, key)[1]


def _field_values(entries: Sequence[dict[str, Any]],
                  key: str) -> tuple[str, list[Any]]:
    """The field ``key`` names in the entries, and its raw values.

    :raises InvalidInput: some entry has no such field.
    """
    fields = [key]
    if key in KEY_ALIASES:
        fields.append(KEY_ALIASES[key])
    for field in fields:
        try:
            return field, list(map(operator.itemgetter(field), entries))
        except KeyError:
            pass
    position = next(i for i, entry in enumerate(entries)
                    if fields[-1] not in entry)
    raise _invalid("unknown sort key %r: entry %d has no such field"
                   % (key, position))


class _Column:
    """The reduced values of one sort key, and how they can be ordered.

    ``kind`` is ``number`` or ``str`` when plain C comparisons give
    Cinder's order (MISSING aside), ``other`` when only the comparator
    path can.
    """

    __slots__ = ("values", "kind", "has_missing", "desc", "unpacked",
                 "types")

    def __init__(self, raw: list[Any], desc: bool,
                 read: _Read | None = None) -> None:
        self.desc = desc
        if read is None:
            read = _Read()
            for begin in range(0, len(raw), _CHUNK):
                read.add(raw[begin:begin + _CHUNK])
        types = read.types
        # Whether every raw value was a plain dict of one item, now its
        # item's value.
        self.unpacked = read.unpacked is not None and types == {dict}
        if read.unpacked is not None and self.unpacked:
            # The common reference shape: one value per dict, unpacked in
            # C instead of a call per entry.
            raw = read.unpacked
            types = read.unpacked_types
        elif any(issubclass(kind, dict) for kind in types):
            raw = [_reduce(value) for value in raw]
            types = set(map(type, raw))
        self.has_missing = type(None) in types or _Missing in types
        if self.has_missing:
            raw = [MISSING if value is None else value for value in raw]
            types.discard(type(None))
            types.discard(_Missing)
        self.values = raw
        self.types = types
        self.kind = _kind(types, raw)


# Entries read per chunk: the passes over one chunk (types, lengths,
# unpacking) find its objects still in the CPU cache, where a pass over a
# whole column of scattered objects misses it for every object.
_CHUNK = 1024


class _Read:
    """What the passes over a column's raw values found, chunk by chunk:
    their types and, while every value is a one-item dict, those items'
    values and types."""

    def __init__(self) -> None:
        self.types: set[type] = set()
        self.lengths: set[int] = set()
        self.unpacked: list[Any] | None = []
        self.unpacked_types: set[type] = set()
        self.getter: Callable[[Any], Any] | None = None

    def add(self, chunk: list[Any]) -> None:
        self.types.update(map(type, chunk))
        if self.unpacked is None or not chunk:
            return
        if self.types != {dict}:
            self.unpacked = None
            return
        self.lengths.update(map(len, chunk))
        if self.lengths != {1}:
            self.unpacked = None
            return
        if self.getter is None:
            (key,) = chunk[0]
            self.getter = operator.itemgetter(key)
        part = _unpack(chunk, self.getter)
        self.unpacked_types.update(map(type, part))
        self.unpacked += part


def _read_values(found: Iterable[Any],
                 desc: bool) -> tuple[list[Any], _Column]:
    """The raw values ``found`` yields, and their :class:`_Column`, read a
    chunk at a time."""
    found = iter(found)
    raw: list[Any] = []
    read = _Read()
    while chunk := list(itertools.islice(found, _CHUNK)):
        raw += chunk
        read.add(chunk)
    return raw, _Column(raw, desc, read)


def _read_field(entries: Sequence[dict[str, Any]], key: str, desc: bool,
                search: Any = MISSING
                ) -> tuple[str, list[Any], _Column, _MarkerSearch | None]:
    """:func:`_field_values` and the :class:`_Column` of those values,
    read a chunk at a time.

    :param search: a marker (not MISSING) to look for in the entries'
        references in the same pass, while each chunk of entries is in the
        CPU cache; the search is returned (None without a marker).
    """
    fields = [key]
    if key in KEY_ALIASES:
        fields.append(KEY_ALIASES[key])
    for field in fields:
        getter = operator.itemgetter(field)
        if search is MISSING:
            try:
                raw, column = _read_values(map(getter, entries), desc)
            except KeyError:
                continue
            return field, raw, column, None
        marker = _MarkerSearch(search)
        found = iter(entries)
        raw = []
        read = _Read()
        try:
            while part := list(itertools.islice(found, _CHUNK)):
                chunk = list(map(getter, part))
                raw += chunk
                read.add(chunk)
                marker.add(part)
        except KeyError:
            continue
        return field, raw, _Column(raw, desc, read), marker
    _field_values(entries, key)  # raises InvalidInput naming the entry
    raise AssertionError("a field is in every entry or missing from one")


class _MarkerSearch:
    """Every entry's reference, and where the marker is among them, read
    chunk by chunk; the marker is looked for in each chunk while it is in
    the CPU cache."""

    def __init__(self, reference: Any) -> None:
        self.reference = reference
        self.getter = operator.itemgetter(MARKER_KEY)
        # None once some entry has no reference.
        self.refs: list[Any] | None = []
        self.positions: list[int] = []

    def add(self, entries: list[dict[str, Any]]) -> None:
        if self.refs is None:
            return
        try:
            chunk = list(map(self.getter, entries))
        except (KeyError, TypeError):
            self.refs = None
            return
        # The containment test compares in C, as list.index does.
        if self.reference in chunk:
            self.positions.extend(len(self.refs) + index
                                  for index in _equal(chunk,
                                                      self.reference))
        self.refs += chunk

    def result(self) -> tuple[list[Any], list[int]] | None:
        """The references and the marker's positions; None when some
        entry has no reference or none matches (the exact path names
        either)."""
        if self.refs is None or not self.positions:
            return None
        return self.refs, self.positions


def _unpack(raw: list[dict[Any, Any]],
            getter: Callable[[Any], Any]) -> list[Any]:
    """The value of each one-item dict in ``raw``.

    Drivers give every reference the same key (``getter`` gets it):
    looking that key up is half the cost of iterating a view of each
    dict.  A dict with another key falls back to the views.
    """
    try:
        return list(map(getter, raw))
    except (KeyError, TypeError):
        # TypeError: an unhashable key cannot be the only one of a dict,
        # but a key whose hash or equality raises can.
        return list(itertools.chain.from_iterable(map(dict.values, raw)))


_NUMBERS = frozenset((int, float, bool))


def _kind(types: set[type], values: list[Any]) -> str:
    """``number``, ``str`` or ``other`` (needs the comparator path)."""
    if types <= _NUMBERS:
        if float in types and any(value != value for value in values
                                  if type(value) is float):
            return "other"  # NaN: Cinder's answer depends on its sort
        return "number"
    if types <= {str}:
        return "str"
    return "other"


def _number_parts(column: _Column, negate: bool) -> list[list[Any]]:
    values = column.values
    if not column.has_missing:
        return [list(map(operator.neg, values)) if negate else values]
    sign = -1 if negate else 1
    flags = [sign if value is MISSING else 0 for value in values]
    values = [0 if value is MISSING else sign * value for value in values]
    return [flags, values]


def _str_parts(column: _Column, negate: bool) -> list[list[Any]]:
    values = column.values
    if negate:
        # A string cannot be negated: use its rank among the distinct
        # values, MISSING ranking last.
        distinct = sorted(set(values) - {MISSING})
        rank = {value: i for i, value in enumerate(distinct)}
        rank[MISSING] = len(distinct)
        return [[-rank[value] for value in values]]
    if not column.has_missing:
        return [values]
    flags = [1 if value is MISSING else 0 for value in values]
    values = ["" if value is MISSING else value for value in values]
    return [flags, values]


def _fast_order(columns: list[_Column], count: int
                ) -> tuple[list[list[Any]], bool]:
    """Columns whose zipped tuples order like the sort order.

    Returns the columns and whether the page is the *largest* tuples (the
    base direction is descending, so that string columns need no ranking
    in the common case).  The last column encodes the input index so that
    ties keep the input order.
    """
    descending = next((column.desc for column in columns
                       if column.kind == "str"), False)
    parts: list[Any] = []
    for column in columns:
        negate = column.desc != descending
        if column.kind == "number":
            parts.extend(_number_parts(column, negate))
        else:
            parts.extend(_str_parts(column, negate))
    parts.append(range(0, -count, -1) if descending else range(count))
    return parts, descending


def _cinder_cmp(columns: list[_Column]) -> Callable[[int, int], int]:
    """Cinder's comparator over entry indexes, made total."""
    def compare(left: int, right: int) -> int:
        for column in columns:
            lval, rval = column.values[left], column.values[right]
            desc = column.desc
            if lval is MISSING or rval is MISSING:
                if lval is rval:
                    continue
                # MISSING is the largest value.
                return (-1 if desc else 1) * (1 if lval is MISSING else -1)
            try:
                if lval == rval:
                    continue
            except TypeError:
                pass
            try:
                before = bool(lval > rval) if desc else bool(lval < rval)
            except TypeError:
                if _safe_cmp(lval, rval) == 0:
                    continue
                before = (_safe_less(rval, lval) if desc
                          else _safe_less(lval, rval))
            return -1 if before else 1
        return 0
    return compare


def _marker_positions(entries: Sequence[dict[str, Any]], reference: Any,
                      found: list[Any] | None = None) -> list[int]:
    """Indexes of the entries whose reference equals ``reference``.

    One pass, in C: an entry without a reference matches nothing.

    :param found: every entry's reference, when the caller has them.
    """
    if found is None:
        try:
            found = list(map(operator.itemgetter(MARKER_KEY), entries))
        except (KeyError, TypeError):
            found = None
    if found is not None and type(reference) is dict:
        # Searches compare in C without a list of results.  Their
        # identity shortcut changes nothing: a dict equals itself.
        try:
            first = found.index(reference)
        except ValueError:
            raise _invalid("marker not found: %s" % (reference,))
        try:
            found.index(reference, first + 1)
        except ValueError:
            return [first]
    if found is None:
        try:
            found = list(map(dict.get, entries,
                             itertools.repeat(MARKER_KEY),
                             itertools.repeat(MISSING)))
        except TypeError:
            # Some entry is a mapping but not a dict.
            found = [entry.get(MARKER_KEY, MISSING) for entry in entries]
    matches = map(operator.eq, found, itertools.repeat(reference))
    positions = list(itertools.compress(range(len(entries)), matches))
    if not positions:
        raise _invalid("marker not found: %s" % (reference,))
    return positions


def _has_field(entries: Sequence[dict[str, Any]], key: str) -> bool:
    """Whether :func:`_values` finds ``key`` in every entry."""
    fields = [key] + ([KEY_ALIASES[key]] if key in KEY_ALIASES else [])
    return any(all(map(operator.contains, entries, itertools.repeat(field)))
               for field in fields)


def _narrow(entries: Sequence[dict[str, Any]], pairs: list[tuple[str, bool]],
            has_marker: bool, reference: Any, want: int,
            first: Iterable[Any] | None = None
            ) -> tuple[list[int], list[int], bool] | None:
    """Indexes, in input order, of a subset of ``entries`` holding the page.

    Only the first sort key is looked at.  Its value at the marker (the
    first match in sort order) is one bound; the ``want`` nearest values
    strictly after it (in sort order) are the rest of what the page can
    hold: an entry whose value is beyond all of them has ``want`` entries
    after the marker and before it.  Entries with one of those values,
    ties included, are kept for the exact sort.

    :param first: the values of the first sort key's own field in every
        entry, when the caller has them (its name, not an alias).
    :returns: the indexes, those of the entries the marker names (empty
        without one), and whether ``want`` entries follow the marker's
        value strictly (then the page holds no entry beyond them); or
        None when the first key cannot be bounded
        in C (missing values, types only a comparator orders), when the
        bounds would keep everything, or when a later key is missing from
        some entry (the exact path names the entry).
    """
    key, desc = pairs[0]
    search = None
    if first is None:
        # Unless the first key is the reference itself, the marker search
        # reads each entry's reference in the same pass as the key.
        field, raw, column, search = _read_field(
            entries, key, desc,
            reference
            if has_marker and KEY_ALIASES.get(key, key) != MARKER_KEY
            else MISSING)
    else:
        field = key
        raw, column = _read_values(first, desc)
    if column.kind == "other" or column.has_missing:
        return None
    values = column.values
    refs = raw if field == MARKER_KEY else None
    start: Any = MISSING
    positions: list[int] = []
    if has_marker and refs is not None:
        if column.unpacked:
            # The entries the marker names have its value: it bounds the
            # page at once, and those entries are among the kept ones.
            start = _marker_value(reference, column)
    elif has_marker:
        # The references the marker search reads serve a later key too,
        # in the groups of tied values, where reading them again from
        # scattered entries would cost about as much.
        if search is None:
            read = _read_references(entries, reference)
        else:
            read = search.result()
        if read is None:
            return None
        refs, positions = read
    if not all(_has_field(entries, later) for later, _desc in pairs[1:]
               if refs is None
               or KEY_ALIASES.get(later, later) != MARKER_KEY):
        return None
    if has_marker and start is MISSING:
        if not positions:
            if field == MARKER_KEY and column.unpacked:
                positions = _marker_positions_in(raw, values, reference)
            else:
                positions = _marker_positions(entries, reference, refs)
        start = (max if desc else min)(values[i] for i in positions)
    if len(pairs) == 1 and len(values) >= _SAMPLED_FROM * want:
        nearest, kept = _nearest_by_sample(column, has_marker, start, want)
        if len(nearest) < want and not has_marker:
            return None
        if has_marker and not positions:
            positions = _matching(kept, refs, reference)
            if not positions:
                return None  # the exact path says that no entry matches
        return kept, positions, len(nearest) == want
    after_marker: Any = values
    if has_marker:
        after_marker = itertools.compress(values, _after(column, start))
    keep = {start} if has_marker else set()
    nearest = (heapq.nlargest if desc else heapq.nsmallest)(
        want, after_marker)
    if len(nearest) < want and not has_marker:
        return None
    # Both kinds of column are totally ordered (NaN makes a column
    # "other"), so every value between the bounds is one of these, and
    # equal numbers hash alike whatever their type.
    keep.update(nearest)
    # The values at the two bounds may be shared by thousands of entries
    # (sizes tie): the later keys narrow each such group in turn, the
    # marker's group to what follows the marker in it.
    bounds = {}
    if len(pairs) > 1:
        if has_marker:
            bounds[start] = True
        if len(nearest) == want:
            bounds.setdefault(nearest[-1], False)
    full = len(nearest) == want
    if bounds and len(keep) == len(bounds):
        # Only tied groups can hold the page: each is read on its own,
        # and the one after the marker's only when the page goes on.
        return _narrow_groups(entries, pairs, reference, want, refs,
                              column, bounds, positions, full)
    kept = list(itertools.compress(range(len(values)),
                                   map(keep.__contains__, values)))
    if has_marker and not positions:
        positions = _matching(kept, refs, reference)
        if not positions:
            return None  # the exact path says that no entry matches
    if len(kept) <= 2 * want:
        return kept, positions, full
    dropped: set[int] = set()
    # The marker's group first: when the page lies inside it, the rest
    # need not be looked at.
    for bound, with_marker in bounds.items():
        group = list(itertools.compress(kept, map(
            operator.eq, map(values.__getitem__, kept),
            itertools.repeat(bound))))
        inside, whole_page = _inside_group(entries, pairs, reference, want,
                                           refs, group, with_marker)
        if whole_page:
            return inside, positions, full
        dropped.update(group)
        dropped.difference_update(inside)
    return (list(itertools.filterfalse(dropped.__contains__, kept)),
            positions, full)


# A last sort key over at least this many times the entries a page needs
# is bounded by a sample first (see _nearest_by_sample).
_SAMPLED_FROM = 64
_SAMPLE = 2048


def _nearest_by_sample(column: _Column, has_marker: bool, start: Any,
                       want: int) -> tuple[list[Any], list[int]]:
    """The ``want`` values nearest after ``start`` (the marker's value;
    from the first without a marker), and the indexes of the entries with
    those values or the marker's: what :func:`_narrow` finds for a last
    sort key, in one pass over the values instead of two.

    A sorted sample of the values gives a far bound expected to leave a
    few times ``want`` values between it and ``start``; one pass keeps
    the entries between the two (both bounds included).  Should fewer
    than ``want`` of them come after ``start``, a pass without the far
    bound does, so the answer never depends on the sample.
    """
    values = column.values
    step = max(1, len(values) // _SAMPLE)
    sample = sorted(values[::step])
    beyond = 2 * want // step + 1  # sample values past ``start``
    if column.desc:
        at = bisect.bisect_left(sample, start) if has_marker else len(sample)
        far = sample[at - beyond - 1] if at - beyond - 1 >= 0 else MISSING
    else:
        at = bisect.bisect_right(sample, start) if has_marker else 0
        far = sample[at + beyond] if at + beyond < len(sample) else MISSING
    while True:
        near = start if has_marker else MISSING
        low, high = (far, near) if column.desc else (near, far)
        within = _within(column, low, high)
        found = list(itertools.compress(range(len(values)), within))
        found_values = list(map(values.__getitem__, found))
        after = found_values
        if has_marker:
            after = list(itertools.compress(found_values, _after(
                column, start, found_values)))
        if len(after) >= want or far is MISSING:
            break
        far = MISSING
    nearest = (heapq.nlargest if column.desc else heapq.nsmallest)(
        want, after)
    keep = set(nearest)
    if has_marker:
        keep.add(start)
    return nearest, list(itertools.compress(found, map(keep.__contains__,
                                                      found_values)))


def _within(column: _Column, low: Any, high: Any) -> Any:
    """Whether each value of ``column`` is in [low, high] (MISSING: no
    bound), in C."""
    values = column.values
    one_type = len(column.types) == 1
    tests = []
    if low is not MISSING:
        tests.append(map(low.__le__, values) if one_type else map(
            operator.le, itertools.repeat(low), values))
    if high is not MISSING:
        tests.append(map(high.__ge__, values) if one_type else map(
            operator.ge, itertools.repeat(high), values))
    if not tests:
        return itertools.repeat(True, len(values))
    if len(tests) == 1:
        return tests[0]
    return map(operator.and_, *tests)


def _after(column: _Column, start: Any,
           values: list[Any] | None = None) -> Any:
    """Whether each value of ``column`` (or ``values`` of it) comes after
    ``start`` in its order, in C."""
    if values is None:
        values = column.values
    if len(column.types) == 1:
        # One type: its own comparison.
        return map(start.__gt__ if column.desc else start.__lt__, values)
    # int.__lt__(float) does not compare: the operator does.
    return map(operator.gt if column.desc else operator.lt,
               itertools.repeat(start), values)


def _equal(values: list[Any], value: Any) -> list[int]:
    """Indexes of the items of ``values`` equal to ``value``."""
    # list.index searches in C: one call per match, not per item, which
    # wins while matches are rare.
    limit = len(values) // 4
    found: list[int] = []
    index = -1
    try:
        while len(found) < limit:
            index = values.index(value, index + 1)
            found.append(index)
    except ValueError:
        return found
    rest = range(index + 1, len(values))
    found.extend(itertools.compress(rest, map(
        operator.eq, itertools.islice(values, index + 1, None),
        itertools.repeat(value))))
    return found


def _matching(indexes: list[int], refs: list[Any] | None,
              reference: Any) -> list[int]:
    """Those of ``indexes`` whose reference equals ``reference``: where
    the entries with the marker's value (known in advance) went."""
    assert refs is not None  # noqa: S101 (only then is it known)
    return [i for i in indexes if refs[i] == reference]


def _inside_group(entries: Sequence[dict[str, Any]],
                  pairs: list[tuple[str, bool]], reference: Any, want: int,
                  refs: list[Any] | None, group: list[int],
                  with_marker: bool) -> tuple[list[int], bool]:
    """The entries of ``group`` (indexes into ``entries``) that the later
    keys keep, and whether the page lies inside them (the group holds the
    marker and ``want`` entries after it).  A group no larger than the
    page is kept whole."""
    if len(group) <= want:
        return group, False
    narrowed = _narrow_group(entries, pairs, reference, want, refs, group,
                             with_marker)
    if narrowed is None:
        return group, False
    return (list(map(group.__getitem__, narrowed[0])),
            with_marker and narrowed[2])


def _narrow_group(entries: Sequence[dict[str, Any]],
                  pairs: list[tuple[str, bool]], reference: Any, want: int,
                  refs: list[Any] | None, group: list[int],
                  with_marker: bool
                  ) -> tuple[list[int], list[int], bool] | None:
    """:func:`_narrow` by the later keys, of the entries ``group`` names
    (indexes into ``entries``)."""
    # The group's entries are scattered in memory: reading each one's
    # reference again would cost about as much as a pass over all
    # entries, so the references at hand are reused.
    group_refs: Iterable[Any] | None = None
    if refs is not None and pairs[1][0] == MARKER_KEY:
        # Gathered chunk by chunk as the column is read.
        group_refs = map(refs.__getitem__, group)
    return _narrow(_Picked.of(entries, group), pairs[1:], with_marker,
                   reference, want, group_refs)


def _narrow_groups(entries: Sequence[dict[str, Any]],
                   pairs: list[tuple[str, bool]], reference: Any, want: int,
                   refs: list[Any] | None, column: _Column,
                   bounds: dict[Any, bool], positions: list[int],
                   full: bool) -> tuple[list[int], list[int], bool] | None:
    """The end of :func:`_narrow` when every kept value is a bound."""
    values = column.values
    parts = []
    for bound, with_marker in bounds.items():
        group = _equal(values, bound)
        if with_marker and not positions:
            positions = _matching(group, refs, reference)
            if not positions:
                return None  # the exact path says that no entry matches
        inside, whole_page = _inside_group(entries, pairs, reference, want,
                                           refs, group, with_marker)
        if whole_page:
            return inside, positions, full
        parts.append(inside)
    return sorted(itertools.chain.from_iterable(parts)), positions, full


class _Picked(Sequence[dict[str, Any]]):
    """Some entries of a list, by index, without copying them out: the
    groups :func:`_narrow` looks into are read once or twice, in C."""

    def __init__(self, entries: Sequence[dict[str, Any]],
                 indexes: list[int]) -> None:
        self.entries = entries
        self.indexes = indexes

    @classmethod
    def of(cls, entries: Sequence[dict[str, Any]],
           indexes: list[int]) -> _Picked:
        if isinstance(entries, _Picked):
            return cls(entries.entries,
                       list(map(entries.indexes.__getitem__, indexes)))
        return cls(entries, indexes)

    def __len__(self) -> int:
        return len(self.indexes)

    def __getitem__(self, index: Any) -> Any:
        if isinstance(index, slice):
            return [self.entries[i] for i in self.indexes[index]]
        return self.entries[self.indexes[index]]

    def __iter__(self) -> Any:
        return map(self.entries.__getitem__, self.indexes)


def _marker_value(reference: Any, column: _Column) -> Any:
    """The value the entries ``reference`` names have in an unpacked
    reference column, or MISSING when it cannot be told in advance."""
    if type(reference) is not dict or len(reference) != 1:
        return MISSING
    (value,) = reference.values()
    # Only a value of the column's one type compares with it in C; NaN
    # equals no entry's value.
    if column.types != {type(value)} or value != value:
        return MISSING
    return value


def _read_references(entries: Sequence[dict[str, Any]],
                     reference: Any) -> tuple[list[Any], list[int]] | None:
    """Every entry's reference, and where the marker is among them (see
    :class:`_MarkerSearch`)."""
    search = _MarkerSearch(reference)
    found = iter(entries)
    while part := list(itertools.islice(found, _CHUNK)):
        search.add(part)
    return search.result()


def _marker_positions_in(references: list[dict[str, Any]],
                         values: list[Any], reference: Any) -> list[int]:
    """:func:`_marker_positions`, for entries whose references are all
    plain one-item dicts, ``values`` their items' values.

    Only an entry with the marker's value can equal it, so the dicts are
    compared for those alone.
    """
    positions = []
    if type(reference) is dict and len(reference) == 1:
        (value,) = reference.values()
        # list.index compares in C without a call per entry; its identity
        # shortcut only adds candidates, and the dict comparison below
        # (which has the same shortcut) decides.
        index = -1
        while True:
            try:
                index = values.index(value, index + 1)
            except ValueError:
                break
            if references[index] == reference:
                positions.append(index)
    if not positions:
        raise _invalid("marker not found: %s" % (reference,))
    return positions


def paginate(entries: Sequence[dict[str, Any]], marker: Any, limit: Any,
             offset: Any, sort_keys: Any,
             sort_dirs: Any) -> list[dict[str, Any]]:
    """Sort ``entries`` and return one page of them.

    The result equals Cinder's ``paginate_entries_list`` for every input
    Cinder accepts without crashing: entries are ordered by each sort key
    in turn (a dict value counts as its smallest value), ties keep their
    input order, the page starts after the first entry (in that order)
    whose ``reference`` equals the marker, skips ``offset`` more and holds
    at most ``limit`` entries.  Where this differs from Cinder, see the
    README ("Pagination").

    :param entries: the entries (dicts) to page; not modified.
    :param marker: the ``reference`` dict of the last entry of the
        previous page, or its JSON text; None, ``{}`` or ``""`` for none.
    :param limit: the most entries to return, an int >= 0; None for all.
    :param offset: how many entries to skip after the marker (or from the
        start), an int >= 0; None for 0.
    :param sort_keys: the fields to sort by (``identifier`` is an alias of
        ``reference``); None or empty keeps the input order.
    :param sort_dirs: ``asc`` or ``desc`` for each sort key; keys without
        a direction sort ``asc``.
    :returns: a new list holding the same dict objects.
    :raises InvalidInput: a sort key some entry lacks, a direction other
        than ``asc``/``desc``, more directions than keys, a limit or
        offset that is not a non-negative int, a marker that is not valid
        JSON, not a dict or str, or not the reference of any entry.
    """
    pairs = _check_sort(sort_keys, sort_dirs)
    page_size = _check_count("limit", limit)
    skip = _check_count("offset", offset) or 0
    has_marker, reference = _check_marker(marker)

    positions = None
    if pairs and page_size and skip + page_size < len(entries):
        narrowed = _narrow(entries, pairs, has_marker, reference,
                           skip + page_size)
        if narrowed is not None:
            subset, found, _full = narrowed
            entries = [entries[i] for i in subset]
            # Where the marker's entries went; those dropped come after
            # the first one in sort order.
            spots = [bisect.bisect_left(subset, i) for i in found]
            positions = [n for n, i in zip(spots, found, strict=True)
                         if n < len(subset) and subset[n] == i]
    columns = [_Column(_values(entries, key), desc) for key, desc in pairs]
    if any(column.kind == "other" for column in columns):
        return _paginate_by_comparator(entries, columns, has_marker,
                                       reference, page_size, skip)

    if page_size == 0:
        if has_marker:
            _marker_positions(entries, reference)  # Cinder checks it too
        return []
    parts, descending = _fast_order(columns, len(entries))
    # The tuples are made as the heap consumes them; most are dropped at
    # once, so they are never all alive together.
    candidates: Any = zip(*parts, strict=True)
    if has_marker:
        if positions is None:
            positions = _marker_positions(entries, reference)
        matches = [tuple(part[i] for part in parts) for i in positions]
        if descending:
            # The page is the largest keys: after the marker means smaller.
            candidates = filter(max(matches).__gt__, candidates)
        else:
            candidates = filter(min(matches).__lt__, candidates)
    select = heapq.nlargest if descending else heapq.nsmallest
    if page_size is None:
        page = sorted(candidates, reverse=descending)[skip:]
    else:
        page = select(skip + page_size, candidates)[skip:]
    sign = -1 if descending else 1
    return [entries[sign * key[-1]] for key in page]


def _paginate_by_comparator(entries: Sequence[dict[str, Any]],
                            columns: list[_Column],
                            has_marker: bool, reference: Any,
                            page_size: int | None,
                            skip: int) -> list[dict[str, Any]]:
    """Cinder's own algorithm, for values only a comparator can order.

    Sorting indexes with the same comparator results as Cinder's gives
    exactly Cinder's order, even for a partial order such as NaN.
    """
    order = sorted(range(len(entries)),
                   key=functools.cmp_to_key(_cinder_cmp(columns)))
    start = 0
    if has_marker:
        matches = set(_marker_positions(entries, reference))
        start = next(n for n, i in enumerate(order) if i in matches) + 1
    start += skip
    stop = None if page_size is None else start + page_size
    return [entries[i] for i in order[start:stop]]
