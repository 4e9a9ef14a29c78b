"""Read Ego4D-style narration clips (JSONL, one clip per line) into clip records.

Each line is a JSON object with:

* ``video_uid`` (str): the source video; the record's path is ``f"{video_uid}{video_ext}"``;
* ``clip_start_sec``, ``clip_end_sec`` (numbers, seconds into that video; end > start >= 0):
  the record's ``start``/``end``;
* ``narration_text`` (str), e.g. ``"#C C opens the drawer"``: the caption is the text with a
  leading narrator marker (``#C C ``, ``#c c ``, ``#O ``, ...) and trailing whitespace
  removed ("opens the drawer");
* ``verb``, ``noun`` (non-empty str): the record's ``verb`` and ``object``;
* optional ``clip_uid`` (str, the id; default ``f"{video_uid}_{line}"``) and ``split``
  (train/val/test, default "test").

Everything else on the line, plus ``video_uid`` and the raw ``narration_text``, is kept
in ``ClipRecord.extra``. Blank lines are skipped; ids must be unique.
"""

from __future__ import annotations

import logging
import re
from pathlib import Path

from actionkit.data.generic_jsonl import check_window, get_seconds, get_text
from actionkit.data.manifest import SPLITS, ClipRecord, ManifestError, iter_json_objects, unique_records

log = logging.getLogger(__name__)

# "#C C " (camera wearer) or a single-letter marker such as "#O " (other person).
_MARKER = re.compile(r"^\s*#(?:c\s+c|[a-z])\s+", re.IGNORECASE)
_CONSUMED = ("clip_uid", "clip_start_sec", "clip_end_sec", "verb", "noun", "split")


def narration_caption(text: str) -> str:
    """The narration without its leading ``#C C `` / ``#O `` marker and surrounding spaces."""
    return _MARKER.sub("", text, count=1).strip()


def _parse(row: dict, path: Path, line: int, video_ext: str) -> ClipRecord:
    video_uid = get_text(row, "video_uid", path, line)
    start = get_seconds(row, "clip_start_sec", path, line)
    end = get_seconds(row, "clip_end_sec", path, line)
    check_window(start, end, path, line)
    narration = get_text(row, "narration_text", path, line)
    caption = narration_caption(narration)
    if not caption:
        raise ManifestError(path, line, f"narration_text {narration!r} has no words after its marker")
    split = get_text(row, "split", path, line, required=False) or "test"
    if split not in SPLITS:
        raise ManifestError(path, line, f"split {split!r} is not one of {', '.join(SPLITS)}")
    return ClipRecord(
        id=get_text(row, "clip_uid", path, line, required=False) or f"{video_uid}_{line}",
        path=f"{video_uid}{video_ext}",
        caption=caption,
        verb=get_text(row, "verb", path, line),
        split=split,
        object=get_text(row, "noun", path, line),
        start=start,
        end=end,
        extra={k: v for k, v in row.items() if k not in _CONSUMED},
    )


def read_ego4d(path: Path | str, video_ext: str = ".mp4") -> list[ClipRecord]:
    """Read every narration clip of an Ego4D-style JSONL file (see the module docstring)."""
    path = Path(path)
    numbered = ((line, _parse(row, path, line, video_ext)) for line, row in iter_json_objects(path))
    records = unique_records(numbered, path)
    log.info("read %d narration clips from %s", len(records), path)
    return records
