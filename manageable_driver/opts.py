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

"""Options of the library, and their listing for oslo-config-generator.

Nothing is registered at import time: each driver registers the options it
reads on the configuration object it is given (see
:func:`manageable_driver.configuration.prepare`).
"""

from __future__ import annotations

import copy

from oslo_config import cfg

# Cinder's own [DEFAULT] options: Cinder reads them there, never from a
# backend section, and so do manageable_driver.cinder and the CLI. A driver
# used on its own reads them from the group it is given.
name_template_opts = [
    cfg.StrOpt("volume_name_template",
               default="volume-%s",
               help="Template string to generate the backend name of a "
                    "Cinder volume from its id: Cinder's own option, read "
                    "from [DEFAULT] of cinder.conf. Manageable objects "
                    "whose name matches a managed volume are reported as "
                    "already managed."),
    cfg.StrOpt("snapshot_name_template",
               default="snapshot-%s",
               help="Template string to generate the backend name of a "
                    "Cinder snapshot from its id: Cinder's own option, "
                    "read from [DEFAULT] of cinder.conf."),
]

common_opts = name_template_opts + [
    cfg.StrOpt("manageable_lock_path",
               default="/var/lock/manageable-driver",
               help="Directory of the per-object external locks that "
                    "serialise manage and unmanage on this host. Every "
                    "process that manages objects of the same backend must "
                    "use the same directory."),
    cfg.FloatOpt("manageable_lock_timeout",
                 default=60.0,
                 min=0.0,
                 help="Seconds a manage or unmanage waits for the lock of "
                      "its backend object before it fails with an error and "
                      "changes nothing. Applies to the host-local lock and "
                      "to the coordination backend's lock alike. 0 tries "
                      "once without waiting."),
    cfg.StrOpt("coordination_backend_url",
               secret=True,
               help="tooz coordination backend URL (same meaning as "
                    "Cinder's [coordination] backend_url), e.g. "
                    "redis://HOST:6379?timeout=30. When set, manage and "
                    "unmanage lock each backend object through it, so that "
                    "one host of an active-active cluster at a time changes "
                    "an object; needs the 'cluster' extra (pip install "
                    "manageable-driver[cluster]). When unset, the lock is "
                    "a file lock in manageable_lock_path, which serialises "
                    "only the processes of one host. For the redis driver "
                    "the URL's timeout (or lock_timeout) is the lock's "
                    "lifetime in seconds: a holder that dies releases it "
                    "that long after its last heartbeat."),
]


def _option_groups() -> list[tuple[str, list[cfg.Opt]]]:
    from manageable_driver.drivers.file import options as file_options
    from manageable_driver.drivers.lvm import options as lvm_options
    from manageable_driver.drivers.rbd import options as rbd_options
    from manageable_driver.listing_cache import cache_opts
    backend_opts = [o for o in common_opts if o not in name_template_opts]
    return [("DEFAULT", name_template_opts),
            ("backend", backend_opts + lvm_options.lvm_opts
             + file_options.file_opts + rbd_options.rbd_opts + cache_opts)]


def list_opts() -> list[tuple[str, list[cfg.Opt]]]:
    """Return the library's options for oslo-config-generator.

    The name templates are in ``DEFAULT``, where Cinder reads them; the
    group ``backend`` is a placeholder for a backend section of cinder.conf
    (e.g. ``[lvm-1]``). Copies are returned so the generator cannot change
    ours.
    """
    return [(group, copy.deepcopy(opts))
            for group, opts in _option_groups()]
