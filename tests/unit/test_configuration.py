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

from oslo_config import cfg

from manageable_driver import configuration
from manageable_driver import opts
from tests import base


class ConfigurationTest(base.TestCase):

    def test_defaults_without_configuration(self):
        conf = configuration.prepare(None, opts.common_opts)
        self.assertEqual("volume-%s", conf.volume_name_template)
        self.assertEqual("snapshot-%s", conf.snapshot_name_template)

    def test_backend_group_of_a_config_file(self):
        path = self.create_tempfiles(
            [("cinder", "[lvm-1]\nvolume_name_template = vol-%s\n")],
            ext=".conf")[0]
        conf = cfg.ConfigOpts()
        conf(args=[], default_config_files=[path])
        backend = configuration.prepare(
            configuration.Configuration(conf, "lvm-1"), opts.common_opts)
        self.assertEqual("vol-%s", backend.volume_name_template)
        self.assertEqual("snapshot-%s", backend.snapshot_name_template)
        self.assertIsNone(backend.safe_get("no_such_option"))

    def test_config_opts_object(self):
        conf = cfg.ConfigOpts()
        backend = configuration.prepare(conf, opts.common_opts)
        self.assertEqual("volume-%s", backend.volume_name_template)
        self.assertEqual("volume-%s", conf.volume_name_template)

    def test_nothing_registered_at_import(self):
        self.assertNotIn("volume_name_template", cfg.CONF)


class ListOptsTest(base.TestCase):

    def test_list_opts_returns_copies(self):
        listed = opts.list_opts()
        names = {opt.name for _group, group_opts in listed
                 for opt in group_opts}
        self.assertIn("volume_name_template", names)
        self.assertIn("snapshot_name_template", names)
        listed[0][1][0].default = "changed"
        self.assertEqual("volume-%s", opts.common_opts[0].default)

    def test_name_templates_are_listed_in_default(self):
        # Cinder reads them from [DEFAULT]: the sample and the reference
        # must show them there, and only there.
        groups = {group: {opt.name for opt in group_opts}
                  for group, group_opts in opts.list_opts()}
        self.assertEqual({"volume_name_template", "snapshot_name_template"},
                         groups["DEFAULT"])
        self.assertFalse(groups["DEFAULT"] & groups["backend"])
