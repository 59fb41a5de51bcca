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

"""The file driver against images the real qemu-img makes.

qemu-img info --output=json is the oracle for every image the native
parser reads; qemu-io holds images open and locked as a running VM would;
child processes are SIGKILLed in the middle of a manage call to check that
the image survives under its old or its new name.
"""

import hashlib
import json
import os
import signal
import subprocess
import sys
import textwrap
import threading

import fixtures
from oslo_concurrency import processutils
from oslo_config import cfg

from manageable_driver import exception
from manageable_driver import testing
from manageable_driver.drivers.file import FileDriver
from manageable_driver.drivers.file import headers
from manageable_driver.drivers.file import scanner
from tests import base

SECRET = ["--object", "secret,id=sec0,data=x"]
# Cinder names: the name template applied to a UUID.
V1 = "volume-%s" % ("6e0b5a62-0000-4000-8000-%012d" % 1)
S1 = "snapshot-%s" % ("6e0b5a62-0000-4000-8000-%012d" % 1)
V_N = "volume-6e0b5a62-0000-4000-8000-%012d"
REPO = os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__))))

# name: (qemu-img create arguments, file name as "@", unsafe reason)
IMAGES = {
    "raw.img": (["-f", "raw", "@", "5M"], None),
    "v3.qcow2": (["-f", "qcow2", "@", "1G"], None),
    "v2.qcow2": (["-f", "qcow2", "-o", "compat=0.10", "@", "3G"], None),
    "odd.qcow2": (["-f", "qcow2", "@", "1073742336"], None),
    "base.qcow2": (["-f", "qcow2", "@", "64M"],
                   "backing file of: top.qcow2"),
    "top.qcow2": (["-f", "qcow2", "-b", "base.qcow2", "-F", "qcow2", "@"],
                  "backing file present: base.qcow2"),
    "data.qcow2": (["-f", "qcow2", "-o", "data_file=data.bin", "@", "1G"],
                   "external data file present: data.bin"),
    "aes.qcow2": (["-f", "qcow2"] + SECRET + [
        "-o", "encrypt.format=aes,encrypt.key-secret=sec0", "@", "1G"],
        "encrypted image"),
    "luks.qcow2": (["-f", "qcow2"] + SECRET + [
        "-o", "encrypt.format=luks,encrypt.key-secret=sec0,"
              "encrypt.iter-time=10", "@", "1G"], "encrypted image"),
    "a.luks": (["-f", "luks"] + SECRET + [
        "-o", "key-secret=sec0,iter-time=10", "@", "16M"],
        "unsupported format: luks"),
    "a.vmdk": (["-f", "vmdk", "@", "1G"], "unsupported format: vmdk"),
    "flat.vmdk": (["-f", "vmdk", "-o", "subformat=monolithicFlat", "@",
                   "1M"], "unsupported format: vmdk"),
    "a.vhd": (["-f", "vpc", "@", "1G"], "unsupported format: vpc"),
    "a.vhdx": (["-f", "vhdx", "@", "1G"], "unsupported format: vhdx"),
    "a.vdi": (["-f", "vdi", "@", "1G"], "unsupported format: vdi"),
    "a.qed": (["-f", "qed", "@", "1G"], "unsupported format: qed"),
}
# Files qemu-img makes as a side effect of the images above.
SIDE_FILES = {"data.bin": "external data file of: data.qcow2",
              "flat-flat.vmdk": "external data file of: flat.vmdk"}


def qemu_img(*args, cwd=None):
    """Run the real qemu-img; return its stdout."""
    # LUKS key derivation times itself with getrusage, too coarse on some
    # VMs ("Unable to get accurate CPU usage"): that failure is retried.
    for _ in range(30):
        proc = subprocess.run(["qemu-img", *args], capture_output=True,
                              text=True, check=False, cwd=cwd)
        if proc.returncode == 0:
            return proc.stdout
        if "accurate CPU usage" not in proc.stderr:
            break
    raise AssertionError("qemu-img %s: %s" % (" ".join(args), proc.stderr))


def info(path, *extra):
    return json.loads(qemu_img("info", "--output=json", "-U", *extra, path))


def checksum(path):
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


class FileTestCase(base.TestCase):

    def setUp(self):
        super().setUp()
        self.require_root()
        self.require_tools("qemu-img", "qemu-io")
        self.dir = self.useFixture(fixtures.TempDir()).path
        self.lock_dir = self.useFixture(fixtures.TempDir()).path
        self.driver = self.new_driver()

    def new_driver(self):
        conf = cfg.ConfigOpts()
        conf(args=[])
        driver = FileDriver(conf)
        conf.set_override("file_volume_dirs", [self.dir])
        conf.set_override("manageable_lock_path", self.lock_dir)
        return driver

    def path(self, *names):
        return os.path.join(self.dir, *names)

    def create(self, name, args):
        # In the image directory: qemu-img creates a relative data_file
        # in its working directory.
        qemu_img("create", "-q", *[self.path(name) if a == "@" else a
                                   for a in args], cwd=self.dir)
        return {"source-name": self.path(name)}

    def volumes(self, driver=None):
        driver = driver or self.driver
        return {os.path.basename(e["reference"]["source-name"]): e
                for e in driver.get_manageable_volumes(
                    [], None, 1000, 0, ["reference"], ["asc"])}

    def hold(self, name):
        """Open ``name`` in qemu-io, as a VM would: locked until cleanup."""
        proc = subprocess.Popen(["qemu-io", self.path(name)],
                                stdin=subprocess.PIPE,
                                stdout=subprocess.PIPE,
                                stderr=subprocess.STDOUT)

        def stop():
            proc.stdin.close()
            proc.wait(10)
        self.addCleanup(stop)
        # qemu-io answers a command once the image is open and locked.
        proc.stdin.write(b"help\n")
        proc.stdin.flush()
        proc.stdout.readline()
        return proc


class OracleTest(FileTestCase):

    def test_parser_agrees_with_qemu_img(self):
        for name, (args, _reason) in IMAGES.items():
            self.create(name, args)
        inventory = scanner.scan([self.dir], 0, {})
        seen = set()
        for image in inventory.images:
            seen.add(image.name)
            with self.subTest(image=image.name):
                oracle = info(image.path)
                header = image.header
                if header.format in ("raw", "qcow2"):
                    self.assertEqual(oracle["format"], header.format)
                    self.assertEqual(oracle["virtual-size"],
                                     header.virtual_size)
                    self.assertEqual(oracle.get("backing-filename"),
                                     header.backing_file)
                    data = oracle.get("format-specific", {}).get(
                        "data", {})
                    self.assertEqual(data.get("data-file"),
                                     header.data_file)
                    self.assertEqual(oracle.get("encrypted", False),
                                     header.encrypted)
                else:
                    self.assertEqual(oracle["format"], header.format)
        self.assertEqual(set(IMAGES) | set(SIDE_FILES), seen)

    def test_listing_reasons(self):
        for name, (args, _reason) in IMAGES.items():
            self.create(name, args)
        os.mkfifo(self.path("fifo"))
        os.symlink("v3.qcow2", self.path("link.qcow2"))
        expected = {name: reason for name, (_a, reason) in IMAGES.items()}
        expected.update(SIDE_FILES)
        entries = self.volumes()
        self.assertEqual(expected, {name: e["reason_not_safe"]
                                    for name, e in entries.items()})
        self.assertEqual(3, entries["v2.qcow2"]["size"])
        self.assertEqual(2, entries["odd.qcow2"]["size"])
        self.assertEqual(1, entries["raw.img"]["size"])
        snaps = self.driver.get_manageable_snapshots(
            [], None, 10, 0, ["reference"], ["asc"])
        self.assertEqual([({"source-name": self.path("base.qcow2")},
                           {"source-name": self.path("top.qcow2")}, True)],
                         [(s["reference"], s["source_reference"],
                           s["safe_to_manage"]) for s in snaps])


class InUseTest(FileTestCase):

    def test_image_held_by_qemu(self):
        ref = self.create("v3.qcow2", IMAGES["v3.qcow2"][0])
        self.hold("v3.qcow2")
        entry = self.volumes()["v3.qcow2"]
        self.assertFalse(entry["safe_to_manage"])
        # qemu takes OFD locks, which /proc/locks shows without a pid.
        self.assertEqual("locked (OFD lock)", entry["reason_not_safe"])
        self.assertRaises(exception.ManageExistingInvalidReference,
                          self.driver.manage_existing,
                          {"name": V1}, ref)
        self.assertEqual(["v3.qcow2"], os.listdir(self.dir))

    def test_fifo_does_not_hang_listing(self):
        self.create("raw.img", IMAGES["raw.img"][0])
        os.mkfifo(self.path("fifo"))
        result = {}
        worker = threading.Thread(
            target=lambda: result.update(self.volumes()), daemon=True)
        worker.start()
        worker.join(30)
        self.assertFalse(worker.is_alive(), "listing hung on a fifo")
        self.assertEqual(["raw.img"], list(result))


class ManageTest(FileTestCase):

    def test_manage_and_unmanage(self):
        ref = self.create("v2.qcow2", IMAGES["v2.qcow2"][0])
        digest = checksum(self.path("v2.qcow2"))
        volume = {"name": V1, "volume_type": {
            "extra_specs": {"volume_format": "qcow2"}}}
        self.assertEqual(3, self.driver.manage_existing_get_size(volume,
                                                                 ref))
        self.driver.manage_existing(volume, ref)
        self.assertEqual([V1], os.listdir(self.dir))
        self.assertEqual(3 << 30, info(self.path(V1))
                         ["virtual-size"])
        self.driver.unmanage(volume)
        self.assertEqual(digest, checksum(self.path(V1)))

    def test_manage_snapshot_keeps_the_chain(self):
        self.create("base.qcow2", IMAGES["base.qcow2"][0])
        subprocess.run(["qemu-io", "-c", "write -P 0xab 0 1M",
                        self.path("base.qcow2")], check=True,
                       capture_output=True)
        self.create(V1, ["-f", "qcow2", "-b", "base.qcow2", "-F",
                                 "qcow2", "@"])
        snapshot = {"name": S1, "volume": {"name": V1}}
        ref = {"source-name": self.path("base.qcow2")}
        self.driver.manage_existing_snapshot(snapshot, ref)
        self.assertEqual([S1, V1],
                         sorted(os.listdir(self.dir)))
        chain = info(self.path(V1), "--backing-chain")
        self.assertEqual([V1, S1],
                         [os.path.basename(i["filename"]) for i in chain])
        read = subprocess.run(["qemu-io", "-c", "read -P 0xab 0 1M",
                               self.path(V1)], capture_output=True,
                              text=True, check=True)
        self.assertNotIn("Pattern verification failed", read.stdout)
        self.driver.unmanage_snapshot(snapshot)
        self.assertEqual(2, len(info(self.path(V1),
                                     "--backing-chain")))

    def test_snapshot_of_a_running_volume_is_refused(self):
        self.create("base.qcow2", IMAGES["base.qcow2"][0])
        self.create(V1, ["-f", "qcow2", "-b", "base.qcow2", "-F",
                                 "qcow2", "@"])
        self.hold(V1)
        exc = self.assertRaises(
            exception.ManageExistingInvalidReference,
            self.driver.manage_existing_snapshot,
            {"name": S1, "volume": {"name": V1}},
            {"source-name": self.path("base.qcow2")})
        # qemu locks the backing file of an image it runs too.
        self.assertIn("not safe to manage: locked", str(exc))
        self.assertEqual(["base.qcow2", V1],
                         sorted(os.listdir(self.dir)))

    def test_failed_rebase_leaves_the_old_name(self):
        self.create("base.qcow2", IMAGES["base.qcow2"][0])
        self.create(V1, ["-f", "qcow2", "-b", "base.qcow2", "-F",
                                 "qcow2", "@"])
        # A qemu-img that cannot run makes the rebase step fail for real;
        # the confirming qemu-img info before it would fail first, and
        # anything that makes it fail also fails the checks, so only that
        # step is skipped here.
        self.driver.qemu_img.qemu_img = self.path("no-such-qemu-img")
        self.driver._confirm = lambda image, ref: None
        self.assertRaises(exception.CommandFailed,
                          self.driver.manage_existing_snapshot,
                          {"name": S1},
                          {"source-name": self.path("base.qcow2")})
        self.assertEqual(["base.qcow2", V1],
                         sorted(os.listdir(self.dir)))
        self.assertEqual(1, os.stat(self.path("base.qcow2")).st_nlink)

    def test_concurrent_manage_one_wins(self):
        self.create("raw.img", IMAGES["raw.img"][0])
        children = [self.child(["manage", V_N % i])
                    for i in range(4)]
        results = [child.communicate(timeout=120) for child in children]
        codes = [child.returncode for child in children]
        self.assertEqual(1, codes.count(0), results)
        self.assertEqual(3, codes.count(3), results)
        winner = V_N % codes.index(0)
        self.assertEqual([winner], os.listdir(self.dir))

    def child(self, args, env=None):
        return subprocess.Popen(
            [sys.executable, "-c", CHILD, self.dir, self.lock_dir, *args],
            cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
            text=True, env=dict(os.environ, **(env or {})))


# Runs one manage call in a child process; with a stop step it prints the
# step's name when reached and waits there to be killed.
CHILD = textwrap.dedent("""
    V1 = "volume-6e0b5a62-0000-4000-8000-000000000001"
    S1 = "snapshot-6e0b5a62-0000-4000-8000-000000000001"
    import sys, time
    from oslo_config import cfg
    from manageable_driver import exception
    from manageable_driver.drivers.file import FileDriver
    directory, lock_dir, action, name = sys.argv[1:5]
    stop = sys.argv[5] if len(sys.argv) > 5 else None
    conf = cfg.ConfigOpts()
    conf(args=[])
    driver = FileDriver(conf)
    conf.set_override("file_volume_dirs", [directory])
    conf.set_override("manageable_lock_path", lock_dir)
    def hook(step):
        if step == stop:
            print(step, flush=True)
            time.sleep(600)
    driver.step_hook = hook
    driver.use_renameat2 = action != "manage-link"
    try:
        if action.startswith("manage"):
            driver.manage_existing({"name": name},
                                   {"source-name": "raw.img"})
        else:
            driver.manage_existing_snapshot(
                {"name": name, "volume": {"name": V1}},
                {"source-name": "base.qcow2"})
    except exception.ManageExistingInvalidReference as exc:
        print(exc, file=sys.stderr)
        sys.exit(3)
""")


class CrashTest(FileTestCase):

    def kill_at(self, args, step):
        child = subprocess.Popen(
            [sys.executable, "-c", CHILD, self.dir, self.lock_dir, *args,
             step], cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
            text=True)
        self.addCleanup(lambda: child.poll() is None and child.kill())
        line = child.stdout.readline().strip()
        self.assertEqual(step, line, child.stderr.read()
                         if child.poll() is not None else "")
        child.send_signal(signal.SIGKILL)
        child.wait(30)
        self.assertEqual(-signal.SIGKILL, child.returncode)

    def test_volume_manage_killed_at_each_step(self):
        for action, step in (("manage", "renamed"),
                             ("manage-link", "linked"),
                             ("manage-link", "unlinked")):
            with self.subTest(action=action, step=step):
                for name in os.listdir(self.dir):
                    os.unlink(self.path(name))
                self.create("raw.img", IMAGES["raw.img"][0])
                with open(self.path("raw.img"), "r+b") as f:
                    f.write(os.urandom(4096))
                digest = checksum(self.path("raw.img"))
                self.kill_at([action, V1], step)
                # A fresh driver finds the data under the old or new name.
                entries = self.volumes(self.new_driver())
                names = set(entries) & {"raw.img", V1}
                self.assertTrue(names, entries)
                for name in names:
                    self.assertEqual(digest, checksum(self.path(name)))
                if "raw.img" in names:
                    # Calling again finishes the job.
                    self.new_driver().manage_existing(
                        {"name": V1}, {"source-name": "raw.img"})
                self.assertEqual([V1], os.listdir(self.dir))
                self.assertEqual(digest, checksum(self.path(V1)))

    def test_snapshot_manage_killed_at_each_step(self):
        for step in ("linked", "rebased", "unlinked"):
            with self.subTest(step=step):
                for name in os.listdir(self.dir):
                    os.unlink(self.path(name))
                self.create("base.qcow2", IMAGES["base.qcow2"][0])
                self.create(V1, ["-f", "qcow2", "-b", "base.qcow2",
                                         "-F", "qcow2", "@"])
                digest = checksum(self.path("base.qcow2"))
                self.kill_at(["snapshot", S1], step)
                chain = info(self.path(V1), "--backing-chain")
                self.assertEqual(2, len(chain))
                backing = self.path(os.path.basename(chain[1]["filename"]))
                self.assertEqual(digest, checksum(backing))
                names = set(os.listdir(self.dir))
                if "base.qcow2" in names:
                    self.new_driver().manage_existing_snapshot(
                        {"name": S1,
                         "volume": {"name": V1}},
                        {"source-name": "base.qcow2"})
                self.assertEqual([S1, V1],
                                 sorted(os.listdir(self.dir)))
                chain = info(self.path(V1), "--backing-chain")
                self.assertEqual(S1,
                                 os.path.basename(chain[1]["filename"]))
                self.assertEqual(digest,
                                 checksum(self.path(S1)))


class ParserReadBoundTest(FileTestCase):

    def test_reads_are_bounded_on_real_images(self):
        for name, (args, _reason) in IMAGES.items():
            self.create(name, args)
        for name in os.listdir(self.dir):
            with self.subTest(image=name):
                fd = os.open(self.path(name), os.O_RDONLY)
                total = []

                def read(offset, length, fd=fd, total=total):
                    total.append(length)
                    return os.pread(fd, length, offset)
                try:
                    headers.parse(read, os.fstat(fd).st_size)
                finally:
                    os.close(fd)
                self.assertLessEqual(sum(total), headers.MAX_READ)


class SwapAndProtocolTest(FileTestCase):
    """Security review findings, against real qemu-img and real files.

    An execute wrapper runs the real qemu-img, then swaps the image's
    name for a symbolic link to a canary outside the image directory, as
    a writer of the directory could between the checks and the next step.
    """

    def setUp(self):
        super().setUp()
        self.outside = self.useFixture(fixtures.TempDir()).path

    def swapping_driver(self, after, name, target):
        def execute(*cmd, **kwargs):
            result = processutils.execute(*cmd, **kwargs)
            if after in cmd:
                os.rename(self.path(name), self.path(".stash"))
                os.symlink(target, self.path(name))
            return result
        driver = FileDriver(self.driver.configuration, execute=execute)
        return driver

    def test_name_swapped_after_qemu_img_info_is_not_renamed(self):
        for renameat2 in (True, False):
            with self.subTest(renameat2=renameat2):
                for name in os.listdir(self.dir):
                    os.unlink(self.path(name))
                canary = os.path.join(self.outside, "secret")
                with open(canary, "wb") as f:
                    f.write(b"HOST-SECRET".ljust(1 << 20, b"\0"))
                with open(self.path("img.raw"), "wb") as f:
                    f.write(b"\0" * (1 << 20))
                drv = self.swapping_driver("info", "img.raw", canary)
                drv.use_renameat2 = renameat2
                exc = self.assertRaises(
                    exception.ManageExistingInvalidReference,
                    drv.manage_existing, {"name": V1},
                    {"source-name": "img.raw"})
                self.assertIn("changed while being managed", str(exc))
                # The link is back under its name, no volume was made.
                self.assertEqual([".stash", "img.raw"],
                                 sorted(os.listdir(self.dir)))
                self.assertEqual(canary, os.readlink(self.path("img.raw")))

    def test_user_image_swapped_before_rebase_is_not_written(self):
        self.create("base.qcow2", IMAGES["base.qcow2"][0])
        self.create("top.qcow2", IMAGES["top.qcow2"][0])
        victim = os.path.join(self.outside, "victim.qcow2")
        qemu_img("create", "-q", "-f", "qcow2", "-u", "-b",
                 os.path.join(self.outside, "orig"), "-F", "raw", victim,
                 "64M")
        digest = checksum(victim)
        drv = self.swapping_driver("info", "top.qcow2", victim)
        self.assertRaises(exception.ManageExistingInvalidReference,
                          drv.manage_existing_snapshot,
                          {"name": S1, "volume": {"name": "top.qcow2"}},
                          {"source-name": "base.qcow2"})
        self.assertEqual(digest, checksum(victim))
        # Our link was removed again: the old name is the only one.
        self.assertEqual([".stash", "base.qcow2", "top.qcow2"],
                         sorted(os.listdir(self.dir)))

    def test_rebase_failing_after_writing_keeps_the_chain(self):
        self.create("base.qcow2", IMAGES["base.qcow2"][0])
        self.create(V1, ["-f", "qcow2", "-b", "base.qcow2", "-F", "qcow2",
                         "@"])

        def execute(*cmd, **kwargs):
            result = processutils.execute(*cmd, **kwargs)
            if "rebase" in cmd:
                # As when qemu-img is killed at its timeout, or fails to
                # flush, after writing the header.
                raise processutils.ProcessExecutionError(
                    exit_code=1, stderr="failed after writing", cmd="x")
            return result
        drv = FileDriver(self.driver.configuration, execute=execute)
        snapshot = {"name": S1, "volume": {"name": V1}}
        ref = {"source-name": "base.qcow2"}
        exc = self.assertRaises(exception.VolumeBackendAPIException,
                                drv.manage_existing_snapshot, snapshot, ref)
        self.assertIn("keeps both names", str(exc))
        chain = info(self.path(V1), "--backing-chain")
        self.assertEqual(S1, os.path.basename(chain[1]["filename"]))
        # Calling again finishes.
        self.driver.manage_existing_snapshot(snapshot, ref)
        self.assertEqual(sorted([S1, V1]), sorted(os.listdir(self.dir)))

    def test_backing_file_in_another_directory(self):
        other = self.useFixture(fixtures.TempDir()).path
        self.create("base.qcow2", IMAGES["base.qcow2"][0])
        top = os.path.join(other, "top.qcow2")
        qemu_img("create", "-q", "-f", "qcow2", "-b",
                 os.path.join("..", os.path.basename(self.dir),
                              "base.qcow2"), "-F", "qcow2", top,
                 cwd=other)
        self.driver.configuration.set_override("file_volume_dirs",
                                               [self.dir, other])
        self.assertEqual("backing file of: %s" % top,
                         self.volumes()["base.qcow2"]["reason_not_safe"])
        exc = self.assertRaises(exception.ManageExistingInvalidReference,
                                self.driver.manage_existing, {"name": V1},
                                {"source-name": self.path("base.qcow2")})
        self.assertIn("backing file of: %s" % top, str(exc))
        self.assertEqual(2, len(info(top, "--backing-chain")))

    def test_backing_names_with_a_protocol(self):
        cases = [
            ("file:" + self.path("base.qcow2"), "backing file of: top"),
            ('json:{"driver": "qcow2", "file": {"driver": "file", '
             '"filename": "%s"}}' % self.path("base.qcow2"),
             "backing file of: top"),
            ("nbd:localhost:1", "may be the backing or data file of: top"),
        ]
        for backing, reason in cases:
            with self.subTest(backing=backing):
                for name in os.listdir(self.dir):
                    os.unlink(self.path(name))
                self.create("base.qcow2", IMAGES["base.qcow2"][0])
                self.create("top.qcow2", ["-f", "qcow2", "-u", "-b",
                                          backing, "-F", "qcow2", "@",
                                          "64M"])
                self.assertIn(reason, self.volumes()["base.qcow2"]
                              ["reason_not_safe"])
                self.assertRaises(exception.ManageExistingInvalidReference,
                                  self.driver.manage_existing,
                                  {"name": V1},
                                  {"source-name": "base.qcow2"})
                self.assertIn("base.qcow2", os.listdir(self.dir))

    def test_formats_qemu_probes_are_not_raw(self):
        fifo = os.path.join(self.outside, "fifo")
        os.mkfifo(fifo)
        parallels = b"WithoutFreeSpace" + bytes(
            [2, 0, 0, 0, 16, 0, 0, 0, 1, 0, 0, 0, 1, 0, 0, 0, 1, 0, 0, 0,
             0, 8, 0, 0, 0, 0, 0, 0])
        heads = {
            "vmdk-version.raw": b'version=1\nCID=fffffffe\n'
                                b'createType="monolithicFlat"\n'
                                b'RW 2048 FLAT "%s" 0\n' % fifo.encode(),
            "vmdk-comment.raw": b'# hi\n  \nversion=1\nRW 2048 FLAT "'
                                b'extent.raw" 0\n',
            "parallels.raw": parallels,
        }
        for name, head in heads.items():
            with open(self.path(name), "wb") as f:
                f.write(head.ljust(1 << 20, b"\0"))
        with open(self.path("extent.raw"), "wb") as f:
            f.write(b"\0" * (1 << 20))
        entries = self.volumes()
        for name in heads:
            with self.subTest(image=name):
                self.assertFalse(entries[name]["safe_to_manage"])
                self.assertIn("unsupported format",
                              entries[name]["reason_not_safe"])
        # qemu's own probe agrees on the one it can open.
        self.assertEqual("parallels",
                         info(self.path("parallels.raw"))["format"])
        self.assertEqual("external data file of: vmdk-comment.raw",
                         entries["extent.raw"]["reason_not_safe"])


class FileVolumeConformanceTest(FileTestCase,
                                testing.VolumeConformanceMixin):
    """The conformance checks every driver passes (manage twice refused
    included), on raw files made by qemu-img."""

    def make_driver(self):
        return self.new_driver()

    def create_volume_object(self, name, size_bytes):
        self.create(name, ["-f", "raw", "@", str(size_bytes)])
