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

"""What the RBD driver decides before it reaches the cluster: options,
references, names. The cluster itself: tests/functional/test_rbd*.py."""

import fixtures
from oslo_config import cfg

from manageable_driver import exception
from manageable_driver import opts
from manageable_driver.drivers import rbd
from manageable_driver.drivers.rbd import cluster
from manageable_driver.drivers.rbd import driver as rbd_driver
from manageable_driver.drivers.rbd import options
from tests import base

InvalidRef = exception.ManageExistingInvalidReference


def make(**overrides):
    conf = cfg.ConfigOpts()
    conf.register_opts(opts.common_opts + options.rbd_opts)
    for key, value in overrides.items():
        conf.set_override(key, value)
    return rbd.RBDDriver(configuration=conf)


class OptionsTest(base.TestCase):

    def test_cinder_names_and_defaults(self):
        drv = make()
        self.assertEqual(cluster.Settings("rbd", "", None, "", -1),
                         drv.settings)
        self.assertEqual({}, drv.settings.conf())

    def test_timeout_bounds_every_call(self):
        drv = make(rbd_pool="volumes", rbd_user="cinder",
                   rbd_keyring_conf="/k", rados_connect_timeout=7)
        self.assertEqual({"keyring": "/k", "rados_osd_op_timeout": "7",
                          "rados_mon_op_timeout": "7",
                          "client_mount_timeout": "7"},
                         drv.settings.conf())

    def test_listed_for_the_config_generator(self):
        names = {o.name for _g, group in opts.list_opts() for o in group}
        self.assertTrue({"rbd_pool", "rbd_ceph_conf", "rbd_user",
                         "rbd_keyring_conf",
                         "rados_connect_timeout"} <= names)

    def test_empty_pool_refused(self):
        self.assertRaises(exception.InvalidInput, make, rbd_pool="")

    def test_listing_scope_is_the_pool_of_the_cluster(self):
        # Kept listings are invalidated per scope: every section on one
        # pool must share it, other pools and clusters must not.
        one = make(rbd_pool="volumes", rbd_ceph_conf="/etc/ceph/a.conf")
        self.assertEqual("rbd:/etc/ceph/a.conf:volumes", one.listing_scope())
        self.assertEqual(one.listing_scope(), make(
            rbd_pool="volumes", rbd_ceph_conf="/etc/ceph/../ceph/a.conf",
            rbd_user="other").listing_scope())
        self.assertNotEqual(one.listing_scope(), make(
            rbd_pool="images",
            rbd_ceph_conf="/etc/ceph/a.conf").listing_scope())
        self.assertNotEqual(one.listing_scope(), make(
            rbd_pool="volumes",
            rbd_ceph_conf="/etc/ceph/b.conf").listing_scope())


class ReferenceTest(base.TestCase):

    def setUp(self):
        super().setUp()
        self.drv = make()

    def test_image_names(self):
        self.assertEqual("img", self.drv.parse_image_reference(
            {"source-name": "img"}))
        for bad in ("pool/img", "img@snap", "-f", ".", "..", "a\nb",
                    "x" * 96, "\udcff", "a\x7fb"):
            with self.subTest(name=bad):
                self.assertRaises(InvalidRef, self.drv.parse_image_reference,
                                  {"source-name": bad})
        self.assertRaises(InvalidRef, self.drv.parse_image_reference,
                          {"source-id": "10ab"})

    def test_snapshot_image_from_reference_or_volume(self):
        snap = {"id": "x", "name": "snapshot-x", "volume": {"name": "v"}}
        self.assertEqual(("v", "s"), self.drv.parse_snapshot_reference(
            snap, {"source-name": "s"}))
        self.assertEqual(("v", "s"), self.drv.parse_snapshot_reference(
            snap, {"source-name": "s", "source-image": "v"}))
        self.assertEqual(("w", "s"), self.drv.parse_snapshot_reference(
            {"name": "snapshot-x"}, {"source-name": "s",
                                     "source-image": "w"}))
        self.assertEqual(("v2", "s"), self.drv.parse_snapshot_reference(
            {"volume_name": "v2"}, {"source-name": "s"}))
        for ref in ({"source-name": "s", "source-image": "w"},
                    {"source-name": "s", "source-image": 5},
                    {"source-name": "s", "source-image": "a/b"},
                    {"source-name": "s@t"}):
            with self.subTest(ref=ref):
                self.assertRaises(InvalidRef,
                                  self.drv.parse_snapshot_reference, snap,
                                  ref)
        self.assertRaises(InvalidRef, self.drv.parse_snapshot_reference,
                          {"name": "snapshot-x"}, {"source-name": "s"})

    def test_name_problem(self):
        self.assertIsNone(rbd_driver.name_problem("volume-1.deleted"))
        self.assertIn("95", rbd_driver.name_problem("\u00e9" * 48))


class MissingBindingsTest(base.TestCase):

    def test_clear_error_without_python3_rados(self):
        # The py3 env's interpreter never has the bindings; patched so the
        # test means the same on the system Python too.
        self.useFixture(fixtures.MockPatchObject(cluster, "rados", None))
        err = self.assertRaises(exception.VolumeBackendAPIException,
                                make().get_manageable_volumes, [], None,
                                None, 0, ["reference"], ["asc"])
        self.assertIn("python3-rados", str(err))
