"""Read Kinetics-style annotation CSVs and class lists into clip records.

The CSV starts with a header that has at least ``label,youtube_id,time_start,time_end,split``
(any order; extra columns such as ``is_cc`` are kept, as strings, in ``ClipRecord.extra``,
together with ``youtube_id`` and the float seconds ``time_start``/``time_end``). Per row:

* id = ``f"{youtube_id}_{int(time_start):06d}_{int(time_end):06d}"``;
* caption = verb = the label;
* split: train/val/test; "validate" (the official name of the val files) becomes "val";
* path: ``layout`` formatted with ``label`` (spaces replaced by ``_``), ``id`` and
  ``youtube_id``. The common download scripts save already-cut clips as
  ``{label}/{id}.mp4`` (the default with ``trimmed=True``; start/end are then left unset).
  With ``trimmed=False`` the files are the full YouTube videos, the default layout is
  ``{youtube_id}.mp4`` and start/end are ``time_start``/``time_end``.

Blank lines are skipped; line numbers in errors are lines of the file (header = line 1).
The unlabelled test CSVs (no ``label`` column) are not supported.
"""

from __future__ import annotations

import csv
import logging
import math
from pathlib import Path
from string import Formatter

from actionkit.data.manifest import ClipRecord, ManifestError, text_file, unique_records

log = logging.getLogger(__name__)

REQUIRED_COLUMNS: tuple[str, ...] = ("label", "youtube_id", "time_start", "time_end", "split")
TRIMMED_LAYOUT = "{label}/{id}.mp4"
FULL_VIDEO_LAYOUT = "{youtube_id}.mp4"
_LAYOUT_KEYS = ("label", "id", "youtube_id")
_SPLIT_NAMES = {"train": "train", "val": "val", "validate": "val", "test": "test"}


def _check_layout(layout: str) -> None:
    try:
        names = [name for _, name, _, _ in Formatter().parse(layout) if name is not None]
    except ValueError as e:
        raise ValueError(f"bad path layout {layout!r}: {e}") from None
    unknown = [n for n in names if n not in _LAYOUT_KEYS]
    if unknown:
        raise ValueError(f"path layout {layout!r} uses {', '.join(map(repr, unknown))}; "
                         f"only {{label}}, {{id}} and {{youtube_id}} are known")


def _seconds(value: str, column: str, path: Path, line: int) -> float:
    try:
        t = float(value)
    except ValueError:
        raise ManifestError(path, line, f"{column} {value!r} is not a number of seconds") from None
    if not math.isfinite(t) or t < 0:
        raise ManifestError(path, line, f"{column} must be a non-negative number of seconds, got {value!r}")
    return t


def _parse(row: dict[str, str], path: Path, line: int, layout: str, trimmed: bool) -> ClipRecord:
    empty = [c for c in REQUIRED_COLUMNS if not row[c]]
    if empty:
        raise ManifestError(path, line, f"empty value(s) in column(s) {', '.join(empty)}")
    label, youtube_id = row["label"], row["youtube_id"]
    start = _seconds(row["time_start"], "time_start", path, line)
    end = _seconds(row["time_end"], "time_end", path, line)
    if end <= start:
        raise ManifestError(path, line, f"time_end ({end}) must be after time_start ({start})")
    split = _SPLIT_NAMES.get(row["split"])
    if split is None:
        raise ManifestError(path, line, f"split {row['split']!r} is not one of {', '.join(_SPLIT_NAMES)}")
    clip_id = f"{youtube_id}_{int(start):06d}_{int(end):06d}"
    clip_path = layout.format(label=label.replace(" ", "_"), id=clip_id, youtube_id=youtube_id)
    extra = {k: v for k, v in row.items() if k not in REQUIRED_COLUMNS}
    extra.update(youtube_id=youtube_id, time_start=start, time_end=end)
    return ClipRecord(id=clip_id, path=clip_path, caption=label, verb=label, split=split,
                      start=None if trimmed else start, end=None if trimmed else end, extra=extra)


def read_kinetics(path: Path | str, layout: str | None = None, trimmed: bool = True) -> list[ClipRecord]:
    """Read a Kinetics-style CSV (see the module docstring).

    ``layout`` defaults to ``"{label}/{id}.mp4"`` when ``trimmed`` else ``"{youtube_id}.mp4"``.
    """
    path = Path(path)
    layout = layout if layout is not None else (TRIMMED_LAYOUT if trimmed else FULL_VIDEO_LAYOUT)
    _check_layout(layout)
    numbered: list[tuple[int, ClipRecord]] = []
    with text_file(path, encoding="utf-8-sig", newline="") as f:
        reader = csv.reader(f)
        header: list[str] | None = None
        last_line = 0
        for fields in reader:
            line, last_line = last_line + 1, reader.line_num  # a quoted field may span lines
            fields = [v.strip() for v in fields]
            if not any(fields):
                continue
            if header is None:
                header = fields
                missing = [c for c in REQUIRED_COLUMNS if c not in header]
                if missing:
                    raise ManifestError(path, line, f"header lacks column(s) {', '.join(missing)}")
                if len(set(header)) != len(header):
                    raise ManifestError(path, line, "header repeats a column name")
                continue
            if len(fields) != len(header):
                raise ManifestError(path, line, f"expected {len(header)} fields, got {len(fields)}")
            numbered.append((line, _parse(dict(zip(header, fields)), path, line, layout, trimmed)))
    if header is None:
        raise ManifestError(path, None, "empty file (no header)")
    records = unique_records(numbered, path)
    log.info("read %d clips from %s", len(records), path)
    return records


def class_lines(path: Path | str) -> list[tuple[int, str]]:
    """``(line, class name)`` of a class list: one name per line, surrounding spaces stripped,
    blank lines skipped, a repeated name refused with both lines."""
    path = Path(path)
    out: list[tuple[int, str]] = []
    seen: dict[str, int] = {}
    with text_file(path, "class list", encoding="utf-8-sig") as f:
        for line, text in enumerate(f, start=1):
            name = text.strip()
            if not name:
                continue
            if name in seen:
                raise ManifestError(path, line, f"duplicate class {name!r} (first on line {seen[name]})")
            seen[name] = line
            out.append((line, name))
    return out


def read_class_list(path: Path | str) -> list[str]:
    """Class names, one per line (see ``class_lines``)."""
    return [name for _, name in class_lines(path)]
