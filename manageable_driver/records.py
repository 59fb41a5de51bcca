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

"""What a backend says about each object it has.

A backend yields these small records; :mod:`manageable_driver.listing` turns
them into Cinder's manageable-list entries, so a backend never builds an
entry dict, rounds a size or decides precedence of reasons itself.
"""

from __future__ import annotations

import dataclasses


@dataclasses.dataclass(frozen=True, kw_only=True)
class VolumeRecord:
    """One backend object that could be adopted as a Cinder volume.

    :ivar name: the object's backend name, as Cinder's name templates would
        produce it (a backend that stores names escaped, as LVM stores
        ``snapshot-*`` as ``_snapshot-*``, gives the unescaped name).
    :ivar reference: what manage_existing takes back, string values only,
        e.g. ``{'source-name': 'lv1'}``.
    :ivar size_bytes: the exact size in bytes; None when it could not be read.
    :ivar size_error: why the size could not be read (makes it unsafe).
    :ivar in_use: the object is open or otherwise busy.
    :ivar in_use_reason: what uses it, for the operator ("open", "locked
        by pid 42").
    :ivar unsafe_reason: any other reason the backend refuses to adopt it
        ("snapshot", "unsupported format: vmdk").
    :ivar cinder_id: the backend itself records the object as managed by
        this Cinder id (an LVM tag, an index entry).
    :ivar extra_info: details for people, string keys and values.
    """

    name: str
    reference: dict[str, str]
    size_bytes: int | None
    size_error: str | None = None
    in_use: bool = False
    in_use_reason: str | None = None
    unsafe_reason: str | None = None
    cinder_id: str | None = None
    extra_info: dict[str, str] | None = None


@dataclasses.dataclass(frozen=True, kw_only=True)
class SnapshotRecord(VolumeRecord):
    """One backend object that could be adopted as a Cinder snapshot.

    :ivar source_reference: the reference of the volume it was taken from.
    """

    source_reference: dict[str, str]
