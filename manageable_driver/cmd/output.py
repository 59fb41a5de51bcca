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

"""How the CLI prints manageable-list entries."""

from __future__ import annotations

from collections.abc import Sequence
import json
from typing import Any

_COLUMNS = [("Reference", "reference"), ("Size", "size"),
            ("Safe to manage", "safe_to_manage"),
            ("Reason not safe", "reason_not_safe"),
            ("Cinder ID", "cinder_id"), ("Extra info", "extra_info")]


def _cell(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, dict):
        text = ", ".join("%s=%s" % item for item in sorted(value.items()))
    else:
        text = str(value)
    # Names may hold any character a file name can: never let one break
    # the table or drive the terminal.
    return "".join(c if c.isprintable() else c.encode("unicode_escape")
                   .decode("ascii") for c in text)


def table(entries: Sequence[dict[str, Any]]) -> str:
    """Render ``entries`` as the columns ``cinder manageable-list
    --detailed`` shows (plus the source reference of snapshots).
    """
    columns = list(_COLUMNS)
    if any("source_reference" in e for e in entries):
        columns.insert(1, ("Source reference", "source_reference"))
    rows = [[title for title, _key in columns]]
    rows += [[_cell(entry.get(key)) for _title, key in columns]
             for entry in entries]
    widths = [max(len(row[i]) for row in rows) for i in range(len(columns))]
    rule = "+" + "+".join("-" * (w + 2) for w in widths) + "+"
    lines = [rule]
    for number, row in enumerate(rows):
        cells = [cell.ljust(width)
                 for cell, width in zip(row, widths, strict=True)]
        lines.append("| " + " | ".join(cells) + " |")
        if number == 0:
            lines.append(rule)
    lines.append(rule)
    return "\n".join(lines)


def as_json(value: Any) -> str:
    """Render ``value`` as the JSON an API client would receive."""
    return json.dumps(value, indent=2, sort_keys=True)
