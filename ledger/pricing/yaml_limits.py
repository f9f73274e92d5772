"""Bounded YAML: the limits every file we read (scenario, workload, price book) stays within.

PyYAML's safe loader is safe from code execution, not from size: a 500-byte
file of nested aliases ("billion laughs") expands to billions of values, a
self-referencing alias builds a list that contains itself, and 900 nested
brackets exhaust the recursion limit. ``BoundedLoader`` checks, while it
composes the node tree and before anything is built from it:

- nesting depth (``MAX_DEPTH``),
- alias uses (``MAX_ALIASES``), and no alias to a node that contains it,
- the number of values once every alias is expanded (``MAX_VALUES``),
- no explicit tags (``!!int``, ``!!timestamp``, ``!!python/...``): values are
  written plainly and the schema reads them, with a line on any mistake.

``read_text`` adds the file size limit (``MAX_FILE_BYTES``) and UTF-8. Each
limit is a ``YamlLimitError`` (a ``MarkedYAMLError``, so it carries the line).
docs/scenario-format.md lists the figures.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml
from yaml.events import AliasEvent, CollectionStartEvent, NodeEvent
from yaml.nodes import MappingNode, Node, SequenceNode

MAX_FILE_BYTES = 1_000_000  # a busy year's scenario is a few kilobytes
MAX_DEPTH = 32  # a scenario nests 6 levels deep
MAX_ALIASES = 1_000
MAX_VALUES = 200_000  # scalars, lists and mappings after expanding aliases


class YamlLimitError(yaml.MarkedYAMLError):
    """A file beyond one of the limits above; ``problem`` says which, the mark where."""

    def __init__(self, problem: str, mark: Any) -> None:
        super().__init__(None, None, problem, mark)


class FileLimitError(ValueError):
    """A file too big or not UTF-8 text: one sentence, no line."""


def read_text(path: Path) -> str:
    """The file's text, if it is within ``MAX_FILE_BYTES`` and is UTF-8 (else FileLimitError)."""
    size = path.stat().st_size
    if size > MAX_FILE_BYTES:
        raise FileLimitError(
            f"the file is {size:,} bytes; files of at most {MAX_FILE_BYTES:,} bytes are read"
        )
    with path.open("rb") as handle:
        data = handle.read(MAX_FILE_BYTES + 1)  # a file that grows meanwhile is cut here
    if len(data) > MAX_FILE_BYTES:
        raise FileLimitError(f"the file is over {MAX_FILE_BYTES:,} bytes")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        raise FileLimitError("the file is not UTF-8 text") from None


class BoundedLoader(yaml.SafeLoader):
    """A SafeLoader that refuses too deep, too aliased or tagged documents (see the module)."""

    def __init__(self, stream: str) -> None:
        super().__init__(stream)
        self._depth = 0
        self._aliases = 0

    def compose_node(self, parent: Node | None, index: int) -> Node | None:
        event = self.peek_event()  # type: ignore[no-untyped-call]
        if isinstance(event, AliasEvent):
            self._aliases += 1
            if self._aliases > MAX_ALIASES:
                raise YamlLimitError(f"more than {MAX_ALIASES:,} aliases (*name)", event.start_mark)
        elif isinstance(event, NodeEvent) and _explicit_tag(event):
            raise YamlLimitError(
                f"explicit tags such as {_shown_tag(event)} are not read here; write the "
                "value plainly (quote it if it should stay text)",
                event.start_mark,
            )
        if isinstance(event, CollectionStartEvent):
            self._depth += 1
            if self._depth > MAX_DEPTH:
                raise YamlLimitError(
                    f"lists and mappings nest more than {MAX_DEPTH} deep",
                    event.start_mark,
                )
        try:
            return super().compose_node(parent, index)
        finally:
            if isinstance(event, CollectionStartEvent):
                self._depth -= 1

    def get_single_node(self) -> Node | None:
        node = super().get_single_node()
        if node is not None:
            expanded_size(node)
        return node


def _shown_tag(event: NodeEvent) -> str:
    return str(getattr(event, "tag", "")).replace("tag:yaml.org,2002:", "!!")


def _explicit_tag(event: NodeEvent) -> bool:
    tag = getattr(event, "tag", None)
    return tag is not None and tag != "!"


def expanded_size(root: Node) -> int:
    """How many values the tree holds once aliases are expanded; raises past ``MAX_VALUES``.

    Shared nodes are counted once per use (that is what expansion costs), by
    memo, so the walk itself stays linear in the composed tree. A node that
    contains itself through an alias is refused.
    """
    sizes: dict[int, int] = {}
    active: set[int] = set()
    # An explicit stack: the depth is bounded, but iterating keeps it cheap.
    stack: list[tuple[Node, bool]] = [(root, False)]
    while stack:
        node, done = stack.pop()
        key = id(node)
        if done:
            active.discard(key)
            children = _children(node)
            total = 1 + sum(sizes[id(child)] for child in children)
            if total > MAX_VALUES:
                raise YamlLimitError(
                    f"aliases expand the file to more than {MAX_VALUES:,} values",
                    node.start_mark,
                )
            sizes[key] = total
            continue
        if key in sizes:
            continue
        if key in active:
            raise YamlLimitError(
                "an alias refers to a list or mapping that contains it", node.start_mark
            )
        active.add(key)
        stack.append((node, True))
        for child in _children(node):
            if id(child) in active:
                raise YamlLimitError(
                    "an alias refers to a list or mapping that contains it",
                    child.start_mark,
                )
            if id(child) not in sizes:
                stack.append((child, False))
    return sizes[id(root)]


def _children(node: Node) -> list[Node]:
    if isinstance(node, SequenceNode):
        return list(node.value)
    if isinstance(node, MappingNode):
        return [part for pair in node.value for part in pair]
    return []


def safe_load(text: str) -> object:
    """``yaml.safe_load`` within the limits (raises ``yaml.YAMLError``, ``YamlLimitError``)."""
    loader = BoundedLoader(text)
    try:
        return loader.get_single_data()
    finally:
        loader.dispose()
