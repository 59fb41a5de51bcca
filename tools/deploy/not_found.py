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

"""An HTTP server on loopback that answers 404 to every request:

    python not_found.py PORT

The deployment has no Neutron, but Tempest's snapshot manage tests set
``create_default_network`` and skip unless ``[service_available] neutron``
is true. With it true (and ``create_isolated_networks = False``) the only
network call Tempest makes is the clean-up of its dynamic credentials,
which lists the project's security groups and takes a 404 as "nothing to
clean". The catalog's ``network`` endpoint points here.
"""

from http import server
import sys


class NotFound(server.BaseHTTPRequestHandler):
    def _answer(self) -> None:
        body = b'{"NeutronError": {"type": "HTTPNotFound"}}'
        self.send_response(404)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    do_GET = do_HEAD = do_POST = do_PUT = do_DELETE = do_PATCH = _answer


def main() -> None:
    port = int(sys.argv[1])
    server.ThreadingHTTPServer(("127.0.0.1", port), NotFound).serve_forever()


if __name__ == "__main__":
    main()
