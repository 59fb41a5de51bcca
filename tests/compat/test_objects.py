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

"""Our listing entries pass Cinder's objects unchanged.

Cinder's volume manager turns driver entries into ``ManageableVolume`` and
``ManageableSnapshot`` objects with ``from_primitives``. Its fields coerce
silently (an int reference value becomes a str, a float size is
truncated to an int) and a key that is not a field is dropped whenever
``extra_info`` is set. Entries from both real backends must come out of
that conversion exactly as they went in: same keys, same values, same
types.
"""

from __future__ import annotations

from typing import Any

from tests.compat import backends
from tests.compat import base


def typed(value: Any) -> Any:
    """``value`` with the type of every part of it, to compare exactly."""
    if isinstance(value, dict):
        return ("dict", sorted((typed(k), typed(v))
                               for k, v in value.items()))
    if isinstance(value, (list, tuple)):
        return (type(value).__name__, [typed(v) for v in value])
    return (type(value).__name__, value)


class ObjectsTestMixin(backends.ManagerMixin):
    """The test body shared by both backends."""

    def assert_unchanged(self, entries: list[dict[str, Any]],
                         objs: list[Any], cls: Any) -> None:
        self.assertEqual(len(entries), len(objs))
        for entry, obj in zip(entries, objs, strict=True):
            self.assertIsInstance(obj, cls)
            # Every key is a field of the object: none lands in
            # extra_info, none is dropped.
            self.assertEqual(
                set(), set(entry) - set(cls.fields),
                "keys that are not fields of %s" % cls.__name__)
            after = {key: obj[key] for key in entry}
            self.assertEqual(
                typed(entry), typed(after),
                "%s changed the entry" % cls.__name__)

    def test_volume_entries_pass_unchanged(self) -> None:
        from cinder import objects
        entries = self.manager.driver.get_manageable_volumes(
            [], None, 1000, 0, ["reference"], ["asc"])
        self.assertNotEqual([], entries)
        # Not safe entries carry every optional field.
        self.assertIn(False,
                      [e["safe_to_manage"] for e in entries])
        objs = objects.ManageableVolumeList.from_primitives(
            self.ctxt, entries)
        self.assert_unchanged(entries, objs, objects.ManageableVolume)

    def test_snapshot_entries_pass_unchanged(self) -> None:
        from cinder import objects
        entries = self.manager.driver.get_manageable_snapshots(
            [], None, 1000, 0, ["reference"], ["asc"])
        self.assertNotEqual([], entries)
        objs = objects.ManageableSnapshotList.from_primitives(
            self.ctxt, entries)
        self.assert_unchanged(entries, objs, objects.ManageableSnapshot)


class LVMObjectsTest(ObjectsTestMixin, base.CinderTestCase):

    def setup_backend(self) -> None:
        backends.lvm_backend(self)


class FileObjectsTest(ObjectsTestMixin, base.CinderTestCase):

    def setup_backend(self) -> None:
        backends.file_backend(self)


class CoercionCheckTest(base.CinderTestCase):
    """The comparison above can fail: Cinder coerces this entry."""

    def test_comparison_sees_coercion(self) -> None:
        from cinder import context
        from cinder import objects
        entry = {"reference": {"source-name": 7}, "size": 1.5,
                 "safe_to_manage": True, "reason_not_safe": None,
                 "cinder_id": None, "extra_info": None}
        obj = objects.ManageableVolume.from_primitives(
            context.get_admin_context(), entry)
        self.assertNotEqual(
            typed(entry), typed({key: obj[key] for key in entry}))

