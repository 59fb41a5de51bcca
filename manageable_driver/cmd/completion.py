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

"""Bash completion for ``manageable-driver``, generated from its parser.

Generated rather than written by hand, so that it always offers exactly
the commands and flags the installed command (and its backend plugins)
accepts, and needs nothing but bash itself: ``manageable-driver
completion bash > /etc/bash_completion.d/manageable-driver``.
"""

from __future__ import annotations

import argparse
import shlex

# Flags whose value is a path: bash completes directories or files there.
_DIR_METAVARS = ("DIR",)
_FILE_METAVARS = ("FILE",)


def _subparsers(parser: argparse.ArgumentParser
                ) -> dict[str, argparse.ArgumentParser]:
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            return dict(action.choices)
    return {}


def _flags(parser: argparse.ArgumentParser) -> list[str]:
    return [flag for action in parser._actions
            for flag in action.option_strings if flag.startswith("--")]


def _value_flags(parser: argparse.ArgumentParser
                 ) -> dict[str, tuple[str, ...] | str]:
    """Flags that take a value: their choices, or "dir"/"file"/""."""
    found: dict[str, tuple[str, ...] | str] = {}
    for action in parser._actions:
        if not action.option_strings or action.nargs == 0:
            continue
        if action.choices:
            kind: tuple[str, ...] | str = tuple(
                str(c) for c in action.choices)
        elif action.metavar in _DIR_METAVARS:
            kind = "dir"
        elif action.metavar in _FILE_METAVARS:
            kind = "file"
        else:
            kind = ""
        for flag in action.option_strings:
            found[flag] = kind
    return found


def bash(parser: argparse.ArgumentParser) -> str:
    """The bash completion script for ``parser``'s command."""
    prog = parser.prog
    function = "_" + prog.replace("-", "_")
    cases = ['        "/") words=%s ;;' % shlex.quote(" ".join(
        list(_subparsers(parser)) + _flags(parser)))]
    value_cases = []
    takes_value: set[str] = set()
    for command, sub in _subparsers(parser).items():
        kinds = _subparsers(sub)
        cases.append('        "%s/") words=%s ;;' % (command, shlex.quote(
            " ".join(list(kinds) or _flags(sub)))))
        for kind, leaf in kinds.items():
            cases.append('        "%s/%s") words=%s ;;' % (
                command, kind, shlex.quote(" ".join(_flags(leaf)))))
            values = _value_flags(leaf)
            takes_value.update(values)
            for flag, what in sorted(values.items()):
                key = "%s/%s:%s" % (command, kind, flag)
                if isinstance(what, tuple):
                    value_cases.append(
                        '        %s) COMPREPLY=($(compgen -W %s -- "$cur"));'
                        ' return ;;' % (key, shlex.quote(" ".join(what))))
                elif what:
                    value_cases.append(
                        '        %s) COMPREPLY=($(compgen -%s -- "$cur"));'
                        ' return ;;' % (key, what[0]))
    return "\n".join([
        "# bash completion for %s (generated: %s completion bash)"
        % (prog, prog),
        "%s() {" % function,
        '    local cur="${COMP_WORDS[COMP_CWORD]}"',
        '    local prev="${COMP_WORDS[COMP_CWORD-1]}"',
        '    local command="" kind="" skip="" i word words',
        "    local takes_value=%s" % shlex.quote(
            " " + " ".join(sorted(takes_value)) + " "),
        "    for ((i = 1; i < COMP_CWORD; i++)); do",
        '        word="${COMP_WORDS[i]}"',
        '        if [[ -n $skip ]]; then skip=""; continue; fi',
        '        case "$word" in',
        '            -*) [[ $takes_value == *" $word "* ]] && skip=1 ;;',
        '            *) if [[ -z $command ]]; then command="$word"',
        '               elif [[ -z $kind ]]; then kind="$word"; fi ;;',
        "        esac",
        "    done",
        '    case "$command/$kind:$prev" in',
        *value_cases,
        "    esac",
        '    case "$command/$kind" in',
        *cases,
        '        *) words="" ;;',
        "    esac",
        '    COMPREPLY=($(compgen -W "$words" -- "$cur"))',
        "}",
        "complete -F %s %s" % (function, prog),
        "",
    ])
