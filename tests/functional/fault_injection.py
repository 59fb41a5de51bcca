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

"""Helpers the fault, race and hostile-input tests share.

A failing external tool is a real process: :class:`FaultyExecute` runs
every command for real, except the one a test picks, which it replaces by
a tiny real command that exits non-zero, runs past the runner's timeout or
prints garbage.  Only the choice of command is injected; the runner, the
exit status, the timeout and the parsing are the real ones.
"""

import errno
import os
import signal
import subprocess
import sys

from oslo_concurrency import processutils

from manageable_driver import runner

REPO = os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__))))

# The runner timeout the tests set, in seconds; "timeout" sleeps longer.
TIMEOUT = 1

GARBAGE = ("import sys; sys.stdout.write('{\"report\": [\\x00\\xff garbage');"
           "sys.stderr.write('\\x1b[31m??\\n')")

# fault: the real command that replaces the chosen one.
FAULT_COMMANDS = {
    "exit": (sys.executable, "-c", "import sys; sys.exit(5)"),
    "timeout": ("sleep", str(TIMEOUT * 30)),
    "garbage": (sys.executable, "-c", GARBAGE),
}
COMMAND_FAULTS = tuple(FAULT_COMMANDS)

# OSErrors injected at filesystem calls.
OS_ERRORS = (errno.ENOSPC, errno.EACCES, errno.EXDEV, errno.EEXIST,
             errno.EIO)


def os_error(err, name):
    return OSError(err, os.strerror(err), name)


class FaultyExecute:
    """processutils-compatible execute that fails one chosen command.

    :param match: called with the argv; True for the command to replace.
    :param fault: a key of :data:`FAULT_COMMANDS`.
    :param times: how many matching commands fail (then they run for real).
    """

    def __init__(self, match=None, fault=None, times=1):
        self.match = match
        self.fault = fault
        self.times = times
        self.commands = []
        self.injected = 0
        # The runner's own wrapper: a timed-out child is killed, not leaked.
        self._execute = runner.kill_on_timeout(processutils.execute)

    def __call__(self, *cmd, **kwargs):
        self.commands.append(cmd)
        if (self.fault and self.injected < self.times
                and self.match(cmd)):
            self.injected += 1
            cmd = FAULT_COMMANDS[self.fault]
        return self._execute(*cmd, **kwargs)


def command_is(*words):
    """Return a matcher for commands whose argv starts with ``words``."""
    def match(cmd):
        return tuple(cmd[:len(words)]) == words
    return match


def nth_command(program, number):
    """Return a matcher for the ``number``-th (from 1) run of ``program``."""
    seen = []

    def match(cmd):
        if cmd[0] != program:
            return False
        seen.append(cmd)
        return len(seen) == number
    return match


def spawn(code, *args, env=None, new_session=False):
    """Start ``python -c code args`` in the repository; text pipes."""
    return subprocess.Popen(
        [sys.executable, "-c", code, *args], cwd=REPO,
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        env=dict(os.environ, **(env or {})),
        start_new_session=new_session)


def kill_when(test, child, marker, group=False):
    """Wait for ``child`` to print ``marker``, then SIGKILL it.

    :param group: kill its whole process group (the tool it runs too).
    """
    test.addCleanup(lambda: child.poll() is None and child.kill())
    line = child.stdout.readline().strip()
    test.assertEqual(marker, line, child.stderr.read()
                     if child.poll() is not None else "")
    if group:
        os.killpg(child.pid, signal.SIGKILL)
    else:
        child.send_signal(signal.SIGKILL)
    child.wait(30)
    test.assertEqual(-signal.SIGKILL, child.returncode)


def run_all(children, timeout=120):
    """Wait for every child; return [(returncode, stdout, stderr)]."""
    results = []
    for child in children:
        out, err = child.communicate(timeout=timeout)
        results.append((child.returncode, out, err))
    return results
