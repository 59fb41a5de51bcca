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

"""Kept RBD listings on a real cluster: an image another client creates
shows within the configured staleness; a manage, by this driver or by
another backend section on the same pool, at once."""

import subprocess

from oslo_config import cfg

from manageable_driver import configuration as md_config
from manageable_driver import listing_cache
from manageable_driver import opts
from manageable_driver.drivers import rbd as rbd_driver
from manageable_driver.drivers.rbd import options
from tests.functional import rbd_helpers as helpers
from tests.functional import test_listing_cache

STALENESS = test_listing_cache.STALENESS
VOLUME_ID = "6e0b5a62-0000-4000-8000-00000000cafe"


def names(entries):
    return sorted(e["reference"]["source-name"] for e in entries)


class RBDListingCacheTest(helpers.RBDTestCase):

    def setUp(self):
        super().setUp()
        self.create("a", helpers.MiB)
        self.create("b", helpers.MiB)

    def cached_driver(self, seconds, group=None):
        """A driver of the test's pool keeping listings ``seconds``, its
        options in backend section ``group`` (None: DEFAULT)."""
        conf = cfg.ConfigOpts()
        backend = md_config.Configuration(conf, config_group=group)
        backend.append_config_values(opts.common_opts + options.rbd_opts
                                     + listing_cache.cache_opts)
        for key, value in dict(rbd_pool=self.pool,
                               rbd_ceph_conf=self.ceph.conf_file,
                               rbd_user=self.ceph.user,
                               rbd_keyring_conf=self.ceph.keyring,
                               rados_connect_timeout=self.timeout,
                               manageable_lock_path=self.lock_path,
                               **{listing_cache.OPTION: seconds}).items():
            conf.set_override(key, value, group=group)
        return rbd_driver.RBDDriver(configuration=backend)

    def listed(self, driver):
        return names(driver.get_manageable_volumes([], *helpers.ALL))

    def test_rbd_create_by_another_client_seen_within_the_staleness(self):
        driver = self.cached_driver(STALENESS)
        self.assertEqual(["a", "b"], self.listed(driver))
        # The rbd tool: another client, in another process.
        subprocess.run(["rbd", "--conf", self.ceph.conf_file, "--id",
                        self.ceph.user, "--keyring", self.ceph.keyring,
                        "create", "--size", "1M",
                        "%s/outside" % self.pool],
                       check=True, capture_output=True, timeout=60)
        elapsed = test_listing_cache.seen_within(
            lambda: self.listed(driver), "outside", STALENESS + 1)
        self.assertIsNotNone(elapsed, "not listed within %s s" % STALENESS)

    def test_staleness_zero_sees_a_new_image_at_once(self):
        driver = self.cached_driver(0)
        self.assertEqual(["a", "b"], self.listed(driver))
        self.create("new", helpers.MiB)
        self.assertEqual(["a", "b", "new"], self.listed(driver))

    def test_own_manage_seen_at_once(self):
        # An hour of staleness: only invalidation can show the change.
        driver = self.cached_driver(3600)
        self.assertEqual(["a", "b"], self.listed(driver))
        driver.manage_existing({"id": VOLUME_ID,
                                "name": "volume-" + VOLUME_ID},
                               {"source-name": "a"})
        self.assertEqual(["b", "volume-" + VOLUME_ID], self.listed(driver))

    def test_manage_by_another_section_on_the_pool_seen_at_once(self):
        # Two backend sections of one cinder.conf naming the same pool
        # share one generation: the pool, not the section, is the scope.
        lister = self.cached_driver(3600, group="rbd-one")
        manager = self.cached_driver(3600, group="rbd-two")
        self.assertEqual(["a", "b"], self.listed(lister))
        manager.manage_existing({"id": VOLUME_ID,
                                 "name": "volume-" + VOLUME_ID},
                                {"source-name": "b"})
        self.assertEqual(["a", "volume-" + VOLUME_ID], self.listed(lister))
