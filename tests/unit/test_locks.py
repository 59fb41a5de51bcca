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

import os
import stat
import subprocess
import sys
import textwrap
import threading
from unittest import mock

import fixtures
from oslo_config import cfg

from manageable_driver import configuration
from manageable_driver import coordination
from manageable_driver import exception
from manageable_driver import locks
from manageable_driver import opts
from tests import base
from tests.functional import redis_fixture

TOP = os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__))))


def _backend(**overrides):
    conf = cfg.ConfigOpts()
    backend = configuration.prepare(conf, opts.common_opts)
    for name, value in overrides.items():
        conf.set_override(name, value)
    return backend


def _chosen(**overrides):
    """The provider get_provider() picks for these option values."""
    return locks.get_provider(_backend(**overrides)).select()


def _have_tooz_redis():
    try:
        import redis  # noqa: F401
        import tooz  # noqa: F401
    except ImportError:
        return False
    return True


class LockNameTest(base.TestCase):

    def test_stable_and_file_name_safe(self):
        name = locks.lock_name("vg0", "lv-uuid")
        self.assertEqual(name, locks.lock_name("vg0", "lv-uuid"))
        self.assertRegex(name, r"^manageable-[0-9a-f]{40}$")
        hostile = locks.lock_name("../../etc", "/passwd\0\n")
        self.assertRegex(hostile, r"^manageable-[0-9a-f]{40}$")

    def test_backend_and_object_both_count(self):
        names = {locks.lock_name("vg0", "a"), locks.lock_name("vg0", "b"),
                 locks.lock_name("vg1", "a"), locks.lock_name("/srv", "a")}
        self.assertEqual(4, len(names))

    def test_no_split_of_one_string_collides(self):
        # Without a length prefix ("ab", "c") and ("a", "bc") would hash
        # the same bytes.
        self.assertNotEqual(locks.lock_name("ab", "c"),
                            locks.lock_name("a", "bc"))
        self.assertNotEqual(locks.lock_name("a\0b", "c"),
                            locks.lock_name("a", "b\0c"))

    def test_undecodable_names(self):
        # Directory names from os.listdir() may carry surrogate escapes.
        name = locks.lock_name("/srv/\udcff", "123")
        self.assertNotEqual(name, locks.lock_name("/srv/\udcfe", "123"))


class GetProviderTest(base.TestCase):

    def setUp(self):
        super().setUp()
        self.addCleanup(coordination.stop_coordinators)

    def test_default_is_host_local(self):
        provider = _chosen(manageable_lock_path="/x")
        self.assertIsInstance(provider, locks.LocalLockProvider)
        self.assertEqual("/x", provider.lock_path)
        self.assertEqual(60.0, provider.timeout)

    def test_empty_url_is_host_local(self):
        provider = _chosen(coordination_backend_url="")
        self.assertIsInstance(provider, locks.LocalLockProvider)

    def test_timeout_option(self):
        provider = _chosen(manageable_lock_timeout=2.5)
        self.assertEqual(2.5, provider.timeout)
        coordinated = _chosen(
            manageable_lock_timeout=3,
            coordination_backend_url="redis://127.0.0.1:1")
        self.assertEqual(3, coordinated.timeout)

    def test_negative_timeout_is_refused_by_the_option(self):
        conf = cfg.ConfigOpts()
        configuration.prepare(conf, opts.common_opts)
        self.assertRaises(ValueError, conf.set_override,
                          "manageable_lock_timeout", -1)

    def test_configuration_without_the_new_options(self):
        # A configuration carrying only the lock path (an older driver's)
        # still gets the host-local lock and the default timeout.
        conf = cfg.ConfigOpts()
        backend = configuration.prepare(
            conf, [o for o in opts.common_opts
                   if o.name == "manageable_lock_path"])
        provider = locks.get_provider(backend).select()
        self.assertIsInstance(provider, locks.LocalLockProvider)
        self.assertEqual(locks.DEFAULT_TIMEOUT, provider.timeout)

    def test_options_set_after_get_provider_apply(self):
        # Drivers call get_provider() in __init__; tests and tools often
        # set options afterwards.
        conf = cfg.ConfigOpts()
        backend = configuration.prepare(conf, opts.common_opts)
        provider = locks.get_provider(backend)
        self.assertIsInstance(provider.select(), locks.LocalLockProvider)
        conf.set_override("manageable_lock_timeout", 7)
        self.assertEqual(7, provider.timeout)
        conf.set_override("coordination_backend_url", "redis://127.0.0.1:1")
        self.assertIsInstance(provider.select(),
                              coordination.CoordinatedLockProvider)

    def test_url_selects_the_coordinated_provider(self):
        url = "redis://127.0.0.1:1?timeout=5"
        provider = _chosen(coordination_backend_url=url)
        self.assertIsInstance(provider, coordination.CoordinatedLockProvider)
        self.assertEqual(url, provider.url)

    def test_one_coordinator_per_url_and_process(self):
        one = _chosen(coordination_backend_url="redis://127.0.0.1:1")
        again = _chosen(coordination_backend_url="redis://127.0.0.1:1")
        other = _chosen(coordination_backend_url="redis://127.0.0.1:2")
        self.assertIs(one._coordinator, again._coordinator)
        self.assertIsNot(one._coordinator, other._coordinator)
        self.assertRegex(one._coordinator.member_id.decode(),
                         r"^manageable-driver-.+-%d-[0-9a-f]{8}$"
                         % os.getpid())

    def test_forked_child_starts_its_own_coordinator(self):
        _chosen(coordination_backend_url="redis://127.0.0.1:1")
        self.assertTrue(coordination._coordinators)
        pid = os.fork()
        if pid == 0:
            os._exit(0 if not coordination._coordinators else 1)
        _pid, status = os.waitpid(pid, 0)
        self.assertEqual(0, os.waitstatus_to_exitcode(status))
        self.assertTrue(coordination._coordinators)

    def test_tooz_is_imported_only_when_locking(self):
        code = textwrap.dedent("""
            import sys
            from oslo_config import cfg
            from manageable_driver import configuration, locks, opts
            conf = cfg.ConfigOpts()
            backend = configuration.prepare(conf, opts.common_opts)
            conf.set_override("coordination_backend_url",
                              "redis://127.0.0.1:1")
            locks.get_provider(backend)
            print("tooz" in sys.modules)
            """)
        out = subprocess.run([sys.executable, "-c", code], cwd=TOP,
                             capture_output=True, text=True, check=True)
        self.assertEqual("False", out.stdout.strip())


class LocalLockProviderTest(base.TestCase):

    def setUp(self):
        super().setUp()
        self.lock_path = os.path.join(
            self.useFixture(fixtures.TempDir()).path, "locks")

    def test_creates_private_lock_directory(self):
        provider = locks.LocalLockProvider(self.lock_path, timeout=1)
        with provider.lock("vg0", "lv1"):
            mode = stat.S_IMODE(os.stat(self.lock_path).st_mode)
        self.assertEqual(0o700, mode)
        self.assertIn(locks.lock_name("vg0", "lv1"),
                      os.listdir(self.lock_path))

    def test_other_thread_times_out(self):
        provider = locks.LocalLockProvider(self.lock_path, timeout=0.2)
        ran = []
        errors = []

        def contender():
            try:
                with provider.lock("vg0", "lv1"):
                    ran.append("contender")
            except exception.LockTimeout as exc:
                errors.append(exc)

        with provider.lock("vg0", "lv1"):
            thread = threading.Thread(target=contender)
            thread.start()
            thread.join()
        self.assertEqual([], ran)
        self.assertEqual(1, len(errors))
        self.assertEqual(0.2, errors[0].kwargs["timeout"])
        self.assertIn("lv1", str(errors[0]))
        self.assertIn("vg0", str(errors[0]))
        self.assertIsInstance(errors[0],
                              exception.VolumeBackendAPIException)

    def test_other_process_holding_lockutils_lock_excludes(self):
        # The same file lock as oslo.concurrency's external lock of the
        # same name: a process holding that one keeps this one out.
        name = locks.lock_name("vg0", "lv1")
        os.makedirs(self.lock_path)
        code = textwrap.dedent("""
            import sys
            from oslo_concurrency import lockutils
            with lockutils.lock(sys.argv[1], external=True,
                                lock_path=sys.argv[2]):
                print("held", flush=True)
                sys.stdin.read()
            """)
        holder = subprocess.Popen(
            [sys.executable, "-c", code, name, self.lock_path],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        self.addCleanup(holder.kill)
        self.assertEqual("held\n", holder.stdout.readline())
        provider = locks.LocalLockProvider(self.lock_path, timeout=0.3)
        ran = []

        def manage():
            with provider.lock("vg0", "lv1"):
                ran.append(True)

        self.assertRaises(exception.LockTimeout, manage)
        self.assertEqual([], ran)
        holder.communicate("")
        self.assertEqual(0, holder.returncode)
        manage()
        self.assertEqual([True], ran)

    def test_zero_timeout_takes_a_free_lock(self):
        provider = locks.LocalLockProvider(self.lock_path, timeout=0)
        ran = []
        with provider.lock("vg0", "lv1"):
            ran.append(True)
        self.assertEqual([True], ran)

    def test_released_when_the_block_raises(self):
        provider = locks.LocalLockProvider(self.lock_path, timeout=0)

        def fail():
            with provider.lock("vg0", "lv1"):
                raise exception.InvalidInput(reason="test")

        self.assertRaises(exception.InvalidInput, fail)
        with provider.lock("vg0", "lv1"):
            pass


class BoundedTest(base.TestCase):

    def test_value_and_error(self):
        self.assertEqual(3, coordination._bounded(lambda: 3, 5))

        def broken():
            raise exception.InvalidInput(reason="x")

        self.assertRaises(exception.InvalidInput, coordination._bounded,
                          broken, 5)

    def test_late_result_is_undone(self):
        go = threading.Event()
        undone = []
        undo_ran = threading.Event()

        def slow():
            go.wait(10)
            return "lock"

        def undo(value):
            undone.append(value)
            undo_ran.set()

        self.assertRaises(coordination._Late, coordination._bounded, slow,
                          0.05, undo)
        go.set()
        self.assertTrue(undo_ran.wait(10))
        self.assertEqual(["lock"], undone)


class CoordinatedLockProviderTest(base.TestCase):

    def setUp(self):
        super().setUp()
        self.addCleanup(coordination.stop_coordinators)

    def test_redact_url(self):
        self.assertEqual("redis://:***@127.0.0.1:6379?timeout=5",
                         coordination.redact_url(
                             "redis://:s3cret@127.0.0.1:6379?timeout=5"))
        self.assertEqual("redis://admin:***@[::1]:6379",
                         coordination.redact_url("redis://admin:pw@[::1]:6379"))
        self.assertEqual("redis://127.0.0.1:6379",
                         coordination.redact_url("redis://127.0.0.1:6379"))

    def test_tooz_missing(self):
        # tooz is installed where these tests run: hide it to see the
        # error an installation without the 'cluster' extra gets.
        self.useFixture(fixtures.MockPatchObject(coordination, "_coordinators",
                                                 {}))
        with mock.patch.dict(sys.modules,
                             {"tooz": None, "tooz.coordination": None}):
            provider = coordination.CoordinatedLockProvider(
                "redis://127.0.0.1:1", timeout=0)
            exc = self.assertRaises(exception.CoordinationError,
                                    provider.lock("vg0", "lv1").__enter__)
        self.assertIn("manageable-driver[cluster]", str(exc))

    def test_unknown_scheme(self):
        if not _have_tooz_redis():
            self.skipTest("the 'cluster' extra is not installed")
        provider = coordination.CoordinatedLockProvider("nosuchdriver://x",
                                                 timeout=0)
        exc = self.assertRaises(exception.CoordinationError,
                                provider.lock("vg0", "lv1").__enter__)
        self.assertIn("nosuchdriver://x", str(exc))

    def test_unreachable_backend_fails_in_bounded_time(self):
        if not _have_tooz_redis():
            self.skipTest("the 'cluster' extra is not installed")
        # tooz and redis-py retry a refused connection for about a minute;
        # a shorter grace keeps this test fast, the bound is the same code.
        self.useFixture(fixtures.MockPatchObject(
            coordination, "COORDINATOR_GRACE", 0.5))
        url = ("redis://:s3cret@127.0.0.1:%d?timeout=1"
               % redis_fixture.free_port())
        provider = coordination.CoordinatedLockProvider(url, timeout=0)
        ran = []

        def manage():
            with provider.lock("vg0", "lv1"):
                ran.append(True)

        exc = self.assertRaises(exception.CoordinationError, manage)
        self.assertEqual([], ran)
        self.assertNotIn("s3cret", str(exc))
        self.assertIn(":***@127.0.0.1", str(exc))
        self.assertIn("lv1", str(exc))


class LockDirectoryErrorTest(base.TestCase):

    def test_lock_path_that_is_a_file(self):
        # A plain file where the lock directory should be: a library
        # error naming the path, not a bare OSError.
        path = self.create_tempfiles([("not-a-dir", "x")])[0]
        provider = locks.LocalLockProvider(path, timeout=1)
        exc = self.assertRaises(exception.VolumeBackendAPIException,
                                provider.lock("vg", "uuid").__enter__)
        self.assertIn("cannot use lock directory %s" % path, str(exc))
