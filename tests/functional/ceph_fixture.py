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

"""A private, throw-away single-node Ceph cluster on loopback.

Debian's ``ceph-mon``, ``ceph-osd`` and ``ceph-mgr`` (bindep.txt), each run
in the foreground and stopped by its pid: one mon on a free loopback port,
one OSD with ``osd objectstore = memstore`` (no disk), one mgr; its own
fsid, configuration, keyrings and data in a temporary directory; cephx on;
one pool of size 1 initialised for RBD and a ``client.cinder`` user of
``profile rbd`` on it, as a Cinder deployment has.

Starting costs a few seconds, so a test class shares one cluster
(:func:`class_cluster`), not one per test.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import tempfile
import time
from typing import Any
import uuid

from tests import base
from tests.functional import redis_fixture

POOL = "volumes"
USER = "cinder"
START_TIMEOUT = 60.0
BINARIES = ("ceph-mon", "ceph-osd", "ceph-mgr", "ceph-authtool",
            "monmaptool")

CONF = """\
[global]
fsid = {fsid}
mon host = [v2:127.0.0.1:{port}]
mon initial members = a
public addr = 127.0.0.1
ms bind msgr1 = false
auth cluster required = cephx
auth service required = cephx
auth client required = cephx
run dir = {dir}/run
log file = {dir}/log/$name.log
admin socket = {dir}/run/$name.asok
pid file = {dir}/run/$name.pid
crash dir = {dir}/crash
osd pool default size = 1
osd pool default min size = 1
osd pool default pg autoscale mode = off
osd crush chooseleaf type = 0
mon allow pool size one = true
mon allow pool delete = true
mon warn on pool no redundancy = false
mon warn on insecure global id reclaim allowed = false
# Snapshot create and remove wait for a paxos round: 1 s by default.
paxos propose interval = 0.01
# A nearly full test disk must not stop the mon.
mon data avail warn = 1
mon data avail crit = 0
rbd default features = 61

[mon]
mon data = {dir}/mon

[osd]
osd data = {dir}/osd
osd objectstore = memstore
memstore device bytes = 2147483648
keyring = {dir}/osd/keyring

[mgr]
mgr data = {dir}/mgr
keyring = {dir}/mgr/keyring

[client.admin]
keyring = {dir}/admin.keyring

# For the rbd tool (Cinder's RBD driver runs "rbd status" as this user).
[client.cinder]
keyring = {dir}/cinder.keyring
"""


def available() -> str | None:
    """Return why no cluster can start here, or None when one can."""
    missing = [b for b in BINARIES if shutil.which(b) is None]
    if missing:
        return "missing Ceph tools: %s (see bindep.txt)" % ", ".join(missing)
    try:
        import rados  # noqa: F401
        import rbd  # noqa: F401
    except ImportError as exc:
        return ("python3-rados/python3-rbd not importable (%s): run "
                "tox -e functional-rbd" % exc)
    return None


class CephCluster:
    """One mon, one memstore OSD and one mgr in a temporary directory.

    :ivar conf_file: the cluster's ceph.conf.
    :ivar keyring: the keyring of ``client.cinder``.
    :ivar fsid: the cluster's fsid.
    """

    def __init__(self) -> None:
        self.dir = tempfile.mkdtemp(prefix="mdceph-")
        self.fsid = str(uuid.uuid4())
        self.port = redis_fixture.free_port()
        self.conf_file = os.path.join(self.dir, "ceph.conf")
        self.keyring = os.path.join(self.dir, "cinder.keyring")
        self.pool = POOL
        self.user = USER
        self.processes: dict[str, subprocess.Popen[bytes]] = {}
        self.started_in = 0.0

    # Commands ------------------------------------------------------------

    def _run(self, *cmd: str) -> str:
        result = subprocess.run(cmd, capture_output=True, text=True,
                                timeout=60, cwd=self.dir)
        if result.returncode:
            raise RuntimeError("%s exited with %d: %s" % (
                " ".join(cmd), result.returncode, result.stderr.strip()))
        return result.stdout

    def admin(self) -> Any:
        """Return a connected ``rados.Rados`` as ``client.admin``."""
        import rados
        cluster = rados.Rados(conffile=self.conf_file, name="client.admin")
        cluster.connect(timeout=10)
        return cluster

    def mon_command(self, prefix: str, **args: Any) -> Any:
        """Run one mon command as client.admin; return its JSON output.

        :raises RuntimeError: the mon refused it.
        """
        cluster = self.admin()
        try:
            cmd = dict(args, prefix=prefix, format="json")
            ret, out, err = cluster.mon_command(json.dumps(cmd), b"")
        finally:
            cluster.shutdown()
        if ret:
            raise RuntimeError("ceph %s failed (%d): %s" % (prefix, ret, err))
        return json.loads(out) if out else None

    def _daemon(self, name: str, *cmd: str) -> None:
        log = open(os.path.join(self.dir, "log", name + ".out"), "ab")
        try:
            self.processes[name] = subprocess.Popen(
                list(cmd) + ["-f", "-c", self.conf_file], cwd=self.dir,
                stdout=log, stderr=subprocess.STDOUT)
        finally:
            log.close()

    def _wait(self, what: str, check: Any) -> None:
        deadline = time.monotonic() + START_TIMEOUT
        last: Exception | None = None
        while True:
            for name, process in self.processes.items():
                if process.poll() is not None:
                    raise RuntimeError(
                        "%s exited with %s while waiting for %s: see %s"
                        % (name, process.returncode, what,
                           os.path.join(self.dir, "log")))
            try:
                if check():
                    return
            except Exception as exc:  # noqa: BLE001 - not up yet; retried
                last = exc
            if time.monotonic() > deadline:
                raise RuntimeError("Ceph: no %s within %s s (last: %s; see "
                                   "%s)" % (what, START_TIMEOUT, last,
                                            self.dir))
            time.sleep(0.1)

    # Life cycle ----------------------------------------------------------

    def start(self) -> None:
        """Create and start the cluster; wait for an active mgr and the
        pool; write the ``client.cinder`` keyring."""
        began = time.monotonic()
        for sub in ("run", "log", "crash", "mon", "osd", "mgr"):
            os.makedirs(os.path.join(self.dir, sub), exist_ok=True)
        with open(self.conf_file, "w") as f:
            f.write(CONF.format(fsid=self.fsid, port=self.port,
                                dir=self.dir))
        mon_keyring = os.path.join(self.dir, "mon.keyring")
        admin_keyring = os.path.join(self.dir, "admin.keyring")
        self._run("ceph-authtool", "--create-keyring", mon_keyring,
                  "--gen-key", "-n", "mon.", "--cap", "mon", "allow *")
        self._run("ceph-authtool", "--create-keyring", admin_keyring,
                  "--gen-key", "-n", "client.admin", "--cap", "mon",
                  "allow *", "--cap", "osd", "allow *", "--cap", "mgr",
                  "allow *")
        self._run("ceph-authtool", mon_keyring, "--import-keyring",
                  admin_keyring)
        monmap = os.path.join(self.dir, "monmap")
        self._run("monmaptool", "--create", "--fsid", self.fsid, "--addv",
                  "a", "[v2:127.0.0.1:%d]" % self.port, monmap)
        self._run("ceph-mon", "--mkfs", "-i", "a", "--monmap", monmap,
                  "--keyring", mon_keyring, "-c", self.conf_file)
        self._daemon("mon.a", "ceph-mon", "-i", "a")
        self._wait("mon", lambda: self.mon_command("status") is not None)

        osd_uuid = str(uuid.uuid4())
        osd_id = self.mon_command("osd create", uuid=osd_uuid)["osdid"]
        # ceph-osd --mkfs --key does not write the OSD's keyring: make the
        # key and write the keyring here, before mkfs reads it.
        self._key("osd.%s" % osd_id, os.path.join(self.dir, "osd",
                                                  "keyring"),
                  ["mon", "allow profile osd", "mgr", "allow profile osd",
                   "osd", "allow *"])
        self._run("ceph-osd", "-i", str(osd_id), "--mkfs", "--osd-uuid",
                  osd_uuid, "-c", self.conf_file)
        self._daemon("osd", "ceph-osd", "-i", str(osd_id))
        self._key("mgr.x", os.path.join(self.dir, "mgr", "keyring"),
                  ["mon", "allow profile mgr", "osd", "allow *", "mds",
                   "allow *"])
        self._daemon("mgr.x", "ceph-mgr", "-i", "x")
        self._wait("OSD up", lambda: self.mon_command(
            "osd stat")["num_up_osds"] == 1)
        self.create_pool(self.pool)
        # Cinder's user: profile rbd on every pool, so that each test can
        # have a pool of its own.
        self._key("client.%s" % self.user, self.keyring,
                  ["mon", "profile rbd", "osd", "profile rbd", "mgr",
                   "profile rbd"])
        # HEALTH_OK can come before the mgr is active: wait on the mgr.
        self._wait("active mgr", lambda: self.mon_command(
            "mgr stat")["available"])
        self._wait("writable pool", self._pool_writable)
        self.started_in = time.monotonic() - began

    def create_pool(self, name: str) -> None:
        """Create pool ``name`` (size 1) for RBD."""
        self.mon_command("osd pool create", pool=name, pg_num=4,
                         pgp_num=4)
        self.mon_command("osd pool application enable", pool=name,
                         app="rbd")

    def _key(self, entity: str, path: str, caps: list[str]) -> None:
        out = self.mon_command("auth get-or-create", entity=entity,
                               caps=caps)
        with open(path, "w") as f:
            f.write("[%s]\n\tkey = %s\n" % (entity, out[0]["key"]))
        os.chmod(path, 0o600)

    def _pool_writable(self) -> bool:
        cluster = self.admin()
        try:
            with cluster.open_ioctx(self.pool) as ioctx:
                ioctx.write_full("mdceph-probe", b"x")
                ioctx.remove_object("mdceph-probe")
        finally:
            cluster.shutdown()
        return True

    def stop_daemons(self, *names: str) -> None:
        """Stop the named daemons (all when none named) by pid."""
        stopping = []
        for name in names or tuple(self.processes):
            process = self.processes.pop(name, None)
            if process is not None and process.poll() is None:
                process.send_signal(signal.SIGCONT)
                process.terminate()
                stopping.append(process)
        # Signalled together, so the daemons shut down side by side.
        for process in stopping:
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()

    def pause(self, name: str) -> None:
        """Freeze daemon ``name`` (SIGSTOP): it holds its sockets open and
        answers nothing, as a hung or partitioned daemon."""
        self.processes[name].send_signal(signal.SIGSTOP)

    def resume(self, name: str) -> None:
        """Let a frozen daemon run again (SIGCONT)."""
        self.processes[name].send_signal(signal.SIGCONT)

    def cleanup(self) -> None:
        """Stop every daemon and remove the cluster's directory."""
        self.stop_daemons()
        shutil.rmtree(self.dir, ignore_errors=True)


def start_cluster() -> tuple[CephCluster | None, str | None]:
    """Start a cluster for a test class: (the cluster, None), or (None,
    why none can start here).

    :raises: what starting raised; the cluster is cleaned up then.
    """
    unavailable = available()
    if unavailable:
        return None, unavailable
    cluster = CephCluster()
    try:
        cluster.start()
    except BaseException:
        cluster.cleanup()
        raise
    return cluster, None


class ClusterTestCase(base.TestCase):
    """A test class whose tests share one cluster (started once, in
    ``setUpClass``); each test gets a pool of its own (``self.pool``)."""

    cluster: CephCluster | None = None
    unavailable: str | None = None
    _pools = 0

    @classmethod
    def setUpClass(cls) -> None:
        super().setUpClass()
        cls.cluster, cls.unavailable = start_cluster()

    @classmethod
    def tearDownClass(cls) -> None:
        if cls.cluster is not None:
            cls.cluster.cleanup()
            cls.cluster = None
        super().tearDownClass()

    def setUp(self) -> None:
        super().setUp()
        if self.cluster is None:
            self.skip_or_fail(self.unavailable or "no Ceph cluster")
        type(self)._pools += 1
        self.pool = "p%d" % self._pools
        self.ceph.create_pool(self.pool)
        import rados
        self.client = rados.Rados(
            conffile=self.ceph.conf_file, rados_id=USER,
            conf={"keyring": self.ceph.keyring})
        self.client.connect(timeout=10)
        self.addCleanup(self.client.shutdown)
        self.ioctx = self.client.open_ioctx(self.pool)
        self.addCleanup(self.ioctx.close)

    @property
    def ceph(self) -> CephCluster:
        assert self.cluster is not None  # noqa: S101 - setUp checked it
        return self.cluster
