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

"""Cinder's v3 REST API, in-process, on the example drivers.

Cinder's volume and scheduler services run in the test process on the
``fake:`` message transport (Cinder's test base class); requests go
through Cinder's v3 API router with an admin context, as
``cinder manageable-list`` and ``cinder manage`` would send them.
"""

from __future__ import annotations

import json
import time
from typing import Any
from unittest import mock

from tests.compat import backends
from tests.compat import base

HOST = "compat-host"
MICROVERSION = "volume 3.8"
# Services exchange messages in green threads: how long a test waits for
# the scheduler's first capability report and for a volume's final status.
WAIT_SECONDS = 30


class APITestMixin:
    """The test body shared by both backends."""

    def setUp(self) -> None:
        super().setUp()
        from cinder import context
        from cinder.tests.unit import fake_constants as fake
        from cinder.tests.unit.api import fakes
        self.setup_backend()
        self.volume_service = self.start_service("volume", host=HOST)
        self.assertTrue(self.volume_service.manager.driver.initialized,
                        "the driver failed do_setup or "
                        "check_for_setup_error")
        # The scheduler's start sleeps up to a minute for capability
        # reports; as Cinder's functional tests, skip that sleep and wait
        # for the reports below.
        with mock.patch("cinder.scheduler.manager.time"):
            self.scheduler = self.start_service("scheduler")
        self.wait_for(lambda: self.scheduler.manager.driver.is_ready(),
                      "the scheduler never got the backend's capabilities")
        # Cinder's API takes only project ids its project_id_regex allows.
        self.ctxt = context.RequestContext(
            fake.USER_ID, fake.PROJECT_ID, is_admin=True,
            roles=["admin", "member", "reader"])
        self.app = fakes.wsgi_app(fake_auth_context=self.ctxt)

    def setup_backend(self) -> None:
        raise NotImplementedError

    def wait_for(self, predicate: Any, message: str) -> None:
        deadline = time.monotonic() + WAIT_SECONDS
        while not predicate():
            if time.monotonic() > deadline:
                self.fail(message)
            # Patched by eventlet: lets the service green threads run.
            time.sleep(0.05)

    def request(self, method: str, path: str,
                body: dict[str, Any] | None = None) -> Any:
        import webob
        req = webob.Request.blank(
            "/v3/%s/%s" % (self.ctxt.project_id, path), method=method)
        req.headers["OpenStack-API-Version"] = MICROVERSION
        req.headers["Accept"] = "application/json"
        if body is not None:
            req.content_type = "application/json"
            req.body = json.dumps(body).encode()
        return req.get_response(self.app)

    def wait_status(self, volume_id: str, final: tuple[str, ...]) -> Any:
        from cinder import objects
        volume: Any = None

        def settled() -> bool:
            nonlocal volume
            volume = objects.Volume.get_by_id(self.ctxt, volume_id)
            return volume.status in final

        self.wait_for(settled, "volume %s never left status managing"
                      % volume_id)
        return volume

    def test_list_manageable_volumes(self) -> None:
        resp = self.request("GET", "manageable_volumes/detail?host=%s"
                            % HOST)
        self.assertEqual(200, resp.status_int, resp.text)
        listed = resp.json["manageable-volumes"]
        direct = self.volume_service.manager.driver.get_manageable_volumes(
            [], None, 1000, 0, ["reference"], ["asc"])
        self.assertNotEqual([], direct)
        self.assertEqual(
            sorted(json.dumps(e["reference"], sort_keys=True)
                   for e in direct),
            sorted(json.dumps(e["reference"], sort_keys=True)
                   for e in listed))
        by_ref = {json.dumps(e["reference"], sort_keys=True): e
                  for e in listed}
        for entry in direct:
            got = by_ref[json.dumps(entry["reference"], sort_keys=True)]
            for key in ("size", "safe_to_manage", "reason_not_safe",
                        "cinder_id", "extra_info"):
                self.assertEqual(entry[key], got[key], key)

    def test_list_manageable_snapshots(self) -> None:
        resp = self.request("GET", "manageable_snapshots/detail?host=%s"
                            % HOST)
        self.assertEqual(200, resp.status_int, resp.text)
        listed = resp.json["manageable-snapshots"]
        self.assertNotEqual([], listed)
        for entry in listed:
            self.assertIn("source_reference", entry)

    def test_bad_sort_key_is_a_client_error(self) -> None:
        # Cinder's API checks the key; our InvalidInput would be a 400 too.
        resp = self.request("GET", "manageable_volumes/detail?host=%s"
                            "&sort=colour" % HOST)
        self.assertEqual(400, resp.status_int, resp.text)

    def test_marker_error_from_our_driver_is_a_client_error(self) -> None:
        # Cinder passes the marker to the driver; our InvalidInput, turned
        # into Cinder's by the example driver, crosses RPC as a 400.
        import urllib.parse
        marker = urllib.parse.quote(json.dumps({"source-name": "nope"}))
        resp = self.request("GET", "manageable_volumes/detail?host=%s"
                            "&marker=%s" % (HOST, marker))
        self.assertEqual(400, resp.status_int, resp.text)
        self.assertIn("marker not found", resp.text)

    def test_manage_to_available(self) -> None:
        ref, size = self.manageable_object()
        resp = self.request("POST", "manageable_volumes", {"volume": {
            "host": HOST, "ref": ref, "name": "adopted"}})
        self.assertEqual(202, resp.status_int, resp.text)
        volume = self.wait_status(resp.json["volume"]["id"],
                                  ("available", "error_managing"))
        self.assertEqual("available", volume.status)
        self.assertEqual(size, volume.size)

    def test_bad_reference_ends_in_error_managing(self) -> None:
        import fixtures

        from manageable_driver import exception
        ref = {"source-name": "no-such-object"}
        # Our message for this reference, from the library driver itself.
        ours = self.assertRaises(
            exception.ManageExistingInvalidReference,
            self.volume_service.manager.driver.backend
            .manage_existing_get_size, {"name": "x"}, ref)
        log = self.useFixture(fixtures.FakeLogger(level="DEBUG"))
        resp = self.request("POST", "manageable_volumes", {"volume": {
            "host": HOST, "ref": ref}})
        self.assertEqual(202, resp.status_int, resp.text)
        volume = self.wait_status(resp.json["volume"]["id"],
                                  ("available", "error_managing"))
        self.assertEqual("error_managing", volume.status)
        # Our message reached Cinder's log, in Cinder's exception.
        self.assertIn("ManageExistingInvalidReference: %s" % ours,
                      log.output)

    def manageable_object(self) -> tuple[dict[str, str], int]:
        raise NotImplementedError


class LVMAPITest(APITestMixin, base.CinderTestCase):

    def setup_backend(self) -> None:
        backends.lvm_backend(self)

    def manageable_object(self) -> tuple[dict[str, str], int]:
        return {"source-name": "odd"}, 2


class FileAPITest(APITestMixin, base.CinderTestCase):

    def setup_backend(self) -> None:
        backends.file_backend(self)

    def manageable_object(self) -> tuple[dict[str, str], int]:
        return {"source-name": "odd.qcow2"}, 2
