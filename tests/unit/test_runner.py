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

"""The runner against tiny real commands, and with an injected execute."""

import sys

from oslo_concurrency import processutils

from manageable_driver import exception
from manageable_driver import runner
from tests import base


class RealCommandTest(base.TestCase):

    def test_output_and_locale(self):
        result = runner.CommandRunner(env={"MD_TEST": "x y"}).run(
            sys.executable, "-c",
            "import os; print(os.environ['LC_ALL'], os.environ['MD_TEST'])")
        self.assertEqual("C x y\n", result.stdout)

    def test_argv_is_never_a_shell(self):
        result = runner.CommandRunner().run(
            sys.executable, "-c", "import sys; print(sys.argv[1:])",
            "$(touch /nonexistent)", "a;b")
        self.assertEqual("['$(touch /nonexistent)', 'a;b']\n",
                         result.stdout)

    def test_failure_becomes_command_failed(self):
        exc = self.assertRaises(
            exception.CommandFailed, runner.CommandRunner().run,
            sys.executable, "-c",
            "import sys; sys.stderr.write('bad thing'); sys.exit(3)")
        self.assertEqual(3, exc.exit_code)
        self.assertEqual("bad thing", exc.stderr)
        self.assertIn("exited with 3: bad thing", str(exc))

    def test_unchecked_failure_returns_output(self):
        result = runner.CommandRunner().run(
            sys.executable, "-c", "print('out'); raise SystemExit(1)",
            check_exit_code=False)
        self.assertEqual("out\n", result.stdout)

    def test_timeout_kills_the_command(self):
        exc = self.assertRaises(
            exception.CommandFailed, runner.CommandRunner(timeout=1).run,
            sys.executable, "-c", "import time; time.sleep(30)")
        self.assertIsNone(exc.exit_code)
        self.assertIn("timed out after 1 s", str(exc))

    def test_missing_program(self):
        exc = self.assertRaises(
            exception.CommandFailed, runner.CommandRunner().run,
            "/nonexistent/manageable-driver-tool")
        self.assertIn("/nonexistent/manageable-driver-tool", exc.cmd)

    def test_stdin(self):
        result = runner.CommandRunner().run(
            sys.executable, "-c", "import sys; print(sys.stdin.read()[::-1])",
            process_input="abc")
        self.assertEqual("cba\n", result.stdout)


class InjectedExecuteTest(base.TestCase):

    def test_root_helper_and_kwargs_reach_execute(self):
        calls = []

        def execute(*cmd, **kwargs):
            calls.append((cmd, kwargs))
            return "out", "err"

        result = runner.CommandRunner(
            execute=execute, root_helper="sudo", timeout=7).run("lvs", 1)
        self.assertEqual(runner.CommandResult("out", "err"), result)
        (cmd, kwargs), = calls
        # The helper is part of the argv (processutils would skip it for
        # root), the environment goes as env arguments.
        self.assertEqual(("sudo", "env", "LC_ALL=C", "lvs", "1"), cmd)
        self.assertNotIn("run_as_root", kwargs)
        self.assertEqual(7, kwargs["timeout"])
        self.assertEqual("C", kwargs["env_variables"]["LC_ALL"])

    def test_process_execution_error_is_translated(self):
        def execute(*cmd, **kwargs):
            raise processutils.ProcessExecutionError(
                stdout="", stderr="Volume group not found", exit_code=5,
                cmd=" ".join(cmd))

        exc = self.assertRaises(exception.CommandFailed,
                                runner.CommandRunner(execute=execute).run,
                                "vgs", "vg0")
        self.assertEqual(("vgs vg0", 5, "Volume group not found"),
                         (exc.cmd, exc.exit_code, exc.stderr))
