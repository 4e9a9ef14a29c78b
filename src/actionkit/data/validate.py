"""Check clip windows against the videos they cut, before a long decode run.

``check_clip_windows`` probes each video that a windowed record points to (each file
once) and returns a ``ClipProblem`` for each missing or unreadable file and each window that
does not lie inside its video; callers decide whether to skip those clips or to fail.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import NamedTuple

from actionkit.data.manifest import ClipRecord
from actionkit.video.decode import VideoDecodeError, VideoInfo, probe_video

log = logging.getLogger(__name__)

TOLERANCE_S = 0.5   # a window may end this far past the video's declared duration
UNREADABLE = "video missing or unreadable"
OUTSIDE = "time range outside the video"


class ClipProblem(NamedTuple):
    record: ClipRecord
    kind: str        # UNREADABLE or OUTSIDE: what callers count by
    detail: str      # names the video file and what is wrong


def _window_problem(record: ClipRecord, video: Path, duration: float, tolerance_s: float) -> str | None:
    start = record.start if record.start is not None else 0.0
    end = record.end if record.end is not None else duration
    if start >= duration or end > duration + tolerance_s:
        return f"{video}: window [{record.start}, {record.end}] s is outside the video ({duration:.2f} s long)"
    return None


def check_clip_windows(records: list[ClipRecord], root: Path | str, tolerance_s: float = TOLERANCE_S,
                       probe_all: bool = False) -> list[ClipProblem]:
    """Problems of the records with a start or end (of all records with ``probe_all``).

    A window must start before the video ends and end at most ``tolerance_s`` seconds after
    it; a missing or unreadable file is reported with the decoder's reason. Videos whose
    duration is unknown (0) are not window-checked (logged).
    """
    probes: dict[Path, VideoInfo | str] = {}
    problems: list[ClipProblem] = []
    for record in records:
        windowed = record.start is not None or record.end is not None
        if not (windowed or probe_all):
            continue
        video = record.video_path(root)
        if video not in probes:
            try:
                probes[video] = probe_video(video)
            except VideoDecodeError as e:
                probes[video] = str(e)
        info = probes[video]
        if isinstance(info, str):
            problems.append(ClipProblem(record, UNREADABLE, info))
            continue
        if not windowed:
            continue
        if info.duration_s <= 0:
            log.warning("%s: duration unknown; window of %s not checked", video, record.id)
            continue
        problem = _window_problem(record, video, info.duration_s, tolerance_s)
        if problem is not None:
            problems.append(ClipProblem(record, OUTSIDE, problem))
    log.info("checked %d videos: %d problem clip(s)", len(probes), len(problems))
    return problems
