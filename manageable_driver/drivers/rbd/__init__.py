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

"""RBD driver: manageable listing, manage and unmanage on one Ceph pool."""

from manageable_driver.drivers.rbd.driver import RBDDriver
from manageable_driver.drivers.rbd.options import rbd_opts

# The options the driver registers besides opts.common_opts (the CLI
# registers them on its own configuration).
OPTIONS = rbd_opts

__all__ = ["OPTIONS", "RBDDriver", "rbd_opts"]
