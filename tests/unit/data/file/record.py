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

"""Re-record the image headers the unit tests replay.

Run as python3 tests/unit/data/file/record.py on a machine with
qemu-img: every image is made by the real qemu-img in a temporary
directory, and for each this writes NAME.head (the first 64 KiB), NAME.tail
(the last 512 bytes), NAME.size (the file size) and NAME.info.json
(qemu-img info --output=json, verbatim: the oracle the tests compare the
parser with, and what the replayed qemu-img prints).
"""

import json
import os
import subprocess
import sys
import tempfile

HEAD = 64 * 1024
TAIL = 512
SECRET = ["--object", "secret,id=sec0,data=x"]

# name: qemu-img create arguments (after the file name is appended)
IMAGES = {
    "raw.img": ["-f", "raw", "@", "3M"],
    "v3.qcow2": ["-f", "qcow2", "@", "1G"],
    "v2.qcow2": ["-f", "qcow2", "-o", "compat=0.10", "@", "2G"],
    "odd-size.qcow2": ["-f", "qcow2", "@", "1073742336"],
    "backed.qcow2": ["-f", "qcow2", "-b", "v3.qcow2", "-F", "qcow2", "@"],
    "backed-v2.qcow2": ["-f", "qcow2", "-o", "compat=0.10", "-b",
                        "v3.qcow2", "-F", "qcow2", "@"],
    "datafile.qcow2": ["-f", "qcow2", "-o", "data_file=datafile.raw", "@",
                       "1G"],
    "datafile-raw.qcow2": ["-f", "qcow2", "-o",
                           "data_file=datafile2.raw,data_file_raw=on", "@",
                           "1G"],
    "aes.qcow2": ["-f", "qcow2"] + SECRET + [
        "-o", "encrypt.format=aes,encrypt.key-secret=sec0", "@", "1G"],
    "luks.qcow2": ["-f", "qcow2"] + SECRET + [
        "-o", "encrypt.format=luks,encrypt.key-secret=sec0,"
              "encrypt.iter-time=10", "@", "1G"],
    "a.luks": ["-f", "luks"] + SECRET + [
        "-o", "key-secret=sec0,iter-time=10", "@", "1G"],
    "a.vmdk": ["-f", "vmdk", "@", "1G"],
    "flat.vmdk": ["-f", "vmdk", "-o", "subformat=monolithicFlat", "@",
                  "1M"],
    "a.vhd": ["-f", "vpc", "@", "1G"],
    "fixed.vhd": ["-f", "vpc", "-o", "subformat=fixed", "@", "1M"],
    "a.vhdx": ["-f", "vhdx", "@", "1G"],
    "a.vdi": ["-f", "vdi", "@", "1G"],
    "a.qed": ["-f", "qed", "@", "1G"],
}


def qemu_img(*args, cwd=None):
    # LUKS key derivation times itself with getrusage, which is too coarse
    # on some VMs ("Unable to get accurate CPU usage"): retry then.
    for _ in range(20):
        proc = subprocess.run(["qemu-img", *args], capture_output=True,
                              text=True, check=False, cwd=cwd)
        if proc.returncode == 0:
            return proc.stdout
        if "accurate CPU usage" not in proc.stderr:
            break
    raise RuntimeError(proc.stderr)


def main(out):
    with tempfile.TemporaryDirectory() as tmp:
        for name, args in IMAGES.items():
            path = os.path.join(tmp, name)
            # In tmp: qemu-img creates a relative data_file in its
            # working directory.
            qemu_img("create", "-q", *[path if a == "@" else a
                                       for a in args], cwd=tmp)
        qemu_img("snapshot", "-c", "snap1", os.path.join(tmp, "v3.qcow2"))
        qemu_img("bitmap", "--add", os.path.join(tmp, "odd-size.qcow2"),
                 "bitmap0")
        for name in IMAGES:
            path = os.path.join(tmp, name)
            info = qemu_img("info", "--output=json", path)
            json.loads(info)
            size = os.path.getsize(path)
            with open(path, "rb") as f:
                head = f.read(HEAD)
                f.seek(max(0, size - TAIL))
                tail = f.read(TAIL)
            with open(os.path.join(out, name + ".head"), "wb") as f:
                f.write(head)
            with open(os.path.join(out, name + ".tail"), "wb") as f:
                f.write(tail)
            with open(os.path.join(out, name + ".info.json"), "w") as f:
                f.write(info)
            with open(os.path.join(out, name + ".size"), "w") as f:
                f.write("%d\n" % size)


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else os.path.dirname(
        os.path.abspath(__file__)))
