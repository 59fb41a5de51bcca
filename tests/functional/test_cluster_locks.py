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

"""Cluster-safe locks through tooz on a real Redis server.

Each "host" is a separate Python process with its own lock directory, so
host-local file locks cannot see each other; only the coordination backend
can serialise them.
"""

from __future__ import annotations

import hashlib
import json
import os
import signal
import subprocess
import sys
import time

import fixtures
from oslo_config import cfg

from manageable_driver import configuration
from manageable_driver import coordination
from manageable_driver import exception
from manageable_driver import locks
from manageable_driver import opts
from manageable_driver.drivers.file import FileDriver
from manageable_driver.drivers.file import options
from tests import base
from tests.functional import lvm_fixtures
from tests.functional import redis_fixture

TOP = os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__))))

# Lock lifetime on Redis (the URL's timeout): how long a dead holder keeps
# an object locked after its last heartbeat.
LOCK_TTL = 2

# One "host": waits for the go file, then claims the object under the lock
# unless a claim exists (check, pause, claim: the window a race needs).
HOST = r"""
import json, os, sys, time
import fixtures
from oslo_config import cfg
from manageable_driver import configuration, exception, locks, opts

(url, lock_path, state, host, hold, go) = sys.argv[1:7]
conf = cfg.ConfigOpts()
backend = configuration.prepare(conf, opts.common_opts)
conf.set_override("manageable_lock_path", lock_path)
conf.set_override("manageable_lock_timeout", 60)
if url:
    conf.set_override("coordination_backend_url", url)
open(os.path.join(state, "ready-" + host), "w").close()
while not os.path.exists(go):
    time.sleep(0.01)
claim = os.path.join(state, "claim")
try:
    with locks.get_provider(backend).lock("vg0", "lv-uuid-1"):
        if os.path.exists(claim):
            result = "already"
        else:
            time.sleep(float(hold))
            with open(claim, "a") as f:
                f.write(host + "\n")
            result = "won"
except exception.ManageableDriverException as exc:
    result = type(exc).__name__
print(json.dumps({"host": host, "result": result}))
"""

# A host that takes the lock, says so, and holds it until killed.
HOLDER = r"""
import os, sys, time
import fixtures
from oslo_config import cfg
from manageable_driver import configuration, locks, opts

url, held = sys.argv[1:3]
conf = cfg.ConfigOpts()
backend = configuration.prepare(conf, opts.common_opts)
conf.set_override("coordination_backend_url", url)
with locks.get_provider(backend).lock("vg0", "lv-uuid-1"):
    open(held, "w").close()
    time.sleep(3600)
"""


def _env() -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(
        [TOP] + [p for p in [env.get("PYTHONPATH")] if p])
    return env


class RedisTestCase(base.TestCase):
    """A private Redis server, and its tooz URL with lifetime LOCK_TTL."""

    def setUp(self):
        super().setUp()
        self.require_tools("redis-server")
        try:
            import redis  # noqa: F401
            import tooz  # noqa: F401
        except ImportError as exc:
            self.skip_or_fail("the 'cluster' extra is not installed (%s)"
                              % exc)
        self.redis = self.useFixture(redis_fixture.RedisServer())
        self.url = self.redis.url(timeout=LOCK_TTL)
        # Coordinators of this process must not outlive the test's Redis.
        self.addCleanup(coordination.stop_coordinators)
        self.tmp = self.useFixture(fixtures.TempDir()).path

    def release_and_collect(self, procs, state, go):
        """Start ``procs`` together once each has written a file in
        ``state``; return the JSON result each printed last."""
        deadline = time.monotonic() + 60
        while len(os.listdir(state)) < len(procs):
            self.assertLess(time.monotonic(), deadline, "hosts not ready")
            time.sleep(0.02)
        open(go, "w").close()
        results = []
        for proc in procs:
            out, err = proc.communicate(timeout=120)
            self.assertEqual(0, proc.returncode, err)
            results.append(json.loads(out.splitlines()[-1]))
        return results


class ClusterLockTest(RedisTestCase):

    def _backend(self, url=None, lock_path=None, timeout=60.0):
        conf = cfg.ConfigOpts()
        backend = configuration.prepare(conf, opts.common_opts)
        conf.set_override("manageable_lock_path",
                          lock_path or os.path.join(self.tmp, "locks"))
        conf.set_override("manageable_lock_timeout", timeout)
        if url:
            conf.set_override("coordination_backend_url", url)
        return backend

    def _race(self, url, hosts=4, hold=1.0):
        """Start ``hosts`` processes together; return their results."""
        state = os.path.join(self.tmp, "state")
        os.mkdir(state)
        go = os.path.join(state, "go")
        procs = []
        for n in range(hosts):
            lock_path = os.path.join(self.tmp, "host%d" % n)
            procs.append(subprocess.Popen(
                [sys.executable, "-c", HOST, url, lock_path, state,
                 "host%d" % n, str(hold), go],
                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                env=_env(), cwd=TOP))
        for proc in procs:
            self.addCleanup(proc.kill)
        # Until "go" exists the hosts' "ready-*" files are all there is.
        results = self.release_and_collect(procs, state, go)
        with open(os.path.join(state, "claim")) as f:
            claims = f.read().split()
        return results, claims

    def test_race_through_redis_has_one_winner(self):
        results, claims = self._race(self.url)
        winners = [r["host"] for r in results if r["result"] == "won"]
        self.assertEqual(1, len(winners), results)
        self.assertEqual(winners, claims)
        self.assertEqual(
            3, len([r for r in results if r["result"] == "already"]),
            results)

    def test_race_with_host_local_locks_has_several_winners(self):
        # The problem the coordination backend solves: each host's file
        # lock lives in its own directory and excludes nobody else.
        results, claims = self._race("")
        winners = [r["host"] for r in results if r["result"] == "won"]
        self.assertGreater(len(winners), 1, results)
        self.assertEqual(sorted(winners), sorted(claims))

    def _start_holder(self):
        held = os.path.join(self.tmp, "held")
        holder = subprocess.Popen(
            [sys.executable, "-c", HOLDER, self.url, held],
            stderr=subprocess.PIPE, env=_env(), cwd=TOP)
        self.addCleanup(holder.kill)
        deadline = time.monotonic() + 60
        while not os.path.exists(held):
            self.assertIsNone(holder.poll(), "holder exited early")
            self.assertLess(time.monotonic(), deadline, "holder not ready")
            time.sleep(0.02)
        return holder

    def test_killed_holder_loses_the_lock_when_its_session_expires(self):
        holder = self._start_holder()
        # Longer than the lock's lifetime: the holder's heartbeat keeps it.
        time.sleep(LOCK_TTL * 1.5)
        provider = locks.get_provider(self._backend(self.url, timeout=0.5))
        ran = []
        exc = self.assertRaises(exception.LockTimeout,
                                provider.lock("vg0", "lv-uuid-1").__enter__)
        self.assertEqual(0.5, exc.kwargs["timeout"])
        self.assertIn("lv-uuid-1", str(exc))

        holder.send_signal(signal.SIGKILL)
        holder.wait()
        # Waits at most three lifetimes; the lock expires after one.
        patient = locks.get_provider(
            self._backend(self.url, timeout=LOCK_TTL * 3))
        with patient.lock("vg0", "lv-uuid-1"):
            ran.append(True)
        self.assertEqual([True], ran)

    def test_lock_timeout_changes_nothing(self):
        self._start_holder()
        provider = locks.get_provider(self._backend(self.url, timeout=0.2))
        ran = []

        def manage():
            with provider.lock("vg0", "lv-uuid-1"):
                ran.append(True)

        self.assertRaises(exception.LockTimeout, manage)
        self.assertEqual([], ran)
        # Other objects are not blocked by the held one.
        with provider.lock("vg0", "lv-uuid-2"):
            ran.append(True)
        self.assertEqual([True], ran)

    def test_redis_stopped_mid_run_fails_cleanly(self):
        provider = locks.get_provider(self._backend(self.url, timeout=1))
        ran = []
        with provider.lock("vg0", "lv-uuid-1"):
            ran.append("first")

        self.redis.stop()

        def manage():
            with provider.lock("vg0", "lv-uuid-1"):
                ran.append("second")

        exc = self.assertRaises(exception.CoordinationError, manage)
        self.assertIsInstance(exc, exception.VolumeBackendAPIException)
        self.assertIn("127.0.0.1:%d" % self.redis.port, str(exc))
        self.assertIn("lv-uuid-1", str(exc))
        self.assertEqual(["first"], ran)

        # A process whose coordinator never started fails the same way.
        coordination.stop_coordinators()
        fresh = locks.get_provider(self._backend(self.url, timeout=1))
        self.assertRaises(exception.CoordinationError,
                          fresh.lock("vg0", "lv-uuid-1").__enter__)

        # Back in business once Redis is.
        self.redis.start()
        with fresh.lock("vg0", "lv-uuid-1"):
            ran.append("third")
        self.assertEqual(["first", "third"], ran)

    def test_redis_lost_while_held_does_not_fail_the_done_work(self):
        provider = locks.get_provider(self._backend(self.url))
        ran = []
        with provider.lock("vg0", "lv-uuid-1"):
            self.redis.stop()
            ran.append(True)
        # The release failure is logged; the change was already made.
        self.assertEqual([True], ran)


# One host running the real file driver: its own lock directory, the shared
# coordination URL; manages raw.img as its own volume name. With a stop
# step it prints the step when reached (the lock held) and waits there.
FILE_HOST = r"""
import json, os, sys, time
from oslo_config import cfg
from manageable_driver import configuration, exception, opts
from manageable_driver.drivers.file import FileDriver
from manageable_driver.drivers.file import options

(url, directory, lock_path, volume, state, go, stop) = sys.argv[1:8]
conf = cfg.ConfigOpts()
configuration.prepare(conf, opts.common_opts + options.file_opts)
conf.set_override("file_volume_dirs", [directory])
conf.set_override("manageable_lock_path", lock_path)
conf.set_override("coordination_backend_url", url)
driver = FileDriver(conf)
def hook(step):
    if step == stop:
        print(step, flush=True)
        time.sleep(3600)
driver.step_hook = hook
driver.use_renameat2 = not stop
if state:
    open(os.path.join(state, "ready-" + volume), "w").close()
    while not os.path.exists(go):
        time.sleep(0.01)
try:
    driver.manage_existing({"name": volume},
                           {"source-name": os.path.join(directory,
                                                        "raw.img")})
    result = "won"
except exception.ManageableDriverException as exc:
    result = type(exc).__name__
print(json.dumps({"volume": volume, "result": result}), flush=True)
"""


def volume_name(n):
    """A Cinder volume name: the template applied to a UUID."""
    return "volume-00000000-0000-4000-8000-%012d" % n


V1 = volume_name(1)


class FileDriverClusterTest(RedisTestCase):
    """Separate "hosts" running the file driver on one shared directory."""

    def setUp(self):
        super().setUp()
        self.require_tools("qemu-img")
        self.dir = os.path.join(self.tmp, "export")
        os.mkdir(self.dir)
        subprocess.run(["qemu-img", "create", "-q", "-f", "raw",
                        os.path.join(self.dir, "raw.img"), "4M"],
                       check=True)
        with open(os.path.join(self.dir, "raw.img"), "r+b") as f:
            f.write(os.urandom(65536))
        self.digest = self._checksum("raw.img")

    def _checksum(self, name):
        with open(os.path.join(self.dir, name), "rb") as f:
            return hashlib.sha256(f.read()).hexdigest()

    def _driver(self, host, timeout):
        conf = cfg.ConfigOpts()
        configuration.prepare(conf, opts.common_opts + options.file_opts)
        conf.set_override("file_volume_dirs", [self.dir])
        conf.set_override("manageable_lock_path",
                          os.path.join(self.tmp, host))
        conf.set_override("coordination_backend_url", self.url)
        conf.set_override("manageable_lock_timeout", timeout)
        return FileDriver(conf)

    def _host(self, volume, state="", go="", stop=""):
        proc = subprocess.Popen(
            [sys.executable, "-c", FILE_HOST, self.url, self.dir,
             os.path.join(self.tmp, "locks-" + volume), volume, state, go,
             stop],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
            env=_env(), cwd=TOP)
        self.addCleanup(lambda: proc.poll() is None and proc.kill())
        return proc

    def test_hosts_racing_to_manage_one_image_one_wins(self):
        state = os.path.join(self.tmp, "state")
        os.mkdir(state)
        go = os.path.join(state, "go")
        volumes = [volume_name(n) for n in range(3)]
        procs = [self._host(v, state, go) for v in volumes]
        results = self.release_and_collect(procs, state, go)
        winners = [r["volume"] for r in results if r["result"] == "won"]
        self.assertEqual(1, len(winners), results)
        # The others found the image gone from under its reference.
        self.assertEqual(
            ["ManageExistingInvalidReference"] * 2,
            [r["result"] for r in results if r["result"] != "won"])
        self.assertEqual(winners, os.listdir(self.dir))
        self.assertEqual(self.digest, self._checksum(winners[0]))

    def test_host_killed_mid_manage_blocks_others_until_expiry(self):
        # Host A stops between linking the new name and unlinking the old
        # one, holding the object's lock, and is killed there.
        holder = self._host(V1, stop="linked")
        self.assertEqual("linked", holder.stdout.readline().strip())
        before = sorted(os.listdir(self.dir))
        self.assertEqual(["raw.img", V1], before)

        # Longer than the lock lifetime: A's heartbeat keeps the lock.
        time.sleep(LOCK_TTL * 1.5)
        impatient = self._driver("host-b", timeout=0.5)
        ref = {"source-name": os.path.join(self.dir, "raw.img")}
        self.assertRaises(exception.LockTimeout, impatient.manage_existing,
                          {"name": V1}, ref)
        self.assertEqual(before, sorted(os.listdir(self.dir)))

        holder.send_signal(signal.SIGKILL)
        holder.wait(30)
        # Host C finishes A's manage once A's lock has expired.
        patient = self._driver("host-c", timeout=LOCK_TTL * 3)
        patient.manage_existing({"name": V1}, ref)
        self.assertEqual([V1], os.listdir(self.dir))
        self.assertEqual(self.digest, self._checksum(V1))

    def test_redis_stopped_manage_fails_and_changes_nothing(self):
        driver = self._driver("host-a", timeout=1)
        ref = {"source-name": os.path.join(self.dir, "raw.img")}
        self.redis.stop()
        exc = self.assertRaises(exception.CoordinationError,
                                driver.manage_existing,
                                {"name": V1}, ref)
        self.assertIn("127.0.0.1:%d" % self.redis.port, str(exc))
        self.assertEqual(["raw.img"], os.listdir(self.dir))
        self.assertEqual(self.digest, self._checksum("raw.img"))

        self.redis.start()
        driver.manage_existing({"name": V1}, ref)
        self.assertEqual([V1], os.listdir(self.dir))


# One host running the real LVM driver in tag mode on the shared VG: its
# own lock directory; tags LV "plain" with its own volume id. Tag mode is
# check-then-tag: nothing but the lock keeps two hosts from both tagging.
LVM_HOST = r"""
import json, os, sys, time
from oslo_concurrency import processutils
from oslo_config import cfg
from manageable_driver import exception, opts
from manageable_driver.drivers import lvm
from manageable_driver.drivers.lvm import options

(url, vg, lvm_conf, lock_path, vol_id, state, go) = sys.argv[1:8]
conf = cfg.ConfigOpts()
conf.register_opts(opts.common_opts + options.lvm_opts)
conf.set_override("volume_group", vg)
conf.set_override("lvm_conf_file", lvm_conf)
conf.set_override("lvm_manage_mode", "tag")
conf.set_override("manageable_lock_path", lock_path)
if url:
    conf.set_override("coordination_backend_url", url)
def execute(*cmd, **kwargs):
    # The window between the locked check and the tag that a race needs,
    # made certain: only the lock keeps a second host out of it.
    if "lvchange" in cmd:
        time.sleep(1)
    return processutils.execute(*cmd, **kwargs)
driver = lvm.LVMDriver(configuration=conf, execute=execute)
open(os.path.join(state, "ready-" + vol_id), "w").close()
while not os.path.exists(go):
    time.sleep(0.01)
try:
    driver.manage_existing({"id": vol_id, "name": "volume-" + vol_id,
                            "volume_type": {"extra_specs": {}}},
                           {"source-name": "plain"})
    result = "won"
except exception.ManageableDriverException as exc:
    result = type(exc).__name__
print(json.dumps({"id": vol_id, "result": result}), flush=True)
"""


class LVMDriverClusterTest(RedisTestCase):
    """Separate "hosts" running the LVM driver on one shared VG."""

    def setUp(self):
        super().setUp()
        self.require_root()
        self.require_tools("losetup", "lvm", "lvs", "lvchange",
                           "vgcfgrestore", "vgcreate", "pvcreate")
        self.vg = self.useFixture(lvm_fixtures.LVMVolumeGroup(size_gib=1))
        self.vg.restore([lvm_fixtures.LV("plain", 4)])

    def _race(self, url, hosts=3):
        state = os.path.join(self.tmp, "state-%s" % bool(url))
        os.mkdir(state)
        go = os.path.join(state, "go")
        ids = ["%08d-0000-4000-8000-000000000000" % n for n in range(hosts)]
        procs = []
        for vol_id in ids:
            proc = subprocess.Popen(
                [sys.executable, "-c", LVM_HOST, url, self.vg.vg_name,
                 self.vg.conf_file, os.path.join(self.tmp, "lk-" + vol_id),
                 vol_id, state, go],
                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                env=_env(), cwd=TOP)
            self.addCleanup(lambda p=proc: p.poll() is None and p.kill())
            procs.append(proc)
        results = self.release_and_collect(procs, state, go)
        tags = [t for t in self.vg.lv_tags("plain").split(",")
                if t.startswith("cinder-volume-id=")]
        return results, tags

    def test_hosts_racing_to_tag_one_lv_one_wins(self):
        results, tags = self._race(self.url)
        winners = [r["id"] for r in results if r["result"] == "won"]
        self.assertEqual(1, len(winners), results)
        self.assertEqual(["cinder-volume-id=%s" % winners[0]], tags)
        self.assertEqual(
            ["ManageExistingAlreadyManaged"] * 2,
            [r["result"] for r in results if r["result"] != "won"])

    def test_race_with_host_local_locks_tags_the_lv_several_times(self):
        # Why a cluster needs the coordination backend: each host's file
        # lock excludes nobody else, and several hosts adopt one LV.
        results, tags = self._race("")
        winners = [r["id"] for r in results if r["result"] == "won"]
        self.assertGreater(len(winners), 1, results)
        self.assertEqual(len(winners), len(tags), tags)
