"""Texts with ``{variables}``: checked when an operator saves them, filled when sent.

``str.format`` would run attribute and index lookups written by whoever edits the
text (``{name.__class__}``); here a variable is a plain name and nothing else, an
unknown one is refused when the text is saved, and ``{{`` / ``}}`` write braces.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Mapping
from dataclasses import dataclass

from shequn.kit.errors import ShequnError

_TOKEN = re.compile(r"\{\{|\}\}|\{([^{}]*)\}|[{}]")
_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*\Z")


class TemplateError(ShequnError):
    """A text that cannot be filled: says what is wrong and where."""


@dataclass(frozen=True, slots=True)
class Template:
    text: str
    variables: frozenset[str]


def parse(text: str, allowed: Collection[str]) -> Template:
    """Check ``text`` and name the variables it uses; refuse unknown or malformed ones."""
    used: set[str] = set()
    for match in _TOKEN.finditer(text):
        token = match.group(0)
        if token in ("{{", "}}"):
            continue
        name = match.group(1)
        if name is None:
            raise TemplateError(
                f"a lone {token!r} at character {match.start() + 1}: write {token * 2} for a brace"
            )
        if not _NAME.match(name):
            raise TemplateError(f"{{{name}}} at character {match.start() + 1} is not a variable")
        if name not in allowed:
            known = ", ".join("{" + a + "}" for a in sorted(allowed)) or "none"
            raise TemplateError(f"unknown variable {{{name}}} (known: {known})")
        used.add(name)
    return Template(text, frozenset(used))


def fill(template: Template, values: Mapping[str, object]) -> str:
    """The text with every variable replaced; a value that is missing reads as empty."""

    def replace(match: re.Match[str]) -> str:
        token = match.group(0)
        if token == "{{":
            return "{"
        if token == "}}":
            return "}"
        return str(values.get(match.group(1) or "", ""))

    return _TOKEN.sub(replace, template.text)
