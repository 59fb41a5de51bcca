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

"""Run a backend driver as an unprivileged user, through real sudo and
oslo.rootwrap with the filters this package ships.

:class:`RootwrapFixture` writes a rootwrap.conf whose ``filters_path`` is
the package's ``etc/manageable-driver/rootwrap.d`` and a sudoers entry
that lets :data:`USER` run exactly that rootwrap with that conf, as a
deployer does for cinder-volume. :func:`run_as_user` starts a child that
imports the driver as root, drops to :data:`USER` for good (as a daemon
started by root does) and runs the driver's calls with the root helper
``sudo -n <rootwrap> <conf>``.
"""

from __future__ import annotations

import json
import os
import pwd
import secrets
import shutil
import subprocess
import sys
import tempfile
from typing import Any

import fixtures

# The unprivileged user tools/test-setup.sh creates (and tools/deploy runs
# cinder-volume as).
USER = "md-cinder"

REPO = os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__))))
FILTERS_DIR = os.path.join(REPO, "etc", "manageable-driver", "rootwrap.d")

_ROOTWRAP_CONF = """\
[DEFAULT]
filters_path = %(filters)s
exec_dirs = /sbin,/usr/sbin,/bin,/usr/bin,/usr/local/sbin,/usr/local/bin
use_syslog = False
"""


def ensure_user() -> pwd.struct_passwd:
    """Return :data:`USER`, creating it (a system user, no login) when it
    does not exist yet."""
    try:
        return pwd.getpwnam(USER)
    except KeyError:
        subprocess.run(["useradd", "--system", "--user-group",
                        "--no-create-home", "--home-dir", "/nonexistent",
                        "--shell", "/usr/sbin/nologin", USER], check=True,
                       capture_output=True)
        return pwd.getpwnam(USER)


def rootwrap_command() -> str:
    """The rootwrap of the running environment: Cinder's when installed,
    else oslo.rootwrap's own (the same program)."""
    bindir = os.path.dirname(sys.executable)
    for name in ("cinder-rootwrap", "oslo-rootwrap"):
        path = os.path.join(bindir, name)
        if os.access(path, os.X_OK):
            return path
    raise RuntimeError("neither cinder-rootwrap nor oslo-rootwrap in %s"
                       % bindir)


class RootwrapFixture(fixtures.Fixture):
    """A rootwrap.conf and the sudoers entry allowing :data:`USER` to run
    rootwrap with it; both removed at cleanup.

    :param filters_dir: the conf's filters_path; the shipped filters by
        default.
    """

    def __init__(self, filters_dir: str = FILTERS_DIR) -> None:
        super().__init__()
        self.filters_dir = filters_dir
        self.root_helper = ""

    def _setUp(self) -> None:
        self.user = ensure_user()
        # Readable by the user: sudo checks the command line, rootwrap
        # (as root) reads the conf.
        tmp = tempfile.mkdtemp(prefix="md-rootwrap-", dir="/tmp")
        self.addCleanup(shutil.rmtree, tmp, ignore_errors=True)
        os.chmod(tmp, 0o755)  # noqa: S103 - the user reads the conf
        conf = os.path.join(tmp, "rootwrap.conf")
        with open(conf, "w") as f:
            f.write(_ROOTWRAP_CONF % {"filters": self.filters_dir})
        rootwrap = rootwrap_command()
        sudoers = "/etc/sudoers.d/md-func-%s" % secrets.token_hex(4)
        with open(sudoers, "w") as f:
            f.write("%s ALL = (root) NOPASSWD: %s %s *\n"
                    % (USER, rootwrap, conf))
        os.chmod(sudoers, 0o440)
        self.addCleanup(os.unlink, sudoers)
        subprocess.run(["visudo", "-c", "-q", "-f", sudoers], check=True)
        self.root_helper = "sudo -n %s %s" % (rootwrap, conf)

    def user_dir(self) -> str:
        """A fresh directory owned by :data:`USER` (removed at cleanup),
        in /tmp: the test's own TMPDIR is private to root."""
        path = tempfile.mkdtemp(prefix="md-user-", dir="/tmp")
        self.addCleanup(shutil.rmtree, path, ignore_errors=True)
        os.chmod(path, 0o755)  # noqa: S103 - the user works here
        os.chown(path, self.user.pw_uid, self.user.pw_gid)
        return path


def run_as_user(backend: str, options: dict[str, Any],
                steps: list[list[Any]]) -> list[dict[str, Any]]:
    """Run driver calls in a child that drops to :data:`USER`.

    :param backend: ``lvm`` or ``file``.
    :param options: the backend's options (``lvm_root_helper`` ...).
    :param steps: ``[method, arg, ...]`` lists, run in order.
    :returns: per step ``{"result": ...}`` or ``{"error": class name,
        "message": ...}``.
    """
    proc = subprocess.run(
        [sys.executable, "-m", "tests.functional.unprivileged_child"],
        input=json.dumps({"backend": backend, "options": options,
                          "steps": steps, "user": USER}),
        capture_output=True, text=True, cwd=REPO, timeout=300)
    if proc.returncode != 0:
        raise AssertionError("child failed (%d): %s"
                             % (proc.returncode, proc.stderr))
    return list(json.loads(proc.stdout))
