"""Turn pydantic's validation errors into problems a non-programmer can act on.

pydantic locates an error by a ``loc`` that also names the tag of each tagged
union it went through (``events, 2, buy, at``). Walking the model types along
that ``loc`` drops those tags exactly, gives the data path the YAML line map
knows, and finds the model an unknown field was written in, to suggest the
field that was probably meant.
"""

from __future__ import annotations

import difflib
import re
import types
from collections.abc import Sequence
from typing import Annotated, Any, Union, get_args, get_origin

from pydantic import BaseModel, Discriminator, Tag, ValidationError
from pydantic_core import ErrorDetails

from scenarios.errors import DataPath, PathItem, Problem, did_you_mean
from scenarios.schema import EVENT_ACTION_ERROR, ORGANIZATION_ACTIONS, WORKSPACE_ACTIONS
from scenarios.source import SourceMap

_WHOLE = "must be a whole number"
_SIMPLE = {
    "int_type": _WHOLE,
    "int_parsing": _WHOLE,
    "int_from_float": _WHOLE,
    "float_type": "must be a number",
    "float_parsing": "must be a number",
    "decimal_type": "must be an amount like 12.50",
    "decimal_parsing": "must be an amount like 12.50",
    "bool_type": "must be true or false",
    "bool_parsing": "must be true or false",
    "string_type": "must be text",
    "list_type": "must be a list, like [a, b]",
    "tuple_type": "must be a pair, like [first, last]",
    "dict_type": "must be a mapping, like {key: value}",
    "model_type": "must be a mapping of fields, like {key: value}",
    "model_attributes_type": "must be a mapping of fields, like {key: value}",
}


def problems_from(exc: ValidationError, root: type[BaseModel], src: SourceMap) -> list[Problem]:
    located = [(error, *data_path(error["loc"], root)) for error in exc.errors(include_url=False)]
    # A misspelt field is both unknown and missing; "did you mean" already says both.
    misspelt = {
        (path[:-1], _suggestion(str(path[-1]), owner))
        for error, path, owner in located
        if error["type"] == "extra_forbidden"
    }
    return [
        _problem(error, path, owner, src)
        for error, path, owner in located
        if not (error["type"] == "missing" and (path[:-1], path[-1]) in misspelt)
    ]


def _problem(error: ErrorDetails, path: DataPath, owner: Any, src: SourceMap) -> Problem:
    if error["type"] == "missing" and path and isinstance(path[-1], int):
        # Only fixed pairs have numbered required items: `between: ["09:00"]`.
        return src.problem(path[:-1], f"{_name(path[:-1])} must be a pair, like [first, last]")
    return src.problem(path, message(error, path, owner))


def data_path(loc: Sequence[PathItem], root: type[BaseModel]) -> tuple[DataPath, Any]:
    """The file's path for a pydantic ``loc``, and the type its last step was read from."""
    annotation: Any = root
    owner: Any = None
    path: list[PathItem] = []
    for item in loc:
        annotation = _unwrap(annotation)
        members = _tagged_members(annotation)
        if members is not None and item in members:
            annotation = members[item]  # the tag pydantic adds: not part of the file
            continue
        path.append(item)
        owner = annotation
        annotation = _child(annotation, item)
    return tuple(path), owner


def message(error: ErrorDetails, path: DataPath, owner: Any) -> str:
    kind = error["type"]
    context: dict[str, Any] = dict(error.get("ctx") or {})
    value = error.get("input")
    name = _name(path)
    if kind == "extra_forbidden":
        return _unknown_field(str(path[-1]), owner)
    if kind == "missing":
        return f"required field {name!r} is missing"
    if kind == EVENT_ACTION_ERROR:
        return _event_action(value, context["actions"].split(", "))
    if kind == "enum":
        return f"{name} must be one of {_choices(context['expected'])} (got {_show(value)})"
    if kind == "literal_error":
        return f"{name} must be {_choices(context['expected'], ' or ')} (got {_show(value)})"
    if kind in ("greater_than_equal", "greater_than", "less_than_equal", "less_than"):
        return f"{name} {_bound(kind, context)} (got {_show(value)})"
    if kind == "string_too_short":
        return f"{name} must not be empty"
    if kind in ("too_short", "too_long") and isinstance(value, list):
        return f"{name} must be a pair, like [first, last]"
    if kind in _SIMPLE:
        return f"{name} {_SIMPLE[kind]} (got {_show(value)})"
    text = error["msg"].removeprefix("Value error, ")
    return f"{name} {text}" if text.startswith("must") else text


def _unwrap(annotation: Any) -> Any:
    """Strip Optional and plain Annotated; keep an Annotated tagged union as it is."""
    while True:
        origin = get_origin(annotation)
        if origin is Annotated:
            if any(isinstance(m, Discriminator) for m in annotation.__metadata__):
                return annotation
            annotation = get_args(annotation)[0]
        elif origin in (Union, types.UnionType):
            members = [a for a in get_args(annotation) if a is not type(None)]
            if len(members) != 1:
                return annotation
            annotation = members[0]
        else:
            return annotation


def _tagged_members(annotation: Any) -> dict[PathItem, Any] | None:
    if get_origin(annotation) is not Annotated:
        return None
    members: dict[PathItem, Any] = {}
    for member in get_args(get_args(annotation)[0]):
        tags = [m for m in getattr(member, "__metadata__", ()) if isinstance(m, Tag)]
        if tags:
            members[tags[0].tag] = get_args(member)[0]
    return members


def _child(annotation: Any, item: PathItem) -> Any:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        for field_name, field in annotation.model_fields.items():
            if item in (field_name, field.alias):
                return field.rebuild_annotation()
        return None
    origin, args = get_origin(annotation), get_args(annotation)
    if origin is list and args:
        return args[0]
    if origin is tuple and args:
        return args[0] if len(args) == 2 and args[1] is Ellipsis else args[int(item)]
    if origin is dict and len(args) == 2:
        return args[1]
    return None


def _fields(owner: Any) -> list[str]:
    if isinstance(owner, type) and issubclass(owner, BaseModel):
        return [field.alias or name for name, field in owner.model_fields.items()]
    return []


def _suggestion(field: str, owner: Any) -> str | None:
    close = difflib.get_close_matches(field, _fields(owner), n=1)
    return close[0] if close else None


def _unknown_field(field: str, owner: Any) -> str:
    allowed = _fields(owner)
    hint = did_you_mean(field, allowed)
    if hint or not allowed:
        return f"unknown field {field!r}{hint}"
    return f"unknown field {field!r}; allowed here: {', '.join(allowed)}"


def _event_action(value: Any, actions: list[str]) -> str:
    example = "{at: 2027-02-10, " + actions[0] + ": ...}"
    if not isinstance(value, dict):
        return f"an event must be a mapping, like {example}"
    present = [key for key in value if key in actions]
    if len(present) > 1:
        return f"an event has exactly one action, and this one has {' and '.join(present)}"
    others = [str(key) for key in value if key not in ("at", "by")]
    text = f"an event needs one action out of {', '.join(actions)}"
    if not others:
        return text
    text += f"; found {', '.join(others)}"
    elsewhere = set(WORKSPACE_ACTIONS + ORGANIZATION_ACTIONS) - set(actions)
    if others[0] in elsewhere:
        owner = "workspaces" if others[0] in WORKSPACE_ACTIONS else "organizations"
        return f"{text}, which is an action of {owner}"
    return text + did_you_mean(others[0], actions)


def _name(path: DataPath) -> str:
    """How to name the offending value in a sentence: its key, or key[index]."""
    if not path:
        return "the file"
    if isinstance(path[-1], int) and len(path) > 1:
        return f"{path[-2]}[{path[-1]}]"
    return str(path[-1])


def _choices(expected: str, last: str = ", ") -> str:
    """pydantic's "'free', 'pro' or 'unlimited'" as "free, pro, unlimited"."""
    quoted: list[str] = re.findall(r"'([^']*)'", expected)
    words = quoted or [w.strip() for w in re.split(r",| or ", expected) if w.strip()]
    words = [w.lower() if w in ("True", "False") else w for w in words]
    if last == ", " or len(words) < 2:
        return ", ".join(words)
    return ", ".join(words[:-1]) + last + words[-1]


def _bound(kind: str, context: dict[str, Any]) -> str:
    if kind == "greater_than_equal":
        return f"must be at least {_number(context['ge'])}"
    if kind == "greater_than":
        return f"must be more than {_number(context['gt'])}"
    if kind == "less_than_equal":
        return f"must be at most {_number(context['le'])}"
    return f"must be less than {_number(context['lt'])}"


def _number(bound: Any) -> str:
    """1.0 reads as 1: bounds on probabilities are floats only by type."""
    return f"{bound:g}" if isinstance(bound, float) else str(bound)


def _show(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 40 else f"{text[:37]}..."
