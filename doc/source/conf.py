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

"""Sphinx configuration of the manageable_driver documentation."""

project = "manageable_driver"
copyright = "manageable_driver developers"

extensions = [
    "sphinx.ext.autodoc",
    "sphinx.ext.viewcode",
    # The configuration reference is generated from the options
    # themselves (the "show-options" directive).
    "oslo_config.sphinxext",
    # The sample file of configuration/sample.rst, generated from the
    # options as oslo-config-generator writes it.
    "oslo_config.sphinxconfiggen",
]

config_generator_config_file = [
    ("../../etc/oslo-config-generator/manageable-driver.conf",
     "_static/manageable-driver"),
]

# manageable_driver.cinder runs inside cinder-volume and imports Cinder;
# the documentation is built without it (tox -e compat runs it for real).
autodoc_mock_imports = ["cinder"]

# The command's page is also its manual page: sphinx-build -b man.
man_pages = [
    ("cli/manageable-driver", "manageable-driver",
     "list, size, manage and unmanage existing storage for Cinder",
     ["manageable_driver developers"], 1),
]

# Keep the documented order of each module's contract.
autodoc_member_order = "bysource"
autodoc_default_options = {"members": True, "show-inheritance": True}
# Type hints go in the description, where the :param: text already is.
autodoc_typehints = "description"

exclude_patterns = ["_build"]
html_theme = "alabaster"
html_theme_options = {"description": "Cinder manage/unmanage, done once"}
