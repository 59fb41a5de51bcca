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

"""Two cinder-volume services of one cluster (active-active) on one
shared image directory, locking through tooz on a real Redis: concurrent
``cinder manage`` of one image through the API adopt it exactly once."""

from __future__ import annotations

import concurrent.futures
import os
import time

from tests.deploy import client

CONCURRENT = 4


class ClusterTest(client.DeployTestCase):

    def test_concurrent_manage_of_one_image(self) -> None:
        shared = os.environ["MD_DEPLOY_SHARED"]
        self.members = os.environ["MD_DEPLOY_CLUSTER_HOSTS"].split()
        path = os.path.join(shared, "contested.qcow2")
        self.assertTrue(os.path.exists(path))

        def manage(i: int) -> str:
            # To each member of the cluster in turn, by its host: cinder
            # manage requires a host argument and Cinder's API takes
            # either a host or a cluster, never an empty host, and
            # openstackclient's "volume create --cluster --remote-source"
            # needs an image service. Each member then runs its manage
            # against the same image at the same time.
            member = self.members[i % len(self.members)]
            return client.properties(self.cinder(
                "manage", "--id-type", "source-name",
                "--name", "contested-%d" % i, "--volume-type", "shared",
                "%s@shared#shared" % member, path))["id"]

        with concurrent.futures.ThreadPoolExecutor(CONCURRENT) as pool:
            ids = list(pool.map(manage, range(CONCURRENT)))
        final = {vol_id: self.settle(vol_id) for vol_id in ids}
        statuses = sorted(shown["status"] for shown in final.values())
        self.assertEqual(["available"] + ["error"] * (CONCURRENT - 1),
                         statuses, final)
        winner, = [v for v, shown in final.items()
                   if shown["status"] == "available"]
        # Managed into the cluster, whichever member ran it.
        self.assertEqual("%s@shared#shared" % os.environ["MD_DEPLOY_CLUSTER"],
                         final[winner]["cluster_name"])
        # One name on disk: the winner's; the image is not left twice.
        self.assertEqual(["volume-%s" % winner], sorted(
            n for n in os.listdir(shared) if not n.startswith(".")))
        # Each loser failed with the library's reason, in the log of the
        # cluster member that ran it.
        logs = (self.log_text("cinder-volume-md-node-a")
                + self.log_text("cinder-volume-md-node-b"))
        losers = [v for v in ids if v != winner]
        for vol_id in losers:
            self.assertIn(vol_id, logs)
        self.assertGreaterEqual(
            logs.count("Manage existing volume failed due to invalid "
                       "backend reference"), len(losers))
        # Release them all again: the losers hold nothing on the backend.
        for vol_id in losers:
            self.cinder("delete", vol_id)
        self.cinder("unmanage", winner)
        for vol_id in ids:
            self.wait_gone(vol_id)
        self.assertEqual(["volume-%s" % winner], sorted(
            n for n in os.listdir(shared) if not n.startswith(".")))

    def settle(self, vol_id: str, timeout: float = 120) -> dict[str, str]:
        deadline = time.monotonic() + timeout
        while True:
            shown = self.show(vol_id)
            if shown["status"] not in ("creating", "managing"):
                return shown
            if time.monotonic() > deadline:
                raise AssertionError("volume %s still %s"
                                     % (vol_id, shown["status"]))
            time.sleep(0.5)
