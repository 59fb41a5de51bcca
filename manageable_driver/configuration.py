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

"""The configuration object a driver reads its options from.

Cinder hands each backend driver a
``cinder.volume.configuration.Configuration``
and the driver registers its own options on it with ``append_config_values``.
Our drivers do the same.  Outside Cinder, :class:`Configuration` gives the
same two calls over any ``oslo_config.cfg.ConfigOpts`` and group, so options
are registered where the caller says, never at import time.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any
from typing import Protocol

from oslo_config import cfg


class SupportsConfigValues(Protocol):
    """What a driver needs of its configuration (Cinder's interface)."""

    def append_config_values(self, volume_opts: Iterable[cfg.Opt]) -> None:
        ...  # pragma: no cover

    def safe_get(self, value: str) -> Any:
        ...  # pragma: no cover


class Configuration:
    """Options of one backend: a group of an oslo.config ``ConfigOpts``.

    :param conf: the ``ConfigOpts`` to register on; a private one when None,
        so that only option defaults apply.
    :param config_group: the group (a backend section of cinder.conf, say);
        ``DEFAULT`` when None.
    """

    def __init__(self, conf: cfg.ConfigOpts | None = None,
                 config_group: str | None = None) -> None:
        self._conf = conf if conf is not None else cfg.ConfigOpts()
        self.config_group = config_group

    def append_config_values(self, volume_opts: Iterable[cfg.Opt]) -> None:
        """Register ``volume_opts`` in this backend's group."""
        self._conf.register_opts(list(volume_opts), group=self.config_group)

    def safe_get(self, value: str) -> Any:
        """Return option ``value``, or None when it is not registered."""
        try:
            return getattr(self, value)
        except (cfg.NoSuchOptError, AttributeError):
            return None

    def __getattr__(self, name: str) -> Any:
        if name.startswith("_"):
            raise AttributeError(name)
        if self.config_group is None:
            return getattr(self._conf, name)
        return getattr(getattr(self._conf, self.config_group), name)


def prepare(configuration: Any, opts: Iterable[cfg.Opt]) -> Any:
    """Return a configuration object with ``opts`` registered on it.

    :param configuration: None (defaults only), an oslo.config ``ConfigOpts``
        (options in DEFAULT), or an object with Cinder's
        ``append_config_values`` (a Cinder backend ``Configuration`` or
        :class:`Configuration`), which is returned as it is.
    :param opts: the options the caller reads.
    """
    if configuration is None:
        configuration = Configuration()
    elif isinstance(configuration, cfg.ConfigOpts):
        configuration = Configuration(configuration)
    configuration.append_config_values(opts)
    return configuration
