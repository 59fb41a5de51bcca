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

"""The file driver's only external commands: qemu-img, through one
:class:`manageable_driver.runner.CommandRunner`.

Listing never calls these; a manage call runs ``qemu-img info`` once to
confirm what the native header parser read, and a snapshot manage runs
``qemu-img rebase -u`` once to point the volume at the renamed snapshot.

Both are handed the file the driver has open and checked, as
``/proc/PID/fd/N`` (:func:`fd_path`), never a name in the image directory
that could be swapped for a symbolic link in between; and ``info`` is
told the format (``-f``), so qemu-img never probes one (a probe could
find a vmdk descriptor in a raw image and open the files it names).
"""

from __future__ import annotations

import dataclasses
import json
import os
from typing import Any

from manageable_driver import exception
from manageable_driver import runner
from manageable_driver.drivers.file import fsops


@dataclasses.dataclass(frozen=True)
class ImageInfo:
    """The fields of ``qemu-img info --output=json`` the driver compares."""

    format: str
    virtual_size: int
    backing_file: str | None
    data_file: str | None
    encrypted: bool


def parse_info(text: str) -> ImageInfo:
    """Read ``qemu-img info --output=json`` output.

    :param text: the command's stdout.
    :raises VolumeBackendAPIException: it is not the JSON qemu-img prints.
    """
    try:
        info: Any = json.loads(text)
        specific = info.get("format-specific") or {}
        data = specific.get("data") or {}
        return ImageInfo(format=str(info["format"]),
                         virtual_size=int(info["virtual-size"]),
                         backing_file=info.get("backing-filename"),
                         data_file=data.get("data-file"),
                         encrypted=bool(info.get("encrypted", False)))
    except (ValueError, TypeError, KeyError, AttributeError) as exc:
        raise exception.VolumeBackendAPIException(
            data="unexpected qemu-img info output (%s): %.200r"
                 % (exc, text))


_PR_GET_DUMPABLE = 3


def fd_path(fd: int) -> str:
    """Return the name by which another process opens what ``fd`` of
    this process is open on.

    Opening it reaches that very file (the kernel does not resolve the
    name again), whatever happened to its directory entry since.

    :param fd: a descriptor open in this process.
    :raises: nothing; whether another process may open the name is
        :meth:`QemuImg.fd_arg`'s question.
    """
    return "/proc/%d/fd/%d" % (os.getpid(), fd)


def _dumpable() -> bool:
    # A process that changed its uid (a daemon dropping root) is not
    # dumpable: then only root may open its /proc/PID/fd entries.
    return bool(fsops.libc.prctl(_PR_GET_DUMPABLE, 0, 0, 0, 0) == 1)


class QemuImg:
    """qemu-img calls of one file backend.

    :param execute: processutils-compatible callable (tests inject one).
    :param root_helper: prefix to run the commands as root.
    :param qemu_img: the qemu-img command.
    :param timeout: seconds before a call is killed.
    """

    def __init__(self, execute: runner.Execute | None = None,
                 root_helper: str | None = None,
                 qemu_img: str = "qemu-img",
                 timeout: int = runner.DEFAULT_TIMEOUT) -> None:
        self.qemu_img = qemu_img
        self.runner = runner.CommandRunner(execute=execute,
                                           root_helper=root_helper,
                                           timeout=timeout)

    def fd_arg(self, fd: int) -> str | None:
        """Return :func:`fd_path` of ``fd`` when qemu-img can open it,
        None when it cannot (not root, and this process not dumpable).

        :param fd: a checked descriptor of the image.
        :raises: nothing; the caller then hands qemu-img the name, and
            checks afterwards that the name still is the file.
        """
        if self.runner.root_helper or os.geteuid() == 0 or _dumpable():
            return fd_path(fd)
        return None

    def info(self, path: str, image_format: str) -> ImageInfo:
        """Return what qemu-img says of ``path`` opened as
        ``image_format``.

        Run without ``--force-share``: it fails when a running qemu holds
        the image's write lock, which is one more in-use check.

        :param path: the image, best as :func:`fd_path` of a checked fd.
        :param image_format: the format to open it as; qemu-img does not
            probe.
        :raises CommandFailed: qemu-img failed (locked, unreadable, not
            that format).
        """
        result = self.runner.run(self.qemu_img, "info", "--output=json",
                                 "-f", image_format, path)
        return parse_info(result.stdout)

    def rebase_unsafe(self, path: str, backing_file: str,
                      backing_format: str) -> None:
        """Rewrite the backing file name in ``path``'s header only.

        ``-u`` changes no data: the new name must hold the same content
        as the old, as a hard link of it does.

        :param path: the qcow2 image, best as :func:`fd_path` of a
            checked fd.
        :param backing_file: the backing file name to store.
        :param backing_format: the backing file's format, stored too so
            qemu never probes it.
        :raises CommandFailed: qemu-img failed.
        """
        self.runner.run(self.qemu_img, "rebase", "-u", "-f", "qcow2",
                        "-b", backing_file, "-F", backing_format, path)
