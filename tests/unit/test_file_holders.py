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

"""In-use detection from /proc text recorded on this machine, and name
resolution that stays inside the store, on real files in temp dirs."""

import os

import fixtures

from manageable_driver.drivers.file import holders
from manageable_driver.drivers.file import storenames
from tests import base

PROC = os.path.join(os.path.dirname(__file__), "data", "proc")
ROOT_FS = os.makedev(254, 0)


def recorded(name):
    with open(os.path.join(PROC, name), "rb") as f:
        return f.read()


class ProcTextTest(base.TestCase):
    """Recorded: a process that mapped /srv/images/img (inode 2148722 of
    the root filesystem, 254:0) three ways, held it and a socket open,
    with a bindfs mount and a bind mount of the root filesystem."""

    def test_mountinfo(self):
        mounts = holders.parse_mountinfo(
            recorded("mountinfo.txt").decode())
        self.assertEqual(ROOT_FS, mounts[27])
        # A bind mount of part of a filesystem: its device is the same.
        self.assertEqual(ROOT_FS, mounts[46])
        self.assertEqual(os.makedev(0, 41), mounts[47])
        self.assertEqual(21, len(mounts))

    def test_mountinfo_garbage(self):
        self.assertEqual({}, holders.parse_mountinfo("x\n1 2\n3 4 5\n"))

    def test_fdinfo(self):
        self.assertEqual((27, 2148722),
                         holders.parse_fdinfo(recorded("fdinfo-file.txt")))
        self.assertEqual((10, 210563),
                         holders.parse_fdinfo(recorded("fdinfo-socket.txt")))
        # Before Linux 5.14 there is no ino line.
        self.assertEqual((27, None), holders.parse_fdinfo(
            b"pos:\t0\nflags:\t02\nmnt_id:\t27\n"))

    def test_maps(self):
        text = recorded("maps.txt")
        # rw-s writes the file; r--s and rw-p (a private copy) do not,
        # but every mapping holds it.
        self.assertEqual({(ROOT_FS, 2148722): True,
                          (ROOT_FS, 339380): False},
                         holders.parse_maps(text, [ROOT_FS]))
        self.assertEqual({}, holders.parse_maps(text, [os.makedev(0, 41)]))
        self.assertEqual({}, holders.parse_maps(text, []))

    def test_maps_private_only(self):
        text = (b"7f00-7f01 rw-p 00000000 fe:00 12 /srv/a\n"
                b"7f01-7f02 r--s 00000000 fe:00 12 /srv/a fe:00 13\n"
                b"7f02-7f03 rw-s 00000000 00:00 0 /x fe:00 14 \n"
                b"7f03-7f04 rw-s 00000000 fe:00 0 [anon]")
        self.assertEqual({(ROOT_FS, 12): False},
                         holders.parse_maps(text, [ROOT_FS]))


class ReadInUseTest(base.TestCase):
    """The real /proc of this host: this process's own holds."""

    def setUp(self):
        super().setUp()
        self.dir = self.useFixture(fixtures.TempDir()).path
        self.image = os.path.join(self.dir, "a.img")
        with open(self.image, "wb") as f:
            f.truncate(8192)
        st = os.stat(self.image)
        self.key = (st.st_dev, st.st_ino)

    def test_open_file(self):
        with open(self.image, "rb"):
            self.assertEqual("open by pid %d" % os.getpid(),
                             holders.read_in_use([self.dir]).get(self.key))
        self.assertNotIn(self.key, holders.read_in_use([self.dir]))

    def test_keyed_by_filesystem(self):
        other = self.useFixture(fixtures.TempDir()).path
        store = holders.store_of([other])
        with open(self.image, "rb"):
            found = holders.read_processes(store)
        # The same filesystem: the inode is found, keyed for the store.
        self.assertEqual("open by pid %d" % os.getpid(), found[self.key])
        self.assertEqual({}, holders.read_processes(
            holders.Store({}, storenames.StoreNames([other]))))

    def test_kernel_without_ino(self):
        # A /proc as a kernel before 5.14 shows it: fdinfo without ino.
        # The descriptor's link is followed only because its mount is
        # the store's filesystem; one of another is not.
        proc = self.useFixture(fixtures.TempDir()).path
        st = os.stat(self.dir)
        for path, text in (
                ("self/mountinfo", "40 1 %d:%d / / rw - ext4 x rw\n"
                 "41 1 0:99 / /elsewhere rw - nfs y rw\n"
                 % (os.major(st.st_dev), os.minor(st.st_dev))),
                ("7/fdinfo/3", "pos:\t0\nflags:\t02\nmnt_id:\t40\n"),
                ("7/fdinfo/4", "pos:\t0\nflags:\t02\nmnt_id:\t41\n"),
                ("7/maps", ""), ("locks", "")):
            os.makedirs(os.path.dirname(os.path.join(proc, path)),
                        exist_ok=True)
            with open(os.path.join(proc, path), "w") as f:
                f.write(text)
        os.makedirs(os.path.join(proc, "7", "fd"))
        os.symlink(self.image, os.path.join(proc, "7", "fd", "3"))
        # A real file: followed, it would be in the table.
        other = os.path.join(self.useFixture(fixtures.TempDir()).path,
                             "other")
        with open(other, "wb"):
            pass
        os.symlink(other, os.path.join(proc, "7", "fd", "4"))
        self.assertEqual({self.key: "open by pid 7"},
                         holders.read_in_use([self.dir], proc=proc,
                                             sys_block=proc))

    def test_unreadable_proc(self):
        self.assertEqual({}, holders.read_in_use(
            [self.dir], proc=os.path.join(self.dir, "nope"),
            sys_block=os.path.join(self.dir, "nope")))


class StoreNamesTest(base.TestCase):

    def setUp(self):
        super().setUp()
        self.top = os.path.realpath(self.useFixture(fixtures.TempDir()).path)
        self.store = os.path.join(self.top, "store")
        self.outside = os.path.join(self.top, "outside")
        os.makedirs(os.path.join(self.store, "sub"))
        os.mkdir(self.outside)
        for path in ("store/a.img", "store/sub/b.img", "outside/c.img"):
            with open(os.path.join(self.top, path), "wb") as f:
                f.write(b"x")
        self.names = storenames.StoreNames([self.store])

    def resolve(self, *parts):
        return self.names.resolve(os.path.join(self.top, *parts))

    def test_inside(self):
        found = self.resolve("store", "sub", "..", "a.img")
        self.assertEqual(os.path.join(self.store, "a.img"), found.path)
        self.assertEqual(os.stat(found.path).st_ino, found.key[1])
        self.assertEqual(self.store, self.resolve("store", ".").path)

    def test_links_inside_are_followed(self):
        os.symlink("sub/b.img", os.path.join(self.store, "alias"))
        os.symlink(os.path.join(self.store, "sub"),
                   os.path.join(self.store, "absdir"))
        self.assertEqual(os.path.join(self.store, "sub", "b.img"),
                         self.resolve("store", "alias").path)
        self.assertEqual(os.path.join(self.store, "sub", "b.img"),
                         self.resolve("store", "absdir", "b.img").path)

    def test_outside_is_not_looked_at(self):
        os.symlink(self.outside, os.path.join(self.store, "out"))
        self.assertEqual(storenames.Outside("outside/c.img"),
                         self.resolve("outside", "c.img"))
        # Through a link of the store: from where the link leads.
        self.assertEqual(storenames.Outside("outside/c.img"),
                         self.resolve("store", "out", "c.img"))
        self.assertEqual(storenames.Outside("outside/c.img"),
                         self.resolve("store", "..", "outside", "c.img"))
        # Above the store: known from its real path, not looked at.
        self.assertEqual(storenames.Outside(self.top),
                         self.resolve("store", ".."))

    def test_nothing(self):
        os.symlink("loop", os.path.join(self.store, "loop"))
        self.assertIsNone(self.resolve("store", "missing"))
        self.assertIsNone(self.resolve("store", "a.img", "x"))
        self.assertIsNone(self.resolve("store", "loop"))
        self.assertIsNone(self.names.resolve("relative"))

    def test_configured_through_a_link(self):
        link = os.path.join(self.top, "link")
        os.symlink("store", link)
        names = storenames.StoreNames([link])
        self.assertEqual(self.store, names.real_dir(link))
        self.assertEqual(os.path.join(self.store, "a.img"),
                         names.resolve(os.path.join(link, "a.img")).path)
