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

"""A private, throw-away Redis server on a loopback port.

Debian's ``redis-server`` (bindep.txt), run in the foreground in a temporary
directory without persistence, bound to 127.0.0.1 only, and stopped when the
test ends.
"""

from __future__ import annotations

import os
import socket
import subprocess
import time
import urllib.parse

import fixtures

START_TIMEOUT = 10.0


def free_port() -> int:
    """Return a TCP port of 127.0.0.1 that nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def ping(port: int, timeout: float = 1.0) -> bool:
    """True when a Redis server answers PING on 127.0.0.1:``port``."""
    try:
        with socket.create_connection(("127.0.0.1", port),
                                      timeout=timeout) as sock:
            sock.sendall(b"PING\r\n")
            return sock.recv(64).startswith(b"+PONG")
    except OSError:
        return False


class RedisServer(fixtures.Fixture):
    """Run ``redis-server`` on a free loopback port for one test.

    ``stop()`` and ``start()`` may be called within the test, e.g. to lose
    the coordinator mid-run; the port stays the same.
    """

    def __init__(self, binary: str = "redis-server") -> None:
        super().__init__()
        self.binary = binary
        self.port = 0
        self.process: subprocess.Popen[bytes] | None = None

    def _setUp(self) -> None:
        self.workdir = self.useFixture(fixtures.TempDir()).path
        self.port = free_port()
        self.addCleanup(self.stop)
        self.start()

    def start(self) -> None:
        """Start the server (again) and wait until it answers PING."""
        log = open(os.path.join(self.workdir, "redis.log"), "ab")
        self.addCleanup(log.close)
        self.process = subprocess.Popen(
            [self.binary, "--port", str(self.port), "--bind", "127.0.0.1",
             "--save", "", "--appendonly", "no", "--daemonize", "no",
             "--dir", self.workdir],
            cwd=self.workdir, stdout=log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + START_TIMEOUT
        while not ping(self.port):
            if self.process.poll() is not None:
                raise RuntimeError("redis-server exited with %s: see %s"
                                   % (self.process.returncode,
                                      os.path.join(self.workdir,
                                                   "redis.log")))
            if time.monotonic() > deadline:
                raise RuntimeError("redis-server did not answer PING on "
                                   "port %d within %s s"
                                   % (self.port, START_TIMEOUT))
            time.sleep(0.05)

    def stop(self) -> None:
        """Stop the server (SIGTERM, then SIGKILL) if it runs."""
        process, self.process = self.process, None
        if process is None or process.poll() is not None:
            return
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()

    def url(self, **options: object) -> str:
        """Return the tooz URL of this server with query ``options``."""
        query = urllib.parse.urlencode(options)
        return "redis://127.0.0.1:%d%s" % (self.port,
                                           "?" + query if query else "")
