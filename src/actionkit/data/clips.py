"""Decode the clips of a manifest in parallel worker processes, skipping and counting bad ones.

``iter_clip_batches`` streams batches (nothing but one batch of pixels is held), so a
probe over a large corpus keeps only embeddings; ``load_clips`` collects everything into
one tensor for the small Action World training sets.

Real corpora hold broken files, so each clip is decoded as its own task in a ``pebble``
process pool: a clip whose decoding takes longer than ``timeout_s`` is abandoned (its
worker is killed and replaced) and a worker that dies (a crash inside FFmpeg) costs only
the clip it was decoding; both are skipped with their reason like any unreadable file.
``strict=True`` turns the first bad clip into an error instead. A record whose path leaves
the video root (``..`` or an absolute path elsewhere) is refused unless
``allow_outside_root``. With ``workers=0`` clips are decoded in this process (no timeout).
"""

from __future__ import annotations

import logging
import multiprocessing
from collections import deque
from collections.abc import Callable, Iterator
from concurrent.futures import TimeoutError as FutureTimeout
from dataclasses import dataclass
from pathlib import Path
from typing import NamedTuple

import torch
from pebble import ProcessExpired, ProcessPool
from tqdm import tqdm

from actionkit.data.manifest import ClipRecord
from actionkit.video.decode import VideoDecodeError, decode_clip

log = logging.getLogger(__name__)

Transform = Callable[[torch.Tensor], torch.Tensor]
TIMEOUT_S = 120.0     # default per-clip decoding budget


@dataclass(frozen=True)
class ReadOptions:
    """How a job treats bad clips: the per-clip time budget, skip or fail, and the video root."""

    timeout_s: float = TIMEOUT_S
    strict: bool = False               # the first bad clip is an error instead of a skip
    allow_outside_root: bool = False   # read annotation paths that leave the video root


@dataclass(frozen=True)
class SkippedClip:
    id: str
    path: str
    reason: str

    def to_dict(self) -> dict:
        return {"id": self.id, "path": self.path, "reason": self.reason}


class ClipBatch(NamedTuple):
    index: torch.Tensor               # [b] positions in the record list
    frames: torch.Tensor              # [b, T, ...]
    frame_indices: list[list[int]]    # the decoded frames' indices in each video (or window)


class ClipDataset:
    """Item i: ``{"index": i, "frames": uint8 [T,3,H,W] or transformed, or None, "frame_indices",
    "error": str|None}``; a failure becomes ``error``, never an exception."""

    def __init__(self, records: list[ClipRecord], root: Path | str, num_frames: int,
                 transform: Transform | None = None, dtype: torch.dtype | None = None,
                 allow_outside_root: bool = False):
        self.records, self.root, self.num_frames = records, Path(root), num_frames
        self.transform, self.dtype, self.allow_outside_root = transform, dtype, allow_outside_root

    def __len__(self) -> int:
        return len(self.records)

    def __getitem__(self, i: int) -> dict:
        record = self.records[i]
        try:
            path = record.video_path(self.root, self.allow_outside_root)
            frames, picked = decode_clip(path, self.num_frames, mode="eval", start_s=record.start, end_s=record.end)
            if self.transform is not None:
                frames = self.transform(frames)
            if self.dtype is not None:
                frames = frames.to(self.dtype)
            return {"index": i, "frames": frames, "frame_indices": picked, "error": None}
        except Exception as e:  # noqa: BLE001 - a bad clip is skipped and counted
            return {"index": i, "frames": None, "frame_indices": None, "error": f"{type(e).__name__}: {e}"}


# The pool's workers get the dataset once, at start-up (inherited by fork), and then only indices.
_WORKER_DATASET: ClipDataset | None = None


def _init_worker(dataset: ClipDataset) -> None:
    global _WORKER_DATASET
    _WORKER_DATASET = dataset
    torch.set_num_threads(1)      # parallelism comes from the workers


def _decode_item(i: int) -> dict:
    """Runs in a worker. Frames travel back as a numpy array, by value: a torch tensor would be
    sent as a shared-memory file descriptor that the parent fetches from the worker later,
    and a worker that crashes on its next clip before then would break the whole pool."""
    assert _WORKER_DATASET is not None
    item = _WORKER_DATASET[i]
    if item["frames"] is not None:
        item["frames"] = item["frames"].numpy()
    return item


def _items(dataset: ClipDataset, workers: int, timeout_s: float) -> Iterator[dict]:
    """Every item in order; a timed-out or crashed task becomes an item with its error."""
    if workers == 0:
        yield from (dataset[i] for i in range(len(dataset)))
        return
    window = 16 * workers     # tasks in flight: bounds the decoded frames held in memory
    ctx = multiprocessing.get_context("fork")
    with ProcessPool(max_workers=workers, initializer=_init_worker, initargs=(dataset,), context=ctx) as pool:
        pending: deque = deque()
        scheduled, finished = 0, False
        try:
            while pending or scheduled < len(dataset):
                while scheduled < len(dataset) and len(pending) < window:
                    pending.append((scheduled, pool.schedule(_decode_item, args=(scheduled,), timeout=timeout_s)))
                    scheduled += 1
                i, future = pending.popleft()
                yield _result(i, future, timeout_s)
            finished = True
        finally:
            if not finished:      # left early (strict error, consumer error, break): do not wait for the rest
                pool.stop()


def _result(i: int, future, timeout_s: float) -> dict:
    """The item a finished task returned, or an item carrying why there is none."""
    try:
        item = future.result()
    except FutureTimeout:
        return {"index": i, "frames": None, "frame_indices": None,
                "error": f"decoding timed out after {timeout_s:g} s (worker stopped)"}
    except ProcessExpired as e:
        return {"index": i, "frames": None, "frame_indices": None, "error": f"decoding worker died (exit code {e.exitcode})"}
    except Exception as e:  # noqa: BLE001 - e.g. a result that could not be sent back
        return {"index": i, "frames": None, "frame_indices": None, "error": f"{type(e).__name__}: {e}"}
    if item["frames"] is not None:
        item["frames"] = torch.from_numpy(item["frames"])
    return item


def iter_clip_batches(records: list[ClipRecord], root: Path | str, num_frames: int,
                      transform: Transform | None = None, batch_size: int = 32, workers: int = 2,
                      dtype: torch.dtype | None = None, desc: str = "decode", progress: bool = True,
                      skipped: list[SkippedClip] | None = None, pin_memory: bool = False,
                      read: ReadOptions = ReadOptions()) -> Iterator[ClipBatch]:
    """Yield a ``ClipBatch`` per batch of readable clips; unreadable clips go to ``skipped``
    (or, with ``read.strict``, the first one raises ``VideoDecodeError``).

    ``pin_memory``: page-locked batches, for asynchronous copies to a GPU.
    """
    dataset = ClipDataset(records, root, num_frames, transform, dtype, read.allow_outside_root)
    good: list[dict] = []

    def batch() -> ClipBatch:
        frames = torch.stack([it["frames"] for it in good])
        return ClipBatch(torch.tensor([it["index"] for it in good], dtype=torch.long),
                         frames.pin_memory() if pin_memory else frames, [it["frame_indices"] for it in good])

    with tqdm(total=len(dataset), desc=desc, unit="clip", disable=not progress) as bar:
        for item in _items(dataset, workers, read.timeout_s):
            bar.update()
            if item["error"] is not None:
                r = records[item["index"]]
                if read.strict:
                    raise VideoDecodeError(r.path, f"clip {r.id}: {item['error']} (strict mode)")
                log.warning("skipping %s (%s): %s", r.id, r.path, item["error"])
                if skipped is not None:
                    skipped.append(SkippedClip(r.id, r.path, item["error"]))
                continue
            good.append(item)
            if len(good) == batch_size:
                yield batch()
                good = []
        if good:
            yield batch()


@dataclass
class LoadedClips:
    frames: torch.Tensor        # [N, T, ...] for the readable clips
    records: list[ClipRecord]   # the records of those N clips, in order
    skipped: list[SkippedClip]


def load_clips(records: list[ClipRecord], root: Path | str, num_frames: int,
               transform: Transform | None = None, **kwargs) -> LoadedClips:
    """Decode all readable clips into one tensor (for small sets such as the Action World)."""
    skipped: list[SkippedClip] = []
    indices, chunks = [], []
    for batch in iter_clip_batches(records, root, num_frames, transform, skipped=skipped, **kwargs):
        indices.append(batch.index)
        chunks.append(batch.frames)
    if not chunks:
        raise RuntimeError(f"none of the {len(records)} clips under {root} could be read "
                           f"(first error: {skipped[0].reason if skipped else 'no clips'})")
    order = torch.cat(indices).tolist()
    return LoadedClips(torch.cat(chunks), [records[i] for i in order], skipped)

