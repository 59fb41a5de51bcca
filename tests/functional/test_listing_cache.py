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

"""Kept listings on real backends: outside changes show within the
configured staleness, the library's own changes at once, also when
another process made them.
"""

import os
import subprocess
import sys
import textwrap
import time

import fixtures
from oslo_config import cfg

from manageable_driver import listing_cache
from manageable_driver import opts
from manageable_driver.drivers.file import FileDriver
from manageable_driver.drivers.file import options as file_options
from tests import base
from tests.functional import test_file
from tests.functional import test_lvm

STALENESS = 1.5
ALL = (None, None, None, ["reference"], ["asc"])
VOLUME_ID = "6e0b5a62-0000-4000-8000-00000000cafe"


def names(entries):
    # File references are paths; LVM ones are LV names.
    return sorted(os.path.basename(e["reference"]["source-name"])
                  for e in entries)


def seen_within(list_names, name, seconds):
    """Seconds until ``name`` is listed, polling; None if it is not
    within ``seconds``."""
    start = time.monotonic()
    while True:
        elapsed = time.monotonic() - start
        if name in list_names():
            return elapsed
        if elapsed > seconds:
            return None
        time.sleep(0.1)


class FileListingCacheTest(base.TestCase):

    def setUp(self):
        super().setUp()
        self.require_tools("qemu-img")
        self.dir = self.useFixture(fixtures.TempDir()).path
        self.lock_path = self.useFixture(fixtures.TempDir()).path
        for name in ("a.qcow2", "b.qcow2"):
            test_file.qemu_img("create", "-q", "-f", "qcow2",
                               os.path.join(self.dir, name), "1G")

    def driver(self, seconds):
        conf = cfg.ConfigOpts()
        conf.register_opts(opts.common_opts + file_options.file_opts
                           + listing_cache.cache_opts)
        conf.set_override("file_volume_dirs", [self.dir])
        conf.set_override("manageable_lock_path", self.lock_path)
        conf.set_override(listing_cache.OPTION, seconds)
        return FileDriver(conf)

    def test_new_image_seen_within_the_staleness(self):
        driver = self.driver(STALENESS)
        self.assertEqual(["a.qcow2", "b.qcow2"],
                         names(driver.get_manageable_volumes([], *ALL)))
        test_file.qemu_img("create", "-q", "-f", "qcow2",
                           os.path.join(self.dir, "new.qcow2"), "1G")
        elapsed = seen_within(
            lambda: names(driver.get_manageable_volumes([], *ALL)),
            "new.qcow2", STALENESS + 1)
        self.assertIsNotNone(elapsed, "not listed within %s s" % STALENESS)

    def test_staleness_zero_sees_a_new_image_at_once(self):
        driver = self.driver(0)
        driver.get_manageable_volumes([], *ALL)
        test_file.qemu_img("create", "-q", "-f", "qcow2",
                           os.path.join(self.dir, "new.qcow2"), "1G")
        self.assertIn("new.qcow2",
                      names(driver.get_manageable_volumes([], *ALL)))

    def test_own_manage_seen_at_once_in_this_and_another_process(self):
        # An hour of staleness: only invalidation can show the change.
        driver = self.driver(3600)
        self.assertEqual(["a.qcow2", "b.qcow2"],
                         names(driver.get_manageable_volumes([], *ALL)))
        script = textwrap.dedent("""
            import sys
            from oslo_config import cfg
            from manageable_driver import opts
            from manageable_driver.drivers.file import FileDriver
            from manageable_driver.drivers.file import options
            conf = cfg.ConfigOpts()
            conf.register_opts(opts.common_opts + options.file_opts)
            conf.set_override("file_volume_dirs", [sys.argv[1]])
            conf.set_override("manageable_lock_path", sys.argv[2])
            FileDriver(conf).manage_existing(
                {"id": sys.argv[3], "name": "volume-" + sys.argv[3],
                 "volume_type": None}, {"source-name": sys.argv[4]})
        """)
        subprocess.run([sys.executable, "-c", script, self.dir,
                        self.lock_path, VOLUME_ID,
                        os.path.join(self.dir, "a.qcow2")], check=True,
                       cwd=test_file.REPO, capture_output=True)
        self.assertEqual(["b.qcow2", "volume-" + VOLUME_ID],
                         names(driver.get_manageable_volumes([], *ALL)))
        # And the driver's own manage.
        other = "6e0b5a62-0000-4000-8000-00000000beef"
        driver.manage_existing({"id": other, "name": "volume-" + other,
                                "volume_type": None},
                               {"source-name": os.path.join(self.dir,
                                                            "b.qcow2")})
        self.assertEqual(["volume-" + other, "volume-" + VOLUME_ID],
                         names(driver.get_manageable_volumes([], *ALL)))


class LVMListingCacheTest(test_lvm.LVMTestCase):

    def cached_driver(self, seconds):
        driver = self.driver()
        driver.configuration.append_config_values(listing_cache.cache_opts)
        driver.configuration._conf.set_override(listing_cache.OPTION,
                                                seconds)
        return driver

    def test_lvrename_seen_within_the_staleness(self):
        driver = self.cached_driver(STALENESS)
        self.assertIn("plain", names(driver.get_manageable_volumes([],
                                                                   *ALL)))
        self.vg.lvm("lvrename", self.vg.vg_name, "plain", "renamed")
        elapsed = seen_within(
            lambda: names(driver.get_manageable_volumes([], *ALL)),
            "renamed", STALENESS + 1)
        self.assertIsNotNone(elapsed, "not listed within %s s" % STALENESS)
        self.assertNotIn("plain", names(driver.get_manageable_volumes(
            [], *ALL)))

    def test_own_manage_seen_at_once(self):
        driver = self.cached_driver(3600)
        before = names(driver.get_manageable_volumes([], *ALL))
        self.assertIn("plain", before)
        driver.manage_existing(test_lvm.volume(VOLUME_ID),
                               {"source-name": "plain"})
        after = names(driver.get_manageable_volumes([], *ALL))
        self.assertNotIn("plain", after)
        self.assertIn("volume-" + VOLUME_ID, after)
