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

"""Our paginate against Cinder's paginate_entries_list, on random input.

Only input Cinder itself handles is generated: as many directions as sort
keys (Cinder zips them, dropping keys without one), an int limit (None
crashes it), sizes that are all ints (None beside an int raises TypeError
in its comparator) and unique references, as a backend lists them.
"""

from __future__ import annotations

import json
from typing import Any

import hypothesis
from hypothesis import strategies as st

from manageable_driver import pagination
from tests.compat import base

_NAMES = st.text(alphabet="abcxyz-_.0189", min_size=1, max_size=6)


@st.composite
def _listing(draw: Any) -> dict[str, Any]:
    names = draw(st.lists(_NAMES, unique=True, max_size=12))
    two_keys = draw(st.booleans())
    entries = []
    for name in names:
        reference = {"source-name": name}
        if two_keys:
            # A dict sorts by its smallest value in both implementations.
            reference["source-id"] = draw(_NAMES)
        entries.append({
            "reference": reference,
            "size": draw(st.integers(min_value=0, max_value=4)),
            "safe_to_manage": draw(st.booleans()),
            "reason_not_safe": None,
            "cinder_id": None,
            "extra_info": None,
        })
    keys = draw(st.lists(st.sampled_from(["reference", "size", " size"]),
                         max_size=3))
    dirs = draw(st.lists(st.sampled_from(["asc", "desc"]),
                         min_size=len(keys), max_size=len(keys)))
    marker: Any = None
    if entries and draw(st.booleans()):
        marker = draw(st.sampled_from(entries))["reference"]
        if draw(st.booleans()):
            marker = json.dumps(marker)
    return {
        "entries": entries,
        "marker": marker,
        "limit": draw(st.integers(min_value=0, max_value=len(entries) + 2)),
        "offset": draw(st.one_of(st.none(), st.integers(
            min_value=0, max_value=len(entries) + 2))),
        "sort_keys": keys,
        "sort_dirs": dirs,
    }


class PaginateDifferentialTest(base.NeedsCinder):
    """paginate returns Cinder's page, entry for entry."""

    @hypothesis.settings(max_examples=300, deadline=None)
    @hypothesis.given(_listing())
    def test_same_page_as_cinder(self, case: dict[str, Any]) -> None:
        from cinder.volume import volume_utils
        theirs = volume_utils.paginate_entries_list(**case)
        ours = pagination.paginate(**case)
        # Identity, not equality: ties must keep Cinder's (input) order.
        self.assertEqual([id(e) for e in theirs], [id(e) for e in ours],
                         "different page for %r" % (case,))

    def test_unknown_marker_refused_by_both(self) -> None:
        from cinder import exception as cinder_exception
        from cinder.volume import volume_utils

        from manageable_driver import exception
        entries = [{"reference": {"source-name": "a"}, "size": 1}]
        args = (entries, {"source-name": "zz"}, 5, 0, ["size"], ["asc"])
        self.assertRaises(cinder_exception.InvalidInput,
                          volume_utils.paginate_entries_list, *args)
        self.assertRaises(exception.InvalidInput, pagination.paginate, *args)
