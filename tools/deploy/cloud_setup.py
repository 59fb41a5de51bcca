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

"""The API calls tools/deploy/run.sh makes to set up the cloud, in one
process each (an ``openstack`` command per call costs a second of start-up).

``keystone``: the service project, the ``cinder`` service user with the
admin and service roles, the block-storage service and its endpoints
(what devstack's lib/cinder creates), and a ``network`` service whose
endpoint is tools/deploy/not_found.py (Tempest's credential clean-up asks
it; see there). ``types BACKEND...``: one public
volume type per backend, with ``volume_backend_name`` set. ``wait-pools
TIMEOUT POOL...``: poll until the scheduler reports every pool (a POOL
ending in ``#``: any pool of that backend).
Authentication comes from the ``OS_*`` variables.
"""

import os
import sys
import time

from cinderclient import client as cinder_client
from cinderclient import exceptions as cinder_exceptions
from keystoneauth1 import exceptions as ks_exceptions
from keystoneauth1 import loading
from keystoneauth1 import session
from keystoneclient.v3 import client as keystone_client


def _session():
    loader = loading.get_plugin_loader("password")
    auth = loader.load_from_options(
        auth_url=os.environ["OS_AUTH_URL"],
        username=os.environ["OS_USERNAME"],
        password=os.environ["OS_PASSWORD"],
        project_name=os.environ["OS_PROJECT_NAME"],
        user_domain_id="default", project_domain_id="default")
    return session.Session(auth=auth)


def keystone(cinder_url, cinder_password, network_url):
    ks = keystone_client.Client(session=_session())
    project = ks.projects.create("service", domain="default")
    user = ks.users.create("cinder", domain="default",
                           password=cinder_password,
                           default_project=project)
    for role_name in ("admin", "service"):
        roles = ks.roles.list(name=role_name)
        role = roles[0] if roles else ks.roles.create(role_name)
        ks.roles.grant(role, user=user, project=project)
    service = ks.services.create("cinderv3", type="block-storage",
                                 description="Cinder Volume Service V3")
    for interface in ("public", "internal", "admin"):
        ks.endpoints.create(service, cinder_url + "/v3/$(project_id)s",
                            interface=interface, region="RegionOne")
    network = ks.services.create("neutron", type="network",
                                 description="Answers 404 (no Neutron)")
    for interface in ("public", "internal", "admin"):
        ks.endpoints.create(network, network_url, interface=interface,
                            region="RegionOne")


def types(backends):
    cinder = cinder_client.Client("3.0", session=_session())
    for backend in backends:
        vtype = cinder.volume_types.create(backend, is_public=True)
        vtype.set_keys({"volume_backend_name": backend})


def wait_pools(timeout, expected):
    """Poll the scheduler's pools until every one of ``expected`` is
    reported: each backend's stats have reached the scheduler."""
    cinder = cinder_client.Client("3.0", session=_session())
    deadline = time.monotonic() + timeout
    names = set()

    def missing():
        return sorted(pool for pool in expected
                      if not any(name == pool or pool.endswith("#")
                                 and name.startswith(pool)
                                 for name in names))

    while missing():
        if time.monotonic() > deadline:
            sys.exit("pools missing after %s s: %s" % (timeout, missing()))
        time.sleep(0.5)
        try:
            names = {pool.name for pool in cinder.pools.list()}
        except (cinder_exceptions.ClientException,
                ks_exceptions.ClientException) as exc:
            # The scheduler may not answer yet: ask again.
            print("pools: %s" % exc, file=sys.stderr)


def main():
    if sys.argv[1] == "keystone":
        keystone(sys.argv[2], sys.argv[3], sys.argv[4])
    elif sys.argv[1] == "types":
        types(sys.argv[2:])
    elif sys.argv[1] == "wait-pools":
        wait_pools(float(sys.argv[2]), sys.argv[3:])
    else:
        sys.exit("usage: cloud_setup.py keystone URL PASSWORD NETWORK_URL | "
                 "types BACKEND... | wait-pools TIMEOUT POOL...")


if __name__ == "__main__":
    main()
