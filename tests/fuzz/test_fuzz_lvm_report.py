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


"""The lvs JSON report parser on random and mutated reports.

Whatever the text, :func:`report.parse_report` returns LVs or raises
VolumeBackendAPIException, and the records and listing entries made from
what it returns are built without any other exception.  Mutations start
from the reports recorded from real LVM2 (tests/unit/data/lvm/*.json).
"""

import json
import os

from hypothesis import example
from hypothesis import given
from hypothesis import strategies as st

from manageable_driver import exception
from manageable_driver import listing
from manageable_driver.drivers.lvm import report
from tests.fuzz import base

DATA = os.path.join(os.path.dirname(os.path.dirname(__file__)), "unit",
                    "data", "lvm")


def _recordings():
    docs = {}
    for name in sorted(os.listdir(DATA)):
        if name.endswith(".json"):
            with open(os.path.join(DATA, name)) as f:
                docs[name] = f.read()
    return docs


REPORTS = _recordings()
SCALARS = (st.none() | st.booleans() | st.integers() | st.floats()
           | st.text(max_size=40))
JSON = st.recursive(SCALARS, lambda inner: st.lists(inner, max_size=4)
                    | st.dictionaries(st.text(max_size=10), inner,
                                      max_size=4), max_leaves=20)
# Values LVM could plausibly print in a field, and some it never would.
FIELD_VALUES = (st.sampled_from(("", "0", "-1", "4194304", "1e3", "0x10",
                                 "18446744073709551616", "unknown",
                                 "public,snapshot", "linear", "thin",
                                 "cinder-volume-id=x,", ",,", "open",
                                 "swi-XXs---", "Vwi---tz-k", "\u00e9"))
                | SCALARS)


@st.composite
def mutated(draw):
    """A recorded report with fields changed, deleted or added, rows
    duplicated or dropped; or its text cut or with bytes changed."""
    text = REPORTS[draw(st.sampled_from(sorted(REPORTS)))]
    if draw(st.booleans()):
        pos = draw(st.integers(0, len(text)))
        if draw(st.booleans()):
            return text[:pos]
        return text[:pos] + draw(st.text(max_size=8)) + text[pos + 1:]
    doc = json.loads(text)
    rows = doc["report"][0]["lv"]
    for _ in range(draw(st.integers(1, 6))):
        op = draw(st.sampled_from(("set", "delete", "add", "dup", "drop")))
        if not rows:
            rows.append({})
        row = rows[draw(st.integers(0, len(rows) - 1))]
        field = draw(st.sampled_from(report.REPORT_FIELDS))
        if op == "set":
            row[field] = draw(FIELD_VALUES)
        elif op == "delete":
            row.pop(field, None)
        elif op == "add":
            row[draw(st.text(max_size=8))] = draw(FIELD_VALUES)
        elif op == "dup":
            rows.append(dict(row))
        else:
            rows.remove(row)
    return json.dumps(doc)


class ReportFuzzTest(base.FuzzTestCase):

    def check(self, text):
        try:
            lvs = report.parse_report(text)
        except exception.VolumeBackendAPIException:
            self.count()
            return
        self.assertIsInstance(lvs, list)
        records = (report.volume_records(lvs)
                   + report.snapshot_records(lvs))
        for record in records:
            verdict = listing.assess(record, {}, "volume-%s")
            entry = listing.build_entry(record, verdict)
            self.assertTrue(entry["size"] is None or entry["size"] >= 0,
                            entry)
            self.assertTrue(entry["safe_to_manage"]
                            or entry["reason_not_safe"], entry)
        self.count()

    @base.SETTINGS
    @given(st.text(max_size=200))
    def test_random_text(self, text):
        self.check(text)

    @base.SETTINGS
    @given(JSON)
    def test_random_json(self, doc):
        self.check(json.dumps(doc))

    @base.SETTINGS
    @given(st.lists(st.dictionaries(st.sampled_from(report.REPORT_FIELDS),
                                    FIELD_VALUES), max_size=6))
    # Found by this test: str.isdigit() is true for "\u00b2", int() fails.
    @example([{"lv_name": "a", "lv_size": "\u00b2"}])
    def test_random_rows(self, rows):
        self.check(json.dumps({"report": [{"lv": rows}]}))

    @base.SETTINGS
    @given(mutated())
    def test_mutated_recordings(self, text):
        self.check(text)
