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

"""The one way this library runs external commands.

Every backend keeps its subprocess calls behind one :class:`CommandRunner`.
The runner takes an ``execute`` callable with the signature of
``oslo_concurrency.processutils.execute`` (the one Cinder passes its drivers
as ``execute=``), so tests can inject a replay of recorded output.

Through a root helper (``sudo``, ``sudo cinder-rootwrap
/etc/cinder/rootwrap.conf``) the environment travels on the command line,
``env LC_ALL=C NAME=VALUE ... cmd``, as Cinder's LVM code and os-brick
build it: sudo drops what the process environment holds, and rootwrap's
``EnvFilter`` matches exactly that form (the filters this package ships in
``etc/manageable-driver/rootwrap.d/`` do).
"""

from __future__ import annotations

from collections.abc import Callable
from collections.abc import Mapping
import dataclasses
import os
import shlex
import subprocess
from typing import Any

from oslo_concurrency import processutils
from oslo_log import log as logging

from manageable_driver import exception

LOG = logging.getLogger(__name__)

Execute = Callable[..., tuple[str, str]]

DEFAULT_TIMEOUT = 120


@dataclasses.dataclass(frozen=True)
class CommandResult:
    """What a finished command printed."""

    stdout: str
    stderr: str


def kill_on_timeout(execute: Execute) -> Execute:
    """Wrap processutils.execute so a timed-out child is killed, not leaked.

    processutils re-raises ``TimeoutExpired`` without ending the process.
    ``execute`` must take processutils' ``on_execute`` keyword (Cinder's
    ``utils.execute`` passes it on).
    """

    def run(*cmd: str, **kwargs: Any) -> tuple[str, str]:
        children: list[subprocess.Popen[bytes]] = []
        kwargs["on_execute"] = children.append
        try:
            return execute(*cmd, **kwargs)
        except subprocess.TimeoutExpired:
            for child in children:
                child.kill()
                child.wait()
            raise

    return run


class CommandRunner:
    """Runs argv lists (never a shell) with ``LC_ALL=C`` and a timeout.

    :param execute: a processutils-compatible callable; the real
        ``processutils.execute`` when None.
    :param root_helper: prefix such as ``sudo`` or a rootwrap command line;
        commands run as root through it when set, whatever user this
        process runs as (see :meth:`command_line`).
    :param env: extra environment variables for every command (for example
        ``LVM_SYSTEM_DIR``); through a root helper they are passed as
        ``env NAME=VALUE`` arguments.
    :param timeout: seconds before a command is killed.
    :raises InvalidInput: ``root_helper`` is not valid shell words.
    """

    def __init__(self, execute: Execute | None = None,
                 root_helper: str | None = None,
                 env: Mapping[str, str] | None = None,
                 timeout: int = DEFAULT_TIMEOUT) -> None:
        self._execute = (execute if execute is not None
                         else kill_on_timeout(processutils.execute))
        self.root_helper = root_helper or None
        try:
            self._helper_argv = shlex.split(root_helper or "")
        except ValueError as exc:
            raise exception.InvalidInput(
                reason="root helper %r is not a command line: %s"
                       % (root_helper, exc))
        self.extra_env = dict(env or {})
        self.timeout = timeout

    def command_environment(self) -> dict[str, str]:
        """The variables every command runs with: ``LC_ALL=C`` first (the
        order of Cinder's filters), then the runner's ``env``."""
        env = {"LC_ALL": "C"}
        env.update((k, v) for k, v in self.extra_env.items()
                   if k != "LC_ALL")
        return env

    def command_line(self, *cmd: str) -> list[str]:
        """Return the exact argv that runs ``cmd``.

        Without a root helper, ``cmd`` itself (its environment then goes
        in the process environment). With one, the helper's words, then
        ``env NAME=VALUE ...``, then ``cmd``: what rootwrap's EnvFilter
        matches, and what reaches the command through sudo, which resets
        the environment. The helper is used even when this process is root
        (processutils would skip it), so a deployment's filters are
        exercised by whatever user runs the driver.

        :param cmd: the argv, program first.
        """
        argv = [str(arg) for arg in cmd]
        if not self.root_helper:
            return argv
        return (self._helper_argv + ["env"]
                + ["%s=%s" % item
                   for item in self.command_environment().items()]
                + argv)

    def _environment(self) -> dict[str, str]:
        # processutils hands env_variables to Popen as the whole
        # environment, so start from ours.
        env = dict(os.environ)
        env.update(self.command_environment())
        return env

    def run(self, *cmd: str, check_exit_code: bool = True,
            process_input: str | None = None) -> CommandResult:
        """Run ``cmd`` and return its output.

        :param cmd: the argv, program first.
        :param check_exit_code: raise on a non-zero exit when True.
        :param process_input: text written to the command's stdin.
        :raises CommandFailed: the command exited non-zero (when checked),
            timed out, or could not be started.
        """
        argv = self.command_line(*cmd)
        kwargs: dict[str, Any] = {
            "env_variables": self._environment(),
            "check_exit_code": check_exit_code,
            "timeout": self.timeout,
        }
        if process_input is not None:
            kwargs["process_input"] = process_input
        try:
            stdout, stderr = self._execute(*argv, **kwargs)
        except processutils.ProcessExecutionError as exc:
            raise exception.CommandFailed(
                cmd=" ".join(argv), exit_code=exc.exit_code,
                stdout=exc.stdout or "", stderr=exc.stderr or "")
        except subprocess.TimeoutExpired:
            raise exception.CommandFailed(
                cmd=" ".join(argv), exit_code=None,
                stderr="timed out after %s s" % self.timeout)
        except OSError as exc:
            raise exception.CommandFailed(
                cmd=" ".join(argv), exit_code=None,
                stderr="could not run: %s" % exc)
        return CommandResult(stdout=stdout or "", stderr=stderr or "")
