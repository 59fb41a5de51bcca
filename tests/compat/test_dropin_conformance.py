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

"""The conformance checks of :mod:`manageable_driver.testing`, run on the
final Cinder drivers: the LVM and NFS drop-ins, built by Cinder's own
VolumeManager, raising Cinder's exceptions and asking Cinder's database
whether it manages a name.

LVM runs with ``activation = 0`` (no device-mapper here), where lvcreate
cannot make a snapshot: the test's LVs, snapshots included, are written
as LVM metadata (vgcfgrestore), as the other LVM compat tests do. The NFS
share is a bind mount at the share's mount point (see
:mod:`tests.compat.test_dropin_nfs`); its snapshots are laid out as
Cinder's NFS driver lays them out: a qcow2 overlay ``volume-V.S`` of the
volume's file, recorded in ``volume-V.info``.
"""

from __future__ import annotations

import json
import os
import subprocess
from typing import Any
import uuid

from manageable_driver import testing
from tests.compat import backends
from tests.compat import base
from tests.compat import test_dropin_lvm
from tests.compat import test_dropin_nfs
from tests.functional import lvm_fixtures

EXTENT = 4 * 1024 ** 2


class CinderObjects:
    """Hooks shared by both drivers: drivers built by Cinder's
    VolumeManager, and Cinder objects its database holds."""

    ctxt: Any
    vt: dict[str, Any]

    def setUp(self) -> None:
        super().setUp()  # type: ignore[misc]
        from cinder import context
        self.ctxt = context.get_admin_context()
        # Test objects named "mdconf-origin-N" are volumes snapshots are
        # taken of: they get a Cinder name (volume-<id>), as Cinder's
        # drivers take snapshots of Cinder's volumes only.
        self.origins: dict[str, str] = {}

    def make_driver(self) -> Any:
        return backends.start_manager(self).driver  # type: ignore[arg-type]

    def origin_name(self, name: str) -> str:
        if not name.startswith("mdconf-origin-"):
            return name
        if name not in self.origins:
            self.origins[name] = str(uuid.uuid4())
        return "volume-%s" % self.origins[name]

    def make_cinder_object(self, driver: Any, kind: str, cinder_id: str,
                           entry: dict[str, Any] | None = None) -> Any:
        from cinder import objects
        from cinder.tests.unit import utils
        host = driver.host
        if kind == "volume":
            return utils.create_volume(self.ctxt, id=cinder_id, host=host,
                                       status="managing", size=0,
                                       volume_type_id=self.vt["id"])
        volume_id = str(uuid.uuid4())
        if entry is not None:
            source = os.path.basename(
                entry["source_reference"]["source-name"])
            volume_id = source[len("volume-"):]
        try:
            volume = objects.Volume.get_by_id(self.ctxt, volume_id)
        except Exception:  # noqa: BLE001 - VolumeNotFound: make it
            volume = utils.create_volume(self.ctxt, id=volume_id, host=host,
                                         status="available", size=1,
                                         volume_type_id=self.vt["id"])
        return utils.create_snapshot(self.ctxt, volume.id, id=cinder_id,
                                     status="creating", volume_size=0)


class LVMDropInConformanceTest(CinderObjects,
                               testing.ManageableDriverConformanceMixin,
                               base.CinderTestCase):

    def setUp(self) -> None:
        super().setUp()
        self.vg = test_dropin_lvm.lvm_dropin_backend(self)
        # What the backend holds already; the hooks add to it. Without
        # the snapshot of an LV that is no Cinder volume: a Cinder snapshot
        # belongs to a Cinder volume, so no test object matches it.
        self.layout = [lv for lv in backends.LVM_LAYOUT
                       if lv.kind != "snapshot"]
        self.vg.restore(self.layout)

    def add(self, lv: lvm_fixtures.LV) -> None:
        self.layout.append(lv)
        self.vg.restore(self.layout)

    @staticmethod
    def extents(size_bytes: int) -> int:
        return -(-size_bytes // EXTENT)

    def create_volume_object(self, name: str, size_bytes: int) -> None:
        self.add(lvm_fixtures.LV(self.origin_name(name),
                                 self.extents(size_bytes)))

    def create_snapshot_object(self, name: str, size_bytes: int,
                               volume_name: str) -> None:
        self.add(lvm_fixtures.LV(name, 1, kind="snapshot",
                                 origin=self.origin_name(volume_name)))


class NfsDropInConformanceTest(CinderObjects,
                               testing.ManageableDriverConformanceMixin,
                               base.CinderTestCase):

    def setUp(self) -> None:
        super().setUp()
        self.share = test_dropin_nfs.nfs_dropin_backend(self)

    def create_volume_object(self, name: str, size_bytes: int) -> None:
        with open(self.share.path(self.origin_name(name)), "wb") as f:
            f.truncate(size_bytes)

    def create_snapshot_object(self, name: str, size_bytes: int,
                               volume_name: str) -> None:
        # As Cinder's NFS driver takes snapshot S of volume V: an overlay
        # volume-V.S of volume-V, recorded in volume-V.info.
        volume = self.origin_name(volume_name)
        snapshot_id = str(uuid.uuid4())
        overlay = "%s.%s" % (volume, snapshot_id)
        subprocess.run(["qemu-img", "create", "-q", "-f", "qcow2", "-F",
                        "raw", "-b", volume, overlay, str(size_bytes)],
                       check=True, cwd=self.share.mount_point)
        self.write_info(volume, {"active": overlay, snapshot_id: overlay})

    def write_info(self, volume: str, info: dict[str, str]) -> None:
        with open(self.share.path(volume + ".info"), "w") as f:
            json.dump(info, f)

    def create_unsafe_volume_objects(self) -> int:
        open(self.share.path("mdconf-empty"), "wb").close()
        return 1

    def create_unsafe_snapshot_objects(self) -> int:
        # A record naming a file that is not there.
        volume = "volume-%s" % uuid.uuid4()
        with open(self.share.path(volume), "wb") as f:
            f.truncate(1024 ** 2)
        missing = str(uuid.uuid4())
        self.write_info(volume, {"active": volume,
                                 missing: "%s.%s" % (volume, missing)})
        return 1
