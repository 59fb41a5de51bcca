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

"""What the RBD functional tests share: a driver on the test's pool, image
helpers, a second process holding an image open, the pool's state."""

import subprocess
import sys

import fixtures
from oslo_config import cfg

from manageable_driver import opts
from manageable_driver.drivers import rbd as rbd_driver
from manageable_driver.drivers.rbd import options
from tests.functional import ceph_fixture

MiB = 1024 ** 2
GiB = 1024 ** 3
ALL = (None, 10000, 0, ["reference"], ["asc"])

# A second client, in its own process, with the image open (librbd
# registers a watch on the header) until its stdin closes.
HOLDER = """
import sys, rados, rbd
client = rados.Rados(conffile=sys.argv[1], rados_id=sys.argv[2],
                     conf={"keyring": sys.argv[3]})
client.connect()
ioctx = client.open_ioctx(sys.argv[4])
image = rbd.Image(ioctx, sys.argv[5])
print("open", flush=True)
sys.stdin.read()
image.close()
ioctx.close()
client.shutdown()
"""


class RBDTestCase(ceph_fixture.ClusterTestCase):

    timeout = 10

    def setUp(self):
        super().setUp()
        import rados
        import rbd
        self.rados = rados
        self.rbd = rbd
        self.lock_path = self.useFixture(fixtures.TempDir()).path

    def driver(self, **overrides):
        conf = cfg.ConfigOpts()
        conf.register_opts(opts.common_opts + options.rbd_opts)
        settings = dict(rbd_pool=self.pool,
                        rbd_ceph_conf=self.ceph.conf_file,
                        rbd_user=self.ceph.user,
                        rbd_keyring_conf=self.ceph.keyring,
                        rados_connect_timeout=self.timeout,
                        manageable_lock_path=self.lock_path)
        settings.update(overrides)
        for key, value in settings.items():
            conf.set_override(key, value)
        return rbd_driver.RBDDriver(configuration=conf)

    def create(self, name, size, ioctx=None, **kwargs):
        self.rbd.RBD().create(ioctx or self.ioctx, name, size, **kwargs)

    def snap(self, image, snap, protect=False):
        with self.rbd.Image(self.ioctx, image) as opened:
            opened.create_snap(snap)
            if protect:
                opened.protect_snap(snap)

    def clone(self, parent, snap, child, clone_format=1):
        # The clone format is a client setting: a client of its own.
        client = self.rados.Rados(
            conffile=self.ceph.conf_file, rados_id=self.ceph.user,
            conf={"keyring": self.ceph.keyring,
                  "rbd_default_clone_format": str(clone_format)})
        client.connect(timeout=10)
        try:
            with client.open_ioctx(self.pool) as ioctx:
                self.rbd.RBD().clone(ioctx, parent, snap, ioctx, child)
        finally:
            client.shutdown()

    def hold_open(self, image):
        """Open ``image`` in a second process until the test ends."""
        proc = subprocess.Popen(
            [sys.executable, "-c", HOLDER, self.ceph.conf_file,
             self.ceph.user, self.ceph.keyring, self.pool, image],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE)

        def release():
            proc.stdin.close()
            proc.wait(timeout=30)
            proc.stdout.close()
        self.addCleanup(release)
        self.assertEqual(b"open\n", proc.stdout.readline())
        return release

    def image_id(self, name):
        return self.ioctx.read("rbd_id." + name)[4:].decode()

    def names(self):
        return sorted(self.rbd.RBD().list(self.ioctx))

    def snap_names(self, image):
        with self.rbd.Image(self.ioctx, image, read_only=True) as opened:
            return sorted(s["name"] for s in opened.list_snaps())

    def state(self):
        """Every object of the pool with its omap: what a test compares
        before and after a call that must change nothing."""
        found = {}
        for obj in self.ioctx.list_objects():
            with self.rados.ReadOpCtx() as op:
                values, _ret = self.ioctx.get_omap_vals(op, "", "", 100000)
                self.ioctx.operate_read_op(op, obj.key)
                omap = dict(values)
            # Timestamps of a read (access_timestamp) may move.
            omap.pop("access_timestamp", None)
            found[obj.key] = omap
        return found

    def volumes(self, drv=None, cinder_volumes=()):
        drv = drv or self.driver()
        return {e["reference"]["source-name"]: e
                for e in drv.get_manageable_volumes(list(cinder_volumes),
                                                    *ALL)}

    def snapshots(self, drv=None, cinder_snapshots=()):
        drv = drv or self.driver()
        return {(e["source_reference"]["source-name"],
                 e["reference"]["source-name"]): e
                for e in drv.get_manageable_snapshots(
                    list(cinder_snapshots), *ALL)}
