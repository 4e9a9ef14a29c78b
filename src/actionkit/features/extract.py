"""``actionkit extract``: run a frozen backbone once over a clip list and keep its frame features.

Clips are decoded in worker processes (``data.clips``: per-clip timeout, crash-safe) and encoded in batches on the chosen
device (bf16 autocast and pinned-memory copies on a GPU). Every ``shard_size`` clips a
shard is written (temp file, rename) and then the index (atomically), so a killed run loses
at most the clips of the shard in flight, and a rerun continues with the clips no index
lists yet; a rerun over a finished cache does nothing. Unreadable clips are skipped and
listed in the index with their reason. Under ``torchrun`` rank r takes every W-th clip
starting at r and writes its own shards and index (``features.cache``).
"""

from __future__ import annotations

import logging
import time
from contextlib import nullcontext
from dataclasses import asdict, dataclass, field
from pathlib import Path

import torch

from actionkit.backbones.protocol import Backbone
from actionkit.data.clips import ReadOptions, SkippedClip, iter_clip_batches
from actionkit.data.manifest import ClipRecord
from actionkit.features.cache import (DTYPES, CacheSettings, empty_index, index_name, read_index,
                                      shard_name)
from actionkit.fileio import write_json_atomic
from actionkit.checkpoint import save_tensors
from actionkit.train.distributed import rank_and_world

log = logging.getLogger(__name__)


@dataclass
class ExtractConfig:
    dtype: str = "float16"       # storage dtype of the features: float16, bfloat16 or float32
    batch_size: int = 32         # clips per backbone call
    workers: int = 2             # decoding worker processes
    shard_size: int = 512        # clips per shard file
    device: str = "cpu"
    compile: bool = False        # torch.compile the video encoder (pays on a GPU for large runs; measure)
    read: ReadOptions = field(default_factory=ReadOptions)   # timeout per clip, strict, video root
    retry_skipped: bool = False  # decode again the clips an earlier run listed as skipped

    def __post_init__(self):
        if self.dtype not in DTYPES:
            raise ValueError(f"dtype must be one of {', '.join(DTYPES)}, got {self.dtype!r}")
        if self.shard_size <= 0 or self.batch_size <= 0:
            raise ValueError("shard_size and batch_size must be positive")


@dataclass
class ExtractSummary:
    out: str
    clips: int                  # clips this process was given
    extracted: int              # encoded by this run
    already: int                # found in the cache (or listed as skipped) before this run
    skipped: int                # unreadable in this run, listed in the index
    seconds: float
    clips_per_s: float
    skipped_items: list[dict] = field(default_factory=list)

    def to_dict(self) -> dict:
        return asdict(self)


def _done_ids(out: Path, settings: CacheSettings, retry_skipped: bool) -> set[str]:
    """Clips any index in ``out`` already lists (cached, and skipped unless ``retry_skipped``);
    refuses indexes of other settings."""
    done: set[str] = set()
    for path in sorted(out.glob("index*.json")):
        index = read_index(path)
        settings.check(index, path)
        done.update(index["clips"])
        if not retry_skipped:
            done.update(index["skipped"])
    return done


class _ShardWriter:
    """Buffers encoded clips and writes shard + index every ``shard_size`` clips."""

    def __init__(self, out: Path, index_path: Path, index: dict, rank: int, world: int, dtype: torch.dtype):
        self.out, self.index_path, self.index, self.dtype = out, index_path, index, dtype
        self.rank, self.world = rank, world
        self.tokens: list[torch.Tensor] = []
        self.pooled: list[torch.Tensor] = []
        self.entries: list[tuple[str, dict]] = []
        self.skipped: list[SkippedClip] = []

    def __len__(self) -> int:
        return len(self.entries)

    def add(self, records: list[ClipRecord], frame_indices: list[list[int]], tokens: torch.Tensor,
            pooled: torch.Tensor) -> None:
        self.tokens.append(tokens.to(self.dtype).cpu())
        self.pooled.append(pooled.to(self.dtype).cpu())
        for r, picked, t in zip(records, frame_indices, tokens):
            self.entries.append((r.id, {"path": r.path, "frame_indices": picked, "shape": list(t.shape),
                                        "start": r.start, "end": r.end}))

    def flush(self) -> None:
        if not self.entries and not self.skipped:
            return
        if self.entries:
            k = len(self.index["shards"])
            name = shard_name(self.rank, k, self.world)
            save_tensors(self.out / name, {"frame_tokens": torch.cat(self.tokens),
                                           "frame_pooled": torch.cat(self.pooled)})
            self.index["shards"].append(name)
            for offset, (cid, entry) in enumerate(self.entries):
                self.index["clips"][cid] = {"shard": k, "offset": offset, **entry}
                self.index["skipped"].pop(cid, None)          # read now, after an earlier skip
        for s in self.skipped:
            self.index["skipped"][s.id] = {"path": s.path, "reason": s.reason}
        write_json_atomic(self.index_path, self.index)     # the shard counts from here on
        self.tokens, self.pooled, self.entries, self.skipped = [], [], [], []


@torch.no_grad()
def extract_features(backbone: Backbone, records: list[ClipRecord], root: Path | str, out: Path | str,
                     cfg: ExtractConfig = ExtractConfig(), progress: bool = True) -> ExtractSummary:
    """Encode the clips of ``records`` (video paths relative to ``root``) into the cache ``out``."""
    start = time.time()
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    rank, world = rank_and_world()
    mine = records[rank::world]
    settings = CacheSettings(backbone.name, backbone.fingerprint(), cfg.dtype, backbone.num_frames)
    done = _done_ids(out, settings, cfg.retry_skipped)
    todo = [r for r in mine if r.id not in done]
    index_path = out / index_name(rank, world)
    index = read_index(index_path) if index_path.is_file() else empty_index(settings)
    log.info("extract: %d clips for this process, %d already in %s, %d to do", len(mine), len(mine) - len(todo),
             out, len(todo))
    writer = _ShardWriter(out, index_path, index, rank, world, DTYPES[cfg.dtype])
    device = torch.device(cfg.device)
    encode = torch.compile(backbone.encode_video) if cfg.compile else backbone.encode_video
    autocast = torch.autocast("cuda", dtype=torch.bfloat16) if device.type == "cuda" else nullcontext()
    skipped: list[SkippedClip] = []
    n_done = 0
    if todo:
        batches = iter_clip_batches(todo, root, backbone.num_frames, transform=backbone.preprocess,
                                    batch_size=cfg.batch_size, workers=cfg.workers, desc="extract",
                                    progress=progress and rank == 0, skipped=skipped,
                                    pin_memory=device.type == "cuda", read=cfg.read)
        seen = 0                                  # skipped clips handed to the writer so far
        for batch in batches:
            writer.skipped.extend(skipped[seen:])
            seen = len(skipped)
            with autocast:
                f = encode(batch.frames.to(device, non_blocking=True))
            writer.add([todo[i] for i in batch.index.tolist()], batch.frame_indices, f.frame_tokens, f.frame_pooled)
            n_done += len(batch.index)
            if len(writer) >= cfg.shard_size:
                writer.flush()
        writer.skipped.extend(skipped[seen:])
    writer.flush()
    if not index_path.is_file():
        write_json_atomic(index_path, index)   # an empty clip list still makes a valid cache
    seconds = time.time() - start
    return ExtractSummary(out=str(out), clips=len(mine), extracted=n_done, already=len(mine) - len(todo),
                          skipped=len(skipped), seconds=round(seconds, 2),
                          clips_per_s=round(n_done / seconds, 2) if seconds > 0 else 0.0,
                          skipped_items=[s.to_dict() for s in skipped])

