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

"""The driver's only access to Ceph: librados, librbd, and one raw op.

A listing reads the whole pool in a few round trips, never opening an
image (opening one costs a handful of round trips and registers a watch):

1. ``rbd_directory`` (every image name and id) through cls_rbd's
   ``dir_list``, pages of :data:`OMAP_PAGE` names;
2. for every image at once, asynchronously: the omap of its
   ``rbd_header.<id>`` (size, features, parent, snapshots) and the list of
   its watchers, an OSD read op (``CEPH_OSD_OP_LIST_WATCHERS``) that other
   clients never see.

librados offers listing watchers only through its C++ API
(``ObjectReadOperation::list_watchers``, exported by librados.so.2 of
Ceph 14.2 to 18.2); :class:`WatcherReader` adds that op to a C API read
op through ctypes, and sends one per header in parallel. Where the
symbol is missing, watchers come from opening each image read-only
(:meth:`Cluster.open_watchers`): correct, but one image at a time.

Every librados/librbd error becomes
:class:`~manageable_driver.exception.VolumeBackendAPIException`.
"""

from __future__ import annotations

from collections.abc import Iterator
import contextlib
import ctypes
import dataclasses
from typing import Any

from oslo_log import log as logging

from manageable_driver import exception
from manageable_driver.drivers.rbd import header
from manageable_driver.drivers.rbd import images

LOG = logging.getLogger(__name__)

DIRECTORY = "rbd_directory"
HEADER_PREFIX = "rbd_header."
OMAP_PAGE = 1024
# Room for a dir_list reply of OMAP_PAGE names of up to 95 bytes (what
# Cinder and the rbd tool create); grown up to MAX_REPLY for longer ones.
DIR_LIST_REPLY = OMAP_PAGE * 128
MAX_REPLY = 256 * 1024 ** 2
ENOENT = 2
ERANGE = 34
ETIMEDOUT = 110

try:  # python3-rados and python3-rbd, from the distribution
    import rados
    import rbd
except ImportError:  # pragma: no cover - depends on the install
    rados = None
    rbd = None

# By soname: ctypes.util.find_library would start ldconfig or gcc.
LIBRADOS = "librados.so.2"
LIBSTDCXX = "libstdc++.so.6"
# librados::ObjectReadOperation::list_watchers(std::list<obj_watch_t>*,
# int*), in the symbol version librados.so.2 has exported since 14.2.
LIST_WATCHERS = ("_ZN8librados7v14_2_019ObjectReadOperation13list_watchers"
                 "EPNSt7__cxx114listI11obj_watch_tSaIS4_EEEPi")


def _error(what: str,
           exc: BaseException) -> exception.VolumeBackendAPIException:
    return exception.VolumeBackendAPIException(
        data="Ceph: %s failed: %s" % (what, exc))


@dataclasses.dataclass(frozen=True)
class Settings:
    """How to reach the cluster (the driver's options)."""

    pool: str
    conf_file: str
    user: str | None
    keyring: str
    timeout: int

    def conf(self) -> dict[str, str]:
        """librados options the settings imply."""
        values = {}
        if self.keyring:
            values["keyring"] = self.keyring
        if self.timeout >= 0:
            # As Cinder's RBD driver: the timeout bounds every call, so a
            # stopped cluster gives an error instead of a hang.
            for key in ("rados_osd_op_timeout", "rados_mon_op_timeout",
                        "client_mount_timeout"):
                values[key] = str(self.timeout)
        return values


# ctypes shapes of librados's C++ types (libstdc++, x86_64 and aarch64).

class _ListHead(ctypes.Structure):
    # std::list's header node: next, prev, size.
    _fields_ = [("next", ctypes.c_void_p), ("prev", ctypes.c_void_p),
                ("size", ctypes.c_size_t)]


class _ObjWatch(ctypes.Structure):
    # obj_watch_t of rados_types.h (Ceph 14.2 and later).
    _fields_ = [("addr", ctypes.c_char * 256), ("watcher_id", ctypes.c_int64),
                ("cookie", ctypes.c_uint64),
                ("timeout_seconds", ctypes.c_uint32)]


class _FakeReadOperation(ctypes.Structure):
    # librados::ObjectReadOperation: a vtable pointer and the impl pointer,
    # whose first member is the ::ObjectOperation a C read op is.
    _fields_ = [("vtable", ctypes.c_void_p), ("impl", ctypes.c_void_p)]


_NODE_DATA = 2 * ctypes.sizeof(ctypes.c_void_p)


class WatcherReader:
    """Lists the watchers of many objects in parallel through the C API.

    Opens its own librados handle with ``settings``; :meth:`close` (or the
    with-block) shuts it down.

    :raises VolumeBackendAPIException: cannot connect.
    :raises OSError: librados lacks the list-watchers symbol.
    """

    def __init__(self, settings: Settings) -> None:
        self.lib = ctypes.CDLL(LIBRADOS)
        self.cxx = ctypes.CDLL(LIBSTDCXX)
        self.list_watchers = getattr(self.lib, LIST_WATCHERS)
        self._declare()
        self.cluster = ctypes.c_void_p()
        self.ioctx = ctypes.c_void_p()
        user = ("client.%s" % settings.user if settings.user
                else "client.admin")
        self._check("rados_create2", self.lib.rados_create2(
            ctypes.byref(self.cluster), b"ceph", user.encode(), 0))
        try:
            self._check("rados_conf_read_file", self.lib.rados_conf_read_file(
                self.cluster, settings.conf_file.encode() or None))
            for key, value in settings.conf().items():
                self._check("rados_conf_set " + key, self.lib.rados_conf_set(
                    self.cluster, key.encode(), value.encode()))
            self._check("rados_connect", self.lib.rados_connect(self.cluster))
            self._check("rados_ioctx_create", self.lib.rados_ioctx_create(
                self.cluster, settings.pool.encode(),
                ctypes.byref(self.ioctx)))
        except exception.VolumeBackendAPIException:
            self.close()
            raise

    def _declare(self) -> None:
        vp = ctypes.c_void_p
        lib = self.lib
        for name, args, res in (
                ("rados_create2", [ctypes.POINTER(vp), ctypes.c_char_p,
                                   ctypes.c_char_p, ctypes.c_uint64],
                 ctypes.c_int),
                ("rados_conf_read_file", [vp, ctypes.c_char_p], ctypes.c_int),
                ("rados_conf_set", [vp, ctypes.c_char_p, ctypes.c_char_p],
                 ctypes.c_int),
                ("rados_connect", [vp], ctypes.c_int),
                ("rados_ioctx_create", [vp, ctypes.c_char_p,
                                        ctypes.POINTER(vp)], ctypes.c_int),
                ("rados_ioctx_destroy", [vp], None),
                ("rados_shutdown", [vp], None),
                ("rados_create_read_op", [], vp),
                ("rados_release_read_op", [vp], None),
                ("rados_aio_create_completion2", [vp, vp, ctypes.POINTER(vp)],
                 ctypes.c_int),
                ("rados_aio_read_op_operate", [vp, vp, vp, ctypes.c_char_p,
                                               ctypes.c_int], ctypes.c_int),
                ("rados_aio_wait_for_complete", [vp], ctypes.c_int),
                ("rados_aio_get_return_value", [vp], ctypes.c_int),
                ("rados_aio_release", [vp], None)):
            func = getattr(lib, name)
            func.argtypes = args
            func.restype = res
        self.list_watchers.argtypes = [vp, vp, vp]
        self.list_watchers.restype = None
        # operator delete(void*): frees the list nodes librados allocated.
        self.delete = self.cxx._ZdlPv
        self.delete.argtypes = [vp]
        self.delete.restype = None

    @staticmethod
    def _check(what: str, ret: int) -> None:
        if ret < 0:
            raise exception.VolumeBackendAPIException(
                data="Ceph: %s failed: error %d" % (what, -ret))

    def close(self) -> None:
        """Release the librados handle."""
        if self.ioctx:
            self.lib.rados_ioctx_destroy(self.ioctx)
            self.ioctx = ctypes.c_void_p()
        if self.cluster:
            self.lib.rados_shutdown(self.cluster)
            self.cluster = ctypes.c_void_p()

    def __enter__(self) -> WatcherReader:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    def start(self, oid: str) -> tuple[Any, ...]:
        """Send the list-watchers op on ``oid``; :meth:`finish` waits."""
        op = self.lib.rados_create_read_op()
        if not op:
            raise MemoryError("rados_create_read_op")
        head = _ListHead()
        address = ctypes.addressof(head)
        head.next = head.prev = address
        rval = ctypes.c_int(0)
        fake = _FakeReadOperation(None, op)
        self.list_watchers(ctypes.byref(fake), ctypes.byref(head),
                           ctypes.byref(rval))
        completion = ctypes.c_void_p()
        self._check("rados_aio_create_completion2",
                    self.lib.rados_aio_create_completion2(
                        None, None, ctypes.byref(completion)))
        ret = self.lib.rados_aio_read_op_operate(op, self.ioctx, completion,
                                                 oid.encode(), 0)
        return (op, head, rval, completion, fake, ret)

    def finish(self, pending: tuple[Any, ...]) -> tuple[int, list[str]]:
        """Wait for one op of :meth:`start`: (return value, watchers)."""
        op, head, rval, completion, _fake, ret = pending
        try:
            if ret >= 0:
                self.lib.rados_aio_wait_for_complete(completion)
                ret = self.lib.rados_aio_get_return_value(completion)
            if ret >= 0 and rval.value < 0:
                ret = rval.value
            found = []
            address = ctypes.addressof(head)
            node = head.next
            while node and node != address:
                watch = _ObjWatch.from_address(node + _NODE_DATA)
                found.append(watch.addr.decode("utf-8", "replace"))
                following = ctypes.c_void_p.from_address(node).value
                self.delete(node)
                node = following
            return ret, found
        finally:
            self.lib.rados_aio_release(completion)
            self.lib.rados_release_read_op(op)

    @staticmethod
    def available() -> bool:
        """True when librados exports the list-watchers op."""
        try:
            getattr(ctypes.CDLL(LIBRADOS), LIST_WATCHERS)
        except (OSError, AttributeError):
            return False
        return True


class Cluster:
    """One pool of one cluster, as the driver sees it.

    :param settings: how to reach it.
    """

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.fast_watchers = WatcherReader.available()

    @contextlib.contextmanager
    def connect(self) -> Iterator[tuple[Any, Any]]:
        """A connected (Rados, Ioctx) of the pool for the with-block.

        :raises VolumeBackendAPIException: cannot connect, no such pool,
            or python3-rados/rbd are missing.
        """
        if rados is None or rbd is None:
            raise exception.VolumeBackendAPIException(
                data="the RBD driver needs the python3-rados and "
                     "python3-rbd packages of the system Python")
        settings = self.settings
        try:
            client = rados.Rados(rados_id=settings.user,
                                 conffile=settings.conf_file or "",
                                 conf=settings.conf())
        except rados.Error as exc:
            raise _error("configuration", exc)
        try:
            try:
                client.connect()
                ioctx = client.open_ioctx(settings.pool)
            except rados.Error as exc:
                raise _error("connecting to pool %s" % settings.pool, exc)
            try:
                yield client, ioctx
            finally:
                ioctx.close()
        finally:
            client.shutdown()

    # Reads ---------------------------------------------------------------

    @staticmethod
    def _omap_all(ioctx: Any, oid: str) -> dict[str, bytes]:
        values: dict[str, bytes] = {}
        after = ""
        while True:
            with rados.ReadOpCtx() as op:
                found, _ret = ioctx.get_omap_vals(op, after, "", OMAP_PAGE)
                ioctx.operate_read_op(op, oid)
                page = dict(found)
            values.update(page)
            if len(page) < OMAP_PAGE:
                return values
            after = max(page)

    @staticmethod
    def _directory(ioctx: Any) -> dict[str, str]:
        # cls_rbd's dir_list, not an omap read: python3-rados decodes
        # omap keys as UTF-8, and one image name that is not would fail
        # the whole listing.
        found: dict[str, str] = {}
        after = ""
        room = DIR_LIST_REPLY
        while True:
            try:
                _ret, reply = ioctx.execute(
                    DIRECTORY, "rbd", "dir_list",
                    header.dir_list_request(after, OMAP_PAGE), room)
            except rados.Error as exc:
                # librbd does not bound a name's length: a page of long
                # names needs more room (librados says ERANGE).
                if getattr(exc, "errno", None) != ERANGE or room >= MAX_REPLY:
                    raise
                room *= 4
                continue
            page = header.dir_list(reply)
            found.update(page)
            if len(page) < OMAP_PAGE:
                return found
            after = max(page, key=lambda name: name.encode(
                "utf-8", "surrogateescape"))

    def identity(self, client: Any, ioctx: Any) -> tuple[str, int]:
        """(cluster fsid, pool id): the same on every host."""
        try:
            return client.get_fsid(), int(ioctx.get_pool_id())
        except rados.Error as exc:
            raise _error("reading the cluster fsid", exc)

    def scan(self) -> images.PoolScan:
        """Read every image of the pool: names, headers, watchers.

        :raises VolumeBackendAPIException: the directory cannot be read
            (a header that cannot be read is reported in its image).
        """
        with self.connect() as (client, ioctx):
            try:
                directory = self._directory(ioctx)
            except rados.ObjectNotFound:
                directory = {}  # a pool no image was ever created in
            except (rados.Error, header.DecodeError) as exc:
                raise _error("reading %s" % DIRECTORY, exc)
            pool_id = int(ioctx.get_pool_id())
            scanned = self._read_images(ioctx, directory)
        return images.PoolScan(pool_id, self.settings.pool, tuple(scanned))

    def _read_images(self, ioctx: Any, directory: dict[str, str]
                     ) -> list[images.ScannedImage]:
        names = sorted(directory)
        oids = [HEADER_PREFIX + directory[name] for name in names]
        watchers: dict[str, tuple[int, list[str]] | str] = {}
        reader = None
        if self.fast_watchers and oids:
            try:
                reader = WatcherReader(self.settings)
            except (OSError, AttributeError,
                    exception.VolumeBackendAPIException) as exc:
                LOG.warning("Listing watchers in parallel is not possible "
                            "(%(exc)s); opening each image instead",
                            {"exc": exc})
        pending_watch = []
        try:
            for oid in oids if reader else ():
                assert reader is not None  # noqa: S101 - checked just above
                pending_watch.append((oid, reader.start(oid)))
            omaps = self._read_headers(ioctx, oids)
        finally:
            # librados writes into each op's list until the op completes:
            # wait for every one before the handle (and the lists) go.
            for oid, pending in pending_watch:
                assert reader is not None  # noqa: S101 - pending implies it
                watchers[oid] = reader.finish(pending)
            if reader is not None:
                reader.close()
        if any(not isinstance(w, str) and w[0] == -ETIMEDOUT
               for w in watchers.values()):
            raise exception.VolumeBackendAPIException(
                data="Ceph: listing the watchers of the image headers of "
                     "pool %s timed out" % self.settings.pool)
        scanned = []
        for name, oid in zip(names, oids, strict=True):
            omap = omaps[oid]
            image_id = directory[name]
            if isinstance(omap, str):
                scanned.append(images.ScannedImage(name, image_id, None,
                                                   error=omap))
                continue
            found = watchers.get(oid)
            if found is None:
                found = self.open_watchers(ioctx, name)
            if isinstance(found, str):
                scanned.append(images.ScannedImage(
                    name, image_id, omap, watchers=None,
                    watchers_error=found))
                continue
            ret, addresses = found
            if ret < 0:
                scanned.append(images.ScannedImage(
                    name, image_id, omap, watchers=None,
                    watchers_error="error %d" % -ret))
            else:
                scanned.append(images.ScannedImage(
                    name, image_id, omap, watchers=tuple(addresses)))
        return scanned

    def _read_headers(self, ioctx: Any, oids: list[str]
                      ) -> dict[str, dict[str, bytes] | str]:
        # Every header read in flight at once; a header with more keys
        # than one page (many snapshots) is read again in pages.
        pending = []
        for oid in oids:
            op = rados.ReadOpCtx()
            op.__enter__()
            found, _ret = ioctx.get_omap_vals(op, "", "", OMAP_PAGE)
            completion = ioctx.operate_aio_read_op(op, oid)
            pending.append((oid, op, found, completion))
        result: dict[str, dict[str, bytes] | str] = {}
        timed_out: list[str] = []
        for oid, op, found, completion in pending:
            try:
                completion.wait_for_complete()
                ret = completion.get_return_value()
                if ret == -ETIMEDOUT:
                    timed_out.append(oid)
                elif ret == -ENOENT:
                    result[oid] = "%s does not exist" % oid
                elif ret < 0:
                    result[oid] = "reading %s: error %d" % (oid, -ret)
                else:
                    values = dict(found)
                    if len(values) >= OMAP_PAGE:
                        values = self._omap_all(ioctx, oid)
                    result[oid] = values
            except rados.TimedOut:
                timed_out.append(oid)
            except rados.Error as exc:
                result[oid] = "reading %s: %s" % (oid, exc)
            finally:
                op.__exit__(None, None, None)
        if timed_out:
            # The cluster stopped answering: not a fact about the images.
            raise exception.VolumeBackendAPIException(
                data="Ceph: reading %d image header(s) of pool %s timed out "
                     "(first: %s)" % (len(timed_out), self.settings.pool,
                                      timed_out[0]))
        return result

    def open_watchers(self, ioctx: Any,
                      name: str) -> tuple[int, list[str]] | str:
        """The watchers of image ``name``, from opening it read-only.

        The slow path, where librados lacks the list-watchers op.
        """
        try:
            with rbd.Image(ioctx, name, read_only=True) as image:
                return 0, [w["addr"] for w in image.watchers_list()]
        except (rbd.Error, rados.Error) as exc:
            return str(exc)

    def children(self, snapshots: list[tuple[str, int]]
                 ) -> dict[tuple[str, int], int | str]:
        """How many clones librbd finds, in every pool, of each (image id,
        snapshot id); why not where it cannot say.

        Opens each image read-only: for the few protected snapshots a
        scan sees no clone of (a format 1 clone in another pool is
        recorded only there).

        :raises VolumeBackendAPIException: cannot connect.
        """
        found: dict[tuple[str, int], int | str] = {}
        with self.connect() as (_client, ioctx):
            for image_id, snap_id in snapshots:
                try:
                    with rbd.Image(ioctx, image_id=image_id,
                                   read_only=True) as image:
                        image.set_snap_by_id(snap_id)
                        found[(image_id, snap_id)] = len(
                            list(image.list_children2()))
                except (rbd.Error, rados.Error) as exc:
                    found[(image_id, snap_id)] = (
                        "listing its clones failed: %s" % exc)
        return found

    @staticmethod
    def image_id(ioctx: Any, name: str) -> str | None:
        """The id of image ``name``; None when there is none.

        :raises DecodeError: its ``rbd_id`` object is malformed.
        :raises VolumeBackendAPIException: the read failed.
        """
        try:
            raw = ioctx.read("rbd_id." + name)
        except rados.ObjectNotFound:
            return None
        except rados.Error as exc:
            raise _error("reading rbd_id.%s" % name, exc)
        return header.decode_string(raw, "rbd_id." + name)

    def image(self, ioctx: Any, name: str) -> images.ScannedImage | None:
        """Read one image by name; None when there is none."""
        try:
            image_id = self.image_id(ioctx, name)
        except header.DecodeError as exc:
            return images.ScannedImage(name, "", None, error=str(exc))
        if image_id is None:
            return None
        return self._read_images(ioctx, {name: image_id})[0]

    # Changes -------------------------------------------------------------

    def rename_image(self, ioctx: Any, old: str, new: str) -> None:
        """Rename image ``old`` to ``new`` (librbd refuses a taken name).

        :raises ManageExistingInvalidReference: ``new`` exists.
        :raises VolumeBackendAPIException: librbd failed.
        """
        try:
            rbd.RBD().rename(ioctx, old, new)
        except rbd.ImageExists:
            raise exception.ManageExistingInvalidReference(
                existing_ref={"source-name": old},
                reason="an image named %s exists already" % new)
        except (rbd.Error, rados.Error) as exc:
            raise _error("renaming image %s to %s" % (old, new), exc)
        LOG.info("Renamed RBD image %(pool)s/%(old)s to %(new)s",
                 {"pool": self.settings.pool, "old": old, "new": new})

    def rename_snapshot(self, ioctx: Any, image: str, image_id: str,
                        old: str, new: str) -> None:
        """Rename snapshot ``old`` of the image whose id is ``image_id``
        (named ``image``, for messages) to ``new``. By id: an image put
        under that name since it was checked is not touched.

        :raises ManageExistingInvalidReference: ``new`` exists.
        :raises VolumeBackendAPIException: librbd failed.
        """
        try:
            with rbd.Image(ioctx, image_id=image_id) as opened:
                opened.rename_snap(old, new)
        except rbd.ImageExists:
            raise exception.ManageExistingInvalidReference(
                existing_ref={"source-name": old},
                reason="image %s has a snapshot named %s already"
                       % (image, new))
        except (rbd.Error, rados.Error) as exc:
            raise _error("renaming snapshot %s@%s to %s" % (image, old, new),
                         exc)
        LOG.info("Renamed RBD snapshot %(pool)s/%(image)s@%(old)s to "
                 "%(new)s", {"pool": self.settings.pool, "image": image,
                             "old": old, "new": new})
