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

"""Check that a class really implements an interface.

Works for classes that do not inherit from ours (duck-typed vendor drivers):
every abstract method of the interface must exist on the class, be callable,
and take the interface's parameters with the same names in the same order.
Extra trailing parameters are accepted only when a caller may leave them out
(they have defaults, or are ``*args``/``**kwargs``), because Cinder calls
these methods with exactly the interface's arguments.
"""

from __future__ import annotations

import inspect
from typing import Any

_POSITIONAL = (inspect.Parameter.POSITIONAL_ONLY,
               inspect.Parameter.POSITIONAL_OR_KEYWORD)
_VARIADIC = (inspect.Parameter.VAR_POSITIONAL,
             inspect.Parameter.VAR_KEYWORD)


def _interface_methods(interface: type) -> list[str]:
    names: frozenset[str] = getattr(interface, "__abstractmethods__",
                                    frozenset())
    return sorted(names)


def _parameters(func: Any) -> list[inspect.Parameter]:
    params = list(inspect.signature(func).parameters.values())
    # Looked up on the class, a method is a plain function whose first
    # parameter is the instance.
    if params and params[0].kind in _POSITIONAL:
        params = params[1:]
    return params


def _compare(name: str, expected: list[inspect.Parameter],
             actual: list[inspect.Parameter]) -> list[str]:
    want = [p.name for p in expected]
    have = [p.name for p in actual if p.kind in _POSITIONAL]
    problems = []
    if have[:len(want)] != want:
        problems.append("%s(%s) differs from the interface's %s(%s)"
                        % (name, ", ".join(have), name, ", ".join(want)))
    extra = [p for p in actual[len(want):]
             if p.kind not in _VARIADIC and p.default is p.empty]
    if extra and not problems:
        problems.append("%s has required parameters the interface does not "
                        "pass: %s" % (name, ", ".join(p.name for p in extra)))
    return problems


def check_conformance(cls: type, *interfaces: type) -> list[str]:
    """Return every way ``cls`` fails to implement ``interfaces``.

    :param cls: the class to check (not an instance).
    :param interfaces: interface ABCs from :mod:`manageable_driver.interface`;
        all three when none are given.
    :returns: human-readable problems, empty when ``cls`` conforms.
    :raises TypeError: if ``cls`` is not a class.
    """
    if not inspect.isclass(cls):
        raise TypeError("check_conformance needs a class, got %r" % (cls,))
    if not interfaces:
        from manageable_driver import interface as pkg
        interfaces = pkg.ALL_INTERFACES
    problems: list[str] = []
    seen = set()
    for iface in interfaces:
        for name in _interface_methods(iface):
            if name in seen:
                continue
            seen.add(name)
            impl = inspect.getattr_static(cls, name, None)
            if isinstance(impl, (staticmethod, classmethod)):
                problems.append("%s is a %s, not an instance method"
                                % (name, type(impl).__name__))
                continue
            if impl is None or not callable(impl):
                problems.append("missing method %s (from %s)"
                                % (name, iface.__name__))
                continue
            if getattr(impl, "__isabstractmethod__", False):
                problems.append("method %s is still abstract" % name)
                continue
            try:
                actual = _parameters(impl)
            except (TypeError, ValueError):
                problems.append("cannot read the signature of %s" % name)
                continue
            problems.extend(_compare(
                name, _parameters(getattr(iface, name)), actual))
    return problems


def conforms(cls: type, *interfaces: type) -> bool:
    """Return True when :func:`check_conformance` finds no problem."""
    return not check_conformance(cls, *interfaces)
