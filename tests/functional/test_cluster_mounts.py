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

"""Hosts that mount one export each their own way take one lock (§3).

Each "host" is a process in its own mount namespace with its own bindfs
FUSE mount of one export directory, at the same path, as NFS clients
mount a share: the same inode numbers, a different device number per
mount, and no RENAME_NOREPLACE (the driver links and unlinks). They
share the real Redis coordinator. Exactly one manage of one image wins,
and the image never ends with two names.
"""

from __future__ import annotations

import os
import subprocess
import sys

from tests.functional import test_cluster_locks as cluster
from tests.functional import test_file

# One host: mounts the export at the shared path in its own mount
# namespace, runs the file driver there (the link step held for a
# moment, the window two hosts need to both link), unmounts.
HOST_SCRIPT = r"""
set -u
export_dir=$1 mnt=$2 url=$3 lock_path=$4 volume=$5 state=$6 go=$7
bindfs -f "$export_dir" "$mnt" &
daemon=$!
for _ in $(seq 200); do mountpoint -q "$mnt" && break; sleep 0.05; done
"$PYTHON" -c "$DRIVER" "$mnt" "$url" "$lock_path" "$volume" "$state" "$go"
rc=$?
umount "$mnt" || kill "$daemon"
wait "$daemon"
exit $rc
"""

DRIVER = r"""
import json, os, sys, time
from oslo_config import cfg
from manageable_driver import configuration, exception, opts
from manageable_driver.drivers.file import FileDriver
from manageable_driver.drivers.file import options

(mnt, url, lock_path, volume, state, go) = sys.argv[1:7]
conf = cfg.ConfigOpts()
configuration.prepare(conf, opts.common_opts + options.file_opts)
conf.set_override("file_volume_dirs", [mnt])
conf.set_override("manageable_lock_path", lock_path)
conf.set_override("coordination_backend_url", url)
driver = FileDriver(conf)
def hook(step):
    if step == "linked":
        time.sleep(1)
driver.step_hook = hook
st = os.stat(os.path.join(mnt, "raw.img"))
open(os.path.join(state, "ready-" + volume), "w").close()
while not os.path.exists(go):
    time.sleep(0.01)
try:
    driver.manage_existing({"name": volume},
                           {"source-name": os.path.join(mnt, "raw.img")})
    result = "won"
except exception.ManageableDriverException as exc:
    result = type(exc).__name__
print(json.dumps({"volume": volume, "result": result, "dev": st.st_dev,
                  "ino": st.st_ino}), flush=True)
"""


class BindfsHostsTest(cluster.RedisTestCase):

    def setUp(self):
        super().setUp()
        self.require_root()
        self.require_tools("bindfs", "unshare", "mountpoint", "qemu-img")
        self.export = os.path.join(self.tmp, "export")
        self.mnt = os.path.join(self.tmp, "mnt")
        os.mkdir(self.export)
        os.mkdir(self.mnt)
        test_file.qemu_img("create", "-q", "-f", "raw",
                           os.path.join(self.export, "raw.img"), "4M")
        with open(os.path.join(self.export, "raw.img"), "r+b") as f:
            f.write(os.urandom(65536))
        self.digest = test_file.checksum(os.path.join(self.export,
                                                      "raw.img"))

    def host(self, volume, state, go):
        env = dict(cluster._env(), PYTHON=sys.executable, DRIVER=DRIVER)
        proc = subprocess.Popen(
            ["unshare", "--mount", "--propagation", "private", "sh", "-c",
             HOST_SCRIPT, "host", self.export, self.mnt, self.url,
             os.path.join(self.tmp, "locks-" + volume), volume, state, go],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
            env=env, cwd=cluster.TOP)
        # The FUSE daemon lives in the host's namespace: ending the host
        # ends it (and the mount with the namespace).
        self.addCleanup(lambda: proc.poll() is None and proc.kill())
        return proc

    def test_one_manage_wins_across_fuse_mounts(self):
        state = os.path.join(self.tmp, "state")
        os.mkdir(state)
        go = os.path.join(state, "go")
        volumes = [cluster.volume_name(n) for n in range(3)]
        procs = [self.host(v, state, go) for v in volumes]
        results = self.release_and_collect(procs, state, go)
        # Each host saw the image under its own device number and the
        # same inode number, as NFS clients of one export do.
        self.assertEqual(3, len({r["dev"] for r in results}), results)
        self.assertEqual(1, len({r["ino"] for r in results}), results)
        winners = [r["volume"] for r in results if r["result"] == "won"]
        self.assertEqual(1, len(winners), results)
        self.assertEqual(winners, os.listdir(self.export))
        self.assertEqual(1, os.stat(os.path.join(
            self.export, winners[0])).st_nlink)
        self.assertEqual(self.digest, test_file.checksum(
            os.path.join(self.export, winners[0])))
