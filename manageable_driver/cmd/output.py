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

"""How the CLI prints manageable-list entries and results."""

from __future__ import annotations

from collections.abc import Sequence
import json
import textwrap
from typing import Any

TITLES = {"reference": "Reference", "source_reference": "Source reference",
          "size": "Size", "safe_to_manage": "Safe to manage",
          "reason_not_safe": "Reason not safe", "cinder_id": "Cinder ID",
          "extra_info": "Extra info"}
# The columns of ``cinder manageable-list`` / ``snapshot-manageable-list``
# (detailed), in cinderclient's order.
CINDER_FIELDS = {
    "volumes": ["reference", "size", "safe_to_manage", "reason_not_safe",
                "cinder_id", "extra_info"],
    "snapshots": ["reference", "size", "safe_to_manage", "source_reference",
                  "reason_not_safe", "cinder_id", "extra_info"],
}
# No column is squeezed below this, nor below its own title's words.
MIN_WIDTH = 8


def default_fields(kind: str) -> list[str]:
    """The columns shown for ``kind`` (volumes or snapshots)."""
    fields = list(CINDER_FIELDS["volumes"])
    if kind == "snapshots":
        fields.insert(1, "source_reference")
    return fields


def _printable(text: str) -> str:
    # Names may hold any character a file name can: never let one break
    # the table or drive the terminal.
    return "".join(c if c.isprintable() else c.encode("unicode_escape")
                   .decode("ascii") for c in text)


def _cell(key: str, value: Any, cinder_style: bool) -> str:
    if value is None:
        return "unknown" if key == "size" else "-"
    if isinstance(value, dict) and not cinder_style:
        text = ", ".join("%s=%s" % item for item in sorted(value.items()))
    else:
        text = str(value)
    return _printable(text)


def _fit(natural: list[int], floors: list[int], width: int) -> list[int]:
    widths = list(natural)
    # 3 characters of border per column, and one to close the row.
    while sum(widths) + 3 * len(widths) + 1 > width:
        widest = max(range(len(widths)), key=lambda i: widths[i] - floors[i])
        if widths[widest] <= floors[widest]:
            break
        widths[widest] -= 1
    return widths


def _lines(text: str, width: int) -> list[str]:
    if len(text) <= width:
        return [text]
    return textwrap.wrap(text, width, break_on_hyphens=False) or [""]


def table(entries: Sequence[dict[str, Any]], fields: Sequence[str],
          width: int | None = None, cinder_style: bool = False) -> str:
    """Render ``entries`` as a table of the columns ``fields``.

    :param entries: manageable-list entries.
    :param fields: the entry keys to show, in order.
    :param width: wrap the widest columns so that every line fits in this
        many characters; None never wraps.
    :param cinder_style: title columns by their keys and show dicts as
        cinderclient's ``manageable-list`` does.
    """
    titles = [key if cinder_style else TITLES.get(key, key)
              for key in fields]
    cells = [[_cell(key, entry.get(key), cinder_style) for key in fields]
             for entry in entries]
    natural = [max([len(titles[i])] + [len(row[i]) for row in cells])
               for i in range(len(fields))]
    floors = [min(natural[i], max([MIN_WIDTH] + [
        len(word) for word in titles[i].split()]))
        for i in range(len(fields))]
    widths = natural if width is None else _fit(natural, floors, width)
    rule = "+" + "+".join("-" * (w + 2) for w in widths) + "+"
    out = [rule]
    for number, row in enumerate([titles] + cells):
        wrapped = [_lines(cell, w) for cell, w in zip(row, widths,
                                                     strict=True)]
        for depth in range(max(len(lines) for lines in wrapped)):
            out.append("| " + " | ".join(
                (lines[depth] if depth < len(lines) else "").ljust(w)
                for lines, w in zip(wrapped, widths, strict=True)) + " |")
        if number == 0:
            out.append(rule)
    out.append(rule)
    return "\n".join(out)


def as_json(value: Any) -> str:
    """Render ``value`` as the JSON an API client would receive."""
    return json.dumps(value, indent=2, sort_keys=True)
