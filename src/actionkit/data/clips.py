"""Decode the clips of a manifest in parallel worker processes, skipping and counting bad ones.

``iter_clip_batches`` streams batches (nothing but one batch of pixels is held), so a
probe over a large corpus keeps only embeddings; ``load_clips`` collects everything into
one tensor for the small Action World training sets.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import NamedTuple

import torch
from torch.utils.data import DataLoader, Dataset
from tqdm import tqdm

from actionkit.data.manifest import ClipRecord
from actionkit.video.decode import decode_clip

log = logging.getLogger(__name__)

Transform = Callable[[torch.Tensor], torch.Tensor]


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


class ClipDataset(Dataset):
    """Item i: ``{"index": i, "frames": uint8 [T,3,H,W] or transformed, or None, "frame_indices",
    "error": str|None}``."""

    def __init__(self, records: list[ClipRecord], root: Path | str, num_frames: int,
                 transform: Transform | None = None, dtype: torch.dtype | None = None):
        self.records, self.root, self.num_frames = records, Path(root), num_frames
        self.transform, self.dtype = transform, dtype

    def __len__(self) -> int:
        return len(self.records)

    def __getitem__(self, i: int) -> dict:
        record = self.records[i]
        try:
            frames, picked = decode_clip(record.video_path(self.root), self.num_frames, mode="eval",
                                         start_s=record.start, end_s=record.end)
            if self.transform is not None:
                frames = self.transform(frames)
            if self.dtype is not None:
                frames = frames.to(self.dtype)
            return {"index": i, "frames": frames, "frame_indices": picked, "error": None}
        except Exception as e:  # noqa: BLE001 - a bad clip is skipped and counted
            return {"index": i, "frames": None, "frame_indices": None, "error": f"{type(e).__name__}: {e}"}


def _collate(items: list[dict]) -> dict:
    good = [it for it in items if it["frames"] is not None]
    return {
        "index": torch.tensor([it["index"] for it in good], dtype=torch.long),
        "frames": torch.stack([it["frames"] for it in good]) if good else None,
        "frame_indices": [it["frame_indices"] for it in good],
        "errors": [(it["index"], it["error"]) for it in items if it["frames"] is None],
    }


def iter_clip_batches(records: list[ClipRecord], root: Path | str, num_frames: int,
                      transform: Transform | None = None, batch_size: int = 32, workers: int = 2,
                      dtype: torch.dtype | None = None, desc: str = "decode", progress: bool = True,
                      skipped: list[SkippedClip] | None = None, pin_memory: bool = False) -> Iterator[ClipBatch]:
    """Yield a ``ClipBatch`` per batch of readable clips; unreadable clips go to ``skipped``.

    ``pin_memory``: page-locked batches, for asynchronous copies to a GPU.
    """
    dataset = ClipDataset(records, root, num_frames, transform, dtype)
    loader = DataLoader(dataset, batch_size=batch_size, shuffle=False, num_workers=workers,
                        collate_fn=_collate, persistent_workers=False, pin_memory=pin_memory)
    with tqdm(total=len(dataset), desc=desc, unit="clip", disable=not progress) as bar:
        for batch in loader:
            for i, error in batch["errors"]:
                r = records[i]
                log.warning("skipping %s (%s): %s", r.id, r.path, error)
                if skipped is not None:
                    skipped.append(SkippedClip(r.id, r.path, error))
            bar.update(len(batch["index"]) + len(batch["errors"]))
            if batch["frames"] is not None:
                yield ClipBatch(batch["index"], batch["frames"], batch["frame_indices"])


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
