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

from manageable_driver import interface
from tests import base


class Complete(interface.VolumeListManageableDriver,
               interface.VolumeSnapshotManagementDriver):
    def manage_existing(self, volume, existing_ref):
        return None

    def manage_existing_get_size(self, volume, existing_ref):
        return 1

    def unmanage(self, volume):
        return None

    def get_manageable_volumes(self, cinder_volumes, marker, limit, offset,
                               sort_keys, sort_dirs):
        return []

    def get_manageable_snapshots(self, cinder_snapshots, marker, limit,
                                 offset, sort_keys, sort_dirs):
        return []

    def manage_existing_snapshot(self, snapshot, existing_ref):
        return None

    def manage_existing_snapshot_get_size(self, snapshot, existing_ref):
        return 1

    def unmanage_snapshot(self, snapshot):
        return None


class DuckTyped:
    """Implements the management interface without inheriting from it."""

    def manage_existing(self, volume, existing_ref):
        return None

    def manage_existing_get_size(self, volume, existing_ref):
        return 1

    def unmanage(self, volume):
        return None


class AbstractBaseTest(base.TestCase):

    def test_complete_subclass_instantiates(self):
        self.assertIsInstance(Complete(), interface.VolumeManagementDriver)

    def test_subclass_missing_a_method_cannot_be_instantiated(self):
        class NoUnmanage(interface.VolumeManagementDriver):
            def manage_existing(self, volume, existing_ref):
                return None

            def manage_existing_get_size(self, volume, existing_ref):
                return 1

        exc = self.assertRaises(TypeError, NoUnmanage)
        self.assertIn("unmanage", str(exc))

    def test_list_interface_extends_management_interface(self):
        self.assertTrue(issubclass(interface.VolumeListManageableDriver,
                                   interface.VolumeManagementDriver))


class ConformanceTest(base.TestCase):

    def test_complete_class_conforms_to_all(self):
        self.assertEqual([], interface.check_conformance(Complete))
        self.assertTrue(interface.conforms(Complete))

    def test_duck_typed_class_conforms(self):
        self.assertEqual([], interface.check_conformance(
            DuckTyped, interface.VolumeManagementDriver))

    def test_int_does_not_conform(self):
        # Cinder's own __subclasshook__ says int implements its interfaces.
        problems = interface.check_conformance(
            int, interface.VolumeManagementDriver)
        self.assertEqual(
            ["missing method manage_existing (from VolumeManagementDriver)",
             "missing method manage_existing_get_size "
             "(from VolumeManagementDriver)",
             "missing method unmanage (from VolumeManagementDriver)"],
            problems)
        self.assertFalse(interface.conforms(int))
        self.assertEqual(8, len(interface.check_conformance(int)))

    def test_missing_one_method(self):
        class NoSize:
            def manage_existing(self, volume, existing_ref):
                return None

            def unmanage(self, volume):
                return None

        self.assertEqual(
            ["missing method manage_existing_get_size "
             "(from VolumeManagementDriver)"],
            interface.check_conformance(
                NoSize, interface.VolumeManagementDriver))

    def test_renamed_parameter(self):
        class Renamed(DuckTyped):
            def manage_existing(self, volume, ref):
                return None

        self.assertEqual(
            ["manage_existing(volume, ref) differs from the interface's "
             "manage_existing(volume, existing_ref)"],
            interface.check_conformance(
                Renamed, interface.VolumeManagementDriver))

    def test_missing_parameter(self):
        class Short(Complete):
            def get_manageable_volumes(self, cinder_volumes, marker, limit,
                                       offset, sort_keys):
                return []

        problems = interface.check_conformance(Short)
        self.assertEqual(1, len(problems))
        self.assertIn("get_manageable_volumes(cinder_volumes, marker, "
                      "limit, offset, sort_keys) differs", problems[0])

    def test_swapped_parameters(self):
        class Swapped(DuckTyped):
            def manage_existing_get_size(self, existing_ref, volume):
                return 1

        problems = interface.check_conformance(
            Swapped, interface.VolumeManagementDriver)
        self.assertEqual(1, len(problems))
        self.assertIn("manage_existing_get_size(existing_ref, volume)",
                      problems[0])

    def test_extra_required_parameter(self):
        class Extra(DuckTyped):
            def unmanage(self, volume, force):
                return None

        self.assertEqual(
            ["unmanage has required parameters the interface does not "
             "pass: force"],
            interface.check_conformance(
                Extra, interface.VolumeManagementDriver))

    def test_extra_optional_parameters_are_accepted(self):
        class Optional(DuckTyped):
            def unmanage(self, volume, force=False, *args, **kwargs):
                return None

        self.assertEqual([], interface.check_conformance(
            Optional, interface.VolumeManagementDriver))

    def test_attribute_that_is_not_callable(self):
        class NotCallable(DuckTyped):
            unmanage = "yes"

        self.assertEqual(
            ["missing method unmanage (from VolumeManagementDriver)"],
            interface.check_conformance(
                NotCallable, interface.VolumeManagementDriver))

    def test_static_method_is_reported(self):
        class Static(DuckTyped):
            @staticmethod
            def unmanage(volume):
                return None

        self.assertEqual(
            ["unmanage is a staticmethod, not an instance method"],
            interface.check_conformance(
                Static, interface.VolumeManagementDriver))

    def test_instance_is_refused(self):
        self.assertRaises(TypeError, interface.check_conformance,
                          Complete())

    def test_still_abstract_method_is_reported(self):
        class Partial(interface.VolumeManagementDriver):
            def manage_existing(self, volume, existing_ref):
                return None

        problems = interface.check_conformance(
            Partial, interface.VolumeManagementDriver)
        self.assertEqual(["method manage_existing_get_size is still "
                          "abstract", "method unmanage is still abstract"],
                         problems)
