"""Read YAML text into plain values, remembering the line of every key and item.

Users fix a file by its line numbers, so the loader composes PyYAML's node
tree (which keeps positions) and builds a map from data path to line before
constructing the values. The same walk catches duplicate keys, which PyYAML
would otherwise resolve silently by keeping the last one.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

import yaml
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from ledger.pricing.yaml_limits import BoundedLoader
from scenarios.errors import DataPath, Problem, ScenarioError, Severity, format_path

_INT = "tag:yaml.org,2002:int"
_FLOAT = "tag:yaml.org,2002:float"
_TIMESTAMP = "tag:yaml.org,2002:timestamp"
_MERGE = "tag:yaml.org,2002:merge"


class _ScenarioYamlLoader(BoundedLoader):
    """SafeLoader without two YAML 1.1 surprises.

    Sexagesimal numbers: YAML 1.1 reads an unquoted ``10:00`` as the integer
    600, so ``time: 10:00`` would silently mean something else; here it stays
    the text "10:00". Timestamps: dates stay text so the schema parses them and
    a bad date ("2027-02-30") is reported on its field and line like any other
    mistake, instead of failing inside PyYAML.
    """


# Built outside the class body: PyYAML declares this table per instance, yet reads it
# per class; a fresh copy keeps SafeLoader itself untouched.
_ScenarioYamlLoader.yaml_implicit_resolvers = {
    first: [(tag, regexp) for tag, regexp in resolvers if tag not in (_INT, _FLOAT, _TIMESTAMP)]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}


_ScenarioYamlLoader.add_implicit_resolver(
    _INT,
    re.compile(
        r"""^(?:[-+]?0b[0-1_]+
        |[-+]?0[0-7_]+
        |[-+]?(?:0|[1-9][0-9_]*)
        |[-+]?0x[0-9a-fA-F_]+)$""",
        re.X,
    ),
    list("-+0123456789"),
)
_ScenarioYamlLoader.add_implicit_resolver(
    _FLOAT,
    re.compile(
        r"""^(?:[-+]?(?:[0-9][0-9_]*)\.[0-9_]*(?:[eE][-+]?[0-9]+)?
        |\.[0-9][0-9_]*(?:[eE][-+]?[0-9]+)?
        |[-+]?\.(?:inf|Inf|INF)
        |\.(?:nan|NaN|NAN))$""",
        re.X,
    ),
    list("-+0123456789."),
)

# PyYAML's wording, and what it usually means in a hand-written file.
_SYNTAX_HINTS = {
    "mapping values are not allowed here": (
        "a ':' is out of place; check the indentation, or put text containing ': ' in quotes"
    ),
    "could not find expected ':'": "a line is missing its ':' or is indented wrongly",
    "found unexpected end of stream": "a quote or a bracket is opened and never closed",
    "expected <block end>": "the indentation is inconsistent",
    "did not find expected key": "the indentation is inconsistent",
    "did not find expected node content": "a list or mapping is left unfinished",
    "but found another document": "a '---' line starts a second document; a file holds one",
}


@dataclass(frozen=True)
class SourceMap:
    """Where each value of a file sits, to turn a data path into a Problem."""

    file: str
    lines: Mapping[DataPath, int]

    def line(self, path: DataPath) -> int | None:
        """The line of ``path``, or of its nearest parent that is in the file.

        A missing field has no line of its own; its parent's line is where the
        user has to add it.
        """
        for size in range(len(path), -1, -1):
            line = self.lines.get(path[:size])
            if line is not None:
                return line
        return None

    def problem(
        self,
        path: DataPath,
        message: str,
        rule: str | None = None,
        severity: Severity = Severity.ERROR,
    ) -> Problem:
        return Problem(self.file, self.line(path), format_path(path), message, rule, severity)


@dataclass(frozen=True)
class Source:
    """A parsed file: its values, their lines, and duplicate-key problems."""

    data: Any
    map: SourceMap
    problems: list[Problem]


def read_yaml(text: str, file: str) -> Source:
    """Parse one YAML document; syntax errors raise ScenarioError at once.

    Nothing can be checked in a file that does not parse, so those are the
    only problems not collected with the others.
    """
    try:
        loader = _ScenarioYamlLoader(text)  # the reader refuses control characters at once
    except yaml.reader.ReaderError as exc:
        raise ScenarioError([_reader_problem(exc, text, file)]) from None
    try:
        node = loader.get_single_node()
        if node is None:
            raise ScenarioError([Problem(file, None, "", "the file is empty")])
        duplicates = list(_duplicate_keys(node, ()))
        lines: dict[DataPath, int] = {(): node.start_mark.line + 1}
        data = loader.construct_document(node)
        _record_lines(node, (), lines, set())
    except yaml.MarkedYAMLError as exc:
        raise ScenarioError([_syntax_problem(exc, file)]) from None
    except yaml.reader.ReaderError as exc:
        raise ScenarioError([_reader_problem(exc, text, file)]) from None
    except (yaml.YAMLError, ValueError, TypeError, OverflowError, RecursionError) as exc:
        message = f"the file is not valid YAML: {str(exc).splitlines()[0] if str(exc) else exc!r}"
        raise ScenarioError([Problem(file, None, "", message)]) from None
    finally:
        loader.dispose()
    source_map = SourceMap(file, lines)
    problems = [
        source_map.problem(
            path, f"{path[-1]!s} is given twice here (also on line {first}); remove one"
        )
        for path, first in duplicates
    ]
    return Source(data, source_map, problems)


def _reader_problem(exc: yaml.reader.ReaderError, text: str, file: str) -> Problem:
    """A character YAML does not allow (NUL, other control codes), by its line."""
    position = exc.position if isinstance(exc.position, int) else 0
    line = text.count("\n", 0, position) + 1
    character = exc.character
    number = ord(character) if isinstance(character, str) else int(character)
    code = f"U+{number:04X}"
    return Problem(
        file, line, "", f"the file holds a control character ({code}) that YAML does not allow"
    )


def _syntax_problem(exc: yaml.MarkedYAMLError, file: str) -> Problem:
    mark = exc.problem_mark or exc.context_mark
    line = mark.line + 1 if mark is not None else None
    found = exc.problem or exc.context or "unreadable text"
    if "'\\t'" in found:
        message = "a tab character is used for indentation; YAML only allows spaces"
    else:
        hint = next((h for key, h in _SYNTAX_HINTS.items() if key in found), None)
        message = f"the file is not valid YAML: {hint or found}"
    return Problem(file, line, "", message)


def _key(node: Node) -> str | None:
    return node.value if isinstance(node, ScalarNode) and node.tag != _MERGE else None


def _duplicate_keys(node: Node, path: DataPath) -> Iterator[tuple[DataPath, int]]:
    """(path of the repeated key, line of its first occurrence) for each repeat.

    Runs on the composed tree, before merge keys (``<<: *defaults``) are
    flattened, so overriding a merged default is not mistaken for a repeat.
    """
    if isinstance(node, MappingNode):
        seen: dict[str, int] = {}
        for key_node, value_node in node.value:
            key = _key(key_node)
            if key is None:
                continue
            if key in seen:
                yield (*path, key), seen[key]
            else:
                seen[key] = key_node.start_mark.line + 1
            yield from _duplicate_keys(value_node, (*path, key))
    elif isinstance(node, SequenceNode):
        for index, item in enumerate(node.value):
            yield from _duplicate_keys(item, (*path, index))


def _record_lines(node: Node, path: DataPath, lines: dict[DataPath, int], stack: set[int]) -> None:
    """Fill ``lines``: a mapping entry is at its key's line, a list item at its start.

    Runs after construction, when merge keys are flattened in place, so merged
    values are found at the paths the data has. ``stack`` stops a recursive
    alias from looping.
    """
    if id(node) in stack:
        return
    stack.add(id(node))
    if isinstance(node, MappingNode):
        for key_node, value_node in node.value:
            key = _key(key_node)
            if key is not None:
                lines[(*path, key)] = key_node.start_mark.line + 1
                _record_lines(value_node, (*path, key), lines, stack)
    elif isinstance(node, SequenceNode):
        for index, item in enumerate(node.value):
            lines[(*path, index)] = item.start_mark.line + 1
            _record_lines(item, (*path, index), lines, stack)
    stack.discard(id(node))
