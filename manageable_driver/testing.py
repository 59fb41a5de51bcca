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

"""Conformance tests that any backend's test case inherits.

A driver author adds :class:`ManageableDriverConformanceMixin` (or only
:class:`VolumeConformanceMixin` or :class:`SnapshotConformanceMixin`) to the
bases of a ``unittest.TestCase``, *after* the class that defines the hooks,
and provides three of them: ``make_driver``, and ``create_volume_object`` /
``create_snapshot_object`` to make objects on the backend under test::

    class MyBackendTest(MyBackendHooks,
                        testing.ManageableDriverConformanceMixin):
        pass

The mixins contribute ``test_*`` methods that check, for volumes and
snapshots alike:

* the driver class conforms to Cinder's interfaces
  (:func:`manageable_driver.interface.check_conformance` is empty);
* every listed entry has exactly Cinder's keys, with the right types;
* pages walked with ``marker`` = the last reference of the previous page,
  joined, equal the full listing, every entry exactly once;
* ``manage_existing`` succeeds exactly when the entry was
  ``safe_to_manage``; a refusal raises the library's exceptions and leaves
  the listing as it was; the size manage reports equals the listed size;
* managing the same object twice is refused, unmanage keeps the object;
* of two concurrent manages of one object exactly one wins;
* an invalid reference raises ``ManageExistingInvalidReference``.

Only the public driver API is used, so the checks hold for any backend,
and for the final Cinder driver too (a driver built with
:class:`manageable_driver.cinder.mixin.ManageableVolumesMixin`): where
Cinder is installed, each check also accepts Cinder's exception of the
same name (what the mixin raises), and the name templates and the kept
listings are read from the driver's ``manageable_backend`` when it has
one. For a Cinder driver, ``make_cinder_object`` makes a Cinder object
Cinder's database holds, since the driver asks the database whether
Cinder manages a name (see :meth:`_ConformanceBase.make_cinder_object`).
"""

from __future__ import annotations

import functools
import importlib
import threading
from typing import TYPE_CHECKING
from typing import Any
import unittest
import uuid

from oslo_utils import units

from manageable_driver import exception
from manageable_driver import interface

if TYPE_CHECKING:
    _TestCase = unittest.TestCase
else:
    _TestCase = object

ENTRY_KEYS = frozenset(("reference", "size", "safe_to_manage",
                        "reason_not_safe", "cinder_id", "extra_info"))
SNAPSHOT_ENTRY_KEYS = ENTRY_KEYS | {"source_reference"}

# What a refused manage may raise: the caller's input or the object's
# state is wrong, and the backend is unchanged.
REFUSALS = exception.REFUSALS


@functools.cache
def cinder_equivalents(*classes: type[BaseException]
                       ) -> tuple[type[BaseException], ...]:
    """``classes`` and, when Cinder is installed, Cinder's exceptions of
    the same names: what a Cinder driver raises for ours.

    :param classes: exceptions of :mod:`manageable_driver.exception`.
    """
    try:
        cinder_exception = importlib.import_module("cinder.exception")
    except ImportError:
        return classes
    extra = []
    for klass in classes:
        theirs = getattr(cinder_exception, klass.__name__, None)
        if isinstance(theirs, type) and issubclass(theirs, BaseException):
            extra.append(theirs)
    return classes + tuple(extra)


def backend_of(driver: Any) -> Any:
    """The library backend of ``driver``: its ``manageable_backend``
    when it is a Cinder driver built with the mixin, else itself."""
    return getattr(driver, "manageable_backend", driver)


SORTS = ((["reference"], ["asc"]), (["reference"], ["desc"]),
         (["size"], ["desc"]), (["size", "reference"], ["asc", "desc"]))

_METHODS = {
    "volume": ("get_manageable_volumes", "manage_existing",
               "manage_existing_get_size", "unmanage"),
    "snapshot": ("get_manageable_snapshots", "manage_existing_snapshot",
                 "manage_existing_snapshot_get_size", "unmanage_snapshot"),
}


class CinderObject(dict[str, Any]):
    """A Cinder volume or snapshot as drivers read it.

    A dict that also answers attribute access, as Cinder's versioned
    objects do both (``volume['name']`` and ``volume.name``).
    """

    def __getattr__(self, name: str) -> Any:
        try:
            return self[name]
        except KeyError:
            raise AttributeError(name)


def _str_dict(value: Any) -> bool:
    return isinstance(value, dict) and all(
        isinstance(k, str) and isinstance(v, str) for k, v in value.items())


def check_entry(entry: Any, kind: str = "volume") -> list[str]:
    """Return every way ``entry`` differs from Cinder's listing contract.

    :param entry: one item of ``get_manageable_volumes`` (or snapshots).
    :param kind: ``volume`` or ``snapshot``.
    :returns: human-readable problems; empty when the entry is right.
    """
    if not isinstance(entry, dict):
        return ["entry is a %s, not a dict" % type(entry).__name__]
    problems = []
    keys = SNAPSHOT_ENTRY_KEYS if kind == "snapshot" else ENTRY_KEYS
    if set(entry) != keys:
        problems.append("keys %s, expected %s"
                        % (sorted(entry), sorted(keys)))
    if not (_str_dict(entry.get("reference")) and entry["reference"]):
        problems.append("reference %r is not a non-empty dict of str"
                        % (entry.get("reference"),))
    size = entry.get("size")
    if size is not None and (type(size) is not int or size < 0):
        problems.append("size %r is not an int >= 0 or None" % (size,))
    safe = entry.get("safe_to_manage")
    if type(safe) is not bool:
        problems.append("safe_to_manage %r is not a bool" % (safe,))
    reason = entry.get("reason_not_safe")
    if safe is False and not (isinstance(reason, str) and reason):
        problems.append("not safe, but reason_not_safe is %r" % (reason,))
    if safe is True and (reason is not None or entry.get("cinder_id")):
        problems.append("safe, but has a reason or a cinder_id")
    if safe is True and size is None:
        problems.append("safe, but its size is unknown")
    cinder_id = entry.get("cinder_id")
    if cinder_id is not None and not isinstance(cinder_id, str):
        problems.append("cinder_id %r is not a str or None" % (cinder_id,))
    extra = entry.get("extra_info")
    if extra is not None and not _str_dict(extra):
        problems.append("extra_info %r is not a dict of str or None"
                        % (extra,))
    if kind == "snapshot" and not _str_dict(entry.get("source_reference")):
        problems.append("source_reference %r is not a dict of str"
                        % (entry.get("source_reference"),))
    return problems


def walk_pages(driver: Any, kind: str, cinder_objects: Any, limit: int,
               sort_keys: list[str], sort_dirs: list[str]
               ) -> list[list[dict[str, Any]]]:
    """Return every page of a listing, each asked for with the marker.

    :param driver: the driver under test.
    :param kind: ``volume`` or ``snapshot``.
    :param cinder_objects: what Cinder manages, passed to each call.
    :param limit: the page size, > 0.
    :param sort_keys: as for ``get_manageable_volumes``.
    :param sort_dirs: as for ``get_manageable_volumes``.
    :raises AssertionError: the walk does not end (a marker repeats).
    """
    method = getattr(driver, _METHODS[kind][0])
    pages: list[list[dict[str, Any]]] = []
    marker = None
    seen = []
    while True:
        page = method(cinder_objects, marker, limit, None, sort_keys,
                      sort_dirs)
        if not page:
            return pages
        pages.append(page)
        marker = page[-1]["reference"]
        if marker in seen:
            raise AssertionError("marker %r came back: the walk does not "
                                 "end" % (marker,))
        seen.append(marker)


class _ConformanceBase(_TestCase):
    """Hooks and shared checks; the ``test_*`` methods are in subclasses."""

    #: Sizes, in bytes, of the objects the checks create.
    conformance_sizes: tuple[int, ...] = (units.Mi, units.Gi,
                                          units.Gi + units.Mi, 3 * units.Mi)

    def make_driver(self) -> Any:
        """Return a new driver on the backend under test (a hook).

        Configure its lock path in a temporary directory; several
        drivers made by one test must see the same backend.
        """
        raise NotImplementedError("define make_driver() in %s"
                                  % type(self).__name__)

    def create_volume_object(self, name: str, size_bytes: int) -> None:
        """Create an object the driver must list as a safe volume (a hook).

        :param name: a new name made of ``[a-z0-9-]``; a backend may add
            a suffix (a file extension) or round the size up.
        :param size_bytes: the object's size.
        """
        raise NotImplementedError("define create_volume_object() in %s"
                                  % type(self).__name__)

    def conformance_name(self, kind: str, index: int) -> str:
        """Return the name of the ``index``-th test object of ``kind``."""
        return "mdconf-%s-%d" % (kind, index)

    def make_cinder_object(self, driver: Any, kind: str, cinder_id: str,
                           entry: dict[str, Any] | None = None
                           ) -> Any:
        """Return the Cinder volume or snapshot a manage call is given.

        A snapshot's ``volume`` is a new Cinder volume. Override to add the
        fields your driver reads: a driver that checks that a snapshot
        belongs to the snapshot's volume makes ``volume`` match the
        entry's ``source_reference``. A Cinder driver asks Cinder's
        database whether Cinder manages a name it made: its override
        returns an object the database holds, with ``cinder_id`` as its
        id (Cinder's ``objects.Volume`` / ``objects.Snapshot``, which
        answer both ``obj['name']`` and ``obj.name``), or the check that
        managing a managed object twice is refused cannot pass.

        :param driver: the driver under test.
        :param kind: ``volume`` or ``snapshot``.
        :param cinder_id: the id of the object.
        :param entry: the listed entry about to be managed; None when the
            reference is deliberately invalid.
        """
        obj = CinderObject(id=cinder_id,
                           name=self._template(driver, kind) % cinder_id,
                           volume_type=None)
        if kind == "snapshot":
            volume_id = str(uuid.uuid4())
            obj["volume_id"] = volume_id
            obj["volume"] = CinderObject(
                id=volume_id, volume_type=None,
                name=self._template(driver, "volume") % volume_id)
        return obj

    def _driver(self) -> Any:
        driver = self.make_driver()
        cache = getattr(backend_of(driver), "listing_cache", None)
        if cache is not None:
            # The checks change the backend behind the driver's back (the
            # hooks create objects) and must see a backend whose pages
            # disagree: every listing reads the backend.
            cache.seconds = lambda: 0.0
        return driver

    def _template(self, driver: Any, kind: str) -> str:
        # A Cinder driver's backend reads the templates where Cinder does
        # ([DEFAULT]); its own configuration is the backend section.
        conf = getattr(backend_of(driver), "configuration", None)
        get = getattr(conf, "safe_get", None)
        template = get("%s_name_template" % kind) if get else None
        return str(template or "%s-%%s" % kind)

    def _populate(self, kind: str) -> tuple[int, int]:
        raise NotImplementedError

    @property
    def _refusals(self) -> tuple[type[BaseException], ...]:
        return cinder_equivalents(*REFUSALS)

    @property
    def _invalid_reference(self) -> tuple[type[BaseException], ...]:
        return cinder_equivalents(exception.ManageExistingInvalidReference)

    def _list(self, driver: Any, kind: str, cinder_objects: Any = (),
              sort_keys: list[str] | None = None,
              sort_dirs: list[str] | None = None) -> list[dict[str, Any]]:
        method = getattr(driver, _METHODS[kind][0])
        result: list[dict[str, Any]] = method(
            list(cinder_objects), None, None, None,
            sort_keys or ["reference"], sort_dirs or ["asc"])
        return result

    def _manage(self, driver: Any, kind: str, obj: Any, ref: Any) -> Any:
        return getattr(driver, _METHODS[kind][1])(obj, ref)

    def _get_size(self, driver: Any, kind: str, obj: Any, ref: Any) -> Any:
        return getattr(driver, _METHODS[kind][2])(obj, ref)

    def _unmanage(self, driver: Any, kind: str, obj: Any) -> Any:
        return getattr(driver, _METHODS[kind][3])(obj)

    def _new_object(self, driver: Any, kind: str,
                    entry: dict[str, Any] | None = None) -> Any:
        return self.make_cinder_object(driver, kind, str(uuid.uuid4()),
                                       entry)

    # The checks, one per test method of each kind.

    def _check_entries(self, kind: str) -> None:
        driver = self._driver()
        before = self._list(driver, kind)
        created, unsafe = self._populate(kind)
        entries = self._list(driver, kind)
        for entry in entries:
            self.assertEqual([], check_entry(entry, kind), entry)
        self.assertEqual(len(before) + created + unsafe, len(entries))
        safe = [e for e in entries if e["safe_to_manage"]]
        safe_before = [e for e in before if e["safe_to_manage"]]
        self.assertEqual(len(safe_before) + created, len(safe), entries)

    def _check_pages(self, kind: str) -> None:
        driver = self._driver()
        self._populate(kind)
        full = self._list(driver, kind)
        for sort_keys, sort_dirs in SORTS:
            expected = self._list(driver, kind, (), sort_keys, sort_dirs)
            self.assertCountEqual(full, expected)
            for limit in (1, 2, 3, len(full) + 1):
                with self.subTest(sort_keys=sort_keys, sort_dirs=sort_dirs,
                                  limit=limit):
                    pages = walk_pages(driver, kind, [], limit, sort_keys,
                                       sort_dirs)
                    self.assertTrue(all(len(p) <= limit for p in pages))
                    joined = [e for page in pages for e in page]
                    self.assertEqual(expected, joined)

    def _check_manage_iff_safe(self, kind: str) -> None:
        driver = self._driver()
        self._populate(kind)
        managed: list[Any] = []
        for entry in self._list(driver, kind):
            before = self._list(driver, kind, managed)
            obj = self._new_object(driver, kind, entry)
            ref = entry["reference"]
            if not entry["safe_to_manage"]:
                self.assertRaises(self._refusals, self._manage, driver,
                                  kind, obj, ref)
                self.assertEqual(before, self._list(driver, kind, managed),
                                 "a refused manage changed the backend")
                continue
            self.assertEqual(entry["size"],
                             self._get_size(driver, kind, obj, ref))
            self._manage(driver, kind, obj, ref)
            managed.append(obj)
            after = self._list(driver, kind, managed)
            self.assertEqual(len(before), len(after))
            ours = [e for e in after if e["cinder_id"] == obj["id"]]
            self.assertEqual(1, len(ours), after)
            self.assertFalse(ours[0]["safe_to_manage"])
            self.assertEqual(entry["size"], ours[0]["size"])

    def _manage_first_safe(self, driver: Any, kind: str
                           ) -> tuple[Any, dict[str, Any]]:
        entry = next(e for e in self._list(driver, kind)
                     if e["safe_to_manage"])
        obj = self._new_object(driver, kind, entry)
        self._manage(driver, kind, obj, entry["reference"])
        return obj, entry

    def _check_manage_twice_and_unmanage(self, kind: str) -> None:
        driver = self._driver()
        self._populate(kind)
        obj, _entry = self._manage_first_safe(driver, kind)
        listed = self._list(driver, kind, [obj])
        ours, = [e for e in listed if e["cinder_id"] == obj["id"]]
        self.assertRaises(self._refusals, self._manage, driver, kind,
                          self._new_object(driver, kind, ours),
                          ours["reference"])
        self.assertEqual(listed, self._list(driver, kind, [obj]))
        self._unmanage(driver, kind, obj)
        released = self._list(driver, kind)
        self.assertEqual(len(listed), len(released),
                         "unmanage must keep the object")
        self.assertEqual([], [e for e in released
                              if e["cinder_id"] == obj["id"]])

    def _check_one_winner(self, kind: str) -> None:
        self._populate(kind)
        drivers = [self.make_driver(), self.make_driver()]
        entry = next(e for e in self._list(drivers[0], kind)
                     if e["safe_to_manage"])
        ref = entry["reference"]
        objs = [self._new_object(d, kind, entry) for d in drivers]
        barrier = threading.Barrier(len(drivers))
        outcomes: list[BaseException | None] = [None] * len(drivers)

        def race(i: int) -> None:
            barrier.wait()
            try:
                self._manage(drivers[i], kind, objs[i], ref)
            except BaseException as exc:  # judged by the assertions below
                outcomes[i] = exc

        threads = [threading.Thread(target=race, args=(i,))
                   for i in range(len(drivers))]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        winners = [o for o in outcomes if o is None]
        self.assertEqual(1, len(winners), outcomes)
        self.assertTrue(all(o is None or isinstance(o, self._refusals)
                            for o in outcomes), outcomes)
        listed = self._list(drivers[0], kind, objs)
        self.assertEqual(1, len([e for e in listed if e["cinder_id"]
                                 in (objs[0]["id"], objs[1]["id"])]))

    def _check_invalid_references(self, kind: str) -> None:
        driver = self._driver()
        self._populate(kind)
        before = self._list(driver, kind)
        missing = "mdconf-missing-%s" % uuid.uuid4().hex
        for ref in ({}, {"source-name": ""}, {"source-name": 42}, "name",
                    None, {"source-name": missing},
                    {"source-id": missing}):
            for call in (self._get_size, self._manage):
                with self.subTest(ref=ref, call=call.__name__):
                    self.assertRaises(
                        self._invalid_reference, call,
                        driver, kind, self._new_object(driver, kind), ref)
        self.assertEqual(before, self._list(driver, kind))


class VolumeConformanceMixin(_ConformanceBase):
    """The volume checks; needs ``make_driver`` and
    ``create_volume_object``."""

    def create_unsafe_volume_objects(self) -> int:
        """Create objects the driver must list as not safe (a hook).

        :returns: how many were created; none by default.
        """
        return 0

    def _populate(self, kind: str) -> tuple[int, int]:
        if kind != "volume":
            return super()._populate(kind)
        for index, size in enumerate(self.conformance_sizes):
            self.create_volume_object(self.conformance_name(kind, index),
                                      size)
        return len(self.conformance_sizes), self.create_unsafe_volume_objects()

    def test_volume_interfaces_conform(self) -> None:
        self.assertEqual([], interface.check_conformance(
            type(self.make_driver()), interface.VolumeListManageableDriver))

    def test_volume_entries_have_cinder_keys(self) -> None:
        self._check_entries("volume")

    def test_volume_pages_cover_listing_once(self) -> None:
        self._check_pages("volume")

    def test_volume_manage_succeeds_iff_safe(self) -> None:
        self._check_manage_iff_safe("volume")

    def test_volume_manage_twice_refused_unmanage_keeps(self) -> None:
        self._check_manage_twice_and_unmanage("volume")

    def test_volume_concurrent_manage_one_winner(self) -> None:
        self._check_one_winner("volume")

    def test_volume_invalid_reference(self) -> None:
        self._check_invalid_references("volume")


class SnapshotConformanceMixin(_ConformanceBase):
    """The snapshot checks; needs ``make_driver``, ``create_volume_object``
    and ``create_snapshot_object``."""

    def create_snapshot_object(self, name: str, size_bytes: int,
                               volume_name: str) -> None:
        """Create a snapshot the driver must list as safe (a hook).

        :param name: a new name, as for ``create_volume_object``.
        :param size_bytes: the snapshot's size.
        :param volume_name: the name of a volume made with
            ``create_volume_object`` for this snapshot alone, which the
            snapshot is taken of.
        """
        raise NotImplementedError("define create_snapshot_object() in %s"
                                  % type(self).__name__)

    def create_unsafe_snapshot_objects(self) -> int:
        """Create snapshots the driver must list as not safe (a hook).

        :returns: how many were created; none by default.
        """
        return 0

    def _populate(self, kind: str) -> tuple[int, int]:
        if kind != "snapshot":
            return super()._populate(kind)
        # One volume per snapshot: a backend where a volume's snapshots
        # form a chain may list only one of them as safe.
        for index, size in enumerate(self.conformance_sizes):
            source = self.conformance_name("origin", index)
            self.create_volume_object(source, size)
            self.create_snapshot_object(self.conformance_name(kind, index),
                                        size, source)
        return (len(self.conformance_sizes),
                self.create_unsafe_snapshot_objects())

    def test_snapshot_interfaces_conform(self) -> None:
        self.assertEqual([], interface.check_conformance(
            type(self.make_driver()),
            interface.VolumeSnapshotManagementDriver))

    def test_snapshot_entries_have_cinder_keys(self) -> None:
        self._check_entries("snapshot")

    def test_snapshot_pages_cover_listing_once(self) -> None:
        self._check_pages("snapshot")

    def test_snapshot_manage_succeeds_iff_safe(self) -> None:
        self._check_manage_iff_safe("snapshot")

    def test_snapshot_manage_twice_refused_unmanage_keeps(self) -> None:
        self._check_manage_twice_and_unmanage("snapshot")

    def test_snapshot_concurrent_manage_one_winner(self) -> None:
        self._check_one_winner("snapshot")

    def test_snapshot_invalid_reference(self) -> None:
        self._check_invalid_references("snapshot")


class ManageableDriverConformanceMixin(VolumeConformanceMixin,
                                       SnapshotConformanceMixin):
    """Every check, for a backend with volumes and snapshots."""
