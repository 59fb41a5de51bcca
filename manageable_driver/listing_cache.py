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

"""Listings kept for a few seconds, so that paging through one is cheap.

Cinder asks for every page of a manageable listing with a new call; each
would list the whole backend again.  :class:`ListingCache` keeps the
records of the last listing of each kind (volumes, snapshots) and, per
sort order asked for, the order of their entries, so the next page is a
slice.  It never decides anything on its own: the verdict of each entry
is made for every page, from Cinder's managed list of that call, and
manage and get-size never read it.

A kept listing is used again only while all of these hold:

- it is younger than ``manageable_listing_cache_seconds`` (counted from
  the moment the backend began to be read), which bounds how late a
  change made by anyone else is seen; 0 turns keeping off;
- no manage or unmanage of this driver object ran since it was read;
- the backend's generation file (in ``manageable_lock_path``) has not
  changed: every manage or unmanage of this library on this host, in any
  process, writes a new one when it ends.

A backend needs nothing for this but its records: the listing mixin
keeps them, and invalidates on its subclass's manage and unmanage
methods (see :func:`invalidating`).
"""

from __future__ import annotations

from collections.abc import Callable
from collections.abc import Iterable
from collections.abc import Sequence
import functools
import hashlib
import json
import os
import threading
import time
from typing import Any
from typing import TypeVar
import uuid

from oslo_config import cfg
from oslo_log import log as logging

from manageable_driver import pagination
from manageable_driver import records

LOG = logging.getLogger(__name__)

OPTION = "manageable_listing_cache_seconds"
DEFAULT_SECONDS = 20.0

cache_opts = [
    cfg.FloatOpt(OPTION,
                 default=DEFAULT_SECONDS,
                 min=0.0,
                 help="Seconds a manageable listing is kept, so that the "
                      "next pages of it (each a new call from Cinder) are "
                      "cut from it instead of listing the whole backend "
                      "again. A change made outside this library shows "
                      "in a listing at most this long after it happened; "
                      "a manage or unmanage made through this library on "
                      "this host shows at once. Manage and get-size never "
                      "use a kept listing. 0 lists the backend on every "
                      "call."),
]

# The manage and unmanage methods of Cinder's interfaces: the calls after
# which the mixin invalidates its listings.
CHANGING_METHODS = ("manage_existing", "manage_existing_snapshot",
                    "unmanage", "unmanage_snapshot")

_F = TypeVar("_F", bound=Callable[..., Any])
SortKey = Callable[[records.VolumeRecord], dict[str, Any]]


def _reference_key(reference: Any) -> Any:
    """A hashable stand-in for a reference dict, equal exactly when the
    dicts are; None when there is none (unhashable values)."""
    if type(reference) is not dict:
        return None
    try:
        return frozenset(reference.items())
    except TypeError:
        return None


class Snapshot:
    """The records of one listing, and their order for each sort asked.

    :ivar records: the records, in the backend's order.
    :ivar keys: what pagination sorts each record by (``reference`` and
        ``size``), made by the ``key`` callable.
    :ivar kept: whether more pages will be cut from it (if not, one page
        is picked without sorting everything).
    :ivar token: the generation read before the backend was.
    :ivar taken: ``time.monotonic()`` before the backend was read.
    :ivar epoch: the cache's invalidation count before the backend was
        read.
    """

    def __init__(self, recs: Sequence[records.VolumeRecord], key: SortKey,
                 kept: bool = False, token: str = "", taken: float = 0.0,
                 epoch: int = 0) -> None:
        self.records = list(recs)
        self.keys = [key(rec) for rec in self.records]
        self.kept = kept
        self.token = token
        self.taken = taken
        self.epoch = epoch
        # (sort keys, sort dirs) to (record indexes in order, reference
        # key to its first rank in that order).
        self._orders: dict[Any, tuple[list[int], dict[Any, int]]] = {}

    def _order(self, sort_keys: Any,
               sort_dirs: Any) -> tuple[list[int], dict[Any, int]]:
        spec = (tuple(sort_keys or ()), tuple(sort_dirs or ()))
        found = self._orders.get(spec)
        if found is None:
            ordered = pagination.paginate(self.keys, None, None, None,
                                          sort_keys, sort_dirs)
            index = {id(key): i for i, key in enumerate(self.keys)}
            order = [index[id(key)] for key in ordered]
            first: dict[Any, int] = {}
            for rank, i in enumerate(order):
                ref = _reference_key(self.keys[i]["reference"])
                if ref is not None:
                    first.setdefault(ref, rank)
            found = (order, first)
            # Two threads may both build it: the same value, so either
            # stays.
            self._orders[spec] = found
        return found

    def page(self, marker: Any, limit: Any, offset: Any, sort_keys: Any,
             sort_dirs: Any) -> list[records.VolumeRecord]:
        """The records of one page, as :func:`pagination.paginate` would
        page :attr:`keys`.

        The arguments must have passed :func:`pagination.check_arguments`.

        :raises InvalidInput: as :func:`pagination.paginate`.
        """
        has_marker, reference = pagination.parse_marker(marker)
        rank = None
        if self.kept:
            order, first = self._order(sort_keys, sort_dirs)
            rank = first.get(_reference_key(reference)) if has_marker else -1
        if rank is None:
            # A single page, or a marker that is not a plain reference or
            # matches none: pagination gives the page, or the error.
            page = pagination.paginate(self.keys, marker, limit, offset,
                                       sort_keys, sort_dirs)
            index = {id(key): i for i, key in enumerate(self.keys)}
            return [self.records[index[id(key)]] for key in page]
        start = rank + 1
        start += offset or 0
        stop = None if limit is None else start + limit
        return [self.records[i] for i in order[start:stop]]


class Generation:
    """A file whose content changes whenever this library changed the
    backend: the processes of a host tell each other so through it.

    :param directory: where the file lives (the lock directory); None for
        no file (only this process's own changes are then seen at once).
    :param scope: what names the backend (``lvm:VG``); hashed into the
        file name.
    """

    def __init__(self, directory: str | None, scope: str) -> None:
        self.path = None
        if directory:
            digest = hashlib.sha256(scope.encode("utf-8",
                                                 "surrogateescape"))
            self.path = os.path.join(
                directory, "listing-%s.generation" % digest.hexdigest()[:32])
        self._warned = False

    def read(self) -> str:
        """The current generation; ``""`` when there is no file yet."""
        if self.path is None:
            return ""
        try:
            with open(self.path, encoding="ascii", errors="replace") as f:
                return f.read(64)
        except FileNotFoundError:
            return ""
        except OSError as exc:
            # Unreadable: the age limit alone bounds staleness.
            self._warn("read", exc)
            return "unreadable"

    def bump(self) -> None:
        """Write a new generation, replacing the file atomically."""
        if self.path is None:
            return
        temp = "%s.%s.tmp" % (self.path, uuid.uuid4().hex)
        try:
            os.makedirs(os.path.dirname(self.path), mode=0o700,
                        exist_ok=True)
            with open(temp, "x", encoding="ascii") as f:
                f.write(uuid.uuid4().hex)
            os.replace(temp, self.path)
        except OSError as exc:
            self._warn("write", exc)
            try:
                os.unlink(temp)
            except OSError:
                pass

    def _warn(self, what: str, exc: OSError) -> None:
        if not self._warned:
            self._warned = True
            LOG.warning("Cannot %(what)s the listing generation file "
                        "%(path)s: %(exc)s; other processes see this "
                        "host's changes only when their kept listings "
                        "expire", {"what": what, "path": self.path,
                                   "exc": exc})


class ListingCache:
    """The kept listings of one driver object.

    :param seconds: a callable returning the longest age of a kept
        listing (read at each call, so a test or an operator's change
        applies at once); 0 or less keeps nothing.
    :param generation: the backend's :class:`Generation`.
    :param key: what pagination sorts a record by (see
        :attr:`Snapshot.keys`).
    :param clock: ``time.monotonic``; replaceable in tests.
    """

    def __init__(self, seconds: Callable[[], float], generation: Generation,
                 key: SortKey,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.seconds = seconds
        self.generation = generation
        self.key = key
        self.clock = clock
        self._lock = threading.Lock()
        self._refreshing: dict[str, threading.Lock] = {}
        self._kept: dict[str, Snapshot] = {}
        self._epoch = 0

    def _fresh(self, kind: str) -> Snapshot | None:
        kept = self._kept.get(kind)
        if kept is None or kept.epoch != self._epoch:
            return None
        if self.clock() - kept.taken >= self.seconds():
            return None
        if kept.token != self.generation.read():
            return None
        return kept

    def snapshot(self, kind: str,
                 produce: Callable[[], Iterable[records.VolumeRecord]]
                 ) -> Snapshot:
        """The kept listing of ``kind``, or a new one from ``produce``.

        One caller lists at a time per kind; the others wait for its
        result instead of listing the backend too.

        :param kind: ``volume`` or ``snapshot``.
        :param produce: lists the backend.
        """
        if self.seconds() <= 0:
            return Snapshot(list(produce()), self.key)
        with self._lock:
            kept = self._fresh(kind)
            if kept is not None:
                return kept
            refreshing = self._refreshing.setdefault(kind, threading.Lock())
        with refreshing:
            with self._lock:
                kept = self._fresh(kind)
                if kept is not None:
                    return kept
                epoch = self._epoch
            # Read before the backend: a change that ends while it is read
            # writes a newer generation, so this listing is not used
            # after it.
            token = self.generation.read()
            taken = self.clock()
            snap = Snapshot(list(produce()), self.key, True, token, taken,
                            epoch)
            with self._lock:
                self._kept[kind] = snap
            return snap

    def invalidate(self) -> None:
        """Forget every kept listing, here and in this host's other
        processes."""
        with self._lock:
            self._epoch += 1
            self._kept.clear()
        self.generation.bump()


def invalidating(method: _F) -> _F:
    """Wrap a manage or unmanage method so that it invalidates the kept
    listings of its driver when it ends, whether it changed anything or
    failed half-way."""
    if getattr(method, "_invalidates_listings", False):
        return method

    @functools.wraps(method)
    def wrapper(self: Any, *args: Any, **kwargs: Any) -> Any:
        try:
            return method(self, *args, **kwargs)
        finally:
            # Also when this object never listed: other processes may
            # have.
            self.listing_cache.invalidate()

    wrapper._invalidates_listings = True  # type: ignore[attr-defined]
    return wrapper  # type: ignore[return-value]


def seconds_of(configuration: Any) -> float:
    """``manageable_listing_cache_seconds`` of ``configuration``,
    registering the option on it first when it can take options."""
    if hasattr(configuration, "append_config_values"):
        try:
            value = configuration.safe_get(OPTION)
        except (AttributeError, cfg.Error):
            value = None
        if value is None:
            configuration.append_config_values(cache_opts)
            value = configuration.safe_get(OPTION)
    else:
        value = getattr(configuration, OPTION, None)
    return DEFAULT_SECONDS if value is None else float(value)


def scope_of(driver: Any) -> str:
    """What names a driver object's backend, for its generation file.

    A backend says so with a ``listing_scope()`` method (``lvm:VG``);
    otherwise its class and configuration group, which tell apart the
    backends of one cinder.conf.
    """
    scope = getattr(driver, "listing_scope", None)
    if callable(scope):
        return str(scope())
    group = getattr(getattr(driver, "configuration", None), "config_group",
                    None)
    return json.dumps([type(driver).__module__, type(driver).__qualname__,
                       group])
