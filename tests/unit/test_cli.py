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

from manageable_driver.cmd import backends
from manageable_driver.cmd import cli
from manageable_driver.cmd import output
from manageable_driver.drivers.file import FileDriver
from manageable_driver.drivers.lvm import LVMDriver
from tests import base

VOL_ID = "3f0e8a8c-2d6b-4c1e-9a55-0c2f4f0e9b71"


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
            [("cinder", "[b1]\nvolume_driver = Vendor.Driver\n")],
            ext=".conf")[0]
        code, _out, err = run_cli("list", "volumes", "--config-file", path,
                                  "--backend", "b1")
        self.assertEqual(2, code)
        # Echoed as given, not lower-cased.
        self.assertIn("volume_driver = Vendor.Driver in [b1]", err)
        self.assertIn("pass --driver (file, lvm, rbd)", err)

    def test_no_backend_explains_the_choices(self):
        code, out, err = run_cli("list", "volumes")
        self.assertEqual((2, ""), (code, out))
        self.assertIn("no backend given, so nothing was read or changed",
                      err)
        for flag in ("--dir DIR", "--volume-group VG",
                     "--config-file FILE --backend NAME"):
            self.assertIn(flag, err)

    def test_driver_alone_is_not_a_backend(self):
        code, _out, err = run_cli("list", "volumes", "--driver", "file")
        self.assertEqual(2, code)
        self.assertIn("the file backend needs --dir", err)

    def test_two_backends(self):
        code, _out, err = run_cli("list", "volumes", "--dir", "/x",
                                  "--volume-group", "vg")
        self.assertEqual(2, code)
        self.assertIn("name different backends", err)
        code, _out, err = run_cli("list", "volumes", "--dir", "/x",
                                  "--lvm-conf", "/etc/hostname")
        self.assertEqual(2, code)
        self.assertIn("--lvm-conf is a flag of the lvm backend, not of file",
                      err)

    def test_ids_must_be_uuids(self):
        for argv in (["unmanage", "volume", "--id", "not-a-uuid"],
                     ["manage", "volume", "x", "--id", "9999"],
                     ["manage", "snapshot", "x", "--id", VOL_ID,
                      "--volume-id", "v1"]):
            with self.subTest(argv=argv):
                code, _out, err = run_cli(*argv, "--dir", "/x")
                self.assertEqual(2, code)
                self.assertIn("is not a Cinder id (a UUID)", err)

    def test_manage_snapshot_needs_volume_id(self):
        code, _out, err = run_cli("manage", "snapshot", "s", "--id", VOL_ID,
                                  "--dir", "/x")
        self.assertEqual(2, code)
        self.assertIn("the following arguments are required: --volume-id",
                      err)

    def test_misspelt_flag_is_reported_against_the_subcommand(self):
        code, _out, err = run_cli("list", "volumes", "--dir", "/x",
                                  "--limt", "3")
        self.assertEqual(2, code)
        self.assertIn("usage: manageable-driver list volumes", err)
        self.assertIn("manageable-driver list volumes: error: unrecognized "
                      "arguments: --limt 3", err)

    def test_no_abbreviations(self):
        # --y is not --yes: a flag that skips a question is never guessed.
        code, _out, err = run_cli("manage", "volume", "x", "--id", VOL_ID,
                                  "--dir", "/x", "--y")
        self.assertEqual(2, code)
        self.assertIn("unrecognized arguments: --y", err)

    def test_help_has_exit_codes_and_examples(self):
        for argv in ([], ["list", "volumes", "--help"]):
            with self.subTest(argv=argv):
                _code, out, err = run_cli(*argv)
                text = out + err
                self.assertIn("exit codes:", text)
                self.assertIn("  3    unmanage: no object", text)
                self.assertIn("examples:", text)

    def test_every_option_has_help(self):
        _parser, leaves = cli.build_parser()
        for (command, kind), leaf in leaves.items():
            for action in leaf._actions:
                with self.subTest(command=command, kind=kind,
                                  dest=action.dest):
                    self.assertTrue(action.help)


class ConfigFileTest(base.TestCase):
    """cinder.conf read as Cinder reads it."""

    def build(self, text, *argv):
        path = self.create_tempfiles([("cinder", text)], ext=".conf")[0]
        args, _extra = cli.build_parser()[0].parse_known_args(
            ["list", "volumes", "--config-file", path, "--backend", "b1",
             *argv])
        return cli.build_driver(args, backends.load())[1]

    def test_cinder_driver_paths_are_mapped(self):
        paths = {
            "cinder.volume.drivers.lvm.LVMVolumeDriver": LVMDriver,
            "manageable_driver.cinder.lvm.LVMManageableDriver": LVMDriver,
            "manageable_driver.cinder.lvm.LVMVolumeDriver": LVMDriver,
            "cinder.volume.drivers.nfs.NfsDriver": FileDriver,
            "manageable_driver.cinder.file.FileManageableDriver": FileDriver,
            "manageable_driver.cinder.nfs.NfsDriver": FileDriver,
        }
        for path, driver_cls in paths.items():
            with self.subTest(path=path):
                driver = self.build("[b1]\nvolume_driver = %s\n"
                                    "file_volume_dirs = /srv/a\n" % path)
                self.assertIsInstance(driver, driver_cls)

    def test_name_templates_come_from_default(self):
        driver = self.build(
            "[DEFAULT]\nvolume_name_template = vol-%s\n"
            "snapshot_name_template = snap-%s\n"
            "[b1]\nvolume_driver = cinder.volume.drivers.lvm."
            "LVMVolumeDriver\nvolume_name_template = ignored-%s\n")
        self.assertEqual("vol-%s",
                         driver.configuration.volume_name_template)
        self.assertEqual("snap-%s",
                         driver.configuration.snapshot_name_template)

    def test_empty_and_overlapping_dirs_are_bad_usage(self):
        for dirs, words in (("", "file_volume_dirs is empty"),
                            ("/srv/a,/srv/a/b", "one is inside the other")):
            with self.subTest(dirs=dirs):
                path = self.create_tempfiles([("cinder", (
                    "[b1]\nvolume_driver = cinder.volume.drivers.nfs."
                    "NfsDriver\nfile_volume_dirs = %s\n" % dirs))],
                    ext=".conf")[0]
                code, out, err = run_cli("list", "volumes", "--config-file",
                                         path, "--backend", "b1")
                self.assertEqual((2, ""), (code, out))
                self.assertIn(words, err)
                self.assertEqual(1, len(err.splitlines()), err)


class MarkerTest(base.TestCase):

    def test_same_object(self):
        same = backends.Backend().same_object
        listed = {"reference": {"source-name": "/srv/images/db01.qcow2"}}
        self.assertTrue(same(listed, dict(listed["reference"])))
        self.assertTrue(same(listed, {"source-name": "db01.qcow2"}))
        self.assertTrue(same(listed, {"source-name": "images/db01.qcow2"}))
        self.assertFalse(same(listed, {"source-name": "b01.qcow2"}))
        self.assertFalse(same(listed, {"source-name": ""}))
        self.assertFalse(same(listed, {"source-id": "db01.qcow2"}))

    def test_lvm_same_object(self):
        # LVM lists "lv"; manage also takes "vg/lv" and the LV's UUID.
        same = backends.LVMBackend().same_object
        entry = {"reference": {"source-name": "lv"},
                 "extra_info": {"lv_uuid": "Abc-123"}}
        self.assertTrue(same(entry, {"source-name": "vg/lv"}))
        self.assertTrue(same(entry, {"source-id": "Abc-123"}))
        self.assertFalse(same(entry, {"source-id": "Abc-124"}))
        self.assertFalse(same(dict(entry, extra_info=None),
                              {"source-id": "Abc-123"}))


ENTRY = {"reference": {"source-name": "a\nb"}, "size": 2,
         "safe_to_manage": False, "reason_not_safe": "in use",
         "cinder_id": None, "extra_info": {"b": "2", "a": "1"}}


class OutputTest(base.TestCase):

    def test_table(self):
        text = output.table([ENTRY], output.default_fields("volumes"))
        lines = text.splitlines()
        self.assertEqual(5, len(lines))
        self.assertIn("| Reference ", lines[1])
        self.assertIn("source-name=a\\nb", lines[3])
        self.assertIn("a=1, b=2", lines[3])
        self.assertIn("| False ", lines[3])
        self.assertIn("| -", lines[3])

    def test_unknown_size(self):
        text = output.table([dict(ENTRY, size=None)], ["size"])
        self.assertEqual("| unknown |", text.splitlines()[3])

    def test_snapshot_table_has_source_column(self):
        text = output.table([{"reference": {}, "source_reference":
                              {"source-name": "v"}}],
                            output.default_fields("snapshots"))
        self.assertIn("Source reference", text)

    def test_table_fits_the_width(self):
        entry = dict(ENTRY, reason_not_safe="backing file of: " + "q" * 90,
                     extra_info={"virtual_size": "1" * 40})
        fields = output.default_fields("volumes")
        wide = output.table([entry], fields)
        self.assertGreater(max(len(line) for line in wide.splitlines()), 150)
        narrow = output.table([entry], fields, width=80)
        self.assertEqual({80}, {len(line) for line in narrow.splitlines()})
        # Wrapped, not cut: every character is still there.
        self.assertEqual(90, narrow.count("q"))
        self.assertEqual(40, narrow.count("1"))

    def test_cinder_columns(self):
        text = output.table([ENTRY], output.CINDER_FIELDS["volumes"],
                            cinder_style=True)
        header = text.splitlines()[1]
        self.assertEqual(["reference", "size", "safe_to_manage",
                          "reason_not_safe", "cinder_id", "extra_info"],
                         [c.strip() for c in header.strip("|").split("|")])
        self.assertIn("{'source-name': 'a\\nb'}", text)

    def test_fields_option(self):
        code, _out, err = run_cli("list", "volumes", "--dir", "/x",
                                  "--fields", "reference,bogus")
        self.assertEqual(2, code)
        self.assertIn("unknown field bogus", err)


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
            code = cli._fail("first\n  second\n", 1)
        self.assertEqual((1, "manageable-driver: error: first second\n"),
                         (code, out.getvalue()))
