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

"""Check the built manageable-driver(1) page: a section-1 man page with
the sections an operator reads, and every exit code the command has."""

import re
import sys

from manageable_driver.cmd import cli


def main(path: str) -> int:
    with open(path, encoding="utf-8") as f:
        text = f.read()
    problems = []
    if not re.search(r'^\.TH "MANAGEABLE-DRIVER" "1"', text, re.M):
        problems.append("no .TH header for manageable-driver(1)")
    for section in ("SYNOPSIS", "DESCRIPTION", "CHOOSING THE BACKEND",
                    "COMMANDS", "EXIT CODES"):
        if not re.search(r'^\.SH %s$' % section, text, re.M):
            problems.append("no %s section" % section)
    for code, _meaning in cli.EXIT_CODES:
        if not re.search(r"^\.B \\fB%d\\fP$" % code, text, re.M):
            problems.append("exit code %d is not documented" % code)
    for problem in problems:
        print("%s: %s" % (path, problem), file=sys.stderr)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
