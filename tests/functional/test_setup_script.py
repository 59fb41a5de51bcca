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

"""tools/test-setup.sh, run for real on a copy of the project's tools."""

import os
import shutil
import subprocess

import fixtures

from tests import base
from tests.functional import test_file

REPO = test_file.REPO


class TestSetupScriptTest(base.TestCase):

    def test_venv_file_is_kept_and_replaced(self):
        # As root the script installs nothing with apt when bindep.txt's
        # packages are present (they are, for the tests to run); it then
        # creates .venv/ with tox from the package index.
        self.require_root()
        top = self.useFixture(fixtures.TempDir()).path
        os.mkdir(os.path.join(top, "tools"))
        shutil.copy(os.path.join(REPO, "tools", "test-setup.sh"),
                    os.path.join(top, "tools"))
        shutil.copy(os.path.join(REPO, "bindep.txt"), top)
        with open(os.path.join(top, ".venv"), "w") as f:
            f.write("/elsewhere/venv\n")
        proc = subprocess.run(
            ["bash", os.path.join(top, "tools", "test-setup.sh")],
            capture_output=True, text=True, timeout=600, check=False)
        self.assertEqual(0, proc.returncode, proc.stderr)
        self.assertIn(".venv was a file; kept as", proc.stdout)
        self.assertTrue(os.access(os.path.join(top, ".venv", "bin", "tox"),
                                  os.X_OK))
        kept = [n for n in os.listdir(top) if n.startswith(".venv.file.")]
        self.assertEqual(1, len(kept), os.listdir(top))
        with open(os.path.join(top, kept[0])) as f:
            self.assertEqual("/elsewhere/venv\n", f.read())
        # A second run finds the environment and changes nothing.
        proc = subprocess.run(
            ["bash", os.path.join(top, "tools", "test-setup.sh")],
            capture_output=True, text=True, timeout=600, check=False)
        self.assertEqual((0, "test setup done: run .venv/bin/tox\n"),
                         (proc.returncode, proc.stdout), proc.stderr)
