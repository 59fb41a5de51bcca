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

"""The test base class every test case of the project uses.

unittest-style (oslotest/testtools), so that both ``stestr run`` and
``pytest`` collect and run the same tests.
"""

from __future__ import annotations

import os
import shutil

from oslotest import base

FUNCTIONAL_ENV = "MANAGEABLE_DRIVER_FUNCTIONAL"


def functional_required() -> bool:
    """True when functional tests must run (CI sets the variable to 1)."""
    return os.environ.get(FUNCTIONAL_ENV) == "1"


class TestCase(base.BaseTestCase):
    """Base class of all tests."""

    def skip_or_fail(self, reason: str) -> None:
        """Skip with ``reason``, or fail when functional tests are required.

        A functional test that cannot run on this machine is a skip for a
        developer without root, but a failure in CI, where
        MANAGEABLE_DRIVER_FUNCTIONAL=1: a skipped test never passes there.
        """
        if functional_required():
            self.fail("%s=1 but this test cannot run: %s"
                      % (FUNCTIONAL_ENV, reason))
        self.skipTest(reason)

    def require_root(self) -> None:
        if os.geteuid() != 0:
            self.skip_or_fail("needs root (loop devices, LVM)")

    def require_tools(self, *tools: str) -> None:
        path = os.environ.get("PATH", "") + os.pathsep + "/usr/sbin:/sbin"
        missing = [t for t in tools if shutil.which(t, path=path) is None]
        if missing:
            self.skip_or_fail("missing tools: %s (see bindep.txt)"
                              % ", ".join(missing))
