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

"""Child of :func:`tests.functional.unprivileged.run_as_user`.

Imports every module the driver needs while still root (the test
interpreter may live where the user cannot read), then drops to the user
for good and runs the calls read from stdin, printing their results as
JSON.
"""

# Codecs load lazily, from where the dropped user may not read.
import encodings.ascii  # noqa: F401
import encodings.latin_1  # noqa: F401
import encodings.utf_8  # noqa: F401
import json
import os
import pwd
import sys

from oslo_concurrency import processutils  # noqa: F401
from oslo_config import cfg

from manageable_driver import exception
from manageable_driver import opts
from manageable_driver.drivers import file as file_driver
from manageable_driver.drivers import lvm
from manageable_driver.drivers.file import options as file_options
from manageable_driver.drivers.lvm import options as lvm_options


def drop_to(user):
    pw = pwd.getpwnam(user)
    os.setgroups([])
    os.setresgid(pw.pw_gid, pw.pw_gid, pw.pw_gid)
    os.setresuid(pw.pw_uid, pw.pw_uid, pw.pw_uid)
    os.environ.update(HOME="/", USER=user, LOGNAME=user)


def build(backend, options):
    conf = cfg.ConfigOpts()
    if backend == "lvm":
        conf.register_opts(opts.common_opts + lvm_options.lvm_opts)
        klass = lvm.LVMDriver
    else:
        conf.register_opts(opts.common_opts + file_options.file_opts)
        klass = file_driver.FileDriver
    conf(args=[])
    for name, value in options.items():
        conf.set_override(name, value)
    return klass(configuration=conf)


def main():
    request = json.load(sys.stdin)
    drop_to(request["user"])
    results = []
    driver = None
    for method, *args in request["steps"]:
        try:
            if driver is None:
                driver = build(request["backend"], request["options"])
            if method == "whoami":
                result = os.geteuid()
            else:
                result = getattr(driver, method)(*args)
            results.append({"result": result})
        except exception.ManageableDriverException as exc:
            results.append({"error": type(exc).__name__,
                            "message": str(exc)})
    json.dump(results, sys.stdout, default=str)


if __name__ == "__main__":
    main()
