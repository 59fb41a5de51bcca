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

"""Reading the caller's inputs: references, Cinder volumes, volume types.

Shared by every driver so each refuses bad input the same way, before it
runs anything on the backend.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from manageable_driver import exception

SOURCE_NAME = "source-name"
SOURCE_ID = "source-id"


def field(obj: Any, key: str) -> Any:
    """Read ``key`` from a Cinder object or a dict; None when absent."""
    if isinstance(obj, Mapping):
        return obj.get(key)
    return getattr(obj, key, None)


def parse_reference(existing_ref: Any,
                    keys: tuple[str, ...] = (SOURCE_NAME, SOURCE_ID),
                    max_length: int = 4096) -> tuple[str, str]:
    """Return the (key, value) a reference names an object by.

    The first of ``keys`` present in ``existing_ref`` wins, as Cinder
    drivers read ``source-name`` before ``source-id``.

    :param existing_ref: what the API caller passed.
    :param keys: the reference keys the driver understands, in order.
    :param max_length: longest value accepted.
    :raises ManageExistingInvalidReference: not a dict, none of ``keys``,
        a value that is not a non-empty string, too long, or holding a NUL.
    """
    def invalid(reason: str) -> exception.ManageExistingInvalidReference:
        return exception.ManageExistingInvalidReference(
            existing_ref=existing_ref, reason=reason)

    if not isinstance(existing_ref, Mapping):
        raise invalid("reference must be a dict, got %s"
                      % type(existing_ref).__name__)
    for key in keys:
        if key not in existing_ref:
            continue
        value = existing_ref[key]
        if not isinstance(value, str):
            raise invalid("%s must be a string, got %s"
                          % (key, type(value).__name__))
        if not value:
            raise invalid("%s is empty" % key)
        if len(value) > max_length:
            raise invalid("%s is longer than %d characters"
                          % (key, max_length))
        if "\0" in value:
            raise invalid("%s contains a NUL character" % key)
        return key, value
    raise invalid("reference needs one of the keys %s" % ", ".join(keys))


def object_name(obj: Any, what: str = "volume") -> str:
    """Return the ``name`` of a Cinder volume or snapshot (object or dict).

    :raises InvalidInput: the object has no usable name.
    """
    name = field(obj, "name")
    if not isinstance(name, str) or not name:
        raise exception.InvalidInput(
            reason="the %s to manage has no name: %r" % (what, name))
    return name


def extra_specs(volume: Any) -> dict[str, str]:
    """Return the extra specs of ``volume``'s type, {} when it has none."""
    vtype = field(volume, "volume_type")
    if vtype is None:
        return {}
    specs = field(vtype, "extra_specs")
    if not isinstance(specs, Mapping):
        return {}
    return {str(k): str(v) for k, v in specs.items()}


def requested(volume: Any, key: str) -> str | None:
    """Return what the volume type asks for ``key``, ignoring any scope.

    Cinder accepts ``provisioning:type`` and scoped forms such as
    ``capabilities:provisioning:type``; ``<is> thin`` style operators are
    stripped to their value.
    """
    for spec, value in extra_specs(volume).items():
        if spec == key or spec.endswith(":" + key):
            words = value.split()
            return words[-1].lower() if words else None
    return None
