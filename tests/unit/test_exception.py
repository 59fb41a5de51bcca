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

from manageable_driver import exception
from tests import base


class ExceptionTest(base.TestCase):

    def test_invalid_reference_message_and_kwargs(self):
        exc = exception.ManageExistingInvalidReference(
            existing_ref={"source-name": "lv1"}, reason="no such LV")
        self.assertEqual(
            "Manage existing volume failed due to invalid backend reference "
            "{'source-name': 'lv1'}: no such LV", str(exc))
        self.assertEqual("no such LV", exc.kwargs["reason"])

    def test_cinder_wording(self):
        cases = [
            (exception.ManageExistingVolumeTypeMismatch(reason="thin"),
             "Manage existing volume failed due to volume type mismatch: "
             "thin"),
            (exception.ManageExistingAlreadyManaged(volume_ref="lv1"),
             "Unable to manage existing volume. Volume lv1 already "
             "managed."),
            (exception.InvalidInput(reason="bad"),
             "Invalid input received: bad"),
            (exception.VolumeBackendAPIException(data="boom"),
             "Bad or unexpected response from the storage volume backend "
             "API: boom"),
        ]
        for exc, text in cases:
            with self.subTest(type(exc).__name__):
                self.assertEqual(text, str(exc))
                self.assertIsInstance(
                    exc, exception.ManageableDriverException)

    def test_wrong_keywords_never_hide_the_error(self):
        exc = exception.InvalidInput(wrong="value")
        self.assertIn("Invalid input received", str(exc))
        self.assertIn("wrong='value'", str(exc))
        self.assertEqual({"wrong": "value"}, exc.kwargs)

    def test_explicit_message(self):
        exc = exception.InvalidInput("plain text", reason="r")
        self.assertEqual("plain text", str(exc))
        self.assertEqual("r", exc.kwargs["reason"])

    def test_command_failed_carries_details(self):
        exc = exception.CommandFailed(cmd="lvrename a b", exit_code=5,
                                      stdout="", stderr="  not found\n")
        self.assertIsInstance(exc, exception.VolumeBackendAPIException)
        self.assertEqual(5, exc.exit_code)
        self.assertEqual("lvrename a b", exc.cmd)
        self.assertEqual("  not found\n", exc.stderr)
        self.assertIn("command lvrename a b exited with 5: not found",
                      str(exc))


class LongArgumentTest(base.TestCase):

    def test_message_shows_a_bounded_part_of_a_huge_argument(self):
        ref = {"source-name": "x", "junk": "A" * 10 ** 6}
        exc = exception.ManageExistingInvalidReference(existing_ref=ref,
                                                       reason="no such LV")
        self.assertLess(len(str(exc)), 500)
        self.assertIn("characters): no such LV", str(exc))
        self.assertIs(ref, exc.kwargs["existing_ref"])

    def test_a_long_tool_message_keeps_its_last_line(self):
        # LVM and qemu-img print the cause last, after pages of warnings.
        stderr = ("  WARNING: something harmless\n" * 200
                  + "  Volume group \"vg0\" not found\n")
        exc = exception.CommandFailed("lvs vg0", 5, stderr=stderr)
        self.assertIn('Volume group "vg0" not found', str(exc))
        self.assertIn("WARNING: something harmless", str(exc))
        self.assertLess(len(str(exc)), 500)
        long_last = "x" * 1000 + " the cause"
        exc = exception.InvalidInput(reason=long_last)
        self.assertTrue(str(exc).endswith(" the cause (1010 characters)"))

    def test_short_arguments_are_shown_whole(self):
        exc = exception.InvalidInput(reason="r" * 300)
        self.assertEqual("Invalid input received: " + "r" * 300, str(exc))
