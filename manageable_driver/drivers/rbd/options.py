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

"""Options of the RBD driver.

Named, defaulted and meant as in Cinder's RBD driver, so one backend
section of cinder.conf configures both.
"""

from __future__ import annotations

from oslo_config import cfg

rbd_opts = [
    cfg.StrOpt("rbd_pool",
               default="rbd",
               help="The RADOS pool whose RBD images the driver lists, "
                    "manages and unmanages, as in Cinder."),
    cfg.StrOpt("rbd_user",
               help="The RADOS client name (without the 'client.' "
                    "prefix) the driver connects as, as in Cinder; unset: "
                    "librados's default (admin)."),
    cfg.StrOpt("rbd_ceph_conf",
               default="",
               help="Path to the Ceph configuration file, as in Cinder; "
                    "empty: librados's default search."),
    cfg.StrOpt("rbd_keyring_conf",
               default="",
               help="Path to the keyring of rbd_user, as in cinderlib; "
                    "empty: the keyring ceph.conf names."),
    cfg.IntOpt("rados_connect_timeout",
               default=-1,
               help="Seconds, as in Cinder, that connecting to the cluster "
                    "and each monitor or OSD operation may take before the "
                    "call fails with an error and changes nothing. Below 0: "
                    "no timeout (librados's default, which waits for an "
                    "unreachable cluster forever)."),
]
