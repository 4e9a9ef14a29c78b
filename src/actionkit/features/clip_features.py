"""Frozen-backbone frame features of a list of clips: in memory, or read lazily from a cache.

Training (patcher, fuser) and probes take a ``ClipFeatures`` instead of videos: the
backbone is frozen, so its features are computed once (``extract`` here for small sets,
``actionkit extract`` into a ``FeatureCache`` for large ones) and every epoch, every
reversed or shuffled clip (image backbones: the frame features reindexed on T) and every
probe reads them back.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import torch

from actionkit.backbones.protocol import Backbone
from actionkit.data.clips import ReadOptions, SkippedClip, iter_clip_batches
from actionkit.data.manifest import ClipRecord
from actionkit.features.cache import CachedRows, FeatureCache

Rows = torch.Tensor | CachedRows     # [N, ...]: indexing with a batch of rows gives a tensor


@dataclass
class ClipFeatures:
    frame_tokens: Rows              # [N, T, P, Dv]
    frame_pooled: Rows              # [N, T, D]
    records: list[ClipRecord]       # the N clips, in order
    skipped: list[SkippedClip]      # clips asked for that have no features (unreadable, not cached)
    cache: FeatureCache | None = None   # the cache behind the rows, if any: any of its clips can be asked for

    def __len__(self) -> int:
        return len(self.records)

    @staticmethod
    @torch.no_grad()
    def extract(backbone: Backbone, records: list[ClipRecord], root: Path | str, batch_size: int = 32,
                workers: int = 2, progress: bool = True, device: str | torch.device = "cpu",
                read: ReadOptions = ReadOptions()) -> "ClipFeatures":
        """Decode and encode ``records`` now, keeping the features in memory (fp16)."""
        skipped: list[SkippedClip] = []
        tokens, pooled, kept = [], [], []
        for idx, pixels, _ in iter_clip_batches(records, root, backbone.num_frames, transform=backbone.preprocess,
                                                batch_size=batch_size, workers=workers, desc="backbone features",
                                                progress=progress, skipped=skipped, read=read):
            f = backbone.encode_video(pixels.to(device))
            tokens.append(f.frame_tokens.half().cpu())
            pooled.append(f.frame_pooled.half().cpu())
            kept.extend(records[i] for i in idx.tolist())
        if not tokens:
            raise RuntimeError(f"none of the {len(records)} clips under {root} could be read")
        return ClipFeatures(torch.cat(tokens), torch.cat(pooled), kept, skipped)

    @staticmethod
    def from_cache(cache: FeatureCache | Path | str, records: list[ClipRecord],
                   backbone: Backbone | None = None) -> "ClipFeatures":
        """The cached features of ``records`` (read lazily); with ``backbone``, the cache must be its own."""
        cache = cache if isinstance(cache, FeatureCache) else FeatureCache(cache)
        if backbone is not None:
            cache.check(backbone)
        kept = [r for r in records if r.id in cache]
        skipped = [SkippedClip(r.id, r.path, cache.skipped.get(r.id, {}).get("reason", "not in the feature cache"))
                   for r in records if r.id not in cache]
        ids = [r.id for r in kept]
        return ClipFeatures(CachedRows(cache, ids, "frame_tokens"), CachedRows(cache, ids, "frame_pooled"),
                            kept, skipped, cache)

    def subset(self, rows: list[int]) -> "ClipFeatures":
        def pick(x: Rows) -> Rows:
            return x.select(rows) if isinstance(x, CachedRows) else x[rows]

        return ClipFeatures(pick(self.frame_tokens), pick(self.frame_pooled), [self.records[i] for i in rows],
                            self.skipped, self.cache)

    def for_records(self, records: list[ClipRecord]) -> "ClipFeatures":
        """The features of ``records`` in their order; records without features join ``skipped``.
        Backed by a cache, any clip of the cache can be asked for, not only these rows'."""
        if self.cache is not None:
            return ClipFeatures.from_cache(self.cache, records)
        position = {r.id: i for i, r in enumerate(self.records)}
        wanted = {r.id for r in records}
        known = {s.id for s in self.skipped}
        missing = [SkippedClip(r.id, r.path, "no features") for r in records
                   if r.id not in position and r.id not in known]
        out = self.subset([position[r.id] for r in records if r.id in position])
        out.skipped = [s for s in self.skipped if s.id in wanted] + missing
        return out

    def batches(self, batch_size: int = 256, device: str | torch.device = "cpu"
                ) -> Iterator[tuple[torch.Tensor, torch.Tensor, torch.Tensor]]:
        """``(rows, frame_tokens, frame_pooled)`` in order, float32 on ``device``."""
        for i in range(0, len(self), batch_size):
            rows = torch.arange(i, min(i + batch_size, len(self)))
            yield rows, self.frame_tokens[rows].to(device).float(), self.frame_pooled[rows].to(device).float()
