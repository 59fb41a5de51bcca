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

"""The example Cinder RBD driver, in Cinder's own configuration.

The compat env's interpreter has no python3-rados (it is built for the
system Python), so what runs here is what needs no cluster: conformance,
Cinder's RBD option definitions shared with ours, and a clear Cinder error
when librados is missing. The driver on a real cluster is
tests/functional/test_rbd*.py.
"""

from __future__ import annotations

import uuid

from manageable_driver import interface
from tests.compat import base


class RBDExampleTest(base.NeedsCinder):

    def test_conforms(self) -> None:
        from manageable_driver.cinder import rbd
        self.assertEqual(
            [], interface.check_conformance(rbd.RBDManageableDriver))

    def test_reads_cinders_rbd_section(self) -> None:
        from cinder import exception as cinder_exception
        from cinder.volume import configuration
        from cinder.volume.drivers import rbd as cinder_rbd
        from oslo_config import cfg

        from manageable_driver.cinder import rbd
        group = "rbd-%s" % uuid.uuid4().hex[:8]
        conf = configuration.Configuration(cinder_rbd.RBD_OPTS,
                                           config_group=group)
        cfg.CONF.set_override("rbd_pool", "cinder-pool", group=group)
        cfg.CONF.set_override("rbd_user", "cinder", group=group)
        self.addCleanup(cfg.CONF.clear_override, "rbd_pool", group=group)
        self.addCleanup(cfg.CONF.clear_override, "rbd_user", group=group)
        driver = rbd.RBDManageableDriver(configuration=conf)
        driver.do_setup(None)
        self.assertEqual("cinder-pool", driver.backend.settings.pool)
        self.assertEqual("cinder", driver.backend.settings.user)
        self.assertEqual(-1, driver.backend.settings.timeout)
        try:
            import rados  # noqa: F401
        except ImportError:
            err = self.assertRaises(
                cinder_exception.VolumeBackendAPIException,
                driver.check_for_setup_error)
            self.assertIn("python3-rados", str(err))
