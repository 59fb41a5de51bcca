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

"""Replay of the image headers recorded by tests/unit/data/file/record.py.
"""

import json
import os

DATA = os.path.join(os.path.dirname(__file__), "data", "file")


def names():
    """Every recorded image name."""
    return sorted(f[:-len(".size")] for f in os.listdir(DATA)
                  if f.endswith(".size"))


def _read(name, suffix, mode="rb"):
    with open(os.path.join(DATA, name + suffix), mode) as f:
        return f.read()


class Recording:
    """One image as recorded: its first bytes, last bytes, size and
    qemu-img info's report."""

    def __init__(self, name):
        self.name = name
        self.head = _read(name, ".head")
        self.tail = _read(name, ".tail")
        self.size = int(_read(name, ".size", "r"))
        self.info_text = _read(name, ".info.json", "r")
        self.info = json.loads(self.info_text)

    def reader(self, log=None):
        """Return read(offset, length) serving the recorded regions.

        Reading anywhere else fails the test: the parser must not need it.
        """
        tail_start = self.size - len(self.tail)

        def read(offset, length):
            if log is not None:
                log.append((offset, length))
            end = min(offset + length, self.size)
            if end <= len(self.head):
                return self.head[offset:end]
            if offset >= tail_start:
                return self.tail[offset - tail_start:end - tail_start]
            raise AssertionError("read of %d bytes at %d is outside the "
                                 "recording" % (length, offset))
        return read

    def write_to(self, path):
        """Write the recorded head (and tail) as a file of ``path``."""
        with open(path, "wb") as f:
            f.write(self.head)
            if self.size > len(self.head):
                f.seek(self.size - len(self.tail))
                f.write(self.tail)
