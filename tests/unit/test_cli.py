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

"""Argument handling of the CLI, in process (no backend is touched)."""

import contextlib
import io
import os

from manageable_driver.cmd import cli
from manageable_driver.cmd import output
from tests import base


def run_cli(*argv):
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            code = cli.main(list(argv))
        except SystemExit as exc:
            code = exc.code
    return code, out.getvalue(), err.getvalue()


class ParseTest(base.TestCase):

    def test_sort(self):
        # Cinder's API: no --sort is reference:desc, a bare key is desc.
        self.assertEqual((["reference"], ["desc"]), cli.parse_sort(None))
        self.assertEqual((["size", "reference"], ["asc", "desc"]),
                         cli.parse_sort("size:asc, reference"))
        self.assertRaises(cli.UsageError, cli.parse_sort, "size,,")

    def test_reference(self):
        self.assertEqual({"source-name": "lv1"}, cli.parse_reference("lv1"))
        self.assertEqual({"source-id": "u"},
                         cli.parse_reference('{"source-id": "u"}'))
        self.assertRaises(cli.UsageError, cli.parse_reference, "{bad")
        self.assertRaises(cli.UsageError, cli.parse_reference, "{}]")


class UsageTest(base.TestCase):

    def test_no_command(self):
        code, _out, err = run_cli()
        self.assertEqual(2, code)
        self.assertIn("usage: manageable-driver", err)

    def test_manage_needs_id(self):
        code, _out, err = run_cli("manage", "volume", "img1")
        self.assertEqual(2, code)
        self.assertIn("--id", err)

    def test_config_file_needs_backend(self):
        code, out, err = run_cli("list", "volumes", "--config-file",
                                 "/nonexistent/cinder.conf")
        self.assertEqual((2, ""), (code, out))
        self.assertEqual("manageable-driver: error: --config-file needs "
                         "--backend NAME\n", err)

    def test_missing_config_file(self):
        code, _out, err = run_cli("list", "volumes", "--config-file",
                                  "/nonexistent/cinder.conf",
                                  "--backend", "lvm-1")
        self.assertEqual(2, code)
        self.assertIn("no such file: /nonexistent/cinder.conf", err)
        self.assertNotIn("Traceback", err)

    def test_unknown_backend_section(self):
        path = self.create_tempfiles([("cinder", "[lvm-1]\n")],
                                     ext=".conf")[0]
        code, _out, err = run_cli("list", "volumes", "--config-file", path,
                                  "--backend", "nfs-9")
        self.assertEqual(2, code)
        self.assertIn("no section [nfs-9]", err)

    def test_driver_not_inferable(self):
        path = self.create_tempfiles(
            [("cinder", "[b1]\nvolume_driver = vendor.Driver\n")],
            ext=".conf")[0]
        code, _out, err = run_cli("list", "volumes", "--config-file", path,
                                  "--backend", "b1")
        self.assertEqual(2, code)
        self.assertIn("pass --driver", err)

    def test_bad_managed_file(self):
        code, _out, err = run_cli(
            "list", "volumes", "--dir", os.getcwd(), "--managed-file",
            "/nonexistent/ids")
        self.assertEqual(2, code)
        self.assertIn("--managed-file", err)


class OutputTest(base.TestCase):

    def test_table(self):
        text = output.table([{
            "reference": {"source-name": "a\nb"}, "size": 2,
            "safe_to_manage": False, "reason_not_safe": "in use",
            "cinder_id": None, "extra_info": {"b": "2", "a": "1"}}])
        lines = text.splitlines()
        self.assertEqual(5, len(lines))
        self.assertIn("| Reference ", lines[1])
        self.assertIn("source-name=a\\nb", lines[3])
        self.assertIn("a=1, b=2", lines[3])
        self.assertIn("| False ", lines[3])
        self.assertIn("| -", lines[3])

    def test_snapshot_table_has_source_column(self):
        text = output.table([{"reference": {}, "source_reference":
                              {"source-name": "v"}}])
        self.assertIn("Source reference", text)


class OneLineErrorTest(base.TestCase):

    def test_missing_lvm_conf_is_refused(self):
        code, out, err = run_cli("list", "volumes", "--volume-group", "vg",
                                 "--lvm-conf", "/nonexistent/lvm.conf")
        self.assertEqual((2, ""), (code, out))
        self.assertEqual("manageable-driver: error: --lvm-conf: no such "
                         "file: /nonexistent/lvm.conf\n", err)

    def test_config_file_that_is_not_utf8(self):
        path = self.create_tempfiles([("bad", b"[x]\nvolume_group = \xff\n")],
                                     ext=".conf")[0]
        code, _out, err = run_cli("list", "volumes", "--config-file", path,
                                  "--backend", "x", "--driver", "lvm")
        self.assertEqual(2, code)
        self.assertEqual(1, len(err.splitlines()), err)
        self.assertIn("utf-8", err)

    def test_managed_file_that_is_not_utf8(self):
        path = self.create_tempfiles([("ids", b"\xff\xfe\n")])[0]
        code, _out, err = run_cli("list", "volumes", "--dir", os.getcwd(),
                                  "--managed-file", path)
        self.assertEqual(2, code)
        self.assertIn("--managed-file", err)
        self.assertNotIn("Traceback", err)

    def test_multi_line_messages_become_one_line(self):
        out = io.StringIO()
        with contextlib.redirect_stderr(out):
            code = cli._fail(ValueError("first\n  second\n"), 1)
        self.assertEqual((1, "manageable-driver: error: first second\n"),
                         (code, out.getvalue()))
