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

"""The operator's clients against the deployment of tools/deploy/run.sh.

Every call runs the real ``cinder`` (python-cinderclient) or ``openstack``
(python-openstackclient) command with Keystone credentials from the
``OS_*`` variables run.sh exports, and is logged, with its duration and
result, to ``$MD_DEPLOY_DIR/client-calls.log`` (run.sh prints it at the
end).
"""

from __future__ import annotations

import ast
import json
import os
import subprocess
import sys
import time
from typing import Any

from tests import base

BIN = os.path.dirname(sys.executable)


def parse_table(text: str) -> list[dict[str, str]]:
    """Rows of the first PrettyTable in ``text``, keyed by its header."""
    rows = [line for line in text.splitlines() if line.startswith("|")]
    if not rows:
        return []
    cells = [[c.strip() for c in row.strip("|").split("|")] for row in rows]
    header = cells[0]
    return [dict(zip(header, row, strict=True)) for row in cells[1:]]


def properties(text: str) -> dict[str, str]:
    """``cinder show``'s Property/Value table as a dict."""
    return {row["Property"]: row["Value"] for row in parse_table(text)}


def reference(cell: str) -> dict[str, str]:
    """A reference cell of manageable-list (a printed dict)."""
    return dict(ast.literal_eval(cell))


class ClientFailed(AssertionError):
    def __init__(self, argv: list[str], proc: Any) -> None:
        super().__init__("%s exited %d: %s%s" % (" ".join(argv),
                                                  proc.returncode,
                                                  proc.stdout, proc.stderr))
        self.returncode = proc.returncode
        self.output = proc.stdout + proc.stderr


class DeployTestCase(base.TestCase):
    """A test against the running deployment."""

    def setUp(self) -> None:
        super().setUp()
        self.deploy_dir = os.environ.get("MD_DEPLOY_DIR")
        if not self.deploy_dir:
            self.skip_or_fail("no deployment to test: run tox -e deploy "
                              "(tools/deploy/run.sh starts it)")
        self.host = os.environ["MD_DEPLOY_HOST"]

    def pool(self, backend: str) -> str:
        return "%s@%s#%s" % (self.host, backend, backend)

    def run_client(self, argv: list[str], check: bool | None = True) -> str:
        """Run a client command; ``check`` True: it must succeed, False:
        it must fail (the output, stderr included, is returned), None:
        either."""
        start = time.monotonic()
        proc = subprocess.run(argv, capture_output=True, text=True,
                              timeout=120)
        elapsed = time.monotonic() - start
        first = (proc.stdout or proc.stderr).strip().splitlines()
        with open(os.path.join(self.deploy_dir, "client-calls.log"),
                  "a") as log:
            log.write("%5.2f s  rc=%d  %s  ->  %s\n" % (
                elapsed, proc.returncode,
                " ".join(os.path.basename(a) if i == 0 else a
                         for i, a in enumerate(argv)),
                (first[-1] if first else "")[:160]))
        if check and proc.returncode != 0:
            raise ClientFailed(argv, proc)
        if check is False and proc.returncode == 0:
            raise AssertionError("%s succeeded: %s" % (" ".join(argv),
                                                       proc.stdout))
        return proc.stdout if check else proc.stdout + proc.stderr

    def cinder(self, *args: str, version: str = "3.66",
               check: bool | None = True) -> str:
        """Run ``cinder --os-volume-api-version VERSION ARGS``."""
        return self.run_client([os.path.join(BIN, "cinder"),
                                "--os-volume-api-version", version, *args],
                               check=check)

    def openstack(self, *args: str) -> Any:
        """Run ``openstack ARGS -f json`` and return the parsed output."""
        return json.loads(self.run_client(
            [os.path.join(BIN, "openstack"), *args, "-f", "json"]))

    def show(self, volume_id: str) -> dict[str, str]:
        return properties(self.cinder("show", volume_id))

    def wait_volume(self, volume_id: str, statuses: tuple[str, ...],
                    timeout: float = 90) -> dict[str, str]:
        """Poll ``cinder show`` until the status is one of ``statuses``."""
        deadline = time.monotonic() + timeout
        while True:
            shown = self.show(volume_id)
            if shown["status"] in statuses:
                return shown
            if shown["status"] in ("error", "error_deleting",
                                   "error_managing") or (
                    time.monotonic() > deadline):
                raise AssertionError("volume %s is %s, expected %s"
                                     % (volume_id, shown["status"],
                                        statuses))
            time.sleep(0.5)

    def wait_gone(self, volume_id: str, timeout: float = 90) -> None:
        """Poll until ``cinder show`` says there is no such volume."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if "No volume with a name or ID" in self.cinder(
                    "show", volume_id, check=None):
                return
            time.sleep(0.5)
        raise AssertionError("volume %s still exists" % volume_id)

    def manage(self, backend: str, ref: str, name: str,
               id_type: str = "source-name") -> str:
        """``cinder manage``; return the new volume's id."""
        out = properties(self.cinder(
            "manage", "--id-type", id_type, "--name", name,
            "--volume-type", backend, self.pool(backend), ref))
        return out["id"]

    def log_text(self, name: str) -> str:
        with open(os.path.join(os.environ["MD_DEPLOY_LOGS"],
                               name + ".log")) as f:
            return f.read()
