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

"""The deployment's Ceph, in the foreground until SIGTERM:

    python ceph_cluster.py DIR USER

The cluster of the functional tests (tests/functional/ceph_fixture.py:
one mon on loopback, one memstore OSD, one mgr, cephx, a ``volumes`` pool
and a ``client.cinder`` user of ``profile rbd``), started below
``$TMPDIR``. Once it answers, this writes what a Cinder node has:
``DIR/ceph.conf`` (the mons and cephx, nothing of the daemons' own files)
and ``DIR/ceph.client.cinder.keyring``, owned by USER (cinder-volume), and
``DIR/ceph.client.admin.keyring`` for the tests; then ``DIR/ready``. On
SIGTERM or SIGINT every daemon is stopped, by its pid, and the cluster's
directory removed.
"""

import os
import pwd
import shutil
import signal
import sys

from tests.functional import ceph_fixture

CLIENT_CONF = """\
[global]
fsid = {fsid}
mon host = [v2:127.0.0.1:{port}]
auth cluster required = cephx
auth service required = cephx
auth client required = cephx
ms bind msgr1 = false
keyring = {dir}/ceph.$name.keyring
"""


def _stop(signum, frame):
    raise SystemExit(0)


def main():
    out, user = sys.argv[1:3]
    signal.signal(signal.SIGTERM, _stop)
    signal.signal(signal.SIGINT, _stop)
    cluster = ceph_fixture.CephCluster()
    try:
        cluster.start()
        with open(os.path.join(out, "ceph.conf"), "w") as f:
            f.write(CLIENT_CONF.format(fsid=cluster.fsid, port=cluster.port,
                                       dir=out))
        os.chmod(os.path.join(out, "ceph.conf"), 0o644)
        keyring = os.path.join(out, "ceph.client.cinder.keyring")
        shutil.copyfile(cluster.keyring, keyring)
        account = pwd.getpwnam(user)
        os.chown(keyring, account.pw_uid, account.pw_gid)
        os.chmod(keyring, 0o600)
        shutil.copyfile(os.path.join(cluster.dir, "admin.keyring"),
                        os.path.join(out, "ceph.client.admin.keyring"))
        print("ceph: started in %.1f s, %s" % (cluster.started_in,
                                                cluster.dir), flush=True)
        open(os.path.join(out, "ready"), "w").close()
        while True:
            signal.pause()
    finally:
        cluster.cleanup()


if __name__ == "__main__":
    main()
