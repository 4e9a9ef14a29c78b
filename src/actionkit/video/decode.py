"""Decode RGB frames from video files with PyAV."""

from __future__ import annotations

import logging
import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import av
import numpy as np
import torch

from actionkit.video.sampling import segment_indices

logger = logging.getLogger(__name__)


MAX_FRAME_PIXELS = 8192 * 8192   # 8K is 33M pixels; anything declared above this is refused


class VideoDecodeError(RuntimeError):
    """A video could not be opened or decoded; the message names the path and the problem."""

    def __init__(self, path: str | os.PathLike[str], problem: str) -> None:
        self.path = str(path)
        self.problem = problem
        super().__init__(f"{self.path}: {problem}")


@dataclass(frozen=True)
class VideoInfo:
    """Basic facts about a video's first video stream.

    num_frames: frame count (declared by the container, else counted by decoding);
    fps: frames per second; width/height: px; duration_s: seconds.
    """

    num_frames: int
    fps: float
    width: int
    height: int
    duration_s: float


def _check_exists(path: Path) -> None:
    if not path.is_file():
        if path.is_symlink():
            raise VideoDecodeError(path, "broken or looping symbolic link")
        raise VideoDecodeError(path, "file not found")


def _video_stream(
    container: av.container.InputContainer, path: Path
) -> av.video.stream.VideoStream:
    """The first video stream, refused before any decoding if it declares an absurd frame size
    (a hostile header must not make the decoder allocate gigabytes)."""
    if not container.streams.video:
        raise VideoDecodeError(path, "no video stream")
    stream = container.streams.video[0]
    width, height = stream.codec_context.width, stream.codec_context.height
    if width * height > MAX_FRAME_PIXELS:
        raise VideoDecodeError(path, f"declared frame size {width}x{height} exceeds the limit of "
                                     f"{MAX_FRAME_PIXELS:,} pixels")
    stream.thread_type = "AUTO"
    return stream


def _fps(stream: av.video.stream.VideoStream) -> float:
    rate = stream.average_rate or stream.guessed_rate or stream.base_rate
    return float(rate) if rate else 0.0


def _frame_time(frame: av.VideoFrame, index: int, fps: float) -> float:
    """Presentation time in seconds; falls back to ``index / fps`` without a timestamp."""
    t = frame.time
    if t is not None:
        return float(t)
    return index / fps if fps > 0 else float(index)


def _rgb(frame: av.VideoFrame) -> np.ndarray:
    return frame.to_ndarray(format="rgb24")


def _iter_frames(
    container: av.container.InputContainer, stream: av.video.stream.VideoStream
) -> Iterator[av.VideoFrame]:
    yield from container.decode(stream)


def _wrap(path: Path, exc: BaseException) -> VideoDecodeError:
    return VideoDecodeError(path, f"failed to decode ({type(exc).__name__}: {exc})")


def probe_video(path: str | os.PathLike[str]) -> VideoInfo:
    """Read frame count, fps, size (px) and duration (s) of the first video stream.

    The frame count is taken from the container when declared, otherwise counted
    by decoding the whole stream. Raises VideoDecodeError on any failure.
    """
    p = Path(path)
    _check_exists(p)
    try:
        with av.open(str(p)) as container:
            stream = _video_stream(container, p)
            fps = _fps(stream)
            width = stream.codec_context.width
            height = stream.codec_context.height
            num_frames = int(stream.frames or 0)
            if num_frames <= 0:
                num_frames = sum(1 for _ in _iter_frames(container, stream))
            if stream.duration is not None and stream.time_base is not None:
                duration_s = float(stream.duration * stream.time_base)
            elif container.duration is not None:
                duration_s = container.duration / av.time_base
            else:
                duration_s = num_frames / fps if fps > 0 else 0.0
    except VideoDecodeError:
        raise
    except Exception as exc:  # noqa: BLE001 - every failure becomes VideoDecodeError
        raise _wrap(p, exc) from exc
    if num_frames <= 0:
        raise VideoDecodeError(p, "no decodable frames")
    return VideoInfo(
        num_frames=num_frames, fps=fps, width=width, height=height, duration_s=duration_s
    )


def _decode_declared(
    container: av.container.InputContainer,
    stream: av.video.stream.VideoStream,
    indices: list[int],
) -> tuple[dict[int, np.ndarray], int]:
    """Decode sequentially keeping only frames at ``indices``; returns (kept, frames seen)."""
    wanted = set(indices)
    last = max(indices)
    kept: dict[int, np.ndarray] = {}
    seen = 0
    for i, frame in enumerate(_iter_frames(container, stream)):
        seen = i + 1
        if i in wanted:
            kept[i] = _rgb(frame)
        if i >= last:
            break
    return kept, seen


def _collect_window(
    container: av.container.InputContainer,
    stream: av.video.stream.VideoStream,
    start_s: float | None,
    end_s: float | None,
    seeked: bool,
) -> list[np.ndarray] | None:
    """Frames with time in ``[start_s, end_s)``; None if a seek overshot ``start_s``."""
    fps = _fps(stream)
    frames: list[np.ndarray] = []
    for i, frame in enumerate(_iter_frames(container, stream)):
        if seeked and i == 0 and (frame.time is None or frame.time > start_s):
            return None
        t = _frame_time(frame, i, fps)
        if end_s is not None and t >= end_s:
            break
        if start_s is not None and t < start_s:
            continue
        frames.append(_rgb(frame))
    return frames


def _decode_window(path: Path, start_s: float | None, end_s: float | None) -> list[np.ndarray]:
    """Decode all frames whose time (s) lies in ``[start_s, end_s)`` (None = unbounded).

    Seeks to the keyframe before ``start_s`` first; if the seek lands after
    ``start_s`` (or frames lack timestamps) it re-decodes from the beginning.
    """
    if start_s is not None and start_s > 0:
        with av.open(str(path)) as container:
            stream = _video_stream(container, path)
            try:
                container.seek(int(start_s / stream.time_base), stream=stream, backward=True)
                frames = _collect_window(container, stream, start_s, end_s, seeked=True)
            except av.error.FFmpegError as exc:
                logger.debug("%s: seek to %.3f s failed (%s); decoding from start", path, start_s,
                             exc)
                frames = None
        if frames is not None:
            return frames
    with av.open(str(path)) as container:
        stream = _video_stream(container, path)
        frames = _collect_window(container, stream, start_s, end_s, seeked=False)
    return frames if frames is not None else []


def decode_frames(
    path: str | os.PathLike[str],
    num_frames: int,
    mode: str = "eval",
    rng: np.random.Generator | None = None,
    start_s: float | None = None,
    end_s: float | None = None,
) -> torch.Tensor:
    """Decode ``num_frames`` RGB frames sampled with :func:`segment_indices`: uint8 ``[T, 3, H, W]``.

    See :func:`decode_clip`, which also returns the indices of the frames it picked.
    """
    return decode_clip(path, num_frames, mode, rng, start_s, end_s)[0]


def decode_clip(
    path: str | os.PathLike[str],
    num_frames: int,
    mode: str = "eval",
    rng: np.random.Generator | None = None,
    start_s: float | None = None,
    end_s: float | None = None,
) -> tuple[torch.Tensor, list[int]]:
    """Decode ``num_frames`` RGB frames sampled with :func:`segment_indices`, and their indices.

    The indices count the frames of the video (of the ``[start_s, end_s)`` window when one is
    given) from 0.

    Only frames with presentation time (s) in ``[start_s, end_s)`` are candidates
    (None = unbounded). Returns uint8 ``[T, 3, H, W]`` with ``T = num_frames``;
    videos shorter than ``num_frames`` repeat frames. Raises VideoDecodeError when
    the file is missing, has no video stream, no decodable frames in the window,
    or PyAV/FFmpeg fails; ValueError for bad arguments.
    """
    if num_frames <= 0:
        raise ValueError(f"num_frames must be > 0, got {num_frames}")
    if mode not in ("eval", "train"):
        raise ValueError(f"unknown sampling mode {mode!r}")
    if start_s is not None and end_s is not None and end_s <= start_s:
        raise ValueError(f"end_s ({end_s}) must be > start_s ({start_s})")
    p = Path(path)
    _check_exists(p)
    windowed = start_s is not None or end_s is not None

    try:
        picked: list[np.ndarray] | None = None
        with av.open(str(p)) as container:
            stream = _video_stream(container, p)
            declared = int(stream.frames or 0)
            if declared > 0 and not windowed:
                indices = segment_indices(declared, num_frames, mode, rng)
                kept, seen = _decode_declared(container, stream, indices)
                if len(kept) == len(set(indices)):
                    picked = [kept[i] for i in indices]
                else:
                    logger.warning(
                        "%s: stream declares %d frames but only %d decoded; re-decoding all",
                        p, declared, seen,
                    )
        if picked is None:
            frames = _decode_window(p, start_s, end_s)
            if not frames:
                window = f" in [{start_s}, {end_s}) s" if windowed else ""
                raise VideoDecodeError(p, f"no decodable frames{window}")
            indices = segment_indices(len(frames), num_frames, mode, rng)
            picked = [frames[i] for i in indices]
        arr = np.stack(picked)
    except VideoDecodeError:
        raise
    except Exception as exc:  # noqa: BLE001 - every failure becomes VideoDecodeError
        raise _wrap(p, exc) from exc
    return torch.from_numpy(arr).permute(0, 3, 1, 2).contiguous(), [int(i) for i in indices]


def decode_all_frames(path: str | os.PathLike[str]) -> np.ndarray:
    """Decode every frame of the first video stream: uint8 RGB ``[N, H, W, 3]``."""
    p = Path(path)
    _check_exists(p)
    try:
        with av.open(str(p)) as container:
            stream = _video_stream(container, p)
            frames = [_rgb(f) for f in _iter_frames(container, stream)]
        if not frames:
            raise VideoDecodeError(p, "no decodable frames")
        return np.stack(frames)
    except VideoDecodeError:
        raise
    except Exception as exc:  # noqa: BLE001 - every failure becomes VideoDecodeError
        raise _wrap(p, exc) from exc
