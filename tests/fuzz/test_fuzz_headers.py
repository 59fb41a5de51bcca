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


"""The image header parser on random and mutated headers.

Whatever the bytes, :func:`headers.parse` returns a header (with ``error``
set when it cannot be read) and never reads past the file's end or more
than MAX_READ bytes; :func:`headers.unsafe_reason` then returns a reason
or None.  Mutations start from the headers recorded from real qemu-img
images (tests/unit/data/file/*.head).
"""

import os
import struct

from hypothesis import given
from hypothesis import strategies as st

from manageable_driver.drivers.file import headers
from tests.fuzz import base

DATA = os.path.join(os.path.dirname(os.path.dirname(__file__)), "unit",
                    "data", "file")


def _recordings():
    heads = {}
    for name in sorted(os.listdir(DATA)):
        if name.endswith(".head"):
            with open(os.path.join(DATA, name), "rb") as f:
                heads[name] = f.read()
    return heads


HEADS = _recordings()
EXTREMES = (0, 1, 7, 8, 9, 21, 22, 512, 4096, 65536, 2 ** 31 - 1, 2 ** 31,
            2 ** 32 - 1, 2 ** 62, 2 ** 63 - 1, 2 ** 63, 2 ** 64 - 1)


@st.composite
def mutated(draw):
    """A recorded header with a few bytes flipped, fields set to extreme
    values, bytes spliced in or the tail cut."""
    data = bytearray(HEADS[draw(st.sampled_from(sorted(HEADS)))])
    for _ in range(draw(st.integers(1, 6))):
        op = draw(st.sampled_from(("flip", "field", "splice", "cut")))
        pos = draw(st.integers(0, max(0, len(data) - 1)))
        if op == "flip" and data:
            data[pos] ^= draw(st.integers(1, 255))
        elif op == "field":
            # The qcow2, VHD, VDI... integer fields are 4 or 8 bytes, mostly
            # at the start and big- or little-endian.
            pos = draw(st.integers(0, 31)) * 4
            width = draw(st.sampled_from((">I", ">Q", "<I", "<Q")))
            value = draw(st.sampled_from(EXTREMES) | st.integers(
                0, 2 ** 32 - 1))
            value %= 2 ** (8 * struct.calcsize(width))
            packed = struct.pack(width, value)
            data[pos:pos + len(packed)] = packed
        elif op == "splice":
            data[pos:pos] = draw(st.binary(max_size=64))
        else:
            del data[pos:]
    return bytes(data)


class HeaderFuzzTest(base.FuzzTestCase):

    def parse(self, data, extra):
        """Parse ``data`` as a file of len(data) + extra bytes (a sparse
        tail reads as zeros)."""
        size = len(data) + extra
        reads = []

        def read(offset, length):
            reads.append(length)
            self.assertGreaterEqual(offset, 0)
            self.assertGreaterEqual(length, 0)
            self.assertLessEqual(offset, size)
            chunk = data[offset:offset + length]
            want = max(0, min(length, size - offset))
            return chunk + bytes(want - len(chunk))

        header = headers.parse(read, size)
        self.assertIsInstance(header, headers.ImageHeader)
        self.assertLessEqual(sum(reads), headers.MAX_READ)
        reason = headers.unsafe_reason(header)
        self.assertTrue(reason is None or isinstance(reason, str))
        if header.error is None and header.virtual_size is not None:
            self.assertGreaterEqual(header.virtual_size, 0)
        self.count()

    @base.SETTINGS
    @given(st.binary(max_size=4096), st.integers(0, 2 ** 40))
    def test_random_bytes(self, data, extra):
        self.parse(data, extra)

    @base.SETTINGS
    @given(st.binary(min_size=4, max_size=8), st.binary(max_size=1024),
           st.integers(0, 2 ** 34))
    def test_magic_then_random(self, magic, rest, extra):
        # Start with a real format's magic so the format parsers run.
        for known in (b"QFI\xfb", headers.QED_MAGIC, headers.LUKS_MAGIC,
                      headers.VMDK_SPARSE_MAGIC, headers.VHDX_MAGIC,
                      headers.VHD_MAGIC, headers.VMDK_DESCRIPTOR):
            self.parse(known + rest, extra)
        self.parse(magic + rest, extra)

    @base.SETTINGS
    @given(mutated(), st.integers(0, 2 ** 34))
    def test_mutated_recordings(self, data, extra):
        self.parse(data, extra)
