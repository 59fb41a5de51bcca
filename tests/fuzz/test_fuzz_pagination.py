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


"""The pagination engine on random entries and arguments.

Whatever the arguments, :func:`pagination.paginate` returns a page or
raises InvalidInput; a page holds only given entries (the same objects),
each once, at most ``limit`` of them, and the entries are not modified.
"""

import copy

from hypothesis import given
from hypothesis import strategies as st

from manageable_driver import exception
from manageable_driver import pagination
from tests.fuzz import base

KEYS = ("reference", "identifier", "size", "safe_to_manage", "cinder_id",
        "extra_info", "reason_not_safe", "nope")
VALUES = (st.none() | st.booleans() | st.integers(-3, 3) | st.floats()
          | st.text(max_size=3)
          | st.dictionaries(st.sampled_from(("source-name", "source-id")),
                            st.text(max_size=3) | st.integers(0, 3),
                            max_size=2))
ENTRY = st.dictionaries(st.sampled_from(KEYS[:-1]), VALUES, max_size=6)
JUNK = st.none() | st.integers(-2, 30) | st.text(max_size=4) | st.floats()


@st.composite
def arguments(draw):
    entries = draw(st.lists(ENTRY, max_size=12))
    refs = [e["reference"] for e in entries if "reference" in e]
    marker = draw(st.none() | st.just("") | st.just({}) | VALUES | JUNK
                  | (st.sampled_from(refs) if refs else st.none()))
    keys = draw(st.none() | st.lists(st.sampled_from(KEYS) | JUNK,
                                     max_size=3) | JUNK)
    dirs = draw(st.none() | st.lists(st.sampled_from(("asc", "desc"))
                                     | JUNK, max_size=3) | JUNK)
    return (entries, marker, draw(JUNK), draw(JUNK), keys, dirs)


class PaginationFuzzTest(base.FuzzTestCase):

    @base.SETTINGS
    @given(arguments())
    def test_random_arguments(self, args):
        entries = args[0]
        before = copy.deepcopy(entries)
        try:
            page = pagination.paginate(*args)
        except exception.InvalidInput:
            page = None
        self.assertEqual(before, entries)
        if page is not None:
            ids = [id(e) for e in page]
            self.assertEqual(len(ids), len(set(ids)))
            self.assertLessEqual(set(ids), {id(e) for e in entries})
            limit = args[2]
            if isinstance(limit, int) and not isinstance(limit, bool):
                self.assertLessEqual(len(page), limit)
        self.count()
