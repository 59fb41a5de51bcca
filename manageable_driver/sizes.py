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

"""Size conversions in integer arithmetic."""

from oslo_utils import units

Gi: int = units.Gi


def bytes_to_gib_ceil(size_bytes: int) -> int:
    """Return ``size_bytes`` in GiB, rounded up to the next whole GiB.

    Integer arithmetic only: a float division would report 1,028 MiB as
    1 GiB, smaller than the data.

    :param size_bytes: a size in bytes, zero or more.
    :raises ValueError: if ``size_bytes`` is negative or not an int.
    """
    if isinstance(size_bytes, bool) or not isinstance(size_bytes, int):
        raise ValueError("size must be an integer number of bytes, got %r"
                         % (size_bytes,))
    if size_bytes < 0:
        raise ValueError("size must not be negative, got %d" % size_bytes)
    return -(-size_bytes // Gi)
