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

"""Keystone's WSGI application, for any WSGI server (gunicorn here).

Keystone parses its configuration with ``CONF(project='keystone')`` and no
``args``, so oslo.config reads ``sys.argv``: under gunicorn that is
gunicorn's own command line (``--bind ...``), which Keystone refuses. The
application is built with an argv of the program name only; the
configuration comes from ``OS_KEYSTONE_CONFIG_FILES``, as Keystone reads it.
"""

import sys

from keystone.server import wsgi


def _build():
    saved = sys.argv
    sys.argv = saved[:1]
    try:
        return wsgi.initialize_public_application()
    finally:
        sys.argv = saved


application = _build()
