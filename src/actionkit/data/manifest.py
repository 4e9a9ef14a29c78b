"""Clip records and the JSONL manifest that lists them.

One JSON object per line with at least the fields of ``REQUIRED_FIELDS``; ``path`` is
relative to the manifest's folder (or absolute); ``start``/``end`` (seconds) cut a clip out
of a longer video. ``object``, ``colour``, ``antonym_caption`` and
``object_replaced_caption`` may be missing, null or empty (real annotations do not always
have an antonym); probes then leave that clip out of the probe that needs it. Anything else
on the row is kept in ``ClipRecord.extra``. A malformed row raises ``ManifestError`` naming
the file, the line and what is wrong.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TextIO

from actionkit.fileio import write_text_atomic

REQUIRED_FIELDS: tuple[str, ...] = ("id", "path", "caption", "verb", "split")
OPTIONAL_TEXT_FIELDS: tuple[str, ...] = ("object", "colour", "antonym_caption", "object_replaced_caption")
CLIP_TIME_FIELDS: tuple[str, ...] = ("start", "end")   # optional, seconds into the video file
SPLITS: tuple[str, ...] = ("train", "val", "test")


class ManifestError(ValueError):
    """A manifest that cannot be read; the message names file, line and problem.

    ``kind`` is a short category ("missing field", "unknown label", ...) that jobs which skip
    bad rows count by.
    """

    def __init__(self, path: Path | str, line: int | None, problem: str, kind: str = "malformed row"):
        where = f"{path}:{line}" if line is not None else str(path)
        super().__init__(f"{where}: {problem}")
        self.path, self.line, self.problem, self.kind = Path(path), line, problem, kind


class PathOutsideRoot(ValueError):
    """An annotation path that points outside the declared video root."""


@dataclass(frozen=True)
class ClipRecord:
    id: str
    path: str
    caption: str
    verb: str
    split: str
    object: str = ""                     # "" when the annotation has none
    colour: str = ""
    antonym_caption: str = ""
    object_replaced_caption: str = ""
    start: float | None = None           # clip window in seconds (None: from the start / to the end)
    end: float | None = None
    extra: dict = field(default_factory=dict, compare=False)

    def to_dict(self) -> dict:
        row = {name: getattr(self, name) for name in REQUIRED_FIELDS + OPTIONAL_TEXT_FIELDS}
        row.update({k: getattr(self, k) for k in CLIP_TIME_FIELDS if getattr(self, k) is not None})
        return {**row, **self.extra}

    def video_path(self, root: Path | str, allow_outside_root: bool = True) -> Path:
        """The video file: ``path`` joined to ``root`` (an absolute ``path`` stays as it is).

        With ``allow_outside_root=False`` a path that leaves ``root`` (``../``, or an
        absolute path elsewhere) raises ``PathOutsideRoot``; the check is lexical, so
        symlinks the user put inside the root are followed as usual.
        """
        p = Path(self.path)
        full = p if p.is_absolute() else Path(root) / p
        if not allow_outside_root:
            base = os.path.normpath(os.path.abspath(root))
            target = os.path.normpath(os.path.abspath(full))
            if os.path.commonpath([base, target]) != base:
                raise PathOutsideRoot(f"clip {self.id}: path {self.path!r} leaves the video root {root} "
                                      "(pass --allow-outside-root to read it anyway)")
        return full


def parse_row(row: object, path: Path | str, line: int) -> ClipRecord:
    if not isinstance(row, dict):
        raise ManifestError(path, line, f"expected a JSON object, got {type(row).__name__}")
    missing = [k for k in REQUIRED_FIELDS if k not in row]
    if missing:
        raise ManifestError(path, line, f"missing field(s) {', '.join(missing)}")
    bad = [k for k in REQUIRED_FIELDS if not isinstance(row[k], str) or not row[k]]
    if bad:
        raise ManifestError(path, line, f"field(s) {', '.join(bad)} must be non-empty strings")
    if row["split"] not in SPLITS:
        raise ManifestError(path, line, f"split {row['split']!r} is not one of {', '.join(SPLITS)}")
    bad = [k for k in OPTIONAL_TEXT_FIELDS if row.get(k) is not None and not isinstance(row[k], str)]
    if bad:
        raise ManifestError(path, line, f"field(s) {', '.join(bad)} must be strings or null")
    optional = {k: row.get(k) or "" for k in OPTIONAL_TEXT_FIELDS}
    times = {k: row.get(k) for k in CLIP_TIME_FIELDS}
    bad = [k for k, v in times.items() if v is not None and (isinstance(v, bool) or not isinstance(v, (int, float)) or v < 0)]
    if bad:
        raise ManifestError(path, line, f"field(s) {', '.join(bad)} must be non-negative numbers of seconds")
    if times["start"] is not None and times["end"] is not None and times["end"] <= times["start"]:
        raise ManifestError(path, line, f"end ({times['end']}) must be after start ({times['start']})")
    known = REQUIRED_FIELDS + OPTIONAL_TEXT_FIELDS + CLIP_TIME_FIELDS
    extra = {k: v for k, v in row.items() if k not in known}
    return ClipRecord(**{k: row[k] for k in REQUIRED_FIELDS}, **optional,
                      **{k: None if v is None else float(v) for k, v in times.items()}, extra=extra)


@contextmanager
def text_file(path: Path, what: str = "annotation file", encoding: str = "utf-8",
              newline: str | None = None) -> Iterator[TextIO]:
    """Open an annotation file as text; a missing file or bytes that are not UTF-8 (anywhere
    in the reading done inside the ``with``) become ``ManifestError``."""
    if not path.is_file():
        raise ManifestError(path, None, f"{what} not found")
    try:
        with path.open(encoding=encoding, newline=newline) as f:
            yield f
    except UnicodeDecodeError as e:
        raise ManifestError(path, None, f"not UTF-8 text (byte {e.start}: {e.reason})") from None


def iter_json_objects(path: Path, what: str = "annotation file") -> Iterator[tuple[int, dict]]:
    """Yield ``(1-based line, object)`` for each non-blank line of a JSONL file; ManifestError otherwise."""
    with text_file(path, what) as f:
        for line_no, text in enumerate(f, start=1):
            if not text.strip():
                continue
            try:
                row = json.loads(text)
            except json.JSONDecodeError as e:
                raise ManifestError(path, line_no, f"not valid JSON ({e.msg} at column {e.colno})") from None
            if not isinstance(row, dict):
                raise ManifestError(path, line_no, f"expected a JSON object, got {type(row).__name__}")
            yield line_no, row


def unique_records(numbered: Iterable[tuple[int, ClipRecord]], path: Path) -> list[ClipRecord]:
    """The records in order; a repeated id raises ManifestError naming both lines."""
    records: list[ClipRecord] = []
    seen: dict[str, int] = {}
    for line, record in numbered:
        if record.id in seen:
            raise ManifestError(path, line, f"duplicate id {record.id!r} (first on line {seen[record.id]})")
        seen[record.id] = line
        records.append(record)
    return records


def read_manifest(path: Path | str, split: str | None = None) -> list[ClipRecord]:
    """Read every record (or only those of ``split``); blank lines are allowed."""
    path = Path(path)
    numbered = ((line, parse_row(row, path, line)) for line, row in iter_json_objects(path, "manifest file"))
    records = unique_records(numbered, path)
    return records if split is None else [r for r in records if r.split == split]


def write_manifest(path: Path | str, records: list[ClipRecord]) -> None:
    """Write records as JSONL atomically (temp file, then rename)."""
    text = "".join(json.dumps(r.to_dict(), ensure_ascii=False) + "\n" for r in records)
    write_text_atomic(path, text)
