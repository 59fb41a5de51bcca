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

"""Options of the file-backed driver."""

from __future__ import annotations

from oslo_config import cfg

file_opts = [
    cfg.ListOpt("file_volume_dirs",
                default=[],
                help="Directories holding the image files of this backend, "
                     "for example where an NFS or CIFS export is mounted. "
                     "Images are listed, managed and renamed inside these "
                     "directories only."),
    cfg.IntOpt("file_volume_scan_depth",
               default=0, min=0, max=16,
               help="How many levels of subdirectories to list below each "
                    "of file_volume_dirs; 0 lists the top level only. "
                    "Symbolic links are never followed."),
    cfg.StrOpt("file_qemu_img",
               default="qemu-img",
               help="The qemu-img command. It runs once per manage call to "
                    "confirm the image, never while listing."),
    cfg.StrOpt("file_backend_id",
               help="The identity of this backend's storage, the same on "
                    "every host that serves it, for example the NFS share "
                    "(server:/export). With each image's inode number it "
                    "names the lock manage and unmanage take, so every "
                    "cinder-volume host of a cluster takes the same lock "
                    "for the same image whatever its mount point and "
                    "device number. Unset: the path of the configured "
                    "directory, which is the same on every host that "
                    "mounts the share at the same place (Cinder's NFS "
                    "driver does)."),
    cfg.IntOpt("file_command_timeout",
               default=120, min=1,
               help="Seconds before a qemu-img call is killed."),
    cfg.StrOpt("file_root_helper",
               help="Command prefix qemu-img runs through as root (sudo, "
                    "or a rootwrap command line). Unset: qemu-img runs as "
                    "the driver's user, which must then be able to read "
                    "and write the images."),
]
