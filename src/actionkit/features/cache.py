"""A feature cache on disk: a frozen backbone's frame features, computed once per clip.

Layout of a cache folder::

    index.json                     (one process; ``index.rank{r}-of-{W}.json`` per rank under torchrun)
    shard-r{rank}of{W}-{k:05d}.safetensors

Each shard holds ``frame_tokens [n, T, P, Dv]`` and ``frame_pooled [n, T, D]`` of n clips
(fp16 by default). An index is JSON::

    {"format": 1, "backbone": name, "fingerprint": digest, "dtype": "float16",
     "num_frames": T, "sampling": "tsn-eval-mirrored",
     "shards": ["shard-r0-00000.safetensors", ...],
     "clips": {id: {"shard": k, "offset": i, "shape": [T, P, Dv], "path": ..., "frame_indices": [...]}},
     "skipped": {id: {"path": ..., "reason": ...}}}

A shard is written to a temporary name and renamed before the index that names it is
(atomically) rewritten, so an index never points at half a file; a shard written after the
last index update is simply written again on resume. Reading memory-maps the shards
(safetensors ``safe_open``) and copies only the rows asked for, so memory stays bounded
whatever the corpus size.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from pathlib import Path

import torch
from safetensors import safe_open

log = logging.getLogger(__name__)

FORMAT = 1
SAMPLING = "tsn-eval-mirrored"   # video.sampling.segment_indices(mode="eval"); another sampler -> refused
TENSORS = ("frame_tokens", "frame_pooled")
DTYPES = {"float16": torch.float16, "bfloat16": torch.bfloat16, "float32": torch.float32}


class CacheMismatch(ValueError):
    """A cache made by another backbone, checkpoint or setting than the one asking for it."""


def index_name(rank: int = 0, world_size: int = 1) -> str:
    return "index.json" if world_size == 1 else f"index.rank{rank}-of-{world_size}.json"


def shard_name(rank: int, k: int, world_size: int = 1) -> str:
    """Unique per (rank, world size): a cache resumed with another number of processes never
    overwrites a shard an earlier run's index still points at."""
    return f"shard-r{rank}of{world_size}-{k:05d}.safetensors"


@dataclass(frozen=True)
class CacheSettings:
    """What a cache's features depend on; a cache refuses a reader or writer that differs."""

    backbone: str        # the backbone's name (informative)
    fingerprint: str     # the backbone's weights + settings digest (checked)
    dtype: str = "float16"
    num_frames: int = 8

    def check(self, index: dict, where: Path) -> None:
        saved = {"fingerprint": index.get("fingerprint"), "dtype": index.get("dtype"),
                 "num_frames": index.get("num_frames"), "sampling": index.get("sampling")}
        mine = {"fingerprint": self.fingerprint, "dtype": self.dtype, "num_frames": self.num_frames,
                "sampling": SAMPLING}
        diff = [f"{k}: cache {saved[k]!r} vs requested {mine[k]!r}" for k in mine if saved[k] != mine[k]]
        if diff:
            raise CacheMismatch(f"{where} was made by backbone {index.get('backbone')!r} with other settings "
                                f"({'; '.join(diff)}); use another --out folder or extract again with the "
                                "same backbone and settings")


def empty_index(settings: CacheSettings) -> dict:
    return {"format": FORMAT, "backbone": settings.backbone, "fingerprint": settings.fingerprint,
            "dtype": settings.dtype, "num_frames": settings.num_frames, "sampling": SAMPLING,
            "shards": [], "clips": {}, "skipped": {}}


def read_index(path: Path) -> dict:
    try:
        index = json.loads(path.read_text())
    except (OSError, json.JSONDecodeError) as e:
        raise CacheMismatch(f"{path}: not a readable cache index ({e})") from None
    if not isinstance(index, dict) or index.get("format") != FORMAT:
        raise CacheMismatch(f"{path}: not a feature cache index of format {FORMAT}")
    return index


class FeatureCache:
    """Read side of a cache folder: every index in it, merged (they must agree on settings)."""

    def __init__(self, directory: Path | str):
        self.directory = Path(directory)
        paths = sorted(self.directory.glob("index*.json"))
        if not paths:
            raise FileNotFoundError(f"no feature cache in {self.directory} (no index.json); "
                                    "make one with `actionkit extract`")
        indexes = [read_index(p) for p in paths]
        first = indexes[0]
        self.settings = CacheSettings(first["backbone"], first["fingerprint"], first["dtype"], first["num_frames"])
        self.clips: dict[str, tuple[str, int]] = {}      # id -> (shard file, offset)
        self.skipped: dict[str, dict] = {}
        for path, index in zip(paths, indexes):
            self.settings.check(index, path)
            for cid, entry in index["clips"].items():
                self.clips[cid] = (index["shards"][entry["shard"]], int(entry["offset"]))
            self.skipped.update(index["skipped"])
        self._handles: dict[str, object] = {}

    def __len__(self) -> int:
        return len(self.clips)

    def __contains__(self, clip_id: str) -> bool:
        return clip_id in self.clips

    def check(self, backbone) -> None:
        """Refuse (``CacheMismatch``) unless ``backbone`` made these features."""
        fingerprint = backbone.fingerprint()
        if fingerprint != self.settings.fingerprint:
            raise CacheMismatch(
                f"{self.directory} holds features of backbone {self.settings.backbone!r} (fingerprint "
                f"{self.settings.fingerprint}), not of the loaded {backbone.name!r} (fingerprint "
                f"{fingerprint}); extract a cache for this backbone with `actionkit extract`")

    def _handle(self, shard: str):
        if shard not in self._handles:
            self._handles[shard] = safe_open(str(self.directory / shard), framework="pt")
        return self._handles[shard]

    def read(self, ids: list[str], name: str = "frame_tokens") -> torch.Tensor:
        """Rows of tensor ``name`` for clips ``ids``, stacked in that order ``[len(ids), ...]``."""
        if name not in TENSORS:
            raise ValueError(f"unknown cached tensor {name!r} (one of {', '.join(TENSORS)})")
        missing = [i for i in ids if i not in self.clips]
        if missing:
            raise KeyError(f"{self.directory}: clip {missing[0]!r} ({len(missing)} in all) is not in the cache")
        rows = []
        for cid in ids:
            shard, offset = self.clips[cid]
            rows.append(self._handle(shard).get_slice(name)[offset:offset + 1])
        return torch.cat(rows)


class CachedRows:
    """A lazily read ``[N, ...]`` tensor of a cache: indexing a batch reads only that batch."""

    def __init__(self, cache: FeatureCache, ids: list[str], name: str = "frame_tokens"):
        self.cache, self.ids, self.name = cache, list(ids), name

    def __len__(self) -> int:
        return len(self.ids)

    def __getitem__(self, idx: torch.Tensor | list[int]) -> torch.Tensor:
        rows = idx.tolist() if torch.is_tensor(idx) else list(idx)
        return self.cache.read([self.ids[i] for i in rows], self.name)

    def select(self, rows: list[int]) -> "CachedRows":
        return CachedRows(self.cache, [self.ids[i] for i in rows], self.name)
