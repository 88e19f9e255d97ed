"""Preset YAML parsed within bounds, so that a hostile file costs milliseconds and one sentence.

A preset is a few hundred bytes of plain keys, text, numbers and lists. ``load(text)`` first
streams the parser's events once (the pre-check: nothing is built yet, nothing recurses) and
refuses what no preset needs and an attack relies on:

- anchors and aliases (``&a`` / ``*a``): a "billion laughs" file expands ten lines into
  gigabytes and hangs whoever walks it;
- explicit tags (``!!int abc``, ``!!bool maybe``): PyYAML's constructors answer those with a
  bare ValueError or KeyError instead of a YAML error;
- nesting deeper than ``MAX_DEPTH``: PyYAML's composer recurses once per level (RecursionError).

Then a ``SafeLoader`` (libyaml's when installed: ten times faster) builds the data, refusing
number literals longer than ``MAX_NUMBER_CHARS`` (``int()`` refuses 4,300 digits with a
ValueError; a 400-digit integer overflows when compared with a float) and reading dates as
text (``2024-99-99`` is a ValueError in PyYAML; no preset key is a date). The caller caps the
file's size (``MAX_BYTES``) before parsing. Every refusal is a ``yaml.MarkedYAMLError``
carrying its line, like a syntax error.
"""

from __future__ import annotations

from typing import Any

import yaml

MAX_BYTES = 64_000
MAX_DEPTH = 20
MAX_NUMBER_CHARS = 32
_SafeLoader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class PresetYAMLLimit(yaml.MarkedYAMLError):
    """The file is YAML but uses something a preset may not (its ``problem`` says what)."""


def _check_events(text: str) -> None:
    """The pre-check: one pass over the events, stopping at the first thing a preset may not use."""
    depth = 0
    for event in yaml.parse(text, Loader=_SafeLoader):
        problem = None
        if isinstance(event, yaml.AliasEvent) or getattr(event, "anchor", None) is not None:
            problem = "a preset may not use YAML anchors or aliases (& and *)"
        elif getattr(event, "tag", None) not in (None, "!"):
            problem = f"a preset may not use YAML tags such as {event.tag.replace('tag:yaml.org,2002:', '!!')!r}"
        elif isinstance(event, yaml.CollectionStartEvent):
            depth += 1
            if depth > MAX_DEPTH:
                problem = f"a preset may nest lists and mappings at most {MAX_DEPTH} deep"
        elif isinstance(event, yaml.CollectionEndEvent):
            depth -= 1
        if problem:
            raise PresetYAMLLimit(problem=problem, problem_mark=event.start_mark)


class _BoundedLoader(_SafeLoader):
    """A safe loader whose numbers are short and which knows no dates."""


def _short_number(construct: Any) -> Any:
    def construct_number(loader: _BoundedLoader, node: yaml.ScalarNode) -> Any:
        if len(node.value) > MAX_NUMBER_CHARS:
            raise PresetYAMLLimit(problem=f"a number may have at most {MAX_NUMBER_CHARS} characters, "
                                          f"not {len(node.value)}", problem_mark=node.start_mark)
        return construct(loader, node)
    return construct_number


_BoundedLoader.add_constructor("tag:yaml.org,2002:int", _short_number(yaml.SafeLoader.construct_yaml_int))
_BoundedLoader.add_constructor("tag:yaml.org,2002:float", _short_number(yaml.SafeLoader.construct_yaml_float))
_BoundedLoader.yaml_implicit_resolvers = {
    first: [(tag, pattern) for tag, pattern in resolvers if tag != "tag:yaml.org,2002:timestamp"]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()}


def load(text: str) -> Any:
    """The one document in ``text``; ``yaml.YAMLError`` (a ``PresetYAMLLimit`` for a bound) if not."""
    _check_events(text)
    return yaml.load(text, Loader=_BoundedLoader)  # noqa: S506 - a SafeLoader
