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

"""Kept listings: the pages they give, and when they are read again.

The backend is the JSON inventory example driver, a real backend whose
file the tests change behind the driver's back (an outside change) or
through it (manage, unmanage).
"""

import json
import os
import threading
import time

from hypothesis import given
from hypothesis import settings
from hypothesis import strategies as st
from oslo_config import cfg
from oslo_utils import units

from manageable_driver import exception
from manageable_driver import listing
from manageable_driver import listing_cache
from manageable_driver import opts
from manageable_driver import pagination
from manageable_driver import records
from manageable_driver import testing
from manageable_driver.examples import inventory
from tests.unit import test_example_backend

VOLUME_ID = "0e4a2b2c-1f0b-4a37-9a53-2d1a8a0c6f10"


class Counting(inventory.InventoryDriver):
    """Counts how often the backend is read."""

    reads = 0

    def list_volume_records(self):
        self.reads += 1
        return super().list_volume_records()


def cinder_volume(driver):
    return testing.CinderObject(id=VOLUME_ID, volume_type=None,
                                name="volume-" + VOLUME_ID)


class Clock:
    def __init__(self):
        self.now = 1000.0

    def __call__(self):
        return self.now


class KeptListingTest(test_example_backend.InventoryBackend):

    def make_counting(self, seconds=None):
        conf = cfg.ConfigOpts()
        conf.register_opts(opts.common_opts + inventory.OPTIONS)
        conf.set_override("inventory_path", self.path)
        conf.set_override("manageable_lock_path", self.lock_path)
        driver = Counting(conf)
        if seconds is not None:
            driver.configuration.append_config_values(
                listing_cache.cache_opts)
            conf.set_override(listing_cache.OPTION, seconds)
        driver.listing_cache.clock = self.clock = Clock()
        return driver

    def names(self, driver, marker=None, limit=None):
        page = driver.get_manageable_volumes([], marker, limit, None,
                                             ["reference"], ["asc"])
        return [e["reference"]["source-name"] for e in page]

    def populate(self, count=7):
        for n in range(count):
            self.create_volume_object("vol%02d" % n, (n + 1) * units.Gi)

    def test_walk_reads_the_backend_once(self):
        self.populate()
        driver = self.make_counting()
        walked, marker = [], None
        while True:
            page = driver.get_manageable_volumes([], marker, 2, None,
                                                 ["size", "reference"],
                                                 ["desc", "asc"])
            if not page:
                break
            walked.extend(e["reference"]["source-name"] for e in page)
            marker = page[-1]["reference"]
        self.assertEqual(["vol%02d" % n for n in range(6, -1, -1)], walked)
        self.assertEqual(1, driver.reads)

    def test_outside_change_seen_when_the_listing_is_too_old(self):
        self.populate(2)
        driver = self.make_counting(seconds=5)
        self.assertEqual(["vol00", "vol01"], self.names(driver))
        self.create_volume_object("new", units.Gi)
        self.clock.now += 4.9
        self.assertEqual(["vol00", "vol01"], self.names(driver))
        self.clock.now += 0.1
        self.assertEqual(["new", "vol00", "vol01"], self.names(driver))
        self.assertEqual(2, driver.reads)

    def test_zero_seconds_reads_every_time(self):
        self.populate(2)
        driver = self.make_counting(seconds=0)
        self.names(driver)
        self.create_volume_object("new", units.Gi)
        self.assertEqual(["new", "vol00", "vol01"], self.names(driver))
        self.assertEqual(2, driver.reads)

    def test_own_manage_and_unmanage_seen_at_once(self):
        self.populate(2)
        driver = self.make_counting()
        self.assertEqual(["vol00", "vol01"], self.names(driver))
        volume = cinder_volume(driver)
        driver.manage_existing(volume, {"source-name": "vol00"})
        self.assertEqual(["vol01", "volume-" + VOLUME_ID],
                         self.names(driver))
        entry = driver.get_manageable_volumes(
            [], None, None, None, ["reference"], ["asc"])[1]
        self.assertEqual(VOLUME_ID, entry["cinder_id"])
        driver.unmanage(volume)
        entry = driver.get_manageable_volumes(
            [], None, None, None, ["reference"], ["asc"])[1]
        self.assertIsNone(entry["cinder_id"])
        self.assertEqual(3, driver.reads)

    def test_failed_manage_invalidates_too(self):
        self.populate(1)
        driver = self.make_counting()
        self.names(driver)
        volume = cinder_volume(driver)
        self.assertRaises(exception.ManageExistingInvalidReference,
                          driver.manage_existing, volume,
                          {"source-name": "nope"})
        self.names(driver)
        self.assertEqual(2, driver.reads)

    def test_manage_in_another_process_seen_at_once(self):
        # Two driver objects share only the lock directory, as two
        # processes of one host do.
        self.populate(2)
        lister, manager = self.make_counting(), self.make_counting()
        self.assertEqual(["vol00", "vol01"], self.names(lister))
        volume = cinder_volume(manager)
        manager.manage_existing(volume, {"source-name": "vol01"})
        self.assertEqual(["vol00", "volume-" + VOLUME_ID],
                         self.names(lister))
        self.assertEqual(2, lister.reads)

    def test_managed_list_applies_to_every_page(self):
        # The verdict comes from each call's managed list, never from the
        # kept listing.
        self.create_volume_object("volume-" + VOLUME_ID, units.Gi)
        driver = self.make_counting()
        volume = cinder_volume(driver)
        first = driver.get_manageable_volumes([], None, None, None,
                                              ["reference"], ["asc"])
        second = driver.get_manageable_volumes([volume], None, None, None,
                                               ["reference"], ["asc"])
        self.assertIsNone(first[0]["cinder_id"])
        self.assertEqual(VOLUME_ID, second[0]["cinder_id"])
        self.assertEqual(1, driver.reads)

    def test_get_size_reads_the_backend(self):
        self.populate(1)
        driver = self.make_counting()
        self.names(driver)
        data = self.load()
        data["volumes"][0]["size"] = 3 * units.Gi
        self.save(data)
        volume = cinder_volume(driver)
        self.assertEqual(3, driver.manage_existing_get_size(
            volume, {"source-name": "vol00"}))

    def test_unknown_marker_still_refused(self):
        self.populate(3)
        driver = self.make_counting()
        self.names(driver)
        self.assertRaises(exception.InvalidInput, self.names, driver,
                          {"source-name": "zz"}, 1)
        self.assertRaises(exception.InvalidInput, self.names, driver,
                          "not json", 1)
        self.assertEqual(["vol02"], self.names(
            driver, json.dumps({"source-name": "vol01"}), 1))

    def test_concurrent_listings_read_once(self):
        self.populate(3)
        driver = self.make_counting()
        started = threading.Barrier(6)
        results = []

        def list_all():
            started.wait()
            results.append(self.names(driver))

        threads = [threading.Thread(target=list_all) for _ in range(6)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        self.assertEqual([["vol00", "vol01", "vol02"]] * 6, results)
        self.assertEqual(1, driver.reads)

    def test_invalidation_while_listing_is_not_lost(self):
        # A manage that ends while a listing reads the backend: that
        # listing is not used again.
        self.populate(1)
        driver = self.make_counting()

        class Racing(Counting):
            def list_volume_records(this):
                recs = super().list_volume_records()
                this.listing_cache.invalidate()
                return recs

        driver.__class__ = Racing
        self.names(driver)
        driver.__class__ = Counting
        self.names(driver)
        self.assertEqual(2, driver.reads)

    def test_unwritable_generation_file_falls_back_to_age(self):
        self.populate(1)
        driver = self.make_counting(seconds=5)
        # The lock directory is a file: nothing can be written below it.
        with open(os.path.join(os.path.dirname(self.path), "flat"), "w"):
            pass
        driver.listing_cache.generation.path = os.path.join(
            os.path.dirname(self.path), "flat", "gen")
        self.names(driver)
        driver.listing_cache.invalidate()
        self.names(driver)
        self.assertEqual(2, driver.reads)


def _record(name, size):
    return records.VolumeRecord(name=name, reference={"source-name": name},
                                size_bytes=size)


_recs = st.lists(st.tuples(st.sampled_from(["a", "b", "c", "d", "e", "f"]),
                           st.one_of(st.none(), st.integers(0, 3 * units.Gi))),
                 max_size=10)


class SnapshotPagesTest(test_example_backend.InventoryBackend):
    """A kept listing's pages equal pagination's, whatever the arguments."""

    @settings(max_examples=300, deadline=None)
    @given(_recs, st.sampled_from([["reference"], ["size"],
                                   ["size", "reference"], []]),
           st.one_of(st.none(), st.integers(0, 4)),
           st.one_of(st.none(), st.integers(0, 4)), st.data())
    def test_same_page_as_pagination(self, recs, keys, limit, offset, data):
        recs = [_record(name, size) for name, size in recs]
        dirs = data.draw(st.lists(st.sampled_from(["asc", "desc"]),
                                  max_size=len(keys)))
        marker = None
        if recs and data.draw(st.booleans()):
            marker = dict(data.draw(st.sampled_from(recs)).reference)
            if data.draw(st.booleans()):
                marker = json.dumps(marker)
        snap = listing_cache.Snapshot(recs, listing.sort_entry, kept=True)
        fresh = [listing.sort_entry(rec) for rec in recs]
        expected = pagination.paginate(fresh, marker, limit, offset, keys,
                                       dirs)
        got = snap.page(marker, limit, offset, keys, dirs)
        self.assertEqual(expected, [listing.sort_entry(rec) for rec in got])


class GenerationTest(test_example_backend.InventoryBackend):

    def test_bump_changes_what_is_read(self):
        gen = listing_cache.Generation(self.lock_path, "lvm:vg")
        before = gen.read()
        self.assertEqual("", before)
        gen.bump()
        first = gen.read()
        gen.bump()
        self.assertNotIn(gen.read(), (before, first))
        self.assertEqual([os.path.basename(gen.path)],
                         os.listdir(self.lock_path))

    def test_scopes_have_their_own_file(self):
        one = listing_cache.Generation(self.lock_path, "lvm:a")
        two = listing_cache.Generation(self.lock_path, "lvm:b")
        one.bump()
        self.assertEqual("", two.read())

    def test_no_directory_no_file(self):
        gen = listing_cache.Generation(None, "x")
        gen.bump()
        self.assertEqual("", gen.read())

    def test_age_counts_from_before_the_read(self):
        clock = Clock()
        cache = listing_cache.ListingCache(
            lambda: 5.0, listing_cache.Generation(None, "x"),
            listing.sort_entry, clock)

        def slow():
            clock.now += 4
            return []

        cache.snapshot("volume", slow)
        clock.now += 1
        started = time.monotonic()
        snap = cache.snapshot("volume", lambda: [_record("z", 1)])
        self.assertLess(time.monotonic() - started, 5)
        self.assertEqual(["z"], [rec.name for rec in snap.records])
