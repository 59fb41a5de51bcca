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

"""Write a Tempest configuration for each backend of the deployment:

    python tempest_conf.py WORKSPACE LOG_DIR BACKEND...

WORKSPACE is a directory ``tempest init`` made (its ``etc`` and
``tempest_lock``); Tempest logs to ``LOG_DIR/tempest-BACKEND.log`` (the
deployment's log directory, which run.sh shows on failure). This writes
``WORKSPACE/etc/tempest-BACKEND.conf`` for each BACKEND, to be run with
``tempest run --config-file``. Keystone's URL and the admin's credentials
come from the ``OS_*`` variables run.sh exports. A configuration targets
one backend through its volume type (``[volume] volume_type``, created by
cloud_setup.py ``types``): the tests' volumes are created on it, and
manage then goes back to it.

What each backend can do here (the keys of ``BACKENDS``):

- Snapshots need device-mapper on an LVM backend (Cinder snapshots an LV
  with ``lvcreate --snapshot``, which activates it); this machine has
  none, so on the LVM backends Tempest's snapshot tests are disabled
  (``[volume-feature-enabled] snapshot = False``) and skip.
- Cinder's NFS driver names snapshot S of volume V ``volume-V.S``, which
  Tempest cannot build from S alone; the NFS drop-in takes the snapshot's
  id as Cinder's ``.info`` file records it (``source-id``).
- Cinder's RBD driver names snapshot S ``snapshot-S`` (Tempest's default
  reference).
- No backend has Nova, so ``test_snapshot_manage_with_attached_volume``
  (``@services('compute')``) skips everywhere.
"""

import configparser
import os
import sys

# backend -> (snapshots work here, manage_snapshot_ref, its zone: the
# drop-ins have one of their own, see services.sh)
BACKENDS = {
    "cinder-lvm": (False, None, None),
    "md-lvm": (False, None, "drop-in"),
    "md-nfs": (True, "source-id,%s", "drop-in"),
    "md-rbd": (True, "source-name,snapshot-%s", "drop-in"),
}


def config(workspace, log_dir, backend):
    snapshots, snapshot_ref, zone = BACKENDS[backend]
    auth_url = os.environ["OS_AUTH_URL"]
    conf = configparser.ConfigParser(interpolation=None)
    conf["DEFAULT"] = {
        "log_dir": log_dir,
        "log_file": "tempest-%s.log" % backend,
    }
    conf["oslo_concurrency"] = {
        "lock_path": os.path.join(workspace, "tempest_lock")}
    conf["identity"] = {
        "uri_v3": auth_url,
        "auth_version": "v3",
        "region": os.environ["OS_REGION_NAME"],
        "v3_endpoint_type": "publicURL",
    }
    conf["identity-feature-enabled"] = {"api_v2": "False"}
    conf["auth"] = {
        "admin_username": os.environ["OS_USERNAME"],
        "admin_password": os.environ["OS_PASSWORD"],
        "admin_project_name": os.environ["OS_PROJECT_NAME"],
        "admin_domain_name": "Default",
        # A project and users of its own for each test class, removed
        # after it: Keystone is ours.
        "use_dynamic_credentials": "True",
        # No Neutron: no network, router or subnet for those projects.
        "create_isolated_networks": "False",
    }
    conf["service_available"] = {
        "cinder": "True",
        # True for the snapshot manage class (create_default_network);
        # the catalog's network endpoint answers 404 (not_found.py).
        "neutron": "True",
        "nova": "False",
        "glance": "False",
        "swift": "False",
        "horizon": "False",
        "placement": "False",
    }
    conf["volume"] = {
        "catalog_type": "block-storage",
        "region": os.environ["OS_REGION_NAME"],
        "volume_type": backend,
        "backend_names": backend,
        "volume_size": "1",
        "min_microversion": "3.0",
        # Cinder 29.0.0's newest.
        "max_microversion": "3.71",
        "manage_volume_ref": "source-name,volume-%s",
        "build_timeout": "120",
    }
    if snapshot_ref:
        conf["volume"]["manage_snapshot_ref"] = snapshot_ref
    if zone:
        # Tempest's volume tests create in this zone (despite the name,
        # [compute] holds the option).
        conf["compute"] = {"compute_volume_common_az": zone}
    conf["volume-feature-enabled"] = {
        "manage_volume": "True",
        "manage_snapshot": str(snapshots),
        "snapshot": str(snapshots),
        "backup": "False",
        "multi_backend": "False",
    }
    return conf


def main():
    if len(sys.argv) < 4:
        sys.exit("usage: tempest_conf.py WORKSPACE LOG_DIR BACKEND...")
    workspace, log_dir = sys.argv[1:3]
    for backend in sys.argv[3:]:
        path = os.path.join(workspace, "etc", "tempest-%s.conf" % backend)
        with open(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC,
                          0o600), "w") as f:
            config(workspace, log_dir, backend).write(f)


if __name__ == "__main__":
    main()
