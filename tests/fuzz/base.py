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

"""Hypothesis settings of the fuzz tests, chosen by HYPOTHESIS_PROFILE.

``quick`` (the default) runs a few hundred fixed cases in the normal unit
run; ``fuzz`` (``tox -e fuzz``) runs FUZZ_EXAMPLES random cases per test
(12,500 unless the environment variable says otherwise: 100,000 over the
eight tests).
The settings are applied per test, not loaded globally, so other tests
keep their own.
"""

import collections
import os
import sys

from hypothesis import HealthCheck
from hypothesis import settings

from tests import base

FUZZ_EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "12500"))
PROFILE = os.environ.get("HYPOTHESIS_PROFILE", "quick")

settings.register_profile(
    "quick", max_examples=100, derandomize=True, deadline=None,
    suppress_health_check=[HealthCheck.too_slow])
settings.register_profile(
    "fuzz", max_examples=FUZZ_EXAMPLES, deadline=None, database=None,
    suppress_health_check=[HealthCheck.too_slow,
                           HealthCheck.data_too_large])
SETTINGS = settings.get_profile(
    PROFILE if PROFILE in ("quick", "fuzz") else "quick")

# Cases run per test, printed when a class finishes.
CASES = collections.Counter()


class FuzzTestCase(base.TestCase):

    @classmethod
    def tearDownClass(cls):
        super().tearDownClass()
        mine = {k: v for k, v in CASES.items()
                if k.startswith(cls.__name__ + ".")}
        # Past any output capture: the count is the report.
        sys.__stderr__.write("fuzz cases (%s profile): %s; all classes so "
                             "far: %d\n" % (PROFILE, mine,
                                            sum(CASES.values())))

    def count(self):
        CASES["%s.%s" % (type(self).__name__, self._testMethodName)] += 1
