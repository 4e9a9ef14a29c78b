"""Read mmaction2 video list files into clip records.

One clip per line, fields separated by whitespace, in one of two styles:

* ``path label`` (video list, e.g. ``abseiling/abc.mp4 0``);
* ``path num_frames label`` (rawframe list; ``path`` is then a folder of frames, which
  actionkit's video decoder cannot read; ``num_frames`` goes to ``extra["num_frames"]``).

``label`` is an integer class index; ``classes[label]`` gives the caption and verb (without
``classes``, ``str(label)``); the index is also kept in ``extra["label"]``. Lines starting
with ``#`` and blank lines are skipped. The id is the path without its extension. Because
fields are split on whitespace, paths containing spaces cannot be written in this format
(such a line has too many fields, or a non-integer where a number belongs, and is an
error). Multi-label lists (several labels per line) are not supported.
"""

from __future__ import annotations

import logging
import posixpath
from pathlib import Path

from actionkit.data.manifest import SPLITS, ClipRecord, ManifestError, text_file, unique_records

log = logging.getLogger(__name__)


def _index(value: str, name: str, path: Path, line: int) -> int:
    try:
        return int(value)
    except ValueError:
        raise ManifestError(path, line, f"{name} {value!r} is not an integer") from None


def _parse(fields: list[str], path: Path, line: int, classes: list[str] | None, split: str) -> ClipRecord:
    if len(fields) not in (2, 3):
        raise ManifestError(path, line, f"expected 'path label' or 'path num_frames label', got {len(fields)} fields")
    clip_path, label_text = fields[0], fields[-1]
    extra: dict = {}
    if len(fields) == 3:
        num_frames = _index(fields[1], "num_frames", path, line)
        if num_frames <= 0:
            raise ManifestError(path, line, f"num_frames must be positive, got {num_frames}")
        extra["num_frames"] = num_frames
    label = _index(label_text, "label", path, line)
    if label < 0 or (classes is not None and label >= len(classes)):
        limit = f"0..{len(classes) - 1}" if classes is not None else "non-negative"
        raise ManifestError(path, line, f"label {label} is out of range ({limit})")
    extra["label"] = label
    name = classes[label] if classes is not None else str(label)
    return ClipRecord(id=posixpath.splitext(clip_path)[0], path=clip_path, caption=name, verb=name,
                      split=split, extra=extra)


def read_mmaction_list(path: Path | str, classes: list[str] | None = None, split: str = "test") -> list[ClipRecord]:
    """Read an mmaction2 video/rawframe list (see the module docstring); every clip gets ``split``."""
    path = Path(path)
    if split not in SPLITS:
        raise ValueError(f"split {split!r} is not one of {', '.join(SPLITS)}")
    with text_file(path) as f:
        rows = [(line, text.split()) for line, text in enumerate(f, start=1)
                if text.strip() and not text.lstrip().startswith("#")]
    records = unique_records(((line, _parse(fields, path, line, classes, split)) for line, fields in rows), path)
    log.info("read %d clips from %s", len(records), path)
    return records
