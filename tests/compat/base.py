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

"""Base classes of the tests that run Cinder's own code on our drivers.

Cinder comes from the package index (``tox -e compat``). Without it these
tests are still collected: each one skips, or fails when
MANAGEABLE_DRIVER_FUNCTIONAL=1, as a functional test does without root.

:class:`CinderTestCase` stands on Cinder's own unit-test base class, so the
tests get what Cinder's tests get: an sqlite database with Cinder's schema,
a fake notifier, the ``fake:`` message transport and ``start_service``.
Importing ``cinder.tests.unit`` first applies Cinder's eventlet monkey
patching (the mode cinder-volume runs in) and registers Cinder's objects.
"""

from __future__ import annotations

import importlib.metadata
import os
import sys

from tests import base

try:
    # Order matters: the package applies eventlet patching and registers
    # every Cinder object before the test module uses them.
    import cinder.tests.unit  # noqa: F401
    from cinder.tests.unit import test as cinder_test
except ImportError as exc:
    CINDER_MISSING: str | None = (
        "Cinder is not installed (%s); run tox -e compat" % exc)
    _CinderBase: type = base.TestCase
else:
    CINDER_MISSING = None
    _CinderBase = cinder_test.TestCase


def installed_cinder_file(name: str) -> str | None:
    """Return where the Cinder wheel installed the data file ``name``.

    The wheel puts ``etc/cinder/*`` under the environment's prefix
    (``<venv>/etc/cinder``), not beside the package where Cinder's test
    base class looks for it.
    """
    try:
        files = importlib.metadata.distribution("cinder").files or ()
    except importlib.metadata.PackageNotFoundError:
        return None
    for entry in files:
        if entry.name == name and "etc/cinder" in str(entry):
            path = str(entry.locate())
            if os.path.exists(path):
                return os.path.abspath(path)
    fallback = os.path.join(sys.prefix, "etc", "cinder", name)
    return fallback if os.path.exists(fallback) else None


class NeedsCinder(base.TestCase):
    """A test that only needs Cinder importable, not its test harness."""

    def setUp(self) -> None:
        super().setUp()
        if CINDER_MISSING:
            self.skip_or_fail(CINDER_MISSING)


class CinderTestCase(_CinderBase):
    """Cinder's own unit-test base class, made to run from an installed
    Cinder and under pytest as well as stestr."""

    RESOURCE_FILTER_PATH = installed_cinder_file("resource_filters.json")

    def setUp(self) -> None:
        if CINDER_MISSING:
            # Without Cinder this class is tests.base.TestCase: run its
            # setUp so the skip (or failure) is reported the usual way.
            super().setUp()
            base.TestCase.skip_or_fail(self, CINDER_MISSING)
        if self.RESOURCE_FILTER_PATH is None:
            # Cinder's API reads it on every list call.
            self.fail("the Cinder wheel's resource_filters.json was not "
                      "found under %s" % sys.prefix)
        super().setUp()

    def skip_or_fail(self, reason: str) -> None:
        base.TestCase.skip_or_fail(self, reason)

    def require_root(self) -> None:
        base.TestCase.require_root(self)

    def require_tools(self, *tools: str) -> None:
        base.TestCase.require_tools(self, *tools)

    def _common_cleanup(self) -> None:
        # Cinder's version also deletes every public instance attribute to
        # free memory; pytest (9) keeps its own state in public attributes
        # of the test instance and breaks when they vanish. Do the rest.
        for svc in self._services:
            try:
                svc.stop()
            except Exception:  # noqa: S110
                # As Cinder's cleanup: a service that failed to start must
                # not hide the test's own result.
                pass
        cinder.tests.unit.stop_looping_calls()
        from eventlet import tpool
        tpool.killall()
        tpool._nthreads = 20
