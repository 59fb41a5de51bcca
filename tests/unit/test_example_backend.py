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

"""The worked example backend, run through the conformance mixin.

This module is also the example test a driver author copies: the first
class is all it takes to get the library's conformance checks.
"""

import contextlib
import doctest
import json
import os
import time
import types
import unittest
from unittest import mock
import uuid

import fixtures
from oslo_config import cfg
from oslo_utils import units

from manageable_driver import exception
from manageable_driver import opts
from manageable_driver import testing
from manageable_driver.examples import inventory
from tests import base


class InventoryBackend(base.TestCase):
    """A JSON inventory in a temp dir, and the conformance mixin's hooks."""

    def setUp(self):
        super().setUp()
        tmp = self.useFixture(fixtures.TempDir()).path
        self.path = os.path.join(tmp, "inventory.json")
        self.lock_path = os.path.join(tmp, "locks")
        self.save({"volumes": [], "snapshots": []})

    def load(self):
        with open(self.path, encoding="utf-8") as f:
            return json.load(f)

    def save(self, data):
        with open(self.path, "w", encoding="utf-8") as f:
            json.dump(data, f)

    def add(self, kind, **obj):
        data = self.load()
        data[kind].append(obj)
        self.save(data)

    # The hooks of the conformance mixin.

    def make_driver(self):
        conf = cfg.ConfigOpts()
        conf.register_opts(opts.common_opts + inventory.OPTIONS)
        conf.set_override("inventory_path", self.path)
        conf.set_override("manageable_lock_path", self.lock_path)
        return inventory.InventoryDriver(conf)

    def create_volume_object(self, name, size_bytes):
        self.add("volumes", name=name, size=size_bytes)

    def create_snapshot_object(self, name, size_bytes, volume_name):
        self.add("snapshots", name=name, size=size_bytes, source=volume_name)

    def create_unsafe_volume_objects(self):
        self.add("volumes", name="busy", size=units.Gi, in_use=True)
        self.add("volumes", name="unsized", size=None)
        self.add("volumes", name="adopted", size=units.Gi,
                 cinder_id=str(uuid.uuid4()))
        # A snapshot's name is never free as a volume (one name space).
        self.add("volumes", name="snapshot-%s" % uuid.uuid4(),
                 size=units.Gi)
        return 4

    def create_unsafe_snapshot_objects(self):
        self.add("snapshots", name="busy-snap", size=units.Gi, in_use=True,
                 source="busy")
        self.add("snapshots", name="volume-%s" % uuid.uuid4(),
                 size=units.Gi, source="busy")
        return 2


class InventoryConformanceTest(InventoryBackend,
                               testing.ManageableDriverConformanceMixin):
    """Every conformance check of the library, for free."""


class InventoryDriverTest(InventoryBackend):
    """What the example does beyond the generic checks."""

    def manage(self, driver, name, cinder_id=None):
        cinder_id = cinder_id or str(uuid.uuid4())
        driver.manage_existing({"id": cinder_id,
                                "name": "volume-%s" % cinder_id},
                               {"source-name": name})
        return cinder_id

    def test_manage_renames_and_records_the_id(self):
        self.create_volume_object("db", 5 * units.Gi)
        self.create_snapshot_object("db-snap", units.Gi, "db")
        cinder_id = self.manage(self.make_driver(), "db")
        data = self.load()
        self.assertEqual([{"name": "volume-%s" % cinder_id,
                           "size": 5 * units.Gi, "cinder_id": cinder_id}],
                         data["volumes"])
        # The snapshot still names its volume.
        self.assertEqual("volume-%s" % cinder_id,
                         data["snapshots"][0]["source"])

    def test_manage_never_overwrites(self):
        cinder_id = str(uuid.uuid4())
        self.create_volume_object("db", units.Gi)
        self.create_volume_object("volume-%s" % cinder_id, units.Gi)
        before = self.load()
        exc = self.assertRaises(exception.ManageExistingInvalidReference,
                                self.manage, self.make_driver(), "db",
                                cinder_id)
        self.assertIn("already exists; not overwritten", str(exc))
        self.assertEqual(before, self.load())

    def test_unmanage_removes_only_the_record(self):
        self.create_volume_object("db", units.Gi)
        driver = self.make_driver()
        cinder_id = self.manage(driver, "db")
        driver.unmanage({"id": cinder_id, "name": "volume-%s" % cinder_id})
        self.assertEqual([{"name": "volume-%s" % cinder_id,
                           "size": units.Gi}], self.load()["volumes"])

    def test_size_is_rounded_up(self):
        self.create_volume_object("db", units.Gi + 1)
        self.assertEqual(2, self.make_driver().manage_existing_get_size(
            {"id": "x", "name": "x"}, {"source-name": "db"}))

    def test_get_size_refuses_what_manage_refuses(self):
        self.add("volumes", name="busy", size=units.Gi, in_use=True)
        self.add("volumes", name="adopted", size=units.Gi,
                 cinder_id=str(uuid.uuid4()))
        driver = self.make_driver()
        exc = self.assertRaises(exception.ManageExistingInvalidReference,
                                driver.manage_existing_get_size,
                                {"id": "x", "name": "x"},
                                {"source-name": "busy"})
        self.assertIn("in use", str(exc))
        self.assertRaises(exception.ManageExistingAlreadyManaged,
                          driver.manage_existing_get_size,
                          {"id": "x", "name": "x"},
                          {"source-name": "adopted"})

    def test_manage_refuses_a_name_off_the_template(self):
        self.create_volume_object("db", units.Gi)
        before = self.load()
        cinder_id = str(uuid.uuid4())
        self.assertRaises(exception.InvalidInput,
                          self.make_driver().manage_existing,
                          {"id": cinder_id, "name": "db2"},
                          {"source-name": "db"})
        self.assertRaises(exception.InvalidInput,
                          self.make_driver().manage_existing,
                          {"id": "not-a-uuid",
                           "name": "volume-%s" % cinder_id},
                          {"source-name": "db"})
        self.assertEqual(before, self.load())

    def test_malformed_inventory_is_an_error(self):
        driver = self.make_driver()
        for text in ("not json", "[]", '{"volumes": {}}',
                     '{"volumes": [{"name": "a"}, {"name": "a"}]}',
                     '{"volumes": [{"name": "a", "size": -1}]}',
                     '{"volumes": [{"name": "a", "size": 1.5}]}',
                     '{"snapshots": [{"name": "s"}]}'):
            with self.subTest(text=text):
                with open(self.path, "w", encoding="utf-8") as f:
                    f.write(text)
                exc = self.assertRaises(
                    exception.VolumeBackendAPIException,
                    driver.get_manageable_volumes, [], None, None, None,
                    None, None)
                self.assertIn(self.path, str(exc))

    def test_inventory_path_is_required(self):
        self.assertRaises(exception.InvalidInput, inventory.InventoryDriver)

    def test_failed_write_keeps_the_old_inventory(self):
        self.create_volume_object("db", units.Gi)
        before = self.load()
        # A crash between writing the new inventory and renaming it over
        # the old one cannot be caused for real in-process: fail the rename.
        with mock.patch.object(os, "replace",
                               side_effect=OSError(5, "EIO")):
            exc = self.assertRaises(exception.VolumeBackendAPIException,
                                    self.manage, self.make_driver(), "db")
        self.assertIn("cannot write inventory", str(exc))
        self.assertEqual(before, self.load())
        self.assertEqual(["inventory.json", "locks"],
                         sorted(os.listdir(os.path.dirname(self.path))))


class MixinCatchesBrokenDriversTest(base.TestCase):
    """The conformance checks fail on a driver that breaks the contract."""

    def run_check(self, driver_cls, test_name):
        class Check(InventoryConformanceTest):
            def make_driver(self):
                driver = super().make_driver()
                driver.__class__ = driver_cls
                return driver

        result = unittest.TestResult()
        Check(test_name).run(result)
        return result

    def test_manage_that_ignores_safety_fails(self):
        class Careless(inventory.InventoryDriver):
            def ensure_safe(self, record, existing_ref, kind="volume"):
                pass

        result = self.run_check(Careless,
                                "test_volume_manage_succeeds_iff_safe")
        self.assertEqual(1, len(result.failures), result.errors)

    def test_wrong_size_fails(self):
        class OffByOne(inventory.InventoryDriver):
            def manage_existing_get_size(self, volume, existing_ref):
                return super().manage_existing_get_size(
                    volume, existing_ref) + 1

        result = self.run_check(OffByOne,
                                "test_volume_manage_succeeds_iff_safe")
        self.assertEqual(1, len(result.failures), result.errors)

    def test_wrong_signature_fails(self):
        class Renamed(inventory.InventoryDriver):
            def unmanage(self, vol):
                super().unmanage(vol)

        result = self.run_check(Renamed, "test_volume_interfaces_conform")
        self.assertEqual(1, len(result.failures), result.errors)

    def test_unstable_pages_fail(self):
        class Unstable(inventory.InventoryDriver):
            calls = 0

            def list_volume_records(self):
                # Each call forgets a different object, as a backend whose
                # listing changes between pages would.
                Unstable.calls += 1
                recs = super().list_volume_records()
                return recs[:Unstable.calls % len(recs)] + recs[
                    Unstable.calls % len(recs) + 1:]

        result = self.run_check(Unstable,
                                "test_volume_pages_cover_listing_once")
        self.assertEqual(1, len(result.failures), result.errors)

    def test_unlocked_manage_fails(self):
        class Unlocked(inventory.InventoryDriver):
            @property
            def _locks(self):
                return types.SimpleNamespace(
                    lock=lambda *args: contextlib.nullcontext())

            @_locks.setter
            def _locks(self, value):
                pass

            def _load(self):
                # Widen the window between reading and writing the
                # inventory, so that both racers read the old one.
                inventory = super()._load()
                time.sleep(0.05)
                return inventory

        result = self.run_check(Unlocked,
                                "test_volume_concurrent_manage_one_winner")
        self.assertEqual(1, len(result.failures), result.errors)

    def test_leaky_entry_fails(self):
        class Leaky(inventory.InventoryDriver):
            def get_manageable_volumes(self, cinder_volumes, marker, limit,
                                       offset, sort_keys, sort_dirs):
                entries = super().get_manageable_volumes(
                    cinder_volumes, marker, limit, offset, sort_keys,
                    sort_dirs)
                for entry in entries:
                    entry["size_bytes"] = 1
                return entries

        result = self.run_check(Leaky,
                                "test_volume_entries_have_cinder_keys")
        self.assertEqual(1, len(result.failures), result.errors)


class CheckEntryTest(base.TestCase):

    def test_problems_are_named(self):
        good = {"reference": {"source-name": "a"}, "size": 1,
                "safe_to_manage": True, "reason_not_safe": None,
                "cinder_id": None, "extra_info": None}
        self.assertEqual([], testing.check_entry(good))
        cases = [({"size": 1.5}, "size 1.5"),
                 ({"safe_to_manage": 1}, "not a bool"),
                 ({"safe_to_manage": False}, "reason_not_safe is None"),
                 ({"reference": {"source-name": 1}}, "reference"),
                 ({"extra_info": "text"}, "extra_info"),
                 ({"cinder_id": "x"}, "safe, but")]
        for change, words in cases:
            with self.subTest(change=change):
                problems = testing.check_entry(dict(good, **change))
                self.assertEqual(1, len(problems), problems)
                self.assertIn(words, problems[0])
        self.assertIn("source_reference",
                      testing.check_entry(good, "snapshot")[0])


class DocExamplesTest(base.TestCase):
    """The interactive examples of the documentation are real output."""

    def test_doc_examples_run(self):
        top = os.path.dirname(os.path.dirname(os.path.dirname(
            os.path.abspath(__file__))))
        for page in ("pagination.rst", "writing-a-backend.rst"):
            with self.subTest(page=page):
                result = doctest.testfile(
                    os.path.join(top, "doc", "source", page),
                    module_relative=False, verbose=False,
                    optionflags=doctest.ELLIPSIS)
                self.assertGreater(result.attempted, 0)
                self.assertEqual(0, result.failed)
