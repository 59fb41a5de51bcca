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

"""The image header parser against headers qemu-img made on this machine,
with qemu-img info's report of each as the oracle."""

import struct

import hypothesis
from hypothesis import strategies as st

from manageable_driver.drivers.file import headers
from tests import base
from tests.unit import file_data

FUZZ_EXAMPLES = 400


def parse_recording(rec, log=None):
    return headers.parse(rec.reader(log), rec.size)


class RecordedHeadersTest(base.TestCase):

    def test_every_recording_matches_qemu_img(self):
        for name in file_data.names():
            rec = file_data.Recording(name)
            with self.subTest(image=name):
                log = []
                header = parse_recording(rec, log)
                info = rec.info
                if name == "fixed.vhd":
                    # qemu probes "conectix" at offset 0 only, so it reads
                    # a fixed VHD as raw; we also look at the footer.
                    self.assertEqual(("raw", "vpc"),
                                     (info["format"], header.format))
                    continue
                self.assertEqual(info["format"], header.format)
                self.assertLessEqual(sum(n for _o, n in log),
                                     headers.MAX_READ)
                if header.format not in ("raw", "qcow2"):
                    self.assertEqual("unsupported format: %s"
                                     % info["format"],
                                     headers.unsafe_reason(header))
                    continue
                self.assertIsNone(header.error)
                self.assertEqual(info["virtual-size"], header.virtual_size)
                self.assertEqual(info.get("backing-filename"),
                                 header.backing_file)
                self.assertEqual(info.get("backing-filename-format"),
                                 header.backing_format)
                data = info.get("format-specific", {}).get("data", {})
                self.assertEqual(data.get("data-file"), header.data_file)
                self.assertEqual(info.get("encrypted", False),
                                 header.encrypted)
                self.assertEqual(len(info.get("snapshots", [])),
                                 header.snapshots)
                self.assertEqual(data.get("data-file-raw", False),
                                 bool(header.autoclear_features
                                      & headers.AUTOCLEAR_DATA_FILE_RAW))

    def test_reasons(self):
        expected = {
            "raw.img": None,
            "v3.qcow2": None,
            "v2.qcow2": None,
            "odd-size.qcow2": None,
            "backed.qcow2": "backing file present: v3.qcow2",
            "backed-v2.qcow2": "backing file present: v3.qcow2",
            "datafile.qcow2": "external data file present: datafile.raw",
            "datafile-raw.qcow2":
                "external data file present: datafile2.raw",
            "aes.qcow2": "encrypted image",
            "luks.qcow2": "encrypted image",
            "a.luks": "unsupported format: luks",
            "a.vmdk": "unsupported format: vmdk",
            "flat.vmdk": "unsupported format: vmdk",
            "a.vhd": "unsupported format: vpc",
            "fixed.vhd": "unsupported format: vpc",
            "a.vhdx": "unsupported format: vhdx",
            "a.vdi": "unsupported format: vdi",
            "a.qed": "unsupported format: qed",
        }
        self.assertEqual(sorted(expected), file_data.names())
        for name, reason in expected.items():
            with self.subTest(image=name):
                header = parse_recording(file_data.Recording(name))
                self.assertEqual(reason, headers.unsafe_reason(header))

    def test_vmdk_descriptor_names_its_extent(self):
        header = parse_recording(file_data.Recording("flat.vmdk"))
        self.assertEqual(("flat-flat.vmdk",), header.extents)

    def test_fixed_vhd_is_found_by_its_footer(self):
        rec = file_data.Recording("fixed.vhd")
        self.assertNotIn(headers.VHD_MAGIC, rec.head)
        self.assertEqual("vpc", parse_recording(rec).format)


def v3_header():
    rec = file_data.Recording("v3.qcow2")
    return bytearray(rec.head), rec.size


def parse_bytes(data, size=None):
    size = len(data) if size is None else size

    def read(offset, length):
        assert 0 <= offset and offset + length <= size, (offset, length)
        return bytes(data[offset:offset + length])
    return headers.parse(read, size)


class MutatedHeadersTest(base.TestCase):
    """Real qemu-img headers with one field made hostile."""

    def mutate(self, fmt, offset, value):
        data, size = v3_header()
        struct.pack_into(fmt, data, offset, value)
        return parse_bytes(data, min(size, len(data)))

    def test_truncated(self):
        data, _size = v3_header()
        for length in (4, 8, 40, 71, 100):
            with self.subTest(length=length):
                header = parse_bytes(data[:length])
                self.assertIn("truncated", headers.unsafe_reason(header))

    def test_bad_fields(self):
        cases = [
            (">I", 4, 4, "unsupported qcow2 version 4"),
            (">I", 20, 8, "cluster_bits 8"),
            (">I", 20, 22, "cluster_bits 22"),
            (">Q", 72, headers.INCOMPAT_CORRUPT, "marked corrupt"),
            (">Q", 72, headers.INCOMPAT_DIRTY, "dirty bit"),
            (">Q", 72, 1 << 40, "unknown qcow2 incompatible"),
            (">Q", 72, headers.INCOMPAT_DATA_FILE,
             "external data file present: (name missing)"),
            (">I", 100, 1 << 20, "header_length"),
            (">I", 100, 50, "header_length"),
            (">I", 32, 2, "encrypted"),
        ]
        for fmt, offset, value, reason in cases:
            with self.subTest(offset=offset, value=value):
                header = self.mutate(fmt, offset, value)
                self.assertIn(reason, headers.unsafe_reason(header))

    def test_backing_name_bounds(self):
        data, _size = v3_header()
        struct.pack_into(">QI", data, 8, 0x200, 2000)
        self.assertIn("backing file name of 2000 bytes",
                      headers.unsafe_reason(parse_bytes(data)))
        struct.pack_into(">QI", data, 8, len(data) - 4, 100)
        self.assertIn("backing file name at offset",
                      headers.unsafe_reason(parse_bytes(data)))
        struct.pack_into(">QI", data, 8, 1 << 62, 10)
        self.assertIn("backing file name at offset",
                      headers.unsafe_reason(parse_bytes(data)))

    def test_extension_too_long(self):
        data, _size = v3_header()
        (length,) = struct.unpack_from(">I", data, 100)
        struct.pack_into(">II", data, length, headers.EXT_DATA_FILE,
                         1 << 30)
        self.assertIn("corrupt qcow2 header extension",
                      headers.unsafe_reason(parse_bytes(data)))

    def test_extensions_never_end(self):
        # Extensions filling 2 MiB clusters: the parser stops at its bound.
        data, _size = v3_header()
        struct.pack_into(">I", data, 20, 21)
        (length,) = struct.unpack_from(">I", data, 100)
        data = data[:length] + bytearray(
            struct.pack(">II", 0x1234, 0) * (1 << 16))
        log = []
        size = len(data)

        def read(offset, n):
            log.append(n)
            return bytes(data[offset:offset + n])
        header = headers.parse(read, size)
        self.assertIn("exceed", headers.unsafe_reason(header))
        self.assertLessEqual(sum(log), headers.MAX_READ)

    def test_backing_name_round_trips_undecodable_bytes(self):
        rec = file_data.Recording("backed.qcow2")
        data = bytearray(rec.head)
        offset, _length = struct.unpack_from(">QI", data, 8)
        # "v3.qcow2" becomes "\xff\xfe.qcow2", which is not UTF-8.
        data[offset:offset + 2] = b"\xff\xfe"
        header = parse_bytes(data, len(data))
        self.assertEqual(b"\xff\xfe.qcow2",
                         header.backing_file.encode("utf-8",
                                                    "surrogateescape"))


class BoundedReader:
    """A file of ``data`` that records every read and checks its bounds."""

    def __init__(self, data):
        self.data = bytes(data)
        self.total = 0

    def __call__(self, offset, length):
        assert offset >= 0 and length >= 0, (offset, length)
        assert offset + length <= len(self.data), (offset, length)
        self.total += length
        return self.data[offset:offset + length]


RECORDED_QCOW2 = [bytes(file_data.Recording(n).head[:4096])
                  for n in ("v3.qcow2", "v2.qcow2", "backed.qcow2",
                            "datafile.qcow2", "luks.qcow2")]


@st.composite
def mutated_headers(draw):
    data = bytearray(draw(st.sampled_from(RECORDED_QCOW2)))
    for _ in range(draw(st.integers(1, 8))):
        pos = draw(st.integers(0, 511))
        kind = draw(st.sampled_from(["byte", "u32", "u64"]))
        if kind == "byte":
            data[pos] = draw(st.integers(0, 255))
        elif kind == "u32":
            struct.pack_into(">I", data, min(pos, len(data) - 4),
                             draw(st.integers(0, 2 ** 32 - 1)))
        else:
            struct.pack_into(">Q", data, min(pos, len(data) - 8),
                             draw(st.integers(0, 2 ** 64 - 1)))
    cut = draw(st.integers(0, len(data)))
    return bytes(data[:cut])


class FuzzTest(base.TestCase):
    """Random and mutated headers: a header or a reason, nothing else."""

    def check(self, data):
        reader = BoundedReader(data)
        header = headers.parse(reader, len(data))
        self.assertIsInstance(header, headers.ImageHeader)
        reason = headers.unsafe_reason(header)
        self.assertTrue(reason is None or isinstance(reason, str))
        self.assertLessEqual(reader.total, headers.MAX_READ)
        if header.error is None and header.format == "qcow2":
            self.assertIsInstance(header.virtual_size, int)
        if header.format == "raw":
            self.assertEqual(len(data), header.virtual_size)

    @hypothesis.settings(max_examples=FUZZ_EXAMPLES, deadline=None,
                         database=None)
    @hypothesis.given(st.binary(max_size=2048))
    def test_random_bytes(self, data):
        self.check(data)

    @hypothesis.settings(max_examples=FUZZ_EXAMPLES, deadline=None,
                         database=None)
    @hypothesis.given(st.sampled_from([headers.QCOW2_MAGIC + b"\0\0\0\3",
                                       headers.QCOW2_MAGIC + b"\0\0\0\2"]),
                      st.binary(max_size=1024))
    def test_qcow2_magic_then_random(self, magic, rest):
        self.check(magic + rest)

    @hypothesis.settings(max_examples=FUZZ_EXAMPLES, deadline=None,
                         database=None)
    @hypothesis.given(mutated_headers())
    def test_mutated_recorded_headers(self, data):
        self.check(data)


class QemuProbeTest(base.TestCase):
    """Finding 6: every format qemu 7.2's probes take is not raw."""

    def parse(self, data, size=None):
        size = len(data) if size is None else size
        return headers.parse(lambda off, ln: data[off:off + ln], size)

    def test_probed_formats(self):
        cases = {
            b"version=1\nRW 8 FLAT \"x.raw\" 0\n": "vmdk",
            b"# c\n   \r\nversion=3\r\nRW 8 FLAT \"x.raw\" 0\n": "vmdk",
            b"WithoutFreeSpace\x02\0\0\0": "parallels",
            b"WithouFreSpacExt\x02\0\0\0": "parallels",
            b"Bochs Virtual HD Image\0": "bochs",
            headers.CLOOP_MAGIC: "cloop",
            b"QFI\xfb\0\0\0\x01" + b"\0" * 64: "qcow",
        }
        for data, fmt in cases.items():
            with self.subTest(data=data):
                header = self.parse(data.ljust(4096, b"\0"))
                self.assertEqual(fmt, header.format)
                self.assertIsNotNone(headers.unsafe_reason(header))
        self.assertEqual(("x.raw",), self.parse(
            b"version=1\nRW 8 FLAT \"x.raw\" 0\n").extents)
        dmg = b"\0" * 4096 + b"koly".ljust(512, b"\0")
        self.assertEqual("dmg", self.parse(dmg).format)

    def test_text_qemu_does_not_probe_stays_raw(self):
        for data in (b"versio=1\n", b"x\nversion=1\n", b"# no newline"):
            with self.subTest(data=data):
                self.assertEqual("raw", self.parse(
                    data.ljust(4096, b"\0")).format)
