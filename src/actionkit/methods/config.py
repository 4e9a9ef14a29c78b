"""A method's options as data: from JSON (``--config FILE``, ``method.json``), from ``--set
key=value``, and the types the command line parses them with. One set of rules for every method.

Field types understood: ``int``, ``float``, ``bool``, ``str``, ``tuple[str, ...]`` (written
``a,b,c``) and ``dict[str, float]`` (written ``a=1,b=0.5``). A key that is not a field is an
error naming the file (or the flag) and listing the keys there are.
"""

from __future__ import annotations

import dataclasses
import typing
from typing import Any


def field_types(cls: type) -> dict[str, Any]:
    """``{field name: its type}`` of a config dataclass (annotations resolved)."""
    hints = typing.get_type_hints(cls)
    return {f.name: hints[f.name] for f in dataclasses.fields(cls) if f.init}


def parse_value(kind: Any, text: str, name: str) -> Any:
    """A command-line string as a value of the field type ``kind``; ValueError naming ``name``."""
    origin = typing.get_origin(kind)
    try:
        if kind is bool:
            lowered = text.strip().lower()
            if lowered not in ("true", "false", "1", "0", "yes", "no"):
                raise ValueError("expected true or false")
            return lowered in ("true", "1", "yes")
        if kind in (int, float, str):
            return kind(text)
        if origin is tuple:
            return tuple(part.strip() for part in text.split(",") if part.strip())
        if origin is dict:
            out = {}
            for item in filter(None, (part.strip() for part in text.split(","))):
                key, sep, value = item.partition("=")
                try:
                    if not sep:
                        raise ValueError
                    out[key.strip()] = float(value)
                except ValueError:
                    raise ValueError(f"{item!r} is not NAME=NUMBER") from None
            return out
    except ValueError as e:
        raise ValueError(f"{name}: cannot read {text!r} ({e})") from None
    raise ValueError(f"{name}: fields of type {kind} cannot be set from the command line")


def _coerce(kind: Any, value: Any, name: str) -> Any:
    """A JSON value as the field type (lists become tuples); a wrong type is a ValueError."""
    origin = typing.get_origin(kind)
    ok = {bool: lambda v: isinstance(v, bool),
          int: lambda v: isinstance(v, int) and not isinstance(v, bool),
          float: lambda v: isinstance(v, (int, float)) and not isinstance(v, bool),
          str: lambda v: isinstance(v, str)}
    if kind in ok:
        if not ok[kind](value):
            raise ValueError(f"{name}: expected {kind.__name__}, found {value!r}")
        return float(value) if kind is float else value
    if origin is tuple and isinstance(value, (list, tuple)) and all(isinstance(v, str) for v in value):
        return tuple(value)
    if origin is dict and isinstance(value, dict) and all(
            isinstance(v, (int, float)) and not isinstance(v, bool) for v in value.values()):
        return {str(k): float(v) for k, v in value.items()}
    raise ValueError(f"{name}: expected {kind}, found {value!r}")


def config_from_dict(cls: type, values: dict, where: str) -> Any:
    """``cls(**values)`` with every key checked: unknown keys, wrong types and the config's own
    validation errors become one ValueError that starts with ``where`` (a file, a flag)."""
    types = field_types(cls)
    unknown = sorted(set(values) - set(types))
    if unknown:
        raise ValueError(f"{where}: unknown key(s) {', '.join(unknown)} for {cls.__name__}; "
                         f"known: {', '.join(types)}")
    try:
        return cls(**{k: _coerce(types[k], v, k) for k, v in values.items()})
    except (TypeError, ValueError) as e:
        raise ValueError(f"{where}: {e}") from None


def split_overrides(values: dict, *configs: type, where: str) -> list[dict]:
    """Sort the keys of one flat mapping (a ``--config`` file, ``--set`` pairs) into the given
    config classes, in order; a key that none of them has is an error naming ``where``."""
    parts: list[dict] = [{} for _ in configs]
    known = [set(field_types(c)) for c in configs]
    for key, value in values.items():
        for part, names in zip(parts, known):
            if key in names:
                part[key] = value
                break
        else:
            raise ValueError(f"{where}: unknown key {key!r}; known: {', '.join(sorted(set().union(*known)))}")
    return parts


def parse_set(pairs: list[str], *configs: type) -> dict:
    """``--set key=value ...`` -> ``{key: value}``, each value parsed by its field's type."""
    types: dict[str, Any] = {}
    for cls in configs:
        types.update(field_types(cls))
    out = {}
    for pair in pairs:
        key, sep, text = pair.partition("=")
        key = key.strip().replace("-", "_")
        if not sep:
            raise ValueError(f"--set {pair!r}: expected key=value")
        if key not in types:
            raise ValueError(f"--set {pair!r}: unknown key {key!r}; known: {', '.join(sorted(types))}")
        out[key] = parse_value(types[key], text, f"--set {key}")
    return out


def check_choice(name: str, value: str, choices: tuple[str, ...]) -> None:
    """A config field that must be one of ``choices``: ValueError naming it otherwise."""
    if value not in choices:
        raise ValueError(f"{name} must be one of {', '.join(choices)}, got {value!r}")


def check_objectives(objectives: tuple[str, ...], loss_weights: dict[str, float], known: tuple[str, ...]) -> None:
    """A method's ``objectives`` (a non-empty subset of ``known``) and its ``loss_weights`` (of known ones)."""
    unknown = [o for o in objectives if o not in known]
    if unknown or not objectives:
        raise ValueError(f"objectives must be a non-empty subset of {','.join(known)}, got {objectives}")
    unknown = [k for k in loss_weights if k not in known]
    if unknown:
        raise ValueError(f"loss weights given for unknown objective(s) {', '.join(unknown)}")
