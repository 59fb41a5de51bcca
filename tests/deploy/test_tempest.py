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

"""Tempest's manage tests, unmodified, on the deployment of
tools/deploy/run.sh: the tests every Cinder driver's third-party CI runs.

For each backend, ``tempest run`` (Tempest 47.0.0, from the package index)
runs with the configuration tools/deploy/tempest_conf.py wrote for it,
in the workspace run.sh made (a HOME of its own); its subunit stream is
read here and every test's outcome compared with what the backend must
give: a pass, or a skip for the reason stated (the skips and their
reasons are in tempest_conf.py and doc/source/admin/deployment.rst).
"""

from __future__ import annotations

import io
import os
import subprocess
import time
from typing import Any

import subunit
import testtools
from testtools import content

from tests.deploy import client

VOLUME = ("tempest.api.volume.admin.test_volume_manage."
          "VolumeManageAdminTest.test_unmanage_manage_volume")
SNAPSHOT = ("tempest.api.volume.admin.test_snapshot_manage."
            "SnapshotManageAdminTest.test_unmanage_manage_snapshot")
ATTACHED = ("tempest.api.volume.admin.test_snapshot_manage."
            "SnapshotManageAdminTest.test_snapshot_manage_with_attached_volume")
REGEX = r"^tempest\.api\.volume\.admin\.test_(volume|snapshot)_manage\."

PASS = ("success", None)
# The LVM backends: snapshots need device-mapper (tempest_conf.py turns
# them off), so Tempest skips the whole snapshot class.
NO_SNAPSHOTS = ("skip", "Cinder volume snapshots are disabled")
NO_NOVA = ("skip", "Skipped because the compute service is not available")


def read_subunit(stream: bytes) -> dict[str, tuple[str, str | None]]:
    """Each test's status and reason from a subunit v2 stream, by test id
    without Tempest's ``[id-...]`` tags: a skip's reason, or the last line
    of a failure's traceback.

    A class that skips in ``setUpClass`` (Tempest's ``skip_checks``) is
    reported once, as ``setUpClass (CLASS)``; its tests, listed but never
    run, take that skip here.
    """
    results: dict[str, tuple[str, str | None]] = {}

    def record(test: dict[str, Any]) -> None:
        details = test["details"]
        why = details.get("reason") or details.get("traceback")
        text = why.as_text().strip().splitlines()[-1] if why else None
        results[test["id"].split("[")[0]] = (test["status"], text)

    parsed = subunit.ByteStreamToStreamResult(io.BytesIO(stream),
                                              non_subunit_name="stdout")
    summary = testtools.StreamToDict(record)
    summary.startTestRun()
    try:
        parsed.run(summary)
    finally:
        summary.stopTestRun()
    for test_id, outcome in list(results.items()):
        if test_id.startswith("setUpClass (") and outcome[0] == "skip":
            cls = test_id[len("setUpClass ("):-1] + "."
            for listed, (status, _) in list(results.items()):
                if listed.startswith(cls) and status == "exists":
                    results[listed] = outcome
            del results[test_id]
    return results


class TempestManageTest(client.DeployTestCase):

    def run_tempest(self, backend: str) -> dict[str, tuple[str, str | None]]:
        backends = os.environ["MD_DEPLOY_TEMPEST_BACKENDS"].split()
        if backend not in backends:
            self.fail("no Tempest configuration for %s (run.sh wrote %s)"
                      % (backend, backends))
        workspace = os.environ["MD_DEPLOY_TEMPEST"]
        conf = os.path.join(workspace, "etc", "tempest-%s.conf" % backend)
        argv = [os.path.join(client.BIN, "tempest"), "run",
                "--config-file", conf, "--regex", REGEX, "--subunit",
                "--concurrency", "2"]
        start = time.monotonic()
        proc = subprocess.run(
            argv, cwd=workspace, capture_output=True, timeout=900,
            env=dict(os.environ, HOME=os.environ["MD_DEPLOY_TEMPEST_HOME"]))
        elapsed = time.monotonic() - start
        results = read_subunit(proc.stdout)
        with open(os.path.join(self.deploy_dir, "tempest-results.log"),
                  "a") as log:
            log.write("%s: tempest run %.1f s, rc=%d\n"
                      % (backend, elapsed, proc.returncode))
            for test_id, (status, reason) in sorted(results.items()):
                log.write("  %-8s %s%s\n" % (
                    status, test_id, " (%s)" % reason if reason else ""))
        self.addDetail("tempest-stderr", content.text_content(
            proc.stderr.decode(errors="replace")))
        return results

    def check(self, backend: str,
              expected: dict[str, tuple[str, str | None]]) -> None:
        results = self.run_tempest(backend)
        # Nothing else ran or failed (a failing class setUp has an id of
        # its own), and each test ended as it must here.
        self.assertEqual(expected, results)

    def test_cinder_lvm(self) -> None:
        # Cinder's own LVMVolumeDriver: proves the harness.
        self.check("cinder-lvm", {VOLUME: PASS, SNAPSHOT: NO_SNAPSHOTS,
                                  ATTACHED: NO_SNAPSHOTS})

    def test_dropin_lvm(self) -> None:
        self.check("md-lvm", {VOLUME: PASS, SNAPSHOT: NO_SNAPSHOTS,
                              ATTACHED: NO_SNAPSHOTS})

    def test_dropin_nfs(self) -> None:
        self.check("md-nfs", {VOLUME: PASS, SNAPSHOT: PASS,
                              ATTACHED: NO_NOVA})

    def test_dropin_rbd(self) -> None:
        self.check("md-rbd", {VOLUME: PASS, SNAPSHOT: PASS,
                              ATTACHED: NO_NOVA})
