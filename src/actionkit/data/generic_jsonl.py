"""Read a generic JSONL annotation file (one clip per line) into clip records.

Each line is a JSON object. Required: ``path`` (relative to the videos root the caller
gives, or absolute) and ``caption`` (non-empty strings). Optional:

* ``start``, ``end``: the clip window in seconds (non-negative numbers, ``end > start``;
  missing or null = from the beginning / to the end of the file);
* ``id``: default ``f"{file stem}_{line}"``;
* ``verb``: default the caption's first word, lower-cased, with surrounding punctuation
  stripped ("Opens the drawer." -> "opens"); give it explicitly when that is wrong;
* ``split``: one of train/val/test, default "test";
* ``object``, ``colour``, ``antonym_caption``, ``object_replaced_caption``: strings or null.

Every other key is kept in ``ClipRecord.extra``. Blank lines are skipped; ids must be
unique. Unlike :mod:`actionkit.data.manifest`, ``id``/``verb``/``split`` may be left out.
The helpers ``get_text`` and ``get_seconds`` are shared with other
JSONL readers.
"""

from __future__ import annotations

import logging
import string
from pathlib import Path

from actionkit.data.manifest import (OPTIONAL_TEXT_FIELDS, SPLITS, ClipRecord, ManifestError, iter_json_objects,
                                     unique_records)

log = logging.getLogger(__name__)

_KNOWN = ("path", "caption", "id", "verb", "split", "start", "end") + OPTIONAL_TEXT_FIELDS


def get_text(row: dict, key: str, path: Path, line: int, required: bool = True,
             allow_empty: bool = False) -> str | None:
    """``row[key]`` as a (non-empty unless ``allow_empty``) string; None when optional and missing/null."""
    value = row.get(key)
    if value is None:
        if required:
            raise ManifestError(path, line, f"missing field {key}")
        return None
    if not isinstance(value, str):
        raise ManifestError(path, line, f"field {key} must be a string, got {type(value).__name__}")
    if not allow_empty and not value.strip():
        raise ManifestError(path, line, f"field {key} must not be empty")
    return value


def get_seconds(row: dict, key: str, path: Path, line: int, required: bool = True) -> float | None:
    """``row[key]`` as non-negative seconds; None when optional and missing/null."""
    value = row.get(key)
    if value is None:
        if required:
            raise ManifestError(path, line, f"missing field {key}")
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ManifestError(path, line, f"field {key} must be a number of seconds, got {type(value).__name__}")
    if value != value or value < 0 or value == float("inf"):
        raise ManifestError(path, line, f"field {key} must be a non-negative finite number, got {value}")
    return float(value)


def check_window(start: float | None, end: float | None, path: Path, line: int) -> None:
    """ManifestError unless ``end > start`` (when both are given)."""
    if start is not None and end is not None and end <= start:
        raise ManifestError(path, line, f"end ({end}) must be after start ({start})")


def _default_verb(caption: str, path: Path, line: int) -> str:
    verb = caption.split()[0].strip(string.punctuation).lower()
    if not verb:
        raise ManifestError(path, line, f"cannot take a verb from caption {caption!r}; give a verb field")
    return verb


def _parse(row: dict, path: Path, line: int) -> ClipRecord:
    clip_path = get_text(row, "path", path, line)
    caption = get_text(row, "caption", path, line).strip()
    start = get_seconds(row, "start", path, line, required=False)
    end = get_seconds(row, "end", path, line, required=False)
    check_window(start, end, path, line)
    split = get_text(row, "split", path, line, required=False) or "test"
    if split not in SPLITS:
        raise ManifestError(path, line, f"split {split!r} is not one of {', '.join(SPLITS)}")
    optional = {k: get_text(row, k, path, line, required=False, allow_empty=True) or "" for k in OPTIONAL_TEXT_FIELDS}
    return ClipRecord(
        id=get_text(row, "id", path, line, required=False) or f"{path.stem}_{line}",
        path=clip_path,
        caption=caption,
        verb=get_text(row, "verb", path, line, required=False) or _default_verb(caption, path, line),
        split=split,
        **optional,
        start=start,
        end=end,
        extra={k: v for k, v in row.items() if k not in _KNOWN},
    )


def read_generic_jsonl(path: Path | str) -> list[ClipRecord]:
    """Read every clip of a generic JSONL annotation file (see the module docstring)."""
    path = Path(path)
    records = unique_records(((line, _parse(row, path, line)) for line, row in iter_json_objects(path)), path)
    log.info("read %d clips from %s", len(records), path)
    return records
