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

"""The library's exceptions.

Names, keyword arguments and message wording follow Cinder's
``cinder.exception`` so that a Cinder driver can let them propagate and an
operator reads the same text either way.  Every exception is built from a
message template plus keyword arguments: ``exc.kwargs`` is machine-readable
and the message is always complete, even when a caller passes the wrong
keywords.
"""

from __future__ import annotations

from typing import Any

from oslo_log import log as logging

LOG = logging.getLogger(__name__)


# The most characters of one argument a message shows: a hostile reference
# can be megabytes long, and messages are logged and stored by Cinder.
# ``exc.kwargs`` keeps the whole value.
SHOWN_CHARS = 300


def _shown(value: Any) -> Any:
    """``value`` whole, or cut in the middle: the start says what failed
    and LVM and qemu-img print the cause last, so the last line is kept
    (its end, when it alone is longer than the bound) and the start fills
    the rest."""
    text = str(value)
    if len(text) <= SHOWN_CHARS:
        return value
    lines = text.rstrip().rsplit("\n", 1)
    tail_chars = SHOWN_CHARS // 2
    if len(lines) > 1:
        # The whole last line, leaving the start its first lines.
        tail_chars = min(max(len(lines[-1]), tail_chars),
                         SHOWN_CHARS - SHOWN_CHARS // 3)
    tail = text.rstrip()[-tail_chars:]
    head = text[:SHOWN_CHARS - tail_chars]
    return "%s ... %s (%d characters)" % (head, tail, len(text))


class ManageableDriverException(Exception):
    """Base class of every exception this library raises.

    Subclasses set ``message`` to a %-template over their keyword arguments.
    """

    message = "An unknown exception occurred."

    def __init__(self, message: str | None = None, **kwargs: Any) -> None:
        self.kwargs = kwargs
        if message is None:
            message = self._format(kwargs)
        self.msg = message
        super().__init__(message)

    def _format(self, kwargs: dict[str, Any]) -> str:
        try:
            return self.message % {key: _shown(value)
                                   for key, value in kwargs.items()}
        except (KeyError, TypeError, ValueError):
            # A wrong keyword must not hide the error being reported: keep
            # the template and show every argument that was given.
            LOG.exception("Could not format %(cls)s message with %(kwargs)r",
                          {"cls": type(self).__name__, "kwargs": kwargs})
            details = ", ".join(
                "%s=%r" % item for item in sorted(kwargs.items()))
            return "%s (%s)" % (self.message, details)

    def __str__(self) -> str:
        return self.msg


class InvalidInput(ManageableDriverException):
    message = "Invalid input received: %(reason)s"


class ManageExistingInvalidReference(ManageableDriverException):
    message = ("Manage existing volume failed due to invalid backend "
               "reference %(existing_ref)s: %(reason)s")


class ManageExistingVolumeTypeMismatch(ManageableDriverException):
    message = ("Manage existing volume failed due to volume type mismatch: "
               "%(reason)s")


class ManageExistingAlreadyManaged(ManageableDriverException):
    message = ("Unable to manage existing volume. "
               "Volume %(volume_ref)s already managed.")


BACKEND_PREFIX = ("Bad or unexpected response from the storage volume "
                  "backend API: ")


class VolumeBackendAPIException(ManageableDriverException):
    message = BACKEND_PREFIX + "%(data)s"


class CommandFailed(VolumeBackendAPIException):
    """An external command exited non-zero, timed out or could not start.

    Carries ``cmd`` (the argv as a string), ``exit_code``, ``stdout`` and
    ``stderr`` as attributes and in ``kwargs``.
    """

    message = (BACKEND_PREFIX + "command %(cmd)s exited with %(exit_code)s: "
               "%(stderr)s")

    def __init__(self, cmd: str, exit_code: int | None, stdout: str = "",
                 stderr: str = "") -> None:
        self.cmd = cmd
        self.exit_code = exit_code
        self.stdout = stdout
        self.stderr = stderr
        # A command that never exited (timed out, could not start) has no
        # exit code to report.
        message = None if exit_code is not None else (
            BACKEND_PREFIX + "command %s did not finish: %s"
            % (cmd, stderr.strip()))
        super().__init__(message, cmd=cmd, exit_code=exit_code,
                         stdout=stdout, stderr=stderr.strip(),
                         data=stderr.strip())


class LockTimeout(VolumeBackendAPIException):
    message = BACKEND_PREFIX + "could not lock %(name)s within %(timeout)s s"


class CoordinationError(VolumeBackendAPIException):
    """The coordination backend of a cluster-safe lock could not be used."""

    message = (BACKEND_PREFIX + "coordination backend %(url)s failed "
               "while locking %(name)s: %(reason)s")


# What a caller did wrong, as opposed to a backend failure: a bad argument,
# a bad reference, or an object that may not be managed.
REFUSALS = (InvalidInput, ManageExistingInvalidReference,
            ManageExistingAlreadyManaged, ManageExistingVolumeTypeMismatch)
