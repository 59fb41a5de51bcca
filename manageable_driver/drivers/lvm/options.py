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

"""Options of the LVM driver."""

from __future__ import annotations

from oslo_config import cfg

MODE_RENAME = "rename"
MODE_TAG = "tag"

lvm_opts = [
    cfg.StrOpt("volume_group",
               default="cinder-volumes",
               help="Name of the LVM volume group whose logical volumes "
                    "the driver lists, manages and unmanages. No LVM "
                    "command of the driver touches any other volume "
                    "group."),
    cfg.StrOpt("lvm_conf_file",
               default="/etc/cinder/lvm.conf",
               help="LVM configuration file, as in Cinder: when the file "
                    "exists, every LVM command runs with LVM_SYSTEM_DIR set "
                    "to its directory; otherwise the system configuration "
                    "applies."),
    cfg.StrOpt("lvm_manage_mode",
               default=MODE_RENAME,
               choices=[(MODE_RENAME, "manage renames the LV to the Cinder "
                                      "volume or snapshot name, as Cinder's "
                                      "LVM driver does"),
                        (MODE_TAG, "manage keeps the LV's name and adds an "
                                   "LVM tag recording the Cinder id; "
                                   "unmanage removes the tag")],
               help="How manage_existing records that Cinder owns an LV."),
    cfg.StrOpt("lvm_root_helper",
               help="Command prefix the LVM commands run through as root "
                    "(sudo, or a rootwrap command line). Unset: commands "
                    "run as the driver's user, which must then be root."),
]
