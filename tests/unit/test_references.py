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

import types

from manageable_driver import exception
from manageable_driver import references
from tests import base


class ParseReferenceTest(base.TestCase):

    def test_valid(self):
        self.assertEqual(("source-name", "lv1"),
                         references.parse_reference({"source-name": "lv1"}))
        self.assertEqual(("source-id", "u"),
                         references.parse_reference({"source-id": "u"}))
        self.assertEqual(
            ("source-name", "a"),
            references.parse_reference({"source-id": "u",
                                        "source-name": "a"}))

    def test_invalid(self):
        cases = [
            (None, "reference must be a dict, got NoneType"),
            ("lv1", "reference must be a dict, got str"),
            ({}, "reference needs one of the keys source-name, source-id"),
            ({"name": "x"}, "needs one of the keys"),
            ({"source-name": ""}, "source-name is empty"),
            ({"source-name": 5}, "source-name must be a string, got int"),
            ({"source-name": "a\0b"}, "contains a NUL character"),
            ({"source-name": "x" * 5000}, "longer than 4096 characters"),
        ]
        for ref, reason in cases:
            with self.subTest(ref=repr(ref)[:40]):
                exc = self.assertRaises(
                    exception.ManageExistingInvalidReference,
                    references.parse_reference, ref)
                self.assertIn(reason, str(exc))
                self.assertLess(len(str(exc)), 600)


class VolumeFieldsTest(base.TestCase):

    def test_object_name(self):
        self.assertEqual("volume-1",
                         references.object_name({"name": "volume-1"}))
        self.assertRaises(exception.InvalidInput, references.object_name,
                          {"id": "1"})
        self.assertRaises(exception.InvalidInput, references.object_name,
                          types.SimpleNamespace(name=5))

    def test_requested_extra_spec(self):
        def volume(specs):
            return {"volume_type": {"extra_specs": specs}}

        self.assertEqual("thin", references.requested(
            volume({"provisioning:type": "thin"}), "provisioning:type"))
        self.assertEqual("thick", references.requested(
            volume({"capabilities:provisioning:type": "<is> Thick"}),
            "provisioning:type"))
        self.assertIsNone(references.requested(volume({}),
                                               "provisioning:type"))
        self.assertIsNone(references.requested({"volume_type": None},
                                               "volume_format"))
        vtype = types.SimpleNamespace(extra_specs={"volume_format": "qcow2"})
        self.assertEqual("qcow2", references.requested(
            types.SimpleNamespace(volume_type=vtype), "volume_format"))
