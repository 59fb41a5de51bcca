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

"""The example drivers are manage-only backends, and Cinder's own
volume manager and scheduler treat them so: a volume whose manage failed
is deleted (its data kept), a managed one is never deleted, and the
scheduler places no new volume on them (in a zone of their own) while
volume and snapshot manage still reach them.
"""

from __future__ import annotations

from typing import Any

from tests.compat import backends
from tests.compat import base


class ManageOnlyMixin(backends.ManagerMixin):

    def references(self) -> list[Any]:
        return [e["reference"] for e in self.manager.driver
                .get_manageable_volumes([], None, 1000, 0, ["reference"],
                                        ["asc"])]

    def new_volume(self, **kwargs: Any) -> Any:
        from cinder.tests.unit import utils
        values = {"status": "managing", "size": 0,
                  "host": self.manager.host}
        values.update(kwargs)
        return utils.create_volume(self.ctxt, volume_type_id=self.vt["id"],
                                   **values)

    def good_reference(self) -> dict[str, str]:
        raise NotImplementedError

    def test_delete_after_a_failed_manage_deletes_the_record_only(
            self) -> None:
        from cinder import exception
        before = self.references()
        volume = self.new_volume()
        self.assertRaises(exception.ManageExistingInvalidReference,
                          self.manager.manage_existing, self.ctxt, volume,
                          {"source-name": "no-such-object"})
        volume.refresh()
        self.assertEqual("error_managing", volume.status)
        # What Cinder's API does for cinder delete of such a volume.
        volume.status = "error_managing_deleting"
        volume.save()
        self.manager.delete_volume(self.ctxt, volume)
        self.assertRaises(exception.VolumeNotFound, volume.refresh)
        self.assertEqual(before, self.references())

    def test_delete_of_a_managed_volume_deletes_nothing(self) -> None:
        from cinder import exception
        volume = self.new_volume()
        self.manager.manage_existing(self.ctxt, volume,
                                     self.good_reference())
        volume.refresh()
        self.assertEqual("available", volume.status)
        after_manage = self.references()
        volume.status = "deleting"
        volume.save()
        self.assertRaises(exception.VolumeDriverException,
                          self.manager.delete_volume,
                          self.ctxt, volume)
        volume.refresh()
        self.assertEqual("error_deleting", volume.status)
        self.assertIn({"source-name": self.managed_name(volume)},
                      after_manage)
        self.assertEqual(after_manage, self.references())

    def managed_name(self, volume: Any) -> str:
        return str(volume.name)

    def test_delete_reason_names_the_object(self) -> None:
        from cinder import exception
        volume = self.new_volume()
        self.manager.manage_existing(self.ctxt, volume,
                                     self.good_reference())
        volume.refresh()
        exc = self.assertRaises(exception.VolumeDriverException,
                                self.manager.driver.delete_volume, volume)
        self.assertIn("never deletes data", str(exc))
        self.assertIn(self.managed_name(volume), str(exc))

    def test_create_is_refused_at_once(self) -> None:
        from cinder import exception
        volume = self.new_volume(status="creating", size=1)
        exc = self.assertRaises(exception.VolumeDriverException,
                                self.manager.driver.create_volume, volume)
        self.assertIn("only manages existing storage", str(exc))

    # Cinder's scheduler, fed the stats this driver reports, with the
    # backend in an availability zone of its own (see
    # manageable_driver.cinder.base).

    def scheduler(self, zone: str = "manage-only") -> Any:
        from cinder.objects import base as objects_base
        from cinder.scheduler import filter_scheduler
        from cinder.tests.unit import utils
        from cinder.volume import rpcapi
        # The service row cinder-volume writes when it starts.
        utils.create_service(self.ctxt, {
            "host": self.manager.host, "binary": "cinder-volume",
            "topic": "cinder-volume", "availability_zone": zone,
            "rpc_current_version": rpcapi.VolumeAPI.RPC_API_VERSION,
            "object_current_version":
                objects_base.OBJ_VERSIONS.get_current()})
        sched = filter_scheduler.FilterScheduler()
        stats = self.manager.driver.get_volume_stats(refresh=True)
        self.assertTrue(stats["manage_only"])
        sched.update_service_capabilities("volume", self.manager.host,
                                          stats, None, None)
        return sched

    @staticmethod
    def spec(properties: dict[str, Any], **fields: Any) -> dict[str, Any]:
        # A RequestSpec as the scheduler reads it: resource_properties is
        # RequestSpec's alias of volume_properties.
        return dict(fields, volume_properties=properties,
                    resource_properties=properties)

    def create_spec(self, volume: Any) -> dict[str, Any]:
        # What the API sends for "cinder create 1": the default zone.
        return self.spec({"size": volume.size, "availability_zone": "nova"},
                         volume_id=volume.id,
                         volume_type={"id": self.vt["id"],
                                      "name": "default", "extra_specs": {}})

    def test_scheduler_places_no_new_volume_here(self) -> None:
        from cinder import exception
        sched = self.scheduler()
        volume = self.new_volume(status="creating", size=1, host=None)
        self.assertRaises(exception.NoValidBackend,
                          sched.schedule_create_volume, self.ctxt,
                          self.create_spec(volume), {})

    def test_default_zone_would_let_creates_through(self) -> None:
        # The control: in the default zone the filters pass a create (the
        # driver then refuses it at once, and Cinder reschedules it).
        sched = self.scheduler(zone="nova")
        volume = self.new_volume(status="creating", size=1, host=None)
        backend = sched.backend_passes_filters(
            self.ctxt, self.manager.host, self.create_spec(volume), {})
        self.assertTrue(backend.host.startswith(self.manager.host + "#"))

    def test_scheduler_still_accepts_manage(self) -> None:
        # The API's request for a volume manage: size 0, the zone of the
        # service it names.
        sched = self.scheduler()
        volume = self.new_volume(availability_zone="manage-only")
        spec = self.spec({"size": 0, "availability_zone": "manage-only"},
                         volume_id=volume.id,
                         volume_type={"id": self.vt["id"],
                                      "name": "default", "extra_specs": {}})
        backend = sched.backend_passes_filters(
            self.ctxt, self.manager.host, spec, {})
        self.assertTrue(backend.host.startswith(self.manager.host + "#"))

    def test_scheduler_still_accepts_snapshot_manage(self) -> None:
        # The API's request for a snapshot manage: the volume's size, no
        # zone, no type. Zero reported capacity would refuse it here.
        sched = self.scheduler()
        volume = self.new_volume(status="available", size=2)
        spec = self.spec({"size": volume.size},
                         snapshot_id="0a5ce4f6-7c5b-4a43-9a39-5e9f2d6b1a10")
        backend = sched.backend_passes_filters(
            self.ctxt, self.manager.host, spec, {})
        self.assertTrue(backend.host.startswith(self.manager.host + "#"))


class LVMManageOnlyTest(ManageOnlyMixin, base.CinderTestCase):

    def setup_backend(self) -> None:
        self.vg = backends.lvm_backend(self)

    def good_reference(self) -> dict[str, str]:
        return {"source-name": "odd"}


class FileManageOnlyTest(ManageOnlyMixin, base.CinderTestCase):

    def setup_backend(self) -> None:
        self.directory = backends.file_backend(self)

    def good_reference(self) -> dict[str, str]:
        return {"source-name": "raw1g.img"}

    def managed_name(self, volume: Any) -> str:
        import os
        return os.path.join(self.directory, volume.name)
